"""The Phone's pace into Asterisk's queue (MicPacer): pure logic, on a clock the test moves."""

from __future__ import annotations

from vicifast_kit.widgets.phone import MicPacer

FRAME = 0.02
LOUD, QUIET = -20.0, -60.0


def steady(pacer: MicPacer, start: float, frames: int, db: float = QUIET) -> list[float | None]:
    """Frames at a microphone's pace (one every 20 ms) from `start`: what admit() said of each."""
    return [pacer.admit(FRAME, db, start + i * FRAME) for i in range(frames)]


def test_a_burst_after_a_stall_is_cut_to_the_most_the_queue_may_hold():
    pacer = MicPacer(max_queue=0.04)
    burst = [pacer.admit(FRAME, LOUD, 1.0) for _ in range(10)]      # 200 ms of audio at once
    assert [w is not None for w in burst] == [True, True, True] + [False] * 7
    assert [round(w, 6) for w in burst[:3]] == [0.0, FRAME, 2 * FRAME] and pacer.dropped == 7


def test_a_microphone_on_time_is_never_dropped_and_never_waits():
    pacer = MicPacer()
    waits = steady(pacer, 1.0, 500, LOUD)
    assert pacer.dropped == 0 and max(waits) < 1e-9


def test_a_standing_queue_that_is_never_needed_shrinks_a_quiet_frame_at_a_time():
    pacer = MicPacer(max_queue=0.06, spare_frames=100)
    for _ in range(3):                                              # a burst leaves 40 ms standing
        pacer.admit(FRAME, QUIET, 1.0)
    waits = steady(pacer, 1.0 + FRAME, 300)
    # once 2 s have never needed it, a frame goes; what stands then is less than a frame plus the safety
    assert pacer.dropped == 1
    assert waits[-1] is not None and 0.015 < waits[-1] < FRAME + pacer.safety
    assert min(w for w in waits[:98] if w is not None) > 0.035      # (it waited for a whole window first)


def test_a_loud_frame_is_kept_while_only_one_frame_is_spare():
    pacer = MicPacer(max_queue=0.06, spare_frames=100)
    for _ in range(2):                                              # 20 ms standing
        pacer.admit(FRAME, LOUD, 1.0)
    steady(pacer, 1.0 + FRAME, 300, LOUD)                          # someone talks without a pause
    assert pacer.dropped == 0
