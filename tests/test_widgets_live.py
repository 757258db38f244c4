"""The widgets, headless (widget models, no browser), against the real lab."""

from __future__ import annotations

import collections
import contextlib
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import ipywidgets
import pytest

import vicifast_kit as vk
from vicifast_kit.lab.simulate import simulate_caller
from vicifast_kit.widgets import BridgesView, CallControl, CallFlow, ChannelsTable, Dashboard, EventLog

from client_helpers import ari, cleanup, eventually, lab, unique_app, wait_until  # noqa: F401  (fixtures)


def app_rows(table, app):
    return [r for r in table.snapshot() if r["where"] == app or r.get("in_app")]


def kit_threads() -> set[threading.Thread]:
    """The kit's threads other than the clients' own (each client's event reader and dispatcher)."""
    return {t for t in threading.enumerate() if t.name.startswith("vicifast-")
            and not t.name.startswith(("vicifast-ari-reader", "vicifast-ari-dispatch"))}


def scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vicifast-widgets")]


@pytest.fixture
def sent(monkeypatch):
    """The update messages each widget sends from the widget scheduler: model id -> the time.monotonic() of each."""
    times: collections.defaultdict = collections.defaultdict(list)
    original = ipywidgets.Widget._send

    def counting(self, msg, buffers=None):
        if msg.get("method") == "update" and threading.current_thread().name.startswith("vicifast-widgets"):
            times[self.model_id].append(time.monotonic())
        return original(self, msg, buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", counting)
    return times


def test_a_caller_shows_as_soon_as_its_event_is_in_and_goes_after_hangup(lab):
    ari = lab.ari
    table = ChannelsTable(ari)
    try:
        caller = simulate_caller(ari, duration=10, caller_id='"Caller" <5551234>')
        lab.callers.append(caller.id)
        ours = ari.wait_for("StasisStart", timeout=10).channel
        table.flush()                      # the event is folded in, rendered and sent: the row is there now
        row = next(r for r in table.snapshot() if r["in_app"])
        assert row["id"] == ours.id and row["name"].startswith(caller.name.rsplit(";", 1)[0]) and row["state"] == "Ring"
        assert row["caller"] == "Caller <5551234>" and row["where"] == ari.app
        assert "StasisStart" in row["last_event"]
        assert row["name"] in table._html.value and "#b45309" in table._html.value      # with its state colour
        ari.channels.answer(row["id"])
        ours.wait_for("ChannelStateChange", timeout=5)
        table.flush()
        assert any(r["id"] == row["id"] and r["state"] == "Up" for r in table.snapshot())
        ari.channels.hangup(row["id"])
        ours.wait_for("StasisEnd", timeout=5)
        table.flush()
        assert all(r["id"] != row["id"] for r in table.snapshot())
        # The caller's own side (in the dialplan, no events for the app) goes at the next poll of the lab.
        wait_until(lambda: caller.id not in {c.id for c in ari.channels.list()})
        table.model.poll()
        table.flush()
        assert all(r["id"] != caller.id for r in table.snapshot()) and row["name"] not in table._html.value
    finally:
        table.close()
    assert table.closed and table.job.closed and table.job not in table.job.scheduler.jobs
    assert not ari.context.events.subscriptions() and not ari.request_listeners       # unsubscribed


def test_bridge_membership_in_bridges_view(lab):
    ari = lab.ari
    view = BridgesView(ari)
    try:
        caller, ch = lab.call(duration=10)
        br = ari.bridges.create(type="mixing", name=f"w-{ari.app[-6:]}")
        view.flush()                       # no event for a bridge made over REST: the request made the model poll

        def members():
            b = next((b for b in view.snapshot() if b["id"] == br.id), None)
            return b and [m["name"] for m in b["channels"]]
        assert members() == []
        br.add_channel(channel=ch)
        ch.wait_for("ChannelEnteredBridge", timeout=5)
        view.flush()
        assert members() == [ch.name]
        b = next(b for b in view.snapshot() if b["id"] == br.id)
        assert b["type"] == "mixing" and b["name"] == f"w-{ari.app[-6:]}"
        assert ch.name in view._html.value
        br.remove_channel(channel=ch)
        ch.wait_for("ChannelLeftBridge", timeout=5)
        view.flush()
        assert members() == []
        br.destroy()
        view.flush()
        assert all(b["id"] != br.id for b in view.snapshot())
    finally:
        view.close()


def test_keypad_sends_real_dtmf_seen_by_another_app(lab):
    ari = lab.ari
    other = vk.connect(app=unique_app("far"))
    try:
        # The far end is a channel in a second app: its StasisStart comes once our side answers.
        far = other.channels.originate(endpoint="Local/5552000@inbound", app=other.app,
                                       variables={"VICIFAST_APP": ari.app})
        ours = ari.wait_for("StasisStart", timeout=10).channel
        control = CallControl(ari)                      # follows the newest call: ours
        try:
            control.flush()
            assert control.target == ours.id
            control.buttons["answer"].click()
            assert control.last_message == "Answered."
            far.wait_for("StasisStart", timeout=5)
            for key in "5#":
                control.keypad[key].click()
            digits = [far.wait_for("ChannelDtmfReceived", timeout=5).digit for _ in range(2)]
            assert digits == ["5", "#"] and control.last_message == "Sent DTMF #."
            control.buttons["hold"].click()
            assert control.snapshot()["held"] and control.buttons["hold"].description == "Unhold"
            control.buttons["mute"].click()
            assert control.snapshot()["muted"] and control.buttons["mute"].description == "Unmute"
            control.sound.value = "beep"
            control.buttons["play"].click()
            assert control.last_message == "Playing beep."
            assert ours.wait_for("PlaybackStarted", timeout=5)
        finally:
            control.close()
    finally:
        cleanup(other)
        other.close()


def test_buttons_on_a_gone_channel_say_so_in_the_widget(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=10)
    control = CallControl(ari, channel=ch, sounds=["beep"])
    try:
        ch.hangup()
        ch.wait_for("StasisEnd", timeout=5)
        for name in ("answer", "hangup", "hold", "mute", "moh", "play", "move"):
            control.buttons[name].click()                 # must not raise
            msg = control.last_message
            assert msg.startswith("error: ") and "gone" in msg and "Traceback" not in msg, (name, msg)
        control.keypad["1"].click()
        assert "gone" in control.last_message
        assert "gone" in control.message.value and "vk-msg-err" in control.message.value
        assert not control.snapshot()["held"]             # a failed hold did not flip the toggle
    finally:
        control.close()


def test_callflow_has_the_call_in_order(lab):
    ari = lab.ari
    caller = simulate_caller(ari, dtmf="7", delay=0.2, duration=10)
    lab.callers.append(caller.id)
    ch = ari.wait_for("StasisStart", timeout=10).channel
    flow = CallFlow(ari, ch)                             # starts from the events already buffered
    try:
        ch.answer()
        assert ch.wait_for("ChannelDtmfReceived", timeout=5).digit == "7"
        br = ari.bridges.create(type="mixing")
        br.add_channel(channel=ch)
        ch.wait_for("ChannelEnteredBridge", timeout=5)
        ch.hangup()
        ch.wait_for("StasisEnd", timeout=5)
        br.destroy()
        want = ["StasisStart", "POST /channels/{id}/answer", "ChannelStateChange", "ChannelDtmfReceived",
                "POST /bridges/{id}/addChannel", "ChannelEnteredBridge", "DELETE /channels/{id}",
                "ChannelHangupRequest", "StasisEnd"]

        def labels():
            return [s["label"] for s in flow.snapshot()["steps"]]
        flow.flush()
        assert all(w in labels() for w in want), labels()
        got = [lbl for lbl in labels() if lbl in want]
        assert [got.index(w) for w in want] == sorted(got.index(w) for w in want), got
        snap = flow.snapshot()
        times = [s["t"] for s in snap["steps"]]
        assert times == sorted(times)                    # (all timed by this machine's clock)
        assert snap["lanes"][:3] == [f"App {ari.app}", "Asterisk", ch.name]
        assert any(lane.startswith("Bridge ") for lane in snap["lanes"])
        steps = {s["label"]: s for s in snap["steps"]}
        assert steps["StasisStart"]["from"] == ch.name and steps["StasisStart"]["to"] == f"App {ari.app}"
        assert steps["POST /channels/{id}/answer"]["detail"].startswith("204")
        assert "StasisEnd" in flow._html.value and "<svg" in flow._html.value
    finally:
        flow.close()
    assert not ari.request_listeners


def test_event_log_filters_pauses_and_is_bounded(lab):
    ari = lab.ari
    log = EventLog(ari, size=4)
    try:
        caller, ch = lab.call("123", delay=0.2)
        for _ in "123":
            ch.wait_for("ChannelDtmfReceived", timeout=5)
        log.flush()
        assert sum(r["type"] == "ChannelDtmfReceived" for r in log.snapshot()) == 3
        assert len(log.snapshot()) == 4 and log.received >= 5          # bounded
        log.type_filter.value = "ChannelDtmfReceived"
        assert [r["detail"] for r in log.snapshot()] == ["DTMF 1", "DTMF 2", "DTMF 3"]
        log.type_filter.value = "__all__"
        log.channel_filter.value = ch.id
        assert {r["subject"] for r in log.snapshot()} == {ch.name}
        log.pause.value = True
        shown, received = log.snapshot(), log.received
        ch.set_channel_var(variable="VK_PAUSED", value="1")            # an event about the channel shown
        ch.wait_for("ChannelVarset", timeout=5, where=lambda e: e.raw.get("variable") == "VK_PAUSED")
        log.flush()
        assert log.received > received and log.snapshot() == shown and log.pause.description == "Resume"
        assert "paused (1 new)" in log._html.value
        log.pause.value = False
        log.flush()
        assert log.snapshot()[-1]["detail"] == "VK_PAUSED=1" and "paused" not in log._html.value
        log.clear()
        assert log.snapshot() == []
    finally:
        log.close()


def test_two_hundred_calls_cost_a_bounded_number_of_widget_updates(sent):
    # A client of its own, ended by hand: the lab fixture's clean-up would ask after each of the 400 ended channels.
    ari = vk.connect(app=unique_app("burst"))
    table = ChannelsTable(ari)
    n, ours = 200, []
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: simulate_caller(ari, duration=60, number=f"57{i:04d}"), range(n)))
        ours = [ari.wait_for("StasisStart", timeout=20).channel for _ in range(n)]
        table.flush()
        assert sum(r["in_app"] for r in table.snapshot()) == n
        with ThreadPoolExecutor(8) as pool:        # (each caller's own half goes with ours)
            list(pool.map(lambda ch: ari.channels.hangup(ch.id), ours))
        for ch in ours:
            ch.wait_for("StasisEnd", timeout=20)
        table.flush()
        assert not any(r["in_app"] for r in table.snapshot())
        times = sent[table._html.model_id]
        gaps = [b - a for a, b in zip(times, times[1:])]
        events = ari.context.events.received
        print(f"\n200 calls: {events} events -> {len(times)} table updates in {times[-1] - times[0]:.1f} s "
              f"(closest two {min(gaps) * 1000:.0f} ms apart), {table.job.cycles} runs of its job")
        assert events >= 3 * n
        assert min(gaps) >= 1 / table.rate           # at most 10 a second, whatever the event rate
        assert len(times) < events / 10
        assert abs(table.updates - len(times)) <= 1
    finally:
        table.close()
        live = {c.id for c in ari.channels.list()}
        for ch in ours:
            if ch.id in live:
                ari.channels.hangup(ch.id)
        ari.close()


