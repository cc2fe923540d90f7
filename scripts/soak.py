"""Soak: `arb scan` and `arb run` against the simulator for N minutes under seeded random faults.

    .venv/bin/python scripts/soak.py --minutes 10 [--seed 7] [--fault-every 4] [--json]

Starts the simulator (the default scenario: a random walk with a cross-venue dislocation
every few seconds) in this process, and `arb run` (signed orders) and `arb scan --json` as
child processes pointed at it, as a user would with `arb sim`. While they run it fires a
random fault (dropped WebSockets, sequence gaps, crossed books, stale clocks, slow REST, rate
limits, 5xx after an order was placed, rejected orders) every `--fault-every` seconds on
average, and samples each child's resident memory. At the end both are stopped with
SIGTERM, `arb run` is started once more on the same ledger (start-up reconciles what the
stopped run left unsettled, as after any stop), and it reports memory growth, reconnects,
resyncs, trades and every order the ledger and the simulator disagree about (lost: at the
venue but not in the ledger; unknown: not final in the ledger), before and after that
restart. Exit status 0 only when no order was ever lost, none is unknown after the restart,
every child exited cleanly and, on soaks of ten minutes or more, neither child's memory still
climbs faster than `--max-trend` MB/min (least squares over the second half).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.sim import Fault, FaultKind, Simulator, load_scenario
from arb.sim.faults import COUNTED

VENUES = ("mexc", "gateio")
GATE_PREFIX = "t-"  # Gate keeps our client order id behind its mandatory "t-"
# Memory is judged flat only on soaks this long: for about the first five minutes RSS rises
# while bounded caches fill (exact prices, the latency ring, SQLite's page cache), so the
# second half whose trend is judged must start after them (a 5-minute soak's second half
# is still filling: about +0.6 MB/min, then flat).
TREND_AFTER_S = 600


@dataclass
class Child:
    """One `arb` child process, its files and its memory samples (kB)."""

    name: str
    proc: asyncio.subprocess.Process
    folder: Path
    rss_kb: list[tuple[float, int]] = field(default_factory=list)
    # the same per process: the child and each of its worker shards (by pid)
    per_process: dict[int, list[tuple[float, int]]] = field(default_factory=dict)

    def sample(self, at: float) -> None:
        """Record the resident set size now of the child and its worker processes (Linux /proc)."""
        own = _rss_kb(self.proc.pid)
        if own is None:
            return  # exited, or not Linux
        total = own
        self.per_process.setdefault(self.proc.pid, []).append((at, own))
        for pid in _children(self.proc.pid):
            kb = _rss_kb(pid)
            if kb is not None:
                total += kb
                self.per_process.setdefault(pid, []).append((at, kb))
        self.rss_kb.append((at, total))


def _rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (arb's worker shards)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def child_env(
    sim: Simulator, folder: Path, args: argparse.Namespace, ledger: Path
) -> dict[str, str]:
    """Settings for a child: the simulator's URLs and sandbox keys, private ledger and logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    env["ARB_EXCHANGES"] = ",".join(VENUES)  # only the venues pointed at the simulator
    for venue in VENUES:
        prefix = f"ARB_EXCHANGES__{venue.upper()}__"
        env[prefix + "REST_URL"] = sim.rest_url(venue)
        env[prefix + "WS_URL"] = sim.ws_url(venue)
        env[prefix + "API_KEY"] = sim.scenario.api_key
        env[prefix + "API_SECRET"] = sim.scenario.api_secret
    for venue in sim.contexts:
        if venue not in VENUES:  # simulated but not soaked: never let it go live
            env[f"ARB_EXCHANGES__{venue.upper()}__ENABLED"] = "false"
    env |= {
        "ARB_EXCHANGES": ",".join(VENUES),
        "ARB_LEDGER__PATH": str(ledger),
        "ARB_LOG__FILE": str(folder / "log.jsonl"),
        "ARB_RISK__KILL_SWITCH_PATH": str(folder / "KILL"),
        # Faults are the point here: the breaker must not end trading after the first few.
        "ARB_RISK__MAX_CONSECUTIVE_FAILURES": "1000000",
        "ARB_RISK__MAX_VENUE_ERRORS": "1000000",
        "ARB_RISK__MAX_DAILY_LOSS": "1000000",
        "ARB_TRADING__ORDER_TIMEOUT_S": "3",
        "ARB_MARKET_DATA__MAX_AGE_MS": str(args.max_age_ms),
    }
    return env


