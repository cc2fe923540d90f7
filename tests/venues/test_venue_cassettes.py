"""Each REST interaction family of each venue, replayed from cassettes of real payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from venue_vcr import make_vcr

from arb.config import Secret, VenueSettings
from arb.errors import OrderRejected, SymbolUnknown
from arb.venues import OrderStatus, Venue
from arb.venues.adapter import Fee

D = Decimal


def settings(venue: str, taker_fee: Decimal | None = None) -> VenueSettings:
    return VenueSettings(
        id=venue,
        taker_fee=taker_fee,
        api_key=Secret("test-api-key"),
        api_secret=Secret("test-api-secret"),
    )


@contextmanager
def cassette(name: str) -> Iterator[Any]:
    """Replay one cassette; fail unless every recorded request was made (and nothing else)."""
    with make_vcr().use_cassette(f"{name}.yaml", allow_playback_repeats=False) as tape:
        yield tape
    assert tape.all_played, f"{name}: requests recorded but never made"


@asynccontextmanager
async def venue_with_markets(venue: str, taker_fee: Decimal | None = None) -> AsyncIterator[Venue]:
    async with Venue(settings(venue, taker_fee)) as v:
        await v.load_markets()
        yield v


# -- market loading ----------------------------------------------------------------------


async def test_mexc_loads_only_spot_markets_with_exact_steps() -> None:
    with cassette("mexc/load_markets"):  # no contract/detail, no capital/config requests
        async with Venue(settings("mexc")) as venue:
            markets = {m.symbol: m for m in await venue.load_markets()}
    assert set(markets) == {"BTC/USDT", "LTC/USDT", "ADA/USDT", "XRP/USDT", "BROCK/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.venue, btc.native_id, btc.base, btc.quote) == ("mexc", "BTCUSDT", "BTC", "USDT")
    assert btc.amount_step == D("0.000001")
    assert btc.price_step == D("0.01")
    assert btc.min_amount == D("0.000001")
    assert btc.min_notional == D("1")
    assert btc.taker_fee == D("0.0002")
    assert btc.active is False  # the recorded isSpotTradingAllowed is false
    brock = markets["BROCK/USDT"]
    assert brock.active is True
    assert brock.taker_fee == D("0.0005")
    assert brock.price_step == D("0.00001")


async def test_gate_loads_only_spot_markets_with_exact_steps() -> None:
    with cassette("gateio/load_markets"):  # no futures, delivery, options or account detail
        async with Venue(settings("gate")) as venue:
            markets = {m.symbol: m for m in await venue.load_markets()}
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT", "ADA/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.venue, btc.native_id) == ("gateio", "BTC_USDT")
    assert btc.amount_step == D("0.000001")
    assert btc.price_step == D("0.1")
    assert btc.min_amount == D("0.000001")
    assert btc.min_notional == D("3")
    assert btc.taker_fee == D("0.002")
    assert btc.active is True
    assert markets["ADA/USDT"].amount_step == D("0.01")


async def test_a_settings_fee_overrides_the_market_fee() -> None:
    with cassette("gateio/load_markets"):
        async with Venue(settings("gateio", taker_fee=D("0.0009"))) as venue:
            markets = await venue.load_markets()
            assert venue.taker_fee("BTC/USDT") == D("0.0009")
    assert {m.taker_fee for m in markets} == {D("0.0009")}


async def test_an_unlisted_symbol_is_symbol_unknown() -> None:
    with cassette("mexc/load_markets"):
        async with venue_with_markets("mexc") as venue:
            with pytest.raises(SymbolUnknown):
                await venue.fetch_order_book("DOGE/USDT", 5)


# -- order book snapshot -----------------------------------------------------------------


async def test_mexc_order_book_snapshot() -> None:
    with cassette("mexc/order_book"):
        async with venue_with_markets("mexc") as venue:
            book = await venue.fetch_order_book("BTC/USDT", 5)
    assert (book.venue, book.symbol) == ("mexc", "BTC/USDT")
    assert book.bids == ((45995.47, 10.337165),)
    assert book.asks == ((45995.48, 13.457322),)
    assert book.nonce == 20453289489
    assert book.timestamp == 1704908526228


async def test_gate_order_book_snapshot() -> None:
    with cassette("gateio/order_book"):
        async with venue_with_markets("gateio") as venue:
            book = await venue.fetch_order_book("BTC/USDT", 5)
    assert len(book.bids) == len(book.asks) == 5
    assert book.bids[0] == (2.2236, 32.465)
    assert book.asks[0] == (2.2241, 12449.827)
    assert book.nonce == 6358770031
    assert book.timestamp == 1634345973275
    assert not book.crossed


# -- balance -----------------------------------------------------------------------------


async def test_mexc_balance() -> None:
    with cassette("mexc/balance"):
        async with venue_with_markets("mexc") as venue:
            balance = await venue.fetch_balance()
    assert balance.free["USDT"] == D("0.000000000674")
    assert balance.used["USDT"] == 0
    assert balance.total["USDT"] == D("0.000000000674")


async def test_gate_balance() -> None:
    with cassette("gateio/balance"):
        async with venue_with_markets("gateio") as venue:
            balance = await venue.fetch_balance()
    assert dict(balance.free) == {"ETH": D("968.8")}
    assert balance.used["ETH"] == 0


# -- trading fee -------------------------------------------------------------------------


async def test_mexc_account_fee_replaces_the_market_fee() -> None:
    with cassette("mexc/trading_fee"):
        async with venue_with_markets("mexc") as venue:
            assert venue.taker_fee("BTC/USDT") == D("0.0002")
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.003")
            assert venue.taker_fee("BTC/USDT") == D("0.003")
            # static: the second call is served from memory (the cassette has one request)
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.003")


async def test_gate_account_fee_with_gt_discount() -> None:
    with cassette("gateio/trading_fee"):
        async with venue_with_markets("gateio", taker_fee=D("0.001")) as venue:
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.0015")
            assert venue.taker_fee("BTC/USDT") == D("0.001")  # the settings override still wins


# -- create / fetch / cancel -------------------------------------------------------------


async def test_mexc_creates_a_rounded_ioc_limit_order_with_our_client_id() -> None:
    # The cassette only matches quantity=0.5, price=2, type=IMMEDIATE_OR_CANCEL and
    # newClientOrderId=arbcassette1: amounts are truncated, prices rounded to the steps.
    with cassette("mexc/create_order"):
        async with venue_with_markets("mexc") as venue:
            result = await venue.create_order(
                "ADA/USDT", "buy", D("0.50999"), D("2.00001"), "arbcassette1"
            )
    assert result.id == "C02__545584045430513665029"
    assert result.client_order_id == "arbcassette1"
    assert result.status is OrderStatus.UNKNOWN  # MEXC's create answer has no status
    assert result.final is False
    assert (result.amount, result.price, result.filled) == (D("0.5"), D("2"), D("0"))
    assert result.fees == ()


async def test_an_amount_below_the_step_is_rejected_before_sending() -> None:
    with cassette("mexc/load_markets"):  # the cassette holds no order request
        async with venue_with_markets("mexc") as venue:
            with pytest.raises(OrderRejected):
                await venue.create_order("ADA/USDT", "buy", D("0.001"), D("2"), "arbtiny1")


async def test_gate_creates_an_ioc_limit_order_and_reads_fills_and_fees() -> None:
    # The cassette matches the JSON body: time_in_force ioc and text t-abc123.
    with cassette("gateio/create_order"):
        async with venue_with_markets("gateio") as venue:
            result = await venue.create_order("BTC/USDT", "buy", D("0.001"), D("65000"), "abc123")
    assert result.id == "1852454420"
    assert result.client_order_id == "abc123"
    assert result.status is OrderStatus.CLOSED
    assert result.final is True
    assert result.filled == D("0.001")
    assert result.average == D("63469.3")
    assert result.cost == D("63.4693")
    # Gate leaves ccxt's `fee` None and lists the charge in `fees`.
    assert result.fees == (Fee(currency="BTC", cost=D("0.00000022")),)


async def test_mexc_fetches_an_order_by_id_and_by_client_id() -> None:
    with cassette("mexc/fetch_order"):
        async with venue_with_markets("mexc") as venue:
            by_id = await venue.fetch_order("BTC/USDT", order_id="133734823834147272")
            by_client = await venue.fetch_order("BTC/USDT", client_order_id="arbcassette1")
    assert by_id is not None
    assert by_client is not None
    assert by_id.id == "133734823834147272"
    assert by_id.status is OrderStatus.CANCELED
    assert by_id.final is True
    assert (by_id.filled, by_id.amount, by_id.price) == (D("0"), D("0.0002"), D("30000"))
    assert by_id.fees == ()  # nothing filled, so nothing estimated
    assert by_client.client_order_id == "arbcassette1"


async def test_gate_fetches_an_order_by_id_and_by_client_id() -> None:
    with cassette("gateio/fetch_order"):
        async with venue_with_markets("gateio") as venue:
            by_id = await venue.fetch_order("BTC/USDT", order_id="1852454420")
            by_client = await venue.fetch_order("BTC/USDT", client_order_id="abc123")
    assert by_id == by_client
    assert by_id is not None
    assert by_id.client_order_id == "abc123"
    assert by_id.filled == D("0.001")


async def test_mexc_cancels_an_order() -> None:
    with cassette("mexc/cancel_order"):
        async with venue_with_markets("mexc") as venue:
            result = await venue.cancel_order("BTC/USDT", "133734823834447872")
    assert result.id == "133734823834447872"
    assert result.filled == 0


async def test_gate_cancels_an_order() -> None:
    with cassette("gateio/cancel_order"):
        async with venue_with_markets("gateio") as venue:
            result = await venue.cancel_order("ETH/USDT", "95282841887")
    assert result.id == "95282841887"
    assert result.status is OrderStatus.CANCELED
    assert result.filled == 0
    assert result.amount == D("0.01")


# -- Binance -------------------------------------------------------------------------------


async def test_binance_loads_only_spot_markets_with_exact_steps() -> None:
    with cassette("binance/load_markets"):  # exchangeInfo alone: no futures, margin pairs
        async with Venue(settings("binance")) as venue:
            markets = {m.symbol: m for m in await venue.load_markets()}
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "ADA/USDT", "LTC/USDT", "XRP/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.venue, btc.native_id, btc.base, btc.quote) == ("binance", "BTCUSDT", "BTC", "USDT")
    assert (btc.price_step, btc.amount_step) == (D("0.01"), D("0.00001"))
    assert (btc.min_amount, btc.min_notional) == (D("0.00001"), D("5"))
    assert btc.taker_fee == D("0.001")  # ccxt's default until the account fee is fetched
    assert btc.active is True
    assert btc.buy_fee_in_base is True
    assert markets["XRP/USDT"].amount_step == D("1")


async def test_binance_order_book_snapshot() -> None:
    with cassette("binance/order_book"):
        async with venue_with_markets("binance") as venue:
            book = await venue.fetch_order_book("BTC/USDT", 5)
    assert book.bids == ((42574.3, 0.0107), (42574.2, 0.00646))
    assert book.asks == ((42574.31, 0.0087), (42574.8, 0.00893))
    assert book.nonce == 25445101
    assert book.timestamp is None  # Binance's spot depth carries no time


async def test_binance_balance() -> None:
    with cassette("binance/balance"):
        async with venue_with_markets("binance") as venue:
            balance = await venue.fetch_balance()
    assert balance.free["LTC"] == D("0.919741")
    assert balance.free["ETH"] == D("0.02229833")
    assert balance.total["BTC"] == 0


async def test_binance_account_fee_replaces_the_market_fee() -> None:
    with cassette("binance/trading_fee"):  # GET /sapi/v1/asset/tradeFee, signed
        async with venue_with_markets("binance", taker_fee=None) as venue:
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.001")
            assert venue.taker_fee("BTC/USDT") == D("0.001")


async def test_binance_creates_an_ioc_limit_order_and_reads_its_fills() -> None:
    # The cassette matches the form body: type LIMIT, timeInForce IOC, quantity and price
    # rounded to the steps, newClientOrderId ours, newOrderRespType FULL.
    with cassette("binance/create_order"):
        async with venue_with_markets("binance") as venue:
            result = await venue.create_order(
                "BTC/USDT", "buy", D("0.000509"), D("58941.634"), "x-TKT5PX2F5e669e75b6c14f69a2c43e"
            )
    assert result.id == "5403233939"
    assert result.client_order_id == "x-TKT5PX2F5e669e75b6c14f69a2c43e"
    assert result.status is OrderStatus.CLOSED
    assert (result.filled, result.average, result.cost) == (
        D("0.0005"),
        D("58941.63"),
        D("29.470815"),
    )
    # The FULL answer's fills carry the commission (BNB here: fee deduction in BNB is on).
    assert result.fees == (Fee(currency="BNB", cost=D("0.0000705")),)


async def test_binance_fetches_an_order_by_id_and_by_client_id() -> None:
    with cassette("binance/fetch_order"):
        async with venue_with_markets("binance") as venue:
            by_id = await venue.fetch_order("LTC/USDT", order_id="3397148653")
            by_client = await venue.fetch_order(
                "LTC/USDT", client_order_id="x-R4BD3S825806ed40c861260428a48c"
            )
    assert by_id == by_client
    assert by_id is not None
    assert by_id.status is OrderStatus.CLOSED
    assert (by_id.filled, by_id.cost, by_id.average) == (D("0.1"), D("9.08"), D("90.8"))
    # A queried Binance order has no commission: estimated from the taker rate, in USDT.
    assert by_id.fees == (Fee(currency="USDT", cost=D("9.08") * D("0.001"), estimated=True),)


async def test_binance_cancels_an_order() -> None:
    with cassette("binance/cancel_order"):
        async with venue_with_markets("binance") as venue:
            result = await venue.cancel_order("BTC/USDT", "4")
    assert result.id == "4"
    assert result.status is OrderStatus.CANCELED
    assert (result.filled, result.amount) == (D("0"), D("1"))


# -- OKX ---------------------------------------------------------------------------------


# The clOrdId of the recorded create answer (ccxt's static createOrder fixture).
OKX_CLIENT_ID = "6b9ad766b55dBCDE63969a1144bfb943"


def okx_settings() -> VenueSettings:
    return replace(settings("okx"), api_password=Secret("test-api-passphrase"))


async def test_okx_loads_only_spot_markets_with_exact_steps() -> None:
    # One request: instType=SPOT (no futures, swaps, options or private currency list).
    with cassette("okx/load_markets"):
        async with Venue(okx_settings()) as venue:
            markets = {m.symbol: m for m in await venue.load_markets()}
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "ADA/USDT", "LTC/USDT", "XRP/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.venue, btc.native_id, btc.base, btc.quote) == ("okx", "BTC-USDT", "BTC", "USDT")
    assert btc.amount_step == D("0.00000001")
    assert btc.price_step == D("0.1")
    assert btc.min_amount == D("0.00001")
    assert btc.min_notional == 0  # OKX lists no minimum notional
    assert btc.taker_fee == D("0.0015")  # ccxt's listed spot taker fee until the account's
    assert btc.active is True
    assert btc.buy_fee_in_base is True
    assert markets["XRP/USDT"].min_amount == D("1")


@asynccontextmanager
async def okx_with_markets() -> AsyncIterator[Venue]:
    async with Venue(okx_settings()) as v:
        await v.load_markets()
        yield v


async def test_okx_order_book_snapshot() -> None:
    # GET market/books?instId=BTC-USDT&sz=5 (the recorded levels are ccxt's ETH-BTC example).
    with cassette("okx/order_book"):
        async with okx_with_markets() as venue:
            book = await venue.fetch_order_book("BTC/USDT", 5)
    assert (book.venue, book.symbol) == ("okx", "BTC/USDT")
    assert book.bids == ((0.07221, 18.5), (0.0722, 18.5), (0.07219, 0.505407))
    assert book.asks == ((0.07228, 4.211619), (0.0723, 299.880364), (0.07231, 3.72832))
    assert book.timestamp == 1621438475342
    assert book.nonce is None  # OKX's REST book carries no sequence id
    assert not book.crossed


async def test_okx_balance() -> None:
    # GET account/balance: the trading account; availEq empty, so free is availBal.
    with cassette("okx/balance"):
        async with okx_with_markets() as venue:
            balance = await venue.fetch_balance()
    assert dict(balance.free) == {"BTC": D("0.049")}
    assert balance.used["BTC"] == 0
    assert balance.total["BTC"] == D("0.049")


async def test_okx_account_fee_replaces_the_market_fee() -> None:
    # GET account/trade-fee?instType=SPOT&instId=BTC-USDT: OKX sends fees negated.
    with cassette("okx/trading_fee"):
        async with okx_with_markets() as venue:
            assert venue.taker_fee("BTC/USDT") == D("0.0015")
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.001")
            assert venue.taker_fee("BTC/USDT") == D("0.001")
            assert await venue.fetch_trading_fee("BTC/USDT") == D("0.001")  # served from memory


async def test_okx_creates_a_rounded_ioc_limit_order_with_our_client_id() -> None:
    # The cassette matches the JSON body sent to trade/order (not batch-orders): ordType ioc,
    # tdMode cash, sz truncated to the lot step, px rounded to the tick, clOrdId ours.
    with cassette("okx/create_order"):
        async with okx_with_markets() as venue:
            result = await venue.create_order(
                "BTC/USDT", "buy", D("0.000123456789"), D("65000.04"), OKX_CLIENT_ID
            )
    assert result.id == "2896576259728695296"
    assert result.client_order_id == OKX_CLIENT_ID
    assert result.status is OrderStatus.UNKNOWN  # the create answer has ids only: fetch it
    assert result.final is False
    assert (result.filled, result.cost, result.average) == (D("0"), D("0"), None)
    assert result.fees == ()


async def test_okx_fetches_an_order_by_id_and_by_client_id() -> None:
    with cassette("okx/fetch_order"):
        async with okx_with_markets() as venue:
            by_id = await venue.fetch_order("ETH/USDT", order_id="317251910906576896")
            by_client = await venue.fetch_order("ETH/USDT", client_order_id="arbcassette1")
    assert by_id is not None
    assert by_client is not None
    assert by_id.id == by_client.id == "317251910906576896"
    assert by_id.status is OrderStatus.OPEN
    assert by_id.final is False
    assert (by_id.side, by_id.amount, by_id.price) == ("buy", D("0.001"), D("2000"))
    assert (by_id.filled, by_id.average, by_id.cost) == (D("0"), None, D("0"))
    assert by_id.fees == ()  # the recorded fee is "0" (ETH): nothing charged yet
    assert by_id.timestamp == 1621910749815
    assert by_id.client_order_id is None  # the recorded clOrdId is empty
    assert by_client.client_order_id == "arbcassette1"  # so the id asked for is reported


async def test_okx_cancels_an_order() -> None:
    # POST trade/cancel-order {"instId": "ETH-USDT", "ordId": ...}
    with cassette("okx/cancel_order"):
        async with okx_with_markets() as venue:
            result = await venue.cancel_order("ETH/USDT", "317251910906576896")
    assert result.id == "317251910906576896"
    assert result.symbol == "ETH/USDT"
    assert result.status is OrderStatus.UNKNOWN  # OKX's cancel answer carries no state


# -- Bybit -------------------------------------------------------------------------------


async def test_bybit_loads_only_spot_markets_with_exact_steps() -> None:
    # One request: category=spot (no linear, inverse or option instruments, no coin list).
    with cassette("bybit/load_markets"):
        async with Venue(settings("bybit")) as venue:
            markets = {m.symbol: m for m in await venue.load_markets()}
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"}
    btc = markets["BTC/USDT"]
    assert (btc.venue, btc.native_id, btc.base, btc.quote) == ("bybit", "BTCUSDT", "BTC", "USDT")
    assert (btc.amount_step, btc.price_step) == (D("0.000001"), D("0.1"))
    assert (btc.min_amount, btc.min_notional) == (D("0.000011"), D("5"))
    assert btc.taker_fee == D("0.001")  # ccxt's listed spot taker fee until the account's
    assert btc.active is True
    assert btc.buy_fee_in_base is True
    assert markets["XRP/USDT"].amount_step == D("0.01")
    assert markets["LTC/USDT"].min_amount == D("0.00923")


async def test_bybit_order_book_snapshot() -> None:
    with cassette("bybit/order_book"):  # GET /v5/market/orderbook?category=spot&limit=2
        async with venue_with_markets("bybit") as venue:
            book = await venue.fetch_order_book("BTC/USDT", 2)
    assert book.bids == ((29861.0, 0.00101), (29829.3, 0.000667))
    assert book.asks == ((29971.81, 0.001161), (29988.93, 0.112648))
    assert book.timestamp == 1706803989954
    assert book.nonce is None  # ccxt 4.5.90 keeps no nonce from the REST book's `u`
    assert not book.crossed


async def test_bybit_balance_of_the_unified_account() -> None:
    with cassette("bybit/balance"):  # accountType=UNIFIED, asked for no account type first
        async with venue_with_markets("bybit") as venue:
            balance = await venue.fetch_balance()
    # free = walletBalance - locked (in orders) - totalPositionIM (margin held)
    assert balance.free["USDT"] == D("3229.64065465")
    assert balance.used["USDT"] == D("92.61831144")
    assert balance.total["USDT"] == D("3322.25896609")
    assert (balance.free["BTC"], balance.used["BTC"]) == (D("0.85581394"), 0)
    assert balance.total["LTC"] == D("0.02101953")
    assert set(balance.total) == {"USDC", "BTC", "ETH", "ADA", "XRP", "USDT", "LTC"}


async def test_bybit_account_fee_replaces_the_market_fee() -> None:
    with cassette("bybit/trading_fee"):  # GET /v5/account/fee-rate?symbol=ETHUSDT, signed
        async with venue_with_markets("bybit") as venue:
            assert venue.taker_fee("ETH/USDT") == D("0.001")
            assert await venue.fetch_trading_fee("ETH/USDT") == D("0.0006")
            assert venue.taker_fee("ETH/USDT") == D("0.0006")
            # static: the second call is served from memory (the cassette has one request)
            assert await venue.fetch_trading_fee("ETH/USDT") == D("0.0006")


async def test_bybit_creates_a_rounded_ioc_limit_order_with_our_link_id() -> None:
    # The cassette matches the JSON body: orderType Limit, timeInForce IOC, qty truncated
    # to 0.1, price rounded to 60, orderLinkId ours, category spot.
    with cassette("bybit/create_order"):
        async with venue_with_markets("bybit") as venue:
            result = await venue.create_order(
                "LTC/USDT", "buy", D("0.100009"), D("60.001"), "1609920528444036608"
            )
    assert result.id == "1609920528435648000"
    assert result.client_order_id == "1609920528444036608"
    # Bybit acknowledges a create with the two ids only: the fills come from fetch_order.
    assert result.status is OrderStatus.UNKNOWN
    assert result.final is False
    assert (result.amount, result.price, result.filled) == (None, None, D("0"))
    assert result.fees == ()


async def test_bybit_fetches_a_partly_filled_ioc_order_by_id_and_by_link_id() -> None:
    with cassette("bybit/fetch_order"):  # GET /v5/order/realtime, orderId or orderLinkId
        async with venue_with_markets("bybit") as venue:
            by_id = await venue.fetch_order("BTC/USDT", order_id="1609602210852247040")
            by_client = await venue.fetch_order("BTC/USDT", client_order_id="1609602210852247041")
    assert by_id == by_client
    assert by_id is not None
    assert (by_id.id, by_id.client_order_id) == ("1609602210852247040", "1609602210852247041")
    # PartiallyFilledCanceled: the IOC rest was cancelled, so the order is final.
    assert by_id.status is OrderStatus.CLOSED
    assert by_id.final is True
    assert (by_id.filled, by_id.average, by_id.cost) == (
        D("0.001614"),
        D("30966.41"),
        D("49.97980168"),
    )
    # The recorded order is a market buy of 50 USDT (marketUnit quoteCoin): ccxt derives
    # its amount from filled + leavesQty, in base coin.
    assert by_id.amount == D("0.001614")
    assert by_id.timestamp == 1706615536016
    # The answer has cumExecFee but no cumFeeDetail, which ccxt 4.5.90 reads: the fee is
    # estimated from the taker rate, in the base coin a buy receives.
    assert by_id.fees == (Fee(currency="BTC", cost=D("0.001614") * D("0.001"), estimated=True),)


async def test_bybit_cancels_an_order() -> None:
    with cassette("bybit/cancel_order"):  # POST /v5/order/cancel, orderFilter Order
        async with venue_with_markets("bybit") as venue:
            result = await venue.cancel_order("BTC/USDT", "c6f055d9-7f21-4079-913d-e6523a9cfffa")
    assert result.id == "c6f055d9-7f21-4079-913d-e6523a9cfffa"
    assert result.client_order_id == "linear-004"
    assert result.status is OrderStatus.UNKNOWN  # an acknowledgement: no status, no fills
    assert result.filled == 0
