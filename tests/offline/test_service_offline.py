"""vk.App and `vicifast-kit serve` without Asterisk: log lines, metrics, the status server, arguments, loading a file."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

import vicifast_kit as vk
from vicifast_kit import cli
from vicifast_kit.service import App, ServiceError, StopSummary, LeftCall
from vicifast_kit.service import logs
from vicifast_kit.service.app import OUTCOMES, current_call, stasis_args
from vicifast_kit.service.health import StatusServer
from vicifast_kit.service.loader import load_app, split_target
from vicifast_kit.service.metrics import NAMES, Metrics


def _handler(call):
    """A handler that does nothing (the offline tests never run it)."""


# --- log lines ----------------------------------------------------------------------------------------
def _line(record_fn) -> dict:
    stream = io.StringIO()
    undo = logs.configure("ivr", "host-1-ab12", stream=stream, level=logging.DEBUG)
    try:
        record_fn()
    finally:
        undo()
    text = stream.getvalue()
    assert text.count("\n") == 1, text          # one record, one line
    return json.loads(text)


def test_a_log_line_is_one_json_object_with_app_instance_call_and_event():
    extra = {"service": {"event": "call_ended", "app": "ivr", "instance": "host-1-ab12", "call": "1700.5",
                         "outcome": "done", "seconds": 1.5}}
    line = _line(lambda: logging.getLogger("vicifast_kit.service").info("Call %s done", "1700.5", extra=extra))
    assert list(line)[:8] == list(logs.KEYS)
    assert line["time"].endswith("Z") and line["level"] == "info" and line["logger"] == "vicifast_kit.service"
    assert (line["app"], line["instance"], line["call"], line["event"]) == ("ivr", "host-1-ab12", "1700.5", "call_ended")
    assert line["message"] == "Call 1700.5 done" and line["outcome"] == "done" and line["seconds"] == 1.5


def test_a_plain_line_on_a_calls_thread_carries_the_call_and_the_servers_app_and_instance():
    def on_a_call_thread():
        current_call.set("1700.9")
        logging.getLogger("my.handler").warning("caller pressed %s", "9")
    thread_lines = []
    line = _line(lambda: (thread_lines.append(threading.Thread(target=on_a_call_thread)), thread_lines[0].start(),
                          thread_lines[0].join()))
    assert (line["app"], line["instance"], line["call"], line["event"]) == ("ivr", "host-1-ab12", "1700.9", "log")
    assert line["level"] == "warning" and line["message"] == "caller pressed 9"
    other = _line(lambda: logging.getLogger("x").info("not about a call"))
    assert other["call"] is None


def test_an_exception_stays_on_one_line_with_its_error_and_traceback():
    def fail():
        try:
            raise ValueError("bad key")
        except ValueError:
            logging.getLogger("h").exception("handler failed")
    line = _line(fail)
    assert line["error"] == "ValueError: bad key" and "Traceback" in line["traceback"] and "fail" in line["traceback"]


def test_configure_undoes_itself():
    root = logging.getLogger()
    before = list(root.handlers)
    undo = logs.configure("a", "b", stream=io.StringIO())
    assert root.handlers != before
    undo()
    assert root.handlers == before


# --- metrics --------------------------------------------------------------------------------------------
def _sample(text: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for row in text.splitlines():
        if row.startswith(f"{name}{{") and all(f'{k}="{v}"' in row for k, v in labels.items()):
            return float(row.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{want}}} in:\n{text}")


def test_metrics_have_their_names_every_outcome_at_zero_and_count_what_the_app_tells():
    app = App("ivr-metrics", max_calls=3)
    metrics = Metrics(app)
    text = metrics.render().decode()
    for name in NAMES:
        assert f"# TYPE {name.removesuffix('_total')}" in text or f"# TYPE {name}" in text, name
    for outcome in OUTCOMES:
        assert _sample(text, "vicifast_app_calls_handled_total", app="ivr-metrics", outcome=outcome) == 0
    assert _sample(text, "vicifast_app_calls_max", app="ivr-metrics") == 3
    assert _sample(text, "vicifast_app_calls_active", app="ivr-metrics") == 0
    assert f'app_instance="{app.instance}"' in text
    metrics.observe("call_ended", {"outcome": "done", "seconds": 2.0})
    metrics.observe("handed_back", {"outcome": "busy"})
    metrics.observe("handed_back", {"outcome": "error"})        # counted by its call_ended, not twice
    metrics.observe("call_left", {"outcome": "left"})
    text = metrics.render().decode()
    assert _sample(text, "vicifast_app_calls_handled_total", app="ivr-metrics", outcome="done") == 1
    assert _sample(text, "vicifast_app_calls_handled_total", app="ivr-metrics", outcome="busy") == 1
    assert _sample(text, "vicifast_app_calls_handled_total", app="ivr-metrics", outcome="error") == 0
    assert _sample(text, "vicifast_app_calls_handled_total", app="ivr-metrics", outcome="left") == 1
    assert _sample(text, "vicifast_app_handler_seconds_count", app="ivr-metrics") == 1
    assert _sample(text, "vicifast_app_handler_seconds_sum", app="ivr-metrics") == 2.0
    metrics.close()


def test_import_vicifast_kit_and_vk_app_load_no_metrics_library():
    code = ("import sys, vicifast_kit as vk\n"
            "print('prometheus_client' in sys.modules, 'vicifast_kit.service' in sys.modules)\n"
            "vk.App('x')\n"
            "print('prometheus_client' in sys.modules, 'vicifast_kit.service' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False", "True"]


# --- the status server -----------------------------------------------------------------------------------
def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_the_status_server_answers_healthz_and_metrics_on_loopback_and_nothing_else():
    app = App("ivr-status")
    metrics = Metrics(app)
    server = StatusServer(app, metrics, port=0)
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        status, kind, body = _get(f"{server.url}/healthz")
        assert status == 503 and kind == "application/json"       # a stopped App takes no calls
        assert json.loads(body) == {"status": "stopped", "app": "ivr-status", "instance": app.instance,
                                    "calls_active": 0, "max_calls": 10}
        status, kind, body = _get(f"{server.url}/metrics")
        assert status == 200 and kind.startswith("text/plain") and "vicifast_app_calls_active" in body
        assert _get(f"{server.url}/other")[0] == 404
        assert server._thread.name == "vicifast-app-http[ivr-status]" and server._thread.daemon
    finally:
        server.close()
        metrics.close()
    assert not server._thread.is_alive()


# --- the App's own checks --------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    ({"name": ""}, "ARI application name"), ({"name": "a,b"}, "without commas"),
    ({"name": "x", "max_calls": 0}, "1 or more"), ({"name": "x", "max_calls": True}, "whole number"),
    ({"name": "x", "drain_timeout": -1}, "0 or more"), ({"name": "x", "left_calls": "drop"}, "'leave'"),
    ({"name": "x", "fallback": ""}, "dialplan label")])
def test_an_app_made_wrong_says_what_to_give(kwargs, words):
    with pytest.raises(ServiceError, match=words) as error:
        App(**kwargs)
    assert isinstance(error.value, vk.Error)


def test_an_app_has_one_handler_and_start_needs_it():
    app = App("ivr-one")
    with pytest.raises(ServiceError, match="no call handler: decorate"):
        app.start(url="http://127.0.0.1:9", user="u", password="p")
    assert app.call(_handler) is _handler          # the decorator gives the function back
    app.call(_handler)                             # the same one again: harmless
    with pytest.raises(ServiceError, match="one App runs one handler"):
        app.call(lambda call: None)
    assert app.state == "stopped" and app.ari is None and app.threads == []


def test_an_app_that_cannot_connect_raises_the_kits_error_and_leaves_nothing_running():
    app = App("ivr-down", url="http://127.0.0.1:9", user="u", password="p")
    app.call(_handler)
    before = set(threading.enumerate())
    with pytest.raises(vk.LabUnreachable):
        app.start()
    assert app.state == "stopped" and set(threading.enumerate()) - before == set()
    assert str(app.stop()) == f"app 'ivr-down' (instance {app.instance}) stopped: 0 call(s); left none"


def test_stasis_args_come_from_the_channels_dialplan():
    assert stasis_args({"dialplan": {"app_name": "Stasis", "app_data": "ivr,service,5551234"}}) == ["service", "5551234"]
    assert stasis_args({"dialplan": {"app_name": "Stasis", "app_data": "ivr"}}) == []
    assert stasis_args({"dialplan": {"app_name": "Dial", "app_data": "PJSIP/6001"}}) == []


def test_the_summary_says_which_calls_were_left_and_how():
    summary = StopSummary("ivr", "h-1-ab", {"done": 2, "busy": 1, "left": 1},
                          [LeftCall("1700.1", "Local/5551234@service-01;2", "left in app 'ivr': ...")])
    assert summary.total == 4
    assert str(summary) == ("app 'ivr' (instance h-1-ab) stopped: 4 call(s) (2 done, 1 busy, 1 left); left 1: "
                            "1700.1 (Local/5551234@service-01;2) left in app 'ivr': ...")


# --- FILE.py[:app] ----------------------------------------------------------------------------------------
SERVICE_FILE = """
import vicifast_kit as vk
from helper_next_to_it import GREETING     # a file's own folder is on the path, as for `python FILE.py`
app = vk.App("ivr")
@app.call
def handle(call):
    pass
