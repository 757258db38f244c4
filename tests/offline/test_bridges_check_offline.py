"""Notebook 05's check (vicifast_kit.teaching.checks.bridges) without a lab: the replay of who was where, and blanks."""

from types import SimpleNamespace

from vicifast_kit.teaching.checks import bridges


def _entered(channel, bridge, bridge_type, members):
    return {"kind": "event", "type": "ChannelEnteredBridge",
            "json": {"channel": {"id": channel}, "bridge": {"id": bridge, "bridge_type": bridge_type,
                                                           "channels": members}}}


def _left(channel, bridge):
    return {"kind": "event", "type": "ChannelLeftBridge", "json": {"channel": {"id": channel}, "bridge": {"id": bridge}}}


PEOPLE = {"c": "customer", "a": "agent", "s": "supervisor"}


def test_the_replay_says_where_the_customer_was_when_the_agent_met_the_supervisor():
    wire = SimpleNamespace(events=[
        _entered("c", "talk", "mixing", ["c", "a"]), _entered("a", "talk", "mixing", ["c", "a"]),
        _left("c", "talk"), _entered("c", "hold", "holding", ["c"]),
        _left("a", "talk"), _entered("a", "consult", "mixing", ["a"]),
        _entered("s", "consult", "mixing", ["a", "s"]),
        _left("c", "hold"), _entered("c", "consult", "mixing", ["a", "s", "c"]),     # after: not the moment
    ])
    [moment] = bridges._consultations(wire, PEOPLE)
    assert moment["customer"]["id"] == "hold" and moment["customer"]["bridge_type"] == "holding"
    assert moment["supervisor"]["id"] == moment["agent"]["id"] == "consult"


def test_no_moment_when_the_agent_and_the_supervisor_never_share_a_bridge():
    wire = SimpleNamespace(events=[_entered("c", "after", "mixing", ["c"]), _entered("s", "after", "mixing", ["c", "s"]),
                                   _entered("a", "elsewhere", "mixing", ["a"])])
    assert bridges._consultations(wire, PEOPLE) == []


def test_a_customer_who_stayed_in_the_conversation_is_seen_there():
    wire = SimpleNamespace(events=[_entered("c", "talk", "mixing", ["c", "a"]), _entered("a", "talk", "mixing", ["c", "a"]),
                                   _entered("s", "talk", "mixing", ["c", "a", "s"])])
    [moment] = bridges._consultations(wire, PEOPLE)
    assert moment["customer"]["channels"] == ["c", "a", "s"]


def test_an_exercise_with_blanks_is_sent_back_before_the_lab_is_touched():
    def warm_transfer(customer, agent, talk, call_supervisor):
        consult = ...
        return consult

    lesson = SimpleNamespace(ari=None)            # never used: the blanks are found first
    assert bridges.check_warm_transfer(lesson, warm_transfer).startswith("warm_transfer() still has blanks")
