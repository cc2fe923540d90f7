"""OKX spot: its profile, and the rules that keep its `books` channel books whole.

Book integrity on the raw frames, as OKX documents the `books` channel
(https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel):
an update's `prevSeqId` must equal the previous frame's `seqId` (equal `prevSeqId` and
`seqId` is a heartbeat: no change), and every frame carries the CRC32 `checksum` of the top
25 levels of the merged book. ccxt.pro 4.5.90 checks the sequence but not the checksum, and
on a gap drops its book on its own terms; these hooks see each frame first, so ccxt never
meets a gap, and a bad checksum invalidates the book. A book is rebuilt by resubscribing:
OKX's first push on a subscription is a full snapshot.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any

from arb.venues.books import resubscribe
from arb.venues.integrity import BookState, Guard, _int, _tracked, invalidate
from arb.venues.limits import Call, Charge, window
from arb.venues.profiles import BookRules, VenueProfile, frozen

CHANNEL = "books"  # 400 levels, changes pushed every 100 ms, with seqId and checksum
CHECKSUM_LEVELS = 25


@dataclass(slots=True)
class _Side:
    """One side of the book as OKX sent it: the price and size strings, in book order."""

    descending: bool
    keys: list[float] = field(default_factory=list)  # sort keys, ascending
    levels: dict[float, tuple[str, str]] = field(default_factory=dict)

    def apply(self, rows: list[Any]) -> None:
        """Merge [price, size, ...] rows; size 0 deletes the level (OKX's merge rule)."""
        for row in rows:
            price_text, size_text = str(row[0]), str(row[1])
            price = float(price_text)
            key = -price if self.descending else price
            if float(size_text) == 0:
                if self.levels.pop(key, None) is not None:
                    del self.keys[bisect_left(self.keys, key)]
                continue
            if key not in self.levels:
                insort(self.keys, key)
            self.levels[key] = (price_text, size_text)

    def top(self, depth: int) -> list[tuple[str, str]]:
        """The best `depth` levels as sent."""
        return [self.levels[key] for key in self.keys[:depth]]


@dataclass(slots=True)
class _Mirror:
    """The strings of one book, kept only to check OKX's checksum (ccxt keeps floats)."""

    bids: _Side = field(default_factory=lambda: _Side(descending=True))
    asks: _Side = field(default_factory=lambda: _Side(descending=False))


def checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """OKX's signed CRC32 of the top 25 levels: bid:size:ask:size alternately, as sent."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _matches(mirror: _Mirror, sent: Any) -> bool:
    expected = _int(sent)
    top = checksum(mirror.bids.top(CHECKSUM_LEVELS), mirror.asks.top(CHECKSUM_LEVELS))
    return expected is not None and expected == top


def _snapshot(exchange: Any, state: BookState, frame: Any, client: Any) -> _Mirror | None:
    """The strings of a snapshot whose seqId and checksum hold; None after invalidating."""
    mirror = _Mirror()
    mirror.bids.apply(frame.get("bids") or [])
    mirror.asks.apply(frame.get("asks") or [])
    seq = _int(frame.get("seqId"))
    if seq is None:
        invalidate(exchange, state, "snapshot without a readable seqId", client)
        return None
    if not _matches(mirror, frame.get("checksum")):
        invalidate(exchange, state, "checksum mismatch on the snapshot", client)
        return None
    state.seq = seq
    state.after_snapshot = False
    state.behind = 0
    return mirror


def _merged(exchange: Any, state: BookState, mirror: _Mirror, frame: Any, client: Any) -> bool:
    """Merge an update that follows the book and matches its checksum; else invalidate."""
    previous = _int(frame.get("prevSeqId"))
    seq = _int(frame.get("seqId"))
    if previous != state.seq or seq is None:
        reason = f"sequence gap: prevSeqId {previous} after {state.seq}"
        invalidate(exchange, state, reason, client)
        return False
    mirror.bids.apply(frame.get("bids") or [])
    mirror.asks.apply(frame.get("asks") or [])
    if not _matches(mirror, frame.get("checksum")):
        invalidate(exchange, state, f"checksum mismatch at seqId {seq}", client)
        return False
    # A heartbeat (seqId == prevSeqId) changes nothing but proves the subscription
    # lives; ccxt stamps the book with its ts and hands it out again.
    state.seq = seq
    return True


def install(guard: Guard) -> None:
    """Check every raw `books` frame's seqId chain and checksum before ccxt applies it."""
    exchange = guard.exchange
    original = exchange.handle_order_book
    mirrors: dict[str, _Mirror] = {}

    def handle_order_book(client: Any, message: Any) -> None:
        arg = message.get("arg")
        ours = isinstance(arg, dict) and arg.get("channel") == CHANNEL
        market_id = arg.get("instId") if ours else None
        symbol = guard.symbol(market_id, market_id) if ours else None
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        if state is None or symbol is None:
            original(client, message)
            return
        action = message.get("action")
        data = message.get("data")
        frame = data[0] if isinstance(data, list) and len(data) == 1 else None
        if not isinstance(frame, dict) or action not in ("snapshot", "update"):
            invalidate(exchange, state, f"unreadable books frame ({action})", client)
            return
        if action == "snapshot":
            mirror = _snapshot(exchange, state, frame, client)
            if mirror is None:
                return
            mirrors[symbol] = mirror
        else:
            known = mirrors.get(symbol)
            if state.seq is None or known is None:
                return  # no snapshot since the (re)subscription: ccxt would refuse it too
            if not _merged(exchange, state, known, frame, client):
                return
        original(client, message)
        state.applied(state.last_frame_at)

    exchange.handle_order_book = handle_order_book


async def resync(stream: Any) -> Any:
    """Resubscribe: the book arrives with OKX's snapshot on the next watch."""
    await resubscribe(stream)


def _book_hash(symbol: str) -> str:
    # ccxt.pro okx resolves a book under its channel name, not "orderbook:".
    return f"{CHANNEL}:{symbol}"


def _ws_limit(depth: int) -> int | None:
    # ccxt maps a limit to a channel (5 -> books5 without sequence ids, 50 -> books50-l2-tbt,
    # VIP only); None keeps the public 400-level `books` channel whatever depth arb uses.
    return None


# OKX API v5 rate limits, per endpoint as each endpoint's page states
# (https://www.okx.com/docs-v5/en/#overview-rate-limits and the endpoint pages):
# public/instruments 20 / 2 s per IP and instrument type, market/books 40 / 2 s per IP,
# account/balance 10 / 2 s per user, account/trade-fee 5 / 2 s per user; trade/order
# (place), GET trade/order and trade/cancel-order 60 / 2 s each per user and instrument.
# Every request weighs 1. Bursts stay under the venue's count for one window.
_OKX_BUDGETS = {
    "GET /api/v5/public/instruments": window(20, 2, burst=5),
    "GET /api/v5/market/books": window(40, 2, burst=10),
    "GET /api/v5/account/balance": window(10, 2, burst=3),
    "GET /api/v5/account/trade-fee": window(5, 2, burst=2),
    "GET /api/v5/trade/order": window(60, 2, burst=15),
    "POST /api/v5/trade/order": window(60, 2, burst=15),  # per instrument
    "POST /api/v5/trade/cancel-order": window(60, 2, burst=15),
}
_OKX_COSTS = {
    Call.LOAD_MARKETS: (Charge("GET /api/v5/public/instruments"),),  # instType=SPOT only
    Call.FETCH_ORDER_BOOK: (Charge("GET /api/v5/market/books"),),
    Call.FETCH_BALANCE: (Charge("GET /api/v5/account/balance"),),
    Call.FETCH_TRADING_FEE: (Charge("GET /api/v5/account/trade-fee"),),
    Call.FETCH_ORDER: (Charge("GET /api/v5/trade/order", per_market=True),),
    Call.CREATE_ORDER: (Charge("POST /api/v5/trade/order", per_market=True),),
    Call.CANCEL_ORDER: (Charge("POST /api/v5/trade/cancel-order", per_market=True),),
}


PROFILE = VenueProfile(
    venue_id="okx",
    ccxt_id="okx",
    options=frozen(
        {
            "adjustForTimeDifference": False,
            "fetchMarkets": {"types": ["spot"]},
            # ccxt's default sends a single order to /trade/batch-orders; the order endpoint
            # is the one whose answer and rate limit arb prices.
            "createOrder": "privatePostTradeOrder",
        }
    ),
    spot_markets_only=False,
    # OKX's currency list is a private endpoint: ccxt would sign a request at start-up.
    load_currencies=False,
    budgets=frozen(_OKX_BUDGETS),
    costs=frozen(_OKX_COSTS),
    client_id_prefix="",
    # clOrdId: "a combination of case-sensitive alphanumerics ... up to 32 characters".
    client_id_max_len=32,
    # The create answer carries only ordId, clOrdId and sCode: fills come from fetch_order,
    # whose order carries fee and feeCcy.
    create_reports_fills=False,
    orders_report_fees=True,
    market_buy_takes_cost=False,
    decoder=None,
    # OKX: at most 480 subscribe / unsubscribe requests per hour per connection and 3
    # connections per second per IP; 100 books per connection keeps resubscribes cheap.
    books_per_connection=100,
    book_push_ms=100,  # books: "incremental data will be pushed every 100 ms"
    listed=3,
    books=BookRules(install=install, resync=resync, ws_limit=_ws_limit, book_hash=_book_hash),
    needs_password=True,
)
