"""The plain-data model the widgets show: channels and bridges folded from ARI events (no widgets here).

Events arrive on the client's dispatcher thread and are folded here under a lock; widgets read
copies (``channels()``, ``bridges()``) from the scheduler's thread. Channels and bridges that the app
gets no events about (the dialplan side of a call, bridges made by others) come from a periodic
``poll()`` of the server's lists, which the widgets call when it is due. What no event reports is
taken from the client's own requests (from a widget or from code): hold and unhold (ARI sends
ChannelHold only when the far end holds), mute, music on hold, a hang-up asked for. A channel that
goes leaves its last row behind for a while (``ended()``: its name and hang-up cause, in words).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..causes import CAUSES, cause_text
from ..errors import Error
from ..events import asterisk_time

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event

log = logging.getLogger("vicifast_kit.widgets")

#: Event types that say something about channels or bridges (the rest are ignored by the model).
CHANNEL_EVENTS_DETAIL = {
    "ChannelDtmfReceived": lambda r: f"DTMF {r.get('digit', '')}",
    "ChannelHangupRequest": lambda r: ("soft hangup requested (by ARI, AMI or the dialplan)" if r.get("soft")
                                       else f"hangup requested: {hangup_cause(r)}"),
    "ChannelDestroyed": lambda r: f"destroyed: {hangup_cause(r)}",
    "ChannelVarset": lambda r: f"{r.get('variable', '')}={r.get('value', '')}",
    "PlaybackStarted": lambda r: f"playing {_media(r)}",
    "PlaybackFinished": lambda r: f"played {_media(r)}",
    "Dial": lambda r: f"dial {r.get('dialstatus') or 'started'}",
    "StasisStart": lambda r: "entered app " + r.get("application", ""),
    "StasisEnd": lambda r: "left app " + r.get("application", ""),
}


#: Event types that come by the dozen and say little to a learner: they fold in the event log, and are never a
#: channel's "last event" (ChannelVarset above all: each Set() of the dialplan, BRIDGEPEER on every bridge).
NOISY = ("ChannelVarset", "ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId")


def hangup_cause(raw: dict) -> str:
    """The hang-up cause of an event in words: "16 (Normal Clearing)" (Asterisk's cause_txt for causes the kit
    has no name for)."""
    cause = raw.get("cause")
    try:
        known = int(cause) in CAUSES
    except (TypeError, ValueError):
        known = False
    if not known and raw.get("cause_txt") and cause not in (None, ""):
        return f"{cause} ({raw['cause_txt']})"
    return cause_text(cause)


def _media(raw: dict) -> str:
    uri = (raw.get("playback") or {}).get("media_uri", "")
    return uri.split(":", 1)[-1]


def parse_time(text: Any) -> float:
    """An ARI timestamp ("2024-01-01T12:00:00.123+0000") as epoch seconds (now if unreadable)."""
    parsed = asterisk_time(text) if isinstance(text, str) else None
    return parsed.timestamp() if parsed is not None else time.time()


def describe(ev_type: str, raw: dict, *, named: bool = False) -> str:
    """A short human description of an event ("DTMF 5", "state Up", ...); named: a bridge by its name when it has one."""
    fn = CHANNEL_EVENTS_DETAIL.get(ev_type)
    if fn is not None:
        return fn(raw)
    if ev_type == "ChannelStateChange":
        return "state " + (raw.get("channel") or {}).get("state", "")
    if ev_type in ("ChannelEnteredBridge", "ChannelLeftBridge"):
        verb = "entered" if ev_type == "ChannelEnteredBridge" else "left"
        bridge = raw.get("bridge") or {}
        return f"{verb} bridge {(named and bridge.get('name')) or bridge.get('id', '')[:8]}"
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
        self._ended: dict[str, dict] = {}        # the last row of each channel that went (for "it is gone" lines)
        self._listeners: list[Callable[[], None]] = []
        self._last_poll = 0.0
        self._poll_lock = threading.Lock()
        self.version = 0
        self.poll_error = ""
        self._sub = ari.on("*", self._on_event)
        self._stop_requests = ari.on_request(self._on_request)
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

    def ended(self, channel_id: str) -> dict | None:
        """The last row of a channel that is gone (``ended``: when; ``cause``: the hang-up cause if one was
        reported); None when it is live or was never seen."""
        with self._lock:
            c = self._ended.get(channel_id)
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
                "muted": False, "moh": False, "hanging_up": False, "cause": None, "seen": now}
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
        row = table.pop(ident, None)
        if table is self._channels:
            self._remember_end(row, now)
        self._gone[ident] = now
        if len(self._gone) > 5000:
            for k in sorted(self._gone, key=self._gone.get)[:1000]:
                del self._gone[k]

    def _remember_end(self, row: dict | None, now: float) -> None:
        if row is None:
            return
        self._ended[row["id"]] = dict(row, ended=now)
        if len(self._ended) > 500:
            for k in sorted(self._ended, key=lambda k: self._ended[k]["ended"])[:100]:
                del self._ended[k]

    def _on_event(self, ev: "Event") -> None:
        raw, t = ev.raw, ev.type
        now = time.time()
        with self._lock:
            bridge = raw.get("bridge") if isinstance(raw.get("bridge"), dict) else None
            for field in ("channel", "peer", "caller", "replace_channel"):
                ch = raw.get(field)
                if isinstance(ch, dict) and "id" in ch and "name" in ch:
                    row = self._upsert_channel(ch, now)
                    if row is not None and field == "channel" and t not in NOISY:
                        detail = describe(t, raw, named=True)
                        row["last_event"] = t + (": " + detail if detail else "")
            ch = raw.get("channel") if isinstance(raw.get("channel"), dict) else None
            row = self._channels.get(ch["id"]) if ch else None
            if bridge is not None and t != "BridgeDestroyed":
                self._upsert_bridge(bridge, now)
            if t == "StasisStart" and row is not None:
                row["in_app"], row["app"] = True, raw.get("application", row["app"])
            elif t == "ChannelHangupRequest" and row is not None:
                row["hanging_up"] = True
                if not raw.get("soft") and raw.get("cause") is not None:     # a soft one's "cause" is a flag
                    row["cause"] = hangup_cause(raw)
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
                if row is not None and raw.get("cause") is not None:
                    row["cause"] = hangup_cause(raw)
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
        if parts[0] == "channels":
            if not (len(parts) in (2, 3) and self._channel_request(method, parts)):
                return
        elif method == "POST" and parts == ["bridges"]:
            self._last_poll = 0.0          # a bridge made over REST sends no BridgeCreated: poll soon
        elif method == "DELETE" and len(parts) == 2 and parts[0] == "bridges":
            with self._lock:               # nor is BridgeDestroyed sent for an empty bridge
                if parts[1] not in self._bridges:
                    return
                self._forget(self._bridges, parts[1], time.time())
        else:
            return
        self._changed()

    def _channel_request(self, method: str, parts: list[str]) -> bool:
        """Fold what a request of this client did to a channel (no event tells: ARI sends ChannelHold only
        when the far end holds, and nothing about mute or music on hold); True when something changed."""
        what = parts[2] if len(parts) == 3 else ("hangup" if method == "DELETE" else "")
        field = {"hold": "held", "mute": "muted", "moh": "moh", "hangup": "hanging_up"}.get(what)
        if field is None or method not in ("POST", "DELETE"):
            return False
        with self._lock:
            row = self._channels.get(parts[1])
            value = method == "POST" or what == "hangup"
            if row is None or row[field] == value:
                return False
            row[field] = value
        return True

    # --- polling (the scheduler's thread) -----------------------------------------------------------
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
            except Error as e:             # the lab is down or the client closed: keep what we have
                self.poll_error = f"{type(e).__name__}: {e}"[:200]
                return
            with self._lock:
                ids = {c["id"] for c in chans}
                for raw in chans:         # rows an event touched since the request are fresher: keep them
                    if self._channels.get(raw["id"], {}).get("seen", 0) < started:
                        self._upsert_channel(raw, started)
                for cid in [k for k, c in self._channels.items() if k not in ids and c["seen"] < started]:
                    self._remember_end(self._channels.pop(cid), started)
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
        self._stop_requests()
        self._listeners.clear()
