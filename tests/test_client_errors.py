"""Every error class, each from a real answer of the lab's server."""

from __future__ import annotations

import pytest

import vicifast_kit as vk
from vicifast_kit import settings

from client_helpers import ari, lab, unique_app  # noqa: F401  (fixtures)


def test_bad_request_400(ari):
    with pytest.raises(vk.BadRequest) as err:
        ari.request("POST", "/channels")
    e = err.value
    assert (e.status, e.method, e.path) == (400, "POST", "/channels") and "Endpoint" in e.message


def test_not_found_404(ari):
    with pytest.raises(vk.NotFound) as err:
        ari.channels.get("no-such-channel")
    assert err.value.status == 404 and err.value.path == "/channels/no-such-channel"
    assert "Channel not found" in str(err.value)


def test_unauthorized_401(ari):
    port = settings.lab_values()["ARI_PORT"]
    with pytest.raises(vk.Unauthorized) as err:
        vk.connect(app=unique_app(), url=f"http://127.0.0.1:{port}", user="vicifast", password="nope")
    assert err.value.status == 401


def test_forbidden_403_for_read_only_user():
    with vk.connect(app=unique_app(), user="vicifast-viewer", password=settings.load().ari_viewer_password) as viewer:
        assert viewer.asterisk.ping().ping == "pong"          # reading is allowed
        with pytest.raises(vk.Forbidden) as err:
            viewer.bridges.create(type="mixing")
        assert err.value.status == 403 and err.value.method == "POST"
        assert "read_only = yes in ari.conf" in str(err.value) and "a user that may write" in str(err.value)


def test_conflict_409(ari):
    with pytest.raises(vk.Conflict) as err:
        ari.device_states.update("PJSIP/6001", device_state="BUSY")    # not a Stasis: device
    assert err.value.status == 409


def test_unprocessable_422(lab):
    caller, ch = lab.call(duration=5)
    br = lab.ari.bridges.create(type="mixing")
    with pytest.raises(vk.UnprocessableEntity) as err:
        br.add_channel(channel=caller)          # the caller's side is not in the Stasis app
    assert err.value.status == 422
    br.destroy()


def test_server_error_5xx(ari):
    with pytest.raises(vk.ServerError) as err:
        ari.channels.originate(endpoint="NoSuchTech/x", app=ari.app)
    assert 500 <= err.value.status < 600


def test_wait_timeout_names_what_was_awaited(ari):
    with pytest.raises(TimeoutError) as err:
        ari.wait_for("StasisStart", timeout=0.2)
    assert isinstance(err.value, vk.WaitTimeout) and "StasisStart" in str(err.value)


def test_a_wrong_password_says_what_to_check():
    port = settings.lab_values()["ARI_PORT"]
    with pytest.raises(vk.Unauthorized) as err:
        vk.connect(app=unique_app(), url=f"http://127.0.0.1:{port}", password="wrong")
    text = str(err.value)
    assert "the password you passed" in text and "ari.conf" in text and "wrong" not in text


def test_answering_a_call_that_ended_says_so_with_its_hang_up_cause(lab):
    caller, ch = lab.call(answer=False, duration=8)
    caller.hangup()                                             # the caller hangs up: cause 16
    ch.wait_for("StasisEnd", timeout=10)
    with pytest.raises(vk.CallEnded) as err:
        ch.answer()
    e = err.value
    # 404 once the channel is gone; 500 (or 409) if the request met it in its last milliseconds: both are CallEnded.
    assert isinstance(e, vk.NotFound) and e.status in (404, 409, 500) and e.cause == 16
    assert "this call has ended (hang-up cause 16, Normal Clearing)" in str(e)
    with pytest.raises(vk.NotFound) as err:                     # an id never seen: it may never have existed
        lab.ari.channels.answer("no-such-call")
    assert isinstance(err.value, vk.CallEnded) and err.value.cause is None and "never existed" in str(err.value)


def test_a_notebook_traceback_shows_the_users_code_not_the_kits(ari):
    """IPython (Jupyter) skips frames whose locals hold __tracebackhide__: only the raising frame of the kit shows."""
    import sys
    from IPython.core.ultratb import FormattedTB

    def users_cell():
        ari.channels.get("no-such-channel")

    try:
        users_cell()
    except vk.NotFound:
        etype, value, tb = sys.exc_info()
    text = FormattedTB(mode="Context", theme_name="nocolor").text(etype, value, tb)
    kit_frames = [line for line in text.splitlines() if line.startswith("File ") and "vicifast_kit" in line]
    assert "users_cell" in text and "skipping hidden" in text
    assert len(kit_frames) == 1, text                           # _call, the method, ... are hidden
