"""The media stream's control messages in both of chan_websocket's formats (plain text, JSON), the commands the
kit sends in each, marks' bookkeeping, and which servers have what (no lab).

The JSON and plain-text lines below are as the lab's Asterisk 22.10.1 sent them (recorded with a raw websocket
on externalMedia with transport_data=f(json) and without)."""

import json
import time

import pytest

from vicifast_kit.media.stream import MediaMark, _command_text, _parse_control
from vicifast_kit.media.wiring import media_features

JSON_START = ('{"event":"MEDIA_START","connection_id":"0b43076e-5395-445f-a3d7-753507c241d1",'
              '"channel":"WebSocket/INCOMING/0x7f22e802f220","channel_id":"1796531405.1148","format":"slin16",'
              '"optimal_frame_size":640,"ptime":20,"channel_variables":{"MEDIA_WEBSOCKET_CONNECTION_ID":'
              '"0b43076e-5395-445f-a3d7-753507c241d1"}}')
PLAIN_START = ("MEDIA_START connection_id:28fc8117-9327-4ee6-b3d3-30ce476603f3 channel:WebSocket/INCOMING/0x7f22e8014670 "
               "channel_id:1796531408.1149 format:slin16 optimal_frame_size:640 ptime:20")


def test_media_start_in_both_formats():
    event, fields, _ = _parse_control(JSON_START)
    assert event == "MEDIA_START" and fields["format"] == "slin16" and fields["optimal_frame_size"] == 640
    assert fields["channel_variables"]["MEDIA_WEBSOCKET_CONNECTION_ID"].startswith("0b43")
    event, fields, _ = _parse_control(PLAIN_START)
    assert event == "MEDIA_START" and fields["format"] == "slin16" and fields["optimal_frame_size"] == "640"


def test_marks_flow_control_dtmf_and_errors_in_both_formats():
    assert _parse_control('{"event":"MEDIA_MARK_PROCESSED","channel_id":"1.2","correlation_id":"m1"}')[::2] == \
        ("MEDIA_MARK_PROCESSED", "m1")
    assert _parse_control("MEDIA_MARK_PROCESSED m1")[::2] == ("MEDIA_MARK_PROCESSED", "m1")
    assert _parse_control('{"event":"MEDIA_XOFF","channel_id":"1.2"}')[0] == "MEDIA_XOFF"
    assert _parse_control("MEDIA_XON")[0] == "MEDIA_XON"
    assert _parse_control('{"event":"DTMF_END","channel_id":"1.2","digit":"5"}')[1]["digit"] == "5"
    assert _parse_control("DTMF_END digit:5 channel_id:1.2")[1]["digit"] == "5"
    text = "MARK_MEDIA not supported while media direction is 'in'"
    assert _parse_control(f"ERROR channel_id:1.2 error_text:{text}")[2] == text
    assert _parse_control(json.dumps({"event": "ERROR", "channel_id": "1.2", "error_text": text}))[2] == text
    status = _parse_control('{"event":"STATUS","channel_id":"1","queue_length":0,"queue_full":false}')
    assert status[0] == "STATUS" and status[1]["queue_full"] is False
    assert _parse_control("{not json")[0] == "" and _parse_control("{}")[0] == ""


def test_commands_in_the_streams_format():
    assert json.loads(_command_text("json", "MARK_MEDIA", "kit-1")) == {"command": "MARK_MEDIA", "correlation_id": "kit-1"}
    assert json.loads(_command_text("json", "FLUSH_MEDIA")) == {"command": "FLUSH_MEDIA"}
    assert json.loads(_command_text("json", "SET_MEDIA_DIRECTION", direction="in")) == \
        {"command": "SET_MEDIA_DIRECTION", "direction": "in"}
    assert _command_text("plain-text", "MARK_MEDIA", "kit-1") == "MARK_MEDIA kit-1"
    assert _command_text("plain-text", "FLUSH_MEDIA") == "FLUSH_MEDIA"
    with pytest.raises(ValueError, match="JSON control format"):       # Asterisk: "only supports JSON format"
        _command_text("plain-text", "SET_MEDIA_DIRECTION", direction="in")


def test_which_servers_have_json_control_marks_and_direction():
    # the first release tags of asterisk/asterisk whose chan_websocket.c has them
    assert media_features("22.10.1+dfsg+~cs6.17.60671434-1") == (True, True)     # the lab (Debian's package)
    assert media_features("22.8.0") == (True, False) and media_features("22.9.0") == (True, True)
    assert media_features("22.7.0") == (False, False) and media_features("22.6.0") == (False, False)
    assert media_features("20.18.2") == (True, False) and media_features("20.19.0") == (True, True)
    assert media_features("21.12.3") == (False, False)          # branch 21 never had them
    assert media_features("23.2.0") == (True, False) and media_features("23.3.0") == (True, True)
    assert media_features("24.0.0") == (True, True)             # a later branch has what 23 had
    assert media_features("GIT-master-abc123") == (False, False) and media_features("") == (False, False)


def test_a_mark_asterisk_answers_and_one_estimated():
    mark = MediaMark("m1", time.monotonic())
    assert not mark.played and not mark.wait(0.01)
    mark.estimated_at = time.monotonic()
    mark._reached.set()
    mark._finish("asterisk")
    assert mark.played and mark.wait(0) and mark.how == "asterisk" and mark.played_at is not None
    mark._finish("flushed")                       # the first outcome stays
    assert mark.how == "asterisk"

    guess = MediaMark("m2", time.monotonic())
    guess._estimating = True                      # a server without MARK_MEDIA: the 20 ms clock decides
    assert not guess.wait(0.01)                   # the writer has not reached it yet
    guess.estimated_at = time.monotonic() + 0.15
    guess._reached.set()
    assert not guess.played and not guess.wait(0.05)
    t0 = time.monotonic()
    assert guess.wait(1.0) and guess.how == "estimate" and guess.played
    assert time.monotonic() - t0 < 0.3 and guess.played_at == guess.estimated_at

    flushed = MediaMark("m3", time.monotonic())
    flushed._estimating = True
    flushed.estimated_at = time.monotonic() + 5
    flushed._reached.set()
    flushed._finish("flushed")
    assert not flushed.wait(1.0) and flushed.how == "flushed" and not flushed.played
