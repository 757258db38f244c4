"""What a server exposes, judged from what the doctor read (Observations): pure functions, no I/O.

Each check yields Findings, and NotChecked for what it could not decide (with why). The sources:

| check | read from |
|---|---|
| ARI/HTTP beyond loopback, HTTP without TLS | AMI `http show status`; without AMI, the address the doctor reached ARI at |
| allowed_origins open to any page | AMI `ari show status`; ARI's answer to a request from a made-up Origin |
| sample, weak or shared passwords | ari.conf and manager.conf through AMI `GetConfig`, else the doctor's own logins (judged at once, never kept) |
| no read-only ARI user | AMI `ari show users` |
| a low HTTP sessionlimit | http.conf through AMI `GetConfig` |
| AMI beyond loopback | AMI `manager show settings` (and `http show status` for AMI over HTTP) |
| AMI users with system/command rights on the network | AMI `manager show users`, `manager show user NAME` |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlsplit

from .accounts import HASHED, SAMPLE, WEAK, Account
from .parse import (HTTPStatus, Listener, is_loopback, is_wildcard, listener, parse_ari_users, parse_http_status,
                    parse_manager_user, parse_origins, parse_settings)
from .report import Finding

Sections = list[tuple[str, list[tuple[str, str]]]]

#: The made-up origin of the doctor's CORS probe: only `allowed_origins = *` lets it in.
PROBE_ORIGIN = "https://vicifast-doctor.invalid"
#: AMI write classes that run commands on the machine or reshape Asterisk (`all` is every class).
POWERFUL_WRITE = ("system", "command", "all")
#: Asterisk's own HTTP sessionlimit when http.conf sets none.
DEFAULT_SESSION_LIMIT = 100
#: What the checks that read through AMI need.
GIVE_AMI = ("these need AMI: give the doctor --ami-host, --ami-user and --ami-secret (or AMI_HOST, AMI_USER, "
            "AMI_SECRET) of a user whose manager.conf section has write = command,config")


@dataclass(frozen=True)
class NotChecked:
    """A check the doctor could not make, and why."""

    text: str


@dataclass
class Observations:
    """Everything the doctor read from one Asterisk, as it read it, with no password: what diagnose() judges."""

    url: str                                   # where ARI answered
    ari_user: str
    info: dict                                 # ARI GET /asterisk/info
    modules: dict[str, str] | None             # loaded modules (file name -> status); None: not readable
    cors_echo: str | None = None               # Access-Control-Allow-Origin sent back to PROBE_ORIGIN; None: not probed
    ami: str | None = None                     # "user@host:port" of the doctor's AMI session
    outputs: dict[str, str] = field(default_factory=dict)   # AMI CLI command -> its output
    http_conf: Sections | None = None          # http.conf through AMI GetConfig
    ari_accounts: list[Account] | None = None  # ari.conf's users, passwords judged
    ami_accounts: list[Account] | None = None  # manager.conf's users, secrets judged
    own_accounts: dict[str, Account] = field(default_factory=dict)   # "ARI"/"AMI": the doctor's own user, judged
    unavailable: dict[str, str] = field(default_factory=dict)  # what could not be read -> why

    def unchecked(self, what: str, source: str) -> NotChecked:
        """`what` could not be checked because `source` (a command or file) was not read: with why, unless AMI is missing."""
        if self.ami is None:
            return NotChecked(what)
        return NotChecked(f"{what}: {self.unavailable.get(source) or f'{source} was not read'}")

    @property
    def http(self) -> HTTPStatus | None:
        """`http show status`, parsed (None when it was not read)."""
        text = self.outputs.get("http show status")
        return None if text is None else parse_http_status(text)


# --- where things listen ---------------------------------------------------------------------
def _where(listener_: Listener) -> str:
    """ "0.0.0.0:8088 (every address)" / "10.0.0.5:8088"."""
    return f"{listener_}{' (every address)' if is_wildcard(listener_.address) else ''}"


def ari_exposed(obs: Observations) -> bool | None:
    """True when ARI's HTTP(S) server listens beyond loopback, False when only on it, None when unknown."""
    http = obs.http
    if http is not None:
        return any(not found.loopback for found in http.listeners)
    if not is_loopback(urlsplit(obs.url).hostname or ""):
        return True
    return None


