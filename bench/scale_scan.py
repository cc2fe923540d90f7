"""The scale benchmarks' measured process: arb's scan from a cold start against bench.scale_sim.

`python -m bench.scale_scan ANNOUNCE HOLD_S [DECISIONS]` imports what `arb scan` imports
(arb.cli), opens every announced venue, loads their markets, picks the symbols listed on all
of them and runs the real scan pipeline (ccxt.pro book streams, integrity hooks, Detector),
noting the monotonic time of each start-up stage (CLOCK_MONOTONIC is shared by every process
on the machine, so the parent subtracts its own spawn time). Once every book has reached the
detector it streams HOLD_S more seconds, then prints one JSON report: stage times, RSS and
what it held. With DECISIONS, it notes when each (venue, symbol, sequence id) update was
decided from then on and writes those to that file.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from types import MappingProxyType  # noqa: E402
from typing import Any  # noqa: E402

from loguru import logger  # noqa: E402

import arb.cli  # noqa: E402 - what `arb scan` imports, paid inside the start-up time
from arb.config import Secret, Settings, VenueSettings  # noqa: E402
from arb.log import HotLog  # noqa: E402
from arb.scan.engine import Pipeline, open_markets  # noqa: E402
from arb.venues.adapter import Venue  # noqa: E402
from bench.memory import rss_mb  # noqa: E402

Decided = dict[str, list[list[Any]]]


def settings_for(announce: dict[str, Any]) -> Settings:
    """Settings pointing every announced venue at the simulator, with its sandbox keys."""
    key, secret, password = announce["keys"]
    return Settings(
        venues=MappingProxyType(
            {
                v: VenueSettings(
                    id=v,
                    rest_url=urls["rest"],
                    ws_url=urls["ws"],
                    api_key=Secret(key),
                    api_secret=Secret(secret),
                    api_password=Secret(password),
                )
                for v, urls in announce["venues"].items()
            }
        )
    )


async def scan(announce: dict[str, Any], hold_s: float, timing: bool) -> dict[str, Any]:
    """Start the scan, note each stage, stream `hold_s` once every book arrived; the report."""
    stages = {"imported": time.monotonic()}
    settings = settings_for(announce)
    names = tuple(settings.venues)
    venues = {v: Venue(settings.venue(v)) for v in names}
    hot = HotLog()
    decided: Decided = {}
    try:
        table, failed = await open_markets(settings, venues)
        if failed:
            raise RuntimeError(f"bench: markets failed to load: {failed}")
        stages["markets_loaded"] = time.monotonic()
        symbols = table.common_symbols(names)
        settings = replace(settings, symbols=symbols)
        pipeline = Pipeline(settings, venues, table, symbols, lambda event: None, hot=hot)
        task = asyncio.create_task(pipeline.run())
        try:
            first, every = await _until_streaming(pipeline, len(symbols), task)
            stages["first_book_every_venue"] = first
            stages["every_book"] = max(every.values())
            stages |= {f"every_book_{v}": at for v, at in every.items()}
            rss_streaming = rss_mb()[0]
            if timing:
                detector = pipeline.detector
                detector.on_book = _timed(detector.on_book, decided)  # type: ignore[method-assign]
            before = {v: f.updates for v, f in pipeline.feeds.items()}
            await asyncio.sleep(hold_s)
            updates = {v: f.updates - before[v] for v, f in pipeline.feeds.items()}
            resyncs = {v: f.resyncs for v, f in pipeline.feeds.items()}
            rss_now, rss_peak = rss_mb()
            if task.done():
                task.result()  # the pipeline crashed: raise its error
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        for venue in venues.values():
            await venue.close()
        hot.close()
    return {
        "stages": stages,
        "symbols": len(symbols),
        "venues": list(names),
        "books": sum(len(f.books) for f in pipeline.feeds.values()),
        "updates_while_held": updates,
        "resyncs": resyncs,
        "rss_mb": {
            "every_book": round(rss_streaming, 1),
            "after_hold": round(rss_now, 1),
            "peak": round(rss_peak, 1),
        },
        "decided": decided,
    }


def _timed(on_book: Callable[..., Any], decided: Decided) -> Callable[..., Any]:
    """Wrap Detector.on_book to note when each (venue, symbol, nonce) was decided."""
    clock = time.monotonic

    def timed(book: Any, arrived_wall_ms: int) -> Any:
        events = on_book(book, arrived_wall_ms)
        decided.setdefault(book.venue, []).append([book.symbol, book.nonce, clock()])
        return events

    return timed


async def _until_streaming(
    pipeline: Pipeline, symbols: int, task: asyncio.Task[None]
) -> tuple[float, dict[str, float]]:
    """Wait until every book reached the detector: when each venue had its first, and all."""
    first: float | None = None
    every: dict[str, float] = {}
    deadline = time.monotonic() + 180
    while True:
        now = time.monotonic()
        counts = {v: len(f.books) for v, f in pipeline.feeds.items()}
        if first is None and all(counts.values()):
            first = now
        every.update({v: now for v, n in counts.items() if n >= symbols and v not in every})
        if len(every) == len(counts):
            assert first is not None
            return first, every
        if task.done():
            task.result()  # the pipeline crashed: raise its error
        if now > deadline:
            raise RuntimeError(f"bench: books did not all stream within 180 s: {counts}")
        await asyncio.sleep(0.01)


def main(argv: list[str]) -> int:
    """Print the report as JSON on stdout (decisions to their own file when asked)."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING")  # as `make bench`: warnings and errors only
    announce = json.loads(Path(argv[0]).read_text())
    # As `arb scan` runs: uvloop, the imports' heap out of the collector (arb.cli.run_long).
    report = arb.cli.run_long(scan(announce, float(argv[1]), len(argv) > 2))
    report["started"] = STARTED
    decided = report.pop("decided")
    if len(argv) > 2:
        Path(argv[2]).write_text(json.dumps(decided))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # the simulator has the other
    raise SystemExit(main(sys.argv[1:]))
