"""Notebook 01's check: a wallboard's AMI session, narrowed with Filter actions to a call's start, key and end."""

from __future__ import annotations

from typing import Any, Iterable

from ... import ami as _ami
from ...errors import AMIActionFailed, WaitTimeout
from .. import Lesson, blank, end

#: What the wallboard shows of a call, as AMI names it (a key may come as its start or its end).
STARTS, KEYS, ENDS = "Newchannel", ("DTMFBegin", "DTMFEnd"), "Hangup"


def _drain(session: _ami.AMIClient) -> list[_ami.Message]:
    """Every event the session received and no wait took yet (nothing is waited for)."""
    events = []
    while True:
        try:
            events.append(session.wait_for("*", timeout=0))
        except WaitTimeout:
            return events


def check_wallboard(lesson: Lesson, filters: Iterable[Any]) -> str:
    """Your (MatchCriteria, Filter) pairs on a fresh AMI session, one simulated call that presses a key; one line."""
    if blank(filters):
        return "Fill in the blanks (...) of WALLBOARD_FILTERS first."
    try:
        filters = [tuple(pair) for pair in filters]
    except TypeError:
        filters = []
    if not filters or any(len(pair) != 2 or not all(isinstance(part, str) for part in pair) for pair in filters):
        return ('WALLBOARD_FILTERS should be a list of pairs of text, (MatchCriteria, Filter), e.g. '
                '("name(Newchannel)", "").')
    wallboard = watcher = call = None
    try:
        wallboard, watcher = _ami.connect(), _ami.connect()
        watcher.action("Filter", operation="Add", match_criteria="name(Hangup)", filter="")
        for criteria, expression in filters:
            try:
                wallboard.action("Filter", operation="Add", match_criteria=criteria, filter=expression)
            except AMIActionFailed as error:
                return (f"Asterisk refused the filter ({criteria!r}, {expression!r}): "
                        f"{str((error.reply or {}).get('Message', error)).rstrip('.')}. Compare it with the examples above.")
        _drain(wallboard)                       # what came before the filters (FullyBooted at login)
        call = lesson.caller(dtmf="4", delay=0.5, say=None, caller_id='"Wallboard Test" <5550177>',
                             patience=60, duration=60)
        customer = call.name.rsplit(";", 1)[0] + ";1"
        call.wait_for("ChannelDtmfReceived", timeout=10)
        call.hangup()
        for name in (call.name, customer):      # both halves gone: everything about the call has been sent
            watcher.wait_for("Hangup", timeout=10, where=lambda e, n=name: e.get("Channel") == n)
        wallboard.action("Ping")                # its answer comes after the events already sent to the wallboard
        got = _drain(wallboard)
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error} - run it again (is the lab up?)."
    finally:
        if call is not None:
            end(call)
        for session in (wallboard, watcher):
            if session is not None:
                session.close()
    ours = [e for e in got if e.get("Channel") == call.name]
    theirs = [e for e in got if e.get("Channel") == customer]
    kinds = {e.type for e in ours}
    others = sorted({e.type for e in got} - {STARTS, ENDS, *KEYS})
    if STARTS not in kinds:
        return f"The wallboard never saw the call start ({STARTS} of our half): include that event by its name."
    if not kinds & set(KEYS):
        return "The wallboard never saw the key the caller pressed: include DTMFEnd (or DTMFBegin) by its name."
    if ENDS not in kinds:
        return f"The wallboard never saw the call end ({ENDS} of our half): include that event by its name."
    if others:
        return (f"The wallboard also got {', '.join(others)}: include only the events it shows (name(...) filters); "
                "with no include filter at all, every event comes.")
    if theirs:
        return (f"The wallboard also got {len(theirs)} events of the pretend customer's half ({customer.split('-')[0]}-…;1): "
                "add an exclude filter on the Channel header for names that end with ;1.")
    return ("Well done: of the whole call your wallboard got only " + ", ".join(sorted(kinds))
            + " of our half, and nothing of the pretend customer's.")
