"""The kit's client on ARI's outbound websockets: Asterisk connects to the program and pushes events.

``vk.push.connect()`` listens where the lab's outbound connection points (PUSH_URI/ari/push: by default
ws://127.0.0.1:8790/ari/push; config.py says how the Docker lab and an Asterisk of your own are reached),
waits for Asterisk to connect, and returns a client with everything ``vk.connect()`` gives
(``ari.channels``, handles, ``wait_for``, ``on``, widgets). With ``rest="websocket"`` (the default)
its requests travel on the same socket as RESTRequest/RESTResponse messages: one connection,
opened by Asterisk, carries events and commands, and the program holds no ARI password.

``PerCallServer`` serves the per-call kind: Asterisk opens a new websocket for each call that
reaches the app, and each one becomes a client of its own (``server.next_call()``, or a handler
run on a thread per call).
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from typing import Any, Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from .. import settings as _settings
from ..client import ARIClient
from ..contracts import Reply
from ..errors import ClientClosed, LabUnreachable, RequestTimeout, WaitTimeout
from . import config as _config
from . import protocol
from .config import PushSettings
from .listener import Listener, PushError, acquire, release

log = logging.getLogger("vicifast_kit.push")

#: The lab's outbound connections (docker/asterisk/ari.conf, websocket_client.conf).
PUSH_APP, PUSH_PATH = "vicifast-push", "/ari/push"
PER_CALL_APP, PER_CALL_PATH = "vicifast-percall", "/ari/per-call"
REST_MODES = ("websocket", "http")


class _Link:
    """One websocket from Asterisk: a reader loop that files responses by request id and passes events on."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self._on_event: Callable[[dict], None] | None = None
        self._held: list[dict] = []              # events that came before attach()
        self._pending: dict[str, list] = {}      # request id -> [threading.Event, response or None]
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.open = True
        self.received = 0
        #: Set by Asterisk's first message. Asterisk reads its side of the handshake through a buffer
        #: and then waits on the socket itself: a request sent at once can sit in that buffer unseen
        #: until more bytes come (measured: 10 s). Asterisk always speaks first (ApplicationRegistered,
        #: or a per-call StasisStart), so requests wait for that.
        self.ready = threading.Event()
        self.nudges = 0            # requests that needed a ping to be seen (see request())
        #: Its end has been reported (by its own reader, or by the connection that replaced it).
        self.reported_down = False

    def run(self) -> None:
        """Read until the socket closes (on the connection's own thread)."""
        try:
            for raw in self.connection:
                if isinstance(raw, bytes):
                    continue
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("Ignored a message from Asterisk that is not JSON (%d characters)", len(raw))
                    continue
                self.received += 1
                self.ready.set()
                if protocol.is_response(message):
                    with self._lock:
                        slot = self._pending.pop(str(message.get("request_id", "")), None)
                    if slot is None:
                        log.warning("A RESTResponse nobody waits for (request %r)", message.get("request_id"))
                    else:
                        slot[1] = message
                        slot[0].set()
                    continue
                with self._lock:
                    deliver = self._on_event
                    if deliver is None:
                        self._held.append(message)
                        continue
                try:
                    deliver(message)
                except Exception:
                    log.exception("Could not file an event of type %s", message.get("type"))
        except ConnectionClosed:
            pass
        finally:
            self.open = False
            with self._lock:
                waiting = list(self._pending.values())
                self._pending.clear()
            for slot in waiting:
                slot[0].set()
            self.ready.set()

    def attach(self, on_event: Callable[[dict], None]) -> None:
        """Send events to on_event from now on (first those that came before, in order)."""
        with self._lock:
            held, self._held = self._held, []
            for message in held:
                on_event(message)
            self._on_event = on_event

    def request(self, message: dict, timeout: float) -> dict | None:
        """Send a RESTRequest and wait for its RESTResponse (None if the socket closed first)."""
        slot: list = [threading.Event(), None]
        rid = message["request_id"]
        if not self.ready.wait(timeout):
            raise WaitTimeout("first message from Asterisk on its new websocket", timeout)
        with self._lock:
            if not self.open:
                return None
            self._pending[rid] = slot
        try:
            with self._send_lock:
                self.connection.send(json.dumps(message))
        except ConnectionClosed:
            with self._lock:
                self._pending.pop(rid, None)
            return None
        answered = slot[0].wait(min(1.0, timeout))
        if not answered:
            # A nudge, in case the request still sits unseen in Asterisk's buffer (see ready):
            # a ping makes it look at the socket again.
            self.nudges += 1
            log.debug("No answer to %s within 1 s: nudging Asterisk with a ping", rid)
            try:
                with self._send_lock:
                    self.connection.ping()
            except (ConnectionClosed, RuntimeError, OSError):   # closed meanwhile: the wait below sees it
                pass
            answered = slot[0].wait(max(0.0, timeout - 1.0))
        if not answered:
            with self._lock:
                self._pending.pop(rid, None)
            raise RequestTimeout("Asterisk's outbound websocket",
                                 f"{message['method']} /{message['uri']}, REST over the websocket", timeout)
        return slot[1]

    def close(self) -> None:
        """Close the socket (the reader loop then ends)."""
        try:
            self.connection.close(1000, "The program closed")
        except Exception:       # best effort: a socket that is already gone
            log.debug("Closing Asterisk's websocket failed", exc_info=True)


