"""Worker shards: the symbols split across processes (`market_data.workers`, `--workers`).

Python runs one scan pipeline on one core. With N workers the parent loads the markets and
picks the symbols once, then splits the symbols round-robin across N worker processes
(`arb.scan.worker`); each owns every venue's books for its symbols, so a symbol's venues
meet in one detector and detection stays local. Every worker's opportunity events come back
to the parent, which keeps the one output, the one ledger writer and, for `arb run`, the one
executor per account, so balances and trades stay serialised. A worker that exits is started
again after a pause (doubling from 1 s up to 30 s; back to 1 s after a minute alive), its
books resynced from scratch; until then its symbols are simply not watched.

What the readers of a scan see (`arb.scan.view`) is merged from the workers' reports.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from loguru import logger

from arb.config import Settings, secret_values
from arb.domain.opportunity import Opportunity
from arb.log import logging_setup
from arb.scan.detector import Limits, OpportunityEvent, Stats
from arb.scan.engine import FeedState, OnEvent, OnJoin, markets_when_up, oldest_age_ms
from arb.scan.histogram import Histogram
from arb.scan.worker import Report, WorkerSpec, frame, read_frame
from arb.venues.adapter import Venue

STOP_S = 10.0  # a worker asked to stop has this long to send its last report and exit
RESTART_MAX_S = 30.0
HEALTHY_S = 60.0  # a worker alive this long restarts after 1 s again
LATENCIES = 20_000  # as the detector keeps


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


def worker_count(setting: int, symbols: int, cores: int | None = None) -> int:
    """Workers to start: `setting` (0: one per core), never more than there are symbols."""
    wanted = setting or (cores if cores is not None else usable_cores())
    return max(1, min(wanted, symbols))


def split_symbols(symbols: Sequence[str], workers: int) -> tuple[tuple[str, ...], ...]:
    """Deal the symbols round-robin: shares differ by at most one symbol."""
    return tuple(tuple(symbols[i::workers]) for i in range(workers))


def _names(symbols: Sequence[str]) -> str:
    return ", ".join(symbols[:5]) + (f" ... ({len(symbols)})" if len(symbols) > 5 else "")


@dataclass(slots=True)
class _Worker:
    index: int
    symbols: tuple[str, ...]
    report: Report | None = None
    process: asyncio.subprocess.Process | None = None


@dataclass(slots=True)
class _Retired:
    """Counters of worker processes that ended, so totals never go backwards."""

    updates: dict[str, int] = field(default_factory=dict)
    stale_refused: dict[str, int] = field(default_factory=dict)
    resyncs: dict[str, int] = field(default_factory=dict)
    feed_updates: dict[str, int] = field(default_factory=dict)
    opportunities: int = 0
    histogram: Histogram = field(default_factory=Histogram)

    def add(self, report: Report) -> None:
        for venue, n in report.updates.items():
            self.updates[venue] = self.updates.get(venue, 0) + n
        for venue, n in report.stale_refused.items():
            self.stale_refused[venue] = self.stale_refused.get(venue, 0) + n
        for venue, feed in report.feeds.items():
            self.resyncs[venue] = self.resyncs.get(venue, 0) + feed.resyncs
            self.feed_updates[venue] = self.feed_updates.get(venue, 0) + feed.updates
        self.opportunities += report.opportunities
        counts, total = report.histogram
        self.histogram.counts = [a + b for a, b in zip(self.histogram.counts, counts, strict=True)]
        self.histogram.total += total


class _Detection:
    """The workers' detectors seen as one (arb.scan.view.DetectionView)."""

    def __init__(self, shards: Shards, limits: Limits) -> None:
        self._shards = shards
        self._limits = limits
        self.latencies: deque[float] = deque(maxlen=LATENCIES)
        self.best: Opportunity | None = None

    @property
    def stats(self) -> Stats:
        retired = self._shards.retired
        reports = self._shards.reports()
        updates = dict(retired.updates)
        stale = dict(retired.stale_refused)
        histogram = Histogram(counts=list(retired.histogram.counts), total=retired.histogram.total)
        opportunities = retired.opportunities
        for r in reports:
            for venue, n in r.updates.items():
                updates[venue] = updates.get(venue, 0) + n
            for venue, n in r.stale_refused.items():
                stale[venue] = stale.get(venue, 0) + n
            opportunities += r.opportunities
            counts, total = r.histogram
            histogram.counts = [a + b for a, b in zip(histogram.counts, counts, strict=True)]
            histogram.total += total
        return Stats(updates, stale, opportunities, self.best, self.latencies, histogram)

    @property
    def current(self) -> dict[tuple[str, str, str], Opportunity]:
        return {key: o for r in self._shards.reports() for key, o in r.current.items()}

    @property
    def limits(self) -> Limits:
        return self._limits

    def set_limits(self, limits: Limits) -> None:
        """Every worker uses `limits` from its next evaluation on; restarted ones too."""
        self._limits = limits
        self._shards.send(limits)

    def take(self, report: Report) -> None:
        self.latencies.extend(report.latencies)
        best = report.best
        if best is not None and (self.best is None or best.net_profit > self.best.net_profit):
            self.best = best


