"""The doctor without Asterisk: its parsers on the lab's captured outputs, every exposure finding on a server made
unsafe one setting at a time (and all at once), features by version and module, the report's text, HTML and JSON,
no password in any of them, and the command's exit codes, against a stand-in ARI and an AMI that replays the lab."""

from __future__ import annotations

import json

import pytest

import vicifast_kit as vk
from doctor_captures import ReplayAMI, lab_config, lab_info, lab_modules, lab_observations, lab_outputs, with_line
from fake_ari import FakeARI
from vicifast_kit import cli
from vicifast_kit.doctor import (Observations, Report, diagnose, parse_ari_users, parse_getconfig, parse_http_status,
                                 parse_manager_user, parse_manager_users, parse_module_show, parse_origins,
                                 parse_version)
from vicifast_kit.doctor.checks import PROBE_ORIGIN
from vicifast_kit.doctor.command import ami_settings, connect_for_doctor

LAB = lab_outputs()
SAMPLE, WEAK, LONG = "mysecret", "Tr0ub4dor", "a-long-password-of-its-own"


def ids(report: Report) -> set[str]:
    """The kinds of finding in a report."""
    return {f.id for f in report.findings}


def severity(report: Report, finding_id: str) -> str:
    """The severity of the one finding of that kind."""
    [found] = report.by_id(finding_id)
    return found.severity


# --- the parsers, on what the lab's Asterisk 22.10 said ------------------------------------------
def test_http_show_status_gives_where_http_listens_and_that_it_serves_ari():
    http = parse_http_status(LAB["http show status"])
    assert [(str(l), l.tls, l.loopback) for l in http.listeners] == [("127.0.0.1:8088", False, True)]
    assert "/ari/... => Asterisk RESTful API" in http.uris and not http.serves_manager and http.restricted_paths == ()
    both = parse_http_status(LAB["http show status"].replace(
        "Bound to 127.0.0.1:8088\n", "Bound to [::]:8088\n\nHTTPS Server Enabled and Bound to 0.0.0.0:8089\n"))
    assert [(l.address, l.port, l.tls, l.loopback) for l in both.listeners] == [("::", 8088, False, False),
                                                                                ("0.0.0.0", 8089, True, False)]


def test_the_ari_and_manager_listings_give_users_rights_and_origins():
    assert parse_ari_users(LAB["ari show users"]) == [{"name": "vicifast", "read_only": False, "acl": False},
                                                      {"name": "vicifast-viewer", "read_only": True, "acl": False}]
    older = "r/o?  Username\n----  --------\nNo    admin\n"           # before per-user ACLs (22.9)
    assert parse_ari_users(older) == [{"name": "admin", "read_only": False, "acl": None}]
    assert parse_origins(LAB["ari show status"]) == ("http://127.0.0.1:8088", "http://localhost:8088")
    assert parse_manager_users(LAB["manager show users"]) == ["vicifast"]
    user = parse_manager_user(LAB["manager show user vicifast"])
    assert user["name"] == "vicifast" and not user["acl"]
    assert {"system", "command", "originate"} <= set(user["write"]) and "dtmf" in user["read"]


def test_versions_modules_and_getconfig_replies():
    assert parse_version("22.10.1+dfsg+~cs6.17.60671434-1") == (22, 10, 1)
    assert parse_version("18.20.0") == (18, 20, 0) and parse_version("certified-20.7-cert3") == (20, 7, 0)
    assert parse_version("GIT-master-cb214713c0M") is None and parse_version("") is None
    listing = ("Module                         Description                              Use Count  Status      Support Level\n"
               "chan_websocket.so              Websocket Media Channel                  0          Running              core\n"
               "res_ari.so                     Asterisk RESTful Interface               12         Not Running          core\n"
               "2 modules loaded")
    assert parse_module_show(listing) == {"chan_websocket.so": "Running", "res_ari.so": "Not Running"}
    sections = dict(parse_getconfig(lab_config("http.conf")))
    assert sections == {"general": [("enabled", "yes"), ("bindaddr", "127.0.0.1"), ("bindport", "8088"),
                                    ("enable_static", "yes"), ("sessionlimit", "1000")]}


