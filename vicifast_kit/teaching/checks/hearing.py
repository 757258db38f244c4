"""The check of notebook 08 (hearing and speaking): does the learner's barge-in stop a prompt when the caller talks?"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ...handles import Channel
    from .. import Lesson

#: The check's caller keeps quiet (room noise only) this long after the answer, then talks.
QUIET_SECONDS = 2.5
#: Its words: about three seconds of speech.
SENTENCE = "I would like to talk to an agent about my bill."


def verdict(seconds: float, prompt_seconds: float = 10.0, quiet: float = QUIET_SECONDS) -> str:
    """One line on a barge-in that let the prompt play `seconds` s, for a caller who started talking after `quiet` s."""
    if seconds < quiet - 1.0:
        return (f"The prompt stopped after {seconds:.1f} s, before the caller said a word: your threshold is "
                "below the quiet line's own level. Look again at the levels of section 1: where is the room "
                "noise, where is the voice? Put the threshold between them.")
    if seconds > prompt_seconds - 2.0:
        return (f"The prompt went on for {seconds:.0f} s although the caller talked after {quiet} s: either the "
                "threshold is above what the voice reaches (section 1 shows its level), or nothing drops the "
                "audio already queued (which call of the stream does that?).")
    if seconds > quiet + 2.5:
        return (f"The prompt stopped {seconds - quiet:.1f} s after the caller started talking: a caller gives up "
                "on a bot that long deaf. Is the threshold only just under the loudest words?")
    return (f"Well done: the prompt stopped {seconds - quiet:.1f} s after the caller started talking "
            f"(the caller kept quiet for {quiet} s, the prompt was {prompt_seconds:.0f} s long).")


def check_barge_in(lesson: "Lesson", barge_in: Callable[["Channel"], object]) -> str:
    """Run barge_in(call) on a caller who talks after 2.5 s of quiet; one line saying how it went (never raises)."""
    try:
        call = lesson.caller(say=SENTENCE, delay=QUIET_SECONDS, name="Check Caller")
    except Exception as error:      # noqa: BLE001 - a check says what went wrong, it never raises
        return f"No test caller arrived ({type(error).__name__}: {error}): is the lab up? Run the check again."
    try:
        started = time.monotonic()
        barge_in(call)
        seconds = time.monotonic() - started
    except TypeError as error:
        if "ellipsis" in str(error):
            return "barge_in() still has blanks (...): fill them in, then run this cell again."
        return f"barge_in() stopped with TypeError: {error}"
    except Exception as error:      # noqa: BLE001
        return f"barge_in() stopped with {type(error).__name__}: {error}"
    finally:
        lesson.end(call)            # the check ends the call it placed
    return verdict(seconds)
