"""Bybit spot (API v5): its profile, and the rules that keep its `orderbook.N` books whole.

Book integrity on the raw frames (https://bybit-exchange.github.io/docs/v5/websocket/public/
orderbook): a subscription starts with a `snapshot`, then `delta`s whose update id `u` must
each be the previous `u` + 1; "if you receive a new snapshot message, you will have to reset
your local orderbook", and `u` == 1 is a snapshot sent after a service restart. ccxt.pro
4.5.90 applies every delta without looking at `u` (even one before any snapshot) and keeps no
sequence id on the book: the hooks check `u`, keep it as the book's nonce, and a gap resets
the book. A book is rebuilt by resubscribing, as on Gate: the first push is a snapshot.
"""

from __future__ import annotations

from typing import Any

from arb.venues.books import resubscribe
from arb.venues.integrity import (
    BookState,
    Guard,
    Verdict,
    _dropped,
    _int,
    _tracked,
    invalidate,
    next_verdict,
)
from arb.venues.limits import Call, Charge, window
from arb.venues.profiles import BookRules, VenueProfile, frozen

# Spot depths Bybit serves on the stream (ccxt.pro refuses any other limit).
_SPOT_DEPTHS = (50, 200, 1000)


def _applied(exchange: Any, state: BookState, end: int | None) -> None:
    """Record `u` as the book's sequence and ccxt's nonce (ccxt keeps none for Bybit)."""
    state.seq = end
    stored = exchange.orderbooks.get(state.symbol)
    if stored is not None:
        stored["nonce"] = end
    state.applied(state.last_frame_at)


def _snapshot_taken(exchange: Any, state: BookState, end: int | None, client: Any) -> bool:
    """Whether a snapshot may replace the book: any with a readable u (u == 1 after a restart).

    One without a readable u would leave the book with no sequence id, and every later
    delta would be dropped unseen while the stream had handed the snapshot out as valid.
    """
    if end is None:
        invalidate(exchange, state, "snapshot without a readable u", client)
        return False
    state.after_snapshot = False
    state.behind = 0
    return True


def install(guard: Guard) -> None:
    """Check every raw orderbook frame's `u` before ccxt applies it."""
    exchange = guard.exchange
    original = exchange.handle_order_book

    def handle_order_book(client: Any, message: Any) -> None:
        data = message.get("data")
        topic = message.get("topic")  # "orderbook.50.BTCUSDT"
        if not isinstance(data, dict) or not isinstance(topic, str):
            original(client, message)
            return
        symbol = guard.symbol(topic, data.get("s"), None, None, "spot")
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        if state is None:
            original(client, message)
            return
        end = _int(data.get("u"))
        if message.get("type") == "snapshot":
            if _snapshot_taken(exchange, state, end, client):
                original(client, message)
                _applied(exchange, state, end)
            return
        if state.seq is None:
            return  # no snapshot since the (re)subscription: ccxt would apply it to nothing
        verdict = next_verdict(state.seq, end, end, after_snapshot=False)
        if _dropped(exchange, state, verdict, end, client):
            return
        if verdict is Verdict.GAP:
            invalidate(exchange, state, f"sequence gap: u {end} after {state.seq}", client)
            return
        original(client, message)
        _applied(exchange, state, end)

    exchange.handle_order_book = handle_order_book


async def resync(stream: Any) -> Any:
    """Resubscribe: the book arrives with Bybit's snapshot on the next watch."""
    await resubscribe(stream)


def _ws_limit(depth: int) -> int | None:
    if depth <= _SPOT_DEPTHS[0]:
        return None  # ccxt's default for spot: 50
    return next((d for d in _SPOT_DEPTHS if d >= depth), _SPOT_DEPTHS[-1])


