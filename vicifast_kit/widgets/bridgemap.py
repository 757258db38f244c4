"""A picture of who is in which bridge, at one moment: boxes for bridges, the calls inside them.

``vk.widgets.bridge_map(ari, [talk, waiting], channels=[customer, agent])`` asks Asterisk once and
returns a :class:`BridgeMap`, which Jupyter shows as an SVG picture (stored in the notebook, so a
static view shows it too) and which prints as plain text. Nothing in it depends on ids or times: the
same membership always gives the same picture.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .style import esc, plural, short

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

TYPE_COLOURS = {"mixing": "#0e7490", "holding": "#7c3aed"}
OUTSIDE_COLOUR = "#64748b"
GONE_COLOUR = "#94a3b8"
BOX_W, GAP, HEAD_H, ROW_H, PAD = 176, 16, 40, 26, 10
_COUNTER = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def _ident(value: Any) -> str:
    """The id of a handle, an event's object, a dict from the API, or a plain id."""
    if isinstance(value, str):
        return value
    raw = getattr(value, "raw", None)
    if isinstance(raw, dict) and raw.get("id"):
        return raw["id"]
    if isinstance(value, Mapping) and value.get("id"):
        return value["id"]
    ident = getattr(value, "id", None)
    if isinstance(ident, str):
        return ident
    raise TypeError(f"expected a bridge or channel (a handle or its id), not {type(value).__name__}")


def channel_label(raw: Mapping[str, Any]) -> str:
    """How a channel is named in the picture: its caller's name, else what kind of channel it is."""
    name = ((raw.get("caller") or {}).get("name") or "").strip()
    if name:
        return name
    full = raw.get("name") or ""
    tech, _, rest = full.partition("/")
    if tech == "Snoop":
        return "listening tap (snoop)"
    if tech == "WebSocket":
        return "media stream (your program)"
    if tech == "UnicastRTP":
        return "external media"
    endpoint = _COUNTER.sub("", rest).split("@", 1)[0]
    return f"{tech} {endpoint}".strip() if endpoint else (tech or "channel")


