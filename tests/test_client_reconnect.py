"""Reconnect: Asterisk restarts mid-session; the client notices, reconnects, and the app works again."""

from __future__ import annotations

import logging
import time

import pytest

import vicifast_kit as vk
from vicifast_kit import lab as vklab
from vicifast_kit.lab.simulate import simulate_caller

from client_helpers import cleanup, unique_app


@pytest.mark.timeout(240)
@pytest.mark.restarts_lab
def test_reconnect_after_the_lab_restarts(caplog):
    caplog.set_level(logging.INFO, logger="vicifast_kit")
    states = []
    with vk.connect(app=unique_app("rc")) as ari:
        try:
            ari.on(["WebSocketDisconnected", "WebSocketReconnected"], lambda ev: states.append(ev.type))
            assert ari.connected
            vklab.restart(progress=lambda *a, **k: None)
            # The drop was seen, the client came back by itself and told the user.
            ari.wait_connected(timeout=60)
            assert ari.connected
            assert ari.wait_for("WebSocketDisconnected", timeout=5).local
            assert ari.wait_for("WebSocketReconnected", timeout=5).local
            messages = " ".join(r.getMessage() for r in caplog.records)
            assert "lost" in messages and "reconnected" in messages
            ari.flush()                      # the handler runs on the dispatcher: it has seen both now
            assert states[:2] == ["WebSocketDisconnected", "WebSocketReconnected"]
            # The app is registered again: a call reaches it and can be answered and collected.
            assert ari.app in [a.name for a in ari.applications.list()]
            simulate_caller(ari, "5#", delay=0.3, duration=6)
            ch = ari.wait_for("StasisStart", timeout=10).channel
            ch.answer()
            assert ch.collect_digits(timeout=8) == "5"
            ch.hangup()
        finally:
            cleanup(ari)


@pytest.mark.timeout(240)
@pytest.mark.restarts_lab
def test_a_simulated_caller_placed_right_after_a_restart_reaches_the_app():
    """simulate_caller waits for the client's app to be registered again instead of calling into no app."""
    with vk.connect(app=unique_app("rc2")) as ari:
        try:
            vklab.restart(progress=lambda *a, **k: None)
            simulate_caller(ari, "7#", delay=0.3, duration=6)     # at once: no wait_connected() first
            ch = ari.wait_for("StasisStart", timeout=10).channel
            ch.answer()
            assert ch.collect_digits(timeout=8) == "7"
            ch.hangup()
        finally:
            cleanup(ari)


def _drop(ari: vk.ARIClient) -> None:
    """Cut the client's event websocket as a network failure would (the TCP connection goes down)."""
    ari.event_source.drop()


def test_a_client_that_does_not_reconnect_says_it_is_disconnected(monkeypatch):
    import threading
    crashes = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_type))
    with vk.connect(app=unique_app("norc"), reconnect=False) as ari:
        reader = ari.event_source.reader
        assert ari.state == "connected"
        _drop(ari)
        assert ari.wait_for("WebSocketDisconnected", timeout=5).local        # the local event
        reader.join(5)
        assert not reader.is_alive() and crashes == []                       # the thread ended cleanly
        assert ari.state == "disconnected" and not ari.connected and "disconnected" in repr(ari)
        started = time.monotonic()
        with pytest.raises(vk.Disconnected, match="reconnect=False") as err:
            ari.wait_for("StasisStart", timeout=120)                         # at once, not after its timeout
        assert time.monotonic() - started < 60 and isinstance(err.value, (vk.Error, ConnectionError))
        with pytest.raises(vk.Disconnected):
            ari.wait_connected(timeout=30)
        assert ari.asterisk.ping().ping == "pong"                            # requests still work
    assert ari.state == "closed"


def test_a_wait_in_progress_learns_of_the_drop():
    import threading
    with vk.connect(app=unique_app("norc2"), reconnect=False) as ari:
        threading.Timer(0.3, _drop, (ari,)).start()
        started = time.monotonic()
        with pytest.raises(vk.Disconnected):
            ari.wait_for("StasisStart", timeout=120)
        assert time.monotonic() - started < 60                               # the drop ended it, not the timeout


def test_a_reconnecting_client_comes_back_after_a_drop():
    with vk.connect(app=unique_app("rc3")) as ari:
        _drop(ari)
        assert ari.wait_for("WebSocketDisconnected", timeout=5).local
        ari.wait_connected(timeout=10)
        assert ari.wait_for("WebSocketReconnected", timeout=5).local and ari.state == "connected"
