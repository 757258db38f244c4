"""A small synchronous AMI (Asterisk Manager Interface) client: actions, list actions, events you can wait on.

    ami = vk.ami.connect()                       # the lab's AMI settings by default
    ami.action("Ping")                           # a Message: reply["Ping"] == "Pong"
    ami.action("CoreShowChannels").events        # a list action: its events, until ...Complete
    ami.wait_for("Hangup", timeout=10)           # the oldest Hangup not yet returned by a wait
    print(ami.command("pjsip show endpoints"))   # an Asterisk CLI command's output, as text
    ami.close()
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import socket
import threading
import time
from typing import Any, Callable

from . import settings as _settings
from .wire import register_secret
from .errors import (AMIActionFailed, AMIClosed, AMIError, AMILoginRefused, AMIUnreachable, SettingsError, WaitTimeout,
                     ami_login_text, ami_not_ami_text, ami_unreachable_text)

__all__ = ["connect", "AMIClient", "Message", "Parser", "AMIError", "AMILoginRefused", "AMIActionFailed", "AMIClosed",
           "AMIUnreachable"]

log = logging.getLogger("vicifast_kit.ami")


class Message(dict):
    """One AMI message (a response or an event): its fields by name, `.type`, and `.events` for list actions.

    A header that comes once is a str; one that comes several times (a ``Command``'s ``Output``,
    an event's ``ChanVariable``) is the list of its values, in order. ``all(name)`` is always a list.
    """

    def __init__(self, fields: dict, received: float | None = None) -> None:
        super().__init__(fields)
        self.received = received if received is not None else time.time()
        self.events: list[Message] = []

    @property
    def type(self) -> str:
        """The event name ("Newchannel", ...) or "Response"."""
        return self.get("Event") or ("Response" if "Response" in self else "")

    def all(self, name: str) -> list[str]:
        """Every value of a header, in order ([] if the message has none)."""
        value = self.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    @property
    def output(self) -> str:
        """A ``Command``'s output as text: its ``Output`` lines joined by newlines."""
        return "\n".join(self.all("Output"))

    def __getattr__(self, name: str) -> Any:
        for key in self:
            if key.lower() == name.replace("_", "").lower():
                return self[key]
        raise AttributeError(f"{self.type} has no field {name!r}; fields: {', '.join(self)}")

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.items() if k in ("Response", "Message", "Channel", "Uniqueid", "Digit")}
        return f"<AMI {self.type} {shown}{f' +{len(self.events)} events' if self.events else ''}>"


class Parser:
    """AMI's wire format: bytes in (any chunks), Messages out; ``Name: value`` lines, a blank line ends a message.

    A repeated header keeps every value (a list, see Message). A line without ``:`` (command output
    as older Asterisks sent it) is kept as an ``Output`` value. Values lose the one space after the
    colon; ``Output`` keeps the rest as sent (its columns line up), other headers are stripped.
    """

    def __init__(self) -> None:
        self._partial = b""
        self._fields: dict[str, Any] = {}

    def feed(self, data: bytes) -> list[Message]:
        """The messages completed by these bytes (a line cut between two chunks waits for the rest)."""
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        found = []
        for line in lines:
            message = self.feed_line(line)
            if message is not None:
                found.append(message)
        return found

    def feed_line(self, raw: bytes) -> Message | None:
        """Take one line (with or without its line end); the Message it completes, else None."""
        line = raw.decode(errors="replace").rstrip("\r\n")
        if not line:
            if not self._fields:
                return None
            message, self._fields = Message(self._fields), {}
            return message
        name, colon, value = line.partition(":")
        if not colon or " " in name.strip():
            name, value = "Output", line
        else:
            name = name.strip()
            value = value[1:] if value.startswith(" ") else value
            if name != "Output":
                value = value.strip()
        fields = self._fields
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
        return None


def _header(name: str) -> str:
    """AMI's name for a keyword argument: caller_id -> CallerId (AMI reads headers case-insensitively)."""
    return name if not name.islower() else "".join(part.capitalize() for part in name.split("_"))


