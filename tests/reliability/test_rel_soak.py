"""Promise 8 (short): scripts/soak.py for ~10 s of `arb scan` and `arb run` under faults."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"


async def test_short_soak_loses_no_order_and_keeps_memory_bounded(tmp_path: Path) -> None:
    argv = ["--minutes", "0.15", "--fault-every", "0.5", "--warmup", "3", "--settle", "1"]
    argv += ["--sample-every", "0.5", "--seed", "11", "--json", "--workdir", str(tmp_path)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SOAK),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    report = json.loads(out)

    assert proc.returncode == 0, (report, err.decode()[-2000:])
    assert report["ok"] is True
    assert sum(report["faults_fired"].values()) >= 5
    assert report["orders_before_restart"]["lost"] == []
    orders = report["orders"]
    assert orders["orders_at_venue"] > 0  # it really traded
    for kind in ("lost", "unknown", "wrong_fill", "phantom", "unsettled_intents"):
        assert orders[kind] == [], kind
    assert report["exit_codes"] == {"run": 0, "scan": 0, "restart": 0}
    assert report["simulator_crashes"] == 0
    assert report["scan_opportunities"] > 0
    for name in ("run", "scan"):
        memory = report["memory"][name]
        assert memory["samples"] >= 10
        # Not a benchmark: a gross leak (tens of MB in seconds) is what this would catch.
        assert memory["growth_mb"] < 50
