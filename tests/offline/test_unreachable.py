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


def test_ami_with_nothing_listening_says_how_to_start_the_lab():
    with pytest.raises(vk_ami.AMIUnreachable, match="vicifast-kit lab up"):
        vk_ami.connect("127.0.0.1", _free_port(), "u", "p", timeout=2)
