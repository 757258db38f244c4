"""Phone: the learner's browser as a telephone into the lab (microphone, speaker, keypad)."""

from __future__ import annotations

import collections
import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

import traitlets as T

from ..causes import cause_text
from ..errors import ARIError, Error, StreamClosed
from ..media.stream import CALL_FORMATS
from ..audio import level_db
from .audiowidget import QUIET_DB, AudioWidget, percentiles
from .base import failure, readable_error

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event
    from ..handles import Bridge, Channel
    from .scheduler import Job

#: Most seconds of the page's microphone left waiting in Asterisk's queue (a frame that would wait longer is dropped):
#: the page's frames come with the jitter of its main thread and of the widget comm (p99 gaps of 30-60 ms measured).
MIC_MAX_QUEUE = 0.06
#: When the queue never ran lower than a frame over this many frames (2 s), a frame is dropped (a quiet one if it can).
MIC_SPARE_FRAMES = 100
MIC_SAFETY = 0.005      # seconds of the queue the kernel's estimate may be off by (Asterisk's 20 ms ticks)


class MicPacer:
    """The kernel's estimate of Asterisk's queue of a live source's audio, and which frames to drop to keep it short.

    Asterisk plays what it is sent at 20 ms a frame (silence when nothing is there). A microphone
    runs on its own clock and its frames come in bursts: each burst after a stall would stay queued
    for good. A frame that would wait more than ``max_queue`` s is dropped, and when over
    ``spare_frames`` the queue never ran lower than a frame (plus ``safety``), one frame is dropped (a
    quiet one if it can): the queue follows the jitter that is measured, down as well as up.
    """

    def __init__(self, max_queue: float = MIC_MAX_QUEUE, spare_frames: int = MIC_SPARE_FRAMES,
                 safety: float = MIC_SAFETY) -> None:
        self.max_queue = max_queue
        self.safety = safety
        self.spare_frames = spare_frames
        self.until = 0.0                     # when what was admitted will have been played (time.monotonic())
        self._lows: collections.deque = collections.deque(maxlen=spare_frames)
        #: Frames dropped so far.
        self.dropped = 0

    def admit(self, seconds: float, db: float, now: float) -> float | None:
        """A frame of `seconds` and level `db` arrives at `now`: the s it will wait in Asterisk's queue, or None to drop it."""
        if self.until < now:                 # all sent so far has been played: the queue ran dry
            self.until = now
        wait = self.until - now
        self._lows.append(wait)
        spare = min(self._lows) - self.safety if len(self._lows) == self.spare_frames else 0.0
        if wait > self.max_queue + 1e-9 or (spare >= seconds and (db < QUIET_DB or spare >= 2 * seconds)):
            self.dropped += 1
            if spare >= seconds:             # the queue is a frame shorter from now on
                lows = [low - seconds for low in self._lows]
                self._lows.clear()
                self._lows.extend(lows)
            return None
        self.until += seconds
        return wait


#: What the lab's numbers do (shown as the number field's help).
NUMBERS = "any number: into an ARI app · 8000-8999: a conference · 9000: echo · 9001: music on hold · 9002: echo, no intro"


