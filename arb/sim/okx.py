"""OKX API v5 spot on loopback: REST /api/v5 and the `books` channel at /ws/v5/public.

Payload shapes follow OKX's API v5 documentation and recorded answers (tests/data/okx/*.json
and cassettes/okx, each with its source): every REST answer is {"code", "data", "msg"}; an
order call that fails answers code "1" with the reason in data[0].sCode / sMsg. Private calls
are checked as OKX checks them: OK-ACCESS-KEY, OK-ACCESS-PASSPHRASE, OK-ACCESS-TIMESTAMP
(ISO 8601, within 30 s) and OK-ACCESS-SIGN (base64 HMAC-SHA256 of timestamp, method,
request path with query, and body). Book pushes carry seqId / prevSeqId and the CRC32
checksum of the top 25 levels.
"""

from __future__ import annotations

import hmac
import json
import secrets
import zlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from arb.sim.book import BookDelta, SimBook
from arb.sim.context import VenueContext
from arb.sim.http import fmt, json_response, middleware
from arb.sim.hub import WsConn
from arb.sim.protocols import Protocol
from arb.sim.scenario import FaultKind, Level, MarketSpec
from arb.sim.signing import okx_signature
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, SimOrder, VenueReject

CHANNEL = "books"
TIMESTAMP_WINDOW_S = 30
CHECKSUM_LEVELS = 25

_MIN_SIZE = "Order amount should exceed the min available amount"
# (HTTP status, code, message) after OKX's error code list (docs-v5 "Error Code")
_ERRORS: dict[RejectReason, tuple[int, str, str]] = {
    RejectReason.INSUFFICIENT_BALANCE: (
        200,
        "51008",
        "Order failed. Insufficient balance in account.",
    ),
    RejectReason.MIN_NOTIONAL: (
        200,
        "51020",
        "Order amount should exceed the min available amount",
    ),
    RejectReason.MIN_AMOUNT: (200, "51020", "Order amount should exceed the min available amount"),
    RejectReason.UNKNOWN_SYMBOL: (200, "51001", "Instrument ID doesn't exist."),
    RejectReason.UNKNOWN_ORDER: (200, "51603", "Order does not exist"),
    RejectReason.BAD_PARAM: (400, "51000", "Parameter error"),
    RejectReason.REJECTED: (200, "51006", "Order price is not within the price limit"),
    RejectReason.SERVER_ERROR: (503, "50001", "Service temporarily unavailable."),
    RejectReason.MISSING_KEY: (401, "50103", "Request header OK-ACCESS-KEY can not be empty."),
    RejectReason.BAD_KEY: (401, "50111", "Invalid OK-ACCESS-KEY."),
    RejectReason.BAD_SIGNATURE: (401, "50113", "Invalid Sign."),
    RejectReason.EXPIRED: (401, "50102", "Timestamp request expired."),
}
# Order-level refusals: the call answers code "1" and the reason per order in data[].
_ORDER_LEVEL = frozenset(
    {
        RejectReason.INSUFFICIENT_BALANCE,
        RejectReason.MIN_NOTIONAL,
        RejectReason.MIN_AMOUNT,
        RejectReason.REJECTED,
    }
)
_STATE = {
    OrderStatus.NEW: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
}
_TIF = {"limit": "gtc", "ioc": "ioc", "fok": "fok", "post_only": "poc", "market": "ioc"}


def native_id(symbol: str) -> str:
    """OKX's instrument id: BTC/USDT -> BTC-USDT."""
    return symbol.replace("/", "-")


def reject_response(reject: VenueReject) -> web.Response:
    """A VenueReject in OKX's {"code", "data", "msg"} shape (a gateway 5xx answers HTML)."""
    status, code, message = _ERRORS[reject.reason]
    if reject.reason is RejectReason.SERVER_ERROR and reject.detail not in ("", "500"):
        code_number = int(reject.detail)
        return web.Response(
            text=f"<html><body><h1>{code_number}</h1></body></html>", status=code_number
        )
    if reject.reason is RejectReason.BAD_KEY and reject.detail == "passphrase":
        code, message = "50105", "Invalid OK-ACCESS-PASSPHRASE."
    return json_response({"code": code, "data": [], "msg": message}, status=status)


