"""`vicifast-kit doctor`: connect as the rest of the kit does, examine the server, print the report, exit 1 on a high finding.

ARI: --url, --user, --password, else ARI_URL, ARI_USER, ARI_PASSWORD, else the lab's settings.
AMI: used when asked for (an --ami-* option, or AMI_USER and AMI_SECRET in the environment) and,
for the lab's own ARI, the lab's AMI. An AMI asked for without its host is looked for on ARI's host.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from .. import settings
from ..client import ARIClient, connect
from ..errors import SettingsError
from . import examine

if TYPE_CHECKING:
    from ..ami import AMIClient

#: Where AMI listens when nothing says otherwise (Asterisk's own default).
AMI_DEFAULT_PORT = 5038


class NoEvents:
    """An EventSource that brings nothing: the doctor only reads, so it opens no event websocket and registers no app."""

    def __init__(self) -> None:
        self.state = "reconnecting"

    def start(self, deliver: Callable[[dict], Any], on_state: Callable[[bool], Any]) -> None:
        """Nothing to start: connected at once."""
        self.state = "connected"

    def close(self) -> None:
        """Nothing to stop."""
        self.state = "ended"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The doctor's options: --json, where ARI is and as whom, where AMI is and as whom."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--url", help="ARI's address, http(s)://HOST:PORT (default: ARI_URL, else the lab's)")
    parser.add_argument("--user", help="ARI user (default: ARI_USER, else the lab's)")
    parser.add_argument("--password", help="ARI password (default: ARI_PASSWORD, else the lab's)")
    parser.add_argument("--ami-host", help="AMI's host (default: AMI_HOST, else ARI's host)")
    parser.add_argument("--ami-port", type=int, help=f"AMI's port (default: AMI_PORT, else {AMI_DEFAULT_PORT})")
    parser.add_argument("--ami-user", help="AMI user, with write = command,config (default: AMI_USER)")
    parser.add_argument("--ami-secret", help="AMI secret (default: AMI_SECRET)")


def run(args: argparse.Namespace) -> int:
    """Examine the server the options name; print the report (text or JSON); 1 when a finding is high, else 0."""
    ari = connect_for_doctor(args.url, args.user, args.password)
    try:
        chosen = ami_settings(args, ari.url)
        ami = None if chosen is None else _login(args, *chosen)
        try:
            report = examine(ari, ami, ari_password=ari_password(args),
                             ami_secret=None if chosen is None else chosen[3])
        finally:
            if ami is not None:
                ami.close()
    finally:
        ari.close()
    print(report.to_json() if args.json else report)
    return report.exit_code


def ari_password(args: argparse.Namespace) -> str:
    """The password the doctor's ARI client logged in with, found as vk.connect finds it (option, URL, settings)."""
    if args.password is not None:
        return args.password
    if args.url and urlsplit(args.url).password is not None:
        return urlsplit(args.url).password
    return settings.load().ari_password


def _lab_target(args: argparse.Namespace) -> bool:
    """True when ARI comes from the lab's settings (no --url, no ARI_URL)."""
    return args.url is None and not os.environ.get("ARI_URL")


def ami_settings(args: argparse.Namespace, ari_url: str) -> tuple[str, int, str, str] | None:
    """(host, port, user, secret) of the AMI to use, or None when none was asked for; SettingsError if half given."""
    env = os.environ
    host = args.ami_host or env.get("AMI_HOST")
    port = args.ami_port or (settings.port(env, "AMI_PORT") if env.get("AMI_PORT") else None)
    user = args.ami_user if args.ami_user is not None else env.get("AMI_USER")
    secret = args.ami_secret if args.ami_secret is not None else env.get("AMI_SECRET")
    if _lab_target(args):
        lab = settings.load()
        return host or lab.ami_host, port or lab.ami_port, user or lab.ami_user, secret or lab.ami_secret
    if not (args.ami_host or args.ami_port or user or secret):
        return None
    if not user or not secret:
        raise SettingsError("AMI needs a user and a secret: give --ami-user and --ami-secret (or AMI_USER and "
                            "AMI_SECRET), or no --ami-* option at all to examine ARI alone")
    return host or urlsplit(ari_url).hostname or "127.0.0.1", port or AMI_DEFAULT_PORT, user, secret


def _login(args: argparse.Namespace, host: str, port: int, user: str, secret: str) -> AMIClient:
    """An AMI session for the doctor; for an AMI other than the lab's, errors name the options, not the lab."""
    from ..ami import AMIClient, AMILoginRefused, AMIUnreachable

    if _lab_target(args):
        return AMIClient(host, port, user, secret)
    try:
        return AMIClient(host, port, user, secret)
    except AMIUnreachable as error:
        raise AMIUnreachable(error.url, error.detail, f"Nothing answers at {host}:{port} (AMI). Is AMI on there "
                             "(manager.conf [general]: enabled = yes, bindaddr, port)? Give --ami-host and "
                             "--ami-port, or no --ami-* option to examine ARI alone.") from None
    except AMILoginRefused:
        raise AMILoginRefused(f"AMI at {host}:{port} refused the login of user {user!r}: check --ami-user and "
                              "--ami-secret (or AMI_USER, AMI_SECRET) against that server's manager.conf "
                              "(`manager show users` on its CLI lists the users).") from None


def connect_for_doctor(url: str | None = None, user: str | None = None, password: str | None = None) -> ARIClient:
    """An ARI client that only reads: no event websocket, no Stasis app registered."""
    return connect("vicifast-doctor", url=url, user=user, password=password, event_source=NoEvents())
