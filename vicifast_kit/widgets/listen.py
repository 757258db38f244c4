"""Listen: hear a live call in the notebook page (both sides, as a supervisor would)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Error
from .audiowidget import AudioWidget
from .base import readable_error

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient


class Listen(AudioWidget):
    """A live call's audio in the page (both directions mixed), with a level meter, mute and volume."""

    def __init__(self, ari: "ARIClient", channel: Any, *, format: str = "slin16") -> None:
        super().__init__(ari, kind="listen")
        ch = channel if hasattr(channel, "listen") else ari.handle("Channel", str(channel))
        self.channel = ch
        raw = ch.raw if ch.raw.get("name") else {}
        if not raw:                     # given by id: its name and caller id, for the title (one GET)
            try:
                raw = ari.request("GET", f"/channels/{ch.id}") or {}
            except Error:
                raw = {}
        name = raw.get("name") or ch.id
        caller = raw.get("caller") or {}
        who = " ".join(x for x in (caller.get("name", ""), f"<{caller['number']}>" if caller.get("number") else "") if x)
        self.title = f"Listening to {who} ({name})" if who else f"Listening to {name}"
        try:
            stream = ch.listen(format=format)
        except Error as e:              # gone, the lab down, no media: one line in the widget
            self.state = "ended"
            self.error = readable_error(e, "Listening")
            return
        self._attach(stream, "Live: both sides of the call, as a supervisor hears them.")
