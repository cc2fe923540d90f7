"""Promise 1: dropped, gapped, crossed or stale feeds never feed an opportunity; others go on.

The scan pipeline (the one `arb scan` and `arb run` use) runs with real ccxt.pro clients
through our adapter against the simulator, with a planted opportunity. Faults are injected
on Gate while the world changes; the opportunity events the scanner emits are then checked
against what a book from the faulty feed would have shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal

import pytest
from aiohttp import web
from reltools import SYMBOL, calm, eventually, plant, scenario, ticking

from arb.config import Settings, load_settings
from arb.log import HotLog
from arb.scan.command import sandbox_settings
from arb.scan.detector import OpportunityEvent
from arb.scan.engine import SWEEP_S, Pipeline, open_markets
from arb.sim import Fault, FaultKind, Simulator, load_scenario
from arb.venues import Venue
from arb.venues.books import BookState, _Stream
from arb.venues.profiles import profile_for

D = Decimal
FAST = {"ready_timeout": 0.3, "retry_delay": 0.05}


@dataclasses.dataclass
class Scan:
    """A running pipeline and every opportunity event it emitted."""

    pipeline: Pipeline
    events: list[OpportunityEvent]


@contextlib.asynccontextmanager
async def scanning(
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    sweep_s: float = SWEEP_S,
    exchanges: str = "mexc,gateio",
) -> AsyncIterator[Scan]:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_MARKET_DATA__MAX_AGE_MS", "2000")
    monkeypatch.setenv("ARB_EXCHANGES", exchanges)
    settings: Settings = sandbox_settings(load_settings(None), sim)
    events: list[OpportunityEvent] = []
    hot = HotLog()
    async with contextlib.AsyncExitStack() as stack:
        venues = {
            v: await stack.enter_async_context(Venue(settings.venue(v))) for v in settings.exchanges
        }
        table, failed = await open_markets(settings, venues)
        assert failed == {}
        pipeline = Pipeline(
            settings,
            venues,
            table,
            settings.symbols,
            events.append,
            hot=hot,
            stream_options=FAST,
            sweep_s=sweep_s,
        )
        task = asyncio.create_task(pipeline.run())
        try:
            yield Scan(pipeline, events)
            assert not task.done(), "the pipeline stopped"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            hot.close()


@contextlib.contextmanager
def gate_down(sim: Simulator) -> Iterator[None]:
    """Gate's WebSocket is down: open connections are cut and new handshakes get a 503."""
    hub = sim.contexts["gateio"].hub

    async def refuse(request: web.Request, on_text: object) -> web.WebSocketResponse:
        raise web.HTTPServiceUnavailable

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hub, "serve", refuse)
        hub.drop_all()
        yield


def after(events: list[OpportunityEvent], t: float) -> list[OpportunityEvent]:
    return [e for e in events if e.arrived_at >= t]


def amounts(events: list[OpportunityEvent]) -> set[Decimal]:
    return {e.opportunity.amount for e in events}


async def planted(sim: Simulator, scan: Scan) -> None:
    plant(sim)
    await eventually(lambda: bool(scan.events), what="the planted opportunity")
    assert amounts(scan.events) == {D("0.015")}


def shrink_gate_bid_and_move_mexc(sim: Simulator) -> None:
    """The truth changes on both venues: Gate's rich bid shrinks, MEXC's best ask too."""
    sim.set_level("gateio", SYMBOL, "bid", D("63400.0"), D("0.012"))
    sim.set_level("mexc", SYMBOL, "ask", D("63000.00"), D("0.008"))


async def test_a_disconnected_feed_is_never_used_and_comes_back_resynced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator(scenario()) as sim, ticking(sim, 0.05), scanning(sim, monkeypatch) as scan:
        await planted(sim, scan)
        with gate_down(sim):
            await asyncio.sleep(0.2)
            changed = time.monotonic()
            # MEXC's change triggers evaluations: with Gate's last (pre-drop) book they
            # would price 0.015 BTC against a bid that is now 0.012.
            shrink_gate_bid_and_move_mexc(sim)
            await asyncio.sleep(0.5)
            during = after(scan.events, changed)
        await eventually(lambda: bool(after(scan.events, changed)), what="Gate back")
        resyncs = scan.pipeline.feeds["gateio"].resyncs

    assert during == []
    assert amounts(after(scan.events, changed)) == {D("0.012")}
    assert resyncs >= 1


