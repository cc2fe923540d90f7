"""Per-venue differences as data: ccxt ids, constructor options, rate budgets and quirks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from arb.errors import ConfigError
from arb.venues.limits import Budget, Call, Charge, window


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """Everything that differs between venues, so one generic adapter serves them all."""

    venue_id: str  # settings id: "mexc", "gateio"
    ccxt_id: str  # ccxt / ccxt.pro class name: "mexc", "gate"
    options: Mapping[str, Any]  # ccxt `options`, merged over ccxt's defaults
    # MEXC's fetch_markets always adds futures contracts (/api/v1/contract/detail) and
    # ignores options['fetchMarkets']; swapping in fetch_spot_markets is the only spot-only path.
    spot_markets_only: bool
    # Currency config is not needed for spot orders; MEXC signs it (needs keys, costs weight)
    # and Gate's is a large public list: neither is worth a request at start-up.
    load_currencies: bool
    # The venue's own rate limits: one bucket per endpoint it counts apart, and what each
    # adapter call spends of them (arb.venues.limits).
    budgets: Mapping[str, Budget]
    costs: Mapping[Call, tuple[Charge, ...]]
    client_id_prefix: str  # what the venue wants in front of our client order id
    client_id_max_len: int  # including the prefix
    # MEXC's create response carries neither status nor fills, and no MEXC order carries a fee.
    create_reports_fills: bool
    orders_report_fees: bool
    # Gate sizes a market buy in quote currency (cost), not in base amount.
    market_buy_takes_cost: bool
    fast_ws_decode: bool  # install arb.venues.mexc_decode on the ccxt.pro instance
    # Book streams one WebSocket connection may carry. MEXC documents at most 30
    # subscriptions per connection; Gate sets no limit but closes connections whose
    # client falls behind, so we spread its books too.
    books_per_connection: int
    # The venue takes a buy's taker fee from the base coins it delivers (both MEXC and Gate
    # charge the currency received unless fee deduction in MX / GT points is switched on).
    buy_fee_in_base: bool = True
    # Venue error codes meaning "no such order" that ccxt 4.5.90 leaves a plain ExchangeError.
    order_not_found_codes: tuple[str, ...] = ()
    # The venue batches a book's changes and pushes them every this many ms (None: as they
    # happen). On such a venue a live book goes quiet only when its market does, so one
    # silent for `market_data.max_silence_ms` is resubscribed rather than trusted.
    book_push_ms: int | None = None


def _frozen(options: dict[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(options)


# MEXC spot v3 (https://www.mexc.com/api-docs/spot-v3/general-info, "Limits
# Description"): IP and UID limits are independent, and "each endpoint with IP limits has
# an independent 500 every 10 second limit" (the same for UID), counted in each endpoint's
# weight. Weights from the endpoint pages (spot-v3/market-data-endpoints,
# spot-v3/spot-account-trade): exchangeInfo 10, depth 1, account 10 (and "rate limit: 2
# times/s"), tradeFee 20, query order 2, new order 1 (IP) and 1 (UID), cancel order 1.
# Bursts are a tenth of the window so a burst never borrows against the venue's count.
_MEXC_WINDOW = window(500, 10, burst=50)
_MEXC_BUDGETS = {
    "GET /api/v3/exchangeInfo": _MEXC_WINDOW,
    "GET /api/v3/depth": _MEXC_WINDOW,
    # "2 times/s" at weight 10 is tighter than the endpoint's 500/10 s: one call at once,
    # then one a second, never more than two in any second.
    "GET /api/v3/account": window(20, 1, burst=10),
    "GET /api/v3/tradeFee": _MEXC_WINDOW,
    "GET /api/v3/order": _MEXC_WINDOW,
    "POST /api/v3/order": _MEXC_WINDOW,
    "DELETE /api/v3/order": _MEXC_WINDOW,
}
_MEXC_COSTS = {
    Call.LOAD_MARKETS: (Charge("GET /api/v3/exchangeInfo", 10),),  # spot only: one request
    Call.FETCH_ORDER_BOOK: (Charge("GET /api/v3/depth", 1),),
    Call.FETCH_BALANCE: (Charge("GET /api/v3/account", 10),),
    Call.FETCH_TRADING_FEE: (Charge("GET /api/v3/tradeFee", 20),),
    Call.FETCH_ORDER: (Charge("GET /api/v3/order", 2),),
    Call.CREATE_ORDER: (Charge("POST /api/v3/order", 1),),
    Call.CANCEL_ORDER: (Charge("DELETE /api/v3/order", 1),),
}

# Gate APIv4 (https://www.gate.com/docs/developers/apiv4/en/#frequency-limit-rule): public
# endpoints 200r/10s per endpoint per IP; spot private endpoints 200r/10s per endpoint per
# UID, except order placement and amendment, 10r/s in total per UID and market, and
# cancellation, 200r/s in total. Every request weighs 1. ccxt's spot markets read two
# endpoints at once (spot and margin currency pairs).
_GATE_WINDOW = window(200, 10, burst=20)
_GATE_BUDGETS = {
    "GET /spot/currency_pairs": _GATE_WINDOW,
    "GET /margin/currency_pairs": _GATE_WINDOW,
    "GET /spot/order_book": _GATE_WINDOW,
    "GET /spot/accounts": _GATE_WINDOW,
    "GET /wallet/fee": _GATE_WINDOW,
    "GET /spot/orders/{order_id}": _GATE_WINDOW,
    "POST /spot/orders": window(10, 1, burst=2),  # per market
    "DELETE /spot/orders/{order_id}": window(200, 1, burst=20),
}
_GATE_COSTS = {
    Call.LOAD_MARKETS: (Charge("GET /spot/currency_pairs"), Charge("GET /margin/currency_pairs")),
    Call.FETCH_ORDER_BOOK: (Charge("GET /spot/order_book"),),
    Call.FETCH_BALANCE: (Charge("GET /spot/accounts"),),
    Call.FETCH_TRADING_FEE: (Charge("GET /wallet/fee"),),
    Call.FETCH_ORDER: (Charge("GET /spot/orders/{order_id}"),),
    Call.CREATE_ORDER: (Charge("POST /spot/orders", per_market=True),),
    Call.CANCEL_ORDER: (Charge("DELETE /spot/orders/{order_id}"),),
}

PROFILES: Mapping[str, VenueProfile] = MappingProxyType(
    {
        "mexc": VenueProfile(
            venue_id="mexc",
            ccxt_id="mexc",
            options=_frozen({"adjustForTimeDifference": False}),
            spot_markets_only=True,
            load_currencies=False,
            budgets=_frozen(_MEXC_BUDGETS),
            costs=_frozen(_MEXC_COSTS),
            client_id_prefix="",
            client_id_max_len=32,
            create_reports_fills=False,
            orders_report_fees=False,
            market_buy_takes_cost=False,
            fast_ws_decode=True,
            books_per_connection=30,
            # MEXC spot v3 answers an unknown order with {"code":-2013,"msg":"Order does not
            # exist."} (Binance's code); ccxt's mexc error table has no entry for it.
            order_not_found_codes=("-2013",),
            book_push_ms=100,  # spot@public.aggre.depth.v3.api.pb@100ms
        ),
        "gateio": VenueProfile(
            venue_id="gateio",
            ccxt_id="gate",
            options=_frozen(
                {
                    "adjustForTimeDifference": False,
                    "fetchMarkets": {"types": ["spot"]},
                    # None makes ccxt call /account/detail before markets and balances.
                    "unifiedAccount": False,
                }
            ),
            spot_markets_only=False,
            load_currencies=False,
            budgets=_frozen(_GATE_BUDGETS),
            costs=_frozen(_GATE_COSTS),
            client_id_prefix="t-",
            client_id_max_len=30,  # ccxt refuses more than 28 characters after "t-"
            create_reports_fills=True,
            orders_report_fees=True,
            market_buy_takes_cost=True,
            fast_ws_decode=False,
            books_per_connection=100,
            # spot.obu: "400-level updates every 100 ms; 50-level updates every 20 ms"
            # (Gate APIv4 WebSocket docs, Order Book V2); arb subscribes level 50 or 400.
            book_push_ms=100,
        ),
    }
)

ALIASES: Mapping[str, str] = MappingProxyType({"gate": "gateio", "gate.io": "gateio"})


def profile_for(venue_id: str) -> VenueProfile:
    """The profile of a settings venue id or alias; ConfigError naming `exchanges` if unknown."""
    key = venue_id.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ConfigError("exchanges", f"unknown venue {venue_id!r} (known: {known})") from None
