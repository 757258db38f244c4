"""AMI's wire format on byte streams written here, and the client against a small AMI stand-in (no lab)."""

from __future__ import annotations

import socket
import threading

import pytest

import vicifast_kit as vk
from vicifast_kit import ami as vk_ami
from vicifast_kit import settings
from vicifast_kit.ami import Message, Parser

COMMAND_REPLY = (b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\n"
                 b"Output: \r\nOutput:  Endpoint:  6001      Not in use    0 of inf\r\n"
                 b"Output:         Aor:  6001                   1\r\nOutput: \r\nOutput: Objects found: 3\r\n\r\n")


def test_a_repeated_header_keeps_every_value_in_order():
    [reply] = Parser().feed(COMMAND_REPLY)
    assert reply["Response"] == "Success" and reply["ActionID"] == "7"
    assert reply["Output"] == ["", " Endpoint:  6001      Not in use    0 of inf",
                               "        Aor:  6001                   1", "", "Objects found: 3"]
    assert reply.output.splitlines()[1:3] == [" Endpoint:  6001      Not in use    0 of inf",
                                              "        Aor:  6001                   1"]   # columns kept
    assert reply.all("Message") == ["Command output follows"] and reply.all("Nope") == []


def test_messages_split_anywhere_across_chunks_come_out_whole():
    stream = (b"Event: Newchannel\r\nChannel: PJSIP/6001-0001\r\nUniqueid: 1.1\r\n\r\n"
              b"Event: VarSet\r\nVariable: A\r\nValue: x: y \r\n\r\n" + COMMAND_REPLY)
    for size in (1, 2, 3, 7, 64, len(stream)):
        parser = Parser()
        got = []
        for i in range(0, len(stream), size):
            got += parser.feed(stream[i:i + size])
        assert [m.type for m in got] == ["Newchannel", "VarSet", "Response"], size
        assert got[0].channel == "PJSIP/6001-0001" and got[0].unique_id == "1.1"
        assert got[1]["Value"] == "x: y"                     # a colon inside a value stays in it
        assert got[2].output.endswith("Objects found: 3")


def test_blank_lines_between_messages_and_bare_lines():
    parser = Parser()
    got = parser.feed(b"\r\n\r\nResponse: Follows\r\nPrivilege: Command\r\nold style line\r\n"
                      b"--END COMMAND--\r\n\r\n\n")
    assert len(got) == 1 and got[0]["Output"] == ["old style line", "--END COMMAND--"]
    assert parser.feed(b"Event: Half\r\n") == [] and parser.feed(b"\r\n")[0].type == "Half"


def test_a_message_names_its_missing_field():
    m = Message({"Event": "Hangup", "Cause": "16"})
    assert m.cause == "16"
    with pytest.raises(AttributeError, match="Hangup has no field 'digit'; fields: Event, Cause"):
        m.digit


class _FakeAMI:
    """A tiny AMI on a random port: a banner, any login with `secret`, Ping and Command."""

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret = secret
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[Message] = []
        self.thread = threading.Thread(target=self._serve, name="test-fake-ami", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
            parser = Parser()
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                for m in parser.feed(data):
                    self.seen.append(m)
                    aid = m.get("ActionID", "")
                    action = m.get("Action", "").lower()
                    if action == "login":
                        ok = m.get("Secret") == self.secret
                        conn.sendall(f"Response: {'Success' if ok else 'Error'}\r\nActionID: {aid}\r\n"
                                     f"Message: Authentication {'accepted' if ok else 'failed'}\r\n\r\n".encode())
                    elif action == "ping":
                        conn.sendall(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                    elif action == "command":
                        # Written in two pieces, cut inside a line, as TCP may deliver it.
                        reply = COMMAND_REPLY.replace(b"ActionID: 7", f"ActionID: {aid}".encode())
                        conn.sendall(reply[:50])
                        conn.sendall(reply[50:])
                    elif action == "logoff":
                        return

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def fake_ami():
    server = _FakeAMI()
    yield server
    server.close()


def test_connect_with_every_argument_reads_no_settings(fake_ami, monkeypatch):
    def no_settings(*a, **k):
        raise AssertionError("the lab's settings were read although every argument was given")

    monkeypatch.setattr(settings, "load", no_settings)
    with vk_ami.connect("127.0.0.1", fake_ami.port, "someone", "s3cret", timeout=5) as ami:
        assert ami.action("Ping")["Ping"] == "Pong"
        out = ami.command("pjsip show endpoints")
        assert isinstance(out, str) and "Endpoint:  6001" in out and out.endswith("Objects found: 3")
    assert [m["Action"] for m in fake_ami.seen][:3] == ["Login", "Ping", "Command"]
    assert fake_ami.seen[2]["Command"] == "pjsip show endpoints"


def test_a_refused_login_is_an_ami_error_naming_where_the_secret_came_from(fake_ami, monkeypatch, tmp_path):
    with pytest.raises(vk_ami.AMILoginRefused) as err:      # passed: check it against that server's manager.conf
        vk_ami.connect("127.0.0.1", fake_ami.port, "someone", "wrong", timeout=5)
    assert isinstance(err.value, vk.Error) and isinstance(err.value, vk_ami.AMIError)
    text = str(err.value)
    assert "the secret you passed" in text and "manager.conf" in text and "lab" not in text and "wrong" not in text


@pytest.mark.parametrize("source", ["environment", "lab"])
def test_a_refused_login_with_a_secret_of_the_settings_names_them(source, monkeypatch, tmp_path):
    server = _FakeAMI()
    monkeypatch.setenv("VICIFAST_SECRETS_FILE", str(tmp_path / "secrets.env"))      # the lab's: made here, wrong
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    if source == "environment":
        monkeypatch.setenv("AMI_SECRET", "wrong-from-env")
    monkeypatch.setenv("AMI_PORT", str(server.port))            # AMI_HOST is 127.0.0.1 (conftest): the lab's host
    try:
        with pytest.raises(vk_ami.AMILoginRefused) as err:
            vk_ami.connect(user="someone", timeout=5)
    finally:
        server.close()
    text = str(err.value)
    if source == "environment":
        assert "AMI_SECRET from your environment" in text and "manager.conf" in text
    else:
        assert "AMI_SECRET" in text and "vicifast-kit lab status" in text and "vicifast-kit lab restart" in text


@pytest.mark.parametrize("greeting", [b"", b"HTTP/1.1 400 Bad Request\r\n\r\n"])
def test_a_port_that_is_not_ami_is_reported_not_waited_on_forever(greeting):
    import time
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    held = []

    def accept():
        conn, _ = sock.accept()
        held.append(conn)
        conn.sendall(greeting)

    t = threading.Thread(target=accept, name="test-not-ami", daemon=True)
    t.start()
    started = time.monotonic()
    with pytest.raises(vk_ami.AMIUnreachable, match="not AMI") as err:
        vk_ami.connect("127.0.0.1", port, "u", "s", timeout=0.5)
    assert time.monotonic() - started < 3 and isinstance(err.value, vk.LabUnreachable)
    t.join(2)
    for conn in held:
        conn.close()
    sock.close()
