"""One WebSocket media connection (Asterisk 22's chan_websocket), as a stream of call audio.

Asterisk sends the call's audio as binary websocket messages and a few text messages
(``MEDIA_START ...``, ``MEDIA_XOFF``, ``MEDIA_XON``, ``MEDIA_MARK_PROCESSED id``, ``DTMF_END ...``);
what we send is queued by Asterisk and played at the call's pace, 20 ms a frame. Here:

- a reader thread that only reads and files: frames go into a bounded buffer (a consumer that
  falls behind loses the oldest audio, counted in ``dropped`` and logged, never blocking Asterisk);
- a writer thread, started by the first ``send``, that passes your audio on in order and stops
  while Asterisk says its queue is full (XOFF) until it says XON;
- ``read``/``frames`` for you, in slin (16-bit little-endian mono) at ``rate`` whatever the wire
  format is.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import websocket

from .. import audio as _audio
from ..errors import StreamClosed

log = logging.getLogger("vicifast_kit.media")

_END = object()               # put in a stream's inbox when it ends
PTIME = 0.020                 # seconds of audio in one frame (Asterisk's default for these formats)
#: The formats the kit's own calls offer (originate's ``formats``): wideband first, then what every phone has.
CALL_FORMATS = "slin16,ulaw"
_SEND_CHUNK_FRAMES = 10       # frames per websocket message we send (200 ms)


@dataclass(frozen=True)
class WireFormat:
    """How audio travels on the media websocket."""

    name: str           # the Asterisk format name (externalMedia's format=)
    rate: int           # samples per second
    width: int          # bytes per sample on the wire

    @property
    def frame_bytes(self) -> int:
        """Bytes of one 20 ms frame on the wire."""
        return int(self.rate * PTIME) * self.width

    def to_slin(self, data: bytes) -> bytes:
        """Wire bytes -> slin."""
        if self.name == "ulaw":
            return _audio.ulaw_to_slin(data)
        if self.name == "alaw":
            return _audio.alaw_to_slin(data)
        return data

    def from_slin(self, pcm: bytes) -> bytes:
        """slin -> wire bytes."""
        if self.name == "ulaw":
            return _audio.slin_to_ulaw(pcm)
        if self.name == "alaw":
            return _audio.slin_to_alaw(pcm)
        return pcm


#: The formats a stream can use: audio is always read and sent as slin at the format's rate.
FORMATS: dict[str, WireFormat] = {
    "slin16": WireFormat("slin16", 16000, 2),
    "slin": WireFormat("slin", 8000, 2),
    "ulaw": WireFormat("ulaw", 8000, 1),
    "alaw": WireFormat("alaw", 8000, 1),
}


def wire_format(name: str) -> WireFormat:
    """The WireFormat of a format name (ValueError naming the supported ones)."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unsupported media format {name!r}: use one of {', '.join(FORMATS)} "
                         "(audio is read and sent as 16-bit slin at the format's rate)") from None


def _parse_control(text: str) -> tuple[str, dict[str, str], str]:
    """A plain-text control message: (event, {name: value}, the rest as one string)."""
    event, _, rest = text.strip().partition(" ")
    fields = {}
    for part in rest.split():
        name, sep, value = part.partition(":")
        if sep:
            fields[name] = value
    return event, fields, rest.strip()


