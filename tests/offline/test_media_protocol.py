"""The media stream's pure parts (no lab): formats, control messages, recordings, and the event hub's
rule that the kit's own channels stay out of the app's client-wide waits and handlers."""

import pytest

from vicifast_kit import audio
from vicifast_kit.causes import cause_text
from vicifast_kit.events import EventHub
from vicifast_kit.handles import Context
from vicifast_kit.media.stream import FORMATS, _parse_control, wire_format


def test_formats_frame_sizes_and_conversion():
    assert wire_format("slin16").frame_bytes == 640 and wire_format("slin").frame_bytes == 320
    assert wire_format("ulaw").frame_bytes == 160 and wire_format("alaw").rate == 8000
    tone = audio.tone(1000, 0.1, rate=8000)
    for name in ("ulaw", "alaw"):
        fmt = FORMATS[name]
        wire = fmt.from_slin(tone)
        assert len(wire) == len(tone) // 2
        back = fmt.to_slin(wire)
        assert abs(audio.rms(back) - audio.rms(tone)) / audio.rms(tone) < 0.02
    with pytest.raises(ValueError, match="slin16, slin, ulaw, alaw"):
        wire_format("opus")


def test_control_messages_parse_as_asterisk_sends_them():
    event, fields, _ = _parse_control("MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x1 "
                                      "channel_id:kit-media-1 format:slin16 optimal_frame_size:640 ptime:20")
    assert event == "MEDIA_START" and fields["optimal_frame_size"] == "640" and fields["channel"].startswith("WebSocket/")
    assert _parse_control("MEDIA_XOFF")[0] == "MEDIA_XOFF"
    assert _parse_control("MEDIA_MARK_PROCESSED kit-7")[2] == "kit-7"
    assert _parse_control("DTMF_END digit:5 channel_id:x")[1]["digit"] == "5"


def test_recording_audio_decodes_wav_and_raw_formats():
    pcm = audio.tone(440, 0.5, rate=8000)
    assert audio.recording_audio(audio.wav_bytes(pcm, 8000), "wav").pcm == pcm
    assert audio.recording_audio(pcm, "sln").rate == 8000
    ulaw = audio.recording_audio(audio.slin_to_ulaw(pcm), "ulaw", title="r")
    assert abs(ulaw.dominant_frequency() - 440) < 2 and ulaw.title == "r"
    assert "audio/wav;base64," in ulaw._repr_html_()
    with pytest.raises(ValueError, match="format='wav'"):
        audio.recording_audio(b"\x00" * 33, "gsm")


def test_cause_text_names_hangup_causes():
    assert cause_text(16) == "16 (Normal Clearing)" and cause_text("19").startswith("19 (User alerting")
    assert cause_text(None) == "unknown cause" and cause_text(250) == "250"


def _NoServer():      # noqa: N802 (was a class)
    """A context with no client and no server description: all the hub needs offline."""
    return Context()


def _channel_event(kind: str, channel_id: str) -> dict:
    return {"type": kind, "channel": {"id": channel_id, "name": f"X/{channel_id}"}, "application": "a"}


def test_the_kits_own_channels_stay_out_of_client_wide_waits_and_handlers():
    hub = EventHub(_NoServer(), "offline")
    try:
        seen = []
        hub.subscribe(None, seen.append)
        mine = []
        hub.subscribe("StasisStart", mine.append, key=("channel", "kit-media-1"))
        hub.mark_internal(("channel", "kit-media-1"))
        hub.put(_channel_event("StasisStart", "kit-media-1"))
        hub.put(_channel_event("StasisStart", "caller-1"))
        # client-wide: only the caller's event; per object: the kit's own
        assert hub.take("StasisStart", timeout=1).raw["channel"]["id"] == "caller-1"
        assert hub.pending("StasisStart") == []
        assert hub.take("StasisStart", timeout=1, key=("channel", "kit-media-1")).internal
        hub.flush(timeout=2)          # every event put so far has been through the handlers
        assert [e.raw["channel"]["id"] for e in seen] == ["caller-1"]
        assert [e.raw["channel"]["id"] for e in mine] == ["kit-media-1"]
        # an event naming the app's channel and the kit's bridge is the app's business
        hub.mark_internal(("bridge", "kit-bridge-1"))
        hub.put({"type": "ChannelEnteredBridge", "channel": {"id": "caller-1"}, "bridge": {"id": "kit-bridge-1"}})
        assert hub.take("ChannelEnteredBridge", timeout=1).raw["bridge"]["id"] == "kit-bridge-1"
    finally:
        hub.close()


def test_audio_shows_its_waveform_in_the_player():
    loud = audio.Audio(audio.tone(440, 0.5, amplitude=0.9), 16000, title="loud")
    quiet = audio.Audio(audio.silence(0.5), 16000)
    svg = loud.waveform_svg(width=50, height=40)
    assert svg.startswith("<svg") and svg.count("M") == 50
    spans = [float(seg.split("V")[1]) - float(seg.split(" ")[1].split("V")[0])
             for seg in svg.split('d="')[1].split('"')[0].split("M")[1:]]
    assert min(spans) > 30                                 # a 0.9 tone fills most of the 40 px height
    flat = quiet.waveform_svg(width=50, height=40).split('d="')[1].split('"')[0]
    assert all(abs(float(seg.split("V")[1]) - 20) <= 0.6 for seg in flat.split("M")[1:])
    assert "<svg" in loud._repr_html_() and "<audio controls" in loud._repr_html_()
