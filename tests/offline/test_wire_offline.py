"""The wire without a lab: what it records, how it masks secrets, and the curl and HTTP it writes."""

from __future__ import annotations

import json
import logging
import shlex

import pytest

import vicifast_kit as vk
from fake_ari import FakeARI, offline_client
from vicifast_kit import wire as wire_module
from vicifast_kit.wire import MASK, Wire, mask, register_secret, via


@pytest.fixture
def server():
    s = FakeARI(password="pw-for-the-wire")
    s.answers[("POST", "/ari/channels/c1/answer")] = (204, None)
    s.answers[("GET", "/ari/channels")] = (200, [])
    s.answers[("POST", "/ari/channels")] = lambda q, b: (200, {"id": "c9", "name": "Local/x", "caller": {}})
    yield s
    s.close()


@pytest.fixture
def ari(server):
    client = offline_client(server)
    yield client
    client.close()


def test_requests_and_events_are_recorded_in_order_as_plain_dicts(ari):
    with ari.wire() as w:
        ari.channels.list()
        ari.context.events  # the hub exists
        ari._deliver({"type": "StasisStart", "channel": {"id": "c1", "name": "PJSIP/6001-1"}, "args": []})
        ari.channels.answer("c1")
    ari.channels.list()                                   # after the block: not recorded
    kinds = [(e["kind"], e.get("type") or e["method"]) for e in w.entries]
    assert kinds == [("request", "GET"), ("event", "StasisStart"), ("request", "POST")]
    answer = w.requests[1]
    assert answer["path"] == "/channels/c1/answer" and answer["template"] == "/channels/{channelId}/answer"
    assert answer["status"] == 204 and answer["response"] is None and answer["ms"] >= 0
    assert w.events[0]["json"]["channel"]["name"] == "PJSIP/6001-1"
    json.dumps(w.entries, default=str)                    # plain data
    assert "POST /channels/{channelId}/answer" in repr(w) and "StasisStart" in repr(w)


def test_an_error_answer_is_recorded_with_its_status_and_message(ari):
    with ari.wire() as w, pytest.raises(vk.NotFound):
        ari.channels.hangup("gone")
    assert w.requests[0]["status"] == 404 and w.requests[0]["response"] == {"message": "Nothing here"}


def test_curl_lines_say_the_same_request_and_never_the_password(ari, server):
    with ari.wire() as w:
        ari.channels.originate(endpoint="Local/s@sim-caller/n", app="demo", variables={"A": "b c"})
        ari.channels.answer("c1")
    first, second = w.curl()
    words = shlex.split(first)
    assert words[:3] == ["curl", "-s", "-u"] and words[3] == "$ARI_USER:$ARI_PASSWORD"
    assert words[4:6] == ["-X", "POST"] and words[6].startswith(server.url + "/ari/channels?")
    assert "endpoint=Local/s@sim-caller/n" in words[6] and "app=demo" in words[6]
    assert words[words.index("-d") + 1] == json.dumps({"variables": {"A": "b c"}})
    assert shlex.split(second)[-1] == server.url + "/ari/channels/c1/answer"
    http = w.http()[1]
    assert http.startswith("POST /ari/channels/c1/answer HTTP/1.1\nHost: 127.0.0.1:") and f"Basic {MASK}" in http
    assert "pw-for-the-wire" not in str(w.curl()) + str(w.http()) + repr(w) + w._repr_html_()
    assert w.websocket().endswith('&api_key=$ARI_USER:$ARI_PASSWORD"') and "app=offline" in w.websocket()


def test_secrets_are_masked_everywhere_they_could_appear(ari, caplog):
    register_secret("hmac-key-0123")
    caplog.set_level(logging.DEBUG, logger="vicifast_kit.wire")
    with ari.wire() as w:
        ari.request("GET", "/channels", api_key="vicifast:pw-for-the-wire", note="pw-for-the-wire")
        ari._deliver({"type": "ChannelVarset", "variable": "TOKEN", "value": "hmac-key-0123",
                      "channel": {"id": "c1", "name": "x"}})
    shown = " ".join([json.dumps(w.entries, default=str), str(w.curl()), str(w.http()), repr(w), w._repr_html_(),
                      caplog.text])
    assert "pw-for-the-wire" not in shown and "hmac-key-0123" not in shown and MASK in shown
    assert w.requests[0]["params"]["api_key"] == MASK


