"""The event hub on events written here: ordering, bounds, eviction, handlers, waits, ends (no lab)."""

from __future__ import annotations

import threading
import time

import pytest

import vicifast_kit as vk
from vicifast_kit.description import parse
from vicifast_kit.client import Surface
from vicifast_kit.events import EventHub
from vicifast_kit.handles import Context

from fake_ari import DESCRIPTION


def _context() -> Context:
    described = parse(DESCRIPTION)
    return Context(None, None, Surface(described).handles, described.models)


@pytest.fixture
def hub():
    h = EventHub(_context(), "offline-test", per_type=5, per_object=3, objects=4, dispatch_queue=10)
    yield h
    h.close()


def ev(kind: str, channel: str | None = None, **fields) -> dict:
    raw = {"type": kind, "application": "app", **fields}
    if channel is not None:
        raw["channel"] = {"id": channel, "name": f"PJSIP/{channel}", "state": "Up"}
    return raw


def test_client_wide_waits_return_the_oldest_match_across_types(hub):
    hub.put(ev("StasisStart", "a"))
    hub.put(ev("ChannelDtmfReceived", "a", digit="1"))
    hub.put(ev("StasisStart", "b"))
    assert hub.take(("StasisStart", "ChannelDtmfReceived"), timeout=0).raw["channel"]["id"] == "a"
    assert hub.take("*", timeout=0).type == "ChannelDtmfReceived"
    assert hub.take("StasisStart", timeout=0, where=lambda e: e.raw["channel"]["id"] == "b").seq == 3
    with pytest.raises(vk.WaitTimeout, match="No StasisStart within 0 s"):
        hub.take("StasisStart", timeout=0)


def test_per_object_waits_are_separate_from_client_wide_ones(hub):
    hub.put(ev("ChannelDtmfReceived", "a", digit="1"))
    hub.put(ev("ChannelDtmfReceived", "b", digit="2"))
    assert hub.take("ChannelDtmfReceived", timeout=0, key=("channel", "b")).raw["digit"] == "2"
    # taken on the object, still there client-wide (and the reverse): each wait reads its own queue
    assert [e.raw["digit"] for e in hub.pending("ChannelDtmfReceived")] == ["1", "2"]
    assert hub.take("ChannelDtmfReceived", timeout=0).raw["digit"] == "1"
    assert [e.raw["digit"] for e in hub.pending(key=("channel", "a"))] == ["1"]


def test_bounds_keep_the_newest_and_evict_the_least_recent_object(hub):
    for i in range(8):
        hub.put(ev("ChannelDtmfReceived", "a", digit=str(i)))
    assert [e.raw["digit"] for e in hub.pending("ChannelDtmfReceived")] == ["3", "4", "5", "6", "7"]   # per_type=5
    assert [e.raw["digit"] for e in hub.pending(key=("channel", "a"))] == ["5", "6", "7"]             # per_object=3
    for name in ("b", "c", "d"):
        hub.put(ev("StasisStart", name))
    hub.put(ev("StasisEnd", "a"))                       # "a" used again: now the most recent
    hub.put(ev("StasisStart", "e"))                     # a fifth object: the least recent ("b") goes
    assert hub.pending(key=("channel", "b")) == [] and hub.pending(key=("channel", "a"))
    assert hub.pending(key=("channel", "e"))


def test_events_name_their_objects_and_wrap_them_as_handles(hub):
    e = hub.put(ev("StasisStart", "a", args=["inbound", "5551"],
                   replace_channel={"id": "old", "name": "PJSIP/old"}))
    assert sorted(e.keys) == [("channel", "a"), ("channel", "old")]
    assert isinstance(e.channel, vk.Channel) and e.channel.name == "PJSIP/a" and e.args == ["inbound", "5551"]
    p = hub.put({"type": "PlaybackStarted", "playback": {"id": "p1", "target_uri": "bridge:b1", "state": "playing"}})
    assert p.keys == [("playback", "p1"), ("bridge", "b1")] and isinstance(p.playback, vk.Playback)
    d = hub.put({"type": "DeviceStateChanged", "device_state": {"name": "Stasis:x", "state": "BUSY"}})
    assert d.keys == [("device_state", "Stasis:x")]     # a field the description does not list: the registry's
    with pytest.raises(AttributeError, match="StasisStart event has no field 'digit'"):
        e.digit
    assert e.get("digit", "none") == "none"


