"""An in-test venue with real behaviour: paper fills against a book, balances that move, faults.

Market facts are the venues' own: MEXC BTCUSDT from exchangeInfo (baseSizePrecision
0.000001, quotePrecision 2, quoteAmountPrecision 1 = min notional), Gate BTC_USDT from
/spot/currency_pairs (amount_precision 6, precision 1, min_quote_amount 3, fee 0.2 %),
MEXC's published 0.05 % spot taker fee. Book prices are built around the real MEXC
depth sample (45995.47 / 45995.48), with Gate's bids moved up to make a real arbitrage.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from arb.domain.book import OrderBook
from arb.domain.opportunity import Opportunity, find_opportunity
from arb.domain.symbols import MarketInfo
from arb.errors import OrderRejected, OrderUnknown, VenueUnavailable
from arb.execution.executor import Executor
from arb.execution.paper import PaperVenue
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger
from arb.venues.adapter import Balance, OrderResult, OrderStatus

D = Decimal
SYMBOL = "BTC/USDT"
MEXC_BTC = MarketInfo(
    venue="mexc",
    symbol=SYMBOL,
    native_id="BTCUSDT",
    base="BTC",
    quote="USDT",
    amount_step=D("0.000001"),
    price_step=D("0.01"),
    min_amount=D("0.000001"),
    min_notional=D("1"),
    taker_fee=D("0.0005"),
    active=True,
    buy_fee_in_base=True,  # MEXC delivers a buy's coins less its fee
)
GATE_BTC = MarketInfo(
    venue="gateio",
    symbol=SYMBOL,
    native_id="BTC_USDT",
    base="BTC",
    quote="USDT",
    amount_step=D("0.000001"),
    price_step=D("0.1"),
    min_amount=D("0.000001"),
    min_notional=D("3"),
    taker_fee=D("0.002"),
    active=True,
    buy_fee_in_base=True,  # so does Gate
)


def book(venue: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> OrderBook:
    """A book snapshot as the streams hand it over."""
    return OrderBook(venue, SYMBOL, tuple(bids), tuple(asks), None, None, 0.0)


def mexc_book() -> OrderBook:
    """MEXC BTC/USDT: the depth sample's top of book with depth behind it."""
    return book(
        "mexc",
        [(45995.47, 0.5), (45995.0, 0.8), (45990.0, 1.2)],
        [(45995.48, 0.4), (45996.0, 0.6), (46000.0, 1.5)],
    )


def gate_book() -> OrderBook:
    """Gate BTC/USDT bid above MEXC's ask by more than both fees."""
    return book(
        "gateio",
        [(46300.0, 0.004), (46290.0, 0.01), (46200.0, 1.0)],
        [(46310.0, 1.0), (46320.0, 1.0)],
    )


def opportunity(buy: OrderBook, sell: OrderBook, max_notional: str = "100") -> Opportunity:
    """What the finder makes of the two books (buy on `buy`, sell on `sell`)."""
    markets = {"mexc": MEXC_BTC, "gateio": GATE_BTC}
    opp = find_opportunity(
        buy,
        sell,
        markets[buy.venue],
        markets[sell.venue],
        max_notional=D(max_notional),
        min_profit=D("0.1"),
    )
    assert opp is not None
    return opp


