"""The lab itself, spoken to in plain HTTP, websocket and AMI (not through the kit's client)."""

import json
import queue
import socket
import threading
import time
import uuid

import pytest
import requests
import websocket

from vicifast_kit.lab import probes

from client_helpers import eventually


class AppEvents:
    """A plain websocket that registers a Stasis app and queues its events."""

    def __init__(self, s, app):
        url = s.ari_url.replace("http", "ws", 1) + f"/ari/events?app={app}"
        self.ws = websocket.create_connection(url, header=[_basic(s)], timeout=5)
        self.events = queue.Queue()
        self.thread = threading.Thread(target=self._read, name=f"test-ws-{app}", daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                self.events.put(json.loads(self.ws.recv()))
            except Exception:
                return

    def next(self, type_, timeout=10):
        """The next event of this type (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {type_} within {timeout} s")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event["type"] == type_:
                return event

    def drain(self):
        """Every event queued so far."""
        found = []
        while not self.events.empty():
            found.append(self.events.get())
        return found

    def close(self):
        self.ws.close()
        self.thread.join(5)


def _basic(s):
    import base64

    return "Authorization: Basic " + base64.b64encode(f"{s.ari_user}:{s.ari_password}".encode()).decode()


def ari(s, method, path, **kwargs):
    response = requests.request(method, f"{s.ari_url}/ari{path}", auth=(s.ari_user, s.ari_password), timeout=10, **kwargs)
    return response


def simulated_call(s, app, number="5551000", dtmf="", duration=10, delay=0.3):
    """Place a simulated inbound call (the lab's sim-caller) into `app`; the caller's channel id."""
    response = ari(s, "POST", "/channels", params={
        "endpoint": f"Local/{number}@inbound/n", "context": "sim-caller", "extension": "s", "priority": 1,
        "callerId": '"Test Caller" <5551234>',
    }, json={"variables": {"VICIFAST_APP": app, "SIM_DTMF": dtmf, "SIM_DELAY": str(delay), "SIM_DURATION": str(duration)}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def hang_up(s, channel_id):
    ari(s, "DELETE", f"/channels/{channel_id}")


def channel_ids(s):
    return {channel["id"] for channel in ari(s, "GET", "/channels").json()}


@pytest.fixture
def app_name():
    return f"test-{uuid.uuid4().hex[:8]}"


def test_ari_answers_with_asterisk_22(lab_settings):
    info = ari(lab_settings, "GET", "/asterisk/info").json()
    assert info["system"]["version"].startswith("22.")


def test_wrong_ari_password_is_refused_with_401(lab_settings):
    response = requests.get(f"{lab_settings.ari_url}/ari/asterisk/info", auth=(lab_settings.ari_user, "wrong"), timeout=5)
    assert response.status_code == 401


def test_read_only_viewer_may_read_but_not_write(lab_settings):
    viewer = (f"{lab_settings.ari_user}-viewer", lab_settings.ari_viewer_password)
    assert requests.get(f"{lab_settings.ari_url}/ari/channels", auth=viewer, timeout=5).status_code == 200
    response = requests.post(f"{lab_settings.ari_url}/ari/bridges", auth=viewer, timeout=5)
    assert response.status_code == 403


def test_ami_login_works_and_a_wrong_secret_is_refused(lab_settings):
    from dataclasses import replace

    assert probes.ami_login(lab_settings) == "ok"
    assert probes.ami_login(replace(lab_settings, ami_secret="wrong")) == "refused"


def test_the_three_pjsip_phones_are_listed_by_ari(lab_settings):
    endpoints = ari(lab_settings, "GET", "/endpoints/PJSIP").json()
    assert sorted(e["resource"] for e in endpoints) == ["6001", "6002", "6003"]


def test_a_phone_registers_with_its_password_and_shows_online_in_ari(lab_settings):
    """A SIP phone (a real REGISTER with digest authentication) registers as 6001; a wrong password is refused."""
    from sip_phone import SipPhone

    values = __import__("vicifast_kit").settings.lab_values()
    port = int(values["SIP_PORT"])
    intruder = SipPhone("6001", "not-the-password", port)
    phone = SipPhone("6001", values["SIP_PASSWORD"], port)
    registered = False
    try:
        assert intruder.register() in (401, 403)
        assert ari(lab_settings, "GET", "/endpoints/PJSIP/6001").json()["state"] == "offline"
        assert phone.register(expires=60) == 200
        registered = True
        # Asterisk publishes the endpoint's new state after the 200 (it lagged once in a full run): wait for it.
        eventually(lambda: ari(lab_settings, "GET", "/endpoints/PJSIP/6001").json()["state"] == "online",
                   5, "6001 to show online after registering")
        assert phone.register(expires=0) == 200          # unregister
        registered = False
        eventually(lambda: ari(lab_settings, "GET", "/endpoints/PJSIP/6001").json()["state"] == "offline",
                   5, "6001 to go offline after unregistering")
    finally:
        if registered:          # never leave 6001 online for notebook 00, which shows it offline
            phone.register(expires=0)
        phone.close()
        intruder.close()


def test_ami_user_can_originate_and_sees_call_and_dtmf_events(lab_settings):
    s = lab_settings
    with socket.create_connection((s.ami_host, s.ami_port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()

        def send(**fields):
            sock.sendall("".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n")

        def messages():
            while True:
                block = {}
                for raw in iter(reader.readline, b""):
                    line = raw.decode().rstrip("\r\n")
                    if not line:
                        break
                    key, _, value = line.partition(": ")
                    block[key] = value
                yield block

        stream = messages()
        send(Action="Login", Username=s.ami_user, Secret=s.ami_secret)
        assert next(stream)["Response"] == "Success"
        send(Action="Originate", ActionID="orig-1", Channel="Local/9000@inbound/n", Context="sim-caller", Exten="s",
             Priority="1", Async="true", Variable="SIM_DTMF=57,SIM_DELAY=0.2,SIM_DURATION=4")
        seen, digits = set(), []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "Hangup" not in seen:
            block = next(stream)
            if not block.get("Channel", "").startswith("Local/9000@inbound-"):
                continue                # another call in the shared lab (tests run side by side): not this one's
            seen.add(block.get("Event") or block.get("Response"))
            if (block.get("Event") == "DTMFEnd" and block.get("Direction") == "Received"
                    and block["Channel"].endswith(";2")):
                digits.append(block["Digit"])
        assert {"Newchannel", "Newstate", "Hangup"} <= seen
        assert "".join(digits) == "57"


def test_inbound_calls_reach_the_app_chosen_per_call_with_dtmf_in_order(lab_settings, app_name):
    s = lab_settings
    first, second = AppEvents(s, app_name + "-a"), AppEvents(s, app_name + "-b")
    callers = []
    try:
        callers.append(simulated_call(s, app_name + "-a", number="5551001", dtmf="42#"))
        callers.append(simulated_call(s, app_name + "-b", number="5551002", dtmf="9*"))
        start_a = first.next("StasisStart")
        start_b = second.next("StasisStart")
        assert start_a["args"] == ["inbound", "5551001"]
        assert start_b["args"] == ["inbound", "5551002"]
        assert start_a["channel"]["caller"]["number"] == "5551234"
        assert start_a["channel"]["state"] == "Ring"
        for events, start in ((first, start_a), (second, start_b)):
            assert ari(s, "POST", f"/channels/{start['channel']['id']}/answer").status_code == 204
        digits_a = [first.next("ChannelDtmfReceived")["digit"] for _ in range(3)]
        digits_b = [second.next("ChannelDtmfReceived")["digit"] for _ in range(2)]
        assert digits_a == ["4", "2", "#"]
        assert digits_b == ["9", "*"]
        # Each app saw only its own call.
        for events, start in ((first, start_a), (second, start_b)):
            ids = {e["channel"]["id"] for e in events.drain() if "channel" in e}
            assert ids <= {start["channel"]["id"]}
    finally:
        for caller in callers:
            hang_up(s, caller)
        first.close()
        second.close()


def test_a_call_to_an_app_nobody_runs_is_logged_and_ends(lab_settings, app_name):
    s = lab_settings
    caller = simulated_call(s, app_name + "-absent", duration=20)
    eventually(lambda: caller not in channel_ids(s), 15, "the call to an absent app to end")
    from vicifast_kit import lab

    # other calls in the lab log too (a simulated caller's room noise: ten lines a second)
    assert f'No ARI application "{app_name}-absent" is connected' in lab.logs(5000)


def test_the_simulated_caller_hangs_up_after_its_duration(lab_settings, app_name):
    s = lab_settings
    events = AppEvents(s, app_name)
    try:
        caller = simulated_call(s, app_name, duration=2)
        start = events.next("StasisStart")
        ari(s, "POST", f"/channels/{start['channel']['id']}/answer")
        answered = time.monotonic()
        end = events.next("StasisEnd", timeout=10)
        assert end["channel"]["id"] == start["channel"]["id"]
        assert 1.5 < time.monotonic() - answered < 5
        assert caller not in channel_ids(s)
    finally:
        events.close()


def test_a_confbridge_call_joins_a_conference_seen_as_a_bridge(lab_settings):
    s = lab_settings
    caller = simulated_call(s, "unused", number="8123", duration=15)
    try:
        conference = eventually(lambda: next((b for b in ari(s, "GET", "/bridges").json()
                                              if b.get("name") == "8123" and b["channels"]), None),
                                10, "a ConfBridge bridge named 8123 with a member")
        assert conference["technology"] == "softmix"
        assert conference["creator"] == "ConfBridge"
    finally:
        hang_up(s, caller)


@pytest.mark.parametrize("number, context, applications", [
    ("9000", "echo", {"Playback", "Echo"}),  # the announcement, then the echo
    ("9001", "hold", {"MusicOnHold"}),
])
def test_echo_test_and_music_on_hold_extensions(lab_settings, number, context, applications):
    s = lab_settings
    caller = simulated_call(s, "unused", number=number, duration=15)
    try:
        seen = []

        def arrived() -> bool:
            seen.extend(c["dialplan"] for c in ari(s, "GET", "/channels").json()
                        if c["name"].startswith(f"Local/{number}@inbound") and c["name"].endswith(";2"))
            return bool(seen) and seen[-1]["app_name"] in applications
        eventually(arrived, 10, f"the call to {number} to reach an application")
        assert seen[-1]["context"] == context
        assert seen[-1]["app_name"] in applications
    finally:
        hang_up(s, caller)


def test_lab_cli_for_a_server_of_your_own_runs_through_its_ami_never_in_the_lab_here(lab_settings, monkeypatch):
    """Settings of your own (ARI_* for another address, AMI_* of a real AMI: the lab's, reached as any server's)."""
    from vicifast_kit import lab, settings
    from vicifast_kit.lab import lifecycle

    def not_here(*args, **kwargs):
        raise AssertionError("the lab on this machine was used although the settings point elsewhere")

    for backend in lab.BACKENDS.values():
        monkeypatch.setattr(backend, "run_inside", not_here)
        monkeypatch.setattr(backend, "stop", not_here)             # a restart that went past its refusal stops nothing
    monkeypatch.setattr(lifecycle, "down", not_here)
    for name, value in (("ARI_URL", "http://127.0.0.2:8088"), ("ARI_USER", lab_settings.ari_user),
                        ("ARI_PASSWORD", lab_settings.ari_password), ("AMI_HOST", lab_settings.ami_host),
                        ("AMI_PORT", str(lab_settings.ami_port)), ("AMI_USER", lab_settings.ami_user),
                        ("AMI_SECRET", lab_settings.ami_secret)):
        monkeypatch.setenv(name, value)
    assert settings.elsewhere() == "http://127.0.0.2:8088 (ARI_URL from your environment)"
    out = lab.cli("core show version")
    assert out.startswith("Asterisk 22.") and out.endswith("\n")
    with pytest.raises(lab.NotTheLab, match="127.0.0.2:8088"):
        lab.restart()                                       # refused before anything is stopped
