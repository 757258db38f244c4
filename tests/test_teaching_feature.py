"""Notebook 07's capstone check (vicifast_kit.teaching.checks.feature) against the lab: it tells an unfilled
after-hours line, a right one and wrong ones apart, in one line, and leaves nothing of its own behind."""

from __future__ import annotations

import threading
import uuid

import pytest

import vicifast_kit as vk
from client_helpers import unique_app
from vicifast_kit.teaching.checks import feature

VIPS = {"5550007"}
CLOSED = ["sound:sorry", "sound:please-try-call-later"]
OFFER = "sound:vm-leavemsg"
GOODBYE = "sound:vm-goodbye"


@pytest.fixture
def scene():
    """A lesson on an app of its own, with the on-call agent waiting in the on_call bridge."""
    ari = vk.connect(app=unique_app("feature"))
    lesson = vk.teaching.Lesson(ari)
    on_call = lesson.bridge("mixing", "on-call")
    agent = lesson.caller(name="On-call agent", number="6002")
    on_call.add_channel(channel=agent)
    try:
        yield lesson, on_call, agent
    finally:
        left = lesson.clean_up()
        ari.close()
        assert left == {"channels": 0, "bridges": 0, "recordings": 0}, left


def finished(playback):
    """Wait for a playback's end (as notebook 07's finished())."""
    assert playback.wait_for("PlaybackFinished", timeout=60).playback.state == "done"


def take_message(call):
    """Notebook 07's take_message: intro, a recording of at most 8 s, saved, hang up."""
    finished(call.play(media="sound:vm-intro"))
    recording = call.record(name=f"test-message-{uuid.uuid4().hex[:8]}", format="wav", max_duration_seconds=8,
                            beep=True, terminate_on="#")
    recording.wait_for("RecordingFinished", timeout=20)
    finished(call.play(media="sound:vm-msgsaved"))
    call.hangup()
    return "message"


def line(on_call, *, vip_first=True, record=True):
    """An after-hours line; vip_first=False plays the prompts to VIPs too, record=False takes no message."""
    def after_hours(call):
        call.answer()
        if vip_first and call.caller.number in VIPS:
            on_call.add_channel(channel=call)
            return "agent"
        prompts = call.play(media=[*CLOSED, OFFER])
        key = call.collect_digits(max_digits=1, timeout=12)
        try:
            prompts.stop()
        except vk.NotFound:
            pass
        if call.caller.number in VIPS:
            on_call.add_channel(channel=call)
            return "agent"
        if key == "5":
            if record:
                return take_message(call)
            call.hangup()
            return "message"
        finished(call.play(media=GOODBYE))
        call.hangup()
        return "closed"
    return after_hours


def own_things(lesson, agent, on_call):
    """What the lab holds of the lesson's app besides the scene itself (the agent's pair and on_call)."""
    left = vk.lab.leftovers(lesson.ari, timeout=5)
    return {**left, "channels": left["channels"] - 2, "bridges": left["bridges"] - 1}


def test_an_unfilled_line_is_told_to_return_where_the_call_went(scene):
    lesson, on_call, agent = scene

    def after_hours(call):
        call.answer()
        ...

    said = feature.check_after_hours(lesson, after_hours, on_call)
    assert said.startswith("For a VIP who presses nothing, after_hours() returned None"), said
    assert own_things(lesson, agent, on_call) == {"channels": 0, "bridges": 0, "recordings": 0}
    assert feature.check_after_hours(lesson, ..., on_call).startswith("after_hours is not a function yet")


def test_a_right_line_is_well_done_and_the_check_leaves_only_the_scene(scene):
    lesson, on_call, agent = scene
    said = feature.check_after_hours(lesson, line(on_call), on_call)
    assert said.startswith("Well done"), said
    assert own_things(lesson, agent, on_call) == {"channels": 0, "bridges": 0, "recordings": 0}
    assert on_call.get().channels == [agent.id]          # the VIP it put through was ended, the agent stays


@pytest.mark.parametrize("wrong, expected", [
    ({"vip_first": False}, "The VIP heard sound:sorry first"),
    ({"record": False}, "The caller who pressed 5 left no message"),
], ids=["vip-hears-prompts", "no-message"])
def test_a_wrong_line_is_told_what_went_wrong(scene, wrong, expected):
    lesson, on_call, agent = scene
    said = feature.check_after_hours(lesson, line(on_call, **wrong), on_call)
    assert said.startswith(expected), said
    assert own_things(lesson, agent, on_call) == {"channels": 0, "bridges": 0, "recordings": 0}


def test_a_line_that_raises_is_named_with_its_error(scene):
    lesson, on_call, agent = scene

    def after_hours(call):
        call.answer()
        raise KeyError("oops")

    said = feature.check_after_hours(lesson, after_hours, on_call)
    assert said.startswith("after_hours() stopped for ") and "KeyError" in said, said
    assert own_things(lesson, agent, on_call) == {"channels": 0, "bridges": 0, "recordings": 0}


def test_a_line_that_never_returns_is_told_to_give_every_wait_a_timeout(scene, monkeypatch):
    lesson, on_call, agent = scene
    monkeypatch.setattr(feature, "HANDLER_SECONDS", 6.0)
    threads_before = {t.name for t in threading.enumerate()}

    def after_hours(call):
        call.answer()
        call.collect_digits(max_digits=9, terminator=None, timeout=300)     # waits until the call ends
        return "closed"

    said = feature.check_after_hours(lesson, after_hours, on_call)
    assert said.startswith("after_hours() was still busy with ") and "timeout" in said, said
    assert own_things(lesson, agent, on_call) == {"channels": 0, "bridges": 0, "recordings": 0}
    left = {t.name for t in threading.enumerate()} - threads_before
    assert not [name for name in left if name.startswith("check-after-hours")], left
