"""A caller who dials a number in the lab, talks, presses keys and listens; and the Result of its call.

One call is a Local channel pair placed with ARI's originate: the caller's half runs the lab's ``sim-caller``
dialplan (it waits, presses its keys, says its words, then stays on the line with room noise), the far half
dials NUMBER in the lab's ``service`` context, which sends it into the app named by VICIFAST_APP (or, with no
instance of that app connected, to the context's fallback: "all circuits are busy", cause 34).

The caller hears through a client of its own, subscribed to every event of the server (``subscribe_all``):
it sees the prompts played to the far half (ARI's PlaybackStarted on it or on a bridge it is in, the dialplan's
own Playback), the keys that reached it, the answer and the hang-up; and a snoop on the caller's half
(``spy=in``: what reaches the caller) is recorded, so speech that no prompt explains is found and recognised.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..causes import cause_text
from ..errors import ARIError, ClientClosed, Error, NotFound, WaitTimeout
from ..events import asterisk_time
from ..wire import via
from .hearing import FarSide, Heard, covered, heard_text, recogniser, speech_outside

if TYPE_CHECKING:  # pragma: no cover
    from ..audio import Audio
    from ..client import ARIClient
    from ..events import Event, Subscription

#: The lab's context that sends any number into the app named by VICIFAST_APP (docker/asterisk/extensions_service.conf).
SERVICE_CONTEXT = "service"
_NUMBER = re.compile(r"[0-9*#+][0-9A-Za-z*#+_-]*")
#: Events of the caller's own half worth keeping (it runs the sim-caller dialplan: the rest is its noise loop).
_CALLER_EVENTS = frozenset(("ChannelStateChange", "ChannelHangupRequest", "ChannelDestroyed"))
_RECORDING_FORMAT = "wav16"


class CallerError(Error):
    """The caller could not place or follow its call (the message says what to do)."""

    __module__ = "vicifast_kit.testing"


@dataclass
class Step:
    """A dialplan step of the far half of a call: when (s after dialling), where (context, extension), which application."""

    at: float
    context: str
    extension: str
    app: str
    data: str

    def __str__(self) -> str:
        return f"{self.app}({self.data})"


@dataclass
class Result:
    """What happened to a call, from the caller's side.

    ``heard`` is the text of everything it heard, in order (``parts``: each piece, with when and where from);
    ``digits`` the keys that reached the far end; ``answered`` when the call was answered (s after dialling, or
    None); ``cause`` the hang-up cause (16 normal clearing, 34 fallback, 19 no answer ...), ``ended`` when
    (s after dialling) and ``hung_up_by`` which side hung up first ("caller", "far end", or "test" when the
    test ended it); ``steps`` the far half's dialplan applications and ``bridges`` the bridges it entered.
    """

    number: str
    app: str
    heard: str = ""
    parts: list[Heard] = field(default_factory=list)
    digits: str = ""
    answered: float | None = None
    ended: float | None = None
    cause: int | None = None
    cause_text: str = ""
    hung_up_by: str = ""
    steps: list[Step] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    channel: str = ""
    far_channel: str = ""
    pcm: bytes = field(default=b"", repr=False)
    rate: int = 16000

    @property
    def prompts(self) -> list[str]:
        """The lab prompts the caller heard, by name, in order ("hello-world")."""
        return [p.sound for p in sorted(self.parts, key=lambda p: p.at) if p.source == "prompt" and p.sound]

    @property
    def audio(self) -> "Audio":
        """What reached the caller, as audio Jupyter plays (empty if it could not be recorded)."""
        from ..audio import Audio
        return Audio(self.pcm, self.rate, title=f"What the caller of {self.number} heard")

    def __str__(self) -> str:
        answered = "never answered" if self.answered is None else f"answered after {self.answered:.1f} s"
        ended = f"ended after {self.ended:.1f} s" if self.ended is not None else "not ended"
        return (f"call to {self.number} (app {self.app}): {answered}, {ended} by the {self.hung_up_by or '?'} "
                f"with cause {cause_text(self.cause)}; keys {self.digits!r}; heard {self.heard!r}")


def _seconds(ts: Any, t0: datetime | None) -> float | None:
    if t0 is None or not isinstance(ts, datetime):
        return None
    return round((ts - t0).total_seconds(), 3)


class Call:
    """One call of a Caller, in progress or over: ``result()`` waits for its end and tells what happened."""

    def __init__(self, ear: "ARIClient", number: str, app: str, *, expect: Sequence[str] | None = None,
                 recognise: Callable[[bytes, int], str] | None = None, transcript: Callable[[str], str | None],
                 wait: float = 60.0) -> None:
        tag = uuid.uuid4().hex[:12]
        self.number, self.app = number, app
        #: The channel ids: the caller's half, the far half, the snoop that hears the caller's line.
        self.id, self.far_id, self.snoop_id = f"kit-caller-{tag}", f"kit-far-{tag}", f"kit-ear-{tag}"
        self.recording = f"kit-heard-{tag}"
        self._ear = ear
        self._recognise = recognise or recogniser(expect)
        self._transcript = transcript
        self._wait = wait
        self._events: list["Event"] = []
        self._bridges: set[str] = set()
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._recorded = threading.Event()
        self._recording_started: "Event | None" = None
        self._t0: datetime | None = None
        self._result: Result | None = None
        self._hung_up_by_test = False
        self.dialled_at = time.time()
        self._subscription: "Subscription" = ear.on("*", self._on_event)

    # --- events (on the client's dispatcher thread) ----------------------------------------------
    def _on_event(self, ev: "Event") -> None:
        keys = ev.keys
        mine = False
        for kind, ident in keys:
            if kind == "channel":
                if ident == self.id:
                    if ev.type in _CALLER_EVENTS:
                        mine = True
                    if ev.type == "ChannelDestroyed":
                        self._ended.set()
                elif ident == self.far_id:
                    if ev.type != "ChannelVarset":
                        mine = True
                    if ev.type == "ChannelEnteredBridge":
                        self._bridges.add(ev.raw.get("bridge", {}).get("id", ""))
            elif kind == "bridge" and ident in self._bridges:
                mine = True
            elif kind == "live_recording" and ident == self.recording:
                if ev.type == "RecordingStarted":
                    self._recording_started = ev
                elif ev.type in ("RecordingFinished", "RecordingFailed"):
                    self._recorded.set()
        if mine:
            with self._lock:
                self._events.append(ev)

    # --- placing it ------------------------------------------------------------------------------
    def _place(self, context: str, variables: dict[str, str], caller_id: str, patience: float) -> None:
        from ..media.stream import CALL_FORMATS
        from ..lab.simulate import CONTEXT
        with via("caller"):
            reply = self._ear.channels.originate(
                endpoint=f"Local/{self.number}@{context}/n", context=CONTEXT, extension="s", priority=1,
                caller_id=caller_id, timeout=max(1, math.ceil(patience)), formats=CALL_FORMATS,
                channel_id=self.id, other_channel_id=self.far_id, variables=variables)
        self._t0 = asterisk_time(reply.raw.get("creationtime"))
        self._listen()

    def _listen(self) -> None:
        """A snoop on the caller's half that hears what reaches it (spy=in), recorded until the call ends."""
        ear = self._ear
        try:
            with via("caller"):
                ear.channels.snoop_channel(self.id, spy="in", app=ear.app, snoop_id=self.snoop_id)
                ear.context.events.take("StasisStart", timeout=10, key=("channel", self.snoop_id),
                                        what=f"the caller's snoop {self.snoop_id} to enter the app")
                ear.channels.record(self.snoop_id, name=self.recording, format=_RECORDING_FORMAT,
                                    if_exists="overwrite", max_duration_seconds=math.ceil(self._wait) + 60)
        except (NotFound, WaitTimeout):     # the call ended at once: nothing to hear but its prompts
            self._recorded.set()

    # --- its end ---------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the caller's half of the call has ended."""
        return self._ended.is_set()

    def hangup(self) -> None:
        """End the call now, as the test (the caller's half hangs up; the far half follows)."""
        if self._ended.is_set():
            return
        self._hung_up_by_test = True
        for ident in (self.id, self.far_id):
            with contextlib.suppress(ARIError, ClientClosed, ConnectionError):
                self._ear.request("DELETE", f"/channels/{ident}")
        self._ended.wait(5.0)

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the call's end (at most `timeout` s, default: the caller's patience and time on the line) and tell what happened."""
        __tracebackhide__ = True
        if self._result is not None:
            return self._result
        timeout = self._wait if timeout is None else timeout
        if not self._ended.wait(timeout):
            self.hangup()
            raise WaitTimeout(f"the call to {self.number} to end (still up after {timeout:.0f} s; the test hung it "
                              "up): give the caller a shorter duration=, or end it with call.hangup()", timeout)
        self._ear.flush()
        self._result = self._make_result()
        return self._result

    def _audio(self) -> tuple[bytes, int]:
        from ..audio import read_wav
        if not self._recorded.wait(10.0) or self._recording_started is None:
            return b"", 16000
        try:
            with via("caller"):
                data = self._ear.recordings.get_stored_file(self.recording)
        except ARIError:
            return b"", 16000
        finally:
            self._forget_recording()
        return read_wav(data)

    def _forget_recording(self) -> None:
        for path in (f"/recordings/live/{self.recording}", f"/recordings/stored/{self.recording}"):
            with contextlib.suppress(ARIError, ClientClosed, ConnectionError):
                self._ear.request("DELETE", path)

    def _make_result(self) -> Result:
        self._subscription.unsubscribe()
        with self._lock:
            events = list(self._events)
        t0 = self._t0 or (events[0].timestamp if events else None)
        result = Result(self.number, self.app, channel=self.id, far_channel=self.far_id)
        far = FarSide(self.far_id, self._transcript)
        first_hangup = None
        for ev in events:
            at = _seconds(ev.timestamp, t0)
            if at is None:
                continue
            channel = ev.raw.get("channel") or {}
            if channel.get("id") == self.id:
                if ev.type == "ChannelStateChange" and channel.get("state") == "Up" and result.answered is None:
                    result.answered = at
                elif ev.type == "ChannelHangupRequest" and first_hangup is None:
                    first_hangup = "caller"
                elif ev.type == "ChannelDestroyed":
                    result.ended, result.cause = at, ev.raw.get("cause")
                    result.cause_text = ev.raw.get("cause_txt", "")
                continue
            if ev.type == "ChannelHangupRequest" and channel.get("id") == self.far_id and first_hangup is None:
                first_hangup = "far end"
            far.feed(ev.raw, at)
        end = result.ended if result.ended is not None else (_seconds(events[-1].timestamp, t0) if events else 0.0)
        far.end(end or 0.0)
        if result.answered is None and result.cause == 19:
            first_hangup = "caller"     # the originate's timeout (the caller's patience) ends the far half first
        result.hung_up_by = "test" if self._hung_up_by_test else (first_hangup or "")
        result.digits = far.digits
        result.steps = [Step(*step) for step in far.steps]
        result.bridges = [bridge for _, bridge, _ in far.entered]
        parts = list(far.heard)
        pcm, rate = self._audio()
        result.pcm, result.rate = pcm, rate
        if pcm and self._recording_started is not None:
            offset = _seconds(self._recording_started.timestamp, t0) or 0.0
            parts += self._speech(pcm, rate, offset, covered(parts, end or 0.0))
        result.parts = sorted(parts, key=lambda p: p.at)
        result.heard = heard_text(result.parts)
        return result

    def _speech(self, pcm: bytes, rate: int, offset: float, known: list[tuple[float, float]]) -> list[Heard]:
        """The speech on the caller's line that no prompt explains, recognised."""
        from ..voice.turns import speech_spans
        spans = [(a + offset, b + offset) for a, b in speech_spans(pcm, rate, hangover=0.6)]
        found = []
        for start, end in speech_outside(spans, known):
            first, last = int((start - offset) * rate) * 2, int((end - offset) * rate) * 2
            text = self._recognise(pcm[max(0, first):last], rate)
            found.append(Heard(start, end, text or "", "speech"))
        return found

    def close(self) -> None:
        """End the call if it is still up, and delete its recording (whatever the test did)."""
        self.hangup()
        with contextlib.suppress(ARIError, ClientClosed, ConnectionError):
            self._ear.request("DELETE", f"/channels/{self.snoop_id}")
        self._forget_recording()
        self._subscription.unsubscribe()

    def __repr__(self) -> str:
        return f"<Call to {self.number} (app {self.app}) {'ended' if self.done else 'in progress'}>"


