"""Several instances of one app share the calls through Asterisk (StasisBroadcast claims), against the lab.

Callers dial `Local/NUMBER@service-shared/n` (docker/asterisk/extensions_service.conf): the call is offered
to every ARI app named APP-*; an instance claims it. The served file (SERVICE) answers, waits for one key,
and hangs up normally (cause 16) — or as busy (cause 17) when it took the call over from a dead instance —
so the callers' side tells who ended each call: 16 the first handler, 17 a takeover, 34 the fallback.
Everything is counted from the callers' side (their hang-up causes), and the instances' logs are checked
for no call started twice except a takeover of a killed instance's call.
"""

from __future__ import annotations

import collections
import signal
import time

import pytest

import vicifast_kit as vk
from client_helpers import eventually
from service_helpers import FALLBACK_CAUSE, Callers, app_name  # noqa: F401  (fixtures)
from test_serve import Served


SERVICE = '''
import os
import vicifast_kit as vk

app = vk.App(os.environ["SERVE_TEST_APP"], max_calls=int(os.environ.get("SERVE_TEST_MAX", "20")),
             drain_timeout=float(os.environ.get("SERVE_TEST_DRAIN", "30")), shared=True, takeover_after=2.0)


@app.call
def handle(call):
    if call.raw.get("state") != "Up":       # a call taken over may not have been answered yet
        call.answer()
    key = call.collect_digits(max_digits=1, timeout=90)
    call.hangup(reason="busy" if call.taken_over else "normal")
    return f"pressed {key}"
'''

#: What the callers' causes mean with SERVICE.
DONE, TAKEN_OVER = 16, 17


class SharedCallers(Callers):
    """Callers into the `service-shared` context (the call is broadcast to APP-*)."""

    context = "service-shared"


@pytest.fixture
def callers(app_name):
    helper = SharedCallers(app_name)
    yield helper
    helper.close()


@pytest.fixture
def service_file(tmp_path):
    path = tmp_path / "shared_service.py"
    path.write_text(SERVICE)
    return path


@pytest.fixture
def serve(service_file, app_name, monkeypatch):
    """serve(instance, *args, drain=30, max_calls=20): `vicifast-kit serve --instance` of SERVICE; killed at the end."""
    started = []

    def start(instance: str, *args: str, drain: float = 30, max_calls: int = 20) -> Served:
        monkeypatch.setenv("SERVE_TEST_MAX", str(max_calls))
        served = Served(service_file, app_name, "--instance", instance, *args, drain=drain)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def started_calls(*served: Served) -> list[tuple[str, str, str | None]]:
    """(call id, instance, taken over from) of every call_started line of these instances."""
    return [(ln["call"], ln["instance"], ln.get("taken_over")) for s in served for ln in list(s.lines)
            if ln["event"] == "call_started"]


def test_two_instances_share_calls_by_claims_and_a_full_one_leaves_them_to_the_other(serve, callers, app_name):
    a = serve("a", max_calls=2)
    b = serve("b", max_calls=20)
    assert (a.serving["ari_app"], b.serving["ari_app"]) == (f"{app_name}-a", f"{app_name}-b")
    calls = [callers.dial() for _ in range(6)]
    for caller in calls:
        callers.answered(caller)
    eventually(lambda: len(started_calls(a, b)) == 6, 15, "six calls started")
    by_instance = collections.Counter(instance for _, instance, _ in started_calls(a, b))
    assert by_instance["a"] <= 2 and by_instance["a"] + by_instance["b"] == 6       # a is full at 2: b takes the rest
    assert len({call for call, _, _ in started_calls(a, b)}) == 6                    # each call handled once
    for caller in calls:
        callers.press(caller, "1")
    assert [callers.cause(c) for c in calls] == [DONE] * 6


