"""Channels: originate, create and dial, dialplan, moving between apps, hold, mute, ring, silence, variables."""

from __future__ import annotations

import time
import uuid

import pytest

import vicifast_kit as vk

from client_helpers import ari, cleanup, lab, unique_app, wait_until  # noqa: F401  (fixtures)


def test_originate_with_variables_and_ids(ari):
    cid, other = f"o-{uuid.uuid4().hex[:8]}", f"o2-{uuid.uuid4().hex[:8]}"
    ch = ari.channels.originate(endpoint="Local/9001@inbound", app=ari.app, app_args="orig,x",
                                channel_id=cid, other_channel_id=other, caller_id='"Kit" <100>',
                                variables={"FOO": "bar", "CALLERID(name)": "Kit"}, timeout=5)
    assert isinstance(ch, vk.Channel) and ch.id == cid
    ev = ch.wait_for("StasisStart", timeout=10)
    assert ev.args == ["orig", "x"] and ev.channel.id == cid
    assert ch.get_channel_var(variable="FOO").value == "bar"
    assert ari.channels.get(other).name.endswith(";2")
    assert cid in [c.id for c in ari.channels.list()]
    ch.hangup()
    assert ch.wait_for("StasisEnd", timeout=5)
    with pytest.raises(vk.NotFound):
        ari.channels.get(cid)


def test_originate_with_id_operation(ari):
    cid = f"w-{uuid.uuid4().hex[:8]}"
    ch = ari.channels.originate_with_id(cid, endpoint="Local/9001@inbound", app=ari.app)
    assert ch.id == cid and ch.wait_for("StasisStart", timeout=10)
    ch.hangup(reason="normal")
    assert ch.wait_for("ChannelDestroyed", timeout=5).cause_txt


def test_create_then_dial(ari):
    cid = f"c-{uuid.uuid4().hex[:8]}"
    ch = ari.channels.create(endpoint="Local/9001@inbound", app=ari.app, app_args="created", channel_id=cid)
    assert ch.id == cid and ch.state == "Down"
    assert ch.wait_for("StasisStart", timeout=5).args == ["created"]
    ch.dial(timeout=5)
    ev = ch.wait_for("Dial", timeout=10, where=lambda e: e.dialstatus == "ANSWER")
    assert ev.peer == ch
    wait_until(lambda: ch.get().state == "Up", timeout=5)
    ch.hangup()


def test_continue_into_the_dialplan_confbridge(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=8)
    ch.continue_in_dialplan(context="conference", extension="8100", priority=1)
    assert ch.wait_for("StasisEnd", timeout=5)
    assert wait_until(lambda: ari.channels.get(ch.id).dialplan.app_name == "ConfBridge", timeout=5)
    ch.hangup()


def test_move_between_apps(lab):
    ari = lab.ari
    with vk.connect(app=unique_app("t2")) as other:
        try:
            caller, ch = lab.call(duration=8)
            ch.move(app=other.app, app_args="moved")
            ev = other.wait_for("StasisStart", timeout=5)
            assert ev.channel == ch and ev.args == ["moved"]
            assert ch.wait_for("StasisEnd", timeout=5)
            ev.channel.hangup()
        finally:
            cleanup(other)


def test_redirect_progress_and_ring(lab):
    ari = lab.ari
    caller, ch = lab.call(answer=False, duration=6)
    ch.ring()
    ch.ring_stop()
    ch.progress()
    ch.answer()
    assert ch.wait_for("ChannelStateChange", timeout=5).channel.state == "Up"


def test_hold_mute_silence_moh(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=8)
    # (ARI's ChannelHold/ChannelUnhold events report a hold the far end starts, which a
    # simulated caller does not do; here the calls must simply be accepted.)
    assert ch.hold() is None
    assert ch.unhold() is None
    ch.mute(direction="both")
    ch.unmute(direction="both")
    ch.start_silence()
    ch.stop_silence()
    ch.start_moh(moh_class="default")
    ch.stop_moh()
    with pytest.raises(vk.BadRequest):
        ch.mute(direction="sideways")
    assert ch.get().state == "Up"


def test_channel_and_global_variables(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=6)
    ch.set_channel_var(variable="COLOR", value="blue")
    assert ch.get_channel_var(variable="COLOR").value == "blue"
    ch.set_channel_vars(variables={"A": "1", "B": "2"})
    got = ch.get_channel_vars(variables=["A", "B"])
    assert got.variables.A == "1" and got.variables.B == "2"
    ch.set_channel_var(variable="WATCHED", value="x", report_events=True)
    assert ch.wait_for("ChannelVarset", timeout=5, where=lambda e: e.variable == "WATCHED").value == "x"
    name = "VK_" + ari.app.replace("-", "_").upper()
    ari.asterisk.set_global_var(variable=name, value="42")
    assert ari.asterisk.get_global_var(variable=name).value == "42"
    ari.asterisk.set_global_var(variable=name, value="")


def test_snoop_spy_and_whisper(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=8)
    spy = ch.snoop_channel(spy="in", app=ari.app, app_args="spy")
    assert isinstance(spy, vk.Channel) and spy.wait_for("StasisStart", timeout=5).args == ["spy"]
    sid = f"s-{uuid.uuid4().hex[:8]}"
    whisper = ch.snoop_channel_with_id(sid, whisper="out", app=ari.app, app_args="whisper")
    assert whisper.id == sid and whisper.wait_for("StasisStart", timeout=5).args == ["whisper"]
    assert whisper.play(media="sound:beep").wait_for("PlaybackFinished", timeout=5)
    spy.hangup()
    whisper.hangup()
    assert spy.wait_for("StasisEnd", timeout=5) and whisper.wait_for("StasisEnd", timeout=5)
    assert ch.get().state == "Up"


def test_rtp_statistics_and_redirect_errors(lab):
    caller, ch = lab.call(duration=5)
    with pytest.raises(vk.Forbidden):
        ch.rtpstatistics()                  # a Local channel has no RTP
    with pytest.raises(vk.ARIError):
        ch.redirect(endpoint="PJSIP/6001")
