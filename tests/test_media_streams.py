"""Live call audio (Asterisk 22's WebSocket media) through ch.media() and ch.listen(), measured.

Every test hears real audio from the lab and measures it (a tone's frequency, a level), and checks
that nothing the stream built is left in the lab nor any thread in this process.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

import vicifast_kit as vk
from vicifast_kit import audio
from vicifast_kit import lab as vk_lab

from client_helpers import ari, eventually, lab, wait_until  # noqa: F401  (fixtures)


def strength(pcm: bytes, rate: int, frequency: float) -> float:
    """The share of the signal's energy within 15 Hz of `frequency` (0..1)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs > frequency - 15) & (freqs < frequency + 15)
    return float(spectrum[band].sum() / max(spectrum.sum(), 1e-9))


def media_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vicifast-media")]


def kit_objects(ari) -> set[tuple[str, str]]:
    """The media and snoop channels and the kit's bridges in the lab now that this client made (the lab is shared)."""
    s = vk.settings.load()
    channels = {("channel", c["id"]) for c in vk_lab.probes.ari_get(s, "/channels") or []
                if c["name"].startswith(("WebSocket/", "Snoop/"))}
    bridges = {("bridge", b["id"]) for b in vk_lab.probes.ari_get(s, "/bridges") or [] if b["id"].startswith("kit-")}
    return {key for key in channels | bridges if ari.owns(*key)}


def echo_call(lab):
    """A call to the lab's echo without its spoken introduction (9002), in the test's app: our side of it."""
    ari, echo_id = lab.ari, f"echo-{time.monotonic_ns()}"
    lab.callers.append(echo_id)
    ari.channels.originate(endpoint="Local/9002@inbound/n", app=ari.app, channel_id=echo_id, formats="slin16,ulaw")
    return ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == echo_id).channel


def echoed_tone(stream) -> bytes:
    """Send a 1 s 440 Hz tone into a call to the echo: the first loud frame heard back and 0.5 s after it (or b"")."""
    stream.send(audio.tone(440, 1.0))
    for frame in stream.frames(timeout=5):
        if audio.level_db(frame) > -40:
            return frame + stream.read(0.5)
    return b""


@pytest.fixture(autouse=True)
def nothing_left_behind(lab):
    """After each test, its client still open: no media thread in this process, no media/snoop channel or kit bridge
    the test's client made is left (what the streams built, they removed themselves)."""
    yield
    eventually(lambda: not media_threads(), timeout=5, what="no media thread left")
    eventually(lambda: not kit_objects(lab.ari), timeout=5, what=f"no media or snoop channel or kit bridge left "
               f"({kit_objects(lab.ari)})")


def test_media_reads_the_tone_the_far_end_plays(lab):
    near, far = lab.pair()
    with near.media() as stream:
        assert stream.rate == 16000 and stream.format == "slin16"
        far.play(media="tone:440")
        stream.read(0.3)                        # let the tone settle in
        pcm = stream.read(1.0)
        assert len(pcm) == 32000
        assert abs(audio.dominant_frequency(pcm, 16000) - 440) <= 10
        assert audio.level_db(pcm) > -30
    assert stream.closed and stream.reason == "closed by you"


def test_ulaw_stream_reads_slin_at_8k(lab):
    near, far = lab.pair()
    far.play(media="tone:1000")
    with near.media("ulaw") as stream:
        assert stream.rate == 8000 and stream.media_start["format"] == "ulaw"
        stream.read(0.3)
        pcm = stream.read(1.0)
        assert len(pcm) == 16000                # 8000 samples of slin, decoded from mu-law
        assert abs(audio.dominant_frequency(pcm, 8000) - 1000) <= 10


def test_media_sends_a_tone_the_far_end_hears(lab):
    """What the program says reaches the other party: recorded on the far side and measured."""
    near, far = lab.pair()
    with near.media() as stream:
        rec = far.record(name=f"kit-media-{far.id}", format="wav", if_exists="overwrite")
        stream.send(audio.tone(660, 1.5, rate=16000))
        assert stream.wait_played(timeout=10)
        rec.stop()
        rec.wait_for("RecordingFinished", timeout=5)
    heard = rec.audio()
    lab.ari.recordings.delete_stored(rec.name)
    assert abs(heard.dominant_frequency() - 660) <= 10
    assert heard.level_db() > -30