class Shards:
    """The scan's books spread over worker processes; events out to `on_event` in this one.

    Offers what the summary, live table and status server read (arb.scan.view.ScanView).
    `venues` answered at start-up (their markets go to the workers); `pending` did not: the
    workers retry them for their books, and this process for `on_join` (`arb run`'s fees).
    """

    def __init__(
        self,
        settings: Settings,
        venues: Mapping[str, Venue],
        symbols: Sequence[str],
        on_event: OnEvent,
        *,
        workers: int,
        pending: Mapping[str, Venue] | None = None,
        stream_options: Mapping[str, float] | None = None,
        line_fd: int | None = None,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        """`line_fd`: the workers write each event's JSON line there themselves (`--json`)."""
        self.settings = settings
        # A descriptor of its own: in a worker, 0-2 are its pipes and stderr.
        self.line_fd = None if line_fd is None else os.dup(line_fd)
        self.venues = dict(venues)
        self.pending = dict(pending or {})
        self.symbols = tuple(symbols)
        self.on_join: OnJoin | None = None
        self.restarts = 0
        self.retired = _Retired()
        self._on_event = on_event
        self._stream_options = tuple((stream_options or {}).items())
        self._mono = mono
        self._order = (*venues, *self.pending)
        # This process and every worker open each venue from the same IP: N + 1 shares of
        # its snapshot and market budgets (venues' per-IP limits hold for all together).
        self._share = 1 / (workers + 1)
        for venue in (*self.venues.values(), *self.pending.values()):
            venue.share_book_budgets(self._share)
        shares = split_symbols(symbols, workers)
        self.workers = [_Worker(i, share) for i, share in enumerate(shares)]
        t = settings.trading
        self._detection = _Detection(self, Limits(t.max_notional, t.min_profit, t.min_profit_pct))

    # -- what readers see --------------------------------------------------------------------

    @property
    def detector(self) -> _Detection:
        """The workers' detection, merged."""
        return self._detection

    def reports(self) -> list[Report]:
        """The latest report of every running worker."""
        return [w.report for w in self.workers if w.report is not None]

    @property
    def feeds(self) -> dict[str, FeedState]:
        """Per venue, the workers' feeds merged: the worst state, summed counters, all books."""
        out: dict[str, FeedState] = {}
        retired = self.retired
        for venue in self._order:
            parts = [w.report.feeds.get(venue) if w.report else None for w in self.workers]
            merged = FeedState(
                updates=retired.feed_updates.get(venue, 0),
                resyncs=retired.resyncs.get(venue, 0),
            )
            states = [p.state if p is not None else "starting" for p in parts]
            merged.state = next((s for s in states if s != "connected"), "connected")
            for part in parts:
                if part is None:
                    continue
                merged.updates += part.updates
                merged.resyncs += part.resyncs
                merged.books.update(part.books)
                merged.last_error = merged.last_error or part.last_error
            out[venue] = merged
        return out

    def book_age_ms(self, venue: str) -> float | None:
        """Age of the oldest current book of `venue`, ms."""
        feed = self.feeds.get(venue)
        return None if feed is None else oldest_age_ms(feed, self._mono())

    def unreachable(self) -> dict[str, str]:
        """Venues that have not answered since start-up, with their REST URL."""
        return {v: venue.rest_url for v, venue in self.pending.items()}

    def send(self, message: object) -> None:
        """Send `message` to every running worker."""
        data = frame(message)
        for worker in self.workers:
            process = worker.process
            if process is not None and process.stdin is not None and not process.stdin.is_closing():
                process.stdin.write(data)

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every worker until cancelled (then stop them cleanly); restart any that exits."""
        logger.info(
            "{} workers: {}",
            len(self.workers),
            "; ".join(f"{w.index}: {len(w.symbols)} symbols" for w in self.workers),
        )
        try:
            async with asyncio.TaskGroup() as group:
                for worker in self.workers:
                    group.create_task(self._supervise(worker))
                for venue_id in self.pending:
                    group.create_task(self._join(venue_id))
        finally:
            if self.line_fd is not None:
                os.close(self.line_fd)
                self.line_fd = None

    async def _supervise(self, worker: _Worker) -> None:
        delay = 1.0
        while True:
            started = self._mono()
            code = await self._incarnation(worker)
            if worker.report is not None:
                self.retired.add(worker.report)
                worker.report = None
            if self._mono() - started >= HEALTHY_S:
                delay = 1.0
            self.restarts += 1
            logger.error(
                "worker {} ({}) exited with code {}; starting it again in {:.0f} s "
                "(its books are resynced)",
                worker.index,
                _names(worker.symbols),
                code,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX_S)

    async def _incarnation(self, worker: _Worker) -> int:
        """Start the worker and pass on its messages until it exits; its exit code."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arb.scan.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the parent only; it stops the workers
            pass_fds=() if self.line_fd is None else (self.line_fd,),
        )
        worker.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(frame(self._spec(worker)))
        if self._detection.limits != self._initial_limits():
            process.stdin.write(frame(self._detection.limits))
        logger.info(
            "worker {} started (pid {}): {}", worker.index, process.pid, _names(worker.symbols)
        )
        reading = asyncio.create_task(self._read(worker, process.stdout))
        try:
            await asyncio.shield(reading)
            return await process.wait()
        except asyncio.CancelledError:
            await self._stop(process, reading)
            raise
        finally:
            worker.process = None

    async def _stop(self, process: asyncio.subprocess.Process, reading: asyncio.Task[None]) -> None:
        """Ask the worker to stop (end of its stdin), take its last messages, reap it."""
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(STOP_S):
                await reading
                await process.wait()
        except TimeoutError:
            logger.warning("a worker did not stop within {:.0f} s; killing it", STOP_S)
            process.kill()
            await process.wait()

    async def _read(self, worker: _Worker, stdout: asyncio.StreamReader) -> None:
        on_event = self._on_event
        while (message := await read_frame(stdout)) is not None:
            if type(message) is OpportunityEvent:
                on_event(message)
            elif isinstance(message, Report):
                worker.report = message
                self._detection.take(message)

    def _initial_limits(self) -> Limits:
        t = self.settings.trading
        return Limits(t.max_notional, t.min_profit, t.min_profit_pct)

    def _spec(self, worker: _Worker) -> WorkerSpec:
        share = set(worker.symbols)
        markets = {
            v: [m for m in venue.exchange.markets.values() if m.get("symbol") in share]
            for v, venue in self.venues.items()
        }
        log_level, log_file, masks = logging_setup()
        return WorkerSpec(
            index=worker.index,
            settings=replace(self.settings, symbols=worker.symbols),
            markets=markets,
            pending=tuple(v for v in self._order if v in self.pending),
            stream_options=self._stream_options,
            log_level=log_level,
            log_file=log_file,
            secrets=tuple(dict.fromkeys((*masks, *secret_values(self.settings)))),
            book_budget_share=self._share,
            line_fd=self.line_fd,
        )

    async def _join(self, venue_id: str) -> None:
        """A venue down at start-up: once it answers here, `on_join` (the workers retry too)."""
        venue = self.pending[venue_id]
        await markets_when_up(venue_id, venue, self.settings.market_data.venue_retry_max_s)
        if self.on_join is not None:
            await self.on_join(venue_id, venue, self.symbols)
        del self.pending[venue_id]
        self.venues[venue_id] = venue
        logger.bind(venue=venue_id).info("answered; its books are watched by the workers")
