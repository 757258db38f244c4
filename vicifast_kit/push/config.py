"""Where the kit's push server listens, and the address Asterisk is given to reach it.

Three settings, in docker/lab.env and overridable by environment variables of the same names (and
by the arguments of ``vk.push.connect(host=, port=, uri=)``):

- ``PUSH_PORT``: the port the kit listens on (8790; 0 picks a free one, for an Asterisk you then tell).
- ``PUSH_HOST``: the address it listens on. Empty: where the lab's Asterisk reaches this machine,
  127.0.0.1 for the root-filesystem lab, the Docker bridge's gateway (the address the lab's container
  knows as ``host.docker.internal``) for the Docker lab; the Docker JupyterLab sets 0.0.0.0.
- ``PUSH_URI``: the ws:// address Asterisk connects to, without the path (websocket_client.conf's
  ``uri`` is PUSH_URI + /ari/push). Empty: ``ws://127.0.0.1:PUSH_PORT`` for the root-filesystem
  lab, ``ws://host.docker.internal:PUSH_PORT`` for the Docker lab started by ``lab up --backend
  docker``, ``ws://jupyter:PUSH_PORT`` when compose runs JupyterLab too.

The lab renders PUSH_URI into websocket_client.conf when it starts (docker/start-asterisk.sh, the
same rule as ``lab_uri`` here). For an Asterisk of your own, ``asterisk_config()`` gives the lines
its websocket_client.conf and ari.conf need.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import settings as _settings
from ..errors import SettingsError

#: The lab's push port (docker/lab.env's PUSH_PORT) when nothing says otherwise.
DEFAULT_PORT = 8790
NAMES = ("PUSH_HOST", "PUSH_PORT", "PUSH_URI")
#: The name the Docker lab's container has for the machine that runs it (compose.yaml's extra_hosts).
DOCKER_HOST_NAME = "host.docker.internal"
WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class PushSettings:
    """Where the kit listens (host, port) and the ws:// address Asterisk connects to (uri, no path)."""

    host: str
    port: int
    uri: str
    #: Where the values came from, in words (for messages): e.g. "docker/lab.env", "the Docker lab".
    source: str = ""

    def url(self, path: str) -> str:
        """The full address Asterisk connects to for path (websocket_client.conf's uri)."""
        return self.uri.rstrip("/") + path


def values() -> dict[str, str]:
    """The push settings as set: docker/lab.env's PUSH_* lines, each overridden by its environment variable."""
    env_file = _settings.LAB_DIR / "lab.env"
    found = _settings.read_env_file(env_file) if env_file.is_file() else {}
    return {name: os.environ.get(name) or found.get(name, "") for name in NAMES}


def check_port(text: str | int, name: str = "PUSH_PORT") -> int:
    """A port number from 0 (a free one) to 65535; SettingsError saying where to fix it otherwise."""
    text = str(text).strip()
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise SettingsError(f"{name} must be a port number from 0 (any free port) to 65535, not {text!r}: set it "
                            f"in {_settings.LAB_DIR / 'lab.env'} or the environment, or pass port= to vk.push.connect()")
    return int(text)


def check_uri(uri: str) -> str:
    """A ws:// or wss:// address with a host (any path is dropped later by the caller); SettingsError otherwise."""
    parts = urlsplit(uri)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SettingsError(f"PUSH_URI must look like ws://HOST:PORT (the address Asterisk connects to), not {uri!r}")
    return uri.rstrip("/")


