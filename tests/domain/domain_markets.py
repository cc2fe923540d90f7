"""Market facts as ccxt 4.5.90 parses the recorded venue payloads, and a book builder.

Values are `load_markets()` output for ../shared/exchange-samples/mexc/exchangeInfo.json and
gate/spot_currency_pairs.json: amount_step = precision.amount, min_amount =
limits.amount.min, min_notional = limits.cost.min, taker_fee = taker. The recorded MEXC
markets parse `active=False` (isSpotTradingAllowed false); the trading tests use them active.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from arb.domain.book import Level, OrderBook
from arb.domain.symbols import MarketInfo

D = Decimal


def _mexc(pair: str, step: str, price_step: str, min_amount: str, taker: str) -> MarketInfo:
    base, quote = pair.split("/")
    return MarketInfo(
        "mexc", pair, base + quote, base, quote,
        D(step), D(price_step), D(min_amount), D(1), D(taker), active=False,
    )  # fmt: skip


def _gate(pair: str, step: str, price_step: str, min_amount: str) -> MarketInfo:
    base, quote = pair.split("/")
    return MarketInfo(
        "gateio", pair, f"{base}_{quote}", base, quote,
        D(step), D(price_step), D(min_amount), D(3), D("0.002"), active=True,
    )  # fmt: skip


MEXC_RECORDED = (
    _mexc("BTC/USDT", "0.000001", "0.01", "0.000001", "0.0002"),
    _mexc("LTC/USDT", "0.0001", "0.01", "0.001", "0.0002"),
    _mexc("ADA/USDT", "0.01", "0.0001", "0.1", "0.0002"),
    _mexc("XRP/USDT", "0.01", "0.0001", "0.1", "0"),
    replace(_mexc("BROCK/USDT", "0.01", "0.00001", "0", "0.0005"), active=True),
)
GATE_RECORDED = (
    _gate("BTC/USDT", "0.000001", "0.1", "0.000001"),
    _gate("ETH/USDT", "0.0001", "0.01", "0.001"),
    _gate("LTC/USDT", "0.001", "0.01", "0.001"),
    _gate("XRP/USDT", "0.001", "0.0001", "0.001"),
    _gate("ADA/USDT", "0.01", "0.0001", "0.01"),
)

MEXC_BTC, MEXC_LTC, MEXC_ADA, MEXC_XRP = (replace(m, active=True) for m in MEXC_RECORDED[:4])
GATE_BTC, GATE_ETH, GATE_LTC, GATE_XRP, GATE_ADA = GATE_RECORDED

# gate/order_book.json: the bids of the recorded Gate spot book in ccxt's gate.py (the pair
# is not named; its ~2.22 prices are used here as an XRP/USDT book).
GATE_XRP_BIDS: tuple[Level, ...] = (
    (2.2236, 32.465), (2.2232, 243.983), (2.2231, 32.207), (2.223, 449.827), (2.2228, 7.918),
)  # fmt: skip
# mexc/depth.json (GET /api/v3/depth?symbol=BTCUSDT): the whole recorded book.
MEXC_BTC_BIDS: tuple[Level, ...] = ((45995.47, 10.337165),)
MEXC_BTC_ASKS: tuple[Level, ...] = ((45995.48, 13.457322),)


def book(
    market: MarketInfo, bids: tuple[Level, ...] = (), asks: tuple[Level, ...] = ()
) -> OrderBook:
    """A snapshot of `market`'s book with the given levels, best first."""
    return OrderBook(market.venue, market.symbol, bids, asks, None, None, 0.0)
