"""The widgets' model: channels and bridges folded from events written here (no lab, no widget on a page)."""

from __future__ import annotations

import pytest

from vicifast_kit.events import EventHub
from vicifast_kit.handles import Context, Record
from vicifast_kit.widgets.model import LiveModel, describe, hangup_cause


class _Lists:
    def __init__(self, rows):
        self.rows = rows

    def list(self):
        return [Record(r) for r in self.rows]


class _Client:
    """What LiveModel uses of a client: on(), request_listeners, apps, and the channel and bridge lists."""

    def __init__(self):
        self.apps = ["mine"]
        self.request_listeners = []
        self.channels, self.bridges = _Lists([]), _Lists([])
        self.hub = EventHub(Context(), "widget-model-test")
        self._handlers = []

    def on(self, event_type, fn):
        self._handlers.append(fn)

        class _Sub:
            def unsubscribe(_):
                self._handlers.remove(fn)
        return _Sub()

    def deliver(self, raw):        # as the dispatcher would: the hub's Event, to each handler
        ev = self.hub.put(raw)
        for fn in list(self._handlers):
            fn(ev)


@pytest.fixture
def client():
    c = _Client()
    yield c
    c.hub.close()


def _chan(ident, state="Ring", **extra):
    return {"id": ident, "name": f"PJSIP/{ident}", "state": state, "creationtime": "2026-01-01T10:00:00.000+0000",
            "caller": {"name": "Ada Adams", "number": "5550100"},
            "dialplan": {"context": "inbound", "exten": "s", "app_name": "Stasis", "app_data": "mine,inbound"}, **extra}


def test_a_call_is_folded_from_its_events_and_leaves_its_last_row(client):
    model = LiveModel(client, poll=None)
    changes = []
    model.listen(lambda: changes.append(model.version))
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c1")})
    row = model.channel("c1")
    assert row["in_app"] and row["app"] == "mine" and row["caller"] == "Ada Adams <5550100>" and row["state"] == "Ring"
    client.deliver({"type": "ChannelStateChange", "channel": _chan("c1", "Up")})
    client.deliver({"type": "BridgeCreated", "bridge": {"id": "b1", "bridge_type": "mixing", "channels": []}})
    client.deliver({"type": "ChannelEnteredBridge", "channel": _chan("c1", "Up"),
                    "bridge": {"id": "b1", "bridge_type": "mixing", "channels": ["c1"]}})
    assert model.channel("c1")["state"] == "Up" and model.channel("c1")["bridge"] == "b1"
    assert model.bridges()[0]["channels"] == ["c1"] and model.bridges()[0]["type"] == "mixing"
    client.deliver({"type": "ChannelDtmfReceived", "channel": _chan("c1", "Up"), "digit": "5"})
    assert model.channel("c1")["last_event"] == "ChannelDtmfReceived: DTMF 5"
    client.deliver({"type": "ChannelHangupRequest", "channel": _chan("c1", "Up"), "cause": 16})
    client.deliver({"type": "StasisEnd", "channel": _chan("c1", "Up")})
    assert model.channel("c1") is None and model.channels() == []
    assert model.ended("c1")["cause"] == "16 (Normal Clearing)"
    assert changes == sorted(changes) and len(changes) == 7
    model.close()
    assert client._handlers == []


def test_a_poll_does_not_revive_a_channel_an_event_removed(client):
    model = LiveModel(client, poll=None)
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c2")})
    client.deliver({"type": "ChannelDestroyed", "channel": _chan("c2"), "cause": 17, "cause_txt": "User busy"})
    client.channels.rows = [_chan("c2"), _chan("c3")]        # a late list still has c2
    model.poll()
    assert [c["id"] for c in model.channels()] == ["c3"]
    assert model.ended("c2")["cause"] == "17 (User busy)"


def test_what_no_event_reports_is_taken_from_the_clients_requests(client):
    model = LiveModel(client, poll=None)
    client.deliver({"type": "StasisStart", "application": "mine", "channel": _chan("c4")})
    [listener] = client.request_listeners
    listener("POST", "/channels/c4/hold", 204, 0.0, 0.01)
    listener("POST", "/channels/c4/moh", 204, 0.0, 0.01)
    listener("POST", "/channels/c4/mute", 500, 0.0, 0.01)      # failed: nothing changes
    row = model.channel("c4")
    assert row["held"] and row["moh"] and not row["muted"]
    listener("DELETE", "/channels/c4/hold", 204, 0.0, 0.01)
    assert not model.channel("c4")["held"]


def test_events_in_words():
    assert describe("ChannelStateChange", {"channel": {"state": "Up"}}) == "state Up"
    assert describe("ChannelHangupRequest", {"soft": True}).startswith("soft hangup")
    assert hangup_cause({"cause": 999, "cause_txt": "Odd"}) == "999 (Odd)"
    assert hangup_cause({"cause": 19}) == "19 (User alerting, no answer)"
