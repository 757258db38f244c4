"""The small AMI client against the lab's real AMI."""

import socket
import threading
import time
import uuid

import pytest

import vicifast_kit as vk
from vicifast_kit import ami as vk_ami

from client_helpers import eventually


@pytest.fixture
def ami():
    client = vk_ami.connect()
    yield client
    client.close()


def originate_caller(ami, number="9001", seconds=3, tag=None):
    """A short call into the lab (music on hold) placed over AMI; its tag (a channel variable)."""
    tag = tag or uuid.uuid4().hex[:8]
    reply = ami.action("Originate", channel=f"Local/{number}@inbound/n", context="sim-caller", exten="s",
                       priority=1, async_="true", variable={"SIM_DURATION": seconds, "TAG": tag})
    assert reply["Response"] == "Success"
    return tag


def test_login_ping_and_the_secret_stays_hidden(ami, lab_settings):
    assert ami.banner.startswith("Asterisk Call Manager/")
    assert ami.action("Ping")["Ping"] == "Pong"
    assert lab_settings.ami_secret not in repr(ami)


@pytest.mark.parametrize("source", ["argument", "environment", "lab"])
def test_a_wrong_secret_is_refused_with_what_to_check_where_it_came_from(source, monkeypatch, tmp_path):
    from vicifast_kit import settings
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    if source == "environment":
        monkeypatch.setenv("AMI_SECRET", "wrong-secret")
    elif source == "lab":       # the lab's settings, with other passwords than the running lab's
        monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "other-lab-secrets.env"))
    with pytest.raises(vk_ami.AMILoginRefused) as err:
        vk_ami.connect(secret="wrong-secret") if source == "argument" else vk_ami.connect()
    text = str(err.value)
    assert "wrong-secret" not in text and "Authentication failed" in text
    expected = {"argument": "the secret you passed", "environment": "AMI_SECRET from your environment",
                "lab": "vicifast-kit lab restart"}[source]
    assert expected in text
    assert ("manager.conf" in text) is (source != "lab")        # another server's file, or the lab's settings


@pytest.mark.parametrize("source", ["argument", "lab"])
def test_a_closed_port_says_what_to_check_where_it_came_from(source, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    if source == "lab":
        monkeypatch.setenv("AMI_PORT", str(closed))          # the lab's AMI_PORT: a lab started elsewhere
    with pytest.raises(vk_ami.AMIUnreachable) as err:
        vk_ami.connect(port=closed, timeout=2) if source == "argument" else vk_ami.connect(timeout=2)
    text = str(err.value)
    assert f"127.0.0.1:{closed}" in text
    if source == "argument":
        assert "the host and port you passed" in text and "manager.conf" in text and "lab up" not in text
    else:
        assert "Is the lab running?" in text and "vicifast-kit lab up" in text


def test_originate_is_seen_as_newchannel_then_hangup_events(ami):
    originate_caller(ami, seconds=1)
    new = ami.wait_for("Newchannel", timeout=10, where=lambda m: m["Channel"].startswith("Local/9001@inbound"))
    gone = ami.wait_for("Hangup", timeout=15, where=lambda m: m["Uniqueid"] == new["Uniqueid"])
    assert gone.type == "Hangup" and gone.channel == new.channel


def test_core_show_channels_is_collected_as_a_list(ami):
    originate_caller(ami, seconds=5)
    ami.wait_for("Newstate", timeout=10, where=lambda m: m.get("ChannelStateDesc") == "Up")
    reply = ami.action("CoreShowChannels")
    assert reply["EventList"] == "start"
    names = [event["Channel"] for event in reply.events]
    assert all(event.type == "CoreShowChannel" for event in reply.events)
    assert any(name.startswith("Local/9001@inbound") for name in names)
    for name in names:
        if name.startswith("Local/9001@inbound") and name.endswith(";1"):
            ami.action("Hangup", channel=name)   # ends both halves of the call


def test_an_error_response_raises_with_asterisks_message(ami):
    with pytest.raises(vk_ami.AMIError, match="No such channel"):
        ami.action("Hangup", channel="PJSIP/nobody-00000000")


def test_wait_for_times_out_with_a_timeout_error_naming_the_event(ami):
    started = time.monotonic()
    with pytest.raises(vk.WaitTimeout, match="NoSuchEvent"):
        ami.wait_for("NoSuchEvent", timeout=0.5)
    assert time.monotonic() - started >= 0.5            # it waited its timeout


def test_handlers_run_off_the_reader_and_can_unsubscribe(ami):
    seen, threads = [], set()

    def on_hangup(message):
        seen.append(message)
        threads.add(threading.current_thread().name)

    stop = ami.on("Hangup", on_hangup)
    originate_caller(ami, seconds=1)
    eventually(lambda: seen, timeout=15, what="a Hangup event reaching the handler")
    assert all(name.startswith("vicifast-ami-dispatch") for name in threads)
    stop()
    # A handler added after the unsubscribe: each event it gets was dispatched after stop(), so never to on_hangup.
    later = []
    ami.on("Hangup", later.append)
    originate_caller(ami, seconds=1)
    eventually(lambda: [m for m in later if m["Channel"].startswith("Local/9001@inbound")], timeout=15,
               what="the second call's Hangup")
    assert not [m for m in later if any(m is s for s in seen)]


def test_close_leaves_no_thread():
    before = {t.name for t in threading.enumerate()}
    client = vk.ami.connect()
    client.action("Ping")
    client.close()                  # joins its reader and dispatcher
    assert not [t for t in threading.enumerate() if t.name.startswith("vicifast-ami") and t.name not in before]


def test_an_async_originates_follow_up_event_reaches_wait_for(ami):
    """OriginateResponse carries the action's ActionID but arrives after its reply: it is an event."""
    reply = ami.action("Originate", channel="Local/9001@inbound/n", context="sim-caller", exten="s",
                       priority=1, async_="true", variable={"SIM_DURATION": 1})
    assert reply.events == []
    result = ami.wait_for("OriginateResponse", timeout=15, where=lambda m: m["ActionID"] == reply["ActionID"])
    assert result["Response"] == "Success"


def test_command_output_keeps_every_line(ami):
    """Asterisk 22 sends a Command's output as many Output: headers; none is lost."""
    reply = ami.action("Command", command="pjsip show endpoints")
    lines = reply.all("Output")
    assert len(lines) > 5 and reply["Output"] == lines
    text = ami.command("pjsip show endpoints")
    assert all(f"{phone}/{phone}" in text for phone in ("6001", "6002", "6003"))     # Endpoint: 6001/6001 ...
    assert text.rstrip().splitlines()[-1] == "Objects found: 3"


def test_an_unknown_command_raises_with_asterisks_words(ami):
    with pytest.raises(vk_ami.AMIActionFailed, match="No such command"):
        ami.command("no such command here")