class Phone(AudioWidget):
    """The browser as a phone: Call/Hang up, a keypad, your microphone to the call and the call to your speaker.

    ``Phone(ari)`` dials the lab's numbers (the far end sees a normal channel with your caller id);
    ``Phone(ari, join=bridge)`` joins a bridge as an agent or supervisor. ``call()``, ``press()`` and
    ``hangup()`` do from code what the buttons do.
    """

    _audio_thread = True       # a conversation: each frame to the page as it comes (see audiowidget)

    number = T.Unicode("9000").tag(sync=True)
    caller_id = T.Unicode('"Learner" <5550100>').tag(sync=True)
    mic_muted = T.Bool(False).tag(sync=True)
    #: What the phone joins, in words ("bridge watch-room (mixing)"); empty when it dials a number.
    joins = T.Unicode("").tag(sync=True)

    def __init__(self, ari: "ARIClient", number: str = "9000", *, caller_id: str = '"Learner" <5550100>',
                 join: "Bridge | str | None" = None, app: str | None = None, patience: float = 60.0,
                 max_duration: float = 3600.0) -> None:
        super().__init__(ari, kind="phone", number=str(number), caller_id=caller_id)
        self.app = app or ari.app          # whose app a number that is not special reaches
        self.patience = patience
        #: The call ends by itself after this many seconds (so a kernel that was killed leaves no call behind).
        self.max_duration = max_duration
        self.join = ari.handle("Bridge", join) if isinstance(join, str) else join
        #: The phone's own channel in the lab (the Local channel's ;1 half, or the media channel when joined).
        self.channel: "Channel | None" = None
        self._tasks: list["Job"] = []          # dialling, and giving up on it (on the scheduler)
        self._give_up: "Job | None" = None
        self._dialling: Any = None             # the subscription to the phone channel's answer or end
        # The microphone's pace into Asterisk's queue (see _send_mic), and its figures.
        self.pacer = MicPacer()
        self._queue_ms: collections.deque = collections.deque(maxlen=3000)
        self._mic_gaps: collections.deque = collections.deque(maxlen=3000)
        self._last_mic = 0.0
        # The client's close (and a kernel restart) hangs the phone up.
        self._cancel_on_close = ari.on_close(self.close)
        if self.join is not None:
            raw = getattr(self.join, "raw", None) or {}
            if not raw.get("name"):
                with contextlib.suppress(Error):      # a bridge given by id: its name, if it has one
                    raw = self.ari.request("GET", f"/bridges/{self.join.id}") or {}
            self.joins = (f"bridge {raw['name']}" if raw.get("name") else f"bridge {self.join.id}") + (
                f" ({raw['bridge_type']})" if raw.get("bridge_type") else "")
        self.title = f"Phone: joins {self.joins}" if self.join else "Phone"
        self.status = (f"Press Join to enter {self.joins} (id {self.join.id})." if self.join
                       else f"Press Call. Numbers: {NUMBERS}.")

    # --- actions (the buttons, or code) ---------------------------------------------------------------
    def call(self, number: str | None = None) -> None:
        """Dial `number` (default: the number field), or join the bridge given as join=; returns at once."""
        with self._lock:
            if self.state in ("ringing", "live"):
                self.error = "Already in a call: hang up first."
                return
            if number is not None:
                self.number = str(number)
            self.error = self.page_error = ""
            self.state = "ringing"
            self.status = f"Joining {self.joins}..." if self.join else f"Calling {self.number}..."
            self._tasks = [self.scheduler.call_soon(self._place, name=f"the phone's call to {self.number}")]

    def _place(self) -> None:
        """Join the bridge, or originate the call (the scheduler's thread); its answer comes as an event."""
        try:
            if self.join is not None:
                stream = self.join.media()
                self.channel = stream.media_channel
                self._live(stream, f"Live: in {self.joins}. Talk.")
                return
            ident = f"kit-phone-{uuid.uuid4().hex[:12]}"
            self.ari.context.events.mark_internal(("channel", ident))      # the phone's own half: the kit's business
            self.channel = self.ari.handle("Channel", ident)
            self._give_up = self.scheduler.call_later(self.patience + 5, self._no_answer,
                                                      name=f"the phone's wait for {self.number}")
            self._tasks.append(self._give_up)
            self._dialling = self.channel.on(("StasisStart", "ChannelDestroyed"), self._on_dialled)
            self.ari.channels.originate(endpoint=f"Local/{self.number}@inbound/n", app=self.ari.app,
                                        channel_id=ident, caller_id=self.caller_id, formats=CALL_FORMATS,
                                        timeout=max(1, int(self.patience)),
                                        variables={"VICIFAST_APP": self.app,
                                                   "TIMEOUT(absolute)": str(int(self.max_duration))})
            if self.state != "ringing":       # hung up (or closed) while the request was on its way
                self._hangup_channel()
        except Exception as e:          # one line in the widget (a bug is logged in full too)
            self._failed(e)

    def _on_dialled(self, ev: "Event") -> None:
        """The phone's channel was answered (StasisStart) or ended (dispatcher thread): on to the scheduler."""
        self._stop_dialling()
        if self._give_up is not None:      # answered or ended: nothing to give up on any more
            self._give_up.close()
        self._tasks.append(self.scheduler.call_soon(lambda: self._answered(ev), name=f"the phone's call to {self.number}"))

    def _answered(self, ev: "Event") -> None:
        if self._closing.is_set() or self.state != "ringing":
            return
        if ev.type == "ChannelDestroyed":
            self._ended(f"{self.number} did not answer (hang-up cause {cause_text(ev.raw.get('cause'))})")
            return
        try:
            self._live(self._media(), f"Live: talking to {self.number}. Talk, and press keys.")
        except Exception as e:          # one line in the widget (a bug is logged in full too)
            self._failed(e)

    def _media(self) -> Any:
        """The call's audio through a two-party bridge of the phone's own.

        ``ch.media()`` alone builds a softmix bridge (it mixes every 20 ms, so a stream gets a frame every
        20 ms even from a silent call): measured through the echo, a steady 20 ms stream came back after
        60 ms (p50; p90 160 ms) that way, after 13 ms (p90 13 ms) through a plain two-party bridge, which
        passes each frame on as it comes. Frames then come only when the far end sends some: the page is
        sent silence when none came for a while (see _send_audio).
        """
        ident = f"kit-bridge-{uuid.uuid4().hex[:12]}"
        self.ari.context.events.mark_internal(("bridge", ident))
        self.ari.request("POST", f"/bridges/{ident}", type="mixing", name=f"kit phone {self.channel.id}")

        def destroy() -> None:
            with contextlib.suppress(Error):    # best effort: gone already, the lab down, or the client closed
                self.ari.request("DELETE", f"/bridges/{ident}")
        try:
            self.ari.request("POST", f"/bridges/{ident}/addChannel", channel=self.channel.id)
            stream = self.channel.media()       # joins the bridge the channel is in, and follows the call
        except BaseException:
            destroy()
            raise
        stream.on_close(destroy)
        return stream

    def _no_answer(self) -> None:
        """No answer and no end reported in time: give up."""
        if self.state == "ringing" and not self._closing.is_set():
            self._stop_dialling()
            self._ended(f"{self.number} did not answer within {self.patience + 5:g} s")

    def _live(self, stream: Any, status: str) -> None:
        """The call's audio is here: send it to the page, unless the phone was hung up meanwhile."""
        with self._lock:
            if self._closing.is_set() or self.state != "ringing":
                stream.close()
                return
            self._attach(stream, status)

    def _failed(self, e: BaseException) -> None:
        """One line in the widget, never a traceback (a bug in the kit is logged in full too)."""
        message = failure(e, "The call")
        if not self._closing.is_set():
            self.state = "ended"
            self.error = message
            self._hangup_channel()

    def _stop_dialling(self) -> None:
        sub, self._dialling = self._dialling, None
        if sub is not None:
            sub.unsubscribe()

    def press(self, digits: str) -> None:
        """Send DTMF digits into the call, as the keypad does."""
        if self.state != "live" or self.channel is None:
            self.error = "Not in a call: press Call first."
            return
        if self.join is not None:
            self.error = "The keypad works on calls, not in a joined bridge."
            return
        try:
            self.channel.send_dtmf(dtmf=str(digits))
        except ARIError as e:
            self.error = readable_error(e, "Sending DTMF")

    def hangup(self) -> None:
        """End the call (or leave the bridge)."""
        with self._lock:
            if self.state not in ("ringing", "live"):
                return
            self.state = "ended"
            self.status = "Hung up."
        self._stop_dialling()
        self._stop_stream()
        self._hangup_channel()

    def _hangup_channel(self) -> None:
        if self.channel is not None and self.join is None:
            with contextlib.suppress(Error):     # best effort: gone already, the lab down, or the client closed
                self.ari.channels.hangup(self.channel.id)

    def _ended(self, reason: str) -> None:
        super()._ended(reason)
        self._hangup_channel()

    # --- page -> kernel ------------------------------------------------------------------------------
    def _on_message(self, kind: str, content: dict, buffers: list) -> None:
        if kind == "mic":
            stream = self.stream
            if stream is not None and buffers and self.state == "live" and not stream.closed:
                try:
                    for buffer in buffers:                  # one 20 ms frame each
                        self._send_mic(stream, bytes(buffer))
                except StreamClosed:                        # the call ended since the check above
                    pass
        elif kind == "call":
            self.call(content.get("number") or None)
        elif kind == "hangup":
            self.hangup()
        elif kind == "dtmf":
            self.press(str(content.get("digit", ""))[:1])

    def _send_mic(self, stream: Any, pcm: bytes) -> None:
        """Send a microphone frame into the call, unless the pacer drops it to keep Asterisk's queue short."""
        now = time.monotonic()
        if self._last_mic:
            self._mic_gaps.append((now - self._last_mic) * 1000)
        self._last_mic = now
        db = level_db(pcm)
        wait = self.pacer.admit(len(pcm) / 2 / stream.rate, db, now)
        if wait is None:
            return
        self._queue_ms.append(wait * 1000)
        self._said.feed(db, time.time() * 1000)
        stream.send(pcm)

    @property
    def mic_dropped(self) -> int:
        """Microphone frames dropped to keep Asterisk's queue (and so the delay) short."""
        return self.pacer.dropped

    def _timings(self) -> dict:
        figures = super()._timings()
        figures.update(queue=percentiles(self._queue_ms, 0.5, 0.99), mic_gap=percentiles(self._mic_gaps, 0.99, 1.0),
                       mic_dropped=self.mic_dropped)
        return figures

    def close(self) -> None:
        """Hang up and remove everything this phone built in the lab."""
        self._closing.set()
        if self.state in ("ringing", "live"):
            self.hangup()
        self._stop_dialling()
        for task in list(self._tasks):
            task.close()
        self._cancel_on_close()
        super().close()
