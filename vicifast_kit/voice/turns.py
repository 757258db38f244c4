"""Turn-taking: Asterisk's talk detection, the caller's talk found in the audio's level, and one turn of a dialogue."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import audio
from ..errors import Conflict, NotFound

from ..wire import via

if TYPE_CHECKING:  # pragma: no cover
    from ..handles import Channel
    from ..media.stream import MediaStream


def talk_detect(call: "Channel", silence_ms: int = 800) -> None:
    """Kit helper (POST /channels/{id}/variable TALK_DETECT(set)): Asterisk then sends ChannelTalkingStarted/Finished."""
    with via("talk_detect"):
        call.set_channel_var(variable="TALK_DETECT(set)", value=str(int(silence_ms)))


def stop_talk_detect(call: "Channel") -> None:
    """Kit helper (POST /channels/{id}/variable TALK_DETECT(remove)): stop talk detection (an ended call is fine)."""
    try:
        with via("stop_talk_detect"):
            call.set_channel_var(variable="TALK_DETECT(remove)", value="")
    except (NotFound, Conflict):    # the call has ended (404) or left the app (409): nothing detects any more
        pass


def speech_spans(pcm: bytes, rate: int = 16000, threshold_db: float = -35.0, window: float = 0.1,
                 hangover: float = 0.5) -> list[tuple[float, float]]:
    """Where someone talks, from the level alone: (start, end) in seconds, gaps shorter than `hangover` joined."""
    spans: list[list[float]] = []
    for i, value in enumerate(audio.levels(pcm, rate, window)):
        if 20 * np.log10(max(value, 1.0) / 32768) > threshold_db:
            start, end = i * window, (i + 1) * window
            if spans and start - spans[-1][1] <= hangover:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    return [(round(a, 2), round(b, 2)) for a, b in spans]


@dataclass
class Turn:
    """One turn of the caller: what they said (or pressed), and what happened while the bot spoke."""

    speech: bytes                  # the caller's words: from talk start (less a little) to talk end
    heard: bytes                   # all the turn's audio from the caller's side
    rate: int
    digits: str = ""               # keys pressed during the turn
    barged_in: bool = False        # the caller talked over the prompt, which was cut (flush)
    timed_out: bool = False        # nobody said anything in time
    ended: bool = False            # the call ended during the turn
    talk: list[tuple[float, float]] = field(default_factory=list)   # Asterisk's talk spans (s into the turn)
    prompt_seconds: float = 0.0    # how long the prompt was
    cut_at: float | None = None    # when the prompt was cut (s into the turn)

    def __repr__(self) -> str:
        what = ("pressed " + repr(self.digits) if self.digits else
                f"said {len(self.speech) / 2 / self.rate:.1f} s" if self.speech else "said nothing")
        return f"<Turn {what}{', barged in' if self.barged_in else ''}{', timed out' if self.timed_out else ''}>"


_TURN_EVENTS = ["ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelDtmfReceived", "StasisEnd",
                "ChannelDestroyed"]


def take_turn(call: "Channel", stream: "MediaStream", prompt: bytes = b"", *, timeout: float = 8.0,
              max_speech: float = 6.0, preroll: float = 0.4, max_digits: int = 1) -> Turn:
    """Kit helper (media frames, ChannelTalking* and ChannelDtmfReceived events): say `prompt`, listen for the caller's turn.

    Speaks and listens on `stream` and waits until the caller has spoken (Asterisk's talk detection)
    or pressed a key. Needs talk_detect(call) first. If the caller starts talking or presses a key while the prompt plays,
    the prompt is cut at once (stream.flush(): barge-in). Returns after ChannelTalkingFinished, after
    `max_speech` s of talking, after `max_digits` keys, or after `timeout` s (counted from the end of the
    prompt) with nothing said.
    """
    rate = stream.rate
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    subscription = call.on(_TURN_EVENTS, inbox.put)
    heard = bytearray()
    turn = Turn(b"", b"", rate, prompt_seconds=len(prompt) / 2 / rate)
    started_at: float | None = None
    finished_at: float | None = None
    try:
        # The caller may have started before we listened (e.g. while the media stream opened): then what
        # the stream holds is the start of their words; otherwise it is not part of this turn.
        talking = [e.type for e in call.events() if e.type in ("ChannelTalkingStarted", "ChannelTalkingFinished")]
        already = bool(talking) and talking[-1] == "ChannelTalkingStarted"
        backlog = stream.buffered
        if backlog > 0:
            earlier = stream.read(backlog, timeout=0)
            if already:
                heard += earlier
        began = time.monotonic() - len(heard) / 2 / rate      # times count from the start of `heard`
        if already:
            started_at = 0.0
        if prompt:
            stream.send(prompt)
        playing = bool(prompt)
        for frame in stream.frames(timeout=2.0):
            heard += frame
            now = time.monotonic() - began
            if playing and now > turn.prompt_seconds + 0.1:
                playing = False
            while True:
                try:
                    event = inbox.get_nowait()
                except queue.Empty:
                    break
                if event.type == "ChannelTalkingStarted" and started_at is None:
                    started_at = now
                elif event.type == "ChannelTalkingFinished" and started_at is not None:
                    finished_at = now
                    turn.talk.append((round(started_at, 2), round(now, 2)))
                elif event.type == "ChannelDtmfReceived":
                    turn.digits += event.digit
                elif event.type in ("StasisEnd", "ChannelDestroyed"):
                    turn.ended = True
            if playing and (started_at is not None or turn.digits):
                stream.flush()                # barge-in: stop talking the moment the caller does
                playing, turn.barged_in, turn.cut_at = False, True, round(now, 2)
            if turn.ended or finished_at is not None or len(turn.digits) >= max_digits:
                break
            if started_at is not None and now - started_at > max_speech:
                turn.talk.append((round(started_at, 2), round(now, 2)))
                finished_at = now
                break
            if started_at is None and now > turn.prompt_seconds + timeout:
                turn.timed_out = True
                break
        else:
            turn.ended = True
    finally:
        subscription.unsubscribe()
    turn.heard = bytes(heard)
    if started_at is not None and finished_at is not None:
        first = max(0, int((started_at - preroll) * rate)) * 2
        turn.speech = turn.heard[first:int(finished_at * rate) * 2]
    return turn