def _order_error(reject: VenueReject, order_id: str = "", client_id: str = "") -> web.Response:
    """An order call refused per order: code "1", the reason in data[0]."""
    _, code, message = _ERRORS[reject.reason]
    row = {"clOrdId": client_id, "ordId": order_id, "sCode": code, "sMsg": message, "tag": ""}
    return json_response({"code": "1", "data": [row], "msg": "All operations failed"})


def rate_limited() -> web.Response:
    """OKX's answer once a rate limit is hit."""
    return json_response({"msg": "Too Many Requests", "code": "50011"}, status=429)


def build_app(ctx: VenueContext) -> web.Application:
    """The aiohttp application serving OKX's REST paths and /ws/v5/public."""
    app = web.Application(middlewares=[middleware(ctx, reject_response, rate_limited)])
    api = _Api(ctx)
    app.router.add_get("/api/v5/public/time", api.time)
    app.router.add_get("/api/v5/public/instruments", api.instruments)
    app.router.add_get("/api/v5/market/books", api.books)
    app.router.add_get("/api/v5/account/balance", api.balance)
    app.router.add_get("/api/v5/account/trade-fee", api.trade_fee)
    app.router.add_post("/api/v5/trade/order", api.create_order)
    app.router.add_get("/api/v5/trade/order", api.get_order)
    app.router.add_post("/api/v5/trade/cancel-order", api.cancel_order)
    app.router.add_get("/ws/v5/public", api.websocket)
    return app


def topics(symbol: str) -> set[str]:
    """The WebSocket topic that carries `symbol`'s book."""
    return {f"{CHANNEL}:{native_id(symbol)}"}


def _rows(levels: tuple[Level, ...]) -> list[list[str]]:
    # [price, size, liquidated orders (deprecated, "0"), orders at the level]
    return [[fmt(p), fmt(a), "0", "1" if a > 0 else "0"] for p, a in levels]


def book_checksum(book: SimBook) -> int:
    """OKX's signed CRC32 of the top 25 bids and asks, alternating, as they are sent."""
    bids, asks = book.top(CHECKSUM_LEVELS)
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts += (fmt(bids[i][0]), fmt(bids[i][1]))
        if i < len(asks):
            parts += (fmt(asks[i][0]), fmt(asks[i][1]))
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def push(ctx: VenueContext, delta: BookDelta) -> None:
    """Send one book delta as a `books` update: prevSeqId is the previous push's seqId."""
    inst = native_id(delta.symbol)
    topic = f"{CHANNEL}:{inst}"
    if not ctx.hub.subscribers(topic):
        return
    book = ctx.state.books[delta.symbol]  # already holds the delta: its checksum is after it
    update = {
        "asks": _rows(delta.asks),
        "bids": _rows(delta.bids),
        "ts": str(ctx.now_ms()),
        "checksum": book_checksum(book),
        "prevSeqId": delta.first - 1,
        "seqId": delta.last,
    }
    frame = {"arg": {"channel": CHANNEL, "instId": inst}, "action": "update", "data": [update]}
    ctx.hub.broadcast(topic, json.dumps(frame, separators=(",", ":")))


def _ok(rows: list[Any]) -> web.Response:
    return json_response({"code": "0", "data": rows, "msg": ""})


