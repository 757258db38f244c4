"""ChannelsTable: the live calls as a readable table, coloured by state (one row per call; see calls.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import ipywidgets as W

from .base import LiveWidget, show_html
from .calls import calls
from .model import LiveModel
from .style import CSS, badge, colgroup, duration, esc, mid, plural

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

COLUMNS = ("caller", "name", "state", "duration", "where", "last_event")
HEADERS = ("Caller", "Channel", "State", "Time", "App / bridge", "Last event")
#: Column widths: the table is laid out fixed, so it never scrolls sideways; long cells elide (the
#: channel name in the middle, so a Local channel's ;1/;2 ending stays) and show in full on hover.
WIDTHS = ("19%", "27%", "12%", "8%", "17%", "17%")


class ChannelsTable(LiveWidget):
    """The live calls: caller, channel, state, how long, which app or bridge (by name), the last event.

    One row per call: a Local call's two halves (``;1`` in the dialplan, ``;2`` in your app) are one
    row, named by the half in the app; ``legs=True`` (or the "Both halves" button) shows every channel
    as Asterisk has them. The kit's own channels (ids ``kit-...``: media, snoop, the Phone's half) are
    left out unless ``kit=True`` (or the "Kit's own" button).
    """

    def __init__(self, ari: "ARIClient", *, model: LiveModel | None = None, max_rows: int = 300,
                 legs: bool = False, kit: bool = False) -> None:
        self.max_rows = max_rows
        self.selected: str | None = None
        self._html = W.HTML(layout=W.Layout(width="100%"))
        self._html.add_class("vk-card")
        self.legs_button = W.ToggleButton(value=legs, description="Both halves", icon="columns", layout=W.Layout(
            width="auto", flex="0 0 auto"), tooltip="Show each half of a Local call (;1 in the dialplan, ;2 in the app) as a row")
        self.kit_button = W.ToggleButton(value=kit, description="Kit's own", icon="cog", layout=W.Layout(
            width="auto", flex="0 0 auto"), tooltip="Show the kit's own channels too (media, snoop, the Phone's half: ids kit-...)")
        for b in (self.legs_button, self.kit_button):
            b.observe(lambda _c: self.mark(), "value")
            b.add_class("vk-small-toggle")
        options = W.HBox([self.legs_button, self.kit_button],
                         layout=W.Layout(width="100%", justify_content="flex-end"))
        super().__init__(ari, model=model, name="channels", tick=1.0, children=[options, self._html])
        self.add_class("vk-channels")
        self.mark()

    @property
    def legs(self) -> bool:
        """True when each half of a Local call shows as a row of its own."""
        return self.legs_button.value

    @legs.setter
    def legs(self, value: bool) -> None:
        self.legs_button.value = bool(value)

    @property
    def kit(self) -> bool:
        """True when the kit's own channels show too."""
        return self.kit_button.value

    @kit.setter
    def kit(self, value: bool) -> None:
        self.kit_button.value = bool(value)

    def select(self, channel_id: str | None) -> None:
        """Highlight the row of this channel's call (None: no highlight)."""
        self.selected = channel_id
        self.mark()

    def rows(self) -> list[dict]:
        """The rows as shown, newest first: one dict per call (``other``: the call's other halves)."""
        return self._rows()[0]

    def _rows(self) -> tuple[list[dict], int]:
        now = time.time()
        rows, hidden = calls(self.model.channels(), self.model.bridges(), legs=self.legs, kit=self.kit)
        for r in rows:
            r["duration"] = duration(r["created"], now)
        return rows, hidden

    def snapshot(self) -> list[dict]:
        """The live calls as shown, newest first (dicts: id, name, caller, state, duration, where, last_event,
        in_app, other: the call's other halves)."""
        return self.rows()

    def render(self) -> bool:
        rows, hidden = self._rows()
        ups = sum(r["state"] == "Up" for r in rows)
        noun = "channel" if self.legs else "call"
        count = f"{plural(len(rows), noun)} · {ups} up"
        if hidden:
            count += f" · {plural(hidden, 'kit channel')} hidden"
        head = (f'<div class="vk-title">Calls<span class="vk-count">{count}'
                f'{" · " + esc(self.model.poll_error) if self.model.poll_error else ""}</span></div>')
        if not rows:
            body = '<div class="vk-empty">No channels. Place a call: <span class="vk-mono">' \
                   'vk.lab.simulate_caller(ari)</span></div>'
        else:
            trs = []
            for r in rows[:self.max_rows]:
                colour = "#b91c1c" if r["state"] == "Hanging up" else None
                state = badge(r["state"], colour) + ('<span class="vk-tag">hold</span>' if r["held"] else "")
                cls = ' class="vk-sel"' if r["id"] == self.selected or any(
                    o["id"] == self.selected for o in r["other"]) else ""
                tip = f'{r["name"]}&#10;id {r["id"]}' if not r["other"] else (
                    f'{r["name"]}&#10;id {r["id"]}&#10;other half: ' + "; ".join(
                        f'{o["name"]} ({o["state"]}, {o["where"]})' for o in r["other"]))
                tip = esc(tip).replace("&amp;#10;", "&#10;")
                kit = '<span class="vk-tag">kit</span>' if r["kit"] else ""
                trs.append(
                    f'<tr{cls} data-channel="{esc(r["id"])}"'
                    + "".join(f' data-other="{esc(o["id"])}"' for o in r["other"][:1]) + '>'
                    f'<td class="vk-wrap">{esc(r["caller"]) or "<span class=vk-muted>no caller id</span>"}{kit}</td>'
                    f'<td class="vk-mono" title="{tip}">{mid(r["name"], title=False)}</td>'
                    f'<td class="vk-wrap">{state}</td>'
                    f'<td class="vk-mono">{r["duration"]}</td><td class="vk-wrap">{esc(r["where"])}</td>'
                    f'<td class="vk-muted" title="{esc(r["last_event"])}">{esc(r["last_event"])}</td></tr>')
            more = len(rows) - self.max_rows
            if more > 0:
                trs.append(f'<tr><td colspan="6" class="vk-muted">… {more} older {noun}s not shown</td></tr>')
            body = ('<div class="vk-scroll"><table class="vk-table vk-tight">' + colgroup(*WIDTHS) + '<thead><tr>'
                    + "".join(f"<th>{h}</th>" for h in HEADERS) + "</tr></thead><tbody>"
                    + "".join(trs) + "</tbody></table></div>")
        return show_html(self._html, CSS + head + body)
