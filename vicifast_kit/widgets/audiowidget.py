"""What the Listen and Phone widgets share: a call's audio carried to the page over the widget comm.

The page side is ``audiowidget.js`` (a plain ES module in this package, run by anywidget): it
plays 20 ms frames with Web Audio, shows a level meter, and for the Phone sends the microphone
and the keypad back. Here, a job on the client's widget scheduler reads the media stream every
``AUDIO_POLL`` s and sends each frame as a binary buffer; nothing else reads the stream.
``close()`` stops the job and removes what the widget built in the lab.

Both sides time each stage on the page's and the kernel's shared clock (one machine's wall clock, or
the AudioContext's for what the page alone does): the kernel's stages are published in ``timings``,
and the page puts them together with its own (``data-breakdown`` on the widget's element).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as T

from ..audio import level_db
from ..errors import StreamClosed
from .scheduler import AUDIO_POLL, Job, scheduler_for

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..media import MediaStream

log = logging.getLogger("vicifast_kit.widgets")
HERE = Path(__file__).parent
#: Seconds without a frame from the call after which the page is told the call is silent (and again each second):
#: a two-party bridge passes frames only when the far end sends some.
IDLE_AFTER = 1.0
LOUD_DB = -35.0          # a frame louder than this starts a sound (for the latency figures) ...
QUIET_DB = -45.0         # ... after at least 100 ms below this (the page uses the same)


class Onsets:
    """The times at which sounds start in a stream of 20 ms frames (a level crossing up after 100 ms of quiet)."""

    def __init__(self) -> None:
        self.quiet_for = 0.0
        self.times: collections.deque = collections.deque(maxlen=200)

    def feed(self, db: float, at: float) -> None:
        """One frame of level `db` at time `at` (ms)."""
        if db > LOUD_DB and self.quiet_for >= 100:
            self.times.append(at)
        self.quiet_for = self.quiet_for + 20 if db < QUIET_DB else 0.0

    def delays_to(self, later: "Onsets") -> list[float]:
        """For each of these onsets, ms to the first of `later`'s within a second after it."""
        out = []
        theirs = list(later.times)
        for t in list(self.times):
            back = next((e for e in theirs if t <= e < t + 1000), None)
            if back is not None:
                out.append(back - t)
        return out


def percentiles(values, *ps: float) -> list[float | None]:
    """The given percentiles (0..1) of values, rounded to 0.1 (None for none)."""
    s = sorted(values)
    return [round(s[min(len(s) - 1, int(len(s) * p))], 1) if s else None for p in ps]


