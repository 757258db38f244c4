"""Does the lab answer? ARI, AMI and port checks that need nothing but the standard library."""

from __future__ import annotations

import errno
import json
import os
import socket
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any, Callable

from .. import settings as _settings
from ..errors import LabUnreachable, auth_hint, error_for, unreachable_text
from ..settings import Settings


def ari_get(s: Settings, path: str, timeout: float = 3):
    """GET an ARI resource with the lab's credentials; the decoded JSON, or None if nothing answers."""
    request = urllib.request.Request(f"{s.ari_url}/ari{path}")
    token = b64encode(f"{s.ari_user}:{s.ari_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return {"http_status": error.code}
    except (OSError, ValueError):
        return None


def ari_get_checked(s: Settings, path: str, timeout: float = 3) -> Any:
    """GET an ARI resource with the lab's credentials; raises what the kit's client raises on an error answer."""
    __tracebackhide__ = True
    found = ari_get(s, path, timeout)
    if found is None:
        raise LabUnreachable(s.ari_url, text=unreachable_text(s.ari_url, "environment" if os.environ.get("ARI_URL")
                                                              else "lab"))
    if isinstance(found, dict) and set(found) == {"http_status"}:
        status = found["http_status"]
        hint = auth_hint(s.ari_user, "environment" if os.environ.get("ARI_PASSWORD") else "lab") if status == 401 else ""
        raise error_for(status, "ARI refused the request" if status in (401, 403) else "ARI answered an error",
                        "GET", path, hint)
    return found


def lab_getter() -> Callable[[str], Any]:
    """A GET with the kit's settings (read once; the lab's unless ARI_URL... say otherwise), raising on error answers."""
    s = _settings.load()
    return lambda path: ari_get_checked(s, path)


#: What leftovers() counts: its name -> (the ARI list, the kind a client's ownership files it under, key field).
LEFTOVER_KINDS = (("channels", "/channels", "channel", "id"), ("bridges", "/bridges", "bridge", "id"),
                  ("recordings", "/recordings/stored", "stored_recording", "name"))


def _sibling(name: str) -> str:
    """The other half of a Local channel's name ("Local/x@ctx-0001;1" <-> ";2"), else ""."""
    if name.startswith("Local/") and name[-2:] in (";1", ";2"):
        return name[:-1] + ("2" if name.endswith("1") else "1")
    return ""


def count_leftovers(get: Callable[[str], Any], owns: Callable[[str, str], bool] | None = None) -> dict[str, int]:
    """Count channels, bridges and stored recordings (only those owns(kind, id) accepts, when given).

    A Local channel counts with its other half: a client that originates ``Local/9000@inbound``
    owns the half it was given and the half that runs the dialplan.
    """
    found = {}
    for name, path, kind, field in LEFTOVER_KINDS:
        items = get(path)
        if not isinstance(items, list):
            raise LabUnreachable(path, f"ARI answered {path} with something that is not a list")
        if owns is None:
            found[name] = len(items)
            continue
        mine = [item for item in items if owns(kind, str(item.get(field, "")))]
        if kind == "channel":
            names = {item.get("name") for item in mine}
            mine += [item for item in items if item not in mine and _sibling(item.get("name", "")) in names]
        found[name] = len(mine)
    return found


def ami_login(s: Settings, timeout: float = 3) -> str:
    """Log in to AMI: 'ok', 'refused' (wrong user or secret) or 'unreachable'."""
    try:
        with socket.create_connection((s.ami_host, s.ami_port), timeout=timeout) as sock, \
                sock.makefile("rb") as reader:         # both closed: the descriptor goes now, not at collection
            if not reader.readline().startswith(b"Asterisk Call Manager"):
                return "unreachable"
            sock.sendall(
                f"Action: Login\r\nUsername: {s.ami_user}\r\nSecret: {s.ami_secret}\r\nEvents: off\r\n\r\n".encode()
            )
            reply = b""
            while not reply.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    break
                reply += line
            sock.sendall(b"Action: Logoff\r\n\r\n")
            return "ok" if b"Response: Success" in reply else "refused"
    except OSError:
        return "unreachable"


def port_taken(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    """True if something already holds this TCP (or UDP) port on this address."""
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def port_owner(port: int, kind: int = socket.SOCK_STREAM) -> str:
    """Which program holds a local port, as 'pid 123 (python3)', or '' if it cannot be told."""
    table = "/proc/net/tcp" if kind == socket.SOCK_STREAM else "/proc/net/udp"
    inodes = set()
    try:
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                inodes.add(fields[9])
    except OSError:
        return ""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    name = (proc / "comm").read_text().strip()
                    return f"pid {proc.name} ({name})"
        except OSError:
            continue
    return ""
