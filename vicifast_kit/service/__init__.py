"""A call flow run as a service: ``vk.App`` (one handler per call, each in its own thread) and ``vicifast-kit serve``.

``app = vk.App("ivr")``, ``@app.call def handle(call): ...``; then ``app.run()`` in a file (Ctrl-C or
SIGTERM drains), ``app.start()`` / ``app.stop()`` in a notebook, or ``vicifast-kit serve FILE.py[:app]``
for a process with JSON logs, ``/healthz`` and ``/metrics`` (vicifast_kit.service.serve). Several
instances share the calls with ``vk.App(NAME, shared=True)`` / ``serve --instance NAME``: StasisBroadcast
claims and the takeover of a dead instance's calls (vicifast_kit.service.shared). Importing this
package loads no metrics library: prometheus_client is imported by ``serve`` (and metrics.Metrics) only.
"""

from .app import OUTCOMES, App, LeftCall, StopSummary, stop_on_signals
from .errors import ServiceError

__all__ = ["App", "ServiceError", "StopSummary", "LeftCall", "OUTCOMES", "stop_on_signals"]
