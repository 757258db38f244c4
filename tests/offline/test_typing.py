"""Completion without a kernel: the shipped stub, its generator (on fake_ari's description), and Jedi reading it."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from vicifast_kit import description as api, typing_gen

from fake_ari import DESCRIPTION, INDEX

PACKAGE = Path(typing_gen.__file__).parent
REPO = PACKAGE.parent


def test_the_package_ships_py_typed_and_the_stub():
    assert (PACKAGE / "py.typed").exists() and (PACKAGE / "operations.pyi").exists()
    tree = ast.parse((PACKAGE / "operations.pyi").read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {"ARIOperations", "ChannelsResource", "ChannelOperations", "BridgeOperations"} <= classes


def test_the_generator_writes_signatures_and_types_from_a_description():
    text = typing_gen.stub_source(api.parse(DESCRIPTION), "0.0.1-test")
    ast.parse(text)
    assert ("    def play(self, channel_id: str | Handle, *, media: str | List[str], lang: str | None = None, "
            "skipms: int | None = None, playback_id: str | Handle | None = None) -> Playback:") in text
    assert "    def list(self) -> List[Channel]:" in text                 # List: `list` is a method here
    assert "reason: Literal[\"normal\", \"busy\"] | str | None = None" in text
    assert "    def get_channel_var(self, *, variable: str) -> Record:" in text     # a model with no handle
    assert "    def get_file(self) -> bytes:" in text                             # the handle's short alias
    assert "    channels: ChannelsResource" in text and "    caller: Record" in text
    # only facts: none of the description's words (its summaries, its parameter descriptions)
    assert "test operation" not in text and "test parameter" not in text


def test_the_command_line_writes_from_saved_files_and_checks(tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "resources.json").write_text(json.dumps(INDEX))
    for stem, doc in DESCRIPTION.items():
        (folder / f"{stem}.json").write_text(json.dumps(doc))
    out = tmp_path / "operations.pyi"
    assert typing_gen.main(["--from", str(folder), "--out", str(out)]) == 0
    assert "class ChannelsResource:" in out.read_text()
    assert typing_gen.main(["--from", str(folder), "--out", str(out), "--check"]) == 0
    out.write_text(out.read_text() + "# edited\n")
    assert typing_gen.main(["--from", str(folder), "--out", str(out), "--check"]) == 1


@pytest.fixture(scope="module")
def jedi_project():
    jedi = pytest.importorskip("jedi")
    # In this process (no helper subprocess whose pipes would close at some later test's moment).
    environment = jedi.InterpreterEnvironment()
    return jedi, jedi.Project(str(REPO)), environment


class _Script:
    """A jedi.Script whose questions are asked as an editor asks them: without pytest's import hook.

    pytest rewrites the asserts of every module of a package that registers a pytest plugin (the kit's
    vk.testing), through a finder of its own at the head of sys.meta_path; Jedi, asked in this process, then
    infers `vk.connect(...)` as a module. An editor has no such finder, so it is left out while Jedi works.
    """

    def __init__(self, script):
        self._script = script

    def __getattr__(self, name):
        method = getattr(self._script, name)

        def asked(*args, **kwargs):
            saved = sys.meta_path[:]
            sys.meta_path[:] = [f for f in saved if type(f).__name__ != "AssertionRewritingHook"]
            try:
                return method(*args, **kwargs)
            finally:
                sys.meta_path[:] = saved
        return asked


def _script(jedi_project, source: str):
    jedi, project, environment = jedi_project
    return _Script(jedi.Script(source, project=project, environment=environment))


def _signature(jedi_project, source: str):
    lines = source.splitlines()
    sigs = _script(jedi_project, source).get_signatures(len(lines), len(lines[-1]))
    assert len(sigs) == 1, sigs
    return sigs[0]


def test_an_editor_completes_ari_channels_and_shows_originates_parameters(jedi_project):
    head = 'import vicifast_kit as vk\nari = vk.connect(app="demo")\n'
    names = [c.name for c in _script(jedi_project, head + "ari.channels.").complete(3, len("ari.channels."))]
    assert {"originate", "answer", "play", "hangup", "snoop_channel", "external_media"} <= set(names)
    sig = _signature(jedi_project, head + "ari.channels.originate(")
    params = {p.name: p.description for p in sig.params}
    assert {"endpoint", "app", "app_args", "caller_id", "variables", "channel_id", "formats"} <= set(params)
    assert params["endpoint"] == "param endpoint: str"


def test_an_editor_shows_a_handles_operations_and_fields(jedi_project):
    head = 'import vicifast_kit as vk\nari = vk.connect(app="demo")\nch = ari.channels.get("1")\n'
    sig = _signature(jedi_project, head + "ch.play(")
    assert [p.name for p in sig.params][:3] == ["media", "lang", "offsetms"]
    names = {c.name for c in _script(jedi_project, head + "ch.").complete(4, 3)}
    assert {"answer", "hangup", "play", "media", "collect_digits", "wait_for", "state", "caller"} <= names
    br = 'import vicifast_kit as vk\nari = vk.connect(app="demo")\nbr = ari.bridges.create(type="mixing")\nbr.add_channel('
    assert "channel" in [p.name for p in _signature(jedi_project, br).params]
