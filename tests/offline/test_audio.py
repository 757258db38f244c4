"""vicifast_kit.audio: real numbers from real signals (no lab needed)."""

import base64
import math
import re
import struct
import wave

import numpy as np
import pytest

from vicifast_kit import audio


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int64)


def wav_by_hand(tag: int, body: bytes, rate: int = 8000, channels: int = 1, bits: int = 8) -> bytes:
    """A WAV as `wave`/sox write it: an 18-byte fmt chunk (cbSize 0), a fact chunk, then the data."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHHH", tag, channels, rate, rate * block, block, bits, 0)
    fact = struct.pack("<I", len(body) // block)
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
              + b"data" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1))
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


# --- making and measuring -------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("frequency", [300, 440, 1000, 3000])
def test_dominant_frequency_finds_the_tone(rate, frequency):
    found = audio.dominant_frequency(audio.tone(frequency, 0.5, rate), rate)
    assert abs(found - frequency) <= 2, found


@pytest.mark.parametrize("rate", [8000, 16000])
def test_dominant_frequency_interpolates_between_bins(rate):
    # 0.5 s gives bins about 1 Hz apart even zero-padded: a tenth of a Hz needs the parabolic interpolation.
    for frequency in (440.3, 1234.56, 2999.71):
        assert audio.dominant_frequency(audio.tone(frequency, 0.5, rate), rate) == pytest.approx(frequency, abs=0.1)


def test_dominant_frequency_in_noise_and_for_nothing():
    pcm = samples(audio.tone(440, 0.5, 8000, 0.1)) + samples(audio.noise(0.5, 8000, 0.02, seed=1))
    assert abs(audio.dominant_frequency(pcm.astype("<i2").tobytes(), 8000) - 440) <= 2
    assert audio.dominant_frequency(audio.silence(0.5, 8000), 8000) == 0.0
    assert audio.dominant_frequency(b"", 8000) == 0.0
    assert audio.dominant_frequency(audio.tone(440, 0.001, 8000), 8000) == 0.0  # 8 samples: too short


def test_tone_length_and_peak():
    pcm = audio.tone(1000, 1.5, 8000, amplitude=0.25)
    assert len(pcm) == 2 * 12000
    assert np.max(np.abs(samples(pcm))) == pytest.approx(0.25 * 32767, abs=1)


def test_rms_of_a_half_scale_sine():
    half_scale = audio.tone(440, 1.0, 16000, amplitude=0.5)
    assert audio.rms(half_scale) == pytest.approx(0.5 * 32767 / math.sqrt(2), rel=1e-3)
    assert audio.rms(b"") == 0.0
    assert audio.rms(struct.pack("<4h", 3, -3, 3, -3)) == 3.0


def test_level_db():
    assert audio.level_db(audio.silence(1.0)) == -120.0
    assert audio.level_db(b"") == -120.0
    expected = 20 * math.log10(0.5 / math.sqrt(2))  # a sine's RMS is its peak / sqrt(2)
    assert audio.level_db(audio.tone(440, 1.0, 16000, 0.5)) == pytest.approx(expected, abs=0.01)
    assert audio.level_db(struct.pack("<2h", 32767, -32767)) == pytest.approx(0.0, abs=0.001)


def test_silence_and_noise():
    assert audio.silence(0.5, 8000) == bytes(8000)
    noise = audio.noise(2.0, 8000, amplitude=0.02, seed=7)
    assert len(noise) == 32000
    assert noise == audio.noise(2.0, 8000, amplitude=0.02, seed=7)
    assert noise != audio.noise(2.0, 8000, amplitude=0.02, seed=8)
    assert audio.rms(noise) == pytest.approx(0.02 * 32767, rel=0.03)
    assert abs(samples(noise).mean()) < 20


def test_is_silent():
    assert audio.is_silent(audio.silence(1.0))
    assert audio.is_silent(b"")
    assert audio.is_silent(audio.noise(1.0, amplitude=0.001, seed=1))  # about -60 dBFS
    assert not audio.is_silent(audio.noise(1.0, amplitude=0.02, seed=1))  # about -34 dBFS
    assert not audio.is_silent(audio.noise(1.0, amplitude=0.001, seed=1), threshold_db=-70)


def test_levels_over_time():
    pcm = audio.tone(440, 0.3, 8000, 0.5) + audio.silence(0.2, 8000) + audio.tone(440, 0.05, 8000, 0.5)
    result = audio.levels(pcm, 8000, window=0.1)
    assert len(result) == 6  # the last window is the 0.05 s left over
    assert all(isinstance(value, float) for value in result)
    assert result[:3] == pytest.approx([0.5 * 32767 / math.sqrt(2)] * 3, rel=0.01)
    assert result[3:5] == [0.0, 0.0]
    assert result[5] == pytest.approx(0.5 * 32767 / math.sqrt(2), rel=0.02)
    assert audio.levels(b"", 8000) == []


# --- G.711 ----------------------------------------------------------------------------------------------

def reference_ulaw(sample: int) -> int:
    """The classic scalar G.711 mu-law encoder (bias 0x84, clip 32635)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = 7
    while exponent and not magnitude & (0x4000 >> (7 - exponent)):
        exponent -= 1
    return ~(sign | exponent << 4 | (magnitude >> (exponent + 3)) & 0x0F) & 0xFF


