"""The Dashboard's reading of calls and events, offline: one row per call, the kit's own out of sight, bridges by
name, the other caller's name never on a call's row, noisy events folded into one line."""

from __future__ import annotations

from vicifast_kit.widgets.calls import bridge_label, calls, pair_key
from vicifast_kit.widgets.eventlog import NOISY, fold


def chan(ident, name, *, caller="", in_app=False, bridge=None, app="", created=1.0, state="Up", **extra):
    return dict({"id": ident, "name": name, "caller": caller, "state": state, "created": created, "app": app,
                 "in_app": in_app, "bridge": bridge, "last_event": "", "held": False, "hanging_up": False}, **extra)


ADA_1 = chan("a1", "Local/5556001@inbound-0000027b;1", caller="Ben Okafor <5556002>", app="AppDial2 (sim-caller)")
ADA_2 = chan("a2", "Local/5556001@inbound-0000027b;2", caller="Ada Lopez <5556001>", in_app=True, app="watching",
             bridge="b1", created=1.1)
BEN_1 = chan("b1x", "Local/5556002@inbound-0000027c;1", caller="Ada Lopez <5556001>", created=2.0)
BEN_2 = chan("b2", "Local/5556002@inbound-0000027c;2", caller="Ben Okafor <5556002>", in_app=True, bridge="b1",
             created=2.1)
SNOOP = chan("kit-snoop-1234", "Snoop/a2-00000001", created=3.0)
MEDIA = chan("kit-media-5678", "WebSocket/connection/0x1", created=3.5, bridge="kit-bridge-9")
ROOM = {"id": "b1", "name": "watch-room", "type": "mixing", "channels": ["a2", "b2"]}
KIT_BRIDGE = {"id": "kit-bridge-9", "name": "kit phone", "type": "mixing", "channels": ["kit-media-5678"]}
EVERYTHING = [ADA_1, ADA_2, BEN_1, BEN_2, SNOOP, MEDIA]


def test_a_local_pair_is_one_call_named_by_its_half_in_the_app_with_its_own_caller():
    rows, hidden = calls(EVERYTHING, [ROOM, KIT_BRIDGE])
    assert [r["id"] for r in rows] == ["b2", "a2"]                # newest first, one row per call
    assert [r["caller"] for r in rows] == ["Ben Okafor <5556002>", "Ada Lopez <5556001>"]
    assert rows[1]["other"] == [{"id": "a1", "name": ADA_1["name"], "state": "Up", "where": "AppDial2 (sim-caller)"}]
    assert rows[1]["where"] == "watch-room (mixing)" and rows[1]["created"] == 1.0
    assert hidden == 2                                           # the snoop and the media channel


def test_both_halves_and_the_kits_own_on_demand():
    rows, hidden = calls(EVERYTHING, [ROOM, KIT_BRIDGE], legs=True, kit=True)
    assert len(rows) == 6 and hidden == 0
    one = next(r for r in rows if r["id"] == "a1")
    assert one["caller"] == "Ada Lopez <5556001>"                # not "Ben Okafor": the caller of its call
    media = next(r for r in rows if r["id"] == "kit-media-5678")
    assert media["kit"] and media["where"] == "kit phone (mixing)"


def test_a_call_with_one_half_of_the_kits_shows_its_other_half():
    phone_1 = chan("kit-phone-abc", "Local/9000@inbound-00000300;1", in_app=True, app="watching")
    phone_2 = chan("p2", "Local/9000@inbound-00000300;2", caller="Learner <5550100>", app="Echo (inbound)")
    rows, hidden = calls([phone_1, phone_2], [])
    assert [r["id"] for r in rows] == ["p2"] and rows[0]["where"] == "Echo (inbound)" and hidden == 1


def test_bridges_by_name_before_id_and_pairs_by_name():
    assert bridge_label({"id": "2cd802c8-b8e6", "name": "watch-room", "type": "mixing"}) == "watch-room (mixing)"
    assert bridge_label({"id": "2cd802c8-b8e6", "name": "", "type": "holding"}) == "bridge 2cd802c8 (holding)"
    assert bridge_label(None, "2cd802c8-b8e6") == "bridge 2cd802c8"
    assert pair_key("Local/5551000@inbound-0000027b;2") == pair_key("Local/5551000@inbound-0000027b;1")
    assert pair_key("PJSIP/6001-00000001") is None


def event(seq, type, detail, ident="a2", subject="Local/5556001@inbound-0000027b;2"):
    return {"seq": seq, "time": float(seq), "type": type, "id": ident, "subject": subject, "detail": detail}


def test_a_run_of_noisy_events_is_one_line_with_a_count():
    rows = [event(1, "StasisStart", "entered app watching"),
            *[event(2 + i, "ChannelVarset", f"VAR{i}={'x' * 200}") for i in range(6)],
            event(9, "ChannelVarset", "VAR0=again"),
            event(10, "ChannelStateChange", "state Up"),
            event(11, "ChannelVarset", "BRIDGEPEER=b2", ident="b2", subject="Local/5556002@inbound-0000027c;2")]
    lines = fold(rows, NOISY)
    assert [(line["type"], line["count"]) for line in lines] == [
        ("StasisStart", 0), ("ChannelVarset", 7), ("ChannelStateChange", 0), ("ChannelVarset", 1)]
    assert lines[1]["detail"] == "7 events: VAR0, VAR1, VAR2, VAR3, VAR4, VAR5"      # names, not 200-char values
    assert fold(rows, ()) == [dict(r, count=0) for r in rows]                         # nothing folded when asked
    two = fold([event(1, "ChannelVarset", "A=1"), event(2, "ChannelVarset", "B=2", ident="b2", subject="x")], NOISY)
    assert len(two) == 1 and two[0]["subject"] == "2 channels"


