"""Book streams driven through the real ccxt.pro mexc / gate code by a loopback venue.

Frames and REST bodies are the real samples in tests/data/books (each keeps its `source`).
To build sequences only sequence ids are changed (MEXC fromVersion / toVersion /
lastUpdateId, Gate U / u, request ids in acks); prices and amounts are never touched. MEXC's
documentation delta (a bid deleted at 92877.58) is the doc sample of this very channel with
its keys renamed to the protobuf field names ccxt decodes (publicincreasedepths ->
publicAggreDepths, bidsList -> bids, ...). The real frames come from different moments, so a
MEXC delta that adds a bid at 117053.41 crosses the 45995 snapshot, and Gate's real
incremental deletes both ask levels of its snapshot: those are the crossed and empty cases.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest
from aiohttp import WSMsgType, web
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2
from google.protobuf.json_format import ParseDict

from arb.domain.book import OrderBook
from arb.errors import SymbolUnknown
from arb.venues.books import BookEvent, BookStatus, BookStatusKind, book_health, watch_books
from arb.venues.integrity import Verdict, next_verdict

DATA = Path(__file__).resolve().parents[1] / "data" / "books"
CLOSE = object()  # outbox marker: the server drops the connection


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return loaded


MEXC_PUSH = sample("mexc_ws_aggre_depth_pb.json")
MEXC_DEPTH = sample("mexc_depth.json")
MEXC_ACK = sample("mexc_ws_subscribe_ack.json")["payload"]
GATE_OBU = sample("gate_ws_spot_obu.json")["frames"]


class Clock:
    """A monotonic test clock: every reading is one second after the previous one."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Turns(list[Any]):
    """REST bodies served one per request, the last one repeated; an int is an HTTP error."""


class LoopbackVenue:
    """A tiny venue on 127.0.0.1: REST bodies from samples, a WebSocket fed from `outbox`."""

    def __init__(self, rest: dict[str, Any], on_text: Any) -> None:
        self.rest = rest  # path -> body, or Turns of bodies
        self.on_text = on_text  # (venue, ws, message) -> awaitable; answers control frames
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []
        self.hits: dict[str, int] = {}
        self.connections = 0
        self.port = 0
        app = web.Application()
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/ws/v4/", self._ws)
        app.router.add_get("/ws/{stream:[0-9]+}", self._ws)  # ccxt binance: /ws/<stream index>
        app.router.add_get("/{tail:.*}", self._rest)
        self.runner = web.AppRunner(app)

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _rest(self, request: web.Request) -> web.Response:
        path = request.path
        count = self.hits.get(path, 0)
        self.hits[path] = count + 1
        body = self.rest.get(path)
        if body is None:
            return web.json_response({"message": "not in this test"}, status=404)
        if isinstance(body, Turns):
            body = body[min(count, len(body) - 1)]
        if isinstance(body, int):  # an HTTP failure, no venue payload
            return web.Response(status=body)
        return web.json_response(body)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        pump: asyncio.Task[None] | None = None
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            self.received.append(message)
            if await self.on_text(ws, message) and pump is None:
                # Pushes start once the first subscription is acknowledged, as on the venue.
                pump = asyncio.create_task(self._pump(ws))
        if pump is not None:
            pump.cancel()
        return ws

    async def _pump(self, ws: web.WebSocketResponse) -> None:
        while True:
            item = await self.outbox.get()
            if item is CLOSE:
                await ws.close()
                return
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_str(json.dumps(item))


# ---------------------------------------------------------------- MEXC


def mexc_frame(first: int, end: int, *, doc: bool = False) -> bytes:
    """A real aggre.depth push (or the doc one) with only its versions set, as protobuf."""
    if doc:
        raw = json.loads(MEXC_PUSH["variants"][0]["payload_text"])
        body = raw["publicincreasedepths"]
        payload = {
            "channel": raw["channel"],
            "symbol": raw["symbol"],
            "sendTime": str(raw["sendtime"]),
            "publicAggreDepths": {
                "asks": body["asksList"],
                "bids": body["bidsList"],
                "eventType": body["eventtype"],
            },
        }
    else:
        payload = copy.deepcopy(MEXC_PUSH["payload"])
    payload["publicAggreDepths"]["fromVersion"] = str(first)
    payload["publicAggreDepths"]["toVersion"] = str(end)
    return bytes(
        ParseDict(payload, PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()).SerializeToString()
    )


