"""Our rate limiter: per-endpoint budgets charged by weight, as the venues document them.

The clock is injected and only moves when a test moves it: no test here waits for real time.
"""

from __future__ import annotations

import pytest

from arb.venues.limits import Budget, Call, Charge, RateLimiter, TokenBucket, window
from arb.venues.profiles import profile_for, scan_only, trade_profiles


class FakeTime:
    """A clock that only moves when the test moves it; sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def limiter_for(venue: str, t: FakeTime) -> RateLimiter:
    profile = profile_for(venue)
    return RateLimiter(profile.budgets, profile.costs, clock=t.clock, sleep=t.sleep)


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


def test_a_heavier_call_waits_in_proportion_to_its_weight() -> None:
    t = FakeTime()
    bucket = TokenBucket(Budget(per_second=10.0, burst=10), clock=t.clock)
    assert bucket.reserve(10) == 0.0  # the whole burst at once
    assert bucket.reserve(1) == pytest.approx(0.1)
    assert bucket.reserve(20) == pytest.approx(2.1)  # twenty tokens more: two seconds more


def test_mexc_trade_fee_weighs_twenty_depth_snapshots() -> None:
    t = FakeTime()
    limiter = limiter_for("mexc", t)
    rate = profile_for("mexc").budgets["GET /api/v3/tradeFee"].per_second
    # weight 20 against a burst of 50: two at once, then one every 20 / rate seconds
    waits = [limiter.reserve(Call.FETCH_TRADING_FEE, "BTC/USDT") for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 10 / rate, 30 / rate])
    depth = [limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT") for _ in range(51)]
    assert depth[:50] == [0.0] * 50  # weight 1: fifty snapshots fit the same burst
    assert depth[50] == pytest.approx(1 / rate)


@pytest.mark.parametrize(
    ("limit", "fit"),
    # Binance's depth weight by limit: 1-100 -> 5, 101-500 -> 25, 501-1000 -> 50,
    # 1001-5000 -> 250; no limit is its default 100 levels. The reads' burst is 540.
    [(None, 108), (20, 108), (100, 108), (101, 21), (500, 21), (1000, 10), (5000, 2)],
)
def test_binance_depth_snapshots_weigh_by_the_levels_asked_for(limit: int | None, fit: int) -> None:
    t = FakeTime()
    limiter = limiter_for("binance", t)
    waits = [
        limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT", limit=limit) for _ in range(fit + 1)
    ]
    assert waits[:fit] == [0.0] * fit
    assert waits[fit] > 0.0


def test_300_binance_books_start_at_the_weight_of_100_levels() -> None:
    # The book stream asks for no limit at arb's depths up to 100 (Binance's default 100
    # levels, weight 5): 300 snapshots spend 1,500 of the reads' 5,400 a minute, not 7,500.
    t = FakeTime()
    limiter = limiter_for("binance", t)
    reads = profile_for("binance").budgets["REQUEST_WEIGHT"]
    waits = [limiter.reserve(Call.FETCH_ORDER_BOOK, f"S{i}/USDT", limit=None) for i in range(300)]
    assert waits[-1] == pytest.approx((300 * 5 - reads.burst) / reads.per_second)
    assert waits[-1] < 12.0


@pytest.mark.parametrize("venue", ["okx", "bybit", "gateio", "mexc"])
def test_other_venues_count_a_snapshot_the_same_at_any_depth(venue: str) -> None:
    # OKX (40 requests / 2 s), Bybit (600 / 5 s per IP), Gate (200 / 10 s) count requests,
    # and MEXC documents depth at weight 1 for any limit up to 5000.
    waits = {}
    for limit in (None, 5, 400):
        t = FakeTime()
        limiter = limiter_for(venue, t)
        waits[limit] = [
            limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT", limit=limit) for _ in range(80)
        ]
    assert waits[None] == waits[5] == waits[400]
    assert waits[None][-1] > 0.0  # the budget binds: the depth did not change what it spends


def test_weights_by_limit_are_steps_in_ascending_order() -> None:
    charge = Charge("depth", 5, by_limit=((100, 5.0), (500, 25.0)))
    assert [charge.weight_for(n) for n in (None, 1, 100, 101, 500, 9999)] == [5, 5, 5, 25, 25, 25]
    with pytest.raises(ValueError, match="ascend"):
        Charge("depth", 5, by_limit=((500, 25.0), (100, 5.0)))


def test_a_window_budget_never_spends_more_than_the_venue_counts() -> None:
    # A thousand calls at once on MEXC's depth endpoint: no 10 s window (sliding, so
    # fixed windows too) holds more than the documented 500 weight.
    t = FakeTime()
    limiter = limiter_for("mexc", t)
    starts = sorted(t.now + limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT") for _ in range(1000))
    for i, first in enumerate(starts):
        inside = sum(1 for s in starts[i:] if s < first + 10.0)
        assert inside <= 500, (first, inside)
    assert window(500, 10, burst=50) == Budget(per_second=45.0, burst=50)
    with pytest.raises(ValueError, match="burst < limit"):
        window(10, 1, burst=10)


def test_gate_endpoints_do_not_starve_each_other() -> None:
    t = FakeTime()
    limiter = limiter_for("gateio", t)
    book_waits = [limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT") for _ in range(100)]
    assert book_waits[-1] > 3.0  # the order-book endpoint is far behind ...
    # ... while balances, fees, order queries and orders each have their own budget
    for call in (Call.FETCH_BALANCE, Call.FETCH_TRADING_FEE, Call.FETCH_ORDER, Call.CANCEL_ORDER):
        assert limiter.reserve(call, "BTC/USDT") == 0.0, call
    assert limiter.reserve(Call.CREATE_ORDER, "BTC/USDT") == 0.0


def test_gate_order_placement_is_limited_per_market() -> None:
    t = FakeTime()
    limiter = limiter_for("gateio", t)
    btc = [limiter.reserve(Call.CREATE_ORDER, "BTC/USDT") for _ in range(4)]
    assert btc[:2] == [0.0, 0.0]  # 10 r/s per market, burst 2
    assert btc[3] > btc[2] > 0
    assert limiter.reserve(Call.CREATE_ORDER, "ETH/USDT") == 0.0  # another market: its own
    with pytest.raises(ValueError, match="per market"):
        limiter.reserve(Call.CREATE_ORDER)


def test_gate_markets_spend_both_currency_pair_endpoints() -> None:
    t = FakeTime()
    limiter = limiter_for("gateio", t)
    burst = profile_for("gateio").budgets["GET /margin/currency_pairs"].burst
    for _ in range(int(burst)):
        assert limiter.reserve(Call.LOAD_MARKETS) == 0.0
    assert limiter.reserve(Call.LOAD_MARKETS) > 0.0


async def test_an_order_never_waits_behind_exhausted_reads() -> None:
    for venue in trade_profiles():
        t = FakeTime()
        limiter = limiter_for(venue, t)
        for _ in range(200):
            await limiter.acquire(Call.FETCH_ORDER_BOOK, "BTC/USDT")
            await limiter.acquire(Call.FETCH_BALANCE)
        waited_on_reads = len(t.slept)
        await limiter.acquire(Call.CREATE_ORDER, "BTC/USDT")
        assert waited_on_reads > 0
        assert len(t.slept) == waited_on_reads, venue  # the order took its own budget at once


def test_every_profile_prices_every_call_against_its_own_buckets() -> None:
    for profile in (*trade_profiles().values(), scan_only("kucoin")):
        RateLimiter(profile.budgets, profile.costs)  # raises when a call or bucket is missing
    with pytest.raises(ValueError, match="unpriced"):
        RateLimiter({"a": Budget(1.0, 1.0)}, {Call.LOAD_MARKETS: (Charge("a"),)})
    mexc = profile_for("mexc")
    assert mexc.costs[Call.FETCH_BALANCE] == (Charge("GET /api/v3/account", 10),)
    assert mexc.costs[Call.FETCH_ORDER_BOOK] == (Charge("GET /api/v3/depth", 1),)
    gate = profile_for("gate")
    assert gate.venue_id == "gateio"
    assert gate.ccxt_id == "gate"


def test_processes_sharing_an_ip_split_the_snapshot_budget_not_the_order_budget() -> None:
    # `arb scan --workers 2`: the parent and two workers open Binance from one IP, so each
    # spends a third of the reads' 540 burst (108 snapshots at weight 5 become 36); orders,
    # placed by the parent alone, keep their whole budget.
    t = FakeTime()
    limiter = limiter_for("binance", t)
    limiter.share((Call.FETCH_ORDER_BOOK, Call.LOAD_MARKETS), 1 / 3)
    waits = [limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT") for _ in range(37)]
    assert waits[:36] == [0.0] * 36
    reads = profile_for("binance").budgets["REQUEST_WEIGHT"]
    assert waits[36] == pytest.approx(5 / (reads.per_second / 3))
    orders = [limiter.reserve(Call.CREATE_ORDER, "BTC/USDT") for _ in range(10)]
    assert orders == [0.0] * 10


def test_a_share_taken_after_spending_keeps_the_debt_in_proportion() -> None:
    t = FakeTime()
    limiter = limiter_for("binance", t)
    reads = profile_for("binance").budgets["REQUEST_WEIGHT"]
    for _ in range(216):  # twice the burst: 540 weight owed, 6.7 s of the whole budget
        limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT")
    limiter.share((Call.FETCH_ORDER_BOOK,), 0.5)
    # Half the debt at half the rate: still the same 6.7 s to pay off, not twice as long.
    rate = reads.per_second / 2
    t.now += 1.0
    wait = limiter.reserve(Call.FETCH_ORDER_BOOK, "BTC/USDT")
    assert wait == pytest.approx((270 - rate + 5) / rate)


def test_asking_how_long_a_call_would_wait_spends_nothing() -> None:
    t = FakeTime()
    limiter = limiter_for("mexc", t)
    assert limiter.wait_for(Call.FETCH_BALANCE) == 0.0  # nothing spent yet
    first = [limiter.reserve(Call.FETCH_BALANCE) for _ in range(40)]
    ahead = limiter.wait_for(Call.FETCH_BALANCE)
    assert ahead > 0.0
    assert limiter.wait_for(Call.FETCH_BALANCE) == ahead  # asking twice spends nothing
    assert limiter.reserve(Call.FETCH_BALANCE) == pytest.approx(ahead)
    assert first[0] == 0.0
