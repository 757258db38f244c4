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


def __getattr__(name: str):
    """`vk.widgets` imports the widgets on first use (so `import vicifast_kit` never imports ipywidgets)."""
    if name == "widgets":
        import importlib

        return importlib.import_module(".widgets", __name__)
    raise AttributeError(f"module 'vicifast_kit' has no attribute {name!r}")
