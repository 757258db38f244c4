"""`vicifast-kit load` against the lab: callers counted from their side, a service drained or killed mid-load.

The served file (SERVICE below) answers, waits for the caller's key and hangs up: a call it took over from an
instance that stopped (``call.resumed``) waits for the key again. Callers press their key a little after the
answer, so a call is short but in progress long enough to be caught by a SIGTERM or a kill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import vicifast_kit as vk
from client_helpers import eventually, unique_app
from vicifast_kit.service.load import (ABANDONED, CUT, FALLEN_BACK, HANDLED, Load, ServiceProcess,
                                       calls_handled_twice, run_load)

SERVICE = '''
import os
import vicifast_kit as vk

app = vk.App(os.environ["LOAD_TEST_APP"], max_calls=50, drain_timeout=30)


@app.call
def handle(call):
    if call.state != "Up":
        call.answer()
    key = call.collect_digits(max_digits=1, timeout=20)
    call.hangup()
    return f"pressed {key}"
'''


@pytest.fixture
def app_name() -> str:
    return unique_app("load")


@pytest.fixture
def service(tmp_path, app_name):
    """service(): a `vicifast-kit serve` of SERVICE on the test's app (every one started is killed at the end)."""
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    started = []

    def start() -> ServiceProcess:
        served = ServiceProcess(str(path), env={"LOAD_TEST_APP": app_name})
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()
        served.wait(10)


def no_channel_of(load: Load) -> bool:
    """True when none of the load's channels (either half) is left in the lab."""
    ari = vk.connect(app=unique_app("load-check"))
    try:
        ours = {c.channel for c in load.calls} | {c.far_channel for c in load.calls}
        return not ours & {ch.id for ch in ari.channels.list()}
    finally:
        ari.close()


def test_callers_are_answered_and_handled_and_the_counts_add_up(app_name):
    app = vk.App(app_name, max_calls=30)

    @app.call
    def handle(call):
        call.answer()
        call.collect_digits(max_digits=1, timeout=10)
        call.hangup()

    with app:
        result = run_load(app_name, callers=20, rate=10, dtmf="5", delay=0.5, duration=20)
    assert sum(result.counts.values()) == 20
    assert (result.answered, result.handled, result.fallen_back, result.abandoned, result.lost) == (20, 20, 0, 0, 0)
    assert len(result.answer_times) == 20 and all(0 <= t < 5 for t in result.answer_times)
    assert result.answer_time(50) <= result.answer_time(90) <= result.answer_time(99)
    assert all(c.cause == 16 for c in result.calls)
    assert app.counts.get("done") == 20       # the app saw the same 20 calls end normally


def test_no_app_gives_the_fallback_and_a_silent_app_gives_abandoned_callers(app_name):
    result = run_load(app_name, callers=3, rate=10, duration=15)        # nobody serves app_name
    assert result.counts[FALLEN_BACK] == 3 and all(c.cause == 34 for c in result.calls), \
        [(c.outcome, c.cause, c.answered, c.ended, c.error) for c in result.calls]   # (2 of 3, once in a full run)

    app = vk.App(app_name, max_calls=5)

    @app.call
    def hold(call):                 # answers and keeps the caller until the caller gives up
        call.answer()
        call.wait_for("StasisEnd", timeout=30)

    with app:
        result = run_load(app_name, callers=3, rate=10, duration=2)
    assert result.counts[ABANDONED] == 3 and result.answered == 3
    assert all(1.5 < c.ended - c.answered < 4 for c in result.calls)        # they hung up after their 2 s


def test_a_load_cut_short_hangs_up_every_call_it_placed(app_name):
    app = vk.App(app_name, max_calls=10)

    @app.call
    def hold(call):
        call.answer()
        call.wait_for("StasisEnd", timeout=60)

    with app:
        load = Load(app_name, callers=6, rate=20, duration=60).start()
        try:
            assert load.wait_answered(6, timeout=20)
        finally:
            load.close()
        assert load.result().counts[CUT] == 6
        assert no_channel_of(load)
        assert eventually(lambda: app.calls_active == 0, timeout=10)


