"""Events: queue-like waits, handlers on the dispatcher thread, digits, user events, subscriptions."""

from __future__ import annotations

import logging
import threading
import time

import pytest

import vicifast_kit as vk

from client_helpers import ari, eventually, lab, wait_until  # noqa: F401  (fixtures)


def test_event_objects_and_queue_like_waits(lab):
    ari = lab.ari
    caller, ch = lab.call("12", delay=0.2)
    # Both digits arrive before anyone waits (while "the user reads the previous cell"): they are kept.
    eventually(lambda: len(ari.pending_events("ChannelDtmfReceived")) == 2, timeout=10, what="both digits buffered")
    first = ch.wait_for("ChannelDtmfReceived", timeout=5)
    second = ch.wait_for("ChannelDtmfReceived", timeout=5)
    assert (first.digit, second.digit) == ("1", "2") and first.seq < second.seq
    assert isinstance(first, vk.Event) and first.type == "ChannelDtmfReceived"
    assert first.timestamp.year >= 2024 and first.raw["digit"] == "1"
    assert isinstance(first.channel, vk.Channel) and first.channel == ch
    # The client-wide queue is separate from the channel's: it still has both digits, in order.
    assert [ari.wait_for("ChannelDtmfReceived", timeout=5).digit for _ in range(2)] == ["1", "2"]
    with pytest.raises(vk.WaitTimeout):
        ch.wait_for("ChannelDtmfReceived", timeout=0.3)
    # where= picks a later event and leaves the earlier ones queued.
    ev = ch.wait_for(("ChannelStateChange", "StasisStart"), timeout=5, where=lambda e: e.type == "ChannelStateChange")
    assert ev.channel.state == "Up"
    assert ch.wait_for(("ChannelStateChange", "StasisStart"), timeout=5).type == "StasisStart"


def test_events_that_beat_the_reply_count_and_reach_both_objects(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=6)
    br = ari.bridges.create(type="mixing")
    pb = ch.play(media="sound:beep")
    assert pb.wait_for("PlaybackStarted", timeout=5).playback == pb      # may arrive before the reply
    assert pb.wait_for("PlaybackFinished", timeout=10).playback.state == "done"
    assert ch.wait_for("PlaybackFinished", timeout=1).playback == pb     # about the target too
    br.add_channel(channel=ch)
    ev = br.wait_for("ChannelEnteredBridge", timeout=5)
    assert ev.channel == ch and ev.bridge == br
    assert ch.wait_for("ChannelEnteredBridge", timeout=1).seq == ev.seq
    br.destroy()


def test_handlers_run_on_the_dispatcher_and_survive_failures(lab, caplog):
    ari = lab.ari
    caplog.set_level(logging.WARNING, logger="vicifast_kit")
    ari.context.events.slow_handler = 0.2          # seconds a handler may take before the kit warns (1 s by default)
    seen, threads = [], set()

    def bad(ev):
        raise RuntimeError("handler bug")

    def slow(ev):
        time.sleep(0.3)             # a handler slow on purpose (over slow_handler, below): the kit says it took long

    def good(ev):
        seen.append(ev.type)
        threads.add(threading.current_thread().name)

    ari.on("StasisStart", bad)
    slow_sub = ari.on("StasisStart", slow)
    sub = ari.on(["StasisStart", "ChannelDtmfReceived"], good)
    caller, ch = lab.call("5", delay=0.2)
    assert ch.wait_for("ChannelDtmfReceived", timeout=5).digit == "5"      # the stream never stopped
    wait_until(lambda: "ChannelDtmfReceived" in seen, timeout=5)
    assert seen[0] == "StasisStart" and all(n.startswith("vicifast-ari-dispatch") for n in threads)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "handler bug" in caplog.text or "failed" in messages
    assert "took" in messages
    sub.unsubscribe()
    slow_sub()
    n = len(seen)
    lab.call(answer=False)          # another StasisStart: no more calls to good() after unsubscribing
    ari.flush()                     # every event so far has been through the dispatcher
    assert len(seen) == n and not sub.active


def test_object_handlers_are_dropped_when_the_object_is_destroyed(ari):
    br = ari.bridges.create(type="mixing")
    ari.applications.subscribe(ari.app, event_source=f"bridge:{br.id}")   # an empty bridge sends nothing else
    got = []
    br.on("BridgeDestroyed", got.append)
    ari.on("BridgeCreated", lambda ev: None)
    br.destroy()
    wait_until(lambda: got, timeout=5)
    assert got[0].bridge == br
    wait_until(lambda: not ari.context.events.subscriptions(br.key), timeout=2)


