"""The pipeline benchmark's venue side: the simulator plus a book-update driver, in its own process.

`python -m bench.simdriver SYMBOLS PHASES OUT` starts the simulator (a still market: the
default scenario's walk builds each book once, then only this driver changes them), prints
its URLs as one JSON line, waits for `go` on stdin, then for each phase `RATE:SECONDS`
changes one book level and pushes that book at RATE updates per second, recording each
push's (phase, venue, symbol, sequence id, monotonic time) just before the frame is encoded
and sent. CLOCK_MONOTONIC is shared by every process on the machine, so the parent can
subtract these times from its own. Writes the records to OUT and prints `done`.
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
from arb.sim.scenario import BookSpec, Scenario
from arb.sim.venue import VenueState
from arb.sim.walk import Walk
from bench.universe import scenario

VENUES = ("mexc", "gateio")
PAUSE_S = 1.0  # between phases: lets a backlog drain so phases do not bleed into each other
TICK_S = 0.0005


def still_world(symbols: int) -> Scenario:
    """The scenario with each book set once from the walk's first step, and no walk."""
    world = scenario(symbols)
    assert world.walk is not None
    states = {v: VenueState(v, world, 1) for v in VENUES}
    Walk(world.walk, states).step(0)
    books = tuple(
        BookSpec(v, s, *states[v].books[s].top()) for v in VENUES for s in states[v].books
    )
    return dataclasses.replace(world, books=books, walk=None)


async def drive(sim: Simulator, phases: list[tuple[int, float]]) -> list[list[object]]:
    """Run every phase; return the send records."""
    books = [(v, s) for s in sorted(sim.state("mexc").books) for v in VENUES]
    sends: list[list[object]] = []
    turn = 0
    for phase, (rate, seconds) in enumerate(phases):
        start = time.monotonic()
        done = 0
        while (elapsed := time.monotonic() - start) < seconds:
            for _ in range(int(elapsed * rate) - done):
                venue, symbol = books[turn % len(books)]
                book = sim.book(venue, symbol)
                # Alternate one level's size between two values: a real-looking change that
                # never crosses the book (the common, no-opportunity case).
                level = (turn // len(books)) % 5
                price = sorted(book.bids, reverse=True)[level]
                size = book.bids[price]
                bump = Decimal(1).scaleb(-sim.state(venue).markets[symbol].amount_decimals)
                book.set_level("bid", price, size + bump if turn % 2 == 0 else size - bump)
                sends.append([phase, venue, symbol, book.version, time.monotonic()])
                sim.flush(venue)
                turn += 1
                done += 1
            await asyncio.sleep(TICK_S)
        await asyncio.sleep(PAUSE_S)
    return sends


async def main(symbols: int, phases: list[tuple[int, float]], out: Path) -> None:
    """Serve, announce, wait for `go`, drive, write the records."""
    async with Simulator(still_world(symbols)) as sim:
        urls = {v: {"rest": sim.rest_url(v), "ws": sim.ws_url(v)} for v in VENUES}
        sys.stdout.write(json.dumps(urls) + "\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)
        sends = await drive(sim, phases)
        await asyncio.to_thread(out.write_text, json.dumps(sends))
        sys.stdout.write("done\n")
        sys.stdout.flush()
        await loop.run_in_executor(None, sys.stdin.readline)  # stay up until told


def parse_phases(text: str) -> list[tuple[int, float]]:
    """`1000:3,5000:3` -> [(1000, 3.0), (5000, 3.0)]."""
    return [(int(r), float(s)) for r, s in (p.split(":") for p in text.split(","))]


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # the core the pipeline skips
    asyncio.run(main(int(sys.argv[1]), parse_phases(sys.argv[2]), Path(sys.argv[3])))
