"""Measuring sound: its level, its main frequency, its level over time, whether it is silent."""

from __future__ import annotations

import numpy as np

from ._slin import check_rate, samples

#: The level `level_db` reports for silence (and empty audio) instead of minus infinity.
SILENCE_DB = -120.0


def rms(pcm: bytes) -> float:
    """Root mean square of the samples (0 to 32767 scale; 0.0 for empty audio)."""
    x = samples(pcm).astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def level_db(pcm: bytes) -> float:
    """Level in dBFS, 20*log10(rms/32768): 0 is a full-scale square wave, -120.0 means silence or empty."""
    value = rms(pcm)
    return max(SILENCE_DB, 20 * float(np.log10(value / 32768))) if value > 0 else SILENCE_DB


def dominant_frequency(pcm: bytes, rate: int = 16000) -> float:
    """Frequency in Hz of the strongest spectral peak (0.0 for silence or audio under 32 samples)."""
    rate = check_rate(rate)
    x = samples(pcm).astype(np.float64)
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
    rate = check_rate(rate)
    if not window > 0:
        raise ValueError(f"window must be a positive number of seconds; got {window!r}")
    x = samples(pcm).astype(np.float64)
    step = max(1, round(window * rate))
    return [float(np.sqrt(np.mean(x[i:i + step] ** 2))) for i in range(0, x.size, step)]


def is_silent(pcm: bytes, threshold_db: float = -50.0) -> bool:
    """True when the level is below `threshold_db` dBFS (empty audio is silent)."""
    return level_db(pcm) < threshold_db
