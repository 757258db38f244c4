"""The widgets' model: channels and bridges folded from events written here (no lab, no widget on a page)."""

from __future__ import annotations

import pytest

from vicifast_kit.events import EventHub
from vicifast_kit.handles import Context, Record
from vicifast_kit.widgets.model import LiveModel, describe, hangup_cause


class _Lists:
    def __init__(self, rows):
        self.rows = rows

    def list(self):
        return [Record(r) for r in self.rows]


class _Client:
    """What LiveModel uses of a client: on(), on_request(), apps, and the channel and bridge lists."""

    def __init__(self):
        self.apps = ["mine"]
        self.request_listeners = []
        self.channels, self.bridges = _Lists([]), _Lists([])
        self.hub = EventHub(Context(), "widget-model-test")
        self._handlers = []

    def on(self, event_type, fn):
        self._handlers.append(fn)

        class _Sub:
            def unsubscribe(_):
                self._handlers.remove(fn)
        return _Sub()

    def on_request(self, fn):
        self.request_listeners.append(fn)
        return lambda: self.request_listeners.remove(fn)

    def deliver(self, raw):        # as the dispatcher would: the hub's Event, to each handler
        ev = self.hub.put(raw)
        for fn in list(self._handlers):
            fn(ev)


@pytest.fixture
def client():
    c = _Client()
    yield c
    c.hub.close()


def _chan(ident, state="Ring", **extra):
    return {"id": ident, "name": f"PJSIP/{ident}", "state": state, "creationtime": "2026-01-01T10:00:00.000+0000",
            "caller": {"name": "Ada Adams", "number": "5550100"},
            "dialplan": {"context": "inbound", "exten": "s", "app_name": "Stasis", "app_data": "mine,inbound"}, **extra}


def test_a_call_is_folded_from_its_events_and_leaves_its_last_row(client):
    model = LiveModel(client, poll=None)
    changes = []
    model.listen(lambda: changes.append(model.version))
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c1")})
    row = model.channel("c1")
    assert row["in_app"] and row["app"] == "mine" and row["caller"] == "Ada Adams <5550100>" and row["state"] == "Ring"
    client.deliver({"type": "ChannelStateChange", "channel": _chan("c1", "Up")})
    client.deliver({"type": "BridgeCreated", "bridge": {"id": "b1", "bridge_type": "mixing", "channels": []}})
    client.deliver({"type": "ChannelEnteredBridge", "channel": _chan("c1", "Up"),
                    "bridge": {"id": "b1", "bridge_type": "mixing", "channels": ["c1"]}})
    assert model.channel("c1")["state"] == "Up" and model.channel("c1")["bridge"] == "b1"
    assert model.bridges()[0]["channels"] == ["c1"] and model.bridges()[0]["type"] == "mixing"
    client.deliver({"type": "ChannelDtmfReceived", "channel": _chan("c1", "Up"), "digit": "5"})
    assert model.channel("c1")["last_event"] == "ChannelDtmfReceived: DTMF 5"
    client.deliver({"type": "ChannelHangupRequest", "channel": _chan("c1", "Up"), "cause": 16})
    client.deliver({"type": "StasisEnd", "channel": _chan("c1", "Up")})
    assert model.channel("c1") is None and model.channels() == []
    assert model.ended("c1")["cause"] == "16 (Normal Clearing)"
    assert changes == sorted(changes) and len(changes) == 7
    model.close()
    assert client._handlers == []


def test_a_poll_does_not_revive_a_channel_an_event_removed(client):
    model = LiveModel(client, poll=None)
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c2")})
    client.deliver({"type": "ChannelDestroyed", "channel": _chan("c2"), "cause": 17, "cause_txt": "User busy"})
    client.channels.rows = [_chan("c2"), _chan("c3")]        # a late list still has c2
    model.poll()
    assert [c["id"] for c in model.channels()] == ["c3"]
    assert model.ended("c2")["cause"] == "17 (User busy)"


