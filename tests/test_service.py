"""vk.App in-process against the lab: a handler per call, max_calls, the fallback, drain, resume, no thread left.

Every call goes through the lab's `service` context (docker/asterisk/extensions_service.conf) and is
watched from the caller's side (tests/service_helpers.py): a caller the App will not take hears the
fallback and ends with cause 34; a caller the handler hangs up ends with the handler's cause.
"""

from __future__ import annotations

import threading

import pytest

import vicifast_kit as vk
from client_helpers import eventually
from service_helpers import FALLBACK_CAUSE, app_name, callers  # noqa: F401  (fixtures)


@pytest.fixture
def make_app(app_name):
    """make_app(handler, **options): an App on the test's app name with that handler; stopped at the end."""
    made = []

    def make(handler, **options) -> vk.App:
        app = vk.App(app_name, **options)
        app.call(handler)
        made.append(app)
        return app

    yield make
    for app in made:
        app.stop(drain_timeout=0)


def key_then_hang_up(call):
    """Answer, wait for one key, hang up (cause 16); returns the key and whether the call was resumed."""
    call.answer()
    key = call.collect_digits(max_digits=1, timeout=30)
    call.hangup()
    return f"{key} {call.resumed}"


def test_each_call_runs_the_handler_on_its_own_thread_and_a_call_over_max_calls_reaches_the_fallback(
        make_app, callers):
    threads = {}

    def handler(call):
        threads[call.id] = threading.current_thread()
        return key_then_hang_up(call)

    app = make_app(handler, max_calls=2).start()
    first, second = callers.dial(), callers.dial()
    callers.answered(first)
    callers.answered(second)                              # both answered by the handler, at once
    assert app.calls_active == 2
    assert len({t.name for t in threads.values()}) == 2
    assert all(t.name.startswith(f"vicifast-app-call[{app.name}:") and t.daemon for t in threads.values())
    third = callers.dial()
    assert callers.cause(third) == FALLBACK_CAUSE         # the caller heard the fallback, not ringing forever
    assert len(threads) == 2                              # the handler never ran for it
    callers.press(first, "1")
    callers.press(second, "2")
    assert callers.cause(first) == 16 and callers.cause(second) == 16
    eventually(lambda: app.calls_active == 0, 10, "both handlers to end")
    assert app.counts == {"done": 2, "hung_up": 0, "error": 0, "busy": 1, "draining": 0, "left": 0}


def test_start_and_stop_in_a_notebook_leave_no_thread_and_no_call(make_app, callers, app_name):
    before = set(threading.enumerate())
    app = make_app(key_then_hang_up)
    assert app.start() is app and app.state == "serving" and app.health()["status"] == "ok"
    caller = callers.dial()
    callers.answered(caller)
    callers.press(caller, "5")
    assert callers.cause(caller) == 16
    eventually(lambda: app.counts["done"] == 1, 10, "the handler to end")
    summary = app.stop()
    assert summary.left == [] and summary.handled["done"] == 1
    assert app.state == "stopped" and app.ari is None and app.threads == []
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(vk.NotFound):                       # no websocket, no channel: the app is gone
        callers.ari.applications.get(application_name=app_name)
    app.start()                                            # and it starts again
    assert app.state == "serving"
    app.stop()


def test_a_handler_that_fails_sends_its_caller_to_the_fallback(make_app, callers):
    def handler(call):
        call.answer()
        raise ValueError("a bug in the flow")

    app = make_app(handler).start()
    caller = callers.dial()
    assert callers.cause(caller) == FALLBACK_CAUSE
    eventually(lambda: app.counts["error"] == 1, 10, "the error to be counted")


def test_a_caller_who_hangs_up_while_the_handler_runs_is_counted_as_hung_up(make_app, callers):
    def handler(call):
        call.answer()
        call.wait_for("ChannelHangupRequest", timeout=30)
        call.play(media="sound:hello-world")               # the call is gone: CallEnded

    app = make_app(handler).start()
    caller = callers.dial()
    callers.answered(caller)
    caller.hangup()
    eventually(lambda: app.counts["hung_up"] == 1, 10, "the handler to see the caller leave")
    assert app.counts["error"] == 0


def test_a_fallback_label_the_dialplan_lacks_still_ends_the_call_with_cause_34(make_app, callers):
    app = make_app(key_then_hang_up, max_calls=1, fallback="no-such-label").start()
    first = callers.dial()
    callers.answered(first)
    extra = callers.dial()
    assert callers.cause(extra) == FALLBACK_CAUSE          # hung up as congestion, not left ringing
    callers.press(first, "1")
    assert callers.cause(first) == 16
    assert app.counts["busy"] == 1


def test_stop_drains_the_call_in_progress_while_a_new_call_goes_to_the_fallback(make_app, callers):
    app = make_app(key_then_hang_up, drain_timeout=30).start()
    busy = callers.dial()
    callers.answered(busy)
    result = {}
    stopper = threading.Thread(target=lambda: result.setdefault("summary", app.stop()), name="test-stopper",
                               daemon=True)
    stopper.start()
    eventually(lambda: app.state == "draining", 5, "the App to drain")
    assert app.health()["status"] == "draining"
    newcomer = callers.dial()
    assert callers.cause(newcomer) == FALLBACK_CAUSE      # no new call while draining
    assert callers.still_up(busy)                          # the call in progress goes on
    callers.press(busy, "7")
    assert callers.cause(busy) == 16                       # its handler finished it
    stopper.join(15)
    summary = result["summary"]
    assert summary.left == [] and summary.handled["done"] == 1 and summary.handled["draining"] == 1
    assert "left none" in str(summary)


