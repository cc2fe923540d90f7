"""Start-up costs: settings load (shipped settings.toml), market loading from the simulator."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from arb.config import Secret, VenueSettings, load_settings
from arb.sim import Scenario, Simulator
from arb.venues.adapter import Venue
from bench.harness import ROOT, Row, Stat, summarize
from bench.universe import scenario

VENUES = ("mexc", "gateio")


def settings_rows(quick: bool = False) -> list[Row]:
    """load_settings on the checkout's settings.toml, warm (first call reported apart)."""
    path = ROOT / "settings.toml"
    started = time.perf_counter()
    load_settings(path)
    first_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(10 if quick else 100):
        started = time.perf_counter()
        load_settings(path)
        times.append((time.perf_counter() - started) * 1000)
    stat = summarize(times, "ms")
    return [
        Row(
            operation="settings load: load_settings(settings.toml)",
            ours=stat,
            baseline=None,
            ratio=None,
            ratio_means="",
            target="< 10 ms",
            passed=stat.median < 10,
            notes="warm, in-process; a fresh process's first load is in details",
            details={
                "first_call_in_this_process_ms": round(first_ms, 2),
                "fresh_process_import_and_first_load_ms": _cold_ms(path),
            },
        )
    ]


_COLD = """
import time
from pathlib import Path
started = time.perf_counter()
from arb.config import load_settings
load_settings(Path({path!r}))
print((time.perf_counter() - started) * 1000)
"""


def _cold_ms(path: Path) -> float:
    """`import arb.config` + the first load_settings in a new interpreter (dynaconf import)."""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _COLD.format(path=str(path))],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return round(float(done.stdout.strip().splitlines()[-1]), 1)


def venue_settings(sim: Simulator, world: Scenario, venue: str) -> VenueSettings:
    """Settings pointing one venue at the simulator, with the sandbox keys."""
    return VenueSettings(
        id=venue,
        rest_url=sim.rest_url(venue),
        ws_url=sim.ws_url(venue),
        api_key=Secret(world.api_key),
        api_secret=Secret(world.api_secret),
        api_password=Secret(world.api_password),  # OKX signs with a passphrase too
    )


async def market_rows(quick: bool = False) -> list[Row]:
    """Both venues' Venue.load_markets at once against the simulator, fresh instances each time.

    Measured for the default scenario (4 symbols) and a 300-symbol one; the target is on
    the larger.
    """
    rows = []
    for symbols in (4, 300):
        stat, loaded = await load_times(VENUES, symbols, 3 if quick else 12)
        rows.append(
            Row(
                operation=f"market loading: Venue.load_markets, 2 venues x {symbols} symbols (sim)",
                ours=stat,
                baseline=None,
                ratio=None,
                ratio_means="",
                target="< 2 s" if symbols == 300 else "(info)",
                passed=stat.median < 2000 if symbols == 300 else None,
                notes="both venues concurrently over loopback HTTP, fresh ccxt instances",
                details={"markets_loaded": loaded},
            )
        )
    return rows


async def load_times(venues: tuple[str, ...], symbols: int, samples: int) -> tuple[Stat, int]:
    """Time `samples` concurrent load_markets of `venues` (fresh instances); markets loaded."""
    world = scenario(symbols, venues=venues)
    world = type(world)(**{**_fields(world), "walk": None})  # a still market: REST only
    times = []
    loaded = 0
    async with Simulator(world) as sim:
        for _ in range(samples):
            opened = [Venue(venue_settings(sim, world, v)) for v in venues]
            try:
                started = time.perf_counter()
                results = await asyncio.gather(*(v.load_markets() for v in opened))
                times.append((time.perf_counter() - started) * 1000)
            finally:
                for venue in opened:
                    await venue.close()
            loaded = sum(len(r) for r in results)
    if loaded != len(venues) * symbols:
        raise AssertionError(f"bench: loaded {loaded} markets, expected {len(venues) * symbols}")
    return summarize(times, "ms"), loaded


def _fields(world: Scenario) -> dict[str, Any]:
    return {name: getattr(world, name) for name in world.__dataclass_fields__}
