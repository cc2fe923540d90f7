"""Binance spot: its profile, and the rules that keep its `<symbol>@depth@100ms` books whole.

Book integrity on the raw frames, as Binance documents it ("How to manage a local order book
correctly", spot WebSocket streams): each `depthUpdate` carries first/last update ids U..u; a
REST snapshot's `lastUpdateId` seeds the book, buffered events with u <= lastUpdateId are
dropped, the first applied one must have U <= lastUpdateId + 1 <= u, and every later one
must start at the previous u + 1. ccxt.pro 4.5.90 checks the last rule itself, but on a gap
it raises a ChecksumError into the watcher and drops the book, and its own snapshot (spawned
on the subscription ack, 1000 levels, outside our rate limiter) skips buffered events that
do not line up without saying so. Here the ack only resets the book; the stream fetches the
snapshot through our limiter and aligns the buffered events with it (as for MEXC), and a gap
resyncs the book the same way, before ccxt ever sees the frame.
"""

from __future__ import annotations

from typing import Any

from arb.venues.integrity import (
    BookState,
    Guard,
    Verdict,
    _dropped,
    _int,
    _tracked,
    invalidate,
    next_verdict,
    request,
    reset,
)
from arb.venues.limits import Call, Charge, window
from arb.venues.profiles import BookRules, VenueProfile, frozen

_SNAPSHOT_TRIES = 4  # lagging snapshots retried (with backoff) before the buffer is dropped
_SNAPSHOT_LEVELS = 100  # Binance's default depth snapshot (weight 5)


def install(guard: Guard) -> None:
    """Check every raw depthUpdate's U/u before ccxt applies it; align snapshots ourselves."""
    exchange = guard.exchange
    original = exchange.handle_order_book

    def handle_order_book(client: Any, message: Any) -> None:
        market_id = message.get("s")
        symbol = guard.symbol(market_id, market_id)
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        stored = exchange.orderbooks.get(symbol) if state is not None else None
        if state is None or stored is None:
            original(client, message)  # untracked, or before the ack: ccxt drops it
            return
        state.client = client
        if stored["nonce"] is None:
            # Not seeded yet: ccxt buffers it and the snapshot alignment judges it.
            original(client, message)
            if state.pending is None and not state.resyncing:
                request(exchange, state, "snapshot needed", client)
            return
        first, end = _int(message.get("U")), _int(message.get("u"))
        verdict = next_verdict(state.seq, first, end, after_snapshot=state.after_snapshot)
        if _dropped(exchange, state, verdict, end, client):
            return
        if verdict is Verdict.GAP:
            invalidate(exchange, state, f"sequence gap: U {first} after u {state.seq}", client)
            original(client, message)  # buffered: the first event the next snapshot aligns
            return
        state.seq = end
        state.after_snapshot = False
        original(client, message)
        state.applied(state.last_frame_at)

    exchange.handle_order_book = handle_order_book
    _hook_acks(guard)


def _hook_acks(guard: Guard) -> None:
    exchange = guard.exchange
    original = exchange.handle_order_book_subscription

    def handle_order_book_subscription(client: Any, message: Any, subscription: Any) -> None:
        symbols = subscription.get("symbols") or [subscription.get("symbol")]
        states = [guard.books.get(symbol) for symbol in symbols]
        if not any(states):
            original(client, message, subscription)  # nothing of ours: ccxt's own snapshot
            return
        for symbol, state in zip(symbols, states, strict=True):
            if exchange.orderbooks.get(symbol) is None:
                exchange.orderbooks[symbol] = exchange.order_book()
            if state is None:
                continue
            # A new subscription (first, or after a reconnect): whatever the book held came
            # from another stream position. It buffers from here and is seeded by the stream.
            if state.valid:
                invalidate(exchange, state, "resubscribed", client)
            else:
                reset(exchange, state)
                request(exchange, state, "snapshot needed", client)

    exchange.handle_order_book_subscription = handle_order_book_subscription


async def resync(stream: Any) -> Any:
    """Rebuild a reset book from a REST snapshot plus the events buffered since."""
    state = stream.state
    epoch = state.epoch
    snapshot = await stream.fetch_snapshot(state.symbol, stream.rest_limit)
    return seed(stream.exchange, state, snapshot, epoch)


def seed(exchange: Any, state: BookState, snapshot: Any, epoch: int) -> Any:
    """Seed ccxt's Binance book from a snapshot and the buffered events; None if not yet."""
    if state.epoch != epoch:
        return None  # reset while we fetched (gap, resubscribe); a fresh request follows
    stored = exchange.orderbooks.get(state.symbol)
    if stored is None:
        return None  # unsubscribed meanwhile: the next ack starts over
    top = exchange.safe_integer(snapshot, "nonce")
    if top is None:
        invalidate(exchange, state, "snapshot without lastUpdateId")
        return None
    # "Drop any event where u is <= lastUpdateId in the snapshot."
    newer = [event for event in stored.cache if (_int(event.get("u")) or 0) > top]
    first = _int(newer[0].get("U")) if newer else None
    if first is not None and first > top + 1:
        # The snapshot predates the oldest buffered event: "If it is not, go back to step 3."
        reason = f"snapshot {top} older than event from U {first}"
        if state.failures < _SNAPSHOT_TRIES:
            state.failures += 1
            request(exchange, state, reason)
        else:
            invalidate(exchange, state, reason)
        return None
    last = top
    for index, event in enumerate(newer):
        start = _int(event.get("U"))
        verdict = next_verdict(last, start, _int(event.get("u")), after_snapshot=index == 0)
        if verdict is not Verdict.APPLY:
            invalidate(exchange, state, f"sequence gap in buffer: U {start} after u {last}")
            return None
        last = _int(event.get("u")) or last
    stored.reset(snapshot)
    for event in newer:
        exchange.handle_order_book_message(None, event, stored)
    stored.cache = []
    state.seq = last
    state.after_snapshot = not newer
    state.applied(state.clock())
    return stored


