"""The lab's settings: a missing file or a wrong value is a vk.SettingsError whose message says what to do."""

from __future__ import annotations

import pytest

from vicifast_kit import cli, errors, settings


@pytest.fixture
def no_lab_env(tmp_path, monkeypatch):
    """The kit as installed without its repository: no docker/lab.env, and no ARI_* in the environment."""
    monkeypatch.setattr(settings, "LAB_DIR", tmp_path / "docker")
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "secrets.env"))
    for name in (*settings.ARI_NAMES, *settings.SECRET_NAMES):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_missing_settings_file_is_settings_missing_saying_how_to_connect(no_lab_env):
    with pytest.raises(errors.SettingsMissing) as raised:
        settings.load()
    error = raised.value
    assert isinstance(error, errors.SettingsError) and isinstance(error, errors.Error)
    assert isinstance(error, FileNotFoundError)          # what code written before the family caught
    text = str(error)
    assert "lab.env" in text and "url=" in text and "ARI_URL, ARI_USER and ARI_PASSWORD" in text
    assert "repository" in text


def test_without_the_settings_file_the_environment_alone_is_enough_and_nothing_is_written(no_lab_env, monkeypatch):
    monkeypatch.setenv("ARI_URL", "http://asterisk.example:8088/")
    monkeypatch.setenv("ARI_USER", "me")
    monkeypatch.setenv("ARI_PASSWORD", "secret")
    monkeypatch.delenv("AMI_PORT", raising=False)
    s = settings.load()
    assert (s.ari_url, s.ari_user, s.ari_password, s.ami_port) == ("http://asterisk.example:8088", "me", "secret", 5038)
    assert list(no_lab_env.iterdir()) == []                  # no secrets file made for a lab that is not there


@pytest.mark.parametrize("value", ["abc", "0", "70000", "80 88"])
def test_a_port_that_is_not_a_port_is_a_settings_error_naming_it(monkeypatch, value):
    monkeypatch.setenv("AMI_PORT", value)
    with pytest.raises(errors.SettingsError, match="AMI_PORT must be a port number") as raised:
        settings.load()
    assert "environment variable AMI_PORT" in str(raised.value)        # where to fix it


def test_a_setting_missing_from_the_file_is_a_settings_error_naming_the_file(tmp_path, monkeypatch):
    (tmp_path / "lab.env").write_text("ARI_PORT=8088\nAMI_PORT=5038\nAMI_USER=vicifast\n")   # no ARI_USER
    monkeypatch.setattr(settings, "LAB_DIR", tmp_path)
    monkeypatch.delenv("ARI_USER", raising=False)
    with pytest.raises(errors.SettingsError, match="ARI_USER is not set") as raised:
        settings.load()
    assert str(tmp_path / "lab.env") in str(raised.value)


def test_passwords_that_cannot_be_kept_are_a_settings_error_saying_what_to_set(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "a-file" / "lab-secrets.env"))   # under a file
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(errors.SettingsError) as raised:
        settings.lab_secrets()
    assert "VICIFAST_SECRETS_FILE" in str(raised.value) and "ARI_PASSWORD" in str(raised.value)


def test_the_command_line_says_a_settings_error_in_one_line(no_lab_env, capsys):
    assert cli.main(["lab", "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vicifast-kit: The lab's settings file") and "Traceback" not in err