def reference_alaw(sample: int) -> int:
    """The classic scalar G.711 A-law encoder (Sun's g711.c)."""
    value = sample >> 3
    mask, value = (0xD5, value) if value >= 0 else (0x55, -value - 1)
    ends = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]
    segment = next((i for i, end in enumerate(ends) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask
    return (segment << 4 | (value >> (1 if segment < 2 else segment)) & 0x0F) ^ mask


ALL_SAMPLES = np.arange(-32768, 32768).astype("<i2")


def test_ulaw_known_values():
    assert audio.ulaw_to_slin(bytes([0xFF, 0x00, 0x7F, 0x80, 0xF0])) == struct.pack("<5h", 0, -32124, 0, 32124, 120)
    assert audio.slin_to_ulaw(struct.pack("<4h", 0, 32767, -32768, -1)) == bytes([0xFF, 0x80, 0x00, 0x7F])


def test_alaw_known_values():
    assert audio.alaw_to_slin(bytes([0xD5, 0x55, 0xAA, 0x2A, 0x80])) == struct.pack("<5h", 8, -8, 32256, -32256, 5504)
    assert audio.slin_to_alaw(struct.pack("<3h", 0, 32767, -32768)) == bytes([0xD5, 0xAA, 0x2A])


@pytest.mark.parametrize("encode, reference", [(audio.slin_to_ulaw, reference_ulaw),
                                               (audio.slin_to_alaw, reference_alaw)])
def test_encoders_match_the_reference_for_every_sample(encode, reference):
    encoded = encode(ALL_SAMPLES.tobytes())
    assert len(encoded) == ALL_SAMPLES.size
    assert list(encoded) == [reference(int(sample)) for sample in ALL_SAMPLES]


@pytest.mark.parametrize("encode, decode", [(audio.slin_to_ulaw, audio.ulaw_to_slin),
                                            (audio.slin_to_alaw, audio.alaw_to_slin)])
def test_round_trip_within_the_quantisation_error(encode, decode):
    original = ALL_SAMPLES.astype(np.int64)
    decoded = samples(decode(encode(ALL_SAMPLES.tobytes())))
    # G.711 keeps about 5 significant bits: the error is at most half a step, 1/32 of the value (+ a little).
    assert np.all(np.abs(decoded - original) <= np.abs(original) / 32 + 16)
    every_byte = bytes(range(256))
    assert decode(encode(decode(every_byte))) == decode(every_byte)  # decoded values are exact code points
    tone = audio.tone(1000, 0.2, 8000, 0.5)
    assert audio.level_db(decode(encode(tone))) == pytest.approx(audio.level_db(tone), abs=0.1)


# --- resampling -----------------------------------------------------------------------------------------

def test_resample_8k_to_16k_keeps_the_tone_and_doubles_the_length():
    pcm = audio.tone(1000, 1.0, 8000, 0.5)
    up = audio.resample(pcm, 8000, 16000)
    assert len(up) == 2 * len(pcm)
    assert abs(audio.dominant_frequency(up, 16000) - 1000) <= 1
    assert audio.level_db(up) == pytest.approx(audio.level_db(pcm), abs=0.5)
    # Between the edges the result is the 1 kHz sine at 16 kHz itself.
    middle = slice(1000, -1000)
    assert np.max(np.abs(samples(up)[middle] - samples(audio.tone(1000, 1.0, 16000, 0.5))[middle])) < 60


def test_resample_16k_to_8k_filters_what_8k_cannot_hold():
    low, high = audio.tone(1000, 1.0, 16000, 0.5), audio.tone(5000, 1.0, 16000, 0.5)
    low_down, high_down = audio.resample(low, 16000, 8000), audio.resample(high, 16000, 8000)
    assert len(low_down) == len(low) // 2
    assert audio.level_db(low_down) == pytest.approx(audio.level_db(low), abs=1.0)
    assert abs(audio.dominant_frequency(low_down, 8000) - 1000) <= 1
    # Decimating (or interpolating linearly) would fold 5 kHz to 3 kHz at nearly full level.
    assert audio.level_db(high_down) <= audio.level_db(high) - 30
    assert audio.is_silent(high_down[1600:-1600], threshold_db=-80)  # away from the tone's sudden start and end


def test_resample_other_ratios_and_trivial_cases():
    pcm = audio.tone(440, 1.0, 44100, 0.5)
    down = audio.resample(pcm, 44100, 8000)
    assert len(down) == 16000
    assert abs(audio.dominant_frequency(down, 8000) - 440) <= 2
    assert audio.level_db(down) == pytest.approx(audio.level_db(pcm), abs=0.5)
    assert audio.resample(pcm, 44100, 44100) == pcm
    assert audio.resample(b"", 8000, 16000) == b""


# --- WAV ------------------------------------------------------------------------------------------------

def test_wav_round_trip(tmp_path):
    pcm = audio.tone(440, 0.25, 8000) + audio.noise(0.25, 8000, seed=3)
    data = audio.wav_bytes(pcm, 8000)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) == 44 + len(pcm)
    assert audio.read_wav(data) == (pcm, 8000)
    path = tmp_path / "tone.wav"
    audio.write_wav(path, pcm, 8000)
    assert audio.read_wav(path) == (pcm, 8000)
    assert audio.read_wav(str(path)) == (pcm, 8000)
    with wave.open(str(path)) as reader:  # a file any tool reads
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.readframes(reader.getnframes()) == pcm


def test_read_mu_law_and_a_law_wavs():
    pcm = audio.tone(440, 0.1, 8000, 0.5)
    ulaw, alaw = audio.slin_to_ulaw(pcm), audio.slin_to_alaw(pcm)
    assert audio.read_wav(wav_by_hand(7, ulaw)) == (audio.ulaw_to_slin(ulaw), 8000)
    assert audio.read_wav(wav_by_hand(6, alaw)) == (audio.alaw_to_slin(alaw), 8000)
    assert audio.read_wav(wav_by_hand(7, ulaw[:-1]))[0] == audio.ulaw_to_slin(ulaw[:-1])  # odd size: a pad byte


def test_read_8_bit_and_stereo_wavs(tmp_path):
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(1), out.setframerate(8000)
        out.writeframes(bytes([128, 255, 0, 192]))
    assert audio.read_wav(path) == (struct.pack("<4h", 0, 127 * 256, -128 * 256, 64 * 256), 8000)

    left, right = samples(audio.tone(440, 0.1, 16000, 0.4)), samples(audio.tone(1000, 0.1, 16000, 0.2))
    stereo = np.column_stack([left, right]).astype("<i2").tobytes()
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as out:
        out.setnchannels(2), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(stereo)
    mono, rate = audio.read_wav(tmp_path / "stereo.wav")
    assert rate == 16000 and len(mono) == len(stereo) // 2
    assert np.max(np.abs(samples(mono) - (left + right) / 2)) <= 0.5


def test_unsupported_wavs_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="24-bit PCM.*reads 8- or 16-bit PCM"):
        with wave.open(str(tmp_path / "deep.wav"), "wb") as out:
            out.setnchannels(1), out.setsampwidth(3), out.setframerate(8000)
            out.writeframes(bytes(30))
        audio.read_wav(tmp_path / "deep.wav")
    with pytest.raises(ValueError, match=r"32-bit floating point \(format 3\).*mu-law \(format 7\)"):
        audio.read_wav(wav_by_hand(3, bytes(16), bits=32))
    with pytest.raises(ValueError, match="not a WAV file"):
        audio.read_wav(b"ID3 this is an mp3")
    with pytest.raises(ValueError, match="no 'data' chunk"):
        audio.read_wav(wav_by_hand(7, b"")[:-8])


