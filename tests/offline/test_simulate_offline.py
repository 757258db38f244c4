"""Lab-only helpers against an ARI that is not the lab (the offline stand-in): a clear NotTheLab, nothing placed."""

from __future__ import annotations

import pytest
from fake_ari import FakeARI, offline_client

import vicifast_kit as vk
from vicifast_kit.lab import simulate


@pytest.fixture
def server():
    server = FakeARI()
    yield server
    server.close()


def test_a_simulated_caller_on_a_server_without_the_labs_dialplan_is_refused_and_places_nothing(server):
    server.answers[("GET", "/ari/asterisk/variable")] = (200, {"value": ""})      # no SIM_NOISE global there
    ari = offline_client(server)
    try:
        with ari.wire() as wire:
            with pytest.raises(vk.lab.NotTheLab) as raised:
                vk.lab.simulate_caller(ari)
        text = str(raised.value)
        assert isinstance(raised.value, vk.Error) and server.url in text
        assert "`sim-caller`" in text and "`inbound`" in text and "SIM_NOISE" in text
        assert "vicifast-kit lab up" in text and "ari.channels.originate(" in text
        asked = [(method, path, query) for method, path, query, _ in server.requests if "/api-docs/" not in path]
        assert asked == [("GET", "/ari/asterisk/variable", {"variable": "SIM_NOISE"})]       # no POST /channels
        assert wire.requests == []                    # the check is off the wire (no notebook output changes)
    finally:
        ari.close()


def test_the_labs_dialplan_is_asked_for_once_per_client(server):
    server.answers[("GET", "/ari/asterisk/variable")] = (200, {"value": "/var/lib/asterisk/vicifast/room-noise"})
    ari = offline_client(server)
    try:
        simulate.check_lab_dialplan(ari)
        simulate.check_lab_dialplan(ari)
        assert [path for _, path, _, _ in server.requests].count("/ari/asterisk/variable") == 1
    finally:
        ari.close()
    other = offline_client(server)              # another client asks again
    try:
        simulate.check_lab_dialplan(other)
        assert [path for _, path, _, _ in server.requests].count("/ari/asterisk/variable") == 2
    finally:
        other.close()


def test_a_transcript_from_a_server_that_is_not_the_lab_says_so(server, monkeypatch):
    monkeypatch.setattr(simulate, "_transcripts", {})
    ari = offline_client(server)
    try:
        with pytest.raises(vk.lab.NotTheLab) as raised:
            vk.lab.transcript("hello-world", ari=ari)
    finally:
        ari.close()
    text = str(raised.value)
    assert server.url in text and "does not serve the lab's transcript" in text and "lab restart" in text
