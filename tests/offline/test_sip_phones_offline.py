"""The SIPp scenarios of vicifast_kit.lab.sip_phones, without SIPp or a lab: well-formed, and each step where it should be."""

import xml.etree.ElementTree as ET

import pytest

from vicifast_kit.lab import sip_phones


def _steps(transfer: bool) -> list[tuple[str, str]]:
    root = ET.fromstring(sip_phones.scenario(transfer).encode("iso-8859-1"))
    steps = []
    for element in root:
        text = (element.text or "").strip()
        what = element.get("request") or element.get("response") or element.get("id") or text.split(" ")[0]
        if element.tag == "send" and text.startswith("SIP/2.0"):
            what = text.split("\n")[0].strip()
        steps.append((element.tag, what))
    return steps


def test_the_answering_phone_answers_then_waits_for_the_bye():
    assert [step for step in _steps(False) if step[0] != "nop"] == [
        ("recv", "INVITE"), ("send", "SIP/2.0 180 Ringing"), ("send", "SIP/2.0 200 OK"), ("recv", "ACK"),
        ("recv", "BYE"), ("send", "SIP/2.0 200 OK"), ("label", "done")]
    assert "REFER sip" not in sip_phones.scenario(False)


def test_the_transferring_phone_refers_follows_the_notifies_and_hangs_up_only_when_it_worked():
    text = sip_phones.scenario(True)
    steps = _steps(True)
    assert steps[4:7] == [("pause", ""), ("send", "REFER"), ("recv", "202")]
    notify = steps.index(("recv", "NOTIFY"))
    assert steps[notify - 1] == ("label", "notify")
    send_ok = steps[notify + 1]
    assert send_ok == ("send", "SIP/2.0 200 OK")
    assert "Refer-To: <sip:[target]@[remote_ip]:[remote_port]>" in text
    root = ET.fromstring(text.encode("iso-8859-1"))
    elements = list(root)
    assert elements[notify + 1].get("test") == "more" and elements[notify + 1].get("next") == "notify"
    assert elements[notify + 2].get("test") == "transferred" and elements[notify + 2].get("next") == "hang_up"
    # failed transfer: wait for the other side's BYE; worked: send our own BYE
    labels = [what for tag, what in steps if tag == "label"]
    assert labels == ["notify", "hang_up", "done"]
    assert steps.index(("recv", "BYE")) < steps.index(("label", "hang_up")) < steps.index(("send", "BYE"))


@pytest.mark.parametrize("transfer", [False, True])
def test_every_variable_the_scenario_sets_is_used(transfer):
    """SIPp refuses to start when a variable is set and never read ("Variable $x is referenced 1 times")."""
    root = ET.fromstring(sip_phones.scenario(transfer).encode("iso-8859-1"))
    text = sip_phones.scenario(transfer)
    assigned = [name for element in root.iter() for name in (element.get("assign_to") or "").split(",") if name]
    for name in set(assigned):
        uses = text.count(f"[${name}]") + sum(1 for e in root.iter() if name in (e.get("variable"), e.get("test")))
        assert uses + assigned.count(name) >= 2, name


LOG = """----------------------------------------------- 2026-12-06 07:06:15.218874
UDP message sent (441 bytes):

REFER sip:asterisk@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:59673;branch=z9hG4bK-1
CSeq: 1 REFER
Refer-To: <sip:6003@127.0.0.1:5060>
Content-Length: 0


----------------------------------------------- 2026-12-06 07:06:15.219190
UDP message received [592] bytes :

SIP/2.0 202 Accepted
CSeq: 1 REFER
Content-Length:  0


----------------------------------------------- 2026-12-06 07:06:15.258715
UDP message received [644] bytes :

NOTIFY sip:6002@127.0.0.1:59673 SIP/2.0
CSeq: 30095 NOTIFY
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag;version=2.0
Content-Length:    16

SIP/2.0 200 OK

----------------------------------------------- 2026-12-06 07:06:15.758715
UDP message received [644] bytes :

NOTIFY sip:6002@127.0.0.1:59673 SIP/2.0
CSeq: 30095 NOTIFY
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag;version=2.0
Content-Length:    16

SIP/2.0 200 OK

----------------------------------------------- 2026-12-06 07:06:15.258794
UDP message sent (320 bytes):

SIP/2.0 200 OK
CSeq: 30095 NOTIFY
Content-Length: 0

"""


def test_the_ladder_reads_sipps_message_log_one_line_a_message_and_drops_retransmissions(tmp_path):
    phone = sip_phones.SipPhone.__new__(sip_phones.SipPhone)      # no SIPp: only its log is read
    phone._dir = tmp_path
    (tmp_path / "messages.log").write_text(LOG)
    assert phone.ladder() == ["phone -> REFER (transfer to 6003)", "phone <- 202 Accepted (to REFER)",
                              "phone <- NOTIFY (the transfer: SIP/2.0 200 OK)", "phone -> 200 OK (to NOTIFY)"]
    assert phone.messages()[0].startswith("sent: REFER sip:asterisk@127.0.0.1:5060 SIP/2.0\nVia:")
