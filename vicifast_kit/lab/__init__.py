"""The lab: the real Asterisk 22 the kit talks to (up, down, restart, status, logs, cli)."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import settings
from . import docker, probes, rootfs
from .errors import LabError, LabStartFailed
from .simulate import simulate_caller, transcript

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

__all__ = [
    "LabError", "LabStartFailed", "LabStatus", "up", "down", "restart", "status", "logs", "cli", "running_backend", "simulate_caller",
    "transcript", "leftovers",
]

BACKENDS = {"docker": docker, "rootfs": rootfs}
START_HINT = "Start it with `vicifast-kit lab up` (or vicifast_kit.lab.up() in Python)."


@dataclass
class LabStatus:
    """What `vicifast-kit lab status` reports."""

    backend: str | None
    ari: str
    ami: str
    version: str | None = None
    channels: int | None = None
    ari_url: str = ""
    ami_address: str = ""
    note: str = ""          # e.g. why a backend asked for is not the one that runs

    @property
    def up(self) -> bool:
        """True when ARI answers with the lab's credentials."""
        return self.ari == "ok"

    def __str__(self) -> str:
        if self.note:
            return self.note
        where = f"Settings: {settings.LAB_DIR / 'lab.env'}; passwords in {settings.secrets_file()}"
        if not self.up and self.backend is None:
            return f"The lab is down: nothing answers at {self.ari_url}. {START_HINT}\n{where}"
        backend = self.backend or "not started by this kit on this machine"
        lines = [
            f"Lab:      {'up' if self.up else 'not answering'} (backend: {backend})",
            f"Asterisk: {self.version or 'unknown'}",
            f"ARI:      {_describe(self.ari)} at {self.ari_url}/ari",
            f"AMI:      {_describe(self.ami)} at {self.ami_address}",
            f"Channels: {'unknown' if self.channels is None else self.channels} up",
            where,
        ]
        return "\n".join(lines)


def _describe(state: str) -> str:
    return {"ok": "answers", "refused": "answers but refuses the lab's credentials", "unreachable": "does not answer"}[state]


def running_backend() -> str | None:
    """The backend the lab is running with ('rootfs' or 'docker'), or None."""
    if rootfs.running():
        return "rootfs"
    if docker.running():
        return "docker"
    return None


def choose_backend() -> str:
    """Docker when an engine answers, else the root-filesystem lab when this machine can run it."""
    if docker.engine_answers():
        return "docker"
    try:
        rootfs.check_can_run()
    except LabError as error:
        raise LabError(
            "Cannot start the lab: no Docker engine answers, and the lab without Docker cannot run here: "
            f"{error}"
        ) from None
    return "rootfs"


def _ari_state(s: settings.Settings) -> tuple[str, dict | None]:
    info = probes.ari_get(s, "/asterisk/info")
    if info is None:
        return "unreachable", None
    if "http_status" in info:
        return ("refused" if info["http_status"] in (401, 403) else "unreachable"), None
    return "ok", info


def _check_backend(backend: str | None) -> None:
    if backend not in (None, *BACKENDS):
        raise LabError(f"Unknown backend {backend!r}: choose 'docker' or 'rootfs'.")


def status(backend: str | None = None) -> LabStatus:
    """Which backend runs the lab, Asterisk's version, whether ARI and AMI answer, channels up.

    With `backend`, the lab of that backend only: when it does not run, the status says so (not up).
    """
    _check_backend(backend)
    s = settings.load()
    current = running_backend()
    if backend and current != backend and not BACKENDS[backend].running():
        runs = f" (it runs with the {current} backend)" if current else ""
        return LabStatus(
            backend=None, ari="unreachable", ami="unreachable", ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
            note=f"The lab is not running with the {backend} backend{runs}. "
                 f"Start it with `vicifast-kit lab up --backend {backend}`.",
        )
    ari, info = _ari_state(s)
    result = LabStatus(
        backend=backend or current, ari=ari, ami=probes.ami_login(s) if ari != "unreachable" else "unreachable",
        ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
    )
    if info:
        result.version = info.get("system", {}).get("version")
        channels = probes.ari_get(s, "/channels")
        result.channels = len(channels) if isinstance(channels, list) else None
    return result


def _check_ports(values: dict[str, str]) -> None:
    host = values["LAB_BIND"] if values["LAB_BIND"] != "0.0.0.0" else "127.0.0.1"
    wanted = [
        ("ARI_PORT", "ARI/HTTP", socket.SOCK_STREAM),
        ("AMI_PORT", "AMI", socket.SOCK_STREAM),
        ("SIP_PORT", "SIP (UDP)", socket.SOCK_DGRAM),
    ]
    for name, what, kind in wanted:
        port = int(values[name])
        if probes.port_taken(host, port, kind):
            owner = probes.port_owner(port, kind) or "another program"
            raise LabError(
                f"Port {port} on {host}, which the lab needs for {what}, is already taken by {owner}. "
                f"Stop that program, or give the lab another port: e.g. `{name}={port + 1} vicifast-kit lab up` "
                f"(and keep {name} set so the kit connects there too)."
            )


def _wait_ready(backend, s: settings.Settings, timeout: float) -> None:
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
            state, _ = _ari_state(s)
            if state == "ok":
                return
            if state == "refused":
                raise LabError(
                    f"The lab runs but ARI at {s.ari_url} refuses user {s.ari_user!r}: the lab was started with "
                    "other credentials. Run `vicifast-kit lab restart` to start it with the current ones."
                )
        time.sleep(0.2)
    raise LabError(f"The lab did not answer within {timeout:.0f} s. See `vicifast-kit lab logs`, then try `vicifast-kit lab restart`.")


