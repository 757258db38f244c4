"""Sound for teaching and tests: make, measure, convert, save and play "slin" audio.

Asterisk calls raw audio "slin" (signed linear): a list of numbers, one for each moment in time, that say
where the loudspeaker cone should be. Each number (a *sample*) is a signed 16-bit integer from -32768 to
32767, stored in two bytes, low byte first (little-endian); one channel (mono), nothing else - no header.
The *rate* says how many samples make one second: 8000 for plain "slin" (telephone quality, sounds up to
4 kHz) and 16000 for "slin16" (wideband, up to 8 kHz). So one second of slin16 is 32000 bytes.

Here such audio is plain ``bytes``. Telephone lines usually carry it compressed to one byte a sample with
G.711 (mu-law in North America and Japan, A-law elsewhere): `ulaw_to_slin` and friends convert. `Audio`
wraps the bytes and plays inline in Jupyter (JupyterLab, VS Code, nbviewer).
"""

from __future__ import annotations

import base64
import html
import io
import os
import struct
import wave

import numpy as np

__all__ = [
    "tone", "silence", "noise", "rms", "level_db", "dominant_frequency", "levels", "is_silent",
    "ulaw_to_slin", "slin_to_ulaw", "alaw_to_slin", "slin_to_alaw", "resample",
    "wav_bytes", "read_wav", "write_wav", "Audio",
]

#: The level `level_db` reports for silence (and empty audio) instead of minus infinity.
SILENCE_DB = -120.0
_FULL_SCALE = 32767


# --- checking and converting ---------------------------------------------------------------------------

def _check_pcm(pcm) -> bytes:
    if not isinstance(pcm, (bytes, bytearray, memoryview)):
        raise TypeError(f"slin audio is bytes (16-bit little-endian mono samples); got {type(pcm).__name__}")
    pcm = bytes(pcm)
    if len(pcm) % 2:
        raise ValueError(f"slin audio has 2 bytes per sample; got an odd length ({len(pcm)} bytes)")
    return pcm


def _check_rate(rate, name: str = "rate") -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"{name} must be a positive whole number of samples per second, "
                         f"such as 8000 (slin) or 16000 (slin16); got {rate!r}")
    return int(rate)


def _check_seconds(seconds: float) -> float:
    if not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be zero or more; got {seconds!r}")
    return float(seconds)


def _check_amplitude(amplitude: float) -> float:
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError(f"amplitude is a fraction of full scale, from 0.0 to 1.0; got {amplitude!r}")
    return float(amplitude)


def _samples(pcm) -> np.ndarray:
    """The samples of slin audio as int16 numbers."""
    return np.frombuffer(_check_pcm(pcm), dtype="<i2")


def _to_pcm(values: np.ndarray) -> bytes:
    """Samples (any numbers) rounded and clipped to 16 bits, as slin bytes."""
    return np.clip(np.rint(values), -32768, 32767).astype("<i2").tobytes()


# --- making sound ----------------------------------------------------------------------------------------

def tone(frequency: float = 440.0, seconds: float = 1.0, rate: int = 16000, amplitude: float = 0.3) -> bytes:
    """A sine tone as slin: `amplitude` is its peak as a fraction of full scale."""
    rate = _check_rate(rate)
    if not 0.0 <= frequency < rate / 2:
        raise ValueError(f"frequency must be from 0 to below half the rate ({rate / 2:g} Hz at {rate} Hz); "
                         f"got {frequency!r}")
    n = round(_check_seconds(seconds) * rate)
    t = np.arange(n) / rate
    return _to_pcm(_check_amplitude(amplitude) * _FULL_SCALE * np.sin(2 * np.pi * frequency * t))


def silence(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """Digital silence (all samples zero) as slin."""
    return bytes(2 * round(_check_seconds(seconds) * _check_rate(rate)))


def noise(seconds: float = 1.0, rate: int = 16000, amplitude: float = 0.02, seed: int | None = None) -> bytes:
    """Quiet white noise, like a room, as slin: `amplitude` is its RMS as a fraction of full scale."""
    n = round(_check_seconds(seconds) * _check_rate(rate))
    rng = np.random.default_rng(seed)
    return _to_pcm(rng.normal(0.0, _check_amplitude(amplitude) * _FULL_SCALE, n))


# --- measuring sound -------------------------------------------------------------------------------------

def rms(pcm: bytes) -> float:
    """Root mean square of the samples (0 to 32767 scale; 0.0 for empty audio)."""
    x = _samples(pcm).astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def _db(value: float) -> float:
    return max(SILENCE_DB, 20 * float(np.log10(value / 32768))) if value > 0 else SILENCE_DB


def level_db(pcm: bytes) -> float:
    """Level in dBFS, 20*log10(rms/32768): 0 is a full-scale square wave, -120.0 means silence or empty."""
    return _db(rms(pcm))


def dominant_frequency(pcm: bytes, rate: int = 16000) -> float:
    """Frequency in Hz of the strongest spectral peak (0.0 for silence or audio under 32 samples)."""
    rate = _check_rate(rate)
    x = _samples(pcm).astype(np.float64)
    if x.size < 32:
        return 0.0
    x -= x.mean()
    if np.sqrt(np.mean(x * x)) < 1.0:
        return 0.0
    nfft = 1 << (2 * x.size - 1).bit_length()  # zero-padded to >= 2x: finer bins for the interpolation
    if nfft > 1 << 22:
        nfft = x.size
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), nfft))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    shift = 0.0
    if 0 < k < spectrum.size - 1:  # a parabola through the log magnitudes of the peak and its neighbours
        a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
        if a - 2 * b + c < 0:
            shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + shift) * rate / nfft)