def test_frames_are_20_ms_and_stop_when_the_call_ends(lab):
    caller, ch = lab.call(duration=30)
    stream = ch.media()
    frames = []
    for frame in stream.frames():
        frames.append(frame)
        if len(frames) == 25:
            caller.hangup()                     # the caller hangs up mid-stream
    assert len(frames) >= 25 and all(len(f) == 640 for f in frames[:-1])
    assert stream.closed and "ended" in stream.reason
    assert stream.read(1.0) == b"" or len(stream.read(1.0)) < 32000   # what there was, no error
    with pytest.raises(vk.StreamClosed):
        stream.send(audio.tone(440, 0.1))
    stream.close()
    stream.close()                              # twice is harmless


def test_close_twice_and_use_after_close(lab):
    near, far = lab.pair()
    stream = near.media()
    stream.close()
    stream.close()
    assert stream.closed
    with pytest.raises(vk.StreamClosed):
        stream.read(0.1)
    with pytest.raises(vk.StreamClosed):
        stream.send(audio.tone(440, 0.1))
    near.get()                                  # the call itself is untouched
    assert near.get().state == "Up"


def test_listen_hears_both_sides_of_a_bridged_call_without_moving_it(lab):
    br, (near_a, far_a), (near_b, far_b) = lab.bridged_pairs("5557101", "5557102")
    try:
        far_a.play(media="tone:440")             # what near_a hears from its own side
        far_b.play(media="tone:1200")            # what the bridge sends to near_a
        with near_a.listen() as tap:
            tap.read(0.4)
            pcm = tap.read(1.0)
            with pytest.raises(vk.StreamClosed):
                tap.send(audio.tone(440, 0.1))
        assert strength(pcm, 16000, 440) > 0.2 and strength(pcm, 16000, 1200) > 0.2
        assert set(br.get().channels) == {near_a.id, near_b.id}     # never left its bridge
    finally:
        br.destroy()


def test_listen_right_after_the_call_arrives_never_loses_the_race_with_its_snoop(lab):
    # The snoop channel enters the app a moment after snoopChannel answers; bridging it before that
    # was refused with 422 about half the time (measured: 8 of 15).
    for n in range(8):
        near, far = lab.pair()
        far.play(media="tone:700")
        with near.listen() as tap:
            tap.read(0.2)
            assert abs(audio.dominant_frequency(tap.read(0.6), 16000) - 700) <= 10, n
        near.hangup()


def test_media_joins_the_bridge_a_call_is_already_in(lab):
    br, (near_a, far_a), (near_b, far_b) = lab.bridged_pairs("5557201", "5557202")
    try:
        with near_a.media() as stream:
            assert stream.bridge.id == br.id and len(br.get().channels) == 3
            far_b.play(media="tone:880")
            stream.read(0.3)
            assert abs(audio.dominant_frequency(stream.read(1.0), 16000) - 880) <= 10
        assert set(br.get().channels) == {near_a.id, near_b.id}     # the media channel left, the call stayed
    finally:
        br.destroy()


def test_flush_drops_what_was_not_played_yet(lab):
    near, far = lab.pair()
    with near.media() as stream:
        stream.send(audio.tone(500, 10.0))
        eventually(lambda: stream.frames_sent >= 25, timeout=5, what="half a second of the tone sent")
        stream.flush()
        assert stream.wait_played(timeout=5)             # not after the 9.5 s that were still queued


def test_dtmf_during_a_stream_still_reaches_collect_digits(lab):
    caller, ch = lab.call("123#", delay=1.0, duration=20)
    with ch.media() as stream:
        assert ch.collect_digits(timeout=10) == "123"
        assert stream.read(0.2)
    assert not any(e.type == "StasisStart" for e in lab.ari.pending_events())   # the kit's channels stay out