def test_handlers_run_on_the_dispatcher_in_order_and_per_object_ones_end_with_the_object(hub):
    seen, mine = [], []
    done = threading.Event()
    hub.subscribe(None, lambda e: seen.append(e.seq))
    hub.subscribe("ChannelDtmfReceived", lambda e: mine.append(e.raw["digit"]), key=("channel", "a"))
    hub.subscribe("Marker", lambda e: done.set())
    for d in "123":
        hub.put(ev("ChannelDtmfReceived", "a", digit=d))
    hub.put(ev("ChannelDestroyed", "a"))
    hub.put(ev("ChannelDtmfReceived", "a", digit="9"))       # after its end: the object's handlers are gone
    hub.put({"type": "Marker"})
    assert done.wait(5)
    assert mine == ["1", "2", "3"] and seen == sorted(seen) and len(seen) == 6
    assert ("channel", "a") not in hub._handlers


def test_a_slow_handler_never_holds_up_a_wait_and_an_overflow_is_counted(hub):
    release = threading.Event()
    hub.subscribe(None, lambda e: release.wait(5))
    for i in range(30):                                   # the dispatch queue holds 10
        hub.put(ev("ChannelDtmfReceived", "a", digit=str(i % 10)))
    started = time.monotonic()
    assert hub.take("ChannelDtmfReceived", timeout=1) is not None and time.monotonic() - started < 0.5
    assert hub.dropped >= 19 and hub.received == 30
    release.set()


def test_a_handler_that_fails_is_logged_and_the_stream_goes_on(hub, caplog):
    got = threading.Event()
    hub.subscribe("A", lambda e: 1 / 0)
    hub.subscribe("B", lambda e: got.set())
    hub.put({"type": "A"})
    hub.put({"type": "B"})
    assert got.wait(5) and "failed on A" in caplog.text


def test_a_wait_wakes_when_its_event_comes_from_another_thread(hub):
    threading.Timer(0.2, hub.put, (ev("StasisStart", "late"),)).start()
    started = time.monotonic()
    assert hub.take("StasisStart", timeout=5).raw["channel"]["id"] == "late"
    assert time.monotonic() - started < 2


def test_collect_digits_stops_at_the_terminator_or_the_end_of_the_call(hub):
    ch = vk.Channel(None, "a")
    for d in "42#":                                      # (the hub keeps 3 events per object here)
        hub.put(ev("ChannelDtmfReceived", "a", digit=d))
    assert hub.collect_digits(ch, None, "#", 1, 1) == "42"
    hub.put(ev("ChannelDtmfReceived", "a", digit="9"))
    hub.put(ev("StasisEnd", "a"))
    assert hub.collect_digits(ch, None, "#", 5, 1) == "9"       # the buffered digit, then the call's end


def test_fail_returns_what_is_buffered_then_raises_at_once(hub):
    hub.put(ev("StasisStart", "a"))
    hub.fail(vk.Disconnected("gone for good"))
    assert hub.take("StasisStart", timeout=0).raw["channel"]["id"] == "a"
    started = time.monotonic()
    with pytest.raises(vk.Disconnected, match="gone for good"):
        hub.take("StasisStart", timeout=30)
    assert time.monotonic() - started < 0.5


def test_close_wakes_waiters_with_client_closed(hub):
    errors = []

    def wait():
        try:
            hub.take("StasisStart", timeout=30)
        except vk.ClientClosed as e:
            errors.append(e)

    t = threading.Thread(target=wait, name="test-waiter")
    t.start()
    time.sleep(0.1)                 # let the waiter start waiting (closing first would be another test)
    hub.close()
    t.join(5)
    assert len(errors) == 1 and not hub._thread.is_alive()


def test_what_entered_the_app_and_which_calls_ended_are_noted(hub):
    hub.put(ev("StasisStart", "in-app"))
    hub.put(ev("ChannelHangupRequest", "in-app", cause=17))
    hub.put(ev("ChannelDestroyed", "in-app", cause=16))
    assert hub.ownership.owns("channel", "in-app") and hub.ended("in-app") == (True, 16)
    hub.put(ev("StasisEnd", "left"))
    assert hub.ended("left") == (True, None) and hub.ended("unknown") == (False, None)
    hub.put(ev("ChannelHangupRequest", "soft", soft=True, cause=32))       # asked by ARI: no cause yet
    assert hub.ended("soft") == (True, None)