not_an_app = 42
"""


@pytest.fixture
def service_dir(tmp_path, monkeypatch):
    (tmp_path / "helper_next_to_it.py").write_text("GREETING = 'hello'\n")
    (tmp_path / "svc.py").write_text(SERVICE_FILE)
    (tmp_path / "two.py").write_text("import vicifast_kit as vk\na = vk.App('a')\nb = vk.App('b')\n"
                                      "a.call(print)\nb.call(print)\n")
    (tmp_path / "none.py").write_text("x = 1\n")
    (tmp_path / "nohandler.py").write_text("import vicifast_kit as vk\napp = vk.App('bare')\n")
    (tmp_path / "broken.py").write_text("import vicifast_kit as vk\n\nraise KeyError('setting')\n")
    (tmp_path / "syntax.py").write_text("def f(:\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


def test_split_target():
    assert split_target("ivr.py:app") == ("ivr.py", "app")
    assert split_target("ivr.py") == ("ivr.py", None)
    assert split_target("/srv/ivr.py:my_app") == ("/srv/ivr.py", "my_app")
    assert split_target("pkg.mod:app") == ("pkg.mod", "app")


def test_loading_a_service_file_finds_its_app(service_dir):
    assert load_app("svc.py").name == "ivr"
    assert load_app(f"{service_dir}/svc.py:app").name == "ivr"
    assert load_app("vicifast_kit.examples.ivr").name == "ivr"         # a module works as a file does
    assert load_app("two.py:b").name == "b"


@pytest.mark.parametrize("target, words", [
    ("missing.py", "No file 'missing.py': give the path of a Python file that makes a vk.App"),
    ("none.py", "none.py makes no vk.App: add `app = vk.App(\"ivr\")`"),
    ("two.py", "two.py makes 2 Apps (a, b): say which one, e.g. `vicifast-kit serve two.py:a`"),
    ("svc.py:not_an_app", "'not_an_app' in svc.py is an int, not a vk.App"),
    ("svc.py:nothing", "svc.py has no 'nothing' (its Apps: app)"),
    ("nohandler.py", "App 'bare' of nohandler.py has no call handler"),
    ("broken.py", "broken.py failed while loading: KeyError: 'setting' (line 3)"),
    ("syntax.py", "syntax.py failed while loading: SyntaxError"),
    ("no.such.module", "No file or module 'no.such.module'"),
])
def test_loading_errors_say_what_to_do(service_dir, target, words):
    with pytest.raises(ServiceError) as error:
        load_app(target)
    assert words in str(error.value)


# --- the command line ---------------------------------------------------------------------------------------
def test_serve_arguments():
    args = cli._parser().parse_args(["serve", "ivr.py:app", "--port", "0", "--url", "http://h:8088", "--user", "u",
                                     "--password", "p", "--max-calls", "4", "--drain-timeout", "2.5",
                                     "--log-level", "debug"])
    assert (args.command, args.target, args.port, args.host, args.url, args.user, args.password) == (
        "serve", "ivr.py:app", 0, "127.0.0.1", "http://h:8088", "u", "p")
    assert (args.max_calls, args.drain_timeout, args.log_level) == (4, 2.5, "DEBUG")
    defaults = cli._parser().parse_args(["serve", "ivr.py"])
    assert (defaults.port, defaults.host, defaults.url, defaults.max_calls, defaults.drain_timeout) == (
        9464, "127.0.0.1", None, None, None)


def _serve(*argv: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vicifast_kit.cli", "serve", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


@pytest.mark.parametrize("argv, words", [
    (["missing.py"], "No file 'missing.py'"),
    (["none.py"], "makes no vk.App"),
    (["svc.py:not_an_app"], "is an int, not a vk.App"),
    (["svc.py", "--port", "0", "--url", "http://127.0.0.1:9", "--user", "u", "--password", "p"],
     "cannot start app 'ivr': Nothing answers at http://127.0.0.1:9"),
    (["svc.py", "--max-calls", "0"], "--max-calls is how many calls run at once: 1 or more"),
])
def test_bad_input_is_one_line_on_stderr_exit_2_no_traceback(service_dir, argv, words):
    run = _serve(*argv, cwd=service_dir)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("vicifast-kit serve: ") and words in run.stderr
    assert "Traceback" not in run.stderr + run.stdout and run.stdout == ""


def test_a_port_in_use_is_one_line_with_the_next_step(service_dir):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = _serve("svc.py", "--port", str(taken.getsockname()[1]), cwd=service_dir)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "cannot listen on 127.0.0.1:" in run.stderr and "choose another port with --port" in run.stderr
