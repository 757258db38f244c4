"""Fixtures and helpers shared by the client tests (imported by tests/test_client_*.py)."""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest

import vicifast_kit as vk
from vicifast_kit.lab.simulate import simulate_caller
from vicifast_kit.media.stream import CALL_FORMATS


def unique_app(prefix: str = "t") -> str:
    """A Stasis app name no other test (or parallel run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def cleanup(ari: vk.ARIClient, extra_channels=()) -> None:
    """Hang up every channel and destroy every bridge the client's app saw or made."""
    if ari.closed:
        return
    channels, bridges = set(extra_channels), set()
    with contextlib.suppress(Exception):
        app = ari.applications.get(ari.app)
        channels.update(app.channel_ids)
        bridges.update(app.bridge_ids)
    for kind, ident in ari.context.events.objects():
        if kind == "channel":
            channels.add(ident)
        elif kind == "bridge":
            bridges.add(ident)
    # By hand (ari.request): ari.channels.hangup() of a call already gone waits up to 1 s for its hang-up cause.
    for ident in channels:
        with contextlib.suppress(vk.ARIError, vk.LabUnreachable):
            ari.request("DELETE", f"/channels/{ident}")
    for ident in bridges:
        with contextlib.suppress(vk.ARIError, vk.LabUnreachable):
            ari.request("DELETE", f"/bridges/{ident}")


class Lab:
    """A client on a unique app, plus helpers that remember what to clean up."""

    def __init__(self, ari: vk.ARIClient) -> None:
        self.ari = ari
        self.callers: list = []

    def call(self, dtmf: str = "", *, answer: bool = True, delay: float = 0.3, duration: float = 8, **kw):
        """Simulate an inbound caller; returns (caller side, the app's channel) with the app's side answered."""
        caller = simulate_caller(self.ari, dtmf, delay=delay, duration=duration, **kw)
        self.callers.append(caller.id)
        ev = self.ari.wait_for("StasisStart", timeout=10,
                               where=lambda e: e.channel.name.startswith(caller.name.rsplit(";", 1)[0]))
        ch = ev.channel
        if answer:
            ch.answer()
        return caller, ch


    def pair(self, number: str = "5557001"):
        """A Local call with both halves in the app: (near, far); what far plays, near hears (and the reverse)."""
        near, far = f"near-{uuid.uuid4().hex[:8]}", f"far-{uuid.uuid4().hex[:8]}"
        self.callers += [near, far]
        self.ari.channels.originate(endpoint=f"Local/{number}@inbound/n", app=self.ari.app, channel_id=near,
                                    other_channel_id=far, variables={"VICIFAST_APP": self.ari.app},
                                    formats=CALL_FORMATS)
        far_ch = self.ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == far).channel
        far_ch.answer()
        near_ch = self.ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == near).channel
        return near_ch, far_ch


    def bridged_pairs(self, a: str = "5557101", b: str = "5557102"):
        """Two pair() calls whose near halves talk in one mixing bridge: (bridge, (near_a, far_a), (near_b, far_b))."""
        pair_a, pair_b = self.pair(a), self.pair(b)
        bridge = self.ari.bridges.create(type="mixing")
        bridge.add_channel(channel=[pair_a[0], pair_b[0]])
        wait_until(lambda: len(bridge.get().channels) == 2)
        return bridge, pair_a, pair_b


def eventually(predicate, timeout: float = 5.0, what: str = "", step: float = 0.05):
    """Poll predicate() until it is truthy and return its value; fail the test naming `what` after timeout s.

    For conditions that no event announces (a list on the server, a count in another thread). When an
    event says it, wait for the event (ari.wait_for, ch.wait_for); for "no more handler calls", ari.flush().
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'condition'} not met within {timeout} s")
        time.sleep(step)        # the one polling pause of the tests: between two looks at the condition


def wait_until(pred, timeout: float = 5.0, step: float = 0.05):
    """eventually() without a description (the older name, kept for the tests that use it)."""
    return eventually(pred, timeout, step=step)


@pytest.fixture
def lab():
    """A connected client on a unique app; everything it made is cleaned up afterwards."""
    ari = vk.connect(app=unique_app())
    helper = Lab(ari)
    try:
        yield helper
    finally:
        cleanup(ari, helper.callers)
        ari.close()


@pytest.fixture
def ari(lab):
    """The client of the lab fixture."""
    return lab.ari
