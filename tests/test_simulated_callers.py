"""Simulated callers sound and behave like people: speech, room noise, patience, caller ids, transcripts."""

from __future__ import annotations

import time
import uuid

import pytest

import vicifast_kit as vk
from vicifast_kit import audio
from vicifast_kit import lab as vk_lab
from vicifast_kit.lab import simulate

from client_helpers import lab, wait_until  # noqa: F401  (fixtures)

NOISE = "/var/lib/asterisk/vicifast/room-noise"   # the long noise file the caller loops when it is quiet


def record(lab, ch, seconds: float = 1.5) -> tuple[bytes, int]:
    """Record what the app's channel hears for `seconds`; (16-bit PCM, rate), the stored recording deleted."""
    name = f"sim-test-{uuid.uuid4().hex[:8]}"
    try:
        rec = ch.record(name=name, format="wav")
        assert rec.wait_for("RecordingStarted", timeout=5)
        time.sleep(seconds)                 # the recording's length: the caller is heard for that long
        rec.stop()
        assert rec.wait_for("RecordingFinished", timeout=5)
        return audio.read_wav(lab.ari.recordings.get_stored_file(name))
    finally:
        try:
            lab.ari.recordings.delete_stored(name)
        except vk.NotFound:
            pass


def inside_lab(*command: str):
    """Run a command inside the running lab (root filesystem or container)."""
    return vk_lab.BACKENDS[vk_lab.running_backend()].run_inside(*command, timeout=30)


def test_a_default_caller_is_real_audio_never_digital_silence(lab):
    caller, ch = lab.call(delay=1.0, duration=20)            # says the default words after 1 s of room noise
    pcm, rate = record(lab, ch)
    assert rate == 8000 and len(pcm) / 2 / rate >= 1.3      # not the 44-byte WAV of a silent caller
    assert min(audio.levels(pcm, rate, 0.25)) > 10           # noise while it waits: never digital silence
    assert audio.rms(pcm) > 300                              # and it starts speaking at 1 s


def test_speech_is_louder_than_the_room_noise_and_the_noise_is_not_silence(lab):
    _, talker = lab.call(say="I would like to change my delivery address, please.", delay=0.1, duration=20)
    speech, rate = record(lab, talker)
    _, quiet = lab.call(say=None, delay=0.1, duration=20)
    noise, _ = record(lab, quiet)
    speech_rms, noise_rms = audio.rms(speech), audio.rms(noise)
    assert 10 < noise_rms < 300                              # a quiet room: not silence, not speech
    assert min(audio.levels(noise, rate, 0.25)) > 10
    assert speech_rms > 800 and speech_rms > 8 * noise_rms


def test_a_lab_prompt_and_talk_still_play(lab):
    _, ch = lab.call(say="sound:hello-world", delay=0.1, duration=20)
    pcm, _ = record(lab, ch, 1.0)
    assert audio.rms(pcm) > 800
    _, ch2 = lab.call(say=None, talk="demo-congrats", delay=0.1, duration=20)
    pcm, _ = record(lab, ch2, 1.0)
    assert audio.rms(pcm) > 800


def test_dtmf_arrives_on_time_with_speech_on(lab):
    caller, ch = lab.call("42#", delay=0.3, duration=20, say="Hello, I'm calling about my order.")
    started = time.monotonic()
    assert ch.collect_digits(terminator="#", timeout=10) == "42"
    assert time.monotonic() - started < 2.5                  # the speech comes after the digits, not before
    pcm, _ = record(lab, ch, 1.0)
    assert audio.rms(pcm) > 800                              # then it speaks


def test_consecutive_callers_have_their_own_caller_ids(lab):
    _, first = lab.call(answer=False, duration=10)
    _, second = lab.call(answer=False, duration=10)
    one, two = first.caller, second.caller
    assert one.name and one.number.startswith("55501") and len(one.number) == 7
    assert one.name != two.name and one.number != two.number
    _, mine = lab.call(answer=False, duration=10, caller_id='"Ada Customer" <5550101>')
    assert (mine.caller.name, mine.caller.number) == ("Ada Customer", "5550101")


def test_an_unanswered_caller_gives_up_after_its_patience_with_no_answer(lab):
    started = time.monotonic()
    _, ch = lab.call(answer=False, patience=2)
    ev = ch.wait_for("ChannelHangupRequest", timeout=10)
    assert 1.5 <= time.monotonic() - started < 5
    assert ev.cause == 19                                    # user alerting, no answer


