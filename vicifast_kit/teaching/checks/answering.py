"""Notebook 02's check: an attendant that answers, greets, and then hangs up or gives the call back to the dialplan."""

from __future__ import annotations

from typing import Any, Callable

from ...handles import Channel
from .. import Lesson, blank, end, still_there

#: The closed line of the exercise, and what each line must do.
CLOSED, OPEN = "5552000", "5551000"
HOLD = {"context": "inbound", "extension": "9001", "priority": "1"}


def _story(wire: Any, call: Channel) -> list[tuple[str, dict]]:
    """What happened to one call on the wire, in order: ("answer"|"hangup"|"continue"|"stop"|an event type, entry)."""
    story = []
    for entry in wire.entries:
        if entry["kind"] == "request":
            path, method = entry["path"], entry["method"]
            if path == f"/channels/{call.id}/answer" and method == "POST":
                story.append(("answer", entry))
            elif path == f"/channels/{call.id}" and method == "DELETE":
                story.append(("hangup", entry))
            elif path == f"/channels/{call.id}/continue" and method == "POST":
                story.append(("continue", entry))
            elif path.startswith("/playbacks/") and method == "DELETE":
                story.append(("stop", entry))
        else:
            data = entry["json"]
            about = (data.get("channel") or {}).get("id") == call.id or \
                (data.get("playback") or {}).get("target_uri") == f"channel:{call.id}"
            if about:
                story.append((entry["type"], entry))
    return story


def _judge(line: str, number: str, story: list[tuple[str, dict]], place: str) -> str | None:
    """What is wrong with one call's story (None: nothing)."""
    closed = number == CLOSED
    prompt, last = ("sound:vm-goodbye", "hangup") if closed else ("sound:hello-world", "continue")
    kinds = [kind for kind, _ in story]
    if "answer" not in kinds:
        return f"The {line} was never answered: start with call.answer()."
    plays = [e["json"]["playback"] for kind, e in story if kind == "PlaybackStarted"]
    if not plays:
        return f"The {line} was answered but heard nothing: play {prompt} to it."
    if plays[0]["media_uri"] != prompt:
        return f"The {line} heard {plays[0]['media_uri']}, but it should hear {prompt}."
    if "stop" in kinds:
        return f"The greeting on the {line} was stopped (DELETE /playbacks/...): let it play to its end."
    ends = [k for k in ("hangup", "continue") if k in kinds]
    if not ends:
        return (f"After the greeting, the {line} was left waiting in the app: "
                + ("hang it up." if closed else "give it back to the dialplan (continue_in_dialplan)."))
    if ends != [last]:
        return (f"The {line} should " + ("be hung up, not given back to the dialplan." if closed
                                         else "go back to the dialplan's hold music, not be hung up."))
    if "PlaybackFinished" not in kinds or kinds.index("PlaybackFinished") > kinds.index(last):
        return (f"On the {line} you {'hung up' if closed else 'gave the call back'} before the greeting ended: "
                "wait for its PlaybackFinished first.")
    if not closed:
        params = next(e for kind, e in story if kind == "continue")["params"]
        asked = {k: str(params.get(k, "")) for k in HOLD}
        if asked != HOLD:
            return (f"The {line} went back to {asked['context']} / {asked['extension']} / {asked['priority']}, "
                    "not to the hold music: context inbound, extension 9001, priority 1.")
        if place != "MusicOnHold":
            return f"The {line} went back to the dialplan but is in {place or 'nothing'}, not MusicOnHold."
    return None


def check_attendant(lesson: Lesson, attendant: Callable[[Channel, str], Any]) -> str:
    """Run attendant(call, number) on a caller to the closed line and one to the open line; one line saying how it went."""
    ari = lesson.ari
    calls: list[Channel] = []
    try:
        for number, line in ((CLOSED, "closed line (5552000)"), (OPEN, "open line (5551000)")):
            call = lesson.caller(answer=False, number=number, name="Check Caller")
            calls.append(call)
            with ari.wire() as wire:
                try:
                    attendant(call, number)
                except Exception as error:
                    hint = " - fill in the blanks (...) first." if blank(error.args) or "Ellipsis" in str(error) \
                        else "."
                    return f"On the {line}, attendant() stopped with {type(error).__name__}: {error}{hint}"
                try:
                    call.wait_for("StasisEnd", timeout=3)
                except Exception:
                    pass                        # still in the app: the story says so
                ari.flush()
            place = ""
            if still_there(call):
                try:
                    place = call.get().dialplan.app_name
                except Exception:
                    place = ""
            wrong = _judge(line, number, _story(wire, call), place)
            if wrong:
                return wrong
        return ("Well done: the closed line hears goodbye and is hung up; the open line hears hello and goes on "
                "to the hold music.")
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        end(*calls)
