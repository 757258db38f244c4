"""vk.testing's pure logic: what a caller heard, from events and speech spans (no Asterisk)."""

from __future__ import annotations

import pytest

from vicifast_kit.testing import hearing
from vicifast_kit.testing.apps import load_app
from vicifast_kit.testing.caller import Caller, CallerError, asterisk_time
from vicifast_kit.testing.hearing import FarSide, Heard

WORDS = {"hello-world": "Hello world.", "vm-intro": "Please leave your message. (simple tone sound plays)",
         "silence/1": "(1 second of silence)", "all-circuits-busy-now": "All circuits are busy now.",
         "please-try-call-later": "Please try your call again later."}


def far() -> FarSide:
    return FarSide("far", WORDS.get)


def playback(kind, ident, uri, target="channel:far", state="playing"):
    return {"type": kind, "playback": {"id": ident, "media_uri": uri, "target_uri": target, "state": state}}


def test_transcripts_lose_their_notes_in_brackets():
    assert hearing.clean_transcript(WORDS["vm-intro"]) == "Please leave your message."
    assert hearing.clean_transcript(WORDS["silence/1"]) == ""
    assert hearing.clean_transcript(None) == ""


def test_dialplan_prompt_applications_name_their_sounds():
    assert hearing.dialplan_sounds("Playback", "all-circuits-busy-now&please-try-call-later,noanswer") == [
        "all-circuits-busy-now", "please-try-call-later"]
    assert hearing.dialplan_sounds("Read", "CHOICE,if-correct-press&digits/1,1") == ["if-correct-press", "digits/1"]
    assert hearing.dialplan_sounds("NoOp", "Playback(x)") == []


def test_playbacks_on_the_far_half_and_its_bridges_are_heard_in_order_others_not():
    side = far()
    side.feed(playback("PlaybackStarted", "p1", "sound:hello-world"), 1.0)
    side.feed(playback("PlaybackStarted", "x", "sound:vm-intro", target="channel:someone-else"), 1.5)
    side.feed(playback("PlaybackFinished", "p1", "sound:hello-world", state="done"), 2.0)
    side.feed({"type": "ChannelEnteredBridge", "channel": {"id": "far"}, "bridge": {"id": "b1",
                                                                                     "bridge_type": "mixing"}}, 2.5)
    side.feed(playback("PlaybackStarted", "p2", "sound:vm-intro", target="bridge:b1"), 3.0)
    side.feed(playback("PlaybackFinished", "p2", "sound:vm-intro", target="bridge:b1", state="done"), 4.0)
    assert [(h.at, h.until, h.sound) for h in side.heard] == [(1.0, 2.0, "hello-world"), (3.0, 4.0, "vm-intro")]
    assert hearing.heard_text(side.heard) == "Hello world. Please leave your message."


def test_a_playback_that_failed_was_not_heard_and_one_stopped_early_is_cut():
    side = far()
    side.feed(playback("PlaybackStarted", "p1", "sound:hello-world"), 1.0)
    side.feed(playback("PlaybackFinished", "p1", "sound:hello-world", state="failed"), 1.1)
    side.feed(playback("PlaybackStarted", "p2", "sound:hello-world"), 2.0)
    side.feed(playback("PlaybackFinished", "p2", "sound:hello-world", state="cancelled"), 2.2)
    assert len(side.heard) == 1 and side.heard[0].cut and side.heard[0].at == 2.0


def test_a_dialplan_playback_lasts_until_the_next_step_and_keys_and_music_are_kept():
    side = far()
    channel = {"id": "far", "dialplan": {"context": "service", "exten": "5551234"}}
    side.feed({"type": "ChannelDialplan", "channel": channel, "dialplan_app": "Playback",
               "dialplan_app_data": "all-circuits-busy-now&please-try-call-later"}, 0.1)
    side.feed({"type": "ChannelDtmfReceived", "channel": channel, "digit": "4"}, 1.0)
    side.feed({"type": "ChannelDialplan", "channel": channel, "dialplan_app": "Hangup", "dialplan_app_data": "34"}, 4.1)
    side.feed({"type": "ChannelEnteredBridge", "channel": channel, "bridge": {"id": "q", "bridge_type": "holding"}}, 5)
    side.end(9.0)
    prompt, music = side.heard
    assert (prompt.at, prompt.until, prompt.text) == (
        0.1, 4.1, "All circuits are busy now. Please try your call again later.")
    assert (music.source, music.at, music.until, music.text) == ("music", 5, 9.0, "")
    assert side.digits == "4" and [s[3] for s in side.steps] == ["Playback", "Hangup"]


def test_an_unknown_sound_is_left_to_the_recogniser():
    side = far()
    side.feed(playback("PlaybackStarted", "p1", "sound:not-in-the-lab"), 1.0)
    side.feed(playback("PlaybackStarted", "p2", "tone:ring"), 1.0)
    assert side.heard == []


def test_speech_that_no_prompt_explains_is_what_is_left_of_each_span():
    known = hearing.covered([Heard(1.0, 2.0, "x")], end=10)
    assert hearing.speech_outside([(0.5, 4.0), (5.0, 5.1)], known) == [(0.5, 0.8), (2.1, 4.0)]   # 5.0-5.1: too short
    assert hearing.speech_outside([(1.0, 2.0)], known) == []


def test_expected_phrases_become_grammar_words():
    assert hearing.phrase("Press 1, please!") == "press one please"
    with pytest.raises(ValueError, match="no words"):
        hearing.phrase("?!")


def test_asterisk_times_are_read():
    assert asterisk_time("2026-12-06T04:05:37.267+0000").microsecond == 267000
    assert asterisk_time("later") is None


def test_a_caller_needs_an_app_and_a_number_before_it_connects():
    caller = Caller()
    with pytest.raises(CallerError, match="Which app"):
        caller.dial("5551234")
    with pytest.raises(ValueError, match="not a number"):
        caller.dial("Local/x@y", app="ivr")
    assert caller._ear is None          # nothing was connected for either


def test_the_app_under_test_loader_says_what_is_wrong(tmp_path):
    (tmp_path / "plain.py").write_text("x = 1\n")
    with pytest.raises(Exception, match="makes no vk.App"):
        load_app(str(tmp_path / "plain.py"))
    with pytest.raises(Exception, match="No file"):
        load_app("missing.py:app", root=tmp_path)
