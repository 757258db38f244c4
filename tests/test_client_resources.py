"""Device states, endpoints, sounds, mailboxes, modules, log channels, dynamic config, the raw websocket."""

from __future__ import annotations

import json
import uuid

import pytest

import vicifast_kit as vk

from client_helpers import ari, lab  # noqa: F401  (fixtures)


def test_device_states(ari):
    name = f"Stasis:kit-{uuid.uuid4().hex[:8]}"
    ari.device_states.update(name, device_state="BUSY")
    ds = ari.device_states.get(name)
    assert isinstance(ds, vk.DeviceState) and ds.state == "BUSY"
    assert name in [d.name for d in ari.device_states.list()]
    ari.applications.subscribe(ari.app, event_source=f"deviceState:{name}")
    ds.update(device_state="INUSE")
    ev = ds.wait_for("DeviceStateChanged", timeout=5, where=lambda e: e.device_state.state == "INUSE")
    assert ev.device_state == ds
    ds.delete()
    assert name not in [d.name for d in ari.device_states.list()]


def test_endpoints(ari):
    eps = ari.endpoints.list()
    assert {"PJSIP/6001", "PJSIP/6002", "PJSIP/6003"} <= {e.id for e in eps}
    assert all(isinstance(e, vk.Endpoint) for e in ari.endpoints.list_by_tech("PJSIP"))
    ep = ari.endpoints.get("PJSIP", "6002")
    assert ep.resource == "6002" and ep.state in ("offline", "online", "unknown")
    with pytest.raises(vk.NotFound):
        ari.endpoints.get("PJSIP", "nobody")
    with pytest.raises(vk.ARIError):              # no phone is registered: nowhere to send to
        ep.send_message_to_endpoint(from_="pjsip:kit@127.0.0.1", body="hi")


def test_sounds(ari):
    sounds = ari.sounds.list(lang="en")
    assert len(sounds) > 100 and all(isinstance(s, vk.Sound) for s in sounds[:5])
    hello = ari.sounds.get("hello-world")
    assert hello.id == "hello-world" and any(f.language.startswith("en") for f in hello.formats)
    assert hello.get() == hello


def test_mailboxes_answer_like_the_server(ari):
    # The lab's Asterisk (Debian's) has no res_ari_mailboxes: the resource answers 404.
    with pytest.raises(vk.NotFound):
        ari.mailboxes.list()
    with pytest.raises(vk.NotFound):
        ari.mailboxes.update("kit", old_messages=0, new_messages=1)


def test_modules_and_log_channels(ari):
    mods = ari.asterisk.list_modules()
    assert "res_ari.so" in [m.name for m in mods]
    mod = ari.asterisk.get_module("res_ari_channels.so")
    assert isinstance(mod, vk.Module) and mod.status == "Running" and mod.get_module() == mod
    with pytest.raises(vk.Conflict):
        ari.asterisk.load_module("res_kit_no_such_module.so")
    logs = ari.asterisk.list_log_channels()
    assert any("messages" in l.channel for l in logs)
    name = f"kit-{uuid.uuid4().hex[:6]}"
    ari.asterisk.add_log(name, configuration="notice")
    assert name in [l.channel.rsplit("/", 1)[-1] for l in ari.asterisk.list_log_channels()]
    ari.asterisk.delete_log(name)
    with pytest.raises(vk.NotFound):
        ari.asterisk.delete_log(name)


def test_dynamic_config(ari):
    fields = ari.asterisk.get_object("res_pjsip", "endpoint", "6001")
    assert any(f.attribute == "context" and f.value == "phones" for f in fields)
    with pytest.raises(vk.NotFound):
        ari.asterisk.delete_object("res_pjsip", "endpoint", "no-such-endpoint")


def test_raw_event_websocket(ari):
    ws = ari.events.event_websocket(app=ari.app + "-raw")
    try:
        ari.events.user_event("RawHello", application=ari.app + "-raw")
        msg = json.loads(ws.recv())
        assert msg["type"] == "ChannelUserevent" and msg["eventname"] == "RawHello"
    finally:
        ws.close()


def test_claim_channel_answers(ari):
    with pytest.raises(vk.ARIError):
        ari.events.claim_channel(channel_id="no-such-channel", application=ari.app)
