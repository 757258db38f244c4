"""`vicifast-kit lab up|down|status|logs|cli` on this machine (the root-filesystem lab)."""

import os
import signal
import socket
import subprocess
import time

import pytest

from vicifast_kit import cli, lab, settings
from vicifast_kit.lab import docker, rootfs

pytestmark = pytest.mark.restarts_lab


def asterisk_pids():
    return rootfs.processes_in(rootfs.root_dir())


def test_cli_and_logs_reach_the_running_lab(capsys):
    assert "Asterisk 22." in lab.cli("core show version")
    assert cli.main(["lab", "cli", "core", "show", "uptime"]) == 0
    assert "System uptime" in capsys.readouterr().out
    assert "Remote UNIX connection" in lab.logs(20)  # the CLI call just above, in the log
    assert cli.main(["lab", "status"]) == 0
    out = capsys.readouterr().out
    assert "backend: rootfs" in out and "Asterisk: 22." in out and "Channels:" in out


def test_up_twice_is_harmless():
    before = asterisk_pids()
    assert before
    result = lab.up(progress=lambda line: None)
    assert result.up and result.backend == "rootfs"
    assert asterisk_pids() == before


def test_down_leaves_no_process_or_mount_and_status_says_how_to_start(capsys):
    lab.down(progress=lambda line: None)
    try:
        assert asterisk_pids() == []
        assert rootfs.launcher_pid() is None
        assert rootfs.mounts_under(rootfs.cache_dir()) == []
        status = lab.status()
        assert not status.up and status.backend is None
        assert "vicifast-kit lab up" in str(status)
        assert cli.main(["lab", "status"]) == 1
        assert "down" in capsys.readouterr().out
        with pytest.raises(lab.LabError, match="vicifast-kit lab up"):
            lab.cli("core show channels")
        lab.down(progress=lambda line: None)  # down twice is harmless too
    finally:
        lab.up(progress=lambda line: None)
    assert lab.status().up


def test_up_copes_with_a_lab_that_was_killed_and_left_a_mount():
    root = rootfs.root_dir()
    for pid in [rootfs.launcher_pid(), *asterisk_pids()]:
        os.kill(pid, signal.SIGKILL)
    # What a killed chroot lab of another kind leaves behind: /proc mounted inside the root.
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    assert rootfs.mounts_under(root)
    deadline = time.monotonic() + 5
    while asterisk_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    result = lab.up(progress=lambda line: None)
    assert result.up
    assert rootfs.mounts_under(root) == []


def test_a_port_taken_by_another_program_gets_a_clear_error():
    port = int(settings.lab_values()["ARI_PORT"])
    lab.down(progress=lambda line: None)
    squatter = socket.socket()
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(lab.LabError) as error:
            lab.up(progress=lambda line: None)
        message = str(error.value)
        assert f"Port {port}" in message and "already taken" in message
        assert f"pid {os.getpid()}" in message
        assert f"ARI_PORT={port + 1}" in message
        assert asterisk_pids() == []
    finally:
        squatter.close()
        lab.up(progress=lambda line: None)


def test_without_a_docker_engine_the_docker_backend_says_what_to_do():
    if docker.engine_answers():
        pytest.skip("a Docker engine answers on this machine")
    assert lab.choose_backend() == "rootfs"
    with pytest.raises(lab.LabError, match="already runs with the rootfs backend"):
        lab.up("docker", progress=lambda line: None)
    with pytest.raises(lab.LabError, match="No Docker engine answers"):
        docker.check_can_run()


def test_restart_brings_a_fresh_asterisk():
    before = set(asterisk_pids())
    lab.restart(progress=lambda line: None)
    after = set(asterisk_pids())
    assert after and not (before & after)
    assert lab.status().up


def test_an_asterisk_that_cannot_start_gets_a_clear_error_and_leaves_nothing(monkeypatch):
    lab.down(progress=lambda line: None)
    start = rootfs.start
    monkeypatch.setattr(rootfs, "start", lambda values: start({k: v for k, v in values.items() if k != "AMI_SECRET"}))
    lines = []
    try:
        with pytest.raises(lab.LabError) as error:
            lab.up(progress=lines.append)
        assert "stopped while starting (exit code 2)" in str(error.value)
        assert "AMI_SECRET is not set" in str(error.value)       # the start script's own words
        assert any("Trying once more" in line for line in lines)
        assert asterisk_pids() == [] and rootfs.launcher_pid() is None
        assert rootfs.mounts_under(rootfs.cache_dir()) == []
    finally:
        monkeypatch.undo()
        lab.up(progress=lambda line: None)
    assert lab.status().up
