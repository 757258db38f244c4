"""`vicifast-kit load`: N simulated callers at R per second into a service, counted from the callers' side.

Each caller is a Local channel pair placed with ARI's originate. The far half dials NUMBER in the lab's
``service`` context (so it reaches the app named by VICIFAST_APP, or the context's fallback: "all circuits
are busy", cause 34). The caller's half enters the load's own ARI app when the far end answers (that moment
is the answer time, no race with a subscription), and is sent at once to the lab's ``sim-caller`` dialplan:
it waits, presses its keys, says its words (the lab's text to speech) and hangs up ``duration`` seconds after
the answer. A caller is light: no recording, no recognition, only the events of its own half (the load's app
stays subscribed to it after it leaves the app).

How a call ended, as its caller saw it (``OUTCOMES``):

handled      answered, and the far end (the app) ended it, with a cause other than 34
fallen back  the far end ended it with cause 34: the service's fallback (no instance, busy, draining)
abandoned    the caller hung up first (its ``duration`` ran out: the dialplan's T extension), or was never
             answered within its ``patience`` (cause 19)
cut          still up when the load gave up waiting (or on Ctrl-C): the load hung it up
not placed   the originate itself failed

Use it from Python (``run_load(...)``, or ``Load`` for a load in the background) or as
``vicifast-kit load FILE.py[:app] --callers N --rate R`` (which starts the App in ``serve`` processes
itself) or ``vicifast-kit load --app NAME ...`` against a service already running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..errors import ARIError, ClientClosed, Error, NotFound
from ..events import asterisk_time

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..events import Event

HANDLED, FALLEN_BACK, ABANDONED, CUT, NOT_PLACED = "handled", "fallen back", "abandoned", "cut", "not placed"
#: How a call can end for its caller, in the order tables print them.
OUTCOMES = (HANDLED, FALLEN_BACK, ABANDONED, CUT, NOT_PLACED)
#: Cause 34 (no circuit available): how the lab's `service` fallback ends a call (extensions_service.conf).
FALLBACK_CAUSE = 34
#: The percentiles of the answer time reported.
PERCENTILES = (50, 90, 99)
SERVICE_CONTEXT = "service"
#: The lab's context whose calls several instances of an app share (StasisBroadcast to APP-*, the first claim wins).
SHARED_CONTEXT = "service-shared"
_NUMBER = re.compile(r"[0-9*#+][0-9A-Za-z*#+_-]*")
PREFIX = "vicifast-kit load"


class LoadError(Error):
    """A load could not start or run (the message says what to do)."""


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0-100) of values, interpolated between the two nearest ranks; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"p is a percentage, 0 to 100 (not {p!r})")
    rank = (len(data) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


@dataclass
class CallRecord:
    """One caller of a load: its channel ids, when (s after the load began) it dialled, was answered and ended, how."""

    index: int
    channel: str
    far_channel: str
    dialled: float | None = None
    answered: float | None = None       # seconds from dialling to the answer
    ended: float | None = None          # seconds from dialling to the end
    cause: int | None = None
    outcome: str | None = None          # one of OUTCOMES once the call is over
    error: str = ""

    @property
    def done(self) -> bool:
        """True once the call is over (it has an outcome)."""
        return self.outcome is not None


def outcome_of(answered: bool, cause: int | None, caller_hung_up: bool, cut: bool) -> str:
    """The outcome of a call as its caller saw it (see the module's docstring)."""
    if cut:
        return CUT
    if cause == FALLBACK_CAUSE:
        return FALLEN_BACK
    if not answered or caller_hung_up:
        return ABANDONED
    return HANDLED


@dataclass
class LoadResult:
    """What a load's callers saw: how many were placed, answered, and how each ended; answer-time percentiles (s)."""

    app: str
    callers: int
    rate: float
    counts: dict[str, int]
    answered: int
    answer_times: list[float] = field(default_factory=list, repr=False)
    seconds: float = 0.0
    calls: list[CallRecord] = field(default_factory=list, repr=False)

    @property
    def handled(self) -> int:
        """Calls the app answered and ended itself."""
        return self.counts.get(HANDLED, 0)

    @property
    def fallen_back(self) -> int:
        """Calls that ended in the service's fallback (cause 34)."""
        return self.counts.get(FALLEN_BACK, 0)

    @property
    def abandoned(self) -> int:
        """Calls whose caller hung up first, or that nobody answered."""
        return self.counts.get(ABANDONED, 0)

    @property
    def lost(self) -> int:
        """Calls neither handled nor fallen back nor abandoned: cut by the load at its end, or never placed."""
        return self.counts.get(CUT, 0) + self.counts.get(NOT_PLACED, 0)

    def answer_time(self, p: float) -> float | None:
        """The p-th percentile of the answer time (s from dialling), over the calls answered."""
        return percentile(self.answer_times, p)

    @property
    def per_second(self) -> float:
        """Calls handled per second of the load (from the first dial to the last end)."""
        return self.handled / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain data (what `--json` prints)."""
        return {"app": self.app, "callers": self.callers, "rate": self.rate, "answered": self.answered,
                **{name.replace(" ", "_"): self.counts.get(name, 0) for name in OUTCOMES},
                "answer_time": {f"p{p}": _round(self.answer_time(p)) for p in PERCENTILES},
                "seconds": round(self.seconds, 3), "handled_per_second": round(self.per_second, 3)}

    def table(self) -> str:
        """The figures as a small text table."""
        rows = [("callers", str(self.callers)), ("answered", str(self.answered))]
        rows += [(name, str(self.counts.get(name, 0))) for name in OUTCOMES
                 if name in (HANDLED, FALLEN_BACK, ABANDONED) or self.counts.get(name)]
        for p in PERCENTILES:
            value = self.answer_time(p)
            rows.append((f"answer time p{p}", "-" if value is None else f"{value * 1000:.0f} ms"))
        rows.append(("handled per second", f"{self.per_second:.1f}"))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value:>8}" for name, value in rows)

    def plot(self, title: str = "") -> "LoadPlot":
        """A picture of the load (shown by Jupyter): one line per caller, from its dial to its end, coloured by outcome."""
        return LoadPlot(self, title)

    def __str__(self) -> str:
        return (f"{self.callers} caller{'s' if self.callers != 1 else ''} at {self.rate:g}/s into app {self.app!r}: "
                f"{self.answered} answered, "
                f"{self.handled} handled, {self.fallen_back} fallen back, {self.abandoned} abandoned"
                + (f", {self.lost} cut or not placed" if self.lost else ""))


#: The colour of each outcome in LoadResult.plot().
COLOURS = {HANDLED: "#2e7d32", FALLEN_BACK: "#ef6c00", ABANDONED: "#c62828", CUT: "#757575", NOT_PLACED: "#bdbdbd"}


class LoadPlot:
    """A load's calls as an SVG picture: time across, one line per caller (dialled to ended), colour = outcome."""

    def __init__(self, result: LoadResult, title: str = "", width: int = 720, height: int = 260) -> None:
        self.result, self.title, self.width, self.height = result, title, width, height

    def svg(self) -> str:
        """The picture as SVG text."""
        r, w, h = self.result, self.width, self.height
        left, right, top, bottom = 44, 150, 26, 28
        calls = [c for c in r.calls if c.dialled is not None]
        end = max([(c.dialled or 0) + (c.ended or 0) for c in calls] + [1.0])
        step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if end / s <= 10)
        span = math.ceil(end / step) * step
        x = lambda t: left + (w - left - right) * t / span                          # noqa: E731
        row = (h - top - bottom) / max(1, r.callers)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                 'font-family="sans-serif" font-size="11">',
                 f'<rect width="{w}" height="{h}" fill="white"/>',
                 f'<text x="{left}" y="16" font-size="13">{_escape(self.title or str(r))}</text>']
        for i in range(int(span / step) + 1):
            tx = x(i * step)
            parts.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{h - bottom}" stroke="#e0e0e0"/>')
            parts.append(f'<text x="{tx:.1f}" y="{h - bottom + 14}" text-anchor="middle">{i * step:g} s</text>')
        parts.append(f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">1</text>')
        parts.append(f'<text x="{left - 6}" y="{h - bottom}" text-anchor="end">{r.callers}</text>')
        for c in calls:
            y = top + row * (c.index + 0.5)
            start, stop = c.dialled or 0.0, (c.dialled or 0.0) + (c.ended if c.ended is not None else end)
            colour = COLOURS.get(c.outcome or CUT, "#757575")
            parts.append(f'<line x1="{x(start):.1f}" y1="{y:.1f}" x2="{max(x(stop), x(start) + 1):.1f}" '
                         f'y2="{y:.1f}" stroke="{colour}" stroke-width="{max(1.0, row * 0.8):.1f}"/>')
        for i, name in enumerate(OUTCOMES):
            if r.counts.get(name) or name in (HANDLED, FALLEN_BACK, ABANDONED):
                ly = top + 16 * i + 8
                parts.append(f'<rect x="{w - right + 12}" y="{ly - 8}" width="12" height="10" fill="{COLOURS[name]}"/>')
                parts.append(f'<text x="{w - right + 30}" y="{ly + 1}">{name} {r.counts.get(name, 0)}</text>')
        parts.append(f'<text x="{w - right + 12}" y="{top + 16 * len(OUTCOMES) + 14}">caller per line,</text>')
        parts.append(f'<text x="{w - right + 12}" y="{top + 16 * len(OUTCOMES) + 28}">dial to hang-up</text>')
        parts.append("</svg>")
        return "".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: str) -> None:
        """Write the picture to an .svg file."""
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.svg())

    def __repr__(self) -> str:
        return f"<LoadPlot of {self.result}>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summarise(app: str, callers: int, rate: float, calls: Sequence[CallRecord], seconds: float) -> LoadResult:
    """A LoadResult from the records of a load's calls."""
    counts = {name: 0 for name in OUTCOMES}
    for call in calls:
        counts[call.outcome or CUT] += 1
    times = [c.answered for c in calls if c.answered is not None]
    return LoadResult(app, callers, rate, counts, len(times), times, seconds, list(calls))


