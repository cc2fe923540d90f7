"""The scan pipeline: open venues, load markets, pick symbols, stream books into the detector.

`arb scan` and `arb run` share it; `run` passes an `on_opportunity` callback that trades.
Books are evaluated where their frames are read: each stream pushes a valid book from the
socket callback straight into the detector and `on_event` (arb.venues.books push mode), so
no task wakes between a frame and its decision; the per-book tasks only handle resyncs.
A venue that did not answer at start-up is retried in the background (doubling, jittered
waits up to `market_data.venue_retry_max_s`) while the others scan; when it answers, its
markets join the detector and its books are streamed.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from loguru import logger

from arb.config import Settings
from arb.domain.book import OrderBook
from arb.domain.symbols import ALL_PAIRS, MarketInfo, Selection, SymbolTable, select_symbols
from arb.errors import ArbError, ConfigError
from arb.log import HotLog
from arb.scan.detector import Detector, Limits, OpportunityEvent
from arb.venues.adapter import Venue
from arb.venues.books import BookStatus, BookStatusKind

# Called on the hot path, in the socket callback that read the frame: it must not block
# or wait (schedule slower work, such as ledger writes, for later).
OnEvent = Callable[[OpportunityEvent], None]
# Called when a venue that was down at start-up answers, before any of its books is used
# (`arb run` fetches its taker fees and opens it for trading): venue id, venue, symbols.
OnJoin = Callable[[str, Venue, tuple[str, ...]], Awaitable[None]]

# A dropped connection leaves its ccxt client and aiohttp WebSocket in reference cycles, and
# each holds the writer's zlib compressor: about 340 KB of C memory the collector does not
# count, so its own schedule (by object counts) let them pile up for many minutes, `arb
# scan` growing 0.4 MB/min in `make soak`. A full collection every this many seconds frees
# them; with the start-up heap frozen (`cli.run_long`) it takes about 3 ms.
SWEEP_S = 30.0


def freeze_start_up() -> bool:
    """Take what start-up built out of the collector's walks, if the imports' heap was.

    `arb.cli.run_long` (and each worker shard) freezes the heap of its imports. The markets
    loaded and clients opened since are as long-lived: five venues' markets made every full
    collection of the scan process walk ~250 MB, 130-190 ms each (the p99 of the 5-venue
    pipeline bench at 5,000 updates/s). Frozen too, a full collection walks only what
    streaming allocates. A process that did not freeze its imports (tests calling the
    pipeline directly) keeps its collector as it is. True when it froze.
    """
    if gc.get_freeze_count() == 0:
        return False
    gc.freeze()
    return True


@dataclass(slots=True)
class FeedState:
    """Per-venue counters for the live view."""

    state: str = "starting"  # "connecting" while a venue down at start-up is retried
    updates: int = 0
    resyncs: int = 0
    books: dict[str, float] = field(default_factory=dict)  # symbol -> received_at
    last_error: str | None = None  # the latest stream failure or resync reason (health)


def join_delay(attempt: int, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry `attempt` (0-based) of a missing venue: 1, 2, 4 ... up to `cap_s`.

    "Equal jitter" (half fixed, half random) keeps processes started together, or restarted
    by a supervisor, from knocking on a recovering venue in lockstep.
    """
    base = min(cap_s, 2.0**attempt)
    return base / 2 + rand() * base / 2


def listed_on(table: SymbolTable, venues: Sequence[str], symbol: str) -> dict[str, MarketInfo]:
    """The active markets of `symbol` on `venues`."""
    return {v: m for v in venues if (m := table.get_market(v, symbol)) is not None and m.active}