def mexc_snapshot(last_update_id: int, variant: int | None = None) -> dict[str, Any]:
    body = copy.deepcopy(
        MEXC_DEPTH["payload"] if variant is None else MEXC_DEPTH["variants"][variant]["payload"]
    )
    body["lastUpdateId"] = str(last_update_id)
    return dict(body)


async def mexc_control(ws: web.WebSocketResponse, message: dict[str, Any]) -> bool:
    if message.get("method") == "SUBSCRIPTION":
        # The documented ack {id: 0, code: 0, msg: <channel>} for the channel ccxt asked for.
        await ws.send_str(json.dumps({**MEXC_ACK, "msg": message["params"][0]}))
        return True
    if message.get("method") == "ping":
        await ws.send_str(json.dumps({"id": 0, "code": 0, "msg": "PONG"}))
    return False


async def mexc_venue(snapshots: list[Any]) -> LoopbackVenue:
    rest = {
        "/api/v3/exchangeInfo": sample("mexc_exchangeInfo.json")["payload"],
        "/api/v3/depth": Turns(snapshots),
    }
    venue = LoopbackVenue(rest, mexc_control)
    await venue.start()
    return venue


def mexc_exchange(venue: LoopbackVenue) -> Any:
    exchange = ccxt.pro.mexc(
        {"enableRateLimit": False, "options": {"adjustForTimeDifference": False}}
    )
    base = venue.base
    exchange.urls["api"]["spot"] = {"public": base, "private": base}
    exchange.urls["api"]["spot2"] = {
        "public": base + "/open/api/v2",
        "private": base + "/open/api/v2",
    }
    exchange.urls["api"]["contract"] = {
        "public": base + "/api/v1/contract",
        "private": base + "/api/v1/private",
    }
    exchange.urls["api"]["ws"] = {
        "spot": f"ws://127.0.0.1:{venue.port}/ws",
        "swap": f"ws://127.0.0.1:{venue.port}/ws",
    }
    exchange.fetch_markets = exchange.fetch_spot_markets  # spot only: no contract/detail call
    return exchange


# ---------------------------------------------------------------- Gate


def gate_full(u: int) -> dict[str, Any]:
    frame = copy.deepcopy(GATE_OBU["server_full_snapshot"])
    frame["result"]["u"] = u
    return dict(frame)


def gate_delta(first: int, end: int) -> dict[str, Any]:
    frame = copy.deepcopy(GATE_OBU["server_incremental"])
    frame["result"]["U"] = first
    frame["result"]["u"] = end
    return dict(frame)


