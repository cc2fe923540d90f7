"""`arb scan`: start-up with progress, live table or JSON lines, clean stop and a summary."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from loguru import logger
from rich.console import Console
from rich.live import Live

from arb.config import DEFAULT_SYMBOLS, Secret, Settings
from arb.domain.symbols import Selection, SymbolTable, select_symbols
from arb.errors import ArbError, ConfigError
from arb.ledger import Ledger, insert
from arb.log import HotLog
from arb.ops.service import operations
from arb.ops.status import Sources
from arb.scan.detector import OpportunityEvent
from arb.scan.engine import OnEvent, Pipeline, check_symbols, open_markets
from arb.scan.output import FeedRow, LineWriter, event_json, live_view, summary_lines
from arb.scan.shards import Shards, worker_count
from arb.scan.view import ScanView
from arb.venues.adapter import Venue
from arb.venues.profiles import profile_for

if TYPE_CHECKING:
    from arb.sim import Simulator


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How `arb scan` was asked to run."""

    as_json: bool = False
    duration: float | None = None
    sandbox: bool = False
    scenario: str | None = None
    live_table: bool | None = None  # None: only when stdout is a terminal
    stream_options: tuple[tuple[str, float], ...] = ()  # book-stream tuning (tests)
    # venue id -> a callback given each ccxt.pro instance the venue builds (`arb record`)
    on_exchange: Callable[[str], Callable[[Any], None]] | None = None
    on_stop: Callable[[], None] | None = None  # called when the scan stops, before cleanup
    workers: int | None = None  # worker processes (0: one per core); None: market_data.workers


def opportunity_row(event: OpportunityEvent, source: str) -> dict[str, object]:
    """The ledger row of one opportunity event."""
    o = event.opportunity
    return {
        "detected_at_ms": event.detected_at_ms,
        "symbol": o.symbol,
        "buy_exchange": o.buy_venue,
        "sell_exchange": o.sell_venue,
        "amount": o.amount,
        "buy_price": o.buy_vwap,
        "sell_price": o.sell_vwap,
        "net_profit": o.net_profit,
        "net_profit_pct": o.net_profit_pct,
        "source": source,
    }


@asynccontextmanager
async def stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM, so the scan stops cleanly instead of dying."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            continue
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@dataclass(frozen=True, slots=True)
class Opened:
    """The venues after start-up: those that answered, those still retried, what to watch."""

    working: dict[str, Venue]
    pending: dict[str, Venue]
    table: SymbolTable
    selection: Selection


async def open_venues(
    stack: AsyncExitStack,
    settings: Settings,
    console: Console,
    on_exchange: Callable[[str], Callable[[Any], None]] | None = None,
) -> Opened:
    """Open every chosen venue, load markets concurrently (with progress), pick the symbols.

    A venue that cannot be reached is named with its URL, left out and retried in the
    background by the pipeline while the others scan. When none answers, ArbError (exit 1)
    names every venue and URL: that is our network or settings, not one venue's outage.
    """
    venues = {
        v: await stack.enter_async_context(
            Venue(settings.venue(v), on_exchange=on_exchange(v) if on_exchange else None)
        )
        for v in settings.exchanges
    }
    with console.status(f"Loading markets on {', '.join(venues)}..."):
        table, failed = await open_markets(settings, venues)
    working = {v: venue for v, venue in venues.items() if v not in failed}
    pending = {v: venues[v] for v in failed}
    if not working:
        down = "; ".join(f"{v} at {venues[v].rest_url} ({failed[v]})" for v in failed)
        raise ArbError(f"no venue answered at start-up: {down}")
    for venue_id, reason in failed.items():
        logger.bind(venue=venue_id).error(
            "cannot load markets from {}: {}; scanning without it and retrying in the background",
            venues[venue_id].rest_url,
            reason,
        )
    s = settings
    selection = select_symbols(table, tuple(working), s.symbols, s.quote_currencies, tuple(pending))
    for note in selection.notes:
        logger.warning(note)
    check_symbols(selection, settings.symbols, tuple(working), tuple(pending))
    logger.info(
        "watching {} symbols on {}: {}",
        len(selection.symbols),
        ", ".join(working),
        ", ".join(selection.symbols[:10]) + (" ..." if len(selection.symbols) > 10 else ""),
    )
    return Opened(working, pending, table, selection)


async def open_pipeline(
    stack: AsyncExitStack,
    settings: Settings,
    options: ScanOptions,
    on_event: OnEvent,
    hot: HotLog,
    console: Console,
    line_fd: int | None = None,
) -> Pipeline | Shards:
    """Start the sandbox if asked, open the venues and build the detection pipeline.

    With more than one worker (and more than one symbol) the books are watched by worker
    processes (arb.scan.shards); `arb record` taps this process's own clients, so it keeps one.
    With `line_fd` (`--json` to a file or pipe), the workers write their JSON lines there.
    """
    if options.sandbox:
        settings = await stack.enter_async_context(sandbox(settings, options.scenario))
    opened = await open_venues(stack, settings, console, options.on_exchange)
    setting = settings.market_data.workers if options.workers is None else options.workers
    workers = worker_count(setting, len(opened.selection.symbols))
    if workers > 1 and options.on_exchange is None:
        return Shards(
            settings,
            opened.working,
            opened.selection.symbols,
            on_event,
            workers=workers,
            pending=opened.pending,
            stream_options=dict(options.stream_options),
            line_fd=line_fd,
        )
    return Pipeline(
        settings,
        opened.working,
        opened.table,
        opened.selection.symbols,
        on_event,
        hot=hot,
        pending=opened.pending,
        stream_options=dict(options.stream_options),
    )


