"""EventLog: the event stream as a bounded, filterable, pausable table."""

from __future__ import annotations

import collections
import re
import threading
from typing import TYPE_CHECKING, Iterable

import ipywidgets as W

from .base import LiveWidget, set_options, show_html
from .focus import FocusReturn
from .model import NOISY, LiveModel, describe, parse_time
from .style import CSS, clock, colgroup, esc, mid, short

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event

ALL = "__all__"
#: Event types folded by default (model.NOISY): runs of them show as one line with a count (choose the type in
#: the filter to see each one). ChannelVarset comes by the dozen with each call (the dialplan's Set()s).
TYPE_COLOURS = {"StasisStart": "#15803d", "StasisEnd": "#b91c1c", "ChannelDestroyed": "#b91c1c",
                "ChannelHangupRequest": "#b91c1c", "ChannelDtmfReceived": "#7c3aed",
                "ChannelStateChange": "#b45309", "ChannelEnteredBridge": "#0e7490", "ChannelLeftBridge": "#0e7490"}


def _breakable(event_type: str) -> str:
    """An event type that may wrap between its words in a narrow column: Channel<wbr>Entered<wbr>Bridge."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "<wbr>", esc(event_type))


def _subject(raw: dict) -> tuple[str, str]:
    for field in ("channel", "bridge", "playback", "recording", "endpoint"):
        v = raw.get(field)
        if isinstance(v, dict):
            return (v.get("id") or v.get("name") or "", v.get("name") or v.get("id") or "")
    return "", ""


def fold(rows: list[dict], noisy: Iterable[str]) -> list[dict]:
    """Display lines from events (any order): each run of consecutive `noisy` events of one type becomes one
    line with ``count`` (how many) and, as detail, what they were about; other events stay lines of their own."""
    noisy = set(noisy)
    lines: list[dict] = []
    for r in rows:
        last = lines[-1] if lines else None
        if r["type"] in noisy and last is not None and last["type"] == r["type"] and last["count"]:
            last["count"] += 1
            last["items"].append(r["detail"])
            if r["id"] != last["id"]:
                last["subjects"].add(r["subject"])
            continue
        line = dict(r, count=1 if r["type"] in noisy else 0, items=[r["detail"]], subjects={r["subject"]})
        lines.append(line)
    for line in lines:
        if line["count"] > 1:
            names = [i.split("=", 1)[0] for i in line["items"]] if line["type"] == "ChannelVarset" else line["items"]
            about = ", ".join(dict.fromkeys(n for n in names if n))
            line["detail"] = f"{line['count']} events" + (f": {about}" if about else "")
            if len(line["subjects"]) > 1:
                line["subject"], line["who"] = f"{len(line['subjects'])} channels", ""
        del line["items"], line["subjects"]
    return lines


def _who(raw: dict) -> str:
    """Whom an event is about, as a learner names it: the channel's caller id name ("" when it has none)."""
    ch = raw.get("channel") if isinstance(raw.get("channel"), dict) else {}
    return ((ch.get("caller") or {}).get("name") or "").strip()