# --- the lab: nothing high ------------------------------------------------------------------------
def test_the_lab_as_captured_has_no_high_finding_and_offers_every_feature():
    report = diagnose(lab_observations())
    assert report.exit_code == 0 and report.highest not in ("high", "medium")
    assert ids(report) == {"asterisk-version"}        # the viewer has a password of its own (ARI_VIEWER_PASSWORD)
    assert all(f.here for f in report.features), [f for f in report.features if not f.here]
    assert report.not_checked == ()
    assert report.server["version"].startswith("22.10.1") and report.server["ami"] == "vicifast@127.0.0.1:5038"


# --- each exposure finding fires on a server made unsafe in that one way ----------------------------
def test_http_on_every_address_is_beyond_loopback_and_plain():
    report = diagnose(lab_observations(outputs={"http show status": LAB["http show status"].replace(
        "127.0.0.1:8088", "0.0.0.0:8088")}))
    assert severity(report, "ari-beyond-loopback") == "medium" and severity(report, "ari-plain-http") == "high"
    assert "0.0.0.0:8088 (every address)" in report.by_id("ari-plain-http")[0].evidence
    assert "tlsenable = yes" in report.by_id("ari-plain-http")[0].change and report.exit_code == 1


def test_https_alone_beyond_loopback_is_medium_not_plain():
    report = diagnose(lab_observations(outputs={"http show status": LAB["http show status"].replace(
        "Bound to 127.0.0.1:8088\n", "Bound to 127.0.0.1:8088\n\nHTTPS Server Enabled and Bound to 0.0.0.0:8089\n")}))
    assert severity(report, "ari-beyond-loopback") == "medium" and not report.by_id("ari-plain-http")


def test_without_ami_the_address_the_doctor_reached_tells_or_it_says_it_cannot():
    remote = diagnose(lab_observations(url="http://192.0.2.10:8088", ami=None))
    assert {"ari-beyond-loopback", "ari-plain-http"} <= ids(remote)
    assert "the doctor reached ARI at http://192.0.2.10:8088" in remote.by_id("ari-plain-http")[0].evidence
    assert "ari-plain-http" not in ids(diagnose(lab_observations(url="https://192.0.2.10:8089", ami=None)))
    local = diagnose(lab_observations(ami=None))
    assert ids(local) == {"asterisk-version"}
    assert any(item.startswith("whether ARI also listens beyond this machine") for item in local.not_checked)
    assert local.not_checked[-1].startswith("these need AMI: give the doctor --ami-host")
    assert local.feature("AMI").here is None


def test_any_origin_fires_from_ari_show_status_or_from_aris_own_answer():
    from_ami = diagnose(lab_observations(outputs={"ari show status": LAB["ari show status"].replace(
        "http://127.0.0.1:8088,http://localhost:8088", "*")}))
    assert severity(from_ami, "ari-any-origin") == "medium"
    from_ari = diagnose(lab_observations(ami=None, cors_echo=PROBE_ORIGIN))
    assert f"Access-Control-Allow-Origin: {PROBE_ORIGIN}" in from_ari.by_id("ari-any-origin")[0].evidence


def test_two_ari_users_with_one_password_are_reported_without_the_password():
    ari_conf = lab_config("ari.conf")
    writer = next(line for line in ari_conf.values() if line.startswith("password=")).split("=", 1)[1]
    shared = with_line(ari_conf, "vicifast-viewer", "password", writer)     # the lab as it was before 2026-12-06
    report = diagnose(lab_observations(configs={"ari.conf": shared}))
    assert severity(report, "ari-shared-password") == "medium" and report.exit_code == 0
    finding = report.by_id("ari-shared-password")[0]
    assert "vicifast-viewer" in finding.title and writer not in report.to_json()


def test_sample_weak_and_shared_ari_passwords():
    ari_conf = with_line(with_line(lab_config("ari.conf"), "vicifast", "password", SAMPLE),
                         "vicifast-viewer", "password", WEAK)
    report = diagnose(lab_observations(configs={"ari.conf": ari_conf}))
    assert severity(report, "ari-sample-password") == "high" and "vicifast " in report.by_id("ari-sample-password")[0].title
    assert severity(report, "ari-weak-password") == "medium"              # only this machine reaches it
    assert not report.by_id("ari-shared-password")
    exposed = diagnose(lab_observations(configs={"ari.conf": ari_conf}, outputs={
        "http show status": LAB["http show status"].replace("127.0.0.1:8088", "192.0.2.10:8088")}))
    assert severity(exposed, "ari-weak-password") == "high"
    hashed = with_line(ari_conf, "vicifast-viewer", "password_format", "crypt")
    assert any("stored hashed" in item for item in diagnose(lab_observations(configs={"ari.conf": hashed})).not_checked)


