"""The lab: the real Asterisk 22 the kit talks to (up, down, restart, status, logs, cli), and its helpers.

The parts, one job each: `lifecycle` (up, down, restart), `health` (status), `console` (cli, logs),
`housekeeping` (leftovers, cleanup), `simulate` (simulated callers, prompt transcripts), `backends`
(which way the lab runs: `docker` or `rootfs`), `probes` (does it answer?) and `errors`.

Against an Asterisk that is not the kit's lab (ARI_URL, AMI_HOST, or a client connected elsewhere):
`status`, `leftovers` and `cleanup` work on that server; `cli` and `logs` work through AMI and
VICIFAST_LAB_LOG when no lab runs on this machine; `up` and `restart` (and `cli`/`logs` while a lab
runs here) refuse with `NotTheLab`, as do `simulate_caller` and `transcript` on a server without the
lab's dialplan or transcript; `down` always stops the lab on this machine.
"""

from __future__ import annotations

from . import docker, probes, rootfs
from .backends import BACKENDS, choose_backend, running_backend
from .console import cli, logs
from .errors import START_HINT, LabError, LabStartFailed, NotTheLab
from .health import LabStatus, status
from .housekeeping import cleanup, leftovers
from .lifecycle import connection_help, down, restart, up
from .simulate import simulate_caller, transcript

__all__ = [
    "LabError", "LabStartFailed", "NotTheLab", "LabStatus", "up", "down", "restart", "status", "logs", "cli", "running_backend",
    "simulate_caller", "transcript", "leftovers", "cleanup",
]