def test_an_answered_caller_hangs_up_after_its_duration_normally(lab):
    _, ch = lab.call(duration=2)
    answered = time.monotonic()
    ev = ch.wait_for("ChannelHangupRequest", timeout=10)
    assert 1.5 <= time.monotonic() - answered < 4
    assert ev.cause == 16                                    # normal clearing


def test_transcript_of_lab_prompts(lab):
    assert vk.lab.transcript("hello-world") == "Hello world."
    assert vk.lab.transcript("sound:demo-echotest").startswith("You are about to enter an echo test")
    assert vk.lab.transcript("digits/1", ari=lab.ari) == "one"
    assert vk.lab.transcript("no-such-prompt") is None


def test_transcript_is_fetched_once_and_says_when_the_lab_does_not_answer(monkeypatch):
    fetched = []
    real = simulate._fetch_transcript
    monkeypatch.setattr(simulate, "_transcripts", {})
    monkeypatch.setattr(simulate, "_fetch_transcript", lambda url: fetched.append(url) or real(url))
    assert vk.lab.transcript("hello-world") == vk.lab.transcript("sound:hello-world") == "Hello world."
    assert len(fetched) == 1

    class Nowhere:
        url = "http://127.0.0.1:9/ari"
    with pytest.raises(vk.lab.LabError, match="does not answer at http://127.0.0.1:9"):
        vk.lab.transcript("hello-world", ari=Nowhere())


def test_say_items_are_checked_and_encoded():
    assert simulate.say_items(None) == simulate.say_items("") == ""
    assert simulate.say_items(["Hi!", "sound:digits/1"]) == "text:SGkh&sound:digits/1"
    assert simulate.say_items("$(touch /tmp/x)") == "text:JCh0b3VjaCAvdG1wL3gp"   # only ever base64
    with pytest.raises(ValueError, match="not a lab prompt"):
        simulate.say_items("sound:x;touch /tmp/y")
    with pytest.raises(ValueError, match="at most"):
        simulate.say_items("x" * 1000)


def test_hostile_say_values_run_nothing(lab):
    marker = f"/tmp/vicifast-pwned-{uuid.uuid4().hex[:8]}"
    hostile = [f"$(touch {marker})", f"`touch {marker}`", f"text:$(touch {marker})", f"text:QUJD;touch {marker}",
               f"sound:x;touch {marker}", "text:QUJD$(id)", f'text:QUJD" "x;touch {marker}',
               f"text:QUJD\ntouch {marker}"]
    # Straight into the dialplan, past the kit's encoding (as anyone who places a call could):
    caller = lab.ari.channels.originate(
        endpoint="Local/5551000@inbound/n", context="sim-caller", extension="s", priority=1, timeout=10,
        variables={"VICIFAST_APP": lab.ari.app, "SIM_DELAY": "0.1", "SIM_DURATION": "20",
                   "SIM_SAY": "&".join(hostile)})
    lab.callers.append(caller.id)
    ev = lab.ari.wait_for("StasisStart", timeout=10,
                          where=lambda e: e.channel.name.startswith(caller.name.rsplit(";", 1)[0]))
    ev.channel.answer()
    # Every item was refused: the caller went straight on to its room noise.
    wait_until(lambda: lab.ari.channels.get(caller.id).dialplan.app_data == NOISE, timeout=10)
    # And the script itself refuses anything that is not base64, whoever calls it.
    for text in (f"$(touch {marker})", f"QUJD;touch {marker}", "QUJ", "QQ=A", ""):
        result = inside_lab("/usr/local/bin/vicifast-tts", text)
        assert result.returncode == 2 and result.stdout == "" and "refused" in result.stderr
    assert inside_lab("test", "-e", marker).returncode == 1      # the file never appeared in the lab


def test_the_lab_has_the_dialplan_simulated_callers_need_asked_once_per_client_and_off_the_wire(lab, monkeypatch):
    asked = []
    send = lab.ari.transport.send
    monkeypatch.setattr(lab.ari.transport, "send", lambda method, path, *a, **k: (
        asked.append(path) if path == "/asterisk/variable" else None) or send(method, path, *a, **k))
    simulate._has_lab_dialplan.pop(lab.ari, None)
    with lab.ari.wire() as wire:
        lab.call(say=None, duration=5)
        lab.call(say=None, duration=5)
    assert asked == ["/asterisk/variable"]                         # once for this client, and the lab passes
    assert simulate._has_lab_dialplan[lab.ari] is True
    assert [r["path"] for r in wire.requests if r["path"].startswith("/asterisk")] == []     # not on the wire
    assert lab.ari.asterisk.get_global_var(variable=simulate.LAB_MARKER).value     # what the check reads: really set
