"""A piece of audio that Jupyter plays (`Audio`), and a recording's bytes made into one (`recording_audio`)."""

from __future__ import annotations

import base64
import html
import os

import numpy as np

from ._slin import check_pcm, check_rate, samples
from .codecs import alaw_to_slin, resample, ulaw_to_slin
from .measurement import dominant_frequency, level_db, levels, rms
from .wav import read_wav, wav_bytes, write_wav


class Audio:
    """Slin audio with its rate: shows as an audio player in Jupyter, with its title, length and level."""

    def __init__(self, pcm: bytes, rate: int = 16000, *, title: str = "", autoplay: bool = False):
        self.pcm = check_pcm(pcm)
        self.rate = check_rate(rate)
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
        x = samples(self.pcm).astype(np.float64) / 32768.0
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
