"""Real SIP phones for the lab, played by SIPp: one answers a call and then transfers it (a SIP REFER).

``phone = SipPhone("6002", transfer_to="6003")`` starts SIPp (package sip-tester) on a free UDP port
of this machine; ``phone.endpoint`` is what ARI dials to reach it (``PJSIP/6002/sip:6002@HOST:PORT``:
the lab's endpoint 6002, sent to this address, so no registration is needed). The phone answers,
talks for `talk` seconds, then presses "transfer": it sends REFER with ``Refer-To: <sip:6003@...>``
inside the call, as a desk phone does, and follows the transfer with the NOTIFYs Asterisk sends
back (``message/sipfrag`` bodies such as ``SIP/2.0 200 OK``). On a final 200 it hangs up (BYE),
like a phone whose transfer worked; on a failure it stays on the call until the other side hangs
up. Without `transfer_to` the phone only answers and waits for the BYE (a transfer's target).

``phone.wait()`` returns SIPp's exit code (0: the scenario went as written), ``phone.messages()``
the SIP messages it sent and received, ``phone.close()`` stops SIPp if it still runs. This is the
kit's, not ARI: SIPp is a SIP test tool, here in the role of a phone on an agent's desk.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from .errors import LabError

__all__ = ["SipPhone", "SipPhoneError"]

#: A plain 200 OK to the request just received (a NOTIFY, a BYE).
_OK = """    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
"""

_ANSWER = """
  <recv request="INVITE" crlf="true">{remember}</recv>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]phone[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[user]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]phone[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[user]@[local_ip]:[local_port]>
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=phone 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
"""

# What the phone keeps of the INVITE to send its own requests in the call (REFER, BYE).
_REMEMBER = """
    <action>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" check_it="true" assign_to="contact"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" check_it="true" assign_to="them"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" check_it="true" assign_to="me"/>
    </action>
  """

_TRANSFER = """
  <pause/>
  <send retrans="500">
    <![CDATA[

      REFER [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$me];tag=[pid]phone[call_number]
      To: [$them]
      [last_Call-ID:]
      CSeq: 1 REFER
      Max-Forwards: 70
      Contact: <sip:[user]@[local_ip]:[local_port]>
      Refer-To: <sip:[target]@[remote_ip]:[remote_port]>
      Referred-By: <sip:[user]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <recv response="202" rtd="true"/>
  <label id="notify"/>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *([a-z]+)" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="x,state"/>
      <strcmp assign_to="state_is" variable="state" value="active"/>
      <test assign_to="more" variable="state_is" compare="equal" value="0"/>
      <ereg regexp="SIP/2.0 ([0-9]+)" search_in="body" check_it="true" assign_to="x,code"/>
      <todouble assign_to="status" variable="code"/>
      <test assign_to="transferred" variable="status" compare="equal" value="200"/>
    </action>
  </recv>
  <send test="more" next="notify">
{ok}  </send>
  <nop test="transferred" next="hang_up"/>
"""

_WAIT_FOR_BYE = """
  <recv request="BYE"/>
  <send>
{ok}  </send>
  <nop next="done"/>
"""

_HANG_UP = """
  <label id="hang_up"/>
  <send retrans="500">
    <![CDATA[

      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$me];tag=[pid]phone[call_number]
      To: [$them]
      [last_Call-ID:]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <label id="done"/>
"""


def scenario(transfer: bool) -> str:
    """The SIPp scenario (XML) of a phone that answers, then transfers by REFER (transfer) or waits for the BYE."""
    answer = _ANSWER.replace("{remember}", _REMEMBER if transfer else "")
    body = answer + (_TRANSFER + _WAIT_FOR_BYE + _HANG_UP if transfer
                     else _WAIT_FOR_BYE + '  <label id="done"/>\n')
    body = body.replace("{ok}", _OK)
    name = "a phone that answers, then transfers the call (REFER)" if transfer else "a phone that answers"
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n{body}</scenario>\n'


class SipPhoneError(LabError):
    """SIPp is missing, or the phone could not start."""


def _free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_host(server: str) -> str:
    """Where Asterisk reaches a phone on this machine: the Docker bridge's gateway for the Docker lab started
    here, else this machine's address on the way to `server` (127.0.0.1 for the root-filesystem lab)."""
    from ..push.config import docker_gateway
    gateway = docker_gateway()
    if gateway:
        return gateway
    host, _, port = server.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, int(port)))           # UDP: nothing is sent, the route picks the address
        return probe.getsockname()[0]


def lab_server() -> str:
    """The lab's SIP address as seen from here: VICIFAST_LAB_HOST (the Docker JupyterLab) or 127.0.0.1, and SIP_PORT."""
    from .. import settings
    values = settings.lab_values()
    host = os.environ.get("VICIFAST_LAB_HOST", "").strip() or "127.0.0.1"
    return f"{host}:{settings.port(values, 'SIP_PORT')}"


class SipPhone:
    """A SIP phone on this machine, played by SIPp: answers a call; with transfer_to, transfers it by REFER."""

    def __init__(self, user: str = "6002", *, transfer_to: str | None = None, talk: float = 2.0,
                 host: str | None = None, server: str | None = None, timeout: float = 3600.0) -> None:
        """Start SIPp as the phone of lab endpoint `user`; REFER to `transfer_to` `talk` s after answering.

        `host` is the address the phone listens on and Asterisk reaches it at (default: 127.0.0.1, or the
        Docker bridge's gateway when the Docker lab runs on this machine); `server` is Asterisk's SIP
        address (default: the lab's, LAB_BIND or VICIFAST_LAB_HOST and SIP_PORT). SIPp gives up after
        `timeout` s (an hour: pause between a notebook's cells as you like); close() ends it sooner.
        """
        sipp = shutil.which("sipp")
        if sipp is None:
            raise SipPhoneError("SIPp is not installed: install the package sip-tester "
                                "(apt-get install sip-tester; scripts/setup does it), then try again")
        self.user, self.transfer_to, self.server = user, transfer_to, server or lab_server()
        self.host = host or default_host(self.server)
        self._dir = Path(tempfile.mkdtemp(prefix="vicifast-sipp-"))
        (self._dir / "phone.xml").write_text(scenario(transfer_to is not None))
        self.port = _free_udp_port(self.host)
        command = [sipp, self.server, "-sf", str(self._dir / "phone.xml"), "-i", self.host, "-p", str(self.port),
                   "-mp", str(_free_udp_port(self.host)), "-m", "1", "-d", str(int(talk * 1000)), "-nostdin",
                   "-key", "user", user, "-key", "target", transfer_to or "none",
                   "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_msg",
                   "-message_file", str(self._dir / "messages.log"), "-trace_err",
                   "-error_file", str(self._dir / "errors.log")]
        self._process = subprocess.Popen(command, cwd=self._dir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self) -> None:
        """Return once SIPp holds its UDP port (it binds it before it reads the scenario's first message)."""
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SipPhoneError(f"SIPp stopped at once (exit {self._process.returncode}): "
                                    f"{self._process.stderr.read().decode(errors='replace')[-400:]}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((self.host, self.port))
                except OSError:
                    return                    # taken: SIPp listens
            time.sleep(0.02)
        self.close()
        raise SipPhoneError("SIPp did not open its SIP port within 10 s: is this machine very busy? try again")

    def __repr__(self) -> str:
        what = f"transfers to {self.transfer_to}" if self.transfer_to else "answers"
        return f"<SipPhone {self.user} at {self.host}:{self.port}, {what}>"

    def __enter__(self) -> "SipPhone":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        """What ARI dials to ring this phone: the lab's PJSIP endpoint, sent to this phone's address."""
        return f"PJSIP/{self.user}/sip:{self.user}@{self.host}:{self.port}"

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the phone's call to end; SIPp's exit code (0: every step of the scenario happened)."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise SipPhoneError(f"the SIP phone {self.user} is still in its call after {timeout:g} s: "
                                "hang up its channel, or wait longer") from None

    @property
    def running(self) -> bool:
        """True while SIPp (the phone's call) still runs."""
        return self._process.poll() is None

    def messages(self) -> list[str]:
        """The SIP messages the phone sent and received, in order, each as 'sent: ...' or 'received: ...'."""
        path = self._dir / "messages.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        found = []
        for block in re.split(r"^-{10,}.*$", text, flags=re.M):
            head, _, message = block.strip().partition("\n")
            direction = "sent" if " sent" in head else "received" if " received" in head else ""
            if direction and message.strip():
                found.append(f"{direction}: {message.strip()}")
        return found

    def ladder(self) -> list[str]:
        """One line per SIP message: its direction and first line (a NOTIFY also shows its sipfrag body).

        A retransmission (the same message again, when its answer was late) is not repeated.
        """
        lines, seen = [], set()
        for message in self.messages():
            if message in seen:
                continue
            seen.add(message)
            direction, _, text = message.partition(": ")
            first = text.splitlines()[0]
            if first.startswith("SIP/2.0 "):
                cseq = re.search(r"^CSeq:\s*\d+\s+(\S+)", text, re.M)
                first = f"{first[8:]} (to {cseq.group(1) if cseq else '?'})"
            else:
                first = first.split(" ")[0]
                if first == "NOTIFY":
                    first += f" (the transfer: {text.rstrip().splitlines()[-1].strip()})"
                elif first == "REFER":
                    to = re.search(r"^Refer-To:\s*<sip:([^@>]+)", text, re.M)
                    first += f" (transfer to {to.group(1) if to else '?'})"
            arrow = "phone ->" if direction == "sent" else "phone <-"
            lines.append(f"{arrow} {first}")
        return lines

    def errors(self) -> str:
        """What SIPp reported as unexpected (empty when all went as the scenario says)."""
        path = self._dir / "errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """Stop SIPp if it still runs (the phone's call, if any, is left to Asterisk to end) and remove its files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __del__(self) -> None:
        if getattr(self, "_process", None) is not None and self._process.poll() is None and os.getpid():
            self._process.kill()
