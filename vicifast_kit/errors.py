"""The kit's exceptions: one family under ``vk.Error``, so ``except vk.Error:`` catches anything the kit raises.

Each class says what went wrong by its type (catch the one you can handle); each message says what
to do next. Classes also inherit the built-in exception a Python programmer would expect:
``WaitTimeout`` is a ``TimeoutError``, ``LabUnreachable`` a ``ConnectionError``.

    Error
    ├── ARIError (an HTTP error answer of ARI; .status .message .method .path)
    │   ├── BadRequest 400, Unauthorized 401, Forbidden 403, Conflict 409, UnprocessableEntity 422, ServerError 5xx
    │   └── NotFound 404
    │       └── CallEnded (an operation on a call that has ended; .cause)
    ├── LabUnreachable (also ConnectionError: nothing answers)
    ├── RequestTimeout (also TimeoutError: the server took the request but answered too late)
    ├── Disconnected (also ConnectionError: a client made with reconnect=False lost its event websocket)
    ├── WaitTimeout (also TimeoutError)
    ├── ClientClosed (also RuntimeError)
    ├── AMIError: AMILoginRefused, AMIActionFailed, AMIUnreachable (also LabUnreachable)
    ├── TransportError (also ConnectionError: the request failed on the way, e.g. TLS or a broken reply)
    ├── ProtocolError (also ValueError: the server answered with something that is not what ARI sends)
    ├── SettingsError (also ValueError: a setting is missing or wrong): SettingsMissing (also FileNotFoundError)
    ├── LabError (vicifast_kit.lab: the lab could not be started, stopped or used): LabStartFailed
    ├── MediaError (also RuntimeError): MediaUnavailable, StreamClosed
    └── VoiceUnavailable (also RuntimeError: espeak-ng or pocketsphinx is missing)
"""

from __future__ import annotations

import os
import traceback

#: Where a new user finds the lab's passwords (never printed by the kit).
SETTINGS_HINT = "the lab's settings (`vicifast-kit lab status` shows where)"


#: In IPython and Jupyter, a kit error shows the user's own lines and the kit's message, not the kit's
#: insides; set to False (``vk.errors.SHORT_TRACEBACKS = False``) for the full traceback.
SHORT_TRACEBACKS = True

_KIT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: Frames of these are the notebook's machinery, not the user's code.
_MACHINERY = (os.sep + "IPython" + os.sep, os.sep + "ipykernel" + os.sep)


