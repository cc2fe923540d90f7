"""Gate.io spot: its profile, and the rules that keep its `spot.obu` books whole.

Book integrity on the raw frames: a delta carries U..u and must start at the previous u + 1
(ccxt.pro 4.5.90 applies it after a gap silently); a full snapshot resets the sequence. A
book is rebuilt by resubscribing: Gate's first push on a subscription is a full snapshot.
"""

from __future__ import annotations

from typing import Any

from arb.venues import fast_apply
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

# spot.obu sends 50 levels, or 400 when ccxt is asked for exactly 400.
_LEVELS = 50


def _snapshot_taken(exchange: Any, state: BookState, end: int | None, client: Any) -> bool:
    """Whether a Gate full snapshot up to `end` may replace the book (if not: dropped or resync).

    Gate "may send full depth snapshots multiple times", and each replaces the book.
    Two kinds would freeze it. One without a readable `u`: its sequence id would be None,
    which here means "no snapshot since subscribing", so every later delta would be
    dropped unseen (ccxt, its nonce None too, ignores them as well) while the stream had
    already handed the snapshot out as valid. And one older than the book (a late
    snapshot from before a resubscription): its levels replace newer ones, and on a
    quiet book no delta comes to expose the step back.
    """
    if end is None:
        invalidate(exchange, state, "full snapshot without a readable u", client)
        return False
    if state.seq is not None and end < state.seq:
        _dropped(exchange, state, Verdict.STALE, end, client)
        return False
    state.seq = end  # the next delta must start at u + 1
    state.after_snapshot = False
    state.behind = 0
    return True


def install(guard: Guard) -> None:
    """Check every raw spot.obu frame's U/u before ccxt applies it."""
    exchange = guard.exchange
    original = exchange.handle_order_book

    def handle_order_book(client: Any, message: Any) -> None:
        result = message.get("result")
        if message.get("channel") != "spot.obu" or not isinstance(result, dict):
            original(client, message)
            return
        channel = result.get("s")  # "ob.BTC_USDT.50"
        parts = channel.split(".") if isinstance(channel, str) else []
        market_id = parts[1] if len(parts) > 1 else None
        symbol = guard.symbol(channel, market_id, None, "_", "spot")
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        if state is None:
            original(client, message)
            return
        end = _int(result.get("u"))
        if result.get("full") is True:
            if _snapshot_taken(exchange, state, end, client):
                original(client, message)
                state.applied(state.last_frame_at)
            return
        if state.seq is None:
            return  # no full snapshot since the (re)subscription: ccxt would ignore it too
        first = _int(result.get("U"))
        verdict = next_verdict(state.seq, first, end, after_snapshot=False)
        if _dropped(exchange, state, verdict, end, client):
            return
        if verdict is Verdict.GAP:
            invalidate(exchange, state, f"sequence gap: U {first} after u {state.seq}", client)
            return
        state.seq = end
        original(client, message)
        state.applied(state.last_frame_at)

    exchange.handle_order_book = handle_order_book


async def resync(stream: Any) -> Any:
    """Resubscribe: the book arrives with Gate's full snapshot on the next watch."""
    await resubscribe(stream)


def _ws_limit(depth: int) -> int | None:
    return 400 if depth > _LEVELS else None


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


PROFILE = VenueProfile(
    venue_id="gateio",
    ccxt_id="gate",
    options=frozen(
        {
            "adjustForTimeDifference": False,
            "fetchMarkets": {"types": ["spot"]},
            # None makes ccxt call /account/detail before markets and balances.
            "unifiedAccount": False,
        }
    ),
    spot_markets_only=False,
    load_currencies=False,
    budgets=frozen(_GATE_BUDGETS),
    costs=frozen(_GATE_COSTS),
    client_id_prefix="t-",
    client_id_max_len=30,  # ccxt refuses more than 28 characters after "t-"
    create_reports_fills=True,
    orders_report_fees=True,
    market_buy_takes_cost=True,
    decoder=None,
    books_per_connection=100,
    # spot.obu: "400-level updates every 100 ms; 50-level updates every 20 ms"
    # (Gate APIv4 WebSocket docs, Order Book V2); arb subscribes level 50 or 400.
    book_push_ms=100,
    listed=1,
    books=BookRules(
        snapshot_call="publicSpotGetOrderBook",
        rest_resync=False,
        install=install,
        resync=resync,
        fast_apply=fast_apply.install,
        ws_limit=_ws_limit,
    ),
    aliases=("gate", "gate.io"),
)