# --- Audio ----------------------------------------------------------------------------------------------

def test_audio_object():
    clip = audio.Audio(audio.tone(440, 1.5, 16000, 0.1), title="A4")
    assert (clip.rate, clip.title, clip.duration, len(clip)) == (16000, "A4", 1.5, 48000)
    assert re.fullmatch(r"<Audio 1\.50 s 16000 Hz -23\.0 dBFS 'A4'>", repr(clip))
    assert clip.rms() == audio.rms(clip.pcm) and clip.level_db() == pytest.approx(-23.0, abs=0.05)
    assert abs(clip.dominant_frequency() - 440) <= 1
    assert len(clip.levels(0.5)) == 3
    assert clip.data == audio.wav_bytes(clip.pcm, 16000)

    page = clip._repr_html_()
    assert page.startswith("<") and "<audio controls" in page and "autoplay" not in page
    assert "A4" in page and "1.50 s" in page and "-23.0 dBFS" in page
    encoded = re.search(r'src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', page).group(1)
    assert audio.read_wav(base64.b64decode(encoded)) == (clip.pcm, 16000)
    assert "autoplay" in audio.Audio(clip.pcm, autoplay=True)._repr_html_()
    assert "&lt;b&gt;" in audio.Audio(b"", title="<b>")._repr_html_()