class MediaStream:
    """Live audio of a call: ``read()``, ``frames()``, ``send()``, ``flush()``; ``close()`` ends it.

    Made by ``ch.media()`` (you are a party of the call) or ``ch.listen()`` (you only listen).
    Audio is slin: signed 16-bit little-endian mono at ``rate`` samples per second.
    """

    def __init__(self, url: str, fmt: WireFormat, *, name: str, can_send: bool = True,
                 buffer_seconds: float = 10.0, connect_timeout: float = 5.0) -> None:
        self.format = fmt.name
        self.rate = fmt.rate
        self.name = name
        self._fmt = fmt
        self._can_send = can_send
        self._max_chunks = max(1, int(buffer_seconds / PTIME))
        # Received audio: the reader puts, the consumer gets (a C-level queue: the hand-off between the
        # two threads is most of what a stream costs); _END is put last when the stream ends.
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = b""         # part of a message the consumer has not used yet (consumer side only)
        self._state = threading.Lock()   # guards _ended, _closed_by_you and reason
        self._ended = False
        self._closed_by_you = False
        self.reason = ""
        #: What the MEDIA_START message said (format, optimal_frame_size, ptime, channel, ...).
        self.media_start: dict[str, str] = {}
        self._started = threading.Event()
        #: Frames received, frames dropped because the reader fell behind, frames sent.
        self.frames_received = 0
        self.dropped = 0
        self.frames_sent = 0
        #: Digits Asterisk reported on the media channel (DTMF_END), oldest first.
        self.dtmf: list[str] = []
        self.errors: list[str] = []
        self._outbox: collections.deque = collections.deque()
        self._live_until = 0.0       # when what send_live() queued will have been played (monotonic)
        #: Frames send_live() dropped to keep a live source's delay short.
        self.live_dropped = 0
        self._out_cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._xoff = False
        self.xoff_count = 0
        self._marks: dict[str, threading.Event] = {}
        self._mark_ids = itertools.count(1)
        self._writer: threading.Thread | None = None
        self._teardown: list[Callable[[], None]] = []
        self._close_lock = threading.Lock()
        self._torn_down = False
        try:
            self._ws = websocket.create_connection(url, subprotocols=["media"], timeout=connect_timeout,
                                                   enable_multithread=True)
        except websocket.WebSocketBadStatusException as e:
            raise StreamClosed(f"Asterisk refused the media websocket ({e.status_code}): the media channel "
                               "is gone or already connected") from None
        except (OSError, websocket.WebSocketException) as e:
            raise StreamClosed(f"Could not open the media websocket ({type(e).__name__}: {e})") from None
        self._ws.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name=f"vicifast-media-reader[{name}]",
                                        daemon=True)
        self._reader.start()

    # --- reader thread: only reads and files -------------------------------------------
    def _read_loop(self) -> None:
        ws = self._ws
        why = "the media channel hung up"
        while True:
            try:
                opcode, data = ws.recv_data()
            except (websocket.WebSocketException, OSError, ValueError) as e:    # closed, or shut down by close()
                log.debug("Media stream %s: the websocket ended (%s)", self.name, type(e).__name__)
                break
            if opcode == websocket.ABNF.OPCODE_BINARY:
                self._file(data)
            elif opcode == websocket.ABNF.OPCODE_TEXT:
                self._on_text(data.decode("utf-8", "replace"))
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        self._end(why)

    def _file(self, data: bytes) -> None:
        inbox = self._inbox
        inbox.put(data)
        self.frames_received += 1 if len(data) == self._fmt.frame_bytes else max(1, len(data) // self._fmt.frame_bytes)
        if inbox.qsize() > self._max_chunks:
            lost = 0
            while inbox.qsize() > self._max_chunks:
                try:
                    old = inbox.get_nowait()
                except queue.Empty:
                    break
                lost += max(1, len(old) // self._fmt.frame_bytes)
            before = self.dropped
            self.dropped += lost
            if before == 0 or before // 500 != self.dropped // 500:
                log.warning("Media stream %s: the reader fell behind; dropped %d frames (%.1f s) so far "
                            "(read faster, or pass a larger buffer_seconds)", self.name, self.dropped,
                            self.dropped * PTIME)

    def _on_text(self, text: str) -> None:
        event, fields, rest = _parse_control(text)
        if event == "MEDIA_START":
            self.media_start = fields
            self._started.set()
        elif event in ("MEDIA_XOFF", "MEDIA_XON"):
            with self._out_cond:
                self._xoff = event == "MEDIA_XOFF"
                self.xoff_count += self._xoff
                self._out_cond.notify_all()
        elif event == "MEDIA_MARK_PROCESSED":
            done = self._marks.pop(rest, None)
            if done is not None:
                done.set()
        elif event == "DTMF_END":
            self.dtmf.append(fields.get("digit", ""))
        elif event == "ERROR":
            self.errors.append(rest)
            log.warning("Media stream %s: Asterisk said %s", self.name, rest)
        else:
            log.debug("Media stream %s: %s", self.name, text)

    def _end(self, reason: str) -> None:
        with self._state:
            first = not self._ended
            if first:
                self._ended = True
                self.reason = self.reason or reason
        if first:
            self._inbox.put(_END)
        with self._out_cond:
            self._out_cond.notify_all()
        for done in list(self._marks.values()):
            done.set()

    # --- reading -------------------------------------------------------------------------
    def _check_open(self, doing: str) -> None:
        if self._closed_by_you:
            raise StreamClosed(f"Cannot {doing}: this media stream was closed ({self.reason}). "
                               "Open a new one with ch.media() or ch.listen().")

    def _next(self, timeout: float | None) -> bytes | None:
        """The next received message (None when the stream has ended or timeout passed); consumer side."""
        try:
            item = self._inbox.get(timeout=timeout) if timeout is None or timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            self._inbox.put(_END)       # every later read sees the end too
            return None
        return item

    def read(self, seconds: float = 1.0, timeout: float | None = None) -> bytes:
        """The next `seconds` of call audio (slin); less only if the call ends or `timeout` (default seconds*2+2) passes."""
        self._check_open("read")
        width = self._fmt.width
        need = int(round(seconds * self.rate)) * width
        deadline = time.monotonic() + (seconds * 2 + 2 if timeout is None else timeout)
        out = bytearray(self._pending)
        while len(out) < need:
            data = self._next(deadline - time.monotonic())
            if data is None:
                break
            out += data
        self._pending = bytes(out[need:])
        del out[need:]
        return self._fmt.to_slin(bytes(out))

    def frames(self, timeout: float | None = None) -> Iterator[bytes]:
        """20 ms frames of call audio (slin) as they arrive, until the call or the stream ends (or `timeout` s without one)."""
        self._check_open("read frames")
        size = self._fmt.frame_bytes
        to_slin = self._fmt.to_slin
        while not self._closed_by_you:
            pending = self._pending
            if len(pending) >= size:
                self._pending = pending[size:]
                yield to_slin(pending[:size])
                continue
            data = self._next(timeout)
            if data is None:
                return
            if not pending and len(data) == size:       # the usual case: one message, one frame
                yield to_slin(data)
            else:
                self._pending = pending + data

    @property
    def buffered(self) -> float:
        """Seconds of received audio waiting to be read (about)."""
        frames = max(0, self._inbox.qsize() - self._ended)
        return (frames * self._fmt.frame_bytes + len(self._pending)) / self._fmt.width / self.rate

    # --- sending ---------------------------------------------------------------------------
    def send(self, pcm: bytes) -> None:
        """Queue slin audio to play into the call (padded to whole 20 ms frames); returns at once."""
        self._check_open("send")
        if not self._can_send:
            raise StreamClosed("This is a listen-only tap (ch.listen()): to speak into the call, use ch.media().")
        if self._ended:
            raise StreamClosed(f"Cannot send: the call audio has ended ({self.reason}).")
        if len(pcm) % 2:
            raise ValueError(f"slin audio has 2 bytes per sample; got an odd length ({len(pcm)} bytes)")
        wire = self._fmt.from_slin(bytes(pcm))
        short = -len(wire) % self._fmt.frame_bytes
        if short:
            wire += (b"\xff" if self._fmt.name == "ulaw" else b"\xd5" if self._fmt.name == "alaw"
                     else b"\x00") * short
        if not wire:
            return
        self._enqueue(wire)

    def send_live(self, pcm: bytes, max_lead: float = 0.06) -> bool:
        """Send audio from a live source (a microphone) keeping at most max_lead s waiting in Asterisk; False if dropped.

        A live source runs on its own clock, which drifts from Asterisk's and arrives in bursts: sent
        with send(), what waits in Asterisk's queue (and so the delay) only grows. Here a frame that
        would make the wait longer than max_lead is dropped instead (counted in live_dropped).
        """
        now = time.monotonic()
        if self._live_until < now:          # all sent so far has been played: the queue ran dry
            self._live_until = now
        if self._live_until - now > max_lead:
            self.live_dropped += 1
            return False
        self._live_until += len(pcm) / 2 / self.rate
        self.send(pcm)
        return True

    def _enqueue(self, item: bytes | str) -> None:
        with self._out_cond:
            self._outbox.append(item)
            self._out_cond.notify_all()
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                                name=f"vicifast-media-writer[{self.name}]")
                self._writer.start()

    def _write_loop(self) -> None:
        chunk_bytes = self._fmt.frame_bytes * _SEND_CHUNK_FRAMES
        while True:
            with self._out_cond:
                while (not self._outbox or self._xoff) and not self._ended:
                    self._out_cond.wait()
                if self._ended:
                    return
                item = self._outbox.popleft()
                if isinstance(item, bytes) and len(item) > chunk_bytes:
                    self._outbox.appendleft(item[chunk_bytes:])
                    item = item[:chunk_bytes]
                self._send_lock.acquire()   # taken before the outbox lock is let go: flush() waits for it
            try:
                if isinstance(item, bytes):
                    self._ws.send_binary(item)
                    self.frames_sent += len(item) // self._fmt.frame_bytes
                else:
                    self._ws.send(item)
            except (websocket.WebSocketException, OSError) as e:
                log.debug("Media stream %s: send failed (%s)", self.name, type(e).__name__)
                self._end("the media websocket closed")
                return
            finally:
                self._send_lock.release()

    def _command(self, text: str) -> None:
        with self._send_lock:
            try:
                self._ws.send(text)
            except (websocket.WebSocketException, OSError) as e:
                raise StreamClosed(f"Cannot send {text.split()[0]}: the media websocket is closed ({type(e).__name__})") from None

    def flush(self) -> None:
        """Drop the audio you sent that has not been played yet (barge-in: the caller talks over a prompt)."""
        self._check_open("flush")
        with self._out_cond:
            dropped = [i for i in self._outbox if isinstance(i, str)]
            self._outbox.clear()
            self._send_lock.acquire()       # a chunk being written goes out first, then FLUSH drops it
        try:
            if not self._ended:
                self._ws.send("FLUSH_MEDIA")
        except (websocket.WebSocketException, OSError):     # the stream is ending: nothing left to drop
            pass
        finally:
            self._send_lock.release()
        for text in dropped:                # marks still waiting: they will never be played
            done = self._marks.pop(text.partition(" ")[2], None)
            if done is not None:
                done.set()

    def wait_played(self, timeout: float = 60.0) -> bool:
        """Block until everything sent so far has been played to the call; False if `timeout` passed first."""
        self._check_open("wait")
        if self._ended:
            return False
        mark = f"kit-{next(self._mark_ids)}"
        done = self._marks[mark] = threading.Event()
        self._enqueue(f"MARK_MEDIA {mark}")
        finished = done.wait(timeout)
        self._marks.pop(mark, None)
        return finished and not self._ended

    # --- lifetime --------------------------------------------------------------------------
    def wait_started(self, timeout: float = 10.0) -> bool:
        """Block until Asterisk's MEDIA_START arrived (the audio flows; ``media_start`` says how); False after timeout."""
        return self._started.wait(timeout)

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run fn when the stream closes or ends (after the websocket): the wiring tears down what it built there."""
        self._teardown.append(fn)

    @property
    def closed(self) -> bool:
        """True once the stream has ended: closed by you, or the call (or its media channel) ended."""
        return self._ended

    def end(self, reason: str) -> None:
        """End the stream because the call ended (reason says why); what was received can still be read."""
        with self._state:
            if not self._ended:
                self.reason = reason
        self._shutdown()

    def close(self) -> None:
        """Stop the audio and remove what was built for it in Asterisk (channels, bridge); safe to call twice."""
        with self._state:
            if not self._ended:
                self.reason = "closed by you"
            self._closed_by_you = True
        self._shutdown()

    def _shutdown(self) -> None:
        with self._close_lock:
            if self._torn_down:
                return
            self._torn_down = True
            self._end(self.reason or "closed")
            me = threading.current_thread()
            try:                            # a close frame: Asterisk hangs the media channel up normally
                with self._send_lock:
                    self._ws.send_close()
            except Exception:               # best effort: the websocket may be broken already
                log.debug("Media stream %s: no close frame sent", self.name, exc_info=True)
            if self._reader is not me and self._reader.is_alive():
                self._reader.join(1.0)
            try:
                if self._ws.sock is not None:
                    self._ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._ws.shutdown()
            me = threading.current_thread()
            for thread in (self._reader, self._writer):
                if thread is not None and thread is not me and thread.is_alive():
                    thread.join(5)
            for fn in self._teardown:
                try:
                    fn()
                except Exception:
                    log.exception("Media stream %s: tearing down failed", self.name)

    def __enter__(self) -> "MediaStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"ended: {self.reason}" if self._ended else "open"
        return (f"<MediaStream {self.name} {self.format} {self.rate} Hz {state}, "
                f"{self.frames_received} frames in, {self.frames_sent} out, {self.dropped} dropped>")