class Load:
    """N callers dialling `number` for app `app` at `rate` per second, followed from their side (see the module).

    ``start()`` places them in the background; ``wait()`` waits for every call's end; ``result()`` counts;
    ``close()`` hangs up every call still up and closes the load's client (Ctrl-C included: use ``with``).
    ``shared=True`` dials the lab's ``service-shared`` context: the calls are offered to every instance of the
    app (``vk.App(NAME, shared=True)``, ``serve --instance``); ``context`` names another context to dial.
    """

    def __init__(self, app: str, callers: int = 10, rate: float = 5.0, *, number: str = "5551234",
                 say: str | Sequence[str] | None = None, dtmf: str = "", delay: float = 1.0,
                 duration: float = 30.0, patience: float = 20.0, shared: bool = False, context: str | None = None,
                 url: str | None = None, user: str | None = None, password: str | None = None) -> None:
        if not isinstance(app, str) or not app or "," in app:
            raise LoadError(f"app is the ARI application the callers reach (e.g. \"ivr\"), not {app!r}")
        if isinstance(callers, bool) or not isinstance(callers, int) or callers < 1:
            raise LoadError(f"callers is how many calls to place: 1 or more (not {callers!r})")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise LoadError(f"rate is calls placed per second, more than 0 (not {rate!r})")
        if not _NUMBER.fullmatch(str(number)):
            raise LoadError(f"number: {number!r} is not a number to dial: digits (and * # +), e.g. 5551234")
        if not isinstance(dtmf, str) or not re.fullmatch(r"[0-9A-Da-d*#wW]*", dtmf):
            raise LoadError(f"dtmf: {dtmf!r} is not keys to press: digits, * # A-D (w: a half-second pause)")
        for name, value in (("delay", delay), ("duration", duration), ("patience", patience)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise LoadError(f"{name} is in seconds, 0 or more (not {value!r})")
        self.app, self.callers, self.rate = app, callers, float(rate)
        self.number, self.dtmf = str(number), dtmf
        self.context = context or (SHARED_CONTEXT if shared else SERVICE_CONTEXT)
        self.say = say
        self.delay, self.duration, self.patience = float(delay), float(duration), float(patience)
        self._connection = {"url": url, "user": user, "password": password}
        tag = uuid.uuid4().hex[:8]
        self.name = f"vicifast-load-{tag}"
        self.calls = [CallRecord(i, f"kit-load-{tag}-{i}", f"kit-load-{tag}-{i}-far") for i in range(callers)]
        self._by_id = {c.channel: c for c in self.calls}
        self._created: dict[str, datetime] = {}
        self._hung_up_first: set[str] = set()
        self._cut: set[str] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: list[str] = []
        self._stop = threading.Event()
        self._ari: "ARIClient | None" = None
        self._threads: list[threading.Thread] = []
        self._began = 0.0
        self._last_end = 0.0
        self._spoken = ""

    # --- running -----------------------------------------------------------------------------
    def start(self) -> "Load":
        """Connect (an ARI app of the load's own) and place the callers in the background at the rate."""
        from ..client import connect
        from ..lab.simulate import say_items
        self._spoken = say_items(list(self.say) if isinstance(self.say, (list, tuple)) else self.say)
        self._ari = connect(self.name, **self._connection)
        self._ari.wait_connected(timeout=10)
        self._ari.on("*", self._on_event)
        self._began = time.monotonic()
        for target, what in ((self._place_all, "place"), (self._work, "answer")):
            thread = threading.Thread(target=target, name=f"vicifast-load-{what}[{self.app}]", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def _place_all(self) -> None:
        for call in self.calls:
            due = self._began + call.index / self.rate
            if self._stop.wait(max(0.0, due - time.monotonic())):
                break
            self._place(call)

    def _place(self, call: CallRecord) -> None:
        from ..lab.simulate import CONTEXT, random_caller_id
        from ..media.stream import CALL_FORMATS
        ari = self._ari
        call.dialled = round(time.monotonic() - self._began, 3)
        try:
            reply = ari.channels.originate(
                endpoint=f"Local/{self.number}@{self.context}/n", app=self.name, app_args="caller",
                caller_id=random_caller_id(), timeout=max(1, math.ceil(self.patience)), formats=CALL_FORMATS,
                channel_id=call.channel, other_channel_id=call.far_channel,
                variables={"VICIFAST_APP": self.app, "SIM_DELAY": str(self.delay), "SIM_DTMF": self.dtmf,
                           "SIM_SAY": self._spoken, "SIM_DURATION": str(self.duration), "SIM_TALK": ""})
        except (Error, ConnectionError) as error:
            self._finish(call, NOT_PLACED, error=str(error))
            return
        created = asterisk_time(reply.raw.get("creationtime"))
        with self._lock:
            if created is not None:
                self._created[call.channel] = created
        try:     # stay subscribed to the caller's half after it leaves the load's app (its end, a no-answer)
            ari.applications.subscribe(self.name, event_source=f"channel:{call.channel}")
        except NotFound:
            pass        # it ended already: its ChannelDestroyed came while it was in the app (or it never rang)
        except (Error, ConnectionError) as error:
            call.error = f"could not follow it: {error}"

    def _on_event(self, ev: "Event") -> None:
        """Dispatcher thread: note answers and ends; the requests they need go to the worker."""
        channel = ev.raw.get("channel") or {}
        call = self._by_id.get(channel.get("id", ""))
        if call is None or call.done:
            return
        kind = ev.type
        if kind == "StasisStart":
            created = self._created.get(call.channel)
            stamp = asterisk_time(ev.raw.get("timestamp"))
            with self._lock:
                if call.answered is None:
                    if created is not None and stamp is not None:
                        call.answered = round((stamp - created).total_seconds(), 4)
                    else:
                        call.answered = round(time.monotonic() - self._began - (call.dialled or 0.0), 4)
                self._jobs.append(call.channel)
                self._changed.notify_all()
        elif kind == "ChannelHangupRequest":
            with self._lock:
                self._hung_up_first.add(call.channel)      # the far end (or the load) hung up the caller's half
        elif kind == "ChannelDestroyed":
            dialplan = channel.get("dialplan") or {}
            caller_gave_up = dialplan.get("exten") == "T" and call.channel not in self._hung_up_first
            cause = ev.raw.get("cause")
            created = self._created.get(call.channel)
            stamp = asterisk_time(ev.raw.get("timestamp"))
            if created is not None and stamp is not None:
                call.ended = round((stamp - created).total_seconds(), 3)
            call.cause = cause
            if call.answered is None and channel.get("state") == "Up":
                call.answered = call.ended        # answered and ended before the load saw it (should not happen)
            self._finish(call, outcome_of(call.answered is not None, cause, caller_gave_up,
                                          call.channel in self._cut))

    def _work(self) -> None:
        """The worker: sends each answered caller's half into the sim-caller dialplan (keys, words, its duration)."""
        from ..lab.simulate import CONTEXT
        while True:
            with self._lock:
                while not self._jobs and not self._stop.is_set():
                    self._changed.wait(0.5)
                if not self._jobs:
                    return
                ident = self._jobs.pop(0)
            with contextlib.suppress(NotFound, ClientClosed, ConnectionError, ARIError):
                self._ari.channels.continue_in_dialplan(ident, context=CONTEXT, extension="s", priority=1)

    def _finish(self, call: CallRecord, outcome: str, error: str = "") -> None:
        with self._lock:
            if call.outcome is not None:
                return
            call.outcome = outcome
            if error:
                call.error = error
            self._last_end = time.monotonic()
            self._changed.notify_all()

    # --- watching ----------------------------------------------------------------------------
    @property
    def placed(self) -> int:
        """How many calls were dialled so far."""
        return sum(1 for c in self.calls if c.dialled is not None)

    @property
    def answered(self) -> int:
        """How many calls were answered so far."""
        return sum(1 for c in self.calls if c.answered is not None)

    def wait_answered(self, n: int, timeout: float = 60.0) -> bool:
        """Wait until at least n calls were answered (False after timeout, or when every call is over before)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.answered < n:
                left = deadline - time.monotonic()
                if left <= 0 or all(c.done for c in self.calls):
                    return False
                self._changed.wait(min(left, 0.2))
        return True

    def counts(self) -> dict[str, int]:
        """The outcomes so far (and "in progress")."""
        found = {name: 0 for name in OUTCOMES}
        in_progress = 0
        with self._lock:
            for c in self.calls:
                if c.outcome is None:
                    in_progress += c.dialled is not None
                else:
                    found[c.outcome] += 1
        found["in progress"] = in_progress
        return found

    @property
    def done(self) -> bool:
        """True once every caller has dialled and every call is over."""
        return all(c.done for c in self.calls)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every call's end (default: long enough for the rate, patience and duration); False on timeout."""
        if timeout is None:
            timeout = self.callers / self.rate + self.patience + self.delay + self.duration + 30
        deadline = time.monotonic() + timeout
        with self._lock:
            while not all(c.done for c in self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    def result(self) -> LoadResult:
        """The figures so far (call it after wait(): a call not over yet counts as cut)."""
        end = self._last_end or time.monotonic()
        with self._lock:
            calls = [CallRecord(**asdict(c)) for c in self.calls]
        return summarise(self.app, self.callers, self.rate, calls, max(0.0, end - self._began))

    def run(self, timeout: float | None = None) -> LoadResult:
        """Place every caller, wait for every end (cutting what is left after timeout), close; the figures."""
        try:
            self.start()
            if not self.wait(timeout):
                self.cut()
            return self.result()
        finally:
            self.close()

    def cut(self) -> None:
        """Hang up every call of the load still up (they count as cut) and stop placing new ones."""
        self._stop.set()
        ari = self._ari
        for call in self.calls:
            if call.done:
                continue
            if call.dialled is None or ari is None:
                self._finish(call, NOT_PLACED, error="the load stopped before placing it")
                continue
            with self._lock:
                self._cut.add(call.channel)
            for ident in (call.channel, call.far_channel):
                with contextlib.suppress(Error, ConnectionError):
                    ari.request("DELETE", f"/channels/{ident}")
        if ari is not None and not ari.closed:
            deadline = time.monotonic() + 5
            while not self.done and time.monotonic() < deadline:
                with self._lock:
                    self._changed.wait(0.2)
        for call in self.calls:     # whatever is still unaccounted for was cut
            if not call.done:
                self._finish(call, CUT)

    def close(self) -> None:
        """Hang up whatever is still up, stop the load's threads and close its client."""
        if not self.done:
            self.cut()
        self._stop.set()
        with self._lock:
            self._changed.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)
        if self._ari is not None:
            self._ari.close()

    def __enter__(self) -> "Load":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        counts = self.counts()
        return (f"<Load of {self.callers} callers into {self.app!r}: {self.placed} placed, "
                f"{counts['in progress']} in progress>")


def run_load(app: str, callers: int = 10, rate: float = 5.0, *, timeout: float | None = None,
             **options: Any) -> LoadResult:
    """Place `callers` calls for `app` at `rate` per second, wait for every end and count (see Load for the options)."""
    return Load(app, callers, rate, **options).run(timeout)


# --- the service's side: `serve` processes ------------------------------------------------------------
class ServiceProcess:
    """One ``vicifast-kit serve FILE.py[:app]`` process: its JSON log lines, its app name, SIGTERM and kill -9."""

    def __init__(self, target: str, *, instance: str | None = None, extra: Sequence[str] = (),
                 env: dict[str, str] | None = None, ready_timeout: float = 30.0) -> None:
        self.target = target
        if instance is not None:            # one instance of a shared app (ARI app APP-INSTANCE)
            extra = ["--instance", instance, *extra]
        self.lines: list[dict] = []
        self.other: list[str] = []
        self._serving = threading.Event()
        self._new_line = threading.Condition()
        command = [sys.executable, "-m", "vicifast_kit.cli", "serve", target, "--port", "0", *extra]
        self._stderr = tempfile.TemporaryFile("w+")       # a file, not a pipe: nothing it writes can block it
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"vicifast-load-serve[{self.process.pid}]",
                                        daemon=True)
        self._reader.start()
        deadline = time.monotonic() + ready_timeout
        while not (self._serving.wait(0.1) and self.app):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                self.wait(10)
                error = self.stderr.strip()
                raise LoadError(f"`vicifast-kit serve {target}` did not start"
                                + (f": {error.splitlines()[-1]}" if error else f" within {ready_timeout:g} s")
                                + ": run it by hand to see why")

    @property
    def stderr(self) -> str:
        """What the process wrote on stderr (errors that stopped it from starting)."""
        with contextlib.suppress(ValueError, OSError):
            self._stderr.seek(0)
            return self._stderr.read()
        return ""

    def _read(self) -> None:
        for text in self.process.stdout:
            try:
                line = json.loads(text)
            except ValueError:
                self.other.append(text.rstrip("\n"))
                continue
            with self._new_line:
                self.lines.append(line)
                self._new_line.notify_all()
            if line.get("event") == "serving":
                self._serving.set()
        self._serving.set()             # it ended: nobody waits for a line that will not come
        with self._new_line:
            self._new_line.notify_all()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    @property
    def app(self) -> str:
        """The name of the ARI app it serves."""
        return next((line.get("app") for line in self.lines if line.get("event") == "serving"), "")

    @property
    def instance(self) -> str:
        """The instance id in its log lines."""
        return next((line.get("instance") for line in self.lines if line.get("event") == "serving"), "")

    def events(self, name: str) -> list[dict]:
        """Its log lines of one event (call_started, call_ended, handed_back, stopped ...)."""
        return [line for line in list(self.lines) if line.get("event") == name]

    def wait_for(self, name: str, where: Callable[[dict], bool] | None = None, timeout: float = 10.0) -> dict:
        """The first log line of event `name` (that `where` accepts), waiting for it up to `timeout` s."""
        def found() -> dict | None:
            return next((line for line in self.lines if line.get("event") == name and (where is None or where(line))),
                        None)

        with self._new_line:
            if not self._new_line.wait_for(lambda: found() is not None or self.process.poll() is not None, timeout):
                raise LoadError(f"`vicifast-kit serve {self.target}` wrote no {name!r} line within {timeout:g} s")
            line = found()
        if line is None:
            raise LoadError(f"`vicifast-kit serve {self.target}` ended without a {name!r} line")
        return line

    def terminate(self) -> None:
        """SIGTERM: the service drains (new calls to the fallback, the calls in progress finish)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """kill -9: the process dies at once, its calls are left where they are."""
        if self.process.poll() is None:
            self.process.kill()

    def wait(self, timeout: float = 90.0) -> int:
        """Wait for the process to end (killed after timeout); its exit code."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.wait(10)
        self._reader.join(5)
        with contextlib.suppress(Exception):
            self.process.stdout.close()
        return code

    def close(self) -> None:
        """Kill it if it still runs, and forget its stderr file."""
        self.kill()
        self.wait(10)
        with contextlib.suppress(Exception):
            self._stderr.close()

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM and wait for the end of the drain (kill -9 after timeout); the exit code."""
        self.terminate()
        return self.wait(timeout)

    def __repr__(self) -> str:
        state = "running" if self.process.poll() is None else f"ended ({self.process.returncode})"
        return f"<ServiceProcess {self.target} app {self.app!r} pid {self.pid} {state}>"


def calls_handled_twice(services: Iterable[ServiceProcess]) -> list[str]:
    """Calls whose handler returned normally (outcome done) on more than one instance, or twice on one (their logs).

    A handler that starts on a call another instance has just finished ends at once with outcome hung_up: that
    call was not handled twice, and is not counted.
    """
    seen: dict[str, int] = {}
    for service in services:
        for line in service.events("call_ended"):
            if line.get("outcome") == "done" and line.get("call"):
                seen[line["call"]] = seen.get(line["call"], 0) + 1
    return sorted(call for call, n in seen.items() if n > 1)


# --- the command line ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `load` subcommand's arguments (on the parser given)."""
    parser.add_argument("target", nargs="?", metavar="FILE.py[:app]",
                        help="a service file: the load starts it in `serve` processes itself (else give --app)")
    parser.add_argument("--app", help="the ARI app of a service already running (instead of FILE.py)")
    parser.add_argument("--callers", type=int, default=10, help="how many calls to place (default 10)")
    parser.add_argument("--rate", type=float, default=5.0, help="calls placed per second (default 5)")
    parser.add_argument("--say", action="append", help="what each caller says after its keys (repeatable)")
    parser.add_argument("--dtmf", default="", help="the keys each caller presses after --delay")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds after the answer before the keys (1)")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds on the line after the answer before the caller hangs up (30)")
    parser.add_argument("--patience", type=float, default=20.0, help="seconds a caller lets it ring (20)")
    parser.add_argument("--number", default="5551234", help="the number dialled (default 5551234)")
    parser.add_argument("--context", help="the dialplan context dialled (default service; service-shared with "
                                          "--shared or several --instances)")
    parser.add_argument("--instances", type=int, default=1,
                        help="serve processes to start with FILE.py (1); more than one share the calls")
    parser.add_argument("--shared", action="store_true",
                        help="the app's instances share the calls (serve --instance): dial service-shared")
    parser.add_argument("--max-calls", type=int, help="each started instance's max_calls")
    parser.add_argument("--url", help="ARI's address (default: ARI_URL, else the lab's)")
    parser.add_argument("--user", help="ARI user (default: ARI_USER, else the lab's)")
    parser.add_argument("--password", help="ARI password (default: ARI_PASSWORD, else the lab's)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    return parser


def _fail(text: str) -> int:
    print(f"{PREFIX}: {text}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run a load from the command line: start the service if given a file, place the callers, print the figures."""
    if bool(args.target) == bool(args.app):
        return _fail("give a service file to start (FILE.py[:app]) or the app of a running service (--app NAME), "
                     "not both")
    if args.instances < 1:
        return _fail(f"--instances is how many serve processes to start: 1 or more (not {args.instances})")
    connection = {"url": args.url, "user": args.user, "password": args.password}
    services: list[ServiceProcess] = []
    load: Load | None = None
    shared = args.shared or args.instances > 1
    try:
        app = args.app
        if args.target:
            extra = [f"--{k}={v}" for k, v in connection.items() if v is not None]
            if args.max_calls is not None:
                extra.append(f"--max-calls={args.max_calls}")
            for n in range(args.instances):
                instance = chr(ord("a") + n) if n < 26 else f"i{n}"
                services.append(ServiceProcess(args.target, extra=extra,
                                               instance=instance if shared else None))
            app = services[0].app
        load = Load(app, args.callers, args.rate, number=args.number, say=args.say, dtmf=args.dtmf,
                    delay=args.delay, duration=args.duration, patience=args.patience, shared=shared,
                    context=args.context,
                    **connection)
        result = load.run()
    except Error as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        if load is not None:
            load.close()
        print(f"{PREFIX}: interrupted; every call it placed is hung up", file=sys.stderr)
        return 130
    finally:
        for service in services:
            service.stop()
            service.close()
    if args.json:
        figures = result.as_dict()
        if services:
            figures["handled_twice"] = calls_handled_twice(services)
            figures["instances"] = {s.instance: len(s.events("call_ended")) for s in services}
        print(json.dumps(figures))
    else:
        print(result)
        print(result.table())
        for service in services:
            print(f"instance {service.instance}: {len(service.events('call_ended'))} call(s) ended by its handler")
        twice = calls_handled_twice(services)
        if twice:
            print(f"handled twice: {', '.join(twice)}")
    return 0
