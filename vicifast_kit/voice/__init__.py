"""A voice bot's parts, all offline: a voice (text to speech with espeak-ng), an ear (pocketsphinx with a
small grammar), turn-taking (Asterisk's TALK_DETECT events and the audio's own level) and a router.

Each part is a plain function, so you can swap one for your own service: ``speak(text, rate) -> slin``
and ``recognise(pcm, rate, intents) -> Recognised`` are all `route()` needs. What a production system
adds is said in notebook 09: streaming recognition, a natural voice, endpointing tuned on real calls.

The parts, one job each: `speaking` (speech out), `recognition` (speech in), `turns` (turn-taking),
`routing` (the router) and `plot` (LevelPlot); every name is here too: ``vk.voice.speak("Hello")``.
"""

from __future__ import annotations

from .plot import LevelPlot
from .recognition import INTENTS, TELEPHONE_PRONUNCIATIONS, Recognised, grammar, intent_of, recognise
from .routing import GREETING, KEYS, RETRY, Routing, route
from .speaking import speak
from .turns import Turn, speech_spans, stop_talk_detect, take_turn, talk_detect

__all__ = [
    "speak", "recognise", "grammar", "intent_of", "Recognised", "INTENTS", "TELEPHONE_PRONUNCIATIONS",
    "talk_detect", "stop_talk_detect", "speech_spans", "take_turn", "Turn",
    "route", "Routing", "KEYS", "GREETING", "RETRY", "LevelPlot",
]