def omit_unset_params(exchange: Any) -> None:
    """Drop None-valued request params before ccxt signs them.

    ccxt 4.5.90's bybit fetch_order always sends `orderId`, so a lookup by `orderLinkId`
    alone would ask for the order "None"; Bybit takes either id on its own.
    """
    sign = exchange.sign

    def sign_set_params(
        path: Any, api: Any = "public", method: str = "GET", params: Any = None
    ) -> Any:
        given = {k: v for k, v in (params or {}).items() if v is not None}
        return sign(path, api, method, given)

    exchange.sign = sign_set_params


# Bybit v5 rate limits (https://bybit-exchange.github.io/docs/v5/rate-limit): public
# endpoints share an IP limit of 600 requests per 5 s; private endpoints are limited per
# UID and endpoint, in requests per second, as the table there lists for spot: order/create
# and order/cancel 20/s, order/realtime and order/history 50/s, account/wallet-balance
# 50/s, account/fee-rate 5/s. Every request weighs 1.
_BYBIT_PUBLIC = window(600, 5, burst=60)
_BYBIT_BUDGETS = {
    "public": _BYBIT_PUBLIC,
    "GET /v5/account/wallet-balance": window(50, 1, burst=10),
    "GET /v5/account/fee-rate": window(5, 1, burst=2),
    "GET /v5/order/realtime": window(50, 1, burst=10),
    "POST /v5/order/create": window(20, 1, burst=4),
    "POST /v5/order/cancel": window(20, 1, burst=4),
}
_BYBIT_COSTS = {
    Call.LOAD_MARKETS: (Charge("public"),),  # GET /v5/market/instruments-info, spot only
    Call.FETCH_ORDER_BOOK: (Charge("public"),),  # GET /v5/market/orderbook
    Call.FETCH_BALANCE: (Charge("GET /v5/account/wallet-balance"),),
    Call.FETCH_TRADING_FEE: (Charge("GET /v5/account/fee-rate"),),
    Call.FETCH_ORDER: (Charge("GET /v5/order/realtime"),),
    Call.CREATE_ORDER: (Charge("POST /v5/order/create"),),
    Call.CANCEL_ORDER: (Charge("POST /v5/order/cancel"),),
}


PROFILE = VenueProfile(
    venue_id="bybit",
    ccxt_id="bybit",
    options=frozen(
        {
            "adjustForTimeDifference": False,
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            # None makes ccxt ask /v5/user/query-api and /v5/account/info before the first
            # private call. arb trades on a Unified Trading Account (Bybit's only account
            # type for new users): balances are read with accountType=UNIFIED.
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "unifiedMarginStatus": 6,
            # ccxt refuses fetch_order on a unified account unless told that Bybit keeps
            # only the last 500 closed orders there: enough to reconcile the orders we sent.
            "fetchOrder": {"acknowledged": True},
        }
    ),
    spot_markets_only=False,
    load_currencies=False,  # /v5/asset/coin/query-info is signed and not needed for spot
    budgets=frozen(_BYBIT_BUDGETS),
    costs=frozen(_BYBIT_COSTS),
    client_id_prefix="",
    client_id_max_len=36,  # orderLinkId: "max 36 characters"
    # The create answer is {orderId, orderLinkId} only: fetch the order for its fills.
    create_reports_fills=False,
    # ccxt 4.5.90 reads an order's fee from `cumFeeDetail` only, which older answers lack
    # (cumExecFee alone): then the fee is estimated from the taker rate, like MEXC's.
    orders_report_fees=False,
    market_buy_takes_cost=True,  # a spot market buy's qty is quote coin by default
    decoder=omit_unset_params,
    # Bybit caps the topics of one subscribe request (10 on spot), not of a connection,
    # and ccxt subscribes one book per request: spread books like any other venue.
    books_per_connection=50,
    client_id_param="orderLinkId",
    book_push_ms=20,  # orderbook.50 spot: "push frequency 20ms"
    listed=4,
    books=BookRules(install=install, resync=resync, ws_limit=_ws_limit),
)
