"""Notebook 11's check: a pre-menu's hand-back to VICIdial (the lab's stand-in), key by key."""

from __future__ import annotations

from typing import Callable

from ...handles import Channel
from ...lab import vicidial_standin as vd
from .. import Lesson, where


def check_hand_back(lesson: Lesson, premenu: Callable[[Channel], str],
                    hand_back: Callable[[Channel, str], None]) -> str:
    """Two DID callers (keys 1 and 2) through premenu() and hand_back(); one line saying where each went."""
    ari = lesson.ari
    starts = []
    watching = ari.on("StasisStart", starts.append)
    try:
        for key, ingroup in (("1", "SALESLINE"), ("2", "SUPPORT")):
            caller = lesson.keep(vd.call_did(ari, dtmf=key, caller_id='"Ada Lovelace" <5550142>'))
            call = vd.arrives(ari, caller).channel
            try:
                hand_back(call, premenu(call))
            except Exception as error:
                call.hangup()
                return (f"Key {key}: the hand-back failed ({type(error).__name__}: {error}) - fill in the blanks (...) "
                        "with the DID and the label named above.")
            call.wait_for("StasisEnd", timeout=5)
            place = where(call, context=vd.INGROUP_CONTEXT, timeout=5)
            ari.flush()
            call.hangup()
            if sum(1 for start in starts if start.channel.id == call.id) > 1:
                return f"Key {key}: the call came straight back into the app - hand it back past the Stasis() line."
            if place.split(" / ")[:2] != [vd.INGROUP_CONTEXT, ingroup]:
                return f"Key {key} should reach the in-group {ingroup}, but the call is in {place}."
        return "Well done: key 1 reaches SALESLINE, key 2 reaches SUPPORT, and neither comes back into the app."
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        watching.unsubscribe()
