"""The voice bot's parts without the lab: grammar, intents, the voice (espeak-ng), the ear (pocketsphinx), levels."""

from __future__ import annotations

import importlib
import shutil
import sys
import xml.dom.minidom

import pytest

import vicifast_kit as vk
from vicifast_kit import audio, voice
from vicifast_kit.errors import VoiceUnavailable

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="apt-get install espeak-ng (scripts/setup installs it)")


def test_the_grammar_holds_every_intent_word_and_refuses_what_is_not_a_word():
    text = voice.grammar({"sales": ["sales"], "support": ["help desk", "support"]})
    assert "<key> = sales | help desk | support;" in text and text.startswith("#JSGF V1.0;")
    with pytest.raises(ValueError, match="lower-case English words"):
        voice.grammar({"x": ["sales; <evil>"]})


def test_intent_of_takes_the_first_intent_word_spoken_and_whole_words_only():
    assert voice.intent_of("i would like to talk to a human about my bill") == "agent"
    assert voice.intent_of("billing please") == "billing"
    assert voice.intent_of("about my billboard") is None          # "bill" is not in "billboard"
    assert voice.intent_of("") is None


@needs_espeak
def test_speak_gives_speech_at_the_rate_asked():
    pcm16 = voice.speak("Connecting you to an agent.", 16000)
    pcm8 = voice.speak("Connecting you to an agent.", 8000)
    assert 1.0 < len(pcm16) / 2 / 16000 < 4.0
    assert abs(len(pcm16) / 2 / 16000 - len(pcm8) / 2 / 8000) < 0.01
    assert audio.level_db(pcm16) > -30
    assert len(voice.speech_spans(pcm16, 16000, hangover=0.05)) >= 2     # words with gaps between them


@needs_espeak
def test_the_recogniser_hears_a_spoken_phrase_and_routes_it():
    pytest.importorskip("pocketsphinx")
    heard = voice.recognise(voice.speak("Let me talk to a human.", 16000), 16000)
    assert heard.intent == "agent" and "human" in heard.text.split()
    heard8 = voice.recognise(voice.speak("Let me talk to a human.", 8000), 8000)   # the rate of a plain phone line
    assert heard8.intent == "agent"


def test_the_recogniser_does_not_guess_on_noise_or_a_tone():
    pytest.importorskip("pocketsphinx")
    assert voice.recognise(audio.noise(1.5, 16000, amplitude=0.003, seed=1), 16000).intent is None
    assert voice.recognise(audio.tone(440, 1.0, 16000), 16000).intent is None


def test_speech_spans_find_talk_from_the_level_alone():
    quiet, loud = audio.noise(0.5, 8000, amplitude=0.002, seed=2), audio.tone(300, 0.4, 8000)
    pcm = quiet + loud + audio.noise(1.0, 8000, amplitude=0.002, seed=3) + loud + quiet
    assert voice.speech_spans(pcm, 8000) == [(0.5, 0.9), (1.9, 2.3)]
    assert voice.speech_spans(pcm, 8000, hangover=1.5) == [(0.5, 2.3)]


def test_the_level_plot_is_an_svg_with_its_spans():
    pcm = audio.noise(0.5, 16000, amplitude=0.002, seed=4) + audio.tone(300, 1.0, 16000)
    plot = voice.LevelPlot(pcm, 16000, {"talk": [(0.5, 1.5)]}, title="test")
    svg = plot._repr_svg_()
    xml.dom.minidom.parseString(svg)
    assert svg.count("<rect") == 2 and ">talk<" in svg and "<polyline" in svg     # the background and the span


def test_a_missing_espeak_ng_is_voice_unavailable_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("vicifast_kit.voice.speaking.shutil.which", lambda name: None)
    with pytest.raises(VoiceUnavailable) as raised:
        voice.speak("A sentence no other test speaks.", 16000)
    assert isinstance(raised.value, vk.Error) and isinstance(raised.value, RuntimeError)
    assert "apt-get install espeak-ng" in str(raised.value) and "your own voice" in str(raised.value)


def test_a_missing_pocketsphinx_is_voice_unavailable_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)          # `import pocketsphinx` fails as if absent
    monkeypatch.setattr("vicifast_kit.voice.recognition._decoders", {})
    with pytest.raises(VoiceUnavailable) as raised:
        voice.recognise(audio.tone(440, 0.2, 16000), 16000)
    assert isinstance(raised.value, vk.Error)
    assert "pip install" in str(raised.value) and "your own recogniser" in str(raised.value)


class _Call:
    """A stand-in for a Channel whose set_channel_var raises what it is given."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def set_channel_var(self, **_):
        raise self.error


@pytest.mark.parametrize("error", [vk.NotFound(404, "Channel not found"), vk.CallEnded(404, "Channel not found"),
                                   vk.Conflict(409, "Channel not in Stasis application")])
def test_stop_talk_detect_on_a_call_that_ended_or_left_is_fine(error):
    voice.stop_talk_detect(_Call(error))


@pytest.mark.parametrize("error", [TypeError("a bug"), vk.ClientClosed("closed"), vk.ServerError(500, "oops")])
def test_stop_talk_detect_hides_no_other_error(error):
    with pytest.raises(type(error)):
        voice.stop_talk_detect(_Call(error))


@pytest.mark.parametrize("package, modules", [
    ("vicifast_kit.audio", ["synthesis", "measurement", "codecs", "wav", "player"]),
    ("vicifast_kit.voice", ["speaking", "recognition", "turns", "routing", "plot"])])
def test_every_public_name_is_on_the_package_whichever_module_holds_it(package, modules):
    top = importlib.import_module(package)
    for module in (importlib.import_module(f"{package}.{name}") for name in modules):
        for name, value in vars(module).items():
            if not name.startswith("_") and callable(value) and getattr(value, "__module__", "") == module.__name__:
                assert getattr(top, name) is value and name in top.__all__, f"{module.__name__}.{name}"
