"""vk.widgets.bridge_map without a lab: what it asks, what it draws, and that the picture is stable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vicifast_kit.widgets import BridgeMap, bridge_map
from vicifast_kit.widgets.bridgemap import channel_label


class StubARI:
    """Answers the two list requests bridge_map makes; records every request."""

    def __init__(self, bridges, channels):
        self.bridges, self.channels, self.asked = bridges, channels, []

    def request(self, method, path, **params):
        self.asked.append((method, path))
        return {"/bridges": self.bridges, "/channels": self.channels}[path]


def channel(ident, caller="", name=None):
    return {"id": ident, "name": name or f"Local/5551000@inbound-0000{ident[-4:]};2", "caller": {"name": caller}}


@pytest.fixture
def lab():
    return StubARI(
        bridges=[{"id": "b-talk-0001", "name": "talk", "bridge_type": "mixing", "channels": ["c-0002", "c-0001"]},
                 {"id": "b-wait-0002", "name": "", "bridge_type": "holding", "channels": []},
                 {"id": "b-other-003", "name": "someone else's", "bridge_type": "mixing", "channels": ["c-0009"]}],
        channels=[channel("c-0001", "Customer"), channel("c-0002", "Agent"), channel("c-0003", "Ada <&> Co"),
                  channel("c-0009", "Not ours")])


def test_only_the_bridges_asked_for_and_two_list_requests(lab):
    picture = bridge_map(lab, ["b-talk-0001", {"id": "b-wait-0002"}], channels=["c-0001", "c-0002", "c-0003"])
    assert lab.asked == [("GET", "/channels"), ("GET", "/bridges")]     # never one request per object
    assert picture.snapshot() == {
        "bridges": [{"name": "talk", "type": "mixing", "members": ["Agent", "Customer"], "gone": False},
                    {"name": "bridge b-wait-0", "type": "holding", "members": [], "gone": False}],
        "outside": ["Ada <&> Co"]}
    assert "Not ours" not in picture.svg and "someone else" not in repr(picture)


def test_svg_is_well_formed_escaped_and_the_same_for_the_same_membership(lab):
    first = bridge_map(lab, ["b-talk-0001"], channels=["c-0003"], title="Who <is> where")
    root = ET.fromstring(first.svg)                                    # well-formed XML, names escaped
    texts = "".join(root.itertext())
    assert "Ada <&> Co" in texts and "Who <is> where" in texts and "mixing bridge · 2 calls" in texts
    lab.bridges[0]["channels"] = ["c-0001", "c-0002"]                   # same members, other order
    assert bridge_map(lab, ["b-talk-0001"], channels=["c-0003"], title="Who <is> where").svg == first.svg
    assert first._repr_mimebundle_() == {"image/svg+xml": first.svg, "text/plain": repr(first)}


def test_gone_bridges_ended_calls_and_labels(lab):
    picture = bridge_map(lab, ["b-talk-0001", "b-gone-0004"], channels=["c-0404"], labels={"c-0001": "Ada"})
    assert picture.members("talk") == ["Ada", "Agent"]
    assert picture.bridges[1] == {"name": "bridge b-gone-0", "type": "", "members": [], "gone": True}
    assert picture.outside == ["a call that has ended"]
    assert repr(picture) == ("Bridges:\n  talk (mixing): Ada, Agent\n  bridge b-gone-0 (destroyed)\n"
                             "  in no bridge: a call that has ended")


def test_default_is_every_bridge_sorted_by_name_and_an_empty_lab_draws(lab):
    names = [b["name"] for b in bridge_map(lab).bridges]
    assert names == ["bridge b-wait-0", "someone else's", "talk"]
    empty = bridge_map(StubARI([], []))
    assert empty.bridges == [] and "in no bridge" in empty.svg and repr(empty) == "Bridges:"
    with pytest.raises(TypeError, match="a bridge or channel"):
        bridge_map(lab, [42])
    assert isinstance(empty, BridgeMap)


def test_channel_labels_without_caller_names():
    assert channel_label({"name": "Local/5556001@inbound-0000083a;2", "caller": {"name": ""}}) == "Local 5556001"
    assert channel_label({"name": "PJSIP/6001-00000012", "caller": {}}) == "PJSIP 6001"
    assert channel_label({"name": "Snoop/1764212-00000001", "caller": {"name": ""}}) == "listening tap (snoop)"
    assert channel_label({"name": "WebSocket/media-1", "caller": {"name": ""}}) == "media stream (your program)"
    assert channel_label({"name": "PJSIP/6001-00000012", "caller": {"name": "Ada"}}) == "Ada"
