"""WAV files: slin to a WAV file's bytes or a file on disk, and any common WAV back to slin."""

from __future__ import annotations

import io
import os
import struct
import wave

import numpy as np

from ._slin import check_pcm, check_rate, to_pcm
from .codecs import alaw_to_slin, ulaw_to_slin

_SUPPORTED = "read_wav reads 8- or 16-bit PCM (format 1), A-law (format 6) and mu-law (format 7) WAVs"


def wav_bytes(pcm: bytes, rate: int = 16000) -> bytes:
    """A RIFF WAV file (16-bit PCM, mono) holding slin audio."""
    pcm, rate = check_pcm(pcm), check_rate(rate)
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
        decode = alaw_to_slin if tag == 6 else ulaw_to_slin
        samples = np.frombuffer(decode(body), dtype="<i2").astype(np.int32)
    else:
        kinds = {1: "PCM", 3: "floating point", 6: "A-law", 7: "mu-law"}
        kind = kinds.get(tag, "compressed")
        raise ValueError(f"unsupported WAV: {bits}-bit {kind} (format {tag}); {_SUPPORTED}")
    samples = samples[:samples.size // channels * channels]
    if channels > 1:
        return to_pcm(samples.reshape(-1, channels).mean(axis=1)), int(rate)
    return samples.astype("<i2").tobytes(), int(rate)