class GateControl:
    """Answers subscribe with the real ack and the next full snapshot; acks unsubscribe."""

    def __init__(self, fulls: list[dict[str, Any]]) -> None:
        self.fulls = fulls

    async def __call__(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> bool:
        if message.get("channel") != "spot.obu":
            return False
        if message.get("event") == "subscribe":
            ack = {
                **GATE_OBU["server_subscribe_ack"],
                "id": message["id"],
                "payload": message["payload"],
            }
            await ws.send_str(json.dumps(ack))
            await ws.send_str(json.dumps(self.fulls.pop(0)))
            return True
        if message.get("event") == "unsubscribe":
            ack = {
                **GATE_OBU["server_unsubscribe_ack"],
                "id": message["id"],
                "payload": message["payload"],
            }
            await ws.send_str(json.dumps(ack))
        return False


async def gate_venue(fulls: list[dict[str, Any]]) -> LoopbackVenue:
    rest = {
        "/api/v4/margin/currency_pairs": sample("gate_margin_currency_pairs.json")["payload"],
        "/api/v4/spot/currency_pairs": sample("gate_spot_currency_pairs.json")["payload"],
    }
    venue = LoopbackVenue(rest, GateControl(fulls))
    await venue.start()
    return venue


def gate_exchange(venue: LoopbackVenue) -> Any:
    exchange = ccxt.pro.gate(
        {
            "enableRateLimit": False,
            "options": {
                "adjustForTimeDifference": False,
                "fetchMarkets": {"types": ["spot"]},
                "unifiedAccount": False,
            },
        }
    )
    for section in ("public", "private"):
        for key in exchange.urls["api"][section]:
            exchange.urls["api"][section][key] = venue.base + "/api/v4"
    exchange.urls["api"]["spot"] = f"ws://127.0.0.1:{venue.port}/ws/v4/"
    exchange.has["fetchCurrencies"] = False  # as the adapter builds it: no currency list
    return exchange


# ---------------------------------------------------------------- helpers


@pytest.fixture
async def venues() -> AsyncIterator[list[tuple[LoopbackVenue, Any]]]:
    opened: list[tuple[LoopbackVenue, Any]] = []
    yield opened
    for venue, exchange in opened:
        await exchange.close()
        await venue.runner.cleanup()


async def next_event(stream: AsyncIterator[BookEvent]) -> BookEvent:
    async with asyncio.timeout(10):
        return await anext(stream)


async def next_book(stream: AsyncIterator[BookEvent]) -> tuple[list[BookStatus], OrderBook]:
    """The statuses up to the next book, and that book."""
    statuses: list[BookStatus] = []
    while True:
        event = await next_event(stream)
        if isinstance(event, OrderBook):
            return statuses, event
        statuses.append(event)


def levels(side: list[list[str]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(p), float(a)) for p, a in side)


def assert_usable(event: BookEvent) -> None:
    if isinstance(event, OrderBook):
        assert not event.crossed
        assert not event.empty


# ---------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("last", "first", "end", "after_snapshot", "verdict"),
    [
        (None, 5, 9, False, Verdict.APPLY),  # nothing to compare with yet
        (9, 10, 12, False, Verdict.APPLY),  # exactly previous + 1
        (9, 11, 12, False, Verdict.GAP),
        (9, 9, 12, False, Verdict.GAP),  # overlapping deltas break the venue's rule too
        (9, 5, 9, False, Verdict.STALE),
        (9, 5, 12, True, Verdict.APPLY),  # a snapshot id inside the delta's range
        (9, 11, 12, True, Verdict.GAP),
        (9, None, 12, False, Verdict.GAP),
    ],
)
def test_sequence_rule(
    last: int | None, first: int | None, end: int | None, after_snapshot: bool, verdict: Verdict
) -> None:
    assert next_verdict(last, first, end, after_snapshot=after_snapshot) is verdict


def test_mexc_frames_are_the_recorded_push() -> None:
    # The encoder used for sequences reproduces the sample's wire bytes' decoded content.
    original = MEXC_PUSH["payload"]["publicAggreDepths"]
    rebuilt = mexc_frame(int(original["fromVersion"]), int(original["toVersion"]))
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    wrapper.ParseFromString(base64.b64decode(MEXC_PUSH["wire_base64"]))
    assert rebuilt == wrapper.SerializeToString()


# ---------------------------------------------------------------- MEXC streams


V0 = 43296363236  # the recorded push's fromVersion


async def test_mexc_in_order_frames_then_crossed_book_resyncs(venues: list[Any]) -> None:
    venue = await mexc_venue([mexc_snapshot(V0), mexc_snapshot(V0 + 21)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    clock = Clock()
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, clock, retry_delay=0)
    ) as stream:
        # Cached before the snapshot and straddling its id (V0-2..V0+1): ccxt 4.5.90 would
        # skip it; applied, the book's update id is the delta's toVersion.
        venue.outbox.put_nowait(mexc_frame(V0 - 2, V0 + 1, doc=True))
        first = await next_event(stream)
        snap = MEXC_DEPTH["payload"]
        assert first == OrderBook(
            venue="mexc",
            symbol="BTC/USDT",
            bids=levels(snap["bids"]),
            asks=levels(snap["asks"]),
            timestamp=1704908526228,
            nonce=V0 + 1,
            received_at=first.received_at,  # type: ignore[union-attr]
        )
        venue.outbox.put_nowait(mexc_frame(V0 + 2, V0 + 2, doc=True))
        second = await next_event(stream)
        assert isinstance(second, OrderBook)
        assert (second.nonce, second.timestamp) == (V0 + 2, 1736411507002)  # the push's sendTime
        assert second.bids == first.bids
        assert second.asks == first.asks
        assert second.received_at > first.received_at
        # The recorded push adds a bid at 117053.41: above this snapshot's 45995.48 ask.
        venue.outbox.put_nowait(mexc_frame(V0 + 3, V0 + 21))
        status = await next_event(stream)
        assert isinstance(status, BookStatus)
        assert status == BookStatus(
            "mexc",
            "BTC/USDT",
            BookStatusKind.INVALID,
            "crossed: bid 117053.41 >= ask 45995.48",
            status.at,
        )
        third = await next_event(stream)
        assert isinstance(third, OrderBook)
        assert (third.bids, third.asks, third.nonce) == (first.bids, first.asks, V0 + 21)
        health = book_health(exchange, "BTC/USDT")
        assert health is not None
        assert (health.valid, health.connected, health.resyncs) == (True, True, 1)
        assert health.last_resync_reason == "crossed: bid 117053.41 >= ask 45995.48"
        assert health.last_update_at == third.received_at
    assert venue.hits["/api/v3/depth"] == 2
    assert book_health(exchange, "BTC/USDT") is None  # the stream ended


