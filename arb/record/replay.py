"""`arb replay`: a recording through the real decode, integrity, freshness and detector code.

Recorded time drives everything (book arrival, freshness, `detected_at`, trade clocks), so
the same recording and settings give the same opportunities, byte for byte. With paper
trading, each opportunity is handed to the real executor with paper wallets that fill
against the recorded books as they stand `paper.latency_ms` after the decision.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arb.config import Settings
from arb.domain.opportunity import Opportunity
from arb.domain.symbols import MarketInfo, SymbolTable
from arb.execution.executor import Executor
from arb.execution.paper import PaperVenue
from arb.execution.risk import RiskGuard
from arb.execution.settings import execution_settings
from arb.ledger import Ledger
from arb.record.files import Frame, read_frames, read_header
from arb.scan.detector import Detector, Limits, OpportunityEvent
from arb.scan.engine import listed_on
from arb.venues.books import BookEvent, BookStatus
from arb.venues.playback import Playback

WATCHDOG_S = 0.1  # the live pipeline's liveness sweep, in recorded time
OnEvent = Callable[[OpportunityEvent], None]


@dataclass(slots=True)
class RecordedClock:
    """The recording's clocks: monotonic seconds and wall-clock ms of the current frame."""

    mono_s: float = 0.0
    wall: int = 0

    def mono(self) -> float:
        """Monotonic seconds of the frame being replayed."""
        return self.mono_s

    def wall_ms(self) -> int:
        """Wall-clock ms of the frame being replayed."""
        return self.wall


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How `arb replay` was asked to run."""

    folder: Path
    speed: float | None = None  # None: as fast as possible; 1.0: recorded pace
    paper: bool = False
    ledger: Path | None = None  # paper trades' ledger (a new file)


@dataclass(slots=True)
class ReplayResult:
    """What a replay found (deterministic), and how long it took (not)."""

    frames: int = 0
    updates: int = 0
    resyncs: int = 0
    stale_refused: int = 0
    opportunities: int = 0
    best: Opportunity | None = None
    recorded_s: float = 0.0
    elapsed_s: float = 0.0
    trades_submitted: int = 0
    by_venue: dict[str, int] = field(default_factory=dict)


class _Trader:
    """Paper trading on the recorded books: the real executor, fills `latency_s` later."""

    def __init__(self, executor: Executor, latency_s: float) -> None:
        self.executor = executor
        self._latency_s = latency_s
        self._due: tuple[float, OpportunityEvent] | None = None
        self.submitted = 0

    def decided(self, event: OpportunityEvent) -> None:
        # One trade at a time, as live: one waiting for its latency makes the executor busy.
        if self._due is None and not self.executor.busy:
            self._due = (event.arrived_at + self._latency_s, event)

    async def advance(self, now: float | None) -> None:
        """Trade what is due by recorded time `now` (None: everything), on the books as of now."""
        if self._due is None or (now is not None and now < self._due[0]):
            return
        event = self._due[1]
        self._due = None
        if self.executor.submit(
            event.opportunity, seen_at=event.arrived_at, books_since=event.books_since
        ):
            self.submitted += 1
        await self.executor.settled()


async def replay(settings: Settings, options: ReplayOptions, on_event: OnEvent) -> ReplayResult:
    """Feed the recording through the pipeline; `on_event` gets every opportunity event."""
    read_header(options.folder)  # a clear error before anything starts
    run = _Run(settings, options, on_event)
    started = time.perf_counter()
    first: Frame | None = None
    try:
        for frame in read_frames(options.folder):
            first = first or frame
            if options.speed is not None:
                await _pace(first, frame, started, options.speed)
            await run.step(frame)
        await run.finish()
        # Closing ccxt's HTTP sessions waits on aiohttp's graceful shutdown: not replay work.
        run.result.elapsed_s = time.perf_counter() - started
    finally:
        await run.close()
    result = run.result
    if first is not None:
        result.recorded_s = run.clock.mono_s - first.t_ns / 1e9
    return result


class _Run:
    """One replay's state: the playback, the detector, the paper trader and the counters."""

    def __init__(self, settings: Settings, options: ReplayOptions, on_event: OnEvent) -> None:
        self.settings = settings
        self.options = options
        self.on_event = on_event
        self.clock = RecordedClock()
        self.result = ReplayResult()
        self.markets: dict[str, list[dict[str, Any]]] = {}
        self.playback: Playback | None = None
        self.detector: Detector | None = None
        self.trader: _Trader | None = None
        self.ledger: Ledger | None = None
        self.last_sweep = float("-inf")
        self.last_frame: dict[tuple[str, int], float] = {}

    def _start(self) -> tuple[Playback, Detector]:
        """Markets are in (they are recorded before any book): build the pipeline."""
        s = self.settings
        playback = Playback(s, self.markets, self.clock.mono, s.market_data.depth)
        detector = _detector(s, playback.markets, self.clock)
        if self.options.paper:
            self.ledger = Ledger(_new_ledger(self.options.ledger))
            self.trader = _trader(s, playback.markets, detector, self.ledger, self.clock)
        self.playback, self.detector = playback, detector
        return playback, detector

    async def step(self, frame: Frame) -> None:
        """Replay one recorded frame at its recorded time."""
        self.clock.mono_s, self.clock.wall = frame.t_ns / 1e9, frame.wall_ms
        if frame.kind == "markets":
            if self.playback is None:  # a venue joining later is not replayed (yet)
                self.markets.setdefault(frame.venue, json.loads(frame.payload))
            return
        if self.playback is None or self.detector is None:
            playback, detector = self._start()
        else:
            playback, detector = self.playback, self.detector
        if self.trader is not None:
            await self.trader.advance(self.clock.mono_s)
        if frame.kind == "ws":
            events = playback.frame(frame.venue, frame.conn, frame.where, frame.payload)
        elif frame.kind == "rest":
            params, answer = frame.params or "{}", str(frame.payload)
            events = await playback.rest(frame.venue, frame.conn, frame.where, params, answer)
        else:
            return
        self.result.frames += 1
        self.last_frame[(frame.venue, frame.conn)] = self.clock.mono_s
        if self.clock.mono_s - self.last_sweep >= WATCHDOG_S:
            self.last_sweep = self.clock.mono_s
            _sweep(playback, detector, self.last_frame)
        for event in events:
            self._book_event(detector, event)

    def _book_event(self, detector: Detector, event: BookEvent) -> None:
        """What the live pipeline does with one stream event."""
        if isinstance(event, BookStatus):
            detector.unusable(event.venue, event.symbol)
            self.result.resyncs += 1
            return
        self.result.updates += 1
        for found in detector.on_book(event, self.clock.wall):
            self.on_event(found)
            if self.trader is not None:
                self.trader.decided(found)

    async def finish(self) -> None:
        """Trade what is still due, settle, and take the detector's counters."""
        if self.trader is not None:
            await self.trader.advance(None)
            await self.trader.executor.close()
            self.result.trades_submitted = self.trader.submitted
        if self.detector is not None:
            stats = self.detector.stats
            self.result.opportunities, self.result.best = stats.opportunities, stats.best
            self.result.by_venue = dict(stats.updates)
            self.result.stale_refused = sum(stats.stale_refused.values())

    async def close(self) -> None:
        """Close the ccxt instances and the ledger."""
        if self.playback is not None:
            await self.playback.close()
        if self.ledger is not None:
            self.ledger.close()


