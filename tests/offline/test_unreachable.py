"""Nothing listening where the lab should be: ARI and AMI both say how to start it (no lab needed)."""

import socket

import pytest

import vicifast_kit as vk
from vicifast_kit import ami as vk_ami
from vicifast_kit import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ari_with_nothing_listening_says_how_to_start_the_lab(monkeypatch):
    monkeypatch.delenv("ARI_URL")
    monkeypatch.setenv("ARI_PORT", str(_free_port()))           # the lab's address, on a port where nothing listens
    for name in settings.SECRET_NAMES:             # given: the kit makes no secrets file for this test
        monkeypatch.setenv(name, "p")
    with pytest.raises(vk.LabUnreachable, match="vicifast-kit lab up") as err:
        vk.connect(app="offline-unreachable", timeout=2)
    assert isinstance(err.value, ConnectionError)


def test_ari_at_a_url_you_gave_says_what_to_check_there():
    with pytest.raises(vk.LabUnreachable, match="the URL you passed"):
        vk.connect(app="offline-unreachable", url=f"http://127.0.0.1:{_free_port()}", user="u", password="p",
                   timeout=2)


def test_ami_at_the_labs_address_with_nothing_listening_says_how_to_start_the_lab(monkeypatch):
    monkeypatch.delenv("AMI_HOST")
    monkeypatch.setenv("AMI_PORT", str(_free_port()))           # the lab's AMI, where nothing listens
    for name in settings.SECRET_NAMES:
        monkeypatch.setenv(name, "p")
    with pytest.raises(vk_ami.AMIUnreachable, match="vicifast-kit lab up") as err:
        vk_ami.connect(timeout=2)
    assert isinstance(err.value, vk.LabUnreachable) and "AMI_HOST" in str(err.value)    # and for a server of your own


def test_ami_at_a_host_and_port_you_gave_says_what_to_check_there():
    with pytest.raises(vk_ami.AMIUnreachable) as err:
        vk_ami.connect("127.0.0.1", _free_port(), "u", "p", timeout=2)
    text = str(err.value)
    assert "the host and port you passed" in text and "manager.conf" in text and "lab up" not in text


def test_ami_at_ami_host_from_the_environment_says_what_to_check_there(monkeypatch):
    monkeypatch.setenv("AMI_HOST", "localhost.localdomain.invalid")         # resolves nowhere: nothing answers
    monkeypatch.setenv("AMI_SECRET", "p")
    with pytest.raises(vk_ami.AMIUnreachable) as err:
        vk_ami.connect(user="u", timeout=2)
    text = str(err.value)
    assert "AMI_HOST from your environment" in text and "manager.conf" in text and "lab up" not in text


def test_ami_for_an_asterisk_of_your_own_without_ami_settings_says_which_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")        # ARI_* of your own: not the lab
    monkeypatch.setenv("ARI_USER", "me")
    monkeypatch.setenv("ARI_PASSWORD", "secret")
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "secrets.env"))
    for name in ("AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(vk.SettingsError) as err:
        vk_ami.connect(timeout=2)
    text = str(err.value)
    assert "AMI_USER and AMI_SECRET are not set" in text and "pbx.example.invalid" in text
    assert not (tmp_path / "secrets.env").exists()                  # the lab's secrets were not even made
    assert settings.load().ami_host == "pbx.example.invalid"        # AMI's default host: ARI's


def test_ari_at_the_labs_address_also_names_the_settings_for_a_server_of_your_own(monkeypatch):
    monkeypatch.delenv("ARI_URL")
    monkeypatch.setenv("ARI_PORT", str(_free_port()))
    for name in settings.SECRET_NAMES:
        monkeypatch.setenv(name, "p")
    with pytest.raises(vk.LabUnreachable) as err:
        vk.connect(app="offline-unreachable", timeout=2)
    assert "vicifast-kit lab up" in str(err.value) and "ARI_URL, ARI_USER and ARI_PASSWORD" in str(err.value)