async def test_a_busy_consumer_gets_the_latest_book_without_another_update(
    venues: list[Any],
) -> None:
    venue = await mexc_venue([mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        assert isinstance(await next_event(stream), OrderBook)
        caught_up = asyncio.Event()
        guarded = exchange.handle_order_book

        def spy(client: Any, message: Any) -> None:
            guarded(client, message)
            if exchange.orderbooks["BTC/USDT"]["nonce"] == V0 + 3:
                caught_up.set()

        exchange.handle_order_book = spy
        # Two updates land while the consumer is busy; no third one follows.
        venue.outbox.put_nowait(mexc_frame(V0 + 2, V0 + 2, doc=True))
        venue.outbox.put_nowait(mexc_frame(V0 + 3, V0 + 3, doc=True))
        async with asyncio.timeout(10):
            await caught_up.wait()
        latest = await next_event(stream)
    assert isinstance(latest, OrderBook)
    assert latest.nonce == V0 + 3


async def test_mexc_stream_does_not_depend_on_the_decoder(venues: list[Any]) -> None:
    mexc_decode = pytest.importorskip("arb.venues.mexc_decode")
    venue = await mexc_venue([mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    mexc_decode.install(exchange)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        first = await next_event(stream)
        venue.outbox.put_nowait(mexc_frame(V0 + 3, V0 + 4, doc=True))  # V0+2 is missing
        status = await next_event(stream)
    assert isinstance(first, OrderBook)
    assert first.nonce == V0 + 1
    assert isinstance(status, BookStatus)
    assert status.reason == f"sequence gap: fromVersion {V0 + 3} after {V0 + 1}"


async def test_mexc_snapshot_behind_the_stream_is_fetched_again(venues: list[Any]) -> None:
    # The first snapshot (V0-10) is older than the first cached delta (from V0-2): the
    # updates between would be lost, so it is not used; the second one (V0) is.
    venue = await mexc_venue([mexc_snapshot(V0 - 10), mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 - 2, V0 + 1, doc=True))
        book = await next_event(stream)
        health = book_health(exchange, "BTC/USDT")
    assert isinstance(book, OrderBook)
    assert book.nonce == V0 + 1
    assert venue.hits["/api/v3/depth"] == 2
    assert health is not None
    assert (health.resyncs, health.valid) == (0, True)


async def test_mexc_gap_is_never_applied_and_resyncs(venues: list[Any]) -> None:
    venue = await mexc_venue([mexc_snapshot(V0), mexc_snapshot(V0 + 30)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    events: list[BookEvent] = []
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        events.append(await next_event(stream))
        # fromVersion V0+5 after toVersion V0+1: three updates are missing. ccxt would
        # apply it (and its 117053.41 bid would cross the book); the guard drops it.
        venue.outbox.put_nowait(mexc_frame(V0 + 5, V0 + 30))
        events.append(await next_event(stream))
        events.append(await next_event(stream))
    first, status, after = events
    assert isinstance(first, OrderBook)
    assert first.nonce == V0 + 1
    assert isinstance(status, BookStatus)
    assert status.kind is BookStatusKind.INVALID
    assert status.reason == f"sequence gap: fromVersion {V0 + 5} after {V0 + 1}"
    assert isinstance(after, OrderBook)
    assert (after.bids, after.asks, after.nonce) == (first.bids, first.asks, V0 + 30)
    for event in events:
        assert_usable(event)
    assert venue.hits["/api/v3/depth"] == 2


async def test_mexc_quiet_book_becomes_ready_from_a_snapshot(venues: list[Any]) -> None:
    # No delta ever arrives: ccxt alone waits for 25 of them before fetching a snapshot.
    venue = await mexc_venue([mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), ready_timeout=0.05, retry_delay=0)
    ) as stream:
        statuses, book = await next_book(stream)
        assert statuses
        assert {s.kind for s in statuses} == {BookStatusKind.RESYNCING}
        assert (book.bids, book.asks, book.nonce) == (
            levels(MEXC_DEPTH["payload"]["bids"]),
            levels(MEXC_DEPTH["payload"]["asks"]),
            V0,
        )
        # The next delta continues from the snapshot's id.
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 4, doc=True))
        update = await next_event(stream)
        assert isinstance(update, OrderBook)
        assert update.nonce == V0 + 4


async def test_mexc_reconnect_restarts_the_book(venues: list[Any]) -> None:
    # Before the drop the book is the 45995 snapshot; after it, the venue's book is the
    # 40838 one. ccxt 4.5.90 would keep the first and apply new deltas on top of it.
    venue = await mexc_venue([mexc_snapshot(V0), mexc_snapshot(V0 + 50, variant=1)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    events: list[BookEvent] = []
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        events.append(await next_event(stream))
        venue.outbox.put_nowait(CLOSE)
        events.append(await next_event(stream))
        lost = book_health(exchange, "BTC/USDT")
        venue.outbox.put_nowait(mexc_frame(V0 + 45, V0 + 60, doc=True))
        events.append(await next_event(stream))
        health = book_health(exchange, "BTC/USDT")
    before, dropped, after = events
    assert isinstance(before, OrderBook)
    assert before.bids == levels(MEXC_DEPTH["payload"]["bids"])
    assert isinstance(dropped, BookStatus)
    assert dropped.kind is BookStatusKind.DISCONNECTED
    assert isinstance(after, OrderBook)
    variant = MEXC_DEPTH["variants"][1]["payload"]
    assert (after.bids, after.asks, after.nonce) == (
        levels(variant["bids"]),
        levels(variant["asks"]),
        V0 + 60,
    )
    assert lost is not None
    assert (lost.connected, lost.valid) == (False, False)
    assert venue.connections == 2
    assert venue.hits["/api/v3/depth"] == 2
    assert health is not None
    assert health.resyncs == 1
    assert health.connected


async def test_mexc_ack_on_another_connection_resets_the_book(venues: list[Any]) -> None:
    # What ccxt 4.5.90 gets wrong after a reconnect: the new connection's subscribe ack
    # must restart a book built from the old connection's frames. The ack is fed through
    # ccxt's own handle_message on a second (real, unconnected) ccxt client.
    venue = await mexc_venue([mexc_snapshot(V0), mexc_snapshot(V0 + 50, variant=1)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        assert isinstance(await next_event(stream), OrderBook)
        other_url = f"ws://127.0.0.1:{venue.port}/other"
        exchange.handle_message(exchange.client(other_url), {**MEXC_ACK})
        exchange.clients.pop(other_url)
        venue.outbox.put_nowait(mexc_frame(V0 + 51, V0 + 52, doc=True))
        statuses, after = await next_book(stream)
        books = [after]
        while books[-1].nonce != V0 + 52:  # the snapshot may be fetched before the delta lands
            books.append((await next_book(stream))[1])
    assert [s.reason for s in statuses] == ["resubscribed"]
    variant = MEXC_DEPTH["variants"][1]["payload"]
    assert {(b.bids, b.asks) for b in books} == {(levels(variant["bids"]), levels(variant["asks"]))}
    assert "100ms" not in exchange.orderbooks  # ccxt's misread of the channel name is gone


async def test_mexc_snapshot_failure_is_retried(venues: list[Any]) -> None:
    venue = await mexc_venue([503, mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "mexc", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        venue.outbox.put_nowait(mexc_frame(V0 + 1, V0 + 1, doc=True))
        book = await next_event(stream)
    assert isinstance(book, OrderBook)
    assert book.nonce == V0 + 1
    assert venue.hits["/api/v3/depth"] == 2


async def test_unknown_symbol_is_raised_not_retried(venues: list[Any]) -> None:
    venue = await mexc_venue([mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    with pytest.raises(SymbolUnknown):
        await next_event(watch_books(exchange, "mexc", "NOPE/USDT", 5, Clock()))


# ---------------------------------------------------------------- Gate streams


U0 = GATE_OBU["server_full_snapshot"]["result"]["u"]  # 73777715168


async def test_gate_full_snapshot_is_the_book(venues: list[Any]) -> None:
    venue = await gate_venue([gate_full(U0)])
    exchange = gate_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(
        watch_books(exchange, "gateio", "BTC/USDT", 1, Clock(), retry_delay=0)
    ) as stream:
        book = await next_event(stream)
    result = GATE_OBU["server_full_snapshot"]["result"]
    assert book == OrderBook(
        venue="gateio",
        symbol="BTC/USDT",
        bids=levels(result["b"][:1]),
        asks=levels(result["a"][:1]),
        timestamp=1747054612673,
        nonce=U0,
        received_at=book.received_at,  # type: ignore[union-attr]
    )
    assert venue.received[0]["payload"] == ["ob.BTC_USDT.50"]


async def test_gate_gap_resubscribes_and_never_applies_the_delta(venues: list[Any]) -> None:
    venue = await gate_venue([gate_full(U0), gate_full(U0 + 500)])
    exchange = gate_exchange(venue)
    venues.append((venue, exchange))
    events: list[BookEvent] = []
    async with aclosing(
        watch_books(exchange, "gateio", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        events.append(await next_event(stream))
        # U must be u + 1 = U0 + 1; U0 + 3 means two updates were lost. ccxt 4.5.90 applies it
        # (deleting both asks: an empty side); the guard drops it and resubscribes.
        venue.outbox.put_nowait(gate_delta(U0 + 3, U0 + 40))
        events.append(await next_event(stream))
        events.append(await next_event(stream))
        health = book_health(exchange, "BTC/USDT")
    first, status, after = events
    result = GATE_OBU["server_full_snapshot"]["result"]
    assert isinstance(first, OrderBook)
    assert first.nonce == U0
    assert isinstance(status, BookStatus)
    assert status == BookStatus(
        "gateio",
        "BTC/USDT",
        BookStatusKind.INVALID,
        f"sequence gap: U {U0 + 3} after u {U0}",
        status.at,
    )
    assert isinstance(after, OrderBook)
    assert (after.bids, after.asks, after.nonce) == (
        levels(result["b"]),
        levels(result["a"]),
        U0 + 500,
    )
    assert [
        (m["event"], m["payload"]) for m in venue.received if m.get("channel") == "spot.obu"
    ] == [
        ("subscribe", ["ob.BTC_USDT.50"]),
        ("unsubscribe", ["ob.BTC_USDT.50"]),
        ("subscribe", ["ob.BTC_USDT.50"]),
    ]
    assert health is not None
    assert (health.resyncs, health.valid) == (1, True)


async def test_gate_in_order_delta_applies_and_empty_side_is_invalid(venues: list[Any]) -> None:
    venue = await gate_venue([gate_full(U0), gate_full(U0 + 500)])
    exchange = gate_exchange(venue)
    venues.append((venue, exchange))
    events: list[BookEvent] = []
    async with aclosing(
        watch_books(exchange, "gateio", "BTC/USDT", 5, Clock(), retry_delay=0)
    ) as stream:
        events.append(await next_event(stream))
        # A stale delta (already inside the snapshot) is dropped without a resync...
        venue.outbox.put_nowait(gate_delta(U0 - 10, U0))
        # ...and the recorded one, unchanged (U = u + 1), deletes both ask levels.
        venue.outbox.put_nowait(GATE_OBU["server_incremental"])
        events.append(await next_event(stream))
        events.append(await next_event(stream))
    first, status, after = events
    assert isinstance(first, OrderBook)
    assert len(first.asks) == 2
    assert isinstance(status, BookStatus)
    assert (status.kind, status.reason) == (BookStatusKind.INVALID, "empty asks")
    assert isinstance(after, OrderBook)
    assert after.nonce == U0 + 500
    for event in events:
        assert_usable(event)


async def test_gate_deeper_than_50_levels_subscribes_to_400(venues: list[Any]) -> None:
    venue = await gate_venue([gate_full(U0)])
    exchange = gate_exchange(venue)
    venues.append((venue, exchange))
    async with aclosing(watch_books(exchange, "gateio", "BTC/USDT", 60, Clock())) as stream:
        book = await next_event(stream)
    assert isinstance(book, OrderBook)
    assert venue.received[0]["payload"] == ["ob.BTC_USDT.400"]


# ---------------------------------------------------------------- push mode


class Merged:
    """A push-mode stream read as one sequence: yielded events and pushed books, in order.

    `pushed` counts the books that came from the socket callback rather than the task.
    """

    def __init__(self, exchange: Any, venue_id: str, push_fails: bool = False) -> None:
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.pushed = 0
        self.push_fails = push_fails
        self.stream = watch_books(
            exchange, venue_id, "BTC/USDT", 5, Clock(), retry_delay=0, push=self.push
        )
        self.task = asyncio.create_task(self._pull())

    def push(self, book: OrderBook) -> None:
        if self.push_fails:
            raise RuntimeError("consumer bug")
        self.pushed += 1
        self.events.put_nowait(book)

    async def _pull(self) -> None:
        async for event in self.stream:
            self.events.put_nowait(event)

    async def next(self) -> Any:
        async with asyncio.timeout(10):
            return await self.events.get()

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.stream.aclose()


async def test_push_mode_hands_valid_books_from_the_socket_and_still_resyncs(
    venues: list[Any],
) -> None:
    venue = await mexc_venue([mexc_snapshot(V0), mexc_snapshot(V0 + 21)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    merged = Merged(exchange, "mexc")
    try:
        venue.outbox.put_nowait(mexc_frame(V0 - 2, V0 + 1, doc=True))
        first = await merged.next()
        assert isinstance(first, OrderBook)
        assert first.nonce == V0 + 1
        assert merged.pushed == 0  # the bootstrap's book comes from the stream task
        venue.outbox.put_nowait(mexc_frame(V0 + 2, V0 + 2, doc=True))
        second = await merged.next()
        assert isinstance(second, OrderBook)
        assert (second.nonce, second.bids, second.asks) == (V0 + 2, first.bids, first.asks)
        assert merged.pushed == 1  # applied and handed out in the frame's own callback
        # The recorded push crosses this book: nothing is pushed, the task resyncs.
        venue.outbox.put_nowait(mexc_frame(V0 + 3, V0 + 21))
        status = await merged.next()
        assert isinstance(status, BookStatus)
        assert (status.kind, status.reason) == (
            BookStatusKind.INVALID,
            "crossed: bid 117053.41 >= ask 45995.48",
        )
        third = await merged.next()
        assert isinstance(third, OrderBook)
        assert (third.bids, third.asks, third.nonce) == (first.bids, first.asks, V0 + 21)
        assert merged.pushed == 1
        # After the resync, in-order frames are pushed from the socket again.
        venue.outbox.put_nowait(mexc_frame(V0 + 22, V0 + 22, doc=True))
        assert (await merged.next()).nonce == V0 + 22
        assert merged.pushed == 2
    finally:
        await merged.close()
    assert venue.hits["/api/v3/depth"] == 2
    assert book_health(exchange, "BTC/USDT") is None


async def test_push_mode_gate_gap_resubscribes(venues: list[Any]) -> None:
    venue = await gate_venue([gate_full(U0), gate_full(U0 + 500)])
    exchange = gate_exchange(venue)
    venues.append((venue, exchange))
    merged = Merged(exchange, "gateio")
    try:
        first = await merged.next()
        venue.outbox.put_nowait(gate_delta(U0 + 3, U0 + 40))
        status = await merged.next()
        after = await merged.next()
    finally:
        await merged.close()
    assert isinstance(first, OrderBook)
    assert first.nonce == U0
    assert isinstance(status, BookStatus)
    assert (status.kind, status.reason) == (
        BookStatusKind.INVALID,
        f"sequence gap: U {U0 + 3} after u {U0}",
    )
    assert isinstance(after, OrderBook)
    assert after.nonce == U0 + 500
    assert merged.pushed == 0


async def test_push_mode_consumer_failure_ends_the_stream_with_it(venues: list[Any]) -> None:
    venue = await mexc_venue([mexc_snapshot(V0)])
    exchange = mexc_exchange(venue)
    venues.append((venue, exchange))
    merged = Merged(exchange, "mexc", push_fails=True)
    try:
        venue.outbox.put_nowait(mexc_frame(V0 - 2, V0 + 1, doc=True))
        assert isinstance(await merged.next(), OrderBook)
        venue.outbox.put_nowait(mexc_frame(V0 + 2, V0 + 2, doc=True))
        async with asyncio.timeout(10):
            with pytest.raises(RuntimeError, match="consumer bug"):
                await merged.task
    finally:
        await merged.close()
    assert book_health(exchange, "BTC/USDT") is None
