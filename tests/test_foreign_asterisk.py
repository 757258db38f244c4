"""The kit as a user gets it, against an Asterisk the kit did not configure.

The server: Debian's stock /etc/asterisk with an admin's own changes (tests/foreign_asterisk.py runs it beside the
lab, in namespaces of its own): ARI on 8188 and AMI on 5139 (not the lab's ports), users of its own (an ARI writer,
a read-only ARI user, an AMI user that may only originate and read call events), long random passwords, and a
dialplan of its own: the carrier's number 5551000 in context `from-pstn` goes to the app `myapp`, and a
`test-caller` context is the far end of a call placed into it (it presses keys, then sends a 1004 Hz tone). It has
none of the lab's files: no `sim-caller`, no `inbound`, no lab.env.

The kit: a wheel of this working tree installed into a new virtualenv (tests/foreign_asterisk.py wheel_install),
run from a folder outside the repository with HOME an empty folder, inside the server's network namespace, given
only the server's address, user and password (arguments, or ARI_* / AMI_* in the environment). Each test runs a
small script with that virtualenv's python, as a user would, and checks what it printed.
"""

from __future__ import annotations

import json
import re
import secrets
import textwrap
from pathlib import Path

import pytest

from client_helpers import eventually
from foreign_asterisk import (REPO, ForeignAsterisk, WheelInstall, can_run, cannot_build_wheels, foreign_asterisk,
                              wheel_install)

ARI_PORT, AMI_PORT = 8188, 5139
URL = f"http://127.0.0.1:{ARI_PORT}"
WRITER, READER, AMI_USER, AUDITOR = "switchboard", "wallboard", "callbot", "auditor"
WRITER_PASSWORD, READER_PASSWORD, AMI_SECRET, AUDITOR_SECRET = (secrets.token_urlsafe(18) for _ in range(4))
APP, DID = "myapp", "5551000"

#: The admin's own files over Debian's stock ones.
CONFIG = {
    "http.conf": textwrap.dedent(f"""\
        ; This server's web server: ARI only, on this machine only.
        [general]
        enabled = yes
        bindaddr = 127.0.0.1
        bindport = {ARI_PORT}
        sessionlimit = 400
        """),
    "ari.conf": textwrap.dedent(f"""\
        [general]
        enabled = yes
        ; only the wallboard's page may read ARI's answers from a browser
        allowed_origins = https://wallboard.example.com

        ; the call-control program
        [{WRITER}]
        type = user
        read_only = no
        password = {WRITER_PASSWORD}

        ; the wallboard: watches, never changes a call
        [{READER}]
        type = user
        read_only = yes
        password = {READER_PASSWORD}
        """),
    "manager.conf": textwrap.dedent(f"""\
        [general]
        enabled = yes
        port = {AMI_PORT}
        bindaddr = 127.0.0.1

        ; the click-to-call robot: may place calls and read call events, nothing else
        [{AMI_USER}]
        secret = {AMI_SECRET}
        deny = 0.0.0.0/0.0.0.0
        permit = 127.0.0.1/255.255.255.255
        read = call,dtmf
        write = originate

        ; the admin's audits (vicifast-kit doctor): reads the configuration and runs show commands, from here only
        [{AUDITOR}]
        secret = {AUDITOR_SECRET}
        deny = 0.0.0.0/0.0.0.0
        permit = 127.0.0.1/255.255.255.255
        read = system
        write = command,config
        """),
    "pjsip.conf": textwrap.dedent("""\
        [transport-udp]
        type = transport
        protocol = udp
        bind = 127.0.0.1:5160

        [frontdesk]
        type = endpoint
        context = office
        disallow = all
        allow = ulaw
        auth = frontdesk
        aors = frontdesk

        [frontdesk]
        type = auth
        auth_type = userpass
        username = frontdesk
        password = a-front-desk-password-of-its-own

        [frontdesk]
        type = aor
        max_contacts = 1
        """),
}
#: The admin's dialplan, added at the end of Debian's stock extensions.conf.
EXTEND = {
    "extensions.conf": textwrap.dedent(f"""\
        ; --- this server's own contexts ---
        [office]
        exten => {DID},1,Goto(from-pstn,{DID},1)

        [from-pstn]
        ; The carrier's calls: the main number goes to the ARI application {APP}.
        exten => {DID},1,NoOp(Main number, call from ${{CALLERID(all)}})
         same => n,Stasis({APP},did,${{EXTEN}})
         same => n,Hangup()
         same => n(callback),NoOp(The app sent the call back here)
         same => n,Stasis({APP},callback)
         same => n,Hangup()

        [test-caller]
        ; The far end of a test call (Local/{DID}@from-pstn, this context on its other half): once answered it
        ; waits TEST_WAIT s, presses TEST_DTMF, then sends a 1004 Hz tone (0 dBm0) until it is hung up.
        exten => s,1,Wait(${{IF($[${{LEN(${{TEST_WAIT}})}} > 0]?${{TEST_WAIT}}:1)}})
         same => n,ExecIf($[${{LEN(${{TEST_DTMF}})}} > 0]?SendDTMF(${{TEST_DTMF}}))
         same => n,Milliwatt()
         same => n,Hangup()
        """),
}