def test_the_kits_own_channels_stay_out_of_the_apps_waits(lab):
    near, far = lab.pair()
    lab.ari.clear_events()
    seen = []
    lab.ari.on("StasisStart", seen.append)
    with near.listen():
        pass
    with near.media():
        pass
    lab.ari.flush()                                 # every event so far has been dispatched
    assert seen == [] and lab.ari.pending_events("StasisStart") == []


def test_a_slow_reader_loses_the_oldest_audio_and_is_told(lab, caplog):
    """A reader that does not read: the oldest frames are dropped and counted, Asterisk is never held up (frames
    keep coming beyond the buffer); 20 s sent at once fill Asterisk's queue, which says so (MEDIA_XOFF)."""
    near, far = lab.pair()
    far.play(media="tone:440")
    with caplog.at_level(logging.WARNING, logger="vicifast_kit.media"), near.media(buffer_seconds=1.0) as stream:
        stream.send(audio.tone(300, 20.0))          # more than Asterisk queues (18 s)
        eventually(lambda: stream.xoff_count >= 1, timeout=10, what="MEDIA_XOFF from Asterisk")
        eventually(lambda: stream.dropped > 100, timeout=10, what="frames dropped beyond the 1 s buffer")
        assert stream.frames_received > 150         # Asterisk kept sending while nobody read
        pcm = stream.read(0.5)                      # what is read now is still the call's audio
        assert abs(audio.dominant_frequency(pcm, 16000) - 440) <= 10
        stream.flush()                              # the rest of the 20 s is not waited for
    assert any("fell behind" in r.message for r in caplog.records)


def test_bad_input_gets_clear_errors(lab):
    caller, ch = lab.call(duration=30)
    with pytest.raises(ValueError, match="slin16"):
        ch.media(format="mp3")
    ch.hangup()
    wait_until(lambda: ch.id not in [c.id for c in lab.ari.channels.list()])
    with pytest.raises(vk.NotFound, match="call has ended"):      # and what to do: start a new call
        ch.media()
    with pytest.raises(vk.NotFound):
        ch.listen()


@pytest.mark.restarts_lab      # unloads a module of the shared lab for a moment: it runs last, alone
def test_a_lab_without_websocket_media_says_what_to_do(lab):
    near, far = lab.pair()

    def no_websocket_channel() -> bool:
        return not any(c.name.startswith("WebSocket/") for c in lab.ari.channels.list())

    def unloaded() -> bool:
        try:
            return lab.ari.asterisk.get_module("chan_websocket.so").status != "Running"
        except vk.NotFound:
            return True

    # Only with no media channel anywhere in the lab: Asterisk 22.10 crashed twice (segfault) when the module was
    # unloaded while other programs' media channels were coming and going; asked once, not in a loop.
    eventually(no_websocket_channel, timeout=20, what="no WebSocket media channel left in the lab")
    try:
        vk_lab.cli("module unload chan_websocket.so")
        eventually(unloaded, timeout=10, what="chan_websocket unloaded")
        with pytest.raises(vk.MediaUnavailable, match="chan_websocket"):
            near.media()
    finally:
        vk_lab.cli("module load chan_websocket.so")
    with near.media() as stream:                    # and works again once loaded
        assert stream.read(0.2)


def test_closing_the_client_closes_its_streams(lab):
    near, far = lab.pair()
    far.play(media="tone:440")      # a snoop ends only once its channel passes audio (as a real call does)
    other = vk.connect(app=lab.ari.app + "-2")
    try:
        mine = other.handle("Channel", near.id)
        stream = mine.listen()
        assert stream.read(0.2)
        other.close()
        assert stream.closed and not media_threads()
    finally:
        other.close()


def test_round_trip_through_the_echo_hears_our_own_tone(lab):
    """A 440 Hz tone sent into a call to the lab's echo (9002) comes back at 440 Hz."""
    ch = echo_call(lab)
    with ch.media() as stream:
        assert audio.is_silent(stream.read(0.3))        # nothing said yet, nothing heard
        heard = echoed_tone(stream)
        assert heard, "the tone never came back"
        assert abs(audio.dominant_frequency(heard, 16000) - 440) <= 10     # (its delay: bench/media_bench.py)


