"""The two ways the lab runs (Docker, or a root filesystem without it): which runs, which to choose."""

from __future__ import annotations

from types import ModuleType

from . import docker, rootfs
from .errors import LabError

#: Each backend's module: start, stop, running, booted, run_inside, ...
BACKENDS: dict[str, ModuleType] = {"docker": docker, "rootfs": rootfs}


def check_backend(backend: str | None) -> None:
    """Raise LabError unless `backend` is None or the name of a backend."""
    if backend not in (None, *BACKENDS):
        raise LabError(f"Unknown backend {backend!r}: choose 'docker' or 'rootfs'.")


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
