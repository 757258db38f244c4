"""Notebook 06's check: who is waiting? A function that reads the Dashboard's rows (its data, not its picture)."""

from __future__ import annotations

from typing import Any, Callable

from .. import Lesson, blank, end

#: The check's callers: one answered and talking in a bridge, two left waiting, in this order.
FIRST, TALKING, LAST = ("Quinn Early", "5556011"), ("Tess Talking", "5556012"), ("Lou Late", "5556013")


def expected(rows: list[dict]) -> list[str]:
    """The right answer for these rows: the callers in the app and in no bridge, the longest waiting first."""
    alone = sorted((r for r in rows if r["in_app"] and not r["bridge"]), key=lambda r: r["created"])
    return [r["caller"] for r in alone]


def _judge(rows: list[dict], got: Any) -> str:
    """One line on what waiting(rows) returned."""
    want = expected(rows)
    if blank(got):
        return "waiting() still returns a blank (...): fill in the blanks first."
    if isinstance(got, (str, bytes)) or not isinstance(got, (list, tuple)):
        return f"waiting() should return a list of callers (row['caller'] of each row), not {type(got).__name__}."
    by_caller = {r["caller"]: r for r in rows}
    for caller in got:
        row = by_caller.get(caller)
        if row is None:
            return f"{caller!r} is not the caller of any row: return row['caller'] of the rows you keep."
        if row["bridge"]:
            return (f"{caller} is talking in {row['where']}, not waiting: keep only the rows in no bridge "
                    "(row['bridge'] is None).")
        if not row["in_app"]:
            return (f"{caller} is not in our app ({row['where'] or 'elsewhere'}): keep only the rows with "
                    "row['in_app'] (the Dashboard shows the whole lab, other programs' calls too).")
    missing = [c for c in want if c not in got]
    if missing:
        return f"{missing[0]} is waiting too (in our app, in no bridge) but is not in your list."
    if len(got) != len(set(got)):
        return "Someone is in your list twice: one row per call, so each caller once."
    if list(got) != want:
        return ("The right callers, in the wrong order: the longest wait first, that is the smallest "
                "row['created'] (when the call came in; row['duration'] is text, and sorts as text).")
    return f"Well done: {len(want)} callers waiting, the longest first: {', '.join(want)}."


def check_waiting(lesson: Lesson, waiting: Callable[[list[dict]], Any]) -> str:
    """Run waiting(rows) on the Calls table's rows with callers of the check's own (two waiting, one talking in a
    bridge); one line saying how it went. Ends everything it made."""
    from ...widgets import ChannelsTable

    made: list[Any] = []
    table = None
    try:
        first = lesson.caller(answer=False, name=FIRST[0], number=FIRST[1])
        made.append(first)
        talking = lesson.caller(name=TALKING[0], number=TALKING[1])
        made.append(talking)
        last = lesson.caller(answer=False, name=LAST[0], number=LAST[1])
        made.append(last)
        room = lesson.ari.bridges.create(type="mixing", name="check-room")
        made.append(room)
        room.add_channel(channel=talking)
        talking.wait_for("ChannelEnteredBridge", timeout=10)
        table = ChannelsTable(lesson.ari)          # a table of its own: the rows as the Dashboard has them
        table.flush()
        rows = table.snapshot()
        try:
            got = waiting([dict(r) for r in rows])
        except Exception as error:                 # the learner's code: one line, never a traceback
            if "ellipsis" in str(error).lower():
                return "Fill in the blanks (...) of waiting() first: which rows are waiting, and what to sort by."
            return f"waiting() stopped with {type(error).__name__}: {error}: look at Carla's row above for the fields."
        return _judge(rows, got)
    except Exception as error:                     # the lab, not the learner: say so in one line
        return f"The check could not set up its callers ({type(error).__name__}: {error}): is the lab up?"
    finally:
        if table is not None:
            table.close()
        end(*reversed(made))