def up(backend: str | None = None, progress=print, timeout: float = 90) -> LabStatus:
    """Start the lab (idempotent): Docker if an engine answers, else the root-filesystem lab."""
    _check_backend(backend)
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


def leftovers(ari: "ARIClient | None" = None, timeout: float = 5.0) -> dict[str, int]:
    """Channels, bridges and stored recordings left in the lab (only ari's own, given a client), waiting up to timeout for none.

    With a client, only what that client made (an originate, a bridge, a recording, the other half
    of its Local calls) or saw enter its app counts: other people's calls in the shared lab do
    not. Without one, everything in the lab counts. A refused or failed answer raises (an
    ARIError, LabUnreachable): it is never counted as a leftover.
    """
    __tracebackhide__ = True
    if isinstance(ari, (int, float)) and not isinstance(ari, bool):     # leftovers(10): the old signature
        ari, timeout = None, float(ari)
    get = probes.lab_getter() if ari is None else (lambda path: ari.request("GET", path))
    deadline = time.monotonic() + timeout
    while True:
        found = probes.count_leftovers(get, None if ari is None else ari.owns)
        if not any(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def connection_help(values: dict[str, str], s: settings.Settings) -> str:
    """How to reach the lab (passwords are named by where they live, never printed)."""
    return "\n".join([
        f"  ARI  {s.ari_url}/ari   user {s.ari_user} (password: ARI_PASSWORD)",
        f"  AMI  {s.ami_host}:{s.ami_port}   user {s.ami_user} (secret: AMI_SECRET)",
        f"  SIP  phones 6001-6003 register at 127.0.0.1:{values['SIP_PORT']} (UDP), password SIP_PASSWORD",
        f"  The passwords are in {settings.secrets_file()} (yours only; made at random on first use).",
        '  Python:  import vicifast_kit as vk; ari = vk.connect(app="demo")',
    ])


def down(backend: str | None = None, progress=print) -> None:
    """Stop the lab (of that backend only, when given); no Asterisk process, container or mount is left behind."""
    _check_backend(backend)
    with rootfs.locked():
        if backend in (None, "rootfs"):
            rootfs.stop()
        if backend in (None, "docker") and docker.engine_answers():
            docker.stop()            # also what a stopped or half-started compose project left
    progress("The lab is down." if backend is None else f"The lab ({backend} backend) is down.")


def restart(backend: str | None = None, progress=print, timeout: float = 90) -> LabStatus:
    """Stop the lab and start it again, with the backend it ran with unless `backend` says (websockets drop)."""
    _check_backend(backend)
    backend = backend or running_backend()
    down(None, progress)
    return up(backend, progress, timeout)


def cli(command: str, timeout: float = 30) -> str:
    """Run an Asterisk CLI command in the lab (e.g. "core show channels") and return its output.

    On the lab's host it runs the `asterisk` command in the lab; where the lab runs elsewhere (the
    Docker JupyterLab, another machine) it goes through AMI's Command action, with AMI_HOST etc.
    """
    current = running_backend()
    if current is None:
        return _cli_over_ami(command, timeout)
    result = BACKENDS[current].run_inside("asterisk", "-rx", command, timeout=timeout)
    if result.returncode != 0:
        raise LabError(f"The Asterisk CLI failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def _cli_over_ami(command: str, timeout: float) -> str:
    """An Asterisk CLI command through AMI's Command action (the AMI user needs `command` write access)."""
    from .. import ami

    try:
        with ami.connect(timeout=timeout) as client:
            if hasattr(client, "command"):
                text = client.command(command)
            else:
                output = client.action("Command", command=command).get("Output", "")
                text = "\n".join(output) if isinstance(output, list) else output
    except ami.AMIUnreachable:
        raise LabError(f"The lab is down (nothing runs it on this machine and AMI does not answer). {START_HINT}") from None
    except ami.AMIError as error:
        raise LabError(f"The Asterisk CLI over AMI failed: {error}") from None
    return text if text.endswith("\n") or not text else text + "\n"


def logs(lines: int = 50) -> str:
    """The last lines of the lab's Asterisk log (/var/log/asterisk/messages.log).

    In the Docker JupyterLab the log comes from the lab's log volume (VICIFAST_LAB_LOG names the file).
    """
    current = running_backend()
    path = rootfs.root_dir() / "var/log/asterisk/messages.log"
    if current != "docker" and path.exists():   # the root-filesystem lab's log, also after it stopped
        return _tail(path, lines)
    if current == "docker":
        return docker.run_inside("tail", "-n", str(lines), "/var/log/asterisk/messages.log").stdout
    shared = os.environ.get("VICIFAST_LAB_LOG")
    if shared and Path(shared).is_file():
        return _tail(Path(shared), lines)
    raise LabError(
        f"The lab's log is not on this machine{f' ({shared} is missing)' if shared else ''}: read it where the lab "
        f"runs (`vicifast-kit lab logs`), or mount its /var/log/asterisk here and set VICIFAST_LAB_LOG. {START_HINT}"
    )


def _tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a (possibly large) log file."""
    with open(path, "rb") as log:
        size = log.seek(0, os.SEEK_END)
        window = 200 * (lines + 1)
        while True:
            log.seek(max(0, size - window))
            data = log.read()
            if data.count(b"\n") > lines or window >= size:
                break
            window *= 2
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
