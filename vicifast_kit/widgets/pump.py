"""The UI pump: one named daemon thread per widget that applies model changes in batches.

Event handlers only fold events into a plain model and call ``mark()``; the pump wakes, waits
until at least ``1/rate`` s have passed since its last update, and calls ``apply()`` once for
everything that changed meanwhile (the widget wraps its trait changes in ``hold_sync``). So a
burst of 200 calls costs a widget at most ``rate`` updates a second, whatever the event rate.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger("vicifast_kit.widgets")


class Pump:
    """Calls ``apply()`` on its own thread after ``mark()``, at most ``rate`` times a second."""

    def __init__(self, apply: Callable[[], None], *, name: str, rate: float = 10.0,
                 tick: float | None = None) -> None:
        self._apply = apply
        self.interval = 1.0 / rate
        self.tick = tick                    # also apply every tick s when nothing changed (clocks)
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.cycles = 0                     # how many times apply() ran
        self._thread = threading.Thread(target=self._run, name=f"vicifast-widget-pump[{name}]", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the pump thread runs."""
        return self._thread.is_alive()

    def mark(self) -> None:
        """Something changed: apply it soon (cheap; any thread)."""
        self._wake.set()

    def _run(self) -> None:
        last = 0.0
        while not self._stopped.is_set():
            self._wake.wait(self.tick)
            if self._stopped.is_set():
                return
            pause = last + self.interval - time.monotonic()
            if pause > 0 and self._stopped.wait(pause):      # let more changes gather
                return
            self._wake.clear()
            try:
                self._apply()
            except Exception:
                log.exception("widget update failed (the pump goes on)")
            self.cycles += 1
            last = time.monotonic()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (waits for it unless called from it)."""
        self._stopped.set()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
