"""The Docker lab's plumbing without an engine: compose's file and environment, --backend, the log tail."""

import re
from pathlib import Path

import pytest
import yaml

from vicifast_kit import cli, lab, settings
from vicifast_kit.lab import console, docker

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def secrets_path(tmp_path, monkeypatch):
    path = tmp_path / "lab-secrets.env"
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(path))
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    return path


def test_compose_gets_every_lab_setting_and_the_notebooks_owner(secrets_path, monkeypatch):
    monkeypatch.delenv("JUPYTER_UID", raising=False)
    env = docker.compose_environment()
    values = settings.lab_values()
    assert all(env[name] == value for name, value in values.items())
    assert all(env[name] for name in settings.SECRET_NAMES)          # the generated passwords
    owner = (REPO / "notebooks").stat()
    assert (env["JUPYTER_UID"], env["JUPYTER_GID"]) == (str(owner.st_uid), str(owner.st_gid))
    monkeypatch.setenv("JUPYTER_UID", "1234")
    assert docker.compose_environment()["JUPYTER_UID"] == "1234"


def test_compose_file_takes_every_setting_from_the_environment_and_publishes_on_loopback_only():
    text = (REPO / "docker" / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    needed = set(re.findall(r"@([A-Z_]+)@", (REPO / "docker" / "start-asterisk.sh").read_text())) | {
        name for name in re.findall(r"\$\{([A-Z_]+)", text)}
    assert set(settings.SECRET_NAMES) <= needed
    names = set(compose["x-lab-settings"])
    assert set(settings.lab_values()) - {"LAB_BIND"} <= names, "every lab setting goes to both services"
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
    jupyter = compose["services"]["jupyter"]
    assert jupyter["environment"]["AMI_HOST"] == "asterisk"
    assert "asterisk-logs:/var/log/asterisk:ro" in jupyter["volumes"]


def test_both_images_start_from_one_base():
    bases = {line.split()[1] for path in (REPO / "docker").glob("*Dockerfile")
             for line in path.read_text().splitlines() if line.startswith("FROM ")}
    assert bases == {"debian:sid-slim"}


@pytest.mark.parametrize("action", ["up", "down", "restart", "status"])
def test_every_lifecycle_command_takes_backend(action):
    args = cli._parser().parse_args(["lab", action, "--backend", "docker"])
    assert args.backend == "docker"
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["lab", action, "--backend", "podman"])


def test_compose_passes_its_arguments_through():
    args = cli._parser().parse_args(["lab", "compose", "up", "--detach", "--wait"])
    assert args.args == ["up", "--detach", "--wait"]


def test_an_unknown_backend_is_refused_with_the_choices():
    for call in (lambda: lab.status("podman"), lambda: lab.down("podman", progress=print)):
        with pytest.raises(lab.LabError, match="choose 'docker' or 'rootfs'"):
            call()


def test_the_project_name_can_be_moved(monkeypatch):
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    assert docker.project() == "vicifast-lab"
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "vicifast-lab-test")
    assert docker.project() == "vicifast-lab-test"


def test_the_log_tail_gives_the_last_lines_however_long_they_are(tmp_path):
    log = tmp_path / "messages.log"
    lines = [f"line {i} " + "x" * (i % 7 * 300) for i in range(2000)]
    log.write_text("\n".join(lines) + "\n")
    assert console.tail_file(log, 50).splitlines() == lines[-50:]
    assert console.tail_file(log, 5000).splitlines() == lines
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert console.tail_file(empty, 10) == ""