def test_without_ami_the_passwords_the_doctor_logged_in_with_are_judged():
    from vicifast_kit.doctor import Account, verdict

    obs = lab_observations(ami=None)
    obs.own_accounts["ARI"] = Account("vicifast", verdict("vicifast", SAMPLE))
    report = diagnose(obs)
    assert severity(report, "ari-sample-password") == "high"
    assert "the other ARI users' passwords" in report.not_checked and SAMPLE not in report.to_json()


def test_no_read_only_ari_user():
    users = LAB["ari show users"].replace("Yes   No    vicifast-viewer", "No    No    vicifast-viewer")
    report = diagnose(lab_observations(outputs={"ari show users": users}))
    assert severity(report, "ari-no-read-only-user") == "low"
    assert "read_only = yes" in report.by_id("ari-no-read-only-user")[0].change


@pytest.mark.parametrize("limit, expected", [(None, "low"), ("100", "low"), ("50", "medium"), ("1000", None)])
def test_http_sessionlimit(limit, expected):
    http_conf = with_line(lab_config("http.conf"), "general", "sessionlimit", limit)
    report = diagnose(lab_observations(configs={"http.conf": http_conf}))
    assert [f.severity for f in report.by_id("http-session-limit")] == ([expected] if expected else [])


def test_ami_beyond_loopback_plain_tls_or_over_http():
    settings = LAB["manager show settings"]
    plain = diagnose(lab_observations(outputs={"manager show settings": settings.replace(
        "127.0.0.1:5038", "0.0.0.0:5038")}))
    assert severity(plain, "ami-beyond-loopback") == "high"
    tls = settings.replace("TLS Enable:                No", "TLS Enable:                Yes").replace(
        "TLS Bindaddress:           Disabled", "TLS Bindaddress:           0.0.0.0:5039")
    assert severity(diagnose(lab_observations(outputs={"manager show settings": tls})), "ami-beyond-loopback") == "medium"
    web = diagnose(lab_observations(outputs={
        "http show status": LAB["http show status"].replace("127.0.0.1:8088", "0.0.0.0:8088").replace(
            "Enabled URI's:\n", "Enabled URI's:\n/manager => HTML Manager Event Interface\n")}))
    assert severity(web, "ami-beyond-loopback") == "high" and "webenabled = no" in web.by_id("ami-beyond-loopback")[0].change


def test_sample_and_weak_ami_secrets():
    report = diagnose(lab_observations(configs={"manager.conf": with_line(lab_config("manager.conf"), "vicifast",
                                                                          "secret", "1234")}))
    assert severity(report, "ami-sample-password") == "high"
    weak = diagnose(lab_observations(configs={"manager.conf": with_line(lab_config("manager.conf"), "vicifast",
                                                                        "secret", "vicifast")}))
    assert severity(weak, "ami-weak-password") == "medium"


def test_ami_users_with_system_or_command_rights_on_the_network():
    exposed = {"manager show settings": LAB["manager show settings"].replace("127.0.0.1:5038", "0.0.0.0:5038")}
    report = diagnose(lab_observations(outputs=exposed))
    [finding] = report.by_id("ami-powerful-user-on-network")
    assert finding.severity == "high" and "system and command" in finding.title
    with_acl = LAB["manager show user vicifast"].replace("ACL: no", "ACL: yes")
    limited = diagnose(lab_observations(outputs=exposed | {"manager show user vicifast": with_acl}))
    assert severity(limited, "ami-powerful-user-on-network") == "medium"
    assert not diagnose(lab_observations()).by_id("ami-powerful-user-on-network")     # the lab: loopback only


def unsafe_observations() -> Observations:
    """The lab with every unsafe setting at once: what a careless first ARI set-up looks like."""
    return lab_observations(
        cors_echo=PROBE_ORIGIN,
        outputs={"http show status": LAB["http show status"].replace("127.0.0.1:8088", "0.0.0.0:8088"),
                 "ari show status": LAB["ari show status"].replace("http://127.0.0.1:8088,http://localhost:8088", "*"),
                 "ari show users": LAB["ari show users"].replace("Yes   No    vicifast-viewer", "No    No    vicifast-viewer"),
                 "manager show settings": LAB["manager show settings"].replace("127.0.0.1:5038", "0.0.0.0:5038")},
        configs={"http.conf": with_line(lab_config("http.conf"), "general", "sessionlimit", None),
                 "ari.conf": with_line(with_line(lab_config("ari.conf"), "vicifast", "password", SAMPLE),
                                       "vicifast-viewer", "password", WEAK),
                 "manager.conf": with_line(lab_config("manager.conf"), "vicifast", "secret", "1234")})


