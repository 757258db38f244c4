"""What every live widget shares: a model, a job on the client's scheduler, subscriptions, flush(), close(),
readable errors."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import ipywidgets as W

from ..errors import ARIError, ClientClosed, Conflict, Error, LabUnreachable, NotFound
from .model import LiveModel
from .scheduler import Job, scheduler_for

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

log = logging.getLogger("vicifast_kit.widgets")


def readable_error(e: BaseException, what: str = "That") -> str:
    """A one-line message for a failed action (never a traceback)."""
    if isinstance(e, NotFound):
        return f"{what} failed: it is gone (hung up or destroyed)."
    if isinstance(e, Conflict):
        return f"{what} is not possible now: {getattr(e, 'message', '') or e}"[:200]
    if isinstance(e, LabUnreachable):
        return f"{what} failed: the lab does not answer."
    if isinstance(e, ClientClosed):
        return f"{what} failed: this client is closed."
    if isinstance(e, ARIError):
        return f"{what} failed: {getattr(e, 'message', '') or e}"[:200]
    return f"{what} failed: {type(e).__name__}: {e}"[:200]


def failure(e: BaseException, what: str = "That") -> str:
    """readable_error(e, what) for the widget; an error that is not the kit's (a bug) is also logged in full."""
    if not isinstance(e, Error):
        log.error("%s failed", what, exc_info=e)
    return readable_error(e, what)


def show_html(html: W.HTML, value: str) -> bool:
    """Put value in an HTML widget as one update, unless it shows it already; True if it changed."""
    if value == html.value:
        return False
    html.value = value
    return True


def set_options(dropdown: W.Dropdown, options: list, fallback: Any) -> bool:
    """Give a dropdown new options as one update, keeping its choice if still offered (else fallback); True if changed."""
    if list(dropdown.options) == options:
        return False
    keep = dropdown.value
    with dropdown.hold_sync():
        dropdown.options = options
        dropdown.value = keep if any(value == keep for _, value in options) else fallback
    return True


class LiveWidget(W.VBox):
    """Base of the kit's widgets: shows a LiveModel (shared or its own) through a job on the client's scheduler."""

    #: At most this many widget updates a second.
    rate = 10.0
    #: Whether the widget shows the channels-and-bridges model (else it folds its own events).
    uses_model = True

    def __init__(self, ari: "ARIClient", *, model: LiveModel | None = None, name: str = "",
                 tick: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ari = ari
        self._own_model = model is None and self.uses_model
        self.model = model if model is not None or not self.uses_model else LiveModel(ari)
        self._subs: list = []
        self._apply_lock = threading.Lock()
        self.updates = 0                     # batches that changed what the widget shows
        self._closed = False
        #: This widget's job on the client's scheduler (``job.cycles``: how many times it was applied).
        self.job: Job = scheduler_for(ari).job(self._apply, name=f"the {name or type(self).__name__} widget",
                                                rate=self.rate, tick=tick)
        if self.model is not None:
            self.model.listen(self.mark)
        self.add_class("vk-widget")

    # --- subclasses ---------------------------------------------------------------------------
    def render(self) -> bool:
        """Apply the model to the child widgets; True when something shown changed."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        """The plain data the widget currently shows."""
        raise NotImplementedError

    # --- machinery --------------------------------------------------------------------------------
    def on(self, event_type: Any, fn: Callable) -> None:
        """Subscribe fn to the client's events for as long as the widget lives."""
        self._subs.append(self.ari.on(event_type, fn))

    def mark(self) -> None:
        """Something the widget shows changed: the scheduler renders it soon (cheap; any thread)."""
        self.job.mark()

    def refresh(self) -> None:
        """Apply the model now, on the calling thread (the scheduler does it on its own otherwise)."""
        self._apply()

    def flush(self, timeout: float = 5.0) -> None:
        """Return once every event received so far is shown: folded in, rendered and sent to the page
        (WaitTimeout after timeout s)."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        self.ari.flush(timeout)              # the handlers (the model among them) have seen every event so far
        self.job.flush(max(0.0, deadline - time.monotonic()))

    def _apply(self) -> None:
        if self._closed:
            return
        if self.model is not None and self.model.poll_due():        # one poll at a time across widgets (the model sees to it)
            self.model.poll()
        with self._apply_lock:
            if not self._closed and self.render():
                self.updates += 1

    def close(self) -> None:
        """Unsubscribe, stop its job, close the child widgets (and the model if it is the widget's own)."""
        if self._closed:
            return
        self._closed = True
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()
        if self.model is not None:
            self.model.unlisten(self.mark)
        self.job.close()
        if self._own_model:
            self.model.close()
        for child in _descendants(self):
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} app={self.ari.app!r}{' closed' if self._closed else ''}>"

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed


def _descendants(widget: W.Widget) -> list[W.Widget]:
    out = []
    for child in getattr(widget, "children", ()):
        if isinstance(child, LiveWidget):
            continue                      # closed by its owner (the Dashboard)
        out.extend(_descendants(child))
        out.append(child)
    return out
