"""Speech out: text to speech made offline with espeak-ng."""

from __future__ import annotations

import functools
import shutil
import subprocess

from .. import audio
from ..errors import VoiceUnavailable

INSTALL_ESPEAK = ("install it with `apt-get install espeak-ng` (scripts/setup does it), or pass your own voice, "
                  "a function speak(text, rate) -> slin bytes")


def speak(text: str, rate: int = 16000, speed: int = 160) -> bytes:
    """Text to speech made offline with espeak-ng: slin at `rate` (words a minute: `speed`)."""
    return _speak(str(text), int(rate), int(speed))


@functools.lru_cache(maxsize=64)
def _speak(text: str, rate: int, speed: int) -> bytes:
    """speak() for checked arguments, remembered: a bot says its prompts again and again."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise VoiceUnavailable(f"espeak-ng (text to speech) is not installed here: {INSTALL_ESPEAK}")
    try:
        done = subprocess.run([program, "-v", "en-us", "-s", str(speed), "--stdout"], input=text.encode("utf-8"),
                              capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        raise VoiceUnavailable(f"espeak-ng did not finish speaking {text[:40]!r} within 30 s: is the machine "
                               "overloaded? Try again, or pass your own voice") from None
    if done.returncode != 0 or not done.stdout:
        raise VoiceUnavailable(f"espeak-ng could not speak {text[:40]!r} "
                               f"({done.stderr.decode(errors='replace').strip() or f'exit code {done.returncode}'}): "
                               "check that `espeak-ng --voices=en` lists an English voice, or reinstall it with "
                               "`apt-get install --reinstall espeak-ng espeak-ng-data`")
    pcm, wav_rate = audio.read_wav(done.stdout)
    return audio.resample(pcm, wav_rate, rate)
