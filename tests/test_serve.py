"""`vicifast-kit serve` as a process against the lab: JSON logs, /healthz, /metrics, drain on SIGTERM, resume after a kill.

The served file (SERVICE below) answers, waits for one key and hangs up: normally (cause 16), or as
busy (cause 17) when it took the call over from an instance that died (``call.resumed``), so the
caller's side tells which handler ended its call.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from client_helpers import eventually
from service_helpers import FALLBACK_CAUSE, app_name, callers  # noqa: F401  (fixtures)

SERVICE = '''
import os
import vicifast_kit as vk

app = vk.App(os.environ["SERVE_TEST_APP"], max_calls=2, drain_timeout=float(os.environ.get("SERVE_TEST_DRAIN", "30")))


@app.call
def handle(call):
    if not call.resumed:
        call.answer()
    call.log.info("waiting for a key")
    key = call.collect_digits(max_digits=1, timeout=60)
    call.hangup(reason="busy" if call.resumed else "normal")
    return f"pressed {key}"
'''


class Served:
    """`vicifast-kit serve FILE --port 0` in a process of its own; its stdout read as JSON lines, as they come."""

    def __init__(self, file, app: str, *args: str, drain: float = 30) -> None:
        env = dict(os.environ, SERVE_TEST_APP=app, SERVE_TEST_DRAIN=str(drain), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "vicifast_kit.cli", "serve", str(file), "--port", "0",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[dict] = []
        self.other: list[str] = []          # stdout that is not JSON (there must be none)
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="test-serve-reader", daemon=True)
        self._reader.start()
        self.serving = self.line(lambda ln: ln["event"] == "serving", 30)
        self.url = f"http://127.0.0.1:{self.serving['port']}"

    def _read(self) -> None:
        for text in self.proc.stdout:
            with self._changed:
                try:
                    self.lines.append(json.loads(text))
                except ValueError:
                    self.other.append(text)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def line(self, predicate, timeout: float = 15) -> dict:
        """The first log line that matches (waiting for it); fails the test with the lines so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((ln for ln in self.lines if predicate(ln)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    pytest.fail(f"no such log line within {timeout} s; lines: {self.lines}; "
                                f"stderr: {self.proc.stderr.read() if self.proc.poll() is not None else ''}")
                self._changed.wait(remaining)

    def get(self, path: str) -> tuple[int, str]:
        """GET on the status server: (status, body)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics."""
        status, text = self.get("/metrics")
        assert status == 200
        for row in text.splitlines():
            if row.startswith(name + "{") and all(f'{k}="{v}"' in row for k, v in labels.items()):
                return float(row.rsplit(" ", 1)[1])
        raise AssertionError(f"no {name} {labels} in /metrics:\n{text}")

    def end(self, timeout: float = 60) -> int:
        """Wait for the process to exit (and its output to be read); its exit code."""
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def close(self) -> None:
        """Kill it if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.end()
        self.proc.stderr.close()


@pytest.fixture
def service_file(tmp_path):
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    return path


@pytest.fixture
def serve(service_file, app_name):
    """serve(*args, drain=30): a running `vicifast-kit serve` of SERVICE on the test's app; killed at the end."""
    started = []

    def start(*args: str, drain: float = 30) -> Served:
        served = Served(service_file, app_name, *args, drain=drain)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def test_serve_logs_json_lines_with_call_and_instance_and_its_health_and_metrics_follow_the_calls(serve, callers):
    served = serve()
    instance = served.serving["instance"]
    assert served.get("/healthz") == (200, json.dumps({"status": "ok", "app": callers.app_name, "instance": instance,
                                                       "calls_active": 0, "max_calls": 2}) + "\n")
    assert served.metric("vicifast_app_calls_active") == 0
    assert served.metric("vicifast_app_calls_handled_total", outcome="done") == 0
    caller = callers.dial()
    callers.answered(caller)
    started = served.line(lambda ln: ln["event"] == "call_started")
    call_id = started["call"]
    assert started["instance"] == instance and started["app"] == callers.app_name and started["resumed"] is False
    waiting = served.line(lambda ln: ln["message"] == "waiting for a key")       # the handler's own line
    assert (waiting["call"], waiting["instance"], waiting["logger"]) == (call_id, instance, "vicifast_kit.service.call")
    assert served.metric("vicifast_app_calls_active") == 1
    callers.press(caller, "4")
    assert callers.cause(caller) == 16
    ended = served.line(lambda ln: ln["event"] == "call_ended")
    assert (ended["call"], ended["outcome"], ended["result"]) == (call_id, "done", "pressed 4")
    assert served.metric("vicifast_app_calls_active") == 0
    assert served.metric("vicifast_app_calls_handled_total", outcome="done") == 1
    assert served.metric("vicifast_app_handler_seconds_count") == 1
    assert served.metric("vicifast_app_ari_request_seconds_count", method="POST") == 1      # the answer
    assert served.metric("vicifast_app_ari_request_seconds_count", method="DELETE") == 1    # the hang-up
    served.proc.send_signal(signal.SIGTERM)
    assert served.end() == 0
    assert served.other == [] and all(ln["instance"] == instance for ln in served.lines)
    assert all({"time", "level", "app", "instance", "call", "event", "message"} <= set(ln) for ln in served.lines)
    assert served.lines[-1]["event"] == "stopped" and "left none" in served.lines[-1]["message"]


def test_sigterm_mid_call_drains_the_call_sends_a_new_one_to_the_fallback_and_exits_with_a_summary(serve, callers):
    served = serve()
    busy = callers.dial()
    callers.answered(busy)
    call_id = served.line(lambda ln: ln["event"] == "call_started")["call"]
    served.proc.send_signal(signal.SIGTERM)
    served.line(lambda ln: ln["event"] == "draining")
    status, body = served.get("/healthz")
    assert status == 503 and json.loads(body)["status"] == "draining"
    assert served.metric("vicifast_app_draining") == 1
    newcomer = callers.dial()
    assert callers.cause(newcomer) == FALLBACK_CAUSE           # no new call while draining
    handed = served.line(lambda ln: ln["event"] == "handed_back")
    assert handed["outcome"] == "draining" and handed["call"] != call_id
    assert served.proc.poll() is None and callers.still_up(busy)     # still serving the call in progress
    callers.press(busy, "9")
    assert callers.cause(busy) == 16                            # its handler finished it
    assert served.end() == 0
    last = served.lines[-1]
    assert last["event"] == "stopped" and last["left"] == []
    assert last["handled"]["done"] == 1 and last["handled"]["draining"] == 1
    assert last["message"].endswith("left none")


def test_a_drain_that_times_out_says_which_calls_it_left_and_how(serve, callers):
    served = serve(drain=1)
    caller = callers.dial()
    callers.answered(caller)
    call_id = served.line(lambda ln: ln["event"] == "call_started")["call"]
    served.proc.send_signal(signal.SIGTERM)
    assert served.end() == 0
    last = served.lines[-1]
    assert last["event"] == "stopped" and last["level"] == "warning"
    assert [left["id"] for left in last["left"]] == [call_id]
    assert f"left 1: {call_id} (Local/5551234@service-" in last["message"]
    assert "left in app" in last["message"] and "resumes it" in last["message"]
    assert callers.still_up(caller)                            # parked in the app for the next instance


def test_killed_mid_call_and_started_again_the_call_is_resumed(serve, callers):
    first = serve()
    caller = callers.dial()
    callers.answered(caller)
    call_id = first.line(lambda ln: ln["event"] == "call_started")["call"]
    first.proc.kill()                                          # no drain, no goodbye
    first.end()
    assert callers.still_up(caller)
    second = serve()
    resumed = second.line(lambda ln: ln["event"] == "call_started")
    assert (resumed["call"], resumed["resumed"]) == (call_id, True)
    assert resumed["instance"] != first.serving["instance"]
    second.line(lambda ln: ln["event"] == "resumed")
    callers.press(caller, "1")
    assert callers.cause(caller) == 17                         # busy: the resumed handler ended it
    eventually(lambda: second.metric("vicifast_app_calls_handled_total", outcome="done") == 1, 10,
               "the resumed call to be counted")


def test_a_wrong_password_is_one_line_and_exit_2(service_file, app_name):
    run = subprocess.run([sys.executable, "-m", "vicifast_kit.cli", "serve", str(service_file), "--port", "0",
                          "--password", "not-the-password"], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, SERVE_TEST_APP=app_name))
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and f"cannot start app {app_name!r}: 401" in run.stderr
    assert "not-the-password" not in run.stderr


def test_a_second_sigterm_stops_at_once_and_says_which_call_it_left(serve, callers):
    served = serve(drain=60)
    caller = callers.dial()
    callers.answered(caller)
    call_id = served.line(lambda ln: ln["event"] == "call_started")["call"]
    served.proc.send_signal(signal.SIGTERM)
    served.line(lambda ln: ln["event"] == "draining")
    started = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    assert served.end() == 0 and time.monotonic() - started < 15      # not the 60 s of the drain
    assert any(ln["event"] == "hurry" for ln in served.lines)
    assert [left["id"] for left in served.lines[-1]["left"]] == [call_id]
    assert callers.still_up(caller)
