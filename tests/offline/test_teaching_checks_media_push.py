"""The checks of notebooks 08-10 (vicifast_kit.teaching.checks: hearing, voicebot, push), their parts that need no lab:
the verdict on a barge-in's timing, and what each check says before it places any call."""

from __future__ import annotations

import pytest

from vicifast_kit.teaching.checks import hearing, push, voicebot


@pytest.mark.parametrize("seconds, says", [
    (0.4, "before the caller said a word"),     # the line's noise stopped the prompt
    (9.9, "went on for 10 s"),                  # played to the end: the voice never passed, or nothing flushed
    (5.5, "3.0 s after the caller started"),    # deaf for three seconds
    (3.1, "Well done"),
])
def test_barge_in_verdict_tells_early_never_late_and_right_apart(seconds, says):
    assert says in hearing.verdict(seconds)


class FakeLesson:
    """A lesson whose caller is made up (or cannot be made): what the check does around the learner's function."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.ended = fail, []

    def caller(self, **options):
        if self.fail:
            raise TimeoutError("no StasisStart")
        return "call"

    def end(self, *things):
        self.ended.extend(things)


def test_barge_in_check_says_blanks_and_ends_its_call():
    lesson = FakeLesson()

    def unfilled(call):
        return 1.0 > ...                        # what THRESHOLD_DB = ... gives at the comparison

    assert "still has blanks" in hearing.check_barge_in(lesson, unfilled)
    assert lesson.ended == ["call"]


def test_barge_in_check_reports_a_failure_and_a_missing_caller_in_one_line():
    def broken(call):
        raise RuntimeError("the stream closed")

    lesson = FakeLesson()
    assert hearing.check_barge_in(lesson, broken) == "barge_in() stopped with RuntimeError: the stream closed"
    assert lesson.ended == ["call"]
    assert "No test caller arrived" in hearing.check_barge_in(FakeLesson(fail=True), broken)


@pytest.mark.parametrize("intents, says", [
    ({"sales": ["sales", ...], "billing": ["bill"], "agent": ["agent"]}, "still has a '...'"),
    ({"sales": ["sales"], "billing": ["bill"]}, "agent is missing"),
    ("billing: invoice", "must stay a dict of lists"),
])
def test_intents_check_answers_before_asking_the_recogniser(intents, says):
    assert says in voicebot.check_intents(intents)


@pytest.mark.parametrize("key, status, says", [
    (..., 409, "Fill in your two decisions"),
    ("reference", ..., "Fill in your two decisions"),
    ("callback_url", 409, "keeps only its 'reference' and its 'to'"),
    ("reference", "409", "an HTTP status number from 400 to 499"),
    ("reference", 202, "an HTTP status number from 400 to 499"),
    ("reference", True, "an HTTP status number from 400 to 499"),
])
def test_idempotency_check_refuses_an_impossible_decision_before_any_call(key, status, says):
    never = object()        # no client, no CRM: the check must answer before it needs them
    assert says in push.check_idempotent(object, never, never, key, status)
