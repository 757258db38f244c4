"""vk.widgets.Wire against the lab: rows appear live during a call, a row opens to its JSON, pause and filters."""

from __future__ import annotations

import json

import pytest

import vicifast_kit as vk

from client_helpers import cleanup, unique_app

pytest.importorskip("ipywidgets")


def test_the_wire_widget_shows_a_call_live_and_a_row_opens_to_its_json():
    ari = vk.connect(app=unique_app("wire-widget"))
    widget = vk.widgets.Wire(ari, show=50)
    try:
        caller = vk.lab.simulate_caller(ari, dtmf="7", say=None, duration=30)
        call = ari.wait_for("StasisStart", timeout=10).channel
        call.answer()
        assert call.collect_digits(max_digits=1, timeout=10) == "7"
        widget.flush()
        shown = widget.snapshot()
        assert shown[0]["n"] > shown[-1]["n"]                                # newest first
        kinds = {(e["kind"], e.get("type") or e["template"]) for e in shown}
        assert {("request", "/channels"), ("request", "/channels/{channelId}/answer"),
                ("event", "StasisStart"), ("event", "ChannelDtmfReceived")} <= kinds
        rows = widget.table.rows                                            # what the page draws
        assert [r["n"] for r in rows] == [e["n"] for e in shown]
        assert any(r["what"] == "POST /channels/{channelId}/answer" and r["status"] == "204" for r in rows)
        assert any(r["what"].split()[:2] == ["ChannelDtmfReceived", "7"] and r["via"] == "collect_digits" for r in rows)
        start = next(r for r in rows if r["what"].startswith("StasisStart"))
        assert json.loads(start["json"])["channel"]["id"] == call.id         # a row opens to its JSON
        widget.table.opened = [start["n"]]                                  # as the page says when it is opened
        assert [e["type"] for e in widget.opened] == ["StasisStart"]

        widget.type_filter.value = "__requests__"
        widget.flush()
        assert widget.snapshot() and all(e["kind"] == "request" for e in widget.snapshot())
        widget.type_filter.value = "__all__"
        widget.pause.value = True
        frozen = len(widget.snapshot())
        call.hangup()
        call.wait_for("StasisEnd", timeout=10)
        widget.flush()
        assert len(widget.snapshot()) == frozen and "paused" in widget._status.value
        widget.pause.value = False
        widget.flush()
        assert len(widget.snapshot()) > frozen
        caller_id = caller.id
    finally:
        widget.close()
        cleanup(ari)
        ari.close()
    assert widget.recording.stopped is not None and caller_id


def test_the_dashboard_has_the_wire_as_a_panel():
    ari = vk.connect(app=unique_app("wire-dash"))
    dash = ari.dashboard(poll=None)
    try:
        assert dash.wire in dash.parts and dash.wire_panel.selected_index is None      # closed until opened
        ari.asterisk.get_info(only="system")
        dash.wire.flush()
        assert any(e["kind"] == "request" and e["path"] == "/asterisk/info" for e in dash.snapshot()["wire"])
    finally:
        dash.close()
        ari.close()
    assert dash.wire.recording.stopped is not None