def test_a_default_simulated_caller_is_heard_and_its_recording_plays(lab):
    """A default simulated caller is never digital silence: 2 s recorded hold room noise and speech."""
    caller, ch = lab.call(delay=0.3, duration=30)
    name = f"kit-sim-{ch.id}"
    rec = ch.record(name=name, format="wav", if_exists="overwrite", max_duration_seconds=2)
    rec.wait_for("RecordingFinished", timeout=10)                # it ends by itself after 2 s
    try:
        heard = rec.audio()
        assert heard.duration > 1.5 and not audio.is_silent(heard.pcm)
        assert heard.rms() > 200                          # speech, not just noise
        html = heard._repr_html_()
        assert html.startswith("<audio") or "<audio controls" in html
        stored = lab.ari.recordings.get_stored(name)
        assert stored.audio().pcm == heard.pcm            # the stored recording plays the same
        shown = stored._repr_html_()                      # and shows as a player with its waveform
        assert "<svg" in shown and "<audio controls" in shown
    finally:
        lab.ari.recordings.delete_stored(name)
    with ch.listen() as tap:                              # and a tap hears the caller too (once its snoop runs)
        eventually(lambda: not audio.is_silent(tap.read(0.5)), timeout=10, what="the caller heard through a tap")


# --- Asterisk's JSON control messages, marks and media direction (chan_websocket 22.8+ / 22.9+) ---------------

def test_the_lab_speaks_json_control_and_a_mark_comes_back_after_the_audio_before_it(lab):
    """MARK_MEDIA after 1.0 s of audio: MEDIA_MARK_PROCESSED comes when Asterisk has played that second (measured
    from the send), not at once; a second mark after 0.5 s more comes ~0.5 s later."""
    near, far = lab.pair()
    with near.media() as stream:
        assert stream.control_format == "json" and stream.asterisk_marks      # the lab is 22.10.1
        assert stream.media_start["format"] == "slin16" and stream.media_start["ptime"] == "20"
        stream.read(0.2)
        t0 = time.monotonic()
        stream.send(audio.tone(500, 1.0))
        first = stream.mark("after-first-second")
        stream.send(audio.tone(700, 0.5))
        second = stream.mark("after-1.5-s")
        assert first.wait(timeout=5) and second.wait(timeout=5)
        assert first.how == "asterisk" and first.played and second.played
        took = first.played_at - t0
        assert 0.95 <= took <= 1.4, f"the mark came {took:.3f} s after 1.0 s of audio was sent"
        gap = second.played_at - first.played_at
        assert 0.45 <= gap <= 0.6, f"0.5 s of audio between the marks took {gap:.3f} s"
        # the kit's own estimate (the 20 ms clock from when it sent) is close to what Asterisk said
        assert abs(first.played_at - first.estimated_at) < 0.3


class FarRecording:
    """What the far half hears, recorded on it (a tap on far beside near.media() would leave its snoop behind)."""

    def __init__(self, lab, far) -> None:
        self.lab, self.rec = lab, far.record(name=f"kit-media-{far.id}-{time.monotonic_ns()}", format="wav",
                                             if_exists="overwrite")

    def stop(self):
        self.rec.stop()
        self.rec.wait_for("RecordingFinished", timeout=5)
        heard = self.rec.audio()
        self.lab.ari.recordings.delete_stored(self.rec.name)
        return heard


