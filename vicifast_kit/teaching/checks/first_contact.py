"""Notebook 00's check: a first routing decision (answer the VIPs, turn the blocked away, let the rest ring)."""

from __future__ import annotations

from typing import Callable, Iterable

from ...errors import WaitTimeout
from ...handles import Channel
from .. import Lesson, end, still_there

#: The caller who is neither a VIP nor blocked (the check's third call).
OTHER_NUMBER = "5550123"


def check_decide(lesson: Lesson, decide: Callable[[Channel], object], vip_numbers: Iterable[str],
                 blocked_numbers: Iterable[str]) -> str:
    """Three ringing callers (a VIP, a blocked number, anyone else) through decide(); one line on what it did."""
    vip_numbers, blocked_numbers = sorted(vip_numbers), sorted(blocked_numbers)
    if not vip_numbers or not blocked_numbers:
        return "Keep at least one number in VIP_NUMBERS and one in BLOCKED_NUMBERS: the check calls from each."
    if OTHER_NUMBER in vip_numbers or OTHER_NUMBER in blocked_numbers:
        return f"The check's third caller ({OTHER_NUMBER}) should be neither a VIP nor blocked: take it out of the lists."
    roles = {"VIP": vip_numbers[0], "blocked": blocked_numbers[0], "other": OTHER_NUMBER}
    calls: dict[str, Channel] = {}
    try:
        for role, number in roles.items():
            calls[role] = lesson.caller(answer=False, say=None, caller_id=f'"A {role} caller" <{number}>',
                                        patience=120, duration=120)
        for role, call in calls.items():
            try:
                decide(call)
            except Exception as error:
                return (f"Your decide() stopped with an error on the {role} caller ({roles[role]}): "
                        f"{type(error).__name__}: {error}")
        vip, blocked, other = calls["VIP"], calls["blocked"], calls["other"]
        if not still_there(vip):
            return f"The VIP caller ({roles['VIP']}) was hung up: answer the numbers in VIP_NUMBERS (call.answer())."
        if vip.get().state != "Up":
            return (f"The VIP caller ({roles['VIP']}) is still ringing: compare call.caller.number with "
                    "VIP_NUMBERS and answer (call.answer()).")
        try:
            blocked.wait_for("StasisEnd", timeout=3)
        except WaitTimeout:
            return (f"The blocked caller ({roles['blocked']}) is still there: hang up the numbers in "
                    "BLOCKED_NUMBERS (call.hangup()).")
        if not still_there(other):
            return (f"The other caller ({OTHER_NUMBER}) was hung up: someone who is neither VIP nor blocked should "
                    "be left ringing for an agent (do nothing).")
        if other.get().state != "Ring":
            return (f"The other caller ({OTHER_NUMBER}) was answered: leave it ringing for an agent (do nothing) - "
                    "only VIPs are answered at once.")
        return ("Well done: the VIP was answered, the blocked number turned away, and the other caller is still "
                "ringing for an agent.")
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error} - run it again (is the lab up?)."
    finally:
        end(*calls.values())
