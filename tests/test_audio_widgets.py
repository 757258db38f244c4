"""The Listen and Phone widgets' Python side against the lab (no browser): what they send to the page
is measured, and what the page sends (microphone frames, keypad, Call/Hang up) is played into a call.

The page itself (Web Audio, the microphone, the analyser) is tested in tests/test_audio_widgets_browser.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from vicifast_kit import audio
from vicifast_kit.widgets import Listen, Phone

from client_helpers import ari, lab, wait_until  # noqa: F401  (fixtures)


class PageSink:
    """Stands in for the page: keeps the audio frames a widget sends."""

    def __init__(self, widget) -> None:
        self.frames: list[bytes] = []
        widget.send = self.send

    def send(self, content, buffers=None) -> None:
        if content.get("t") == "a":
            self.frames.append(bytes(buffers[0]))

    def audio(self, seconds: float) -> bytes:
        """The last `seconds` of what the page got (16 kHz slin)."""
        return b"".join(self.frames[-int(seconds / 0.02):])


def from_page(widget, kind: str, **content) -> None:
    widget._on_page_message(widget, {"t": kind, **content}, content.pop("buffers", []) if "buffers" in content else [])


def mic(widget, pcm: bytes) -> None:
    """The page's microphone: 20 ms frames, at the pace a microphone makes them."""
    start = time.monotonic()
    for n, i in enumerate(range(0, len(pcm), 640)):
        widget._on_page_message(widget, {"t": "mic"}, [memoryview(pcm[i:i + 640])])
        # a real-time source: the Phone keeps a live source's delay short by dropping what comes early
        time.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))   # a microphone's pace: a frame every 20 ms


def test_a_microphone_never_piles_up_delay_in_asterisk(lab):
    """A burst from the page (a live source) is cut to what keeps the delay short, instead of queueing it all."""
    near, far = lab.pair()
    with near.media() as stream:
        burst = audio.tone(500, 1.0)
        sent = sum(stream.send_live(burst[i:i + 640]) for i in range(0, len(burst), 640))
        assert sent <= 5 and stream.live_dropped >= 45
        assert stream.wait_played(timeout=2)


def widget_threads() -> list[str]:
    """The widget scheduler's threads, the audio widgets' and the media streams' (every one ends when its widgets or client close)."""
    return [t.name for t in threading.enumerate() if t.name.startswith(("vicifast-widgets", "vicifast-media", "vicifast-audio"))]


@pytest.fixture(autouse=True)
def no_threads_left():
    yield
    wait_until(lambda: not widget_threads(), timeout=5)


def test_listen_sends_the_call_to_the_page_and_says_when_it_ends(lab):
    near, far = lab.pair()
    far.play(media="tone:440")
    w = Listen(lab.ari, near)
    page = PageSink(w)
    wait_until(lambda: len(page.frames) >= 60, timeout=5)
    assert w.state == "live" and "Live" in w.status and w.rate == 16000
    assert abs(audio.dominant_frequency(page.audio(1.0), 16000) - 440) <= 10
    near.hangup()
    wait_until(lambda: w.state == "ended", timeout=5)
    assert "ended" in w.status.lower() and "cause" in w.status
    w.close()


def test_listen_to_a_call_that_has_ended_says_so_in_one_line(lab):
    caller, ch = lab.call(duration=30)
    ch.hangup()
    wait_until(lambda: ch.id not in [c.id for c in lab.ari.channels.list()])
    w = Listen(lab.ari, ch)
    assert w.state == "ended" and "gone" in w.error and "\n" not in w.error
    w.close()


def test_phone_calls_the_echo_and_hears_its_own_voice(lab):
    phone = Phone(lab.ari, "9002", caller_id='"Ada" <5550199>')
    page = PageSink(phone)
    try:
        from_page(phone, "call", number="9002")
        wait_until(lambda: phone.state == "live", timeout=10)
        phone.flush()
        # one thread sends the call's audio to the page (it reads the media websocket itself)
        assert [t.name for t in threading.enumerate() if t.name.startswith("vicifast-audio")] \
            == [f"vicifast-audio[phone:{phone.stream.name}]"]
        beeps = (audio.silence(0.2) + audio.tone(700, 0.2)) * 4
        mic(phone, beeps + audio.silence(0.2))
        # the beeps come back from the echo (the page gets them a frame at a time)
        wait_until(lambda: audio.level_db(page.audio(0.6)) > -40
                   and abs(audio.dominant_frequency(page.audio(0.6), 16000) - 700) <= 10, timeout=5)
        # ... quickly: the phone's own two-party bridge passes each frame on as it comes (measured 13-20 ms
        # from the kernel's send to its read; a softmix bridge took 60 ms, p90 160 ms)
        lab_p50 = phone._timings()["lab"][0]
        assert lab_p50 is not None and lab_p50 < 45, phone._timings()
    finally:
        phone.close()
    assert phone.state == "ended"