def _detector(
    settings: Settings, markets: Mapping[str, tuple[MarketInfo, ...]], clock: RecordedClock
) -> Detector:
    """The scanner's detector over every symbol two recorded venues list, on recorded time."""
    table = SymbolTable([m for infos in markets.values() for m in infos])
    venues = tuple(markets)
    symbols = sorted({m.symbol for infos in markets.values() for m in infos})
    listed = {s: found for s in symbols if len(found := listed_on(table, venues, s)) >= 2}
    t = settings.trading
    return Detector(
        listed,
        Limits(t.max_notional, t.min_profit, t.min_profit_pct),
        settings.market_data.max_age_ms,
        mono=clock.mono,
        wall_ms=clock.wall_ms,
    )


def _sweep(
    playback: Playback, detector: Detector, last_frame: Mapping[tuple[str, int], float]
) -> None:
    """The live watchdog: a book whose connection delivered a frame is alive then."""
    for (venue, conn), at in last_frame.items():
        for state in playback.alive(venue, conn):
            detector.alive(venue, state.symbol, at)


def _trader(
    settings: Settings,
    markets: Mapping[str, tuple[MarketInfo, ...]],
    detector: Detector,
    ledger: Ledger,
    clock: RecordedClock,
) -> _Trader:
    """Paper wallets filling against the detector's usable books, and the real executor."""
    venues = {
        venue_id: PaperVenue(
            venue_id,
            market=_market_of({m.symbol: m for m in infos}),
            book=_book_of(detector, venue_id, clock),
            balances=settings.paper.balances.get(venue_id, {}),
            clock_ms=clock.wall_ms,
        )
        for venue_id, infos in markets.items()
    }
    # No kill-switch file or signals in a replay: the breaker and risk limits still apply.
    exec_settings = execution_settings(settings)
    guard = RiskGuard(ledger, exec_settings, clock_ms=clock.wall_ms)
    executor = Executor(
        venues, ledger, exec_settings, guard, clock=clock.mono, clock_ms=clock.wall_ms
    )
    return _Trader(executor, settings.paper.latency_ms / 1000)


def _market_of(infos: Mapping[str, MarketInfo]) -> Callable[[str], MarketInfo]:
    return infos.__getitem__


def _book_of(detector: Detector, venue_id: str, clock: RecordedClock) -> Callable[[str], Any]:
    return lambda symbol: detector.usable_book(venue_id, symbol, clock.mono())


def _new_ledger(path: Path | None) -> Path:
    """The paper ledger: a file that must not exist yet (a replay never mixes into a ledger)."""
    if path is None:
        raise ValueError("paper replay needs a ledger path")
    if path.exists():
        raise FileExistsError(f"{path} exists; a replay writes a new ledger")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


async def _pace(first: Frame, frame: Frame, started: float, speed: float) -> None:
    """Sleep until the frame's recorded offset (divided by `speed`) has passed."""
    due = (frame.t_ns - first.t_ns) / 1e9 / speed
    wait = due - (time.perf_counter() - started)
    if wait > 0:
        await asyncio.sleep(wait)