class _Api:
    """Request handlers of one OKX venue."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.by_id = {native_id(s): s for s in ctx.state.markets}

    def _symbol(self, inst: str) -> str:
        symbol = self.by_id.get(inst)
        if symbol is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, inst)
        return symbol

    async def _auth(self, request: web.Request) -> None:
        """Check the OK-ACCESS-* headers exactly as OKX does."""
        key = request.headers.get("OK-ACCESS-KEY", "")
        sign = request.headers.get("OK-ACCESS-SIGN", "")
        timestamp = request.headers.get("OK-ACCESS-TIMESTAMP", "")
        passphrase = request.headers.get("OK-ACCESS-PASSPHRASE", "")
        if not key or not sign or not timestamp or not passphrase:
            raise VenueReject(RejectReason.MISSING_KEY)
        if key != self.ctx.api_key:
            raise VenueReject(RejectReason.BAD_KEY)
        if not hmac.compare_digest(passphrase.encode(), self.ctx.api_password.encode()):
            raise VenueReject(RejectReason.BAD_KEY, "passphrase")
        # requestPath is the path with its query string, exactly as sent
        prehash = timestamp + request.method.upper() + request.raw_path + await request.text()
        expected = okx_signature(prehash, self.ctx.api_secret)
        if not hmac.compare_digest(expected.encode(), sign.encode()):
            raise VenueReject(RejectReason.BAD_SIGNATURE)
        try:
            sent = datetime.fromisoformat(timestamp).timestamp()
        except ValueError as exc:
            raise VenueReject(RejectReason.EXPIRED) from exc
        if abs(sent - self.ctx.wall_ms() / 1000) > TIMESTAMP_WINDOW_S:
            raise VenueReject(RejectReason.EXPIRED)

    async def time(self, request: web.Request) -> web.Response:
        return _ok([{"ts": str(self.ctx.now_ms())}])

    async def instruments(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SPOT":
            return _ok([])  # the simulator lists spot markets only
        return _ok([_instrument(spec) for spec in self.state.markets.values()])

    async def books(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request.query.get("instId", ""))
        depth = min(int(request.query.get("sz", "1")), 400)
        book = self.state.books[symbol]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(depth)
        return _ok([{"asks": _rows(asks), "bids": _rows(bids), "ts": str(self.ctx.now_ms())}])

    async def balance(self, request: web.Request) -> web.Response:
        await self._auth(request)
        now = str(self.ctx.now_ms())
        details = []
        for code in self.state.currencies():
            free, locked = self.state.balance(code)
            total = fmt(free + locked)
            details.append(
                {
                    "availBal": fmt(free),
                    "availEq": fmt(free),
                    "cashBal": total,
                    "ccy": code,
                    "eq": total,
                    "frozenBal": fmt(locked),
                    "ordFrozen": fmt(locked),
                    "uTime": now,
                }
            )
        return _ok([{"adjEq": "", "details": details, "totalEq": "", "uTime": now}])

    async def trade_fee(self, request: web.Request) -> web.Response:
        await self._auth(request)
        inst = request.query.get("instId")
        markets = list(self.state.markets.values())
        spec = self.state.market(self._symbol(inst)) if inst else markets[0]
        # OKX lists fee rates negative: a charge to the account
        row = {
            "category": "1",
            "delivery": "",
            "exercise": "",
            "instType": "SPOT",
            "level": "Lv1",
            "maker": fmt(-spec.maker_fee),
            "taker": fmt(-spec.taker_fee),
            "ts": str(self.ctx.now_ms()),
        }
        return _ok([row])

    async def create_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError as exc:
            raise VenueReject(RejectReason.BAD_PARAM, "body") from exc
        if not isinstance(body, dict):
            raise VenueReject(RejectReason.BAD_PARAM, "body")
        req = self._order_request(body)
        try:
            if self.ctx.faults.take(FaultKind.REJECT_NEXT_ORDER) is not None:
                raise VenueReject(RejectReason.REJECTED)
            order = self.state.place(str(self.state.next_id()), req, self.ctx.now_ms())
        except VenueReject as reject:
            if reject.reason not in _ORDER_LEVEL:
                raise
            return _order_error(reject, client_id=req.client_id)
        self.ctx.log.record(self.ctx.venue, "order", order_id=order.id, status=str(order.status))
        fault = self.ctx.faults.take(FaultKind.HTTP_5XX_AFTER_PLACE)
        if fault is not None:
            raise VenueReject(RejectReason.SERVER_ERROR, str(fault.status or 502))
        now = str(self.ctx.now_ms())
        row = {
            "clOrdId": order.client_id,
            "ordId": order.id,
            "sCode": "0",
            "sMsg": "Order placed",
            "tag": "",
            "ts": now,
        }
        return json_response(
            {"code": "0", "data": [row], "inTime": now + "000", "msg": "", "outTime": now + "000"}
        )

    def _order_request(self, body: dict[str, Any]) -> OrderRequest:
        symbol = self._symbol(str(body.get("instId", "")))
        side = str(body.get("side", ""))
        ord_type = str(body.get("ordType", ""))
        client_id = str(body.get("clOrdId", ""))
        if side not in ("buy", "sell") or ord_type not in _TIF or body.get("tdMode") != "cash":
            raise VenueReject(RejectReason.BAD_PARAM, "side/ordType/tdMode")
        if client_id and (not client_id.isalnum() or len(client_id) > 32):
            raise VenueReject(RejectReason.BAD_PARAM, "clOrdId")
        size = _dec(body.get("sz"))
        market = ord_type == "market"
        price = None if market else _dec(body.get("px"))
        if size is None or (not market and price is None):
            raise VenueReject(RejectReason.BAD_PARAM, "sz/px")
        # a spot market buy is sized in quote currency unless tgtCcy says base_ccy
        quote = market and side == "buy" and body.get("tgtCcy", "quote_ccy") == "quote_ccy"
        return OrderRequest(
            symbol=symbol,
            side=side,
            kind="market" if market else "limit",
            tif=_TIF[ord_type],
            price=price,
            amount=None if quote else size,
            quote_amount=size if quote else None,
            client_id=client_id,
        )

    def _lookup(self, inst: str, order_id: str, client_id: str) -> SimOrder:
        symbol = self._symbol(inst)
        # "if both are passed, ordId will be used"
        order = self.state.find(order_id=order_id) if order_id else None
        if order is None:
            if not client_id:
                raise VenueReject(RejectReason.BAD_PARAM, "ordId/clOrdId")
            order = self.state.find(client_id=client_id)
        if order.symbol != symbol:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order_id or client_id)
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        query = request.query
        order = self._lookup(
            query.get("instId", ""), query.get("ordId", ""), query.get("clOrdId", "")
        )
        return _ok([_order_info(order)])

    async def cancel_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError as exc:
            raise VenueReject(RejectReason.BAD_PARAM, "body") from exc
        order_id, client_id = str(body.get("ordId", "")), str(body.get("clOrdId", ""))
        try:
            order = self._lookup(str(body.get("instId", "")), order_id, client_id)
            order = self.state.cancel(order, self.ctx.now_ms())
        except VenueReject as reject:
            if reject.reason is not RejectReason.UNKNOWN_ORDER:
                raise
            row = {
                "clOrdId": client_id,
                "ordId": order_id,
                "sCode": "51400",
                "sMsg": "Order cancellation failed as the order has been filled, "
                "canceled or does not exist.",
                "ts": str(self.ctx.now_ms()),
            }
            return json_response({"code": "1", "data": [row], "msg": ""})
        row = {
            "clOrdId": order.client_id,
            "ordId": order.id,
            "sCode": "0",
            "sMsg": "",
            "ts": str(self.ctx.now_ms()),
        }
        return _ok([row])

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        conn_id = secrets.token_hex(4)
        return await self.ctx.hub.serve(
            request, lambda conn, text: self._on_text(conn, text, conn_id)
        )

    async def _on_text(self, conn: WsConn, text: str, conn_id: str) -> None:
        if text == "ping":  # OKX's text keep-alive
            conn.send("pong")
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        self.ctx.log.record(self.ctx.venue, "ws_in", frame=message)
        op = message.get("op") if isinstance(message, dict) else None
        args = message.get("args") if isinstance(message, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            conn.send(_ws_error("60012", f"Illegal request: {text}", conn_id))
            return
        for arg in args:
            inst = arg.get("instId") if isinstance(arg, dict) else None
            if not isinstance(arg, dict) or arg.get("channel") != CHANNEL or inst not in self.by_id:
                error = f"Wrong URL or channel:{arg}, doesn't exist."
                conn.send(_ws_error("60018", error, conn_id))
                continue
            conn.send(json.dumps({"event": op, "arg": arg, "connId": conn_id}))
            topic = f"{CHANNEL}:{inst}"
            if op == "subscribe":
                self._start_stream(conn, topic, str(inst))
            else:
                conn.topics.discard(topic)

    def _start_stream(self, conn: WsConn, topic: str, inst: str) -> None:
        """Flush pending changes to others, queue the snapshot, then subscribe."""
        book = self.state.books[self.by_id[inst]]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(400)
        snapshot = {
            "asks": _rows(asks),
            "bids": _rows(bids),
            "ts": str(self.ctx.now_ms()),
            "checksum": book_checksum(book),
            "prevSeqId": -1,
            "seqId": book.version,
        }
        frame = {
            "arg": {"channel": CHANNEL, "instId": inst},
            "action": "snapshot",
            "data": [snapshot],
        }
        conn.send(json.dumps(frame, separators=(",", ":")))
        conn.subscribe(topic)


def _ws_error(code: str, message: str, conn_id: str) -> str:
    return json.dumps({"event": "error", "code": code, "msg": message, "connId": conn_id})


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise VenueReject(RejectReason.BAD_PARAM, str(value)) from exc


def _instrument(spec: MarketSpec) -> dict[str, Any]:
    """One /public/instruments SPOT entry, keys as in OKX's recorded answer."""
    return {
        "alias": "",
        "baseCcy": spec.base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": native_id(spec.symbol),
        "instType": "SPOT",
        "lever": "10",
        "listTime": "1548133413000",
        "lotSz": fmt(spec.amount_step),
        "maxIcebergSz": "9999999999.0000000000000000",
        "maxLmtAmt": "20000000",
        "maxLmtSz": "9999999999",
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": "1000000",
        "maxTriggerSz": "9999999999.0000000000000000",
        "maxTwapSz": "9999999999.0000000000000000",
        "minSz": fmt(spec.min_amount),
        "optType": "",
        "quoteCcy": spec.quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": fmt(spec.price_step),
        "uly": "",
    }


