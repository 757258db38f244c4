"""The lab: the real Asterisk 22 the kit talks to (up, down, restart, status, logs, cli), and its helpers.

The parts, one job each: `lifecycle` (up, down, restart), `health` (status), `console` (cli, logs),
`housekeeping` (leftovers, cleanup), `simulate` (simulated callers, prompt transcripts), `backends`
(which way the lab runs: `docker` or `rootfs`), `probes` (does it answer?) and `errors`.
"""

from __future__ import annotations

from . import docker, probes, rootfs
from .backends import BACKENDS, choose_backend, running_backend
from .console import cli, logs
from .errors import START_HINT, LabError, LabStartFailed
from .health import LabStatus, status
from .housekeeping import cleanup, leftovers
from .lifecycle import connection_help, down, restart, up
from .simulate import simulate_caller, transcript

__all__ = [
    "LabError", "LabStartFailed", "LabStatus", "up", "down", "restart", "status", "logs", "cli", "running_backend",
    "simulate_caller", "transcript", "leftovers", "cleanup",
]
