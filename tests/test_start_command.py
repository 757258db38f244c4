"""The README's first command: scripts/start leaves the lab up and JupyterLab serving notebooks/."""

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import requests

from vicifast_kit import lab

from client_helpers import eventually

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_scripts_start_brings_the_lab_up_and_serves_jupyterlab(tmp_path):
    port = free_port()
    log = tmp_path / "start.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(REPO / "scripts/start")], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "JUPYTER_PORT": str(port)}, start_new_session=True)
    try:
        def printed_url():
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            return found or process.poll() is not None

        found = eventually(printed_url, timeout=120, what="scripts/start printing JupyterLab's URL")
        url = found is not True and found.group(0)
        assert url, log.read_text()[-3000:]
        token = url.rpartition("=")[2]
        assert lab.status().up
        contents = requests.get(f"http://127.0.0.1:{port}/api/contents", params={"token": token}, timeout=10).json()
        assert "README.md" in {item["name"] for item in contents["content"]}
        assert requests.get(f"http://127.0.0.1:{port}/api/contents", timeout=10).status_code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
