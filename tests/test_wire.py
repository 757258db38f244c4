"""The wire against the lab: a realistic call recorded, every curl line run for real with Debian's curl,
a plain websocket client seeing the same event JSON, and no secret anywhere."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import uuid

import pytest
import websocket

import vicifast_kit as vk
from vicifast_kit import settings
from vicifast_kit.wire import MASK

from client_helpers import cleanup, unique_app

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

SYNC = ("StasisStart", "PlaybackFinished", "StasisEnd")


def _ids() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"caller": f"wire-caller-{tag}", "call": f"wire-call-{tag}", "playback": f"wire-pb-{tag}",
            "bridge": f"wire-br-{tag}"}


def _flow(ari: vk.ARIClient, ids: dict[str, str]) -> str:
    """Originate a simulated caller, answer, play, collect digits, bridge, hang up: with our own ids throughout."""
    ari.channels.originate(endpoint="Local/5551000@inbound/n", context="sim-caller", extension="s", priority=1,
                           channel_id=ids["caller"], other_channel_id=ids["call"], formats="slin16,ulaw",
                           variables={"VICIFAST_APP": ari.app, "SIM_DELAY": "1", "SIM_DTMF": "42#"})
    call = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == ids["call"]).channel
    call.answer()
    assert call.get().state == "Up"
    call.play_with_id(ids["playback"], media="sound:beep").wait_for("PlaybackFinished", timeout=10)
    digits = call.collect_digits(terminator="#", timeout=10)
    bridge = ari.bridges.create_with_id(ids["bridge"], type="mixing", name="wire test")
    bridge.add_channel(channel=call)
    call.hangup()
    call.wait_for("StasisEnd", timeout=10)
    bridge.destroy()
    return digits


def _curl(line: str, env: dict[str, str]) -> tuple[int, object]:
    run = subprocess.run(["bash", "-c", line + " -w '\\n%{http_code}'"], capture_output=True, text=True, env=env,
                         timeout=20)
    body, _, status = run.stdout.rpartition("\n")
    return int(status), (json.loads(body) if body.strip() else None)


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return sorted(value)
    if isinstance(value, list):
        return "list"
    return value


def test_every_recorded_request_runs_the_same_with_curl():
    s = settings.load()
    env = dict(os.environ, ARI_USER=s.ari_user, ARI_PASSWORD=s.ari_password)
    ari = vk.connect(app=unique_app("wire"))
    ids = _ids()
    try:
        with ari.wire() as w:
            assert _flow(ari, ids) == "42"
        requests = w.requests
        kinds = [(r["method"], r["template"]) for r in requests]
        assert kinds == [("POST", "/channels"), ("POST", "/channels/{channelId}/answer"),
                         ("GET", "/channels/{channelId}"), ("POST", "/channels/{channelId}/play/{playbackId}"),
                         ("POST", "/bridges/{bridgeId}"), ("POST", "/bridges/{bridgeId}/addChannel"),
                         ("DELETE", "/channels/{channelId}"), ("DELETE", "/bridges/{bridgeId}")]
        assert {e["via"] for e in w.events if e["type"] == "ChannelDtmfReceived"} == {"collect_digits"}
        lines = w.curl()
        assert len(lines) == len(requests) and s.ari_password not in str(lines)
        # The same call again, by hand: each curl line in order, each after the events it waited for the first time.
        ari.clear_events()
        entries = w.entries
        for line, request in zip(lines, requests):
            before = [e for e in entries if e["kind"] == "event" and e["type"] in SYNC and e["n"] < request["n"]
                      and e.get("_replayed") is None]
            for event in before:
                ident = (event["json"].get("channel") or event["json"].get("playback") or {}).get("id")
                ari.wait_for(event["type"], timeout=10,
                             where=lambda ev, t=ident: (ev.raw.get("channel") or ev.raw.get("playback") or {})
                             .get("id") == t)
                event["_replayed"] = True
            status, answer = _curl(line, env)
            assert status == request["status"], (line, answer)
            assert _shape(answer) == _shape(request["response"]), line
    finally:
        for kind, ident in (("channels", ids["caller"]), ("channels", ids["call"]), ("bridges", ids["bridge"])):
            try:
                getattr(ari, kind).get(ident) and (ari.channels.hangup(ident) if kind == "channels"
                                                   else ari.bridges.destroy(ident))
            except vk.NotFound:
                pass
        cleanup(ari)
        ari.close()


def test_a_plain_websocket_client_receives_the_same_event_json():
    s = settings.load()
    ari = vk.connect(app=unique_app("wire-kit"))
    other = unique_app("wire-plain")
    plain = websocket.create_connection(
        f"{ari.url.replace('http', 'ws', 1)}/ari/events?app={other}&subscribeAll=true",
        header=["Authorization: " + ari.transport.authorization()], timeout=10)
    ids = _ids()
    try:
        with ari.wire() as w:
            _flow(ari, ids)
        kit = [e["json"] for e in w.events if (e["json"].get("channel") or {}).get("id") == ids["call"]]
        seen: list[dict] = []
        while not seen or seen[-1]["type"] != "ChannelDestroyed":      # the plain client's view of the same call
            message = json.loads(plain.recv())
            if (message.get("channel") or {}).get("id") == ids["call"]:
                seen.append(message)

        def comparable(ev: dict) -> dict:
            return {k: v for k, v in ev.items() if k not in ("application", "asterisk_id")}
        # StasisStart and StasisEnd are for the app that owns the call; every other event is the same JSON.
        shared = [comparable(e) for e in kit if e["type"] not in ("StasisStart", "StasisEnd")]
        assert [e["type"] for e in kit[:1]] == ["StasisStart"] and len(shared) >= 5
        assert [e for e in map(comparable, seen) if e in shared] == shared
    finally:
        plain.close()
        cleanup(ari)
        ari.close()
    assert s.ari_password


def test_no_secret_in_anything_the_wire_shows_returns_or_logs(caplog):
    s = settings.load()
    caplog.set_level(logging.DEBUG, logger="vicifast_kit.wire")
    webhook_secrets = []
    with vk.connect(app=unique_app("wire-secret")) as ari:
        ami = vk.ami.connect()
        from vicifast_kit.push.webhook import Webhook
        hook = Webhook(ari)
        webhook_secrets += [hook.token, hook.secret]
        try:
            with ari.wire() as w:
                ari.request("GET", "/asterisk/info", api_key=f"{s.ari_user}:{s.ari_password}")
                ari.channels.originate(endpoint="Local/s@sim-caller/n", app=ari.app,
                                       variables={"PUSH": s.push_password, "TOKEN": hook.token, "K": hook.secret,
                                                  "SIP": s.sip_password if hasattr(s, "sip_password") else "",
                                                  "AMI": s.ami_secret})
                call = ari.wait_for("StasisStart", timeout=10).channel
                call.hangup()
                call.wait_for("StasisEnd", timeout=10)
        finally:
            hook.close()
            ami.close()
            cleanup(ari)
    renderings = [json.dumps(w.entries, default=str), str(w.curl()), str(w.http()), w.websocket(), repr(w),
                  w._repr_html_(), caplog.text]
    text = "\n".join(renderings)
    for secret in [s.ari_password, s.ami_secret, s.push_password, *webhook_secrets]:
        assert secret not in text
    assert MASK in text and "ChannelVarset" in text           # the variables' events were recorded, masked
