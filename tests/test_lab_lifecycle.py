"""`vicifast-kit lab up|down|restart|status|logs|cli` on this machine, with whichever backend runs the lab.

Each test checks the running backend's own traces: the root-filesystem lab's Asterisk processes and
mounts, or the Docker lab's container. What only one backend can do is skipped on the other, saying why.
"""

import os
import signal
import socket
import subprocess

import pytest

from vicifast_kit import cli, lab, settings
from vicifast_kit.lab import docker, rootfs

from client_helpers import eventually

pytestmark = pytest.mark.restarts_lab
QUIET = {"progress": lambda line: None}


@pytest.fixture
def backend():
    """The backend the lab runs with ('rootfs' or 'docker')."""
    current = lab.running_backend()
    assert current, "the lab should be up (tests/conftest.py starts it)"
    return current


def lab_instances(backend: str) -> list:
    """What runs the lab now: Asterisk's host pids (rootfs) or the asterisk container's id (docker)."""
    if backend == "rootfs":
        return rootfs.processes_in(rootfs.root_dir())
    result = docker.compose("ps", "--quiet", "--status", "running", docker.SERVICE, timeout=30)
    return result.stdout.split()


def nothing_left(backend: str) -> None:
    """No process, mount or container of the lab is left."""
    assert lab_instances(backend) == []
    if backend == "rootfs":
        assert rootfs.launcher_pid() is None
        assert rootfs.mounts_under(rootfs.cache_dir()) == []
    else:
        assert docker.compose("ps", "--all", "--quiet", timeout=30).stdout.split() == []


def test_cli_and_logs_reach_the_running_lab(capsys, backend):
    assert "Asterisk 22." in lab.cli("core show version")
    assert cli.main(["lab", "cli", "core", "show", "uptime"]) == 0
    assert "System uptime" in capsys.readouterr().out
    assert "Remote UNIX connection" in lab.logs(20)  # the CLI call just above, in the log
    assert cli.main(["lab", "status"]) == 0
    out = capsys.readouterr().out
    assert f"backend: {backend}" in out and "Asterisk: 22." in out and "Channels:" in out
    assert cli.main(["lab", "status", "--backend", backend]) == 0
    assert f"backend: {backend}" in capsys.readouterr().out
    other = {"rootfs": "docker", "docker": "rootfs"}[backend]
    assert cli.main(["lab", "status", "--backend", other]) == 1
    assert f"not running with the {other} backend (it runs with the {backend} backend)" in capsys.readouterr().out


def test_up_twice_is_harmless(backend):
    before = lab_instances(backend)
    assert before
    result = lab.up(**QUIET)
    assert result.up and result.backend == backend
    assert lab_instances(backend) == before


def test_down_leaves_nothing_behind_and_status_says_how_to_start(capsys, backend):
    lab.down(**QUIET)
    try:
        nothing_left(backend)
        status = lab.status()
        assert not status.up and status.backend is None
        assert "vicifast-kit lab up" in str(status)
        assert cli.main(["lab", "status"]) == 1
        assert "down" in capsys.readouterr().out
        with pytest.raises(lab.LabError, match="vicifast-kit lab up"):
            lab.cli("core show channels")
        lab.down(**QUIET)  # down twice is harmless too
        assert cli.main(["lab", "down", "--backend", backend]) == 0   # and with the backend named
    finally:
        lab.up(backend, **QUIET)
    assert lab.status().up


def test_down_of_the_other_backend_leaves_the_lab_running(backend):
    other = {"rootfs": "docker", "docker": "rootfs"}[backend]
    before = lab_instances(backend)
    assert cli.main(["lab", "down", "--backend", other]) == 0
    assert lab_instances(backend) == before and lab.status().up


def test_up_copes_with_a_lab_that_was_killed(backend):
    if backend == "rootfs":
        root = rootfs.root_dir()
        for pid in [rootfs.launcher_pid(), *lab_instances(backend)]:
            os.kill(pid, signal.SIGKILL)
        # What a killed chroot lab of another kind leaves behind: /proc mounted inside the root.
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        assert rootfs.mounts_under(root)
        eventually(lambda: lab_instances(backend) == [], 5, "the killed lab's processes to be gone")
    else:
        # A killed container stays, stopped (the engine restarts it only after its own restart).
        assert subprocess.run(["docker", "kill", *lab_instances(backend)], capture_output=True).returncode == 0
        assert lab_instances(backend) == []
    result = lab.up(**QUIET)
    assert result.up and result.backend == backend
    if backend == "rootfs":
        assert rootfs.mounts_under(rootfs.root_dir()) == []


def test_a_port_taken_by_another_program_gets_a_clear_error(backend):
    port = int(settings.lab_values()["ARI_PORT"])
    lab.down(**QUIET)
    squatter = socket.socket()
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(lab.LabError) as error:
            lab.up(backend, **QUIET)
        message = str(error.value)
        assert f"Port {port}" in message and "already taken" in message
        assert f"pid {os.getpid()}" in message
        assert f"ARI_PORT={port + 1}" in message
        nothing_left(backend)
    finally:
        squatter.close()
        lab.up(backend, **QUIET)


def test_the_other_backend_is_refused_while_the_lab_runs(backend):
    if backend == "rootfs" and not docker.engine_answers():
        assert lab.choose_backend() == "rootfs"
        with pytest.raises(lab.LabError, match="No Docker engine answers"):
            docker.check_can_run()
    other = {"rootfs": "docker", "docker": "rootfs"}[backend]
    with pytest.raises(lab.LabError, match=f"already runs with the {backend} backend"):
        lab.up(other, **QUIET)


def test_restart_brings_a_fresh_asterisk(backend):
    before = set(lab_instances(backend))
    assert cli.main(["lab", "restart", "--backend", backend]) == 0
    after = set(lab_instances(backend))
    assert after and not (before & after)
    assert lab.status().up and lab.running_backend() == backend


def test_an_asterisk_that_cannot_start_gets_a_clear_error_and_leaves_nothing(monkeypatch, backend):
    lab.down(**QUIET)
    module = lab.BACKENDS[backend]
    start = module.start
    without_secret = lambda values: start({k: v for k, v in values.items() if k != "AMI_SECRET"})  # noqa: E731
    monkeypatch.setattr(module, "start", without_secret)
    if backend == "docker":
        monkeypatch.setenv("AMI_SECRET", "")     # compose passes its environment on: empty, the script says unset
    lines = []
    try:
        with pytest.raises(lab.LabError) as error:
            lab.up(backend, progress=lines.append)
        assert "stopped while starting (exit code 2)" in str(error.value)
        assert "AMI_SECRET is not set" in str(error.value)       # the start script's own words
        assert any("Trying once more" in line for line in lines)
        nothing_left(backend)
    finally:
        monkeypatch.undo()
        lab.up(backend, **QUIET)
    assert lab.status().up
