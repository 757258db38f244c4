"""Speech in: offline recognition (pocketsphinx's English model) of one utterance against a small grammar."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from .. import audio
from ..errors import VoiceUnavailable

#: What callers may ask for: intent -> the words that mean it.
INTENTS: dict[str, list[str]] = {
    "sales": ["sales"],
    "billing": ["billing", "bill"],
    "agent": ["agent", "person", "human", "operator"],
}

#: How a phone line makes the model hear some words: extra pronunciations (ARPAbet, as in pocketsphinx's dictionary)
#: added beside the dictionary's own. A line carries sound up to 4 kHz; most of /s/ and /z/ lies above it, so the
#: English model (trained on wideband speech) hears "sales" (S EY L Z) without its /s/ and with its /z/ as a /v/
#: (its phone decoder hears the lab's callers say "AY IY L F"). Measured below, at _LEAD.
TELEPHONE_PRONUNCIATIONS: dict[str, list[str]] = {
    "sales": ["EY L Z", "EY L V"],
}

# What callers say around the word that matters ("I'd like to talk to ... please"). A lead-in is a whole phrase:
# a bare "can i" or "i want" before the word is what room noise before the speech decodes to.
# Measured on 72 live turns of the lab's callers (the nine phrases of tests/test_voice_bot.py, four times, on 8 kHz
# and 16 kHz lines), routed right: 45 with the dictionary alone and fragments allowed as lead-ins; 67 with
# TELEPHONE_PRONUNCIATIONS; 71 with both these lead-ins and those pronunciations; 48 with these lead-ins alone.
_LEAD = ("[hello] ((i'd | i would) like to | i want to | can i | could i | let me) (talk | speak) to [a | an | the] "
         "| i have a question about [my] | [a | an | the]")
_TAIL = "[department] [please]"


@dataclass
class Recognised:
    """What the recogniser made of an utterance: its words and the intent they name (None: not understood)."""

    text: str
    intent: str | None
    seconds: float = 0.0     # how long recognising took

    def __repr__(self) -> str:
        return f"<Recognised {self.text!r} -> {self.intent}>"


def grammar(intents: dict[str, list[str]] | None = None) -> str:
    """The JSGF grammar of what callers may say: [a lead-in] one of the intents' words [department] [please]."""
    intents = INTENTS if intents is None else intents
    words = [w.lower() for ws in intents.values() for w in ws]
    for word in words:
        if not re.fullmatch(r"[a-z][a-z' ]*", word):
            raise ValueError(f"intent word {word!r}: use lower-case English words (letters, apostrophes, spaces)")
    return (f"#JSGF V1.0;\ngrammar callers;\npublic <utterance> = [<lead>] <key> [<tail>];\n"
            f"<lead> = {_LEAD};\n<key> = {' | '.join(words)};\n<tail> = {_TAIL};\n")


_decoders: dict[str, object] = {}
_decoder_lock = threading.Lock()


def _decoder(jsgf: str):
    """A pocketsphinx decoder for this grammar (made once: about 0.2 s)."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise VoiceUnavailable(
            "pocketsphinx (speech recognition) is not installed in this Python: install it with "
            "`.venv/bin/pip install -r requirements.txt` (or `pip install pocketsphinx`), "
            "or pass your own recogniser, a function recognise(pcm, rate, intents) -> Recognised") from None
    decoder = _decoders.get(jsgf)
    if decoder is None:
        decoder = Decoder(samprate=16000, lm=None, loglevel="FATAL")
        for word, pronunciations in TELEPHONE_PRONUNCIATIONS.items():
            if decoder.lookup_word(word) is not None:
                for n, phones in enumerate(pronunciations, start=2):
                    decoder.add_word(f"{word}({n})", phones, False)
        decoder.add_jsgf_string("callers", jsgf)
        decoder.activate_search("callers")
        _decoders[jsgf] = decoder
    return decoder


def recognise(pcm: bytes, rate: int = 16000, intents: dict[str, list[str]] | None = None) -> Recognised:
    """Offline speech recognition (pocketsphinx's English model) of one utterance against a small grammar."""
    intents = INTENTS if intents is None else intents
    started = time.monotonic()
    x = _telephone_band(pcm, rate)
    quiet = audio.silence(0.3, 16000)
    with _decoder_lock:
        decoder = _decoder(grammar(intents))
        decoder.start_utt()
        decoder.process_raw(quiet + x + quiet, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    text = re.sub(r"\(\d+\)", "", hyp.hypstr) if hyp is not None else ""     # "sales(2)": a word's 2nd pronunciation
    return Recognised(text, intent_of(text, intents), time.monotonic() - started)


def _telephone_band(pcm: bytes, rate: int) -> bytes:
    """The audio as a phone line carries it (up to 4 kHz), at 16 kHz with a faint hiss above 4 kHz.

    The English model was trained on wideband speech, whose spectrum above 4 kHz is never empty; a
    call's is (or holds only resampling noise). Measured on 24 live turns of the lab's callers: 11
    routed right as is, 15-16 with this hiss (at 50 to 400 alike), 8 without the band limit.
    """
    x = np.frombuffer(audio.resample(audio.resample(pcm, rate, 8000), 8000, 16000), "<i2").astype(np.float64)
    white = np.random.default_rng(0).normal(0.0, 1.0, x.size)     # the same hiss every time: repeatable results
    hiss = np.diff(np.diff(white, prepend=0.0), prepend=0.0)      # a second difference: mostly high frequencies
    return np.clip(np.rint(x + 100.0 * hiss), -32768, 32767).astype("<i2").tobytes()


def intent_of(text: str, intents: dict[str, list[str]] | None = None) -> str | None:
    """The first intent whose word appears in `text` (None if none does)."""
    intents = INTENTS if intents is None else intents
    spoken = " " + " ".join(re.findall(r"[a-z']+", text.lower())) + " "
    found = [(spoken.find(f" {w.lower()} "), name) for name, ws in intents.items() for w in ws
             if f" {w.lower()} " in spoken]
    return min(found)[1] if found else None
