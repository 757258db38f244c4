"""Sound for teaching and tests: make, measure, convert, save and play "slin" audio.

Asterisk calls raw audio "slin" (signed linear): a list of numbers, one for each moment in time, that say
where the loudspeaker cone should be. Each number (a *sample*) is a signed 16-bit integer from -32768 to
32767, stored in two bytes, low byte first (little-endian); one channel (mono), nothing else - no header.
The *rate* says how many samples make one second: 8000 for plain "slin" (telephone quality, sounds up to
4 kHz) and 16000 for "slin16" (wideband, up to 8 kHz). So one second of slin16 is 32000 bytes.

Here such audio is plain ``bytes``. Telephone lines usually carry it compressed to one byte a sample with
G.711 (mu-law in North America and Japan, A-law elsewhere): `ulaw_to_slin` and friends convert. `Audio`
wraps the bytes and plays inline in Jupyter (JupyterLab, VS Code, nbviewer).

The parts, one job each: `synthesis` (tone, silence, noise), `measurement` (rms, level_db, ...), `codecs`
(G.711, resample), `wav` (WAV files) and `player` (Audio, recording_audio); every name is here too:
``from vicifast_kit import audio; audio.tone(440)``.
"""

from __future__ import annotations

from .codecs import alaw_to_slin, resample, slin_to_alaw, slin_to_ulaw, ulaw_to_slin
from .measurement import SILENCE_DB, dominant_frequency, is_silent, level_db, levels, rms
from .player import Audio, recording_audio
from .synthesis import noise, silence, tone
from .wav import read_wav, wav_bytes, write_wav

__all__ = [
    "tone", "silence", "noise", "rms", "level_db", "dominant_frequency", "levels", "is_silent", "SILENCE_DB",
    "ulaw_to_slin", "slin_to_ulaw", "alaw_to_slin", "slin_to_alaw", "resample",
    "wav_bytes", "read_wav", "write_wav", "Audio", "recording_audio",
]