def test_a_call_left_by_a_stop_is_resumed_by_the_next_start(make_app, callers):
    seen = []

    def handler(call):
        seen.append((call.id, call.resumed, call.args, call.number))
        if not call.resumed:
            call.answer()
        key = call.collect_digits(max_digits=1, timeout=30)
        call.hangup(reason="busy" if call.resumed else "normal")     # the caller tells which handler ended it
        return key

    first = make_app(handler, drain_timeout=0.2).start()
    caller = callers.dial()
    callers.answered(caller)
    summary = first.stop()
    call_id = seen[0][0]
    assert [left.id for left in summary.left] == [call_id]
    assert "left in app" in summary.left[0].how and call_id in str(summary)
    assert summary.handled["left"] == 1 and callers.still_up(caller)     # parked in the app, not hung up
    second = make_app(handler).start()
    eventually(lambda: len(seen) == 2, 10, "the parked call to reach the new instance's handler")
    assert seen == [(call_id, False, ["service", "5551234"], "5551234"), (call_id, True, ["service", "5551234"], "5551234")]
    callers.press(caller, "3")
    assert callers.cause(caller) == 17                      # busy: the resumed handler ended it
    eventually(lambda: second.counts["done"] == 1, 10, "the resumed handler to end")


def test_left_calls_fallback_sends_a_call_still_in_progress_to_the_fallback(make_app, callers):
    app = make_app(key_then_hang_up, drain_timeout=0, left_calls="fallback").start()
    caller = callers.dial()
    callers.answered(caller)
    summary = app.stop()
    assert len(summary.left) == 1 and summary.left[0].how == "handed back to the dialplan's fallback"
    assert callers.cause(caller) == FALLBACK_CAUSE


# --- the example shipped with the kit: notebook 07's IVR as a service ------------------------------------
@pytest.fixture
def example_ivr(app_name, monkeypatch):
    """vicifast_kit/examples/ivr.py's App on the test's own app name (the lab is shared; its queue follows); its results."""
    from vicifast_kit.examples import ivr
    monkeypatch.setattr(ivr.app, "name", app_name)
    results = {}
    remove = ivr.app.observe(lambda kind, fields: results.setdefault(fields["call"], []).append(fields.get("result"))
                             if kind == "call_ended" else None)
    yield ivr, results
    remove()
    ivr.app.stop(drain_timeout=0)
    with vk.connect(app=app_name + "-cleanup") as ari:
        try:
            ari.bridges.destroy(bridge_id=ivr.queue_id())
        except vk.NotFound:
            pass


def test_the_example_ivr_routes_like_notebook_07_and_a_resumed_caller_keeps_its_place_in_the_queue(
        example_ivr, callers):
    ivr, results = example_ivr
    app = ivr.app.start()
    ari = app.ari
    sales = callers.dial(caller_number="5552001")
    callers.answered(sales)
    callers.press(sales, "1")
    operator = callers.dial(caller_number="5552002")
    callers.answered(operator)
    callers.press(operator, "0")
    vip = callers.dial(caller_number="5550007")              # skips the menu
    eventually(lambda: sum(len(r) for r in results.values()) == 3, 30, "the three calls to be routed")
    assert sorted(r[0] for r in results.values()) == ["operator", "sales", "sales (VIP)"]
    queue = ari.bridges.get(bridge_id=ivr.queue_id())
    assert queue.id == f"{app.name}-operator-queue"
    (waiting,) = queue.channels
    assert results[waiting] == ["operator"]
    app.stop()                                                # the caller in the queue stays: the queue too
    assert callers.still_up(operator) and callers.still_up(vip) and callers.still_up(sales)
    app.start()                                               # a new start takes the waiting caller over
    eventually(lambda: len(results[waiting]) == 2, 15, "the waiting caller to be resumed")
    assert results[waiting][1] == "operator (resumed, still waiting)"
    assert ivr.app.ari.bridges.get(bridge_id=ivr.queue_id()).channels == [waiting]


def test_after_the_websocket_comes_back_a_call_in_progress_is_not_handed_to_a_second_handler(make_app, callers):
    seen = []

    def handler(call):
        seen.append(call.resumed)
        return key_then_hang_up(call)

    app = make_app(handler).start()
    scans = []
    app.observe(lambda kind, fields: scans.append(fields["channels"]) if kind == "resume_scan" else None)
    caller = callers.dial()
    callers.answered(caller)
    app.ari.event_source.drop()                               # as a network failure would
    app.ari.wait_for("WebSocketReconnected", timeout=15)
    eventually(lambda: scans, 10, "the App to look for calls in its app again")
    assert scans == [1] and app.health()["status"] == "ok"    # it saw the call there, and knew it
    callers.press(caller, "2")                                # its events reach the handler again
    assert callers.cause(caller) == 16
    eventually(lambda: app.counts["done"] == 1, 10, "the handler to end")
    assert seen == [False]                                    # the rescan after the reconnect found it taken


def test_an_on_start_hook_that_fails_stops_the_start_and_leaves_no_thread(make_app):
    before = set(threading.enumerate())
    app = make_app(key_then_hang_up)

    @app.on_start
    def broken(ari):
        raise RuntimeError("no queue today")

    with pytest.raises(RuntimeError, match="no queue today"):
        app.start()
    assert app.state == "stopped" and app.ari is None and app.threads == []
    assert set(threading.enumerate()) - before == set()
