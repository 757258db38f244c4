"""How long `lab up` takes, cold (first build) and warm, against a bare start of the same Asterisk.

Run as root on a machine without Docker:  .venv/bin/python bench/lab_up_bench.py [--warm-runs N] [--skip-cold]
It prints figures, not pass/fail. Targets on the 2-core reference machine: warm up to fully booted
under 10 s, cold (building the root filesystem) under 3 min. The baseline, measured in the same
run, starts the same root filesystem's Asterisk directly (unshare + chroot + start script) and
polls `core waitfullybooted`: the ratio shows what the kit's checks cost on top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vicifast_kit import lab, settings  # noqa: E402
from vicifast_kit.lab import probes, rootfs  # noqa: E402


def quiet(_line):
    pass


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def bare_start() -> None:
    """The baseline: start the lab's Asterisk by hand and wait until it has booted and ARI answers."""
    rootfs.start(settings.lab_values())
    s = settings.load()
    while not (rootfs.booted() and isinstance(probes.ari_get(s, "/asterisk/info"), dict)
               and "system" in probes.ari_get(s, "/asterisk/info")):
        time.sleep(0.05)


def cold_up() -> float:
    """Build a root filesystem in a fresh cache folder and start the lab from it."""
    with tempfile.TemporaryDirectory(prefix="vicifast-cold-", dir="/var/tmp") as cache:
        previous = os.environ.get("VICIFAST_CACHE_DIR")
        os.environ["VICIFAST_CACHE_DIR"] = cache
        try:
            seconds = timed(lambda: lab.up("rootfs", progress=quiet))
            lab.down(progress=quiet)
        finally:
            if previous is None:
                del os.environ["VICIFAST_CACHE_DIR"]
            else:
                os.environ["VICIFAST_CACHE_DIR"] = previous
            subprocess.run(["rm", "-rf", "--one-file-system", cache])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true", help="skip the first-build measurement (about a minute)")
    args = parser.parse_args()

    was_up = lab.running_backend() is not None
    lab.down(progress=quiet)
    lab.up("rootfs", progress=quiet)  # make sure the cached root filesystem exists
    lab.down(progress=quiet)

    warm, bare = [], []
    for _ in range(args.warm_runs):
        warm.append(timed(lambda: lab.up("rootfs", progress=quiet)))
        lab.down(progress=quiet)
        bare.append(timed(bare_start))
        rootfs.stop()

    print(f"warm `lab up` to fully booted: median {statistics.median(warm):.2f} s, "
          f"max {max(warm):.2f} s over {len(warm)} runs (target < 10 s)")
    print(f"baseline bare start:           median {statistics.median(bare):.2f} s, max {max(bare):.2f} s")
    print(f"ratio kit / baseline:          {statistics.median(warm) / statistics.median(bare):.2f}x")
    if not args.skip_cold:
        cold = cold_up()
        print(f"cold `lab up` (build + boot):  {cold:.1f} s (target < 180 s)")
    if was_up:
        lab.up(progress=quiet)


if __name__ == "__main__":
    main()
