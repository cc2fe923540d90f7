"""Build the shipped recording `recordings/sandbox-sample/` with `arb record --sandbox`.

The recording is made by `arb record` against the built-in simulator (default scenario,
seeded random walk): every frame in it is what the simulator sent over loopback, in the
venues' real wire formats (MEXC protobuf depth pushes, Gate `spot.obu` JSON), built from the
real payloads in tests/data/sim (sources in tests/data/sim/README.md). Prices and sizes are
the scenario's, not a live market's. The live opportunities `arb record --json` printed are
kept beside it in `live.jsonl`, so tests can check that a replay reproduces them.

    .venv/bin/python scripts/make_sample_recording.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "recordings" / "sandbox-sample"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    command = [sys.executable, "-m", "arb", "record", "--sandbox", "--json"]
    command += ["--duration", str(args.seconds), "--out", str(OUT)]
    # Its own settings: the defaults, a ledger outside the repo.
    env = {"ARB_LEDGER__PATH": str(OUT.parent / "sample.sqlite"), "PATH": "/usr/bin:/bin"}
    with (OUT.parent / "live.tmp").open("w") as live:
        subprocess.run(command, check=True, stdout=live, cwd=ROOT, env=env)  # noqa: S603
    (OUT.parent / "live.tmp").rename(OUT / "live.jsonl")
    (OUT.parent / "sample.sqlite").unlink(missing_ok=True)  # the scan's ledger: not shipped
    size = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{OUT.relative_to(ROOT)}: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
