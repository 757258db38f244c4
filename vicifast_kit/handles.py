"""Handles: Python objects for ARI's channels, bridges, playbacks, recordings, ... with their id bound.

A handle carries the JSON the server sent (``raw``), gives its fields as attributes
(``ch.state``, ``ch.caller.number``) and, once a client has connected, every ARI operation whose
path names that object as a method (``ch.answer()``, ``br.add_channel(channel=ch)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .wire import via

if TYPE_CHECKING:  # pragma: no cover
    from .audio import Audio
    from .client import ARIClient
    from .events import Event, EventHub, Subscription
    from .media import MediaStream
    # For editors: each handle's fields and operations, from operations.pyi (made by vicifast_kit.typing_gen).
    from .operations import (ApplicationOperations, BridgeOperations, ChannelOperations, DeviceStateOperations,
                             EndpointOperations, LiveRecordingOperations, LogChannelOperations, MailboxOperations,
                             ModuleOperations, PlaybackOperations, SoundOperations, StoredRecordingOperations)
else:   # at run time the operations come from the server's description (client.Surface)
    ApplicationOperations = BridgeOperations = ChannelOperations = DeviceStateOperations = object
    EndpointOperations = LiveRecordingOperations = LogChannelOperations = MailboxOperations = object
    ModuleOperations = PlaybackOperations = SoundOperations = StoredRecordingOperations = object


class Context:
    """What handles and events may use of their client — nothing else of it.

    ``events`` (the event hub: subscribe, take, pending, collect_digits), ``call`` (run an
    operation of the server's description), ``handle_class(model)`` and ``field_types(event
    type)`` (from that description) and ``wrap`` (a server result as handles and Records). The
    client makes one (``ari.context``); a handle keeps its client only to give it back to the
    user's code (``ch.client``) and to the kit's media and recording helpers, which take a client.
    """

    def __init__(self, client: "ARIClient | None" = None, call: Callable[..., Any] | None = None,
                 handle_classes: dict[str, type["Handle"]] | None = None, models: dict[str, dict] | None = None
                 ) -> None:
        self.client = client
        self.call = call if call is not None else self._no_server
        self.events: "EventHub | None" = None          # set once the client's hub exists
        self._classes = handle_classes if handle_classes is not None else {}
        self._models = models if models is not None else {}
        self._field_types: dict[str, dict[str, str]] = {}

    @staticmethod
    def _no_server(*args: Any) -> Any:
        raise TypeError("This context has no client to call the server with")

    def handle_class(self, model: str) -> "type[Handle] | None":
        """The handle class (with the server's operations as methods) of an ARI model name, or None."""
        return self._classes.get(model)

    def field_types(self, event_type: str) -> dict[str, str]:
        """Field name -> model name of an event type, as the server describes it (cached)."""
        found = self._field_types.get(event_type)
        if found is None:
            props = (self._models.get(event_type) or {}).get("properties") or {}
            found = self._field_types[event_type] = {name: spec.get("type", "") for name, spec in props.items()}
        return found

    def wrap(self, type_name: str, value: Any) -> Any:
        """A server result as the kit returns it: handles, lists of handles, Records, bytes."""
        if value is None or type_name in ("void", ""):
            return value
        if type_name.startswith("List[") and isinstance(value, list):
            inner = type_name[5:-1]
            return [self.wrap(inner, v) for v in value]
        if isinstance(value, dict):
            cls = self._classes.get(type_name)
            return cls(self.client, value) if cls else Record(value)
        return value


class Record:
    """A JSON object with attribute access (``info.system.version``); the dict is ``raw``."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict) -> None:
        object.__setattr__(self, "raw", raw)

    def __getattr__(self, name: str) -> Any:
        try:
            return wrap_plain(self.raw[name])
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


def wrap_plain(value: Any) -> Any:
    """A JSON value as the kit hands it out: objects as Records (attribute access), lists of them as lists."""
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [wrap_plain(v) for v in value]
    return value


class Handle:
    """Base of every handle: an ARI object of one kind, known by its id."""

    #: The JSON fields that identify the object (``id`` for channels, ``name`` for recordings); from KINDS.
    key_fields: tuple[str, ...] = ("id",)
    #: The kit's name of the kind ("channel", "device_state"): how events about the object are filed; from KINDS.
    kind = "object"
    #: Events after which the object is gone: its per-object handlers are dropped; from KINDS.
    final_events: tuple[str, ...] = ()

    def __init__(self, client: "ARIClient", data: dict | str | tuple) -> None:
        if not isinstance(data, dict):
            values = data if isinstance(data, tuple) else (data,)
            data = dict(zip(self.key_fields, values))
        self._client = client
        self._ctx: Context | None = getattr(client, "context", None)
        self.raw: dict = data

    @property
    def client(self) -> "ARIClient":
        """The client this handle talks through."""
        return self._client

    def _events(self) -> "EventHub":
        ctx = self._ctx or getattr(self._client, "context", None)
        if ctx is None or ctx.events is None:
            raise TypeError(f"{self!r} has no connected client: make handles with a client from vk.connect()")
        return ctx.events

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
            return wrap_plain(raw[name])
        # A handle made by hand (vk.Channel(ari, "id")): the operations come from the client's description.
        ctx = self.__dict__.get("_ctx")
        cls = ctx.handle_class(self._public_name()) if ctx is not None else None
        if cls is not None and cls is not type(self) and hasattr(cls, name):
            return getattr(cls, name).__get__(self)
        raise AttributeError(f"{self._public_name()} has no field or operation {name!r}")

    def __dir__(self) -> Iterable[str]:
        return sorted(set(super().__dir__()) | set(self.raw))

    # --- events --------------------------------------------------------------------------
    def on(self, event_type: str | Iterable[str], fn: Callable[["Event"], Any]) -> "Subscription":
        """Call fn(event) on the dispatcher thread for each event about this object; returns the unsubscriber."""
        return self._events().subscribe(event_type, fn, key=self.key)

    def wait_for(self, event_type: str | Iterable[str] = "*", timeout: float | None = 30.0,
                 where: Callable[["Event"], bool] | None = None) -> "Event":
        """Kit helper (ARI pushes events, the kit keeps them per object): the oldest not yet taken of that type about this object."""
        __tracebackhide__ = True
        with via("wait_for"):
            return self._events().take(event_type, timeout=timeout, where=where, key=self.key,
                                       what=f"{event_type} on {self!r}")

    def events(self) -> list["Event"]:
        """The buffered events about this object not yet returned by its wait_for, oldest first."""
        return self._events().pending(key=self.key)


class Channel(Handle, ChannelOperations):
    """A channel (one leg of a call)."""

    _repr_fields = ("name", "state")

    def collect_digits(self, max_digits: int | None = None, terminator: str | None = "#",
                       timeout: float = 10.0, inter_digit_timeout: float = 3.0) -> str:
        """Kit helper (ARI has no gather request): keys from this call's ChannelDtmfReceived events until max_digits, the terminator, a timeout or hang-up."""
        __tracebackhide__ = True
        with via("collect_digits"):
            return self._events().collect_digits(self, max_digits, terminator, timeout, inter_digit_timeout)

    def media(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0,
              direction: str = "both", paced: bool = True) -> "MediaStream":
        """Kit helper (POST /channels/externalMedia, a bridge, the /media websocket): take part in this call; read() hears, send() speaks (direction 'in': hear only, 'out': speak only).

        A call in no bridge gets one of the stream's own: ``paced`` (softmix) gives a frame every
        20 ms, silence included, and adds its mixing delay; ``paced=False`` (a two-party bridge)
        passes each frame on as it comes, sooner, and only when the call sends some. A call already
        in a bridge is joined there, whatever ``paced`` says.
        """
        from .media import open_media
        with via("media"):
            return open_media(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout,
                              direction=direction, paced=paced)

    def listen(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0,
               paced: bool = True) -> "MediaStream":
        """Kit helper (POST /channels/{id}/snoop, externalMedia and a bridge of their own): hear this call without joining or moving it (paced as in media())."""
        from .media import open_listen
        with via("listen"):
            return open_listen(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout,
                               paced=paced)


class Bridge(Handle, BridgeOperations):
    """A bridge: channels that hear each other (mixing) or wait (holding)."""

    _repr_fields = ("bridge_type", "channels")

    def media(self, format: str = "slin16", *, buffer_seconds: float = 10.0, timeout: float = 10.0,
              direction: str = "both") -> "MediaStream":
        """Kit helper (POST /channels/externalMedia, addChannel, the /media websocket): join this bridge's conversation, hear and be heard (direction as in Channel.media)."""
        from .media import open_bridge
        with via("media"):
            return open_bridge(self._client, self, format, buffer_seconds=buffer_seconds, timeout=timeout,
                               direction=direction)


class Playback(Handle, PlaybackOperations):
    """A playback of media to a channel or bridge."""

    _repr_fields = ("media_uri", "state")


def _recording_audio(handle: Handle, title: str | None) -> "Audio":
    from .audio import recording_audio
    name = handle.raw.get("name", "")
    with via("audio"):
        data = handle.client.request("GET", f"/recordings/stored/{name}/file")
    return recording_audio(data, handle.raw.get("format", "wav"), title=name if title is None else title)


class LiveRecording(Handle, LiveRecordingOperations):
    """A recording in progress."""

    _repr_fields = ("format", "state")

    def audio(self, *, title: str | None = None) -> "Audio":
        """Kit helper (GET /recordings/stored/{name}/file): the finished recording as audio Jupyter plays (.rms(), .save())."""
        return _recording_audio(self, title)


class StoredRecording(Handle, StoredRecordingOperations):
    """A finished recording stored on the server."""

    _repr_fields = ("format",)

    def audio(self, *, title: str | None = None) -> "Audio":
        """Kit helper (GET /recordings/stored/{name}/file): this recording as audio Jupyter plays (.rms(), .save())."""
        return _recording_audio(self, title)

    def _repr_html_(self) -> str:
        """In Jupyter a stored recording shows as a player with its waveform."""
        try:
            return self.audio()._repr_html_()
        except Exception as e:      # gone, or a format the kit cannot decode: say so, never a traceback
            import html
            return f"<code>{html.escape(repr(self))}</code> <i>({html.escape(str(e))[:200]})</i>"


class Endpoint(Handle, EndpointOperations):
    """An endpoint (technology/resource, e.g. PJSIP/6001)."""

    _repr_fields = ("state",)


class DeviceState(Handle, DeviceStateOperations):
    """A device state (Stasis:NAME ones can be set through ARI)."""

    _repr_fields = ("state",)


class Sound(Handle, SoundOperations):
    """A sound file known to the server."""



class Mailbox(Handle, MailboxOperations):
    """A mailbox's message counts."""

    _repr_fields = ("old_messages", "new_messages")


class Application(Handle, ApplicationOperations):
    """A Stasis application and what it is subscribed to."""



class Module(Handle, ModuleOperations):
    """A loadable Asterisk module."""

    _repr_fields = ("status",)


class LogChannel(Handle, LogChannelOperations):
    """One of Asterisk's log channels."""

    _repr_fields = ("status",)


@dataclass(frozen=True, eq=False)
class Kind:
    """One kind of ARI object: everything the kit knows about it, in one place (see KINDS)."""

    name: str                   # the kit's one spelling: snake_case of the model ("device_state")
    handle: type[Handle]        # the base handle class; its name is ARI's model name ("DeviceState")
    path: str                   # the operations whose path starts so are the handle's methods
    fields: dict[str, str]      # path parameter -> the JSON field it takes (the key fields, in order)
    final_events: tuple[str, ...] = ()                    # after these the object is gone
    source: str = ""            # ARI's own prefix for it in event sources and target_uri ("deviceState")
    event_fields: tuple[str, ...] = ()    # event fields naming one when the server's description says nothing
    id_params: tuple[str, ...] = ()       # operation parameters (Python names) that take its handle for an id
    short_names: bool = False   # also name its methods without _stored/_live (rec.copy() for copy_stored)

    @property
    def model(self) -> str:
        """ARI's model name ("DeviceState")."""
        return self.handle.__name__

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The JSON fields that identify one ("id"; "technology", "resource" for endpoints)."""
        return tuple(self.fields.values())

    def method_names(self, op_name: str) -> list[str]:
        """The names an operation has on this kind's handles: its snake_case nickname (and a short alias)."""
        names = [op_name]
        if self.short_names:
            short = re.sub(r"_(stored|live)(?=_|$)", "", op_name)
            if short != op_name:
                names.append(short)
        return names


#: Every kind of object the kit makes handles for: the one registry (events, operations, ids, names).
KINDS: tuple[Kind, ...] = (
    Kind("channel", Channel, "/channels/{channelId}", {"channelId": "id"}, ("ChannelDestroyed",), "channel",
         ("channel", "peer", "caller", "replace_channel"), ("channel", "channel_id", "other_channel_id", "snoop_id",
                                                             "caller")),
    Kind("bridge", Bridge, "/bridges/{bridgeId}", {"bridgeId": "id"}, ("BridgeDestroyed",), "bridge",
         ("bridge",), ("bridge_id",)),
    Kind("playback", Playback, "/playbacks/{playbackId}", {"playbackId": "id"}, ("PlaybackFinished",), "",
         ("playback",), ("playback_id",)),
    Kind("live_recording", LiveRecording, "/recordings/live/{recordingName}", {"recordingName": "name"},
         ("RecordingFinished", "RecordingFailed"), "", ("recording",), ("recording_name",), short_names=True),
    Kind("stored_recording", StoredRecording, "/recordings/stored/{recordingName}", {"recordingName": "name"},
         short_names=True),
    Kind("endpoint", Endpoint, "/endpoints/{tech}/{resource}", {"tech": "technology", "resource": "resource"},
         source="endpoint", event_fields=("endpoint",)),
    Kind("device_state", DeviceState, "/deviceStates/{deviceName}", {"deviceName": "name"}, source="deviceState",
         event_fields=("device_state",), id_params=("device_name",)),
    Kind("sound", Sound, "/sounds/{soundId}", {"soundId": "id"}, id_params=("sound_id",)),
    Kind("mailbox", Mailbox, "/mailboxes/{mailboxName}", {"mailboxName": "name"}, id_params=("mailbox_name",)),
    Kind("application", Application, "/applications/{applicationName}", {"applicationName": "name"},
         id_params=("application_name",)),
    Kind("module", Module, "/asterisk/modules/{moduleName}", {"moduleName": "name"}),
    Kind("log_channel", LogChannel, "/asterisk/logging/{logChannelName}", {"logChannelName": "channel"}),
)

for _kind in KINDS:      # the handle classes take their kind's facts from the registry
    _kind.handle.kind = _kind.name
    _kind.handle.key_fields = _kind.key_fields
    _kind.handle.final_events = _kind.final_events

#: Lookups derived from KINDS (never written by hand).
KIND_BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
KIND_BY_MODEL: dict[str, Kind] = {k.model: k for k in KINDS}
#: Model name -> handle class, for results and event fields.
HANDLE_CLASSES: dict[str, type[Handle]] = {k.model: k.handle for k in KINDS}
#: Event field -> model name, where the server's description of an event type says nothing.
EVENT_FIELD_MODELS: dict[str, str] = {f: k.model for k in KINDS for f in k.event_fields}
#: ARI's event-source / target_uri prefix -> the kit's kind name ("deviceState" -> "device_state").
KIND_BY_SOURCE: dict[str, str] = {k.source: k.name for k in KINDS if k.source}
#: Parameters (Python names) that accept a handle as well as an id.
HANDLE_PARAMS: frozenset[str] = frozenset(p for k in KINDS for p in k.id_params)
#: Kind name -> the events after which such an object is gone.
FINAL_EVENTS: dict[str, tuple[str, ...]] = {k.name: k.final_events for k in KINDS if k.final_events}
_PATHS = [(re.compile(re.escape(k.path) + r"(/|$)"), k) for k in KINDS]


def kind_of(name: str) -> Kind:
    """A kind by the kit's name, ARI's model name or ARI's event-source prefix ("deviceState"); ValueError if none."""
    found = KIND_BY_NAME.get(name) or KIND_BY_MODEL.get(name) or KIND_BY_NAME.get(KIND_BY_SOURCE.get(name, ""))
    if found is None:
        lowered = name.lower().replace("_", "")
        found = next((k for k in KINDS if lowered in (k.name.replace("_", ""), k.model.lower())), None)
    if found is None:
        raise ValueError(f"No kind of object {name!r}; kinds: {', '.join(k.name for k in KINDS)}")
    return found


def binding_for(path: str) -> tuple[Kind, dict[str, str]] | None:
    """The kind an operation's path belongs to, and its path parameters bound to the handle's fields (or None)."""
    for pattern, kind in _PATHS:
        if pattern.match(path):
            return kind, kind.fields
    return None


def id_of(value: Any) -> Any:
    """A handle's id (any other value unchanged)."""
    return value.id if isinstance(value, Handle) else value
