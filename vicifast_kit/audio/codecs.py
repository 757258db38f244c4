"""Converting sound: G.711 mu-law and A-law (one byte a sample) to and from slin, and changing the rate."""

from __future__ import annotations

import numpy as np

from ._slin import check_rate, samples, to_pcm


# --- G.711: mu-law and A-law ------------------------------------------------------------------------------

def _ulaw_decode_table() -> np.ndarray:
    """The slin sample of every mu-law byte."""
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
    """The slin sample of every A-law byte."""
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
    """G.711 audio as bytes, or TypeError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"G.711 audio is bytes (one byte a sample); got {type(data).__name__}")
    return bytes(data)


def ulaw_to_slin(data: bytes) -> bytes:
    """G.711 mu-law bytes to slin (the exact ITU decoding table)."""
    return _ULAW_DECODE[np.frombuffer(_bytes_of(data), dtype=np.uint8)].astype("<i2").tobytes()


def slin_to_ulaw(pcm: bytes) -> bytes:
    """Slin to G.711 mu-law bytes (the standard encoder: bias 0x84, clip at 32635)."""
    return _ULAW_ENCODE[samples(pcm).view(np.uint16)].tobytes()


def alaw_to_slin(data: bytes) -> bytes:
    """G.711 A-law bytes to slin (the exact ITU decoding table)."""
    return _ALAW_DECODE[np.frombuffer(_bytes_of(data), dtype=np.uint8)].astype("<i2").tobytes()


def slin_to_alaw(pcm: bytes) -> bytes:
    """Slin to G.711 A-law bytes (the standard encoder, even bits inverted with 0x55)."""
    return _ALAW_ENCODE[samples(pcm).view(np.uint16)].tobytes()


# --- changing the rate -------------------------------------------------------------------------------------

_SINC_ZEROS = 24  # zero crossings of the sinc on each side: the length (and sharpness) of the filter
_KAISER_BETA = 8.0  # about 80 dB of stop-band attenuation
_CUTOFF = 0.9  # the pass band ends at 90% of the lower rate's Nyquist frequency


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Slin at `from_rate` to slin at `to_rate` (any ratio), through a Kaiser-windowed sinc low-pass filter."""
    from_rate, to_rate = check_rate(from_rate, "from_rate"), check_rate(to_rate, "to_rate")
    x = samples(pcm).astype(np.float64)
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
    return to_pcm(out)
