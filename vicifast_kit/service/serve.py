"""`vicifast-kit serve FILE.py[:app]`: run a vk.App as a process — JSON logs, /healthz and /metrics, drain on SIGTERM.

The connection settings come from the environment as everywhere in the kit (ARI_URL, ARI_USER,
ARI_PASSWORD, else the lab's), or from --url/--user/--password. Log lines go to stdout, one JSON
object each (vicifast_kit.service.logs); errors that stop it from starting are one plain line on
stderr, exit code 2. SIGTERM or Ctrl-C drains (new calls go to the dialplan's fallback; the calls
in progress get the App's drain_timeout), a second one stops at once; the last line says which calls
it left and how. Exit code 0 after a drain.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import Error
from . import logs
from .app import stop_on_signals
from .errors import ServiceError
from .health import DEFAULT_HOST, DEFAULT_PORT, StatusServer
from .loader import load_app

log = logging.getLogger("vicifast_kit.service")
PREFIX = "vicifast-kit serve"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `serve` subcommand's arguments (on the parser given)."""
    parser.add_argument("target", metavar="FILE.py[:app]",
                        help="a Python file (or module) that makes a vk.App; ':name' picks one App of several")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port of /healthz and /metrics (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address of /healthz and /metrics (default {DEFAULT_HOST}, this machine only)")
    parser.add_argument("--url", help="ARI's address (default: ARI_URL, else the lab's)")
    parser.add_argument("--user", help="ARI user (default: ARI_USER, else the lab's)")
    parser.add_argument("--password", help="ARI password (default: ARI_PASSWORD, else the lab's)")
    parser.add_argument("--max-calls", type=int, help="calls handled at once (default: the App's max_calls)")
    parser.add_argument("--drain-timeout", type=float,
                        help="seconds the calls in progress get after SIGTERM (default: the App's drain_timeout)")
    parser.add_argument("--instance", metavar="NAME",
                        help="run as instance NAME of a shared app: it registers the ARI app APP-NAME and shares the "
                             "calls of the dialplan's StasisBroadcast with the other instances (implies --shared)")
    parser.add_argument("--shared", action="store_true",
                        help="share the calls with other instances of the app (the instance name: --instance, else "
                             "host, pid and a random part)")
    parser.add_argument("--takeover-after", type=float,
                        help="seconds another instance may stay silent before this one takes its calls over "
                             "(default: the App's takeover_after)")
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="the lowest level logged (default INFO)")
    return parser


def _fail(text: str) -> int:
    print(f"{PREFIX}: {text}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Serve the App until SIGTERM or Ctrl-C; returns the exit code (2: it could not start)."""
    try:
        app = load_app(args.target)
    except ServiceError as error:
        return _fail(str(error))
    if args.max_calls is not None:
        if args.max_calls < 1:
            return _fail(f"--max-calls is how many calls run at once: 1 or more (not {args.max_calls})")
        app.max_calls = args.max_calls
    if args.drain_timeout is not None:
        if args.drain_timeout < 0:
            return _fail(f"--drain-timeout is in seconds, 0 or more (not {args.drain_timeout:g})")
        app.drain_timeout = args.drain_timeout
    if args.instance is not None or args.shared:
        from .shared import INSTANCE_PATTERN, safe_instance
        if args.instance is not None and not INSTANCE_PATTERN.match(args.instance):
            return _fail(f"--instance becomes part of the ARI app name {app.name}-NAME: letters, digits, '_', '.' and "
                         f"inner '-' only (not {args.instance!r}), e.g. --instance a")
        if not app.shared and args.instance is None:
            app.instance = safe_instance(app.instance)
        app.shared = True
        if args.instance is not None:
            app.instance = args.instance
    if args.takeover_after is not None:
        if args.takeover_after <= 0:
            return _fail(f"--takeover-after is in seconds, more than 0 (not {args.takeover_after:g})")
        app.takeover_after = args.takeover_after
    from .metrics import Metrics        # prometheus_client: only a served App needs it
    metrics = Metrics(app)
    try:
        status = StatusServer(app, metrics, args.host, args.port)
    except OSError as error:
        metrics.close()
        return _fail(f"cannot listen on {args.host}:{args.port} for /healthz and /metrics ({error.strerror or error}): "
                     "choose another port with --port (0 picks a free one)")
    undo_logs = logs.configure(app.name, app.instance, level=args.log_level)
    # The client's own "Connected"/"Closed" lines say what the App's started/stopped lines say (and a start that
    # fails would print one before its error): its warnings (the websocket lost, reconnected) still show.
    client_log = logging.getLogger("vicifast_kit.client")
    client_level = client_log.level
    client_log.setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        with stop_on_signals(app):
            try:
                app.start(url=args.url, user=args.user, password=args.password)
            except Error as error:
                return _fail(f"cannot start app {app.name!r}: {error}")
            except Exception as error:     # the service file's on_start hook
                return _fail(f"cannot start app {app.name!r}: {type(error).__name__}: {error}")
            log.info("Serving app %r: health %s/healthz, metrics %s/metrics; SIGTERM or Ctrl-C drains", app.name,
                     status.url, status.url,
                     extra={"service": {"event": "serving", "app": app.name, "instance": app.instance,
                                        "ari_app": app.ari_app, "shared": app.shared,
                                        "port": status.port, "healthz": f"{status.url}/healthz",
                                        "metrics": f"{status.url}/metrics", "pid": _pid()}})
            try:
                app.wait()
            finally:
                app.stop()
    finally:
        status.close()
        metrics.close()
        client_log.setLevel(client_level)
        undo_logs()
    return 0


def _pid() -> int:
    import os
    return os.getpid()