def test_phone_dials_into_an_app_with_its_caller_id_keypad_and_voice(lab):
    ari = lab.ari
    phone = Phone(ari, "5553001", caller_id='"Ada Learner" <5550123>')
    PageSink(phone)
    try:
        phone.call()
        assert phone.state == "ringing"
        ev = ari.wait_for("StasisStart", timeout=10)       # the learner's own app gets the call
        far = ev.channel
        lab.callers.append(far.id)
        assert ev.args == ["inbound", "5553001"] and far.caller.number == "5550123" and far.caller.name == "Ada Learner"
        far.answer()
        wait_until(lambda: phone.state == "live", timeout=10)
        from_page(phone, "dtmf", digit="7")
        assert far.wait_for("ChannelDtmfReceived", timeout=5).digit == "7"
        with far.media() as stream:
            stream.read(0.2)
            mic(phone, audio.tone(600, 1.5))
            heard = stream.read(0.8)
        assert abs(audio.dominant_frequency(heard, 16000) - 600) <= 10
        from_page(phone, "hangup")
        assert phone.state == "ended"
        far.wait_for("StasisEnd", timeout=5)
    finally:
        phone.close()


def test_phone_that_nobody_answers_gives_up_and_says_so(lab):
    phone = Phone(lab.ari, "5553002", patience=2)
    try:
        phone.call()
        lab.ari.wait_for("StasisStart", timeout=10)          # rings in the app; nobody answers
        wait_until(lambda: phone.state == "ended", timeout=10)
        assert "did not answer" in phone.status or phone.error
    finally:
        phone.close()


def test_phone_joins_a_bridge_as_a_supervisor(lab):
    br, (near_a, far_a), (near_b, far_b) = lab.bridged_pairs("5557301", "5557302")
    try:
        far_a.play(media="tone:500")
        phone = Phone(lab.ari, join=br)
        page = PageSink(phone)
        phone.call()
        wait_until(lambda: phone.state == "live", timeout=10)
        assert len(br.get().channels) == 3
        wait_until(lambda: len(page.frames) > 60, timeout=5)
        assert abs(audio.dominant_frequency(page.audio(1.0), 16000) - 500) <= 10
        phone.close()
        wait_until(lambda: len(br.get().channels) == 2)
    finally:
        br.destroy()


def test_closing_widgets_leaves_nothing_in_the_lab(lab):
    near, far = lab.pair()
    far.play(media="tone:440")
    w = Listen(lab.ari, near)
    phone = Phone(lab.ari, "9002")
    phone.call()
    wait_until(lambda: phone.state == "live" and w.state == "live", timeout=10)
    # What the two built (a shared lab has other tests' channels too): the Listen's snoop on `near` and
    # media channel, the phone's Local call (both halves) and its media channel.
    local = lab.ari.channels.get(phone.channel.id).name.rsplit(";", 1)[0]
    media = {w.stream.media_channel.id, phone.stream.media_channel.id}

    def built():
        return [c.name for c in lab.ari.channels.list()
                if c.id in media or c.name.startswith((f"Snoop/{near.id}", local))]
    assert len(built()) == 5, built()
    # the phone's two-party bridge of its own (plain mixing: frames pass as they come, no softmix)
    own = [b for b in lab.ari.bridges.list() if b.raw.get("name") == f"kit phone {phone.channel.id}"]
    assert len(own) == 1 and own[0].raw.get("technology") == "simple_bridge", own
    w.close()
    phone.close()
    wait_until(lambda: not built(), timeout=5)
    wait_until(lambda: own[0].id not in [b.id for b in lab.ari.bridges.list()], timeout=5)


def test_the_dashboards_listen_button_hears_the_picked_call(lab):
    from vicifast_kit.widgets import Dashboard
    near, far = lab.pair()
    far.play(media="tone:440")
    dash = Dashboard(lab.ari)
    try:
        dash.control.follow(near)
        listen = dash.toggle_listen()
        page = PageSink(listen)
        assert dash.listen_button.description == "Stop listening" and dash.listen_slot.children == (listen,)
        wait_until(lambda: len(page.frames) > 60, timeout=5)
        assert abs(audio.dominant_frequency(page.audio(1.0), 16000) - 440) <= 10
        assert dash.snapshot()["listen"]["state"] == "live"
        dash.toggle_listen()                               # again: stop
        assert dash.listen is None and listen.state == "ended" and dash.listen_button.description == "Listen"
        dash.toggle_listen(near)
    finally:
        dash.close()
    assert dash.listen is None
