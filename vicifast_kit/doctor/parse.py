"""Reading what Asterisk says: the text of CLI commands run over AMI's ``Command``, ``GetConfig`` replies, versions.

Each function takes the text (or reply) exactly as Asterisk sends it and returns plain data, so the
doctor's judgements can be tested on captured outputs without an Asterisk.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Listener:
    """One address a server listens on, as `http show status` or `manager show settings` shows it."""

    address: str
    port: int
    tls: bool = False

    @property
    def loopback(self) -> bool:
        """True when only this machine can reach it (127.0.0.0/8, ::1)."""
        return is_loopback(self.address)

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class HTTPStatus:
    """Asterisk's HTTP server (the one that carries ARI) as `http show status` shows it."""

    listeners: tuple[Listener, ...]
    uris: tuple[str, ...]                  # "/ari/... => Asterisk RESTful API", one per enabled URI
    restricted_paths: tuple[str, ...] = ()

    @property
    def serves_manager(self) -> bool:
        """True when AMI over HTTP (manager.conf webenabled) is among the enabled URIs."""
        return any("Manager" in uri for uri in self.uris)


def is_loopback(host: str) -> bool:
    """True when the address or name means this machine only (a name counts when all it resolves to does)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found)


def is_wildcard(host: str) -> bool:
    """True for "every address" (0.0.0.0, ::)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def listener(text: str, tls: bool = False) -> Listener | None:
    """ "127.0.0.1:8088", "[::]:8089" as a Listener (None for "Disabled" or anything without a port)."""
    address, colon, port = text.strip().rpartition(":")
    if not colon or not port.isdigit():
        return None
    return Listener(address.strip("[]"), int(port), tls)


def parse_http_status(text: str) -> HTTPStatus:
    """`http show status`: where the HTTP and HTTPS servers listen, the enabled URIs, the restricted paths."""
    listeners, uris, restricted = [], [], []
    section = ""
    for line in text.splitlines():
        bound = re.match(r"\s*(HTTPS )?Server Enabled and Bound to (\S+)", line)
        if bound:
            found = listener(bound.group(2), tls=bool(bound.group(1)))
            if found:
                listeners.append(found)
            continue
        if line.strip().endswith(":") and not line.startswith(" "):
            section = line.strip()
            continue
        if section.startswith("Enabled URI") and "=>" in line:
            uris.append(line.strip())
        elif section.startswith("Path Restrictions") and line.strip().startswith("Path:"):
            restricted.append(line.split(":", 1)[1].strip())
    return HTTPStatus(tuple(listeners), tuple(uris), tuple(restricted))


def parse_settings(text: str) -> dict[str, str]:
    """`Name: value` lines (`manager show settings`, `ari show status`, `manager show user X`, ...) as a dict."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"\s*([^:]+?):(?:\s+(.*?))?\s*$", line)
        if match and not line.strip().startswith("-"):
            found[match.group(1).strip()] = match.group(2) or ""
    return found


def parse_origins(text: str) -> tuple[str, ...]:
    """The origins of `ari show status`'s "Allowed Origins" line (ari.conf allowed_origins)."""
    value = parse_settings(text).get("Allowed Origins", "")
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())


def parse_table(text: str) -> list[dict[str, str]]:
    """A CLI table whose header is underlined with dashes (`ari show users`): one dict per row, the last column whole."""
    lines = [line for line in text.splitlines() if line.strip()]
    for i in range(1, len(lines)):
        if set(lines[i].replace(" ", "")) <= {"-", "="}:
            names = re.split(r"\s{2,}", lines[i - 1].strip())
            rows = []
            for line in lines[i + 1:]:
                if set(line.replace(" ", "")) <= {"-", "="}:
                    break
                values = line.split(None, len(names) - 1)
                rows.append(dict(zip(names, values)))
            return rows
    return []


def parse_ari_users(text: str) -> list[dict]:
    """`ari show users`: each user's name, read-only flag and (Asterisk 20.19/21.12.3/22.9+) whether it has an ACL."""
    users = []
    for row in parse_table(text):
        name = row.get("Username", "")
        if name:
            acl = row.get("ACL?")
            users.append({"name": name, "read_only": row.get("r/o?", "").lower() == "yes",
                          "acl": None if acl is None else acl.lower() == "yes"})
    return users


def parse_manager_users(text: str) -> list[str]:
    """`manager show users`: the AMI user names."""
    names, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("-"):
            if inside:
                break
            inside = True
        elif inside and stripped:
            names.append(stripped)
    return names


def parse_manager_user(text: str) -> dict:
    """`manager show user NAME`: its read and write classes and whether an ACL limits where it may log in from."""
    fields = parse_settings(text)
    return {"name": fields.get("username", ""),
            "read": _classes(fields.get("read perm", "")), "write": _classes(fields.get("write perm", "")),
            "acl": fields.get("ACL", "").lower() == "yes"}


def _classes(text: str) -> tuple[str, ...]:
    """"system,call,<none>" as ("system", "call")."""
    return tuple(c.strip().lower() for c in text.split(",") if c.strip() and c.strip() != "<none>")


def parse_module_show(text: str) -> dict[str, str]:
    """`module show` / `module show like X`: each module's status ("Running", "Not Running", ...) by file name."""
    modules = {}
    for line in text.splitlines():
        match = re.match(r"(\S+\.so)\s+.*?\s(\d+)\s+(Not Running|Running|\S+)\s+(\S+)\s*$", line)
        if match:
            modules[match.group(1)] = match.group(3)
    return modules


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Asterisk's version as numbers: "22.10.1+dfsg+~cs6-1" -> (22, 10, 1); None for one it cannot read (GIT-master-...)."""
    match = re.match(r"\s*(?:Asterisk\s+)?(?:certified[-/])?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def parse_getconfig(reply: Mapping[str, object]) -> list[tuple[str, list[tuple[str, str]]]]:
    """AMI ``GetConfig``'s reply (Category-000000, Line-000000-000001: key=value) as [(section, [(key, value)])]."""
    titles: dict[int, str] = {}
    lines: dict[int, list[tuple[int, str, str]]] = {}
    for name, value in reply.items():
        category = re.fullmatch(r"Category-(\d+)", name)
        line = re.fullmatch(r"Line-(\d+)-(\d+)", name)
        if category:
            titles[int(category.group(1))] = str(value)
        elif line:
            key, _, item = str(value).partition("=")
            lines.setdefault(int(line.group(1)), []).append((int(line.group(2)), key.strip(), item.strip()))
    return [(titles.get(i, ""), [(key, item) for _, key, item in sorted(lines.get(i, []))])
            for i in sorted(set(titles) | set(lines))]