#: What each script starts with: the kit, and how this server's test calls are placed (as its admin would).
PRELUDE = textwrap.dedent(f"""\
    import json, sys, threading
    import vicifast_kit as vk

    URL, WRITER, WRITER_PASSWORD = {URL!r}, {WRITER!r}, {WRITER_PASSWORD!r}
    out = {{}}

    def place_call(ari, dtmf="", wait=1):
        \"\"\"A call from the carrier to the main number: (the caller's half, the app's channel), in Stasis.\"\"\"
        caller = ari.channels.originate(endpoint="Local/{DID}@from-pstn", context="test-caller", extension="s",
                                        priority=1, formats="slin16,ulaw",
                                        variables={{"TEST_DTMF": dtmf, "TEST_WAIT": str(wait)}})
        base = caller.name.rsplit(";", 1)[0]
        ev = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.name.startswith(base))
        out["args"] = list(ev.args)
        return caller, ev.channel

    def threads():
        \"\"\"The threads still running besides the main one.\"\"\"
        return sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())

    def error(call):
        \"\"\"What call() raised: its class and message (or None).\"\"\"
        try:
            call()
        except Exception as e:
            return [type(e).__name__, str(e), isinstance(e, vk.Error)]
        return None
    """)


# --- the server and the installed kit -------------------------------------------------------------
@pytest.fixture(scope="session")
def install(tmp_path_factory) -> WheelInstall:
    """The kit's wheel, built once and installed in a virtualenv of its own."""
    why = cannot_build_wheels()
    if why:
        pytest.skip(f"the kit's wheel {why}")
    return wheel_install(tmp_path_factory.mktemp("wheel-install"))


@pytest.fixture(scope="module")
def server():
    """The admin's Asterisk, running; afterwards its processes, mounts and folder are gone."""
    why = can_run()
    if why:
        pytest.skip(f"another Asterisk beside the lab {why}")
    with foreign_asterisk(CONFIG, EXTEND, name="admin") as running:
        yield running
    assert not running.processes() and not running.workdir.exists()


class Kit:
    """Runs scripts with the installed kit, in the server's network, from a folder outside the repository."""

    def __init__(self, server: ForeignAsterisk, install: WheelInstall, folder: Path) -> None:
        self.server, self.install = server, install
        self.home, self.work = folder / "home", folder / "work"
        self.home.mkdir()
        self.work.mkdir()

    def env(self, **settings: str) -> dict[str, str]:
        """A user's environment: the virtualenv's commands, an empty HOME, and these settings (nothing else)."""
        return {"PATH": f"{self.install.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8",
                **settings}

    def run(self, *command: str, env: dict[str, str] | None = None, timeout: float = 120):
        """A command of the virtualenv (python, vicifast-kit) run in the server's network."""
        return self.server.in_its_network(*command, env=env or self.env(), cwd=self.work, timeout=timeout)

    def script(self, body: str, *, env: dict[str, str] | None = None, timeout: float = 120) -> dict:
        """Run PRELUDE + body with the virtualenv's python; what it put in `out` (it must end without error)."""
        path = self.work / "script.py"
        path.write_text(PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(out))\n")
        run = self.run(str(self.install.python), str(path), env=env, timeout=timeout)
        assert run.returncode == 0, f"the script failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
        return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kit(server, install, tmp_path_factory) -> Kit:
    """The installed kit, used against the admin's server from a user's folder with an empty HOME."""
    return Kit(server, install, tmp_path_factory.mktemp("user"))


@pytest.fixture(autouse=True)
def _no_call_left(request):
    """After each test, no channel is left on the admin's server."""
    yield
    if "kit" in request.fixturenames:
        server = request.getfixturevalue("server")
        eventually(lambda: re.search(r"^0 active channels", server.cli("core show channels count"), re.M), 10,
                   "every channel of the admin's server to be gone")