async def test_a_dropped_connection_is_freed_not_left_for_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its ccxt client and aiohttp WebSocket live in reference cycles, with a ~340 KB zlib
    # compressor the collector does not count: `arb scan` grew 0.4 MB/min under faults
    # while they waited for the collector's own schedule. The pipeline frees them itself;
    # the test process's automatic collector is off so that it cannot do that job.
    gc.disable()
    try:
        async with (
            Simulator(scenario()) as sim,
            ticking(sim, 0.05),
            scanning(sim, monkeypatch, sweep_s=0.2) as scan,
        ):
            await planted(sim, scan)
            exchange = scan.pipeline.venues["gateio"]._stream_exchange(SYMBOL)
            dropped = [weakref.ref(c) for c in exchange.clients.values()]
            dropped += [weakref.ref(c.connection) for c in exchange.clients.values()]
            changed = time.monotonic()
            assert sim.contexts["gateio"].hub.drop_all() >= 1
            shrink_gate_bid_and_move_mexc(sim)
            await eventually(lambda: bool(after(scan.events, changed)), what="Gate back")
            await eventually(
                lambda: all(ref() is None for ref in dropped), what="the dropped client freed"
            )
            live = [not c.closed() for c in exchange.clients.values()]
    finally:
        gc.enable()

    assert len(dropped) == 2  # the one client and its connection
    assert live == [True]  # a new connection, open


async def test_a_stale_feed_is_refused_until_a_fresh_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator(scenario()) as sim, ticking(sim, 0.05), scanning(sim, monkeypatch) as scan:
        await planted(sim, scan)
        start = time.monotonic()
        sim.inject(Fault(FaultKind.STALE, "gateio", stale_ms=60_000, duration_ms=1200))
        fresh_again = start + 1.2
        await asyncio.sleep(0.2)
        changed = time.monotonic()
        shrink_gate_bid_and_move_mexc(sim)
        await eventually(lambda: bool(after(scan.events, changed)), what="a fresh Gate book")
        refused = scan.pipeline.detector.stats.stale_refused.get("gateio", 0)

    # Nothing was decided on a Gate book that arrived while its clock lagged 60 s.
    assert all(e.arrived_at >= fresh_again for e in after(scan.events, changed))
    assert amounts(after(scan.events, changed)) == {D("0.012")}
    assert refused > 0


async def test_a_crossed_feed_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Simulator(scenario()) as sim, ticking(sim, 0.05), scanning(sim, monkeypatch) as scan:
        await planted(sim, scan)
        # A bid one tick above Gate's best ask (63410.1 for 1 BTC): used, it would sell
        # a whole BTC at 63410.1.
        sim.inject(Fault(FaultKind.CROSSED_BOOK, "gateio", symbol=SYMBOL))
        await asyncio.sleep(0.2)
        changed = time.monotonic()
        sim.set_level("mexc", SYMBOL, "ask", D("63000.00"), D("0.008"))
        await asyncio.sleep(0.5)
        uncrossed = time.monotonic()
        sim.set_level("gateio", SYMBOL, "bid", D("63410.1"), D(0))
        await eventually(lambda: bool(after(scan.events, changed)), what="Gate uncrossed")
        resyncs = scan.pipeline.feeds["gateio"].resyncs

    assert all(e.arrived_at >= uncrossed for e in after(scan.events, changed))
    assert all(e.opportunity.sell_limit_price <= D("63400") for e in scan.events)
    assert resyncs >= 1


async def test_a_gapped_feed_is_resynced_before_it_is_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator(scenario()) as sim, ticking(sim, 0.05), scanning(sim, monkeypatch) as scan:
        await planted(sim, scan)
        resyncs = scan.pipeline.feeds["gateio"].resyncs
        # The change rides in the push that skips a sequence number: it must come from
        # the resync, never from applying the gapped delta.
        sim.inject(Fault(FaultKind.SKIP_SEQ, "gateio", symbol=SYMBOL))
        changed = time.monotonic()
        sim.set_level("gateio", SYMBOL, "bid", D("63400.0"), D("0.012"))
        await eventually(lambda: bool(after(scan.events, changed)), what="Gate resynced")
        gapped = scan.pipeline.feeds["gateio"].resyncs - resyncs

    assert gapped >= 1
    assert amounts(after(scan.events, changed)) == {D("0.012")}


async def test_books_of_a_venue_that_stays_down_do_not_stop_the_other_venue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The default scenario: four symbols moving on both venues.
    scenario_ = dataclasses.replace(load_scenario(), name="busy")
    async with Simulator(scenario_) as sim, scanning(sim, monkeypatch) as scan:
        feeds = scan.pipeline.feeds
        symbols = scan.pipeline.symbols
        await eventually(
            lambda: all(s in feeds[v].books for v in ("mexc", "gateio") for s in symbols),
            what="every book streaming",
        )
        with gate_down(sim):
            await asyncio.sleep(0.3)
            connects = len(sim.log.of("gateio", "ws_connect"))
            down_since = time.monotonic()
            await asyncio.sleep(1.0)
            mexc_fresh = [s for s in symbols if feeds["mexc"].books[s] > down_since]
            gate_fresh = [s for s in symbols if feeds["gateio"].books[s] > down_since]
            attempts = len(sim.log.of("gateio", "ws_connect")) - connects
            gate_state = feeds["gateio"].state
            usable = [
                s
                for s in symbols
                if scan.pipeline.detector.usable_book("gateio", s, time.monotonic())
            ]
        back = time.monotonic()
        await eventually(
            lambda: all(feeds["gateio"].books[s] > back for s in symbols), what="Gate back"
        )

    assert mexc_fresh == list(symbols)
    assert len(symbols) >= 3
    assert gate_fresh == []
    assert usable == []
    assert gate_state != "connected"
    # Backing off: a handful of reconnects in 1 s, not a hot loop.
    assert 1 <= attempts <= 20


