"""vk.lab.cleanup(ari, app=...): removes what a killed kernel of the kit left, and nothing else, in the shared lab."""

from __future__ import annotations

import contextlib
import time
import uuid

import vicifast_kit as vk

from client_helpers import unique_app, wait_until

#: Older than this counts as left behind. Not 0: in the shared lab another program's kit bridge may be
#: empty for a few milliseconds while it is being set up, and this test must not take it.
MIN_AGE = 0.5


def _kit_id(what: str) -> str:
    return f"kit-{what}-{uuid.uuid4().hex[:12]}"


def _exists(ari: vk.ARIClient, path: str) -> bool:
    try:
        ari.request("GET", path)
    except vk.NotFound:
        return False
    return True


def test_cleanup_removes_the_kits_own_leftovers_of_one_app_and_spares_everything_else():
    dead = vk.connect(app=unique_app("dead"))         # plays a kernel that was killed
    other = vk.connect(app=unique_app("other"))       # another program, alive, in the shared lab
    me = vk.connect(app=unique_app("me"))             # the new kernel that cleans up
    made_channels, made_bridges = [], []
    try:
        # The dead kernel's: an empty kit bridge, a kit bridge holding its snoop, its snoop in its app,
        # and a caller in its app (not the kit's); an empty bridge of its own that is not the kit's.
        empty_kit, holding_kit, plain = _kit_id("bridge"), _kit_id("bridge"), f"plain-{uuid.uuid4().hex[:12]}"
        for ident in (empty_kit, holding_kit, plain):
            dead.request("POST", "/bridges", type="mixing", bridgeId=ident)
            made_bridges.append(ident)
        caller = vk.lab.simulate_caller(other, say=None, duration=60)
        made_channels.append(caller.id)
        talker = other.wait_for("StasisStart", timeout=10).channel
        talker.answer()
        dead_snoop, other_snoop = _kit_id("snoop"), _kit_id("snoop")
        dead.channels.snoop_channel(talker.id, spy="both", app=dead.app, snoop_id=dead_snoop)
        other.channels.snoop_channel(talker.id, spy="both", app=other.app, snoop_id=other_snoop)
        made_channels += [dead_snoop, other_snoop]
        dead.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == dead_snoop)
        dead.request("POST", f"/bridges/{holding_kit}/addChannel", channel=dead_snoop)
        dead_caller = vk.lab.simulate_caller(dead, say=None, duration=60)        # rings in the dead app
        made_channels.append(dead_caller.id)
        in_dead_app = dead.wait_for("StasisStart", timeout=10,
                                    where=lambda e: not e.channel.id.startswith("kit-")).channel
        made_channels.append(in_dead_app.id)
        dead.close()
        time.sleep(MIN_AGE)              # what the dead kernel left must be MIN_AGE old to count as left

        removed = vk.lab.cleanup(me, app=dead.app, min_age=MIN_AGE)

        assert removed["channels"] == 1                       # the dead app's kit snoop, nothing else
        assert removed["bridges"] >= 2                        # both of its kit bridges (and any old one in the lab)
        assert not _exists(me, f"/bridges/{empty_kit}") and not _exists(me, f"/bridges/{holding_kit}")
        wait_until(lambda: not _exists(me, f"/channels/{dead_snoop}"))    # hung up: gone a moment later
        assert _exists(me, f"/bridges/{plain}")                         # not the kit's
        assert _exists(me, f"/channels/{in_dead_app.id}")               # in the app, but not the kit's
        assert _exists(me, f"/channels/{other_snoop}")                  # the kit's, but another app's
        assert _exists(me, f"/channels/{talker.id}")                    # another program's call
    finally:
        for ident in made_channels:
            with contextlib.suppress(vk.NotFound):
                me.request("DELETE", f"/channels/{ident}")
        for ident in made_bridges:
            with contextlib.suppress(vk.NotFound):
                me.request("DELETE", f"/bridges/{ident}")
        for client in (dead, other, me):
            client.close()


def test_cleanup_spares_what_is_younger_than_min_age_or_made_by_the_client_itself():
    with vk.connect(app=unique_app("young")) as ari, vk.connect(app=unique_app("cleaner")) as cleaner:
        young, own = _kit_id("bridge"), _kit_id("bridge")
        ari.request("POST", "/bridges", type="mixing", bridgeId=young)
        cleaner.request("POST", "/bridges", type="mixing", bridgeId=own)
        try:
            vk.lab.cleanup(cleaner, app=ari.app)
            assert _exists(cleaner, f"/bridges/{young}")                # under a second old: min_age is 30 s
            vk.lab.cleanup(cleaner, min_age=0)
            assert _exists(cleaner, f"/bridges/{own}")                  # its own: not a leftover
        finally:
            for ident in (young, own):
                with contextlib.suppress(vk.NotFound):
                    cleaner.request("DELETE", f"/bridges/{ident}")