# --- the install ------------------------------------------------------------------------------------
def test_the_kit_runs_from_its_wheel_and_reads_nothing_of_the_repository(kit):
    out = kit.script("""
        import os, importlib.metadata
        from vicifast_kit import settings
        out["file"] = vk.__file__
        out["path"] = sys.path
        out["editable"] = sorted(name for name in sys.modules if "editable" in name)
        out["dist"] = str(importlib.metadata.distribution("vicifast-kit").locate_file(""))
        out["lab_dir"] = str(settings.LAB_DIR)
        out["settings"] = repr(settings.load())
        out["cwd"] = os.getcwd()
    """, env=kit.env(ARI_URL=URL, ARI_USER=WRITER, ARI_PASSWORD=WRITER_PASSWORD))
    assert Path(out["file"]).is_relative_to(kit.install.site_packages)
    assert Path(out["dist"]).is_relative_to(kit.install.venv) and out["editable"] == []
    assert not [entry for entry in out["path"] + [out["lab_dir"], out["cwd"]]
                if entry and Path(entry).resolve().is_relative_to(REPO) and ".venv" not in Path(entry).parts]
    assert f"ari_url='{URL}', ari_user='{WRITER}'" in out["settings"]


# --- the client ---------------------------------------------------------------------------------------
def test_a_did_call_arrives_is_answered_played_to_collects_keys_and_goes_back_to_a_label(kit):
    out = kit.script(f"""
        ari = vk.connect(app="{APP}", url=URL, user=WRITER, password=WRITER_PASSWORD)
        caller, ch = place_call(ari, dtmf="42#", wait=1)
        out["state"] = ch.state
        ch.answer()
        out["played"] = ch.play(media="sound:hello-world").wait_for("PlaybackFinished", timeout=15).playback.state
        out["digits"] = ch.collect_digits(terminator="#", timeout=15)
        ch.continue_in_dialplan(context="from-pstn", extension="{DID}", label="callback")
        out["left"] = ch.wait_for("StasisEnd", timeout=10).type
        back = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == ch.id)
        out["back"] = list(back.args)
        ch.hangup()
        out["ended"] = ch.wait_for("StasisEnd", timeout=10).type
        ari.close()
        out["threads"] = threads()
    """)
    assert out["args"] == ["did", DID] and out["state"] == "Ring"
    assert out["played"] == "done" and out["digits"] == "42"
    assert out["left"] == "StasisEnd" and out["back"] == ["callback"]
    assert out["ended"] == "StasisEnd" and out["threads"] == []       # and no channel left: _no_call_left


def test_the_read_only_user_reads_and_is_told_why_a_write_fails(kit):
    out = kit.script(f"""
        ari = vk.connect(app="wallboard-view")       # ARI_URL, ARI_USER, ARI_PASSWORD from the environment
        out["version"] = ari.asterisk.get_info().system.version
        out["channels"] = ari.channels.list()
        out["write"] = error(lambda: ari.channels.originate(endpoint="Local/{DID}@from-pstn", app="wallboard-view"))
        out["forbidden"] = out["write"] and out["write"][0] == "Forbidden"
        ari.close()
        out["threads"] = threads()
    """, env=kit.env(ARI_URL=URL, ARI_USER=READER, ARI_PASSWORD=READER_PASSWORD))
    assert out["version"].startswith("22.") and out["channels"] == []
    name, message, is_kit_error = out["write"]
    assert out["forbidden"] and is_kit_error, out["write"]
    assert "Write access denied (POST /channels)" in message and "lab" not in message, message
    assert out["threads"] == []


def test_a_wrong_password_or_port_speaks_of_what_the_user_gave_not_of_the_lab(kit):
    out = kit.script(f"""
        wrong = WRITER_PASSWORD + "x"
        out["password"] = error(lambda: vk.connect(app="x", url=URL, user=WRITER, password=wrong))
        out["port"] = error(lambda: vk.connect(app="x", url="http://127.0.0.1:{ARI_PORT + 1}", user=WRITER,
                                               password=WRITER_PASSWORD, timeout=3))
        out["threads"] = threads()
    """)
    name, message, is_kit_error = out["password"]
    assert name == "Unauthorized" and is_kit_error and "the password you passed" in message
    assert "lab" not in message and WRITER_PASSWORD not in message
    name, message, is_kit_error = out["port"]
    assert name == "LabUnreachable" and is_kit_error and f":{ARI_PORT + 1}" in message
    assert "the URL you passed" in message and "lab" not in message
    assert out["threads"] == []
    env = kit.env(ARI_URL=URL, ARI_USER=WRITER, ARI_PASSWORD="not-the-password")
    out = kit.script("""out["password"] = error(lambda: vk.connect(app="x"))""", env=env)
    name, message, is_kit_error = out["password"]
    assert name == "Unauthorized" and "ARI_PASSWORD from your environment" in message and "lab" not in message


