"""Promise 8 (short): scripts/soak.py for ~10 s of `arb scan` and `arb run` under faults."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _two_venue_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """These worlds list MEXC and Gate only: Bybit (a default venue) is left out."""
    monkeypatch.setenv("ARB_EXCHANGES__BYBIT__ENABLED", "false")


SOAK = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"


@functools.cache
def _soak_module() -> object:
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_memory_trend_is_the_least_squares_slope() -> None:
    slope = _soak_module().slope  # type: ignore[attr-defined]
    climbing = [(t, 100_000 + 2 * t) for t in range(0, 600, 2)]  # 2 kB/s
    sawtooth = [(t, 100_000 + (t % 60)) for t in range(0, 600, 2)]  # bounded, no trend
    assert slope(climbing) == 2.0
    assert abs(slope(sawtooth)) < 0.01
    assert slope(climbing[:1]) == 0.0


def _report(seconds: float, scan_trend: float) -> dict[str, object]:
    clean = {"lost": [], "unknown": [], "wrong_fill": [], "phantom": [], "unsettled_intents": []}
    return {
        "seconds": seconds,
        "orders_before_restart": {"lost": []},
        "orders": clean,
        "exit_codes": {"run": 0, "scan": 0, "restart": 0},
        "simulator_crashes": 0,
        "memory": {
            "run": {"process_slopes_mb_per_min": {"101": 0.01}},
            # the scan process and its two workers: the worst one decides
            "scan": {"process_slopes_mb_per_min": {"201": 0.02, "202": scan_trend, "203": 0.0}},
        },
    }


def test_a_long_soak_whose_memory_still_climbs_fails() -> None:
    failures = _soak_module().failures  # type: ignore[attr-defined]
    assert failures(_report(600, 0.06)) == []
    assert failures(_report(600, 0.4)) == [
        "scan memory still climbing: 0.4 MB/min in the second half"
    ]
    assert failures(_report(600, 0.4), max_trend=0.5) == []
    assert failures(_report(9, 3.0)) == []  # seconds long: the caches are still filling
    assert failures(_report(300, 0.6)) == []  # five minutes: its second half is still filling


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
        assert "second_half_slope_mb_per_min" in memory
        assert memory["process_slopes_mb_per_min"]  # the child and each worker shard
