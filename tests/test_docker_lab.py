"""The Dockerized lab for real: both images built with `docker compose`, Asterisk booted and called,
JupyterLab serving the notebooks behind its token, notebook 00 run inside it, Asterisk's outbound
websockets (vk.push) reaching the kit on the host and, with notebook 10, inside the JupyterLab
container, nothing left behind.

Runs on the machine's Docker engine when one answers, else on a private engine of this test run
(tests/docker_helpers.py), and skips only where no engine can run. The Docker lab here is a second
compose project on ports of its own, so the shared lab (127.0.0.1:8088/5038/5060/10000-10099) keeps
running beside it. docs/docker.md gives the same commands and the times measured here.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import vicifast_kit as vk
from vicifast_kit import lab, push, settings
from vicifast_kit.lab import docker, probes

import docker_helpers as dh
from client_helpers import eventually

PROJECT = "vicifast-lab-test"
PORTS: dict[str, str] = {}          # the Docker lab's ports in these tests (free_ports())


def free_ports() -> dict[str, str]:
    """Ports for the Docker lab clear of the shared lab's (8088, 5038, 5060, 10000-10099) and of anything listening."""
    for base in (28000, 38000, 48000, 58000):
        ports = {"ARI_PORT": base + 88, "AMI_PORT": base + 38, "SIP_PORT": base + 60, "RTP_START": base + 100,
                 "RTP_END": base + 119, "JUPYTER_PORT": base + 888, "PUSH_PORT": base + 790}
        tcp = [ports[name] for name in ("ARI_PORT", "AMI_PORT", "JUPYTER_PORT", "PUSH_PORT")]
        udp = [ports["SIP_PORT"], *range(ports["RTP_START"], ports["RTP_END"] + 1)]
        if not any(probes.port_taken("127.0.0.1", port) for port in tcp) and \
                not any(probes.port_taken("127.0.0.1", port, socket.SOCK_DGRAM) for port in udp):
            return {name: str(port) for name, port in ports.items()}
    raise AssertionError("no free set of ports for the Docker lab's tests (tried 28000, 38000, 48000, 58000 and up)")
KIT = str(Path(sys.executable).with_name("vicifast-kit"))
timings: dict[str, float] = {}


def timed(name: str, started: float) -> float:
    """Record (and print) how long a step took."""
    timings[name] = round(time.monotonic() - started, 1)
    dh.log(f"{name}: {timings[name]} s")
    return timings[name]


@pytest.fixture(scope="module")
def docker_lab():
    """The engine (the machine's, or a private one started here), its environment, and the test lab's settings."""
    reason = dh.why_no_engine()
    if reason:
        pytest.skip(f"Docker lab not tested: {reason}")
    module_started = time.monotonic()
    folder = dh.cache()
    folder.mkdir(parents=True, exist_ok=True)
    engine = None
    with dh.exclusive(folder), pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMPOSE_PROJECT_NAME", PROJECT)   # first: teardown never touches the user's own project
        if not docker.engine_answers():
            engine = dh.PrivateEngine(folder / "engine")
            timings["engine start"] = round(engine.start(), 1)
            dh.log(f"private dockerd at {engine.host}: answered in {timings['engine start']} s")
            patch.setenv("DOCKER_HOST", engine.host)
        try:
            started = time.monotonic()
            if not dh.compose_plugin_works(os.environ.copy()):
                patch.setenv("DOCKER_CONFIG", str(dh.install_compose_plugin(folder)))
            if dh.make_base_image(os.environ.copy(), folder) is not None or time.monotonic() - started > 1:
                timed("base image and Compose plugin (debootstrap the first time)", started)
            patch.setenv("JUPYTER_TOKEN", secrets.token_urlsafe(16))
            PORTS.update(free_ports())
            for name, value in PORTS.items():
                patch.setenv(name, value)
            for name in ("ARI_URL", "AMI_HOST", "PUSH_HOST", "PUSH_URI"):
                patch.delenv(name, raising=False)
            docker.stop()              # what a killed run of these tests may have left
            yield {"engine": engine, "env": os.environ.copy()}
        finally:
            try:
                docker.stop()
            finally:
                if engine is not None:
                    engine.prune()
                    engine.stop()
                    left = engine.processes()
                    assert not left, f"the private engine left processes behind: {left}"
                timed("docker test module", module_started)
                (folder / "last-timings.json").write_text(json.dumps(timings, indent=1))


