"""The lab is safe to leave running: no published password opens it, no other web site may read it,
and it listens on this machine only."""

import re
import socket
import subprocess

import pytest
import requests

from vicifast_kit import ami as vk_ami
from vicifast_kit import settings
from vicifast_kit.lab import rootfs

#: The passwords the first edition published in docker/lab.env: they must open nothing now.
PUBLISHED = ("vicifast-lab", "vicifast-phone")


def test_the_passwords_once_published_in_the_repository_open_nothing(lab_settings):
    assert lab_settings.ari_password not in PUBLISHED and lab_settings.ami_secret not in PUBLISHED
    for password in PUBLISHED:
        url = f"{lab_settings.ari_url}/ari/asterisk/info"
        assert requests.get(url, auth=(lab_settings.ari_user, password), timeout=5).status_code == 401
        # what a cross-site "simple request" from any web page would try: the key in the query
        assert requests.get(url, params={"api_key": f"{lab_settings.ari_user}:{password}"}, timeout=5).status_code == 401
        with pytest.raises(vk_ami.AMIError):
            vk_ami.connect(secret=password)
    assert requests.get(f"{lab_settings.ari_url}/ari/asterisk/info",
                        auth=(lab_settings.ari_user, lab_settings.ari_password), timeout=5).status_code == 200


def test_only_pages_of_the_lab_itself_may_read_ari_from_a_browser(lab_settings):
    auth = (lab_settings.ari_user, lab_settings.ari_password)
    url = f"{lab_settings.ari_url}/ari/asterisk/info"
    elsewhere = requests.get(url, auth=auth, headers={"Origin": "https://evil.example"}, timeout=5)
    assert elsewhere.status_code == 200            # CORS does not stop the request; the random password does
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert "Access-Control-Allow-Credentials" not in elsewhere.headers
    preflight = requests.options(f"{lab_settings.ari_url}/ari/channels", timeout=5, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    own = requests.get(url, auth=auth, headers={"Origin": lab_settings.ari_url}, timeout=5)
    assert own.headers.get("Access-Control-Allow-Origin") == lab_settings.ari_url


def sockets_of(pids):
    """(protocol, local address, port) of every socket the given processes hold open, from `ss`."""
    out = subprocess.run(["ss", "-H", "-tuanp"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            fields = line.split()
            if fields[0] == "tcp" and fields[1] != "LISTEN":
                continue                                   # a connection, not a listener
            address, _, port = fields[4].rpartition(":")
            found.append((fields[0], address.strip("[]"), int(port)))
    return found


def test_the_lab_listens_on_this_machine_only(lab_settings):
    pids = rootfs.processes_in(rootfs.root_dir())
    if not pids:
        pytest.skip("the lab runs in Docker here: its ports are published on 127.0.0.1 by compose.yaml")
    values = settings.lab_values()
    found = sockets_of(pids)
    listeners = {(proto, port) for proto, address, port in found if address == "127.0.0.1"}
    assert {("tcp", int(values["ARI_PORT"])), ("tcp", int(values["AMI_PORT"])), ("udp", int(values["SIP_PORT"]))} <= listeners
    elsewhere = [(proto, address, port) for proto, address, port in found if address not in ("127.0.0.1", "::1")]
    # All that is left are the two client sockets of PJSIP's DNS resolver (IPv4 and IPv6, random ports,
    # bound by pjproject to any address; they only take answers to queries Asterisk sends). No TCP.
    assert all(proto == "udp" and address in ("0.0.0.0", "*", "::") and port >= 1024 for proto, address, port in elsewhere), elsewhere
    assert len(elsewhere) <= 2, elsewhere
    if elsewhere:                                       # nothing answers on them as a server would
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.settimeout(0.5)
        with probe:
            for proto, address, port in elsewhere:
                if address != "::":
                    probe.sendto(b"OPTIONS sip:probe SIP/2.0\r\n\r\n", ("127.0.0.1", port))
                    with pytest.raises(OSError):
                        probe.recvfrom(2048)


def test_asterisk_connects_to_the_kit_with_a_secret_of_its_own_never_the_ari_password():
    # Whatever listens first on the push port receives what Asterisk presents there.
    values = settings.lab_values()
    assert values["PUSH_PASSWORD"] not in (values["ARI_PASSWORD"], values["AMI_SECRET"], values["SIP_PASSWORD"])
    pids = rootfs.processes_in(rootfs.root_dir())
    if not pids:
        pytest.skip("the lab runs in Docker here: its rendered configuration is inside the container")
    rendered = (rootfs.root_dir() / "etc/vicifast-asterisk/websocket_client.conf").read_text()
    passwords = set(re.findall(r"^password\s*=\s*(\S+)", rendered, re.M))
    assert passwords == {values["PUSH_PASSWORD"]}


def test_the_read_only_viewer_has_a_password_of_its_own_that_cannot_write():
    values = settings.lab_values()
    assert values["ARI_VIEWER_PASSWORD"] not in {values[name] for name in settings.SECRET_NAMES if name != "ARI_VIEWER_PASSWORD"}
    url = f"http://127.0.0.1:{values['ARI_PORT']}/ari"
    # The writer's password does not open the viewer, and the viewer's may read but never write.
    assert requests.get(f"{url}/channels", auth=(f"{values['ARI_USER']}-viewer", values["ARI_PASSWORD"]),
                        timeout=5).status_code == 401
    viewer = (f"{values['ARI_USER']}-viewer", values["ARI_VIEWER_PASSWORD"])
    assert requests.get(f"{url}/channels", auth=viewer, timeout=5).status_code == 200
    assert requests.post(f"{url}/bridges", auth=viewer, timeout=5).status_code == 403
