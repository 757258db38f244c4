"""The check of notebook 09 (a voice bot): does the learner's grammar send the invoice to the right desk, and no one else astray?"""

from __future__ import annotations

from typing import Any

#: What callers say and where each belongs: the new word first, then phrases the bot already routed right.
PHRASES = (
    ("I have a question about my invoice.", "billing"),
    ("I have a question about my bill.", "billing"),
    ("Let me talk to a human.", "agent"),
    ("Sales, please.", "sales"),
)


def check_intents(my_intents: Any) -> str:
    """Ask the recogniser, with the learner's intents, about PHRASES in the bot's own voice; one line (never raises)."""
    from ...teaching import blank
    from ... import voice
    if not isinstance(my_intents, dict) or not all(isinstance(v, list) for v in my_intents.values()):
        return "my_intents must stay a dict of lists: {intent: [words it listens for]}."
    if blank(my_intents):
        return ("my_intents still has a '...': put the new word in the one list where it belongs, and delete the "
                "other '...'.")
    missing = [name for name in ("sales", "billing", "agent") if name not in my_intents]
    if missing:
        return f"Keep the three desks: {', '.join(missing)} is missing from my_intents."
    for said, meant in PHRASES:
        try:
            heard = voice.recognise(voice.speak(said, 16000), 16000, my_intents)
        except Exception as error:      # noqa: BLE001 - a check says what went wrong, it never raises
            return (f"The recogniser stopped with {type(error).__name__}: {error}. Is every word an English word "
                    "in lower case (the model's dictionary must know it)?")
        if heard.intent != meant:
            if said == PHRASES[0][0]:
                return (f"{said!r} was heard as {heard.text!r} -> {heard.intent}: a question about an invoice is "
                        f"a question for {meant}. Which list holds the word that tells?")
            return (f"{said!r} (routed right before your change) is now heard as {heard.text!r} -> {heard.intent}, "
                    f"not {meant}: a new word can pull other callers to it. Keep only what the new caller needs.")
    return "Well done: the invoice goes to billing, and the callers the bot knew still reach their desks."
