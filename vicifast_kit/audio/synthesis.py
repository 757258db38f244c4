"""Making sound: tones, silence and room noise as slin."""

from __future__ import annotations

import numpy as np

from ._slin import FULL_SCALE, check_amplitude, check_rate, check_seconds, to_pcm


def tone(frequency: float = 440.0, seconds: float = 1.0, rate: int = 16000, amplitude: float = 0.3) -> bytes:
    """A sine tone as slin: `amplitude` is its peak as a fraction of full scale."""
    rate = check_rate(rate)
    if not 0.0 <= frequency < rate / 2:
        raise ValueError(f"frequency must be from 0 to below half the rate ({rate / 2:g} Hz at {rate} Hz); "
                         f"got {frequency!r}")
    n = round(check_seconds(seconds) * rate)
    t = np.arange(n) / rate
    return to_pcm(check_amplitude(amplitude) * FULL_SCALE * np.sin(2 * np.pi * frequency * t))


def silence(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """Digital silence (all samples zero) as slin."""
    return bytes(2 * round(check_seconds(seconds) * check_rate(rate)))


def noise(seconds: float = 1.0, rate: int = 16000, amplitude: float = 0.02, seed: int | None = None) -> bytes:
    """Quiet white noise, like a room, as slin: `amplitude` is its RMS as a fraction of full scale."""
    n = round(check_seconds(seconds) * check_rate(rate))
    rng = np.random.default_rng(seed)
    return to_pcm(rng.normal(0.0, check_amplitude(amplitude) * FULL_SCALE, n))
