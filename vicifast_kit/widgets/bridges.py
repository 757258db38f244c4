"""BridgesView: the live bridges, their type and their member channels."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import ipywidgets as W

from .base import LiveWidget, show_html
from .calls import is_kit
from .model import LiveModel
from .style import CSS, colgroup, duration, esc, mid, plural

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

TYPE_COLOURS = {"mixing": "#0e7490", "holding": "#7c3aed"}


class BridgesView(LiveWidget):
    """The live bridges: name (or id), type, technology, age and who is in each (callers first).

    The kit's own bridges (ids ``kit-...``: a Phone's, a Listen's) are left out unless ``kit=True``.
    """

    def __init__(self, ari: "ARIClient", *, model: LiveModel | None = None, kit: bool = False) -> None:
        #: Whether the kit's own bridges show too.
        self.kit = kit
        self._html = W.HTML(layout=W.Layout(width="100%"))
        self._html.add_class("vk-card")
        super().__init__(ari, model=model, name="bridges", tick=1.0, children=[self._html])
        self.add_class("vk-bridges")
        self.mark()

    def snapshot(self) -> list[dict]:
        """The live bridges (list of dicts: id, type, technology, name, age, channels: [{id, name, caller, state, kit}])."""
        now = time.time()
        chans = {c["id"]: c for c in self.model.channels()}
        out = []
        for b in self.model.bridges():
            if is_kit(b) and not self.kit:
                continue
            members = [{"id": cid, "name": chans.get(cid, {}).get("name", cid),
                        "caller": chans.get(cid, {}).get("caller", ""), "state": chans.get(cid, {}).get("state", ""),
                        "kit": cid.startswith("kit-")} for cid in b["channels"]]
            out.append({"id": b["id"], "type": b["type"], "technology": b["technology"], "name": b["name"],
                        "age": duration(b["created"], now), "channels": members})
        return out

    def render(self) -> bool:
        bridges = self.snapshot()
        head = (f'<div class="vk-title">Bridges<span class="vk-count">{len(bridges)} live · '
                f'{plural(sum(len(b["channels"]) for b in bridges), "channel")} in them</span></div>')
        if not bridges:
            body = '<div class="vk-empty">No bridges. <span class="vk-mono">ari.bridges.create(type="mixing")</span></div>'
        else:
            trs = []
            for b in bridges:
                colour = TYPE_COLOURS.get(b["type"], "#475569")
                members = "".join(_member(m) for m in b["channels"]) or '<span class="vk-muted">empty</span>'
                label = mid(b["name"] or b["id"][:8], title=False)
                tip = (b["name"] + "\n" if b["name"] else "") + "id " + b["id"]
                trs.append(f'<tr><td class="vk-mono" title="{esc(tip)}">{label}</td>'
                           f'<td><span class="vk-badge" style="background:{colour}">{esc(b["type"] or "?")}</span></td>'
                           f'<td title="{esc(b["technology"])}">{esc(b["technology"])}</td>'
                           f'<td class="vk-mono">{b["age"]}</td><td>{members}</td></tr>')
            body = ('<div class="vk-scroll" style="max-height:200px"><table class="vk-table vk-tight">'
                    + colgroup("22%", "14%", "15%", "9%", "40%") + '<thead><tr>'
                    '<th>Bridge</th><th>Type</th><th>Technology</th><th>Age</th><th>Channels</th></tr></thead><tbody>'
                    + "".join(trs) + "</tbody></table></div>")
        return show_html(self._html, CSS + head + body)


def _member(m: dict) -> str:
    """One member of a bridge: its caller first ("Ada Lopez <5556001>"), the channel name on hover; the kit's
    own channel (a Phone's or a tap's media) says so."""
    if m["kit"]:
        return f'<div class="vk-muted" title="{esc(m["name"])}">the kit\'s media channel (a Phone or a tap)</div>'
    if m["caller"]:
        return f'<div title="{esc(m["name"])}">{esc(m["caller"])}</div>'
    return f'<div class="vk-mono">{mid(m["name"])}</div>'