def test_dashboard_one_liners_snapshot_and_close(lab):
    ari = lab.ari
    dash = ari.dashboard()
    assert isinstance(dash, Dashboard) and isinstance(dash, ipywidgets.Widget)
    assert vk.widgets.dashboard is not None and ari.dashboard.__doc__
    try:
        caller, ch = lab.call(duration=10, answer=False)
        dash.flush()
        assert dash.control.target == ch.id
        dash.control.buttons["answer"].click()
        ch.wait_for("ChannelStateChange", timeout=5)
        for part in dash.parts:
            part.flush()
        snap = dash.snapshot()
        assert snap["callflow"]["channel"] == ch.id
        assert any(st["label"] == "ChannelStateChange" for st in snap["callflow"]["steps"])
        assert any(r["id"] == ch.id and r["state"] == "Up" for r in snap["channels"])
        assert snap["control"]["state"] == "Up" and snap["app"] == ari.app
        assert any(e["type"] == "StasisStart" for e in snap["events"])
        assert dash.channels.selected == ch.id
    finally:
        dash.close()
    assert all(p.closed for p in dash.parts)
    assert not ari.context.events.subscriptions() and not ari.request_listeners


def test_a_dashboard_listening_runs_two_threads_of_its_own_and_close_stops_them(lab):
    """One scheduler for every widget and the audio: the Dashboard and its Listen add the scheduler's thread
    and the media stream's reader, nothing more (the client's own reader and dispatcher aside)."""
    ari = lab.ari
    near, far = lab.pair()
    far.play(media="tone:440")
    before = kit_threads()
    dash = ari.dashboard()
    try:
        listen = dash.toggle_listen(near)
        listen.flush()
        assert listen.state == "live" and listen.frames_out > 0, listen.snapshot()
        dash.flush()
        started = kit_threads() - before
        names = sorted(t.name for t in started)
        assert len(started) <= 2 and all(t.daemon for t in started), names
        assert [n for n in names if n.startswith("vicifast-widgets")] == [f"vicifast-widgets[{ari.app}]"], names
    finally:
        dash.close()
    for thread in started:
        thread.join(5)
    assert not any(t.is_alive() for t in started), sorted(t.name for t in started if t.is_alive())
    assert not scheduler_threads() or all(not t.name.endswith(f"[{ari.app}]") for t in scheduler_threads())