def lab_uri(host: str, port: int) -> str:
    """The rule of start-asterisk.sh: with PUSH_URI empty, Asterisk on this machine connects to ws://host:port."""
    if host in WILDCARDS:
        host = "127.0.0.1"
    return f"ws://{_bracket(host)}:{port}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def resolve(given: dict[str, str], *, host: str | None = None, port: int | None = None, uri: str | None = None,
            docker_gateway: str | None = None) -> PushSettings:
    """Pure: the push settings from the values set (values()), the arguments, and, when the lab runs in Docker
    on this machine, the address its container reaches this machine at (docker_gateway)."""
    configured = check_port(given.get("PUSH_PORT") or DEFAULT_PORT)
    port = check_port(port) if port is not None else configured
    source = "the arguments" if host or uri else "the settings PUSH_HOST, PUSH_PORT and PUSH_URI"
    host = host or given.get("PUSH_HOST") or ""
    if not uri and given.get("PUSH_URI"):
        uri = check_uri(given["PUSH_URI"])
        if port != configured and urlsplit(uri).port == configured:     # port= moves the kit: the uri follows
            uri = _with_uri_port(uri, port)
    uri = uri or ""
    if not host:
        if docker_gateway and not uri:
            host, source = docker_gateway, f"the Docker lab (its container reaches this machine at {docker_gateway})"
        elif uri and _is_local_literal(urlsplit(uri).hostname or ""):
            host = urlsplit(uri).hostname or "127.0.0.1"
        else:
            host = "127.0.0.1"
    if not uri:
        uri = f"ws://{DOCKER_HOST_NAME}:{port}" if docker_gateway and host == docker_gateway else lab_uri(host, port)
    return PushSettings(host=host, port=port, uri=check_uri(uri), source=source)


def _is_local_literal(name: str) -> bool:
    """True for a loopback IP address literal (a name like host.docker.internal is not one)."""
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def docker_gateway() -> str | None:
    """The address the Docker lab's container reaches this machine at, when that lab runs here (else None)."""
    try:
        from ..lab import docker
        if not docker.engine_answers() or not docker.running():
            return None
        return docker.host_gateway()
    except Exception:       # no docker command, an engine that went away: not the Docker lab
        return None


def load(*, host: str | None = None, port: int | None = None, uri: str | None = None) -> PushSettings:
    """The push settings in effect: the arguments, else PUSH_HOST/PUSH_PORT/PUSH_URI, else the running lab's."""
    given = values()
    gateway = None
    if not (host or given["PUSH_HOST"]) and not (uri or given["PUSH_URI"]):
        gateway = docker_gateway()
    return resolve(given, host=host, port=port, uri=uri, docker_gateway=gateway)


def with_port(place: PushSettings, port: int) -> PushSettings:
    """The same settings once the listener knows its real port (port 0 picked one): the uri's port follows."""
    if port == place.port:
        return place
    uri = _with_uri_port(place.uri, port) if urlsplit(place.uri).port in (None, place.port) else place.uri
    return PushSettings(host=place.host, port=port, uri=uri, source=place.source)


def _with_uri_port(uri: str, port: int) -> str:
    parts = urlsplit(uri)
    return parts._replace(netloc=f"{_bracket(parts.hostname or '')}:{port}").geturl()


def this_machine() -> str:
    """A name other machines may know this one by (for a uri when the kit listens on every address)."""
    return socket.getfqdn() or socket.gethostname()


def asterisk_config(uri: str, *, app: str, path: str, user: str, password: str | None = None,
                    per_call: bool = False, ari_user: str | None = None, name: str | None = None) -> str:
    """The websocket_client.conf and ari.conf sections an Asterisk needs to connect to the kit at uri + path.

    password=None writes a placeholder that says where the password is (the kit never shows a secret
    unless asked: pass it to put it in the lines).
    """
    name = name or app
    secret = password if password is not None else (
        "********   ; PUSH_PASSWORD (`vicifast-kit lab status` shows where; reveal_password=True writes it here)")
    connection = "per_call_config" if per_call else "persistent"
    retry = ("reconnect_interval = 200\nreconnect_attempts = 2" if per_call
             else "reconnect_interval = 500\nreconnect_attempts = 120")
    return (
        "; websocket_client.conf: where Asterisk connects (the kit's push server)\n"
        f"[{name}]\n"
        "type = websocket_client\n"
        f"connection_type = {connection}\n"
        f"uri = {uri.rstrip('/')}{path}\n"
        "protocols = ari\n"
        f"username = {user}\n"
        f"password = {secret}\n"
        "connection_timeout = 500\n"
        f"{retry}\n"
        "\n"
        "; ari.conf: which apps travel on it, with the rights of which ARI user of that Asterisk\n"
        f"[{name}]\n"
        "type = outbound_websocket\n"
        f"websocket_client_id = {name}\n"
        f"apps = {app}\n"
        "subscribe_all = no\n"
        f"local_ari_user = {ari_user or user}\n"
        "\n"
        "; then, in that Asterisk's CLI: module reload res_websocket_client.so, then module reload res_ari.so\n"
    )
