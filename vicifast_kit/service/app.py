"""vk.App: a call flow run as a service — one handler per call, each in its own thread, at most max_calls at once.

The App owns one ARI client on its app name. Calls arrive as StasisStart; each accepted call runs the
handler (``@app.call``) on a thread of its own (named ``vicifast-app-call[APP:CHANNEL]``). A call the
App will not take (over ``max_calls``, or while it drains before stopping) is handed back to the
dialplan at the label ``fallback`` of the call's own context and extension (``hand_back``), so the
caller is never left ringing. Started again, the App finds the calls still parked in its app (a
stopped or killed instance leaves them there: ARI keeps a call in Stasis while no websocket is open
for its app) and runs the handler for each with ``call.resumed == True``.

Nothing here blocks the client's websocket reader or its dispatcher: the StasisStart handler only
decides and starts a thread; requests (hand-backs, the resume scan) run on the App's control thread.
Observers (``app.observe(fn)``) see every step (``fn(kind, fields)``): vicifast_kit.service's JSON logs
and metrics are observers; so can a test plugin or a load generator be.

Several instances (``vk.App("ivr", shared=True, instance="a")``, ``vicifast-kit serve FILE --instance a``)
share the calls through Asterisk alone (vicifast_kit.service.shared): each registers its own ARI app
``ivr-a``; the dialplan's ``StasisBroadcast()`` offers each call to every ``ivr-*`` app and the first
claim wins. A killed instance's calls are taken over by a live one (``call.taken_over``).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..client import ARIClient, connect
from ..errors import ARIError, CallEnded, ClientClosed, Error, NotFound
from ..events import RECONNECTED, Event
from ..handles import Channel
from .errors import ServiceError
from .shared import INSTANCE_PATTERN, Sharing, instance_app, safe_instance

log = logging.getLogger("vicifast_kit.service")
#: The logger of the handlers' own lines (``call.log``).
call_log = logging.getLogger("vicifast_kit.service.call")

#: The id of the call the current thread handles (None elsewhere): log lines written on a call's thread carry it.
current_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("vicifast_current_call", default=None)

#: How a call can end for the App (the ``outcome`` of logs and of the metric vicifast_app_calls_handled_total):
#: done (the handler returned), hung_up (the caller left while the handler ran), error (the handler raised;
#: the call was handed to the fallback), busy (over max_calls: handed to the fallback at once), draining
#: (arrived while the instance was stopping: to the fallback), left (still running when the drain ended).
OUTCOMES = ("done", "hung_up", "error", "busy", "draining", "left")
#: What stop() does with a call whose handler still runs when the drain's time is up.
LEFT_CALLS = ("leave", "fallback", "hangup")
#: Channels the kit's helpers put in an app (snoops, media): never calls, and orphans once their maker is gone.
HELPER_CHANNELS = ("Snoop/", "WebSocket/", "UnicastRTP/", "AudioSocket/")
#: The states of an App, in order.
STATES = ("stopped", "starting", "serving", "draining")


def default_instance() -> str:
    """An id for this instance of an app: host name, process id and a short random part (``host-1234-ab12``)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def stasis_args(channel_raw: dict) -> list[str]:
    """The arguments a channel entered its app with, read from its dialplan (Stasis ``ivr,service,555`` or StasisBroadcast ``2000,^ivr-,service:555`` -> [service, 555])."""
    dialplan = channel_raw.get("dialplan") or {}
    app_name = str(dialplan.get("app_name", "")).lower()
    data = str(dialplan.get("app_data", ""))
    if app_name == "stasis":
        return [a for a in data.split(",")[1:]]
    if app_name == "stasisbroadcast":
        parts = data.split(",")
        return parts[2].split(":") if len(parts) > 2 and parts[2] else []
    return []


@dataclass
class LeftCall:
    """A call an App left when it stopped: its channel id and name, and what was done with it."""

    id: str
    name: str
    how: str

    def __str__(self) -> str:
        return f"{self.id} ({self.name}) {self.how}"


