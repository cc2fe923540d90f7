"""The loopback exchange simulator: one aiohttp server per venue plus the timeline tasks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from pathlib import Path
from types import TracebackType

from aiohttp import web
from loguru import logger

from arb.sim.book import BookDelta, SimBook
from arb.sim.context import VenueContext
from arb.sim.faults import COUNTED, TIMED, FaultBoard
from arb.sim.hub import WsHub
from arb.sim.protocols import protocols
from arb.sim.reqlog import RequestLog
from arb.sim.scenario import (
    Fault,
    FaultKind,
    Level,
    LevelChange,
    Scenario,
    load_scenario,
)
from arb.sim.venue import VenueState
from arb.sim.walk import Walk


class Simulator:
    """MEXC and Gate.io on loopback, driven by a scenario.

    Use `async with Simulator(scenario) as sim:`; point ccxt at `sim.rest_url(venue)` and
    `sim.ws_url(venue)`, inspect `sim.state(venue)` and `sim.log`, and change the world
    with `set_level`, `replace_book` and `inject`.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        log_path: Path | None = None,
    ) -> None:
        """Prepare (not start) the venues; ports default to ephemeral ones."""
        self.scenario = scenario if scenario is not None else load_scenario()
        self.host = host
        self.log = RequestLog(log_path)
        self._ports = dict(ports or {})
        self._clock = time.monotonic
        self._start = self._clock()
        self.contexts: dict[str, VenueContext] = {}
        for venue, protocol in protocols().items():
            state = VenueState(venue, self.scenario, protocol.first_order_id)
            self.contexts[venue] = VenueContext(
                venue, self.scenario, state, FaultBoard(self._clock), self.log, WsHub()
            )
        self._runners: list[web.AppRunner] = []
        self._bound: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.crashes: list[BaseException] = []
        states = {v: c.state for v, c in self.contexts.items()}
        self.walk = Walk(self.scenario.walk, states) if self.scenario.walk else None

    async def __aenter__(self) -> Simulator:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop serving."""
        await self.close()

    async def start(self) -> None:
        """Bind each venue's server and start the push, timeline, walk and log tasks."""
        self._start = self._clock()
        for fault in self.scenario.faults:
            if fault.at_ms <= 0:  # armed before the first request can arrive
                self.inject(fault)
        for venue, ctx in self.contexts.items():
            runner = web.AppRunner(protocols()[venue].build_app(ctx), handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self._ports.get(venue, 0))
            await site.start()
            self._runners.append(runner)
            self._bound[venue] = int(runner.addresses[0][1])
            self._spawn(self._push_loop(venue), f"push-{venue}")
        self._spawn(self._timeline(), "timeline")
        if self.walk is not None:
            self._spawn(self._walk_loop(), "walk")
        self._spawn(self._log_loop(), "request-log")

    async def close(self) -> None:
        """Stop the tasks, close WebSockets and servers, write the rest of the log."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for ctx in self.contexts.values():
            await ctx.hub.close_all()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        await self.log.flush()

    def rest_url(self, venue: str) -> str:
        """scheme://host:port of the venue's REST API (ccxt's paths are kept)."""
        return f"http://{self.host}:{self._bound[venue]}"

    def ws_url(self, venue: str) -> str:
        """scheme://host:port of the venue's WebSocket API."""
        return f"ws://{self.host}:{self._bound[venue]}"

    def state(self, venue: str) -> VenueState:
        """Balances, books and orders of one venue."""
        return self.contexts[venue].state

    def book(self, venue: str, symbol: str) -> SimBook:
        """The simulated book of `symbol` on `venue`."""
        return self.contexts[venue].state.books[symbol]

    def elapsed_ms(self) -> int:
        """Milliseconds since the simulator started."""
        return int((self._clock() - self._start) * 1000)

    def set_level(
        self, venue: str, symbol: str, side: str, price: Decimal, amount: Decimal
    ) -> None:
        """Set one book level now (amount 0 deletes it); pushed at the next tick."""
        self.book(venue, symbol).set_level(side, price, amount)

    def replace_book(
        self, venue: str, symbol: str, bids: tuple[Level, ...], asks: tuple[Level, ...]
    ) -> None:
        """Replace a whole book now; the difference is pushed at the next tick."""
        self.book(venue, symbol).replace(bids, asks)

    def flush(self, venue: str) -> None:
        """Push every pending book change of `venue` now instead of at the next tick."""
        ctx = self.contexts[venue]
        for book in ctx.state.books.values():
            delta = book.flush()
            if delta is not None:
                self._push(venue, delta)

    def inject(self, fault: Fault) -> None:
        """Fire or arm a fault now."""
        ctx = self.contexts[fault.venue]
        self.log.record(fault.venue, "fault", fault=str(fault.kind), symbol=fault.symbol)
        if fault.kind in COUNTED or fault.kind in TIMED:
            ctx.faults.arm(fault)
            if fault.kind is FaultKind.OUTAGE:
                ctx.hub.drop_all()
        elif fault.kind is FaultKind.DROP_WS:
            ctx.hub.drop_all()
        elif fault.kind is FaultKind.SKIP_SEQ:
            for book in self._books(fault):
                book.skip_sequence()
        elif fault.kind is FaultKind.CROSSED_BOOK:
            for book in self._books(fault):
                _cross(book, ctx.state.markets[book.symbol].price_step)
        elif fault.kind is FaultKind.MUTE_BOOK:
            protocol = protocols()[fault.venue]
            ctx.hub.mute({t for b in self._books(fault) for t in protocol.topics(b.symbol)})

    def _books(self, fault: Fault) -> list[SimBook]:
        books = self.contexts[fault.venue].state.books
        return [b for s, b in books.items() if not fault.symbol or s == fault.symbol]

    def _push(self, venue: str, delta: BookDelta) -> None:
        protocols()[venue].push(self.contexts[venue], delta)

    def _spawn(self, job: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(self._supervised(job, name))
        self._tasks.append(task)

    async def _supervised(self, job: Awaitable[None], name: str) -> None:
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the one supervisor catch-all, logged
            # a simulator loop must never die silently: tests read `crashes`
            logger.exception("simulator task {} crashed", name)
            self.crashes.append(exc)

    async def _push_loop(self, venue: str) -> None:
        cadence = self.scenario.venues[venue].cadence_ms / 1000
        while True:
            await asyncio.sleep(cadence)
            self.flush(venue)

    async def _walk_loop(self) -> None:
        assert self.walk is not None
        interval = self.walk.spec.interval_ms / 1000
        self.walk.step(0)
        while True:
            await asyncio.sleep(interval)
            self.walk.step(self.elapsed_ms())

    async def _timeline(self) -> None:
        events: list[tuple[int, Callable[[], None]]] = []
        for change in self.scenario.timeline:
            events.append((change.at_ms, _applier(self, change)))
        for fault in self.scenario.faults:
            if fault.at_ms > 0:  # the others were armed at start
                events.append((fault.at_ms, _injector(self, fault)))
        events.sort(key=lambda e: e[0])
        for at_ms, apply in events:
            wait = at_ms / 1000 - (self._clock() - self._start)
            if wait > 0:
                await asyncio.sleep(wait)
            apply()

    async def _log_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self.log.flush()


def _applier(sim: Simulator, change: LevelChange) -> Callable[[], None]:
    def apply() -> None:
        if change.book is not None:
            sim.replace_book(change.venue, change.symbol, change.book.bids, change.book.asks)
        else:
            sim.set_level(change.venue, change.symbol, change.side, change.price, change.amount)

    return apply


def _injector(sim: Simulator, fault: Fault) -> Callable[[], None]:
    return lambda: sim.inject(fault)


def _cross(book: SimBook, tick: Decimal) -> None:
    """Put a bid one tick above the best ask: a crossed book no real venue would show."""
    best_ask = book.best_ask()
    if best_ask is None:
        return
    book.set_level("bid", best_ask + tick, book.asks[best_ask])


def banner(sim: Simulator) -> list[str]:
    """Lines telling a user where each simulated venue listens and how to point arb at it."""
    lines = [f"arb exchange simulator: scenario {sim.scenario.name!r}"]
    for venue, protocol in protocols().items():
        lines.append(
            f"  {venue:<7} REST {sim.rest_url(venue)}  WS {sim.ws_url(venue)}{protocol.ws_path}"
        )
    for venue in protocols():
        lines.append(f"  exchanges.{venue}.rest_url = {sim.rest_url(venue)!r}")
        lines.append(f"  exchanges.{venue}.ws_url = {sim.ws_url(venue)!r}")
    lines.append("  sandbox api key / secret: see [sandbox] in the scenario file")
    return lines


async def serve(
    scenario: Scenario | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_path: Path | None = None,
    ready: Callable[[Simulator], None] | None = None,
) -> None:
    """Run the simulator until cancelled; each venue on `port` + its offset (MEXC +0, Gate +1).

    `port` 0 picks ephemeral ports; `ready` receives the started simulator (e.g. to
    print `banner(sim)`).
    """
    ports = {v: port + p.port_offset if port else 0 for v, p in protocols().items()}
    async with Simulator(scenario, host=host, ports=ports, log_path=log_path) as sim:
        if ready is not None:
            ready(sim)
        await asyncio.Event().wait()