def test_importing_the_kit_does_not_import_ipywidgets():
    out = subprocess.run([sys.executable, "-c", "import sys, vicifast_kit; print('ipywidgets' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_filter_whose_choice_is_no_longer_offered_falls_back_instead_of_failing():
    import ipywidgets as W

    from vicifast_kit.widgets.base import set_options

    dropdown = W.Dropdown(options=[("All", "*"), ("StasisStart", "StasisStart")], value="StasisStart")
    assert set_options(dropdown, [("All", "*"), ("StasisStart", "StasisStart"), ("StasisEnd", "StasisEnd")], "*")
    assert dropdown.value == "StasisStart"                   # kept while still offered
    assert not set_options(dropdown, list(dropdown.options), "*")
    assert set_options(dropdown, [("All", "*"), ("StasisEnd", "StasisEnd")], "*")
    assert dropdown.value == "*"                             # its type left the bounded log


# --- the call control describes the call it shows (issue "Listen and Phone widgets": what a new user hit) ---

def shown_html(control):
    return control.info.value + control.message.value


def test_hold_mute_and_music_set_from_code_show_in_the_control(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=30)
    control = CallControl(ari, channel=ch, sounds=["beep"])
    try:
        control.flush()
        assert control.snapshot()["state"] == "Up"
        # Held from code (ARI sends no ChannelHold for the app's own hold): the panel follows.
        ari.channels.hold(ch.id)
        control.flush()
        assert control.buttons["hold"].description == "Unhold"
        snap = control.snapshot()
        assert snap["held"] and snap["tags"] == ["hold"] and snap["buttons"]["hold"]["label"] == "Unhold"
        assert '<span class="vk-tag">hold</span>' in control.info.value
        control.buttons["hold"].click()                   # takes it off hold (it knew it was held)
        assert control.last_message == "Off hold." and not control.snapshot()["held"]
        ari.channels.hold(ch.id)                          # code holds it again: "Off hold." is no longer true
        control.flush()
        assert control.buttons["hold"].description == "Unhold"
        assert control.snapshot()["message"] == "" and "Off hold" not in control.message.value
        control.buttons["hold"].click()
        ari.channels.hold(ch.id)
        control.buttons["hold"].click()
        assert control.last_message == "Off hold."
        control.buttons["hold"].click()
        assert control.last_message == "On hold." and "On hold." in control.message.value
        ari.channels.unhold(ch.id)                        # the bug: "hold", Unhold and "✓ On hold." stayed
        control.flush()
        assert control.buttons["hold"].description == "Hold"
        snap = control.snapshot()
        assert not snap["held"] and snap["tags"] == [] and snap["message"] == ""
        assert "vk-tag" not in control.info.value and "On hold" not in control.message.value
        # Music on hold started from the panel, stopped from code; mute from code.
        control.buttons["moh"].click()
        assert control.last_message == "Music on hold playing." and control.buttons["moh"].description == "Stop music"
        ari.channels.stop_moh(ch.id)
        control.flush()
        assert control.buttons["moh"].description == "Music on hold"
        assert control.snapshot()["message"] == "" and not control.snapshot()["moh"]
        ari.channels.mute(ch.id, direction="both")
        control.flush()
        assert control.buttons["mute"].description == "Unmute"
        assert control.snapshot()["tags"] == ["muted"]
        # Another channel shown: its own (fresh) state, no status line about the first one.
        caller2, ch2 = lab.call(duration=30)
        control.follow(ch2)
        snap = control.snapshot()
        assert snap["channel"] == ch2.id and snap["tags"] == [] and snap["message"] == ""
        assert control.buttons["mute"].description == "Mute" and control.buttons["hold"].description == "Hold"
    finally:
        control.close()


def test_answer_is_off_once_up_and_a_gone_call_keeps_no_stale_line(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=2.5, answer=False)     # the caller hangs up 2.5 s after the answer
    control = CallControl(ari, channel=ch, sounds=["beep"])
    try:
        assert not control.buttons["answer"].disabled and not control.buttons["hangup"].disabled
        control.buttons["answer"].click()
        assert control.last_message == "Answered."
        ch.wait_for("ChannelStateChange", timeout=5)
        control.flush()
        assert control.buttons["answer"].disabled                          # Up: nothing left to answer
        assert not control.buttons["hangup"].disabled
        snap = control.snapshot()
        assert snap["state"] == "Up" and not snap["buttons"]["answer"]["enabled"]
        assert all(b["enabled"] for k, b in snap["buttons"].items() if k != "answer") and snap["keypad_enabled"]
        assert snap["message"] == "Answered."
        # The caller hangs up: the panel says it is gone (and why), "Answered." goes, every button is off.
        ch.wait_for("StasisEnd", timeout=10)
        # A Local leg torn down by its far half may leave the app without a ChannelHangupRequest first (it then
        # looks back in the dialplan until the model's next poll of the channel list says it is gone).
        eventually(lambda: (control.flush(), control.snapshot()["gone"])[1], 10, "the panel to show the call gone")
        assert control.snapshot()["gone"]
        assert all(b.disabled for b in list(control.buttons.values()) + list(control.keypad.values()))
        assert control.sound.disabled and control.bridge_picker.disabled
        snap = control.snapshot()
        assert snap["message"] == "" and "Answered" not in control.message.value
        assert not any(b["enabled"] for b in snap["buttons"].values()) and not snap["keypad_enabled"]
        assert snap["channel"] == ch.id and snap["name"] == ch.name
        assert "16 (Normal Clearing)" in control.info.value, control.info.value
        assert not control.picker.disabled                # the way out: pick another call
    finally:
        control.close()


def test_hanging_up_from_the_panel_never_reaches_another_caller(lab):
    ari = lab.ari
    caller_a, a = lab.call(duration=30, answer=False)
    caller_b, b = lab.call(duration=30, answer=False)
    control = CallControl(ari, sounds=["beep"])           # follows the newest call: b
    try:
        control.flush()
        assert control.target == b.id
        control.buttons["answer"].click()
        control.buttons["hangup"].click()
        assert control.last_message == "Hung up."
        b.wait_for("StasisEnd", timeout=5)
        control.flush()
        snap = control.snapshot()
        # Still the hung-up call, shown as gone: the status line is about it, and nothing can be pressed.
        assert snap["channel"] == b.id and snap["gone"] and snap["message"] == "Hung up.", snap
        assert snap["state"] in ("Gone", "Hanging up") and not any(x["enabled"] for x in snap["buttons"].values())
        assert control.buttons["hangup"].disabled and control.buttons["answer"].disabled
        assert b.name in control.info.value or "gone" in control.info.value.lower()
        control.model.poll()                               # a poll (a's row fresh) changes nothing
        control.refresh()
        assert control.target == b.id
        # A second click (a stale page, a double click) reaches b again, never a.
        control.buttons["hangup"].click()
        assert control.last_message.startswith("error: ") and "gone" in control.last_message
        assert ari.channels.get(a.id).state == "Ring"
        # The user picks a: a fresh panel about a.
        control.picker.value = a.id
        snap = control.snapshot()
        assert snap["channel"] == a.id and snap["message"] == "" and not snap["gone"]
        assert snap["buttons"]["answer"]["enabled"] and snap["buttons"]["hangup"]["enabled"]
        assert "Hung up" not in control.message.value
        # Back to following: a (the newest live call); a call arriving later is shown, with no old line.
        control.picker.value = "__follow__"
        assert control.target == a.id
        control.buttons["ring"].click()
        assert control.last_message == "Ringing the caller."
        caller_c, c = lab.call(duration=30, answer=False)
        control.flush()
        assert control.target == c.id
        assert control.snapshot()["message"] == "" and "Ringing" not in control.message.value
    finally:
        control.close()


def test_hangup_causes_read_as_words():
    from vicifast_kit.widgets.model import describe

    assert describe("ChannelHangupRequest", {"cause": 19}) == "hangup requested: 19 (User alerting, no answer)"
    assert describe("ChannelDestroyed", {"cause": 16, "cause_txt": "Normal Clearing"}) == \
        "destroyed: 16 (Normal Clearing)"
    assert describe("ChannelDestroyed", {"cause": 99, "cause_txt": "Something else"}) == \
        "destroyed: 99 (Something else)"
    # A soft hang-up's "cause" is Asterisk's reason flag (32: an explicit request), not a Q.850 cause.
    assert "32" not in describe("ChannelHangupRequest", {"cause": 32, "soft": True})


def test_hangup_cause_in_the_model_event_log_and_call_flow(lab):
    ari = lab.ari
    log = EventLog(ari, types=["ChannelHangupRequest"])
    table = ChannelsTable(ari)
    try:
        caller, ch = lab.call(duration=1.0)                 # the caller ends the call: cause 16
        flow = CallFlow(ari, ch)
        try:
            ch.wait_for("StasisEnd", timeout=8)
            for widget in (log, table, flow):
                widget.flush()
            assert log.snapshot()[0]["detail"] == "hangup requested: 16 (Normal Clearing)"
            assert "16 (Normal Clearing)" in log._html.value
            ended = table.model.ended(ch.id)
            assert ended["cause"] == "16 (Normal Clearing)" and ended["name"] == ch.name
            assert any(s["detail"] == "hangup requested: 16 (Normal Clearing)" for s in flow.snapshot()["steps"])
        finally:
            flow.close()
    finally:
        log.close()
        table.close()


def test_narrow_tables_elide_names_in_the_middle_and_count_in_words(lab):
    from vicifast_kit.widgets.style import mid, short

    name = "Local/5551000@inbound-0000074e;2"
    assert short(name, 22).endswith("0000074e;2") and len(short(name, 22)) == 22
    assert '<span class="vk-tail">0000074e;2</span>' in mid(name) and f'title="{name}"' in mid(name)
    ari = lab.ari
    caller, ch = lab.call(duration=10)
    table, flow = ChannelsTable(ari), CallFlow(ari, ch)
    try:
        tail = f'<span class="vk-tail">{ch.name.rsplit("-", 1)[1]}</span>'       # "0000074e;2" always shows
        table.flush()
        flow.flush()
        assert tail in table._html.value
        # the full name on hover, and the call's other half (its ;1, in the dialplan)
        assert f'title="{ch.name}&#10;id {ch.id}&#10;other half: {caller.name} (' in table._html.value
        assert "1 step ·" in flow._html.value or "steps ·" in flow._html.value
        assert "1 steps" not in flow._html.value
    finally:
        table.close()
        flow.close()


def test_the_dashboard_shows_a_call_as_a_learner_thinks_of_it(lab):
    """One row per call (a Local pair's ;1 and ;2 as one), its own caller's name after a bridge (not the party it
    is connected to), the bridge by the name the code gave it, the kit's own channels and bridges out of sight
    unless asked, and a run of ChannelVarset events as one line with a count."""
    import uuid

    ari = lab.ari
    dash = Dashboard(ari)
    tag = uuid.uuid4().hex[:8]
    snoop_id, kit_bridge = f"kit-snoop-{tag}", f"kit-bridge-{tag}"
    room = None
    try:
        ada_1, ada = lab.call(caller_id='"Ada Lopez" <5556001>', duration=30)
        ben_1, ben = lab.call(caller_id='"Ben Okafor" <5556002>', duration=30)
        room = ari.bridges.create(type="mixing", name=f"room-{tag}")
        room.add_channel(channel=[ada, ben])
        for ch in (ada, ben):
            ch.wait_for("ChannelEnteredBridge", timeout=5)
        ari.request("POST", f"/channels/{ada.id}/snoop", spy="in", app=ari.app, snoopId=snoop_id)
        ari.wait_for("StasisStart", timeout=5, where=lambda e: e.channel.id == snoop_id)
        ari.request("POST", f"/bridges/{kit_bridge}", type="holding")
        for i in range(5):
            ada.set_channel_var(variable=f"VK_NOISE_{i}", value="x" * 80)
        ada.wait_for("ChannelVarset", timeout=5, where=lambda e: e.raw.get("variable") == "VK_NOISE_4")
        # The ;1 halves (in the dialplan: no events for the app) as the lists show them now: after the bridge,
        # Asterisk gives Ada's ;1 the caller id of the party it is connected to, Ben's (what a row must not show).
        eventually(lambda: (dash.model.poll(), (dash.model.channel(ada_1.id) or {}).get("caller"))[1]
                   == "Ben Okafor <5556002>", 5, "Ada's ;1 to carry Ben's caller id")
        for part in dash.parts:
            part.flush()
        halves = {ada.id, ada_1.id, ben.id, ben_1.id}
        rows = [r for r in dash.channels.snapshot() if r["id"] in halves | {snoop_id}]
        assert [(r["id"], r["caller"]) for r in rows] == [(ben.id, "Ben Okafor <5556002>"), (ada.id, "Ada Lopez <5556001>")]
        assert rows[1]["other"][0]["id"] == ada_1.id and rows[1]["where"] == f"room-{tag} (mixing)"
        assert f"room-{tag} (mixing)" in dash.channels._html.value and snoop_id not in dash.channels._html.value
        assert "kit channel" in dash.channels._html.value                 # "... · 1 kit channel hidden"
        bridges = {b["id"]: b for b in dash.bridges.snapshot()}
        assert room.id in bridges and kit_bridge not in bridges
        assert {m["caller"] for m in bridges[room.id]["channels"]} == {"Ada Lopez <5556001>", "Ben Okafor <5556002>"}
        varsets = [line for line in dash.events.lines() if line["type"] == "ChannelVarset"]
        assert varsets and varsets[0]["count"] >= 5 and "VK_NOISE_0" in varsets[0]["detail"]
        assert sum("VK_NOISE" in r["detail"] for r in dash.events.snapshot()) == 5      # each one still there as data
        assert [c for c in dash.control.snapshot()["channels"] if c.startswith("kit-")] == []

        # On demand: both halves (the ;1 named by its own call's caller, whatever Asterisk now says it is
        # connected to), and the kit's own channels and bridges.
        dash.channels.legs = True
        dash.channels.kit = True
        for part in dash.parts:
            part.flush()
        rows = {r["id"]: r for r in dash.channels.snapshot() if r["id"] in halves | {snoop_id}}
        assert set(rows) == halves | {snoop_id}
        assert rows[ada_1.id]["caller"] == "Ada Lopez <5556001>" and rows[ben_1.id]["caller"] == "Ben Okafor <5556002>"
        assert rows[snoop_id]["kit"] and kit_bridge in {b["id"] for b in dash.bridges.snapshot()}
    finally:
        dash.close()
        with contextlib.suppress(vk.ARIError):
            ari.request("DELETE", f"/channels/{snoop_id}")
        with contextlib.suppress(vk.ARIError):
            ari.request("DELETE", f"/bridges/{kit_bridge}")
        if room is not None:
            with contextlib.suppress(vk.ARIError):
                room.destroy()


def test_the_dashboards_wire_panel_sends_its_rows_to_the_page_only_while_open():
    """Closed, the panel still records (and counts) everything, but sends no rows to the page (nor into a stored
    notebook); opened, the rows come."""
    ari = vk.connect(app=unique_app("wire-panel"))
    dash = ari.dashboard(poll=None)
    try:
        ari.asterisk.get_info(only="system")
        dash.wire.flush()
        assert dash.wire.table.rows == [] and "1 requests" in dash.wire._status.value
        assert any(e.get("path") == "/asterisk/info" for e in dash.wire.snapshot())
        dash.wire_panel.selected_index = 0
        dash.wire.flush()
        assert any("/asterisk/info" in r["what"] for r in dash.wire.table.rows)
    finally:
        dash.close()
        ari.close()


def test_notebook_06s_check_runs_the_learners_waiting_on_real_calls_and_leaves_nothing(lab):
    from vicifast_kit.teaching.checks.widgets import check_waiting

    ari = lab.ari
    lesson = vk.teaching.Lesson(ari, tidy=False)

    def right(rows):
        alone = [row for row in rows if row["in_app"] and row["bridge"] is None]
        return [row["caller"] for row in sorted(alone, key=lambda row: row["created"])]

    def newest_first(rows):
        return right(rows)[::-1]

    def bridged_too(rows):
        return [row["caller"] for row in sorted(rows, key=lambda row: row["created"]) if row["in_app"]]

    def unfilled(rows):
        alone = [row for row in rows if ...]
        alone.sort(key=...)
        return [row["caller"] for row in alone]

    assert check_waiting(lesson, right) == ("Well done: 2 callers waiting, the longest first: "
                                            "Quinn Early <5556011>, Lou Late <5556013>.")
    assert "wrong order" in check_waiting(lesson, newest_first)
    assert check_waiting(lesson, bridged_too).startswith("Tess Talking <5556012> is talking in check-room (mixing)")
    assert check_waiting(lesson, unfilled).startswith("Fill in the blanks")
    assert vk.lab.leftovers(ari) == {"channels": 0, "bridges": 0, "recordings": 0}


def test_where_no_widget_runs_the_stored_outputs_say_what_each_widget_is(lab):
    """GitHub and nbviewer show a widget's text/html (no widget runs there): the Dashboard says what it is and
    what it counted, a Phone what it joins (not '<Dashboard app=...>' or a number field)."""
    from vicifast_kit.widgets import Phone

    ari = lab.ari
    dash = ari.dashboard(poll=None)
    room = ari.bridges.create(type="mixing", name=f"still-{ari.app[-6:]}")
    phone = Phone(ari, join=room)
    try:
        html = dash._repr_mimebundle_()["text/html"]
        assert f"app {ari.app}" in html and "Run the notebook to see it" in html and "0 calls in the app" in html
        bundle = phone._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert f"Phone: joins bridge still-{ari.app[-6:]} (mixing)" in data["text/html"]
        assert "application/vnd.jupyter.widget-view+json" in data            # the live widget where one runs
        assert phone.joins == f"bridge still-{ari.app[-6:]} (mixing)" and "Join" in phone.status
    finally:
        phone.close()
        dash.close()
        room.destroy()
