"""What the Listen and Phone widgets share: a call's audio carried to the page over the widget comm.

The page side is ``audiowidget.js`` (a plain ES module in this package, run by anywidget): it
plays 20 ms frames with Web Audio, shows a level meter, and for the Phone sends the microphone
and the keypad back. Here, one pump thread per widget reads the media stream and sends each frame
as a binary buffer; nothing else touches the stream. ``close()`` stops the thread and removes
what the widget built in the lab.
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

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..media import MediaStream

log = logging.getLogger("vicifast_kit.widgets")
HERE = Path(__file__).parent


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

    def __init__(self, ari: "ARIClient", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ari = ari
        self.stream: "MediaStream | None" = None
        self._pump: threading.Thread | None = None
        self._closing = threading.Event()
        self._lock = threading.RLock()
        #: What the page reported last (frames played, underruns, level, peak frequency, latency).
        self.page_stats: dict = {}
        #: Frames sent to the page.
        self.frames_out = 0
        #: ms each of the page's last microphone frames took to reach the kernel (page and kernel share a clock).
        self.to_kernel_ms: collections.deque = collections.deque(maxlen=3000)
        self.on_msg(self._on_page_message)

    # --- kernel -> page ------------------------------------------------------------------------
    def _attach(self, stream: "MediaStream", status: str) -> None:
        """Start sending `stream` to the page (on a pump thread of this widget)."""
        with self._lock:
            self.stream = stream
            self.rate = stream.rate
            self.state = "live"
            self.status = status
            self.error = ""
            self._pump = threading.Thread(target=self._pump_audio, args=(stream,), daemon=True,
                                          name=f"vicifast-{self.kind}-pump[{stream.name}]")
            self._pump.start()

    def _pump_audio(self, stream: "MediaStream") -> None:
        try:
            for frame in stream.frames():
                if self._closing.is_set():
                    break
                self.send({"t": "a", "at": time.time() * 1000}, buffers=[frame])
                self.frames_out += 1
        except Exception as e:      # the page must say why the sound stopped
            log.exception("The %s widget's audio pump failed", self.kind)
            self.error = f"The audio stopped: {type(e).__name__}: {e}"[:200]
        if not self._closing.is_set():
            self._ended(stream.reason or "the audio ended")

    def _ended(self, reason: str) -> None:
        """The call or the stream ended: say so (subclasses add their own clean-up)."""
        self.state = "ended"
        self.status = f"Ended: {reason}."

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
        stream, pump = self.stream, self._pump
        if stream is not None:
            stream.close()
        if pump is not None and pump is not threading.current_thread():
            pump.join(5)

    def close(self) -> None:
        """Stop the audio and remove what this widget built in the lab (its channels, bridge, thread)."""
        self._closing.set()
        with self._lock:
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
                "to_kernel_ms_p50": trips[len(trips) // 2] if trips else None}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r} {self.state}>"