# --- the widgets' model -------------------------------------------------------------------------------
def test_the_widgets_model_sees_the_call_come_and_go(kit):
    out = kit.script(f"""
        from vicifast_kit.widgets.model import LiveModel
        ari = vk.connect(app="{APP}", url=URL, user=WRITER, password=WRITER_PASSWORD)
        model = LiveModel(ari, poll=None)
        changed = threading.Condition()
        def notify():
            with changed:
                changed.notify_all()
        model.listen(notify)
        def until(predicate):
            with changed:
                return changed.wait_for(predicate, timeout=10)
        caller, ch = place_call(ari)
        out["came"] = until(lambda: (model.channel(ch.id) or {{}}).get("in_app"))
        out["row"] = model.channel(ch.id)
        ch.answer()
        out["up"] = until(lambda: (model.channel(ch.id) or {{}}).get("state") == "Up")
        caller.hangup()                             # the caller hangs up
        out["went"] = until(lambda: model.channel(ch.id) is None and model.ended(ch.id) is not None)
        out["ended"] = model.ended(ch.id)
        model.poll()
        out["after_poll"] = [row["id"] for row in model.channels()]
        model.close()
        ari.close()
        out["threads"] = threads()
    """)
    assert out["came"] and out["up"] and out["went"], out
    assert out["row"]["name"].startswith(f"Local/{DID}@from-pstn-") and out["row"]["app"] == APP
    assert out["ended"]["cause"] == "16 (Normal Clearing)" and out["after_poll"] == [] and out["threads"] == []


# --- live audio ----------------------------------------------------------------------------------------
def test_media_and_listen_hear_the_callers_tone(kit):
    out = kit.script(f"""
        from vicifast_kit import audio
        ari = vk.connect(app="{APP}", url=URL, user=WRITER, password=WRITER_PASSWORD)
        caller, ch = place_call(ari, wait=0)
        ch.answer()
        with ch.media() as stream:
            stream.read(0.3)                        # let the tone settle in
            pcm = stream.read(1.0)
            out["media"] = [audio.dominant_frequency(pcm, 16000), audio.level_db(pcm), len(pcm)]
        with ch.listen() as tap:
            tap.read(0.3)
            pcm = tap.read(1.0)
            out["listen"] = [audio.dominant_frequency(pcm, 16000), audio.level_db(pcm), len(pcm)]
        ch.hangup()
        ch.wait_for("StasisEnd", timeout=10)
        ari.close()
        out["threads"] = threads()
    """)
    for name in ("media", "listen"):
        frequency, level, size = out[name]
        assert abs(frequency - 1004) <= 10 and level > -20 and size == 32000, (name, out[name])
    assert out["threads"] == []


# --- AMI ------------------------------------------------------------------------------------------------
def test_ami_logs_in_places_a_call_and_reports_its_events(kit):
    out = kit.script(f"""
        ari = vk.connect(app="{APP}", url=URL, user=WRITER, password=WRITER_PASSWORD)
        with vk.ami.connect("127.0.0.1", {AMI_PORT}, "{AMI_USER}", "{AMI_SECRET}") as ami:
            out["ping"] = ami.action("Ping").get("Ping")
            reply = ami.action("Originate", channel="Local/{DID}@from-pstn", context="test-caller", exten="s",
                               priority="1", Async="true", variable="TEST_WAIT=0")
            out["originate"] = reply.get("Response")
            ev = ari.wait_for("StasisStart", timeout=10)
            out["args"] = list(ev.args)
            ch = ev.channel
            out["newchannel"] = ami.wait_for("Newchannel", timeout=10,
                                             where=lambda m: m.get("Exten") == "{DID}").get("Context")
            ch.hangup()
            out["hangup"] = ami.wait_for("Hangup", timeout=10,
                                         where=lambda m: m.get("Uniqueid") == ch.id).get("Cause")
        ari.close()
        out["threads"] = threads()
    """)
    assert out["ping"] == "Pong" and out["originate"] == "Success" and out["args"] == ["did", DID]
    assert out["newchannel"] == "from-pstn" and out["hangup"] == "16" and out["threads"] == []