class PushEvents:
    """The EventSource of a client that Asterisk connects to: events from its outbound websocket.

    It serves the listener's route (``serve``, one websocket at a time: a new one replaces the
    old), keeps what arrives before ``start`` and then hands every event on in order. Reconnecting
    is Asterisk's job: while no websocket is open the state is "reconnecting"; a per-call source
    whose websocket Asterisk closed is "ended".
    """

    def __init__(self, *, link: _Link | None = None, on_app: Callable[[str], Any] | None = None) -> None:
        self._cond = threading.Condition()
        self._link: _Link | None = None
        self._deliver: Callable[[dict], Any] | None = None
        self._on_state: Callable[[bool], Any] | None = None
        self._early: list[dict] = []             # events that came before start()
        self._on_app = on_app
        self._closed = False
        #: True for the websocket of one call (ARI's per-call outbound connections).
        self.per_call = link is not None
        #: How many times Asterisk connected.
        self.connections = 0
        #: A per-call websocket that Asterisk closed (its call is over).
        self.ended = False
        if link is not None:
            self._link = link
            self.connections = 1
            link.attach(self._on_message)

    @property
    def link(self) -> _Link | None:
        """The websocket from Asterisk in use now (None before Asterisk connected)."""
        return self._link

    @property
    def state(self) -> str:
        """"connected" while Asterisk's websocket is open, "ended" for a per-call one it closed, else "reconnecting"."""
        link = self._link
        if link is not None and link.open:
            return "connected"
        return "ended" if self.per_call and self.ended else "reconnecting"

    def serve(self, connection: ServerConnection) -> None:
        """A websocket from Asterisk (on the listener's thread): the link until it closes or another replaces it."""
        link = _Link(connection)
        link.attach(self._on_message)
        with self._cond:
            old, self._link = self._link, link
            self.connections += 1
            # Asterisk can reconnect before the old socket's reader has seen it close: its end is told here,
            # before the new start, so a program always sees "disconnected" then "reconnected".
            untold = old is not None and not old.reported_down
            if old is not None:
                old.reported_down = True
            self._cond.notify_all()
        if old is not None:
            old.close()
            if untold and not self._closed:
                self._tell(False)
        log.info("Asterisk connected (connection %d)", self.connections)
        if self.connections > 1:
            self._tell(True)
        link.run()
        with self._cond:
            untold = not link.reported_down and not self._closed
            link.reported_down = True
        if untold:
            log.warning("Asterisk's websocket closed; Asterisk reconnects by itself")
            self._tell(False)

    def end(self) -> None:
        """Asterisk closed this per-call websocket: the call is over (state "ended")."""
        self.ended = True
        self._tell(False)

    def wait_link(self, timeout: float, where: str) -> _Link:
        """The open websocket from Asterisk, waiting up to timeout s for one (PushError, or ClientClosed per call)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._link is None or not self._link.open:
                if self.per_call:
                    self.ended = True
                    raise ClientClosed("This call's websocket has ended: Asterisk closes a per-call "
                                       "connection a few seconds after the call leaves Stasis")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PushError(
                        f"Asterisk did not connect to {where} within {timeout} s. Is the lab's outbound "
                        "connection configured? `vicifast-kit lab cli \"ari show outbound-websockets\"` lists "
                        "them (docker/asterisk/ari.conf and websocket_client.conf; `module reload res_ari.so` "
                        "applies them). Is the lab up? `vicifast-kit lab status`.")
                self._cond.wait(min(remaining, 0.5))
            return self._link

    def _on_message(self, message: dict) -> None:
        with self._cond:
            deliver = self._deliver
            if deliver is None:
                self._early.append(message)
                return
        self._learn_app(message)
        deliver(message)

    def _learn_app(self, message: dict) -> None:
        """Per call, Asterisk names the app "app:channel name" in the call's StasisStart: tell the client."""
        if self.per_call and message.get("type") == "StasisStart" and self._on_app is not None:
            app = str(message.get("application", ""))
            if ":" in app:
                self._on_app(app)

    def _tell(self, up: bool) -> None:
        on_state = self._on_state
        if on_state is not None:
            on_state(up)

    # --- the EventSource contract ------------------------------------------------------------
    def start(self, deliver: Callable[[dict], Any], on_state: Callable[[bool], Any]) -> None:
        """Hand on what came before, in order, then every event as it comes."""
        with self._cond:
            early, self._early = self._early, []
            for message in early:
                self._learn_app(message)
                deliver(message)
            self._deliver, self._on_state = deliver, on_state

    def close(self) -> None:
        """Stop handing events on and close Asterisk's websocket (a per-call one is left for Asterisk to close)."""
        self._closed = True
        # Closed by us while the call is in Stasis, Asterisk would connect again for it: PerCallServer closes those.
        if not self.per_call and self._link is not None:
            self._link.close()


