"""The kit's exceptions: one class per kind of ARI answer, plus an unreachable lab and a wait that timed out."""

from __future__ import annotations


class ARIError(Exception):
    """An ARI request that the server answered with an error status."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"{status} {message}{where}")


class BadRequest(ARIError):
    """400: a parameter is missing or invalid."""


class Unauthorized(ARIError):
    """401: wrong user or password."""


class Forbidden(ARIError):
    """403: the user may not do this (for example a read-only ARI user writing)."""


class NotFound(ARIError):
    """404: no such channel, bridge, recording, ..."""


class Conflict(ARIError):
    """409: the object is not in a state that allows this (for example a channel not in Stasis)."""


class UnprocessableEntity(ARIError):
    """422: the request is well formed but refers to something that cannot be used."""


class ServerError(ARIError):
    """5xx: Asterisk failed to do what was asked."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
              422: UnprocessableEntity}


def error_for(status: int, message: str, method: str = "", path: str = "") -> ARIError:
    """The ARIError subclass instance that matches an HTTP status."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ARIError)
    return cls(status, message, method, path)


class LabUnreachable(ConnectionError):
    """Nothing answers at the ARI address: the lab is not running (start it with `vicifast-kit lab up`)."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        text = (f"Nothing answers at {url} (ARI). Is the lab running? Start it with `vicifast-kit lab up` "
                "(or vk.lab.up() in a notebook).")
        if detail:
            text += f" [{detail}]"
        super().__init__(text)


class WaitTimeout(TimeoutError):
    """A wait_for (or collect_digits) that saw no matching event in time."""

    def __init__(self, what: str, timeout: float | None) -> None:
        self.what = what
        self.timeout = timeout
        super().__init__(f"No {what} within {timeout} s")


class ClientClosed(RuntimeError):
    """The client was closed while a call was waiting on it."""


class MediaError(RuntimeError):
    """Live call audio (ch.media(), ch.listen()) could not start, or was used in a way it cannot serve."""


class MediaUnavailable(MediaError):
    """The Asterisk the kit talks to has no WebSocket media (chan_websocket is not loaded)."""


class StreamClosed(MediaError):
    """A media stream was used after it ended (closed by you, or the call ended)."""
