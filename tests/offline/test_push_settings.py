"""Offline: where the push server listens and what Asterisk is told (PUSH_HOST, PUSH_PORT, PUSH_URI), the
lab's rendering of websocket_client.conf, the Docker lab's wiring, the lines for an Asterisk of your own,
and the message when Asterisk never connects."""

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import websocket
import yaml

import vicifast_kit as vk
from vicifast_kit import settings
from vicifast_kit.lab import docker
from vicifast_kit.push import PushClient, PushError, config
from vicifast_kit.push.listener import Listener

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "start-asterisk.sh"
#: What start-asterisk.sh needs besides the push settings (values of no importance here).
BASE = {"LAB_BIND": "127.0.0.1", "ARI_PORT": "8088", "ARI_USER": "vicifast", "ARI_PASSWORD": "a", "ARI_VIEWER_PASSWORD": "v", "AMI_PORT": "5038",
        "AMI_USER": "vicifast", "AMI_SECRET": "b", "SIP_PORT": "5060", "SIP_PASSWORD": "c", "PUSH_PASSWORD": "p&w|d",
        "RTP_START": "10000", "RTP_END": "10099"}


# --- the settings ------------------------------------------------------------------------------
def test_lab_env_holds_the_push_settings_with_the_rootfs_labs_defaults():
    values = settings.read_env_file(REPO / "docker" / "lab.env")
    assert values["PUSH_PORT"] == "8790" and values["PUSH_HOST"] == "" and values["PUSH_URI"] == ""
    assert config.resolve(values) == config.PushSettings(
        "127.0.0.1", 8790, "ws://127.0.0.1:8790", "the settings PUSH_HOST, PUSH_PORT and PUSH_URI")


def test_environment_overrides_lab_env(monkeypatch):
    monkeypatch.setenv("PUSH_PORT", "18790")
    monkeypatch.delenv("PUSH_HOST", raising=False)
    monkeypatch.setenv("PUSH_URI", "ws://pbx-gateway.example:18790")
    assert config.values() == {"PUSH_HOST": "", "PUSH_PORT": "18790", "PUSH_URI": "ws://pbx-gateway.example:18790"}
    place = config.load()          # a PUSH_URI given: no look for a Docker lab
    assert (place.host, place.port, place.uri) == ("127.0.0.1", 18790, "ws://pbx-gateway.example:18790")
    assert place.url("/ari/push") == "ws://pbx-gateway.example:18790/ari/push"


@pytest.mark.parametrize("given,kwargs,gateway,expected", [
    ({"PUSH_PORT": "18790"}, {}, None, ("127.0.0.1", 18790, "ws://127.0.0.1:18790")),
    ({}, {"port": 0}, None, ("127.0.0.1", 0, "ws://127.0.0.1:0")),
    # the Docker lab on this machine: listen where its container reaches us, tell it host.docker.internal
    ({"PUSH_PORT": "8790"}, {}, "172.17.0.1", ("172.17.0.1", 8790, "ws://host.docker.internal:8790")),
    # the Docker JupyterLab: every address of its container, Asterisk reaches it by the service's name
    ({"PUSH_HOST": "0.0.0.0", "PUSH_URI": "ws://jupyter:8790"}, {}, None, ("0.0.0.0", 8790, "ws://jupyter:8790")),
    # a PUSH_URI on this machine's loopback: listen there
    ({"PUSH_URI": "ws://127.0.0.2:9000/"}, {"port": 9000}, None, ("127.0.0.2", 9000, "ws://127.0.0.2:9000")),
    # arguments beat the settings; a PUSH_HOST set beats the Docker lab's gateway
    ({"PUSH_HOST": "127.0.0.1"}, {"host": "::1", "port": 1234}, None, ("::1", 1234, "ws://[::1]:1234")),
    ({"PUSH_HOST": "0.0.0.0"}, {}, "172.17.0.1", ("0.0.0.0", 8790, "ws://127.0.0.1:8790")),
])
def test_resolve(given, kwargs, gateway, expected):
    place = config.resolve(given, docker_gateway=gateway, **kwargs)
    assert (place.host, place.port, place.uri) == expected