def _order_info(order: SimOrder) -> dict[str, Any]:
    """An order as GET /api/v5/trade/order returns it (spot, cash)."""
    quote_order = order.quote_amount is not None
    ord_type = {"gtc": "limit", "ioc": "ioc", "fok": "fok", "poc": "post_only"}[order.tif]
    return {
        "accFillSz": fmt(order.filled),
        "avgPx": "" if order.average is None else fmt(order.average),
        "cTime": str(order.created_ms),
        "category": "normal",
        "ccy": "",
        "clOrdId": order.client_id,
        "fee": fmt(-order.fee),  # spot fees are charged: negative
        "feeCcy": order.fee_currency,
        "fillPx": "",
        "fillSz": fmt(order.filled),
        "fillTime": str(order.updated_ms) if order.filled else "",
        "instId": native_id(order.symbol),
        "instType": "SPOT",
        "lever": "",
        "ordId": order.id,
        "ordType": "market" if order.kind == "market" else ord_type,
        "pnl": "0",
        "posSide": "net",
        "px": "" if order.price is None else fmt(order.price),
        "rebate": "0",
        "rebateCcy": order.symbol.split("/")[1],
        "side": order.side,
        "source": "",
        "state": _STATE[order.status],
        "sz": fmt(order.quote_amount if quote_order else order.amount),
        "tag": "",
        "tdMode": "cash",
        "tgtCcy": "quote_ccy" if quote_order else "base_ccy" if order.kind == "market" else "",
        "tradeId": "",
        "uTime": str(order.updated_ms),
    }


PROTOCOL = Protocol(
    venue="okx",
    port_offset=3,
    ws_path="/ws/v5/public",
    first_order_id=2896576259728695296,  # shaped like OKX's recorded ordIds
    cadence_ms=100,  # books: changes pushed every 100 ms
    taker_fee="0.001",  # OKX spot Lv1 regular user: taker 0.1 %, maker 0.08 %
    maker_fee="0.0008",
    build_app=build_app,
    push=push,
    topics=topics,
    native_id=native_id,
)
