"""Asterisk pushes to you, against the real lab: outbound websockets (persistent and per call),
REST over the websocket, and a webhook that places real calls and reports their outcome."""

import threading
import time

import pytest
import requests

import vicifast_kit as vk
from vicifast_kit import push

from client_helpers import eventually


def _gone(ari, ids, timeout=10.0):
    """True once none of the channels ids is left in the lab (the test fails after timeout s)."""
    return eventually(lambda: not {c.id for c in ari.channels.list()} & set(ids), timeout, f"channels {ids} to end")


@pytest.fixture
def pushed():
    before = set(threading.enumerate())
    ari = push.connect(timeout=10, connect_timeout=15)
    yield ari
    ari.close()
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()
            and t.name.startswith("vicifast")]
    assert not left, f"threads left running: {left}"


def test_asterisk_connects_out_and_pushes_a_calls_events(pushed):
    ari = pushed
    assert ari.connected and ari.connections >= 1
    listed = vk.lab.cli("ari show outbound-websockets")
    assert "vicifast-push" in listed and "ws://127.0.0.1:8790/ari/push" in listed
    caller = vk.lab.simulate_caller(ari, say=None)
    start = ari.wait_for("StasisStart", timeout=10)
    assert start.application == "vicifast-push" and start.args == ["inbound", "5551000"]
    with pytest.raises(push.PushError, match="served already"):    # e.g. a notebook cell run twice
        push.connect(connect_timeout=1)
    ch = start.channel
    ch.answer()
    assert ch.wait_for("ChannelStateChange", timeout=5).channel.state == "Up"
    ch.hangup()
    assert ch.wait_for("StasisEnd", timeout=5)
    assert _gone(ari, [ch.id, caller.id])


def test_the_kit_tells_the_address_and_lines_the_labs_asterisk_really_uses(pushed):
    # What the kit says Asterisk must be given (repr, asterisk_config) is what the lab rendered from the
    # same settings (PUSH_URI/PUSH_PORT) and Asterisk connects to.
    ari = pushed
    listed = {line.split()[0]: line.split()[-1] for line in vk.lab.cli("ari show outbound-websockets").splitlines()
              if line.startswith("vicifast-")}
    assert listed["vicifast-push"] == ari.url_pushed and ari.url_pushed in repr(ari)
    assert ari.url_pushed == push.config.load().url(push.PUSH_PATH)
    lines = ari.asterisk_config()
    assert f"uri = {ari.url_pushed}\n" in lines and "apps = vicifast-push" in lines and "password = ********" in lines
    assert vk.settings.load().push_password not in lines
    with push.PerCallServer() as server:
        assert listed["vicifast-percall"] == server.url and f"uri = {server.url}\n" in server.asterisk_config()


def test_asterisk_never_connecting_says_what_to_check():
    # A free port the lab's Asterisk was never told about: the kit waits, then says why nothing came.
    started = time.monotonic()
    with pytest.raises(push.PushError) as e:
        push.connect(port=0, connect_timeout=1.5)
    assert time.monotonic() - started < 10
    text = str(e.value)
    assert "Nothing reached 127.0.0.1:" in text and "firewall" in text and "ari show outbound-websockets" in text


def test_rest_over_the_socket_needs_no_http_password(pushed):
    # A client whose HTTP password is wrong still works: every request goes over Asterisk's socket.
    pushed.close()
    ari = push.PushClient(password="not-the-password", timeout=10, connect_timeout=15)
    try:
        assert ari.request("GET", "/asterisk/info")["system"]["version"].startswith("22.")
        with pytest.raises(vk.NotFound, match="Channel not found"):
            ari.channels.get("no-such-channel")
        seen = []
        ari.request_listeners.append(lambda method, path, status, *_: seen.append((method, path, status)))
        bridge = ari.bridges.create(type="mixing", name="push-test")
        bridge.destroy()
        assert [s[2] for s in seen] == [200, 204]
        with pytest.raises(vk.Unauthorized):
            vk.connect(app="push-http-check", password="not-the-password").close()
    finally:
        ari.close()


def test_a_wrong_asterisk_is_refused():
    # The kit admits only Asterisk's credentials: with others expected, Asterisk's tries are refused.
    with pytest.raises(push.PushError, match="did not connect"):
        push.PushClient(credentials=("someone", "else"), connect_timeout=2)