class EventLog(LiveWidget):
    """The client's events, newest first: filter by type and channel, pause, clear; keeps the last `size`.

    Runs of noisy event types (`fold`, by default ChannelVarset and a few others that come by the dozen)
    show as one line with a count; choosing the type in the filter shows each one (fold=() never folds).
    """

    uses_model = False

    def __init__(self, ari: "ARIClient", types: Iterable[str] | str | None = None, *,
                 model: LiveModel | None = None, size: int = 1000, show: int = 80,
                 fold: Iterable[str] = NOISY) -> None:
        #: The event types whose runs show as one line.
        self.fold = tuple(fold)
        self._rows: collections.deque = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self._frozen: list[dict] | None = None
        self._paused_at = 0                       # events received when Pause was pressed
        self.show = show
        self.received = 0
        self.type_filter = W.Dropdown(options=[("All types", ALL)], value=ALL,
                                      layout=W.Layout(flex="1 1 0", min_width="0", width="auto"))
        self.channel_filter = W.Dropdown(options=[("All channels", ALL)], value=ALL,
                                         layout=W.Layout(flex="1 1 0", min_width="0", width="auto"))
        self.pause = W.ToggleButton(description="Pause", icon="pause", layout=W.Layout(width="auto", flex="0 0 auto"))
        self.clear_button = W.Button(description="Clear", icon="trash", layout=W.Layout(width="auto", flex="0 0 auto"))
        self._html = W.HTML(layout=W.Layout(width="100%"))
        self._html.add_class("vk-card")
        super().__init__(ari, model=None, name="eventlog",
                         children=[W.HBox([self.type_filter, self.channel_filter, self.pause, self.clear_button],
                                          layout=W.Layout(width="100%")),
                                   self._html, FocusReturn()])
        self.add_class("vk-eventlog")
        for w in (self.type_filter, self.channel_filter):
            w.observe(lambda _c: self.mark(), "value")
        self.pause.observe(self._on_pause, "value")
        self.clear_button.on_click(lambda _b: self.clear())
        self.on("*" if types is None else ([types] if isinstance(types, str) else list(types)), self._on_event)
        self.mark()

    def _on_event(self, ev: "Event") -> None:
        raw = ev.raw
        cid, name = _subject(raw)
        row = {"seq": ev.seq, "time": parse_time(raw.get("timestamp")), "type": ev.type,
               "id": cid, "subject": name, "who": _who(raw), "detail": describe(ev.type, raw, named=True)}
        with self._lock:
            self._rows.append(row)
            self.received += 1
        self.mark()

    def _on_pause(self, change: dict) -> None:
        with self._lock:
            self._frozen = list(self._rows) if change["new"] else None
            self._paused_at = self.received
        self.pause.description = "Resume" if change["new"] else "Pause"
        self.pause.icon = "play" if change["new"] else "pause"
        self.mark()

    def clear(self) -> None:
        """Forget the events shown so far."""
        with self._lock:
            self._rows.clear()
            if self._frozen is not None:
                self._frozen = []
        self.mark()

    def snapshot(self) -> list[dict]:
        """The events shown (after the filters; frozen while paused), oldest first: seq, time, type, subject, detail."""
        with self._lock:
            rows = list(self._frozen if self._frozen is not None else self._rows)
        t, c = self.type_filter.value, self.channel_filter.value
        return [r for r in rows if (t == ALL or r["type"] == t) and (c == ALL or r["id"] == c)]

    def lines(self) -> list[dict]:
        """The lines shown, newest first: snapshot()'s events with each run of a folded type as one line
        (``count``: how many events it stands for; 0 for a type never folded)."""
        rows = self.snapshot()
        chosen = self.type_filter.value != ALL
        return fold(rows[::-1], () if chosen else self.fold)[:self.show]

    def render(self) -> bool:
        with self._lock:
            everything = list(self._rows)
            new_while_paused = self.received - self._paused_at if self._frozen is not None else 0
        types = sorted({r["type"] for r in everything} | ({self.type_filter.value} - {ALL}))
        subjects: dict[str, str] = {}
        for r in everything:
            if r["id"]:
                subjects[r["id"]] = f'{r["who"]} · {r["subject"]}' if r.get("who") else r["subject"]
        if self.channel_filter.value != ALL:
            subjects.setdefault(self.channel_filter.value, self.channel_filter.value)
        rows = self.snapshot()
        shown = self.lines()
        trs = "".join(
            f'<tr><td class="vk-mono vk-muted vk-time" title="{clock(r["time"])}">'
            f'{clock(r["time"])[:8]}<span class="vk-ms">{clock(r["time"])[8:]}</span></td>'
            f'<td class="vk-wrap"><b style="color:{TYPE_COLOURS.get(r["type"], "#334155")}">{_breakable(r["type"])}</b>'
            + (f' <span class="vk-tag" title="{r["count"]} events of this type in a row, folded: choose the type '
               f'in the filter to see each">×{r["count"]}</span>' if r["count"] > 1 else "") + '</td>'
            + (f'<td class="vk-about" title="{esc(r["subject"])}">{esc(r["who"])}</td>'
               if r.get("who") else f'<td class="vk-mono vk-about">{mid(r["subject"])}</td>')
            + (f'<td class="vk-muted" title="{esc(r["detail"])}">{esc(r["detail"])}</td></tr>' if r["count"]
               else f'<td class="vk-wrap">{esc(r["detail"])}</td></tr>')
            for r in shown)
        status = f"{len(rows)} shown of {self.received} received"
        if self.pause.value:
            status += f" · paused ({new_while_paused} new)"
        # Fixed columns (widths in the stylesheet) that fit a dashboard's side column: the event type and
        # the detail (the hang-up cause is there) wrap, the subject elides in the middle, and below 480 px
        # the time drops its milliseconds (they stay in its tooltip).
        body = (f'<div class="vk-scroll" style="max-height:260px"><table class="vk-table vk-tight">'
                f'{colgroup("vk-c-time", "vk-c-type", "vk-c-about", "vk-c-detail")}<thead><tr><th>Time</th>'
                f'<th>Event</th><th>About</th><th>Detail</th></tr></thead><tbody>{trs}</tbody></table></div>'
                if shown else '<div class="vk-empty">No events yet.</div>')
        value = CSS + f'<div class="vk-title">Events<span class="vk-count">{status}</span></div>' + body
        topts = [("All types", ALL)] + [(t, t) for t in types]
        copts = [("All channels", ALL)] + [(short(n, 30), i) for i, n in subjects.items()][-200:]
        changed = set_options(self.type_filter, topts, ALL)
        changed = set_options(self.channel_filter, copts, ALL) or changed
        return show_html(self._html, value) or changed
