"""Our own per-venue rate limiter: separate budgets so an order never waits behind a read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from arb.venues.profiles import Budget, VenueProfile


class Lane(StrEnum):
    """Which budget a request spends."""

    READ = "read"
    ORDER = "order"


class TokenBucket:
    """A token bucket that hands out slots in call order without a lock.

    Each caller takes a token at once, driving the balance negative if need be, and then
    sleeps until its slot comes: callers are served first come, first served, and a
    burst is never exceeded.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if budget.per_second <= 0 or budget.burst < 1:
            raise ValueError(f"a budget needs a positive rate and burst: {budget}")
        self._rate = budget.per_second
        self._burst = float(budget.burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst
        self._stamp = clock()

    def reserve(self) -> float:
        """Take one token now and return how many seconds to wait before using it."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def acquire(self) -> None:
        """Wait for one request's slot."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


class RateLimiter:
    """One venue's budgets: reads and orders are counted and queued apart."""

    def __init__(
        self,
        profile: VenueProfile,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._lanes = {
            Lane.READ: TokenBucket(profile.reads, clock=clock, sleep=sleep),
            Lane.ORDER: TokenBucket(profile.orders, clock=clock, sleep=sleep),
        }

    async def acquire(self, lane: Lane) -> None:
        """Wait for a slot in `lane`'s budget."""
        await self._lanes[lane].acquire()
