"""A real ARIClient against the stand-in server of fake_ari.py: argument checking, encoding, results, errors."""

from __future__ import annotations

import time

import pytest

import vicifast_kit as vk

from fake_ari import FakeARI, QuietEvents, offline_client


@pytest.fixture
def server():
    s = FakeARI()
    yield s
    s.close()


@pytest.fixture
def ari(server):
    client = offline_client(server, timeout=2.0)
    yield client
    client.close()


def _last(server):
    return server.requests[-1]


def test_the_client_builds_its_operations_from_the_servers_description(ari):
    assert {"channels", "bridges", "recordings", "events"} <= set(dir(ari))
    assert "originate" in dir(ari.channels) and ari.channels.originate.__doc__.startswith("test operation originate")
    assert len(ari.operations) == 14 and ari.state == "connected"


def test_arguments_are_checked_before_anything_is_sent(ari, server):
    sent = len(server.requests)
    with pytest.raises(TypeError, match=r"play\(\) takes 1 positional argument\(s\) \(channel_id\)"):
        ari.channels.play("c1", "sound:x")
    with pytest.raises(TypeError, match="unexpected keyword argument 'medium'"):
        ari.channels.play("c1", medium="sound:x")
    with pytest.raises(TypeError, match="missing required argument\\(s\\): media"):
        ari.channels.play("c1")
    with pytest.raises(TypeError, match="multiple values for argument 'channel_id'"):
        ari.channels.play("c1", channel_id="c2", media="x")
    with pytest.raises(TypeError, match="missing required argument\\(s\\): endpoint"):
        ari.channels.originate(app="x")
    ch = vk.Channel(ari, "c1")
    with pytest.raises(TypeError, match="unexpected keyword argument 'channel_id'"):
        ch.play(channel_id="c2", media="x")               # the handle's own id is bound
    assert len(server.requests) == sent


def test_values_are_encoded_as_ari_takes_them(ari, server):
    server.answers[("POST", "/ari/bridges/b%2F1/addChannel")] = (204, None)
    server.answers[("POST", "/ari/bridges/b/1/addChannel")] = (204, None)
    bridge = vk.Bridge(ari, "b/1")
    bridge.add_channel(channel=[vk.Channel(ari, "c1"), "c2"], absorb_dtmf=True)
    method, path, query, body = _last(server)
    assert (method, query) == ("POST", {"channel": "c1,c2", "absorbDTMF": "true"})
    assert path in ("/ari/bridges/b%2F1/addChannel", "/ari/bridges/b/1/addChannel")
    server.answers[("POST", "/ari/channels")] = lambda q, b: (200, {"id": q.get("channelId", "new"), "name": "Local/x;1",
                                                                    "state": "Down", "caller": {"number": "1"}})
    ch = ari.channels.originate(endpoint="Local/1@x", appArgs="a,b", channel_id="mine",
                                variables={"X": "1"})
    method, path, query, body = _last(server)
    assert query == {"endpoint": "Local/1@x", "appArgs": "a,b", "channelId": "mine"}        # ARI's spellings
    assert body == {"variables": {"X": "1"}}
    assert isinstance(ch, vk.Channel) and ch.id == "mine" and ch.caller.number == "1"
    assert ari.owns(ch) and not ari.owns("channel", "someone-elses")


def test_results_come_back_as_handles_records_lists_and_bytes(ari, server):
    server.answers[("GET", "/ari/channels")] = (200, [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}])
    server.answers[("GET", "/ari/channels/a/variable")] = (200, {"value": "42"})
    server.answers[("POST", "/ari/channels/a/play")] = (200, {"id": "p1", "state": "queued", "target_uri": "channel:a"})
    server.answers[("GET", "/ari/recordings/stored/r1/file")] = (200, {"not": "audio"})
    chans = ari.channels.list()
    assert [type(c).__name__ for c in chans] == ["Channel", "Channel"] and [c.id for c in chans] == ["a", "b"]
    var = chans[0].get_channel_var(variable="X")
    assert isinstance(var, vk.Record) and var.value == "42"
    playback = chans[0].play(media=["sound:a", "sound:b"])
    assert isinstance(playback, vk.Playback) and _last(server)[2]["media"] == "sound:a,sound:b"
    assert isinstance(ari.recordings.get_stored_file("r1"), bytes)
    assert ari.handle("device_state", "Stasis:x").key == ("device_state", "Stasis:x")
    assert ari.handle("Channel", "a") == chans[0]


def test_a_wrong_password_says_what_to_check_where_it_came_from(server, monkeypatch, tmp_path):
    """The argument you gave, your environment, or the lab's settings: each message names its own."""
    with pytest.raises(vk.Unauthorized) as err:
        offline_client(server, password="wrong")
    assert "the password you passed" in str(err.value) and "lab" not in str(err.value) and "wrong" not in str(err.value)
    monkeypatch.setenv("ARI_PASSWORD", "wrong-from-env")
    with pytest.raises(vk.Unauthorized) as err:
        vk.connect("offline", url=server.url, user="vicifast", event_source=QuietEvents())
    assert "ARI_PASSWORD from your environment" in str(err.value) and "wrong-from-env" not in str(err.value)
    monkeypatch.delenv("ARI_PASSWORD")
    secrets = tmp_path / "lab-secrets.env"
    secrets.write_text("ARI_PASSWORD=wrong-in-the-lab\nAMI_SECRET=a1234\nSIP_PASSWORD=s1234\nPUSH_PASSWORD=p1234\n")
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(secrets))
    with pytest.raises(vk.Unauthorized) as err:
        vk.connect("offline", url=server.url, user="vicifast", event_source=QuietEvents())
    assert "vicifast-kit lab status" in str(err.value) and "wrong-in-the-lab" not in str(err.value)


