"""The API description parser and the generated surface, on the small description of fake_ari.py (no lab)."""

from __future__ import annotations

import inspect

import pytest

import vicifast_kit as vk
from vicifast_kit import description as api
from vicifast_kit.client import Surface
from vicifast_kit.handles import HANDLE_PARAMS, KINDS, binding_for, kind_of

from fake_ari import DESCRIPTION


@pytest.fixture(scope="module")
def described():
    return api.parse(DESCRIPTION)


@pytest.mark.parametrize("ari_name, python", [
    ("getStoredFile", "get_stored_file"), ("absorbDTMF", "absorb_dtmf"), ("sendDTMF", "send_dtmf"),
    ("channelId", "channel_id"), ("appArgs", "app_args"), ("snoop_channel", "snoop_channel"), ("list", "list")])
def test_snake_case_of_aris_names(ari_name, python):
    assert api.snake(ari_name) == python


def test_a_keyword_gets_a_trailing_underscore():
    assert api.py_name("from") == "from_" and api.py_name("if") == "if_" and api.py_name("format") == "format"


def test_operations_by_resource_with_their_parameters(described):
    assert set(described.operations) == {"channels", "bridges", "recordings", "events"}
    play = described.operations["channels"]["play"]
    assert (play.method, play.path, play.response, play.nickname) == ("POST", "/channels/{channelId}/play",
                                                                        "Playback", "play")
    by_name = {p.py: p for p in play.params}
    assert by_name["channel_id"].where == "path" and by_name["channel_id"].required
    assert by_name["media"].multiple and by_name["media"].required and by_name["skipms"].default == 3000
    hangup = described.operations["channels"]["hangup"]
    assert [p.allowed for p in hangup.params if p.py == "reason"] == [["normal", "busy"]]
    assert described.operations["bridges"]["add_channel"].lookup["absorbDTMF"].py == "absorb_dtmf"
    assert len(described.all_operations()) == 14


def test_event_types_are_every_model_below_event(described):
    assert described.event_types == {"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackStarted"}
    assert "Channel" in described.models and "StasisStart" in described.models


def test_a_signature_puts_ids_first_then_keyword_only_required_first(described):
    sig = described.operations["channels"]["play"].signature()
    assert list(sig.parameters) == ["channel_id", "media", "lang", "skipms", "playback_id"]
    assert sig.parameters["channel_id"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(sig.parameters.values())[1:])
    assert sig.parameters["media"].default is inspect.Parameter.empty and sig.parameters["lang"].default is None
    assert sig.return_annotation == "Playback"
    bound = described.operations["channels"]["play"].signature(("channelId",), self_param=True)
    assert list(bound.parameters)[:2] == ["self", "media"]
    assert described.operations["channels"]["list"].signature().return_annotation == "list[Channel]"


def test_a_docstring_has_the_summary_the_parameters_and_the_http_call(described):
    doc = described.operations["channels"]["play"].doc(("channelId",))
    assert doc.splitlines()[0] == "test operation play"
    assert "media: test parameter media (required; one or a list)" in doc and "channel_id" not in doc
    assert "skipms: test parameter skipms (server default 3000)" in doc
    assert doc.rstrip().endswith("Returns Playback. ARI: POST /channels/{channelId}/play")


def test_the_surface_makes_resource_groups_and_handle_methods(described):
    surface = Surface(described)
    channels = surface.groups["channels"]
    assert {"list", "originate", "get", "hangup", "answer", "play", "get_channel_var", "send_dtmf"} <= set(dir(channels))
    assert str(inspect.signature(channels.originate)).startswith("(self, /, *, endpoint: 'str', app: 'str' = None")
    channel = surface.handles["Channel"]
    assert issubclass(channel, vk.Channel) and channel.__name__ == "Channel"
    assert {"answer", "play", "hangup", "get", "get_channel_var"} <= set(dir(channel))
    assert "channel_id" not in inspect.signature(channel.play).parameters      # bound to the handle's id
    assert {"add_channel", "record"} <= set(dir(surface.handles["Bridge"]))
    stored = surface.handles["StoredRecording"]
    assert {"copy_stored", "copy", "get_stored_file", "get_file"} <= set(dir(stored))   # short aliases
    assert not hasattr(channel, "create")                 # /bridges is no channel's path
    assert channel.media is vk.Channel.media               # written by hand: never replaced


def test_one_registry_of_kinds_with_one_spelling():
    names = [k.name for k in KINDS]
    assert names == [api.snake(k.model) for k in KINDS]                  # snake_case of ARI's model
    assert {"device_state", "stored_recording", "log_channel", "live_recording"} <= set(names)
    assert all(k.handle.kind == k.name and k.handle.key_fields == k.key_fields for k in KINDS)
    assert kind_of("deviceState") is kind_of("DeviceState") is kind_of("device_state")    # ARI's spellings in
    assert binding_for("/endpoints/{tech}/{resource}/sendMessage")[0].name == "endpoint"
    assert binding_for("/recordings/storedX") is None and binding_for("/channels") is None
    assert {"channel_id", "bridge_id", "playback_id", "caller"} <= HANDLE_PARAMS
    with pytest.raises(ValueError, match="kinds: channel, bridge"):
        kind_of("trunk")