def short_traceback(error: BaseException) -> list[str]:
    """The traceback of error as the user's own frames only, then the error's one-line message."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith(_KIT_DIR) and not any(m in f.filename for m in _MACHINERY)]
    lines = ["Traceback (most recent call last):"] if frames else []
    lines += [text.rstrip("\n") for text in traceback.format_list(frames)]
    cls = type(error)
    lines.append(f"{cls.__module__}.{cls.__qualname__}: {error}")
    return lines


class Error(Exception):
    """Root of every error the kit raises: ``except vk.Error:`` catches them all."""

    __module__ = "vicifast_kit"

    @property
    def _render_traceback_(self):
        """IPython shows what this returns instead of the whole traceback (absent when SHORT_TRACEBACKS is False)."""
        if not SHORT_TRACEBACKS:
            raise AttributeError("_render_traceback_")
        return lambda: short_traceback(self)


# --- ARI's answers ---------------------------------------------------------------------------
class ARIError(Error):
    """An ARI request that the server answered with an error status."""

    __module__ = "vicifast_kit"

    def __init__(self, status: int, message: str, method: str = "", path: str = "", hint: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.hint = hint
        where = f" ({method} {path})" if method else ""
        super().__init__(f"{status} {message}{where}" + (f". {hint}" if hint else ""))

    def __reduce__(self):
        return (type(self), (self.status, self.message, self.method, self.path, self.hint))


class BadRequest(ARIError):
    """400: a parameter is missing or invalid."""

    __module__ = "vicifast_kit"


class Unauthorized(ARIError):
    """401: wrong user or password."""

    __module__ = "vicifast_kit"


class Forbidden(ARIError):
    """403: the user may not do this (for example a read-only ARI user writing)."""

    __module__ = "vicifast_kit"


class NotFound(ARIError):
    """404: no such channel, bridge, recording, ..."""

    __module__ = "vicifast_kit"


class CallEnded(NotFound):
    """An operation on a call that has ended (404, or 409/500 while it was torn down); ``cause`` is its hang-up cause."""

    __module__ = "vicifast_kit"

    def __init__(self, status: int, message: str, method: str = "", path: str = "", hint: str = "",
                 cause: int | None = None) -> None:
        self.cause = cause
        super().__init__(status, message, method, path, hint)

    def __reduce__(self):
        return (type(self), (self.status, self.message, self.method, self.path, self.hint, self.cause))


class Conflict(ARIError):
    """409: the object is not in a state that allows this (for example a channel not in Stasis)."""

    __module__ = "vicifast_kit"


class UnprocessableEntity(ARIError):
    """422: the request is well formed but refers to something that cannot be used."""

    __module__ = "vicifast_kit"


class ServerError(ARIError):
    """5xx: Asterisk failed to do what was asked."""

    __module__ = "vicifast_kit"


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
              422: UnprocessableEntity}


def auth_hint(user: str = "", source: str = "lab") -> str:
    """What to do when ARI refuses the credentials, by where the password came from (never the password itself)."""
    who = f"user {user!r} " if user else ""
    if source == "argument":
        return (f"ARI refused {who}with the password you passed (password=...): check the user and password "
                "against that server's ari.conf (its CLI's `ari show users` lists the users)")
    if source == "environment":
        return (f"ARI refused {who}with ARI_PASSWORD from your environment: check ARI_USER and ARI_PASSWORD "
                "against that server's ari.conf (its CLI's `ari show users` lists the users)")
    return (f"ARI refused {who}with this password: check ARI_PASSWORD (and ARI_USER) in {SETTINGS_HINT}, "
            "or the environment variables of those names, which override them; a lab started with other "
            "passwords needs `vicifast-kit lab restart`")


def unreachable_text(url: str, source: str = "lab") -> str:
    """What to say when nothing answers at an ARI address, by where the address came from."""
    if source == "lab":
        return (f"Nothing answers at {url} (ARI). Is the lab running? Start it with `vicifast-kit lab up` "
                "(or vk.lab.up() in a notebook); `vicifast-kit lab status` tells. For an Asterisk of your own, "
                "vk.connect(url=..., user=..., password=...) or set ARI_URL, ARI_USER and ARI_PASSWORD.")
    given = "the URL you passed" if source == "argument" else "ARI_URL from your environment"
    return (f"Nothing answers at {url} ({given}). Is Asterisk running there, with its HTTP server on "
            "(http.conf: enabled = yes, bindaddr and bindport) and ARI on (ari.conf: enabled = yes)? "
            "On that machine, `asterisk -rx \"http show status\"` shows where it listens.")


#: Where an AMI setting can come from, as the messages name it.
AMI_SOURCES = ("argument", "environment", "default", "lab")


def ami_unreachable_text(address: str, source: str = "lab") -> str:
    """What to say when nothing answers at an AMI address, by where the address came from.

    source: "argument" (host/port passed), "environment" (AMI_HOST), "default" (an Asterisk of your own
    given by ARI_URL..., no AMI_HOST: ARI's host, port AMI_PORT or 5038) or "lab" (the lab's settings).
    """
    if source == "lab":
        return (f"Nothing answers at {address} (AMI). Is the lab running? Start it with `vicifast-kit lab up`; "
                "`vicifast-kit lab status` tells. For an Asterisk of your own, vk.ami.connect(host, port, user, "
                "secret) or set AMI_HOST, AMI_PORT, AMI_USER and AMI_SECRET.")
    given = {"argument": "the host and port you passed", "environment": "AMI_HOST from your environment",
             "default": "AMI_HOST is not set: the host of ARI_URL, port AMI_PORT or Asterisk's default 5038"}[source]
    return (f"Nothing answers at {address} (AMI; {given}). Is Asterisk running there with AMI on (manager.conf: "
            "[general] enabled = yes, port, bindaddr) and does a firewall let you in? On that machine, "
            "`asterisk -rx \"manager show settings\"` shows where it listens.")


def ami_not_ami_text(address: str, said: str, source: str = "lab") -> str:
    """What to say when something answers at an AMI address but is not AMI, by where the address came from."""
    where = {"lab": f"AMI_HOST and AMI_PORT in {SETTINGS_HINT}, or the environment variables of those names",
             "argument": "the host and port you passed", "environment": "AMI_HOST and AMI_PORT in your environment",
             "default": "AMI_HOST and AMI_PORT (not set: the host of ARI_URL and port 5038 were tried)"}[source]
    return f"Something answers at {address} ({said}), but not AMI: check {where}."


def ami_login_text(user: str, reason: str, secret_source: str = "lab", address_source: str = "lab") -> str:
    """What to say when AMI refuses a login, by where the secret (and the address) came from; never the secret."""
    refused = f"AMI refused the login of user {user!r} ({reason})"
    if secret_source == "argument":
        return (f"{refused} with the secret you passed: check the user and secret against that server's "
                "manager.conf (its CLI's `manager show users` lists the users).")
    if secret_source == "environment":
        return (f"{refused} with AMI_SECRET from your environment: check AMI_USER and AMI_SECRET against that "
                "server's manager.conf (its CLI's `manager show users` lists the users).")
    if address_source in ("argument", "environment"):
        return (f"{refused} with the lab's secret, at an address that is not the lab's: give that server's user and "
                "secret (vk.ami.connect(..., user=..., secret=...), or AMI_USER and AMI_SECRET).")
    return (f"{refused}. Check AMI_USER and AMI_SECRET in {SETTINGS_HINT}, or the environment variables of those "
            "names, which override them; a lab started with other passwords needs `vicifast-kit lab restart`.")


def error_for(status: int, message: str, method: str = "", path: str = "", hint: str = "") -> ARIError:
    """The ARIError subclass instance that matches an HTTP status."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ARIError)
    if cls is Unauthorized and not hint:
        hint = auth_hint()
    if cls is Forbidden and not hint and "write access" in message.lower():
        hint = FORBIDDEN_WRITE_HINT
    return cls(status, message, method, path, hint)


