"""Promises 2 and 3: venue errors back off or trip the breaker, orders are never resent, and
after every injected order failure the ledger holds the true state of every order (checked
against the simulator's own orders) with exposure flat.

The real executor and adapter trade the planted opportunity against the simulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reltools import (
    FLAT_TOLERANCE,
    PLANTED_GATE,
    SYMBOL,
    TRADE_AMOUNT,
    VENUES,
    assert_ledger_is_the_truth,
    btc_exposure,
    btc_held,
    creates,
    plant,
    scenario,
)

from arb.config import Secret, VenueSettings
from arb.domain.opportunity import Opportunity, find_opportunity
from arb.errors import RateLimited, VenueUnavailable
from arb.execution.executor import Executor, IntentState, TradeOutcome
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger
from arb.sim import Fault, FaultKind, Simulator
from arb.venues import Venue
from arb.venues.adapter import OrderResult, OrderStatus

D = Decimal
ACCOUNTS = ("GET", "/api/v4/spot/accounts")


def config(**changes: Any) -> ExecutionSettings:
    values: dict[str, Any] = {
        "max_notional": D(5000),
        "max_exposure": D(5000),
        "settle_delay_s": 0.05,
        "kill_switch_path": None,
    }
    return ExecutionSettings(**(values | changes))


@dataclasses.dataclass
class World:
    sim: Simulator
    venues: dict[str, Venue]
    ledger: Ledger
    path: Path
    start: dict[str, Decimal]

    async def executor(self, **changes: Any) -> Executor:
        settings = config(**changes)
        guard = await RiskGuard.load(self.ledger, settings)
        return Executor(self.venues, self.ledger, settings, guard)

    async def opportunity(self) -> Opportunity:
        books = [await self.venues[v].fetch_order_book(SYMBOL, 5) for v in ("mexc", "gateio")]
        markets = [self.venues[v].market(SYMBOL) for v in ("mexc", "gateio")]
        opp = find_opportunity(*books, *markets, max_notional=D(5000), min_profit=D("0.5"))
        assert opp is not None
        assert opp.amount == D("0.015")
        return opp

    def truth(self) -> list[Any]:
        """The ledger checked against the simulator; the exposure flat."""
        self.ledger.query_sync("SELECT 1")  # every queued write is on disk
        orders = assert_ledger_is_the_truth(self.path, self.sim)
        assert abs(btc_exposure(self.sim, self.start)) <= FLAT_TOLERANCE
        return orders


@contextlib.asynccontextmanager
async def world(
    tmp_path: Path, venue_options: dict[str, Any] | None = None
) -> AsyncIterator[World]:
    path = tmp_path / "ledger.sqlite"
    async with Simulator(scenario()) as sim, contextlib.AsyncExitStack() as stack:
        venues = {}
        for venue_id in VENUES:
            settings = VenueSettings(
                id=venue_id,
                rest_url=sim.rest_url(venue_id),
                ws_url=sim.ws_url(venue_id),
                api_key=Secret(sim.scenario.api_key),
                api_secret=Secret(sim.scenario.api_secret),
            )
            venue = await stack.enter_async_context(Venue(settings, **(venue_options or {})))
            await venue.load_markets()
            venues[venue_id] = venue
        plant(sim)
        ledger = Ledger(path)
        try:
            yield World(sim, venues, ledger, path, btc_held(sim))
        finally:
            ledger.close()
    assert sim.crashes == []


def placed_orders(outcome: TradeOutcome) -> list[tuple[str, str, str]]:
    return [(leg.order.venue, leg.order.role, leg.status) for leg in outcome.orders]


# ---------------------------------------------------------------- promise 2: venue errors


async def test_rate_limited_reads_back_off_and_recover(tmp_path: Path) -> None:
    async with world(tmp_path, {"backoff_s": 0.05}) as w:
        w.sim.inject(Fault(FaultKind.HTTP_429, "gateio", count=3))
        mark = len(w.sim.log.entries)
        balance = await w.venues["gateio"].fetch_balance()
        reads = [
            e
            for e in w.sim.log.entries[mark:]
            if e["kind"] == "http" and (e["method"], e["path"]) == ACCOUNTS
        ]

    assert balance.free["BTC"] == D(1)
    assert [e["status"] for e in reads] == [429, 429, 429, 200]
    gaps = [(b["t_ms"] - a["t_ms"]) / 1000 for a, b in itertools.pairwise(reads)]
    # Exponential waits (0.05 s doubling, plus jitter) between the attempts: lower bounds only.
    assert [g >= floor for g, floor in zip(gaps, (0.045, 0.095, 0.195), strict=True)] == [True] * 3


def test_418_and_5xx_are_retryable_and_418_is_a_rate_limit() -> None:
    from ccxt.base import errors as ccxt_errors  # noqa: PLC0415

    from arb.venues.errors import translate  # noqa: PLC0415

    # ccxt raises DDoSProtection for HTTP 418 and ExchangeNotAvailable for 5xx on both venues
    banned = translate(ccxt_errors.DDoSProtection("mexc 418 I'm a teapot"), "mexc")
    down = translate(ccxt_errors.ExchangeNotAvailable("gate 503 Service Unavailable"), "gateio")
    assert isinstance(banned, RateLimited)
    assert isinstance(down, VenueUnavailable)
    assert not isinstance(down, RateLimited)


class RateLimitedCreate:
    """The real venue; the simulator rate-limits the very request that places the order."""

    def __init__(self, venue: Venue, sim: Simulator) -> None:
        self._venue, self._sim = venue, sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    async def create_order(self, *args: Any, **kwargs: Any) -> OrderResult:
        self._sim.inject(Fault(FaultKind.HTTP_429, self._venue.id))
        return await self._venue.create_order(*args, **kwargs)


async def test_a_rate_limited_order_is_refused_never_resent_and_unwound_to_flat(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        venues = {"mexc": RateLimitedCreate(w.venues["mexc"], w.sim), "gateio": w.venues["gateio"]}
        settings = config()
        guard = await RiskGuard.load(w.ledger, settings)
        ex = Executor(venues, w.ledger, settings, guard)  # type: ignore[arg-type]
        outcome = await ex.execute(opp)
        sent = {v: creates(w.sim, v) for v in VENUES}
        w.ledger.query_sync("SELECT 1")  # every queued write is on disk
        orders = assert_ledger_is_the_truth(w.path, w.sim)
        exposure = btc_exposure(w.sim, w.start)
        tripped = guard.tripped

    # The unwind is a buy on Gate, which takes its 0.2 % taker fee in the BTC received:
    # flat within that fee plus dust below Gate's 3 USDT minimum.
    assert abs(exposure) <= TRADE_AMOUNT * D("0.002") + D(3) / D(63000)
    # A 429 is the venue's refusal before it processes the create: nothing was placed, so
    # the buy is rejected (never resent) and the sold leg is unwound on Gate: flat.
    assert outcome.state is IntentState.ONE_LEGGED
    placed = placed_orders(outcome)
    assert placed[:2] == [("mexc", "leg", "rejected"), ("gateio", "leg", "closed")]
    unwinds = placed[2:]
    assert unwinds
    assert {(venue, role) for venue, role, _ in unwinds} == {("gateio", "unwind")}
    assert sent == {"mexc": 1, "gateio": 1 + len(unwinds)}
    assert len(orders) == len(placed)
    assert tripped is None  # one throttled order is a venue error, not yet a breaker trip


async def test_repeated_venue_errors_trip_the_breaker(tmp_path: Path) -> None:
    async with world(tmp_path, {"backoff_s": 0.001, "read_attempts": 2}) as w:
        opp = await w.opportunity()
        w.sim.inject(Fault(FaultKind.HTTP_429, "gateio", count=1000))
        # Back to back, each after retried reads: not about the opportunity's age.
        ex = await w.executor(max_venue_errors=3, max_opportunity_age_s=30.0)
        outcomes = [await ex.execute(opp) for _ in range(4)]
        tripped = ex.guard.tripped
        sent = sum(creates(w.sim, v) for v in VENUES)
        events = w.ledger.query_sync("SELECT kind, reason FROM breaker_events")

    assert [o.state for o in outcomes] == [IntentState.SKIPPED] * 4
    assert "cannot size" in str(outcomes[0].reason)
    assert tripped is not None
    assert "gateio" in tripped
    assert [e["kind"] for e in events] == ["trip"]
    assert sent == 0


# ---------------------------------------------------------------- promise 3: orders


async def test_a_rejected_leg_ends_flat_and_the_ledger_is_the_truth(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        w.sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, "gateio"))
        outcome = await (await w.executor()).execute(opp)
        orders = w.truth()

    assert outcome.state is IntentState.ONE_LEGGED
    assert placed_orders(outcome) == [
        ("mexc", "leg", "closed"),
        ("gateio", "leg", "rejected"),
        ("mexc", "unwind", "closed"),
    ]
    assert len(orders) == 3


async def test_a_timed_out_order_is_looked_up_not_resent(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        # Its balances come 0.6 s late too, past the default age bound: allowed here.
        ex = await w.executor(order_timeout_s=0.2, max_opportunity_age_s=5.0)
        # MEXC answers after 0.6 s: our create call gives up first, the order is placed anyway
        w.sim.inject(Fault(FaultKind.DELAY, "mexc", delay_ms=600, duration_ms=5000))
        outcome = await ex.execute(opp)
        sent = creates(w.sim, "mexc")
        w.truth()

    assert outcome.state is IntentState.SETTLED
    assert sent == 1
    # the MEXC buy grossed up for its fee in BTC: 0.015008 * 0.9995 = 0.015000496 >= 0.015
    assert (outcome.bought, outcome.sold) == (D("0.015008"), D("0.015"))


async def test_a_5xx_after_placement_is_looked_up_not_resent(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        for venue in VENUES:
            w.sim.inject(Fault(FaultKind.HTTP_5XX_AFTER_PLACE, venue))
        outcome = await (await w.executor()).execute(opp)
        sent = {v: creates(w.sim, v) for v in VENUES}
        w.truth()

    assert outcome.state is IntentState.SETTLED
    assert sent == {"mexc": 1, "gateio": 1}


async def test_a_partial_fill_is_unwound_to_flat(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        # Gate's rich bid is mostly taken before our sell arrives: 0.004 of 0.015 fills.
        w.sim.set_level("gateio", SYMBOL, "bid", D("63400.0"), D("0.004"))
        outcome = await (await w.executor()).execute(opp)
        w.truth()

    assert outcome.state is IntentState.ONE_LEGGED
    fills = {(leg.order.venue, leg.order.role): leg.filled for leg in outcome.orders}
    assert fills[("gateio", "leg")] == D("0.004")
    assert fills[("mexc", "leg")] == D("0.015008")  # grossed up for MEXC's fee in BTC
    # the unwind sells back what MEXC delivered beyond the 0.004 sold, to MEXC's step
    assert fills[("mexc", "unwind")] == D("0.011")  # 0.015008 * 0.9995 - 0.004 = 0.011000496


class LaggingView:
    """The real venue, except its first two answers about each order still say `open`.

    MEXC reports a fresh IOC as NEW for a moment; the executor then cancels it while the
    venue has already finished it: the cancel races the fill and is refused.
    """

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._seen: dict[str, int] = {}
        self.cancels: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    async def fetch_order(self, symbol: str, **ids: Any) -> OrderResult | None:
        found = await self._venue.fetch_order(symbol, **ids)
        if found is None:
            return found
        seen = self._seen[str(found.id)] = self._seen.get(str(found.id), 0) + 1
        return dataclasses.replace(found, status=OrderStatus.OPEN) if seen <= 2 else found

    async def cancel_order(self, symbol: str, order_id: str) -> OrderResult:
        self.cancels.append(order_id)
        return await self._venue.cancel_order(symbol, order_id)


async def test_a_cancel_that_races_the_fill_leaves_the_true_fill(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        lagging = {v: LaggingView(venue) for v, venue in w.venues.items()}
        settings = config()
        guard = await RiskGuard.load(w.ledger, settings)
        ex = Executor(lagging, w.ledger, settings, guard)  # type: ignore[arg-type]
        outcome = await ex.execute(opp)
        cancels = {v: len(view.cancels) for v, view in lagging.items()}
        w.truth()

    assert outcome.state is IntentState.SETTLED
    # the MEXC buy grossed up for its fee in BTC: 0.015008 * 0.9995 = 0.015000496 >= 0.015
    assert (outcome.bought, outcome.sold) == (D("0.015008"), D("0.015"))
    assert cancels == {"mexc": 1, "gateio": 1}


@pytest.mark.parametrize("venue", VENUES)
async def test_no_order_is_ever_sent_twice(tmp_path: Path, venue: str) -> None:
    async with world(tmp_path) as w:
        opp = await w.opportunity()
        for kind in (FaultKind.HTTP_5XX_AFTER_PLACE, FaultKind.REJECT_NEXT_ORDER):
            w.sim.inject(Fault(kind, venue))
            await (await w.executor(max_consecutive_failures=10)).execute(opp)
            w.sim.replace_book("gateio", SYMBOL, *PLANTED_GATE)
        orders = w.truth()
        requests = [
            e["query"] + e["body"]
            for v in VENUES
            for e in w.sim.log.of(v, "http")
            if (e["method"], e["path"])
            in (("POST", "/api/v3/order"), ("POST", "/api/v4/spot/orders"))
        ]

    ids = [o["client_order_id"] for o in orders]
    assert len(ids) == len(set(ids))
    # Every client order id appears in exactly one create request.
    for cid in ids:
        assert sum(cid in r for r in requests) == 1, cid
