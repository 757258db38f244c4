"""vk.lab.leftovers() without a client, against the offline ARI stand-in: errors raise, never count."""

from __future__ import annotations

import socket

import pytest
from fake_ari import FakeARI

import vicifast_kit as vk
from vicifast_kit import settings
from vicifast_kit.lab import probes


@pytest.fixture
def serve(monkeypatch):
    servers = []

    def start(answers):
        """The ARI stand-in of the offline tier, answering each GET path as `answers` says."""
        server = FakeARI(password=settings.load().ari_password)
        server.answers = {("GET", path): answer for path, answer in answers.items()}
        servers.append(server)
        monkeypatch.setenv("ARI_URL", server.url)
        return server

    yield start
    for server in servers:
        server.close()


def test_a_401_answer_raises_unauthorized_naming_the_password_setting(serve):
    serve({path: (401, {"message": "Authentication required"})
           for path in ("/ari/channels", "/ari/bridges", "/ari/recordings/stored")})
    with pytest.raises(vk.Unauthorized) as err:
        vk.lab.leftovers(timeout=0)
    assert "ARI_PASSWORD" in str(err.value) and "vicifast-kit lab status" in str(err.value)
    assert isinstance(err.value, vk.Error)


def test_a_server_error_raises(serve):
    serve({"/ari/channels": (200, []), "/ari/bridges": (500, {"message": "boom"})})
    with pytest.raises(vk.ServerError):
        vk.lab.leftovers(timeout=0)


def test_counts_every_object_without_a_client(serve):
    serve({"/ari/channels": (200, [{"id": "1", "name": "PJSIP/6001-01"}, {"id": "2", "name": "Local/x@y-01;1"}]),
           "/ari/bridges": (200, [{"id": "b"}]), "/ari/recordings/stored": (200, [])})
    assert vk.lab.leftovers(timeout=0) == {"channels": 2, "bridges": 1, "recordings": 0}
    assert vk.lab.leftovers(0) == {"channels": 2, "bridges": 1, "recordings": 0}     # the old positional timeout


def test_nothing_answering_raises_lab_unreachable(monkeypatch):
    with socket.socket() as sock:          # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ARI_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(vk.LabUnreachable):
        vk.lab.leftovers(timeout=0)


def test_only_owned_objects_and_the_other_half_of_owned_local_calls_count():
    lab = {"/channels": [{"id": "a1", "name": "Local/9000@inbound-0001;1"},
                         {"id": "a2", "name": "Local/9000@inbound-0001;2"},      # the far half: counted
                         {"id": "x1", "name": "Local/9000@inbound-0002;1"},      # someone else's
                         {"id": "x2", "name": "Local/9000@inbound-0002;2"},
                         {"id": "p", "name": "PJSIP/6001-00000001"}],
           "/bridges": [{"id": "b-mine"}, {"id": "b-theirs"}],
           "/recordings/stored": [{"name": "mine"}, {"name": "theirs"}]}
    owned = {("channel", "a1"), ("bridge", "b-mine"), ("stored_recording", "mine")}
    found = probes.count_leftovers(lab.__getitem__, lambda kind, ident: (kind, ident) in owned)
    assert found == {"channels": 2, "bridges": 1, "recordings": 1}
    assert probes.count_leftovers(lab.__getitem__) == {"channels": 5, "bridges": 2, "recordings": 2}


def test_ownership_notes_what_requests_made_and_what_entered_the_app():
    from vicifast_kit.events import Ownership
    own = Ownership(limit=3)
    own.note_result("POST", "/channels", {"id": "c1", "caller": {}})
    own.note_result("POST", "/channels/c1/play", {"id": "p1", "target_uri": "channel:c1"})      # a playback: not kept
    own.note_result("POST", "/bridges", {"id": "b1", "bridge_type": "mixing"})
    own.note_result("GET", "/channels/c9", {"id": "c9", "caller": {}})                            # a read: not kept
    own.note_result("POST", "/channels/c1/record", {"name": "r1", "target_uri": "channel:c1"})
    assert {("channel", "c1"), ("bridge", "b1"), ("stored_recording", "r1")} <= set(own._keys)
    assert own.owns("live_recording", "r1") and own.owns("stored_recording", "r1")
    assert ("playback", "p1") not in own and ("channel", "c9") not in own
    own.note_event({"type": "StasisStart", "channel": {"id": "c2"}})
    assert ("channel", "c2") in own and ("channel", "c1") not in own and len(own) == 3     # bounded: oldest gone
