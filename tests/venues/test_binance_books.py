"""Binance diff-depth books through the real ccxt.pro binance code with arb's hooks installed.

A loopback venue serves the recorded exchangeInfo and depth snapshot (tests/data/binance, each
with its source) and pushes the documented `depthUpdate` event. To build sequences only its
`s` (the subscribed market), `U` and `u` are set; where a frame must leave the book usable its
levels are those of the recorded BTCUSDT snapshot (absolute amounts, so re-sending a level
changes nothing). The documented levels (a 0.0024 bid, a 0.0026 ask) would cross the BTC book:
a gapped frame that carries them and was applied anyway would show.
"""

from __future__ import annotations

import copy
import json
from contextlib import aclosing
from pathlib import Path
from typing import Any

import ccxt.pro
from aiohttp import web
from test_books import Clock, LoopbackVenue, Turns, levels, next_book, next_event, venues

from arb.domain.book import OrderBook
from arb.venues.binance import PROFILE
from arb.venues.books import BookStatus, BookStatusKind, watch_books
from arb.venues.urls import override_urls

__all__ = ["venues"]  # the fixture, shared with test_books

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
EXCHANGE_INFO = json.loads((DATA / "exchangeInfo.json").read_text())["payload"]
DEPTH = json.loads((DATA / "depth.json").read_text())["payload"]
STREAM = json.loads((DATA / "ws_depth_update.json").read_text())
S0 = int(DEPTH["lastUpdateId"])


def snapshot(last_update_id: int) -> dict[str, Any]:
    body = copy.deepcopy(DEPTH)
    body["lastUpdateId"] = last_update_id
    return dict(body)


def frame(first: int, end: int, *, documented_levels: bool = False) -> dict[str, Any]:
    event = copy.deepcopy(STREAM["payload"])
    event.update(s="BTCUSDT", U=first, u=end)
    if not documented_levels:
        event["b"], event["a"] = DEPTH["bids"][1:], DEPTH["asks"][1:]
    return dict(event)


async def control(ws: web.WebSocketResponse, message: dict[str, Any]) -> bool:
    if message.get("method") == "SUBSCRIBE":
        await ws.send_str(json.dumps({**STREAM["subscribe_response"], "id": message["id"]}))
        return True
    return False


async def binance_venue(snapshots: list[Any]) -> LoopbackVenue:
    rest = {"/api/v3/exchangeInfo": EXCHANGE_INFO, "/api/v3/depth": Turns(snapshots)}
    venue = LoopbackVenue(rest, control)
    await venue.start()
    return venue


def binance_exchange(venue: LoopbackVenue) -> Any:
    """A ccxt.pro binance built as the adapter builds it, pointed at the loopback venue."""
    exchange = ccxt.pro.binance({"enableRateLimit": False, "options": dict(PROFILE.options)})
    exchange.urls["api"] = override_urls(
        exchange.urls["api"], venue.base, f"ws://127.0.0.1:{venue.port}"
    )
    exchange.has["fetchCurrencies"] = False
    return exchange


async def test_the_subscription_ack_seeds_the_book_from_one_snapshot(venues: list[Any]) -> None:
    venue = await binance_venue([snapshot(S0)])
    exchange = binance_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(watch_books(exchange, "binance", "BTC/USDT", 5, Clock())) as stream:
        statuses, book = await next_book(stream)
        assert statuses == []
        assert (book.bids, book.asks, book.nonce) == (
            levels(DEPTH["bids"]),
            levels(DEPTH["asks"]),
            S0,
        )
        # The first event may straddle the snapshot id (U <= lastUpdateId + 1 <= u).
        venue.outbox.put_nowait(frame(S0 - 3, S0 + 2))
        update = await next_event(stream)
        assert isinstance(update, OrderBook)
        assert (update.bids, update.nonce) == (book.bids, S0 + 2)
        venue.outbox.put_nowait(frame(S0 + 3, S0 + 7))
        update = await next_event(stream)
        assert isinstance(update, OrderBook)
        assert update.nonce == S0 + 7
    # One snapshot, asked for by our stream (default 100 levels), not ccxt's own 1000-level one.
    assert venue.hits["/api/v3/depth"] == 1
    assert venue.received[0]["method"] == "SUBSCRIBE"
    assert venue.received[0]["params"] == ["btcusdt@depth@100ms"]


async def test_a_gap_is_never_applied_and_the_book_is_rebuilt(venues: list[Any]) -> None:
    venue = await binance_venue([snapshot(S0), snapshot(S0 + 20)])
    exchange = binance_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "binance", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        _, first = await next_book(stream)
        venue.outbox.put_nowait(frame(S0 + 1, S0 + 4))
        assert (await next_event(stream)).nonce == S0 + 4  # type: ignore[union-attr]
        # U S0+9 after u S0+4: four updates are missing. ccxt would raise a ChecksumError
        # into the watcher; the guard drops the book first and rebuilds it from REST.
        venue.outbox.put_nowait(frame(S0 + 9, S0 + 12, documented_levels=True))
        status = await next_event(stream)
        assert isinstance(status, BookStatus)
        assert status.kind is BookStatusKind.INVALID
        assert status.reason == f"sequence gap: U {S0 + 9} after u {S0 + 4}"
        _, after = await next_book(stream)
    # The gapped frame (u S0+12 <= the new snapshot's S0+20) was buffered and dropped: its
    # crossing 0.0026 ask never reached the book.
    assert (after.bids, after.asks, after.nonce) == (first.bids, first.asks, S0 + 20)
    assert not after.crossed
    assert venue.hits["/api/v3/depth"] == 2


async def test_buffered_events_are_aligned_with_the_snapshot(venues: list[Any]) -> None:
    # The snapshot lags the stream: events buffered since the ack are applied on top of it,
    # those it already holds are dropped, and the next live event continues the sequence.
    venue = await binance_venue([snapshot(S0)])
    exchange = binance_exchange(venue)
    venues.append((venue, exchange))
    venue.outbox.put_nowait(frame(S0 - 6, S0 - 2, documented_levels=True))  # in the snapshot
    venue.outbox.put_nowait(frame(S0 - 1, S0 + 3))
    venue.outbox.put_nowait(frame(S0 + 4, S0 + 5))
    async with aclosing(watch_books(exchange, "binance", "BTC/USDT", 5, Clock())) as stream:
        _, book = await next_book(stream)
        if book.nonce != S0 + 5:  # the snapshot may have come before the last buffered one
            _, book = await next_book(stream)
        assert book.nonce == S0 + 5
        assert not book.crossed
        venue.outbox.put_nowait(frame(S0 + 6, S0 + 6))
        update = await next_event(stream)
        assert isinstance(update, OrderBook)
        assert update.nonce == S0 + 6


async def test_a_snapshot_older_than_the_buffer_is_fetched_again(venues: list[Any]) -> None:
    venue = await binance_venue([snapshot(S0 - 50), snapshot(S0 + 2)])
    exchange = binance_exchange(venue)
    venues.append((venue, exchange))
    venue.outbox.put_nowait(frame(S0 + 1, S0 + 3))
    async with aclosing(
        watch_books(exchange, "binance", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        _, book = await next_book(stream)
    assert book.nonce == S0 + 3
    assert venue.hits["/api/v3/depth"] == 2