#: ARI's 403 "Write access denied": what to do (the user is read_only in ari.conf).
FORBIDDEN_WRITE_HINT = ("This ARI user may only read (read_only = yes in ari.conf): connect as a user that "
                        "may write to change calls, or keep this one for watching")


# --- reaching the server -----------------------------------------------------------------------
class LabUnreachable(Error, ConnectionError):
    """Nothing answers at the ARI address: the lab is not running (start it with `vicifast-kit lab up`)."""

    __module__ = "vicifast_kit"

    def __init__(self, url: str, detail: str = "", text: str = "") -> None:
        self.url = url
        self.detail = detail
        self.text = text
        if not text:
            text = unreachable_text(url)
        if detail:
            text += f" [{detail}]"
        super().__init__(text)

    def __reduce__(self):
        return (type(self), (self.url, self.detail))


class RequestTimeout(Error, TimeoutError):
    """The server took the request but did not answer within the client's timeout: it is slow, not down."""

    __module__ = "vicifast_kit"

    def __init__(self, url: str, what: str = "", timeout: float | None = None) -> None:
        self.url = url
        self.what = what
        self.timeout = timeout
        super().__init__(
            f"{url} took the request{f' ({what})' if what else ''} but gave no answer within {timeout} s: "
            "Asterisk is busy or stuck, not down. Try again, or give the client more time "
            "(vk.connect(timeout=...)); `vicifast-kit lab status` and `vicifast-kit lab logs` tell how the lab is.")

    def __reduce__(self):
        return (type(self), (self.url, self.what, self.timeout))