def kit_command(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `vicifast-kit ...` as a user would, in the Docker tests' environment."""
    return subprocess.run([KIT, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.timeout(900)
def test_the_lab_image_builds_and_boots_with_lab_up_backend_docker(docker_lab, tmp_path):
    env = docker_lab["env"]
    started = time.monotonic()
    result = kit_command(env, "lab", "compose", "build", docker.SERVICE, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    timed("asterisk image build", started)

    # `lab up` runs one lab at a time and sees the shared root-filesystem lab of this machine in the
    # kit's cache folder: given a cache folder of its own, it sees a machine with Docker only.
    started = time.monotonic()
    result = kit_command({**env, "VICIFAST_CACHE_DIR": str(tmp_path)}, "lab", "up", "--backend", "docker")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "The lab is up: Asterisk 22." in result.stdout, result.stdout
    timed("asterisk boot (lab up --backend docker, image built)", started)

    status = lab.status("docker")
    assert status.up and status.backend == "docker", str(status)
    assert status.version.startswith("22."), status.version
    assert status.ari_url == f"http://127.0.0.1:{PORTS['ARI_PORT']}"
    out = kit_command(docker_lab["env"], "lab", "status", "--backend", "docker")
    assert out.returncode == 0 and "backend: docker" in out.stdout, out.stdout + out.stderr
    # Every published port is on 127.0.0.1 only.
    published = docker.compose("ps", "--format", "json", docker.SERVICE).stdout
    publishers = [p for line in published.splitlines() for p in json.loads(line).get("Publishers") or []]
    assert publishers and {p["URL"] for p in publishers if p.get("PublishedPort")} == {"127.0.0.1"}, publishers


def test_ari_and_ami_answer_in_the_container_and_a_call_goes_through(docker_lab):
    assert "Asterisk 22." in docker.run_inside("asterisk", "-rx", "core show version").stdout
    ari = vk.connect(app="docker-smoke")
    try:
        assert ari.asterisk.get_info().system.version.startswith("22.")
        assert {"6001", "6002", "6003"} <= {e.resource for e in ari.endpoints.list()}
        vk.lab.simulate_caller(ari, say=None, caller_id='"Docker Test" <5550142>')
        call = ari.wait_for("StasisStart", timeout=15).channel
        assert call.caller.number == "5550142"
        call.answer()
        call.play(media="sound:hello-world").wait_for("PlaybackFinished", timeout=15)
        call.hangup()
        call.wait_for("StasisEnd", timeout=10)
    finally:
        ari.close()
    with vk.ami.connect() as ami:
        assert ami.action("Ping").get("Response") == "Success"
        endpoints = ami.command("pjsip show endpoints")
        assert all(phone in endpoints for phone in ("6001", "6002", "6003")), endpoints


def _outbound_websockets() -> dict[str, str]:
    """The Docker lab's outbound websocket connections: name -> the URI Asterisk connects to."""
    listed = docker.run_inside("asterisk", "-rx", "ari show outbound-websockets").stdout
    return {line.split()[0]: line.split()[-1] for line in listed.splitlines() if line.startswith("vicifast-")}


def test_asterisks_outbound_websockets_reach_the_kit_on_the_host(docker_lab):
    # `lab up --backend docker` started Asterisk alone: its outbound websockets go to the machine that runs
    # Docker (host.docker.internal), where vk.push listens on the address the container resolves it to.
    before = set(threading.enumerate())
    port = PORTS["PUSH_PORT"]
    assert _outbound_websockets() == {"vicifast-push": f"ws://host.docker.internal:{port}/ari/push",
                                      "vicifast-percall": f"ws://host.docker.internal:{port}/ari/per-call"}
    gateway = docker.host_gateway()
    assert gateway and not gateway.startswith("127.")
    ari = push.connect(connect_timeout=20)
    placer = vk.connect(app="docker-push-placer")
    try:
        assert ari.listening == f"{gateway}:{port}" and ari.url_pushed == f"ws://host.docker.internal:{port}/ari/push"
        assert f"listening on {gateway}:{port}" in repr(ari)
        assert ari.request("GET", "/asterisk/info")["system"]["version"].startswith("22.")   # REST over the socket
        vk.lab.simulate_caller(ari, say=None, dtmf="5")
        start = ari.wait_for("StasisStart", timeout=15)
        assert start.application == push.PUSH_APP and start.args == ["inbound", "5551000"]
        start.channel.answer()
        assert start.channel.wait_for("ChannelDtmfReceived", timeout=15).digit == "5"
        start.channel.hangup()
        assert start.channel.wait_for("StasisEnd", timeout=10)
        with push.PerCallServer() as server:          # the per-call connection takes the same way
            vk.lab.simulate_caller(placer, app=push.PER_CALL_APP, say=None)
            call = server.next_call(timeout=15)
            begun = call.wait_for("StasisStart", timeout=10)
            begun.channel.hangup()
            assert call.wait_for("StasisEnd", timeout=10)
        eventually(lambda: not [c for c in placer.channels.list() if c.name.startswith("Local/5551000@inbound")],
                   15, "the test's calls to end")
    finally:
        placer.close()
        ari.close()
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive() and t.name.startswith("vicifast")]
    assert not left, f"threads left running: {left}"


@pytest.mark.timeout(900)
def test_jupyterlab_serves_the_notebooks_behind_its_token(docker_lab):
    env = docker_lab["env"]
    started = time.monotonic()
    result = kit_command(env, "lab", "compose", "build", "jupyter", timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    timed("jupyter image build", started)

    started = time.monotonic()
    result = kit_command(env, "lab", "compose", "up", "--detach", "--wait")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    url = f"http://127.0.0.1:{PORTS['JUPYTER_PORT']}"
    token = env["JUPYTER_TOKEN"]

    def answers() -> bool:
        try:
            return requests.get(f"{url}/api/status", params={"token": token}, timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        eventually(answers, timeout=60, what="JupyterLab in its container answering")
    except pytest.fail.Exception:
        pytest.fail("JupyterLab did not answer within 60 s:\n" + docker.compose("logs", "jupyter").stdout[-3000:])
    timed("jupyter start (compose up until JupyterLab answers)", started)

    listing = requests.get(f"{url}/api/contents", params={"token": token}, timeout=10)
    assert listing.status_code == 200
    items = {item["name"]: item for item in listing.json()["content"]}
    assert "00_setup_and_first_contact.ipynb" in items, sorted(items)
    assert items["00_setup_and_first_contact.ipynb"]["writable"], "JupyterLab should save notebooks as their owner"
    page = requests.get(f"{url}/lab", params={"token": token}, timeout=10)
    assert page.status_code == 200 and "JupyterLab" in page.text
    assert requests.get(f"{url}/api/contents", timeout=10).status_code == 403
    assert requests.get(f"{url}/api/contents", params={"token": token + "x"}, timeout=10).status_code == 403
    # Without the token the page sends you to the login form, never to the notebooks.
    login = requests.get(f"{url}/lab", timeout=10, allow_redirects=False)
    assert login.status_code == 302 and "/login" in login.headers["Location"]


@pytest.mark.timeout(600)
def test_notebook_00_runs_inside_the_jupyter_container_against_the_asterisk_container(docker_lab):
    # The notebooks' own sanitizer, plus one rule: in the container the lab's address is the asterisk
    # service (http://asterisk:<port>), where the stored outputs show the host's http://127.0.0.1:8088.
    rules = (Path(settings.LAB_DIR).parent / "notebooks/nbval_sanitize.cfg").read_text() + (
        "\n[docker-lab-address]\n"
        f"regex: http://asterisk:{PORTS['ARI_PORT']}\n"
        f"replace: http://127.0.0.1:{settings.read_env_file(settings.LAB_DIR / 'lab.env')['ARI_PORT']}\n"
    )
    started = time.monotonic()
    result = docker.compose(
        "exec", "-T", "jupyter", "sh", "-c",
        "cat > /tmp/sanitize.cfg && python -m pytest -p no:cacheprovider -q --nbval --nbval-current-env "
        "--nbval-sanitize-with /tmp/sanitize.cfg 00_setup_and_first_contact.ipynb",
        timeout=500, stdin=rules,
    )
    timed("notebook 00 inside the jupyter container", started)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.timeout(600)
def test_notebook_10_runs_inside_the_jupyter_container_where_asterisk_pushes_to_it(docker_lab):
    # With JupyterLab beside it (`lab compose up`), the lab's Asterisk connects to the kit in the jupyter
    # service (ws://jupyter:PUSH_PORT), which listens on its container's every address; the stored outputs,
    # made against the root-filesystem lab, show ws://127.0.0.1:8790.
    port = PORTS["PUSH_PORT"]
    assert _outbound_websockets()["vicifast-push"] == f"ws://jupyter:{port}/ari/push"
    stored = settings.read_env_file(settings.LAB_DIR / "lab.env")
    rules = (Path(settings.LAB_DIR).parent / "notebooks/nbval_sanitize.cfg").read_text() + (
        "\n[docker-lab-address]\n"
        f"regex: http://asterisk:{PORTS['ARI_PORT']}\n"
        f"replace: http://127.0.0.1:{stored['ARI_PORT']}\n"
        "\n[docker-push-listening]\n"
        "regex: \\s\\(listening on [^)]*\\)\n"
        "replace: \n"
        "\n[docker-push-address]\n"
        "regex: ws://jupyter:\n"
        "replace: ws://127.0.0.1:\n"
        "\n[docker-push-every-address]\n"
        "regex: \\b0\\.0\\.0\\.0:\n"
        "replace: 127.0.0.1:\n"
        "\n[docker-push-port]\n"
        f"regex: :{port}\\b\n"
        f"replace: :{stored['PUSH_PORT']}\n"
        "\n[cli-column-padding]\n"
        "regex: [ ]+\\n\n"
        "replace: \\n\n"
    )
    started = time.monotonic()
    result = docker.compose(
        "exec", "-T", "jupyter", "sh", "-c",
        "cat > /tmp/sanitize.cfg && python -m pytest -p no:cacheprovider -q --nbval --nbval-current-env "
        "--nbval-sanitize-with /tmp/sanitize.cfg 10_asterisk_pushes_to_you.ipynb",
        timeout=500, stdin=rules,
    )
    timed("notebook 10 inside the jupyter container", started)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_the_jupyter_image_holds_the_kits_requirements(docker_lab):
    result = docker.compose("exec", "-T", "jupyter", "sh", "-c",
                            "python -m pip check && python -c 'import pocketsphinx, vicifast_kit.voice, anywidget'",
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lab_cli_and_logs_work_inside_the_docker_jupyterlab(docker_lab):
    script = (
        "import vicifast_kit as vk\n"
        "print(vk.lab.status())\n"
        "print('---')\n"
        "print(vk.lab.cli('pjsip show endpoints'))\n"
        "print('---')\n"
        "print(vk.lab.logs(20))\n"
    )
    result = docker.compose("exec", "-T", "jupyter", "python", "-c", script, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    status, endpoints, log = result.stdout.split("---\n")
    assert "Lab:      up" in status and f"http://asterisk:{PORTS['ARI_PORT']}" in status, status
    assert all(f"Endpoint:  {phone}" in endpoints for phone in ("6001", "6002", "6003")), endpoints
    assert "Objects found: 3" in endpoints, endpoints       # the last line of a many-line output
    assert "pjsip show endpoints" in log or "Manager" in log, log   # the log shows the AMI session just made


def test_down_leaves_no_container_network_or_volume(docker_lab):
    env = docker_lab["env"]
    assert any(dh.objects(env, PROJECT).values())
    result = kit_command(env, "lab", "down", "--backend", "docker")
    assert result.returncode == 0, result.stdout + result.stderr
    assert dh.objects(env, PROJECT) == {"containers": [], "networks": [], "volumes": []}
    result = kit_command(env, "lab", "status", "--backend", "docker")
    assert result.returncode == 1 and "not running with the docker backend" in result.stdout, result.stdout
    assert lab.running_backend() != "docker"
