"""Connecting, the escape hatch, handles' fields, signatures, secrets, closing (against the real lab)."""

from __future__ import annotations

import inspect
import logging
import pydoc
import threading

import pytest

import vicifast_kit as vk
from vicifast_kit import settings

from client_helpers import ari, lab, unique_app  # noqa: F401  (fixtures)

PASSWORD = settings.load().ari_password


def _kit_threads():
    return [t for t in threading.enumerate() if t.name.startswith("vicifast-")]


def test_connect_info_ping_and_request(ari):
    assert ari.connected
    info = ari.asterisk.get_info()
    assert info.system.version.startswith("22.")
    assert isinstance(info.raw, dict) and "build" in info.raw
    assert ari.asterisk.get_info(only=["system"]).raw.keys() == {"system"}
    assert ari.asterisk.ping().ping == "pong"
    raw = ari.request("GET", "/asterisk/info")
    assert raw["system"]["version"] == info.system.version
    assert ari.request("GET", "/ari/applications/" + ari.app)["name"] == ari.app


def test_handles_have_fields_raw_and_methods(ari):
    ep = ari.endpoints.get("PJSIP", "6001")
    assert isinstance(ep, vk.Endpoint) and ep.id == "PJSIP/6001"
    assert ep.technology == "PJSIP" and ep.raw["resource"] == "6001"
    assert ep.get() == ep
    assert "send_message_to_endpoint" in dir(ep)
    app = ari.applications.get(ari.app)
    assert isinstance(app, vk.Application) and app.name == ari.app
    with pytest.raises(AttributeError):
        app.no_such_field


def test_operations_have_real_signatures_and_docs(ari):
    ch = ari.handle("Channel", "some-id")
    sig = inspect.signature(ch.play)
    assert list(sig.parameters)[:1] == ["media"]
    assert {"lang", "offsetms", "skipms", "playback_id"} <= set(sig.parameters)
    assert all(p.kind is p.KEYWORD_ONLY for p in sig.parameters.values())
    assert ch.play.__doc__.splitlines()[0].strip()
    assert "media" in pydoc.render_doc(ch.play)
    sig = inspect.signature(ari.recordings.get_stored_file)
    assert list(sig.parameters) == ["recording_name"]
    assert sig.return_annotation == "bytes"
    assert "absorb_dtmf" in inspect.signature(ari.bridges.add_channel).parameters
    assert "from_" in inspect.signature(ari.endpoints.send_message).parameters
    with pytest.raises(TypeError):
        ari.asterisk.get_info(nonsense=1)
    with pytest.raises(TypeError):
        ari.channels.originate()


def test_camel_case_keywords_are_accepted(ari):
    name = "VK_" + ari.app.replace("-", "_").upper()
    ari.asterisk.set_global_var(variable=name, value="snake")
    assert ari.asterisk.get_global_var(variable=name).value == "snake"
    sig_names = ari.channels.originate.__signature__.parameters
    assert "caller_id" in sig_names
    # camelCase spelling of an ARI parameter works as well as snake_case.
    ari.bridges.create(type="holding", bridgeId=ari.app + "-b").destroy()
    ari.asterisk.set_global_var(variable=name, value="")


def test_password_never_in_repr_log_or_url(caplog):
    caplog.set_level(logging.DEBUG)
    with vk.connect(app=unique_app()) as ari:
        texts = [repr(ari), str(ari.__dict__.get("url")), ari.event_source.url, str(ari.operations[:1])]
        try:
            ari.channels.get("nope")
        except vk.NotFound as e:
            texts.append(str(e))
    texts += [r.getMessage() for r in caplog.records]
    assert all(PASSWORD not in t for t in texts)
    # Credentials given in the URL are taken out of it.
    with vk.connect(app=unique_app(), url=f"http://vicifast:{PASSWORD}@127.0.0.1:{settings.lab_values()['ARI_PORT']}") as ari:
        assert PASSWORD not in repr(ari) and PASSWORD not in ari.url


def test_wrong_password_is_unauthorized():
    before = len(_kit_threads())
    with pytest.raises(vk.Unauthorized) as err:
        vk.connect(app=unique_app(), password="wrong-password")
    assert err.value.status == 401 and "wrong-password" not in str(err.value)
    assert len(_kit_threads()) == before


def test_close_leaves_no_thread():
    before = set(threading.enumerate())
    ari = vk.connect(app=unique_app())
    ari.on("*", lambda ev: None)
    started = [t for t in threading.enumerate() if t not in before]
    assert started and all(t.daemon and t.name.startswith("vicifast-ari-") for t in started)
    ari.close()
    assert not [t for t in started if t.is_alive()]
    assert not ari.connected and ari.closed
    with vk.connect(app=unique_app()) as ari2:
        started = [t for t in threading.enumerate() if t not in before]
    assert not [t for t in started if t.is_alive()]
    with pytest.raises(vk.ClientClosed):
        ari2.asterisk.ping()
