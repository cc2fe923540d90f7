"""Our rate limiter: bursts, then the documented pace, with orders never behind reads."""

from __future__ import annotations

import pytest

from arb.venues.limits import Lane, RateLimiter, TokenBucket
from arb.venues.profiles import Budget, profile_for


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_a_bucket_allows_its_burst_then_paces_at_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(Budget(per_second=10.0, burst=3), clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert t.slept == []
    await bucket.acquire()
    await bucket.acquire()
    assert t.slept == pytest.approx([0.1, 0.2])  # queued one slot after the other


async def test_a_bucket_refills_with_time_up_to_its_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(Budget(per_second=10.0, burst=2), clock=t.clock, sleep=t.sleep)
    await bucket.acquire()
    await bucket.acquire()
    t.now += 60.0  # a long pause refills to the burst, not beyond
    for _ in range(2):
        await bucket.acquire()
    assert t.slept == []
    await bucket.acquire()
    assert t.slept == pytest.approx([0.1])


async def test_an_order_never_waits_behind_exhausted_reads() -> None:
    t = FakeTime()
    limiter = RateLimiter(profile_for("mexc"), clock=t.clock, sleep=t.sleep)
    for _ in range(40):
        await limiter.acquire(Lane.READ)
    waited_on_reads = len(t.slept)
    await limiter.acquire(Lane.ORDER)
    assert waited_on_reads > 0
    assert len(t.slept) == waited_on_reads  # the order took its own budget at once


def test_profiles_carry_the_documented_budgets() -> None:
    mexc, gate = profile_for("mexc"), profile_for("gate")
    assert (mexc.reads.per_second, mexc.orders.per_second) == (20.0, 12.0)
    assert (gate.reads.per_second, gate.orders.per_second) == (20.0, 10.0)
    assert gate.venue_id == "gateio"
    assert gate.ccxt_id == "gate"
