"""The lab's VICIdial-shaped inbound context (docker/asterisk/extensions_vicidial.conf, a stand-in, not VICIdial),
with real calls: a DID into the ARI pre-menu, the fallback when the app is down, the hand-back to the label
`vicidial` (and the loop that priority 1 would make), the h extension of a call ended inside Stasis().

Where a call ends up is read from Asterisk itself: the channel's dialplan location (ARI GET /channels/{id}) and
the UserEvent StandInCallLog its h extension sends over AMI when it ends.
"""

from __future__ import annotations

import contextlib

import pytest

import vicifast_kit as vk
from vicifast_kit.lab import vicidial_standin as vd

from client_helpers import ari, eventually, lab, unique_app  # noqa: F401  (fixtures)


@pytest.fixture
def ami():
    client = vk.ami.connect()
    yield client
    client.close()


@pytest.fixture
def callers(ari):
    """Caller sides to hang up after the test (a caller whose call never reached our app is not our app's)."""
    placed = []
    yield placed
    for caller in placed:
        with contextlib.suppress(vk.ARIError):
            ari.request("DELETE", f"/channels/{caller.id}")


def far_half(ari, caller) -> dict:
    """The ;2 half of a caller's Local pair (the one that runs trunkinbound), as ARI lists it."""
    name = caller.name.rsplit(";", 1)[0] + ";2"
    return eventually(lambda: next((c for c in ari.request("GET", "/channels") if c["name"] == name), None),
                      timeout=5, what=f"{name} to exist")


def location(ari, channel_id: str) -> tuple[str, str]:
    """(context, extension) where a channel is in the dialplan now."""
    plan = ari.request("GET", f"/channels/{channel_id}")["dialplan"]
    return plan["context"], plan["exten"]


def call_log(ami, uniqueid: str) -> dict:
    """The stand-in call log (AMI UserEvent StandInCallLog) of one channel, sent by its h extension."""
    message = ami.wait_for("UserEvent", timeout=10, where=lambda m: m.get("UserEvent") == "StandInCallLog"
                           and m.get("Uniqueid") == uniqueid)
    return {k: message.get(k) for k in ("Context", "DID", "StasisStatus", "InGroup", "Cause")}


def test_a_did_call_enters_the_premenu_app_with_its_did(ari, callers):
    callers.append(vd.call_did(ari))
    start = ari.wait_for("StasisStart", timeout=10)
    assert start.args == ["did", vd.PREMENU_DID]
    assert location(ari, start.channel.id) == (vd.DID_CONTEXT, vd.PREMENU_DID)
    # The ARI channel id is the call's UNIQUEID: the key VICIdial's logs use for the same call.
    assert start.channel.get_channel_var(variable="UNIQUEID").value == start.channel.id


def test_with_the_app_down_the_caller_goes_straight_to_vicidials_routing(ari, callers, ami):
    caller = vd.call_did(ari, app=unique_app("nobody"))     # no program has this app open
    callers.append(caller)
    half = far_half(ari, caller)
    eventually(lambda: location(ari, half["id"]) == (vd.INGROUP_CONTEXT, "SALESLINE"), timeout=10,
               what="the caller to reach the stand-in in-group SALESLINE")
    ari.request("DELETE", f"/channels/{caller.id}")
    logged = call_log(ami, half["id"])
    # The caller's half hangs up; the far half's h extension may run before that cause crosses the Local pair
    # (0: none known yet; seen once in a parallel run), so either is what this stand-in logs.
    assert logged.pop("Cause") in ("16", "0"), logged
    assert logged == {"Context": vd.INGROUP_CONTEXT, "DID": vd.PREMENU_DID, "StasisStatus": "FAILED",
                      "InGroup": "SALESLINE"}


def test_handing_back_to_the_label_reaches_vicidials_routing_once(ari, callers, ami):
    starts = []
    ari.on("StasisStart", starts.append)
    callers.append(vd.call_did(ari, dtmf="1"))
    call = ari.wait_for("StasisStart", timeout=10).channel
    call.answer()
    assert call.collect_digits(max_digits=1, timeout=10) == "1"
    call.continue_in_dialplan(context=vd.DID_CONTEXT, extension=vd.PREMENU_DID, label=vd.LABEL)
    call.wait_for("StasisEnd", timeout=5)
    eventually(lambda: location(ari, call.id) == (vd.INGROUP_CONTEXT, "SALESLINE"), timeout=10,
               what="the call to reach the stand-in in-group SALESLINE")
    ari.flush()
    assert [s.channel.id for s in starts] == [call.id]       # it entered the app once: no loop
    call.hangup()
    log = call_log(ami, call.id)
    assert (log["StasisStatus"], log["InGroup"]) == ("SUCCESS", "SALESLINE")


def test_handing_back_to_priority_1_runs_stasis_again(ari, callers):
    """The trap the label avoids: the DID's first line is Stasis(), so the call comes straight back."""
    callers.append(vd.call_did(ari))
    call = ari.wait_for("StasisStart", timeout=10).channel
    call.continue_in_dialplan(context=vd.DID_CONTEXT, extension=vd.PREMENU_DID, priority=1)
    again = ari.wait_for("StasisStart", timeout=10)
    assert again.channel.id == call.id and again.args == ["did", vd.PREMENU_DID]


def test_a_call_ended_inside_the_app_still_runs_the_h_extension(ari, callers, ami):
    callers.append(vd.call_did(ari))
    call = ari.wait_for("StasisStart", timeout=10).channel
    call.answer()
    call.hangup()
    assert call_log(ami, call.id) == {"Context": vd.DID_CONTEXT, "DID": vd.PREMENU_DID, "StasisStatus": "SUCCESS",
                                      "InGroup": "", "Cause": "16"}


def test_another_did_goes_to_its_own_ingroup_without_the_app(ari, callers):
    starts = []
    ari.on("StasisStart", starts.append)
    caller = vd.call_did(ari, did=vd.SUPPORT_DID)
    callers.append(caller)
    half = far_half(ari, caller)
    eventually(lambda: location(ari, half["id"]) == (vd.INGROUP_CONTEXT, "SUPPORT"), timeout=10,
               what="the caller to reach the stand-in in-group SUPPORT")
    ari.flush()
    assert starts == []