def test_audio_join_resample_and_files(tmp_path):
    beep = audio.Audio(audio.tone(1000, 0.5, 8000), 8000, title="beep")
    gap = audio.Audio(audio.silence(0.25, 8000), 8000)
    both = beep + gap
    assert both.pcm == beep.pcm + gap.pcm and both.duration == 0.75 and both.title == "beep"
    assert repr(gap) == "<Audio 0.25 s 8000 Hz -120.0 dBFS>"
    with pytest.raises(ValueError, match="same rate"):
        beep + audio.Audio(audio.silence(0.1, 16000))

    wide = beep.resampled(16000)
    assert (wide.rate, len(wide), wide.title) == (16000, 2 * len(beep), "beep")
    assert abs(wide.dominant_frequency() - 1000) <= 1

    beep.save(tmp_path / "beep.wav")
    loaded = audio.Audio.from_wav(tmp_path / "beep.wav")
    assert (loaded.pcm, loaded.rate, loaded.title) == (beep.pcm, 8000, "beep.wav")
    assert audio.Audio.from_wav(beep.data, title="again").title == "again"


# --- errors ---------------------------------------------------------------------------------------------

ODD = b"\x01\x02\x03"


@pytest.mark.parametrize("call", [
    lambda: audio.rms(ODD), lambda: audio.level_db(ODD), lambda: audio.dominant_frequency(ODD),
    lambda: audio.levels(ODD), lambda: audio.slin_to_ulaw(ODD), lambda: audio.slin_to_alaw(ODD),
    lambda: audio.resample(ODD, 8000, 16000), lambda: audio.wav_bytes(ODD), lambda: audio.Audio(ODD),
])
def test_odd_length_pcm_is_refused(call):
    with pytest.raises(ValueError, match=r"slin audio has 2 bytes per sample; got an odd length \(3 bytes\)"):
        call()


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="rate must be a positive whole number.*8000.*16000"):
        audio.tone(rate=0)
    with pytest.raises(ValueError, match="to_rate must be a positive whole number"):
        audio.resample(b"", 8000, 8000.5)
    with pytest.raises(ValueError, match="below half the rate"):
        audio.tone(5000, rate=8000)
    with pytest.raises(ValueError, match="amplitude"):
        audio.tone(amplitude=1.5)
    with pytest.raises(ValueError, match="seconds"):
        audio.silence(-1)
    with pytest.raises(ValueError, match="window"):
        audio.levels(b"", window=0)
    with pytest.raises(TypeError, match="slin audio is bytes"):
        audio.rms("not audio")