class Caller:
    """Dials numbers in the lab as simulated people who talk and listen: ``caller("5551234", app="ivr", say="billing please")``.

    Calling it places a call and waits for its end: a Result (what the caller heard, the keys it sent, when it
    was answered, how and when it ended). ``dial(...)`` places one and returns at once (a Call: ``result()``).
    ``app`` is where numbers go when a call names none (the app under test). ``close()`` ends every call it made.
    """

    def __init__(self, app: str | None = None, *, url: str | None = None, user: str | None = None,
                 password: str | None = None, context: str = SERVICE_CONTEXT) -> None:
        self.app = app
        self.context = context
        self._connection = {"url": url, "user": user, "password": password}
        self._ear: "ARIClient | None" = None
        self.calls: list[Call] = []
        self._closed = False

    @property
    def ari(self) -> "ARIClient":
        """The caller's own ARI client (connected on first use; an app of its own that hears every event)."""
        if self._closed:
            raise ClientClosed("This caller is closed: the test that used it is over")
        if self._ear is None:
            from ..client import connect
            self._ear = connect(f"kit-testing-{uuid.uuid4().hex[:10]}", subscribe_all=True, **self._connection)
            self._ear.wait_connected(timeout=10)
        return self._ear

    def dial(self, number: str, app: str | None = None, *, say: str | Sequence[str] | None = None, dtmf: str = "",
             delay: float = 1.0, patience: float = 30.0, duration: float = 30.0, caller_id: str | None = None,
             expect: Sequence[str] | None = None, recognise: Callable[[bytes, int], str] | None = None,
             context: str | None = None) -> Call:
        """Place a call to `number` for `app` and return at once (a Call; its result() waits for the end)."""
        __tracebackhide__ = True
        from ..lab.simulate import random_caller_id, say_items, transcript
        number = str(number)
        if not _NUMBER.fullmatch(number):
            raise ValueError(f"number: {number!r} is not a number to dial: digits (and * # +), e.g. \"5551234\"")
        app = app or self.app
        if not app:
            raise CallerError(
                f"Which app should {number} reach? Pass app=\"NAME\" to the caller, or give the tests an app "
                "under test: pytest --vk-app FILE.py:app, the ini option vk_app, `vk_app = \"FILE.py:app\"` in "
                "the test module, or a fixture app_under_test of your own (see vicifast_kit.testing)")
        app = getattr(app, "name", app)         # a vk.App is known by its name
        if not isinstance(dtmf, str) or not re.fullmatch(r"[0-9A-Da-d*#wW]*", dtmf):
            raise ValueError(f"dtmf: {dtmf!r} is not keys to press: digits, * # A-D (w: a half-second pause)")
        for name, value in (("delay", delay), ("patience", patience), ("duration", duration)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} is in seconds, 0 or more (not {value!r})")
        ear = self.ari

        def words(sound: str) -> str | None:
            try:
                return transcript(sound, ear)
            except Error:       # not the lab (no transcripts there): the recogniser hears prompts as speech
                return None
        spoken = say_items(list(say) if isinstance(say, (list, tuple)) else say)
        call = Call(ear, number, str(app), expect=expect, recognise=recognise, transcript=words,
                    wait=patience + delay + duration + 30.0)
        self.calls.append(call)
        try:
            call._place(context or self.context, {
                "VICIFAST_APP": str(app), "SIM_DELAY": str(delay), "SIM_DTMF": dtmf, "SIM_SAY": spoken,
                "SIM_DURATION": str(duration), "SIM_TALK": ""}, caller_id or random_caller_id(), patience)
        except BaseException:
            call.close()
            raise
        return call

    def __call__(self, number: str, app: str | None = None, *, say: str | Sequence[str] | None = None,
                 dtmf: str = "", delay: float = 1.0, patience: float = 30.0, duration: float = 30.0,
                 caller_id: str | None = None, expect: Sequence[str] | None = None,
                 recognise: Callable[[bytes, int], str] | None = None, context: str | None = None) -> Result:
        """Dial `number` for `app` (default: the app under test), say `say`, press `dtmf`; wait for the end: a Result."""
        __tracebackhide__ = True
        return self.dial(number, app, say=say, dtmf=dtmf, delay=delay, patience=patience, duration=duration,
                         caller_id=caller_id, expect=expect, recognise=recognise, context=context).result()

    def close(self) -> None:
        """End every call this caller made that is still up, delete their recordings, close its client."""
        if self._closed:
            return
        try:
            for call in self.calls:
                with contextlib.suppress(Exception):
                    call.close()
        finally:
            self._closed = True
            if self._ear is not None:
                self._ear.close()

    def __enter__(self) -> "Caller":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Caller for app {self.app!r}, {len(self.calls)} call(s)>"