class Pipeline:
    """Books from every venue into one detector; events out to `on_event`.

    `venues` answered at start-up; `pending` did not and are retried in the background
    until they answer, then join (see `on_join`).
    """

    def __init__(
        self,
        settings: Settings,
        venues: Mapping[str, Venue],
        table: SymbolTable,
        symbols: Sequence[str],
        on_event: OnEvent,
        *,
        hot: HotLog,
        pending: Mapping[str, Venue] | None = None,
        stream_options: Mapping[str, float] | None = None,
        sweep_s: float = SWEEP_S,
        mono: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.settings = settings
        self.venues = dict(venues)  # grows as pending venues join
        self.pending = dict(pending or {})
        self.table = table
        self.symbols = tuple(symbols)
        self.on_join: OnJoin | None = None
        markets: dict[str, dict[str, MarketInfo]] = {}
        for symbol in symbols:
            if len(listed := listed_on(table, tuple(venues), symbol)) >= 2:
                markets[symbol] = listed
        # Venues that push book changes on a fixed cadence: a book silent this long is dead.
        self._max_silence_ms = {
            v: settings.market_data.max_silence_ms
            for v, venue in {**venues, **self.pending}.items()
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
        self.feeds.update({v: FeedState(state="connecting") for v in self.pending})
        self._on_event = on_event
        self._hot = hot
        # A quiet MEXC book sends no delta to start from; after this long it is built from
        # a REST snapshot instead (the stream module's default waits 5 s).
        self._stream_options = {"ready_timeout": 1.5, **(stream_options or {})}
        self._sweep_s = sweep_s
        self._mono = mono
        self._wall_ms = wall_ms
        self._streaming: set[tuple[str, str]] = set()
        self._no_book_yet: set[tuple[str, str]] = set()  # streams that never delivered a book
        self._group: asyncio.TaskGroup | None = None
        # Pings often enough that a quiet book's connection proves itself alive in time.
        self._heartbeat_ms = max(250, settings.market_data.max_age_ms // 2)

    async def run(self) -> None:
        """Stream every (venue, symbol) book until cancelled; one supervisor per stream."""
        for venue in self.venues.values():
            venue.keep_alive(self._heartbeat_ms)
        freeze_start_up()  # the markets and clients
        async with asyncio.TaskGroup() as group:
            self._group = group
            for venue_id in self.venues:
                self._stream(venue_id, self.symbols)
            for venue_id in self.pending:
                group.create_task(self._join(venue_id))
            group.create_task(self._watchdog())
            group.create_task(self._sweep())

    def _stream(self, venue_id: str, symbols: Sequence[str]) -> None:
        """Start a supervised book stream for each of `symbols` the venue lists (once)."""
        assert self._group is not None
        venue = self.venues[venue_id]
        for symbol in symbols:
            market = self.table.get_market(venue_id, symbol)
            if market is None or not market.active or (venue_id, symbol) in self._streaming:
                continue
            self._streaming.add((venue_id, symbol))
            self._no_book_yet.add((venue_id, symbol))
            self._group.create_task(self._supervise(venue_id, venue, symbol))

    async def _join(self, venue_id: str) -> None:
        """Retry a venue that was down at start-up until it answers; then let it join."""
        venue = self.pending[venue_id]
        infos = await markets_when_up(venue_id, venue, self.settings.market_data.venue_retry_max_s)
        await self._admit(venue_id, venue, infos)

    async def _admit(self, venue_id: str, venue: Venue, infos: Sequence[MarketInfo]) -> None:
        """A late venue answered: re-pick the symbols, let it trade, then stream its books."""
        del self.pending[venue_id]
        known = [m for v in self.table.venues for m in self.table.markets_of(v).values()]
        self.table = SymbolTable([*known, *infos])
        answered = (*self.venues, venue_id)
        s = self.settings
        selection = select_symbols(
            self.table, answered, s.symbols, s.quote_currencies, tuple(self.pending)
        )
        for note in selection.notes:
            logger.warning(note)
        if self.on_join is not None:
            await self.on_join(venue_id, venue, selection.symbols)  # before any book is used
        self.venues[venue_id] = venue
        venue.keep_alive(self._heartbeat_ms)
        for symbol in selection.symbols:
            if len(listed := listed_on(self.table, answered, symbol)) >= 2:
                self.detector.list_markets(symbol, listed)
        self.symbols = tuple(dict.fromkeys((*self.symbols, *selection.symbols)))
        self.feeds[venue_id].state = "starting"
        for v in answered:
            self._stream(v, selection.symbols)
        logger.bind(venue=venue_id).info(
            "answered: {} markets loaded; now watching {} symbols on {}",
            len(infos),
            len(selection.symbols),
            ", ".join(answered),
        )

    async def _supervise(self, venue_id: str, venue: Venue, symbol: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._pump(venue_id, venue, symbol)
            except asyncio.CancelledError:
                raise
            except ArbError as exc:
                self.feeds[venue_id].state = "error"
                self.feeds[venue_id].last_error = f"{symbol}: {exc}"
                logger.bind(venue=venue_id).error(
                    "{} stream stopped: {}; retrying in {:.0f} s", symbol, exc, delay
                )
            except Exception:  # noqa: BLE001 - the one catch-all of this long-running loop
                self.feeds[venue_id].state = "error"
                self.feeds[venue_id].last_error = f"{symbol}: stream crashed"
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
        on_book = self._on_book(venue_id, symbol)
        depth = self.settings.market_data.depth
        async for event in venue.watch_book(symbol, depth, push=on_book, **options):
            if not isinstance(event, BookStatus):
                on_book(event)  # made by a resync or bootstrap, in this task
                continue
            detector.unusable(venue_id, symbol)
            feed.state = event.kind.value
            if event.kind is BookStatusKind.RESYNCING:  # not ready yet: a bounded bootstrap
                hot.record("DEBUG", "{} {} book not ready: {}", venue_id, symbol, event.reason)
                continue
            feed.resyncs += 1
            feed.last_error = f"{symbol} {event.kind.value}: {event.reason}"
            hot.record(
                "INFO", "{} {} book {}: {}", venue_id, symbol, event.kind.value, event.reason
            )

    def _on_book(self, venue_id: str, symbol: str) -> Callable[[OrderBook], None]:
        """One (venue, symbol)'s consumer of valid books: counters, detector, events out."""
        feed = self.feeds[venue_id]
        books = feed.books
        detector = self.detector
        wall_ms = self._wall_ms
        first = True

        def on_book(book: OrderBook) -> None:
            nonlocal first
            if first:
                first = False
                self._first_book(venue_id, symbol)
            feed.state = "connected"
            feed.updates += 1
            books[symbol] = book.received_at
            for found in detector.on_book(book, wall_ms()):
                self._on_event(found)

        return on_book

    def _first_book(self, venue_id: str, symbol: str) -> None:
        # Once every stream has its book, their structures join start-up's frozen heap.
        self._no_book_yet.discard((venue_id, symbol))
        if not self._no_book_yet:
            freeze_start_up()

    async def _watchdog(self) -> None:
        # A quiet book stays usable while its connection shows life (frames or pongs), up
        # to `market_data.max_silence_ms` on a venue that pushes on a cadence.
        while True:
            for venue_id, symbol in self._streaming:
                alive = self.venues[venue_id].alive_at(symbol)
                if alive is not None:
                    self.detector.alive(venue_id, symbol, alive)
            await asyncio.sleep(0.1)

    async def _sweep(self) -> None:
        # Frees what dropped connections leave behind (see SWEEP_S). After the first, what
        # survived it (the books' structures, streaming by then) is frozen with start-up's.
        first = True
        while True:
            await asyncio.sleep(self._sweep_s)
            started = time.perf_counter()
            freed = gc.collect()
            if first:
                first = False
                freeze_start_up()
            if freed:
                ms = (time.perf_counter() - started) * 1000
                logger.debug("collection sweep: {} objects freed in {:.1f} ms", freed, ms)

    def book_age_ms(self, venue: str) -> float | None:
        """Age of the oldest current book of `venue`, ms."""
        return oldest_age_ms(self.feeds[venue], self._mono())

    def unreachable(self) -> dict[str, str]:
        """Venues that have not answered since start-up, with their REST URL."""
        return {v: venue.rest_url for v, venue in self.pending.items()}


def oldest_age_ms(feed: FeedState, now: float) -> float | None:
    """Age of the feed's oldest current book at monotonic time `now`, ms."""
    if not feed.books:
        return None
    return (now - min(feed.books.values())) * 1000


async def markets_when_up(venue_id: str, venue: Venue, cap_s: float) -> tuple[MarketInfo, ...]:
    """Load a venue's markets, retrying (jittered waits doubling up to `cap_s`) until it answers."""
    attempt = 0
    while True:
        delay = join_delay(attempt, float(cap_s))
        attempt += 1
        await asyncio.sleep(delay)
        try:
            return await venue.load_markets()
        except ArbError as exc:
            logger.bind(venue=venue_id).warning(
                "still cannot load markets from {}: {}; next try within {:.0f} s",
                venue.rest_url,
                exc.message,
                min(cap_s, 2.0**attempt),
            )
        except Exception:  # noqa: BLE001 - the one catch-all of this long-running loop
            logger.bind(venue=venue_id).exception("loading markets crashed; retrying")


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


def check_symbols(
    selection: Selection, wanted: Sequence[str], venues: Sequence[str], pending: Sequence[str] = ()
) -> None:
    """ConfigError when none of the requested symbols can be scanned.

    With `all` and a venue still pending, an empty selection waits for it to answer.
    """
    if not selection.symbols and not (pending and tuple(wanted) == ALL_PAIRS):
        what = "no pair" if tuple(wanted) == ALL_PAIRS else ", ".join(wanted)
        raise ConfigError("symbols", f"{what}: not listed and active on two of {', '.join(venues)}")