def test_what_no_event_reports_is_taken_from_the_clients_requests(client):
    model = LiveModel(client, poll=None)
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c4")})
    [listener] = client.request_listeners
    listener("POST", "/channels/c4/hold", 204, 0.0, 0.01)
    listener("POST", "/channels/c4/moh", 204, 0.0, 0.01)
    listener("POST", "/channels/c4/mute", 500, 0.0, 0.01)      # failed: nothing changes
    row = model.channel("c4")
    assert row["held"] and row["moh"] and not row["muted"]
    listener("DELETE", "/channels/c4/hold", 204, 0.0, 0.01)
    assert not model.channel("c4")["held"]


def test_events_in_words():
    assert describe("ChannelStateChange", {"channel": {"state": "Up"}}) == "state Up"
    assert describe("ChannelHangupRequest", {"soft": True}).startswith("soft hangup")
    assert hangup_cause({"cause": 999, "cause_txt": "Odd"}) == "999 (Odd)"
    assert hangup_cause({"cause": 19}) == "19 (User alerting, no answer)"


# --- the scheduler: one thread per client runs every widget's updates --------------------------------

import logging  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from vicifast_kit.widgets.scheduler import Scheduler, scheduler_for  # noqa: E402


def _scheduler_thread(name: str) -> threading.Thread:
    [thread] = [t for t in threading.enumerate() if t.name == f"vicifast-widgets[{name}]"]
    return thread


def test_marks_are_batched_and_runs_spaced_by_the_rate():
    scheduler = Scheduler("offline-rate")
    runs: list[float] = []
    job = scheduler.job(lambda: runs.append(time.monotonic()), name="counter", rate=10.0)
    try:
        for _ in range(200):                   # a burst: one run covers it (or two, if the first had begun)
            job.mark()
        job.flush()
        assert 1 <= len(runs) <= 2 and job.cycles == len(runs)
        for _ in range(4):                     # marked again as soon as it ran: the rate holds the pace
            job.mark()
            job.flush()
        gaps = [b - a for a, b in zip(runs, runs[1:])]
        assert len(runs) >= 5 and min(gaps[-4:]) >= job.interval, gaps
    finally:
        scheduler.close()


def test_flush_returns_once_the_run_that_covers_the_marks_ended():
    scheduler = Scheduler("offline-flush")
    state = {"value": 0, "shown": None}
    job = scheduler.job(lambda: state.update(shown=state["value"]), name="shows value")
    try:
        for value in (1, 2, 3):
            state["value"] = value
            job.mark()
            job.flush()
            assert state["shown"] == value
        scheduler.flush()                      # nothing pending: at once
        on_its_thread = scheduler.call_soon(lambda: state.update(error=_flush_error(job)), name="flush inside")
        on_its_thread.flush()
        assert on_its_thread.closed and "would wait for itself" in state["error"]
    finally:
        scheduler.close()
    job.flush()                                # closed: nothing more will run, nothing to wait for


def _flush_error(job) -> str:
    try:
        job.flush()
    except RuntimeError as e:
        return str(e)
    return ""


def test_every_runs_until_false_tasks_run_once_in_time_order_and_a_failure_is_logged(caplog):
    scheduler = Scheduler("offline-every")
    order: list[str] = []
    count = {"n": 0}

    def three_times():
        count["n"] += 1
        return count["n"] < 3

    try:
        ticker = scheduler.every(0.01, three_times, name="three times")
        late = scheduler.call_later(0.05, lambda: order.append("late"), name="late")
        soon = scheduler.call_soon(lambda: order.append("soon"), name="soon")
        cancelled = scheduler.call_later(30, lambda: order.append("never"), name="cancelled")
        cancelled.close()
        with caplog.at_level(logging.ERROR, logger="vicifast_kit.widgets"):
            broken = scheduler.call_soon(lambda: 1 / 0, name="the broken widget")
            broken.flush()
        late.flush()
        soon.flush()
        while not ticker.closed:
            ticker.mark()
            ticker.flush()
        assert count["n"] == 3 and order == ["soon", "late"] and cancelled not in scheduler.jobs
        assert "the broken widget failed" in caplog.text and "ZeroDivisionError" in caplog.text
    finally:
        scheduler.close()


