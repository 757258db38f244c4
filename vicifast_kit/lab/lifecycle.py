"""Starting and stopping the lab: up, down, restart (and what `lab up` prints about how to reach it)."""

from __future__ import annotations

import socket
import time
from types import ModuleType

from .. import settings
from . import docker, probes, rootfs
from .backends import BACKENDS, check_backend, choose_backend, running_backend
from .errors import LabError, LabStartFailed, refuse_elsewhere
from .health import LabStatus, ari_state, status


def up(backend: str | None = None, progress=print, timeout: float = 90) -> LabStatus:
    """Start the lab (idempotent): Docker if an engine answers, else the root-filesystem lab.

    It starts the kit's lab on this machine, so it refuses (NotTheLab) while your settings point at
    another Asterisk (ARI_URL, AMI_HOST): the kit would then wait for, and connect to, that one.
    """
    check_backend(backend)
    _refuse_elsewhere("start")
    values = settings.lab_values()
    s = settings.load()
    with rootfs.locked():
        current = running_backend()
        if current and backend and current != backend:
            raise LabError(f"The lab already runs with the {current} backend: `vicifast-kit lab down` first to switch.")
        if current:
            try:
                _wait_ready(BACKENDS[current], s, timeout=30)
                progress(f"The lab is already up ({current} backend).")
                return status()
            except LabError as error:
                progress(f"The lab runs but is not healthy ({error}); restarting it.")
                BACKENDS[current].stop()
        name = backend or choose_backend()
        module = BACKENDS[name]
        module.check_can_run()
        if name == "rootfs":
            rootfs.stop()  # clears what a killed lab may have left (a mount, a stale pid file)
        _check_ports(values)
        if name == "rootfs":
            rootfs.build(progress)
        progress(f"Starting Asterisk ({name} backend)...")
        started = time.monotonic()
        for attempt in (1, 2):
            module.start(values)
            try:
                _wait_ready(module, s, timeout)
                break
            except LabError as error:
                module.stop()
                if attempt == 2 or not isinstance(error, LabStartFailed):
                    raise
                progress(f"{error}\nTrying once more...")
        result = status()
        progress(f"The lab is up: Asterisk {result.version}, fully booted in {time.monotonic() - started:.1f} s.")
        progress(connection_help(values, s))
        return result


def down(backend: str | None = None, progress=print) -> None:
    """Stop the lab (of that backend only, when given); no Asterisk process, container or mount is left behind.

    Always the kit's lab on this machine, whatever ARI_URL or AMI_HOST say (another server is never touched).
    """
    check_backend(backend)
    with rootfs.locked():
        if backend in (None, "rootfs"):
            rootfs.stop()
        if backend in (None, "docker") and docker.engine_answers():
            docker.stop()            # also what a stopped or half-started compose project left
    progress("The lab is down." if backend is None else f"The lab ({backend} backend) is down.")


def restart(backend: str | None = None, progress=print, timeout: float = 90) -> LabStatus:
    """Stop the lab and start it again, with the backend it ran with unless `backend` says (websockets drop).

    Like up(), it refuses (NotTheLab) while your settings point at another Asterisk (ARI_URL, AMI_HOST).
    """
    check_backend(backend)
    _refuse_elsewhere("restart")
    backend = backend or running_backend()
    down(None, progress)
    return up(backend, progress, timeout)


def _refuse_elsewhere(action: str) -> None:
    """NotTheLab if the settings point at another server than the lab this command would start."""
    refuse_elsewhere(f"`vicifast-kit lab {action}` (vk.lab.{action}()) would {action} the kit's lab",
                     "there is nothing to start: connect to it as your settings say (vk.connect()), and restart it "
                     "on its own machine")


def connection_help(values: dict[str, str], s: settings.Settings) -> str:
    """How to reach the lab (passwords are named by where they live, never printed)."""
    return "\n".join([
        f"  ARI  {s.ari_url}/ari   user {s.ari_user} (password: ARI_PASSWORD); read-only: {s.ari_user}-viewer "
        "(password: ARI_VIEWER_PASSWORD)",
        f"  AMI  {s.ami_host}:{s.ami_port}   user {s.ami_user} (secret: AMI_SECRET)",
        f"  SIP  phones 6001-6003 register at 127.0.0.1:{values['SIP_PORT']} (UDP), password SIP_PASSWORD",
        f"  The passwords are in {settings.secrets_file()} (yours only; made at random on first use).",
        '  Python:  import vicifast_kit as vk; ari = vk.connect(app="demo")',
    ])


def _check_ports(values: dict[str, str]) -> None:
    """Raise LabError naming the program that holds a port the lab needs, and how to choose another."""
    bind = settings.setting(values, "LAB_BIND")
    host = bind if bind != "0.0.0.0" else "127.0.0.1"
    wanted = [
        ("ARI_PORT", "ARI/HTTP", socket.SOCK_STREAM),
        ("AMI_PORT", "AMI", socket.SOCK_STREAM),
        ("SIP_PORT", "SIP (UDP)", socket.SOCK_DGRAM),
    ]
    for name, what, kind in wanted:
        port = settings.port(values, name)
        if probes.port_taken(host, port, kind):
            owner = probes.port_owner(port, kind) or "another program"
            raise LabError(
                f"Port {port} on {host}, which the lab needs for {what}, is already taken by {owner}. "
                f"Stop that program, or give the lab another port: e.g. `{name}={port + 1} vicifast-kit lab up` "
                f"(and keep {name} set so the kit connects there too)."
            )


def _wait_ready(backend: ModuleType, s: settings.Settings, timeout: float) -> None:
    """Wait until Asterisk has fully booted and ARI answers; LabError if it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = backend.start_ended()
        if ended is not None:
            raise LabStartFailed(
                f"Asterisk stopped while starting (exit code {ended}). Its console said:\n"
                + backend.console_tail() + "\nSee `vicifast-kit lab logs` for its log."
            )
        if backend.booted():
            state, _ = ari_state(s)
            if state == "ok":
                return
            if state == "refused":
                raise LabError(
                    f"The lab runs but ARI at {s.ari_url} refuses user {s.ari_user!r}: the lab was started with "
                    "other credentials. Run `vicifast-kit lab restart` to start it with the current ones."
                )
        time.sleep(0.2)
    raise LabError(f"The lab did not answer within {timeout:.0f} s. See `vicifast-kit lab logs`, then try `vicifast-kit lab restart`.")
