"""The checks of notebooks 08-10 against the lab: each tells a wrong answer from a right one, in one line that says
what to change, and leaves nothing of its own behind (hearing: barge-in; voicebot: a new word's desk; push: an
idempotent webhook)."""

from __future__ import annotations

import time

import pytest

import vicifast_kit as vk
import vicifast_kit.push
from client_helpers import eventually, unique_app
from vicifast_kit import audio
from vicifast_kit.teaching.checks import hearing, push, voicebot


@pytest.fixture
def lesson():
    ari = vk.connect(app=unique_app("checks"))
    lesson = vk.teaching.Lesson(ari)
    try:
        yield lesson
    finally:
        assert lesson.clean_up() == {"channels": 0, "bridges": 0, "recordings": 0}
        ari.close()


def barge_in_with(threshold_db, flush=True):
    """The exercise's barge_in with the learner's decisions filled in."""
    def barge_in(call, prompt_seconds=10.0):
        with call.media() as stream:
            stream.send(audio.tone(440, prompt_seconds))
            started = time.monotonic()
            while time.monotonic() - started < prompt_seconds:
                if audio.level_db(stream.read(0.1)) > threshold_db:
                    if flush:
                        stream.flush()
                    break
            stream.wait_played(timeout=prompt_seconds + 5)
    return barge_in


@pytest.mark.lab
@pytest.mark.parametrize("threshold_db, flush, says", [
    (-70, True, "before the caller said a word"),     # under the line's own noise (about -52 dBFS)
    (-35, False, "went on for"),                      # heard the caller, but the queued prompt played on
    (-35, True, "Well done"),
])
def test_barge_in_check_tells_the_learners_decisions_apart(lesson, threshold_db, flush, says):
    line = hearing.check_barge_in(lesson, barge_in_with(threshold_db, flush))
    assert says in line, line
    assert "\n" not in line
    eventually(lambda: not any(vk.teaching.still_there(c) for c in lesson.made), what="the check to end its caller")


@pytest.mark.lab
def test_intents_check_sends_a_word_in_the_wrong_list_back_and_passes_the_right_one():
    base = {"sales": ["sales"], "billing": ["billing", "bill"], "agent": ["agent", "person", "human", "operator"]}
    wrong = {k: v + (["invoice"] if k == "sales" else []) for k, v in base.items()}
    right = {k: v + (["invoice"] if k == "billing" else []) for k, v in base.items()}
    assert "a question for billing" in voicebot.check_intents(wrong)
    assert voicebot.check_intents(right).startswith("Well done")


def idempotent(key, status):
    class Hook(vk.push.Webhook):
        def place(self, request):
            if any(c[key] == request[key] for c in self.calls.values()):
                raise vk.push.WebhookError(status, "already placed")
            return super().place(request)
    return Hook


@pytest.mark.lab
@pytest.mark.parametrize("webhook, says", [
    (vk.push.Webhook, "The repeat was accepted too"),                     # not idempotent at all
    (idempotent("to", 409), "A new reference for the same number was refused"),
    (idempotent("reference", 429), "429 says 'too many, try again later'"),
    (idempotent("reference", 409), "Well done"),
])
def test_idempotency_check_follows_the_calls_and_names_the_wrong_decision(webhook, says):
    ari = vk.connect(app=unique_app("checks-hook"))        # a webhook runs on a client of any kind
    crm = vk.push.CallbackReceiver()
    try:
        line = push.check_idempotent(webhook, ari, crm, "reference", 409)
        assert says in line, line
        assert vk.lab.leftovers(ari, timeout=10) == {"channels": 0, "bridges": 0, "recordings": 0}
    finally:
        crm.close()
        ari.close()
