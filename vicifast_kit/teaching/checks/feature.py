"""Notebook 07's capstone check: the learner's after-hours line, run against several simulated callers at once.

``print(feature.check_after_hours(lesson, after_hours, on_call))`` places four callers into the notebook's
app (a VIP who presses nothing, a caller who presses 5 and talks, one who presses nothing, one who presses
a wrong key), runs ``after_hours(call)`` for each on a thread of its own (as a service would), and looks
at what Asterisk says happened: where each call is, which prompts it heard (PlaybackStarted), which
recordings were made of it (RecordingStarted) and what is in them. It returns one line and ends every
call and recording it made, whatever the learner's code did.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ... import audio
from .. import still_there

if TYPE_CHECKING:  # pragma: no cover
    from ...handles import Bridge, Channel
    from .. import Lesson

#: How long one caller may take in the learner's handler (the message path is the longest: about 20 s).
HANDLER_SECONDS = 60.0
#: A message counts as the caller's words when it is at least this long and this loud (speech on a phone line
#: is about -30 to -15 dBFS; room noise about -60).
MESSAGE_SECONDS, SPEECH_DB = 2.0, -40.0

# Who calls: (who, number, keys, what they say after the key)
CALLERS = (
    ("a VIP who presses nothing", None, "", None),
    ("a caller who presses 5", "5551001", "5", "demo-congrats"),    # talks on and on once the key is pressed
    ("a caller who presses nothing", "5551002", "", None),
    ("a caller who presses 3", "5551003", "3", None),
)
EXPECTED = {"a VIP who presses nothing": "agent", "a caller who presses 5": "message",
            "a caller who presses nothing": "closed", "a caller who presses 3": "closed"}


def check_after_hours(lesson: "Lesson", handle: Callable[["Channel"], Any], on_call: "Bridge",
                      vip: str = "5550007") -> str:
    """Run handle(call) for four callers at once (VIP `vip`, keys 5, none, 3); one line: what went wrong, or Well done."""
    if not callable(handle):
        return "after_hours is not a function yet: define it with def after_hours(call): ... and run that cell."
    try:
        return _run(lesson, handle, on_call, vip)
    except Exception as error:          # the check never raises: it says what stopped it
        return f"The check could not run: {type(error).__name__}: {error} (is the lab up? `vicifast-kit lab status`)."


def _run(lesson: "Lesson", handle: Callable[["Channel"], Any], on_call: "Bridge", vip: str) -> str:
    ari = lesson.ari
    on_call.get()                                   # NotFound -> the check could not run: run the cell that makes it
    played: dict[str, list[str]] = {}
    recorded: dict[str, list[str]] = {}
    lock = threading.Lock()

    def seen(event: Any) -> None:
        """Note each prompt played to, and each recording made of, a channel (PlaybackStarted, RecordingStarted)."""
        raw = event.raw.get("playback") or event.raw.get("recording") or {}
        target = raw.get("target_uri", "")
        if target.startswith("channel:"):
            book = played if event.type == "PlaybackStarted" else recorded
            with lock:
                book.setdefault(target[len("channel:"):], []).append(raw.get("media_uri") or raw.get("name", ""))

    subscription = ari.on(["PlaybackStarted", "RecordingStarted"], seen)
    calls: dict[str, "Channel"] = {}
    try:
        for who, number, keys, talk in CALLERS:
            calls[who] = lesson.caller(answer=False, dtmf=keys, delay=1.5, say=None, talk=talk,
                                       name="Caller", number=number or vip)
        returned: dict[str, Any] = {}
        failed: dict[str, BaseException] = {}

        def run(who: str, call: "Channel") -> None:
            try:
                returned[who] = handle(call)
            except Exception as error:
                failed[who] = error

        workers = [threading.Thread(target=run, args=(who, call), name=f"check-after-hours-{n}", daemon=True)
                   for n, (who, call) in enumerate(calls.items())]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + HANDLER_SECONDS
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        busy = [who for (who, _), worker in zip(calls.items(), workers) if worker.is_alive()]
        if busy:
            lesson.end(*calls.values())             # its waits end with the calls; the threads then finish
            for worker in workers:
                worker.join(5.0)
            return (f"after_hours() was still busy with {busy[0]} after {HANDLER_SECONDS:.0f} s: every wait needs a "
                    "timeout (collect_digits(..., timeout=5)), and every path must return.")
        for who, error in failed.items():
            return (f"after_hours() stopped for {who} with {type(error).__name__}: {error} - "
                    "fill in the blanks (...), and check that path.")
        ari.flush()                                  # every event received so far has reached seen()
        with lock:
            played_now = {k: list(v) for k, v in played.items()}
            recorded_now = {k: list(v) for k, v in recorded.items()}
        return _verdict(ari, calls, returned, played_now, recorded_now, on_call)
    finally:
        subscription.unsubscribe()
        lesson.end(*calls.values())
        for names in recorded.values():
            for name in names:
                _delete_recording(ari, name)


def _verdict(ari: Any, calls: dict, returned: dict, played: dict, recorded: dict, on_call: "Bridge") -> str:
    """The first thing that went wrong, caller by caller, or Well done."""
    for who, call in calls.items():
        want, got = EXPECTED[who], returned.get(who)
        if got != want:
            hint = " (did you return it?)" if got is None else ""
            return f"For {who}, after_hours() returned {got!r}{hint}; it should return {want!r}."
    vip_call = calls["a VIP who presses nothing"]
    if played.get(vip_call.id):
        return (f"The VIP heard {played[vip_call.id][0]} first: a VIP goes straight to the on-call agent, "
                "before any prompt (test call.caller.number first).")
    if not still_there(vip_call) or vip_call.id not in (on_call.get().channels or []):
        return "The VIP is not in the on_call bridge: on_call.add_channel(channel=call) puts them with the agent."
    for who in ("a caller who presses 5", "a caller who presses nothing", "a caller who presses 3"):
        call = calls[who]
        if not played.get(call.id):
            return f"{who.capitalize()} heard no prompt at all: play the closed message and the offer (CLOSED, OFFER)."
        if still_there(call) and not _ends(call):
            return f"{who.capitalize()} is still on the line after after_hours() returned: hang up when you are done."
    caller_5 = calls["a caller who presses 5"]
    if not recorded.get(caller_5.id):
        return "The caller who pressed 5 left no message: take_message(call) records it."
    message = _stored_audio(ari, recorded[caller_5.id][-1])
    if message is None or message.duration < MESSAGE_SECONDS or message.level_db() < SPEECH_DB:
        return ("The message of the caller who pressed 5 holds no speech (too short or too quiet): start "
                "recording as soon as they have pressed 5.")
    for who in ("a caller who presses nothing", "a caller who presses 3"):
        if recorded.get(calls[who].id):
            return f"{who.capitalize()} was recorded: only a caller who presses 5 leaves a message."
    return ("Well done: the VIP went straight to the on-call agent, the caller who pressed 5 left a message, "
            "and the callers who pressed nothing or 3 heard the closed message and were let go.")


def _ends(call: "Channel", seconds: float = 5.0) -> bool:
    """True once the call has ended (within `seconds`): a hang-up the handler asked for takes a moment."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not still_there(call):
            return True
        time.sleep(0.2)
    return False


def _stored_audio(ari: Any, name: str) -> "audio.Audio | None":
    """A stored recording's audio (None if it is not there)."""
    from ...errors import NotFound
    try:
        return ari.recordings.get_stored(recording_name=name).audio()
    except NotFound:
        return None


def _delete_recording(ari: Any, name: str) -> None:
    """Stop a recording still running and delete its file, if any (either may already be gone)."""
    from ...errors import ARIError
    for method, path in (("POST", f"/recordings/live/{name}/stop"), ("DELETE", f"/recordings/stored/{name}")):
        try:
            ari.request(method, path)
        except ARIError:
            pass
