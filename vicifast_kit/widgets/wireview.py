"""Wire: the client's traffic live in the page, as ARI carries it (the widget of ``ari.wire()``).

The rows are drawn by a small page-side table (``wiretable.js``, an anywidget): each row opens to
its JSON there, without a round trip to the kernel, and stays open while newer rows arrive above it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as W
import traitlets as T

from .base import LiveWidget, set_options, show_html
from .style import CSS

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

ALL = "__all__"
REQUESTS = "__requests__"
HERE = Path(__file__).parent
#: A row's JSON is cut after this many characters in the page (it says how many more there were).
FOLD = 8000


class WireTable(anywidget.AnyWidget):
    """The page side of Wire: the rows, newest first; ``opened`` is the numbers of the rows open in the page."""

    _esm = HERE / "wiretable.js"
    _css = HERE / "wiretable.css"
    rows = T.List(T.Dict()).tag(sync=True)
    opened = T.List(T.Int()).tag(sync=True)


class Wire(LiveWidget):
    """Every request and event of the client, newest first: filter by type or channel, pause, open a row for its JSON."""

    uses_model = False

    def __init__(self, ari: "ARIClient", *, size: int = 2000, show: int = 200) -> None:
        self.recording = ari.wire(limit=size)
        self.show = show
        #: Whether the rows go to the page (the Dashboard sends them only while its wire panel is open: the
        #: recording goes on, and the page, and a stored notebook, do not carry hundreds of closed rows).
        self.sending = True
        self._lock = threading.Lock()
        self._frozen: list[dict] | None = None
        self.type_filter = W.Dropdown(options=[("Everything", ALL)], value=ALL,
                                      layout=W.Layout(flex="1 1 0", min_width="0", width="auto"))
        self.channel_filter = W.Text(placeholder="channel id or name", continuous_update=False,
                                     layout=W.Layout(flex="1 1 0", min_width="0", width="auto"))
        self.pause = W.ToggleButton(description="Pause", icon="pause", layout=W.Layout(width="auto", flex="0 0 auto"))
        self.table = WireTable()
        self._status = W.HTML()
        super().__init__(ari, model=None, name="wire",
                         children=[self._status,
                                   W.HBox([self.type_filter, self.channel_filter, self.pause],
                                          layout=W.Layout(width="100%")),
                                   self.table])
        self.add_class("vk-wire")
        for w in (self.type_filter, self.channel_filter):
            w.observe(lambda _c: self.mark(), "value")
        self.pause.observe(self._on_pause, "value")
        self._unwatch = self.recording.watch(self.mark)     # a new entry marks the widget: cheap, any thread
        self.mark()

    def _on_pause(self, change: dict) -> None:
        with self._lock:
            self._frozen = self.recording.entries if change["new"] else None
        self.pause.description = "Resume" if change["new"] else "Pause"
        self.pause.icon = "play" if change["new"] else "pause"
        self.mark()

    def snapshot(self) -> list[dict]:
        """The entries shown (after the filters; frozen while paused), newest first, as ``w.entries`` has them."""
        return self._shown(self.recording.entries)

    def _shown(self, every: list[dict]) -> list[dict]:
        """The filtered view of `every` (the recording read once, masked), or of the frozen entries while paused."""
        with self._lock:
            entries = self._frozen if self._frozen is not None else every
        kind, channel = self.type_filter.value, self.channel_filter.value.strip()
        out = []
        for e in reversed(entries):
            if kind == REQUESTS and e["kind"] != "request":
                continue
            if kind not in (ALL, REQUESTS) and e.get("type") != kind:
                continue
            if channel and channel not in json.dumps(e.get("json") or {"path": e.get("path")}):
                continue
            out.append(e)
        return out

    @property
    def opened(self) -> list[dict]:
        """The entries whose rows are open in the page (a learner reading their JSON)."""
        numbers = set(self.table.opened)
        return [e for e in self.snapshot() if e["n"] in numbers]

    def _row(self, entry: dict) -> dict:
        clock, arrow, what, status, ms, helper = self.recording.summary(entry)
        body: Any = entry["json"] if entry["kind"] == "event" else {
            k: entry[k] for k in ("method", "path", "params", "body", "status", "response", "ms", "via")
            if entry[k] not in (None, {})}
        text = json.dumps(body, indent=1)
        if len(text) > FOLD:
            text = text[:FOLD] + f"\n… ({len(text) - FOLD} more characters)"
        return {"n": entry["n"], "kind": entry["kind"], "clock": clock, "arrow": arrow, "what": what,
                "status": status, "ms": ms, "via": helper, "json": text}

    def render(self) -> bool:
        every = self.recording.entries         # read (and masked) once a render, not once per use
        shown = self._shown(every)[:self.show]
        rows = [self._row(e) for e in shown] if self.sending else []
        types = sorted({e["type"] for e in every if e["kind"] == "event"} | ({self.type_filter.value} - {ALL, REQUESTS}))
        changed = set_options(self.type_filter, [("Everything", ALL), ("Requests only", REQUESTS)]
                              + [(t, t) for t in types], ALL)
        if rows != self.table.rows:
            self.table.rows = rows
            changed = True
        requests = sum(e["kind"] == "request" for e in every)
        status = (f'<div class="vk-title">On the wire<span class="vk-count">{requests} requests, '
                  f'{len(every) - requests} events'
                  + (f", {self.recording.dropped} dropped" if self.recording.dropped else "")
                  + (" · paused" if self.pause.value else "") + "</span></div>")
        return show_html(self._status, CSS + status) or changed

    def close(self) -> None:
        """Stop recording and showing (what was recorded stays in ``recording``)."""
        if self.closed:
            return
        self._unwatch()
        self.recording.stop()
        self.table.close()
        super().close()
