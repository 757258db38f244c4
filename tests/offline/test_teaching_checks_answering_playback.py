"""The pure parts of notebooks 02 and 03's checks: how a call's story on the wire is judged, and what a playlist says."""

from vicifast_kit.teaching.checks import answering, playback


def request(method, path, **params):
    return {"kind": "request", "method": method, "path": path, "params": params}


def event(kind, **json):
    return {"kind": "event", "type": kind, "json": json}


def story(*steps):
    """A call's story as answering._story gives it: (kind, entry) pairs."""
    return [(kind, entry) for kind, entry in steps]


def played(media_uri):
    return [("PlaybackStarted", event("PlaybackStarted", playback={"media_uri": media_uri})),
            ("PlaybackFinished", event("PlaybackFinished", playback={"media_uri": media_uri, "state": "done"}))]


HOLD = request("POST", "/channels/1/continue", context="inbound", extension="9001", priority=1)


def test_a_right_attendant_passes_on_both_lines():
    closed = story(("answer", request("POST", "/channels/1/answer")), *played("sound:vm-goodbye"),
                   ("hangup", request("DELETE", "/channels/1")))
    open_ = story(("answer", request("POST", "/channels/1/answer")), *played("sound:hello-world"), ("continue", HOLD))
    assert answering._judge("closed line", answering.CLOSED, closed, "") is None
    assert answering._judge("open line", answering.OPEN, open_, "MusicOnHold") is None


def test_each_mistake_gets_its_own_line():
    answer = ("answer", request("POST", "/channels/1/answer"))
    assert "never answered" in answering._judge("closed line", answering.CLOSED, story(), "")
    assert "heard nothing" in answering._judge("closed line", answering.CLOSED, story(answer), "")
    early = story(answer, played("sound:vm-goodbye")[0], ("hangup", request("DELETE", "/channels/1")),
                  played("sound:vm-goodbye")[1])
    assert "before the greeting ended" in answering._judge("closed line", answering.CLOSED, early, "")
    hung = story(answer, *played("sound:hello-world"), ("hangup", request("DELETE", "/channels/1")))
    assert "not be hung up" in answering._judge("open line", answering.OPEN, hung, "")
    stopped = story(answer, *played("sound:hello-world"), ("stop", request("DELETE", "/playbacks/x")), ("continue", HOLD))
    assert "was stopped" in answering._judge("open line", answering.OPEN, stopped, "MusicOnHold")
    elsewhere = story(answer, *played("sound:hello-world"),
                      ("continue", request("POST", "/channels/1/continue", context="inbound", extension="9000", priority=1)))
    assert "not to the hold music" in answering._judge("open line", answering.OPEN, elsewhere, "Playback")
    assert "left waiting" in answering._judge("open line", answering.OPEN, story(answer, *played("sound:hello-world")), "")


def test_what_a_playlist_says(monkeypatch):
    monkeypatch.setattr(playback, "transcript", {"queue-thereare": "You are currently caller number"}.get)
    assert playback.said("sound:queue-thereare") == "You are currently caller number"
    assert playback.said("number:12") == "12"                  # said as a number: twelve
    assert playback.said("digits:12") == "1 2"                 # said digit by digit: one, two
    assert "no known words" in playback.said("sound:no-such-prompt")


def test_the_wanted_announcement_depends_on_the_position_and_ignores_punctuation():
    assert playback.wanted(1).startswith("Your call is now first in line")
    assert "caller number 4." in playback.wanted(4) and playback.wanted(4).endswith("Thank you for your patience.")
    assert playback._plain("You are currently caller number 4 Waiting to speak with a representative") == \
        playback._plain("You are currently caller number 4. Waiting to speak with a representative.")
