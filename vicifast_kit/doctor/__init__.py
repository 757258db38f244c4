"""``vk.doctor(ari, ami=None)``: what an Asterisk offers the kit, and what turning ARI on has exposed.

    report = vk.doctor(ari)              # ARI alone: version, modules, features, what ARI itself shows
    report = vk.doctor(ari, ami)         # with AMI: where ARI and AMI listen, users, passwords, limits
    report                               # in Jupyter: the tables; print(report) in a terminal
    report.to_json(); report.exit_code   # 1 when a high-severity finding is present

It only reads: GET requests to ARI, CLI commands that show (``http show status``, ``ari show
users``, ``manager show settings``, ...) and ``GetConfig`` over AMI. A password it reads is judged
at once and dropped: a finding names the user, never the password. The same from a shell:
``vicifast-kit doctor [--json]``.

``vk.doctor`` is this module, and calling it runs ``examine``: the module also holds the parts,
for a notebook that wants to look closer (``vk.doctor.gather``, ``vk.doctor.diagnose``, the parsers).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from .accounts import SAMPLE_PASSWORDS, Account, ami_accounts, ari_accounts, verdict
from .checks import GIVE_AMI, NotChecked, Observations, run_checks
from .features import REQUIREMENTS, Requirement, features
from .gather import gather
from .parse import (parse_ari_users, parse_getconfig, parse_http_status, parse_manager_user, parse_manager_users, parse_module_show, parse_origins, parse_settings,
                    parse_version)
from .report import SEVERITIES, Feature, Finding, Report

if TYPE_CHECKING:
    from ..ami import AMIClient
    from ..client import ARIClient

__all__ = ["examine", "diagnose", "gather", "Report", "Finding", "Feature", "Observations", "Account", "NotChecked",
           "Requirement", "REQUIREMENTS", "SEVERITIES", "SAMPLE_PASSWORDS", "features", "verdict", "ari_accounts",
           "ami_accounts", "parse_ari_users", "parse_getconfig", "parse_http_status", "parse_manager_user",
           "parse_manager_users", "parse_module_show", "parse_origins", "parse_settings", "parse_version"]


def diagnose(obs: Observations) -> Report:
    """The report for what was read: features by version and module, exposure findings, what was not checked."""
    version = (obs.info.get("system") or {}).get("version", "")
    findings, unchecked = run_checks(obs)
    if obs.ami is None:
        unchecked.append(GIVE_AMI)
    findings.insert(0, Finding("asterisk-version", "info", f"Asterisk {version or '(version not given)'}",
                               "ARI GET /asterisk/info: system.version"))
    server = {"url": obs.url, "version": version, "ari_user": obs.ari_user, "ami": obs.ami,
              "modules_loaded": None if obs.modules is None else len(obs.modules)}
    return Report(server, tuple(features(version, obs.modules, True if obs.ami else None)), tuple(findings),
                  tuple(dict.fromkeys(unchecked)))


def examine(ari: ARIClient, ami: AMIClient | None = None, *, ari_password: str | None = None,
            ami_secret: str | None = None) -> Report:
    """What this server offers the kit and what it exposes, read through ARI (and AMI when given); changes nothing.

    ari_password and ami_secret, when given, are the ones ari and ami logged in with: judged (sample? weak?)
    even where AMI may not read ari.conf or manager.conf, and never kept.
    """
    __tracebackhide__ = True
    return diagnose(gather(ari, ami, ari_password=ari_password, ami_secret=ami_secret))


class _Doctor(types.ModuleType):
    """This module, callable: ``vk.doctor(ari, ami)`` is ``vk.doctor.examine(ari, ami)``."""

    def __call__(self, ari: ARIClient, ami: AMIClient | None = None, *, ari_password: str | None = None,
                 ami_secret: str | None = None) -> Report:
        """What this server offers the kit and what it exposes (see vk.doctor.examine)."""
        __tracebackhide__ = True
        return examine(ari, ami, ari_password=ari_password, ami_secret=ami_secret)


sys.modules[__name__].__class__ = _Doctor