async def start_child(
    name: str,
    sim: Simulator,
    root: Path,
    args: argparse.Namespace,
    *argv: str,
    ledger: Path | None = None,
) -> Child:
    """Start `python -m arb ARGV` with stdout, stderr and (unless given) ledger in its folder."""
    folder = root / name
    folder.mkdir(parents=True)
    symbols = ",".join(dict.fromkeys(m.symbol for m in sim.scenario.markets))
    with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arb",
            *argv,
            "--symbols",
            symbols,
            cwd=folder,
            env=child_env(sim, folder, args, ledger or folder / "ledger.sqlite"),
            stdout=out,
            stderr=err,
        )
    return Child(name, proc, folder)


def random_fault(rng: random.Random, symbols: list[str]) -> Fault:
    """One fault, chosen and shaped by the seeded generator."""
    kind = rng.choice(list(FaultKind))
    venue = rng.choice(VENUES)
    if kind in (FaultKind.SKIP_SEQ, FaultKind.CROSSED_BOOK):
        return Fault(kind, venue, symbol=rng.choice(symbols))
    if kind is FaultKind.STALE:
        return Fault(kind, venue, stale_ms=60_000, duration_ms=rng.randint(500, 3000))
    if kind is FaultKind.DELAY:
        return Fault(
            kind, venue, delay_ms=rng.randint(100, 800), duration_ms=rng.randint(500, 3000)
        )
    if kind is FaultKind.HTTP_429:
        return Fault(kind, venue, count=rng.randint(1, 4))
    if kind is FaultKind.HTTP_5XX_AFTER_PLACE:
        return Fault(kind, venue, status=rng.choice((0, 500)))
    return Fault(kind, venue)  # drop_ws, reject_next_order


async def inject_faults(
    sim: Simulator, rng: random.Random, every_s: float, fired: dict[str, int]
) -> None:
    """Fire a random fault after an exponentially distributed wait, for ever."""
    symbols = sorted({m.symbol for m in sim.scenario.markets})
    while True:
        await asyncio.sleep(rng.expovariate(1 / every_s))
        fault = random_fault(rng, symbols)
        sim.inject(fault)
        fired[str(fault.kind)] = fired.get(str(fault.kind), 0) + 1


async def sample_memory(children: list[Child], start: float, every_s: float) -> None:
    """Sample every child's RSS every `every_s` seconds, for ever."""
    while True:
        for child in children:
            child.sample(time.monotonic() - start)
        await asyncio.sleep(every_s)


def disarm(sim: Simulator) -> None:
    """Drop counted faults nobody consumed (a 429 armed for the next requests, ...)."""
    for ctx in sim.contexts.values():
        for kind in COUNTED:
            while ctx.faults.take(kind) is not None:
                continue