def test_a_service_drained_mid_load_handles_or_sends_to_the_fallback_every_caller(service, app_name):
    served = service()
    load = Load(app_name, callers=40, rate=10, dtmf="1", delay=1.5, duration=30).start()
    try:
        assert load.wait_answered(12, timeout=30)
        served.terminate()                       # SIGTERM: new calls to the fallback, calls in progress finish
        assert load.wait(60)
    finally:
        load.close()
    assert served.wait(30) == 0
    result = load.result()
    assert result.handled + result.fallen_back == 40, result.counts
    assert result.handled >= 12 and result.fallen_back > 0
    ended = served.events("call_ended")
    assert len(ended) == result.handled and {e["outcome"] for e in ended} == {"done"}
    assert no_channel_of(load)


def test_a_service_killed_mid_load_and_started_again_loses_no_caller(service, app_name):
    first = service()
    load = Load(app_name, callers=40, rate=10, dtmf="w" * 8 + "1", delay=0.5, duration=40).start()
    try:
        assert load.wait_answered(10, timeout=30)
        first.kill()                                 # kill -9: its calls stay in the app, waiting
        first.wait(10)
        second = service()                           # finds them (call.resumed) and takes new calls again
        assert load.wait(90)
    finally:
        load.close()
    result = load.result()
    assert result.handled + result.fallen_back == 40, result.counts
    assert result.abandoned == 0 and result.lost == 0
    resumed = [e for e in second.events("call_started") if e.get("resumed")]
    assert resumed, "the second instance resumed none of the first one's calls"
    assert calls_handled_twice([first, second]) == []
    second.stop()


def test_the_load_command_prints_the_figures_and_json(tmp_path, app_name):
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    env = dict(os.environ, LOAD_TEST_APP=app_name)
    run = subprocess.run([sys.executable, "-m", "vicifast_kit.cli", "load", str(path), "--callers", "6", "--rate",
                          "10", "--dtmf", "1", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert (figures["app"], figures["callers"], figures[HANDLED], figures["fallen_back"]) == (app_name, 6, 6, 0)
    assert figures["handled_twice"] == [] and set(figures["answer_time"]) == {"p50", "p90", "p99"}

    run = subprocess.run([sys.executable, "-m", "vicifast_kit.cli", "load", "--app", app_name, "--callers", "2",
                          "--duration", "10"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 callers at 5/s into app" in run.stdout and "fallen back" in run.stdout
    assert any(line.split() == ["fallen", "back", "2"] for line in run.stdout.splitlines()), run.stdout


SHARED_SERVICE = SERVICE.replace("drain_timeout=30)", "drain_timeout=30, shared=True, takeover_after=2.0)")


def test_two_instances_share_a_load_and_one_killed_mid_load_loses_no_caller(tmp_path, app_name):
    """Callers press 1 every 2 s until someone listens: a call taken over from the killed instance ends too."""
    path = tmp_path / "shared_service.py"
    path.write_text(SHARED_SERVICE)
    a = ServiceProcess(str(path), instance="a", env={"LOAD_TEST_APP": app_name})
    b = ServiceProcess(str(path), instance="b", env={"LOAD_TEST_APP": app_name})
    load = Load(app_name, callers=60, rate=10, dtmf="1wwww" * 8, delay=1.5, duration=40, shared=True).start()
    try:
        assert load.wait_answered(20, timeout=30)
        a.kill()                                        # kill -9 mid-load: b takes its calls over
        assert load.wait(90)
    finally:
        load.close()
        b.stop()
        for served in (a, b):
            served.close()
    result = load.result()
    assert result.handled + result.fallen_back == 60, result.counts
    assert result.abandoned == 0 and result.lost == 0
    started_on_a = {e["call"] for e in a.events("call_started")}
    taken_over = [e for e in b.events("call_started") if e.get("resumed")]
    assert started_on_a and taken_over, "a took no call before it was killed, or b took none of its calls over"
    assert {e["call"] for e in taken_over} <= started_on_a
    assert calls_handled_twice([a, b]) == []
    assert no_channel_of(load)
