"""OKX `books` integrity through the real ccxt.pro okx client, its hooks installed.

A loopback WebSocket on 127.0.0.1 sends OKX's documented frames (tests/data/okx/ws_books.json,
sources there): a snapshot, then updates in order, out of sequence, as a heartbeat, or with a
checksum that does not match the merged book.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest
from aiohttp import WSMsgType, web

from arb.domain.book import OrderBook
from arb.venues.books import BookEvent, BookStatus, BookStatusKind, book_health, watch_books
from arb.venues.okx import PROFILE, checksum

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
WS = json.loads((DATA / "ws_books.json").read_text())
INSTRUMENTS = json.loads((DATA / "instruments.json").read_text())["payload"]
SEQ = 123456


def snapshot(seq: int = SEQ) -> dict[str, Any]:
    frame = copy.deepcopy(WS["snapshot"])
    frame["data"][0]["seqId"] = seq
    return dict(frame)


def update(previous: int = SEQ, seq: int = SEQ + 1, **changes: Any) -> dict[str, Any]:
    frame = copy.deepcopy(WS["update"])
    frame["data"][0] |= {"prevSeqId": previous, "seqId": seq, **changes}
    return dict(frame)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class OkxLoopback:
    """/api/v5/public/instruments and /ws/v5/public: acks, then one snapshot per subscribe."""

    def __init__(self, snapshots: list[dict[str, Any]]) -> None:
        self.snapshots = snapshots
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[Any] = []
        app = web.Application()
        app.router.add_get("/api/v5/public/instruments", self._instruments)
        app.router.add_get("/ws/v5/public", self._ws)
        self.runner = web.AppRunner(app)
        self.port = 0

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _instruments(self, request: web.Request) -> web.Response:
        assert request.query["instType"] == "SPOT"
        return web.json_response(INSTRUMENTS)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        pump = asyncio.create_task(self._pump(ws))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            message = json.loads(msg.data)
            self.received.append(message)
            for arg in message.get("args", []):
                event = message["op"]
                await ws.send_str(json.dumps({"event": event, "arg": arg, "connId": "a4d3ae55"}))
                if event == "subscribe":
                    await ws.send_str(json.dumps(self.snapshots.pop(0)))
        pump.cancel()
        return ws

    async def _pump(self, ws: web.WebSocketResponse) -> None:
        while True:
            await ws.send_str(json.dumps(await self.outbox.get()))


@pytest.fixture
async def okx() -> AsyncIterator[Any]:
    opened: list[tuple[OkxLoopback, Any]] = []

    async def make(snapshots: list[dict[str, Any]]) -> tuple[OkxLoopback, Any]:
        venue = OkxLoopback(snapshots)
        await venue.start()
        exchange = ccxt.pro.okx({"enableRateLimit": False, "options": dict(PROFILE.options)})
        exchange.urls["api"] = {
            "rest": f"http://127.0.0.1:{venue.port}",
            "ws": f"ws://127.0.0.1:{venue.port}/ws/v5",
        }
        exchange.has["fetchCurrencies"] = False
        opened.append((venue, exchange))
        return venue, exchange

    yield make
    for venue, exchange in opened:
        await exchange.close()
        await venue.runner.cleanup()


async def next_event(stream: AsyncIterator[BookEvent]) -> BookEvent:
    async with asyncio.timeout(10):
        return await anext(stream)


def subscriptions(venue: OkxLoopback) -> list[tuple[str, list[Any]]]:
    return [(m["op"], m["args"]) for m in venue.received]


TOPIC = [{"channel": "books", "instId": "BTC-USDT"}]


def test_checksum_is_okx_documented_crc32_of_alternating_levels() -> None:
    # OKX's "Calculate Checksum" examples, with the checksum values OKX gives for them.
    assert checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == (
        -1881014294
    )
    assert checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == (
        831078360
    )
    # The strings as sent count: "8" and "8.0" are different levels to the checksum.
    assert checksum([("3366.1", "7")], [("3366.8", "9.0")]) != checksum(
        [("3366.1", "7")], [("3366.8", "9")]
    )


async def test_snapshot_then_in_order_update_and_heartbeat(okx: Any) -> None:
    venue, exchange = await okx([snapshot()])
    events: list[BookEvent] = []
    async with aclosing(watch_books(exchange, "okx", "BTC/USDT", 5, Clock())) as stream:
        events.append(await next_event(stream))
        venue.outbox.put_nowait(WS["update"])
        events.append(await next_event(stream))
        # A heartbeat: prevSeqId == seqId, no levels, the same checksum.
        beat = update(SEQ + 1, SEQ + 1, asks=[], bids=[], ts="1597026443185")
        venue.outbox.put_nowait(beat)
        events.append(await next_event(stream))
        health = book_health(exchange, "BTC/USDT")
    first, second, third = events
    assert isinstance(first, OrderBook)
    assert (first.bids, first.asks, first.nonce) == (
        ((3366.1, 7.0), (3366.0, 6.0)),
        ((3366.8, 9.0), (3368.0, 8.0)),
        SEQ,
    )
    assert isinstance(second, OrderBook)
    assert (second.bids, second.asks, second.nonce) == (
        ((3366.1, 7.0),),
        ((3366.8, 9.0), (3368.0, 8.0), (3372.0, 8.0)),
        SEQ + 1,
    )
    assert isinstance(third, OrderBook)
    assert (third.bids, third.asks, third.timestamp) == (second.bids, second.asks, 1597026443185)
    assert subscriptions(venue) == [("subscribe", TOPIC)]
    assert health is not None
    assert (health.resyncs, health.valid) == (0, True)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        # prevSeqId must be the last seqId: 123455 means a frame was lost.
        (update(SEQ - 1, SEQ + 1), f"sequence gap: prevSeqId {SEQ - 1} after {SEQ}"),
        # In sequence, but the merged book is not OKX's: its levels differ from the venue's.
        (update(checksum=-1881014294), f"checksum mismatch at seqId {SEQ + 1}"),
    ],
)
async def test_a_gap_or_bad_checksum_is_never_applied_and_resubscribes(
    okx: Any, bad: dict[str, Any], reason: str
) -> None:
    venue, exchange = await okx([snapshot(), snapshot(SEQ + 500)])
    events: list[BookEvent] = []
    async with aclosing(
        watch_books(exchange, "okx", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        events.append(await next_event(stream))
        venue.outbox.put_nowait(bad)
        events.append(await next_event(stream))
        events.append(await next_event(stream))
        health = book_health(exchange, "BTC/USDT")
    first, status, after = events
    assert isinstance(first, OrderBook)
    assert status == BookStatus("okx", "BTC/USDT", BookStatusKind.INVALID, reason, status.at)  # type: ignore[union-attr]
    assert isinstance(after, OrderBook)
    # The rebuilt book is the new snapshot: the bad frame's levels (3372) never entered it.
    assert (after.asks, after.nonce) == (((3366.8, 9.0), (3368.0, 8.0)), SEQ + 500)
    assert subscriptions(venue) == [
        ("subscribe", TOPIC),
        ("unsubscribe", TOPIC),
        ("subscribe", TOPIC),
    ]
    assert health is not None
    assert (health.resyncs, health.valid) == (1, True)


async def test_a_snapshot_with_a_bad_checksum_is_refused(okx: Any) -> None:
    venue, exchange = await okx([snapshot() | {}, snapshot(SEQ + 9)])
    venue.snapshots[0] = copy.deepcopy(venue.snapshots[0])
    venue.snapshots[0]["data"][0]["checksum"] = 831078360  # another book's checksum
    async with aclosing(
        watch_books(exchange, "okx", "BTC/USDT", 5, Clock(), retry_delay=0, ready_timeout=1)
    ) as stream:
        events = [await next_event(stream)]
        while not isinstance(events[-1], OrderBook):
            events.append(await next_event(stream))
    statuses = [e for e in events if isinstance(e, BookStatus)]
    assert statuses[0].reason == "checksum mismatch on the snapshot"
    book = events[-1]
    assert isinstance(book, OrderBook)
    assert book.nonce == SEQ + 9
