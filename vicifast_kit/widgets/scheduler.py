"""One scheduler per client: the one thread that sends every widget's changes (and audio) to the page.

Events never touch a widget: they are folded into plain models and the widget is *marked*. The
scheduler, one named daemon thread per client (``vicifast-widgets[app]``, started by the first
widget, ended when the last one closes or the client closes), then runs each marked widget's
``apply()`` at most ``rate`` times a second, everything that changed meanwhile in one batch: a
burst of 200 calls costs a widget at most ~10 updates a second. The same thread carries the audio
widgets' frames (each live stream is read every ``AUDIO_POLL`` s) and one-off tasks (a Phone
dialling), so a Dashboard listening to a call runs two threads of the kit's own: this one and the
media stream's reader. ``flush()`` (here and on every widget) waits until what was marked so far
has been applied and sent: tests and notebooks wait on that, not on the clock.

Why updates are sent from this thread and not handed to the kernel's event loop
(``kernel.io_loop.add_callback``), measured in JupyterLab 4.6 with Chromium (ipykernel 7.4.0, 6.29.5
and 7.0.1; ``tests/test_widgets_browser.py`` keeps checking it):

- The kernel's loop runs on the thread that runs the cells. While a cell blocks (``ari.wait_for(...,
  timeout=30)``, ``time.sleep(8)``) nothing handed to that loop runs: a counter updated that way
  stood still in the page for the whole cell and jumped when it ended, while the same counter set
  from a thread of ours went on updating ten times a second. Users watch the Dashboard while a
  cell waits for a call, so the loop is not an option.
- Sending from another thread is what ipykernel supports: ``session.send`` on the ``iopub_socket``
  (a ``BackgroundSocket``) only queues the message for ipykernel's IOPub thread, from any thread.
- The parent header: a thread that never called ``set_parent`` gets the shell's latest request
  (ipykernel 7.1 and later: ``Kernel.get_parent`` falls back on the context saved by the last
  ``set_parent``, ipykernel#1451; 6.x: one global parent). The page routes comm messages by comm
  id, not by parent, so that is right for background updates; nothing needs setting. ipykernel
  7.0.0 and 7.0.1 had no such fallback: every comm message from a background thread, and from a
  callback on the kernel's own loop too, raised ``LookupError`` (ipykernel#1450, ipywidgets#4001),
  so no live widget works on those two versions (the first widget made there says so in a warning).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable

from ..errors import WaitTimeout

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

log = logging.getLogger("vicifast_kit.widgets")

#: How often each live audio stream is read (s): a 20 ms frame waits 5 ms for it on average.
AUDIO_POLL = 0.01


class Job:
    """What the scheduler runs for one widget: ``apply()`` after ``mark()``, at most ``rate`` times a second.

    With ``tick`` it also runs every ``tick`` s when nothing was marked (clocks, audio), on a grid of
    that period, so that jobs of one period run together. A one-off task (``Scheduler.call_soon``,
    ``call_later``) runs once and is done.
    """

    def __init__(self, scheduler: "Scheduler", apply: Callable[[], Any], *, name: str, rate: float = 10.0,
                 tick: float | None = None, at: float | None = None) -> None:
        self.scheduler = scheduler
        self.name = name
        #: At least this many seconds between the end of one run and the start of the next (after a mark).
        self.interval = 1.0 / rate
        self.tick = tick
        #: How many times apply() ran.
        self.cycles = 0
        self._apply = apply
        self._at = at                    # a one-off task: when it runs (time.monotonic())
        self._marked = 0                 # marks so far
        self._applied = 0                # marks covered by a finished run
        self._last = float("-inf")       # when the last run ended
        self._closed = False
        self._until_false = False        # Scheduler.every(): apply() returning False ends the job

    @property
    def closed(self) -> bool:
        """True once closed (or, for a one-off task, once it ran)."""
        return self._closed

    def mark(self) -> None:
        """Something changed: run soon (cheap; any thread)."""
        with self.scheduler._cond:
            pending = self._marked > self._applied
            self._marked += 1
            if not pending:              # (already due: a burst of marks wakes the thread once)
                self.scheduler._cond.notify_all()

    def due(self) -> float | None:
        """When the job should run next (a time.monotonic() value), None while nothing asks it to."""
        if self._closed:
            return None
        if self._at is not None:
            return self._at
        if self._marked > self._applied:
            return self._last + self.interval
        if self.tick is not None:      # on a grid of its period: jobs with one period wake the thread once
            return self._last if self.cycles == 0 else (math.floor(self._last / self.tick) + 1) * self.tick
        return None

    def flush(self, timeout: float = 5.0) -> None:
        """Return once every mark made so far is covered by a finished run (a task: once it ran; at once if closed);
        WaitTimeout after timeout s."""
        __tracebackhide__ = True
        s = self.scheduler
        s._not_on_own_thread("flush")
        with s._cond:
            target = self._marked
            if not s._cond.wait_for(lambda: self._closed or (self._at is None and self._applied >= target), timeout):
                raise WaitTimeout(f"run of {self.name}", timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop running; waits for a run in progress on the scheduler's thread (unless called from it)."""
        s = self.scheduler
        with s._cond:
            self._closed = True
            if self in s._jobs:
                s._jobs.remove(self)
            s._cond.notify_all()
            if threading.current_thread() is not s._thread:
                s._cond.wait_for(lambda: s._running is not self, timeout)

    def __repr__(self) -> str:
        return f"<Job {self.name}{' closed' if self._closed else ''}, {self.cycles} runs>"


