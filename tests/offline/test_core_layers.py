"""The core's shape: layers that point one way, a light import, a connect that reads and writes no file,
contracts the client is composed of, and tracebacks that show the learner's line."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import vicifast_kit as vk
from fake_ari import FakeARI, QuietEvents, offline_client
from vicifast_kit import errors
from vicifast_kit.contracts import EventSource, Reply, Transport
from vicifast_kit.event_websocket import EventWebSocket
from vicifast_kit.transport import HTTPTransport

PACKAGE = Path(vk.__file__).parent
REPO = PACKAGE.parent
#: The core: what every feature builds on. It imports no feature.
CORE = ["__init__", "settings", "errors", "description", "handles", "events", "event_websocket", "transport",
        "contracts", "client", "causes", "operations", "wire"]
FEATURES = {"lab", "widgets", "media", "push", "voice", "audio", "ami", "doctor", "service", "numpy", "ipywidgets",
            "anywidget", "websockets", "pocketsphinx", "prometheus_client"}
#: The only places the core reaches a feature: the feature's own entry point, imported when first used.
ENTRY_POINTS = {
    ("handles", "Channel.media", "media"), ("handles", "Channel.listen", "media"), ("handles", "Bridge.media", "media"),
    ("handles", "_recording_audio", "audio"), ("client", "ARIClient.dashboard", "widgets"),
}


def _feature_imports(module: str) -> set[tuple[str, str, str]]:
    """(module, enclosing function, feature) for every import of a feature in one core module."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()

    def visit(node: ast.AST, where: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                visit(child, where + [child.name])
                continue
            names = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = (child.module or "").split(".")
                names = [".".join(base) if child.level == 0 else base[0] if base[0] else a.name for a in child.names]
                if child.level and not child.module:
                    names = [a.name for a in child.names]
            for name in names:
                top = name.split(".")[0] if not name.startswith("vicifast_kit") else name.split(".")[1]
                if top in FEATURES and not (isinstance(child, ast.ImportFrom) and _under_type_checking(tree, child)):
                    found.add((module, ".".join(where), top))
            visit(child, where)

    visit(tree, [])
    return found


def _under_type_checking(tree: ast.AST, node: ast.AST) -> bool:
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            if any(n is node for n in ast.walk(block)):
                return True
    return False


def test_the_core_imports_no_feature_except_at_its_entry_points():
    found = set().union(*(_feature_imports(m) for m in CORE))
    assert found - ENTRY_POINTS == set()
    assert ("client", "ARIClient.dashboard", "widgets") in found       # the scan sees lazy imports too


def test_import_vicifast_kit_loads_only_the_core():
    code = ("import sys, json, vicifast_kit\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'ipywidgets', 'anywidget', 'websockets', 'pocketsphinx', 'IPython', 'prometheus_client') "
            "or m.startswith(('vicifast_kit.lab', 'vicifast_kit.widgets', 'vicifast_kit.media', 'vicifast_kit.push', "
            "'vicifast_kit.voice', 'vicifast_kit.audio', 'vicifast_kit.ami', 'vicifast_kit.doctor', 'vicifast_kit.service')))))\n")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == []


def test_features_load_on_first_use():
    code = "import sys, vicifast_kit as vk\nvk.MediaStream; vk.lab.up\nprint('numpy' in sys.modules, 'vicifast_kit.lab' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]


def test_connect_with_url_user_password_opens_and_writes_no_file_of_the_repo_or_the_users_config(tmp_path):
    """With everything given, connect reads no settings: nothing of the repository or ~/.config is opened."""
    home = tmp_path / "home"
    (home / ".config" / "vicifast-kit").mkdir(parents=True)
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import vicifast_kit as vk
        from fake_ari import FakeARI, QuietEvents
        server = FakeARI()
        opened = []
        def hook(event, args):
            if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
                writes = bool((args[2] or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)) or any(c in str(args[1] or "") for c in "wax+")
                opened.append((os.fsdecode(args[0]), writes))
        sys.addaudithook(hook)
        ari = vk.connect("audit", url=server.url, user="vicifast", password=server.password, event_source=QuietEvents())
        ari.request("GET", "/bridges")
        ari.close()
        server.close()
        print(json.dumps(opened))
    """)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "PATH": "/usr/bin:/bin",
           "VICIFAST_SECRETS_FILE": str(home / ".config" / "vicifast-kit" / "lab-secrets.env")}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    opened = json.loads(run.stdout.splitlines()[-1])
    ours = [p for p, _ in opened
            if p.startswith((str(REPO) + "/", str(home))) and "/site-packages/" not in p and "__pycache__" not in p
            and not p.endswith(".py")]
    written = [p for p, writes in opened if writes and not p.startswith("/dev/")]
    assert ours == [] and written == []
    assert not (home / ".config" / "vicifast-kit" / "lab-secrets.env").exists()


def test_the_client_is_composed_of_a_transport_and_an_event_source():
    server = FakeARI()
    try:
        source = QuietEvents()
        ari = vk.connect("composed", url=server.url, user="vicifast", password=server.password, event_source=source)
        assert isinstance(ari.transport, HTTPTransport) and isinstance(ari.transport, Transport)
        assert ari.event_source is source and isinstance(source, EventSource)
        assert ari.state == "connected" and ari.connected
        ari.close()
        assert ari.state == "closed" and source.state == "disconnected"
    finally:
        server.close()
    assert isinstance(EventWebSocket("ws://127.0.0.1:9/ari/events?app=a", "Basic eDp5", "a"), EventSource)


class _CountingTransport:
    """A Transport that records what passes, around another one (as the wire will)."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.where, self.sent = inner, inner.where, []

    def send(self, method, path, params=None, body=None, binary=False) -> Reply:
        self.sent.append((method, path))
        return self.inner.send(method, path, params, body, binary)

    def close(self) -> None:
        self.inner.close()


def test_a_transport_of_ones_own_carries_every_request_and_connect_only_reads():
    server = FakeARI()
    try:
        counting = _CountingTransport(HTTPTransport(server.url, "vicifast", server.password))
        ari = vk.connect("mine", url=server.url, user="vicifast", password=server.password, transport=counting,
                         event_source=QuietEvents())
        assert counting.sent and {m for m, _ in counting.sent} == {"GET"}        # connect changes nothing
        ari.request("GET", "/bridges")
        assert counting.sent[-1] == ("GET", "/bridges")
        ari.close()
    finally:
        server.close()


def test_on_close_runs_first_newest_first_and_can_be_cancelled():
    server = FakeARI()
    try:
        ari = offline_client(server)
        ran = []
        ari.on_close(lambda: ran.append(("first", ari.request("GET", "/bridges") == [])))   # requests still work
        ari.on_close(lambda: ran.append(("second", True)))
        cancel = ari.on_close(lambda: ran.append(("cancelled", True)))
        cancel()
        cancel()                                        # harmless twice
        ari.close()
        assert ran == [("second", True), ("first", True)]
        with pytest.raises(vk.ClientClosed):
            ari.on_close(lambda: None)
    finally:
        server.close()


def test_flush_returns_once_handlers_have_seen_every_event():
    server = FakeARI()
    try:
        ari = offline_client(server)
        seen = []
        ari.on("ChannelVarset", lambda ev: seen.append(ev.value))
        for n in range(200):
            ari.context.events.put({"type": "ChannelVarset", "variable": "X", "value": str(n)})
        ari.flush(timeout=5)
        assert seen == [str(n) for n in range(200)]
        ari.close()
        with pytest.raises(vk.ClientClosed):
            ari.flush()
    finally:
        server.close()


def test_a_url_that_is_not_an_ari_address_is_a_settings_error_without_the_password():
    for url in ("127.0.0.1:8088", "ftp://host", "http://user:s3cret@host:notaport"):
        with pytest.raises(vk.SettingsError) as err:
            vk.connect(url=url, user="u", password="p")
        assert "s3cret" not in str(err.value) and "http://HOST:PORT" in str(err.value)
        assert isinstance(err.value, ValueError)


def test_a_reply_that_is_not_json_is_a_protocol_error():
    server = FakeARI()
    try:
        ari = offline_client(server)
        server.answers[("GET", "/ari/channels")] = (200, b"<html>not ARI</html>")     # labelled JSON, is not
        with pytest.raises(vk.ProtocolError, match="not JSON"):
            ari.channels.list()
        ari.close()
    finally:
        server.close()


def _raise_through_the_kit():
    vk.connect(url="not-a-url", user="u", password="p")


def test_in_ipython_a_kit_error_shows_the_users_line_and_the_message_only():
    try:
        _raise_through_the_kit()
    except vk.Error as e:
        lines = e._render_traceback_()
    text = "\n".join(lines)
    assert "_raise_through_the_kit" in text and __file__ in text
    assert str(Path(vk.__file__).parent) not in text                 # no frame of the kit
    assert lines[-1].startswith("vicifast_kit.SettingsError: 'not-a-url' is not an ARI address")
    errors.SHORT_TRACEBACKS = False
    try:
        assert not hasattr(vk.SettingsError("x"), "_render_traceback_")     # IPython's own full traceback
    finally:
        errors.SHORT_TRACEBACKS = True