class _ClosingClient:
    """What scheduler_for uses of a client: its app name and on_close()."""

    def __init__(self, app):
        self.app = app
        self.closers = []

    def on_close(self, fn):
        self.closers.append(fn)
        return lambda: self.closers.remove(fn) if fn in self.closers else None

    def close(self):
        while self.closers:
            self.closers.pop()()


def test_one_thread_per_client_only_while_there_are_jobs_and_it_closes_with_the_client():
    client = _ClosingClient("offline-life")
    scheduler = scheduler_for(client)
    assert scheduler_for(client) is scheduler and not scheduler.alive
    first = scheduler.job(lambda: None, name="a", tick=0.05)
    thread = _scheduler_thread("offline-life")
    assert thread.daemon
    second = scheduler.job(lambda: None, name="b")
    assert _scheduler_thread("offline-life") is thread          # one thread for every job
    first.close()
    second.close()
    thread.join(2)
    assert not thread.is_alive() and not scheduler.alive         # no job left: no thread
    scheduler.job(lambda: None, name="c", tick=0.05)
    again = _scheduler_thread("offline-life")
    client.close()                                               # the client closes: the scheduler with it
    again.join(2)
    assert scheduler.closed and not again.is_alive() and client.closers == []
    assert scheduler_for(client) is not scheduler                # a new one for a client that still lives


# --- a widget on a real client of the stand-in server: events in, one batch out ------------------------

def test_a_burst_of_200_calls_costs_the_channels_table_a_few_updates(monkeypatch):
    import ipywidgets

    from fake_ari import FakeARI, QuietEvents, offline_client
    from vicifast_kit.widgets import ChannelsTable

    sent: list[str] = []
    original = ipywidgets.Widget._send
    monkeypatch.setattr(ipywidgets.Widget, "_send", lambda self, msg, buffers=None: (
        sent.append(self.model_id) if msg.get("method") == "update" else None, original(self, msg, buffers))[1])
    server, events = FakeARI(), QuietEvents()
    ari = offline_client(server, app="mine", event_source=events)
    table = ChannelsTable(ari, model=LiveModel(ari, poll=None))     # events only (no lists to poll here)
    try:
        table.flush()
        before = sent.count(table._html.model_id)
        for i in range(200):
            events.deliver({"type": "StasisStart", "application": "mine", "channel": _chan(f"c{i:03d}")})
        table.flush()                        # every event folded in, rendered and sent
        rows = table.snapshot()
        assert len(rows) == 200 and all(r["in_app"] for r in rows) and "PJSIP/c199" in table._html.value
        for i in range(200):
            events.deliver({"type": "StasisEnd", "application": "mine", "channel": _chan(f"c{i:03d}")})
            events.deliver({"type": "ChannelDestroyed", "channel": _chan(f"c{i:03d}"), "cause": 16})
        table.flush()
        assert table.snapshot() == [] and "No channels" in table._html.value
        updates = sent.count(table._html.model_id) - before
        assert 2 <= updates <= 6, updates     # 600 events, a handful of batches
    finally:
        table.close()
        table.model.close()
        ari.close()
        server.close()
    assert table.job.closed


def test_a_kernel_that_drops_background_updates_is_named(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.SimpleNamespace(__version__="7.0.1"))
    client = _ClosingClient("offline-old-kernel")
    with pytest.warns(RuntimeWarning, match="ipykernel 7.0.1 cannot show live widgets.*7.1 or later"):
        scheduler_for(client)
    client.close()