def test_a_killed_instance_s_calls_are_taken_over_by_the_other_within_the_stated_time(serve, callers):
    a = serve("a")
    calls = [callers.dial() for _ in range(4)]           # a alone: these four are a's
    for caller in calls:
        callers.answered(caller)
    b = serve("b")
    more = [callers.dial() for _ in range(8)]            # shared: whoever claims first
    for caller in more:
        callers.answered(caller)
    calls += more
    eventually(lambda: len(started_calls(a, b)) == 12, 15, "twelve calls started")
    on_a = {call for call, instance, _ in started_calls(a, b) if instance == "a"}
    assert len(on_a) >= 4
    killed_at = time.monotonic()
    a.proc.send_signal(signal.SIGKILL)
    a.end()
    taken = b.line(lambda ln: ln["event"] == "takeover", timeout=20)
    took = time.monotonic() - killed_at
    assert taken["peer"].endswith("-a") and taken["calls"] == len(on_a)
    assert took < 2.0 + 2 * 1.0 + 2.0        # takeover_after + two checks + slack: the README's stated bound
    eventually(lambda: {c for c, i, t in started_calls(b) if t} == on_a, 10, "a's calls resumed on b")
    for caller in calls:
        callers.press(caller, "5")
    causes = [callers.cause(c) for c in calls]
    # From the callers' side: each of a's callers was finished by b's takeover, every other one by b's first handler.
    by_caller = {c.id: cause for c, cause in zip(calls, causes)}
    assert collections.Counter(causes) == collections.Counter({TAKEN_OVER: len(on_a), DONE: 12 - len(on_a)}), by_caller
    # No call handled twice: a's calls were started once on a and once (taken over) on b; the others once.
    counts = collections.Counter(call for call, _, _ in started_calls(a, b))
    assert all(counts[call] == (2 if call in on_a else 1) for call in counts)
    assert b.proc.poll() is None


def test_a_draining_instance_s_new_calls_go_to_the_other_not_the_fallback(serve, callers):
    a = serve("a")
    b = serve("b")
    first = callers.dial()
    callers.answered(first)
    eventually(lambda: len(started_calls(a, b)) == 1, 10, "the first call started")
    first_call, first_instance, _ = started_calls(a, b)[0]
    draining = a if first_instance == "a" else b
    other = b if draining is a else a
    draining.proc.send_signal(signal.SIGTERM)
    draining.line(lambda ln: ln["event"] == "draining")
    newcomers = [callers.dial() for _ in range(4)]
    for caller in newcomers:
        callers.answered(caller)
    eventually(lambda: len(started_calls(a, b)) == 5, 15, "the newcomers started")
    assert [i for c, i, _ in started_calls(a, b) if c != first_call] == [other.serving["instance"]] * 4
    for caller in [first, *newcomers]:
        callers.press(caller, "2")
    assert [callers.cause(c) for c in [first, *newcomers]] == [DONE] * 5      # none to the fallback
    assert draining.end() == 0                   # it finished its call in progress, then stopped
    last = draining.lines[-1]
    assert last["event"] == "stopped" and last["handled"]["done"] == 1 and last["left"] == []


def test_with_every_instance_gone_a_new_call_falls_back_and_killed_calls_wait_for_the_next_start(serve, callers):
    a = serve("a")
    held = callers.dial()
    callers.answered(held)
    a.line(lambda ln: ln["event"] == "call_started")
    a.proc.send_signal(signal.SIGKILL)
    a.end()
    newcomer = callers.dial()
    assert callers.cause(newcomer) == FALLBACK_CAUSE            # nobody claims within the timeout: the fallback
    assert callers.still_up(held)                              # parked in app APP-a: Asterisk waits
    again = serve("a")                                         # the same instance name resumes its own calls
    resumed = again.line(lambda ln: ln["event"] == "call_started")
    assert resumed["resumed"] is True and resumed.get("taken_over") is None
    callers.press(held, "3")
    assert callers.cause(held) == DONE


