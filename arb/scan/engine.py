"""The scan pipeline: open venues, load markets, pick symbols, stream books into the detector.

`arb scan` and `arb run` share it; `run` passes an `on_opportunity` callback that trades.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from loguru import logger

from arb.config import Settings
from arb.domain.symbols import MarketInfo, SymbolTable
from arb.errors import ArbError, ConfigError
from arb.log import HotLog
from arb.scan.detector import Detector, Limits, OpportunityEvent
from arb.venues.adapter import Venue
from arb.venues.books import BookStatus, BookStatusKind

OnEvent = Callable[[OpportunityEvent], Awaitable[None] | None]

# A dropped connection leaves its ccxt client and aiohttp WebSocket in reference cycles, and
# each holds the writer's zlib compressor: about 340 KB of C memory the collector does not
# count, so its own schedule (by object counts) let them pile up for many minutes, `arb
# scan` growing 0.4 MB/min in `make soak`. A full collection every this many seconds frees
# them; with the start-up heap frozen (`cli.run_long`) it takes about 3 ms.
SWEEP_S = 30.0


@dataclass(frozen=True, slots=True)
class Selection:
    """The symbols to watch and what the user should know about the ones left out."""

    symbols: tuple[str, ...]
    notes: tuple[str, ...]


def select_symbols(
    table: SymbolTable, venues: Sequence[str], wanted: Sequence[str], quotes: Sequence[str]
) -> Selection:
    """Pick the symbols tradable on at least two chosen venues; explain every one left out."""
    notes: list[str] = []
    listed = {v: table.common_symbols([v]) for v in venues}
    if tuple(wanted) == ("all",):
        candidates = sorted(
            {s for symbols in listed.values() for s in symbols if s.split("/")[1] in quotes}
        )
    else:
        candidates = list(wanted)
    chosen: list[str] = []
    for symbol in candidates:
        on = [v for v in venues if (m := table.get_market(v, symbol)) is not None and m.active]
        if len(on) >= 2:
            chosen.append(symbol)
        elif tuple(wanted) != ("all",):
            where = f"active only on {on[0]}" if on else "not active on any chosen venue"
            notes.append(f"{symbol}: {where}; skipped")
    if tuple(wanted) == ("all",):
        for venue, only in table.single_venue_symbols(venues).items():
            quoted = [s for s in only if s.split("/")[1] in quotes]
            if quoted:
                plural = "s are" if len(quoted) != 1 else " is"
                notes.append(f"{len(quoted)} symbol{plural} listed only on {venue}")
    return Selection(tuple(chosen), tuple(notes))


@dataclass(slots=True)
class FeedState:
    """Per-venue counters for the live view."""

    state: str = "starting"
    updates: int = 0
    resyncs: int = 0
    books: dict[str, float] = field(default_factory=dict)  # symbol -> received_at


class Pipeline:
    """Books from every venue into one detector; events out to `on_event`."""

    def __init__(
        self,
        settings: Settings,
        venues: Mapping[str, Venue],
        table: SymbolTable,
        symbols: Sequence[str],
        on_event: OnEvent,
        *,
        hot: HotLog,
        stream_options: Mapping[str, float] | None = None,
        sweep_s: float = SWEEP_S,
        mono: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.settings = settings
        self.venues = venues
        self.symbols = tuple(symbols)
        markets: dict[str, dict[str, MarketInfo]] = {}
        for symbol in symbols:
            for venue in venues:
                market = table.get_market(venue, symbol)
                if market is not None and market.active:
                    markets.setdefault(symbol, {})[venue] = market
        # Venues that push book changes on a fixed cadence: a book silent this long is dead.
        self._max_silence_ms = {
            v: settings.market_data.max_silence_ms
            for v, venue in venues.items()
            if venue.profile.book_push_ms is not None
        }
        self.detector = Detector(
            markets,
            Limits(
                settings.trading.max_notional,
                settings.trading.min_profit,
                settings.trading.min_profit_pct,
            ),
            settings.market_data.max_age_ms,
            mono=mono,
            wall_ms=wall_ms,
            max_silence_ms=self._max_silence_ms,
        )
        self.feeds = {v: FeedState() for v in venues}
        self._on_event = on_event
        self._hot = hot
        # A quiet MEXC book sends no delta to start from; after this long it is built from
        # a REST snapshot instead (the stream module's default waits 5 s).
        self._stream_options = {"ready_timeout": 1.5, **(stream_options or {})}
        self._sweep_s = sweep_s
        self._mono = mono
        self._wall_ms = wall_ms

    async def run(self) -> None:
        """Stream every (venue, symbol) book until cancelled; one supervisor per stream."""
        # Pings often enough that a quiet book's connection proves itself alive in time.
        heartbeat_ms = max(250, self.settings.market_data.max_age_ms // 2)
        for venue in self.venues.values():
            venue.keep_alive(heartbeat_ms)
        async with asyncio.TaskGroup() as group:
            for venue_id, venue in self.venues.items():
                for symbol in self.symbols:
                    group.create_task(self._supervise(venue_id, venue, symbol))
            group.create_task(self._watchdog())
            group.create_task(self._sweep())

    async def _supervise(self, venue_id: str, venue: Venue, symbol: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._pump(venue_id, venue, symbol)
            except asyncio.CancelledError:
                raise
            except ArbError as exc:
                self.feeds[venue_id].state = "error"
                logger.bind(venue=venue_id).error(
                    "{} stream stopped: {}; retrying in {:.0f} s", symbol, exc, delay
                )
            except Exception:  # noqa: BLE001 - the one catch-all of this long-running loop
                self.feeds[venue_id].state = "error"
                logger.bind(venue=venue_id).exception("{} stream crashed; retrying", symbol)
            self.detector.unusable(venue_id, symbol)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _pump(self, venue_id: str, venue: Venue, symbol: str) -> None:
        feed = self.feeds[venue_id]
        detector = self.detector
        hot = self._hot
        options = dict(self._stream_options)
        silence_ms = self._max_silence_ms.get(venue_id)
        if silence_ms is not None:
            options.setdefault("max_silence", silence_ms / 1000)
        async for event in venue.watch_book(symbol, self.settings.market_data.depth, **options):
            if isinstance(event, BookStatus):
                detector.unusable(venue_id, symbol)
                feed.state = event.kind.value
                if event.kind is BookStatusKind.RESYNCING:  # not ready yet: a bounded bootstrap
                    hot.record("DEBUG", "{} {} book not ready: {}", venue_id, symbol, event.reason)
                    continue
                feed.resyncs += 1
                hot.record(
                    "INFO", "{} {} book {}: {}", venue_id, symbol, event.kind.value, event.reason
                )
                continue
            feed.state = "connected"
            feed.updates += 1
            feed.books[symbol] = event.received_at
            for found in detector.on_book(event, self._wall_ms()):
                result = self._on_event(found)
                if result is not None:
                    await result

    async def _watchdog(self) -> None:
        # A quiet book stays usable while its connection shows life (frames or pongs), up
        # to `market_data.max_silence_ms` on a venue that pushes on a cadence.
        while True:
            for venue_id, venue in self.venues.items():
                for symbol in self.symbols:
                    alive = venue.alive_at(symbol)
                    if alive is not None:
                        self.detector.alive(venue_id, symbol, alive)
            await asyncio.sleep(0.1)

    async def _sweep(self) -> None:
        # Frees what dropped connections leave behind (see SWEEP_S).
        while True:
            await asyncio.sleep(self._sweep_s)
            started = time.perf_counter()
            freed = gc.collect()
            if freed:
                ms = (time.perf_counter() - started) * 1000
                logger.debug("collection sweep: {} objects freed in {:.1f} ms", freed, ms)

    def book_age_ms(self, venue: str) -> float | None:
        """Age of the oldest current book of `venue`, ms."""
        books = self.feeds[venue].books
        if not books:
            return None
        return (self._mono() - min(books.values())) * 1000


async def open_markets(
    settings: Settings, venues: Mapping[str, Venue]
) -> tuple[SymbolTable, dict[str, str]]:
    """Load every venue's markets concurrently; a venue that fails is reported, not fatal."""
    results = await asyncio.gather(
        *(v.load_markets() for v in venues.values()), return_exceptions=True
    )
    infos: list[MarketInfo] = []
    failed: dict[str, str] = {}
    for venue_id, result in zip(venues, results, strict=True):
        if isinstance(result, ArbError):
            failed[venue_id] = result.message
        elif isinstance(result, BaseException):
            raise result
        else:
            infos.extend(result)
    return SymbolTable(infos), failed


def check_symbols(selection: Selection, wanted: Sequence[str], venues: Sequence[str]) -> None:
    """ConfigError when none of the requested symbols can be scanned."""
    if not selection.symbols:
        what = "no pair" if tuple(wanted) == ("all",) else ", ".join(wanted)
        raise ConfigError("symbols", f"{what}: not listed and active on two of {', '.join(venues)}")