class Disconnected(Error, ConnectionError):
    """The client's event websocket dropped and the client does not reconnect (made with reconnect=False)."""

    __module__ = "vicifast_kit"


class TransportError(Error, ConnectionError):
    """A request failed on the way (TLS, a broken connection mid-reply, too many redirects): not an ARI answer."""

    __module__ = "vicifast_kit"


class ProtocolError(Error, ValueError):
    """The server's reply is not what ARI sends (e.g. JSON that does not parse): is the URL an Asterisk's ARI?"""

    __module__ = "vicifast_kit"


# --- settings and tools -----------------------------------------------------------------------------
class SettingsError(Error, ValueError):
    """A connection setting is missing or wrong (a URL that is not http(s)://..., a port that is not a number)."""

    __module__ = "vicifast_kit"


class SettingsMissing(SettingsError, FileNotFoundError):
    """The lab's settings file is not there (the kit is installed without its repository)."""

    __module__ = "vicifast_kit"


class VoiceUnavailable(Error, RuntimeError):
    """A speech tool the kit needs (espeak-ng, pocketsphinx) is not installed; the message says how to get it."""

    __module__ = "vicifast_kit"


# --- waiting and lifetime ------------------------------------------------------------------------
class WaitTimeout(Error, TimeoutError):
    """A wait_for (or collect_digits) that saw no matching event in time."""

    __module__ = "vicifast_kit"

    def __init__(self, what: str, timeout: float | None) -> None:
        self.what = what
        self.timeout = timeout
        super().__init__(f"No {what} within {timeout} s")

    def __reduce__(self):
        return (type(self), (self.what, self.timeout))


class ClientClosed(Error, RuntimeError):
    """The client was closed (by you, or at exit) while a call used or waited on it."""

    __module__ = "vicifast_kit"


# --- AMI -------------------------------------------------------------------------------------------
class AMIError(Error):
    """AMI answered an action with an error, refused the login, or closed the connection."""

    __module__ = "vicifast_kit.ami"


class AMILoginRefused(AMIError):
    """AMI refused the user or secret."""

    __module__ = "vicifast_kit.ami"


class AMIActionFailed(AMIError):
    """AMI answered an action with ``Response: Error``; ``reply`` is that answer."""

    __module__ = "vicifast_kit.ami"

    def __init__(self, text: str, reply: dict | None = None) -> None:
        self.reply = reply
        super().__init__(text)


class AMIClosed(AMIError, ClientClosed):
    """The AMI connection is closed (by you, or Asterisk hung up on it)."""

    __module__ = "vicifast_kit.ami"


class AMIUnreachable(LabUnreachable, AMIError):
    """Nothing answers at the AMI address (the lab's: it is not running; another server's: its AMI is off or blocked)."""

    __module__ = "vicifast_kit.ami"

    def __init__(self, address: str, detail: str = "", text: str = "") -> None:
        text = text or ami_unreachable_text(address)
        super().__init__(address, detail, text)

    def __reduce__(self):
        return (type(self), (self.url, self.detail, self.text))


# --- live audio ------------------------------------------------------------------------------------
class MediaError(Error, RuntimeError):
    """Live call audio (ch.media(), ch.listen()) could not start, or was used in a way it cannot serve."""

    __module__ = "vicifast_kit"


class MediaUnavailable(MediaError):
    """The Asterisk the kit talks to has no WebSocket media (chan_websocket is not loaded)."""

    __module__ = "vicifast_kit"


class StreamClosed(MediaError):
    """A media stream was used after it ended (closed by you, or the call ended)."""

    __module__ = "vicifast_kit"