class AMIClient:
    """A logged-in AMI session with a reader thread, queue-like waits and event handlers."""

    def __init__(self, host: str, port: int, user: str, secret: str, timeout: float = 10.0,
                 buffer: int = 10000, *, sources: tuple[str, str] = ("argument", "argument")) -> None:
        __tracebackhide__ = True
        register_secret(secret)                     # never shown on the wire
        self.host, self.port, self.user, self.timeout = host, port, user, timeout
        address_source, secret_source = sources     # where the address and the secret came from, for messages
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._replies: dict[str, Message] = {}
        self._events: collections.deque[Message] = collections.deque(maxlen=buffer)
        self._handlers: list[tuple[str, Callable[[Message], Any]]] = []
        self._dispatch: queue.Queue = queue.Queue()
        self._closed = False
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise AMIUnreachable(f"{host}:{port}", str(error), ami_unreachable_text(f"{host}:{port}", address_source)) from None
        self._reader = self._sock.makefile("rb")
        try:                                        # the banner, within the timeout (a silent port never hangs us)
            self.banner = self._reader.readline().decode(errors="replace").strip()
        except OSError:
            self.banner = ""
        if not self.banner.startswith("Asterisk Call Manager"):
            self._reader.close()                    # the file holds the socket open until it is closed too
            self._sock.close()
            said = f"it said {self.banner[:40]!r}" if self.banner else f"no greeting within {timeout} s"
            raise AMIUnreachable(f"{host}:{port}", said, ami_not_ami_text(f"{host}:{port}", said, address_source))
        self._sock.settimeout(None)
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"vicifast-ami-reader[{host}:{port}]", daemon=True),
            threading.Thread(target=self._dispatch_loop, name=f"vicifast-ami-dispatch[{host}:{port}]", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        reply = self._send("Login", {"Username": user, "Secret": secret}, check=False)
        if reply.get("Response") != "Success":
            self.close()
            raise AMILoginRefused(ami_login_text(user, reply.get("Message", "no reason given"), secret_source,
                                                 address_source))

    def __repr__(self) -> str:
        return f"<AMIClient {self.user}@{self.host}:{self.port}{' closed' if self._closed else ''}>"

    def __enter__(self) -> "AMIClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the wire -------------------------------------------------------------------------
    def _read_loop(self) -> None:
        parser = Parser()
        try:
            for raw in self._reader:
                message = parser.feed_line(raw)
                if message is not None:
                    self._file(message)
        except (OSError, ValueError):
            pass
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _file(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        with self._cond:
            pending = self._replies.get(action_id)
            if "Response" in message and action_id in self._replies and pending is None:
                self._replies[action_id] = message
            elif pending is not None and "Event" in message and pending.get("EventList", "").lower() == "start":
                pending.events.append(message)          # an event of a list action
            else:
                self._events.append(message)
                self._dispatch.put(message)
            self._cond.notify_all()

    def _dispatch_loop(self) -> None:
        while True:
            message = self._dispatch.get()
            if message is None:
                return
            for event, fn in list(self._handlers):
                if event in ("*", message.type):
                    try:
                        fn(message)
                    except Exception:
                        log.exception("AMI handler %r failed on %s (the stream goes on)", fn, message.type)

    def _send(self, action: str, fields: dict, check: bool = True) -> Message:
        __tracebackhide__ = True
        action_id = f"vk-{next(self._ids)}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        for name, value in fields.items():
            values = value.items() if isinstance(value, dict) else [(None, value)]
            for key, item in values:   # variables={...} becomes one Variable: k=v line each
                lines.append(f"{name}: {item if key is None else f'{key}={item}'}")
        with self._cond:
            if self._closed:
                raise AMIClosed("This AMI client is closed (or Asterisk hung up on it): make a new one with "
                                "vk.ami.connect()")
            self._replies[action_id] = None
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + self.timeout
        with self._cond:
            try:
                while True:
                    reply = self._replies.get(action_id)
                    done = reply is not None and (reply.get("EventList", "").lower() != "start" or any(
                        e.get("EventList", "").lower() == "complete" or e.type.endswith("Complete") for e in reply.events))
                    if done:
                        break
                    if self._closed:
                        raise AMIClosed(f"AMI closed the connection while {action} was waiting for its reply.")
                    if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                        raise WaitTimeout(f"a reply to AMI action {action}", self.timeout)
            finally:
                self._replies.pop(action_id, None)
        if check and reply.get("Response") == "Error":
            raise AMIActionFailed(f"{action} failed: {reply.get('Message', 'no reason given')}", reply)
        if reply.events and reply.events[-1].type.endswith("Complete"):
            reply.events.pop()
        return reply

    # --- the API --------------------------------------------------------------------------
    def action(self, action: str, **fields: Any) -> Message:
        """Send an action (keyword arguments become its fields); its response, with .events for list actions."""
        __tracebackhide__ = True
        return self._send(action, {_header(k): v for k, v in fields.items()})

    def command(self, command: str) -> str:
        """Run an Asterisk CLI command over AMI ("pjsip show endpoints") and return its output as text."""
        __tracebackhide__ = True
        reply = self._send("Command", {"Command": command}, check=False)
        if reply.get("Response") == "Error":
            raise AMIActionFailed(f"The Asterisk command {command!r} failed: "
                                  f"{reply.output or reply.get('Message', 'no reason given')}", reply)
        return reply.output

    def on(self, event: str, fn: Callable[[Message], Any]) -> Callable[[], None]:
        """Call fn(message) on the dispatcher thread for each event of that name ("*": all); returns an unsubscribe."""
        entry = (event, fn)
        self._handlers.append(entry)
        return lambda: self._handlers.remove(entry) if entry in self._handlers else None

    def wait_for(self, event: str, timeout: float = 10.0, where: Callable[[Message], bool] | None = None) -> Message:
        """The oldest event of that name since connect that no earlier wait returned (WaitTimeout after timeout)."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._events:
                    if event in ("*", message.type) and (where is None or where(message)):
                        self._events.remove(message)
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise WaitTimeout(f"AMI event {event}", timeout)
                self._cond.wait(left)

    def close(self) -> None:
        """Log off and stop the reader and dispatcher threads."""
        if not self._closed:
            try:
                self._sock.sendall(b"Action: Logoff\r\n\r\n")
            except OSError:
                pass
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._dispatch.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)
        try:
            self._reader.close()                    # releases the socket's descriptor now, not at garbage collection
        except OSError:
            pass


def connect(host: str | None = None, port: int | None = None, user: str | None = None,
            secret: str | None = None, *, timeout: float = 10.0) -> AMIClient:
    """Log in to AMI (defaults: AMI_HOST, AMI_PORT, AMI_USER, AMI_SECRET, else the lab's; read only when one is missing).

    Its errors say what to check where the setting came from: what you passed, your environment, or the lab's
    settings. With ARI_URL, ARI_USER and ARI_PASSWORD for an Asterisk of your own (not the lab), AMI_USER and
    AMI_SECRET have no default: the lab's secret is never sent to another server.
    """
    __tracebackhide__ = True
    env, lab = os.environ, _settings.uses_lab()
    named = env.get("AMI_HOST", "").strip()
    address_source = "argument" if host is not None or port is not None else \
        "environment" if named and (not lab or named not in _settings.lab_hosts()) else "lab" if lab else "default"
    secret_source = "argument" if secret is not None else "environment" if env.get("AMI_SECRET") \
        else "lab" if lab else "default"
    if host is None or port is None or user is None or secret is None:
        s = _settings.load()
        host = s.ami_host if host is None else host
        port = s.ami_port if port is None else port
        user = s.ami_user if user is None else user
        secret = s.ami_secret if secret is None else secret
        if not (user and secret):
            missing = " and ".join(name for name, value in (("AMI_USER", user), ("AMI_SECRET", secret)) if not value)
            raise SettingsError(
                f"{missing} {'are' if ' and ' in missing else 'is'} not set: your ARI settings name an Asterisk of your own ({_settings.elsewhere() or 'ARI_URL'}), "
                "so the kit does not use its lab's AMI user for it. Set AMI_USER and AMI_SECRET (and AMI_HOST, AMI_PORT "
                "if AMI is elsewhere) to a user of that server's manager.conf, or pass them: "
                "vk.ami.connect(host, port, user=..., secret=...).")
    return AMIClient(host, int(port), user, secret, timeout, sources=(address_source, secret_source))
