"""ChannelsTable: the live channels as a readable table, coloured by state."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import ipywidgets as W

from .base import LiveWidget, show_html
from .model import LiveModel
from .style import CSS, badge, colgroup, duration, esc, mid

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

COLUMNS = ("name", "caller", "state", "duration", "where", "last_event")
HEADERS = ("Channel", "Caller", "State", "Time", "App / bridge", "Last event")
#: Column widths: the table is laid out fixed, so it never scrolls sideways; long cells elide (the
#: channel name in the middle, so a Local channel's ;1/;2 ending stays) and show in full on hover.
WIDTHS = ("30%", "17%", "12%", "8%", "16%", "17%")


class ChannelsTable(LiveWidget):
    """The live channels: name, caller, state, how long, which app or bridge, the last event."""

    def __init__(self, ari: "ARIClient", *, model: LiveModel | None = None, max_rows: int = 300) -> None:
        self.max_rows = max_rows
        self.selected: str | None = None
        self._html = W.HTML(layout=W.Layout(width="100%"))
        self._html.add_class("vk-card")
        super().__init__(ari, model=model, name="channels", tick=1.0, children=[self._html])
        self.add_class("vk-channels")
        self.mark()

    def select(self, channel_id: str | None) -> None:
        """Highlight one channel's row (None: no highlight)."""
        self.selected = channel_id
        self.mark()

    def rows(self) -> list[dict]:
        """The rows as shown, newest first: one dict per channel, with the column values as text."""
        now = time.time()
        bridges = {b["id"]: b for b in self.model.bridges()}
        rows = []
        for c in reversed(self.model.channels()):          # newest first: the call that just came in is on top
            if c["bridge"]:
                b = bridges.get(c["bridge"], {})
                where = f"bridge {c['bridge'][:8]}" + (f" ({b['type']})" if b.get("type") else "")
            else:
                where = c["app"] or ""
            state = "Hanging up" if c["hanging_up"] else c["state"]
            rows.append({"id": c["id"], "name": c["name"], "caller": c["caller"], "state": state,
                         "duration": duration(c["created"], now), "where": where,
                         "last_event": c["last_event"], "held": c["held"], "in_app": c["in_app"]})
        return rows

    def snapshot(self) -> list[dict]:
        """The live channels as shown, newest first (dicts: id, name, caller, state, duration, where, last_event)."""
        return self.rows()

    def render(self) -> bool:
        rows = self.rows()
        ups = sum(r["state"] == "Up" for r in rows)
        head = (f'<div class="vk-title">Channels<span class="vk-count">{len(rows)} live · {ups} up'
                f'{" · " + esc(self.model.poll_error) if self.model.poll_error else ""}</span></div>')
        if not rows:
            body = '<div class="vk-empty">No channels. Place a call: <span class="vk-mono">' \
                   'vk.lab.simulate_caller(ari)</span></div>'
        else:
            trs = []
            for r in rows[:self.max_rows]:
                colour = "#b91c1c" if r["state"] == "Hanging up" else None
                state = badge(r["state"], colour) + ('<span class="vk-tag">hold</span>' if r["held"] else "")
                cls = ' class="vk-sel"' if r["id"] == self.selected else ""
                trs.append(
                    f'<tr{cls} data-channel="{esc(r["id"])}">'
                    f'<td class="vk-mono" title="{esc(r["name"])}&#10;id {esc(r["id"])}">{mid(r["name"], title=False)}</td>'
                    f'<td class="vk-wrap">{esc(r["caller"])}</td><td class="vk-wrap">{state}</td>'
                    f'<td class="vk-mono">{r["duration"]}</td><td class="vk-wrap">{esc(r["where"])}</td>'
                    f'<td class="vk-muted" title="{esc(r["last_event"])}">{esc(r["last_event"])}</td></tr>')
            more = len(rows) - self.max_rows
            if more > 0:
                trs.append(f'<tr><td colspan="6" class="vk-muted">… {more} older channels not shown</td></tr>')
            body = ('<div class="vk-scroll"><table class="vk-table vk-tight">' + colgroup(*WIDTHS) + '<thead><tr>'
                    + "".join(f"<th>{h}</th>" for h in HEADERS) + "</tr></thead><tbody>"
                    + "".join(trs) + "</tbody></table></div>")
        return show_html(self._html, CSS + head + body)
