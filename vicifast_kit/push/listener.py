"""A small websocket server that Asterisk connects to (ARI's outbound websockets).

One accept thread and one thread per connection, all named and daemonic, all stopped by
``close()``. It listens where it is told (127.0.0.1 by default; the Docker bridge's gateway for the
Docker lab; see config.py), speaks the ``ari`` sub-protocol, and refuses a connection whose HTTP
Basic credentials are not the ones given (so another program can't pose as Asterisk) or whose
path has no route. It keeps count of what it refused and from where, so a program that waits in
vain can say why (``seen``).
"""

from __future__ import annotations

import errno
import hmac
import http
import itertools
import logging
import selectors
import socket
import threading
from typing import Callable

from websockets.sync.server import ServerConnection, serve

from ..errors import Error
from ..wire import register_secret

from .protocol import basic_auth

log = logging.getLogger("vicifast_kit.push")

from .config import DEFAULT_PORT

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class PushError(Error, RuntimeError):
    """Asterisk's outbound websocket could not be served (port taken, Asterisk never connected...)."""


class Listener:
    """Listen on host:port for Asterisk's websockets; ``route(path, fn)`` gives each connection to fn."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1", *,
                 credentials: tuple[str, str] | None = None, name: str = "push") -> None:
        if host not in LOOPBACK:
            # Reachable from elsewhere (a container, another machine): only Asterisk's credentials get in.
            log.info("The push server listens on %s:%s; it admits only connections with the push credentials",
                     host, port)
        self.host, self.name = host, name
        self._routes: dict[str, Callable[[ServerConnection], None]] = {}
        self._auth = basic_auth(*credentials) if credentials else None
        if credentials:
            register_secret(credentials[1])         # the push password is never shown on the wire
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._connections: set[ServerConnection] = set()
        self._ids = itertools.count(1)
        self.refused = 0
        #: What reached this server, for messages: "accepted" TCP connections, refused for "credentials" or
        #: "path", the "last_peer" address and the "last_path" asked for.
        self.seen: dict = {"accepted": 0, "credentials": 0, "path": 0, "last_peer": None, "last_path": None}
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._sock = socket.create_server((host, port), family=family)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PushError(f"Port {port} on {host} is taken: another program (a notebook or a test?) "
                                "serves Asterisk's outbound websocket already. Close it (ari.close()) or "
                                "restart that kernel, then try again; or listen on another port "
                                "(vk.push.connect(port=...), PUSH_PORT) and tell Asterisk (PUSH_URI).") from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise PushError(f"This machine has no address {host} to listen on (PUSH_HOST, or host=): "
                                "leave PUSH_HOST empty for the lab, or give one of this machine's addresses "
                                "(0.0.0.0 for all of them).") from None
            raise
        self.port = self._sock.getsockname()[1]
        self._server = serve(self._handle, sock=self._sock, subprotocols=["ari"], ping_interval=None, close_timeout=2,
                             process_request=self._check, compression=None, server_header=None,
                             max_size=8 * 1024 * 1024, logger=logging.getLogger("vicifast_kit.push.ws"))
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"vicifast-push-accept[{name}:{self.port}]")
        self._accept_thread.start()

    def url(self, path: str) -> str:
        """The ws:// address Asterisk must be given (websocket_client.conf ``uri``) to reach path."""
        return f"ws://{self.host}:{self.port}{path}"

    def route(self, path: str, fn: Callable[[ServerConnection], None]) -> None:
        """Give each connection to path to fn(connection), on that connection's own thread."""
        with self._lock:
            if path in self._routes:
                raise PushError(f"{self.url(path)} is served already by another client in this program: close "
                                "that one first (ari.close()); Asterisk keeps one connection per configuration")
            self._routes[path] = fn

    def unroute(self, path: str) -> None:
        """Stop accepting connections to path."""
        with self._lock:
            self._routes.pop(path, None)

    # --- the server ----------------------------------------------------------------------
    def _check(self, connection: ServerConnection, request) -> object:
        path = request.path.split("?", 1)[0]
        with self._lock:
            known = path in self._routes
            self.seen["last_path"] = path
            try:
                self.seen["last_peer"] = connection.remote_address[0]
            except (OSError, TypeError, IndexError):
                pass
        if not known:
            self.refused += 1     # e.g. the lab's persistent connection retrying while only per-call is served
            self.seen["path"] += 1
            log.debug("Refused a websocket to %s: no route (known: %s)", path, ", ".join(self._routes) or "none")
            return connection.respond(http.HTTPStatus.NOT_FOUND, "No such path\n")
        if self._auth is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), self._auth.encode()):
                self.refused += 1
                self.seen["credentials"] += 1
                log.warning("Refused a websocket to %s: %s", path,
                            "wrong credentials" if given else "no credentials")
                response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Credentials needed\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="vicifast-push"'
                return response
        return None

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as poller:
            try:
                poller.register(self._sock, selectors.EVENT_READ)
            except (OSError, ValueError):      # closed before this thread got going
                return
            while not self._stop.is_set():
                try:
                    if not poller.select(timeout=0.2):
                        continue
                    sock, addr = self._sock.accept()
                except (OSError, ValueError):
                    break
                self.seen["accepted"] += 1
                thread = threading.Thread(target=self._server.handler, args=(sock, addr), daemon=True,
                                          name=f"vicifast-push-conn[{self.name}#{next(self._ids)}]")
                with self._lock:
                    if self._stop.is_set():
                        sock.close()
                        break
                    self._threads = {t for t in self._threads if t.is_alive()}
                    self._threads.add(thread)
                thread.start()

    def _handle(self, connection: ServerConnection) -> None:
        connection.recv_events_thread.name = threading.current_thread().name.replace("-conn[", "-recv[")
        path = connection.request.path.split("?", 1)[0]
        with self._lock:
            fn = self._routes.get(path)
            if fn is None or self._stop.is_set():
                return
            self._connections.add(connection)
        try:
            fn(connection)
        except Exception:
            log.exception("The handler of a websocket to %s failed", path)
        finally:
            with self._lock:
                self._connections.discard(connection)

    @property
    def connections(self) -> int:
        """How many websockets are open now."""
        with self._lock:
            return len(self._connections)

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening, close every connection, and wait for the threads."""
        self._stop.set()
        self._server.socket_closed.set()          # a handshake still under way is refused
        for sock in (self._sock, getattr(self._server, "shutdown_watcher", None),
                     getattr(self._server, "shutdown_notifier", None)):
            try:
                if sock is not None:
                    sock.close()
            except OSError:
                pass
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for connection in connections:
            try:
                connection.close(1001, "The program closed")
            except Exception:   # best effort: a socket that is already gone
                log.debug("Closing a websocket failed", exc_info=True)
        me = threading.current_thread()
        for thread in [self._accept_thread, *threads]:
            if thread is not me and thread.is_alive():
                thread.join(timeout)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._stop.is_set()

    def __repr__(self) -> str:
        return f"<Listener {self.host}:{self.port} {'closed' if self.closed else f'{self.connections} open'}>"


_shared: dict[tuple[str, int], list] = {}      # (host, port) -> [listener, users]
_shared_lock = threading.Lock()


def acquire(port: int = DEFAULT_PORT, host: str = "127.0.0.1", *, credentials: tuple[str, str] | None = None,
            name: str = "push") -> Listener:
    """The process's listener on host:port (made on first use): a PushClient and a PerCallServer share one.

    Port 0 makes a new listener on a free port each time (listener.port says which)."""
    with _shared_lock:
        entry = _shared.get((host, port)) if port else None
        if entry is not None and not entry[0].closed:
            if entry[0]._auth != (basic_auth(*credentials) if credentials else None):
                raise PushError(f"Port {port} is served already with other credentials; close that first")
            entry[1] += 1
            return entry[0]
        listener = Listener(port, host, credentials=credentials, name=name)
        _shared[(host, listener.port)] = [listener, 1]
        return listener


def release(listener: Listener) -> None:
    """One user less of a shared listener: the last one closes it."""
    with _shared_lock:
        entry = _shared.get((listener.host, listener.port))
        if entry is None or entry[0] is not listener:
            listener.close()
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _shared[(listener.host, listener.port)]
    listener.close()
