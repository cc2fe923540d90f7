"""The scale benchmarks' venue side: every simulated venue serving many symbols, in its own process.

`python -m bench.scale_sim SYMBOLS RATE OUT [VENUES]` serves the benchmark universe
(bench.universe) on every simulated venue (or the comma-separated VENUES) as a still market
(each book built once from the walk's first step: the walk itself rebuilds all 1,500 books
in about 0.4 s a step, a full core), prints
the venues' URLs and sandbox keys as one JSON line, then changes one book level and pushes
that book RATE times a second, round-robin over every (venue, symbol) book, so each book
keeps streaming as a live market's does. Each push's (venue, symbol, sequence id, monotonic
time) is recorded just before the frame is encoded and sent. A `stop` line on stdin writes
the records to OUT and prints `done`; a `rate N` line changes the rate from then on; end of
input exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from arb.sim import Simulator
from arb.sim.protocols import venues
from arb.sim.scenario import BookSpec, Scenario
from arb.sim.venue import VenueState
from arb.sim.walk import Walk
from bench.universe import scenario

TICK_S = 0.0005


def still_world(symbols: int, names: tuple[str, ...] | None = None) -> Scenario:
    """The universe on the venues (default: all), each book set once from the walk's first step."""
    names = names or venues()
    world = scenario(symbols, venues=names)
    assert world.walk is not None
    states = {v: VenueState(v, world, 1) for v in names}
    Walk(world.walk, states).step(0)
    books = tuple(
        BookSpec(v, s, *states[v].books[s].top()) for v in states for s in states[v].books
    )
    return dataclasses.replace(world, books=books, walk=None)


async def drive(
    sim: Simulator, rate: list[int], stop: asyncio.Event, names: tuple[str, ...]
) -> list[list[object]]:
    """Push book changes at `rate[0]` a second until `stop`; return the send records."""
    books = [(v, s) for s in sorted(sim.state(names[0]).books) for v in names]
    sends: list[list[object]] = []
    start = time.monotonic()
    turn = 0
    due = 0.0  # pushes owed since `start`, at the rates in force meanwhile
    last = start
    while not stop.is_set():
        now = time.monotonic()
        due += (now - last) * rate[0]
        last = now
        for _ in range(int(due) - turn):
            venue, symbol = books[turn % len(books)]
            book = sim.book(venue, symbol)
            # Alternate one level's size between two values: a real-looking change that
            # never crosses the book (the common, no-opportunity case).
            level = (turn // len(books)) % 5
            price = sorted(book.bids, reverse=True)[level]
            bump = Decimal(1).scaleb(-sim.state(venue).markets[symbol].amount_decimals)
            size = book.bids[price]
            book.set_level("bid", price, size + bump if turn % 2 == 0 else size - bump)
            sends.append([venue, symbol, book.version, time.monotonic()])
            sim.flush(venue)
            turn += 1
        await asyncio.sleep(TICK_S)
    return sends


async def main(symbols: int, rate: int, out: Path, names: tuple[str, ...]) -> None:
    """Serve, announce, drive until `stop`, write the records, wait for the end of input."""
    world = still_world(symbols, names)
    async with Simulator(world) as sim:
        announce = {
            "venues": {v: {"rest": sim.rest_url(v), "ws": sim.ws_url(v)} for v in names},
            "keys": [world.api_key, world.api_secret, world.api_password],
        }
        sys.stdout.write(json.dumps(announce) + "\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        rates = [rate]
        driver = asyncio.create_task(drive(sim, rates, stop, names))
        loop = asyncio.get_running_loop()
        while (line := await loop.run_in_executor(None, sys.stdin.readline)) not in ("", "stop\n"):
            if line.startswith("rate "):
                rates[0] = int(line.split()[1])
        stop.set()
        sends = await driver
        await asyncio.to_thread(out.write_text, json.dumps(sends))
        sys.stdout.write("done\n")
        sys.stdout.flush()
        while await loop.run_in_executor(None, sys.stdin.readline):
            pass  # stay up until the input ends


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # the core the scan skips
    chosen = tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else venues()
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), chosen))