def test_wait_played_returns_when_asterisk_says(lab):
    """wait_played() returns right after MEDIA_MARK_PROCESSED, after the audio's length (2 s), and the far side
    heard the tone, then silence once it returned."""
    near, far = lab.pair()
    with near.media() as stream:
        stream.read(0.2)
        rec = FarRecording(lab, far)
        t0 = time.monotonic()
        stream.send(audio.tone(600, 2.0))
        assert stream.wait_played(timeout=10)
        returned = time.monotonic() - t0
        assert 1.95 <= returned <= 2.5, f"wait_played returned {returned:.3f} s after 2 s were sent"
        stream.read(stream.buffered, timeout=0)
        stream.read(0.6)                        # 0.6 s of the call after wait_played returned
        heard = rec.stop()
    assert abs(heard.dominant_frequency() - 600) <= 10
    tail = heard.pcm[-int(0.3 * heard.rate) * 2:]            # recorded after wait_played returned
    assert audio.level_db(tail) < -50, "the far side still heard the tone after wait_played returned"


def test_direction_in_never_sends_audio_to_the_caller(lab):
    """direction='in': the stream hears the call; what it would send is refused by the kit, and even written
    straight to the websocket Asterisk drops it: the far side hears silence (measured), while the same bytes
    on a direction='both' stream are heard."""
    near, far = lab.pair()
    tone = audio.tone(800, 1.0)
    with near.media(direction="in") as stream:
        assert stream.direction == "in"
        playback = far.play(media="tone:440")
        stream.read(0.3)
        assert abs(audio.dominant_frequency(stream.read(0.5), 16000) - 440) <= 10     # it hears
        playback.stop()
        playback.wait_for("PlaybackFinished", timeout=5)
        with pytest.raises(vk.StreamClosed, match="direction='in'"):
            stream.send(tone)
        with pytest.raises(vk.StreamClosed, match="direction='in'"):
            stream.mark("x")
        stream.read(stream.buffered, timeout=0)
        rec = FarRecording(lab, far)
        for i in range(0, len(tone), 640):    # bypass the kit: raw frames on the websocket
            stream._ws.send_binary(tone[i:i + 640])
        stream.read(1.3)
        heard_in = rec.stop()
    assert strength(heard_in.pcm, heard_in.rate, 800) < 0.01, "the caller heard what a direction='in' stream sent"
    with near.media() as stream:                 # the control: the same bytes, direction='both'
        stream.read(0.2)
        rec = FarRecording(lab, far)
        for i in range(0, len(tone), 640):
            stream._ws.send_binary(tone[i:i + 640])
        stream.read(1.3)
        heard = rec.stop()
    assert strength(heard.pcm, heard.rate, 800) > 0.3 and heard.level_db() > -30, \
        "the control (direction='both') was not heard"
    assert heard_in.level_db() < heard.level_db() - 25, (heard_in.level_db(), heard.level_db())


def test_direction_out_hears_nothing_and_is_heard(lab):
    """direction='out': while the far side plays a tone that reaches the call (a tap on near hears it),
    Asterisk sends the stream no audio (no frame arrives), reading says why, and what it sends is heard."""
    near, far = lab.pair()
    with near.media(direction="out") as stream:
        with near.listen() as near_tap:
            playback = far.play(media="tone:440")
            near_tap.read(0.3)
            assert abs(audio.dominant_frequency(near_tap.read(1.0), 16000) - 440) <= 10    # the tone is there
        assert stream.frames_received == 0, f"{stream.frames_received} frames came to a direction='out' stream"
        with pytest.raises(vk.StreamClosed, match="direction='out'"):
            stream.read(0.1)
        playback.stop()
        playback.wait_for("PlaybackFinished", timeout=5)
        rec = FarRecording(lab, far)
        stream.send(audio.tone(900, 1.0))
        assert stream.wait_played(timeout=5)
        heard = rec.stop()
        assert stream.frames_received == 0
    assert strength(heard.pcm, heard.rate, 900) > 0.3 and heard.level_db() > -30
    with pytest.raises(ValueError, match="'both', 'in', 'out'"):
        near.media(direction="sideways")


def test_flush_drops_the_marks_asterisk_had_queued(lab):
    near, far = lab.pair()
    with near.media() as stream:
        stream.send(audio.tone(500, 5.0))
        late = stream.mark("late")
        eventually(lambda: stream.frames_sent >= 250, timeout=5, what="the 5 s sent")
        stream.flush()
        assert not late.wait(timeout=1) and late.how == "flushed"
        assert stream.wait_played(timeout=2)


