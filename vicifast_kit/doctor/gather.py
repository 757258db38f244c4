"""Reading a server for the doctor: GET requests to ARI, CLI commands and GetConfig over AMI. Nothing is changed.

What is read from ARI: ``GET /asterisk/info`` (version), ``GET /asterisk/modules`` (what is loaded),
and one request without credentials from a made-up web origin (does ARI let any page read it?).
What is read over AMI, when given: the CLI commands of COMMANDS (``Command``), ``manager show user
NAME`` for each AMI user, and http.conf, ari.conf and manager.conf (``GetConfig``), whose passwords
are judged at once and dropped (see accounts.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ..errors import ARIError, SettingsError
from .accounts import Account, ami_accounts, ari_accounts, verdict
from .checks import PROBE_ORIGIN, Observations
from .parse import parse_getconfig, parse_manager_users, parse_module_show, parse_settings

if TYPE_CHECKING:
    from ..ami import AMIClient
    from ..client import ARIClient

#: The CLI commands the doctor runs over AMI (each only shows; none changes anything).
COMMANDS = ("core show settings", "http show status", "ari show status", "ari show users", "manager show settings",
            "manager show users")
#: The configuration files the doctor reads over AMI's GetConfig.
CONFIGS = ("http.conf", "ari.conf", "manager.conf")


def gather(ari: ARIClient, ami: AMIClient | None = None, *, ari_password: str | None = None,
           ami_secret: str | None = None, timeout: float = 5.0) -> Observations:
    """Read what the doctor judges from ARI and, when given, AMI; changes nothing. Passwords given are judged, not kept."""
    obs = Observations(url=ari.url, ari_user=ari.user, info=ari.request("GET", "/asterisk/info"),
                       modules=_modules(ari))
    if ari_password is not None:
        obs.own_accounts["ARI"] = Account(ari.user, verdict(ari.user, ari_password))
    if ami is not None and ami_secret is not None:
        obs.own_accounts["AMI"] = Account(ami.user, verdict(ami.user, ami_secret))
    obs.cors_echo = _cors_echo(ari.url, timeout, obs.unavailable)
    if ami is not None:
        _read_ami(ami, obs)
    return obs


def _modules(ari: ARIClient) -> dict[str, str] | None:
    """The loaded modules (file name -> status) from ARI GET /asterisk/modules; None if ARI refuses."""
    try:
        return {module["name"]: module.get("status", "") for module in ari.request("GET", "/asterisk/modules")}
    except ARIError:
        return None


def _cors_echo(url: str, timeout: float, unavailable: dict[str, str]) -> str | None:
    """The Access-Control-Allow-Origin ARI sends to a request from PROBE_ORIGIN ("" none; None if no answer).

    The request carries no credentials: ARI answers 401, with the CORS headers it gives that origin.
    """
    with requests.Session() as session:
        session.trust_env = False           # the server itself, not through a proxy (as the kit's transport)
        try:
            reply = session.get(f"{url}/ari/asterisk/info", headers={"Origin": PROBE_ORIGIN}, timeout=timeout,
                                allow_redirects=False)
        except requests.RequestException as error:
            unavailable["cors"] = f"ARI did not answer the doctor's request from another origin ({type(error).__name__})"
            return None
    return reply.headers.get("Access-Control-Allow-Origin", "")


def _read_ami(ami: AMIClient, obs: Observations) -> None:
    """The CLI commands, every AMI user's rights and the configuration files, into obs (reasons for what failed)."""
    obs.ami = f"{ami.user}@{ami.host}:{ami.port}"
    for command in COMMANDS:
        _command(ami, obs, command)
    _same_server(obs)
    for name in parse_manager_users(obs.outputs.get("manager show users", "")):
        _command(ami, obs, f"manager show user {name}")
    if obs.modules is None and _command(ami, obs, "module show"):
        obs.modules = parse_module_show(obs.outputs["module show"]) or None
    for filename in CONFIGS:
        _config(ami, obs, filename)


def _command(ami: AMIClient, obs: Observations, command: str) -> bool:
    """Run one CLI command over AMI into obs.outputs (or why not into obs.unavailable); True when it ran."""
    from ..ami import AMIActionFailed

    try:
        obs.outputs[command] = ami.command(command)
        return True
    except AMIActionFailed as error:
        obs.unavailable[command] = _refused(ami.user, "Command", "command", error)
        return False


def _config(ami: AMIClient, obs: Observations, filename: str) -> None:
    """Read one configuration file over AMI's GetConfig into obs: http.conf as it is, users with passwords judged."""
    from ..ami import AMIActionFailed

    try:
        sections = parse_getconfig(ami.action("GetConfig", filename=filename))
    except AMIActionFailed as error:
        obs.unavailable[filename] = _refused(ami.user, "GetConfig", "config", error)
        return
    if filename == "http.conf":
        obs.http_conf = sections
    elif filename == "ari.conf":
        obs.ari_accounts = ari_accounts(sections)
    elif filename == "manager.conf":
        obs.ami_accounts = ami_accounts(sections)


def _refused(user: str, action: str, right: str, error: Exception) -> str:
    """Why an AMI action gave nothing: the right the user lacks, or Asterisk's own words."""
    text = str(error)
    if "ermission denied" in text:
        return (f"AMI user {user} may not use {action}: its manager.conf section needs write = {right} "
                "(the doctor only reads with it)")
    return f"AMI {action} failed: {text}"


def _same_server(obs: Observations) -> None:
    """SettingsError when ARI and AMI belong to two different Asterisks (their entity ids differ)."""
    ari_id = (obs.info.get("system") or {}).get("entity_id", "")
    ami_id = parse_settings(obs.outputs.get("core show settings", "")).get("Entity ID", "")
    if ari_id and ami_id and ari_id.lower() != ami_id.lower():
        raise SettingsError(
            f"ARI at {obs.url} and AMI at {obs.ami.rpartition('@')[2]} are two different Asterisks (entity ids "
            f"{ari_id} and {ami_id}): give the doctor the AMI of the server it examines (--ami-host, AMI_HOST).")
