"""Asterisk pushes to you: ARI's outbound websockets (events and REST on one socket) and webhooks.

``vk.push.connect()`` (Asterisk connects to the program; the same client as ``vk.connect()``; where it
listens and the address Asterisk is given are settings: PUSH_HOST, PUSH_PORT, PUSH_URI, see ``config``),
``asterisk_config()`` (the lines an Asterisk of your own needs to connect),
``PerCallServer`` (a websocket per call), ``Webhook`` (an outside system asks for a call over HTTP,
hears the outcome on its callback) and ``CallbackReceiver`` (that outside system, for the lab).
"""

from . import config
from .client import (PER_CALL_APP, PER_CALL_PATH, PUSH_APP, PUSH_PATH, PerCallServer, PushClient, PushEvents,
                     PushTransport, asterisk_config, connect)
from .config import DEFAULT_PORT, PushSettings
from .listener import Listener, PushError
from .webhook import CallbackReceiver, RateLimiter, Webhook, WebhookError

__all__ = ["connect", "asterisk_config", "config", "PushSettings", "PushClient", "PushEvents", "PushTransport", "PerCallServer", "Listener", "PushError", "DEFAULT_PORT",
           "PUSH_APP", "PUSH_PATH", "PER_CALL_APP", "PER_CALL_PATH",
           "Webhook", "WebhookError", "CallbackReceiver", "RateLimiter"]
