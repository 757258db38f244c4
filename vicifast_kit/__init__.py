"""VICIfast ARI Kit: learn, try and prototype with the Asterisk REST Interface against a real lab.

``import vicifast_kit`` loads only the core (settings, errors, the API description, handles,
events, the event websocket, the client). The features load on first use: ``vk.lab``,
``vk.ami``, ``vk.audio``, ``vk.media`` (and ``vk.MediaStream``), ``vk.widgets``, ``vk.push``,
``vk.voice``, ``vk.doctor`` (``vk.doctor(ari, ami)``: what a server offers and exposes), ``vk.service``
(and ``vk.App``: a call flow run as a service), ``vk.teaching`` (the notebooks' helpers).
"""

from . import settings
from .client import ARIClient, connect
from .contracts import EventSource, Reply, Transport
from .errors import (ARIError, BadRequest, CallEnded, ClientClosed, Conflict, Disconnected, Error, Forbidden,
                     LabUnreachable, MediaError, MediaUnavailable, NotFound, ProtocolError, RequestTimeout,
                     ServerError, SettingsError, SettingsMissing, StreamClosed, TransportError, Unauthorized,
                     UnprocessableEntity, VoiceUnavailable, WaitTimeout)
from .events import Event, Subscription
from .handles import (Application, Bridge, Channel, DeviceState, Endpoint, Handle, LiveRecording, LogChannel,
                      Mailbox, Module, Playback, Record, Sound, StoredRecording)

__all__ = [
    "ami", "audio", "lab", "media", "settings", "widgets", "push", "voice", "doctor", "service", "testing",
    "teaching",
    "connect", "ARIClient", "MediaStream", "App", "Transport", "EventSource", "Reply",
    "Error", "ARIError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "CallEnded", "Conflict",
    "UnprocessableEntity", "ServerError", "LabUnreachable", "RequestTimeout", "TransportError", "ProtocolError",
    "Disconnected", "WaitTimeout", "ClientClosed", "SettingsError", "SettingsMissing", "MediaError",
    "MediaUnavailable", "StreamClosed", "VoiceUnavailable",
    "Event", "Subscription",
    "Handle", "Record", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording", "Endpoint",
    "DeviceState", "Sound", "Mailbox", "Application", "Module", "LogChannel",
]

#: Feature packages, imported on first use so `import vicifast_kit` stays light (no numpy, ipywidgets,
#: anywidget, websockets or lab modules until they are needed).
_ON_FIRST_USE = ("ami", "audio", "lab", "media", "widgets", "push", "voice", "doctor", "service", "testing", "teaching")


def __getattr__(name: str):
    """`vk.lab`, `vk.audio`, `vk.widgets`, ... are imported on first use; `vk.MediaStream` with vk.media, `vk.App` with vk.service."""
    import importlib

    if name in _ON_FIRST_USE:
        return importlib.import_module(f".{name}", __name__)
    if name == "MediaStream":
        return importlib.import_module(".media", __name__).MediaStream
    if name == "App":
        return importlib.import_module(".service", __name__).App
    raise AttributeError(f"module 'vicifast_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
