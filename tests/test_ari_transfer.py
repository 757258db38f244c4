"""ARI transfer handling against the lab: a real SIP phone (SIPp) sends REFER and the app decides.

With PJSIP_TRANSFER_HANDLING(ari-only) set on the phone's channel, Asterisk does not transfer by itself:
it answers the REFER 202, tells the app (ChannelTransfer: where to, who asked, to whom they talk, in
which bridge) and reports to the phone (NOTIFY, a sipfrag) what the app says with
POST /channels/{id}/transfer_progress. These tests check the events, the SIP the phone saw, and
where every channel ends: transferred (the customer with the target, the phone hangs up) or
refused (the customer stays with the agent).
"""

from __future__ import annotations

import shutil

import pytest

import vicifast_kit as vk
from client_helpers import cleanup, eventually, unique_app
from vicifast_kit.lab.simulate import simulate_caller
from vicifast_kit.lab.sip_phones import SipPhone

pytestmark = pytest.mark.skipif(shutil.which("sipp") is None,
                                reason="needs SIPp: apt-get install sip-tester (scripts/setup)")


@pytest.fixture
def ari():
    client = vk.connect(app=unique_app("xfer"))
    try:
        yield client
    finally:
        cleanup(client)
        client.close()


def _customer_and_agent(ari, phone):
    """A simulated customer in the app, the agent's SIP phone rung from the app, both in one mixing bridge."""
    caller = simulate_caller(ari, say=None, duration=60, caller_id='"Customer" <5551000>')
    customer = ari.wait_for("StasisStart", timeout=10,
                            where=lambda e: e.channel.name.startswith(caller.name.rsplit(";", 1)[0])).channel
    customer.answer()
    agent = ari.channels.originate(endpoint=phone.endpoint, app=ari.app)
    assert agent.wait_for("StasisStart", timeout=10).channel.state == "Up"      # the phone answered
    agent.set_channel_var(variable="PJSIP_TRANSFER_HANDLING()", value="ari-only")
    talk = ari.bridges.create(type="mixing", name="talk")
    talk.add_channel(channel=[customer, agent])
    agent.wait_for("ChannelEnteredBridge", timeout=10)
    return customer, agent, talk


def test_a_phones_refer_reaches_the_app_which_completes_the_transfer(ari):
    with SipPhone("6002", transfer_to="6003", talk=1.0) as phone, SipPhone("6003") as target_phone:
        customer, agent, talk = _customer_and_agent(ari, phone)
        asked = ari.wait_for("ChannelTransfer", timeout=15)
        assert asked.get("state") is None                                    # the request itself: no progress yet
        assert asked.refer_to.requested_destination.destination == "6003"
        assert asked.referred_by.source_channel.id == agent.id
        assert asked.referred_by.connected_channel.id == customer.id
        assert asked.referred_by.bridge.id == talk.id
        assert set(talk.get().channels) == {customer.id, agent.id}

        agent.transfer_progress(states="channel_progress")                  # the app rings the target
        assert ari.wait_for("ChannelTransfer", timeout=10).get("state") == "channel_progress"
        target = ari.channels.originate(endpoint=target_phone.endpoint, app=ari.app)
        target.wait_for("StasisStart", timeout=10)
        talk.add_channel(channel=target)
        target.wait_for("ChannelEnteredBridge", timeout=10)
        agent.transfer_progress(states="channel_answered")
        assert ari.wait_for("ChannelTransfer", timeout=10).get("state") == "channel_answered"

        assert phone.wait(15) == 0, phone.errors()                          # NOTIFY 200, then the phone's BYE
        agent.wait_for("StasisEnd", timeout=10)
        assert set(talk.get().channels) == {customer.id, target.id}
        assert not any(ch.id == agent.id for ch in ari.channels.list())
        ladder = phone.ladder()
        assert ladder[ladder.index("phone -> REFER (transfer to 6003)") + 1] == "phone <- 202 Accepted (to REFER)"
        notifies = [line for line in ladder if line.startswith("phone <- NOTIFY")]
        assert notifies[-1] == "phone <- NOTIFY (the transfer: SIP/2.0 200 OK)", ladder
        assert ladder[-2:] == ["phone -> BYE", "phone <- 200 OK (to BYE)"]

        target.hangup()
        assert target_phone.wait(10) == 0, target_phone.errors()            # it got our BYE and answered it


def test_the_app_can_refuse_a_transfer_and_the_customer_stays_with_the_agent(ari):
    with SipPhone("6002", transfer_to="6003", talk=1.0) as phone:
        customer, agent, talk = _customer_and_agent(ari, phone)
        assert ari.wait_for("ChannelTransfer", timeout=15).refer_to.requested_destination.destination == "6003"
        agent.transfer_progress(states="channel_declined")
        assert ari.wait_for("ChannelTransfer", timeout=10).get("state") == "channel_declined"
        notified = eventually(lambda: [line for line in phone.ladder() if line.startswith("phone <- NOTIFY")
                                       and "100 Trying" not in line], 10, "the phone's final NOTIFY")
        assert notified == ["phone <- NOTIFY (the transfer: SIP/2.0 603 Decline)"], "\n".join(phone.ladder()) + phone.errors()
        assert phone.running                                                 # no BYE: the phone stays on the call
        assert set(talk.get().channels) == {customer.id, agent.id}

        agent.hangup()                                                       # the agent's call ends from our side
        assert phone.wait(10) == 0, phone.errors()
        assert phone.ladder()[-2:] == ["phone <- BYE", "phone -> 200 OK (to BYE)"]
        assert talk.get().channels == [customer.id]


def test_without_ari_only_asterisk_transfers_by_itself_and_the_app_hears_of_it_after(ari):
    """The default handling (core): Asterisk dials the target from the phone's dialplan context itself.

    In a Stasis bridge it swaps the phone's channel for a Local channel to 6003@phones (which enters the
    app, StasisStart), then says what it did (BridgeBlindTransfer); the app was never asked.
    """
    with SipPhone("6002", transfer_to="6003", talk=1.0) as phone:
        customer, agent, talk = _customer_and_agent(ari, phone)
        agent.set_channel_var(variable="PJSIP_TRANSFER_HANDLING()", value="core")
        done = ari.wait_for("BridgeBlindTransfer", timeout=15)
        assert (done.channel.id, done.bridge.id, done.exten, done.result) == (agent.id, talk.id, "6003", "Success")
        assert done.context == "phones"                                      # the phone's own context
        assert phone.wait(15) == 0, phone.errors()                          # NOTIFY 200, then the phone's BYE
        assert "phone <- NOTIFY (the transfer: SIP/2.0 200 OK)" in phone.ladder()
        agent.wait_for("StasisEnd", timeout=10)
        local = [e.channel.name for e in ari.pending_events("StasisStart")]
        assert any(name.startswith("Local/6003@phones-") for name in local), local
        assert not ari.pending_events("ChannelTransfer")                    # the app was never asked
        assert customer.id in talk.get().channels                           # the customer stays in our bridge