def test_mask_keeps_shapes_and_harmless_values():
    value = {"password": "x", "name": "ok", "list": [{"secret": "y"}, "plain"], "empty_token": ""}
    assert mask(value) == {"password": MASK, "name": "ok", "list": [{"secret": MASK}, "plain"], "empty_token": ""}


def test_a_long_recording_keeps_the_newest_and_counts_the_dropped(ari):
    with ari.wire(limit=5) as w:
        for n in range(12):
            ari._deliver({"type": "ChannelVarset", "variable": "N", "value": str(n)})
    assert [e["json"]["value"] for e in w.entries] == [str(n) for n in range(7, 12)]
    assert w.dropped == 7 and "7 dropped" in repr(w)


def test_what_a_kit_helper_did_says_so(ari):
    ch = ari.handle("channel", "c1")
    with ari.wire() as w:
        for digit in "12#":
            ari._deliver({"type": "ChannelDtmfReceived", "digit": digit, "duration_ms": 100,
                          "channel": {"id": "c1", "name": "x"}})
        assert ch.collect_digits(timeout=2) == "12"
        ari._deliver({"type": "StasisStart", "channel": {"id": "c2", "name": "y"}})
        ari.wait_for("StasisStart", timeout=2)
        with via("simulate_caller"):
            ari.channels.list()
        ari.channels.list()
    helpers = [(e.get("type") or e["method"], e["via"]) for e in w.entries]
    assert helpers == [("ChannelDtmfReceived", "collect_digits"), ("ChannelDtmfReceived", "collect_digits"),
                       ("ChannelDtmfReceived", "collect_digits"), ("StasisStart", "wait_for"),
                       ("GET", "simulate_caller"), ("GET", None)]
    assert "via collect_digits" in w._repr_html_()


def test_every_kit_helper_says_so_first_in_its_docstring():
    helpers = [vk.Channel.collect_digits, vk.Channel.media, vk.Channel.listen, vk.Bridge.media, vk.Handle.wait_for,
               vk.ARIClient.wait_for, vk.lab.simulate_caller, vk.voice.talk_detect, vk.voice.stop_talk_detect,
               vk.voice.take_turn, vk.voice.route, vk.LiveRecording.audio, vk.StoredRecording.audio]
    for fn in helpers:
        assert fn.__doc__.startswith("Kit helper"), fn


def test_html_folds_long_json(ari):
    with ari.wire() as w:
        ari._deliver({"type": "ChannelVarset", "variable": "BIG", "value": "x" * 10000})
    assert "more characters" in w._repr_html_() and len(w._repr_html_()) < 8000


def test_no_open_wire_costs_nothing_but_a_check(ari):
    assert ari._wires == [] and ari.context.events.on_take is None
    w = ari.wire()
    assert ari.context.events.on_take is not None
    w.stop()
    assert ari._wires == [] and ari.context.events.on_take is None
    assert isinstance(w, Wire) and wire_module.current_via() is None


def test_watchers_hear_of_new_entries_answers_and_helpers(ari):
    """A widget re-renders when an entry arrives and again when it is completed (its answer, the helper that took it)."""
    with ari.wire() as w:
        calls = []
        w.watch(lambda: calls.append(w.entries[-1].get("status") or w.entries[-1].get("via")))
        ari.channels.list()                                    # begun (None), then answered (200)
        ari._deliver({"type": "ChannelDtmfReceived", "digit": "1", "channel": {"id": "c1", "name": "x"}})
        ari.handle("channel", "c1").collect_digits(max_digits=1, timeout=1)    # taken by a helper
    assert calls == [None, 200, None, "collect_digits"]
