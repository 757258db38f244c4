"""vk.testing against the lab: the caller's results are real (where a call ends, what it heard, its keys, its
answer and cause), every call ends with the test, and the shipped example (notebook 07's IVR) passes."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

import vicifast_kit as vk
from vicifast_kit import voice
from vicifast_kit.testing import Caller

from client_helpers import eventually

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "vicifast_kit" / "examples" / "test_ivr.py"


@pytest.fixture
def speech_app():
    """An app that routes on speech: it asks, listens (the kit's voice bot), then plays a prompt per intent and hangs up."""
    name = f"kit-speech-{uuid.uuid4().hex[:8]}"
    app = vk.App(name, max_calls=4, drain_timeout=5)
    routed = {}

    @app.call
    def handle(call):
        call.answer()
        voice.talk_detect(call)
        with call.media() as stream:
            routing = voice.route(call, stream, greeting="Which department?", tries=1, timeout=8)
        routed[call.id] = routing.intent
        prompt = {"billing": "sound:vm-msgsaved", "sales": "sound:hello-world"}.get(routing.intent)
        if prompt:
            call.play(media=prompt).wait_for("PlaybackFinished", timeout=15)
        call.hangup()

    app.start()
    app.routed = routed
    try:
        yield app
    finally:
        app.stop(drain_timeout=5)


def test_a_caller_who_says_billing_please_ends_where_the_speech_router_sends_it(caller, speech_app):
    result = caller("5551234", app=speech_app.name, say="billing please", delay=2.5, duration=25)
    assert list(speech_app.routed.values()) == ["billing"]          # the app understood the caller...
    assert result.prompts == ["vm-msgsaved"]                           # ...and the caller heard where it went
    assert result.heard.endswith("Your message has been saved.")
    assert result.answered is not None and result.answered < 3
    assert (result.hung_up_by, result.cause) == ("far end", 16)
    speech = [p for p in result.parts if p.source == "speech"]
    assert speech and speech[0].at < result.parts[-1].at              # the bot's question came first, recognised
    assert result.parts == sorted(result.parts, key=lambda p: p.at)


def test_a_caller_to_a_number_with_no_app_connected_reaches_the_fallback(caller):
    result = caller("5550100", app=f"kit-nobody-{uuid.uuid4().hex[:8]}")
    assert result.cause == 34
    assert "circuits are busy" in result.heard
    assert result.heard == "All circuits are busy now. Please try your call again later."
    assert result.prompts == ["all-circuits-busy-now&please-try-call-later"]
    assert [s.app for s in result.steps][-2:] == ["Playback", "Hangup"]
    assert 3.0 < result.ended < 8.0                                    # the two prompts' length, then the end
    assert vk.audio.rms(result.pcm) > 300                              # and the caller's line carried them


def test_keys_pressed_reach_the_app_and_are_in_digits(caller, ari):
    got = []

    def answer(ev):
        if ev.args and ev.args[0] == "service":
            threading.Thread(target=take_keys, args=(ev.channel,), daemon=True).start()

    def take_keys(call):
        call.answer()
        got.append(call.collect_digits(terminator="#", timeout=10))
        call.hangup()

    ari.on("StasisStart", answer)
    result = caller("5551234", app=ari.app, dtmf="42#", delay=0.5)
    assert result.digits == "42#"
    assert got == ["42"]
    assert result.answered is not None and result.hung_up_by == "far end"


def test_nobody_answers_so_answered_is_none_and_the_caller_gives_up(caller, ari):
    arrived = []
    ari.on("StasisStart", lambda ev: arrived.append(ev.channel.id))      # it rings in the app; nobody answers
    result = caller("5551234", app=ari.app, patience=2)
    assert result.answered is None
    assert arrived                                                        # it did reach the app
    assert (result.hung_up_by, result.cause) == ("caller", 19), result     # no answer: its patience ran out
    assert 2.0 <= result.ended < 6
    assert result.heard == ""


def test_every_call_ends_with_the_caller_even_one_still_up():
    with vk.connect(app=f"kit-hold-{uuid.uuid4().hex[:8]}") as app:
        app.on("StasisStart", lambda ev: ev.channel.answer())
        with Caller() as dialer:
            call = dialer.dial("5551234", app=app.app, duration=120)
            eventually(lambda: {call.id, call.snoop_id} <= {c.id for c in dialer.ari.channels.list()}, 10,
                       "the call and its snoop to be up")
        # the caller closed: the call, its far half, its snoop and its recording are gone
        ids = {c.id for c in app.channels.list()}
        assert not {call.id, call.far_id, call.snoop_id} & ids
        assert call.recording not in {r.name for r in app.recordings.list_stored()}


def test_the_shipped_example_for_notebook_07s_ivr_passes():
    run = subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLE), "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", "--vk-app-name", f"kit-ivr-{uuid.uuid4().hex[:8]}"],
                         cwd=REPO, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "5 passed" in run.stdout


def test_a_run_that_uses_no_fixture_of_the_plugin_imports_nothing_heavy_and_connects_nowhere(tmp_path):
    (tmp_path / "test_plain.py").write_text(
        "import sys\n"
        "def test_plain():\n"
        "    heavy = [m for m in sys.modules if m.startswith(('vicifast_kit.testing.caller', 'vicifast_kit.lab',\n"
        "             'vicifast_kit.media', 'vicifast_kit.voice', 'vicifast_kit.service', 'numpy', 'pocketsphinx'))]\n"
        "    assert heavy == []\n"
        "    assert 'vicifast_kit.testing.plugin' in sys.modules\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARI_URL": "http://127.0.0.1:9"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
