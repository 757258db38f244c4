"""Notebook 05's check: a warm transfer that consults first, then completes or cancels on the supervisor's answer.

The check builds the scene three times (a customer talking with an agent in a mixing bridge ``talk``)
and hands the learner's ``warm_transfer(customer, agent, talk, call_supervisor)`` a function that
calls the supervisor out (``Local/6003@sim-customer``, the lab's simulated callee: it rings, answers,
then presses a key): "1" (put them through), "2" (not now), and no key at all. It reads what happened
from the wire (who was in which bridge when the agent and the supervisor talked) and from Asterisk
(where everyone is at the end), and ends everything it made.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ...errors import WaitTimeout
from ...handles import Bridge, Channel
from ...lab.simulate import say_items
from .. import Lesson, blank, end, still_there

#: What the supervisor does in each round: (the key pressed, or "" for none; what they say; the round's name).
ROUNDS = (
    ("1", "Yes, put them through.", "the supervisor presses 1 (put them through)"),
    ("2", "Sorry, not now.", "the supervisor presses 2 (not now)"),
    ("", "Hello?", "the supervisor presses nothing"),
)
#: How long a round may take: the consultation waits at most a few seconds for the supervisor's key.
ROUND_LIMIT = 25.0


def supervisor_caller(lesson: Lesson, key: str, say: str, made: list) -> Callable[[], Channel]:
    """A call_supervisor() for the exercise: rings 6003 (a simulated callee) into the app; returns its answered channel."""
    ari = lesson.ari

    def call_supervisor() -> Channel:
        """Call the supervisor (POST /channels to Local/6003@sim-customer) and return their channel once they answer."""
        variables = {"SIM_RING": "1", "SIM_DELAY": "2", "SIM_DTMF": key, "SIM_SAY": say_items(say),
                     "SIM_DURATION": "120"}
        placed = ari.channels.originate(endpoint="Local/6003@sim-customer", app=ari.app,
                                        caller_id='"Supervisor" <6003>', variables=variables)
        made.append(placed)
        placed.wait_for("StasisStart", timeout=10)      # they answered: the call enters our app
        return placed

    return call_supervisor


def _consultations(wire: Any, people: dict[str, str]) -> list[dict]:
    """Replay the wire's bridge events: where everyone was (their bridge's snapshot) when the agent and the
    supervisor first shared a bridge ([] if they never did)."""
    place: dict[str, dict] = {}
    moments: list[dict] = []
    for entry in wire.events:
        data = entry["json"]
        channel = (data.get("channel") or {}).get("id")
        bridge = data.get("bridge") or {}
        if entry["type"] == "ChannelEnteredBridge" and channel in people:
            place[people[channel]] = bridge
            for who, where in place.items():          # the newest snapshot of that bridge, for all in it
                if where.get("id") == bridge.get("id"):
                    place[who] = bridge
            members = {people.get(c) for c in bridge.get("channels", [])}
            if {"agent", "supervisor"} <= members and not moments:
                moments.append({who: dict(b) for who, b in place.items()})
        elif entry["type"] == "ChannelLeftBridge" and channel in people:
            if place.get(people[channel], {}).get("id") == bridge.get("id"):
                place.pop(people[channel], None)
    return moments


def _judge_round(ari: Any, wire: Any, key: str, customer: Channel, agent: Channel, supervisor: Channel | None,
                 talk: Bridge, returned: Any, made_bridges: list[str]) -> str | None:
    """What is wrong with one round (None: nothing)."""
    if supervisor is None:
        return "warm_transfer() never called the supervisor: start the consultation with supervisor = call_supervisor()."
    people = {customer.id: "customer", agent.id: "agent", supervisor.id: "supervisor"}
    moments = _consultations(wire, people)
    if not moments:
        return ("The agent and the supervisor never talked: put both in a new mixing bridge "
                "(the consultation) before you decide.")
    at_consult = moments[0]
    with_customer = at_consult.get("customer")
    if with_customer is None:
        return "During the consultation the customer was in no bridge at all: keep them on hold (the holding bridge)."
    others = {people.get(c) for c in with_customer.get("channels", [])} - {"customer", None}
    if others:
        return (f"The customer was in a bridge with the {' and the '.join(sorted(others))} during the consultation: "
                "they heard it. Keep the customer on hold until you decide.")
    if with_customer.get("bridge_type") != "holding":
        return "During the consultation the customer should wait in the holding bridge (with music), not alone in a mixing one."
    moh = [r for r in wire.requests if r["method"] == "POST" and r["path"] in (
        f"/bridges/{with_customer.get('id')}/moh", f"/channels/{customer.id}/moh")]
    if not moh:
        return "The customer waited in silence: start music on hold for them (hold.start_moh(moh_class=\"default\"))."
    if not isinstance(returned, Bridge):
        return f"warm_transfer() returned {returned!r}: return the bridge where the customer ends up."
    try:
        final = returned.get()
    except Exception:
        return "warm_transfer() returned a bridge that is gone: return the bridge where the customer ends up."
    here = {people.get(c, "someone else") for c in final.channels}
    company = " and ".join(f"the {who}" for who in sorted(here - {"customer"})) or "nobody"
    if "customer" not in here:
        return "warm_transfer() returned a bridge without the customer: return the bridge where the customer ends up."
    if key == "1":
        if "supervisor" not in here:
            return (f"The supervisor said yes (1), but the customer ended up with {company}: "
                    "put the customer through to the supervisor.")
        if still_there(agent):
            return ("The supervisor said yes (1) and the customer is with them, but the agent's call is still up: "
                    "the agent hands over and hangs up (agent.hangup()).")
    else:
        said = "said no (2)" if key == "2" else "never answered with a key"
        if final.id != talk.id or here != {"customer", "agent"}:
            return (f"The supervisor {said}, but the customer ended up with {company}"
                    f"{'' if final.id == talk.id else ' in another bridge'}: bring the customer back to the agent in `talk`.")
        if still_there(supervisor):
            return f"The supervisor {said}, but their call is still up: hang it up when you take the customer back."
    for bridge_id in made_bridges:
        if bridge_id != final.id:
            try:
                left = ari.bridges.get(bridge_id)
            except Exception:
                continue
            return (f"The bridge {left.name or left.id!r} is still there after the transfer: destroy the bridges "
                    "nobody uses any more.")
    if key == "1" and talk.id != final.id and still_there(talk):
        return "The old bridge `talk` is still there, empty: destroy it once the customer has moved on."
    return None


def check_warm_transfer(lesson: Lesson, warm_transfer: Callable[..., Any]) -> str:
    """Run warm_transfer(customer, agent, talk, call_supervisor) three times (yes, no, no key); one line saying how it went."""
    ari = lesson.ari
    if blank(warm_transfer.__code__.co_consts):
        return "warm_transfer() still has blanks (...): fill them in, then run the check again."
    made: list[Any] = []
    try:
        for key, say, name in ROUNDS:
            customer = lesson.caller(name="Customer", number="5551000")
            agent = lesson.caller(name="Agent", number="6002")
            made += [customer, agent]
            talk = ari.bridges.create(type="mixing", name="talk")
            made.append(talk)
            talk.add_channel(channel=[customer, agent])
            calls: list[Channel] = []
            started = time.monotonic()
            with ari.wire() as wire:
                try:
                    returned = warm_transfer(customer, agent, talk, supervisor_caller(lesson, key, say, calls))
                except Exception as error:
                    made += calls
                    hint = (" - fill in the blanks (...) first." if "Ellipsis" in str(error) else
                            ": the supervisor may press nothing; catch vk.WaitTimeout and decide what happens then."
                            if isinstance(error, WaitTimeout) else ".")
                    return f"When {name}, warm_transfer() stopped with {type(error).__name__}: {error}{hint}"
                ari.flush()
            made += calls
            took = time.monotonic() - started
            made_bridges = [r["response"]["id"] for r in wire.requests
                            if r["method"] == "POST" and r["path"] == "/bridges" and isinstance(r.get("response"), dict)]
            made += [ari.handle("bridge", b) for b in made_bridges]
            supervisor = calls[0] if calls else None
            wrong = _judge_round(ari, wire, key, customer, agent, supervisor, talk, returned, made_bridges)
            if wrong:
                return f"When {name}: {wrong}"
            if took > ROUND_LIMIT:
                return (f"When {name}, warm_transfer() took {took:.0f} s: wait for the supervisor's key a few "
                        "seconds at most (wait_for(..., timeout=8)), then decide.")
        return ("Well done: the customer waited with music while the agent consulted, went through when the "
                "supervisor said yes, and came back to the agent when they said no or said nothing.")
    except Exception as error:
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        end(*reversed(made))
