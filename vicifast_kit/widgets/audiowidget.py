"""What the Listen and Phone widgets share: a call's audio carried to the page over the widget comm.

The page side is ``audiowidget.js`` (a plain ES module in this package, run by anywidget): it
plays 20 ms frames with Web Audio, shows a level meter, and for the Phone sends the microphone
and the keypad back. Here, a job on the client's widget scheduler reads the media stream every
``AUDIO_POLL`` s and sends each frame as a binary buffer (Listen); the Phone has an audio thread of
its own (``vicifast-audio[...]``) that waits on the stream and sends each frame the moment it comes
(it reads the websocket itself, and the stream's reader thread stands by). Nothing else reads the
stream; what changes the widget's traits (its figures, the call's end) runs on the scheduler.
``close()`` ends the stream (and the thread or job) and removes what the widget built in the lab.

Why the Phone has a thread, measured through the echo: on the scheduler's 10 ms job a frame waited
5 ms on average and 10 ms at most, and the kernel sent frames that Asterisk sent 20 ms apart with
gaps of 10, 20 and 30 ms (p99 30 ms); waiting on the stream, it sends them as they come (p99 22 ms).

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

    #: The page's module: audiowidget.js, with focus.js before it (a click on a button gives the keyboard back).
    _esm = (HERE / "focus.js").read_text(encoding="utf-8") + (HERE / "audiowidget.js").read_text(encoding="utf-8")
    _css = HERE / "audiowidget.css"

    #: Send the audio from a thread of the widget's own as frames come (the Phone), or from a job on the
    #: client's widget scheduler every AUDIO_POLL s (Listen: one thread for all the client's widgets).
    _audio_thread = False

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
        self._audio: "threading.Thread | Job | None" = None
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
        self._last_sent = 0.0
        self._last_idle = 0.0
        self._heard = Onsets()
        self._said = Onsets()
        self.on_msg(self._on_page_message)

    # --- kernel -> page ------------------------------------------------------------------------
    def _attach(self, stream: "MediaStream", status: str) -> None:
        """Start sending `stream` to the page (from a thread of its own, or a job on the scheduler)."""
        with self._lock:
            self.stream = stream
            self.rate = stream.rate
            self.state = "live"
            self.status = status
            self.error = ""
            if self._audio_thread:
                self._audio = threading.Thread(target=self._pump_audio, args=(stream,), daemon=True,
                                               name=f"vicifast-audio[{self.kind}:{stream.name}]")
                self._audio.start()
            else:
                self._audio = self.scheduler.every(AUDIO_POLL, lambda: self._poll_audio(stream),
                                                   name=f"the {self.kind} widget's audio [{stream.name}]")

    def _forward(self, frame: bytes) -> None:
        """Send one frame to the page (and keep the figures)."""
        at = time.time() * 1000
        self._heard.feed(level_db(frame), at)
        self.send({"t": "a", "at": at}, buffers=[frame])
        self.frames_out += 1
        sent = time.monotonic()
        if self._last_sent:
            self._send_gaps.append((sent - self._last_sent) * 1000)
        self._last_sent = sent

    def _pump_audio(self, stream: "MediaStream") -> None:
        """The audio thread: send each frame to the page as it comes, until the stream ends (said in the widget)."""
        error = ""
        try:
            while not self._closing.is_set() and not stream.closed:
                for frame in stream.frames(timeout=IDLE_AFTER):
                    self._forward(frame)
                    if self.frames_out % 50 == 0:
                        self._on_scheduler(self._publish_timings, "figures")
                if self._last_sent and not stream.closed:   # nothing for IDLE_AFTER s: the call is silent
                    self.send({"t": "idle", "at": time.time() * 1000})
        except StreamClosed:            # closed by close() or hangup() meanwhile
            return
        except Exception as e:          # the page must say why the sound stopped
            log.exception("The %s widget could not send its audio", self.kind)
            error = f"The audio stopped: {type(e).__name__}: {e}"[:200]
        if not self._closing.is_set() and stream is self.stream:
            self._on_scheduler(lambda: self._audio_ended(stream, error), "end")

    def _poll_audio(self, stream: "MediaStream") -> bool:
        """The scheduler's job: send the frames that came since the last run; False once the stream ended."""
        if self._closing.is_set():
            return False
        ended = stream.closed           # read first: what came before the end is sent below
        error = ""
        try:
            for frame in stream.frames(timeout=0):
                self._forward(frame)
                if self.frames_out % 50 == 0:
                    self._publish_timings()
        except StreamClosed:            # closed by close() or hangup() meanwhile
            return False
        except Exception as e:          # the page must say why the sound stopped
            log.exception("The %s widget could not send its audio", self.kind)
            error = f"The audio stopped: {type(e).__name__}: {e}"[:200]
            ended = True
        if ended:
            self._audio_ended(stream, error)
        return not ended

    def _on_scheduler(self, fn: Any, what: str) -> None:
        """Run fn on the widget scheduler (where the widgets' traits change), unless it has closed."""
        try:
            self.scheduler.call_soon(fn, name=f"the {self.kind} widget's {what}")
        except RuntimeError:            # the client closed: nothing to show any more
            pass

    def _publish_timings(self) -> None:
        self.timings = self._timings()

    def _audio_ended(self, stream: "MediaStream", error: str) -> None:
        if error:
            self.error = error
        if not self._closing.is_set() and stream is self.stream and self.state == "live":
            self._ended(stream.reason or "the audio ended")

    def _timings(self) -> dict:
        """The kernel's stages so far (ms): [p50, p99], or [p99, max] for gaps."""
        return {"to_kernel": percentiles(self.to_kernel_ms, 0.5, 0.99),
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
        audio, stream, deadline = self._audio, self.stream, time.monotonic() + timeout
        if isinstance(audio, Job):
            audio.mark()                # one more read of the stream, now
        else:                           # the audio thread sends what came as it comes: only a moment
            while stream is not None and not stream.closed and stream.buffered > 0 and time.monotonic() < deadline:
                self._closing.wait(0.005)
        self.scheduler.flush(max(0.0, deadline - time.monotonic()))

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
        audio, stream = self._audio, self.stream
        if isinstance(audio, Job):
            audio.close()               # waits for a run in progress
        if stream is not None:
            stream.close()              # (ends the audio thread's wait for frames)
        if isinstance(audio, threading.Thread) and audio is not threading.current_thread():
            audio.join(5)

    def close(self) -> None:
        """Stop the audio and remove what this widget built in the lab (its channels, bridge, thread)."""
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

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget for Jupyter, with a line saying what it is (text/html) for views where no widget runs."""
        data = super()._repr_mimebundle_(**kwargs)
        if isinstance(data, dict):
            data["text/html"] = self.still()
        elif isinstance(data, tuple) and data and isinstance(data[0], dict):
            data[0]["text/html"] = self.still()
        return data

    def still(self) -> str:
        """What the widget is, as static HTML (shown where no widget runs: GitHub, nbviewer)."""
        import html
        what = {"listen": "Here, in JupyterLab, you hear this call live, with a level meter, mute and volume.",
                "phone": "Here, in JupyterLab, your browser is a phone: press the button, talk with your microphone, "
                         "hear the call in your speaker."}.get(self.kind, "")
        return ('<div style="font:13px system-ui,sans-serif;border:1px solid #d0d7de;border-radius:8px;'
                'padding:8px 10px;max-width:420px">'
                f'<b>{html.escape(self.title or self.kind)}</b><br><span style="color:#57606a">{what}</span></div>')
