"""One WebSocket media connection (Asterisk 22's chan_websocket), as a stream of call audio.

Asterisk sends the call's audio as binary websocket messages and a few control messages
(``MEDIA_START``, ``MEDIA_XOFF``, ``MEDIA_XON``, ``MEDIA_MARK_PROCESSED``, ``DTMF_END``, ``ERROR``),
in one of two formats: JSON objects (``{"event": "MEDIA_START", ...}``; Asterisk 20.18+, 22.8+,
23.2+, asked for with the channel option ``f(json)``) or the older plain text
(``MEDIA_START connection_id:... format:slin16 ...``). The stream reads whichever comes and answers
in the same. What we send is queued by Asterisk and played at the call's pace, 20 ms a frame. Here:

- a reader thread that only reads and files: frames go into a bounded buffer (a consumer that
  falls behind loses the oldest audio, counted in ``dropped`` and logged, never blocking Asterisk);
  while a consumer waits in ``read``/``frames`` it reads the websocket itself (one reader at a
  time, under a lock), so a frame is not handed from thread to thread; the reader thread takes the
  websocket back as soon as that consumer stays away or falls behind;
- a writer thread, started by the first ``send``, that passes your audio on in order and stops
  while Asterisk says its queue is full (XOFF) until it says XON;
- ``read``/``frames`` for you, in slin (16-bit little-endian mono) at ``rate`` whatever the wire
  format is;
- ``mark(name)``/``wait_played()``: ``MARK_MEDIA`` after what was sent, "played" when Asterisk
  answers ``MEDIA_MARK_PROCESSED`` (on servers older than that, an estimate from the 20 ms clock).
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import websocket

try:        # how much waits in the socket (FIONREAD); without it (Windows) consumers never read it themselves
    import fcntl
    import termios
except ImportError:     # pragma: no cover
    fcntl = termios = None

from .. import audio as _audio
from ..errors import StreamClosed

log = logging.getLogger("vicifast_kit.media")

_END = object()               # put in a stream's inbox when it ends


_BINARY, _TEXT, _CLOSE = websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_CLOSE
_monotonic = time.monotonic


class _Ended(Exception):
    """The websocket ended (closed, shut down, or broken): raised by _receive."""
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


#: The control message formats of chan_websocket (its channel option ``f()``, chan_websocket.conf's
#: ``control_message_format``).
CONTROL_FORMATS = ("plain-text", "json")
#: Media directions of a stream, as Asterisk names them from your program's side: "in" = you only
#: hear (what you send is dropped), "out" = you only speak (you hear nothing), "both".
DIRECTIONS = ("both", "in", "out")
_HANDBACK = 0.5      # s: a consumer away this long gives the websocket back to the reader thread
_BACKLOG = 0.5       # s of audio waiting in the socket: a direct-reading consumer has fallen behind


def _parse_control(text: str) -> tuple[str, dict, str]:
    """A control message in either format: (event, {name: value}, its one argument or the rest as a string).

    The argument is the mark's name of MEDIA_MARK_PROCESSED (and MEDIA_BUFFERING_COMPLETED), the
    text of ERROR; JSON values keep their JSON types (MEDIA_START's ``ptime`` is an int there).
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            fields = json.loads(text)
        except ValueError:
            return "", {}, text
        if not isinstance(fields, dict):
            return "", {}, text
        event = str(fields.pop("event", ""))
        arg = fields.get("correlation_id", fields.get("error_text", ""))
        return event, fields, str(arg)
    event, _, rest = text.partition(" ")
    fields = {}
    for part in rest.split():
        name, sep, value = part.partition(":")
        if sep:
            fields[name] = value
    if event == "ERROR" and "error_text:" in rest:      # the error's text has spaces: all of it
        fields["error_text"] = rest.partition("error_text:")[2].strip()
        return event, fields, fields["error_text"]
    return event, fields, rest.strip()


def _command_text(control_format: str, command: str, correlation_id: str | None = None, **fields: str) -> str:
    """A command to Asterisk in the stream's control format (JSON: {"command": ..., "correlation_id": ...})."""
    if control_format == "json":
        body = {"command": command}
        if correlation_id is not None:
            body["correlation_id"] = correlation_id
        body.update(fields)
        return json.dumps(body, separators=(",", ":"))
    if fields:
        raise ValueError(f"{command} with {', '.join(fields)} needs the JSON control format (Asterisk 22.9+)")
    return command if correlation_id is None else f"{command} {correlation_id}"


class MediaMark:
    """A point in what you sent (``stream.mark(name)``): played when Asterisk says it has played up to it."""

    def __init__(self, name: str, sent_at: float) -> None:
        self.name = name
        #: When mark() was called, when Asterisk said it was played (MEDIA_MARK_PROCESSED), and when the
        #: 20 ms clock said it would be (time.monotonic() values; None until known).
        self.sent_at = sent_at
        self.played_at: float | None = None
        self.estimated_at: float | None = None
        #: "asterisk" (MEDIA_MARK_PROCESSED), "estimate" (a server without marks), "flushed" (dropped by
        #: flush()), "ended" (the stream ended first), or "" while waiting.
        self.how = ""
        self._done = threading.Event()
        self._reached = threading.Event()      # the writer got to it: estimated_at is known

    _estimating = False     # True on a server without MARK_MEDIA: played is the estimate

    @property
    def played(self) -> bool:
        """True once Asterisk played everything sent before the mark (or, on an older server, the estimate passed)."""
        if self.how:
            return self.how in ("asterisk", "estimate")
        return self._estimating and self.estimated_at is not None and time.monotonic() >= self.estimated_at

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until the mark is played; False if it was flushed, the stream ended, or `timeout` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._estimating:
            if not self._reached.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
            if not self.how:
                if deadline is not None and self.estimated_at > deadline:
                    self._done.wait(max(0.0, deadline - time.monotonic()))
                    return False
                if self._done.wait(max(0.0, self.estimated_at - time.monotonic())):   # flushed or ended meanwhile
                    return self.how == "estimate"
                self._finish("estimate", self.estimated_at)
            return self.how == "estimate"
        self._done.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self.how == "asterisk"

    def _finish(self, how: str, at: float | None = None) -> None:
        if not self.how:
            self.how = how
            if how in ("asterisk", "estimate"):
                self.played_at = time.monotonic() if at is None else at
        self._reached.set()
        self._done.set()

    def __repr__(self) -> str:
        state = self.how or "waiting"
        return f"<MediaMark {self.name!r} {state}>"


class MediaStream:
    """Live audio of a call: ``read()``, ``frames()``, ``send()``, ``flush()``; ``close()`` ends it.

    Made by ``ch.media()`` (you are a party of the call) or ``ch.listen()`` (you only listen).
    Audio is slin: signed 16-bit little-endian mono at ``rate`` samples per second.
    ``control`` is the control format asked for (the one Asterisk answers in is ``control_format``),
    ``marks`` whether the server answers MARK_MEDIA, ``direction`` as Asterisk names it.
    """

    def __init__(self, url: str, fmt: WireFormat, *, name: str, can_send: bool = True,
                 buffer_seconds: float = 10.0, connect_timeout: float = 5.0, control: str = "plain-text",
                 marks: bool = True, direction: str = "both") -> None:
        if control not in CONTROL_FORMATS:
            raise ValueError(f"control must be one of {', '.join(CONTROL_FORMATS)}, not {control!r}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        self.format = fmt.name
        self.rate = fmt.rate
        self.name = name
        self._fmt = fmt
        self._frame_bytes = fmt.frame_bytes
        self._can_send = can_send
        #: The control message format Asterisk speaks on this websocket: "json" or "plain-text" (from MEDIA_START).
        self.control_format = control
        #: True when Asterisk answers MARK_MEDIA (22.8+): marks are what it played, not an estimate.
        self.asterisk_marks = marks
        #: "both", "in" (you only hear) or "out" (you only speak), as Asterisk names it.
        self.direction = direction
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
        self._marks: dict[str, MediaMark] = {}      # sent or queued, not played yet
        self._mark_ids = itertools.count(1)
        self._play_clock = 0.0      # when what the writer sent so far will have been played (monotonic; estimate)
        # One reader of the websocket at a time: the reader thread, or a consumer waiting in read()/frames().
        self._sock_lock = threading.Lock()
        self._consumer_at = 0.0     # when a consumer last read the websocket itself (monotonic)
        self._direct_off_until = 0.0    # a consumer that fell behind reads from the buffer until then
        self._stop = threading.Event()
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
        self._ws.settimeout(_HANDBACK)    # every read returns at least this often (resumable mid-frame)
        self._reader = threading.Thread(target=self._read_loop, name=f"vicifast-media-reader[{name}]",
                                        daemon=True)
        self._reader.start()

    # --- reader thread: only reads and files -------------------------------------------
    def _read_loop(self) -> None:
        why = "the media channel hung up"
        lock = self._sock_lock
        while not self._ended:
            away = time.monotonic() - self._consumer_at
            if away < _HANDBACK:        # a consumer reads for itself: leave the websocket (and its lock) alone
                self._stop.wait(_HANDBACK - away)
                self._check_backlog()
                continue
            if not lock.acquire(timeout=_HANDBACK):
                continue
            try:
                if time.monotonic() - self._consumer_at < _HANDBACK:    # it came back meanwhile
                    continue
                message = self._receive()
                if message is not None:
                    self._file(message)         # under the lock: a consumer reading next sees it first
            except _Ended:
                break
            finally:
                lock.release()
        self._end(why)

    def _receive(self) -> bytes | None:
        """One websocket message (under _sock_lock): audio bytes, or None (a control message, or no message yet)."""
        try:
            opcode, data = self._ws.recv_data()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketException, OSError, ValueError) as e:    # closed, or shut down by close()
            log.debug("Media stream %s: the websocket ended (%s)", self.name, type(e).__name__)
            raise _Ended from None
        if opcode == _BINARY:
            size = self._frame_bytes
            self.frames_received += 1 if len(data) == size else max(1, len(data) // size)
            return data
        if opcode == websocket.ABNF.OPCODE_TEXT:
            self._on_text(data.decode("utf-8", "replace"))
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            raise _Ended
        return None

    def _check_backlog(self) -> None:
        """Reader thread: when a consumer reading for itself leaves audio piling up in the socket, take over."""
        if self._ended or time.monotonic() - self._consumer_at > 2 * _HANDBACK:
            return
        try:
            waiting = int.from_bytes(fcntl.ioctl(self._ws.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"), "little")
        except (OSError, AttributeError, ValueError):
            return
        if waiting > _BACKLOG / PTIME * self._fmt.frame_bytes:
            self._direct_off_until = time.monotonic() + 2.0
            self._consumer_at = 0.0
            log.debug("Media stream %s: the consumer fell behind (%d bytes waiting); the reader takes over",
                      self.name, waiting)

    def _file(self, data: bytes) -> None:
        inbox = self._inbox
        inbox.put(data)
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
            self.control_format = "json" if text.lstrip().startswith("{") else "plain-text"
            self.media_start = {name: value if isinstance(value, (str, dict)) else str(value)
                                for name, value in fields.items()}
            self._started.set()
        elif event in ("MEDIA_XOFF", "MEDIA_XON"):
            with self._out_cond:
                self._xoff = event == "MEDIA_XOFF"
                self.xoff_count += self._xoff
                self._out_cond.notify_all()
        elif event == "MEDIA_MARK_PROCESSED":
            mark = self._marks.pop(rest, None)
            if mark is not None:
                mark._finish("asterisk")
        elif event == "DTMF_END":
            self.dtmf.append(str(fields.get("digit", "")))
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
        self._stop.set()
        with self._out_cond:
            self._out_cond.notify_all()
        for mark in list(self._marks.values()):
            mark._finish("ended")
        self._marks.clear()

    # --- reading -------------------------------------------------------------------------
    def _check_open(self, doing: str) -> None:
        if self._closed_by_you:
            raise StreamClosed(f"Cannot {doing}: this media stream was closed ({self.reason}). "
                               "Open a new one with ch.media() or ch.listen().")

    def _check_can_hear(self, doing: str) -> None:
        self._check_open(doing)
        if self.direction == "out":
            raise StreamClosed(f"Cannot {doing}: this stream was opened with direction='out' (you only speak; "
                               "Asterisk sends it no audio). Open it with direction='both' to hear.")

    def _next(self, timeout: float | None) -> bytes | None:
        """The next received message (None when the stream has ended or timeout passed); consumer side.

        What the reader thread filed comes first; else the consumer reads the websocket itself (no
        hand-over between threads), waiting for the lock while the reader thread finishes the message
        it is reading. A consumer that fell behind (see _check_backlog) or does not wait reads the buffer.
        """
        now = _monotonic()
        if timeout is not None and timeout <= 0 or self._ended or self._direct_off_until > now or fcntl is None:
            return self._from_inbox(timeout)
        # Say so first: the reader thread, done with the message it is reading, leaves the websocket
        # to this consumer.
        self._consumer_at = now
        deadline = None if timeout is None else now + timeout
        lock = self._sock_lock
        if not lock.acquire(True, -1 if timeout is None else timeout):
            return self._from_inbox(0)
        inbox = self._inbox
        try:
            if inbox.empty():
                recv = self._ws.recv_data
                while True:
                    try:
                        opcode, data = recv()
                    except websocket.WebSocketTimeoutException:     # nothing for _HANDBACK s: still here
                        now = _monotonic()
                        self._consumer_at = now
                        if deadline is not None and now >= deadline:
                            return None
                        if self._direct_off_until > now or not inbox.empty():
                            break
                        continue
                    except (websocket.WebSocketException, OSError, ValueError) as e:    # closed, or shut down
                        log.debug("Media stream %s: the websocket ended (%s)", self.name, type(e).__name__)
                        self._end("the media channel hung up")
                        break
                    if opcode == _BINARY:
                        size = self._frame_bytes
                        self.frames_received += 1 if len(data) == size else max(1, len(data) // size)
                        return data
                    if opcode == _TEXT:
                        self._on_text(data.decode("utf-8", "replace"))
                    elif opcode == _CLOSE:
                        self._end("the media channel hung up")
                        break
                    if not inbox.empty():
                        break
        finally:
            lock.release()
        return self._from_inbox(None if deadline is None else max(0.0, deadline - _monotonic()))

    def _from_inbox(self, timeout: float | None) -> bytes | None:
        inbox = self._inbox
        try:
            item = inbox.get(timeout=timeout) if timeout is None or timeout > 0 else inbox.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            inbox.put(_END)             # every later read sees the end too
            return None
        return item

    def read(self, seconds: float = 1.0, timeout: float | None = None) -> bytes:
        """The next `seconds` of call audio (slin); less only if the call ends or `timeout` (default seconds*2+2) passes."""
        self._check_can_hear("read")
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
        self._check_can_hear("read frames")
        size = self._frame_bytes
        to_slin = self._fmt.to_slin
        is_slin = self._fmt.name in ("slin", "slin16")
        next_message = self._next
        while not self._closed_by_you:
            pending = self._pending
            if len(pending) >= size:
                self._pending = pending[size:]
                yield to_slin(pending[:size])
                continue
            data = next_message(timeout)
            if data is None:
                return
            if not pending and len(data) == size:       # the usual case: one message, one frame
                yield data if is_slin else to_slin(data)
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
        self._check_can_send("send")
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

    def _check_can_send(self, doing: str) -> None:
        if not self._can_send:
            raise StreamClosed("This is a listen-only tap (ch.listen()): to speak into the call, use ch.media().")
        if self.direction == "in":
            raise StreamClosed(f"Cannot {doing}: this stream was opened with direction='in' (you only hear; "
                               "Asterisk drops what you send). Open it with direction='both' to speak.")
        if self._ended:
            raise StreamClosed(f"Cannot {doing}: the call audio has ended ({self.reason}).")

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

    def _enqueue(self, item: "bytes | MediaMark") -> None:
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
                    frames = len(item) // self._fmt.frame_bytes
                    self.frames_sent += frames
                    self._play_clock = max(self._play_clock, time.monotonic()) + frames * PTIME
                else:                       # a mark: after everything sent before it
                    item.estimated_at = max(self._play_clock, time.monotonic())
                    item._reached.set()
                    if self.asterisk_marks:
                        self._ws.send(_command_text(self.control_format, "MARK_MEDIA", item.name))
            except (websocket.WebSocketException, OSError) as e:
                log.debug("Media stream %s: send failed (%s)", self.name, type(e).__name__)
                self._end("the media websocket closed")
                return
            finally:
                self._send_lock.release()

    def flush(self) -> None:
        """Drop the audio you sent that has not been played yet (barge-in: the caller talks over a prompt)."""
        self._check_open("flush")
        with self._out_cond:
            self._outbox.clear()
            self._send_lock.acquire()       # a chunk being written goes out first, then FLUSH drops it
        try:
            if not self._ended and self.direction != "in":
                self._ws.send(_command_text(self.control_format, "FLUSH_MEDIA"))
            self._play_clock = time.monotonic()
            # Marks waiting in the outbox, and those Asterisk had queued (FLUSH_MEDIA empties its
            # queue, marks included): none of them will be played.
            for mark in list(self._marks.values()):
                mark._finish("flushed")
            self._marks.clear()
        except (websocket.WebSocketException, OSError):     # the stream is ending: nothing left to drop
            pass
        finally:
            self._send_lock.release()

    def mark(self, name: str) -> MediaMark:
        """Put a mark after what you sent so far (MARK_MEDIA); its wait() returns when Asterisk has played up to it."""
        self._check_open("mark")
        self._check_can_send("mark")
        name = str(name)
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise ValueError(f"A mark's name is 1-64 characters without spaces (it travels in MARK_MEDIA); got {name!r}")
        mark = MediaMark(name, time.monotonic())
        mark._estimating = not self.asterisk_marks
        with self._out_cond:
            if name in self._marks:
                raise ValueError(f"A mark named {name!r} is still waiting to be played: give each a name of its own")
            self._marks[name] = mark
        self._enqueue(mark)
        return mark

    def wait_played(self, timeout: float = 60.0) -> bool:
        """Block until everything sent so far has been played to the call; False if `timeout` passed first."""
        self._check_open("wait")
        if self._ended:
            return False
        if not self._can_send or self.direction == "in":   # nothing can have been sent: nothing to wait for
            return True
        mark = self.mark(f"kit-{next(self._mark_ids)}")
        played = mark.wait(timeout)
        if not played:
            with self._out_cond:
                self._marks.pop(mark.name, None)
        return played and not self._ended

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
