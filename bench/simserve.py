"""The execution benchmark's venues in a process of their own, as real venues are.

`python -m bench.simserve` serves the default scenario without its walk, prints one JSON line
(each venue's URLs and the sandbox keys), then answers one command per stdin line:
`cross` puts the crossed BTC/USDT books of bench.execution back and pushes them (-> `"ok"`);
`orders SINCE` gives the monotonic times (seconds) at which the order requests received
after SINCE arrived, as a JSON list. CLOCK_MONOTONIC is shared by a machine's processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys

from arb.sim import Simulator, load_scenario
from bench.execution import ORDER_PATHS, SYMBOL, VENUES, crossed_books


async def main() -> None:
    """Serve and answer commands until stdin closes."""
    world = dataclasses.replace(load_scenario(), walk=None)
    books = crossed_books()
    async with Simulator(world) as sim:
        urls = {v: {"rest": sim.rest_url(v), "ws": sim.ws_url(v)} for v in VENUES}
        hello = {"urls": urls, "key": world.api_key, "secret": world.api_secret}
        _say(json.dumps(hello))
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command, _, argument = line.strip().partition(" ")
            if command == "cross":
                for venue_id, (bids, asks) in books.items():
                    sim.replace_book(venue_id, SYMBOL, bids, asks)
                    sim.flush(venue_id)
                _say(json.dumps("ok"))
            elif command == "orders":
                since, start = float(argument), sim.log.started
                times = [
                    start + e["t_ms"] / 1000
                    for v in VENUES
                    for e in sim.log.of(v, "http")
                    if e.get("method") == "POST" and e.get("path") in ORDER_PATHS
                ]
                _say(json.dumps(sorted(t for t in times if t >= since)))


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # the core the bench skips
    asyncio.run(main())
