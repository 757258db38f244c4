"""vk.widgets.bridge_map: who is in which bridge, drawn from what Asterisk reports, against the real lab."""

from __future__ import annotations

import re

import vicifast_kit as vk

from client_helpers import ari, lab, wait_until  # noqa: F401  (fixtures)


def test_map_shows_members_moves_outsiders_and_destroyed_bridges(lab):
    ari = lab.ari
    _, customer = lab.call(caller_id='"Customer" <5551001>', say=None, duration=30)
    _, agent = lab.call(caller_id='"Agent" <5551002>', say=None, duration=30)
    _, supervisor = lab.call(caller_id='"Supervisor" <5551003>', say=None, duration=30)
    talk = ari.bridges.create(type="mixing", name="talk")
    waiting = ari.bridges.create(type="holding", name="waiting")
    talk.add_channel(channel=[customer, agent])
    wait_until(lambda: len(talk.get().channels) == 2)

    picture = vk.widgets.bridge_map(ari, [talk, waiting], channels=[customer, agent, supervisor])
    assert picture.members("talk") == ["Agent", "Customer"]
    assert picture.members("waiting") == []
    assert picture.outside == ["Supervisor"]
    assert [(b["name"], b["type"]) for b in picture.bridges] == [("talk", "mixing"), ("waiting", "holding")]
    assert repr(picture) == ("Bridges:\n  talk (mixing): Agent, Customer\n  waiting (holding): empty\n"
                             "  in no bridge: Supervisor")
    svg = picture._repr_mimebundle_()["image/svg+xml"]
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for text in ("talk", "waiting", "Agent", "Customer", "Supervisor", "in no bridge", "mixing bridge · 2 calls"):
        assert f">{text}<" in svg, text
    # Nothing that changes from run to run (ids, times) is in the picture or its text.
    for ident in (customer.id, agent.id, supervisor.id, talk.id, waiting.id):
        assert ident not in svg and ident not in repr(picture)

    # A move: the same membership gives the same picture; a different one, a different picture.
    waiting.add_channel(channel=supervisor)
    wait_until(lambda: len(waiting.get().channels) == 1)
    moved = vk.widgets.bridge_map(ari, [talk, waiting], channels=[customer, agent, supervisor])
    assert moved.members("waiting") == ["Supervisor"] and moved.outside == []
    assert moved.svg != svg
    assert vk.widgets.bridge_map(ari, [talk, waiting], channels=[customer, agent, supervisor]).svg == moved.svg

    # Labels can be given; a destroyed bridge is drawn as such; a channel gone is said to have ended.
    waiting.destroy()
    supervisor.hangup()
    wait_until(lambda: not any(c.id == supervisor.id for c in ari.channels.list()))
    after = vk.widgets.bridge_map(ari, [talk, waiting], channels=[supervisor], labels={customer: "Ada"},
                                  title="After")
    assert after.members("talk") == ["Ada", "Agent"]
    assert after.snapshot()["bridges"][1] == {"name": "waiting", "type": "holding", "members": [], "gone": True}
    assert after.outside == ["a call that has ended"]
    assert repr(after).splitlines()[0] == "After:" and "waiting (destroyed)" in repr(after)


def test_unnamed_bridges_and_default_lists_every_bridge(lab):
    ari = lab.ari
    _, call = lab.call(say=None, duration=30)
    plain = ari.bridges.create(type="mixing")
    plain.add_channel(channel=call)
    wait_until(lambda: len(plain.get().channels) == 1)
    everything = vk.widgets.bridge_map(ari)
    ours = [b for b in everything.bridges if b["name"] == f"bridge {plain.id[:8]}"]
    assert len(ours) == 1 and len(ours[0]["members"]) == 1
    # The short id is written so that the notebooks' sanitiser masks it.
    assert re.search(r"\bbridge [0-9a-f]{8}\b", everything.svg)