class AudioWidget(anywidget.AnyWidget):
    """Base of Listen and Phone: plays a media stream in the page; ``status``/``error`` say what happens."""

    _esm = HERE / "audiowidget.js"
    _css = HERE / "audiowidget.css"

    kind = T.Unicode("listen").tag(sync=True)
    title = T.Unicode("").tag(sync=True)
    #: idle, ringing, live or ended.
    state = T.Unicode("idle").tag(sync=True)
    #: One line describing what is happening now.
    status = T.Unicode("").tag(sync=True)
    #: One line when something went wrong (never a traceback); page_error is the page's own.
    error = T.Unicode("").tag(sync=True)
    page_error = T.Unicode("").tag(sync=True)
    rate = T.Int(16000).tag(sync=True)
    muted = T.Bool(False).tag(sync=True)
    volume = T.Float(1.0).tag(sync=True)
    #: Median ms the page's microphone frames take to reach the kernel (updated every second of audio).
    to_kernel_ms_p50 = T.Float(-1.0).tag(sync=True)
    #: The kernel's stages of the audio's trip, ms as [p50, p99] (or [p99, max] for gaps), about once a second.
    timings = T.Dict().tag(sync=True)

    def __init__(self, ari: "ARIClient", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ari = ari
        #: The client's widget scheduler: it sends the audio and runs this widget's tasks.
        self.scheduler = scheduler_for(ari)
        self.stream: "MediaStream | None" = None
        self._audio: Job | None = None
        self._closing = threading.Event()
        self._lock = threading.RLock()
        #: What the page reported last (frames played, underruns, level, peak frequency, latency).
        self.page_stats: dict = {}
        #: Frames sent to the page.
        self.frames_out = 0
        #: ms each of the page's last microphone frames took to reach the kernel (page and kernel share a clock).
        self.to_kernel_ms: collections.deque = collections.deque(maxlen=3000)
        # The kernel's own figures: gaps between frames sent to the page, how late the audio job ran,
        # and the onsets of what came from the call (the Phone adds those of what it sent).
        self._send_gaps: collections.deque = collections.deque(maxlen=3000)
        self._poll_late: collections.deque = collections.deque(maxlen=3000)
        self._last_sent = 0.0
        self._last_idle = 0.0
        self._last_poll = 0.0
        self._heard = Onsets()
        self._said = Onsets()
        self.on_msg(self._on_page_message)

    # --- kernel -> page ------------------------------------------------------------------------
    def _attach(self, stream: "MediaStream", status: str) -> None:
        """Start sending `stream` to the page (a job on the scheduler reads it)."""
        with self._lock:
            self.stream = stream
            self.rate = stream.rate
            self.state = "live"
            self.status = status
            self.error = ""
            self._audio = self.scheduler.every(AUDIO_POLL, lambda: self._send_audio(stream),
                                               name=f"the {self.kind} widget's audio [{stream.name}]")

    def _send_audio(self, stream: "MediaStream") -> bool:
        """Send the frames that arrived since the last run (the scheduler's thread); False once the stream
        ended (said in the widget), which ends the job."""
        if self._closing.is_set():
            return False
        ended = stream.closed           # read first: what came before the end is sent below
        now = time.monotonic()
        if self._last_poll:             # the job runs on a grid of AUDIO_POLL: how late was this run?
            due = (int(self._last_poll / AUDIO_POLL) + 1) * AUDIO_POLL
            self._poll_late.append((now - due) * 1000)
        self._last_poll = now
        try:
            for frame in stream.frames(timeout=0):
                at = time.time() * 1000
                self._heard.feed(level_db(frame), at)
                self.send({"t": "a", "at": at}, buffers=[frame])
                self.frames_out += 1
                sent = time.monotonic()
                if self._last_sent:
                    self._send_gaps.append((sent - self._last_sent) * 1000)
                self._last_sent = sent
                if self.frames_out % 50 == 0:
                    self.timings = self._timings()
            if self._last_sent and now - max(self._last_sent, self._last_idle) >= IDLE_AFTER:
                self._last_idle = now           # the call sends nothing (not a late frame): the page says so
                self.send({"t": "idle", "at": time.time() * 1000})
        except StreamClosed:            # closed by close() or hangup() meanwhile
            return False
        except Exception as e:          # the page must say why the sound stopped
            log.exception("The %s widget could not send its audio", self.kind)
            self.error = f"The audio stopped: {type(e).__name__}: {e}"[:200]
            ended = True
        if ended and not self._closing.is_set() and stream is self.stream:
            self._ended(stream.reason or "the audio ended")
        return not ended

    def _timings(self) -> dict:
        """The kernel's stages so far (ms): [p50, p99], or [p99, max] for gaps."""
        return {"to_kernel": percentiles(self.to_kernel_ms, 0.5, 0.99),
                "poll_late": percentiles(self._poll_late, 0.5, 0.99),
                "send_gap": percentiles(self._send_gaps, 0.99, 1.0),
                "lab": percentiles(self._said.delays_to(self._heard), 0.5, 0.99)}

    def _ended(self, reason: str) -> None:
        """The call or the stream ended: say so (subclasses add their own clean-up)."""
        self.state = "ended"
        self.status = f"Ended: {reason}."

    def flush(self, timeout: float = 5.0) -> None:
        """Return once the audio received so far has been sent to the page and the tasks due now have run
        (WaitTimeout after timeout s)."""
        __tracebackhide__ = True
        job = self._audio
        if job is not None:
            job.mark()                  # one more read of the stream, now
        self.scheduler.flush(timeout)

    # --- page -> kernel ------------------------------------------------------------------------
    def _on_page_message(self, _widget: Any, content: dict, buffers: list) -> None:
        kind = content.get("t")
        if kind == "stats":
            self.page_stats = {k: v for k, v in content.items() if k != "t"}
        else:
            if "at" in content:
                self.to_kernel_ms.append(time.time() * 1000 - content["at"])
                if len(self.to_kernel_ms) % 50 == 0:
                    trips = sorted(self.to_kernel_ms)
                    self.to_kernel_ms_p50 = round(trips[len(trips) // 2], 1)
            self._on_message(kind, content, buffers)

    def _on_message(self, kind: str, content: dict, buffers: list) -> None:
        """A message from the page (subclasses: call, hangup, dtmf, mic)."""

    # --- lifetime ------------------------------------------------------------------------------
    def _stop_stream(self) -> None:
        """Stop sending (waits for a send in progress) and close the stream (it removes what it built)."""
        job, stream = self._audio, self.stream
        if job is not None:
            job.close()
        if stream is not None:
            stream.close()

    def close(self) -> None:
        """Stop the audio and remove what this widget built in the lab (its channels, bridge, job)."""
        self._closing.set()
        self._stop_stream()
        if self.state in ("live", "ringing"):
            self.state = "ended"
            self.status = "Closed."
        super().close()

    def snapshot(self) -> dict:
        """What the widget shows, as plain data (state, status, error, frames sent, the page's figures)."""
        trips = sorted(self.to_kernel_ms)
        return {"kind": self.kind, "title": self.title, "state": self.state, "status": self.status,
                "error": self.error or self.page_error, "frames_out": self.frames_out, "page": dict(self.page_stats),
                "to_kernel_ms_p50": trips[len(trips) // 2] if trips else None, "timings": self._timings()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r} {self.state}>"
