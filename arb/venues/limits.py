"""Our own rate limiter: the venues' documented per-endpoint budgets, charged by weight.

Each venue profile names its buckets (one per endpoint the venue counts on its own) and
what each adapter call spends of them (`Charge`: bucket, weight, per market or not, and
the weight by the levels a snapshot asks for where the venue weighs it so). A heavy call
(MEXC's tradeFee weighs 20, depth 1) waits in proportion to its weight, and endpoints with
their own limits never queue behind each other: an order never waits behind a burst of
book snapshots.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Call(StrEnum):
    """The venue calls the adapter makes, each priced in every venue profile."""

    LOAD_MARKETS = "load_markets"
    FETCH_ORDER_BOOK = "fetch_order_book"
    FETCH_BALANCE = "fetch_balance"
    FETCH_TRADING_FEE = "fetch_trading_fee"
    FETCH_ORDER = "fetch_order"
    CREATE_ORDER = "create_order"
    CANCEL_ORDER = "cancel_order"


@dataclass(frozen=True, slots=True)
class Budget:
    """A token bucket in weight units: `per_second` sustained, `burst` at once."""

    per_second: float
    burst: float


def window(limit: float, seconds: float, burst: float) -> Budget:
    """A bucket that never spends more than `limit` in any `seconds`-long window.

    Venues count fixed or sliding windows ("500 every 10 seconds"); a bucket that allows
    `burst` at once and then `(limit - burst) / seconds` stays inside either kind.
    """
    if not 0 < burst < limit or seconds <= 0:
        raise ValueError(f"a window needs 0 < burst < limit and a positive length: {limit=}")
    return Budget((limit - burst) / seconds, burst)


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call spends of one bucket."""

    bucket: str  # the venue's endpoint (or endpoint group) with its own limit
    weight: float = 1.0  # without a limit in the request: what the venue's default costs
    per_market: bool = False  # counted per symbol (Gate: order placement per UID and market)
    # The weight by the request's `limit` (levels asked for), as (up to this limit, weight)
    # steps in ascending order; a limit past the last step is charged the last weight.
    by_limit: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        tops = [top for top, _ in self.by_limit]
        if tops != sorted(set(tops)):
            raise ValueError(f"by_limit steps must ascend: {self.by_limit}")

    def weight_for(self, limit: int | None) -> float:
        """The weight of one request asking for `limit` levels (None: the venue's default)."""
        if limit is None or not self.by_limit:
            return self.weight
        return next((w for top, w in self.by_limit if limit <= top), self.by_limit[-1][1])


class TokenBucket:
    """A token bucket that hands out slots in call order without a lock.

    Each caller takes its weight at once, driving the balance negative if need be, and
    then sleeps until its slot comes: callers are served first come, first served, and a
    burst is never exceeded.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if budget.per_second <= 0 or budget.burst <= 0:
            raise ValueError(f"a budget needs a positive rate and burst: {budget}")
        self._rate = budget.per_second
        self._burst = float(budget.burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst
        self._stamp = clock()

    def scale(self, fraction: float) -> None:
        """Keep `fraction` of the budget from now on (its rate, burst and tokens held)."""
        self._refill()
        self._rate *= fraction
        self._burst *= fraction
        self._tokens *= fraction

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def reserve(self, weight: float = 1.0) -> float:
        """Take `weight` tokens now and return how many seconds to wait before using them."""
        self._refill()
        self._tokens -= weight
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def wait_for(self, weight: float = 1.0) -> float:
        """Seconds `weight` taken now would wait, without taking it."""
        self._refill()
        left = self._tokens - weight
        return 0.0 if left >= 0 else -left / self._rate

    async def acquire(self, weight: float = 1.0) -> None:
        """Wait for one request's slot."""
        wait = self.reserve(weight)
        if wait > 0:
            await self._sleep(wait)


class RateLimiter:
    """One venue's budgets: every call is charged to its endpoints' buckets by weight."""

    def __init__(
        self,
        budgets: Mapping[str, Budget],
        costs: Mapping[Call, tuple[Charge, ...]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        unpriced = [c.value for c in Call if not costs.get(c)]
        unknown = sorted({ch.bucket for chs in costs.values() for ch in chs} - set(budgets))
        if unpriced or unknown:
            raise ValueError(f"rate costs incomplete: unpriced {unpriced}, unknown {unknown}")
        self._budgets = budgets
        self._costs = costs
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._shares: dict[str, float] = {}  # bucket -> the fraction this process may spend

    def share(self, calls: tuple[Call, ...], fraction: float) -> None:
        """Spend only `fraction` of every bucket that `calls` are charged to, from now on.

        Processes that share an IP or an account split its budgets: `arb scan --workers N`
        gives the parent and each worker the book snapshots' (and market loads') buckets
        in N + 1 parts; buckets only the parent uses (orders, say) stay whole.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"a share is a fraction in (0, 1], got {fraction}")
        for bucket in {ch.bucket for call in calls for ch in self._costs[call]}:
            self._shares[bucket] = self._shares.get(bucket, 1.0) * fraction
            for (name, _), held in self._buckets.items():
                if name == bucket:
                    held.scale(fraction)

    def reserve(self, call: Call, symbol: str | None = None, *, limit: int | None = None) -> float:
        """Charge `call` now; the seconds to wait until every bucket it spends allows it.

        `limit` is the number of levels the request asks for, where the weight depends on it.
        """
        wait = 0.0
        for charge in self._costs[call]:
            if charge.per_market and symbol is None:
                raise ValueError(f"{call} is limited per market: pass its symbol")
            key = (charge.bucket, symbol if charge.per_market and symbol else "")
            bucket = self._buckets.get(key)
            if bucket is None:
                budget = self._budgets[charge.bucket]
                bucket = TokenBucket(budget, clock=self._clock, sleep=self._sleep)
                bucket.scale(self._shares.get(charge.bucket, 1.0))
                self._buckets[key] = bucket
            wait = max(wait, bucket.reserve(charge.weight_for(limit)))
        return wait

    def wait_for(self, call: Call, symbol: str | None = None) -> float:
        """Seconds `call` made now would wait, without charging it."""
        wait = 0.0
        for charge in self._costs[call]:
            key = (charge.bucket, symbol if charge.per_market and symbol else "")
            bucket = self._buckets.get(key)
            if bucket is not None:  # a bucket not made yet is full
                wait = max(wait, bucket.wait_for(charge.weight_for(None)))
        return wait

    async def acquire(
        self, call: Call, symbol: str | None = None, *, limit: int | None = None
    ) -> None:
        """Wait for `call`'s slot (its symbol for budgets counted per market, its limit)."""
        wait = self.reserve(call, symbol, limit=limit)
        if wait > 0:
            await self._sleep(wait)
