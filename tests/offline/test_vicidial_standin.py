"""The stand-in for VICIdial's non_agent_api.php (vicifast_kit/lab/vicidial_standin.py), without a lab: VICIdial's
parameter names and answer lines (as its non_agent_api.php 2.14-202 writes them), the checks in its order, the
password never kept or shown, every answer saying it is a stand-in, and a server that leaves no thread behind.
"""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

import pytest

import vicifast_kit as vk
from vicifast_kit.lab.vicidial_standin import MASK, STANDIN_LINE, NonAgentAPIStandIn


@pytest.fixture
def api():
    standin = NonAgentAPIStandIn(api_user="6666", api_pass="s3cret-pass")
    yield standin
    standin.close()


def ask(api, **params) -> list[str]:
    """The stand-in's answer lines to one request's parameters (the login added unless given)."""
    params = {"user": "6666", "pass": "s3cret-pass", "source": "premenu", **params}
    return api.answer({k: v for k, v in params.items() if v is not None}).splitlines()


def test_every_answer_ends_by_saying_it_is_a_stand_in(api):
    for params in ({"function": "version"}, {"function": "add_lead", "pass": "wrong"}, {"function": "nothing"}):
        assert ask(api, **params)[-1] == STANDIN_LINE
    assert "STAND-IN" in repr(api) and "not VICIdial" in repr(api)


def test_version_answers_without_a_login_in_vicidials_fields(api):
    line = ask(api, function="version", user=None, **{"pass": None})[0]
    assert [part.split(":")[0] for part in line.rstrip("|").split("|")] == [
        "VERSION", "BUILD", "DATE", "EPOCH", "DST", "TZ", "TZNOW"]
    assert line.startswith("VERSION: stand-in|")


def test_a_wrong_login_is_refused_and_the_password_is_masked(api):
    lines = ask(api, function="add_lead", phone_number="5550142", **{"pass": "guess"})
    assert lines[0] == f"ERROR: Login incorrect, please try again: |6666|{MASK}|BAD|"
    assert all("guess" not in str(r.params) for r in api.received)
    assert api.received[-1].params["pass"] == MASK and api.leads == {}


def test_add_lead_adds_a_lead_with_vicidials_defaults_and_answer(api):
    lines = ask(api, function="add_lead", phone_number="555-0142", first_name="Ada", comments="pre-menu: 1")
    assert lines[0] == "SUCCESS: add_lead LEAD HAS BEEN ADDED - 5550142|999|1001|0.00|6666"
    lead = api.leads[1001]
    assert (lead["phone_number"], lead["phone_code"], lead["list_id"], lead["status"]) == ("5550142", "1", "999", "NEW")
    assert lead["first_name"] == "Ada" and lead["comments"] == "pre-menu: 1"
    assert ask(api, function="add_lead", phone_number="5550143", list_id="101")[0].endswith("|101|1002|0.00|6666")


@pytest.mark.parametrize("number", ["12345", "12345678901234567"])
def test_add_lead_refuses_a_phone_number_of_the_wrong_length(api, number):
    assert ask(api, function="add_lead", phone_number=number)[0] == \
        f"ERROR: add_lead INVALID PHONE NUMBER LENGTH - {number}|6666"
    assert api.leads == {}


def test_a_source_of_under_two_letters_is_refused_as_vicidial_does(api):
    assert ask(api, function="add_lead", phone_number="5550142", source="-x-")[:2] == [
        "ERROR: Invalid Source - x", "ERROR: Invalid Source: |x|"]


def test_an_unknown_function_gets_vicidials_answer(api):
    assert ask(api, function="add_leads")[0] == "ERROR: NO FUNCTION SPECIFIED"


def test_names_vicidial_does_not_take_and_options_not_acted_on_are_named(api):
    lines = ask(api, function="add_lead", phone_number="5550142", phone="5550142", dnc_check="Y")
    assert lines[0].startswith("SUCCESS:")
    assert "NOTICE: STAND-IN - parameters VICIdial's add_lead does not take (VICIdial would ignore them): phone" in lines
    assert "NOTICE: STAND-IN - accepted but not acted on by the stand-in: dnc_check" in lines


