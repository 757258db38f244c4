"""The lab's passwords: made at random on first use, kept where only this user can read them, never in the repo."""

import os
import re
import stat
from pathlib import Path

import pytest

from vicifast_kit import settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def secrets_path(tmp_path, monkeypatch):
    path = tmp_path / "config" / "vicifast-kit" / "lab-secrets.env"
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(path))
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_repository_publishes_no_password():
    published = settings.read_env_file(REPO / "docker" / "lab.env")
    assert not set(settings.SECRET_NAMES) & set(published)


def test_first_use_makes_random_secrets_readable_only_by_the_user(secrets_path):
    values = settings.lab_values()
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
    made = {name: values[name] for name in settings.SECRET_NAMES}
    assert len(set(made.values())) == len(settings.SECRET_NAMES)          # all different
    assert all(len(value) >= 20 and re.fullmatch(r"[\w-]+", value) for value in made.values())
    assert settings.read_env_file(secrets_path) == made        # kept, in the file the kit reads
    assert settings.lab_values()["ARI_PASSWORD"] == made["ARI_PASSWORD"]      # and reused


def test_another_user_or_machine_gets_other_secrets(tmp_path, monkeypatch, secrets_path):
    first = settings.lab_secrets()
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "other.env"))
    assert not set(first.values()) & set(settings.lab_secrets().values())


def test_the_environment_overrides_a_secret_and_writes_nothing_when_it_gives_them_all(secrets_path, monkeypatch):
    monkeypatch.setenv("ARI_PASSWORD", "from-the-environment")
    assert settings.load().ari_password == "from-the-environment"
    assert settings.read_env_file(secrets_path)["ARI_PASSWORD"] != "from-the-environment"
    secrets_path.unlink()
    monkeypatch.setenv("AMI_SECRET", "a")
    monkeypatch.setenv("SIP_PASSWORD", "s")
    monkeypatch.setenv("PUSH_PASSWORD", "p")
    monkeypatch.setenv("ARI_VIEWER_PASSWORD", "v")
    assert settings.lab_secrets() == {"ARI_PASSWORD": "from-the-environment", "AMI_SECRET": "a", "SIP_PASSWORD": "s",
                                      "PUSH_PASSWORD": "p", "ARI_VIEWER_PASSWORD": "v"}
    assert not secrets_path.exists()                           # e.g. inside the Docker JupyterLab


def test_a_missing_secret_is_added_and_a_loosened_file_is_closed_again(secrets_path):
    secrets_path.parent.mkdir(parents=True)
    secrets_path.write_text("ARI_PASSWORD=kept-as-it-is\n")
    os.chmod(secrets_path, 0o644)
    values = settings.lab_secrets()
    assert values["ARI_PASSWORD"] == "kept-as-it-is" and values["AMI_SECRET"] and values["SIP_PASSWORD"]
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
    os.chmod(secrets_path, 0o644)
    settings.lab_secrets()
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600


def test_lab_status_says_where_the_settings_and_passwords_are(secrets_path):
    from vicifast_kit.lab import LabStatus

    for status in (LabStatus(backend=None, ari="unreachable", ami="unreachable", ari_url="http://127.0.0.1:1"),
                   LabStatus(backend="rootfs", ari="ok", ami="ok", version="22", channels=0)):
        text = str(status)
        assert str(secrets_path) in text and "lab.env" in text
        assert settings.lab_values()["ARI_PASSWORD"] not in text