class PushTransport:
    """The Transport of a client that Asterisk connects to: RESTRequest/RESTResponse on Asterisk's websocket."""

    def __init__(self, events: PushEvents, where: str, timeout: float = 10.0) -> None:
        self.events = events
        self.where = where
        self.timeout = timeout

    def exchange(self, method: str, path: str, params: dict | None = None, body: Any = None) -> dict:
        """Send one RESTRequest and return Asterisk's RESTResponse message as it came."""
        __tracebackhide__ = True
        try:
            link = self.events.wait_link(self.timeout, self.where)
        except PushError:
            raise LabUnreachable(self.where, text=(
                f"Asterisk's outbound websocket to {self.where} is not connected (for {self.timeout} s): "
                "Asterisk reconnects by itself within a second unless it is down (`vicifast-kit lab status`)."
            )) from None
        answer = link.request(protocol.rest_request(method, path, params, body), self.timeout)
        if answer is None:
            if self.events.per_call:
                self.events.ended = True
                raise ClientClosed(f"This call's websocket closed before Asterisk answered {method} {path}")
            raise LabUnreachable(self.where, text=(
                f"Asterisk's websocket closed before it answered {method} {path}; it reconnects by itself "
                "within a second: try again"))
        return answer

    def send(self, method: str, path: str, params: dict | None = None, body: Any = None,
             binary: bool = False) -> Reply:
        """One request as a RESTRequest on Asterisk's websocket, its RESTResponse as a Reply."""
        __tracebackhide__ = True
        status, reason, result = protocol.read_response(self.exchange(method, path, params, body))
        if status >= 400:
            return Reply(status, None, protocol.error_message(result, reason))
        return Reply(status, result)

    def close(self) -> None:
        """Nothing to release: the websocket belongs to the event source."""


