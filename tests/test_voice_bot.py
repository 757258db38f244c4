"""The voice bot of notebook 09 against the real lab: simulated callers SAY what they want and the bot routes them.

The figure the notebook claims (ROUTED_RIGHT of the PHRASES) is checked here: fewer fails the test.
"""

from __future__ import annotations

import shutil

import pytest

from vicifast_kit import audio, voice

from client_helpers import lab, wait_until  # noqa: F401  (fixture)

pytest.importorskip("pocketsphinx", reason="pip install -r requirements.txt (pocketsphinx)")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="the bot's voice needs espeak-ng: apt-get install espeak-ng (scripts/setup)")

#: What simulated callers say, and where the bot should send them (None: it must not guess).
PHRASES = [
    ("Billing.", "billing"),
    ("Billing, please.", "billing"),
    ("I have a question about my bill.", "billing"),
    ("An agent.", "agent"),
    ("Let me talk to a human.", "agent"),
    ("Sales.", "sales"),
    ("Sales, please.", "sales"),
    ("I'd like to talk to sales, please.", "sales"),
    ("Um, I'm not sure.", None),
]
#: The notebook's claim: at least this many of PHRASES are routed right, on an 8 kHz line and on a 16 kHz one
#: (8 or 9 of 9 measured on each; before voice.TELEPHONE_PRONUNCIATIONS, 5 or 6: "sales" was lost).
ROUTED_RIGHT = 8


def bot_hears(lab, say: str, format: str = "slin16", **caller) -> voice.Routing:
    """A simulated caller says `say` over the greeting; the bot routes it (one try), on a line of `format`."""
    _, call = lab.call(say=say, duration=30, **{"delay": 1.0, **caller})
    voice.talk_detect(call)
    with call.media(format) as stream:
        routing = voice.route(call, stream, tries=1, timeout=4.0)
    call.hangup()
    return routing


@pytest.mark.parametrize("format", ["slin", "slin16"], ids=["8kHz", "16kHz"])
def test_simulated_callers_are_routed_by_what_they_say(lab, format):
    results = []
    for say, want in PHRASES:
        routing = bot_hears(lab, say, format)
        turn = routing.turns[0]
        # Turn-taking for real: Asterisk heard the caller talk, over the greeting, and the prompt was cut.
        assert turn.talk and turn.barged_in, f"{say!r}: no talk detected / no barge-in ({routing.log})"
        assert turn.cut_at is not None and turn.cut_at < turn.prompt_seconds - 2
        results.append((say, want, routing.intent, routing.log))
    right = sum(want == got for _, want, got, _ in results)
    report = "\n".join(f"{'ok ' if want == got else 'BAD'} {say!r}: want {want}, got {got} {log}"
                       for say, want, got, log in results)
    print(f"\n{right} of {len(PHRASES)} routed right on a {format} line\n{report}")
    assert right >= ROUTED_RIGHT, f"only {right} of {len(PHRASES)} routed right (claimed {ROUTED_RIGHT}):\n{report}"


def test_keys_are_the_fallback_and_a_silent_caller_gets_the_retry(lab):
    routing = bot_hears(lab, None, dtmf="2", delay=2.0)
    assert (routing.intent, routing.by) == ("billing", "keys") and routing.turns[0].barged_in
    _, call = lab.call(say=None, duration=30)
    voice.talk_detect(call)
    with call.media() as stream:
        routing = voice.route(call, stream, tries=2, timeout=1.0)
    call.hangup()
    assert routing.intent is None and routing.log == ["turn 1: silence", "turn 2: silence"]
    assert all(t.timed_out and not t.barged_in for t in routing.turns)


def test_the_bots_voice_reaches_the_caller(lab):
    _, call = lab.call(say=None, duration=30)
    with call.listen() as tap, call.media() as stream:
        tap.read(0.3)
        prompt = voice.speak("Welcome. Say sales, billing, or agent.", stream.rate)
        stream.send(prompt)
        heard = tap.read(len(prompt) / 2 / stream.rate)
        assert stream.wait_played(timeout=10)
    call.hangup()
    assert audio.level_db(heard) > -30                      # speech, not the caller's room noise (about -50 dB)
    assert len(voice.speech_spans(heard, tap.rate, hangover=0.05)) >= 2    # words with gaps between them


def test_a_caller_who_talks_before_the_bot_listens_is_heard_from_the_start(lab):
    _, call = lab.call(say="Let me talk to a human.", delay=0.2, duration=30)
    voice.talk_detect(call)
    with call.media() as stream:
        wait_until(lambda: "ChannelTalkingStarted" in [e.type for e in call.events()], timeout=5)
        turn = voice.take_turn(call, stream, voice.speak(voice.GREETING, stream.rate), timeout=3.0)
    call.hangup()
    assert turn.talk and turn.talk[0][0] == 0.0            # already talking when the turn began
    assert turn.barged_in and turn.cut_at < 0.5             # so the greeting stops at once
    assert turn.talk[0][1] > 0.5 and len(turn.speech) / 2 / turn.rate > 0.5
