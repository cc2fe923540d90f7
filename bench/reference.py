"""`arb scan --json` against a plain stock-ccxt.pro scanner: frame sent -> JSON line read.

This process runs the simulator (a still market on 4 symbols) pinned to one core; each
scanner runs as its own process on the other core, one at a time, alternating (ours,
reference, reference, ours, ...) so machine drift hits both alike. Per scanner run: a
warm-up of small book changes (stock ccxt builds a MEXC book only after 25 deltas), then
planted crosses: one venue's whole book of one symbol jumps 2% (one delta frame, alternating
venues and symbols), which both scanners must report as an opportunity. The latency is from
just before that frame is pushed to this process reading the opportunity's JSON line from
the scanner's stdout; the book is then put back and the next cross follows after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.sim import Simulator
from bench.harness import ROOT, Row, summarize
from bench.simdriver import VENUES, still_world

SYMBOLS = 4
JUMP = Decimal("1.02")  # a 2% jump: well over both taker fees and min_profit at 100 USDT
PAUSE_S = 0.02  # after putting a book back, before the next cross
ANSWER_S = 2.0  # a cross not reported by then counts as missed


async def run(quick: bool = False) -> list[Row]:
    """Alternate the two scanners on the same simulator; one row, ours / reference."""
    crosses = 15 if quick else 150
    order = ("ours", "reference", "reference", "ours")
    rounds = order[:2] if quick else order * 2
    taken: dict[str, list[float]] = {"ours": [], "reference": []}
    missed: dict[str, int] = {"ours": 0, "reference": 0}
    cores = pin(max)
    try:
        async with Simulator(still_world(SYMBOLS)) as sim:
            for name in rounds:
                latencies, misses = await _scanner_run(sim, name, crosses)
                taken[name].extend(latencies)
                missed[name] += misses
    finally:
        if cores:
            os.sched_setaffinity(0, cores)
    ours, ref = summarize(taken["ours"], "ms"), summarize(taken["reference"], "ms")
    p50_ratio, p99_ratio = ours.median / ref.median, ours.p99 / ref.p99
    return [
        Row(
            operation=f"scan vs a stock-ccxt.pro scanner ({SYMBOLS} symbols x 2 venues, "
            "planted crosses): frame sent -> JSON line read by another process",
            ours=ours,
            baseline=ref,
            ratio=round(max(p50_ratio, p99_ratio), 3),
            ratio_means="ours / reference, worse of p50 and p99",
            target="<= 1.0x",
            passed=p50_ratio <= 1.0 and p99_ratio <= 1.0,
            notes=f"p50 {p50_ratio:.2f}x, p99 {p99_ratio:.2f}x; runs alternated "
            f"{', '.join(rounds)}; missed: ours {missed['ours']}, reference {missed['reference']}",
            details={
                "p50_ratio": round(p50_ratio, 3),
                "p99_ratio": round(p99_ratio, 3),
                "missed": missed,
                "rounds": list(rounds),
            },
        )
    ]


def _command(name: str, sim: Simulator, folder: Path) -> tuple[list[str], dict[str, str]]:
    symbols = sorted(sim.state("mexc").books)
    env = dict(os.environ)
    if name == "reference":
        urls = [u for v in VENUES for u in (sim.rest_url(v), sim.ws_url(v))]
        return [sys.executable, "-m", "bench.reference_scanner", *urls, *symbols], env
    for venue in VENUES:
        env[f"ARB_EXCHANGES__{venue.upper()}__REST_URL"] = sim.rest_url(venue)
        env[f"ARB_EXCHANGES__{venue.upper()}__WS_URL"] = sim.ws_url(venue)
    env["ARB_LEDGER__PATH"] = str(folder / "ledger.sqlite")
    argv = ["scan", "--json", "--log-level", "warning", "--symbols", ",".join(symbols)]
    return [sys.executable, "-m", "arb", *argv], env


async def _scanner_run(sim: Simulator, name: str, crosses: int) -> tuple[list[float], int]:
    """Start one scanner, warm it up, time `crosses` planted crosses; stop it."""
    with tempfile.TemporaryDirectory() as folder:
        argv, env = _command(name, sim, Path(folder))
        errors = Path(folder) / "stderr.txt"
        with errors.open("wb") as err:
            child = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                preexec_fn=lambda: pin(min),
            )
            lines: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
            reader = asyncio.create_task(_read(child.stdout, lines))
            try:
                await _warm_up(sim, lines, reader)
                latencies: list[float] = []
                for index in range(crosses):
                    ms = await _cross(sim, index, lines, ANSWER_S)
                    if ms is not None:
                        latencies.append(ms)
                return latencies, crosses - len(latencies)
            except Exception as exc:
                tail = errors.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"bench: {name} scanner: {exc}; stderr: {tail}") from exc
            finally:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
                await child.wait()
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


async def _read(stream: Any, lines: asyncio.Queue[tuple[float, dict[str, Any]]]) -> None:
    """Every JSON line the scanner prints, stamped when read."""
    while raw := await stream.readline():
        stamp = time.monotonic()
        with contextlib.suppress(ValueError):
            lines.put_nowait((stamp, json.loads(raw)))


async def _warm_up(
    sim: Simulator, lines: asyncio.Queue[Any], reader: asyncio.Task[None], limit: float = 60.0
) -> None:
    """Small book changes until every planted cross (each symbol, each venue) is reported.

    Stock ccxt builds a MEXC book only once 25 deltas arrived after it subscribed.
    """
    symbols = sorted(sim.state("mexc").books)
    deadline = time.monotonic() + limit
    turn = 0
    while True:
        for _ in range(30):
            turn += 1
            for venue in VENUES:
                for symbol in symbols:
                    book = sim.book(venue, symbol)
                    price = max(book.bids)
                    step = Decimal(1).scaleb(-sim.state(venue).markets[symbol].amount_decimals)
                    book.set_level("bid", price, book.bids[price] + (step if turn % 2 else -step))
                sim.flush(venue)
            await asyncio.sleep(0.01)
        answered = [await _cross(sim, i, lines, 0.5) for i in range(2 * len(symbols))]
        if all(ms is not None for ms in answered):
            return
        if reader.done():
            raise RuntimeError("the scanner exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"planted crosses not all reported within {limit:.0f} s")


async def _cross(
    sim: Simulator, index: int, lines: asyncio.Queue[Any], answer_s: float
) -> float | None:
    """Plant cross `index`, return ms from its frame to its line (None: not reported)."""
    symbols = sorted(sim.state("mexc").books)
    symbol = symbols[(index // 2) % len(symbols)]
    venue = VENUES[index % 2]  # the venue whose book jumps up: the other one is bought
    other = VENUES[(index + 1) % 2]
    book = sim.book(venue, symbol)
    bids, asks = book.top()
    places = Decimal(1).scaleb(-sim.state(venue).markets[symbol].price_decimals)
    while not lines.empty():
        lines.get_nowait()
    sim.replace_book(
        venue,
        symbol,
        tuple(((p * JUMP).quantize(places), a) for p, a in bids),
        tuple(((p * JUMP).quantize(places), a) for p, a in asks),
    )
    sent = time.monotonic()
    sim.flush(venue)
    answered: float | None = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(answer_s):
            while True:
                stamp, line = await lines.get()
                if (line.get("symbol"), line.get("buy_exchange"), line.get("sell_exchange")) == (
                    symbol,
                    other,
                    venue,
                ):
                    answered = (stamp - sent) * 1000
                    break
    sim.replace_book(venue, symbol, bids, asks)
    sim.flush(venue)
    await asyncio.sleep(PAUSE_S)
    return answered


def pin(choose: Callable[[set[int]], int]) -> set[int]:
    """Run on one core (`choose` picks it); the cores allowed before, empty if unchanged."""
    if not hasattr(os, "sched_setaffinity"):
        return set()
    cores = set(os.sched_getaffinity(0))
    if len(cores) < 2:
        return set()
    os.sched_setaffinity(0, {choose(cores)})
    return cores
