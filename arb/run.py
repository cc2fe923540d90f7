"""`arb run`: the scan pipeline feeding the two-leg executor, live, paper or on the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console

from arb.config import Settings, needs_password
from arb.errors import ConfigError
from arb.execution.executor import Executor
from arb.execution.legs import TradingVenue
from arb.execution.paper import paper_venues
from arb.execution.risk import reset_breaker
from arb.execution.session import fetch_fees, trading
from arb.execution.settings import execution_settings
from arb.ledger import Ledger, insert
from arb.log import HotLog
from arb.ops.service import operations
from arb.ops.status import Sources
from arb.scan.command import ScanOptions, open_pipeline, opportunity_row, run_until_stopped
from arb.scan.detector import OpportunityEvent
from arb.scan.engine import Pipeline
from arb.venues.profiles import profile_for, trade_profiles


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How `arb run` was asked to run."""

    paper: bool = False
    sandbox: bool = False
    scenario: str | None = None
    duration: float | None = None
    reset_breaker: bool = False
    stream_options: tuple[tuple[str, float], ...] = ()
    workers: int | None = None  # worker processes (0: one per core); None: market_data.workers


def check_keys(settings: Settings) -> None:
    """Live trading needs keys on every chosen venue; name the first missing setting."""
    for venue_id in settings.exchanges:
        venue = settings.venue(venue_id)
        for name, value in (("api_key", venue.api_key), ("api_secret", venue.api_secret)):
            if value is None:
                raise ConfigError(
                    f"exchanges.{venue_id}.{name}",
                    "missing: live trading needs API keys on every venue (put them in "
                    ".secrets.toml or ARB_EXCHANGES__<VENUE>__API_KEY / __API_SECRET), "
                    "or trade on paper with --paper",
                )
        if venue.api_password is None and needs_password(venue_id):
            raise ConfigError(
                f"exchanges.{venue_id}.api_password",
                f"missing: {venue_id} signs every private request with the API key's "
                "passphrase (put it in .secrets.toml or ARB_EXCHANGES__<VENUE>__API_PASSWORD)",
            )


def check_tradable(settings: Settings) -> None:
    """arb trades only on venues with their own module; a scan-only venue exits 2, named."""
    for venue_id in settings.exchanges:
        profile = profile_for(venue_id)
        if not profile.tradable:
            trade = ", ".join(v for v, p in trade_profiles().items() if p.tradable)
            raise ConfigError(
                "exchanges",
                f"{venue_id} is {profile.level}: arb scans it but trades only on {trade}",
            )


def check_paper(settings: Settings) -> None:
    """--paper needs a starting wallet on every chosen venue."""
    for venue_id in settings.exchanges:
        if not settings.paper.balances.get(venue_id):
            raise ConfigError(
                f"paper.balances.{venue_id}",
                "missing: --paper needs starting balances, e.g. "
                f"ARB_PAPER__BALANCES__{venue_id.upper()}__USDT=1000",
            )


async def run(settings: Settings, options: RunOptions) -> int:
    """Detect and trade until the duration ends or SIGINT / SIGTERM; print a summary."""
    check_tradable(settings)
    if options.paper:
        check_paper(settings)
    elif not options.sandbox:
        check_keys(settings)
    console = Console(stderr=True)
    hot = HotLog()
    ledger = Ledger(settings.ledger.path)
    started_ms = time.time_ns() // 1_000_000
    source = "paper" if options.paper else "sandbox" if options.sandbox else "run"
    executor: Executor | None = None
    venues: dict[str, TradingVenue] = {}  # the executor's own map: late venues join it

    def on_event(event: OpportunityEvent) -> None:
        o = event.opportunity
        # A worker shard may see a late venue's books before this process has its fees.
        if executor is not None and o.buy_venue in venues and o.sell_venue in venues:
            executor.submit(
                event.opportunity, seen_at=event.arrived_at, books_since=event.books_since
            )
        # Off the socket callback that found it: the ledger row after this frame.
        row = insert("opportunities", opportunity_row(event, source))
        asyncio.get_running_loop().call_soon(ledger.record, row)

    try:
        if options.reset_breaker and await reset_breaker(ledger):
            console.print("circuit breaker reset")
        async with AsyncExitStack() as stack:
            scan_options = ScanOptions(
                duration=options.duration,
                sandbox=options.sandbox,
                scenario=options.scenario,
                live_table=False,
                stream_options=options.stream_options,
                # --paper fills walk this process's own books: one process
                workers=1 if options.paper else options.workers,
            )
            pipeline = await open_pipeline(stack, settings, scan_options, on_event, hot, console)

            def tradable(working: Mapping[str, TradingVenue]) -> dict[str, TradingVenue]:
                if not options.paper:
                    return dict(working)
                now = time.monotonic
                assert isinstance(pipeline, Pipeline)  # one process with --paper (above)
                detector = pipeline.detector
                return dict(
                    paper_venues(
                        {v: venue.market for v, venue in working.items()},
                        pipeline.settings.paper.balances,
                        lambda v, s: detector.usable_book(v, s, now()),
                    )
                )

            venues.update(tradable(pipeline.venues))

            async def on_join(venue_id: str, venue: TradingVenue, symbols: tuple[str, ...]) -> None:
                # Its taker fees first (and any symbol new to the others'); only then does
                # the pipeline use its books, so no trade involves it before its fee is known.
                joined = tradable({venue_id: venue})
                await fetch_fees({**venues, **joined}, symbols)
                venues.update(joined)

            pipeline.on_join = on_join
            stop = asyncio.Event()
            async with trading(
                venues,
                ledger,
                execution_settings(pipeline.settings),
                pipeline.symbols,
                on_stop=stop.set,
            ) as ready:
                executor = ready
                src = Sources(pipeline, ledger, executor, source, started_ms)
                async with operations(settings, src):
                    await run_until_stopped(pipeline, stop, scan_options)
    finally:
        await asyncio.sleep(0)  # ledger rows deferred by the last events (call_soon) go in
        hot.close()
        summary = await session_summary(ledger, started_ms)
        ledger.close()
    for line in summary:
        console.print(line, highlight=False, soft_wrap=True)
    return 0


async def session_summary(ledger: Ledger, since_ms: int) -> list[str]:
    """What this run did, from the ledger: intents by state, P&L, fees and cycle times."""
    states = await ledger.query(
        "SELECT state, count(*) AS n FROM intents WHERE created_at_ms >= ? GROUP BY state",
        (since_ms,),
    )
    trades = await ledger.query(
        "SELECT realized_pnl, fees FROM trades WHERE at_ms >= ?",
        (since_ms,),
    )
    cycles = await ledger.query(
        "SELECT cycle_ms FROM intents WHERE created_at_ms >= ? AND cycle_ms IS NOT NULL "
        "ORDER BY cycle_ms",
        (since_ms,),
    )
    counted = ", ".join(f"{r['n']} {r['state']}" for r in states) or "none"
    pnl = sum((Decimal(r["realized_pnl"]) for r in trades), Decimal(0))
    fees = sum((Decimal(r["fees"]) for r in trades), Decimal(0))
    lines = [f"intents: {counted}", f"realised P&L: {pnl} (fees {fees}), quote currency"]
    if cycles:
        values = [float(r["cycle_ms"]) for r in cycles]
        lines.append(
            f"cycle (seen -> both legs acknowledged): median {values[len(values) // 2]:.1f} ms, "
            f"max {values[-1]:.1f} ms over {len(values)} trades"
        )
    return lines