@pytest.mark.parametrize("given,match", [({"PUSH_PORT": "87x0"}, "PUSH_PORT must be a port number"),
                                         ({"PUSH_PORT": "70000"}, "from 0"),
                                         ({"PUSH_URI": "http://127.0.0.1:8790"}, "ws://HOST:PORT"),
                                         ({"PUSH_URI": "ws://:8790"}, "ws://HOST:PORT")])
def test_a_wrong_setting_is_a_settings_error_saying_what_to_write(given, match):
    with pytest.raises(vk.SettingsError, match=match):
        config.resolve(given)


def test_a_free_port_shows_in_the_address_asterisk_is_given():
    place = config.resolve({}, port=0)
    assert config.with_port(place, 41234).uri == "ws://127.0.0.1:41234"
    docker_lab = config.resolve({}, port=0, docker_gateway="172.17.0.1")
    assert config.with_port(docker_lab, 41234).uri == "ws://host.docker.internal:41234"
    proxied = config.resolve({"PUSH_URI": "wss://kit.example:443"}, port=0)   # a proxy's port stays
    assert config.with_port(proxied, 41234).uri == "wss://kit.example:443"
    # The Docker JupyterLab (PUSH_URI=ws://jupyter:PUSH_PORT): port= moves the kit, and the uri with it.
    jupyter = config.resolve({"PUSH_PORT": "28790", "PUSH_URI": "ws://jupyter:28790", "PUSH_HOST": "0.0.0.0"}, port=0)
    assert config.with_port(jupyter, 41234).uri == "ws://jupyter:41234"


# --- the lab renders it (docker/start-asterisk.sh, the one start script of both backends) ----------
def _render(tmp_path, **push) -> str:
    out = tmp_path / "rendered"
    shutil.rmtree(out, ignore_errors=True)
    env = {"PATH": os.environ["PATH"], **BASE, **push, "LAB_CONFIG_SRC": str(REPO / "docker" / "asterisk"),
           "VICIFAST_RENDER_ONLY": str(out)}
    result = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert not (out / "asterisk.conf").read_text().count("@"), "every placeholder is filled"
    return (out / "websocket_client.conf").read_text()


def _uris(text: str) -> list[str]:
    return [line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith("uri")]


@pytest.mark.parametrize("push", [
    {"PUSH_PORT": "8790"},
    {"PUSH_PORT": "18790", "PUSH_HOST": ""},
    {"PUSH_PORT": "8790", "PUSH_HOST": "0.0.0.0"},
    {"PUSH_PORT": "8790", "PUSH_HOST": "::1"},
    {"PUSH_PORT": "28790", "PUSH_URI": "ws://host.docker.internal:28790/"},
    {"PUSH_PORT": "8790", "PUSH_URI": "ws://jupyter:8790"},
])
def test_the_start_script_renders_the_uri_as_the_kit_expects_it(tmp_path, push):
    text = _render(tmp_path, **push)
    place = config.resolve(push)
    uri = push.get("PUSH_URI", "").rstrip("/") or config.lab_uri(push.get("PUSH_HOST", ""), int(push["PUSH_PORT"]))
    assert uri == place.uri or push.get("PUSH_HOST") == "::1" and place.uri == "ws://[::1]:8790"
    assert _uris(text) == [f"{uri}/ari/push", f"{uri}/ari/per-call"]
    assert "password = p&w|d" in text          # sed's special characters pass unchanged


def test_without_any_push_setting_the_lab_still_starts_on_the_old_address(tmp_path):
    assert _uris(_render(tmp_path)) == ["ws://127.0.0.1:8790/ari/push", "ws://127.0.0.1:8790/ari/per-call"]


# --- the Docker lab --------------------------------------------------------------------------------
def test_lab_up_backend_docker_points_asterisk_at_this_machine_unless_told():
    assert docker.start_values({"PUSH_PORT": "8790", "PUSH_URI": ""})["PUSH_URI"] == "ws://host.docker.internal:8790"
    assert docker.start_values({"PUSH_PORT": "8790", "PUSH_URI": "ws://pbx:1"})["PUSH_URI"] == "ws://pbx:1"


