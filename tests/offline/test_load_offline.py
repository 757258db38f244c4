"""`vicifast-kit load` without Asterisk: percentiles, outcomes, the figures' table and JSON, argument errors."""

from __future__ import annotations

import json

import pytest

from vicifast_kit import cli
from vicifast_kit.service.load import (ABANDONED, CUT, FALLEN_BACK, HANDLED, NOT_PLACED, OUTCOMES, CallRecord, Load,
                                       LoadError, outcome_of, percentile, summarise)


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1 and percentile([4, 1, 3, 2], 100) == 4
    assert percentile(range(1, 101), 90) == pytest.approx(90.1)
    with pytest.raises(ValueError, match="percentage"):
        percentile([1], 101)


@pytest.mark.parametrize("answered, cause, caller_hung_up, cut, outcome", [
    (True, 16, False, False, HANDLED),
    (True, 34, False, False, FALLEN_BACK),          # answered by the fallback's Answer()
    (False, 34, False, False, FALLEN_BACK),
    (True, 16, True, False, ABANDONED),             # the caller's duration ran out first
    (False, 19, False, False, ABANDONED),           # nobody answered within its patience
    (True, 16, False, True, CUT),                   # the load hung it up
])
def test_the_outcome_of_a_call_from_the_callers_side(answered, cause, caller_hung_up, cut, outcome):
    assert outcome_of(answered, cause, caller_hung_up, cut) == outcome


def record(i, answered, outcome, cause=16):
    return CallRecord(i, f"c{i}", f"c{i}-far", dialled=i / 10, answered=answered, ended=3.0, cause=cause,
                      outcome=outcome)


def test_the_figures_add_up_and_print_as_a_table_and_json():
    calls = ([record(i, 0.010 + i / 1000, HANDLED) for i in range(6)] + [record(6, 0.002, FALLEN_BACK, 34)]
             + [record(7, None, ABANDONED, 19), record(8, 0.5, None)])
    result = summarise("ivr", 9, 5.0, calls, seconds=2.0)
    assert sum(result.counts.values()) == 9
    assert (result.answered, result.handled, result.fallen_back, result.abandoned, result.lost) == (8, 6, 1, 1, 1)
    assert result.counts[CUT] == 1                  # not over when counted: cut
    assert result.per_second == 3.0
    table = result.table()
    assert [line.split("  ")[0].strip() for line in table.splitlines()] == [
        "callers", "answered", "handled", "fallen back", "abandoned", "cut", "answer time p50", "answer time p90",
        "answer time p99", "handled per second"]
    assert "not placed" not in table                # an outcome nobody had is left out (but the three main ones)
    assert "answer time p50        12 ms" in table
    figures = json.loads(json.dumps(result.as_dict()))
    assert figures["handled"] == 6 and figures["fallen_back"] == 1 and figures["not_placed"] == 0
    assert figures["answer_time"]["p50"] == pytest.approx(0.0125)
    assert str(result) == ("9 callers at 5/s into app 'ivr': 8 answered, 6 handled, 1 fallen back, 1 abandoned, "
                           "1 cut or not placed")
    assert set(OUTCOMES) == {HANDLED, FALLEN_BACK, ABANDONED, CUT, NOT_PLACED}


def test_no_answer_prints_dashes():
    result = summarise("ivr", 1, 1.0, [record(0, None, ABANDONED, 19)], seconds=0)
    assert "answer time p99            -" in result.table() and result.per_second == 0.0
    assert result.as_dict()["answer_time"] == {"p50": None, "p90": None, "p99": None}


@pytest.mark.parametrize("kwargs, message", [
    ({"app": ""}, "app is the ARI application"),
    ({"callers": 0}, "1 or more"),
    ({"rate": 0}, "more than 0"),
    ({"number": "five"}, "not a number to dial"),
    ({"dtmf": "1x"}, "not keys to press"),
    ({"duration": -1}, "duration is in seconds"),
])
def test_a_load_refuses_wrong_settings_saying_what_to_give(kwargs, message):
    settings = {"app": "ivr", **kwargs}
    with pytest.raises(LoadError, match=message):
        Load(settings.pop("app"), **settings)


def test_a_shared_load_dials_the_shared_context():
    assert Load("ivr").context == "service"
    assert Load("ivr", shared=True).context == "service-shared"
    assert Load("ivr", context="mine").context == "mine"
    load = Load("ivr", callers=3)
    assert len({c.channel for c in load.calls} | {c.far_channel for c in load.calls}) == 6
    assert load.placed == 0 and not load.done and load.counts()["in progress"] == 0


@pytest.mark.parametrize("argv, message", [
    (["load"], "give a service file to start"),
    (["load", "x.py", "--app", "ivr"], "not both"),
    (["load", "--app", "ivr", "--callers", "0"], "1 or more"),
    (["load", "x.py", "--instances", "0"], "--instances"),
])
def test_the_load_command_says_in_one_line_what_is_wrong(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vicifast-kit load: ") and message in err and len(err.strip().splitlines()) == 1


def test_the_plot_is_svg_with_a_line_per_caller_coloured_by_outcome():
    import xml.etree.ElementTree as ET
    from vicifast_kit.service.load import COLOURS
    calls = [record(0, 0.01, HANDLED), record(1, 0.01, FALLEN_BACK, 34), record(2, None, ABANDONED, 19)]
    result = summarise("ivr", 3, 10.0, calls, seconds=3.2)
    svg = result.plot("three callers")._repr_svg_()
    root = ET.fromstring(svg)                   # well-formed
    ns = "{http://www.w3.org/2000/svg}"
    strokes = [line.get("stroke") for line in root.iter(ns + "line") if line.get("stroke") in COLOURS.values()]
    assert strokes == [COLOURS[HANDLED], COLOURS[FALLEN_BACK], COLOURS[ABANDONED]]
    texts = [t.text for t in root.iter(ns + "text")]
    assert "three callers" in texts and "handled 1" in texts and "fallen back 1" in texts and "abandoned 1" in texts
    assert str(summarise("ivr", 1, 1.0, [record(0, 0.1, HANDLED)], 1.0)).startswith("1 caller at 1/s")