async def scan(settings: Settings, options: ScanOptions) -> int:
    """Run the scanner until the duration ends or a stop signal; print the summary."""
    console = Console(stderr=True)
    hot = HotLog()
    ledger = Ledger(settings.ledger.path)
    writer = LineWriter() if options.as_json else None
    source = "sandbox" if options.sandbox else "scan"
    started = time.monotonic()
    pipeline: Pipeline | Shards | None = None

    lines_by_workers = False  # worker shards write their own lines (straight to stdout)

    def on_event(event: OpportunityEvent) -> None:
        # The line first, from the socket callback; the ledger row after this frame.
        if writer is not None and not lines_by_workers:
            writer.write(event_json(event))
        row = insert("opportunities", opportunity_row(event, source))
        asyncio.get_running_loop().call_soon(ledger.record, row)

    try:
        async with AsyncExitStack() as stack, stop_signals() as stop:
            line_fd = None if writer is None else writer.fd
            pipeline = await open_pipeline(
                stack, settings, options, on_event, hot, console, line_fd
            )
            lines_by_workers = isinstance(pipeline, Shards) and line_fd is not None
            started_ms = time.time_ns() // 1_000_000
            src = Sources(pipeline, ledger, None, source, started_ms)
            async with operations(settings, src):
                await run_until_stopped(pipeline, stop, options)
    finally:
        await asyncio.sleep(0)  # ledger rows deferred by the last events (call_soon) go in
        hot.close()
        if writer is not None:
            writer.close()
        ledger.close()
    if pipeline is not None:
        resyncs = {v: f.resyncs for v, f in pipeline.feeds.items()}
        out = sys.stderr if options.as_json else sys.stdout
        down = pipeline.unreachable()
        seconds = time.monotonic() - started
        for line in summary_lines(pipeline.detector.stats, resyncs, seconds, down):
            print(line, file=out)
        if isinstance(pipeline, Shards):
            print(workers_line(pipeline), file=out)
    return 0


def workers_line(shards: Shards) -> str:
    """The summary's line about worker processes."""
    shares = ", ".join(str(len(w.symbols)) for w in shards.workers)
    return (
        f"workers: {len(shards.workers)} (symbols each: {shares}); "
        f"restarted {shards.restarts} time{'' if shards.restarts == 1 else 's'}"
    )


async def run_until_stopped(
    pipeline: Pipeline | Shards, stop: asyncio.Event, options: ScanOptions
) -> None:
    show_table = options.live_table
    if show_table is None:
        show_table = not options.as_json and sys.stdout.isatty()
    streams = asyncio.create_task(pipeline.run(), name="arb-streams")
    stopper = asyncio.create_task(stop.wait(), name="arb-stop")
    waiters: set[asyncio.Task[None] | asyncio.Task[bool]] = {streams, stopper}
    view = asyncio.create_task(_live(pipeline)) if show_table else None
    try:
        done, _ = await asyncio.wait(
            waiters, timeout=options.duration, return_when=asyncio.FIRST_COMPLETED
        )
        if streams in done:
            streams.result()  # surface a crash of the stream supervisor itself
    finally:
        if options.on_stop is not None:
            options.on_stop()
        for task in (streams, stopper, view):
            if task is not None:
                task.cancel()
        await asyncio.gather(streams, stopper, *([view] if view else []), return_exceptions=True)


def _feed_rows(pipeline: ScanView, elapsed: Callable[[], float]) -> list[FeedRow]:
    seconds = max(elapsed(), 1e-9)
    return [
        FeedRow(
            venue=v,
            state=f.state,
            books=len(f.books),
            oldest_age_ms=pipeline.book_age_ms(v),
            updates_per_s=f.updates / seconds,
            resyncs=f.resyncs,
            level=profile_for(v).level,
        )
        for v, f in pipeline.feeds.items()
    ]


async def _live(pipeline: ScanView) -> None:
    started = time.monotonic()
    with Live(auto_refresh=True, refresh_per_second=4, transient=False) as live:
        while True:
            # Built on the loop (4 times a second, off the per-update path); rich draws it
            # from its own thread.
            live.update(
                live_view(
                    dict(pipeline.detector.current),
                    _feed_rows(pipeline, lambda: time.monotonic() - started),
                )
            )
            await asyncio.sleep(0.25)


@asynccontextmanager
async def sandbox(settings: Settings, scenario: str | None) -> AsyncIterator[Settings]:
    """Start the built-in simulator and point every venue at it (the same URL overrides)."""
    from arb.sim import Simulator, load_scenario  # noqa: PLC0415 - only --sandbox needs it

    async with Simulator(load_scenario(scenario)) as sim:
        yield sandbox_settings(settings, sim)


def sandbox_settings(settings: Settings, sim: Simulator) -> Settings:
    """Settings whose venues all point at `sim`, with its sandbox keys."""
    simulated = sim.contexts.keys()
    missing = [v for v in settings.exchanges if v not in simulated]
    if missing:
        raise ConfigError(
            "exchanges",
            f"--sandbox simulates {', '.join(simulated)}, not {', '.join(missing)}",
        )
    venues = {
        venue_id: replace(
            settings.venue(venue_id),
            rest_url=sim.rest_url(venue_id),
            ws_url=sim.ws_url(venue_id),
            api_key=Secret(sim.scenario.api_key),
            api_secret=Secret(sim.scenario.api_secret),
            api_password=Secret(sim.scenario.api_password),
        )
        for venue_id in simulated
    }
    symbols = settings.symbols
    if symbols == DEFAULT_SYMBOLS:  # not chosen by the user: scan what the scenario lists
        symbols = tuple(dict.fromkeys(m.symbol for m in sim.scenario.markets))
    return replace(settings, venues=MappingProxyType(venues), symbols=symbols)