# --- notebook 06's check: who is waiting? ------------------------------------------------------------------

def test_the_waiting_check_names_each_mistake_in_one_line():
    from vicifast_kit.teaching.checks.widgets import _judge, expected

    rows = [{"caller": "Lou Late <5556013>", "in_app": True, "bridge": None, "where": "watching", "created": 3.0},
            {"caller": "Tess Talking <5556012>", "in_app": True, "bridge": "b1", "where": "check-room (mixing)",
             "created": 2.0},
            {"caller": "Other App <5550001>", "in_app": False, "bridge": None, "where": "someone-else", "created": 0.5},
            {"caller": "Quinn Early <5556011>", "in_app": True, "bridge": None, "where": "watching", "created": 1.0}]
    assert expected(rows) == ["Quinn Early <5556011>", "Lou Late <5556013>"]
    assert _judge(rows, ["Quinn Early <5556011>", "Lou Late <5556013>"]).startswith("Well done")
    assert "fill in the blanks" in _judge(rows, [Ellipsis])
    assert "wrong order" in _judge(rows, ["Lou Late <5556013>", "Quinn Early <5556011>"])
    assert "talking in check-room (mixing)" in _judge(rows, ["Quinn Early <5556011>", "Tess Talking <5556012>"])
    assert "not in our app" in _judge(rows, ["Other App <5550001>", "Quinn Early <5556011>", "Lou Late <5556013>"])
    assert _judge(rows, ["Quinn Early <5556011>"]).startswith("Lou Late <5556013> is waiting too")
    assert "a list" in _judge(rows, "Quinn Early <5556011>")
    assert "twice" in _judge(rows, ["Quinn Early <5556011>", "Lou Late <5556013>", "Lou Late <5556013>"])


# --- the widgets themselves, on a real client of the stand-in server (events in, HTML out) --------------------

def _local(ident, half, number, name, *, app=True):
    chan = {"id": ident, "name": f"Local/{number}@inbound-0000027b;{half}", "state": "Up",
            "creationtime": "2026-01-01T10:00:00.000+0000", "caller": {"name": name, "number": number}}
    chan["dialplan"] = ({"context": "inbound", "exten": number, "app_name": "Stasis", "app_data": "mine,inbound"}
                        if app else {"context": "sim-caller", "exten": "s", "app_name": "AppDial2", "app_data": ""})
    return chan


def test_the_calls_table_and_the_event_log_as_a_learner_reads_them():
    from fake_ari import FakeARI, QuietEvents, offline_client
    from vicifast_kit.widgets import ChannelsTable, EventLog, LiveModel

    server, events = FakeARI(), QuietEvents()
    ari = offline_client(server, app="mine", event_source=events)
    table = ChannelsTable(ari, model=LiveModel(ari, poll=None))
    log = EventLog(ari)
    try:
        ours = _local("c2", 2, "5556001", "Ada Lopez")
        events.deliver({"type": "StasisStart", "application": "mine", "channel": ours})
        # the ;1 half shows up as the peer of an event about ours (as a Dial event names it)
        events.deliver({"type": "Dial", "peer": ours, "caller": _local("c1", 1, "5556001", "Ben Okafor", app=False),
                        "dialstatus": ""})
        events.deliver({"type": "StasisStart", "application": "mine",
                        "channel": dict(_local("kit-snoop-1", 2, "1", "x"), name="Snoop/c2-00000001")})
        for i in range(6):
            events.deliver({"type": "ChannelVarset", "variable": f"V{i}", "value": "y" * 100, "channel": ours})
        table.flush()
        log.flush()
        rows = table.snapshot()
        assert [(r["id"], r["caller"], [o["id"] for o in r["other"]]) for r in rows] == [("c2", "Ada Lopez <5556001>", ["c1"])]
        assert rows[0]["last_event"].startswith("StasisStart")        # not the six ChannelVarset after it
        html = table._html.value
        assert "1 call · 1 up · 1 kit channel hidden" in html and "Ben Okafor" not in html and "Snoop/" not in html
        table.legs = table.kit = True
        table.flush()
        assert {r["id"] for r in table.snapshot()} == {"c1", "c2", "kit-snoop-1"}
        assert next(r for r in table.snapshot() if r["id"] == "c1")["caller"] == "Ada Lopez <5556001>"
        lines = log.lines()
        assert [(line["type"], line["count"]) for line in lines[:1]] == [("ChannelVarset", 6)]
        assert "×6" in log._html.value and "y" * 100 not in log._html.value.split("×6", 1)[1].split("</tr>", 1)[0]
        assert ">Ada Lopez<" in log._html.value                      # who an event is about, by name
        log.type_filter.value = "ChannelVarset"                       # chosen: each one, unfolded
        assert [line["count"] for line in log.lines()] == [0] * 6
    finally:
        log.close()
        table.close()
        table.model.close()
        ari.close()
        server.close()
