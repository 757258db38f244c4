"""The event websocket's reader against a small websocket server written here: drops, reconnects, giving up."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.sync.server import serve

from vicifast_kit.event_websocket import EventWebSocket

from client_helpers import eventually


class _Server:
    """Accepts websockets on a random port; each connection gets `messages`, then is closed."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages
        self.connections = 0
        self.active = 0
        self.server = serve(self._handle, "127.0.0.1", 0, close_timeout=0.2)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-ws-server", daemon=True)
        self.thread.start()

    def _handle(self, connection) -> None:
        self.connections += 1
        self.active += 1
        try:
            for message in self.messages:
                connection.send(json.dumps(message))
            time.sleep(0.2)         # a server that keeps the connection a moment, then drops it (the drop is the test)
            connection.close()
        finally:
            self.active -= 1

    def close(self) -> None:
        """Stop, and wait until every connection is closed (no socket closes later, in another test)."""
        self.server.shutdown()
        self.thread.join(5)
        eventually(lambda: not self.active, 5, "the stand-in server's connections to close")
        import gc
        gc.collect()                  # the server's selector and wake-up socket go now, not in a later test


@pytest.fixture
def server():
    s = _Server([{"type": "StasisStart", "n": 1}])
    yield s
    s.close()


def _stream(server, reconnect, events, states):
    source = EventWebSocket(f"ws://127.0.0.1:{server.port}/ari/events?app=t", "Basic eDp5", "offline-test",
                            backoff=(0.05, 0.1), reconnect=reconnect)
    source.start_args = (events.append, states.append)
    return source


def test_without_reconnect_a_drop_ends_the_reader_cleanly(server, monkeypatch):
    crashes = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_type))
    events, states = [], []
    stream = _stream(server, False, events, states)
    stream.start(*stream.start_args)
    stream._thread.join(5)
    assert not stream._thread.is_alive() and crashes == []        # was OverflowError on Event.wait(inf)
    assert events == [{"type": "StasisStart", "n": 1}] and states == [False]
    assert stream.state == "disconnected" and not stream.connected and server.connections == 1
    stream.close()


def test_with_reconnect_a_drop_is_followed_by_a_new_connection(server):
    events, states = [], []
    stream = _stream(server, True, events, states)
    stream.start(*stream.start_args)
    eventually(lambda: states[:2] == [False, True], 5, "a drop, then a new connection")
    assert states[:2] == [False, True] and stream.state == "connected" and stream.reconnects >= 1
    stream.close()
    assert not stream._thread.is_alive() and len(events) >= 2