class BridgeMap:
    """Who was in which bridge when it was made: ``bridges`` and ``outside`` as data, an SVG for Jupyter."""

    def __init__(self, bridges: list[dict], outside: list[str], title: str = "") -> None:
        self.bridges = bridges
        self.outside = outside
        self.title = title

    def snapshot(self) -> dict:
        """The picture as plain data: {"bridges": [{name, type, members, gone}], "outside": [labels]}."""
        return {"bridges": [dict(b, members=list(b["members"])) for b in self.bridges],
                "outside": list(self.outside)}

    def members(self, bridge_name: str) -> list[str]:
        """The labels of the calls in the bridge shown as `bridge_name` (sorted); [] if none."""
        return next((list(b["members"]) for b in self.bridges if b["name"] == bridge_name), [])

    @property
    def svg(self) -> str:
        """The picture as an SVG string."""
        boxes = [(b["name"], b["type"], b["members"], b.get("gone", False)) for b in self.bridges]
        if self.outside or not boxes:
            boxes.append(("in no bridge", "", self.outside, False))
        rows = max([len(m) for _, _, m, _ in boxes] + [1])
        top = 26 if self.title else 6
        width = PAD + len(boxes) * (BOX_W + GAP) - GAP + PAD
        height = top + HEAD_H + rows * ROW_H + PAD + 6
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" style="display:block;max-width:100%;height:auto" '
               f'font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="who is in which bridge">']
        if self.title:
            out.append(f'<text x="{PAD}" y="17" font-weight="600" font-size="12" fill="#334155">{esc(self.title)}</text>')
        for i, (name, kind, members, gone) in enumerate(boxes):
            x = PAD + i * (BOX_W + GAP)
            outside = kind == "" and name == "in no bridge"
            colour = GONE_COLOUR if gone else OUTSIDE_COLOUR if outside else TYPE_COLOURS.get(kind, "#475569")
            box_h = HEAD_H + rows * ROW_H + 4
            dash = ' stroke-dasharray="5 4"' if outside or gone else ""
            out.append(f'<rect x="{x}" y="{top}" width="{BOX_W}" height="{box_h}" rx="8" fill="#f8fafc" '
                       f'stroke="{colour}" stroke-width="1.5"{dash}/>')
            if not outside:
                out.append(f'<rect x="{x}" y="{top}" width="{BOX_W}" height="{HEAD_H - 6}" rx="8" fill="{colour}"/>'
                           f'<rect x="{x}" y="{top + HEAD_H - 14}" width="{BOX_W}" height="8" fill="{colour}"/>')
            head = "#fff" if not outside else OUTSIDE_COLOUR
            sub = ("destroyed" if gone else f'{kind or "bridge"} bridge · {plural(len(members), "call")}') \
                if not outside else plural(len(members), "call")
            out.append(f'<text x="{x + BOX_W / 2}" y="{top + 15}" text-anchor="middle" font-weight="600" '
                       f'font-size="12" fill="{head}"><title>{esc(name)}</title>{esc(short(name, 24))}</text>'
                       f'<text x="{x + BOX_W / 2}" y="{top + 28}" text-anchor="middle" font-size="9.5" '
                       f'fill="{head}" opacity="0.9">{esc(sub)}</text>')
            for j, label in enumerate(members):
                y = top + HEAD_H + j * ROW_H
                out.append(f'<rect x="{x + 8}" y="{y}" width="{BOX_W - 16}" height="{ROW_H - 6}" rx="10" '
                           f'fill="#fff" stroke="{colour}" stroke-width="1"/>'
                           f'<circle cx="{x + 20}" cy="{y + (ROW_H - 6) / 2}" r="4" fill="{colour}"/>'
                           f'<text x="{x + 30}" y="{y + 14}" fill="#0f172a"><title>{esc(label)}</title>'
                           f'{esc(short(label, 24))}</text>')
            if not members and not gone:
                out.append(f'<text x="{x + BOX_W / 2}" y="{top + HEAD_H + 14}" text-anchor="middle" '
                           f'fill="#94a3b8" font-style="italic">empty</text>')
        out.append("</svg>")
        return "".join(out)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def save(self, path: str) -> None:
        """Write the picture to an .svg file."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self) -> str:
        lines = [f"{self.title}:" if self.title else "Bridges:"]
        for b in self.bridges:
            if b.get("gone"):
                lines.append(f'  {b["name"]} (destroyed)')
            else:
                lines.append(f'  {b["name"]} ({b["type"]}): ' + (", ".join(b["members"]) or "empty"))
        if self.outside:
            lines.append("  in no bridge: " + ", ".join(self.outside))
        return "\n".join(lines)


def bridge_map(ari: "ARIClient", bridges: Iterable[Any] | None = None, *, channels: Iterable[Any] = (),
               labels: Mapping[Any, str] | None = None, title: str = "") -> BridgeMap:
    """A picture of who is in which bridge now: `bridges` (default: all in the lab) and where `channels` are.

    Each channel is named by its caller id name (or `labels`, keyed by channel or id); `channels`
    that are in none of the bridges shown appear in a box "in no bridge"; a bridge given that no
    longer exists is drawn as destroyed.
    """
    every_channel = {c["id"]: c for c in ari.request("GET", "/channels") or []}
    names = {_ident(k): v for k, v in (labels or {}).items()}

    def label(ident: str) -> str:
        if ident in names:
            return names[ident]
        raw = every_channel.get(ident)
        return channel_label(raw) if raw else "a call that has ended"

    # Two list requests, never one per object: a CallFlow following these calls draws no extra arrows.
    every_bridge = {b["id"]: b for b in ari.request("GET", "/bridges") or []}
    if bridges is None:
        found = sorted(every_bridge.values(), key=lambda b: (b.get("name") or "", b["id"]))
    else:
        found = []
        for bridge in bridges:
            ident = _ident(bridge)
            if ident in every_bridge:
                found.append(every_bridge[ident])
            else:
                old = getattr(bridge, "raw", None) or {}
                found.append({"id": ident, "name": old.get("name", ""), "bridge_type": old.get("bridge_type", ""),
                              "channels": [], "gone": True})
    shown, inside = [], set()
    for b in found:
        members = list(b.get("channels") or [])
        inside.update(members)
        shown.append({"name": b.get("name") or f'bridge {b["id"][:8]}', "type": b.get("bridge_type") or "",
                      "members": sorted(label(m) for m in members), "gone": bool(b.get("gone"))})
    outside = sorted(label(c) for c in dict.fromkeys(_ident(c) for c in channels) if c not in inside)
    return BridgeMap(shown, outside, title)
