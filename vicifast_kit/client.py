"""The ARI client: connect(), requests with errors mapped to exceptions, events, and the operations surface.

Every operation comes from the live server's own description (/ari/api-docs) at connect time, as
``ari.<resource>.<snake_case nickname>`` and, where its path names an object, as a method of that
object's handle with the id bound.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import re
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from . import description as _api
from . import settings as _settings
from .causes import cause_phrase
from .contracts import EventSource, Transport
from .errors import (ARIError, CallEnded, ClientClosed, Conflict, Disconnected, Error, NotFound, ServerError,
                     SettingsError, WaitTimeout, auth_hint, error_for, unreachable_text)
from .event_websocket import EventWebSocket, events_url
from .events import DISCONNECTED, RECONNECTED, Event, EventHub, Ownership, Subscription
from .handles import KINDS, Context, Handle, binding_for, id_of, kind_of
from .transport import MAX_CONNECTIONS, HTTPTransport   # noqa: F401  (MAX_CONNECTIONS: where it lived before)
from .wire import Wire, current_via, register_secret, via

if TYPE_CHECKING:       # for editors: the operations of operations.pyi (made by vicifast_kit.typing_gen)
    from .operations import ARIOperations as _Operations
else:                   # at run time they come from the server's description (Surface)
    _Operations = object

log = logging.getLogger("vicifast_kit.client")

DEFAULT_APP = "vicifast"
#: How Asterisk names an app's subscription to every device state (GET /applications/{app}: device_names).
DEVICE_STATE_ALL = "__AST_DEVICE_STATE_ALL_TOPIC"


class ResourceGroup:
    """The operations of one ARI resource (``ari.channels``, ``ari.bridges``, ...)."""

    resource = ""

    def __init__(self, client: "ARIClient") -> None:
        self._client = client
        self._ctx: Context = client.context

    def __repr__(self) -> str:
        ops = sorted(n for n in dir(type(self)) if not n.startswith("_") and n != "resource")
        return f"<ari.{self.resource}: {', '.join(ops)}>"


def _encode(value: Any, param: _api.Param) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set)) and not isinstance(value, str):
        return ",".join(str(id_of(v)) for v in value)
    value = id_of(value)
    return value


def _make_method(op: _api.Operation, bound: dict[str, str] | None, qualname: str, name: str) -> Callable:
    """A method calling op, with the handle's fields bound to the path parameters named in bound."""
    if bound:
        def method(self, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            ids = {param: self.raw.get(field) for param, field in bound.items()}
            return self._ctx.call(op, args, kwargs, ids)
    else:
        def method(self, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            return self._ctx.call(op, args, kwargs, {})
    keep = tuple(bound or ())
    method.__signature__ = op.signature(keep, self_param=True)
    method.__doc__ = op.doc(keep)
    method.__name__ = name
    method.__qualname__ = f"{qualname}.{name}"
    method.__module__ = __name__
    return method


class Surface:
    """The classes built from one server description: resource groups and handle subclasses."""

    def __init__(self, description: _api.APIDescription) -> None:
        self.api = description
        self.groups: dict[str, type[ResourceGroup]] = {}
        #: ARI model name -> the handle class with this description's operations as methods.
        self.handles: dict[str, type[Handle]] = {}
        handle_methods: dict[str, dict[str, Callable]] = {k.name: {} for k in KINDS}
        for group, ops in description.operations.items():
            cls_name = "".join(w.capitalize() for w in group.split("_")) + "Resource"
            methods: dict[str, Any] = {"resource": group, "__doc__": f"The {group} operations of ARI."}
            for name, op in ops.items():
                methods[name] = _make_method(op, None, cls_name, name)
                found = binding_for(op.path)
                if found:
                    kind, params = found
                    for hname in kind.method_names(name):
                        handle_methods[kind.name].setdefault(
                            hname, _make_method(op, params, kind.model, hname))
            self.groups[group] = type(cls_name, (ResourceGroup,), methods)
        for kind in KINDS:
            base = kind.handle
            attrs = {k: v for k, v in handle_methods[kind.name].items() if not hasattr(base, k)}
            attrs["__doc__"] = base.__doc__
            attrs["__module__"] = base.__module__
            self.handles[kind.model] = type(kind.model, (base,), attrs)


_SURFACES: dict[str, Surface] = {}
#: Clients not closed yet: closed at interpreter exit (a kernel restart), so their calls' media is removed.
_LIVE_CLIENTS: "weakref.WeakSet[ARIClient]" = weakref.WeakSet()


@atexit.register
def _close_live_clients() -> None:
    """At exit (a kernel restart): close every client, so what it made for itself (media, phones) is removed."""
    for client in list(_LIVE_CLIENTS):
        try:
            client.close()
        except Exception:       # best effort at exit: the server may be gone already
            log.debug("Could not close %r at exit", client, exc_info=True)


def _sources(url: str | None, password: str | None) -> tuple[str, str]:
    """Where the address and the password come from: "argument", "environment" or "lab" (for messages)."""
    def source(given: object, name: str) -> str:
        return "argument" if given is not None else "environment" if os.environ.get(name) else "lab"
    given_password = password if password is not None else (urlsplit(url).password if url else None)
    return source(url, "ARI_URL"), source(given_password, "ARI_PASSWORD")


def _resolve(url: str | None, user: str | None, password: str | None) -> tuple[str, str, str]:
    """The ARI address and credentials: the arguments, else the settings (ARI_URL, ... or the lab's); a URL's own user:pass taken out."""
    __tracebackhide__ = True
    if url is not None:                         # credentials in the URL count as given
        given = urlsplit(url.strip())
        user = user if user is not None else given.username
        password = password if password is not None else given.password
    if url is None or user is None or password is None:
        cfg = _settings.load()
        target = url or cfg.ari_url
        from_lab = [name for name, value, variable in (("user=", user, "ARI_USER"), ("password=", password, "ARI_PASSWORD"))
                    if value is None and not os.environ.get(variable)]
        if from_lab and _settings.uses_lab() and urlsplit(target.strip()).hostname not in _settings.lab_hosts():
            # Those would be the lab's: they never leave this machine for a server that is not the lab.
            shown = re.sub(r"//[^/@]*@", "//", target.strip())
            origin = "" if url is not None else " (ARI_URL from your environment)"
            raise SettingsError(f"{shown}{origin} is not the kit's lab, so the lab's ARI user and password are not "
                                f"sent there: give {' and '.join(from_lab)} for that server (a user of its ari.conf), "
                                "or set ARI_URL, ARI_USER and ARI_PASSWORD in the environment")
        url = url or cfg.ari_url
        user = user if user is not None else cfg.ari_user
        password = password if password is not None else cfg.ari_password
    parts = urlsplit(url.strip().rstrip("/"))
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not host or port == -1:
        shown = re.sub(r"//[^/@]*@", "//", url)         # never the password
        raise SettingsError(f"{shown!r} is not an ARI address: give it as http://HOST:PORT (or https://), "
                            "e.g. vk.connect(url=\"http://127.0.0.1:8088\")")
    netloc = host + (f":{port}" if port else "")
    path = parts.path.rstrip("/")
    if path.endswith("/ari"):
        path = path[:-4]
    return urlunsplit((parts.scheme, netloc, path, "", "")).rstrip("/"), user or "", password or ""

_SURFACES_LOCK = threading.Lock()


def _channel_of(op: _api.Operation, values: dict) -> str | None:
    """The channel id of an operation on one channel (/channels/{channelId}...), else None."""
    channel_id = values.get("channelId")
    if channel_id is None or not op.path.startswith("/channels/{channelId}"):
        return None
    return str(id_of(channel_id))


class ARIClient(_Operations):
    """A connection to ARI: the operations (``ari.channels.originate(...)``), events, handles.

    Make one with ``vk.connect(app=...)``; use it as a context manager or call ``close()``. It is
    composed of a Transport (how requests travel) and an EventSource (where events come from):
    see vicifast_kit.contracts.
    """

    def __init__(self, app: str | None = None, *, url: str | None = None, user: str | None = None,
                 password: str | None = None, subscribe_all: bool = False, apps: Iterable[str] = (),
                 timeout: float = 10.0, reconnect: bool = True, transport: Transport | None = None,
                 event_source: EventSource | None = None) -> None:
        __tracebackhide__ = True       # a notebook's traceback shows the user's line, not the kit's
        self._closed = False
        self._state_changed = threading.Condition()
        self._closers: list[Callable[[], Any]] = []      # on_close(): called first by close()
        self._events: EventHub | None = None
        self._source: EventSource | None = None
        self._transport: Transport | None = None
        url_source, self._password_source = _sources(url, password)
        url, user, password = _resolve(url, user, password)
        self.url = url
        self.user = user
        self.app = app or os.environ.get("VICIFAST_APP") or DEFAULT_APP
        self.apps = [self.app] + [a for a in apps if a != self.app]
        self.subscribe_all = subscribe_all
        self._timeout = timeout
        #: True once this client subscribed one of its apps to a device state (close() drops those first).
        self._device_states = subscribe_all
        #: False: when the event websocket drops, the client stays disconnected (state "disconnected").
        self.reconnect = reconnect
        #: Observers of the REST traffic (the CallFlow widget draws it): each is called after every
        #: request as fn(method, path, status, started, seconds), started a time.time(); errors are logged.
        #: Prefer ari.on_request(fn), which returns its own remover.
        self.request_listeners: list[Callable[[str, str, int, float, float], Any]] = []
        register_secret(password)                       # never shown on the wire
        self._wires: list[Wire] = []
        self._http_transport: HTTPTransport = HTTPTransport(url, user, password, timeout=timeout,
                                                           unreachable=unreachable_text(url, url_source))
        self._transport = transport if transport is not None else self._http_transport
        self._api: _api.APIDescription | None = None
        #: The channels, bridges and recordings this client made or saw enter its app (see owns()).
        self._ownership = Ownership()
        try:
            self._surface = self._load_surface()
            self._api = self._surface.api
            #: The narrow interface handles and events use (see handles.Context).
            self.context = Context(self, self._call, self._surface.handles, self._api.models)
            for group, cls in self._surface.groups.items():
                setattr(self, group, cls(self))
            self._events = self.context.events = EventHub(self.context, self.app, ownership=self._ownership)
            if event_source is None:
                event_source = EventWebSocket(events_url(url, self.apps, subscribe_all),
                                              self._http_transport.authorization(), self.app, reconnect=reconnect,
                                              unreachable=unreachable_text(url, url_source))
                event_source.refused_hint = auth_hint(self.user, self._password_source)
            self._source = event_source
            self._source.start(self._deliver, self._on_stream_state)
        except BaseException:
            self.close()
            raise
        _LIVE_CLIENTS.add(self)
        log.info("Connected to ARI at %s as %s, app %r", self.url, self.user, self.app)

    @property
    def transport(self) -> Transport:
        """How this client's requests travel (an HTTPTransport unless another was given): see vicifast_kit.contracts."""
        return self._transport

    @property
    def event_source(self) -> EventSource | None:
        """Where this client's events come from (an EventWebSocket unless another was given)."""
        return self._source

    @property
    def timeout(self) -> float:
        """Seconds a request may take before RequestTimeout (set it to change it for every later request)."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds
        for transport in (self._transport, self._http_transport):
            if hasattr(transport, "timeout"):
                transport.timeout = seconds

    # --- the server's description -------------------------------------------------------
    def _load_surface(self) -> Surface:
        __tracebackhide__ = True
        index = self._http("GET", "/api-docs/resources.json")
        docs: dict[str, dict] = {}
        for entry in index.get("apis", []):
            stem = entry["path"].rsplit("/", 1)[-1].split(".")[0]
            docs[stem] = self._http("GET", f"/api-docs/{stem}.json")
        fingerprint = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()
        with _SURFACES_LOCK:
            surface = _SURFACES.get(fingerprint)
            if surface is None:
                surface = _SURFACES[fingerprint] = Surface(_api.parse(docs))
        return surface

    @property
    def operations(self) -> list[_api.Operation]:
        """Every operation the server describes (as the kit calls it: ``op.resource``, ``op.name``)."""
        return self._api.all_operations() if self._api else []

    # --- requests ------------------------------------------------------------------------
    def _http(self, method: str, path: str, params: dict | None = None, body: Any = None,
              binary: bool = False, template: str = "") -> Any:
        """One request through the transport: listeners told, an error status raised as its vk.ARIError."""
        __tracebackhide__ = True
        if self._closed:
            raise ClientClosed("This ARI client is closed: make a new one with vk.connect()")
        # Asterisk sends no binary body over its outbound websocket (a recording's file gets 406): HTTP for those.
        transport = self._http_transport if binary else self._transport
        started = time.time()
        wires = self._wires
        recorded = [(w, w.begin_request(method, path, template, params, body, started)) for w in wires] if wires else ()
        reply = transport.send(method, path, params, body, binary)
        if (method == "POST" and reply.status < 400 and path.endswith("/subscription")
                and "deviceState:" in str((params or {}).get("eventSource", ""))):
            self._device_states = True
        if recorded:
            seconds = time.time() - started
            answer = reply.data if reply.status < 400 else {"message": reply.message}
            for wire, entry in recorded:
                wire.end_request(entry, reply.status, answer, seconds)
        if self.request_listeners:
            seconds = time.time() - started
            for listener in list(self.request_listeners):
                try:
                    listener(method, path, reply.status, started, seconds)
                except Exception:
                    log.exception("Request listener %r failed (the request went through)", listener)
        if reply.status >= 400:
            raise error_for(reply.status, reply.message, method, path,
                            auth_hint(self.user, self._password_source) if reply.status == 401 else "")
        return reply.data

    def wire(self, limit: int = 2000) -> Wire:
        """Record what this client sends and receives, as ARI carries it: ``with ari.wire() as w: ...``, then ``w.curl()``."""
        wire = Wire(self, limit, on_stop=self._stop_wire)
        self._wires = self._wires + [wire]
        self._events.on_take = self._taken
        return wire

    def _stop_wire(self, wire: Wire) -> None:
        self._wires = [w for w in self._wires if w is not wire]
        if not self._wires:
            self._events.on_take = None

    def _deliver(self, raw: dict) -> None:
        """The event source's hand-off (on its reader thread): file the event, and put it on any open wire."""
        ev = self._events.put(raw)
        if self._wires:
            for wire in self._wires:
                wire.record_event(raw, ev.seq, ev.received)

    def _taken(self, ev: Event) -> None:
        helper = current_via()
        if helper:
            for wire in self._wires:
                wire.note_taken(ev.seq, helper)

    def on_request(self, fn: Callable[[str, str, int, float, float], Any]) -> Callable[[], None]:
        """Call fn(method, path, status, started, seconds) after every request; returns the function that stops it."""
        self.request_listeners.append(fn)

        def remove() -> None:
            if fn in self.request_listeners:
                self.request_listeners.remove(fn)
        return remove

    def request(self, method: str, path: str, *, body: Any = None, **params: Any) -> Any:
        """Any ARI call by hand: ``ari.request("GET", "/channels")``; params in the query, body as JSON."""
        __tracebackhide__ = True
        path = "/" + path.lstrip("/")
        if path.startswith("/ari/"):
            path = path[4:]
        query = {k: ("true" if v is True else "false" if v is False else
                     ",".join(map(str, map(id_of, v))) if isinstance(v, (list, tuple)) else id_of(v))
                 for k, v in params.items() if v is not None}
        method = method.upper()
        result = self._http(method, path, query, body)
        self._ownership.note_result(method, path, result)
        return result

    def _call(self, op: _api.Operation, args: tuple, kwargs: dict, bound: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        unbound = [p for p in op.path_params if p.name not in bound]
        if len(args) > len(unbound):
            raise TypeError(f"{op.name}() takes {len(unbound)} positional argument(s) "
                            f"({', '.join(p.py for p in unbound) or 'none'}); pass the others by keyword")
        values: dict[str, Any] = dict(bound)
        for p, a in zip(unbound, args):
            values[p.name] = a
        lookup = op.lookup
        for k, v in kwargs.items():
            p = lookup.get(k)
            if p is None or p.name in bound:
                raise TypeError(f"{op.name}() got an unexpected keyword argument {k!r}")
            if p.name in values:
                raise TypeError(f"{op.name}() got multiple values for argument {p.py!r}")
            values[p.name] = v
        missing = [p.py for p in op.params if p.required and values.get(p.name) is None]
        if missing:
            raise TypeError(f"{op.name}() missing required argument(s): {', '.join(missing)}")
        path, query, body = op.path, {}, None
        for p in op.params:
            v = values.get(p.name)
            if v is None:
                continue
            if p.where == "path":
                path = path.replace("{%s}" % p.name, quote(str(id_of(v)), safe=""))
            elif p.where == "body":
                if p.data_type == "object":
                    body = dict(body or {}, **v) if isinstance(v, dict) else v
                else:
                    body = body or {}
                    body[p.name] = v
            else:
                query[p.name] = _encode(v, p)
        if op.resource == "events" and op.nickname == "eventWebsocket":
            return self._raw_websocket(query)
        try:
            result = self._http(op.method, path, query, body, binary=op.response == "binary", template=op.path)
        except ARIError as error:
            # A call in its last milliseconds (hung up, not yet destroyed) answers 409 or 500, not 404.
            gone = isinstance(error, NotFound) or (isinstance(error, (Conflict, ServerError))
                                                   and self._channel_gone(op, values))
            ended = self._call_ended(op, values, error) if gone else None
            if ended is None:
                raise
            raise ended from None
        self._ownership.note_result(op.method, path, result)
        return self._wrap(op.response, result)

    def _channel_gone(self, op: _api.Operation, values: dict, within: float = 1.0) -> bool:
        """True if this operation's channel was seen hanging up and Asterisk now says it is gone (GET gives 404)."""
        ident = _channel_of(op, values)
        if ident is None or not self._events.ended(ident)[0]:
            return False
        deadline = time.monotonic() + within
        while True:
            try:
                self._http("GET", "/channels/" + quote(ident, safe=""), template="/channels/{channelId}")
            except NotFound:
                return True
            except Error:
                return False
            if time.monotonic() >= deadline or self._closed:
                return False
            time.sleep(0.05)

    def _call_ended(self, op: _api.Operation, values: dict, error: ARIError) -> CallEnded | None:
        """A 404 on a call's operation (or a 409/500 while it was being torn down) as CallEnded, with its hang-up cause."""
        ident = _channel_of(op, values)
        if ident is None:
            return None
        ended, cause = self._events.ended(ident)
        if not ended and self._ownership.owns("channel", ident):
            # ARI's answer can come before the hang-up's events: wait a moment for them, for the cause.
            ended, cause = self._events.wait_ended(ident, timeout=1.0)
        if not ended and (error.status != 404 or "channel not found" not in error.message.lower()):
            return None          # another object of the request was not found
        if ended:
            why = "this call has ended" + (f" ({cause_phrase(cause)})" if cause is not None else "")
        else:
            why = "this call has ended (or never existed)"
        return CallEnded(error.status, error.message, error.method, error.path,
                         why + ": its handle stays, the call does not; take a new call "
                         '(e.g. ari.wait_for("StasisStart"))', cause=cause)

    def _raw_websocket(self, query: dict) -> Any:
        """ari.events.event_websocket(...): a plain websocket-client connection to /ari/events, yours to read."""
        import websocket
        url = re.sub(r"^http", "ws", self.url) + "/ari/events?" + urlencode(query)
        return websocket.create_connection(url, header=["Authorization: " + self._http_transport.authorization()],
                                           timeout=self.timeout)

    def _wrap(self, type_name: str, value: Any) -> Any:
        """A server result as the kit returns it: handles, lists of handles, Records, bytes."""
        return self.context.wrap(type_name, value)

    def handle(self, kind: str, id: str | tuple) -> Handle:
        """A handle for an object known by id, without asking the server: ``ari.handle("channel", "123")``."""
        return self.context.handle_class(kind_of(kind).model)(self, id)

    def owns(self, kind: str | Handle, id: str | None = None) -> bool:
        """True if this client made the object, or saw it enter its app: ``ari.owns(ch)``, ``ari.owns("bridge", id)``."""
        if isinstance(kind, Handle):
            kind, id = kind.key
        else:
            kind = kind_of(kind).name
        return self._ownership.owns(kind, id)

    # --- events --------------------------------------------------------------------------
    def on(self, event_type: str | Iterable[str], fn: Callable[[Event], Any]) -> Subscription:
        """Call fn(event) on the dispatcher thread for each event of that type ("*": all); returns the unsubscriber."""
        return self._events.subscribe(event_type, fn)

    def wait_for(self, event_type: str | Iterable[str] = "*", timeout: float | None = 30.0,
                 where: Callable[[Event], bool] | None = None) -> Event:
        """Kit helper (ARI pushes events, the kit keeps them): the oldest event of that type not yet taken; WaitTimeout after timeout s."""
        __tracebackhide__ = True
        with via("wait_for"):
            return self._events.take(event_type, timeout=timeout, where=where, what=f"{event_type} event")

    def pending_events(self, event_type: str | Iterable[str] | None = None) -> list[Event]:
        """The buffered events not yet returned by ari.wait_for, oldest first."""
        return self._events.pending(event_type)

    def clear_events(self) -> int:
        """Forget every buffered event (for every handle); returns how many there were."""
        return self._events.clear()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every event received so far has been dispatched: handlers (and the widgets' models) have seen it."""
        __tracebackhide__ = True
        self._events.flush(timeout)

    @property
    def connected(self) -> bool:
        """True while the event source is up (False between a drop and the reconnect)."""
        return self.state == "connected"

    @property
    def state(self) -> str:
        """"connected", "reconnecting" (the websocket dropped; it comes back), "disconnected" (for good), "ended" or "closed"."""
        if self._closed:
            return "closed"
        return self._source.state if self._source is not None else "reconnecting"

    def wait_connected(self, timeout: float = 30.0) -> None:
        """Block until the event source is up (raises WaitTimeout, or Disconnected for a client that gave up)."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        with self._state_changed:
            while True:
                state = self.state
                if state == "connected":
                    return
                if state == "closed":
                    raise ClientClosed("This ARI client is closed: make a new one with vk.connect()")
                if state == "disconnected":
                    raise self._disconnected()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout("the event websocket to reconnect", timeout)
                self._state_changed.wait(min(remaining, 1.0))

    def _disconnected(self) -> Disconnected:
        return Disconnected(
            f"The event websocket of app {self.app!r} dropped and this client does not reconnect "
            "(it was made with reconnect=False): no more events will come. Make a new client with "
            "vk.connect(), or leave reconnect=True (the default) to have it come back by itself.")

    def _on_stream_state(self, up: bool) -> None:
        """The event source's connection dropped (up=False) or came back: a local event, and waiters told."""
        self._events.put({"type": RECONNECTED if up else DISCONNECTED, "application": self.app,
                          "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000%z")}, local=True)
        if not up and self.state == "disconnected":
            self._events.fail(self._disconnected())
        with self._state_changed:
            self._state_changed.notify_all()

    # --- lifetime ------------------------------------------------------------------------
    def on_close(self, fn: Callable[[], Any]) -> Callable[[], None]:
        """Call fn() first when this client closes (requests still work then); returns the function that cancels it."""
        if self._closed:
            raise ClientClosed("This ARI client is closed already: make a new one with vk.connect()")
        self._closers.append(fn)

        def cancel() -> None:
            try:
                self._closers.remove(fn)
            except ValueError:      # already cancelled, or being called by close()
                pass
        return cancel

    def close(self) -> None:
        """Close what registered with on_close (media, phones), then the event source and every thread this client started."""
        if self._closed:
            return
        while self._closers:     # newest first; a closer may cancel others (they are then skipped)
            closer = self._closers.pop()
            try:
                closer()
            except Exception:
                log.exception("Could not close %r (the client closes anyway)", closer)
        if self._device_states and self.connected:
            self._drop_device_states()
        self._closed = True
        with self._state_changed:
            self._state_changed.notify_all()
        if self._source is not None:
            self._source.close()
        if self._events is not None:
            self._events.close()
        for transport in {id(t): t for t in (self._transport, self._http_transport) if t is not None}.values():
            transport.close()
        log.info("Closed the ARI client of app %r", self.app)

    def _drop_device_states(self) -> None:
        """Unsubscribe this client's apps from device states over REST, before their websocket closes.

        Asterisk 20-22 can deadlock ARI when an app's websocket closes while a device state event for
        that app is being delivered: the teardown unsubscribes from device states while it holds the
        websocket session's lock, which the delivery waits for (asterisk/asterisk#2170; seen in the lab
        with subscribeAll clients: GET /applications and every new websocket hung until a restart).
        Dropped over REST first, the teardown has no device state subscription left to wait for.
        """
        with via("close"):
            for app in self.apps:
                try:
                    names = self._http("GET", f"/applications/{app}").get("device_names") or []
                    for name in names:
                        source = "deviceState:" + ("" if name == DEVICE_STATE_ALL else name)
                        self._http("DELETE", f"/applications/{app}/subscription", {"eventSource": source})
                except Error as error:       # best effort: the websocket closes anyway
                    log.info("Could not drop the device state subscriptions of app %r: %s", app, error)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def dashboard(self, *, poll: float | None = 2.0) -> Any:
        """The live widgets for this client (channels, bridges, call control, flow, events) in one Dashboard."""
        from .widgets import Dashboard      # imported here: `import vicifast_kit` never imports ipywidgets
        return Dashboard(self, poll=poll)

    def __enter__(self) -> "ARIClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:       # best effort: at garbage collection nobody can be told
            pass

    def __repr__(self) -> str:
        return f"<ARIClient app={self.app!r} url={self.url!r} user={self.user!r} {self.state}>"

    def __dir__(self) -> Iterable[str]:
        return sorted(set(super().__dir__()))


def connect(app: str | None = None, *, url: str | None = None, user: str | None = None,
            password: str | None = None, subscribe_all: bool = False, apps: Iterable[str] = (),
            timeout: float = 10.0, reconnect: bool = True, transport: Transport | None = None,
            event_source: EventSource | None = None) -> ARIClient:
    """Connect to ARI (defaults: ARI_URL, ARI_USER, ARI_PASSWORD, else the lab's settings) and register the Stasis app ``app``."""
    __tracebackhide__ = True
    return ARIClient(app, url=url, user=user, password=password, subscribe_all=subscribe_all, apps=apps,
                     timeout=timeout, reconnect=reconnect, transport=transport, event_source=event_source)
