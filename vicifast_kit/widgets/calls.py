"""Channels as a learner thinks of calls (plain data, no widgets): a Local pair's two halves are one call,
and the kit's own channels and bridges (ids ``kit-...``: media, snoop, the Phone's half) stay out of sight.

A simulated caller (or any ``Local/...`` call) is two channels: ``;1``, the side that runs the
dialplan (the caller), and ``;2``, the side that enters your application. ``calls(...)`` folds
them into one row per call (the half in the app first; the other half under ``other``), names
bridges by the name the code gave them before their id, and takes the caller from the half in the
app: after a bridge, Asterisk updates the other half's caller id to the party it is now connected to.
"""

from __future__ import annotations

import re
#: The id prefix of the kit's own objects (see vicifast_kit.lab.housekeeping).
KIT_PREFIX = "kit-"
_LOCAL = re.compile(r"^(Local/.+);([12])$")


def is_kit(row: dict) -> bool:
    """True for the kit's own channel or bridge (its id starts with "kit-")."""
    return str(row.get("id", "")).startswith(KIT_PREFIX)


def bridge_label(bridge: dict | None, ident: str = "") -> str:
    """A bridge as a learner named it: "watch-room (mixing)"; without a name, "bridge 2cd802c8 (mixing)"."""
    bridge = bridge or {}
    name = bridge.get("name") or f"bridge {(bridge.get('id') or ident)[:8]}"
    return name + (f" ({bridge['type']})" if bridge.get("type") else "")


def where(channel: dict, bridges: dict[str, dict]) -> str:
    """Where a channel is: its bridge (by name), else its app or dialplan application."""
    if channel.get("bridge"):
        return bridge_label(bridges.get(channel["bridge"]), channel["bridge"])
    return channel.get("app") or ""


def pair_key(name: str) -> str | None:
    """The call a Local channel half belongs to ("Local/5551000@inbound-0000027b"), None for other channels."""
    m = _LOCAL.match(name or "")
    return m.group(1) if m else None


def calls(channels: list[dict], bridges: list[dict], *, legs: bool = False, kit: bool = False) -> tuple[list[dict], int]:
    """The model's channels as rows, newest first, and how many of the kit's own were left out.

    One row per call (legs=False): a Local pair's halves fold into one row, the half in the app
    (else ``;2``) named first and the other under ``other``. legs=True: a row per channel, as
    Asterisk has them. kit=False leaves out the kit's own channels (a call whose halves are all the
    kit's goes; a call with one half of the kit's shows its other half).
    """
    by_bridge = {b["id"]: b for b in bridges}
    hidden = sum(1 for c in channels if is_kit(c)) if not kit else 0
    shown = [c for c in channels if kit or not is_kit(c)]
    groups: dict[str, list[dict]] = {}
    order: list[str] = []
    for c in shown:
        key = (pair_key(c.get("name", "")) if not legs else None) or c["id"]
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(c)
    rows = []
    for key in order:
        halves = groups[key]
        main = _main(halves)
        others = [h for h in halves if h is not main]
        caller = main.get("caller") or next((h.get("caller") for h in others if h.get("caller")), "")
        if legs and main.get("name", "").endswith(";1"):
            twin = next((c for c in channels if c.get("name") == main["name"][:-1] + "2"), None)
            if twin is not None and twin.get("caller"):
                caller = twin["caller"]       # its own caller id may name the party it is now connected to
        rows.append({
            "id": main["id"], "name": main.get("name", ""), "caller": caller,
            "state": "Hanging up" if main.get("hanging_up") else main.get("state", ""),
            "created": min(h.get("created", 0.0) for h in halves), "where": where(main, by_bridge),
            "bridge": main.get("bridge"), "last_event": main.get("last_event", ""), "held": bool(main.get("held")),
            "in_app": bool(main.get("in_app")), "kit": is_kit(main),
            "other": [{"id": h["id"], "name": h.get("name", ""),
                       "state": "Hanging up" if h.get("hanging_up") else h.get("state", ""),
                       "where": where(h, by_bridge)} for h in others],
        })
    rows.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
    return rows, hidden


def _main(halves: list[dict]) -> dict:
    """The half of a call to name it by: the one in the app, else the one not the kit's, else ``;2``."""
    def rank(c: dict) -> tuple:
        return (bool(c.get("in_app")) and not is_kit(c), not is_kit(c), c.get("name", "").endswith(";2"))
    return max(halves, key=rank)


__all__ = ["calls", "bridge_label", "where", "pair_key", "is_kit", "KIT_PREFIX"]
