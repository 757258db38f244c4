"""The Dockerized lab: docker/compose.yaml's services (asterisk; jupyter), driven with `docker compose`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from .. import settings
from .errors import LabError

SERVICE = "asterisk"
#: The name the lab's container has for this machine (compose.yaml: extra_hosts ... host-gateway).
HOST_NAME = "host.docker.internal"
#: The compose project of the lab (COMPOSE_PROJECT_NAME picks another, e.g. for a second lab on other ports).
DEFAULT_PROJECT = "vicifast-lab"


def project() -> str:
    """The compose project name the kit uses (COMPOSE_PROJECT_NAME, else vicifast-lab)."""
    return os.environ.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT


def engine_answers() -> bool:
    """True if a Docker client is installed and its engine answers."""
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def compose_environment(values: dict[str, str] | None = None) -> dict[str, str]:
    """The environment `docker compose` runs with: this process's, every lab setting (passwords too), and
    JUPYTER_UID/JUPYTER_GID (unless set): the owner of notebooks/, so JupyterLab saves them as their owner."""
    env = {**os.environ, **(values if values is not None else settings.lab_values())}
    notebooks = settings.LAB_DIR.parent / "notebooks"
    if notebooks.is_dir():
        owner = notebooks.stat()
        env.setdefault("JUPYTER_UID", str(owner.st_uid))
        env.setdefault("JUPYTER_GID", str(owner.st_gid))
    return env


def compose(*args: str, values: dict[str, str] | None = None, timeout: float | None = 600, capture: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run `docker compose` on the lab's compose file, with the lab's settings in its environment."""
    command = ["docker", "compose", "--project-name", project(), "-f", str(settings.LAB_DIR / "compose.yaml"), *args]
    try:
        return subprocess.run(command, capture_output=capture, text=True, timeout=timeout, input=stdin,
                              env=compose_environment(values))
    except FileNotFoundError:
        raise LabError("The `docker` command is missing: install Docker, or use `--backend rootfs`.") from None


def check_can_run() -> None:
    """Raise LabError if no Docker engine answers or Compose v2 is missing."""
    if not engine_answers():
        raise LabError(
            "No Docker engine answers (`docker info` fails). Start Docker, or run the lab without it: "
            "`sudo vicifast-kit lab up --backend rootfs`."
        )
    check_compose()


def check_compose() -> None:
    """Raise LabError if Docker Compose v2 (`docker compose`) is missing."""
    try:
        result = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    except FileNotFoundError:
        raise LabError("The `docker` command is missing: install Docker, or use `--backend rootfs`.") from None
    if result.returncode != 0:
        raise LabError(
            "Docker Compose v2 (`docker compose`) is missing: install Docker's docker-compose-plugin "
            "(Debian trixie and later: the docker-compose package), then run the command again."
        )


def start_values(values: dict[str, str]) -> dict[str, str]:
    """The settings `lab up --backend docker` starts Asterisk with: unless PUSH_URI is set, its outbound
    websockets reach the kit on this machine (ws://host.docker.internal:PUSH_PORT), not in JupyterLab's container."""
    if values.get("PUSH_URI") or not values.get("PUSH_PORT"):
        return values
    return {**values, "PUSH_URI": f"ws://{HOST_NAME}:{values['PUSH_PORT']}"}


def start(values: dict[str, str]) -> None:
    """Build the image if needed and start the asterisk service in the background."""
    result = compose("up", "--detach", "--build", SERVICE, values=start_values(values), capture=False)
    if result.returncode != 0:
        raise LabError("`docker compose up` failed (see its output above). Fix that and run `vicifast-kit lab up` again.")


def running() -> bool:
    """True while the lab's asterisk container runs."""
    if not engine_answers():
        return False
    result = compose("ps", "--quiet", "--status", "running", SERVICE, timeout=30)
    return result.returncode == 0 and bool(result.stdout.strip())


def start_ended() -> int | None:
    """The exit code of the lab's container once it stopped while starting (None while it runs or starts)."""
    result = compose("ps", "--all", "--format", "json", SERVICE, timeout=30)
    text = result.stdout.strip()
    if result.returncode != 0 or not text:
        return None
    try:                            # one JSON object a line (Compose 2.21 and later), or one list
        items = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]
    except ValueError:
        return None
    for item in items:
        if item.get("State") in ("exited", "restarting", "dead"):
            # While the engine restarts it, ps shows exit code 0; the container's state keeps the real one.
            inspect = subprocess.run(["docker", "inspect", "--format", "{{.State.ExitCode}}", item["ID"]],
                                     capture_output=True, text=True, timeout=30)
            code = inspect.stdout.strip()
            return int(code) if code.lstrip("-").isdigit() else int(item.get("ExitCode") or 0)
    return None


def console_tail(lines: int = 20) -> str:
    """The last lines the lab's container printed (start-up errors show here)."""
    return compose("logs", "--no-log-prefix", "--tail", str(lines), SERVICE, timeout=30).stdout.strip()


def run_inside(*command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a command inside the lab's container (e.g. the asterisk CLI)."""
    return compose("exec", "-T", SERVICE, *command, timeout=timeout)


def host_gateway() -> str | None:
    """The address the lab's container reaches this machine at (what it resolves host.docker.internal to)."""
    try:
        result = run_inside("getent", "ahostsv4", HOST_NAME, timeout=15)
    except subprocess.TimeoutExpired:
        return None
    words = result.stdout.split()
    return words[0] if result.returncode == 0 and words else None


def booted() -> bool:
    """True once the container's Asterisk has fully booted."""
    try:
        result = run_inside("asterisk", "-rx", "core waitfullybooted")
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and "fully booted" in result.stdout


def stop(timeout: float = 30) -> None:
    """Stop and remove the lab's containers, its network and its log volume (JupyterLab's too, if it runs)."""
    compose("down", "--volumes", "--remove-orphans", "--timeout", str(int(timeout)), timeout=timeout + 60)