class PushClient(ARIClient):
    """An ARI client whose events (and, with rest="websocket", requests) use Asterisk's outbound websocket.

    Make one with ``vk.push.connect()``; it has every operation, handle, wait and handler of
    ``vk.connect()``: it is that client built from a ``PushEvents`` source and, for
    rest="websocket", a ``PushTransport``. ``close()`` stops the server: Asterisk then keeps
    retrying, and keeps the app's events in a queue until a program listens again.
    """

    def __init__(self, app: str = PUSH_APP, *, port: int | None = None, path: str = PUSH_PATH,
                 host: str | None = None, uri: str | None = None, rest: str = "websocket", timeout: float = 10.0,
                 connect_timeout: float = 10.0, credentials: tuple[str, str] | None = None,
                 url: str | None = None, user: str | None = None, password: str | None = None,
                 link: _Link | None = None, listener: Listener | None = None) -> None:
        __tracebackhide__ = True
        if rest not in REST_MODES:
            raise ValueError(f"rest must be one of {', '.join(REST_MODES)}, not {rest!r}")
        self.rest = rest
        self.path = path
        self._listener = listener
        self._owns_listener = listener is None and link is None
        self._credentials = credentials
        #: Where the kit listens and the address Asterisk connects to (None for a per-call client).
        self.place: PushSettings | None = None
        self.pushed = PushEvents(link=link, on_app=self._named)
        if link is None:
            if self._listener is None:
                place = _config.load(host=host, port=port, uri=uri)
                self._credentials = credentials = credentials or _lab_credentials()
                self._listener = acquire(place.port, place.host, credentials=credentials, name=app)
            else:
                place = _config.resolve({}, host=self._listener.host, port=self._listener.port, uri=uri)
            self.place = _config.with_port(place, self._listener.port)
            try:
                self._listener.route(path, self.pushed.serve)
            except PushError:
                self._release()
                raise
            try:
                self.pushed.wait_link(connect_timeout, self.url_pushed)
            except PushError:
                text = not_connected(self._listener, self.place, path, app, connect_timeout, self._credentials)
                self._stop_serving()
                raise PushError(text) from None
            except BaseException:
                self._stop_serving()
                raise
        transport = PushTransport(self.pushed, self.url_pushed, timeout) if rest == "websocket" else None
        try:
            super().__init__(app, url=url, user=user, password=password, timeout=timeout, transport=transport,
                             event_source=self.pushed)
        except BaseException:
            self._stop_serving()
            raise
        self.on_close(self._stop_serving)

    def _named(self, app: str) -> None:
        self.app = app

    def _release(self) -> None:
        if self._owns_listener and self._listener is not None:
            release(self._listener)
            self._owns_listener = False

    def _stop_serving(self) -> None:
        """Stop taking Asterisk's connections on this client's path (a per-call socket is left to Asterisk)."""
        self.pushed.close()         # first: the websocket's end is then ours, not a drop to warn about
        if self._listener is not None and not self.pushed.per_call:
            self._listener.unroute(self.path)
            self._release()

    @property
    def url_pushed(self) -> str:
        """The ws:// address Asterisk connects to (what websocket_client.conf's uri must say)."""
        if self.place is not None:
            return self.place.url(self.path)
        return self._listener.url(self.path) if self._listener else "(a per-call connection)"

    @property
    def listening(self) -> str:
        """host:port where the kit's push server listens ("" for a per-call client)."""
        return f"{self._listener.host}:{self._listener.port}" if self._listener else ""

    def asterisk_config(self, reveal_password: bool = False) -> str:
        """The websocket_client.conf and ari.conf lines an Asterisk needs to connect to this client."""
        if self.place is None:
            raise PushError("A per-call client has no configuration of its own: ask its PerCallServer")
        user, password = self._credentials or _lab_credentials()
        return _config.asterisk_config(self.place.uri, app=self._app_name(),
                                       path=self.path, user=user, password=password if reveal_password else None)

    def _app_name(self) -> str:
        return str(self.app).split(":", 1)[0]

    @property
    def connections(self) -> int:
        """How many times Asterisk connected to this client."""
        return self.pushed.connections

    @property
    def ended(self) -> bool:
        """True for a per-call client whose websocket Asterisk closed (the call is over)."""
        return self.pushed.ended

    def raw_request(self, method: str, path: str, params: dict | None = None, body: Any = None) -> dict:
        """Send one RESTRequest and return Asterisk's RESTResponse message as it came (to see the protocol)."""
        if self.closed:
            raise ClientClosed("This ARI client is closed: make a new one with vk.push.connect()")
        return PushTransport(self.pushed, self.url_pushed, self.timeout).exchange(method, path, params, body)

    def __repr__(self) -> str:
        state = "waiting for Asterisk" if self.state == "reconnecting" else self.state
        return f"<PushClient app={self.app!r} at {self.url_pushed}{_where_listening(self.place)} rest={self.rest} {state}>"


def _where_listening(place: PushSettings | None) -> str:
    """ " (listening on HOST:PORT)" when Asterisk's address does not already say where the kit listens."""
    if place is None or place.uri.startswith(f"ws://{place.host}:{place.port}"):
        return ""
    return f" (listening on {place.host}:{place.port})"


