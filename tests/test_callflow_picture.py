"""A CallFlow's ladder as a stored picture: SVG beside the widget, and picture() once the events are drawn."""

import xml.etree.ElementTree as ET

import vicifast_kit as vk
from vicifast_kit.widgets import CallFlow

from client_helpers import ari, lab  # noqa: F401  (fixtures)

SVG = "{http://www.w3.org/2000/svg}"


def arrows(svg: str) -> list[str]:
    """The labels of the ladder's arrows, top to bottom."""
    root = ET.fromstring(svg)
    return [(t.find(f"{SVG}title").tail or "").strip() for t in root.iter(f"{SVG}text")
            if t.get("font-weight") == "600" and t.find(f"{SVG}tspan") is not None]


def test_picture_draws_the_whole_call_in_order_and_the_widget_carries_its_svg(lab):
    caller, call = lab.call(answer=False)
    flow = CallFlow(lab.ari, call)
    try:
        bundle = flow._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/svg+xml"].startswith("<svg")
        call.answer()
        call.play(media="sound:hello-world").wait_for("PlaybackFinished", timeout=10)
        call.hangup()
        call.wait_for("StasisEnd", timeout=10)      # taken here at once: picture() still waits for the flow to draw it
        picture = flow.picture()
        labels = arrows(picture.svg)
        assert labels[0] == "StasisStart" and labels[-1] == "StasisEnd", labels
        for earlier, later in (("POST /channels/{id}/answer", "ChannelStateChange"),
                               ("POST /channels/{id}/play", "PlaybackFinished"),
                               ("DELETE /channels/{id}", "ChannelHangupRequest")):
            assert labels.index(earlier) < labels.index(later), labels
        assert picture._repr_mimebundle_() == {"image/svg+xml": picture.svg, "text/plain": repr(picture)}
        assert repr(picture).startswith(f"<CallFlow picture: {len(labels)} steps; lanes: App {lab.ari.app}, Asterisk, Local/")
    finally:
        flow.close()


def test_the_picture_of_a_flow_with_no_call_says_so_and_comes_at_once():
    """picture() waits only for a quiet spell; with no channel followed, the empty ladder says what to do."""
    with vk.connect(app="callflow-picture-empty") as ari:
        flow = CallFlow(ari)
        try:
            picture = flow.picture(quiet=0.1, timeout=1)
            assert "Pick a channel to draw its call." in picture.svg and picture.steps == 0
        finally:
            flow.close()
