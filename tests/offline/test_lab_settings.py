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


# --- the lab's files: the checkout's docker/, else the copy shipped in the package ---------------------------
def test_the_lab_folder_is_the_checkouts_then_the_packaged_copy_unless_vicifast_lab_dir_says(tmp_path, monkeypatch):
    monkeypatch.delenv("VICIFAST_LAB_DIR", raising=False)
    assert settings._lab_dir() == settings.CHECKOUT_LAB_DIR          # this checkout has docker/lab.env
    monkeypatch.setattr(settings, "CHECKOUT_LAB_DIR", tmp_path / "site-packages" / "docker")   # an installed kit
    assert settings._lab_dir() == settings.PACKAGED_LAB_DIR
    assert settings.PACKAGED_LAB_DIR.parts[-4:] == ("vicifast_kit", "lab", "files", "docker")
    monkeypatch.setenv("VICIFAST_LAB_DIR", str(tmp_path))
    assert settings._lab_dir() == tmp_path


# --- the lab, or another server -------------------------------------------------------------------------------
@pytest.mark.parametrize("url, lab", [
    ("http://127.0.0.1:8088", True), ("http://localhost:8088/", True), ("http://[::1]:8088/ari", True),
    ("http://127.0.0.1:9", False), ("http://pbx.example.invalid:8088", False), ("https://127.0.0.1:8088", False),
    ("http://127.0.0.1", False), ("http://127.0.0.1:notaport", False)])
def test_an_address_is_the_labs_when_it_is_this_machine_at_the_labs_ari_port(url, lab, monkeypatch):
    monkeypatch.setenv("ARI_PORT", "8088")
    assert settings.is_lab_address(url) is lab


def test_in_the_docker_jupyterlab_the_lab_is_asterisk_on_the_compose_network(monkeypatch):
    monkeypatch.setenv("ARI_PORT", "8088")
    assert not settings.is_lab_address("http://asterisk:8088")
    monkeypatch.setenv("VICIFAST_LAB_HOST", "asterisk")        # what compose.yaml gives the jupyter service
    monkeypatch.setenv("ARI_URL", "http://asterisk:8088")
    monkeypatch.setenv("AMI_HOST", "asterisk")
    assert settings.is_lab_address("http://asterisk:8088") and not settings.is_lab_address("http://asterisk:9")
    assert settings.elsewhere() == ""
    compose = (settings.LAB_DIR / "compose.yaml").read_text()
    assert "VICIFAST_LAB_HOST: asterisk" in compose and "ARI_URL: http://asterisk:${ARI_PORT}" in compose


def test_settings_point_elsewhere_by_ari_url_or_ami_host_and_never_show_a_password(monkeypatch):
    monkeypatch.setenv("ARI_PORT", "8088")
    monkeypatch.setenv("ARI_URL", "http://127.0.0.1:8088")
    monkeypatch.setenv("AMI_HOST", "127.0.0.1")
    assert settings.elsewhere() == ""
    monkeypatch.setenv("AMI_HOST", "pbx.example.invalid")
    assert settings.elsewhere() == "pbx.example.invalid (AMI_HOST from your environment)"
    monkeypatch.setenv("ARI_URL", "http://me:hunter2@pbx.example.invalid:8088/")
    assert settings.elsewhere() == "http://pbx.example.invalid:8088 (ARI_URL from your environment)"


def test_ari_settings_of_your_own_are_used_alone_even_beside_the_labs_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "secrets.env"))
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")
    monkeypatch.setenv("ARI_USER", "me")
    monkeypatch.setenv("ARI_PASSWORD", "secret")
    monkeypatch.delenv("AMI_HOST")
    assert (settings.LAB_DIR / "lab.env").is_file() and not settings.uses_lab()
    s = settings.load()
    assert (s.ari_url, s.ari_user, s.ami_host, s.ami_user, s.ami_secret) == (
        "http://pbx.example.invalid:8088", "me", "pbx.example.invalid", "", "")
    assert not (tmp_path / "secrets.env").exists()                   # the lab's passwords: not made, not sent
    monkeypatch.setenv("ARI_URL", f"http://127.0.0.1:{settings.read_env_file(settings.LAB_DIR / 'lab.env')['ARI_PORT']}")
    monkeypatch.delenv("ARI_PORT", raising=False)
    assert settings.uses_lab() and settings.load().ami_user     # the lab's own address: the lab's settings


