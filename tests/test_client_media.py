"""Playbacks (controls, playlists), bridges (mixing, holding, playback, MOH), recordings (live and stored)."""

from __future__ import annotations

import uuid

import pytest

import vicifast_kit as vk

from client_helpers import ari, lab, wait_until  # noqa: F401  (fixtures)

LONG = "sound:demo-congrats"     # long enough (~20 s) to pause and restart


def test_play_pause_unpause_restart_stop(lab):
    caller, ch = lab.call(duration=10)
    pb = ch.play(media=LONG)
    assert isinstance(pb, vk.Playback) and pb.wait_for("PlaybackStarted", timeout=5)
    pb.control(operation="pause")
    assert wait_until(lambda: pb.get().state == "paused", timeout=3)
    pb.control(operation="unpause")
    assert wait_until(lambda: pb.get().state == "playing", timeout=3)
    pb.control(operation="restart")
    pb.control(operation="forward")
    with pytest.raises(vk.BadRequest):
        pb.control(operation="nonsense")
    pb.stop()
    ev = pb.wait_for("PlaybackFinished", timeout=5)
    assert ev.playback.state in ("done", "stopped", "canceled")
    with pytest.raises(vk.NotFound):
        ari_pb = pb.get()


def test_playlist_and_play_with_id(lab):
    caller, ch = lab.call(duration=10)
    pb = ch.play(media=["sound:beep", "sound:beep"], lang="en")
    assert pb.wait_for("PlaybackContinuing", timeout=5).playback.media_uri == "sound:beep"
    assert pb.wait_for("PlaybackFinished", timeout=5)
    pid = f"p-{uuid.uuid4().hex[:8]}"
    pb2 = ch.play_with_id(pid, media="sound:beep")
    assert pb2.id == pid and pb2.wait_for("PlaybackFinished", timeout=5)
    assert lab.ari.playbacks.get(ch.play(media=LONG, playback_id=pid + "x").id).target_uri == f"channel:{ch.id}"
    lab.ari.playbacks.stop(pid + "x")


def test_mixing_bridge_add_remove_play_moh(lab):
    ari = lab.ari
    c1, ch1 = lab.call(duration=10, number="5552001")
    c2, ch2 = lab.call(duration=10, number="5552002")
    br = ari.bridges.create(type="mixing", name="kit-test")
    ari.applications.subscribe(ari.app, event_source=f"bridge:{br.id}")   # to hear of its end
    assert isinstance(br, vk.Bridge) and br.bridge_type == "mixing"
    br.add_channel(channel=[ch1, ch2.id], role="participant")
    for ch in (ch1, ch2):
        assert ch.wait_for("ChannelEnteredBridge", timeout=5).bridge == br
    assert set(br.get().channels) == {ch1.id, ch2.id}
    pb = br.play(media="sound:beep")
    assert pb.target_uri == f"bridge:{br.id}" and br.wait_for("PlaybackFinished", timeout=5)
    br.start_moh(moh_class="default")
    br.stop_moh()
    br.remove_channel(channel=ch2)
    ev = ch2.wait_for("ChannelLeftBridge", timeout=5)
    assert ev.bridge == br and br.get().channels == [ch1.id]
    with pytest.raises(vk.UnprocessableEntity):
        br.remove_channel(channel=ch2)
    br.destroy()
    assert br.wait_for("BridgeDestroyed", timeout=5)
    assert br.id not in [b.id for b in ari.bridges.list()]


def test_holding_bridge_and_bridge_ids(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=8)
    bid = f"b-{uuid.uuid4().hex[:8]}"
    br = ari.bridges.create_with_id(bid, type="holding")
    assert br.id == bid and br.bridge_type == "holding"
    br.add_channel(channel=ch, role="participant")
    assert br.wait_for("ChannelEnteredBridge", timeout=5).channel == ch
    br.set_bridge_var(variable="X", value="1")
    assert br.get_bridge_var(variable="X").value == "1"
    br.set_bridge_vars(variables={"Y": "2"})
    assert br.get_bridge_vars(variables="Y").variables.Y == "2"
    br.remove_channel(channel=ch)
    assert ch.wait_for("ChannelLeftBridge", timeout=5)
    br.destroy()


def _record_and_check(ari, target, name):
    """Record 2 s of the target (it ends by itself at max_duration_seconds), using the controls on the way."""
    rec = target.record(name=name, format="wav", max_duration_seconds=2, if_exists="overwrite", beep=False)
    assert isinstance(rec, vk.LiveRecording) and rec.name == name
    assert rec.wait_for("RecordingStarted", timeout=5)
    rec.pause()
    rec.unpause()
    rec.mute()
    rec.unmute()
    assert rec.get().state in ("recording", "paused")
    assert rec.wait_for("RecordingFinished", timeout=10).recording.name == name
    return ari.recordings.get_stored(name)


def test_record_channel_and_stored_recordings(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=10, talk="demo-congrats")
    name = f"kit-test-{uuid.uuid4().hex[:8]}"
    copy = name + "-copy"
    try:
        stored = _record_and_check(ari, ch, name)
        assert isinstance(stored, vk.StoredRecording) and stored.format == "wav"
        assert name in [r.name for r in ari.recordings.list_stored()]
        data = stored.get_file()
        assert isinstance(data, bytes) and data[:4] == b"RIFF" and len(data) > 1000
        assert ari.recordings.get_stored_file(name) == data
        copied = stored.copy(destination_recording_name=copy)
        assert copied.name == copy and copied.get_file() == data
        with pytest.raises(vk.Conflict):
            stored.copy_stored(destination_recording_name=copy)
        copied.delete()
        stored.delete_stored()
        with pytest.raises(vk.NotFound):
            ari.recordings.get_stored(name)
    finally:
        for n in (name, copy):
            try:
                ari.recordings.delete_stored(n)
            except vk.NotFound:
                pass


def test_record_bridge_and_cancel(lab):
    ari = lab.ari
    caller, ch = lab.call(duration=10, talk="demo-congrats")
    br = ari.bridges.create(type="mixing")
    br.add_channel(channel=ch)
    name = f"kit-test-{uuid.uuid4().hex[:8]}"
    try:
        stored = _record_and_check(ari, br, name)
        assert stored.get_file()[:4] == b"RIFF"
        stored.delete()
        rec = br.record(name=name + "-c", format="wav", if_exists="overwrite")
        assert rec.wait_for("RecordingStarted", timeout=5)
        ari.recordings.get_live(rec.name)
        rec.cancel()
        assert rec.wait_for(("RecordingFinished", "RecordingFailed"), timeout=5)
        with pytest.raises(vk.NotFound):
            ari.recordings.get_stored(name + "-c")
    finally:
        br.destroy()
        for n in (name, name + "-c"):
            try:
                ari.recordings.delete_stored(n)
            except vk.NotFound:
                pass
