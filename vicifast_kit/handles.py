"""Handles: Python objects for ARI's channels, bridges, playbacks, recordings, ... with their id bound.

A handle carries the JSON the server sent (``raw``), gives its fields as attributes
(``ch.state``, ``ch.caller.number``) and, once a client has connected, every ARI operation whose
path names that object as a method (``ch.answer()``, ``br.add_channel(channel=ch)``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .audio import Audio
    from .client import ARIClient
    from .events import Event, Subscription
    from .media import MediaStream


class Record:
    """A JSON object with attribute access (``info.system.version``); the dict is ``raw``."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict) -> None:
        object.__setattr__(self, "raw", raw)

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap_plain(self.raw[name])
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; fields: "
                                 f"{', '.join(self.raw)}") from None

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def __dir__(self) -> Iterable[str]:
        return list(self.raw) + ["raw"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and other.raw == self.raw

    def __repr__(self) -> str:
        return f"Record({self.raw!r})"


def _wrap_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap_plain(v) for v in value]
    return value


class Handle:
    """Base of every handle: an ARI object of one kind, known by its id."""

    #: The JSON fields that identify the object (``id`` for channels, ``name`` for recordings).
    key_fields: tuple[str, ...] = ("id",)
    #: The kind, as used in ARI event sources (``channel:ID``) and in the kit's event routing.
    kind = "object"
    #: Events after which the object is gone: its per-object handlers are dropped.
    final_events: tuple[str, ...] = ()

    def __init__(self, client: "ARIClient", data: dict | str | tuple) -> None:
        if not isinstance(data, dict):
            values = data if isinstance(data, tuple) else (data,)
            data = dict(zip(self.key_fields, values))
        self._client = client
        self.raw: dict = data

    # --- identity ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The object's id (``tech/resource`` for endpoints)."""
        return "/".join(str(self.raw.get(f, "")) for f in self.key_fields)

    @property
    def key(self) -> tuple[str, str]:
        """(kind, id): how the kit files events about this object."""
        return (self.kind, self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        extra = "".join(f" {f}={self.raw[f]!r}" for f in self._repr_fields if f in self.raw)
        return f"<{self._public_name()} {self.id!r}{extra}>"

    _repr_fields: tuple[str, ...] = ()

    @classmethod
    def _public_name(cls) -> str:
        for c in cls.__mro__:
            if c.__module__ == __name__:
                return c.__name__
        return cls.__name__

    # --- fields --------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raw = self.__dict__.get("raw", {})
        if name in raw:
            return _wrap_plain(raw[name])
        # A handle made by hand (vk.Channel(ari, "id")): the operations come from the client's surface.
        client = self.__dict__.get("_client")
        surface = getattr(client, "_surface", None)
        cls = surface.handles.get(self._public_name()) if surface is not None else None
        if cls is not None and cls is not type(self) and hasattr(cls, name):
            return getattr(cls, name).__get__(self)
        raise AttributeError(f"{self._public_name()} has no field or operation {name!r}")

    def __dir__(self) -> Iterable[str]:
        return sorted(set(super().__dir__()) | set(self.raw))

    # --- events --------------------------------------------------------------------------
    def on(self, event_type: str | Iterable[str], fn: Callable[["Event"], Any]) -> "Subscription":
        """Call fn(event) on the dispatcher thread for each event about this object; returns the unsubscriber."""
        return self._client._events.subscribe(event_type, fn, key=self.key)

    def wait_for(self, event_type: str | Iterable[str] = "*", timeout: float | None = 30.0,
                 where: Callable[["Event"], bool] | None = None) -> "Event":
        """The oldest event about this object of that type not yet returned by a wait on it (raises WaitTimeout)."""
        return self._client._events.take(event_type, timeout=timeout, where=where, key=self.key,
                                         what=f"{event_type} on {self!r}")

    def events(self) -> list["Event"]:
        """The buffered events about this object not yet returned by its wait_for, oldest first."""
        return self._client._events.pending(key=self.key)


class Channel(Handle):
    """A channel (one leg of a call)."""

    kind = "channel"
    final_events = ("ChannelDestroyed",)
    _repr_fields = ("name", "state")

    def collect_digits(self, max_digits: int | None = None, terminator: str | None = "#",
                       timeout: float = 10.0, inter_digit_timeout: float = 3.0) -> str:
        """Gather keypresses (buffered ones count) until max_digits, the terminator, a timeout or hangup."""
        return self._client._events.collect_digits(self, max_digits, terminator, timeout,
                                                   inter_digit_timeout)

    def media(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0
              ) -> "MediaStream":
        """Take part in this call over WebSocket media: read() what you hear, send() what you say; close() ends it."""
        from .media import open_media
        return open_media(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout)

    def listen(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0
               ) -> "MediaStream":
        """Hear this channel's call (both directions mixed) without joining or moving it; close() ends it."""
        from .media import open_listen
        return open_listen(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout)


class Bridge(Handle):
    """A bridge: channels that hear each other (mixing) or wait (holding)."""

    kind = "bridge"
    final_events = ("BridgeDestroyed",)
    _repr_fields = ("bridge_type", "channels")

    def media(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0
              ) -> "MediaStream":
        """Join this bridge's conversation over WebSocket media: hear everyone in it, and be heard."""
        from .media import open_bridge
        return open_bridge(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout)


class Playback(Handle):
    """A playback of media to a channel or bridge."""

    kind = "playback"
    final_events = ("PlaybackFinished",)
    _repr_fields = ("media_uri", "state")


def _recording_audio(handle: Handle, title: str | None) -> "Audio":
    from .audio import recording_audio
    name = handle.raw.get("name", "")
    data = handle._client.request("GET", f"/recordings/stored/{name}/file")
    return recording_audio(data, handle.raw.get("format", "wav"), title=name if title is None else title)


class LiveRecording(Handle):
    """A recording in progress."""

    key_fields = ("name",)
    kind = "recording"
    final_events = ("RecordingFinished", "RecordingFailed")
    _repr_fields = ("format", "state")

    def audio(self, *, title: str | None = None) -> "Audio":
        """The finished recording as audio that Jupyter plays inline (also .rms(), .dominant_frequency(), .save())."""
        return _recording_audio(self, title)


class StoredRecording(Handle):
    """A finished recording stored on the server."""

    key_fields = ("name",)
    kind = "stored_recording"
    _repr_fields = ("format",)

    def audio(self, *, title: str | None = None) -> "Audio":
        """This recording as audio that Jupyter plays inline (also .rms(), .dominant_frequency(), .save())."""
        return _recording_audio(self, title)

    def _repr_html_(self) -> str:
        """In Jupyter a stored recording shows as a player with its waveform."""
        try:
            return self.audio()._repr_html_()
        except Exception as e:      # gone, or a format the kit cannot decode: say so, never a traceback
            import html
            return f"<code>{html.escape(repr(self))}</code> <i>({html.escape(str(e))[:200]})</i>"


class Endpoint(Handle):
    """An endpoint (technology/resource, e.g. PJSIP/6001)."""

    key_fields = ("technology", "resource")
    kind = "endpoint"
    _repr_fields = ("state",)


class DeviceState(Handle):
    """A device state (Stasis:NAME ones can be set through ARI)."""

    key_fields = ("name",)
    kind = "deviceState"
    _repr_fields = ("state",)


class Sound(Handle):
    """A sound file known to the server."""

    kind = "sound"


class Mailbox(Handle):
    """A mailbox's message counts."""

    key_fields = ("name",)
    kind = "mailbox"
    _repr_fields = ("old_messages", "new_messages")


class Application(Handle):
    """A Stasis application and what it is subscribed to."""

    key_fields = ("name",)
    kind = "application"


class Module(Handle):
    """A loadable Asterisk module."""

    key_fields = ("name",)
    kind = "module"
    _repr_fields = ("status",)


class LogChannel(Handle):
    """One of Asterisk's log channels."""

    key_fields = ("channel",)
    kind = "log_channel"
    _repr_fields = ("status",)


#: Model name -> handle class, for results and event fields.
HANDLE_CLASSES: dict[str, type[Handle]] = {
    c.__name__: c for c in (Channel, Bridge, Playback, LiveRecording, StoredRecording, Endpoint,
                            DeviceState, Sound, Mailbox, Application, Module, LogChannel)
}

#: Which operations are also methods of a handle: (path pattern, handle class, {path param: field}).
#: The id parameters of the matching path are bound to the handle's fields.
BINDINGS: list[tuple[str, type[Handle], dict[str, str]]] = [
    (r"/channels/\{channelId\}", Channel, {"channelId": "id"}),
    (r"/bridges/\{bridgeId\}", Bridge, {"bridgeId": "id"}),
    (r"/playbacks/\{playbackId\}", Playback, {"playbackId": "id"}),
    (r"/recordings/live/\{recordingName\}", LiveRecording, {"recordingName": "name"}),
    (r"/recordings/stored/\{recordingName\}", StoredRecording, {"recordingName": "name"}),
    (r"/endpoints/\{tech\}/\{resource\}", Endpoint, {"tech": "technology", "resource": "resource"}),
    (r"/deviceStates/\{deviceName\}", DeviceState, {"deviceName": "name"}),
    (r"/sounds/\{soundId\}", Sound, {"soundId": "id"}),
    (r"/mailboxes/\{mailboxName\}", Mailbox, {"mailboxName": "name"}),
    (r"/applications/\{applicationName\}", Application, {"applicationName": "name"}),
    (r"/asterisk/modules/\{moduleName\}", Module, {"moduleName": "name"}),
    (r"/asterisk/logging/\{logChannelName\}", LogChannel, {"logChannelName": "channel"}),
]


def binding_for(path: str) -> tuple[type[Handle], dict[str, str]] | None:
    """The handle class an operation's path belongs to, and its bound parameters (or None)."""
    for pattern, cls, params in BINDINGS:
        if re.match(pattern + r"(/|$)", path):
            return cls, params
    return None


def method_names(cls: type[Handle], op_name: str) -> list[str]:
    """Names of an operation on a handle: its snake_case nickname, plus a short alias for recordings."""
    names = [op_name]
    if cls in (LiveRecording, StoredRecording):
        short = re.sub(r"_(stored|live)(?=_|$)", "", op_name)
        if short != op_name:
            names.append(short)
    return names


def id_of(value: Any) -> Any:
    """A handle's id (any other value unchanged)."""
    return value.id if isinstance(value, Handle) else value
