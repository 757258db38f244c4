"""VICIfast ARI Kit: learn, try and prototype with the Asterisk REST Interface against a real lab."""

from . import ami, lab, settings
from .client import ARIClient, connect
from .errors import (ARIError, BadRequest, ClientClosed, Conflict, Forbidden, LabUnreachable, NotFound,
                     ServerError, Unauthorized, UnprocessableEntity, WaitTimeout)
from .events import Event, Subscription
from .handles import (Application, Bridge, Channel, DeviceState, Endpoint, Handle, LiveRecording, LogChannel,
                      Mailbox, Module, Playback, Record, Sound, StoredRecording)

__all__ = [
    "ami", "lab", "settings", "connect", "ARIClient",
    "ARIError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "UnprocessableEntity",
    "ServerError", "LabUnreachable", "WaitTimeout", "ClientClosed",
    "Event", "Subscription",
    "Handle", "Record", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording", "Endpoint",
    "DeviceState", "Sound", "Mailbox", "Application", "Module", "LogChannel",
]