def test_an_instance_cut_off_longer_than_takeover_after_learns_its_call_was_taken_over(callers, app_name):
    steps: dict[str, list[dict]] = {"a": [], "b": []}
    results: dict[str, str] = {}

    def make(instance: str) -> vk.App:
        app = vk.App(app_name, shared=True, instance=instance, takeover_after=1.5, drain_timeout=0)

        @app.call
        def handle(call):
            if not call.taken_over:
                call.answer()
            key = call.collect_digits(max_digits=1, timeout=12)
            if call.lost:                       # another instance has it now: leave it alone
                results[instance] = "lost"
                return "lost"
            call.hangup(reason="busy" if call.taken_over else "normal")
            results[instance] = f"pressed {key}"
        app.observe(lambda kind, fields: steps[instance].append(dict(fields, kind=kind)))
        return app

    a, b = make("a"), make("b")
    try:
        a.start()
        caller = callers.dial()
        callers.answered(caller)
        eventually(lambda: a.calls_active == 1, 10, "a to handle the call")
        b.start()
        a.ari.event_source._backoff = (5.0, 5.0)     # the network is down for 5 s: longer than takeover_after
        a.ari.event_source.drop()
        taken = eventually(lambda: [s for s in steps["b"] if s["kind"] == "call_started" and s["taken_over"]], 15,
                           "b to take the call over")
        assert taken[0]["taken_over"] == f"{app_name}-a" and taken[0]["call"] == a.calls[0].id
        lost = eventually(lambda: [s for s in steps["a"] if s["kind"] == "call_lost"], 15, "a to notice")
        assert lost[0]["call"] == taken[0]["call"]
        callers.press(caller, "7")
        assert callers.cause(caller) == TAKEN_OVER          # b finished it
        eventually(lambda: results.get("b") == "pressed 7" and results.get("a") == "lost", 20, "both handlers")
    finally:
        a.stop()
        b.stop()
    assert not a.threads and not b.threads


def test_thirty_callers_across_two_instances_one_killed_mid_load_each_handled_once_or_fallen_back(serve, callers):
    a = serve("a", max_calls=40)
    b = None
    calls = []
    for n in range(30):
        if n == 5:                                      # five calls on a alone, then both share
            b = serve("b", max_calls=40)                # room for every call: none falls back for want of room
        if n == 12:
            a.proc.send_signal(signal.SIGKILL)          # mid-load: calls keep coming while b has not noticed yet
        caller = callers.dial(caller_number=f"55501{n:02d}")
        callers.answered(caller)
        calls.append(caller)
    a.end()
    on_a = {call for call, instance, _ in started_calls(a)}
    assert len(on_a) >= 5
    b.line(lambda ln: ln["event"] == "takeover", timeout=20)
    taken = eventually(lambda: {c for c, i, t in started_calls(b) if t} >= on_a and
                       {c for c, i, t in started_calls(b) if t}, 15, "a's calls taken over by b")
    for caller in calls:
        callers.press(caller, "4")
    causes = [callers.cause(c) for c in calls]
    # Counted from the callers' side: every caller was answered and ended by a handler (16, or 17 after a
    # takeover) or by the fallback (34); none was left in silence.
    assert set(causes) <= {DONE, TAKEN_OVER, FALLBACK_CAUSE} and len(causes) == 30
    assert causes.count(TAKEN_OVER) == len(taken)      # a's calls (and any it claimed as it died) finished by b
    # No call handled twice: one handler ran each call to its end.
    def ended():
        return collections.Counter(ln["call"] for s in (a, b) for ln in list(s.lines) if ln["event"] == "call_ended")
    eventually(lambda: sum(ended().values()) >= causes.count(DONE) + causes.count(TAKEN_OVER), 10,
               "a call_ended line for each call a handler finished")
    b.proc.send_signal(signal.SIGTERM)
    assert b.end() == 0
    assert set(ended().values()) == {1} and len(ended()) == causes.count(DONE) + causes.count(TAKEN_OVER)