@pytest.mark.parametrize("wrong", ["secret", "port"])
def test_ami_wrong_secret_or_port_speaks_of_what_the_user_gave_not_of_the_lab(kit, wrong):
    """Waits on the AMI messages' fix (another change): until then AMI's messages speak of the lab."""
    secret = AMI_SECRET + "x" if wrong == "secret" else AMI_SECRET
    port = AMI_PORT + 1 if wrong == "port" else AMI_PORT
    out = kit.script(f"""
        out["error"] = error(lambda: vk.ami.connect("127.0.0.1", {port}, "{AMI_USER}", "{secret}", timeout=5))
        out["threads"] = threads()
    """)
    name, message, is_kit_error = out["error"]
    assert is_kit_error and AMI_SECRET not in message and out["threads"] == []
    assert ("refused" if wrong == "secret" else f":{port}") in message, message
    assert "lab" not in message.lower(), message


# --- the commands ----------------------------------------------------------------------------------------
def test_typing_gen_check_finds_the_shipped_stub_matches_this_server(kit):
    run = kit.run(str(kit.install.python), "-m", "vicifast_kit.typing_gen", "--check", "--url", URL, "--user",
                  WRITER, f"--password={WRITER_PASSWORD}")      # with '=': a random password may begin with '-'
    assert run.returncode == 0, run.stdout + run.stderr
    stub = kit.install.site_packages / "vicifast_kit" / "operations.pyi"
    assert run.stdout.strip() == f"{stub} is up to date"


def test_doctor_finds_nothing_high_on_the_safely_configured_server(kit):
    run = kit.run(str(kit.install.command), "doctor", "--json", "--url", URL, "--user", WRITER,
                  f"--password={WRITER_PASSWORD}")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["exit_code"] == 0 and [f["id"] for f in report["findings"]] == ["asterisk-version"]
    assert report["server"]["ami"] is None                  # no AMI given: what needs it is listed as not checked
    # The admin's auditor may read the configuration: every check runs, and none finds anything.
    run = kit.run(str(kit.install.command), "doctor", "--json", "--ami-port", str(AMI_PORT), "--ami-user",
                  AUDITOR, f"--ami-secret={AUDITOR_SECRET}",
                  env=kit.env(ARI_URL=URL, ARI_USER=WRITER, ARI_PASSWORD=WRITER_PASSWORD))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["server"]["ami"] == f"{AUDITOR}@127.0.0.1:{AMI_PORT}" and report["not_checked"] == []
    assert [f["id"] for f in report["findings"]] == ["asterisk-version"]
    passwords = (WRITER_PASSWORD, READER_PASSWORD, AMI_SECRET, AUDITOR_SECRET)
    assert not re.search("|".join(map(re.escape, passwords)), run.stdout + run.stderr)


# --- the lab's helpers --------------------------------------------------------------------------------
def test_the_labs_callers_and_transcript_say_clearly_that_this_server_is_not_the_lab(kit):
    """Waits on the lab helpers' fix (another change): before it simulate_caller placed a call that went nowhere."""
    out = kit.script(f"""
        ari = vk.connect(app="{APP}", url=URL, user=WRITER, password=WRITER_PASSWORD)
        out["simulate_caller"] = error(lambda: vk.lab.simulate_caller(ari))
        out["transcript"] = error(lambda: vk.lab.transcript("hello-world", ari))
        out["channels"] = [c.name for c in ari.channels.list()]
        for c in ari.channels.list():
            c.hangup()
        ari.close()
        out["threads"] = threads()
    """)
    assert out["simulate_caller"] is not None, f"simulate_caller returned as if a caller came: {out['channels']}"
    name, message, is_kit_error = out["simulate_caller"]
    assert is_kit_error and "sim-caller" in message and URL in message, out["simulate_caller"]
    name, message, is_kit_error = out["transcript"]
    assert is_kit_error and URL in message, out["transcript"]
    assert out["channels"] == [] and out["threads"] == []


def test_the_user_home_keeps_no_lab_secrets(kit):
    """A user of their own Asterisk gets no lab passwords made for them (HOME was empty)."""
    assert not [path for path in kit.home.rglob("*") if path.is_file()]