def ami_listeners(obs: Observations) -> list[Listener] | None:
    """AMI's TCP and TLS listeners from `manager show settings`, else where the doctor reached AMI; None if unknown."""
    text = obs.outputs.get("manager show settings")
    if text is not None:
        fields = parse_settings(text)
        found = [listener(fields.get("TCP Bindaddress", "")),
                 listener(fields.get("TLS Bindaddress", ""), tls=True) if fields.get("TLS Enable") == "Yes" else None]
        return [item for item in found if item is not None]
    if obs.ami:
        reached = listener(obs.ami.rpartition("@")[2])
        return [reached] if reached and not reached.loopback else None
    return None


def web_manager(obs: Observations) -> list[Listener]:
    """The HTTP(S) listeners beyond loopback that carry AMI (manager.conf webenabled), from `http show status`."""
    http = obs.http
    if http is None or not http.serves_manager:
        return []
    return [item for item in http.listeners if not item.loopback]


def ami_exposed(obs: Observations) -> bool | None:
    """True when AMI is reachable beyond loopback (TCP, TLS or over HTTP), False when not, None when unknown."""
    found = ami_listeners(obs)
    if found is None:
        return True if web_manager(obs) else None
    return bool(web_manager(obs)) or any(not item.loopback for item in found)


def check_http(obs: Observations) -> Iterator[Finding | NotChecked]:
    """ARI's HTTP server beyond loopback (medium), and plain HTTP beyond loopback (high)."""
    http = obs.http
    if http is None:
        host = urlsplit(obs.url).hostname or ""
        if is_loopback(host):
            yield obs.unchecked(f"whether ARI also listens beyond this machine (it answered at {obs.url}, as a "
                                "server bound to every address, 0.0.0.0, does too)", "http show status")
            return
        tls = obs.url.startswith("https")
        listeners = [Listener(host, urlsplit(obs.url).port or (443 if tls else 80), tls=tls)]
        source = f"the doctor reached ARI at {obs.url}"
    else:
        listeners = [item for item in http.listeners if not item.loopback]
        source = "AMI `http show status`: " + "; ".join(
            f"{'HTTPS' if item.tls else 'HTTP'} on {_where(item)}" for item in http.listeners)
        if http.restricted_paths:
            source += f"; restricted paths: {', '.join(http.restricted_paths)}"
    if listeners:
        yield Finding("ari-beyond-loopback", "medium", "ARI answers beyond this machine", source,
                      "http.conf [general]: bindaddr = 127.0.0.1 (reach it through an SSH tunnel or a reverse proxy); "
                      "if other hosts must reach it, let a firewall and a per-user ACL in ari.conf (permit = their "
                      "address; Asterisk 20.19, 21.12.3, 22.9 or later) choose which")
    plain = [item for item in listeners if not item.tls]
    if plain:
        yield Finding("ari-plain-http", "high", "ARI is served over plain HTTP beyond this machine: passwords and "
                      "calls cross the network readable", source,
                      f"http.conf [general]: bindaddr = 127.0.0.1, tlsenable = yes, tlsbindaddr = "
                      f"{plain[0].address}:8089, tlscertfile = /etc/asterisk/keys/asterisk.pem (and connect with https://)")


def check_origins(obs: Observations) -> Iterator[Finding | NotChecked]:
    """`allowed_origins` that lets any web page read ARI's answers (medium)."""
    text = obs.outputs.get("ari show status")
    origins = parse_origins(text) if text is not None else None
    evidence = []
    if origins is not None:
        evidence.append(f"AMI `ari show status`: Allowed Origins: {', '.join(origins) or '(none)'}")
    if obs.cors_echo is not None:
        evidence.append(f"ARI answered a request from Origin {PROBE_ORIGIN} with "
                        + (f"Access-Control-Allow-Origin: {obs.cors_echo}" if obs.cors_echo
                           else "no Access-Control-Allow-Origin"))
    if not evidence:
        yield obs.unchecked("allowed_origins", "ari show status")
        return
    if (origins and "*" in origins) or obs.cors_echo:
        yield Finding("ari-any-origin", "medium", "Any web page may read ARI's answers (allowed_origins = *): a page "
                      "that has a password, or a browser that keeps one, reads your calls", "; ".join(evidence),
                      "ari.conf [general]: allowed_origins = https://the-one-page-that-needs-it.example "
                      "(or no allowed_origins line at all)")