def test_every_exposure_finding_fires_on_the_unsafe_server_and_no_password_is_shown():
    report = diagnose(unsafe_observations())
    assert ids(report) >= {"ari-beyond-loopback", "ari-plain-http", "ari-any-origin", "ari-sample-password",
                           "ari-weak-password", "ari-no-read-only-user", "http-session-limit", "ami-beyond-loopback",
                           "ami-sample-password", "ami-powerful-user-on-network"}
    assert report.exit_code == 1 and report.highest == "high"
    for shown in (str(report), report.to_json(), report._repr_html_(), repr(report)):
        for password in (SAMPLE, WEAK, "1234", "placeholder-password"):
            assert password not in shown


# --- features, by version and by module --------------------------------------------------------------
@pytest.mark.parametrize("version, feature, here", [
    ("18.20.0", "WebSocket media", False), ("20.15.2", "WebSocket media", False), ("20.16.0", "WebSocket media", True),
    ("21.11.0", "WebSocket media", True), ("22.5.0", "WebSocket media", False), ("23.0.0", "WebSocket media", True),
    ("20.15.0", "Outbound websockets", True), ("22.4.0", "Outbound websockets", False),
    ("22.4.0", "REST over the websocket", True), ("21.12.0", "StasisBroadcast", False),
    ("22.7.0", "StasisBroadcast", False), ("22.10.0", "StasisBroadcast", True), ("20.20.0", "StasisBroadcast", True),
    ("23.1.0", "StasisBroadcast", False), ("24.0.0", "StasisBroadcast", True), ("22.2.0", "ARI transfer handling", False),
    ("16.30.1", "ConfBridge", True), ("GIT-master-abc", "WebSocket media", None)])
def test_a_feature_is_here_by_version(version, feature, here):
    report = diagnose(Observations("http://127.0.0.1:8088", "u", {"system": {"version": version}}, lab_modules()))
    found = report.feature(feature)
    assert found.here is here
    if here is False:
        assert found.to_do.startswith("upgrade Asterisk") and version in found.to_do


def test_a_feature_whose_module_is_not_loaded_says_how_to_load_it():
    modules = {name: status for name, status in lab_modules().items() if name != "chan_websocket.so"}
    report = diagnose(Observations("http://127.0.0.1:8088", "u", lab_info(), modules))
    media = report.feature("WebSocket media")
    assert media.here is False and "module load chan_websocket.so" in media.to_do and "not loaded" in media.evidence
    assert "ch.media()" in str(report)                     # the text says what will not work
    unknown = diagnose(Observations("http://127.0.0.1:8088", "u", lab_info(), None))
    assert unknown.feature("Snoop").here is None


# --- the report's forms -----------------------------------------------------------------------------
def test_json_round_trip_text_and_html():
    report = diagnose(unsafe_observations())
    again = Report.from_json(report.to_json())
    assert again == report and json.loads(report.to_json())["exit_code"] == 1
    text = str(report)
    assert text.splitlines()[0] == report.headline() and text.splitlines()[-1] == report.verdict()
    assert text.index("HIGH") < text.index("MEDIUM") < text.index("INFO")       # most serious first
    page = report._repr_html_()
    assert page.count("<tr>") == 2 + len(report.features) + len(report.findings) and "<script" not in page


# --- gather, end to end on a stand-in ARI and an AMI that replays the lab ------------------------------
@pytest.fixture
def stand_in_ari():
    server = FakeARI()
    server.answers[("GET", "/ari/asterisk/info")] = (200, lab_info())
    server.answers[("GET", "/ari/asterisk/modules")] = (200, [{"name": n, "status": s} for n, s in lab_modules().items()])
    yield server
    server.close()


def doctor_on_replay(stand_in_ari: FakeARI, user: str = "doctor", **replay) -> tuple[Report, ReplayAMI]:
    """vk.doctor on the stand-in ARI and an AMI that replays the lab (replay's arguments change it); both closed after."""
    ami_server = ReplayAMI(**replay)
    ari = connect_for_doctor(stand_in_ari.url, "vicifast", stand_in_ari.password)
    try:
        with vk.ami.connect("127.0.0.1", ami_server.port, user, "x") as ami:
            return vk.doctor(ari, ami), ami_server
    finally:
        ari.close()
        ami_server.close()


