"""CallControl: pick a channel (or follow the newest) and act on it: answer, hang up, hold, DTMF, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as W
import traitlets

from .base import LiveWidget, readable_error, set_options
from .model import LiveModel
from .style import CSS, badge, esc

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

FOLLOW = "__follow__"
NEW_BRIDGE = "__new__"
KEYS = "123456789*0#"


def _button(label: str, style: str = "", icon: str = "", width: str = "auto", tip: str = "") -> W.Button:
    return W.Button(description=label, button_style=style, icon=icon, tooltip=tip or label,
                    layout=W.Layout(width=width, height="30px", margin="2px"))


class CallControl(LiveWidget):
    """Buttons for one channel: answer, hang up, ring, hold, mute, music on hold, play, DTMF, move to bridge."""

    #: The id of the channel the buttons act on ("" when there is none).
    channel_id = traitlets.Unicode("")

    def __init__(self, ari: "ARIClient", channel: Any = None, *, model: LiveModel | None = None,
                 sounds: list[str] | None = None) -> None:
        self._pinned = getattr(channel, "id", channel) or None      # None: follow the newest channel
        self._muted: set[str] = set()
        self._moh: set[str] = set()
        self._held: set[str] = set()
        self._updating = False
        self.last_message = ""
        self.picker = W.Dropdown(description="Channel", options=[("Follow the newest call", FOLLOW)],
                                 value=FOLLOW, layout=W.Layout(width="100%"))
        self.info = W.HTML()
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
        self.sound = W.Combobox(placeholder="sound, e.g. hello-world", ensure_option=False,
                                layout=W.Layout(width="62%"))
        self.buttons["play"] = _button("Play", "info", "play")
        self.buttons["play"].on_click(lambda _b: self.play())
        self.keypad: dict[str, W.Button] = {}
        for k in KEYS:
            b = _button(k, width="44px", tip=f"send DTMF {k}")
            b.on_click(lambda _b, k=k: self.send_dtmf(k))
            self.keypad[k] = b
        self.bridge_picker = W.Dropdown(options=[("New mixing bridge", NEW_BRIDGE)], value=NEW_BRIDGE,
                                        layout=W.Layout(width="62%"))
        self.buttons["move"] = _button("Move to bridge", "", "random")
        self.buttons["move"].on_click(lambda _b: self.move_to_bridge())
        self.message = W.HTML(layout=W.Layout(min_height="22px"))
        pad = W.GridBox(list(self.keypad.values()),
                        layout=W.Layout(grid_template_columns="repeat(3, 48px)", width="160px"))
        rows = [
            W.HTML(CSS + '<div class="vk-title vk-card">Call control</div>'),
            self.picker, self.info,
            W.HBox([self.buttons[k] for k in ("answer", "hangup", "ring")], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.buttons[k] for k in ("hold", "mute", "moh")], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.sound, self.buttons["play"]]),
            W.HBox([self.bridge_picker, self.buttons["move"]]),
            W.HBox([W.HTML('<div class="vk-card vk-muted" style="width:70px;padding-top:6px">Keypad</div>'), pad]),
            self.message,
        ]
        super().__init__(ari, model=model, name="control", children=rows,
                         layout=W.Layout(border="1px solid #e5e7eb", padding="8px"))
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
        self.refresh()

    def _on_pick(self, change: dict) -> None:
        if not self._updating:
            self._pinned = None if change["new"] == FOLLOW else change["new"]
            self.refresh()

    def _choose(self, channels: list[dict]) -> str:
        if self._pinned:
            return self._pinned
        mine = [c for c in channels if c["in_app"] and not c["hanging_up"]]
        return mine[-1]["id"] if mine else ""

    # --- actions (the kernel's thread, from the buttons) -----------------------------------------
    def _act(self, what: str, fn: Callable[[Any], Any], done: str) -> str:
        cid = self.target
        if not cid:
            return self._say("No channel to act on: place a call or pick one.", error=True)
        try:
            fn(self.ari.handle("Channel", cid))
        except Exception as e:                     # a readable line, never a traceback
            return self._say(readable_error(e, what), error=True)
        self.pump.mark()
        return self._say(done)

    def _say(self, text: str, error: bool = False) -> str:
        self.last_message = ("error: " if error else "") + text
        cls = "vk-msg-err" if error else "vk-msg-ok"
        self.message.value = f'<span class="vk-card {cls}">{"⚠ " if error else "✓ "}{esc(text)}</span>'
        return self.last_message

    def answer(self) -> str:
        """Answer the channel; returns the message shown."""
        return self._act("Answer", lambda ch: ch.answer(), "Answered.")

    def hangup(self) -> str:
        """Hang the channel up; returns the message shown."""
        return self._act("Hang up", lambda ch: ch.hangup(), "Hung up.")

    def ring(self) -> str:
        """Send ringing to the caller; returns the message shown."""
        return self._act("Ring", lambda ch: ch.ring(), "Ringing the caller.")

    def _toggle(self, store: set, on: tuple, off: tuple) -> str:
        cid = self.target or ""
        what, fn, done = off if cid in store else on
        msg = self._act(what, fn, done)
        if not msg.startswith("error"):
            store.symmetric_difference_update({cid})
        self.refresh()
        return msg

    def toggle_hold(self) -> str:
        """Put the channel on hold, or take it off; returns the message shown."""
        return self._toggle(self._held, ("Hold", lambda ch: ch.hold(), "On hold."),
                            ("Unhold", lambda ch: ch.unhold(), "Off hold."))

    def toggle_mute(self) -> str:
        """Mute the channel (both directions), or unmute it; returns the message shown."""
        return self._toggle(self._muted, ("Mute", lambda ch: ch.mute(direction="both"), "Muted (both ways)."),
                            ("Unmute", lambda ch: ch.unmute(direction="both"), "Unmuted."))

    def toggle_moh(self) -> str:
        """Start music on hold on the channel, or stop it; returns the message shown."""
        return self._toggle(self._moh, ("Music on hold", lambda ch: ch.start_moh(), "Music on hold playing."),
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

        def move(ch: Any) -> None:
            ch.get()                                   # gone? say so before making a bridge for it
            target, made = bid, None
            if target in (None, NEW_BRIDGE):
                target = made = self.ari.bridges.create(type="mixing").id
            try:
                if row.get("bridge") and row["bridge"] != target:
                    self.ari.bridges.remove_channel(row["bridge"], channel=ch.id)
                self.ari.bridges.add_channel(target, channel=ch.id)
            except Exception:
                if made:
                    self.ari.bridges.destroy(made)
                raise
            self._moved_to = target

        self._moved_to = None
        self._act("Move to bridge", move, "Moved into the bridge.")
        if self._moved_to:
            self._say(f"Moved into bridge {self._moved_to[:8]}.")
        return self.last_message

    def _load_sounds(self, sounds: list[str] | None) -> None:
        if sounds is None:
            try:
                sounds = sorted(s.id for s in self.ari.sounds.list())
            except Exception as e:
                sounds = []
                self._say(readable_error(e, "Listing the sounds"), error=True)
        self.sound.options = list(sounds)
        if sounds:
            self.sound.value = "hello-world" if "hello-world" in sounds else sounds[0]

    # --- showing -----------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """What the control shows: the channel (id, name, state), the toggles, the pickers' choices, the message."""
        cid = self.target
        row = self.model.channel(cid) if cid else None
        return {"channel": cid, "following_newest": self._pinned is None,
                "name": (row or {}).get("name"), "state": (row or {}).get("state"),
                "held": bool(cid in self._held or (row or {}).get("held")), "muted": cid in self._muted,
                "moh": cid in self._moh, "channels": [v for _, v in self.picker.options if v != FOLLOW],
                "bridges": [v for _, v in self.bridge_picker.options if v != NEW_BRIDGE],
                "message": self.last_message}

    def render(self) -> bool:
        channels = self.model.channels()
        cid = self._choose(channels)
        row = next((c for c in channels if c["id"] == cid), None)
        opts = [("Follow the newest call", FOLLOW)] + [
            (f'{c["name"]} · {c["state"]}{" (this app)" if c["in_app"] else ""}', c["id"])
            for c in reversed(channels)]
        if self._pinned and all(v != self._pinned for _, v in opts):
            opts.append((f"{self._pinned} · gone", self._pinned))
        bopts = [("New mixing bridge", NEW_BRIDGE)] + [
            (f'{b["id"][:8]} · {b["type"]} · {len(b["channels"])} in it', b["id"]) for b in self.model.bridges()]
        if row is None:
            info = ('<div class="vk-card vk-muted" style="padding:4px 0">'
                    + ("That channel is gone." if cid else "No call yet: the newest call in the app shows here.")
                    + "</div>")
        else:
            tags = "".join(f'<span class="vk-tag">{t}</span>' for t, on in (
                ("hold", cid in self._held or row["held"]), ("muted", cid in self._muted),
                ("music", cid in self._moh)) if on)
            info = (f'<div class="vk-card" style="padding:4px 0"><span class="vk-mono">{esc(row["name"])}</span> '
                    f'{badge(row["state"])}{tags}<br><span class="vk-muted">{esc(row["caller"])} · '
                    f'{esc(row["last_event"])}</span></div>')
        labels = {"hold": "Unhold" if cid in self._held else "Hold",
                  "mute": "Unmute" if cid in self._muted else "Mute",
                  "moh": "Stop music" if cid in self._moh else "Music on hold"}
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
            if self.info.value != info:
                self.info.value = info
                changed = True
            for key, label in labels.items():
                if self.buttons[key].description != label:
                    self.buttons[key].description = label
                    changed = True
            disabled = row is None
            for b in list(self.buttons.values()) + list(self.keypad.values()):
                if b.disabled != disabled:
                    b.disabled = disabled
                    changed = True
        finally:
            self._updating = False
        return changed