def _password_findings(accounts: list[Account], kind: str, where: str, exposed: bool | None,
                       change: str) -> Iterator[Finding | NotChecked]:
    """Sample (high), weak (high when exposed, else medium) and shared (medium) passwords of ARI or AMI users."""
    ident = kind.lower()
    for account in accounts:
        section = change.format(user=account.name)
        if account.password == SAMPLE:
            yield Finding(f"{ident}-sample-password", "high", f"{kind} user {account.name} has a password published "
                          "in a sample configuration", f"{where}: the password of {account.name} is one of those in "
                          "Asterisk's sample configurations or in this kit's history", section)
        elif account.password == WEAK:
            yield Finding(f"{ident}-weak-password", "high" if exposed else "medium",
                          f"{kind} user {account.name} has a trivially weak password",
                          f"{where}: the password of {account.name} is shorter than 12 characters, its user's "
                          "name, or one character repeated" + ("; and it is reachable beyond this machine" if exposed
                                                               else ""), section)
        elif account.password == HASHED:
            yield NotChecked(f"the password of {kind} user {account.name}: stored hashed (password_format = crypt), "
                             "so it was not compared")
    for account in accounts:
        later = [other for other in account.same_password_as if other > account.name]
        if later:
            users = " and ".join([account.name] + later)
            yield Finding(f"{ident}-shared-password", "medium", f"{kind} users {users} share one password: whoever "
                          f"has one user's password has the rights of all of them", f"{where}: the same password",
                          change.format(user=later[0]))


def _passwords(obs: Observations, kind: str, accounts: list[Account] | None, source: str, exposed: bool | None,
               change: str) -> Iterator[Finding | NotChecked]:
    """Password findings from a configuration file read over AMI, else of the doctor's own user when it knows that."""
    if accounts is not None:
        yield from _password_findings(accounts, kind, f"{source} (AMI GetConfig)", exposed, change)
        return
    own = obs.own_accounts.get(kind)
    if own is not None:
        yield from _password_findings([own], kind, "judged as the doctor logged in", exposed, change)
    yield obs.unchecked(f"the {'other ' if own else ''}{kind} users' passwords", source)


def check_ari_passwords(obs: Observations) -> Iterator[Finding | NotChecked]:
    """ARI users with a sample, weak or shared password (ari.conf through AMI GetConfig, else the doctor's own)."""
    yield from _passwords(obs, "ARI", obs.ari_accounts, "ari.conf", ari_exposed(obs),
                          "ari.conf [{user}]: password = <a long random one of its own, e.g. from "
                          "`openssl rand -base64 24`>")


def check_read_only_user(obs: Observations) -> Iterator[Finding | NotChecked]:
    """No read-only ARI user (low): watchers and dashboards then hold a password that may change calls."""
    text = obs.outputs.get("ari show users")
    users = parse_ari_users(text) if text is not None else None
    if users is None and obs.ari_accounts is not None:
        users = [{"name": a.name, "read_only": a.read_only} for a in obs.ari_accounts]
        source = "ari.conf (AMI GetConfig)"
    else:
        source = "AMI `ari show users`"
    if users is None:
        yield obs.unchecked("whether a read-only ARI user exists", "ari show users")
        return
    if not any(user["read_only"] for user in users):
        names = ", ".join(user["name"] for user in users) or "(none)"
        yield Finding("ari-no-read-only-user", "low", "No read-only ARI user: every program that only watches holds a "
                      "password that can also originate, hang up and redirect calls",
                      f"{source}: users {names}, none read-only",
                      "ari.conf: [viewer] type = user, read_only = yes, password = <a long random one> "
                      "(and give watchers that user)")


def check_session_limit(obs: Observations) -> Iterator[Finding | NotChecked]:
    """A low HTTP sessionlimit: a few hundred idle connections from anyone who reaches the port lock ARI out."""
    if obs.http_conf is None:
        yield obs.unchecked("the HTTP sessionlimit", "http.conf")
        return
    general = next((items for name, items in obs.http_conf if name == "general"), [])
    values = [value for key, value in general if key.lower() == "sessionlimit"]
    limit = int(values[-1]) if values and values[-1].isdigit() else DEFAULT_SESSION_LIMIT
    if limit > DEFAULT_SESSION_LIMIT:
        return
    said = f"sessionlimit = {limit}" if values else f"no sessionlimit (Asterisk's default, {DEFAULT_SESSION_LIMIT})"
    yield Finding("http-session-limit", "medium" if limit < DEFAULT_SESSION_LIMIT else "low",
                  f"Asterisk's HTTP server takes at most {limit} connections: a burst of calls from a script, or "
                  "idle connections from anyone who reaches the port, shut ARI's own clients out",
                  f"http.conf [general] (AMI GetConfig): {said}",
                  "http.conf [general]: sessionlimit = 1000 (the lab's; measured in docs/benchmarks.md, Bursts)")