def _lab_credentials() -> tuple[str, str]:
    """(user, password) Asterisk presents to the kit: ARI_USER and PUSH_PASSWORD of the lab's settings."""
    s = _settings.load()
    return s.ari_user, s.push_password


def not_connected(listener: Listener, place: PushSettings, path: str, app: str, timeout: float,
                  credentials: tuple[str, str] | None) -> str:
    """Why Asterisk did not connect, from what reached the listener: what to check (uri, firewall, password)."""
    where = place.url(path)
    seen = dict(listener.seen)
    peer = f" from {seen['last_peer']}" if seen.get("last_peer") else ""
    head = (f"Asterisk did not connect to {where} within {timeout} s (the kit listens on "
            f"{listener.host}:{listener.port}, as {place.source or 'the arguments'} say). ")
    if seen["credentials"]:
        user = credentials[0] if credentials else "ARI_USER"
        why = (f"Something connected{peer} {seen['credentials']} time(s) with other credentials: the "
               f"username and password of that Asterisk's websocket_client.conf must be {user!r} and PUSH_PASSWORD "
               "(the lab's: `vicifast-kit lab status` shows where it is; a lab started before the password changed "
               "needs `vicifast-kit lab restart`), or pass credentials=(user, password) to match that Asterisk's.")
    elif seen["path"]:
        why = (f"Something connected{peer} to {seen['last_path']!r}, which is not served here: the uri's path must "
               f"be {path} (and its app {app!r} in ari.conf).")
    elif seen["accepted"]:
        why = (f"A TCP connection came{peer} but no websocket with credentials: is that Asterisk's uri ws:// "
               "(not wss://, or the other way round) and its protocols = ari?")
    else:
        why = (f"Nothing reached {listener.host}:{listener.port}. Check: (1) the uri of that Asterisk's "
               f"websocket_client.conf is {where} (the lab's: `vicifast-kit lab cli \"ari show outbound-websockets\"`; "
               "PUSH_URI or PUSH_PORT changed since the lab started? `vicifast-kit lab restart` renders them); "
               f"(2) its machine may open TCP port {listener.port} to this one (a firewall, a container's network: the "
               "Docker lab reaches this machine as host.docker.internal); (3) Asterisk runs and has the connection "
               "(`vicifast-kit lab status`; after a config change `module reload res_websocket_client.so` then "
               "`module reload res_ari.so`).")
    return head + why + " The lines an Asterisk of your own needs: print(vk.push.asterisk_config())."


def connect(app: str = PUSH_APP, *, host: str | None = None, port: int | None = None, uri: str | None = None,
            path: str = PUSH_PATH, rest: str = "websocket", timeout: float = 10.0, connect_timeout: float = 10.0,
            credentials: tuple[str, str] | None = None) -> PushClient:
    """Listen for Asterisk's outbound websocket (the lab's: PUSH_URI/ari/push, 127.0.0.1:8790) and return its client."""
    return PushClient(app, host=host, port=port, uri=uri, path=path, rest=rest, timeout=timeout,
                      connect_timeout=connect_timeout, credentials=credentials)


def asterisk_config(app: str = PUSH_APP, *, host: str | None = None, port: int | None = None, uri: str | None = None,
                    per_call: bool = False, credentials: tuple[str, str] | None = None,
                    reveal_password: bool = False) -> str:
    """The websocket_client.conf and ari.conf lines an Asterisk needs to reach vk.push.connect() (or a PerCallServer)."""
    place = _config.load(host=host, port=port, uri=uri)
    user, password = credentials or _lab_credentials()
    return _config.asterisk_config(place.uri, app=app, path=PER_CALL_PATH if per_call else PUSH_PATH, user=user,
                                   password=password if reveal_password else None, per_call=per_call)


