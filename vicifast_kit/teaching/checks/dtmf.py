"""Notebook 04's check: reading an extension (3 digits, 100-399), with '#', retries and a caller who presses nothing."""

from __future__ import annotations

import threading
from typing import Any, Callable

from ...handles import Channel
from .. import Lesson, end

INVALID = "sound:pm-invalid-option"

#: (keys the caller presses, what read_extension must return, how many times the caller hears INVALID, why).
CASES = (
    ("204#", "204", 0, "extension 204, ended by #"),
    ("2041", "204", 0, "extension 204; an extension has 3 digits, so the 4th key is not part of it"),
    ("7#301", "301", 1, "7 is no extension: say so, then read 301"),
    ("", None, 0, "no key at all"),
    ("5#45#450#", None, 3, "three wrong tries: 5, 45, and 450, which is above 399"),
)


def _run(read_extension: Callable[[Channel], Any], call: Channel, out: dict) -> None:
    try:
        out["got"] = read_extension(call)
    except Exception as error:                     # reported by the check, never raised
        out["error"] = error


def check_read_extension(lesson: Lesson, read_extension: Callable[[Channel], Any]) -> str:
    """Five callers at once, each pressing other keys, through read_extension(); one line saying how it went."""
    ari = lesson.ari
    calls: list[Channel] = []
    try:
        with ari.wire() as wire:
            runs = []
            for keys, _, _, _ in CASES:
                call = lesson.caller(dtmf=keys, delay=0.5, name="Check Caller")
                calls.append(call)
                out: dict = {}
                thread = threading.Thread(target=_run, args=(read_extension, call, out), daemon=True,
                                          name=f"vicifast-check-dtmf[{keys or 'none'}]")
                thread.start()
                runs.append((thread, out))
            for thread, _ in runs:
                thread.join(60)
        for (keys, meant, invalid, why), call, (thread, out) in zip(CASES, calls, runs):
            shown = repr(keys) if keys else "no key"
            if thread.is_alive():
                return f"read_extension() did not return within a minute for a caller pressing {shown}: use timeouts."
            if "error" in out:
                error = out["error"]
                hint = " - fill in the blanks (...) first." if "Ellipsis" in str(error) or "ellipsis" in str(error) \
                    else "."
                return (f"For a caller pressing {shown}, read_extension() stopped with "
                        f"{type(error).__name__}: {error}{hint}")
            told = sum(1 for e in wire.events if e["type"] == "PlaybackStarted"
                       and e["json"]["playback"]["target_uri"] == f"channel:{call.id}"
                       and e["json"]["playback"]["media_uri"] == INVALID)
            if out.get("got") != meant:
                return (f"A caller pressing {shown} ({why}): read_extension() should return {meant!r}, "
                        f"not {out.get('got')!r}.")
            if told != invalid:
                return (f"A caller pressing {shown} ({why}) should hear \u201cThat option is invalid\u201d "
                        f"({INVALID}) {invalid} time(s), but heard it {told} time(s): play it, and wait until it has "
                        "been said, before you gather again.")
        return ("Well done: 204#, 2041, 7#301, no key and three wrong tries gave 204, 204, 301, None and None, "
                "with the 'invalid' prompt where it belongs.")
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        end(*calls)
