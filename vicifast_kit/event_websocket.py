"""ARI's /events websocket as the client's EventSource: one reader thread that only reads and hands on.

The reader reconnects with backoff when the websocket drops (or, made with ``reconnect=False``,
ends for good). See vicifast_kit.contracts for the EventSource contract.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from typing import Callable, Iterable
from urllib.parse import urlencode

import websocket

from .errors import Error, LabUnreachable, error_for

log = logging.getLogger("vicifast_kit.client")


def _nowhere(*_args: object) -> None:
    """Where events go before start()."""


def events_url(base_url: str, apps: Iterable[str], subscribe_all: bool = False) -> str:
    """The ws:// address of ARI's events websocket for these apps (no credentials in it: it can be shown)."""
    query = urlencode({"app": ",".join(apps), "subscribeAll": "true" if subscribe_all else "false"})
    return re.sub(r"^http", "ws", base_url.rstrip("/")) + "/ari/events?" + query


class EventWebSocket:
    """ARI's /events websocket for a set of apps: ``deliver(dict)`` gets every message, in order.

    The URL carries no credentials (they go in the handshake's Authorization header), so it can
    be logged. When the websocket drops, ``on_state(False)`` is called; the source reconnects with
    backoff and calls ``on_state(True)``, or, made with ``reconnect=False``, its state becomes
    "disconnected" before that call and its thread ends.
    """

    def __init__(self, ws_url: str, authorization: str, name: str, *, connect_timeout: float = 5.0,
                 backoff: tuple[float, float] = (0.25, 5.0), idle_ping: float = 20.0,
                 reconnect: bool = True, unreachable: str = "") -> None:
        self.url = ws_url
        self._unreachable = unreachable
        #: What Unauthorized says when the websocket refuses the credentials (set by the client).
        self.refused_hint = ""
        self._header = [authorization if authorization.startswith("Authorization:")
                        else "Authorization: " + authorization]
        self._on_event: Callable[[dict], object] = _nowhere
        self._on_state: Callable[[bool], object] = _nowhere
        self._connect_timeout = connect_timeout
        self._backoff = backoff
        self._idle_ping = idle_ping
        self._stop = threading.Event()
        self._ws: websocket.WebSocket | None = None
        self._lock = threading.Lock()
        self.connected = False
        self.reconnects = 0
        self.reconnect = reconnect
        #: True once the websocket dropped for good (a stream made with reconnect=False).
        self.gave_up = False
        self._thread = threading.Thread(target=self._run, name=f"vicifast-ari-reader[{name}]", daemon=True)

    def _open(self) -> websocket.WebSocket:
        try:
            # skip_utf8_validation: websocket-client checks text frames byte by byte in Python (about
            # 90 us for a 600-byte event, most of the reader's time); recv() still decodes them
            # strictly as UTF-8, so a bad frame still fails (and the stream reconnects).
            ws = websocket.create_connection(self.url, header=self._header, timeout=self._connect_timeout,
                                             enable_multithread=True, skip_utf8_validation=True)
        except websocket.WebSocketBadStatusException as e:
            raise error_for(e.status_code, "The event websocket was refused", "GET", "/events",
                            self.refused_hint if e.status_code == 401 else "") from None
        except (OSError, websocket.WebSocketException) as e:
            raise LabUnreachable(self.url.split("/ari/")[0].replace("ws", "http", 1),
                                 f"event websocket: {type(e).__name__}", self._unreachable) from None
        ws.settimeout(self._idle_ping)
        return ws

    @property
    def state(self) -> str:
        """"connected", "reconnecting" (it dropped and comes back) or "disconnected" (for good)."""
        if self.connected:
            return "connected"
        return "disconnected" if self.gave_up else "reconnecting"

    @property
    def reader(self) -> threading.Thread:
        """The reader thread (alive from start() until close(), or a drop that is not reconnected)."""
        return self._thread

    def drop(self) -> None:
        """Cut the websocket as a network failure would (the TCP connection goes down): for tests and demos."""
        with self._lock:
            ws = self._ws
        if ws is not None and ws.sock is not None:
            try:
                ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:     # already down
                pass

    def start(self, deliver: Callable[[dict], object], on_state: Callable[[bool], object]) -> None:
        """Open the websocket (errors raise here) and start the reader thread, which hands each event to deliver."""
        self._on_event, self._on_state = deliver, on_state
        self._ws = self._open()
        self.connected = True
        self._thread.start()

    def _run(self) -> None:
        ws = self._ws
        while not self._stop.is_set():
            if ws is None:
                ws = self._reconnect()
                if ws is None:
                    return
            try:
                msg = ws.recv()
            except websocket.WebSocketTimeoutException:
                try:
                    ws.ping()
                    continue
                except (websocket.WebSocketException, OSError):
                    msg = None      # the idle connection is dead: reconnect
            except (websocket.WebSocketException, OSError, ValueError) as e:   # dropped, or a frame that is not UTF-8
                log.debug("The event websocket failed: %s: %s", type(e).__name__, e)
                msg = None
            if msg is None or msg == "" and not ws.connected:
                if self._stop.is_set():
                    return
                self._lost(ws)
                if self.gave_up:
                    return
                ws = None
                continue
            if not msg:
                continue
            try:
                data = json.loads(msg)
            except ValueError:
                log.warning("Ignored a websocket message that is not JSON (%d bytes)", len(msg))
                continue
            try:
                self._on_event(data)
            except Exception:
                log.exception("Could not file an event of type %s", data.get("type"))

    def _lost(self, ws: websocket.WebSocket) -> None:
        self.connected = False
        try:
            ws.close(timeout=0.2)
        except Exception:       # best effort: the socket is already broken
            pass
        if self.reconnect:
            log.warning("ARI event websocket lost (%s); reconnecting with backoff", self.url)
        else:
            self.gave_up = True
            log.warning("ARI event websocket lost (%s); this client does not reconnect (reconnect=False)", self.url)
        self._on_state(False)

    def _reconnect(self) -> websocket.WebSocket | None:
        delay = self._backoff[0]
        while not self._stop.wait(delay):
            try:
                ws = self._open()
            except Error as e:
                log.debug("Reconnect failed (%s); next try in %.2f s", type(e).__name__, delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            with self._lock:
                if self._stop.is_set():
                    ws.close(timeout=0.2)
                    return None
                self._ws = ws
            self.connected = True
            self.reconnects += 1
            log.warning("ARI event websocket reconnected (%s); the app is registered again", self.url)
            self._on_state(True)
            return ws
        return None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the reader thread and close the websocket."""
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            try:
                if ws.sock is not None:
                    ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                ws.close(timeout=0.2)
            except Exception:   # best effort: closing a socket that is going away anyway
                pass
        self.connected = False
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
