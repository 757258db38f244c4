"""CallFlow: one call's story as a ladder diagram — the app, Asterisk, the channels and bridges as lanes;
the events Asterisk sent and the REST requests the app made as arrows, in time order.

Displayed, a CallFlow is a live widget in Jupyter and carries its SVG too (image/svg+xml), so a
notebook's stored output shows the ladder in static views (GitHub, nbviewer) where no widget runs.
``flow.picture()`` freezes the ladder, once the events still on their way are drawn, as a picture
to store: times and ids in it are what nbval_sanitize.cfg masks.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from .base import LiveWidget, show_html
from .model import LiveModel, describe
from .style import CSS, clock, esc, plural, short

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event

LANE_W, ROW_H, TOP, LEFT = 140, 26, 52, 84
CHAR_W = 6.2                  # the average width of a label's character (11 px system-ui), for fitting text
EVENT_COLOUR, REQUEST_COLOUR, ERROR_COLOUR = "#2563eb", "#ea580c", "#b91c1c"
BRIDGE_EVENTS = ("ChannelEnteredBridge", "ChannelLeftBridge", "BridgeCreated", "BridgeDestroyed",
                 "BridgeMerged", "BridgeBlindTransfer", "BridgeAttendedTransfer")


class CallFlow(LiveWidget):
    """A ladder diagram of one call: lanes for the app, Asterisk, its channels and bridges; arrows with times."""

    uses_model = False

    def __init__(self, ari: "ARIClient", channel: Any = None, *, model: LiveModel | None = None,
                 max_steps: int = 400, max_lanes: int = 7, show: int = 60) -> None:
        self._lock = threading.Lock()
        self.max_steps, self.max_lanes, self.show = max_steps, max_lanes, show
        self._steps: list[dict] = []
        self._lanes: dict[str, str] = {}          # lane key (object id, "app", "asterisk") -> label
        self._kinds: dict[str, str] = {}          # object id -> "channel" | "bridge"
        self._seen: set[int] = set()
        self._changed = time.monotonic()          # when a step was last added (picture() waits for a quiet spell)
        self._unmatched: list[tuple] = []         # recent requests about objects with no lane (yet)
        self.channel_id: str | None = None
        self._html = W.HTML(layout=W.Layout(width="100%"))
        self._html.add_class("vk-card")
        super().__init__(ari, model=None, name="callflow", children=[self._html])
        self.add_class("vk-callflow")
        self.on("*", self._on_event)
        self._stop_requests = ari.on_request(self._on_request)
        self.follow(channel)

    # --- what to draw --------------------------------------------------------------------------------
    def follow(self, channel: Any) -> None:
        """Draw this channel's call (a handle or an id; None: nothing), starting from its buffered events."""
        cid = getattr(channel, "id", channel) or None
        with self._lock:
            if cid == self.channel_id:
                return
            self.channel_id = cid
            self._steps, self._seen, self._unmatched = [], set(), []
            self._lanes = {"app": f"App {self.ari.app}", "asterisk": "Asterisk"}
            self._kinds = {}
            if cid:
                self._add_lane(cid, "channel", getattr(channel, "raw", {}).get("name") or cid)
        if cid:
            for ev in self.ari.handle("Channel", cid).events():
                self._on_event(ev)
        self.mark()

    def _add_lane(self, ident: str, kind: str, label: str) -> bool:
        if ident in self._lanes:
            return True
        if len(self._lanes) >= self.max_lanes:
            return False
        self._kinds[ident] = kind
        self._lanes[ident] = ("Bridge " if kind == "bridge" else "") + label
        # A request about the object that came before its first event (addChannel on a new bridge).
        for req in [r for r in self._unmatched if ident in r[1].split("/")]:
            self._unmatched.remove(req)
            self._request_step(*req)
        return True

    def _add(self, step: dict) -> None:
        self._steps.append(step)
        self._changed = time.monotonic()
        if len(self._steps) > self.max_steps:
            del self._steps[: len(self._steps) - self.max_steps]

    def _on_event(self, ev: "Event") -> None:
        raw = ev.raw
        ch = raw.get("channel") if isinstance(raw.get("channel"), dict) else {}
        br = raw.get("bridge") if isinstance(raw.get("bridge"), dict) else {}
        with self._lock:
            if not self.channel_id or ev.seq in self._seen:
                return
            ids = [k[1] for k in ev.keys]
            if not any(i in self._lanes for i in ids):
                return
            self._seen.add(ev.seq)
            if ch.get("id") == self.channel_id and ch.get("name"):
                self._lanes[self.channel_id] = ch["name"]
            # The call grows: the bridges our channel enters, the channels that join it there.
            if ev.type == "ChannelEnteredBridge" and br.get("id"):
                if ch.get("id") == self.channel_id or br["id"] in self._lanes:
                    self._add_lane(br["id"], "bridge", f'{br["id"][:8]} ({br.get("bridge_type", "")})')
                    self._add_lane(ch.get("id", ""), "channel", ch.get("name", ""))
            source = br.get("id") if ev.type in BRIDGE_EVENTS and br.get("id") in self._lanes else (
                ch.get("id") if ch.get("id") in self._lanes else next((i for i in ids if i in self._lanes), "asterisk"))
            detail = describe(ev.type, raw)
            if ev.type == "StasisStart" and raw.get("args"):
                detail = "args " + ", ".join(map(str, raw["args"]))
            self._add({"t": ev.received, "kind": "event", "label": ev.type,
                       "detail": detail, "from": source, "to": "app", "seq": ev.seq})
        self.mark()

    def _on_request(self, method: str, path: str, status: int, started: float, seconds: float) -> None:
        with self._lock:
            if not self.channel_id:
                return
            if not self._request_step(method, path, status, started, seconds):
                self._unmatched = self._unmatched[-30:] + [(method, path, status, started, seconds)]
                return
        self.mark()

    def _request_step(self, method: str, path: str, status: int, started: float, seconds: float) -> bool:
        parts = path.strip("/").split("/")
        target = next((p for p in parts if p in self._lanes), None)
        if target is None:
            return False
        short = "/".join("{id}" if p in self._lanes else p for p in parts)
        self._add({"t": started, "kind": "request", "label": f"{method} /{short}",
                   "detail": f"{status} · {seconds * 1000:.0f} ms", "from": "app", "to": target,
                   "status": status, "seq": 0})
        return True

    # --- showing -------------------------------------------------------------------------------------
    def _ordered(self) -> tuple[dict, list[dict]]:
        with self._lock:
            lanes = dict(self._lanes)
            # Events are timed when they arrive and requests when they start, both by this machine's
            # clock, so a request comes before the events it caused and after those that prompted it.
            steps = sorted(self._steps, key=lambda s: (s["t"], s["kind"] == "event", s["seq"]))
        return lanes, steps

    def snapshot(self) -> dict:
        """The call as drawn: channel id, lanes (labels in order), steps in time order (time, kind, label, from, to, detail)."""
        lanes, steps = self._ordered()
        return {"channel": self.channel_id, "lanes": list(lanes.values()),
                "steps": [{"time": clock(s["t"]), "t": s["t"], "kind": s["kind"], "label": s["label"],
                           "detail": s["detail"], "from": lanes.get(s["from"], s["from"]),
                           "to": lanes.get(s["to"], s["to"])} for s in steps]}

    def svg(self) -> str:
        """The ladder diagram as an SVG string."""
        lanes, steps = self._ordered()
        steps = steps[-self.show:]
        keys = list(lanes)
        x = {k: LEFT + LANE_W * i + LANE_W // 2 for i, k in enumerate(keys)}
        width = LEFT + LANE_W * len(keys) + 10
        height = TOP + ROW_H * max(1, len(steps)) + 16
        t0 = steps[0]["t"] if steps else 0.0
        # As wide as the lanes need, shrunk to fit a narrower box (down to 70 %, then it scrolls).
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" style="display:block;width:100%;max-width:{width}px;'
               f'min-width:{int(width * 0.7)}px;height:auto" font-family="system-ui,sans-serif" font-size="11">',
               '<defs>' + "".join(
                   f'<marker id="vk-a-{n}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                   f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
                   for n, c in (("e", EVENT_COLOUR), ("r", REQUEST_COLOUR), ("x", ERROR_COLOUR))) + '</defs>']
        for k in keys:
            fill = {"app": "#1e3a8a", "asterisk": "#334155"}.get(k, "#0e7490" if self._kinds.get(k) == "bridge"
                                                                 else "#15803d")
            kind, name = self._lane_head(k, lanes[k])
            out.append(f'<line x1="{x[k]}" y1="{TOP - 8}" x2="{x[k]}" y2="{height - 6}" stroke="#cbd5e1" '
                       f'stroke-dasharray="4 3"/>'
                       f'<rect x="{x[k] - LANE_W // 2 + 6}" y="6" width="{LANE_W - 12}" height="32" rx="5" fill="{fill}">'
                       f'<title>{esc(lanes[k])}</title></rect>')
            if kind:
                out.append(f'<text x="{x[k]}" y="18" fill="#e2e8f0" text-anchor="middle" font-size="9">'
                           f'<title>{esc(lanes[k])}</title>{esc(kind)}</text>')
            out.append(f'<text x="{x[k]}" y="{31 if kind else 26}" fill="#fff" text-anchor="middle" font-weight="600" '
                       f'font-size="10.5"><title>{esc(lanes[k])}</title>{esc(short(name, 18))}</text>')
        if not steps:
            out.append(f'<text x="{LEFT}" y="{TOP + 14}" fill="#9ca3af">'
                       f'{"No events yet for this call." if self.channel_id else "Pick a channel to draw its call."}</text>')
        for i, s in enumerate(steps):
            y = TOP + ROW_H * i + 16
            a, b = x.get(s["from"], x["asterisk"]), x.get(s["to"], x["asterisk"])
            kind = "x" if s.get("status", 0) >= 400 else ("e" if s["kind"] == "event" else "r")
            colour = {"e": EVENT_COLOUR, "r": REQUEST_COLOUR, "x": ERROR_COLOUR}[kind]
            dash = ' stroke-dasharray="5 3"' if s["kind"] == "request" else ""
            # The label starts just right of the arrow's left end (the app's lane: every arrow has it at
            # one end) and is cut to what fits before the diagram's right edge.
            left = min(a, b) + 8
            room = int((width - left - 6) / CHAR_W)
            label = s["label"] if len(s["label"]) <= room else s["label"][:max(1, room - 1)] + "…"
            detail = s["detail"]
            room -= len(label) + 1
            if len(detail) > room:
                detail = detail[:max(0, room - 1)] + "…" if room > 4 else ""
            out.append(f'<text x="6" y="{y + 4}" fill="#6b7280" font-family="ui-monospace,monospace">'
                       f'+{s["t"] - t0:7.3f}s</text>'
                       f'<line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="{colour}" stroke-width="1.6"{dash} '
                       f'marker-end="url(#vk-a-{kind})"/>'
                       f'<circle cx="{a}" cy="{y}" r="2.5" fill="{colour}"/>'
                       f'<text x="{left}" y="{y - 4}" fill="{colour}" font-weight="600">'
                       f'<title>{clock(s["t"])} {esc(s["label"])} {esc(s["detail"])}</title>{esc(label)}'
                       f'<tspan fill="#6b7280" font-weight="400"> {esc(detail)}</tspan></text>')
        out.append("</svg>")
        return "".join(out)

    def _lane_head(self, key: str, label: str) -> tuple[str, str]:
        """A lane's header as two lines: what it is (small) and its name."""
        if key == "app":
            return "App", self.ari.app
        if key == "asterisk":
            return "", "Asterisk"
        if self._kinds.get(key) == "bridge":
            m = re.match(r"^Bridge (\S+) \((.*)\)$", label)
            return ("Bridge · " + m.group(2), m.group(1)) if m and m.group(2) else ("Bridge", label[7:])
        return "Channel", label

    def render(self) -> bool:
        lanes, steps = self._ordered()
        title = (f'<div class="vk-title">Call flow<span class="vk-count">'
                 f'{plural(len(steps), "step")} · <span style="color:{EVENT_COLOUR}">— events</span> · '
                 f'<span style="color:{REQUEST_COLOUR}">- - requests</span></span></div>')
        return show_html(self._html, CSS + title + f'<div class="vk-scroll" style="max-height:420px">{self.svg()}</div>')

    def picture(self, *, quiet: float = 0.3, timeout: float = 3.0) -> "CallFlowPicture":
        """The ladder as a picture to keep, taken once no step came for `quiet` s (at most `timeout` s of waiting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                left = self._changed + quiet - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, max(0.0, deadline - time.monotonic())) + 0.01)
        lanes, steps = self._ordered()
        return CallFlowPicture(self.svg(), list(lanes.values()), len(steps[-self.show:]))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget for Jupyter, with the ladder's SVG beside it for views where no widget runs."""
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and not self.closed:
            data["image/svg+xml"] = self.svg()
        return data

    def close(self) -> None:
        """Stop drawing: unsubscribe from events and requests, stop its job."""
        self._stop_requests()
        super().close()


class CallFlowPicture:
    """A CallFlow ladder frozen as SVG: shown in Jupyter, stored in the notebook, seen in static views too."""

    def __init__(self, svg: str, lanes: list[str], steps: int) -> None:
        self.svg, self.lanes, self.steps = svg, lanes, steps

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def save(self, path: str) -> None:
        """Write the picture to an .svg file."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self) -> str:
        return f"<CallFlow picture: {plural(self.steps, 'step')}; lanes: {', '.join(self.lanes)}>"
