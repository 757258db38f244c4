"""Simulated callers: realistic inbound calls into the lab, for a lab with no phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..handles import Channel

DEFAULT_CALLER_ID = '"Caller" <5551234>'


def simulate_caller(ari: "ARIClient", dtmf: str = "", *, app: str | None = None, delay: float = 1.0,
                    duration: float = 30, caller_id: str | None = None, number: str = "5551000",
                    talk: str | None = None) -> "Channel":
    """Place an inbound call into Stasis app `app` whose far end acts like a person; returns the caller's side.

    The call goes through the lab's ``inbound`` dialplan (StasisStart with args
    ["inbound", number], state Ring); once the app answers, the caller waits `delay` s, presses
    `dtmf`, plays `talk` (a sound, optional) and hangs up `duration` s after the answer.
    """
    return ari.channels.originate(
        endpoint=f"Local/{number}@inbound/n", context="sim-caller", extension="s", priority=1,
        caller_id=caller_id or DEFAULT_CALLER_ID,
        variables={"VICIFAST_APP": app or ari.app, "SIM_DELAY": str(delay), "SIM_DTMF": dtmf,
                   "SIM_DURATION": str(duration), "SIM_TALK": talk or ""})
