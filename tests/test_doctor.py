"""The doctor against real Asterisks: the lab (nothing high; its features there; JSON; the command's exit codes) and
a second, deliberately unsafe Asterisk beside it (Debian's stock configuration with careless ARI and AMI settings,
tests/doctor_server.py), where every exposure finding fires and the command exits 1."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import vicifast_kit as vk
from doctor_server import AMI_SECRET, AMI_USER, ARI_PASSWORD, WATCHER, WATCHER_SECRET, can_run, unsafe_asterisk
from vicifast_kit import settings
from vicifast_kit.doctor import Report
from vicifast_kit.doctor.command import connect_for_doctor

COMMAND = [sys.executable, "-m", "vicifast_kit.cli"]


@pytest.fixture(scope="module")
def lab_report(lab_settings) -> Report:
    """vk.doctor on the lab, through ARI and the lab's AMI."""
    ari = connect_for_doctor()
    try:
        with vk.ami.connect() as ami:
            return vk.doctor(ari, ami, ari_password=lab_settings.ari_password, ami_secret=lab_settings.ami_secret)
    finally:
        ari.close()


def test_the_lab_has_no_high_finding(lab_report):
    assert lab_report.exit_code == 0 and lab_report.highest != "high"
    assert lab_report.not_checked == ()                 # the lab's AMI user may read everything the doctor reads
    # the read-only viewer has a password of its own (ARI_VIEWER_PASSWORD): nothing but the version to report
    assert {f.id for f in lab_report.findings} <= {"asterisk-version"}


def test_the_lab_reports_its_version_and_the_media_push_and_broadcast_features(lab_report):
    version = vk.lab.status().version
    assert lab_report.server["version"] == version and lab_report.by_id("asterisk-version")[0].title.endswith(version)
    for name in ("WebSocket media", "Outbound websockets", "REST over the websocket", "StasisBroadcast", "Snoop",
                 "Talk detection", "ConfBridge", "AMI"):
        assert lab_report.feature(name).here is True, lab_report.feature(name)


def test_the_report_round_trips_through_json_and_shows_no_password(lab_report):
    assert Report.from_json(lab_report.to_json()) == lab_report
    shown = str(lab_report) + lab_report.to_json() + lab_report._repr_html_()
    assert not [secret for secret in settings.known_secrets() if secret in shown]


def test_the_command_on_the_lab_exits_0_and_prints_json():
    run = subprocess.run(COMMAND + ["doctor", "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["exit_code"] == 0 and printed["server"]["ami"].endswith(f":{settings.load().ami_port}")
    assert not [secret for secret in settings.known_secrets() if secret in run.stdout + run.stderr]


def test_the_command_says_in_one_line_when_nothing_answers():
    run = subprocess.run(COMMAND + ["doctor", "--url", "http://127.0.0.1:9", "--user", "u", "--password", "p"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("vicifast-kit: Nothing answers at http://127.0.0.1:9") and run.stderr.count("\n") == 1


# --- a deliberately unsafe Asterisk ---------------------------------------------------------------
@pytest.fixture(scope="module")
def unsafe():
    """The unsafe Asterisk, running (skipped, with why, where this machine cannot run it)."""
    why = can_run()
    if why:
        pytest.skip(f"the unsafe Asterisk {why}")
    with unsafe_asterisk() as server:
        yield server
    assert not server.processes() and not server.workdir.exists()


def test_every_exposure_finding_fires_on_the_unsafe_asterisk(unsafe):
    run = unsafe.doctor("--json", "--ami-user", AMI_USER, "--ami-secret", AMI_SECRET)
    assert run.returncode == 1, run.stderr
    report = Report.from_json(run.stdout)
    assert report.not_checked == ()
    found = {f.id: f.severity for f in report.findings}
    assert found == {"asterisk-version": "info", "ari-beyond-loopback": "medium", "ari-plain-http": "high",
                     "ari-any-origin": "medium", "ari-sample-password": "high", "ari-weak-password": "high",
                     "ari-shared-password": "medium", "ari-no-read-only-user": "low", "http-session-limit": "low",
                     "ami-beyond-loopback": "high", "ami-sample-password": "high",
                     "ami-powerful-user-on-network": "high"}
    assert {f.title for f in report.by_id("ari-weak-password")} == {
        "ARI user dashboard has a trivially weak password", "ARI user reports has a trivially weak password"}
    assert "0.0.0.0:5038 (every address)" in report.by_id("ami-beyond-loopback")[0].evidence
    assert not re.search(rf"\b({ARI_PASSWORD}|{AMI_SECRET}|dash1)\b", run.stdout + run.stderr)


def test_without_ami_the_unsafe_asterisk_still_shows_what_ari_tells(unsafe):
    run = unsafe.doctor()
    assert run.returncode == 1, run.stderr                     # its own password is a sample one
    assert "HIGH    ARI user admin has a password published in a sample configuration" in run.stdout
    assert "MEDIUM  Any web page may read ARI's answers" in run.stdout
    assert "these need AMI: give the doctor --ami-host" in run.stdout and ARI_PASSWORD not in run.stdout


def test_a_wrong_ami_secret_is_one_line_naming_the_options(unsafe):
    run = unsafe.doctor("--ami-user", AMI_USER, "--ami-secret", "not-the-secret")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "refused the login of user 'admin': check --ami-user and --ami-secret" in run.stderr


def test_an_ami_user_that_may_not_read_is_named_with_the_right_it_lacks(unsafe):
    report = Report.from_json(unsafe.doctor("--json", "--ami-user", WATCHER, "--ami-secret", WATCHER_SECRET).stdout)
    assert report.server["ami"] == f"{WATCHER}@127.0.0.1:5038" and report.feature("AMI").here is True
    assert "the HTTP sessionlimit: AMI user watcher may not use GetConfig: its manager.conf section needs write = " \
           "config (the doctor only reads with it)" in report.not_checked
    assert any(item.startswith("where AMI listens: AMI user watcher may not use Command: its manager.conf section "
                               "needs write = command") for item in report.not_checked)
    assert {f.id for f in report.findings} == {"asterisk-version", "ari-sample-password", "ari-any-origin"}