class Scheduler:
    """Runs the jobs of one client's widgets on one named daemon thread (alive while there are jobs)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._jobs: list[Job] = []
        self._thread: threading.Thread | None = None
        self._running: Job | None = None
        self._closed = False
        self._cancel_on_close: Callable[[], None] | None = None

    # --- adding work ----------------------------------------------------------------------------
    def job(self, apply: Callable[[], Any], *, name: str, rate: float = 10.0, tick: float | None = None) -> Job:
        """A job that runs apply() after each mark(), at most `rate` times a second (and every `tick` s)."""
        return self._add(Job(self, apply, name=name, rate=rate, tick=tick))

    def every(self, period: float, fn: Callable[[], Any], *, name: str) -> Job:
        """A job that runs fn() every `period` s (on a grid of that period) until fn() returns False or the
        job is closed."""
        job = Job(self, fn, name=name, rate=1.0 / period, tick=period)
        job._until_false = True
        return self._add(job)

    def call_soon(self, fn: Callable[[], Any], *, name: str) -> Job:
        """Run fn() once on the scheduler's thread, as soon as it is free; close() the job to cancel it."""
        return self.call_later(0.0, fn, name=name)

    def call_later(self, delay: float, fn: Callable[[], Any], *, name: str) -> Job:
        """Run fn() once on the scheduler's thread after `delay` s; close() the job to cancel it."""
        return self._add(Job(self, fn, name=name, at=time.monotonic() + delay))

    def _add(self, job: Job) -> Job:
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the widget scheduler of {self.name!r} is closed (its client closed)")
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"vicifast-widgets[{self.name}]", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    # --- waiting --------------------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> None:
        """Return once every job has run for what was marked so far, and every task due now has run; WaitTimeout after timeout s."""
        __tracebackhide__ = True
        self._not_on_own_thread("flush")
        with self._cond:
            now = time.monotonic()
            wanted = [(job, job._marked) for job in self._jobs if job._at is None or job._at <= now]

            def done() -> bool:
                return all(job._closed or (job._at is None and job._applied >= n) for job, n in wanted)
            if not self._cond.wait_for(done, timeout):
                raise WaitTimeout(f"run of the widgets of {self.name!r}", timeout)

    def _not_on_own_thread(self, what: str) -> None:
        if threading.current_thread() is self._thread:
            raise RuntimeError(f"{what}() called from the widget scheduler's own thread would wait for itself")

    @property
    def alive(self) -> bool:
        """True while the scheduler's thread runs (it stops when no job is left)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def closed(self) -> bool:
        """True once closed (the client closed)."""
        return self._closed

    @property
    def jobs(self) -> list[Job]:
        """The jobs it runs now."""
        with self._cond:
            return list(self._jobs)

    # --- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while True:
                    if self._closed or not self._jobs:
                        if self._thread is me:
                            self._thread = None
                        self._cond.notify_all()
                        return
                    now = time.monotonic()
                    timed = [(due, i, job) for i, job in enumerate(self._jobs) if (due := job.due()) is not None]
                    ready = sorted(entry for entry in timed if entry[0] <= now)
                    if ready:
                        break
                    self._cond.wait(min(entry[0] for entry in timed) - now if timed else None)
            for _due, _i, job in ready:
                self._run_one(job)

    def _run_one(self, job: Job) -> None:
        with self._cond:
            if job._closed or self._closed:
                return
            target = job._marked
            self._running = job
        result = None
        try:
            result = job._apply()
        except Exception:
            log.exception("%s failed (the widget scheduler goes on)", job.name)
        finally:
            with self._cond:
                self._running = None
                job._applied = max(job._applied, target)
                job._last = time.monotonic()
                job.cycles += 1
                if job._at is not None or (job._until_false and result is False):    # done
                    job._closed = True
                    if job in self._jobs:
                        self._jobs.remove(job)
                self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and every job (the client closes); waits for a run in progress unless called from it."""
        with self._cond:
            self._closed = True
            for job in self._jobs:
                job._closed = True
            self._jobs.clear()
            self._cond.notify_all()
            thread = self._thread
        if self._cancel_on_close is not None:
            self._cancel_on_close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self.alive else "idle"
        return f"<Scheduler {self.name!r} {state}, {len(self._jobs)} jobs>"


_SCHEDULERS: "weakref.WeakKeyDictionary[Any, Scheduler]" = weakref.WeakKeyDictionary()
_SCHEDULERS_LOCK = threading.Lock()


def scheduler_for(ari: "ARIClient") -> Scheduler:
    """The client's widget scheduler: made on first use, closed with the client (ClientClosed if it is closed)."""
    with _SCHEDULERS_LOCK:
        scheduler = _SCHEDULERS.get(ari)
        if scheduler is None or scheduler.closed:
            _warn_on_a_kernel_that_drops_updates()
            scheduler = Scheduler(ari.app)
            scheduler._cancel_on_close = ari.on_close(scheduler.close)
            _SCHEDULERS[ari] = scheduler
        return scheduler


def _warn_on_a_kernel_that_drops_updates() -> None:
    """ipykernel 7.0.0 and 7.0.1 drop every message sent from a background thread: say so in the notebook."""
    version = getattr(sys.modules.get("ipykernel"), "__version__", "")
    if version.startswith("7.0."):
        warnings.warn(f"ipykernel {version} cannot show live widgets (no update from a background thread "
                      "reaches the page): install ipykernel 7.1 or later", RuntimeWarning, stacklevel=3)
