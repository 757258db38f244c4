"""One family of errors: everything the kit raises sits under vk.Error, with the built-ins a caller expects."""

from __future__ import annotations

import importlib
import inspect
import pickle

import pytest

import vicifast_kit as vk
from vicifast_kit import errors

MODULES = ["vicifast_kit", "vicifast_kit.errors", "vicifast_kit.ami", "vicifast_kit.lab", "vicifast_kit.lab.errors",
           "vicifast_kit.media", "vicifast_kit.push", "vicifast_kit.audio", "vicifast_kit.settings"]


def _exported_exceptions():
    found = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", None) or dir(module):
            value = getattr(module, attr, None)
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith("vicifast_kit"):
                found[f"{name}.{attr}"] = value
    return found


def test_every_exception_the_kit_exports_descends_from_vk_error():
    found = _exported_exceptions()
    assert len(found) >= 20                       # the search saw the kit's classes
    outside = [name for name, cls in found.items() if not issubclass(cls, vk.Error)]
    assert outside == []


@pytest.mark.parametrize("cls, builtin", [
    (vk.WaitTimeout, TimeoutError), (vk.RequestTimeout, TimeoutError), (vk.LabUnreachable, ConnectionError),
    (vk.Disconnected, ConnectionError), (vk.ClientClosed, RuntimeError), (vk.MediaError, RuntimeError),
    (vk.ami.AMIUnreachable, ConnectionError), (vk.lab.LabError, RuntimeError)])
def test_builtins_mixed_in_where_natural(cls, builtin):
    assert issubclass(cls, builtin) and issubclass(cls, vk.Error)


def test_a_timeout_is_not_an_unreachable_lab():
    assert not issubclass(vk.RequestTimeout, vk.LabUnreachable)
    assert not issubclass(vk.WaitTimeout, ConnectionError)


def test_subclasses_carry_the_meaning():
    assert issubclass(vk.CallEnded, vk.NotFound) and issubclass(vk.NotFound, vk.ARIError)
    assert issubclass(vk.ami.AMILoginRefused, vk.ami.AMIError)
    assert issubclass(vk.ami.AMIClosed, vk.ClientClosed)
    assert issubclass(vk.ami.AMIUnreachable, vk.LabUnreachable)
    assert issubclass(vk.MediaUnavailable, vk.MediaError) and issubclass(vk.StreamClosed, vk.MediaError)
    for status, cls in [(400, vk.BadRequest), (401, vk.Unauthorized), (403, vk.Forbidden), (404, vk.NotFound),
                        (409, vk.Conflict), (422, vk.UnprocessableEntity), (500, vk.ServerError),
                        (503, vk.ServerError), (418, vk.ARIError)]:
        assert type(errors.error_for(status, "m")) is cls


def test_a_401_names_the_password_setting_never_the_password():
    e = errors.error_for(401, "Authentication required", "GET", "/channels")
    assert "ARI_PASSWORD" in str(e) and "vicifast-kit lab status" in str(e)


@pytest.mark.parametrize("error", [
    errors.error_for(404, "Channel not found", "POST", "/channels/x/answer"),
    errors.CallEnded(404, "Channel not found", "POST", "/channels/x/answer", "this call has ended", cause=16),
    vk.LabUnreachable("http://127.0.0.1:8088", "ConnectionError"), vk.RequestTimeout("http://h", "GET /x", 3.0),
    vk.WaitTimeout("StasisStart event", 2.0), vk.Disconnected("gone"), vk.ami.AMIUnreachable("127.0.0.1:5038", "refused"),
    vk.ami.AMIActionFailed("Originate failed: x", {"Response": "Error"})])
def test_errors_survive_pickling_with_their_message(error):
    """Errors cross process boundaries (multiprocessing, a parallel test run) intact."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)


def test_a_read_only_users_403_says_what_to_do_and_other_403s_say_nothing_made_up():
    from vicifast_kit.errors import error_for
    refused = error_for(403, "Write access denied", "POST", "/channels")
    assert isinstance(refused, vk.Forbidden) and "read_only = yes in ari.conf" in str(refused)
    other = error_for(403, "Forbidden by an ACL", "GET", "/channels")
    assert str(other) == "403 Forbidden by an ACL (GET /channels)"
