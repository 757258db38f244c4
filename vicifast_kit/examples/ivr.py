"""Notebook 07's IVR as a service: the same menu, run for every call by vk.App.

Run it:
    vicifast-kit serve vicifast_kit/examples/ivr.py --port 9464     # JSON logs, /healthz, /metrics
    python -m vicifast_kit.examples.ivr                              # the same, with Python's plain logs

Call it in the lab: any number of the ``service`` context reaches it (``Local/5551234@service`` with
the channel variable VICIFAST_APP=ivr). The menu (the lab's prompt "basic-pbx-ivr-main"):

| the caller ...                        | the IVR ...                                                   |
|---------------------------------------|---------------------------------------------------------------|
| is a known VIP (number in VIPS)       | skips the menu: straight to the sales conference (room 8200)  |
| presses 1 (sales)                     | joins the sales conference (ConfBridge room 8200)             |
| presses 2 (customer advocate)         | leaves a message (a recording, at most 8 s)                   |
| presses 0 (operator)                  | waits for an operator (a holding bridge with music)           |
| presses a wrong key                   | hears "That option is invalid", is asked again: 3 tries       |
| fails 3 times, or presses nothing     | waits for an operator                                         |

A call taken over from an instance that stopped or died (``call.resumed``): a caller already
waiting in the operator queue stays there, untouched; any other caller hears "I'm sorry. Please try
again." and the menu again from the start (the old instance's prompt, keys and
recording are gone with it).
"""

from __future__ import annotations

import logging
import uuid

import vicifast_kit as vk

app = vk.App("ivr", max_calls=20, drain_timeout=60)
log = logging.getLogger("ivr")

MENU, INVALID = "basic-pbx-ivr-main", "pm-invalid-option"
#: What a caller taken over mid-menu hears first: "I'm sorry. Please try again."
SORRY = ["sound:im-sorry", "sound:please-try-again"]
VIPS = {"5550007"}
SALES_ROOM = "8200"


def queue_id() -> str:
    """The operator queue's bridge id: named after the app, so an instance started after another finds the same queue."""
    return f"{app.name}-operator-queue"


@app.on_start
def open_operator_queue(ari: vk.ARIClient) -> None:
    """The holding bridge callers wait in for an operator, with music (kept if an earlier instance made it)."""
    try:
        ari.bridges.get(bridge_id=queue_id())
    except vk.NotFound:
        ari.bridges.create_with_id(bridge_id=queue_id(), type="holding", name="operator-queue")
    ari.bridges.start_moh(bridge_id=queue_id(), moh_class="default")


@app.on_stop
def close_operator_queue(ari: vk.ARIClient) -> None:
    """Remove the queue if nobody waits in it (callers still waiting keep it for the next instance)."""
    try:
        if not ari.bridges.get(bridge_id=queue_id()).channels:
            ari.bridges.destroy(bridge_id=queue_id())
    except vk.NotFound:
        pass


def finished(playback: vk.Playback) -> None:
    """Wait for a playback's end; raise a clear error if the sound did not play."""
    end = playback.wait_for("PlaybackFinished", timeout=60)
    if end.playback.state != "done":
        raise RuntimeError(f"{end.playback.media_uri} did not play ({end.playback.state}): "
                           "is it one of the lab's sounds? ari.sounds.list() lists them")


def to_sales(call: vk.Channel) -> str:
    """Into the sales conference (ConfBridge, in the dialplan)."""
    call.continue_in_dialplan(context="inbound", extension=SALES_ROOM, priority=1)
    return "sales"


def take_message(call: vk.Channel) -> str:
    """The caller leaves a message (at most 8 s, or until #); then we say it was saved and hang up."""
    name = f"message-{call.caller.number or 'unknown'}-{uuid.uuid4().hex[:6]}"
    finished(call.play(media="sound:vm-intro"))
    recording = call.record(name=name, format="wav", max_duration_seconds=8, beep=True, terminate_on="#")
    recording.wait_for("RecordingFinished", timeout=20)
    call.log.info("message stored as %s", name)
    finished(call.play(media="sound:vm-msgsaved"))
    call.hangup()
    return "message"


def to_operator(call: vk.Channel) -> str:
    """Wait for an operator, with music."""
    call.client.bridges.add_channel(bridge_id=queue_id(), channel=call.id)
    return "operator"


OPTIONS = {"1": to_sales, "2": take_message, "0": to_operator}


def ask(call: vk.Channel, tries: int = 3) -> str | None:
    """Play the menu and return a key of OPTIONS, or None after `tries` wrong keys (or none)."""
    for _ in range(tries):
        menu = call.play(media=f"sound:{MENU}")
        key = call.collect_digits(max_digits=1, timeout=30)     # the menu is 25 s long
        try:
            menu.stop()                   # a key stops the menu (barge-in)...
        except vk.NotFound:
            pass                          # ...unless it had ended
        finished(menu)
        if key in OPTIONS:
            return key
        call.log.info("invalid key %r", key)
        finished(call.play(media=f"sound:{INVALID}"))
    return None


def waiting_for_operator(call: vk.Channel) -> bool:
    """True if the call already waits in the operator queue."""
    try:
        return call.id in call.client.bridges.get(bridge_id=queue_id()).channels
    except vk.NotFound:
        return False


@app.call
def route(call: vk.Channel) -> str:
    """The whole IVR for one call; returns where the call went."""
    if call.resumed:
        if waiting_for_operator(call):
            call.log.info("resumed: still waiting for an operator, left there")
            return "operator (resumed, still waiting)"
        call.log.info("resumed: the menu starts again")
        finished(call.play(media=SORRY))
    if call.state != "Up":
        call.answer()
        call.wait_for("ChannelStateChange", timeout=10)         # Asterisk confirms: the call is Up
    if call.caller.number in VIPS:
        return to_sales(call) + " (VIP)"
    key = ask(call)
    if key is None:
        return to_operator(call)
    return OPTIONS[key](call)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(app.run())