def check_ami_exposure(obs: Observations) -> Iterator[Finding | NotChecked]:
    """AMI reachable beyond this machine: without TLS (high), only over TLS (medium)."""
    if obs.ami is None:
        yield obs.unchecked("where AMI listens", "manager show settings")
        return
    found, web = ami_listeners(obs), web_manager(obs)
    if found is None and not web:
        yield obs.unchecked("where AMI listens", "manager show settings")
        return
    open_ = [item for item in (found or []) if not item.loopback] + web
    if not open_:
        return
    plain = [item for item in open_ if not item.tls]
    source = ("AMI `manager show settings`" if "manager show settings" in obs.outputs
              else "the doctor logged in to AMI")
    parts = []
    if found:
        parts.append(f"{source}: " + "; ".join(f"{'TLS' if item.tls else 'TCP'} on {_where(item)}" for item in found))
    if web:
        parts.append(f"AMI over HTTP (webenabled, `http show status`) on {', '.join(map(_where, web))}")
    evidence = "; ".join(parts)
    yield Finding("ami-beyond-loopback", "high" if plain else "medium",
                  "AMI answers beyond this machine" + (" without TLS: secrets and every call's events cross the network "
                                                       "readable" if plain else " (over TLS)"), evidence,
                  "manager.conf [general]: bindaddr = 127.0.0.1" + (", webenabled = no" if web else "")
                  + " (Asterisk's own manager.conf.sample: never on a public address; reach it through SSH or a VPN)")


def check_ami_passwords(obs: Observations) -> Iterator[Finding | NotChecked]:
    """AMI users with a sample, weak or shared secret (manager.conf through AMI GetConfig, else the doctor's own)."""
    yield from _passwords(obs, "AMI", obs.ami_accounts, "manager.conf", ami_exposed(obs),
                          "manager.conf [{user}]: secret = <a long random one of its own>")


def check_ami_rights(obs: Observations) -> Iterator[Finding | NotChecked]:
    """AMI users who may run commands or reshape Asterisk (system, command, all) while AMI is on the network."""
    users = {command[len("manager show user "):]: parse_manager_user(text)
             for command, text in obs.outputs.items() if command.startswith("manager show user ")}
    if not users:
        yield obs.unchecked("the AMI users' rights", "manager show users")
        return
    exposed = ami_exposed(obs)
    if not exposed:
        if exposed is None:
            yield obs.unchecked("whether AMI users with system or command rights are reachable from the network",
                                "manager show settings")
        return
    for name, user in sorted(users.items()):
        powerful = [c for c in user["write"] if c in POWERFUL_WRITE]
        if powerful:
            yield Finding("ami-powerful-user-on-network", "medium" if user["acl"] else "high",
                          f"AMI user {name} may run {' and '.join(c for c in powerful if c != 'all') or 'all'} "
                          "actions from the network"
                          + (" (an ACL limits where from)" if user["acl"] else ""),
                          f"AMI `manager show user {name}`: write perm: {', '.join(user['write'])}; "
                          f"ACL: {'yes' if user['acl'] else 'no'}; AMI answers beyond this machine",
                          f"manager.conf [{name}]: write = <only what it needs, without {', '.join(powerful)}>; "
                          "deny = 0.0.0.0/0.0.0.0 and permit = <its host>/255.255.255.255")


CHECKS = (check_http, check_origins, check_ari_passwords, check_read_only_user, check_session_limit,
          check_ami_exposure, check_ami_passwords, check_ami_rights)


def run_checks(obs: Observations) -> tuple[list[Finding], list[str]]:
    """Every exposure check on the observations: (findings, what could not be checked and why)."""
    findings, unchecked = [], []
    for check in CHECKS:
        for item in check(obs):
            if isinstance(item, NotChecked):
                unchecked.append(item.text)
            else:
                findings.append(item)
    return findings, unchecked
