"""Notebook 03's check: a queue announcement, judged by what the caller heard (the prompts' words), not by names."""

from __future__ import annotations

import re
from typing import Any, Callable

from ...lab import transcript
from .. import Lesson, blank, end

#: What the caller at each position must hear (the exercise's spec, in words).
FIRST = "Your call is now first in line and will be answered by the next available representative."
OTHERS = "You are currently caller number {position}. Waiting to speak with a representative."
EVERYBODY = "Thank you for your patience."
POSITIONS = (1, 4, 12)


def wanted(position: int) -> str:
    """The sentence a caller at `position` must hear."""
    return (FIRST if position == 1 else OTHERS.format(position=position)) + " " + EVERYBODY


def said(media_uri: str) -> str:
    """What one played item says: a prompt's words, a number or digits as figures, characters as letters."""
    scheme, _, value = media_uri.partition(":")
    if scheme == "sound":
        return transcript(value) or f"[{value}: a prompt with no known words]"
    if scheme == "number":
        return value                                    # "number:12" says twelve
    if scheme in ("digits", "characters"):
        return " ".join(value)                          # "digits:12" says one, two
    return f"[{media_uri}]"


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w ]+", " ", text.lower()).split())


def check_announce(lesson: Lesson, position_playlist: Callable[[int], Any]) -> str:
    """Play position_playlist(p) to a fresh call for several positions; one line comparing what each caller heard with the spec."""
    ari = lesson.ari
    calls, playing = [], []
    try:
        lists = {}
        for position in POSITIONS:
            try:
                media = position_playlist(position)
            except Exception as error:
                return (f"position_playlist({position}) stopped with {type(error).__name__}: {error}"
                        + (" - fill in the blanks (...) first." if "Ellipsis" in str(error) else "."))
            if blank(media):
                return "Fill in the blanks (...) first: position_playlist() must return a list of media."
            media = [media] if isinstance(media, str) else media
            if not isinstance(media, list) or not media or not all(isinstance(m, str) for m in media):
                return f"position_playlist({position}) must return a list of media strings, not {media!r}."
            lists[position] = media
        for position, media in lists.items():          # all callers at once: the check takes one playlist's time
            call = lesson.caller(name="Check Caller")
            calls.append(call)
            playing.append((position, call.play(media=media)))
        for position, playback in playing:
            heard, failed = [], []
            while True:
                event = playback.wait_for(["PlaybackStarted", "PlaybackFinished"], timeout=60)
                if event.type == "PlaybackStarted":
                    heard.append(event.playback.media_uri)
                    continue
                break
            if event.playback.state != "done":
                failed.append(event.playback.media_uri)
            if failed:
                return (f"For position {position}, {failed[0]} did not play (state {event.playback.state!r}): "
                        "is it one of the lab's sounds? find_sounds() above finds them by their words.")
            words = " ".join(said(uri) for uri in heard)
            if _plain(words) != _plain(wanted(position)):
                return (f"The caller at position {position} heard \u201c{words}\u201d, but should hear "
                        f"\u201c{wanted(position)}\u201d")
        return ("Well done: first in line, 4th and 12th each heard their own announcement, played to the end "
                "(nobody stopped it, so 'done' means it was all said).")
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        end(*calls)