@dataclass
class StopSummary:
    """What stop() returns (and ``vicifast-kit serve`` prints last): the calls handled by outcome, and those left."""

    app: str
    instance: str
    handled: dict[str, int] = field(default_factory=dict)
    left: list[LeftCall] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many calls this run of the App dealt with (every outcome, the left ones too)."""
        return sum(self.handled.values())

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.handled.items() if n)
        text = f"app {self.app!r} (instance {self.instance}) stopped: {self.total} call(s)"
        text += f" ({counts})" if counts else ""
        if self.left:
            text += f"; left {len(self.left)}: " + "; ".join(map(str, self.left))
        else:
            text += "; left none"
        return text


class _NoEvents:
    """An EventSource that delivers nothing: a client made with it makes requests only (and registers no app)."""

    def __init__(self) -> None:
        self.state = "connected"

    def start(self, deliver: Callable[[dict], Any], on_state: Callable[[bool], Any]) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to stop."""
        self.state = "disconnected"


class _Running:
    """One call whose handler runs: its handle, thread and start time."""

    __slots__ = ("call", "thread", "started", "left")

    def __init__(self, call: Channel, thread: threading.Thread) -> None:
        self.call, self.thread, self.started, self.left = call, thread, time.monotonic(), False


class App:
    """A call flow run as a service: ``@app.call`` marks the handler of one call; ``run()``, or ``start()``/``stop()``.

    ``name`` is the ARI application (the dialplan's ``Stasis(name, ...)``). At most ``max_calls``
    handlers run at once; a call beyond that is handed back to the dialplan's fallback. ``stop()``
    drains: new calls go to the fallback, calls in progress get ``drain_timeout`` seconds to finish,
    then each one left is left in the app for the next instance to resume (``left_calls="leave"``),
    sent to the fallback (``"fallback"``) or hung up (``"hangup"``). ``fallback`` is the dialplan label
    (in the call's own context and extension) a handed-back call continues at, or a function
    ``fallback(call)`` that does the hand-back itself. ``accept(call)`` says whether a channel entering
    the app is a call for the handler (default: all, but the kit's own media and snoop channels): let
    it refuse the channels your handler brings into the app itself (e.g. by their ``call.args``).
    ``url``/``user``/``password`` as for vk.connect (default: the settings, ARI_URL, ...).

    ``shared=True``: this is one of several instances of the app, sharing its calls (vicifast_kit.service.shared):
    it registers the ARI app ``NAME-INSTANCE`` (``instance`` default: host, pid and a random part), claims
    the calls the dialplan's ``StasisBroadcast(...,^NAME-,...)`` offers while it has room, pings the other
    instances every ``check_every`` s and takes over the calls of one silent for ``takeover_after`` s
    (its handler runs with ``call.resumed`` True and ``call.taken_over`` the dead app's name).
    """

    def __init__(self, name: str, *, max_calls: int = 10, drain_timeout: float = 30.0,
                 fallback: str | Callable[[Channel], Any] = "fallback",
                 accept: Callable[[Channel], bool] | None = None, resume: bool = True, left_calls: str = "leave",
                 instance: str | None = None, url: str | None = None, user: str | None = None,
                 password: str | None = None, shared: bool = False, check_every: float = 1.0,
                 takeover_after: float = 3.0) -> None:
        if not isinstance(name, str) or not name.strip() or "," in name:
            raise ServiceError(f"An App's name is its ARI application name, a non-empty text without commas "
                               f"(not {name!r}): e.g. vk.App(\"ivr\")")
        if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
            raise ServiceError(f"max_calls is how many calls the App handles at once: a whole number of 1 or more "
                               f"(not {max_calls!r})")
        if not isinstance(drain_timeout, (int, float)) or drain_timeout < 0:
            raise ServiceError(f"drain_timeout is in seconds, 0 or more (not {drain_timeout!r})")
        if left_calls not in LEFT_CALLS:
            raise ServiceError(f"left_calls is one of {', '.join(map(repr, LEFT_CALLS))} (not {left_calls!r})")
        for what, value in (("check_every", check_every), ("takeover_after", takeover_after)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ServiceError(f"{what} is in seconds, more than 0 (not {value!r})")
        if not (callable(fallback) or (isinstance(fallback, str) and fallback)):
            raise ServiceError("fallback is a dialplan label (e.g. \"fallback\") or a function fallback(call)")
        self.name = name
        self.max_calls = max_calls
        self.drain_timeout = float(drain_timeout)
        self.fallback = fallback
        self.accept = accept
        self.resume = resume
        self.left_calls = left_calls
        #: True: one of several instances sharing the calls (ARI app NAME-INSTANCE, StasisBroadcast claims).
        self.shared = bool(shared)
        self.check_every = float(check_every)
        self.takeover_after = float(takeover_after)
        #: This instance's id, in every log line and in the metrics' vicifast_app_info.
        self.instance = instance or (safe_instance(default_instance()) if shared else default_instance())
        self._sharing: Sharing | None = None
        self._connection = {"url": url, "user": user, "password": password}
        self._settings: dict[str, str | None] = dict(self._connection)
        self._handler: Callable[[Channel], Any] | None = None
        self._on_start: list[Callable[[ARIClient], Any]] = []
        self._on_stop: list[Callable[[ARIClient], Any]] = []
        self._observers: list[Callable[[str, dict], Any]] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._state = "stopped"
        self._ari: ARIClient | None = None
        self._running: dict[str, _Running] = {}
        self._seen: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._jobs: queue.Queue = queue.Queue()
        self._control: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_requested = threading.Event()
        self._hurry = threading.Event()
        self._draining = False
        self._replaced = False
        self._counts: collections.Counter = collections.Counter()
        self._summary: StopSummary | None = None
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def ari_app(self) -> str:
        """The ARI application this instance registers: the App's name, or NAME-INSTANCE when shared."""
        return instance_app(self.name, self.instance) if self.shared else self.name

    def _check_instance(self) -> None:
        if self.shared and not INSTANCE_PATTERN.match(str(self.instance)):
            raise ServiceError(f"A shared App's instance becomes part of its ARI app name ({self.name}-INSTANCE): "
                               f"letters, digits, '_', '.' and inner '-' only (not {self.instance!r}), e.g. "
                               "instance=\"a\"")

    # --- declaring the flow ------------------------------------------------------------------
    def call(self, fn: Callable[[Channel], Any]) -> Callable[[Channel], Any]:
        """Decorator: ``@app.call def handle(call): ...`` is run for each call (a Channel handle), on a thread of its own."""
        if not callable(fn):
            raise ServiceError("@app.call decorates the function that handles one call: def handle(call): ...")
        if self._handler is not None and self._handler is not fn:
            raise ServiceError(f"App {self.name!r} has a call handler already ({self._handler.__name__}): "
                               "one App runs one handler; route inside it, or make another App")
        self._handler = fn
        return fn

    @property
    def handler(self) -> Callable[[Channel], Any] | None:
        """The function ``@app.call`` marked (None until then)."""
        return self._handler

    def on_start(self, fn: Callable[[ARIClient], Any]) -> Callable[[ARIClient], Any]:
        """Decorator: fn(ari) runs once connected, before the first call (make what the calls share, e.g. a queue bridge)."""
        self._on_start.append(fn)
        return fn

    def on_stop(self, fn: Callable[[ARIClient], Any]) -> Callable[[ARIClient], Any]:
        """Decorator: fn(ari) runs when the drain is over, while the client still works (remove what on_start made)."""
        self._on_stop.append(fn)
        return fn

    def observe(self, fn: Callable[[str, dict], Any]) -> Callable[[], None]:
        """Call fn(kind, fields) at each step (started, call_started, call_ended, handed_back, ...); returns its remover."""
        self._observers = self._observers + [fn]

        def remove() -> None:
            self._observers = [f for f in self._observers if f is not fn]
        return remove

    # --- what it is doing ----------------------------------------------------------------------
    @property
    def state(self) -> str:
        """"stopped", "starting", "serving" or "draining"."""
        return self._state

    @property
    def draining(self) -> bool:
        """True once stop() or a signal began the drain: no new call is taken."""
        return self._draining

    @property
    def ari(self) -> ARIClient | None:
        """The App's ARI client while it runs (None when stopped)."""
        return self._ari

    @property
    def calls(self) -> list[Channel]:
        """The calls whose handler runs now."""
        with self._lock:
            return [r.call for r in self._running.values()]

    @property
    def calls_active(self) -> int:
        """How many handlers run now."""
        return len(self._running)

    @property
    def counts(self) -> dict[str, int]:
        """Calls dealt with since the last start(), by outcome (see OUTCOMES)."""
        with self._lock:
            return {outcome: self._counts.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def threads(self) -> list[threading.Thread]:
        """The threads this App started and that still run (its control thread, the calls' threads)."""
        found = [self._control] if self._control is not None else []
        if self._sharing is not None:
            found += self._sharing.threads
        with self._lock:
            found += self._threads
        return [t for t in found if t.is_alive()]

    def health(self) -> dict[str, Any]:
        """What /healthz says: ``status`` is "ok" while the App takes calls, else why not (starting, draining, ...)."""
        state = self._state
        if state == "serving" and self._replaced:
            status = "replaced"
        elif state == "serving" and self._ari is not None and not self._ari.connected:
            status = "reconnecting"
        elif state == "serving":
            status = "ok"
        else:
            status = state
        report = {"status": status, "app": self.name, "instance": self.instance, "calls_active": self.calls_active,
                  "max_calls": self.max_calls}
        if self.shared:
            report["ari_app"] = self.ari_app
        return report

    def __repr__(self) -> str:
        return (f"<App {self.name!r} {self._state}, {self.calls_active}/{self.max_calls} calls, "
                f"instance {self.instance}>")

    # --- starting ---------------------------------------------------------------------------------
    def start(self, *, url: str | None = None, user: str | None = None, password: str | None = None) -> "App":
        """Connect (as vk.connect; the App's own url/user/password by default) and take calls in the background."""
        __tracebackhide__ = True
        if self._handler is None:
            raise ServiceError(f"App {self.name!r} has no call handler: decorate the function that handles one "
                               "call with @app.call (def handle(call): ...)")
        self._check_instance()
        with self._lock:
            if self._state != "stopped":
                raise ServiceError(f"App {self.name!r} is {self._state} already: stop() it before starting it again")
            self._state = "starting"
            self._stopped.clear()
        given = {"url": url, "user": user, "password": password}
        settings = {k: given[k] if given[k] is not None else self._connection[k] for k in given}
        try:
            ari = connect(self.ari_app, **settings)
        except BaseException:
            self._set_stopped()
            raise
        self._ari = ari
        self._settings = settings
        self._counts = collections.Counter()
        self._seen = set()
        self._summary = None
        self._draining = self._replaced = False
        self._ready.clear()
        self._stop_requested.clear()
        self._hurry.clear()
        self._jobs = queue.Queue()
        self._control = threading.Thread(target=self._control_loop, name=f"vicifast-app-control[{self.name}]",
                                         daemon=True)
        self._control.start()
        ari.on("StasisStart", self._on_stasis_start)
        ari.on("StasisEnd", self._on_stasis_end)
        ari.on("ApplicationReplaced", self._on_replaced)
        ari.on(RECONNECTED, lambda ev: self._jobs.put(("resume", False)))
        try:
            for hook in self._on_start:
                hook(ari)
        except BaseException as error:
            self.emit("start_failed", level=logging.ERROR,
                       message=f"on_start hook {getattr(hook, '__name__', hook)} failed: {error}")
            self._shutdown_quietly()
            raise
        with self._lock:
            self._state = "serving"
        self._ready.set()
        if self.shared:
            self._sharing = Sharing(self, ari)
        self.emit("started", message=f"App {self.name!r} takes calls (at most {self.max_calls} at once) as "
                   f"instance {self.instance}, ARI {ari.url}"
                   + (f", shared: ARI app {self.ari_app!r} claims the calls broadcast to {self.name}-*"
                      if self.shared else ""), max_calls=self.max_calls, url=ari.url, ari_app=self.ari_app,
                   shared=self.shared)
        if self.resume:
            self._resume(orphans=True)
        return self

    def _set_stopped(self) -> None:
        with self._lock:
            self._state = "stopped"
            self._stopped.set()
            self._changed.notify_all()

    def _shutdown_quietly(self) -> None:
        """Undo a start() that failed half-way: no thread, no client left."""
        self._stop_sharing()
        self._jobs.put(None)
        if self._ari is not None:
            self._ari.close()
        if self._control is not None and self._control is not threading.current_thread():
            self._control.join(5)
        self._ari = None
        self._set_stopped()
        self._ready.set()           # a call admitted meanwhile ends its thread at once (see _run_call)

    def _stop_sharing(self) -> None:
        sharing, self._sharing = self._sharing, None
        if sharing is not None:
            sharing.stop()

    def room_for_claim(self, pending: int) -> str | None:
        """None if this instance has room for one more call (counting the claims in flight), else why not."""
        if self._draining or self._state != "serving":
            return "draining" if self._draining else self._state
        if self._replaced:
            return "replaced"
        if len(self._running) + pending >= self.max_calls:
            return "busy"
        return None

    def __enter__(self) -> "App":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- calls arriving (dispatcher thread: decide, start a thread, return) ------------------------------
    def _on_stasis_start(self, ev: Event) -> None:
        if ev.internal:
            return
        sharing = self._sharing
        taken_over = sharing.admitted(ev.channel.id) if sharing is not None else None
        self._admit(ev.channel, list(ev.raw.get("args") or []), resumed=taken_over is not None,
                    taken_over=taken_over)

    def _on_stasis_end(self, ev: Event) -> None:
        channel = ev.raw.get("channel") or {}
        with self._lock:
            self._seen.discard(channel.get("id"))

    def _on_replaced(self, ev: Event) -> None:
        self._replaced = True
        self.emit("replaced", level=logging.WARNING,
                   message=f"Another program opened ARI app {self.ari_app!r} (a second instance, a notebook): this "
                           "instance gets no more calls or events. Stop one of them, or give each its own app name.")

    def _prepare(self, channel: Channel, args: list[str], resumed: bool, taken_over: str | None = None) -> Channel:
        """The call handle the handler gets: the channel, with resumed, taken_over, args, number, app and log."""
        channel.resumed = resumed
        channel.taken_over = taken_over
        channel.lost = False
        channel.args = args
        channel.number = str((channel.raw.get("dialplan") or {}).get("exten", "")) or (args[1] if len(args) > 1 else "")
        channel.app = self
        channel.log = logging.LoggerAdapter(call_log, {"service": {"app": self.name, "instance": self.instance,
                                                                   "call": channel.id}})
        return channel

    def _admit(self, channel: Channel, args: list[str], resumed: bool, taken_over: str | None = None) -> None:
        """A channel entered the app (or was found there): run the handler for it, or hand it back."""
        reason = None
        with self._lock:
            if channel.id in self._seen or self._ari is None:
                return
            self._seen.add(channel.id)
            call = self._prepare(channel, args, resumed, taken_over)
            if self.accept is not None:
                try:
                    if not self.accept(call):
                        return
                except Exception:
                    log.exception("accept(%r) failed: the channel is left to the rest of the program", call)
                    return
            if self._draining or self._state != "serving" and self._state != "starting":
                reason = "draining"
            elif len(self._running) >= self.max_calls:
                reason = "busy"
            else:
                thread = threading.Thread(target=self._run_call, args=(call,), daemon=True,
                                          name=f"vicifast-app-call[{self.name}:{call.id}]")
                self._running[call.id] = _Running(call, thread)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
        if reason is not None:
            self._jobs.put(("hand_back", call, reason))

    # --- one call (its own thread) ---------------------------------------------------------------
    def _run_call(self, call: Channel) -> None:
        current_call.set(call.id)
        self._ready.wait()
        if self._state == "stopped":        # the start failed (an on_start hook): the call stays where it is
            with self._lock:
                self._running.pop(call.id, None)
            return
        started = time.monotonic()
        caller = call.raw.get("caller") or {}
        self.emit("call_started", call, message=f"Call {call.id} from {caller.get('number') or 'unknown'} to "
                   f"{call.number or '?'}{' (resumed)' if call.resumed else ''}"
                   f"{f' (taken over from {call.taken_over})' if call.taken_over else ''}", resumed=call.resumed,
                   taken_over=call.taken_over,
                   number=call.number, caller=caller.get("number", ""), channel=call.raw.get("name", ""))
        outcome, result, failure = "done", None, None
        try:
            result = self._handler(call)
        except CallEnded:
            outcome = "hung_up"
        except Exception as error:      # the handler's own error: logged, and the caller sent to the fallback
            failure = error
            ari = self._ari
            ended = ari is not None and not ari.closed and ari.context.events.ended(call.id)[0]
            outcome = "hung_up" if ended else "error"       # a call that ended under the handler: the caller left
        with self._lock:
            record = self._running.get(call.id)
            left = record is not None and record.left
        if left:                        # stop() has reported it already
            with self._lock:
                self._running.pop(call.id, None)
                self._changed.notify_all()
            return
        seconds = time.monotonic() - started
        if outcome == "error":
            self.emit("call_failed", call, level=logging.ERROR, exc_info=failure,
                       message=f"The handler failed on call {call.id}: {type(failure).__name__}: {failure}; "
                               "the caller goes to the fallback")
            self.hand_back(call, reason="error", count=False)
        with self._lock:
            self._running.pop(call.id, None)
            self._counts[outcome] += 1
            self._changed.notify_all()
        self.emit("call_ended", call, message=f"Call {call.id} {outcome} after {seconds:.1f} s"
                   + (f": {result}" if result is not None else ""), outcome=outcome, seconds=round(seconds, 3),
                   result=None if result is None else str(result), resumed=call.resumed)

    def hand_back(self, call: Channel, reason: str = "handed back", *, count: bool = True) -> bool:
        """Send a call back to the dialplan: to the label ``fallback`` of its context and extension; False if it had ended.

        ARI: POST /channels/{id}/continue (context, extension, label); if the dialplan has no such label,
        DELETE /channels/{id} with reason congestion (cause 34), so the caller is never left waiting.
        """
        dialplan = call.raw.get("dialplan") or {}
        how = "to the fallback"
        try:
            if callable(self.fallback):
                self.fallback(call)
                how = f"to {getattr(self.fallback, '__name__', 'the fallback')}()"
            else:
                try:
                    call.continue_in_dialplan(context=dialplan.get("context"), extension=dialplan.get("exten"),
                                              label=self.fallback)
                    how = f"to {dialplan.get('context')},{dialplan.get('exten')},{self.fallback}"
                except CallEnded:
                    raise
                except ARIError as error:
                    log.warning("No dialplan label %r for call %s (%s): hanging it up with cause 34 instead",
                                self.fallback, call.id, error, extra=self._extra("hand_back_failed", call))
                    call.hangup(reason="congestion")
                    how = "hung up (congestion, cause 34): the dialplan has no fallback label"
        except (NotFound, ClientClosed):
            return False
        finally:
            if count and reason in OUTCOMES:
                with self._lock:
                    self._counts[reason] += 1
        self.emit("handed_back", call, message=f"Call {call.id} handed back ({reason}) {how}", outcome=reason,
                   how=how)
        return True

    # --- the control thread: requests that must not run on the dispatcher ---------------------------
    def _control_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if job[0] == "hand_back":
                    self.hand_back(job[1], reason=job[2])
                elif job[0] == "resume":
                    self._resume(orphans=job[1])
            except Exception:
                log.exception("The App's control thread could not do %s (it goes on)", job[0],
                              extra=self._extra("control_failed"))

    def _resume(self, orphans: bool) -> None:
        """Take the calls already in the app (a previous instance's, or ones whose StasisStart was missed): resumed=True.

        With ``orphans``, the kit's helper channels found there (snoops, media of a handler that is gone)
        are hung up: nothing uses them any more.
        """
        ari = self._ari
        if ari is None or ari.closed:
            return
        try:
            ids = ari.request("GET", f"/applications/{self.ari_app}").get("channel_ids") or []
        except Error as error:
            log.warning("Could not list the calls already in app %s: %s", self.ari_app, error,
                        extra=self._extra("resume_failed"))
            return
        if self.shared and not orphans:        # back after a drop: did another instance take calls over meanwhile?
            self._note_lost(set(ids))
        found = 0
        for ident in ids:
            with self._lock:
                if ident in self._seen:
                    continue
            try:
                raw = ari.request("GET", f"/channels/{ident}")
            except NotFound:
                continue
            except Error as error:
                log.warning("Could not read channel %s of app %s: %s", ident, self.ari_app, error,
                            extra=self._extra("resume_failed"))
                continue
            if str(raw.get("name", "")).startswith(HELPER_CHANNELS):
                if orphans:
                    with contextlib.suppress(Error):
                        ari.request("DELETE", f"/channels/{ident}")
                    self.emit("orphan_removed", message=f"Hung up {raw.get('name')}: a helper channel whose "
                               "handler is gone", channel=raw.get("name"))
                continue
            found += 1
            self._admit(ari.context.wrap("Channel", raw), stasis_args(raw), resumed=True)
        if found:
            self.emit("resumed", message=f"Found {found} call(s) already in app {self.ari_app!r}: each handed to the "
                       "handler with call.resumed True", calls=found)
        self.emit("resume_scan", level=logging.DEBUG, message=f"Looked for calls already in app {self.ari_app!r}: "
                   f"{len(ids)} channel(s) there, {found} new to this instance", channels=len(ids), calls=found)

    def _note_lost(self, in_app: set[str]) -> None:
        """Warn about running calls no longer in this instance's app: a peer took them over while our websocket was down."""
        with self._lock:
            lost = [r.call for r in self._running.values() if r.call.id not in in_app and not r.left
                    and not getattr(r.call, "lost", False)]
            for call in lost:
                call.lost = True
        for call in lost:
            self.emit("call_lost", call, level=logging.WARNING,
                       message=f"Call {call.id} is no longer in app {self.ari_app!r}: another instance took it over "
                               f"while this one's websocket was down (over {self.takeover_after:g} s); its handler "
                               "here still runs: check call.lost before touching the call")

    # --- stopping ------------------------------------------------------------------------------------
    def request_stop(self, why: str = "") -> None:
        """Ask the App to stop (what a signal does; safe from a signal handler): new calls go to the fallback; wait() returns."""
        first = not self._stop_requested.is_set()
        self._draining = True
        self._stop_requested.set()
        if first and why:
            self.emit("stop_requested", message=f"{why}: draining (new calls go to the fallback)", why=why)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until request_stop() (a signal, Ctrl-C) or stop(); True if asked to stop, False after timeout s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._stop_requested.is_set():
                if self._state == "stopped":
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._stop_requested.wait(1.0 if remaining is None else min(remaining, 1.0))
        except KeyboardInterrupt:       # Ctrl-C with no signal handler of ours (not the main thread's run())
            self.request_stop("Ctrl-C")
        return True

    def run(self, *, url: str | None = None, user: str | None = None, password: str | None = None) -> StopSummary:
        """Start, take calls until Ctrl-C or SIGTERM, then drain and stop (a second signal stops at once); returns the summary."""
        __tracebackhide__ = True
        with stop_on_signals(self):
            self.start(url=url, user=user, password=password)
            try:
                self.wait()
            finally:
                summary = self.stop()
        return summary

    def stop(self, drain_timeout: float | None = None) -> StopSummary:
        """Drain and stop: new calls go to the fallback; calls in progress get drain_timeout s (default: the App's)."""
        with self._lock:
            if self._state == "stopped":
                return self._summary or StopSummary(self.name, self.instance, self.counts, [])
            busy = self._state == "draining"
            self._state = "draining"
        if busy:                        # another thread stops it: wait for that
            self._stopped.wait()
            return self._summary or StopSummary(self.name, self.instance, self.counts, [])
        self._draining = True
        self._stop_requested.set()
        timeout = self.drain_timeout if drain_timeout is None else float(drain_timeout)
        in_progress = [c.id for c in self.calls]
        self.emit("draining", message=f"Draining: new calls go to the fallback; {len(in_progress)} call(s) in "
                   f"progress get up to {timeout:g} s", calls=in_progress, timeout=timeout)
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._running and not self._hurry.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.25))
            records = list(self._running.values())
            for record in records:
                record.left = True
                self._counts["left"] += 1
        ari = self._ari
        for hook in self._on_stop:
            try:
                hook(ari)
            except Exception:
                log.exception("on_stop hook %s failed (the App stops anyway)", getattr(hook, "__name__", hook),
                              extra=self._extra("stop_hook_failed"))
        # No new call can reach an app whose websocket is closed (the dialplan's Stasis() fails to its fallback);
        # the calls that arrived before are all admitted (flush), and their hand-backs done (the control thread).
        self._stop_sharing()            # no more claims, pongs or takeovers: the peers take over what is left here
        if ari is not None:
            with contextlib.suppress(Exception):
                ari.event_source.close()
            with contextlib.suppress(Exception):
                ari.flush(timeout=5)
        self._jobs.put(None)
        if self._control is not None:
            self._control.join(10)
        if ari is not None:
            ari.close()             # from here a handler still running gets ClientClosed: it can no longer touch its call
        left = self._leave([r.call for r in records])
        for item in left:
            self.emit("call_left", item.id, level=logging.WARNING, message=f"Left call {item}", how=item.how,
                       outcome="left")
        for thread in list(self._threads):
            thread.join(2)
            if thread.is_alive():
                log.warning("The handler thread %s still runs (it waits on something that is not the kit's): it is "
                            "daemonic and ends with the process", thread.name, extra=self._extra("thread_left"))
        self._ari = None
        self._summary = StopSummary(self.name, self.instance, self.counts, left)
        self.emit("stopped", level=logging.WARNING if left else logging.INFO, message=str(self._summary),
                   handled=self._summary.handled, left=[vars(item) for item in left])
        self._set_stopped()
        return self._summary

    def _leave(self, calls: list[Channel]) -> list[LeftCall]:
        """What stop() does with the calls still being handled when the drain is over (the App's client is closed)."""
        if not calls:
            return []
        if self.left_calls == "leave":
            how = (f"left in app {self.ari_app!r}: another instance takes it over, or the next start of this one "
                   "resumes it (call.resumed True)" if self.shared else
                   f"left in app {self.ari_app!r}: the next start of the app resumes it (call.resumed True)")
            return [LeftCall(c.id, c.raw.get("name", ""), how) for c in calls]
        # A client of requests only (no events, no app registered): the handlers' own client is closed, so
        # a handler that still runs cannot hang up the call it has lost (or answer it) after this.
        try:
            ari = connect(self.ari_app, event_source=_NoEvents(), **self._settings)
        except Error as error:
            how = f"left in app {self.ari_app!r} (could not reach ARI to {self.left_calls} it: {error})"
            return [LeftCall(c.id, c.raw.get("name", ""), how) for c in calls]
        left = []
        try:
            for call in calls:
                mine = ari.context.wrap("Channel", call.raw)
                if self.left_calls == "fallback":
                    how = "handed back to the dialplan's fallback" if self.hand_back(mine, "left", count=False) \
                        else "had ended"
                else:
                    try:
                        mine.hangup()
                        how = "hung up"
                    except NotFound:
                        how = "had ended"
                left.append(LeftCall(call.id, call.raw.get("name", ""), how))
        finally:
            ari.close()
        return left

    # --- telling observers and logs ------------------------------------------------------------------
    def _extra(self, event: str, call: Channel | str | None = None, **fields: Any) -> dict:
        ident = call.id if isinstance(call, Channel) else call
        return {"service": {"event": event, "app": self.name, "instance": self.instance, "call": ident, **fields}}

    def emit(self, kind: str, call: Channel | str | None = None, *, message: str, level: int = logging.INFO,
              exc_info: BaseException | None = None, **fields: Any) -> None:
        """One step: a log line (logger vicifast_kit.service) and each observer's fn(kind, fields)."""
        extra = self._extra(kind, call, **fields)
        log.log(level, "%s", message, extra=extra,
                exc_info=(type(exc_info), exc_info, exc_info.__traceback__) if exc_info is not None else None)
        for observer in self._observers:
            try:
                observer(kind, dict(extra["service"], message=message))
            except Exception:
                log.exception("Observer %r failed on %s (the App goes on)", observer, kind)


@contextlib.contextmanager
def stop_on_signals(app: App) -> Iterator[None]:
    """While inside: SIGTERM or Ctrl-C (SIGINT) asks the app to stop (drain); a second one stops it at once (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if app._stop_requested.is_set():
            app._hurry.set()
            app.emit("hurry", level=logging.WARNING, message=f"{name} again: stopping now, without waiting for the "
                      "calls in progress")
        else:
            app.request_stop(name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
