"""The notebooks' helpers, so a notebook shows only what it teaches: ``lesson = vk.teaching.Lesson(ari)``.

A lesson keeps what a notebook made (calls, bridges, recordings) so its clean-up ends only those,
places simulated callers into the notebook's app, and ends things that may already be gone (a
caller hangs up while you read). ``blank(...)`` tells whether an exercise still has its ``...``;
the exercise checks themselves live in ``vicifast_kit.teaching.checks``, one module per notebook,
each a function that runs the learner's code against the lab and returns one line (never raises).

Everything here is the kit, not ARI: a lesson's caller is ``vk.lab.simulate_caller`` (one
``POST /channels``) and ``wait_for("StasisStart")``; ``end`` is ``DELETE /channels/{id}`` or
``DELETE /bridges/{id}``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import NotFound
from ..handles import Bridge, Channel, LiveRecording, StoredRecording

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

__all__ = ["Lesson", "blank", "still_there", "end", "words", "where", "config_section"]


def blank(*values: Any) -> bool:
    """True if any value is, or holds, an exercise's unfilled ``...`` (checks say "fill in the blanks first")."""
    def has(value: Any) -> bool:
        if value is Ellipsis:
            return True
        if isinstance(value, dict):
            return any(has(k) or has(v) for k, v in value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            return any(has(v) for v in value)
        return isinstance(value, str) and "Ellipsis" in value
    return any(has(v) for v in values)


def still_there(thing: Channel | Bridge) -> bool:
    """True while a call or bridge is still in the lab (GET /channels/{id} or /bridges/{id} answers)."""
    try:
        thing.get()
        return True
    except NotFound:
        return False


def end(*things: Channel | Bridge | LiveRecording | StoredRecording) -> None:
    """Hang up calls, destroy bridges, delete recordings: each only if it is still there."""
    for thing in things:
        try:
            if isinstance(thing, Bridge):
                thing.destroy()
            elif isinstance(thing, Channel):
                thing.hangup()
            elif isinstance(thing, LiveRecording):
                try:
                    thing.cancel()                  # a recording in progress: stopped and its file discarded
                except NotFound:                    # already finished: delete what it stored
                    thing.client.request("DELETE", f"/recordings/stored/{thing.id}")
            elif isinstance(thing, StoredRecording):
                thing.delete()
        except NotFound:
            pass


def words(*media: str) -> None:
    """Print what each ``sound:`` item says (the lab's prompts come with their transcripts)."""
    from ..lab import transcript
    for item in media:
        if item.startswith("sound:"):
            print(f"   {item:26} says: {transcript(item)!r}")


def where(channel: Channel, context: str | None = None, timeout: float = 10.0) -> str:
    """Where a call is in the dialplan, "context / extension" (GET /channels/{id}), first waiting until it is in `context`."""
    deadline = time.monotonic() + timeout
    while True:
        plan = channel.get().dialplan
        if context is None or plan.context == context or time.monotonic() > deadline:
            return f"{plan.context} / {plan.exten}"
        time.sleep(0.1)


def config_section(file: str, name: str) -> str:
    """One [section] of a lab config file (docker/asterisk/FILE), comments and blank lines left out."""
    from ..settings import LAB_DIR
    lines, inside = [], False
    for line in (LAB_DIR / "asterisk" / file).read_text().splitlines():
        if line.startswith("["):
            inside = line.strip() == f"[{name}]"
        if inside and line.strip() and not line.lstrip().startswith(";"):
            lines.append(line.split(" ;")[0].rstrip())
    return "\n".join(lines)


class Lesson:
    """What one notebook made in the lab, and its simulated callers: ``lesson = Lesson(ari)``; ``lesson.clean_up()`` at the end."""

    def __init__(self, ari: "ARIClient", *, tidy: bool = True) -> None:
        """Start a lesson on `ari`; with tidy, first remove what a killed kernel of this notebook left (vk.lab.cleanup)."""
        self.ari = ari
        self.made: list[Any] = []
        if tidy:
            from ..lab import cleanup
            cleanup(ari, app=ari.app)

    def __repr__(self) -> str:
        return f"<Lesson app={self.ari.app!r} made={len(self.made)}>"

    def keep(self, thing: Any) -> Any:
        """Remember something made elsewhere (a call, a bridge, a recording) so clean_up() ends it; returns it."""
        self.made.append(thing)
        return thing

    def caller(self, *, answer: bool = True, say: str | list[str] | None = None, dtmf: str = "",
               delay: float = 1.0, name: str | None = None, number: str = "5551000",
               duration: float = 3600.0, **options: Any) -> Channel:
        """A simulated caller ringing into this notebook's app; our side of the call (answered unless answer=False).

        The caller waits `delay` s after the answer, presses `dtmf`, then says `say` (None: silent,
        only quiet room noise) and stays `duration` s (an hour: pause between cells as you like).
        `name` sets its caller id to `"name" <number>`: the number it dials is also the number it calls
        from (without `name`, a random name and 555-01xx number). Other options go to vk.lab.simulate_caller.
        """
        from ..lab import simulate_caller
        if name is not None:
            options["caller_id"] = f'"{name}" <{number}>'
        caller = simulate_caller(self.ari, dtmf, say=say, delay=delay, duration=duration, number=number, **options)
        call = self.ari.wait_for("StasisStart", timeout=10,
                                 where=lambda e: e.channel.name == caller.name.rsplit(";", 1)[0] + ";2").channel
        self.made.append(call)
        if answer:
            call.answer()
        return call

    def bridge(self, type: str = "mixing", name: str | None = None) -> Bridge:
        """A bridge of ours: 'mixing' (people talk) or 'holding' (people wait); kept for the clean-up."""
        return self.keep(self.ari.bridges.create(type=type, name=name))

    def end(self, *things: Any) -> None:
        """End these (calls, bridges, recordings), each only if still there."""
        end(*things)

    def clean_up(self, also: Iterable[Any] = ()) -> dict[str, int]:
        """End everything this lesson made (and `also`), then what is left of this notebook's own in the lab."""
        from ..lab import leftovers
        end(*reversed([*self.made, *also]))
        return leftovers(self.ari)
