"""vk.lab.leftovers(ari): what one client left in the shared lab, never what other people's programs hold."""

from __future__ import annotations

import pytest

import vicifast_kit as vk
from vicifast_kit.transport import HTTPTransport

from client_helpers import cleanup, unique_app

ZERO = {"channels": 0, "bridges": 0, "recordings": 0}


def test_another_clients_calls_bridges_and_recordings_are_not_counted():
    mine = vk.connect(app=unique_app("left-a"))
    other = vk.connect(app=unique_app("left-b"))
    try:
        caller = vk.lab.simulate_caller(other, say=None, duration=30)        # a call into the other's app
        theirs = other.wait_for("StasisStart", timeout=10).channel
        theirs.answer()
        bridge = other.bridges.create(type="mixing")
        bridge.add_channel(channel=theirs)
        recording = bridge.record(name=f"left-{other.app}", format="wav", if_exists="overwrite")
        recording.wait_for("RecordingStarted", timeout=10)
        # The other client's: the caller's half it made, the half that entered its app, its bridge, the
        # recording (stored from its first moment).
        assert vk.lab.leftovers(other, timeout=0) == {"channels": 2, "bridges": 1, "recordings": 1}
        assert vk.lab.leftovers(mine, timeout=0) == ZERO                      # none of it is mine
        everything = vk.lab.leftovers(timeout=0)                              # no client: the whole lab
        assert everything["channels"] >= 2 and everything["bridges"] >= 1 and everything["recordings"] >= 1
        recording.stop()
        caller.hangup()
        bridge.destroy()
        other.recordings.delete_stored(recording.name)
        assert vk.lab.leftovers(other, timeout=5) == ZERO                     # waits for the hang-up to finish
    finally:
        cleanup(other)
        other.close()
        mine.close()


def test_the_far_half_of_a_local_call_counts_with_the_half_the_client_made():
    with vk.connect(app=unique_app("left-local")) as ari:
        try:
            near = ari.channels.originate(endpoint="Local/9001@inbound/n", app=ari.app)   # music on hold
            ari.wait_for("StasisStart", timeout=10)
            assert ari.owns(near) and ari.owns("channel", near.id)
            assert vk.lab.leftovers(ari, timeout=0)["channels"] == 2            # near, and the far half in the dialplan
            near.hangup()
            assert vk.lab.leftovers(ari) == ZERO
        finally:
            cleanup(ari)


def test_a_refused_answer_raises_and_is_never_a_leftover(monkeypatch):
    with vk.connect(app=unique_app("left-401")) as ari:
        wrong = HTTPTransport(ari.url, ari.user, "wrong-password")   # as if the lab's password had changed
        monkeypatch.setattr(ari.transport, "send", wrong.send)
        with pytest.raises(vk.Unauthorized, match="ARI_PASSWORD"):
            vk.lab.leftovers(ari, timeout=0)