def test_a_slow_answer_is_a_request_timeout_not_an_unreachable_lab(ari, server):
    server.answers[("GET", "/ari/channels/slow")] = (200, {"id": "slow"})
    server.slow[("GET", "/ari/channels/slow")] = 1.0
    ari.timeout = 0.3
    started = time.monotonic()
    with pytest.raises(vk.RequestTimeout) as err:
        ari.channels.get("slow")
    assert time.monotonic() - started < 0.9
    assert not isinstance(err.value, vk.LabUnreachable) and isinstance(err.value, TimeoutError)
    assert "GET /channels/slow" in str(err.value) and "not down" in str(err.value)


def test_nothing_answering_is_lab_unreachable_with_the_next_step_for_that_address(server, monkeypatch):
    client = offline_client(server)
    server.close()
    with pytest.raises(vk.LabUnreachable) as err:          # an address you passed: your server's settings
        client.channels.list()
    assert "the URL you passed" in str(err.value) and "http.conf" in str(err.value)
    client.close()
    monkeypatch.setenv("ARI_URL", server.url)
    with pytest.raises(vk.LabUnreachable, match="ARI_URL from your environment"):
        vk.connect("offline", user="vicifast", password="x", event_source=QuietEvents())
    monkeypatch.delenv("ARI_URL")
    monkeypatch.setenv("ARI_PORT", "9")                   # the lab's own address: start the lab
    with pytest.raises(vk.LabUnreachable, match="vicifast-kit lab up"):
        vk.connect("offline", user="vicifast", password="x", event_source=QuietEvents())


def test_an_operation_on_a_call_that_ended_names_its_hang_up_cause(ari, server):
    hub = ari.context.events
    hub.put({"type": "ChannelHangupRequest", "cause": 17, "channel": {"id": "c9", "name": "PJSIP/1-9"}})
    server.answers[("POST", "/ari/channels/c9/answer")] = (404, {"message": "Channel not found"})
    with pytest.raises(vk.CallEnded) as err:
        vk.Channel(ari, "c9").answer()
    assert err.value.cause == 17 and "this call has ended (hang-up cause 17, User busy)" in str(err.value)
    server.answers[("GET", "/ari/recordings/stored/nope/file")] = (404, {"message": "Recording not found"})
    with pytest.raises(vk.NotFound) as err:
        ari.recordings.get_stored_file("nope")
    assert type(err.value) is vk.NotFound                  # not a call: a plain NotFound


def test_a_call_torn_down_under_a_request_is_call_ended_not_a_server_error(ari, server):
    """Between a hang-up and the channel's end Asterisk answers 500 (or 409); once GET says 404, it is CallEnded."""
    hub = ari.context.events
    hub.put({"type": "ChannelDestroyed", "cause": 16, "channel": {"id": "c7", "name": "Local/x-7;2"}})
    server.answers[("POST", "/ari/channels/c7/answer")] = (500, {"message": "Failed to answer channel"})
    gets = []
    server.answers[("GET", "/ari/channels/c7")] = lambda q, b: (gets.append(1) and None) or (
        (200, {"id": "c7"}) if len(gets) < 3 else (404, {"message": "Channel not found"}))
    with pytest.raises(vk.CallEnded) as err:
        vk.Channel(ari, "c7").answer()
    assert err.value.status == 500 and err.value.cause == 16 and len(gets) == 3
    assert "this call has ended (hang-up cause 16, Normal Clearing)" in str(err.value)
    # A channel that only left the app (continue) and still exists keeps its 409: it has not ended.
    hub.put({"type": "StasisEnd", "channel": {"id": "c8", "name": "PJSIP/1-8"}})
    server.answers[("POST", "/ari/channels/c8/answer")] = (409, {"message": "Channel not in Stasis application"})
    server.answers[("GET", "/ari/channels/c8")] = (200, {"id": "c8"})
    with pytest.raises(vk.Conflict) as err:
        vk.Channel(ari, "c8").answer()
    assert not isinstance(err.value, vk.CallEnded)
    # A 500 on a call never seen ending stays a ServerError (no probing).
    server.answers[("POST", "/ari/channels/c6/answer")] = (500, {"message": "Failed to answer channel"})
    with pytest.raises(vk.ServerError):
        vk.Channel(ari, "c6").answer()


def test_a_closed_client_says_so(server):
    client = offline_client(server)
    client.close()
    assert client.state == "closed"
    with pytest.raises(vk.ClientClosed, match="vk.connect"):
        client.channels.list()
    with pytest.raises(vk.ClientClosed):
        client.wait_for("StasisStart", timeout=1)
