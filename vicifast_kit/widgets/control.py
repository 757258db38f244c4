"""CallControl: pick a channel (or follow the newest) and act on it: answer, hang up, hold, DTMF, ...

What the panel shows always describes the call it shows: the hold, mute and music tags come from the
model (ChannelHold/ChannelUnhold events, and the hold/mute/music requests this client made, from the
panel or from code); the status line belongs to one call and goes when another is shown or when what
it says stops being true; the buttons match the call's state (Answer off once it is Up, Unhold only on
hold, everything off once it is gone). Following the newest call, the panel moves on only to a call
that arrived later: when the call it shows ends (hung up here or elsewhere) it stays on it, shown as
gone, so a second click can never reach another caller.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as W
import traitlets

from ..errors import Error
from .base import LiveWidget, failure, readable_error, set_options
from .calls import is_kit
from .focus import FocusReturn
from .model import LiveModel
from .style import CSS, badge, esc, mid, short

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

FOLLOW = "__follow__"
NEW_BRIDGE = "__new__"
KEYS = "123456789*0#"


ANY = object()                   # a status line about the panel, not about a call
NO_NOTE = {"channel": ANY, "text": "", "error": False, "gone_ok": False, "holds": None}
TOGGLE_LABELS = {"hold": ("Hold", "Unhold"), "mute": ("Mute", "Unmute"), "moh": ("Music on hold", "Stop music")}


def _button(label: str, style: str = "", icon: str = "", width: str = "auto", tip: str = "") -> W.Button:
    return W.Button(description=label, button_style=style, icon=icon, tooltip=tip or label,
                    layout=W.Layout(width=width, height="30px", margin="2px", flex="0 0 auto"))


class CallControl(LiveWidget):
    """Buttons for one channel: answer, hang up, ring, hold, mute, music on hold, play, DTMF, move to bridge."""

    #: The id of the channel the buttons act on ("" when there is none).
    channel_id = traitlets.Unicode("")

    def __init__(self, ari: "ARIClient", channel: Any = None, *, model: LiveModel | None = None,
                 sounds: list[str] | None = None) -> None:
        self._pinned = getattr(channel, "id", channel) or None      # None: follow the newest channel
        self._current: tuple | None = None      # following: (created, id) of the call shown
        self._note: dict = NO_NOTE
        self._note_lock = threading.Lock()
        self._updating = False
        self.last_message = ""
        self.picker = W.Dropdown(description="Channel", options=[("Follow the newest call", FOLLOW)],
                                 value=FOLLOW, layout=W.Layout(width="100%"))
        self.picker.style.description_width = "60px"
        self.info = W.HTML(layout=W.Layout(width="100%"))
        self.buttons: dict[str, W.Button] = {
            "answer": _button("Answer", "success", "phone"),
            "hangup": _button("Hang up", "danger", "phone-slash"),
            "ring": _button("Ring", "", "bell"),
            "hold": _button("Hold", "", "pause"),
            "mute": _button("Mute", "", "microphone-slash"),
            "moh": _button("Music on hold", "", "music"),
        }
        actions: dict[str, Callable[[], str]] = {
            "answer": self.answer, "hangup": self.hangup, "ring": self.ring,
            "hold": self.toggle_hold, "mute": self.toggle_mute, "moh": self.toggle_moh}
        for key, b in self.buttons.items():
            b.on_click(lambda _b, fn=actions[key]: fn())
        grow = W.Layout(flex="1 1 0", min_width="0", width="auto")
        self.sound = W.Combobox(placeholder="sound, e.g. hello-world", ensure_option=False, layout=grow)
        self.buttons["play"] = _button("Play", "info", "play")
        self.buttons["play"].on_click(lambda _b: self.play())
        self.keypad: dict[str, W.Button] = {}
        for k in KEYS:
            b = _button(k, width="44px", tip=f"send DTMF {k}")
            b.on_click(lambda _b, k=k: self.send_dtmf(k))
            self.keypad[k] = b
        self.bridge_picker = W.Dropdown(options=[("New mixing bridge", NEW_BRIDGE)], value=NEW_BRIDGE,
                                        layout=W.Layout(flex="1 1 0", min_width="0", width="auto"))
        self.buttons["move"] = _button("Move to bridge", "", "random")
        self.buttons["move"].on_click(lambda _b: self.move_to_bridge())
        self.message = W.HTML(layout=W.Layout(min_height="22px", width="100%"))
        pad = W.GridBox(list(self.keypad.values()),
                        layout=W.Layout(grid_template_columns="repeat(3, 48px)", width="160px"))
        line = W.Layout(flex_flow="row wrap", width="100%")
        rows = [
            W.HTML(CSS + '<div class="vk-title vk-card">Call control</div>'),
            self.picker, self.info,
            W.HBox([self.buttons[k] for k in ("answer", "hangup", "ring")], layout=line),
            W.HBox([self.buttons[k] for k in ("hold", "mute", "moh")], layout=line),
            W.HBox([self.sound, self.buttons["play"]], layout=W.Layout(width="100%")),
            W.HBox([self.bridge_picker, self.buttons["move"]], layout=W.Layout(width="100%")),
            W.HBox([W.HTML('<div class="vk-card vk-muted" style="width:70px;padding-top:6px">Keypad</div>'), pad]),
            self.message, FocusReturn(),
        ]
        super().__init__(ari, model=model, name="control", children=rows,
                         layout=W.Layout(border="1px solid #e5e7eb", padding="8px"))
        self.add_class("vk-control")
        self.picker.observe(self._on_pick, "value")
        self._load_sounds(sounds)
        self.refresh()

    # --- which channel ---------------------------------------------------------------------------
    @property
    def target(self) -> str | None:
        """The id of the channel the buttons act on (None when there is none)."""
        return self.channel_id or None

    def follow(self, channel: Any = None) -> None:
        """Act on this channel (a handle or id); None: follow the newest call in the app."""
        self._pinned = getattr(channel, "id", channel) or None
        self._current = None
        self.refresh()

    def _on_pick(self, change: dict) -> None:
        if not self._updating:
            self._pinned = None if change["new"] == FOLLOW else change["new"]
            self._current = None
            self.refresh()

    def _choose(self, channels: list[dict]) -> str:
        if self._pinned:
            return self._pinned
        # the kit's own channels (media, snoop, phone: ids "kit-...") are never "the newest call"
        mine = [(c["created"], c["id"]) for c in channels
                if c["in_app"] and not c["hanging_up"] and not c["id"].startswith("kit-")]
        # Only forward: a call that arrived later than the one shown. When the shown call ends the panel
        # stays on it (gone) rather than jump to an older caller a second click would hang up.
        if mine and (self._current is None or mine[-1] > self._current):
            self._current = mine[-1]
        return self._current[1] if self._current else ""

    # --- actions (the kernel's thread, from the buttons) -----------------------------------------
    def _act(self, what: str, fn: Callable[[Any], Any], done: str, **note: Any) -> str:
        cid = self.target
        if not cid:
            return self._say("No channel to act on: place a call or pick one.", error=True)
        try:
            fn(self.ari.handle("Channel", cid))
        except Exception as e:                     # a readable line, never a traceback (a bug is logged too)
            return self._say(failure(e, what), error=True)
        self.mark()
        return self._say(done, **note)

    def _say(self, text: str, error: bool = False, *, about: Any = None, gone_ok: bool | None = None,
             holds: Callable[[dict], bool] | None = None) -> str:
        """Show a status line about the call shown (about=ANY: about the panel). It goes when another call
        is shown, when the call is gone (unless gone_ok: "Hung up.", "... it is gone"), or when
        holds(row) turns false ("On hold." once the call is taken off hold)."""
        with self._note_lock:
            self._note = {"channel": self.channel_id if about is None else about, "text": text, "error": error,
                          "gone_ok": (error and "gone" in text) if gone_ok is None else gone_ok, "holds": holds}
            self.last_message = ("error: " if error else "") + text
        self.refresh()
        return self.last_message

    def answer(self) -> str:
        """Answer the channel; returns the message shown."""
        return self._act("Answer", lambda ch: ch.answer(), "Answered.")

    def hangup(self) -> str:
        """Hang the channel up; returns the message shown (the panel stays on that call, shown as gone)."""
        return self._act("Hang up", lambda ch: ch.hangup(), "Hung up.", gone_ok=True)

    def ring(self) -> str:
        """Send ringing to the caller; returns the message shown."""
        return self._act("Ring", lambda ch: ch.ring(), "Ringing the caller.",
                         holds=lambda r: r["state"] != "Up")

    def _toggle(self, field: str, on: tuple, off: tuple) -> str:
        row = self.model.channel(self.target or "") or {}
        is_on = bool(row.get(field))
        what, fn, done = off if is_on else on
        return self._act(what, fn, done, holds=lambda r: bool(r.get(field)) != is_on)

    def toggle_hold(self) -> str:
        """Put the channel on hold, or take it off; returns the message shown."""
        return self._toggle("held", ("Hold", lambda ch: ch.hold(), "On hold."),
                            ("Unhold", lambda ch: ch.unhold(), "Off hold."))

    def toggle_mute(self) -> str:
        """Mute the channel (both directions), or unmute it; returns the message shown."""
        return self._toggle("muted", ("Mute", lambda ch: ch.mute(direction="both"), "Muted (both ways)."),
                            ("Unmute", lambda ch: ch.unmute(direction="both"), "Unmuted."))

    def toggle_moh(self) -> str:
        """Start music on hold on the channel, or stop it; returns the message shown."""
        return self._toggle("moh", ("Music on hold", lambda ch: ch.start_moh(), "Music on hold playing."),
                            ("Stop music", lambda ch: ch.stop_moh(), "Music stopped."))

    def play(self, sound: str | None = None) -> str:
        """Play a sound (the one typed or chosen when None) to the channel; returns the message shown."""
        name = (sound or self.sound.value or "").strip()
        if not name:
            return self._say("Choose a sound to play first.", error=True)
        media = name if ":" in name else f"sound:{name}"
        return self._act("Play", lambda ch: ch.play(media=media), f"Playing {name}.")

    def send_dtmf(self, digits: str) -> str:
        """Send DTMF digits to the channel; returns the message shown."""
        return self._act("DTMF", lambda ch: ch.send_dtmf(dtmf=digits), f"Sent DTMF {digits}.")

    def move_to_bridge(self, bridge: Any = None) -> str:
        """Move the channel into a bridge (the chosen one; a new mixing bridge by default)."""
        bid = getattr(bridge, "id", bridge) or self.bridge_picker.value
        row = self.model.channel(self.target or "") or {}
        moved: list[str] = []

        def move(ch: Any) -> None:
            ch.get()                                   # gone? say so before making a bridge for it
            target, made = bid, None
            if target in (None, NEW_BRIDGE):
                target = made = self.ari.bridges.create(type="mixing").id
            try:
                if row.get("bridge") and row["bridge"] != target:
                    self.ari.bridges.remove_channel(row["bridge"], channel=ch.id)
                self.ari.bridges.add_channel(target, channel=ch.id)
            except Exception:                      # no half-made move: the new bridge goes, the error stays
                if made:
                    self.ari.bridges.destroy(made)
                raise
            moved.append(target)

        msg = self._act("Move to bridge", move, "Moved into the bridge.")
        if not moved:
            return msg
        name = next((b["name"] for b in self.model.bridges() if b["id"] == moved[0] and b["name"]), "")
        return self._say(f"Moved into bridge {name or moved[0][:8]}.")

    def _load_sounds(self, sounds: list[str] | None) -> None:
        if sounds is None:
            try:
                sounds = sorted(s.id for s in self.ari.sounds.list())
            except Error as e:                     # the lab down or the client closed: say so, offer none
                sounds = []
                self._say(readable_error(e, "Listing the sounds"), error=True, about=ANY)
        self.sound.options = list(sounds)
        if sounds:
            self.sound.value = "hello-world" if "hello-world" in sounds else sounds[0]

    # --- showing -----------------------------------------------------------------------------------
    def _shown(self) -> dict:
        """Everything the panel shows, as plain data (computed from the model; nothing is set here)."""
        channels = self.model.channels()
        cid = self._choose(channels)
        row = next((c for c in channels if c["id"] == cid), None)
        ended = self.model.ended(cid) if cid and row is None else None
        live = row is not None and not row["hanging_up"]
        gone = bool(cid) and not live
        note = source = self._note
        keep = bool(note["text"]) and (note["channel"] is ANY or note["channel"] == cid)
        if keep and gone and note["channel"] is not ANY:
            keep = note["gone_ok"]
        if keep and live and note["holds"] is not None:
            keep = bool(note["holds"](row))
        if not keep:
            note = {"text": "", "error": False}
        state = row or {}
        tags = [t for t, field in (("hold", "held"), ("muted", "muted"), ("music", "moh")) if state.get(field)]
        buttons = {}
        for key in list(self.buttons) + [f"key {k}" for k in self.keypad]:
            on = live and not (key == "answer" and row["state"] == "Up")
            label = key[4:] if key.startswith("key ") else self.buttons[key].description
            if key in TOGGLE_LABELS:
                label = TOGGLE_LABELS[key][bool(state.get({"hold": "held", "mute": "muted"}.get(key, key)))]
            buttons[key] = {"label": label, "enabled": on}
        if row is not None:
            status = "Hanging up" if row["hanging_up"] else row["state"]
        elif cid:
            status = "Gone"
        else:
            status = ""
        return {"cid": cid, "row": row, "ended": ended, "live": live, "gone": gone, "note": note, "source": source,
                "tags": tags, "buttons": buttons, "status": status, "channels": channels}

    def snapshot(self) -> dict:
        """What the control shows: the channel (id, name, state or "Gone"), its tags, the buttons (label,
        enabled), the pickers' choices and the status line."""
        shown = self._shown()
        row = shown["row"] or shown["ended"] or {}
        return {"channel": shown["cid"] or None, "following_newest": self._pinned is None,
                "name": row.get("name"), "state": shown["status"] or None, "gone": shown["gone"],
                "held": "hold" in shown["tags"], "muted": "muted" in shown["tags"],
                "moh": "music" in shown["tags"], "tags": shown["tags"],
                "buttons": {k: v for k, v in shown["buttons"].items() if not k.startswith("key ")},
                "keypad_enabled": all(v["enabled"] for k, v in shown["buttons"].items() if k.startswith("key ")),
                "channels": [v for _, v in self.picker.options if v != FOLLOW],
                "bridges": [v for _, v in self.bridge_picker.options if v != NEW_BRIDGE],
                "message": ("error: " if shown["note"]["error"] else "") + shown["note"]["text"]
                if shown["note"]["text"] else ""}

    def _info_html(self, shown: dict) -> str:
        cid, row, ended = shown["cid"], shown["row"], shown["ended"]
        if not cid:
            return ('<div class="vk-card vk-muted" style="padding:4px 0">'
                    "No call yet: the newest call in the app shows here.</div>")
        known = row or ended
        if known is None:
            return ('<div class="vk-card vk-muted" style="padding:4px 0">That channel is gone '
                    f'<span class="vk-mono">({esc(cid)})</span>.</div>')
        if row is not None and not row["hanging_up"]:
            state = badge(row["state"])
            detail = " · ".join(x for x in (row["name"] if row["caller"] else "", row["last_event"]) if x)
        else:
            state = badge("Hanging up" if row is not None else "Gone", "#b91c1c" if row is not None else "#6b7280")
            cause = known.get("cause")
            detail = (f"It ended (hung up: {cause})." if cause else "It ended.") + " " + (
                "Pick another call above." if self._pinned else
                "The next call that arrives shows here, or pick one above.")
        tags = "".join(f'<span class="vk-tag">{t}</span>' for t in shown["tags"])
        return (f'<div class="vk-card" style="padding:4px 0">'
                f'<div style="display:flex;align-items:center;gap:4px;min-width:0">'
                + (f'<div style="min-width:0;flex:0 1 auto;font-weight:600" title="{esc(known["name"] or cid)}">'
                   f'{esc(known["caller"])}</div>' if known.get("caller") else
                   f'<div class="vk-mono" style="min-width:0;flex:0 1 auto">{mid(known["name"] or cid)}</div>') +
                f'<span style="flex:0 0 auto">{state}{tags}</span></div>'
                f'<div class="vk-muted">{esc(detail)}</div></div>')

    def render(self) -> bool:
        shown = self._shown()
        cid, channels = shown["cid"], shown["channels"]
        # the learner's calls: the kit's own channels (media, snoop, the Phone's half) are not offered
        theirs = [c for c in reversed(channels) if not is_kit(c) or c["id"] == cid]
        mine = [c for c in theirs if c["in_app"]] + [c for c in theirs if not c["in_app"]]
        opts = [("Follow the newest call", FOLLOW)] + [
            (f'{short(c["caller"] if c["in_app"] and c["caller"] else c["name"], 30)} · '
             f'{"Hanging up" if c["hanging_up"] else c["state"]}{"" if c["in_app"] else " · dialplan"}', c["id"])
            for c in mine]
        if self._pinned and all(v != self._pinned for _, v in opts):
            name = (self.model.ended(self._pinned) or {}).get("name") or self._pinned
            opts.append((f"{short(name, 30)} · gone", self._pinned))
        bopts = [("New mixing bridge", NEW_BRIDGE)] + [
            (f'{short(b["name"] or b["id"][:8], 20)} · {b["type"]} · {len(b["channels"])} in it', b["id"])
            for b in self.model.bridges() if not is_kit(b)]
        note = shown["note"]
        if note["text"]:
            cls = "vk-msg-err" if note["error"] else "vk-msg-ok"
            message = f'<span class="vk-card {cls}">{"⚠ " if note["error"] else "✓ "}{esc(note["text"])}</span>'
        else:
            message = ""
        with self._note_lock:
            if self._note is shown["source"]:          # (not a line said meanwhile: the next render shows that)
                self.last_message = ("error: " if note["error"] else "") + note["text"] if note["text"] else ""
                if not note["text"]:
                    self._note = NO_NOTE                # a line that went does not come back
        changed = False
        self._updating = True
        try:
            with self.hold_sync():
                if self.channel_id != cid:
                    self.channel_id = cid
                    changed = True
            if list(self.picker.options) != opts or self.picker.value != (self._pinned or FOLLOW):
                with self.picker.hold_sync():
                    self.picker.options = opts
                    self.picker.value = self._pinned or FOLLOW
                changed = True
            changed = set_options(self.bridge_picker, bopts, NEW_BRIDGE) or changed
            for html, value in ((self.info, self._info_html(shown)), (self.message, message)):
                if html.value != value:
                    html.value = value
                    changed = True
            for key, b in list(self.buttons.items()) + [(f"key {k}", b) for k, b in self.keypad.items()]:
                want = shown["buttons"][key]
                if b.description != want["label"]:
                    b.description = want["label"]
                    changed = True
                if b.disabled == want["enabled"]:
                    b.disabled = not want["enabled"]
                    changed = True
            for w in (self.sound, self.bridge_picker):
                if w.disabled == shown["live"]:
                    w.disabled = not shown["live"]
                    changed = True
        finally:
            self._updating = False
        return changed
