"""Notebook 07's IVR (ivr.py beside this file) tested by callers who talk and listen: vk.testing's pytest plugin.

Run it with the lab up:  pytest vicifast_kit/examples/test_ivr.py
(add ``--vk-app-name ivr-test`` to run the IVR under another app name than "ivr", e.g. beside notebook 07).

``vk_app`` names the app under test: the plugin starts it once for these tests and stops it after. Each
``caller(...)`` dials a number of the lab's ``service`` context, which sends it into that app, and returns
what happened: what the caller heard (``result.heard``: the prompts' words, in order), the keys that reached
the IVR, when it was answered, how and when it ended. Every call still up when a test ends is hung up.
"""

from pathlib import Path

vk_app = f"{Path(__file__).with_name('ivr.py')}:app"     # the app under test (or: pytest --vk-app FILE.py:app)

MENU = "Thank you for calling Super Awesome Company"
NUMBER = "5551234"


def test_the_menu_answers_and_key_1_joins_the_sales_conference(caller):
    result = caller(NUMBER, dtmf="1", duration=6)
    assert result.answered is not None and result.answered < 5
    assert result.heard.startswith(MENU)                     # the menu, cut short by the key
    assert result.digits == "1"
    assert any(step.app == "ConfBridge" and step.data.startswith("8200") for step in result.steps)
    assert (result.hung_up_by, result.cause) == ("caller", 16)     # it stayed in the room until it left


def test_key_2_leaves_a_message_and_hears_it_was_saved(caller):
    result = caller(NUMBER, dtmf="2", say="Hi, please call me back about my invoice.")
    heard = result.heard
    assert heard.index(MENU) < heard.index("Please leave your message after the tone") < heard.index(
        "Your message has been saved")
    assert result.prompts == ["basic-pbx-ivr-main", "vm-intro", "vm-msgsaved"]
    assert result.digits == "2"
    assert (result.hung_up_by, result.cause) == ("far end", 16)    # the IVR hung up once the message was saved


def test_wrong_keys_three_times_wait_for_an_operator(caller):
    result = caller(NUMBER, dtmf="999", duration=16)
    assert result.heard.count("That option is invalid. Please try again.") == 3
    assert result.heard.count(MENU) == 3
    assert result.digits == "999"
    assert any(part.source == "music" for part in result.parts)   # then music in the operator queue
    assert result.hung_up_by == "caller"


def test_a_vip_skips_the_menu(caller):
    result = caller(NUMBER, caller_id='"VIP" <5550007>', duration=4)
    assert MENU not in result.heard
    assert any(step.app == "ConfBridge" for step in result.steps)


def test_with_no_instance_connected_the_caller_hears_the_fallback(caller):
    result = caller(NUMBER, app="ivr-nobody-runs-this")
    assert "All circuits are busy now" in result.heard
    assert result.cause == 34 and result.answered is not None
