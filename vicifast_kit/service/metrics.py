"""The metrics of a service, in Prometheus's text format (prometheus_client), on a registry of their own.

- ``vicifast_app_calls_active``: calls whose handler runs now; ``vicifast_app_calls_max``: max_calls;
  ``vicifast_app_draining``: 1 while the instance drains before stopping.
- ``vicifast_app_calls_handled_total{outcome}``: calls dealt with, by outcome (done, hung_up, error, busy,
  draining, left: see vicifast_kit.service.app.OUTCOMES); every outcome is there from the start, at 0.
- ``vicifast_app_handler_seconds``: how long handlers ran (a histogram).
- ``vicifast_app_ari_request_seconds{method}``: how long the App's ARI requests took (a histogram).
- ``vicifast_app_info{app_instance, version}``: which instance this is (``instance`` is Prometheus's own label).

Every metric has the label ``app``. The App tells the metrics through its observers (``app.observe``),
and its client's request listener (``ari.on_request``) times the requests.
"""

from __future__ import annotations

from typing import Any, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from .app import OUTCOMES, App

#: Every metric's name (as Prometheus shows it; counters get _total).
NAMES = ("vicifast_app_calls_active", "vicifast_app_calls_max", "vicifast_app_draining",
         "vicifast_app_calls_handled_total", "vicifast_app_handler_seconds", "vicifast_app_ari_request_seconds",
         "vicifast_app_info")
HANDLER_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _kit_version() -> str:
    """The installed kit's version ("unknown" when it runs from a folder that is not installed)."""
    from importlib import metadata
    try:
        return metadata.version("vicifast-kit")
    except metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    """An App's metrics on a registry of their own: ``render()`` gives the /metrics page; ``close()`` stops counting."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, app: App) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        labels = {"app": app.name}
        self.active = Gauge("vicifast_app_calls_active", "Calls whose handler runs now", ["app"],
                            registry=self.registry)
        self.active.labels(**labels).set_function(lambda: app.calls_active)
        self.max_calls = Gauge("vicifast_app_calls_max", "How many calls the App handles at once (max_calls)",
                               ["app"], registry=self.registry)
        self.max_calls.labels(**labels).set_function(lambda: app.max_calls)
        self.draining = Gauge("vicifast_app_draining", "1 while the instance drains before it stops", ["app"],
                              registry=self.registry)
        self.draining.labels(**labels).set_function(lambda: 1 if app.state == "draining" else 0)
        self.handled = Counter("vicifast_app_calls_handled", "Calls dealt with, by outcome (done, hung_up, error, "
                               "busy, draining, left)", ["app", "outcome"], registry=self.registry)
        for outcome in OUTCOMES:
            self.handled.labels(app=app.name, outcome=outcome)
        self.handler_seconds = Histogram("vicifast_app_handler_seconds", "How long the call handler ran",
                                         ["app"], buckets=HANDLER_BUCKETS, registry=self.registry)
        self.request_seconds = Histogram("vicifast_app_ari_request_seconds", "How long the App's ARI requests took",
                                         ["app", "method"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.info = Info("vicifast_app", "Which instance of the app this is", ["app"], registry=self.registry)
        self.info.labels(**labels).info({"app_instance": app.instance, "version": _kit_version()})
        self._stop_listening: Callable[[], None] | None = None
        self._remove = app.observe(self.observe)
        if app.ari is not None:             # already started: time its requests from now on
            self._listen()

    def _listen(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        histogram = self.request_seconds
        name = self.app.name
        self._stop_listening = self.app.ari.on_request(
            lambda method, path, status, started, seconds: histogram.labels(app=name, method=method).observe(seconds))

    def observe(self, kind: str, fields: dict[str, Any]) -> None:
        """The App's observer: count outcomes, time handlers, listen to each new client's requests."""
        if kind == "started":
            self._listen()
        elif kind == "call_ended":
            self.handled.labels(app=self.app.name, outcome=fields["outcome"]).inc()
            self.handler_seconds.labels(app=self.app.name).observe(fields.get("seconds") or 0.0)
        elif kind == "handed_back" and fields.get("outcome") in ("busy", "draining"):
            self.handled.labels(app=self.app.name, outcome=fields["outcome"]).inc()
        elif kind == "call_left":
            self.handled.labels(app=self.app.name, outcome="left").inc()

    def render(self) -> bytes:
        """The /metrics page: every metric in Prometheus's text format."""
        return generate_latest(self.registry)

    def close(self) -> None:
        """Stop counting (the App and its client go on)."""
        self._remove()
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
