"""Checks and conversions shared by the audio modules: slin bytes <-> int16 samples, valid rates and lengths."""

from __future__ import annotations

import numpy as np

#: The largest sample value: amplitudes are fractions of it.
FULL_SCALE = 32767


def check_pcm(pcm) -> bytes:
    """`pcm` as bytes, or TypeError/ValueError if it is not slin audio (bytes, an even length)."""
    if not isinstance(pcm, (bytes, bytearray, memoryview)):
        raise TypeError(f"slin audio is bytes (16-bit little-endian mono samples); got {type(pcm).__name__}")
    pcm = bytes(pcm)
    if len(pcm) % 2:
        raise ValueError(f"slin audio has 2 bytes per sample; got an odd length ({len(pcm)} bytes)")
    return pcm


def check_rate(rate, name: str = "rate") -> int:
    """`rate` as an int, or ValueError if it is not a positive whole number of samples per second."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"{name} must be a positive whole number of samples per second, "
                         f"such as 8000 (slin) or 16000 (slin16); got {rate!r}")
    return int(rate)


def check_seconds(seconds: float) -> float:
    """`seconds` as a float, or ValueError if it is negative or not finite."""
    if not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be zero or more; got {seconds!r}")
    return float(seconds)


def check_amplitude(amplitude: float) -> float:
    """`amplitude` as a float, or ValueError if it is not a fraction of full scale (0.0 to 1.0)."""
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError(f"amplitude is a fraction of full scale, from 0.0 to 1.0; got {amplitude!r}")
    return float(amplitude)


def samples(pcm) -> np.ndarray:
    """The samples of slin audio as int16 numbers."""
    return np.frombuffer(check_pcm(pcm), dtype="<i2")


def to_pcm(values: np.ndarray) -> bytes:
    """Samples (any numbers) rounded and clipped to 16 bits, as slin bytes."""
    return np.clip(np.rint(values), -32768, 32767).astype("<i2").tobytes()
