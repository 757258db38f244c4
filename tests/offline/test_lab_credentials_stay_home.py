"""The lab's ARI user and password never leave this machine for a server that is not the lab (no lab needed)."""

import pytest

import vicifast_kit as vk
from vicifast_kit import settings
from vicifast_kit.contracts import Reply


class Recorder:
    """A Transport that remembers what would have been sent (and answers nothing useful)."""

    def __init__(self):
        self.sent = []

    where = "http://pbx.example.invalid:8088"

    def send(self, method, path, params=None, body=None, binary=False):
        self.sent.append((method, path))
        return Reply(status=500, message="a recorder, not ARI")

    def close(self):
        pass


@pytest.fixture
def lab_secrets(monkeypatch, tmp_path):
    """The lab's settings, its passwords in a secrets file of this test (not in the environment)."""
    for name in ("ARI_URL", "ARI_USER", *settings.SECRET_NAMES):
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "lab-secrets.env"
    secrets.write_text("".join(f"{name}=lab-{name.lower()}\n" for name in settings.SECRET_NAMES))
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(secrets))
    return settings.load()


@pytest.mark.parametrize("given", [{}, {"user": "admin"}, {"password": "theirs"}])
def test_a_url_elsewhere_without_credentials_is_refused_before_anything_is_sent(lab_secrets, given):
    transport = Recorder()
    with pytest.raises(vk.SettingsError) as err:
        vk.connect(app="x", url="http://pbx.example.invalid:8088", transport=transport, **given)
    text = str(err.value)
    missing = [name for name in ("user=", "password=") if name[:-1] not in given]
    assert "not the kit's lab" in text and all(name in text for name in missing), text
    assert "lab-ari_password" not in text and transport.sent == []


def test_ari_url_elsewhere_from_the_environment_without_credentials_is_refused(lab_secrets, monkeypatch):
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")
    with pytest.raises(vk.SettingsError, match=r"ARI_URL from your environment\) is not the kit's lab"):
        vk.connect(app="x", transport=Recorder())


def test_credentials_given_for_a_server_elsewhere_are_used(lab_secrets):
    transport = Recorder()
    with pytest.raises(vk.Error):           # the recorder answers nothing useful: connect fails after sending
        vk.connect(app="x", url="http://pbx.example.invalid:8088", user="admin", password="theirs",
                   transport=transport, timeout=1)
    assert transport.sent            # connect went ahead with the credentials the user gave


def test_the_labs_own_address_still_takes_the_labs_credentials(lab_secrets):
    url, user, password = vk.client._resolve(lab_secrets.ari_url, None, None)
    assert (user, password) == (lab_secrets.ari_user, "lab-ari_password")
    assert vk.client._resolve("http://localhost:1", None, None)[2] == "lab-ari_password"   # this machine: stays home
