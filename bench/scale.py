"""Cost at scale, every simulated venue (five) x 300 symbols: markets, start-up, memory, latency.

The simulator (bench.scale_sim) runs in its own process on the other core, pushing book
changes round-robin at a stated rate; arb's scan runs cold in a second process
(bench.scale_scan), so its start-up time includes the interpreter and arb's imports, and
its RSS is the scan's alone (books, detector, markets, ccxt.pro clients).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from arb.sim.protocols import venues
from bench.harness import ROOT, Row, Stat, summarize
from bench.startup import load_times

SYMBOLS = 300
STARTUP_TARGET_S = 5.0
MEMORY_TARGET_MB = 400
BACKGROUND_RATE = 1_500  # updates/s over 1,500 books: each book changes about once a second
LATENCY_RATE = 5_000  # updates/s for the frame-to-decision row
HOLD_S = 10.0


async def market_rows(quick: bool = False) -> list[Row]:
    """Every simulated venue's Venue.load_markets at once, fresh instances each time."""
    names = venues()
    symbols = 10 if quick else SYMBOLS
    stat, loaded = await load_times(names, symbols, 3 if quick else 12)
    return [
        Row(
            operation=f"market loading: Venue.load_markets, {len(names)} venues x {symbols} "
            "symbols (sim)",
            ours=stat,
            baseline=None,
            ratio=None,
            ratio_means="",
            target="(report; part of start-up)",
            passed=None,
            notes="all venues concurrently over loopback HTTP, fresh ccxt instances",
            details={"markets_loaded": loaded, "venues": list(names)},
        )
    ]


def startup_rows(quick: bool = False) -> list[Row]:
    """Cold start to every venue's first book, then RSS after streaming every book a while."""
    symbols, hold = (10, 1.0) if quick else (SYMBOLS, HOLD_S)
    report, _ = run_scan(symbols, BACKGROUND_RATE, hold, timing=False)
    stages = {k: round(v - report["spawned"], 3) for k, v in report["stages"].items()}
    started = stages["first_book_every_venue"]
    n = len(report["venues"])
    rss = report["rss_mb"]
    details = {k: v for k, v in report.items() if k not in ("stages", "spawned", "started")}
    details["seconds_after_spawn"] = stages | {
        "interpreter_up": round(report["started"] - report["spawned"], 3)
    }
    return [
        Row(
            operation=f"start-up: {n} venues x {report['symbols']} symbols (sim)",
            ours=Stat(started, stages["every_book"], "s", 1),
            baseline=None,
            ratio=None,
            ratio_means="",
            target=f"< {STARTUP_TARGET_S:.0f} s",
            passed=started < STARTUP_TARGET_S,
            notes="process spawn -> every venue's first book at the detector (p99 column: "
            f"all {report['books']:,} books); markets loaded at {stages['markets_loaded']} s",
            details=details,
        ),
        Row(
            operation=f"memory: {report['symbols']} symbols x {n} venues "
            "(books, detector, markets)",
            ours=Stat(rss["after_hold"], rss["peak"], "MB RSS", 1),
            baseline=None,
            ratio=None,
            ratio_means="",
            target=f"< {MEMORY_TARGET_MB} MB RSS",
            passed=rss["after_hold"] < MEMORY_TARGET_MB,
            notes=f"the live scan process after {hold:.0f} s streaming every book at "
            f"{BACKGROUND_RATE:,} updates/s (p99 column: peak)",
            details=details,
        ),
    ]


def latency_rows(quick: bool = False) -> list[Row]:
    """Frame sent -> detector decision at LATENCY_RATE over every venue's books (report only)."""
    symbols, hold = (10, 1.0) if quick else (SYMBOLS, HOLD_S)
    report, latencies = run_scan(symbols, LATENCY_RATE, hold, timing=True)
    per_venue = {v: _brief(ms) for v, ms in latencies.items()}
    every = [ms for values in latencies.values() for ms in values]
    stat = summarize(every, "ms") if every else None
    sent = report["sent_while_held"]
    n = len(report["venues"])
    return [
        Row(
            operation=f"scan pipeline: {n} venues x {report['symbols']} symbols at "
            f"{LATENCY_RATE:,} updates/s: frame sent -> decision",
            ours=stat,
            baseline=None,
            ratio=None,
            ratio_means="",
            target="(report)",
            passed=None,
            notes=f"{len(every):,} of {sent:,} pushes decided individually (the rest "
            "coalesced into a later book); per venue in details",
            details={"per_venue_ms": per_venue, "sent_while_held": sent}
            | {k: report[k] for k in ("updates_while_held", "resyncs", "rss_mb")},
        )
    ]


def run_scan(
    symbols: int, rate: int, hold_s: float, *, timing: bool
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Serve, run the cold scan against it; its report and (timing) latencies by venue in ms."""
    with tempfile.TemporaryDirectory() as folder:
        sends_path = Path(folder) / "sends.json"
        announce_path = Path(folder) / "announce.json"
        decided_path = Path(folder) / "decided.json"
        sim = subprocess.Popen(  # noqa: S603 - our own interpreter on our own module
            [sys.executable, "-m", "bench.scale_sim", str(symbols), str(rate), str(sends_path)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sim.stdin is not None
        assert sim.stdout is not None
        try:
            announce_path.write_text(sim.stdout.readline())
            time.sleep(1.0)  # the driver's first pushes: a market already moving
            argv = [str(announce_path), str(hold_s)] + ([str(decided_path)] if timing else [])
            spawned = time.monotonic()
            done = subprocess.run(  # noqa: S603 - our own interpreter on our own module
                [sys.executable, "-m", "bench.scale_scan", *argv],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"bench.scale_scan failed:\n{done.stderr[-4000:]}")
            sim.stdin.write("stop\n")
            sim.stdin.flush()
            if sim.stdout.readline().strip() != "done":
                raise RuntimeError("bench: the simulator did not stop cleanly")
            report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
            report["spawned"] = spawned
            latencies: dict[str, list[float]] = {}
            if timing:
                decided = json.loads(decided_path.read_text())
                sends = json.loads(sends_path.read_text())
                latencies, report["sent_while_held"] = _match(sends, decided)
        finally:
            sim.stdin.close()
            sim.wait(30)
    return report, latencies


def _match(
    sends: list[list[Any]], decided: dict[str, list[list[Any]]]
) -> tuple[dict[str, list[float]], int]:
    """Latency of every push decided as itself, by venue; and how many were sent meanwhile."""
    at = {(v, s, nonce): t for v, rows in decided.items() for s, nonce, t in rows}
    first = min(at.values(), default=0.0)
    last = max(at.values(), default=0.0)
    latencies: dict[str, list[float]] = {}
    sent = 0
    for venue, symbol, seq, sent_at in sends:
        if not first <= sent_at <= last:
            continue
        sent += 1
        seen = at.get((venue, symbol, seq))
        if seen is not None:
            latencies.setdefault(venue, []).append((seen - sent_at) * 1000)
    return latencies, sent


def _brief(values: list[float]) -> dict[str, float]:
    stat = summarize(values, "ms")
    return {"median": round(stat.median, 3), "p99": round(stat.p99, 3), "samples": stat.samples}
