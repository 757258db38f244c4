"""VICIfast ARI Kit: learn, try and prototype with the Asterisk REST Interface against a real lab."""

from . import ami, audio, lab, settings
from .client import ARIClient, connect
from .errors import (ARIError, BadRequest, CallEnded, ClientClosed, Conflict, Disconnected, Error, Forbidden,
                     LabUnreachable, MediaError, MediaUnavailable, NotFound, RequestTimeout, ServerError,
                     StreamClosed, Unauthorized, UnprocessableEntity, WaitTimeout)
from .events import Event, Subscription
from .media import MediaStream
from .handles import (Application, Bridge, Channel, DeviceState, Endpoint, Handle, LiveRecording, LogChannel,
                      Mailbox, Module, Playback, Record, Sound, StoredRecording)

__all__ = [
    "ami", "audio", "lab", "settings", "connect", "ARIClient", "MediaStream",
    "Error", "ARIError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "CallEnded", "Conflict",
    "UnprocessableEntity", "ServerError", "LabUnreachable", "RequestTimeout", "Disconnected", "WaitTimeout",
    "ClientClosed", "MediaError", "MediaUnavailable", "StreamClosed",
    "Event", "Subscription",
    "Handle", "Record", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording", "Endpoint",
    "DeviceState", "Sound", "Mailbox", "Application", "Module", "LogChannel",
]


#: Parts imported on first use, so `import vicifast_kit` stays light: widgets (ipywidgets), push
#: (a websocket server), voice (a speech recogniser).
_ON_FIRST_USE = ("widgets", "push", "voice")


def __getattr__(name: str):
    """`vk.widgets`, `vk.push` and `vk.voice` are imported on first use."""
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'vicifast_kit' has no attribute {name!r}")