def test_update_lead_finds_by_lead_id_or_phone_number_and_changes_fields(api):
    ask(api, function="add_lead", phone_number="5550142")
    ask(api, function="add_lead", phone_number="5550142")            # a second lead, same number: the newer wins
    assert ask(api, function="update_lead", lead_id="1001", status="PREMNU")[0] == \
        "SUCCESS: update_lead LEAD HAS BEEN UPDATED - 6666|1001|1|0|0|"
    assert api.leads[1001]["status"] == "PREMNU" and api.leads[1002]["status"] == "NEW"
    assert ask(api, function="update_lead", search_method="PHONE_NUMBER", phone_number="5550142",
               comments="chose 2")[0] == "SUCCESS: update_lead LEAD HAS BEEN UPDATED - 6666|1002|1|0|0|"
    assert api.leads[1002]["comments"] == "chose 2"
    assert ask(api, function="update_lead", lead_id="1002", comments="--BLANK--")[0].startswith("SUCCESS:")
    assert api.leads[1002]["comments"] == ""


def test_update_lead_says_what_vicidial_says_when_it_cannot_search_or_find(api):
    assert ask(api, function="update_lead", status="X")[0] == "ERROR: update_lead NO VALID SEARCH METHOD - 6666|LEAD_ID|||"
    assert ask(api, function="update_lead", lead_id="77", status="X")[0] == \
        "ERROR: update_lead NO MATCHES FOUND IN THE SYSTEM: |6666|77||"
    ask(api, function="add_lead", phone_number="5550142")
    assert ask(api, function="update_lead", lead_id="1001", no_update="Y")[0] == \
        "NOTICE: update_lead LEADS FOUND IN THE SYSTEM: |6666|1001|||999|999"
    assert api.leads[1001]["status"] == "NEW"


def test_over_http_get_and_post_are_answered_and_recorded(api):
    query = urllib.parse.urlencode({"function": "add_lead", "source": "premenu", "user": "6666",
                                    "pass": "s3cret-pass", "phone_number": "5550150"})
    with urllib.request.urlopen(f"{api.url}?{query}", timeout=5) as reply:
        assert "not VICIdial" in reply.headers["X-Stand-In"]
        assert reply.read().decode().startswith("SUCCESS: add_lead LEAD HAS BEEN ADDED - 5550150|999|1001|")
    body = urllib.parse.urlencode({"function": "update_lead", "source": "premenu", "user": "6666",
                                   "pass": "s3cret-pass", "lead_id": "1001", "status": "SALE"}).encode()
    with urllib.request.urlopen(urllib.request.Request(api.url, data=body), timeout=5) as reply:
        assert reply.read().decode().startswith("SUCCESS: update_lead LEAD HAS BEEN UPDATED")
    assert [(r.function, r.params["pass"], r.first_line().split(":")[0]) for r in api.received] == [
        ("add_lead", MASK, "SUCCESS"), ("update_lead", MASK, "SUCCESS")]
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(api.url.replace("non_agent_api.php", "api.php"), timeout=5)
    assert error.value.code == 404


def test_its_thread_is_named_daemonic_and_ends_at_close():
    api = NonAgentAPIStandIn()
    thread = next(t for t in threading.enumerate() if t.name == f"vicifast-vicidial-standin[{api.port}]")
    assert thread.daemon
    api.close()
    assert not thread.is_alive() and api.closed and "closed" in repr(api)
    api.close()                                  # twice is harmless


def test_a_busy_port_or_another_host_is_a_kit_error_saying_what_to_do():
    with NonAgentAPIStandIn() as first:
        with pytest.raises(vk.Error, match="port=0"):
            NonAgentAPIStandIn(port=first.port)
    with pytest.raises(vk.Error, match="loopback"):
        NonAgentAPIStandIn(host="0.0.0.0")