def test_collect_digits_terminator_and_max_digits(lab):
    caller, ch = lab.call("42#7", delay=0.2)
    assert ch.collect_digits(max_digits=4, terminator="#", timeout=8) == "42"
    assert ch.collect_digits(max_digits=1, timeout=5) == "7"


def test_collect_digits_counts_buffered_digits_and_max(lab):
    caller, ch = lab.call("1234", delay=0.1)
    wait_until(lambda: len([e for e in ch.events() if e.type == "ChannelDtmfReceived"]) == 4, timeout=8)
    assert ch.collect_digits(max_digits=2, terminator=None, timeout=1) == "12"
    assert ch.collect_digits(max_digits=5, terminator="#", timeout=1, inter_digit_timeout=0.3) == "34"


def test_collect_digits_timeouts(lab):
    caller, ch = lab.call("", duration=6)
    t = time.monotonic()
    assert ch.collect_digits(timeout=0.5) == ""
    assert time.monotonic() - t >= 0.5                       # it waited its timeout
    ch.send_dtmf(dtmf="9")        # to the caller: the app's side does not hear it
    # A sent DTMF goes the other way; the inter-digit timeout ends a collection after the last digit,
    # long before the overall timeout (60 s).
    caller2, ch2 = lab.call("98", delay=0.2, number="5551001")
    t = time.monotonic()
    assert ch2.collect_digits(timeout=60, inter_digit_timeout=0.6) == "98"
    assert time.monotonic() - t < 30


def test_collect_digits_ends_when_the_caller_hangs_up(lab):
    caller, ch = lab.call("3", delay=0.2, duration=2)
    t = time.monotonic()
    assert ch.collect_digits(timeout=60, inter_digit_timeout=60) == "3"
    assert time.monotonic() - t < 30                          # the hang-up (after 2 s) ended it, not a timeout


def test_send_dtmf_reaches_the_other_side(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=8)
    ari.applications.subscribe(ari.app, event_source=[f"channel:{caller.id}"])
    ch.send_dtmf(dtmf="73", between=100)
    digits = [caller.wait_for("ChannelDtmfReceived", timeout=5).digit for _ in range(2)]
    assert digits == ["7", "3"]
    ari.applications.unsubscribe(ari.app, event_source=f"channel:{caller.id}")


def test_user_events(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=6)
    ari.events.user_event("Hello", application=ari.app, source=[f"channel:{ch.id}"], variables={"who": "kit"})
    ev = ch.wait_for("ChannelUserevent", timeout=5)
    assert ev.eventname == "Hello" and ev.userevent.who == "kit"


def test_applications_subscribe(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=6)
    app = ari.applications.subscribe(ari.app, event_source=f"channel:{caller.id}")
    assert isinstance(app, vk.Application) and caller.id in app.channel_ids
    assert ari.app in [a.name for a in ari.applications.list()]
    caller.hangup()
    assert caller.wait_for("ChannelDestroyed", timeout=5).channel == caller
    assert ch.wait_for("StasisEnd", timeout=5)
    got = ari.applications.get(ari.app)
    assert caller.id not in got.channel_ids
    app = got.filter(filter={"allowed": [{"type": "StasisStart"}, {"type": "StasisEnd"}]})
    assert [f["type"] for f in app.events_allowed] == ["StasisStart", "StasisEnd"]
    got.filter(filter={"allowed": [], "disallowed": []})


@pytest.mark.parametrize("subscribe_all", [True, False], ids=["subscribe_all", "one_device"])
def test_close_drops_device_state_subscriptions_before_the_websocket(lab, subscribe_all):
    """asterisk/asterisk#2170: a websocket closing while a device state event is delivered can deadlock ARI; the
    kit unsubscribes its apps from device states over REST first, so the teardown has none left to wait for."""
    client = vk.connect(app=f"kit-devstates-{subscribe_all}", subscribe_all=subscribe_all)
    try:
        if not subscribe_all:
            client.applications.subscribe(client.app, event_source="deviceState:PJSIP/6002")
        watcher = lab.ari
        before = watcher.applications.get(client.app).device_names
        assert before == (["__AST_DEVICE_STATE_ALL_TOPIC"] if subscribe_all else ["PJSIP/6002"])
        with client.wire() as w:
            client.close()
        deletes = [r for r in w.requests if r["method"] == "DELETE"]
        assert [r["params"]["eventSource"] for r in deletes] == (["deviceState:"] if subscribe_all
                                                                 else ["deviceState:PJSIP/6002"])
        assert all(r["status"] == 200 for r in deletes)
        eventually(lambda: client.app not in [a.name for a in watcher.applications.list()], timeout=5)
    finally:
        client.close()


def test_close_of_a_plain_client_sends_nothing(lab):
    client = vk.connect(app="kit-devstates-none")
    with client.wire() as w:
        client.close()
    assert w.requests == []