@contextlib.asynccontextmanager
async def ticking_mexc(sim: Simulator, every: float = 0.05) -> AsyncIterator[None]:
    """Move a deep, harmless MEXC bid only: Gate stays quiet, as a calm market is."""

    async def tick() -> None:
        n = 0
        while True:
            n += 1
            sim.set_level("mexc", SYMBOL, "bid", D("60000.00"), D(1 + n % 2))
            await asyncio.sleep(every)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def gate_top(scan: Scan) -> tuple[float, float] | None:
    book = scan.pipeline.detector.usable_book("gateio", SYMBOL, time.monotonic())
    return None if book is None else (book.bids[0][0], book.asks[0][0])


async def test_a_stray_gate_snapshot_never_brings_back_a_gone_edge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Gate "may send full depth snapshots multiple times". The stray here is the snapshot
    # the first subscription started from (the planted edge, an older `u`), arriving
    # right after the resubscription's own; Gate is quiet afterwards, so no delta exposes
    # it, and pongs keep the connection alive.
    async with Simulator(scenario()) as sim, ticking_mexc(sim):
        plant(sim)
        async with scanning(sim, monkeypatch) as scan:
            await eventually(lambda: bool(scan.events), what="the planted opportunity")
            calm(sim)
            await eventually(lambda: gate_top(scan) == (62900.0, 63410.0), what="Gate calm")
            calmed = time.monotonic()
            subscribes = gate_subscribes(sim)
            sim.inject(Fault(FaultKind.STRAY_SNAPSHOT, "gateio", symbol=SYMBOL))
            # A gap makes arb unsubscribe and subscribe again: the stray rides on that.
            sim.inject(Fault(FaultKind.SKIP_SEQ, "gateio", symbol=SYMBOL))
            sim.set_level("gateio", SYMBOL, "bid", D("60000.0"), D(1))
            await eventually(lambda: bool(sim.log.of("gateio", "stray_snapshot")), what="a stray")
            await asyncio.sleep(3.0)  # longer than max_age_ms: pongs keep Gate alive
            top = gate_top(scan)
            resubscribed = gate_subscribes(sim) > subscribes

    assert resubscribed
    assert after(scan.events, calmed) == []
    assert top == (62900.0, 63410.0)


async def test_a_silent_gate_book_is_resubscribed_and_never_used_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Gate's subscription goes dead while its connection answers pings, and the edge goes
    # away unseen. Gate pushes book changes on a fixed cadence, so a book silent for
    # max_silence_ms (longer than max_age_ms here: pongs alone would keep it in use) is
    # dropped and resubscribed, which brings the truth back.
    monkeypatch.setenv("ARB_MARKET_DATA__MAX_SILENCE_MS", "2500")
    async with Simulator(scenario()) as sim, ticking_mexc(sim), scanning(sim, monkeypatch) as scan:
        await planted(sim, scan)
        subscribes = gate_subscribes(sim)
        sim.inject(Fault(FaultKind.MUTE_BOOK, "gateio", symbol=SYMBOL))
        calm(sim)  # never reaches the dead subscription
        await asyncio.sleep(3.2)
        changed = time.monotonic()
        # With Gate's frozen book this MEXC change would price 0.008 BTC against the gone bid.
        sim.set_level("mexc", SYMBOL, "ask", D("63000.00"), D("0.008"))
        await asyncio.sleep(0.5)
        during = after(scan.events, changed)
        await eventually(lambda: gate_top(scan) == (62900.0, 63410.0), what="Gate's truth")
        resubscribed = gate_subscribes(sim) > subscribes

    assert during == []
    assert after(scan.events, changed) == []
    assert resubscribed


def gate_subscribes(sim: Simulator) -> int:
    frames = [e["frame"] for e in sim.log.of("gateio", "ws_in")]
    return sum(1 for f in frames if isinstance(f, dict) and f.get("event") == "subscribe")


def stream_with(failures: int, retry: float, cap: float) -> _Stream:
    state = BookState(venue="gateio", symbol=SYMBOL, clock=time.monotonic, failures=failures)
    fetch: Callable[..., object] = lambda *a: None  # noqa: E731 - never called
    rules = profile_for("gateio").books
    assert rules is not None
    return _Stream(None, state, 5, rules, None, None, 0.3, retry, cap, 1.0, fetch)  # type: ignore[arg-type]


def test_reconnect_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    waits = {n: [stream_with(n, 0.5, 30.0).backoff() for _ in range(50)] for n in range(1, 10)}
    assert waits[1] == [0.0] * 50  # the first resync after a valid book is immediate
    for n in range(2, 10):
        base = min(30.0, 0.5 * 2 ** (n - 2))
        assert all(base / 2 <= w <= base for w in waits[n]), (n, waits[n])
        assert len(set(waits[n])) > 1  # jittered: books of one dropped connection spread out
    assert max(waits[9]) <= 30.0
