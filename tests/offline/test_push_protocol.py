"""Offline: REST-over-websocket framing, the webhook's checks, and the outbound-websocket listener's gate."""

import base64
import json
import threading

import pytest
import websocket

from vicifast_kit.push import protocol
from vicifast_kit.push.listener import Listener, PushError
from vicifast_kit.push.webhook import RateLimiter, WebhookError, sign, validate_call_request, verify


# --- REST over the websocket ---------------------------------------------------------------
def test_request_framing_puts_query_and_body_where_asterisk_reads_them():
    msg = protocol.rest_request("post", "/ari/channels", {"endpoint": "PJSIP/6001", "timeout": 30,
                                                          "early": True, "skip": None},
                                {"variables": {"A": "1"}}, request_id="r1")
    assert msg["type"] == "RESTRequest" and msg["method"] == "POST" and msg["uri"] == "channels"
    assert msg["request_id"] == msg["transaction_id"] == "r1"
    assert msg["query_strings"] == [{"name": "endpoint", "value": "PJSIP/6001"},
                                    {"name": "timeout", "value": "30"}, {"name": "early", "value": "true"}]
    assert msg["content_type"] == "application/json" and json.loads(msg["message_body"]) == {"variables": {"A": "1"}}


def test_request_without_params_or_body_is_minimal_and_ids_are_unique():
    a, b = protocol.rest_request("GET", "channels/1.2"), protocol.rest_request("GET", "channels/1.2")
    assert a["uri"] == "channels/1.2" and "query_strings" not in a and "message_body" not in a
    assert a["request_id"] != b["request_id"]


@pytest.mark.parametrize("method,path", [("PATCH", "channels"), ("GET", "/"), ("GET", "/ari/")])
def test_request_refuses_what_ari_cannot_answer(method, path):
    with pytest.raises(ValueError):
        protocol.rest_request(method, path)


def test_response_reading():
    ok = {"type": "RESTResponse", "request_id": "r1", "status_code": 200, "reason_phrase": "OK",
          "content_type": "application/json", "message_body": '{"id": "1.2"}'}
    assert protocol.read_response(ok) == (200, "OK", {"id": "1.2"})
    empty = {"type": "RESTResponse", "status_code": 204, "reason_phrase": "No Content"}
    assert protocol.read_response(empty) == (204, "No Content", None)
    err = {"type": "RESTResponse", "status_code": 404, "reason_phrase": "Not Found",
           "message_body": '{"message":"Channel not found"}', "content_type": "application/json"}
    status, reason, result = protocol.read_response(err)
    assert protocol.error_message(result, reason) == "Channel not found"
    assert protocol.is_response(ok) and not protocol.is_response({"type": "StasisStart"})
    with pytest.raises(ValueError):
        protocol.read_response({"type": "StasisStart"})


# --- the webhook's checks -------------------------------------------------------------------
GOOD = {"to": "555-0142", "reference": "lead-42", "callback_url": "http://127.0.0.1:9000/done"}


def test_a_good_request_is_normalised():
    assert validate_call_request(GOOD) == {"to": "5550142", "reference": "lead-42",
                                           "callback_url": "http://127.0.0.1:9000/done"}
    assert validate_call_request(dict(GOOD, to="6003"))["to"] == "6003"


@pytest.mark.parametrize("change", [
    {"to": "911"}, {"to": "+1 212 555 0199"}, {"to": ""}, {"to": 5550142}, {"to": "6004"},
    {"reference": "x" * 65}, {"reference": "lead 42; DROP"}, {"priority": "high"},
    {"callback_url": "http://10.0.0.1/done"}, {"callback_url": "file:///etc/passwd"},
    {"callback_url": "http://user:pw@127.0.0.1/"}, {"callback_url": "http://127.0.0.1.evil.example/"},
    {"callback_url": "http://127.0.0.1:99999/"}, {"callback_url": None},
])
def test_bad_input_is_refused_with_a_reason(change):
    with pytest.raises(WebhookError) as e:
        validate_call_request(dict(GOOD, **change))
    assert e.value.status == 422 and len(e.value.message) > 10
    with pytest.raises(WebhookError):
        validate_call_request(["not", "an", "object"])


def test_rate_limiter_is_a_sliding_window_per_key():
    now = [0.0]
    limiter = RateLimiter(3, 10.0, clock=lambda: now[0])
    assert [limiter.allow("a")[0] for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")[0]                      # another client has its own budget
    allowed, retry = limiter.allow("a")
    assert not allowed and retry == 10.0
    now[0] = 10.0
    assert limiter.allow("a") == (True, 0.0)


def test_signatures():
    body = b'{"outcome": "answered"}'
    assert verify("s3cret", body, sign("s3cret", body))
    assert not verify("s3cret", body + b" ", sign("s3cret", body))
    assert not verify("other", body, sign("s3cret", body)) and not verify("s3cret", body, "")


# --- the listener Asterisk connects to ------------------------------------------------------
def _auth(user, password):
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_listener_admits_only_the_right_credentials_path_and_protocol_and_leaves_no_thread():
    before = set(threading.enumerate())
    got = []
    listener = Listener(0, credentials=("asterisk", "pw"), name="offline")
    listener.route("/ari/push", lambda conn: got.append((conn.subprotocol, conn.recv(timeout=5))))
    url = listener.url("/ari/push")
    for header, path, status in ((None, "/ari/push", 401), (_auth("asterisk", "nope"), "/ari/push", 401),
                                 (_auth("asterisk", "pw"), "/elsewhere", 404)):
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(listener.url(path), header=[header] if header else [],
                                        subprotocols=["ari"], timeout=5)
        assert e.value.status_code == status
    ws = websocket.create_connection(url, header=[_auth("asterisk", "pw")], subprotocols=["ari"], timeout=5)
    ws.send('{"type": "ApplicationRegistered"}')
    for _ in range(50):
        if got:
            break
        threading.Event().wait(0.05)
    assert got == [("ari", '{"type": "ApplicationRegistered"}')]
    assert listener.refused == 3
    mine = [t for t in threading.enumerate() if t not in before]
    assert mine and all(t.daemon and t.name.startswith("vicifast-push") for t in mine)
    ws.close()
    listener.close()
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_listener_listens_where_told_and_says_when_the_port_is_taken_or_the_address_is_not_here():
    anywhere = Listener(0, host="0.0.0.0", credentials=("u", "p"))     # e.g. the Docker JupyterLab
    try:
        assert anywhere.port > 0 and anywhere.url("/ari/push") == f"ws://0.0.0.0:{anywhere.port}/ari/push"
    finally:
        anywhere.close()
    with pytest.raises(PushError, match="no address 192.0.2.1"):        # TEST-NET-1: never this machine's
        Listener(0, host="192.0.2.1")
    first = Listener(0, name="first")
    try:
        with pytest.raises(PushError, match="taken"):
            Listener(first.port, name="second")
    finally:
        first.close()


def test_a_closed_listener_leaves_no_open_file():
    import os
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(10):
        Listener(0, name="fds").close()
    assert len(os.listdir("/proc/self/fd")) == before
