"""Callers for the service tests: calls into the lab's `service` context, watched from the caller's side."""

from __future__ import annotations

import contextlib

import pytest

import vicifast_kit as vk
from client_helpers import unique_app
from vicifast_kit.media.stream import CALL_FORMATS

#: Cause 34 (no circuit available): how the lab's `service` fallback ends a call (extensions_service.conf).
FALLBACK_CAUSE = 34


class Callers:
    """Places calls into `Local/NUMBER@service` for an app; the caller's half sits in a client of its own.

    The caller's half (`;1`) is in this helper's own app once the far end answers (the App's handler,
    or the dialplan's fallback), so the test sees, from the caller's side, when it was answered and how
    it ended (``cause``), and presses keys with ``press``.
    """

    #: The dialplan context the calls are placed in (docker/asterisk/extensions_service.conf).
    context = "service"

    def __init__(self, app_name: str) -> None:
        self.app_name = app_name
        self.ari = vk.connect(app=unique_app("svc-caller"))
        self.made: list[vk.Channel] = []

    def dial(self, number: str = "5551234", caller_number: str = "5550100") -> vk.Channel:
        """A new call to NUMBER in the context, for the app; returns the caller's half."""
        caller = self.ari.channels.originate(
            endpoint=f"Local/{number}@{self.context}/n", app=self.ari.app, timeout=30, formats=CALL_FORMATS,
            caller_id=f'"Test caller" <{caller_number}>', variables={"VICIFAST_APP": self.app_name})
        self.made.append(caller)
        return caller

    def answered(self, caller: vk.Channel, timeout: float = 15) -> None:
        """Wait until the far end answered this caller (its half entered our app)."""
        caller.wait_for("StasisStart", timeout=timeout)

    def press(self, caller: vk.Channel, digits: str) -> None:
        """The caller presses keys (they reach the app's side of the call)."""
        caller.send_dtmf(dtmf=digits)

    def cause(self, caller: vk.Channel, timeout: float = 20) -> int:
        """How the call ended for the caller: the hang-up cause (16 normal, 34 the service fallback, ...)."""
        return caller.wait_for("ChannelHangupRequest", timeout=timeout).cause

    def still_up(self, caller: vk.Channel) -> bool:
        """True while the caller's half exists."""
        try:
            self.ari.request("GET", f"/channels/{caller.id}")
            return True
        except vk.NotFound:
            return False

    def close(self) -> None:
        """Hang up every call placed (their far halves go with them) and close the client."""
        for caller in self.made:
            with contextlib.suppress(vk.Error):
                self.ari.request("DELETE", f"/channels/{caller.id}")
        self.ari.close()


@pytest.fixture
def app_name() -> str:
    """A unique ARI app name for the App under test."""
    return unique_app("svc")


@pytest.fixture
def callers(app_name):
    """Callers into the App named app_name; every call is hung up afterwards."""
    helper = Callers(app_name)
    yield helper
    helper.close()
