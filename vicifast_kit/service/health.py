"""The service's own small web server: ``/healthz`` (JSON; 200 while the App takes calls, else 503) and ``/metrics``.

It listens on a port of its own, on 127.0.0.1 unless told otherwise, and answers one request at a time
on one named, daemonic thread (the pages are small; nothing else runs there).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .app import App
    from .metrics import Metrics

log = logging.getLogger("vicifast_kit.service.http")

DEFAULT_HOST = "127.0.0.1"
#: The default port of /healthz and /metrics (`vicifast-kit serve --port`); 0 picks a free one.
DEFAULT_PORT = 9464


class StatusServer:
    """/healthz and /metrics of one App on host:port (port 0: a free one; ``.port`` says which), until close()."""

    def __init__(self, app: "App", metrics: "Metrics | None" = None, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT) -> None:
        self.app = app
        self.metrics = metrics
        self._server = HTTPServer((host, port), self._handler_class())
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"vicifast-app-http[{app.name}]", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """http://HOST:PORT of this server."""
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    health = server.app.health()
                    body = (json.dumps(health) + "\n").encode()
                    self._send(200 if health["status"] == "ok" else 503, "application/json", body)
                elif path == "/metrics" and server.metrics is not None:
                    self._send(200, server.metrics.content_type, server.metrics.render())
                else:
                    self._send(404, "text/plain; charset=utf-8", b"Not found: /healthz and /metrics are here\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("%s %s", self.address_string(), format % args)

        return Handler

    def close(self) -> None:
        """Stop answering and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