def ledger_rows(path: Path, sql: str) -> list[sqlite3.Row]:
    """Rows of a child's ledger (after it exited)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql))
    finally:
        conn.close()


def order_audit(sim: Simulator, ledger: Path) -> dict[str, Any]:
    """The ledger's orders against the simulator's: lost, unknown, wrong fills, unsettled."""
    rows = ledger_rows(ledger, "SELECT * FROM orders")
    by_id = {
        (
            r["exchange"],
            (GATE_PREFIX if r["exchange"] == "gateio" else "") + r["client_order_id"],
        ): r
        for r in rows
    }
    lost, wrong = [], []
    at_venue = 0
    for venue in VENUES:
        for order in sim.state(venue).orders.values():
            at_venue += 1
            row = by_id.pop((venue, order.client_id), None)
            if row is None:
                lost.append(f"{venue} {order.client_id}")
            elif Decimal(row["filled"]) != order.filled or row["order_id"] != order.id:
                wrong.append(f"{venue} {order.client_id}: {row['filled']} vs {order.filled}")
    # What is left was never placed: the ledger must call it rejected with nothing filled.
    phantom = [
        f"{r['exchange']} {r['client_order_id']} {r['status']}"
        for r in by_id.values()
        if r["status"] != "rejected" or Decimal(r["filled"]) != 0
    ]
    unknown = [
        f"{r['exchange']} {r['client_order_id']} {r['status']}"
        for r in rows
        if r["status"] not in ("closed", "canceled", "rejected", "expired")
    ]
    unsettled = ledger_rows(
        ledger, "SELECT id, state FROM intents WHERE state IN ('pending', 'halted')"
    )
    return {
        "orders_at_venue": at_venue,
        "orders_in_ledger": len(rows),
        "lost": lost,
        "unknown": unknown,
        "wrong_fill": wrong,
        "phantom": phantom,
        "unsettled_intents": [f"{r['id']} {r['state']}" for r in unsettled],
    }


def inventory(
    sim: Simulator, start: dict[str, dict[str, Decimal]], ledger: Path
) -> dict[str, dict[str, str]]:
    """Each base asset held across both venues: drift from the start, against the ledger.

    A trade's legs are matched on the coins received (buys grossed up for a fee taken in
    base), so a settled trade moves the combined holding by under one amount step; `drift`
    is the venues' own count, `ledger` what the ledger's orders say it must be (received
    less sold), `settled_within` the bound of one step per settled trade.
    """
    rows = ledger_rows(
        ledger,
        "SELECT o.symbol, o.side, o.filled, o.fee, o.fee_currency, i.state, o.intent_id "
        "FROM orders o JOIN intents i ON i.id = o.intent_id",
    )
    out: dict[str, dict[str, str]] = {}
    steps: dict[str, Decimal] = {}
    for m in sim.scenario.markets:
        base = m.symbol.split("/")[0]
        steps[base] = max(steps.get(base, Decimal(0)), Decimal(1).scaleb(-m.amount_decimals))
    for asset, step in sorted(steps.items()):
        end = sum((sim.state(v).free.get(asset, Decimal(0)) for v in VENUES), Decimal(0))
        began = sum((start[v].get(asset, Decimal(0)) for v in VENUES), Decimal(0))
        ledger_change = Decimal(0)
        settled: dict[str, Decimal] = {}
        for r in rows:
            if r["symbol"].split("/")[0] != asset:
                continue
            filled = Decimal(r["filled"])
            fee = Decimal(r["fee"] or 0) if r["fee_currency"] == asset else Decimal(0)
            change = (filled if r["side"] == "buy" else -filled) - fee
            ledger_change += change
            if r["state"] == "settled":
                settled[r["intent_id"]] = settled.get(r["intent_id"], Decimal(0)) + change
        worst = max((abs(v) for v in settled.values()), default=Decimal(0))
        out[asset] = {
            "start": str(began),
            "end": str(end),
            "drift": str(end - began),
            "ledger": str(ledger_change),
            "settled_trades": str(len(settled)),
            "settled_worst_drift": str(worst),
            "settled_within": str(worst < step),
        }
    return out


def log_counts(path: Path) -> dict[str, int]:
    """Disconnects, resyncs, stale refusals and errors a child logged (its JSON log file)."""
    counts = {"book_lost": 0, "book_invalid": 0, "stream_errors": 0, "errors": 0}
    if not path.exists():
        return counts
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)["record"]
            message, level = record["message"], record["level"]["name"]
            if " book lost: " in message:
                counts["book_lost"] += 1
            if " book invalid (" in message:
                counts["book_invalid"] += 1
            if "stream stopped" in message or "stream crashed" in message:
                counts["stream_errors"] += 1
            if level in ("ERROR", "CRITICAL"):
                counts["errors"] += 1
    return counts


def slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares kB per second through (seconds, kB) samples; 0 for fewer than two."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_kb = sum(kb for _, kb in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (kb - mean_kb) for t, kb in samples) / spread


def memory_report(child: Child, warmup_s: float) -> dict[str, Any]:
    """RSS after warm-up, at the end and the largest, in MB; growth after warm-up."""
    samples = [(t, kb) for t, kb in child.rss_kb if t >= warmup_s] or child.rss_kb
    if not samples:
        return {}
    first, last = samples[0][1], samples[-1][1]
    # The second half against the first: a leak keeps climbing, a warm cache levels off.
    half = len(samples) // 2
    early = max(kb for _, kb in samples[: max(half, 1)])
    late = max(kb for _, kb in samples[half:])
    return {
        "samples": len(child.rss_kb),
        "rss_after_warmup_mb": round(first / 1024, 1),
        "rss_end_mb": round(last / 1024, 1),
        "rss_max_mb": round(max(kb for _, kb in samples) / 1024, 1),
        "growth_mb": round((last - first) / 1024, 1),
        "peak_second_half_minus_first_mb": round((late - early) / 1024, 1),
        # least-squares trend of the second half, after caches have filled: ~0 when flat
        "second_half_slope_mb_per_min": round(slope(samples[half:]) * 60 / 1024, 2),
        # the same for each process alone (the child, its worker shards): the verdict's
        # figure, as the sum drops when workers stop at the end and grows with their count
        "process_slopes_mb_per_min": {
            str(pid): round(slope(after[len(after) // 2 :]) * 60 / 1024, 2)
            for pid, series in child.per_process.items()
            if len(after := [(t, kb) for t, kb in series if t >= warmup_s]) >= 4
        },
        # the curve: RSS at each minute mark (a leak climbs steadily, a cache levels off)
        "rss_mb_by_minute": [
            round(next(kb for t, kb in child.rss_kb if t >= minute * 60) / 1024, 1)
            for minute in range(int(child.rss_kb[-1][0] // 60) + 1)
        ],
    }


async def stop(child: Child, within_s: float) -> int:
    """SIGTERM, then the exit code (SIGKILL after `within_s`: reported as a failure)."""
    if child.proc.returncode is None:
        child.proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(child.proc.wait(), within_s)
    except TimeoutError:
        child.proc.kill()
        await child.proc.wait()
        return -9


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak and return the report."""
    root = Path(args.workdir)
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible schedule, not a secret
    duration = args.minutes * 60
    fired: dict[str, int] = {}
    scenario = load_scenario(args.scenario)
    # Only the venues the children trade: a dislocation on another would be a lost one.
    markets = tuple(m for m in scenario.markets if m.venue in VENUES)
    async with Simulator(dataclasses.replace(scenario, markets=markets)) as sim:
        held = {v: dict(sim.state(v).free) for v in VENUES}
        start = time.monotonic()
        run = await start_child("run", sim, root, args, "run")
        scan = await start_child("scan", sim, root, args, "scan", "--json")
        children = [run, scan]
        sampler = asyncio.create_task(sample_memory(children, start, args.sample_every))
        # Faults start once both children stream (start-up itself is not the soak's subject).
        await asyncio.sleep(min(args.warmup, duration / 3))
        connects_before = {v: len(sim.log.of(v, "ws_connect")) for v in VENUES}
        injector = asyncio.create_task(inject_faults(sim, rng, args.fault_every, fired))
        waits = [asyncio.create_task(c.proc.wait()) for c in children]
        await asyncio.wait(waits, timeout=max(0.0, duration - (time.monotonic() - start)))
        injector.cancel()
        await asyncio.sleep(args.settle)  # armed delays and stale clocks run out
        codes = {c.name: await stop(c, 60) for c in children}
        sampler.cancel()
        elapsed = time.monotonic() - start
        connects = {v: len(sim.log.of(v, "ws_connect")) - connects_before[v] for v in VENUES}
        before = order_audit(sim, run.folder / "ledger.sqlite")
        disarm(sim)
        # What an operator does after a stop: start again. Start-up reconciles, from fresh
        # order queries, whatever the stopped run could not settle.
        restart = await start_child(
            "restart",
            sim,
            root,
            args,
            "run",
            "--duration",
            "1",
            ledger=run.folder / "ledger.sqlite",
        )
        codes["restart"] = await asyncio.wait_for(restart.proc.wait(), 120)
        audit = order_audit(sim, run.folder / "ledger.sqlite")
        holdings = inventory(sim, held, run.folder / "ledger.sqlite")
        crashes = len(sim.crashes)
    intents = ledger_rows(
        run.folder / "ledger.sqlite", "SELECT state, count(*) AS n FROM intents GROUP BY state"
    )
    trips = ledger_rows(run.folder / "ledger.sqlite", "SELECT reason FROM breaker_events")
    opportunities = ledger_rows(
        scan.folder / "ledger.sqlite", "SELECT count(*) AS n FROM opportunities"
    )
    return {
        "workdir": str(root),
        "seed": args.seed,
        "seconds": round(elapsed, 1),
        "exit_codes": codes,
        "faults_fired": dict(sorted(fired.items())),
        "reconnects": connects,
        "run_log": log_counts(run.folder / "log.jsonl"),
        "scan_log": log_counts(scan.folder / "log.jsonl"),
        "intents": {r["state"]: r["n"] for r in intents},
        "breaker_events": [r["reason"] for r in trips],
        "scan_opportunities": opportunities[0]["n"] if opportunities else 0,
        "memory": {c.name: memory_report(c, args.warmup) for c in children},
        "orders_before_restart": before,
        "orders": audit,
        "inventory": holdings,
        "simulator_crashes": crashes,
    }