def test_vk_doctor_reads_ari_and_ami_and_changes_nothing(stand_in_ari):
    report, ami_server = doctor_on_replay(stand_in_ari)
    assert ids(report) == {"asterisk-version"} and report.not_checked == ()
    assert {method for method, *_ in stand_in_ari.requests} == {"GET"}
    actions = {a["Action"] for a in ami_server.actions}
    assert actions == {"Login", "Command", "GetConfig", "Logoff"}
    assert {a["Command"] for a in ami_server.actions if a["Action"] == "Command"} <= {
        "core show settings", "http show status", "ari show status", "ari show users", "manager show settings",
        "manager show users", "manager show user vicifast"}


def test_an_ami_user_without_the_rights_is_named_in_what_was_not_checked(stand_in_ari):
    report, _ = doctor_on_replay(stand_in_ari, "watcher", denied=("GetConfig",))
    assert "the HTTP sessionlimit: AMI user watcher may not use GetConfig: its manager.conf section needs write = config" \
           " (the doctor only reads with it)" in report.not_checked
    assert "ari-shared-password" not in ids(report)


def test_ari_and_ami_of_two_different_servers_are_refused(stand_in_ari):
    other = LAB["core show settings"].replace("02:fc:00:00:00:01", "02:aa:00:00:00:99")
    with pytest.raises(vk.SettingsError, match="two different Asterisks"):
        doctor_on_replay(stand_in_ari, outputs={"core show settings": other})


# --- the command ------------------------------------------------------------------------------------
def test_the_command_prints_the_report_or_json_and_exits_0_without_a_high_finding(stand_in_ari, capsys):
    # AMI_HOST and AMI_PORT are set (tests/offline/conftest.py), but no AMI user: ARI alone is examined
    args = ["doctor", "--url", stand_in_ari.url, "--user", "vicifast", "--password", stand_in_ari.password]
    assert cli.main(args + ["--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["exit_code"] == 0 and printed["server"]["ami"] is None
    # the stand-in's password ("secret") is weak: judged from the password the doctor logged in with
    [weak] = [f for f in printed["findings"] if f["id"] == "ari-weak-password"]
    assert weak["severity"] == "medium" and weak["evidence"].startswith("judged as the doctor logged in")
    assert "the other ARI users' passwords" in printed["not_checked"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.rstrip().endswith("No high-severity finding (highest: medium): exit code 0.")


def test_the_command_exits_1_on_a_high_finding(stand_in_ari, capsys):
    ami_server = ReplayAMI(outputs={"http show status": LAB["http show status"].replace("127.0.0.1", "0.0.0.0")})
    try:
        code = cli.main(["doctor", "--url", stand_in_ari.url, "--user", "vicifast", "--password", stand_in_ari.password,
                         "--ami-port", str(ami_server.port), "--ami-user", "doctor", "--ami-secret", LONG])
    finally:
        ami_server.close()
    out = capsys.readouterr().out
    assert code == 1 and "HIGH    ARI is served over plain HTTP" in out and out.rstrip().endswith("exit code 1.")
    assert (ami_server.actions[0]["Action"], ami_server.actions[0]["Username"]) == ("Login", "doctor")


def test_the_command_says_in_one_line_when_it_cannot_connect(capsys):
    assert cli.main(["doctor", "--url", "http://127.0.0.1:9", "--user", "u", "--password", "p"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vicifast-kit: Nothing answers at http://127.0.0.1:9") and "\n" not in err


def test_which_ami_the_command_uses(monkeypatch):
    from argparse import Namespace

    for name in ("AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    none = dict(url="http://pbx.example:8088", ami_host=None, ami_port=None, ami_user=None, ami_secret=None)
    assert ami_settings(Namespace(**none), "http://pbx.example:8088") is None          # ARI alone
    given = Namespace(**none | {"ami_user": "doctor", "ami_secret": LONG})
    assert ami_settings(given, "http://pbx.example:8088") == ("pbx.example", 5038, "doctor", LONG)   # on ARI's host
    with pytest.raises(vk.SettingsError, match="AMI needs a user and a secret"):
        ami_settings(Namespace(**none | {"ami_host": "pbx.example"}), "http://pbx.example:8088")
