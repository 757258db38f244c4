"""The router: greet a caller, hear what they want (speech or a key), ask again if not understood."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .recognition import INTENTS, Recognised, recognise
from .speaking import speak
from .turns import Turn, take_turn

if TYPE_CHECKING:  # pragma: no cover
    from ..handles import Channel
    from ..media.stream import MediaStream


#: The keys callers may press instead of talking: key -> intent.
KEYS: dict[str, str] = {"1": "sales", "2": "billing", "0": "agent"}


@dataclass
class Routing:
    """How a call was routed: the intent, how it was found ("speech" or "keys"), and each turn's story."""

    intent: str | None
    by: str = ""
    turns: list[Turn] = field(default_factory=list)
    heard: list[Recognised] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<Routing {self.intent} by {self.by or 'nothing'} after {len(self.turns)} turn(s)>"


GREETING = "Welcome to Vicifast. Say sales, billing, or agent. Or press 1 for sales, 2 for billing, 0 for an agent."
RETRY = "Sorry, I did not catch that. Please say sales, billing, or agent, or press a key."


def route(call: "Channel", stream: "MediaStream", *, speak: Callable[[str, int], bytes] = speak,
          recognise: Callable[..., Recognised] = recognise, intents: dict[str, list[str]] | None = None,
          keys: dict[str, str] | None = None, greeting: str = GREETING, retry: str = RETRY, tries: int = 2,
          timeout: float = 6.0) -> Routing:
    """Kit helper (take_turn over and over): greet the caller, hear what they want (speech or a key); the intent found.

    Asks again if not understood. Needs talk_detect(call) first. `speak` and `recognise` are plain functions: pass your own service's.
    """
    intents = INTENTS if intents is None else intents
    keys = KEYS if keys is None else keys
    result = Routing(None)
    prompt = greeting
    for attempt in range(tries):
        turn = take_turn(call, stream, speak(prompt, stream.rate), timeout=timeout)
        result.turns.append(turn)
        if turn.ended:
            result.log.append("the caller hung up")
            return result
        note = "barged in, " if turn.barged_in else ""
        if turn.digits:
            intent = keys.get(turn.digits[0])
            result.log.append(f"turn {attempt + 1}: {note}pressed {turn.digits!r} -> {intent}")
            if intent:
                result.intent, result.by = intent, "keys"
                return result
        elif turn.speech:
            heard = recognise(turn.speech, stream.rate, intents)
            result.heard.append(heard)
            result.log.append(f"turn {attempt + 1}: {note}heard {heard.text!r} -> {heard.intent}")
            if heard.intent:
                result.intent, result.by = heard.intent, "speech"
                return result
        else:
            result.log.append(f"turn {attempt + 1}: silence")
        prompt = retry
    return result