def failures(report: dict[str, Any], max_trend: float = 0.2) -> list[str]:
    """What makes the soak fail; `max_trend` is the most memory may climb, MB/min."""
    audit = report["orders"]
    if report["orders_before_restart"]["lost"]:
        return [f"lost: {report['orders_before_restart']['lost']}"]
    kinds = ("lost", "unknown", "wrong_fill", "phantom", "unsettled_intents")
    bad = [f"{k}: {audit[k]}" for k in kinds if audit[k]]
    bad += [f"{name} exited {code}" for name, code in report["exit_codes"].items() if code != 0]
    if report["seconds"] >= TREND_AFTER_S:  # shorter, the trend is still the caches filling
        for name, memory in report["memory"].items():
            slopes = (memory or {}).get("process_slopes_mb_per_min") or {}
            trend = max(slopes.values(), default=0.0)  # the worst process; {}: no samples
            if trend > max_trend:
                bad.append(f"{name} memory still climbing: {trend} MB/min in the second half")
    for asset, held in report.get("inventory", {}).items():
        if held["drift"] != held["ledger"] and Decimal(held["drift"]) != Decimal(held["ledger"]):
            bad.append(f"{asset}: venues moved {held['drift']}, the ledger says {held['ledger']}")
        if held["settled_within"] != "True":
            bad.append(
                f"{asset}: a settled trade moved the holding by {held['settled_worst_drift']}"
            )
    if report["simulator_crashes"]:
        bad.append(f"{report['simulator_crashes']} simulator task crashes")
    return bad


def main() -> int:
    """Parse the arguments, soak, print the report; exit 1 when an order was lost or unknown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to soak")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault schedule")
    parser.add_argument("--fault-every", type=float, default=4.0, help="mean seconds per fault")
    parser.add_argument("--scenario", help="simulator scenario (default: the built-in one)")
    parser.add_argument("--workdir", help="folder for ledgers and logs (default: a temp dir)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before faults start")
    parser.add_argument("--settle", type=float, default=3.0, help="quiet seconds at the end")
    parser.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling period")
    parser.add_argument("--max-age-ms", type=int, default=2000, help="market_data.max_age_ms")
    parser.add_argument(
        "--max-trend",
        type=float,
        default=0.2,
        help="fail when a child's memory still climbs faster than this in the second half, "
        "MB/min (soaks of 10 minutes or more)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="arb-soak-")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    report = asyncio.run(soak(args))
    bad = failures(report, args.max_trend)
    report["ok"] = not bad
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        for line in bad:
            sys.stderr.write(f"soak: {line}\n")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