def levels(pcm: bytes, rate: int = 16000, window: float = 0.1) -> list[float]:
    """RMS of each `window` seconds of the audio (the last may be shorter), for level-over-time plots."""
    rate = _check_rate(rate)
    if not window > 0:
        raise ValueError(f"window must be a positive number of seconds; got {window!r}")
    x = _samples(pcm).astype(np.float64)
    step = max(1, round(window * rate))
    return [float(np.sqrt(np.mean(x[i:i + step] ** 2))) for i in range(0, x.size, step)]


def is_silent(pcm: bytes, threshold_db: float = -50.0) -> bool:
    """True when the level is below `threshold_db` dBFS (empty audio is silent)."""
    return level_db(pcm) < threshold_db


# --- G.711: mu-law and A-law (one byte a sample) --------------------------------------------------------

def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _ulaw_encode_table() -> np.ndarray:
    """The mu-law byte of every 16-bit sample, indexed by the sample as an unsigned number."""
    x = np.arange(65536).astype(np.uint16).view(np.int16).astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84  # bias 0x84, clip 32635
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7  # 0..7: the segment
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256) ^ 0x55
    segment = (a & 0x70) >> 4
    t = ((a & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    t = t << np.maximum(segment - 1, 0)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _alaw_encode_table() -> np.ndarray:
    """The A-law byte of every 16-bit sample, indexed by the sample as an unsigned number."""
    x = np.arange(65536).astype(np.uint16).view(np.int16).astype(np.int32) >> 3  # 13 bits
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    segment = np.searchsorted([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], magnitude)
    mantissa = (magnitude >> np.maximum(segment, 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


_ULAW_DECODE, _ULAW_ENCODE = _ulaw_decode_table(), _ulaw_encode_table()
_ALAW_DECODE, _ALAW_ENCODE = _alaw_decode_table(), _alaw_encode_table()


def _bytes_of(data) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"G.711 audio is bytes (one byte a sample); got {type(data).__name__}")
    return bytes(data)


def ulaw_to_slin(data: bytes) -> bytes:
    """G.711 mu-law bytes to slin (the exact ITU decoding table)."""
    return _ULAW_DECODE[np.frombuffer(_bytes_of(data), dtype=np.uint8)].astype("<i2").tobytes()


def slin_to_ulaw(pcm: bytes) -> bytes:
    """Slin to G.711 mu-law bytes (the standard encoder: bias 0x84, clip at 32635)."""
    return _ULAW_ENCODE[_samples(pcm).view(np.uint16)].tobytes()


def alaw_to_slin(data: bytes) -> bytes:
    """G.711 A-law bytes to slin (the exact ITU decoding table)."""
    return _ALAW_DECODE[np.frombuffer(_bytes_of(data), dtype=np.uint8)].astype("<i2").tobytes()


def slin_to_alaw(pcm: bytes) -> bytes:
    """Slin to G.711 A-law bytes (the standard encoder, even bits inverted with 0x55)."""
    return _ALAW_ENCODE[_samples(pcm).view(np.uint16)].tobytes()


# --- changing the rate -----------------------------------------------------------------------------------

_SINC_ZEROS = 24  # zero crossings of the sinc on each side: the length (and sharpness) of the filter
_KAISER_BETA = 8.0  # about 80 dB of stop-band attenuation
_CUTOFF = 0.9  # the pass band ends at 90% of the lower rate's Nyquist frequency


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Slin at `from_rate` to slin at `to_rate` (any ratio), through a Kaiser-windowed sinc low-pass filter."""
    from_rate, to_rate = _check_rate(from_rate, "from_rate"), _check_rate(to_rate, "to_rate")
    x = _samples(pcm).astype(np.float64)
    if from_rate == to_rate or not x.size:
        return bytes(pcm)
    n_out = (x.size * to_rate + from_rate // 2) // from_rate
    # Each output sample is a weighted sum of the input samples around its moment in time; the weights are
    # a sinc that passes only what both rates can hold (cutoff in cycles per input sample), windowed.
    cutoff = 0.5 * min(1.0, to_rate / from_rate) * _CUTOFF
    half = int(np.ceil(_SINC_ZEROS / (2 * cutoff)))
    offsets = np.arange(-half, half + 2)
    padded = np.concatenate([np.zeros(half + 1), x, np.zeros(half + 1)])
    out = np.empty(n_out)
    block = max(256, (1 << 20) // offsets.size)
    for start in range(0, n_out, block):
        position = np.arange(start, min(start + block, n_out), dtype=np.int64) * from_rate
        base, phase = position // to_rate, position % to_rate
        phases, which = np.unique(phase, return_inverse=True)
        distance = (phases / to_rate)[:, None] - offsets[None, :]
        weights = np.sinc(2 * cutoff * distance) * np.i0(
            _KAISER_BETA * np.sqrt(np.clip(1 - (distance / (half + 1)) ** 2, 0, 1)))
        weights /= weights.sum(axis=1, keepdims=True)
        out[start:start + base.size] = np.einsum(
            "ij,ij->i", padded[base[:, None] + offsets[None, :] + half + 1], weights[which.reshape(-1)])
    return _to_pcm(out)


# --- WAV files -------------------------------------------------------------------------------------------

def wav_bytes(pcm: bytes, rate: int = 16000) -> bytes:
    """A RIFF WAV file (16-bit PCM, mono) holding slin audio."""
    pcm, rate = _check_pcm(pcm), _check_rate(rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def write_wav(path: str | os.PathLike, pcm: bytes, rate: int = 16000) -> None:
    """Save slin audio as a WAV file (16-bit PCM, mono)."""
    with open(path, "wb") as file:
        file.write(wav_bytes(pcm, rate))


_WAV_SUPPORTED = "read_wav reads 8- or 16-bit PCM (format 1), A-law (format 6) and mu-law (format 7) WAVs"


def read_wav(source: str | os.PathLike | bytes) -> tuple[bytes, int]:
    """(slin mono, rate) from a WAV file or its bytes: 8/16-bit PCM, mu-law or A-law; channels mixed down."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        with open(source, "rb") as file:
            data = file.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file: it does not start with a RIFF/WAVE header")
    fmt = body = None
    position = 12
    while position + 8 <= len(data):  # the chunks: 4-byte name, 4-byte size, content (padded to even)
        name, size = struct.unpack_from("<4sI", data, position)
        content = data[position + 8:position + 8 + size]
        if name == b"fmt ":
            fmt = content
        elif name == b"data" and body is None:
            body = content
        position += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise ValueError("not a usable WAV file: it has no 'fmt ' chunk")
    if body is None:
        raise ValueError("not a usable WAV file: it has no 'data' chunk")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID
        tag = struct.unpack_from("<H", fmt, 24)[0]
    if channels < 1 or rate < 1:
        raise ValueError(f"not a usable WAV file: {channels} channels at {rate} Hz")
    if tag == 1 and bits == 16:
        samples = np.frombuffer(body[:len(body) // 2 * 2], dtype="<i2").astype(np.int32)
    elif tag == 1 and bits == 8:  # 8-bit PCM is unsigned, silence at 128
        samples = (np.frombuffer(body, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif tag in (6, 7) and bits == 8:
        table = _ALAW_DECODE if tag == 6 else _ULAW_DECODE
        samples = table[np.frombuffer(body, dtype=np.uint8)].astype(np.int32)
    else:
        kinds = {1: "PCM", 3: "floating point", 6: "A-law", 7: "mu-law"}
        kind = kinds.get(tag, "compressed")
        raise ValueError(f"unsupported WAV: {bits}-bit {kind} (format {tag}); {_WAV_SUPPORTED}")
    samples = samples[:samples.size // channels * channels]
    if channels > 1:
        return _to_pcm(samples.reshape(-1, channels).mean(axis=1)), int(rate)
    return samples.astype("<i2").tobytes(), int(rate)


# --- a piece of audio that Jupyter plays -----------------------------------------------------------------

class Audio:
    """Slin audio with its rate: shows as an audio player in Jupyter, with its title, length and level."""

    def __init__(self, pcm: bytes, rate: int = 16000, *, title: str = "", autoplay: bool = False):
        self.pcm = _check_pcm(pcm)
        self.rate = _check_rate(rate)
        self.title = str(title)
        self.autoplay = bool(autoplay)

    @classmethod
    def from_wav(cls, source: str | os.PathLike | bytes, *, title: str | None = None) -> Audio:
        """Audio read from a WAV file (or its bytes); titled with the file's name unless `title` is given."""
        pcm, rate = read_wav(source)
        if title is None:
            title = "" if isinstance(source, (bytes, bytearray, memoryview)) else os.path.basename(source)
        return cls(pcm, rate, title=title)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.rate

    @property
    def data(self) -> bytes:
        """The audio as a WAV file's bytes (like IPython.display.Audio.data)."""
        return wav_bytes(self.pcm, self.rate)

    def rms(self) -> float:
        """Root mean square of the samples (0 to 32767 scale)."""
        return rms(self.pcm)

    def level_db(self) -> float:
        """Level in dBFS (-120.0 for silence)."""
        return level_db(self.pcm)

    def dominant_frequency(self) -> float:
        """Frequency in Hz of the strongest spectral peak (0.0 for silence)."""
        return dominant_frequency(self.pcm, self.rate)

    def levels(self, window: float = 0.1) -> list[float]:
        """RMS of each `window` seconds, for level-over-time plots."""
        return levels(self.pcm, self.rate, window)

    def save(self, path: str | os.PathLike) -> None:
        """Save as a WAV file (16-bit PCM, mono)."""
        write_wav(path, self.pcm, self.rate)

    def resampled(self, rate: int) -> Audio:
        """The same audio at another rate."""
        return Audio(resample(self.pcm, self.rate, rate), rate, title=self.title, autoplay=self.autoplay)

    def _repr_html_(self) -> str:
        """An inline player (a data: URL WAV, as IPython.display.Audio uses) and a caption."""
        source = base64.b64encode(self.data).decode("ascii")
        autoplay = " autoplay" if self.autoplay else ""
        caption = " · ".join(part for part in (
            html.escape(self.title), f"{self.duration:.2f} s", f"{self.level_db():.1f} dBFS") if part)
        return (f'<div class="vicifast-audio">{self.waveform_svg()}<br><audio controls{autoplay} '
                f'src="data:audio/wav;base64,{source}"></audio>'
                f'<div style="font-size: smaller; opacity: 0.75">{caption}</div></div>')

    def waveform_svg(self, width: int = 300, height: int = 48) -> str:
        """The waveform as a small SVG picture (peaks per column), so a static view of a notebook shows it too."""
        x = _samples(self.pcm).astype(np.float64) / 32768.0
        columns = max(1, min(width, len(x)))
        path = []
        if len(x):
            for i, chunk in enumerate(np.array_split(x, columns)):
                top, bottom = float(chunk.max(initial=0.0)), float(chunk.min(initial=0.0))
                y1, y2 = (1 - top) * height / 2, (1 - bottom) * height / 2
                path.append(f"M{i + 0.5:.1f} {y1:.1f}V{max(y2, y1 + 0.5):.1f}")
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {columns} {height}" preserveAspectRatio="none" role="img" '
                f'aria-label="waveform"><rect width="100%" height="100%" fill="#f6f8fa"/>'
                f'<path d="{"".join(path)}" stroke="#0969da" stroke-width="1" fill="none"/></svg>')

    def __len__(self) -> int:
        return len(self.pcm)

    def __add__(self, other: Audio) -> Audio:
        if not isinstance(other, Audio):
            return NotImplemented
        if other.rate != self.rate:
            raise ValueError(f"can only join audio of the same rate: {self.rate} Hz + {other.rate} Hz "
                             "(use .resampled(rate) first)")
        title = " + ".join(t for t in (self.title, other.title) if t)
        return Audio(self.pcm + other.pcm, self.rate, title=title, autoplay=self.autoplay)

    def __repr__(self) -> str:
        title = f" {self.title!r}" if self.title else ""
        return f"<Audio {self.duration:.2f} s {self.rate} Hz {self.level_db():.1f} dBFS{title}>"


#: Recording formats (ARI record's format=) the kit can turn into audio, and how: (decoder, rate).
_RAW_RECORDING_FORMATS = {"sln": (None, 8000), "sln16": (None, 16000), "ulaw": (ulaw_to_slin, 8000),
                          "alaw": (alaw_to_slin, 8000)}


def recording_audio(data: bytes, format: str, *, title: str = "") -> Audio:
    """A recording file's bytes (ARI's /recordings/stored/NAME/file) in its ARI format as an Audio."""
    if format in ("wav", "wav16", "WAV") or data[:4] == b"RIFF":
        pcm, rate = read_wav(data)
        return Audio(pcm, rate, title=title)
    if format in _RAW_RECORDING_FORMATS:
        decode, rate = _RAW_RECORDING_FORMATS[format]
        return Audio(decode(data) if decode else bytes(data[: len(data) - len(data) % 2]), rate, title=title)
    raise ValueError(f"The kit cannot decode {format!r} recordings: record with format='wav' "
                     f"(or one of {', '.join(_RAW_RECORDING_FORMATS)}) to hear them")