def test_a_call_gets_its_own_websocket():
    placer = vk.connect(app="push-per-call-placer")
    try:
        with push.PerCallServer() as server:
            caller = vk.lab.simulate_caller(placer, app=push.PER_CALL_APP, say=None)
            call = server.next_call(timeout=10)
            start = call.wait_for("StasisStart", timeout=10)
            assert start.application.startswith("vicifast-percall:Local/") and call.app == start.application
            start.channel.answer()
            start.channel.hangup()
            assert call.wait_for("StasisEnd", timeout=5)
            eventually(lambda: call.ended, 10, "Asterisk to close the call's websocket (about 3 s after)")
            assert call.ended and not call.connected
            assert len(server.calls) == 1
            assert _gone(placer, [start.channel.id, caller.id])
    finally:
        placer.close()


def _post(hook, body, token):
    r = requests.post(hook.url + "/calls", json=body, timeout=5, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json(), r.headers


def test_webhook_refuses_bad_token_bad_input_and_too_many_requests(pushed):
    with push.Webhook(pushed, token="right", rate=3, per=30) as hook, push.CallbackReceiver(hook.secret) as crm:
        good = {"to": "5550142", "reference": "lead-1", "callback_url": crm.url + "/done"}
        status, body, headers = _post(hook, good, "wrong")
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        status, body, _ = _post(hook, dict(good, to="0044 20 7946 0000"), "right")
        assert status == 422 and "'to'" in body["error"]
        status, body, _ = _post(hook, dict(good, callback_url="http://192.0.2.1/steal"), "right")
        assert status == 422 and "callback_url" in body["error"]
        status, body, headers = _post(hook, good, "right")       # the 4th request in 30 s
        assert status == 429 and int(headers["Retry-After"]) >= 1
        assert hook.refused == {401: 1, 422: 2, 429: 1} and hook.calls == {}
        assert crm.received == []


def test_webhook_places_a_real_call_and_reports_the_outcome(pushed):
    with push.Webhook(pushed, token="right") as hook, push.CallbackReceiver(hook.secret) as crm:
        status, body, _ = _post(hook, {"to": "555-0142", "reference": "lead-42",
                                       "callback_url": crm.url + "/done"}, "right")
        assert status == 202 and body["status"] == "queued"
        call_id = body["call_id"]
        status, failed, _ = _post(hook, {"to": "6003", "reference": "lead-43",
                                         "callback_url": crm.url + "/done"}, "right")
        assert status == 202
        answered = crm.wait(30, where=lambda c: c["body"]["call_id"] == call_id)
        assert answered["signature_ok"] and answered["path"] == "/done"
        outcome = answered["body"]
        assert outcome["outcome"] == "answered" and outcome["confirmed"] is True and outcome["key"] == "1"
        assert outcome["reference"] == "lead-42" and outcome["to"] == "5550142"
        unreachable = crm.wait(10, where=lambda c: c["body"]["call_id"] == failed["call_id"])["body"]
        assert unreachable["outcome"] == "failed" and "not registered" in unreachable["reason"]
        hook.wait_idle(15)
        assert hook.calls[call_id]["callback"] == {"status": 204, "tries": 1}
        assert _gone(pushed, [call_id])


def test_a_per_call_app_with_nobody_listening_fails_over_to_the_dialplan():
    # No PerCallServer: Asterisk's tries to connect are refused and the call goes on in the
    # dialplan with STASISSTATUS=FAILED (the lab's inbound context then answers it with a notice).
    ari = vk.connect(app="push-per-call-nobody")
    try:
        started = time.monotonic()
        ari.channels.originate(endpoint="Local/5551000@inbound/n", app=ari.app, channel_id="push-nobody-1",
                               other_channel_id="push-nobody-2", variables={"VICIFAST_APP": push.PER_CALL_APP},
                               timeout=10)
        answered = ari.wait_for("StasisStart", timeout=10)
        assert time.monotonic() - started < 5
        assert ari.channels.get_channel_var("push-nobody-2", variable="STASISSTATUS").value == "FAILED"
        answered.channel.hangup()
        assert _gone(ari, ["push-nobody-1", "push-nobody-2"])
    finally:
        ari.close()


def test_a_dropped_socket_comes_back_by_itself_and_calls_keep_arriving(pushed):
    ari = pushed
    placer = vk.connect(app="push-gap-placer")
    try:
        ari.pushed.link.connection.close()        # the socket drops (a network blip, a deploy)
        assert ari.wait_for("WebSocketDisconnected", timeout=5)
        caller = vk.lab.simulate_caller(placer, app=push.PUSH_APP, say=None)   # placed while it is down
        assert ari.wait_for("WebSocketReconnected", timeout=5) and ari.connections >= 2
        start = ari.wait_for("StasisStart", timeout=10)
        start.channel.hangup()
        assert start.channel.wait_for("StasisEnd", timeout=5)
        assert _gone(ari, [start.channel.id, caller.id])
    finally:
        placer.close()