@pytest.fixture
def never_the_local_lab(monkeypatch):
    """The lab on this machine must not be touched: anything that would start, stop or run in it fails the test."""
    from vicifast_kit.lab import backends, console, lifecycle, rootfs

    def touched(*args, **kwargs):
        raise AssertionError("the lab on this machine was used although the settings point elsewhere")

    for module, name in ((rootfs, "locked"), (lifecycle, "down"), (lifecycle, "running_backend"),
                         (console, "running_backend"), (console, "_rootfs_log")):
        monkeypatch.setattr(module, name, touched)
    for backend in backends.BACKENDS.values():
        monkeypatch.setattr(backend, "run_inside", touched)


def test_up_and_restart_refuse_when_the_settings_point_at_another_server(monkeypatch, never_the_local_lab):
    from vicifast_kit import lab
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")
    for action in (lab.up, lab.restart):
        with pytest.raises(lab.NotTheLab) as raised:
            action()
        text = str(raised.value)
        assert isinstance(raised.value, errors.Error) and "http://pbx.example.invalid:8088 (ARI_URL" in text
        assert "unset ARI_URL" in text and "on this machine" in text


def test_cli_for_another_server_goes_through_its_ami_never_into_the_local_lab(monkeypatch, never_the_local_lab):
    from vicifast_kit import lab
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")
    monkeypatch.setenv("AMI_HOST", "pbx.example.invalid")                  # resolves nowhere: nothing answers
    with pytest.raises(lab.LabError) as raised:
        lab.cli("core show version")
    text = str(raised.value)
    assert "over AMI" in text and "pbx.example.invalid:9 (AMI; AMI_HOST from your environment)" in text
    assert "lab up" not in text


def test_logs_for_another_server_read_vicifast_lab_log_or_refuse(tmp_path, monkeypatch, never_the_local_lab):
    from vicifast_kit import lab
    monkeypatch.setenv("ARI_URL", "http://pbx.example.invalid:8088")
    monkeypatch.delenv("VICIFAST_LAB_LOG", raising=False)
    with pytest.raises(lab.NotTheLab, match="VICIFAST_LAB_LOG") as raised:
        lab.logs(5)
    assert "pbx.example.invalid" in str(raised.value)
    log = tmp_path / "messages.log"
    log.write_text("".join(f"line {n}\n" for n in range(10)))
    monkeypatch.setenv("VICIFAST_LAB_LOG", str(log))
    assert lab.logs(2) == "line 8\nline 9"


def test_status_of_another_server_says_it_is_not_the_lab(monkeypatch, never_the_local_lab):
    from fake_ari import FakeARI
    from vicifast_kit import lab

    server = FakeARI(password="theirs")
    server.answers[("GET", "/ari/asterisk/info")] = (200, {"system": {"version": "20.5.0"}})
    server.answers[("GET", "/ari/channels")] = (200, [{"id": "1"}])
    try:
        for name, value in (("ARI_URL", server.url), ("ARI_USER", "vicifast"), ("ARI_PASSWORD", "theirs")):
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AMI_USER", raising=False)
        monkeypatch.delenv("AMI_SECRET", raising=False)
        result = lab.status()
    finally:
        server.close()
    text = str(result)
    assert result.up and result.backend is None and result.version == "20.5.0" and result.channels == 1
    assert f"Server:   {server.url} (ARI_URL from your environment): not the kit's lab (up)" in text
    assert "AMI_USER and AMI_SECRET are not set" in text and "lab.env" not in text
    monkeypatch.setenv("ARI_URL", "http://127.0.0.1:9")                     # nothing answers there
    assert "ARI_URL from your environment" in str(lab.status()) and not lab.status().up
    with pytest.raises(lab.NotTheLab):
        lab.status("rootfs")


def test_lab_compose_from_an_installed_kit_says_first_that_the_jupyter_service_needs_the_repository(monkeypatch, capsys):
    import subprocess

    from vicifast_kit import lab
    ran = []
    monkeypatch.setattr(lab.docker, "check_compose", lambda: None)
    monkeypatch.setattr(lab.docker, "compose", lambda *args, **kw: ran.append(args) or subprocess.CompletedProcess(args, 0))
    assert cli.main(["lab", "compose", "ps"]) == 0 and capsys.readouterr().err == ""      # a checkout: nothing to say
    monkeypatch.setattr(settings, "LAB_DIR", settings.PACKAGED_LAB_DIR)
    assert cli.main(["lab", "compose", "ps"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("vicifast-kit: this kit is installed from a package") and "jupyter service does not" in err
    assert "clone the kit's repository" in err and ran == [("ps",), ("ps",)]
