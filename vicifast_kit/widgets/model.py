"""The plain-data model the widgets show: channels and bridges folded from ARI events (no widgets here).

Events arrive on the client's dispatcher thread and are folded here under a lock; widgets read
copies (``channels()``, ``bridges()``) from their pump thread. Channels and bridges that the app
gets no events about (the dialplan side of a call, bridges made by others) come from a periodic
``poll()`` of the server's lists, which the pumps call when it is due.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event

log = logging.getLogger("vicifast_kit.widgets")

#: Event types that say something about channels or bridges (the rest are ignored by the model).
CHANNEL_EVENTS_DETAIL = {
    "ChannelDtmfReceived": lambda r: f"DTMF {r.get('digit', '')}",
    "ChannelHangupRequest": lambda r: f"hangup requested (cause {r.get('cause', '?')})",
    "ChannelDestroyed": lambda r: f"destroyed: {r.get('cause_txt', '')}",
    "ChannelVarset": lambda r: f"{r.get('variable', '')}={r.get('value', '')}",
    "PlaybackStarted": lambda r: f"playing {_media(r)}",
    "PlaybackFinished": lambda r: f"played {_media(r)}",
    "Dial": lambda r: f"dial {r.get('dialstatus') or 'started'}",
    "StasisStart": lambda r: "entered app " + r.get("application", ""),
    "StasisEnd": lambda r: "left app " + r.get("application", ""),
}


def _media(raw: dict) -> str:
    uri = (raw.get("playback") or {}).get("media_uri", "")
    return uri.split(":", 1)[-1]


def parse_time(text: Any) -> float:
    """An ARI timestamp ("2024-01-01T12:00:00.123+0000") as epoch seconds (now if unreadable)."""
    if isinstance(text, str):
        for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
            try:
                return datetime.strptime(text, fmt).timestamp()
            except ValueError:
                pass
    return time.time()


def describe(ev_type: str, raw: dict) -> str:
    """A short human description of an event ("DTMF 5", "state Up", ...)."""
    fn = CHANNEL_EVENTS_DETAIL.get(ev_type)
    if fn is not None:
        return fn(raw)
    if ev_type == "ChannelStateChange":
        return "state " + (raw.get("channel") or {}).get("state", "")
    if ev_type in ("ChannelEnteredBridge", "ChannelLeftBridge"):
        verb = "entered" if ev_type == "ChannelEnteredBridge" else "left"
        return f"{verb} bridge {(raw.get('bridge') or {}).get('id', '')[:8]}"
    if ev_type in ("ChannelHold", "ChannelUnhold"):
        return "on hold" if ev_type == "ChannelHold" else "off hold"
    return ""


class LiveModel:
    """Channels and bridges as plain dicts, kept current from one client's events (and polls)."""

    def __init__(self, ari: "ARIClient", *, poll: float | None = 2.0) -> None:
        self.ari = ari
        self.poll_interval = poll
        self._lock = threading.RLock()
        self._channels: dict[str, dict] = {}
        self._bridges: dict[str, dict] = {}
        self._gone: dict[str, float] = {}        # ids removed on an event: a late poll must not revive them
        self._listeners: list[Callable[[], None]] = []
        self._last_poll = 0.0
        self._poll_lock = threading.Lock()
        self.version = 0
        self.poll_error = ""
        self._sub = ari.on("*", self._on_event)
        self._req = self._on_request
        ari.request_listeners.append(self._req)
        if poll is not None:
            self.poll()

    # --- reading (any thread) ------------------------------------------------------------
    def channels(self) -> list[dict]:
        """Copies of the live channels, oldest first."""
        with self._lock:
            rows = [dict(c) for c in self._channels.values()]
        return sorted(rows, key=lambda c: (c["created"], c["id"]))

    def bridges(self) -> list[dict]:
        """Copies of the live bridges (``channels``: member channel ids), oldest first."""
        with self._lock:
            rows = [dict(b, channels=list(b["channels"])) for b in self._bridges.values()]
        return sorted(rows, key=lambda b: (b["created"], b["id"]))

    def channel(self, channel_id: str) -> dict | None:
        """A copy of one channel's row (None when it is not live)."""
        with self._lock:
            c = self._channels.get(channel_id)
            return dict(c) if c else None

    def listen(self, fn: Callable[[], None]) -> None:
        """Call fn() (no arguments, any thread) after each change."""
        self._listeners.append(fn)

    def unlisten(self, fn: Callable[[], None]) -> None:
        """Stop calling fn."""
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _changed(self) -> None:
        self.version += 1
        for fn in list(self._listeners):
            try:
                fn()
            except Exception:          # a widget's bug must not stop the others
                log.exception("model listener failed")

    # --- folding events (dispatcher thread) ----------------------------------------------------
    def _upsert_channel(self, raw: dict, now: float) -> dict | None:
        cid = raw.get("id")
        if not cid or cid in self._gone:
            return None
        row = self._channels.get(cid)
        if row is None:
            row = self._channels[cid] = {
                "id": cid, "name": "", "caller": "", "state": "", "created": parse_time(raw.get("creationtime")),
                "app": "", "in_app": False, "bridge": None, "last_event": "", "held": False,
                "hanging_up": False, "seen": now}
        row["seen"] = max(row["seen"], now)
        if raw.get("name"):
            row["name"] = raw["name"]
        if raw.get("state"):
            row["state"] = raw["state"]
        caller = raw.get("caller") or {}
        if caller:
            row["caller"] = " ".join(x for x in (caller.get("name", ""), f"<{caller['number']}>"
                                                 if caller.get("number") else "") if x)
        dp = raw.get("dialplan") or {}
        if dp.get("app_name") == "Stasis":
            row["app"] = (dp.get("app_data") or "").split(",", 1)[0]
            row["in_app"] = row["app"] in self.ari.apps
        elif dp and not row["in_app"]:
            row["app"] = f"{dp.get('app_name') or 'dialplan'} ({dp.get('context', '')})"
        return row

    def _upsert_bridge(self, raw: dict, now: float) -> dict | None:
        bid = raw.get("id")
        if not bid or bid in self._gone:
            return None
        row = self._bridges.get(bid)
        if row is None:
            row = self._bridges[bid] = {"id": bid, "type": "", "technology": "", "name": "", "creator": "",
                                        "channels": [], "created": parse_time(raw.get("creationtime")),
                                        "seen": now}
        row["seen"] = max(row["seen"], now)
        for src, dst in (("bridge_type", "type"), ("technology", "technology"), ("name", "name"),
                         ("creator", "creator")):
            if raw.get(src) is not None:
                row[dst] = raw[src]
        if isinstance(raw.get("channels"), list):
            row["channels"] = list(raw["channels"])
        return row

    def _forget(self, table: dict, ident: str, now: float) -> None:
        table.pop(ident, None)
        self._gone[ident] = now
        if len(self._gone) > 5000:
            for k in sorted(self._gone, key=self._gone.get)[:1000]:
                del self._gone[k]

    def _on_event(self, ev: "Event") -> None:
        raw, t = ev.raw, ev.type
        now = time.time()
        with self._lock:
            bridge = raw.get("bridge") if isinstance(raw.get("bridge"), dict) else None
            for field in ("channel", "peer", "caller", "replace_channel"):
                ch = raw.get(field)
                if isinstance(ch, dict) and "id" in ch and "name" in ch:
                    row = self._upsert_channel(ch, now)
                    if row is not None and field == "channel":
                        row["last_event"] = t + (": " + describe(t, raw) if describe(t, raw) else "")
            ch = raw.get("channel") if isinstance(raw.get("channel"), dict) else None
            row = self._channels.get(ch["id"]) if ch else None
            if bridge is not None and t != "BridgeDestroyed":
                self._upsert_bridge(bridge, now)
            if t == "StasisStart" and row is not None:
                row["in_app"], row["app"] = True, raw.get("application", row["app"])
            elif t == "ChannelHangupRequest" and row is not None:
                row["hanging_up"] = True
            elif t in ("ChannelHold", "ChannelUnhold") and row is not None:
                row["held"] = t == "ChannelHold"
            elif t == "ChannelEnteredBridge" and row is not None:
                row["bridge"] = bridge["id"] if bridge else None
            elif t == "ChannelLeftBridge" and row is not None:
                row["bridge"] = None
            elif t == "StasisEnd" and ch:
                if row is not None and not row["hanging_up"]:
                    row["in_app"], row["app"] = False, "dialplan"
                else:
                    self._forget(self._channels, ch["id"], now)
            elif t == "ChannelDestroyed" and ch:
                self._forget(self._channels, ch["id"], now)
            elif t == "BridgeDestroyed" and bridge:
                self._forget(self._bridges, bridge["id"], now)
                for c in self._channels.values():
                    if c["bridge"] == bridge["id"]:
                        c["bridge"] = None
            elif bridge is None and ch is None:
                return
        self._changed()

    def _on_request(self, method: str, path: str, status: int, started: float, seconds: float) -> None:
        if status >= 300:
            return
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["bridges"]:
            self._last_poll = 0.0          # a bridge made over REST sends no BridgeCreated: poll soon
        elif method == "DELETE" and len(parts) == 2 and parts[0] == "bridges":
            with self._lock:               # nor is BridgeDestroyed sent for an empty bridge
                if parts[1] not in self._bridges:
                    return
                self._forget(self._bridges, parts[1], time.time())
        else:
            return
        self._changed()

    # --- polling (pump threads) -----------------------------------------------------------
    def poll_due(self) -> bool:
        """True when the last poll of the server's lists is older than the poll interval."""
        return self.poll_interval is not None and time.time() - self._last_poll >= self.poll_interval

    def poll(self) -> None:
        """Read the server's channel and bridge lists (one at a time across threads)."""
        if not self._poll_lock.acquire(blocking=False):
            return
        try:
            started = time.time()
            self._last_poll = started
            try:
                chans = [c.raw for c in self.ari.channels.list()]
                brs = [b.raw for b in self.ari.bridges.list()]
                self.poll_error = ""
            except Exception as e:         # the lab is down or the client closed: keep what we have
                self.poll_error = f"{type(e).__name__}: {e}"[:200]
                return
            with self._lock:
                ids = {c["id"] for c in chans}
                for raw in chans:         # rows an event touched since the request are fresher: keep them
                    if self._channels.get(raw["id"], {}).get("seen", 0) < started:
                        self._upsert_channel(raw, started)
                for cid in [k for k, c in self._channels.items() if k not in ids and c["seen"] < started]:
                    del self._channels[cid]
                bids = {b["id"] for b in brs}
                for raw in brs:
                    if self._bridges.get(raw["id"], {}).get("seen", 0) < started:
                        self._upsert_bridge(raw, started)
                for bid in [k for k, b in self._bridges.items() if k not in bids and b["seen"] < started]:
                    del self._bridges[bid]
                member = {c: b["id"] for b in self._bridges.values() for c in b["channels"]}
                for c in self._channels.values():
                    if c["seen"] <= started:
                        c["bridge"] = member.get(c["id"])
        finally:
            self._poll_lock.release()
        self._changed()

    def close(self) -> None:
        """Stop following the client's events and requests."""
        self._sub.unsubscribe()
        if self._req in self.ari.request_listeners:
            self.ari.request_listeners.remove(self._req)
        self._listeners.clear()