def test_compose_reaches_the_kit_on_the_host_and_in_jupyterlab():
    text = (REPO / "docker" / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    asterisk, jupyter = compose["services"]["asterisk"], compose["services"]["jupyter"]
    assert "host.docker.internal:host-gateway" in asterisk["extra_hosts"]
    assert compose["x-lab-settings"]["PUSH_URI"] == "${PUSH_URI:-ws://jupyter:${PUSH_PORT:-8790}}"
    assert jupyter["environment"]["PUSH_HOST"] == "0.0.0.0"
    assert not any("PUSH_PORT" in port for service in compose["services"].values() for port in service.get("ports", [])), \
        "the push port stays on the compose network: never published"
    dockerfile = (REPO / "docker" / "jupyter.Dockerfile").read_text()
    assert "COPY docker/asterisk /opt/vicifast-kit/docker/asterisk" in dockerfile   # notebook 10 reads it


# --- an Asterisk of your own -------------------------------------------------------------------------
def test_the_lines_for_an_asterisk_of_your_own():
    text = config.asterisk_config("ws://10.1.2.3:8790/", app="crm", path="/ari/push", user="pbx", password=None)
    assert "uri = ws://10.1.2.3:8790/ari/push" in text and "apps = crm" in text and "username = pbx" in text
    assert "type = outbound_websocket" in text and "websocket_client_id = crm" in text
    assert "password = ********" in text
    shown = config.asterisk_config("ws://10.1.2.3:8790", app="crm", path="/ari/per-call", user="pbx", password="s3",
                                   per_call=True)
    assert "password = s3\n" in shown and "connection_type = per_call_config" in shown


def test_vk_push_asterisk_config_uses_the_settings_and_hides_the_password(monkeypatch):
    monkeypatch.setenv("PUSH_URI", "ws://192.0.2.7:9999")
    text = vk.push.asterisk_config(credentials=("u", "secret-pw"), port=9999)
    assert "uri = ws://192.0.2.7:9999/ari/push" in text and "secret-pw" not in text
    assert "password = secret-pw" in vk.push.asterisk_config(credentials=("u", "secret-pw"), reveal_password=True)
    assert "uri = ws://192.0.2.7:9999/ari/per-call" in vk.push.asterisk_config(credentials=("u", "p"), per_call=True)


# --- when Asterisk never connects, the message says what to check ------------------------------------
def test_nothing_reaching_the_port_names_the_uri_the_firewall_and_the_lab():
    with pytest.raises(PushError) as e:
        PushClient(host="127.0.0.1", port=0, credentials=("u", "p"), connect_timeout=0.3)
    text = str(e.value)
    assert "Nothing reached 127.0.0.1:" in text and "firewall" in text and "ari show outbound-websockets" in text
    assert "vk.push.asterisk_config()" in text and isinstance(e.value, vk.Error)


def test_wrong_credentials_and_a_wrong_path_are_told_apart():
    listener = Listener(0, credentials=("u", "right"), name="offline-diagnosis")
    stop = threading.Event()

    def asterisk_with(path, password):
        header = "Authorization: Basic " + __import__("base64").b64encode(f"u:{password}".encode()).decode()
        while not stop.is_set():
            try:
                websocket.create_connection(listener.url(path), header=[header], subprotocols=["ari"], timeout=2)
            except (websocket.WebSocketException, OSError):
                pass
            stop.wait(0.05)

    try:
        for path, password, match in (("/ari/push", "wrong", "with other credentials: .*'u' and PUSH_PASSWORD"),
                                      ("/ari/elsewhere", "right", "to '/ari/elsewhere', which is not served here")):
            stop.clear()
            listener.seen.update(credentials=0, path=0)
            knocking = threading.Thread(target=asterisk_with, args=(path, password), name="test-knock", daemon=True)
            knocking.start()
            try:
                with pytest.raises(PushError, match=match):
                    PushClient(listener=listener, credentials=("u", "right"), connect_timeout=0.6)
            finally:
                stop.set()
                knocking.join(5)
    finally:
        listener.close()