def test_a_server_without_json_control_gets_plain_text_and_estimated_marks(lab, monkeypatch):
    """As on Asterisk before 22.8 (told so: the lab itself is 22.10.1): no f(json) is asked for, so the lab speaks
    plain text; the stream reads it, flush() goes as plain text, and wait_played() waits for the 20 ms clock's
    estimate instead of MARK_MEDIA. Media direction needs 22.9: asked for, it says so."""
    from vicifast_kit.media import wiring
    monkeypatch.setitem(wiring._server_features, lab.ari, ("22.7.0", False, False))
    near, far = lab.pair()
    with pytest.raises(vk.MediaUnavailable, match="no media direction"):
        near.media(direction="in")
    with near.media() as stream:
        assert stream.control_format == "plain-text" and not stream.asterisk_marks
        assert stream.media_start["format"] == "slin16" and stream.media_start["ptime"] == "20"
        far.play(media="tone:440")
        stream.read(0.3)
        assert abs(audio.dominant_frequency(stream.read(0.5), 16000) - 440) <= 10
        t0 = time.monotonic()
        stream.send(audio.tone(600, 1.0))
        mark = stream.mark("plain-1")
        assert mark.wait(timeout=5) and mark.how == "estimate"
        assert 0.95 <= time.monotonic() - t0 <= 1.3
        stream.send(audio.tone(500, 5.0))
        stream.flush()                              # FLUSH_MEDIA in plain text: Asterisk drops the rest
        assert not stream.errors
        assert stream.wait_played(timeout=2)


def test_a_frames_consumer_that_falls_behind_loses_the_oldest_audio_not_the_call(lab, caplog):
    """A consumer reading the websocket itself (frames()) but slower than 20 ms a frame: the reader thread takes
    the websocket back, drops the oldest frames beyond the buffer, and Asterisk keeps sending."""
    near, far = lab.pair()
    far.play(media="tone:440")
    slow = threading.Event()        # never set: each frame's "work" below takes 60 ms
    with caplog.at_level(logging.WARNING, logger="vicifast_kit.media"), near.media(buffer_seconds=0.5) as stream:
        stream.read(0.2)
        t0, f0, seen = time.monotonic(), stream.frames_received, 0
        for frame in stream.frames(timeout=5):
            seen += 1
            slow.wait(0.06)                         # the consumer's work: three times a frame's 20 ms
            if time.monotonic() - t0 > 4.0:
                break
        # Asterisk kept sending at the call's pace: what came since t0 (read by now, once the reader thread has
        # drained the socket) is a frame every 20 ms, far more than the consumer took
        eventually(lambda: stream.frames_received - f0 >= 0.95 * (time.monotonic() - t0) / 0.02, timeout=3,
                   what="the frames Asterisk sent meanwhile, read")
        assert stream.dropped > 0 and seen < 0.5 * (stream.frames_received - f0)
        assert abs(audio.dominant_frequency(stream.read(0.5), 16000) - 440) <= 10   # still the call's audio
    assert any("fell behind" in r.message for r in caplog.records)


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "as_it_comes"])
def test_paced_or_not_a_silent_echo_gives_frames_every_20_ms_or_none(lab, paced):
    """paced (softmix): a frame every 20 ms even when the far end sends nothing; paced=False (a two-party bridge,
    simple_bridge): frames only when the far end sends some, and our tone still comes back."""
    ari = lab.ari
    ch = echo_call(lab)
    with ch.media(paced=paced) as stream:
        technology = ari.bridges.get(stream.bridge.id).technology
        assert technology == ("softmix" if paced else "simple_bridge")
        before = stream.frames_received
        time.sleep(1.0)                 # we send nothing for a second: the echo has nothing to return
        quiet = stream.frames_received - before
        assert quiet >= 40 if paced else quiet <= 2, quiet
        heard = echoed_tone(stream)
        assert heard and abs(audio.dominant_frequency(heard, 16000) - 440) <= 10
