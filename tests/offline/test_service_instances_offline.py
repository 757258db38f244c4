"""Several instances of a vk.App, offline: names, who is dead, who takes over, which channels move (a fake ARI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vicifast_kit import cli
from vicifast_kit.errors import ARIError, NotFound
from vicifast_kit.service import App, ServiceError
from vicifast_kit.service.app import stasis_args
from vicifast_kit.service.shared import (PING, PONG, PeerClock, Sharing, broadcast_family, chooses_me, family_apps,
                                         instance_app, safe_instance)


def broadcast_channel(ident: str, family: str = "ivr", name: str = "Local/5551234@service-shared-0001;2") -> dict:
    return {"id": ident, "name": name, "dialplan": {"context": "service-shared", "exten": "5551234", "priority": 4,
                                                    "app_name": "StasisBroadcast",
                                                    "app_data": f"2000,^{family}-,service:5551234"}}


def test_names_of_instances():
    assert instance_app("ivr", "a") == "ivr-a"
    assert safe_instance("host.example-1234-ab12") == "host.example-1234-ab12"
    assert safe_instance("my host/1 2") == "my-host-1-2" and safe_instance("///") == "x"
    app = App("ivr", shared=True, instance="b")
    assert (app.ari_app, app.health()["ari_app"]) == ("ivr-b", "ivr-b")
    assert App("ivr", instance="b").ari_app == "ivr"            # not shared: the app name alone
    assert "ari_app" not in App("ivr").health()                 # /healthz of a single app is unchanged
    generated = App("ivr", shared=True)
    assert generated.ari_app == f"ivr-{generated.instance}" and "/" not in generated.instance


@pytest.mark.parametrize("kwargs, words", [
    ({"check_every": 0}, "check_every is in seconds, more than 0"),
    ({"takeover_after": -1}, "takeover_after is in seconds, more than 0"),
])
def test_a_shared_app_made_wrong_says_what_to_give(kwargs, words):
    with pytest.raises(ServiceError, match=words):
        App("ivr", shared=True, **kwargs)


def test_a_shared_app_with_an_instance_unfit_for_an_app_name_does_not_start():
    app = App("ivr", shared=True, instance="a b")
    app.call(print)
    with pytest.raises(ServiceError, match="letters, digits"):
        app.start()
    assert app.state == "stopped" and app.threads == []


def test_the_arguments_and_family_of_a_broadcast_call_come_from_its_dialplan():
    raw = broadcast_channel("1.1")
    assert stasis_args(raw) == ["service", "5551234"] and broadcast_family(raw) == "ivr"
    assert broadcast_family(broadcast_channel("1.2", family="svc-ab12")) == "svc-ab12"
    plain = {"dialplan": {"app_name": "Stasis", "app_data": "ivr,service,5551234"}}
    assert broadcast_family(plain) is None and stasis_args(plain) == ["service", "5551234"]
    assert stasis_args({"dialplan": {"app_name": "StasisBroadcast", "app_data": "500"}}) == []
    assert broadcast_family({"dialplan": {"app_name": "StasisBroadcast", "app_data": "500,.*"}}) is None


def test_the_family_s_other_apps_and_who_takes_over():
    apps = [{"name": "ivr-a", "channel_ids": ["1"]}, {"name": "ivr-b", "channel_ids": []},
            {"name": "ivrx-c", "channel_ids": ["2"]}, {"name": "other", "channel_ids": ["3"]}]
    assert family_apps(apps, "ivr", "ivr-b") == {"ivr-a": ["1"]}
    assert chooses_me("ivr-b", ["ivr-c"]) and not chooses_me("ivr-c", ["ivr-b"]) and chooses_me("ivr-z", [])


def test_a_peer_is_dead_after_takeover_after_seconds_without_an_answer():
    clock = PeerClock(takeover_after=3)
    clock.pinged("ivr-a", 100.0)
    assert not clock.dead("ivr-a", 102.9) and not clock.alive("ivr-a", 101)     # never answered: wait for it
    assert clock.dead("ivr-a", 103.1)                                          # silent since the first ping
    clock.ponged("ivr-a", 103.5)
    assert clock.alive("ivr-a", 104) and not clock.dead("ivr-a", 106.4) and clock.dead("ivr-a", 106.6)
    clock.pinged("ivr-a", 107)                                                 # later pings do not reset it
    assert clock.first_ping["ivr-a"] == 100.0
    clock.forget(["ivr-b"])
    assert clock.first_ping == {} and clock.last_pong == {}


class FakeARI:
    """What Sharing asks of ARI, recorded: GET /applications and /channels answer from dicts; POSTs are noted."""

    connected = True

    def __init__(self, apps: list[dict], channels: dict[str, dict]) -> None:
        self.apps, self.channels, self.sent = apps, channels, []
        self.handlers = {}

    def on(self, event_type, fn):
        self.handlers[event_type] = fn
        fake = self

        class Unsubscriber:
            def unsubscribe(self):
                fake.handlers.pop(event_type, None)
        return Unsubscriber()

    def request(self, method, path, body=None, **params):
        self.sent.append((method, path, params, body))
        if path == "/applications":
            return self.apps
        if path.startswith("/channels/") and method == "GET":
            ident = path.split("/")[2]
            if ident not in self.channels:
                raise NotFound(404, "Channel not found", method, path)
            return self.channels[ident]
        if path == "/events/claim" and params.get("channelId") == "taken":
            raise ARIError(409, "Channel has already been claimed by another application", method, path)
        return None


@pytest.fixture
def sharing():
    made = []

    def make(me: str, apps: list[dict], channels: dict[str, dict], **kwargs) -> tuple[Sharing, FakeARI]:
        app = App("ivr", shared=True, instance=me, check_every=3600, takeover_after=3, **kwargs)
        app._state = "serving"
        ari = FakeARI(apps, channels)
        part = Sharing(app, ari)
        made.append(part)
        return part, ari

    yield make
    for part in made:
        part.stop()
        assert part.threads == [] and part.ari.handlers == {}       # its threads ended, its handlers removed


def test_a_silent_peer_s_broadcast_calls_move_here_and_others_stay(sharing):
    apps = [{"name": "ivr-a", "channel_ids": ["c1", "c2", "snoop", "foreign", "gone", "held"]},
            {"name": "ivr-b", "channel_ids": []}, {"name": "ivr-c", "channel_ids": ["held"]}]
    channels = {"c1": broadcast_channel("c1"), "c2": broadcast_channel("c2"),
                "snoop": dict(broadcast_channel("snoop"), name="Snoop/c1-00000001"),
                "foreign": dict(broadcast_channel("foreign"), dialplan={"app_name": "Stasis", "app_data": "ivr-a"}),
                "held": broadcast_channel("held")}
    part, ari = sharing("b", apps, channels)
    part.clock.ponged("ivr-c", 99.5)
    assert part.check_peers(now=100.0) == []                      # first round: a and c pinged, nobody judged yet
    pings = [(p["application"], b) for m, path, p, b in ari.sent if path == f"/events/user/{PING}"]
    assert pings == [("ivr-a", {"variables": {"from": "ivr-b"}}), ("ivr-c", {"variables": {"from": "ivr-b"}})]
    ari.sent.clear()
    part.clock.ponged("ivr-c", 103.5)                     # c answers, a does not
    assert part.check_peers(now=104.0) == ["ivr-a"]
    moves = [(path, p) for m, path, p, b in ari.sent if path.endswith("/move")]
    assert moves == [("/channels/c1/move", {"app": "ivr-b", "appArgs": "service,5551234"}),
                     ("/channels/c2/move", {"app": "ivr-b", "appArgs": "service,5551234"})]
    assert ("DELETE", "/channels/snoop", {}, None) in ari.sent              # a dead handler's helper channel
    assert part.taking == {"c1": "ivr-a", "c2": "ivr-a"}
    assert part.admitted("c1") == "ivr-a" and part.admitted("c1") is None


def test_only_the_first_live_instance_takes_over_and_a_draining_one_never(sharing):
    apps = [{"name": "ivr-a", "channel_ids": ["c1"]}, {"name": "ivr-b", "channel_ids": []},
            {"name": "ivr-c", "channel_ids": []}]
    channels = {"c1": broadcast_channel("c1")}
    late, ari_c = sharing("c", apps, channels)
    late.clock.pinged("ivr-a", 100.0)
    late.clock.ponged("ivr-b", 199.0)
    assert late.check_peers(now=200.0) == ["ivr-a"]
    assert not [s for s in ari_c.sent if s[1].endswith("/move")]            # b is alive and first by name: b's job
    first, ari_b = sharing("b", apps, channels)
    first.clock.pinged("ivr-a", 100.0)
    first.app._draining = True
    assert first.check_peers(now=200.0) == ["ivr-a"] and not [s for s in ari_b.sent if s[1].endswith("/move")]


def test_claims_only_with_room_and_pongs_answer_pings(sharing):
    part, ari = sharing("a", [], {}, max_calls=1)
    offer = part.ari.handlers["CallBroadcast"]

    class Ev:
        def __init__(self, raw):
            self.raw = raw
    offer(Ev({"type": "CallBroadcast", "channel": broadcast_channel("c1")}))
    offer(Ev({"type": "CallBroadcast", "channel": broadcast_channel("c2")}))        # full: one claim in flight
    offer(Ev({"type": "CallBroadcast", "channel": broadcast_channel("c3", family="other")}))
    part.ari.handlers["ChannelUserevent"](Ev({"eventname": PING, "userevent": {"from": "ivr-b"}}))
    part.ari.handlers["ChannelUserevent"](Ev({"eventname": PONG, "userevent": {"from": "ivr-c"}}))
    part.flush()
    claims = [p for m, path, p, b in ari.sent if path == "/events/claim"]
    pongs = [p["application"] for m, path, p, b in ari.sent if path == f"/events/user/{PONG}"]
    assert claims == [{"channelId": "c1", "application": "ivr-a"}]      # c2: no room; c3: another family's call
    assert pongs == ["ivr-b"] and "ivr-c" in part.clock.last_pong
    assert part.pending_claims() == 1                                   # c1 counts until its StasisStart
    assert part.admitted("c1") is None and part.pending_claims() == 0
    offer(Ev({"type": "CallBroadcast", "channel": broadcast_channel("taken")}))
    part.flush()                                                        # 409: another instance won it
    assert part.pending_claims() == 0
    part.app._draining = True
    offer(Ev({"type": "CallBroadcast", "channel": broadcast_channel("c4")}))
    part.flush()
    assert not [p for m, path, p, b in ari.sent if p.get("channelId") == "c4"]     # draining: no claim


def test_serve_takes_an_instance_and_says_when_it_cannot_be_one(tmp_path):
    args = cli._parser().parse_args(["serve", "ivr.py", "--instance", "a", "--takeover-after", "5"])
    assert (args.instance, args.shared, args.takeover_after) == ("a", False, 5.0)
    assert cli._parser().parse_args(["serve", "ivr.py", "--shared"]).shared is True
    (tmp_path / "svc.py").write_text("import vicifast_kit as vk\napp = vk.App('ivr')\napp.call(print)\n")
    for argv, words in ((["--instance", "a b"], "--instance becomes part of the ARI app name ivr-NAME"),
                        (["--instance", "a", "--takeover-after", "0"], "--takeover-after is in seconds")):
        run = subprocess.run([sys.executable, "-m", "vicifast_kit.cli", "serve", "svc.py", *argv],
                             capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
        assert run.stderr.count("\n") == 1 and words in run.stderr
