"""The detector: only usable books are compared; events on appearance or change, never repeats."""

from __future__ import annotations

from decimal import Decimal

from arb.domain.book import OrderBook
from arb.domain.symbols import MarketInfo
from arb.scan.detector import Detector, Limits

SYMBOL = "BTC/USDT"


def market(venue: str, native: str, fee: str) -> MarketInfo:
    return MarketInfo(
        venue=venue,
        symbol=SYMBOL,
        native_id=native,
        base="BTC",
        quote="USDT",
        amount_step=Decimal("0.000001"),
        price_step=Decimal("0.01"),
        min_amount=Decimal("0.000001"),
        min_notional=Decimal("1"),
        taker_fee=Decimal(fee),
        active=True,
    )


MARKETS = {
    SYMBOL: {
        "mexc": market("mexc", "BTCUSDT", "0.0005"),
        "gateio": market("gateio", "BTC_USDT", "0.001"),
    }
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def mono(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return 1_700_000_000_000 + int(self.now * 1000)


def book(
    venue: str, bid: float, ask: float, clock: Clock, *, amount: float = 0.01, lag_ms: int = 0
) -> OrderBook:
    return OrderBook(
        venue=venue,
        symbol=SYMBOL,
        bids=((bid, amount),),
        asks=((ask, amount),),
        timestamp=clock.wall_ms() - lag_ms,
        nonce=1,
        received_at=clock.now,
    )


def detector(clock: Clock, max_age_ms: int = 5000) -> Detector:
    limits = Limits(Decimal("1000"), Decimal("0.5"), Decimal("0"))
    return Detector(MARKETS, limits, max_age_ms, mono=clock.mono, wall_ms=clock.wall_ms)


def test_cross_emits_once_then_only_on_change() -> None:
    clock = Clock()
    d = detector(clock)
    assert d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms()) == []
    events = d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms())
    assert len(events) == 1
    o = events[0].opportunity
    assert (o.buy_venue, o.sell_venue, o.amount) == ("mexc", "gateio", Decimal("0.01"))
    # 0.01 * 42000 * (1 - 0.001) - 0.01 * 41801 * (1 + 0.0005)
    assert o.net_profit == Decimal("419.58") - Decimal("418.219005")
    # the same books again: nothing new
    assert d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms()) == []
    # a deeper ask changes the amount: a new event
    assert len(d.on_book(book("mexc", 41800.0, 41801.0, clock, amount=0.005), clock.wall_ms())) == 1
    assert d.stats.opportunities == 2


def test_spread_that_fees_eat_gives_nothing() -> None:
    clock = Clock()
    d = detector(clock)
    d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    # 42000 * 0.999 = 41958 <= 41990 * 1.0005: the spread does not cover both fees
    assert d.on_book(book("mexc", 41989.0, 41990.0, clock), clock.wall_ms()) == []


def test_a_book_that_arrives_late_is_refused_until_a_fresh_one() -> None:
    clock = Clock()
    d = detector(clock, max_age_ms=1000)
    d.on_book(book("gateio", 42000.0, 42001.0, clock, lag_ms=1500), clock.wall_ms())
    assert d.stats.stale_refused == {"gateio": 1}
    assert d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms()) == []
    assert len(d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())) == 1


def test_quiet_book_stays_usable_while_alive_and_not_after() -> None:
    clock = Clock()
    d = detector(clock, max_age_ms=1000)
    d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    clock.now += 0.9
    d.alive("gateio", SYMBOL, clock.now)  # a heartbeat on the connection
    clock.now += 0.9
    assert len(d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms())) == 1
    clock.now += 1.5  # gateio silent for 1.5 s > max age
    assert d.on_book(book("mexc", 41700.0, 41701.0, clock), clock.wall_ms()) == []
    # a heartbeat alone does not bring the dropped book back: only a fresh update does
    d.alive("gateio", SYMBOL, clock.now)
    assert d.on_book(book("mexc", 41700.0, 41702.0, clock), clock.wall_ms()) == []
    assert len(d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())) == 1