class FakeVenue(PaperVenue):
    """A paper venue whose next calls can be refused, lost, hung or answered MEXC-style."""

    def __init__(
        self, market: MarketInfo, snapshot: OrderBook, balances: dict[str, str], log: list[str]
    ) -> None:
        self.book = snapshot
        self.info = market
        super().__init__(
            market.venue,
            market=self._market_of,
            book=lambda symbol: self.book,
            balances={k: D(v) for k, v in balances.items()},
        )
        self.log = log
        self.creates = 0  # create requests that reached the venue
        self.reject = 0  # refuse the next creates (nothing placed)
        self.fail_after_place = 0  # place, then answer like a 5xx / timeout
        self.lose = 0  # the request never arrives: nothing placed, outcome unknown
        self.hang = 0  # place, then never answer
        self.missing_lookups = 0  # the next order queries find nothing (not yet visible)
        self.balance_errors = 0
        self.balance_delay_s = 0.0  # a slow balance answer
        self.rate_wait_s = 0.0  # what our rate limiter would make a balance read wait
        self.mexc_style = False  # create answers carry no status and no fills
        self.in_flight = asyncio.Event()  # set once a create request is on its way

    def _market_of(self, symbol: str) -> MarketInfo:
        assert symbol == self.info.symbol
        return self.info

    def balance_wait(self) -> float:
        return self.rate_wait_s

    async def fetch_balance(self) -> Balance:
        self.log.append(f"balance {self.id}")
        if self.balance_delay_s:
            await asyncio.sleep(self.balance_delay_s)
        if self.balance_errors:
            self.balance_errors -= 1
            raise VenueUnavailable("HTTP 503", venue=self.id)
        return await super().fetch_balance()

    async def create_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal,
        price: Decimal,
        client_order_id: str,
        *,
        market: bool = False,
    ) -> OrderResult:
        self.log.append(f"create-start {self.id} {side}")
        self.in_flight.set()
        await asyncio.sleep(0)  # a request in flight: the other leg may start now
        try:
            if self.lose:
                self.lose -= 1
                raise OrderUnknown("timeout", venue=self.id, client_order_id=client_order_id)
            self.creates += 1
            if self.reject:
                self.reject -= 1
                raise OrderRejected("order rejected by the venue", venue=self.id)
            result = await super().create_order(
                symbol, side, amount, price, client_order_id, market=market
            )
            if self.fail_after_place:
                self.fail_after_place -= 1
                raise OrderUnknown("HTTP 502", venue=self.id, client_order_id=client_order_id)
            if self.hang:
                self.hang -= 1
                await asyncio.Event().wait()
            if self.mexc_style:
                return OrderResult(
                    self.id,
                    symbol,
                    result.id,
                    client_order_id,
                    side,
                    OrderStatus.UNKNOWN,
                    amount,
                    price,
                    D(0),
                    None,
                    D(0),
                    (),
                    None,
                )
            return result
        finally:
            self.log.append(f"create-end {self.id} {side}")

    async def fetch_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult | None:
        self.log.append(f"query {self.id}")
        if self.missing_lookups:
            self.missing_lookups -= 1
            return None
        return await super().fetch_order(symbol, order_id=order_id, client_order_id=client_order_id)


def pair(
    log: list[str], mexc: dict[str, str] | None = None, gate: dict[str, str] | None = None
) -> tuple[FakeVenue, FakeVenue]:
    """Both venues with 1000 USDT and 0.01 BTC each unless told otherwise."""
    start = {"USDT": "1000", "BTC": "0.01"}
    return (
        FakeVenue(MEXC_BTC, mexc_book(), mexc or start, log),
        FakeVenue(GATE_BTC, gate_book(), gate or start, log),
    )


def settings(**changes: object) -> ExecutionSettings:
    """Test settings: no pauses between queries, no kill-switch file."""
    values: dict[str, object] = {
        "min_profit": D("0.1"),
        "settle_delay_s": 0.0,
        "kill_switch_path": None,
        "order_timeout_s": 5.0,
    }
    values.update(changes)
    return ExecutionSettings(**values)  # type: ignore[arg-type]


async def executor(
    venues: tuple[FakeVenue, ...], ledger: Ledger, config: ExecutionSettings
) -> Executor:
    """An executor over the fakes with the guard loaded from the ledger."""
    guard = await RiskGuard.load(ledger, config)
    return Executor({v.id: v for v in venues}, ledger, config, guard)


async def rows(ledger: Ledger, sql: str, *params: object) -> list[dict[str, object]]:
    """Ledger rows as plain dicts (after every queued write)."""
    return [dict(r) for r in await ledger.query(sql, params)]


def ledger_at(path: Path) -> Ledger:
    """A fresh ledger file."""
    return Ledger(path / "ledger.sqlite")
