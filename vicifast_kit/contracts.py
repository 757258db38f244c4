"""The written contracts between the client and the parts it is built from.

An ``ARIClient`` is composed of two parts, each replaceable on its own:

- a **Transport** carries its requests to ARI and brings back the answers: ``HTTPTransport``
  (``vicifast_kit.transport``, plain HTTP with requests), or REST over Asterisk's outbound
  websocket (``vicifast_kit.push``);
- an **EventSource** brings its events: ``EventWebSocket`` (``vicifast_kit.event_websocket``,
  ARI's ``/events`` websocket), or the events Asterisk pushes on its outbound websocket
  (``vicifast_kit.push``).

``vk.connect(app, transport=..., event_source=...)`` takes either; the defaults are HTTP and
the events websocket. Parts that must end with the client register through
``ari.on_close(fn)``; observers of the traffic through ``ari.on_request(fn)``. No part
reaches into another's private state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

#: The states an event source reports (``ARIClient.state`` adds "closed").
SOURCE_STATES = ("connected", "reconnecting", "disconnected", "ended")


@dataclass(frozen=True)
class Reply:
    """One answer of ARI as a transport brings it: the status, and the body already decoded."""

    status: int
    #: The decoded body: JSON as Python objects, bytes for binary answers, None for an empty one.
    data: Any = None
    #: For an error status: the server's own words ("Channel not found"), short and readable.
    message: str = ""


@runtime_checkable
class Transport(Protocol):
    """Carries a client's requests to ARI; raises only ``vk.Error``s (LabUnreachable, RequestTimeout, ...)."""

    #: Where it sends requests, for messages ("http://127.0.0.1:8088").
    where: str

    def send(self, method: str, path: str, params: dict | None = None, body: Any = None,
             binary: bool = False) -> Reply:
        """Send one request (path relative to /ari, e.g. "/channels") and return ARI's answer, errors included."""
        ...

    def close(self) -> None:
        """Release connections; send() is not called after this."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """Brings a client's events, in order, from a thread of its own that only reads and hands them on."""

    def start(self, deliver: Callable[[dict], Any], on_state: Callable[[bool], Any]) -> None:
        """Begin: ``deliver(message)`` for each event; ``on_state(up)`` when the connection drops or returns.

        Raises a ``vk.Error`` when it cannot start (nothing answers, refused credentials).
        """
        ...

    @property
    def state(self) -> str:
        """One of SOURCE_STATES: "connected", "reconnecting", "disconnected" (for good) or "ended"."""
        ...

    def close(self) -> None:
        """Stop delivering and stop the source's threads (waits for them unless called from one)."""
        ...