def test_a_silent_book_on_a_cadence_venue_is_not_used_however_alive() -> None:
    clock = Clock()
    limits = Limits(Decimal("1000"), Decimal("0.5"), Decimal("0"))
    d = Detector(
        MARKETS,
        limits,
        1000,
        mono=clock.mono,
        wall_ms=clock.wall_ms,
        max_silence_ms={"gateio": 3000},
    )
    d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    for _ in range(5):  # pongs every 0.7 s: the connection looks alive throughout
        clock.now += 0.7
        d.alive("gateio", SYMBOL, clock.now)
    assert d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms()) == []  # 3.5 s
    assert d.usable_book("gateio", SYMBOL, clock.now) is None
    # a venue without a push cadence (mexc here) keeps the max_age_ms rule alone
    d.alive("mexc", SYMBOL, clock.now + 3.0)
    assert d.usable_book("mexc", SYMBOL, clock.now + 3.0) is not None
    assert len(d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())) == 1


def test_resyncing_book_is_never_used_and_reappearance_emits_again() -> None:
    clock = Clock()
    d = detector(clock)
    d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    assert len(d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms())) == 1
    d.unusable("gateio", SYMBOL)
    assert d.current == {}
    assert d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms()) == []
    assert len(d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())) == 1


def test_crossed_book_is_dropped() -> None:
    clock = Clock()
    d = detector(clock)
    d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    assert d.on_book(book("mexc", 41802.0, 41801.0, clock), clock.wall_ms()) == []


def test_a_venue_listed_late_is_compared_from_its_first_book() -> None:
    clock = Clock()
    limits = Limits(Decimal("1000"), Decimal("0.5"), Decimal("0"))
    d = Detector({}, limits, 5000, mono=clock.mono, wall_ms=clock.wall_ms)  # MEXC alone
    assert d.on_book(book("mexc", 41800.0, 41801.0, clock), clock.wall_ms()) == []
    d.list_markets(SYMBOL, MARKETS[SYMBOL])  # Gate answered: both markets known now
    events = d.on_book(book("gateio", 42000.0, 42001.0, clock), clock.wall_ms())
    assert [(e.opportunity.buy_venue, e.opportunity.sell_venue) for e in events] == [
        ("mexc", "gateio")
    ]
    # and an update on MEXC's slot, made before Gate was listed, compares against Gate too
    events = d.on_book(book("mexc", 41700.0, 41701.0, clock), clock.wall_ms())
    assert [(e.opportunity.buy_venue, e.opportunity.sell_venue) for e in events] == [
        ("mexc", "gateio")
    ]


def test_with_three_venues_the_best_pair_of_a_symbol_comes_first() -> None:
    clock = Clock()
    third = {SYMBOL: {**MARKETS[SYMBOL], "okx": market("okx", "BTC-USDT", "0.001")}}
    found = Detector(
        third,
        Limits(Decimal("1000"), Decimal("0.1"), Decimal("0")),
        5000,
        mono=clock.mono,
        wall_ms=clock.wall_ms,
    )
    # MEXC's ask is the cheapest; Gate's bid is high, OKX's higher still.
    assert found.on_book(book("gateio", 50300.0, 50400.0, clock), clock.wall_ms()) == []
    assert found.on_book(book("okx", 50500.0, 50600.0, clock), clock.wall_ms()) == []
    events = found.on_book(book("mexc", 49900.0, 50000.0, clock), clock.wall_ms())
    pairs = [(e.opportunity.buy_venue, e.opportunity.sell_venue) for e in events]
    # every crossing pair is reported, the most profitable first (the one execution takes)
    assert pairs == [("mexc", "okx"), ("mexc", "gateio")]
    nets = [e.opportunity.net_profit for e in events]
    assert nets == sorted(nets, reverse=True)
