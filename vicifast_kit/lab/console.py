"""The lab's Asterisk from outside: run a CLI command in it, read (or follow) its log."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .. import settings
from . import docker, rootfs
from .backends import BACKENDS, running_backend
from .errors import START_HINT, LabError, refuse_elsewhere

#: Asterisk's log, inside the lab.
LOG_FILE = "/var/log/asterisk/messages.log"


def cli(command: str, timeout: float = 30) -> str:
    """Run an Asterisk CLI command in the lab (e.g. "core show channels") and return its output.

    On the lab's host it runs the `asterisk` command in the lab. Where the lab runs elsewhere (the
    Docker JupyterLab, another machine), or when your settings point at another Asterisk (ARI_URL,
    AMI_HOST), it goes through AMI's Command action to the AMI the settings name (AMI_HOST, ...; the
    AMI user needs the `command` write right): never into a lab on this machine they do not name.
    """
    current = None if settings.elsewhere() else running_backend()
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
    except ami.AMIUnreachable as error:
        if settings.elsewhere():            # another server: its own words (what to check there)
            raise LabError(f"The Asterisk CLI over AMI failed: {error}") from None
        raise LabError(f"The lab is down (nothing runs it on this machine and AMI does not answer). {START_HINT}") from None
    except ami.AMIError as error:
        raise LabError(f"The Asterisk CLI over AMI failed: {error}") from None
    return text if text.endswith("\n") or not text else text + "\n"


def logs(lines: int = 50) -> str:
    """The last lines of the lab's Asterisk log (/var/log/asterisk/messages.log).

    In the Docker JupyterLab the log comes from the lab's log volume (VICIFAST_LAB_LOG names the file).
    When your settings point at another Asterisk (ARI_URL, AMI_HOST), only VICIFAST_LAB_LOG is read:
    without it NotTheLab says so (the log of a lab on this machine is not that server's).
    """
    kind, path = _log_source()
    if kind == "docker":
        return docker.run_inside("tail", "-n", str(lines), LOG_FILE).stdout
    return tail_file(path, lines)


def _log_source() -> tuple[str, Path | None]:
    """Where the log is: ("docker", None) for the Docker lab's container, else ("file", its path); or LabError."""
    shared = os.environ.get("VICIFAST_LAB_LOG")
    if settings.elsewhere():
        if shared and Path(shared).is_file():
            return "file", Path(shared)
        refuse_elsewhere("`vicifast-kit lab logs` (vk.lab.logs) reads the log of the kit's lab",
                         "read its log on that machine (/var/log/asterisk/messages.log, as its logger.conf says), "
                         "or mount it here and set VICIFAST_LAB_LOG to the file")
    current = running_backend()
    path = _rootfs_log()
    if current != "docker" and path.exists():   # the root-filesystem lab's log, also after it stopped
        return "file", path
    if current == "docker":
        return "docker", None
    if shared and Path(shared).is_file():
        return "file", Path(shared)
    raise LabError(
        f"The lab's log is not on this machine{f' ({shared} is missing)' if shared else ''}: read it where the lab "
        f"runs (`vicifast-kit lab logs`), or mount its /var/log/asterisk here and set VICIFAST_LAB_LOG. {START_HINT}"
    )


def follow_logs(lines: int = 50) -> int:
    """Print the log's last lines, then each new one as it comes, until interrupted; the exit code of `tail`."""
    kind, path = _log_source()
    if kind == "docker":
        command = ["tail", "-n", str(lines), "-F", LOG_FILE]
        return docker.compose("exec", "-T", docker.SERVICE, *command, timeout=None, capture=False).returncode
    return subprocess.call(["tail", "-n", str(lines), "-F", str(path)])


def _rootfs_log() -> Path:
    """Where the root-filesystem lab's log is on this machine."""
    return rootfs.root_dir() / LOG_FILE.lstrip("/")


def tail_file(path: Path, lines: int) -> str:
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