class PerCallServer:
    """Serve ARI's per-call outbound websockets: each call reaching the app connects anew, as a client of its own.

    ``next_call(timeout)`` returns the next call's client (its StasisStart is in ``wait_for``);
    with ``handler=fn``, fn(client) runs on a thread of its own for each call and the client is
    closed after. ``close()`` stops listening and closes every call's client.
    """

    def __init__(self, app: str = PER_CALL_APP, *, port: int | None = None, path: str = PER_CALL_PATH,
                 host: str | None = None, uri: str | None = None, handler: Callable[[PushClient], Any] | None = None,
                 rest: str = "websocket", timeout: float = 10.0,
                 credentials: tuple[str, str] | None = None) -> None:
        credentials = credentials or _lab_credentials()
        place = _config.load(host=host, port=port, uri=uri)
        self._credentials = credentials
        self.app, self.path, self.rest, self.timeout = app, path, rest, timeout
        self._handler = handler
        self._calls: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._clients: list[PushClient] = []
        self._threads: set[threading.Thread] = set()
        self._ids = itertools.count(1)
        self._closed = False
        self.failures = 0
        self._listener = acquire(place.port, place.host, credentials=credentials, name=app)
        #: Where the kit listens and the address Asterisk connects to.
        self.place = _config.with_port(place, self._listener.port)
        try:
            self._listener.route(path, self._serve)
        except PushError:
            release(self._listener)
            raise

    @property
    def url(self) -> str:
        """The ws:// address Asterisk connects to for each call."""
        return self.place.url(self.path)

    def asterisk_config(self, reveal_password: bool = False) -> str:
        """The websocket_client.conf and ari.conf lines an Asterisk needs to connect here for each call."""
        user, password = self._credentials
        return _config.asterisk_config(self.place.uri, app=self.app, path=self.path, user=user, per_call=True,
                                       password=password if reveal_password else None)

    def _serve(self, connection: ServerConnection) -> None:
        link = _Link(connection)
        holder: dict[str, PushClient] = {}
        thread = threading.Thread(target=self._start_call, args=(link, holder), daemon=True,
                                  name=f"vicifast-push-call[{self.app}#{next(self._ids)}]")
        with self._lock:
            if self._closed:
                return
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()
        link.run()
        client = holder.get("client")
        if client is not None:
            client.pushed.end()

    def _start_call(self, link: _Link, holder: dict) -> None:
        try:
            client = PushClient(self.app, path=self.path, rest=self.rest, timeout=self.timeout, link=link)
        except Exception:
            self.failures += 1
            log.exception("Could not serve a per-call connection")
            link.close()
            return
        holder["client"] = client
        with self._lock:
            if self._closed:
                client.close()
                return
            self._clients.append(client)
        if self._handler is None:
            self._calls.put(client)
            return
        try:
            self._handler(client)
        except Exception:
            log.exception("The per-call handler failed")
        finally:
            client.close()

    def next_call(self, timeout: float | None = 30.0) -> PushClient:
        """The client of the next call that Asterisk connected for (raises WaitTimeout)."""
        try:
            return self._calls.get(timeout=timeout)
        except queue.Empty:
            what = f"call into app {self.app!r} (a per-call websocket from Asterisk to {self.url})"
            if not self._listener.seen["accepted"]:
                what += (f"; nothing reached {self._listener.host}:{self._listener.port} at all: is a call in "
                         f"Stasis({self.app})? print(server.asterisk_config()) shows the lines Asterisk needs")
            raise WaitTimeout(what, timeout) from None

    def _connections(self) -> list:
        with self._lock:
            return [c.pushed.link.connection for c in self._clients if c.pushed.link is not None and c.pushed.link.open]

    def wait_ended(self, timeout: float = 15.0) -> None:
        """Block until Asterisk has closed every call's websocket (a few seconds after each call leaves Stasis)."""
        deadline = time.monotonic() + timeout
        while any(not c.ended for c in self.calls):
            if time.monotonic() > deadline:
                raise WaitTimeout("per-call websockets to be closed by Asterisk", timeout)
            time.sleep(0.1)

    @property
    def calls(self) -> list[PushClient]:
        """Every call's client so far (open or ended)."""
        with self._lock:
            return list(self._clients)

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening, close every call's client and wait for the threads."""
        with self._lock:
            self._closed = True
            clients = list(self._clients)
            threads = list(self._threads)
        for client in clients:
            try:
                client.close()
            except Exception:
                log.exception("Could not close a per-call client")
        self._listener.unroute(self.path)
        for connection in self._connections():
            try:
                connection.close(1001, "The program closed")
            except Exception:   # best effort: a socket that is already gone
                log.debug("Closing a per-call websocket failed", exc_info=True)
        release(self._listener)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def __enter__(self) -> "PerCallServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<PerCallServer app={self.app!r} at {self.url}{_where_listening(self.place)} calls={len(self._clients)}"
                f"{' closed' if self._closed else ''}>")