def _book_hash(symbol: str) -> str:
    # ccxt.pro binance resolves a book's watchers under "orderbook::<symbol>" (two colons).
    return "orderbook::" + symbol


def _rest_limit(depth: int) -> int | None:
    # None: Binance's default 100 levels (weight 5); arb's depth is at most 400.
    return None if depth <= _SNAPSHOT_LEVELS else 500


# Binance spot REST limits (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits
# and each endpoint's page under rest-api/): every /api/* request spends its weight from one
# REQUEST_WEIGHT budget of 6000 per minute per IP; placed orders also count against the
# account's ORDERS limit of 100 per 10 s. Weights: exchangeInfo 20, depth by its limit
# (below), account 20, query order 4, new order 1, cancel order 1. /sapi/* endpoints are
# counted per endpoint apart (12000 per minute per IP,
# https://developers.binance.com/docs/wallet/asset/trade-fee: tradeFee weight 1). Bursts are
# a tenth of the window.
# The request weight is one budget for reads and orders alike; it is split here so that a
# burst of reads never delays an order: reads get 5400 a minute, order calls the other 600.
# GET /api/v3/depth (rest-api/market-data-endpoints#order-book; the WebSocket API's `depth`
# request, websocket-api/market-data-requests#order-book, lists the same table): "Weight:
# Adjusted based on the limit", 1-100 -> 5, 101-500 -> 25, 501-1000 -> 50, 1001-5000 -> 250;
# limit "Default: 100; Maximum: 5000". Without a limit (what the book stream sends for
# depths up to 100, see _rest_limit) a snapshot weighs 5.
_DEPTH_WEIGHTS = ((100, 5.0), (500, 25.0), (1000, 50.0), (5000, 250.0))
_BINANCE_BUDGETS = {
    "REQUEST_WEIGHT": window(5400, 60, burst=540),
    "REQUEST_WEIGHT (orders)": window(600, 60, burst=60),
    "ORDERS": window(100, 10, burst=10),
    "GET /sapi/v1/asset/tradeFee": window(12000, 60, burst=1200),
}
_BINANCE_COSTS = {
    Call.LOAD_MARKETS: (Charge("REQUEST_WEIGHT", 20),),  # spot only: exchangeInfo alone
    Call.FETCH_ORDER_BOOK: (Charge("REQUEST_WEIGHT", 5, by_limit=_DEPTH_WEIGHTS),),
    Call.FETCH_BALANCE: (Charge("REQUEST_WEIGHT", 20),),
    Call.FETCH_TRADING_FEE: (Charge("GET /sapi/v1/asset/tradeFee", 1),),
    Call.FETCH_ORDER: (Charge("REQUEST_WEIGHT", 4),),
    Call.CREATE_ORDER: (Charge("REQUEST_WEIGHT (orders)", 1), Charge("ORDERS", 1)),
    Call.CANCEL_ORDER: (Charge("REQUEST_WEIGHT (orders)", 1),),
}


PROFILE = VenueProfile(
    venue_id="binance",
    ccxt_id="binance",
    options=frozen(
        {
            "adjustForTimeDifference": False,
            "fetchMarkets": {"types": ["spot"]},
            # True (ccxt's default) adds two signed margin-pair requests to load_markets.
            "fetchMargins": False,
        }
    ),
    spot_markets_only=False,
    load_currencies=False,  # /sapi/v1/capital/config/getall: signed, weight 10, not needed
    budgets=frozen(_BINANCE_BUDGETS),
    costs=frozen(_BINANCE_COSTS),
    # newClientOrderId: "A unique id among open orders", ^[.A-Z:/a-z0-9_-]{1,36}$.
    client_id_prefix="",
    client_id_max_len=36,
    # ccxt asks for newOrderRespType FULL: status, executedQty and fills with commissions.
    create_reports_fills=True,
    # A queried order carries no commission: a filled one's fee is estimated from the rate.
    orders_report_fees=False,
    market_buy_takes_cost=False,
    decoder=None,
    # Binance allows 1024 streams per connection; ccxt.pro spreads subscriptions over
    # numbered /ws/<n> URLs itself. Spread books like the other venues do.
    books_per_connection=100,
    # Binance answers an unknown order with -2013 "Order does not exist." (ccxt maps it).
    order_not_found_codes=("-2013",),
    book_push_ms=100,  # <symbol>@depth@100ms
    listed=2,
    books=BookRules(
        snapshot_call="publicGetDepth",
        rest_resync=True,
        install=install,
        resync=resync,
        rest_limit=_rest_limit,
        book_hash=_book_hash,
    ),
)
