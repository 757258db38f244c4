"""The Dockerized lab: docker/compose.yaml's asterisk service, driven with `docker compose`."""

from __future__ import annotations

import os
import shutil
import subprocess

from .. import settings
from .errors import LabError

SERVICE = "asterisk"


def engine_answers() -> bool:
    """True if a Docker client is installed and its engine answers."""
    if not shutil.which("docker"):
        return False
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def compose(*args: str, values: dict[str, str] | None = None, timeout: float | None = 600, capture: bool = True):
    """Run `docker compose` on the lab's compose file, with the lab's settings in its environment."""
    command = [
        "docker", "compose", "--project-name", "vicifast-lab",
        "--env-file", str(settings.LAB_DIR / "lab.env"), "-f", str(settings.LAB_DIR / "compose.yaml"), *args,
    ]
    env = {**os.environ, **(values or {})}
    try:
        return subprocess.run(command, capture_output=capture, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise LabError("The `docker` command is missing: install Docker, or use `--backend rootfs`.") from None


def check_can_run() -> None:
    """Raise LabError if no Docker engine answers."""
    if not engine_answers():
        raise LabError(
            "No Docker engine answers (`docker info` fails). Start Docker, or run the lab without it: "
            "`sudo vicifast-kit lab up --backend rootfs`."
        )
    if compose("version").returncode != 0:
        raise LabError("The Docker Compose plugin is missing: install it (package docker-compose-plugin).")


def start(values: dict[str, str]) -> None:
    """Build the image if needed and start the asterisk service in the background."""
    result = compose("up", "--detach", "--build", SERVICE, values=values, capture=False)
    if result.returncode != 0:
        raise LabError("`docker compose up` failed (see its output above). Fix that and run `vicifast-kit lab up` again.")


def running() -> bool:
    """True while the lab's asterisk container runs."""
    if not engine_answers():
        return False
    result = compose("ps", "--quiet", "--status", "running", SERVICE, timeout=30)
    return result.returncode == 0 and bool(result.stdout.strip())


def run_inside(*command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a command inside the lab's container (e.g. the asterisk CLI)."""
    return compose("exec", "-T", SERVICE, *command, timeout=timeout)


def booted() -> bool:
    """True once the container's Asterisk has fully booted."""
    try:
        result = run_inside("asterisk", "-rx", "core waitfullybooted")
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and "fully booted" in result.stdout


def stop(timeout: float = 30) -> None:
    """Stop and remove the lab's containers."""
    compose("down", "--timeout", str(int(timeout)), timeout=timeout + 60)
