"""Gate.io APIv4 spot on loopback: REST /api/v4 and the spot.obu book stream at /ws/v4/.

Payload shapes follow tests/data/sim/gate/*.json (real Gate traffic and docs, each with
its source); errors follow Gate's documented {"label", "message"} shape.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from arb.sim.book import BookDelta
from arb.sim.context import VenueContext
from arb.sim.http import fmt, json_response, middleware
from arb.sim.hub import WsConn
from arb.sim.protocols import Protocol
from arb.sim.scenario import FaultKind, MarketSpec
from arb.sim.signing import gate_signature, same
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, SimOrder, VenueReject

LEVELS = ("50", "400")
TIMESTAMP_WINDOW_S = 60
USER_ID = 10001

# (HTTP status, label, message) after Gate's APIv4 label list
_ERRORS: dict[RejectReason, tuple[int, str, str]] = {
    RejectReason.INSUFFICIENT_BALANCE: (400, "BALANCE_NOT_ENOUGH", "Not enough balance"),
    RejectReason.MIN_NOTIONAL: (400, "INVALID_PARAM_VALUE", ""),
    RejectReason.MIN_AMOUNT: (400, "INVALID_PARAM_VALUE", "invalid argument: amount"),
    RejectReason.UNKNOWN_SYMBOL: (400, "INVALID_CURRENCY_PAIR", "Invalid currency pair"),
    RejectReason.UNKNOWN_ORDER: (404, "ORDER_NOT_FOUND", "Order not found"),
    RejectReason.BAD_PARAM: (400, "INVALID_PARAM_VALUE", "invalid argument"),
    RejectReason.REJECTED: (400, "INVALID_PARAM_VALUE", "invalid argument: price"),
    RejectReason.SERVER_ERROR: (500, "SERVER_ERROR", "Internal server error"),
    RejectReason.MISSING_KEY: (401, "MISSING_REQUIRED_HEADER", "Missing required header: KEY"),
    RejectReason.BAD_KEY: (401, "INVALID_KEY", "Invalid key provided"),
    RejectReason.BAD_SIGNATURE: (401, "INVALID_SIGNATURE", "Signature mismatch"),
    RejectReason.EXPIRED: (401, "REQUEST_EXPIRED", "Request Timestamp is far from server time"),
}
_STATUS = {
    OrderStatus.NEW: "open",
    OrderStatus.PARTIALLY_FILLED: "open",
    OrderStatus.FILLED: "closed",
    OrderStatus.CANCELED: "cancelled",
}


def native_id(symbol: str) -> str:
    """Gate's market id: BTC/USDT -> BTC_USDT."""
    return symbol.replace("/", "_")


def reject_response(reject: VenueReject) -> web.Response:
    """A VenueReject in Gate's error shape (a gateway 5xx answers plain text)."""
    status, label, message = _ERRORS[reject.reason]
    if reject.reason is RejectReason.SERVER_ERROR and reject.detail not in ("", "500"):
        # Gate's gateway answers 502/503/504 with an HTML page, not a label
        code = int(reject.detail)
        return web.Response(text=f"<html><body><h1>{code}</h1></body></html>", status=code)
    if reject.reason is RejectReason.MIN_NOTIONAL:
        notional, minimum = reject.detail.split("|")
        message = f"Your order size {notional} is too small. The minimum is {minimum}"
    return json_response({"label": label, "message": message}, status=status)


def rate_limited() -> web.Response:
    """Gate's answer once the rate limit is hit."""
    return json_response(
        {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded"}, status=429
    )


def build_app(ctx: VenueContext) -> web.Application:
    """The aiohttp application serving Gate's REST paths and /ws/v4/."""
    app = web.Application(middlewares=[middleware(ctx, reject_response, rate_limited)])
    api = _Api(ctx)
    app.router.add_get("/api/v4/spot/time", api.time)
    app.router.add_get("/api/v4/spot/currencies", api.currencies)
    app.router.add_get("/api/v4/spot/currency_pairs", api.currency_pairs)
    app.router.add_get("/api/v4/margin/currency_pairs", api.margin_pairs)
    app.router.add_get("/api/v4/spot/order_book", api.order_book)
    app.router.add_get("/api/v4/account/detail", api.account_detail)
    app.router.add_get("/api/v4/spot/accounts", api.accounts)
    app.router.add_get("/api/v4/wallet/fee", api.fee)
    app.router.add_post("/api/v4/spot/orders", api.create_order)
    app.router.add_get("/api/v4/spot/orders/{order_id}", api.get_order)
    app.router.add_delete("/api/v4/spot/orders/{order_id}", api.cancel_order)
    app.router.add_get("/ws/v4/", api.websocket)
    return app


def topics(symbol: str) -> set[str]:
    """Every spot.obu stream a client can subscribe `symbol`'s book on."""
    return {f"ob.{native_id(symbol)}.{level}" for level in LEVELS}


def push(ctx: VenueContext, delta: BookDelta) -> None:
    """Send one book delta as a spot.obu update to the channel's subscribers."""
    for level in LEVELS:
        topic = f"ob.{native_id(delta.symbol)}.{level}"
        if ctx.hub.subscribers(topic):
            now = ctx.now_ms()
            result = {
                "t": now,
                "s": topic,
                "U": delta.first,
                "u": delta.last,
                "b": [[fmt(p), fmt(a)] for p, a in delta.bids],
                "a": [[fmt(p), fmt(a)] for p, a in delta.asks],
            }
            frame = {"channel": "spot.obu", "result": result, "time_ms": now}
            ctx.hub.broadcast(topic, json.dumps(frame, separators=(",", ":")))


class _Api:
    """Request handlers of one Gate venue."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.by_id = {native_id(s): s for s in ctx.state.markets}
        self.snapshots: dict[str, str] = {}  # topic -> the last full snapshot frame sent

    def _symbol(self, pair: str) -> str:
        symbol = self.by_id.get(pair)
        if symbol is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, pair)
        return symbol

    async def _auth(self, request: web.Request) -> None:
        """Check KEY, Timestamp and SIGN exactly as Gate does."""
        key = request.headers.get("KEY", "")
        sign = request.headers.get("SIGN", "")
        timestamp = request.headers.get("Timestamp", "")
        if not key or not sign or not timestamp:
            raise VenueReject(RejectReason.MISSING_KEY)
        if key != self.ctx.api_key:
            raise VenueReject(RejectReason.BAD_KEY)
        # the signed query is the unencoded one, in the order it appears in the URL
        expected = gate_signature(
            request.method,
            request.rel_url.raw_path,
            request.rel_url.query_string,
            await request.text(),
            timestamp=timestamp,
            secret=self.ctx.api_secret,
        )
        if not same(expected, sign):
            raise VenueReject(RejectReason.BAD_SIGNATURE)
        try:
            skew = abs(int(timestamp) - self.ctx.wall_ms() // 1000)
        except ValueError as exc:
            raise VenueReject(RejectReason.EXPIRED) from exc
        if skew > TIMESTAMP_WINDOW_S:
            raise VenueReject(RejectReason.EXPIRED)

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"server_time": self.ctx.now_ms()})

    async def currencies(self, request: web.Request) -> web.Response:
        return json_response([_currency(code) for code in self.state.currencies()])

    async def currency_pairs(self, request: web.Request) -> web.Response:
        return json_response([_pair(spec) for spec in self.state.markets.values()])

    async def margin_pairs(self, request: web.Request) -> web.Response:
        return json_response([])  # no margin trading in the simulator

    async def order_book(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request.query.get("currency_pair", ""))
        limit = min(int(request.query.get("limit", "10")), 1000)
        book = self.state.books[symbol]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(limit)
        now = self.ctx.now_ms()
        payload: dict[str, Any] = {"current": now, "update": now}
        if request.query.get("with_id") == "true":
            payload = {"id": book.version} | payload
        payload["asks"] = [[fmt(p), fmt(a)] for p, a in asks]
        payload["bids"] = [[fmt(p), fmt(a)] for p, a in bids]
        return json_response(payload)

    async def account_detail(self, request: web.Request) -> web.Response:
        await self._auth(request)
        return json_response(
            {
                "user_id": USER_ID,
                "ip_whitelist": [],
                "currency_pairs": [],
                "key": {"mode": 1},
                "tier": 0,
                "tier_expire_time": "0001-01-01T00:00:00Z",
                "copy_trading_role": 0,
            }
        )

    async def accounts(self, request: web.Request) -> web.Response:
        await self._auth(request)
        rows = []
        for code in self.state.currencies():
            free, locked = self.state.balance(code)
            rows.append(
                {"currency": code, "available": fmt(free), "locked": fmt(locked), "update_id": 1}
            )
        return json_response(rows)

    async def fee(self, request: web.Request) -> web.Response:
        await self._auth(request)
        pair = request.query.get("currency_pair")
        markets = list(self.state.markets.values())
        spec = self.state.market(self._symbol(pair)) if pair else markets[0]
        return json_response(
            {
                "user_id": USER_ID,
                "taker_fee": fmt(spec.taker_fee),
                "maker_fee": fmt(spec.maker_fee),
                "gt_discount": False,
                "gt_taker_fee": "0",
                "gt_maker_fee": "0",
                "loan_fee": "0.18",
                "point_type": "1",
                "futures_taker_fee": "0.0005",
                "futures_maker_fee": "0.0002",
                "delivery_taker_fee": "0.0005",
                "delivery_maker_fee": "0.0002",
                "debit_fee": 3,
            }
        )

    async def create_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError as exc:
            raise VenueReject(RejectReason.BAD_PARAM, "body") from exc
        req = self._order_request(body)
        if self.ctx.faults.take(FaultKind.REJECT_NEXT_ORDER) is not None:
            raise VenueReject(RejectReason.REJECTED)
        order = self.state.place(str(self.state.next_id()), req, self.ctx.now_ms())
        self.ctx.log.record(self.ctx.venue, "order", order_id=order.id, status=str(order.status))
        fault = self.ctx.faults.take(FaultKind.HTTP_5XX_AFTER_PLACE)
        if fault is not None:
            raise VenueReject(RejectReason.SERVER_ERROR, str(fault.status or 502))
        return json_response(_order_info(order), status=201)

    def _order_request(self, body: dict[str, Any]) -> OrderRequest:
        symbol = self._symbol(str(body.get("currency_pair", "")))
        side = str(body.get("side", ""))
        kind = str(body.get("type", "limit"))
        tif = str(body.get("time_in_force", "gtc"))
        text = str(body.get("text", ""))
        if side not in ("buy", "sell") or kind not in ("limit", "market"):
            raise VenueReject(RejectReason.BAD_PARAM, "side/type")
        if tif not in ("gtc", "ioc", "poc", "fok") or (text and not text.startswith("t-")):
            raise VenueReject(RejectReason.BAD_PARAM, "time_in_force/text")
        amount = _dec(body.get("amount"))
        price = _dec(body.get("price")) if kind == "limit" else None
        if amount is None or (kind == "limit" and price is None):
            raise VenueReject(RejectReason.BAD_PARAM, "amount/price")
        if kind == "market" and tif not in ("ioc", "fok"):
            raise VenueReject(RejectReason.BAD_PARAM, "time_in_force")
        # a market buy's amount is the quote currency to spend
        quote = amount if kind == "market" and side == "buy" else None
        return OrderRequest(
            symbol=symbol,
            side=side,
            kind=kind,
            tif=tif,
            price=price,
            amount=None if quote is not None else amount,
            quote_amount=quote,
            client_id=text,
        )

    def _lookup(self, request: web.Request) -> SimOrder:
        symbol = self._symbol(request.query.get("currency_pair", ""))
        key = request.match_info["order_id"]
        if key.startswith("t-"):
            order = self.state.find(client_id=key)
        else:
            order = self.state.find(order_id=key)
        if order.symbol != symbol:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, key)
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        return json_response(_order_info(self._lookup(request)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        order = self.state.cancel(self._lookup(request), self.ctx.now_ms())
        return json_response(_order_info(order, canceled_by_user=True))

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        conn_id = secrets.token_hex(8)
        return await self.ctx.hub.serve(
            request, lambda conn, text: self._on_text(conn, text, conn_id)
        )

    async def _on_text(self, conn: WsConn, text: str, conn_id: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        self.ctx.log.record(self.ctx.venue, "ws_in", frame=message)
        channel = message.get("channel")
        now = self.ctx.now_ms()
        head: dict[str, Any] = {"time": now // 1000, "time_ms": now}
        if "id" in message:
            head["id"] = message["id"]
        head |= {"conn_id": conn_id, "trace_id": secrets.token_hex(16)}
        if channel == "spot.ping":
            conn.send(json.dumps(head | {"channel": "spot.pong", "event": "", "result": None}))
            return
        if channel != "spot.obu":
            return
        event = message.get("event")
        for topic in message.get("payload", []):
            reply = head | {"channel": channel, "event": event, "payload": [topic]}
            error = self._check_topic(conn, str(topic), event)
            if error:
                reply |= {"error": {"code": 2, "message": error}, "result": {"status": "fail"}}
                conn.send(json.dumps(reply))
                continue
            conn.send(json.dumps(reply | {"result": {"status": "success"}}))
            if event == "subscribe":
                self._start_stream(conn, str(topic))
            else:
                conn.topics.discard(str(topic))

    def _check_topic(self, conn: WsConn, topic: str, event: Any) -> str:
        parts = topic.split(".")
        if len(parts) != 3 or parts[0] != "ob" or parts[2] not in LEVELS:
            return f"Invalid payload {topic}"
        if parts[1] not in self.by_id:
            return f"Unknown currency pair {parts[1]}"
        if event == "subscribe" and topic in conn.topics:
            return f"Alert sub {topic}"
        if event not in ("subscribe", "unsubscribe"):
            return f"Invalid event {event}"
        return ""

    def _start_stream(self, conn: WsConn, topic: str) -> None:
        """Flush pending changes to others, queue the full snapshot, then subscribe."""
        _, pair, level = topic.split(".")
        book = self.state.books[self.by_id[pair]]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(int(level))
        now = self.ctx.now_ms()
        result = {
            "t": now,
            "full": True,
            "s": topic,
            "u": book.version,
            "b": [[fmt(p), fmt(a)] for p, a in bids],
            "a": [[fmt(p), fmt(a)] for p, a in asks],
        }
        frame = json.dumps({"channel": "spot.obu", "result": result, "time_ms": now})
        conn.send(frame)
        previous = self.snapshots.get(topic)
        self.snapshots[topic] = frame
        if previous is not None and self.ctx.faults.take(FaultKind.STRAY_SNAPSHOT, book.symbol):
            # "The server may send full depth snapshots multiple times": here a late one,
            # the snapshot an earlier subscription started from.
            self.ctx.log.record(self.ctx.venue, "stray_snapshot", topic=topic)
            conn.send(previous)
        conn.subscribe(topic)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise VenueReject(RejectReason.BAD_PARAM, str(value)) from exc


def _currency(code: str) -> dict[str, Any]:
    """One /spot/currencies entry, keys as in Gate's documented sample."""
    return {
        "currency": code,
        "name": code,
        "delisted": False,
        "withdraw_disabled": False,
        "withdraw_delayed": False,
        "deposit_disabled": False,
        "trade_disabled": False,
        "chain": code,
        "chains": [],
    }


def _pair(spec: MarketSpec) -> dict[str, Any]:
    """One /spot/currency_pairs entry, keys and types as in Gate's documented sample."""
    return {
        "id": native_id(spec.symbol),
        "base": spec.base,
        "base_name": spec.base,
        "quote": spec.quote,
        "quote_name": spec.quote,
        "fee": fmt(spec.taker_fee * 100),  # Gate lists the fee in percent
        "min_base_amount": fmt(spec.min_amount),
        "min_quote_amount": fmt(spec.min_notional),
        "max_base_amount": "10000",
        "max_quote_amount": "10000000",
        "amount_precision": spec.amount_decimals,
        "precision": spec.price_decimals,
        "trade_status": "tradable",
        "sell_start": 1516378650,
        "buy_start": 1516378650,
        "delisting_time": 0,
        "trade_url": f"https://www.gate.io/trade/{native_id(spec.symbol)}",
        "st_tag": False,
    }


def _finish_as(order: SimOrder, canceled_by_user: bool) -> str:
    if order.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
        return "open"
    if order.status is OrderStatus.FILLED:
        return "filled"
    if canceled_by_user or order.tif == "gtc":
        return "cancelled"
    return {"ioc": "ioc", "fok": "fok", "poc": "poc"}.get(order.tif, "cancelled")


def _order_info(order: SimOrder, canceled_by_user: bool = False) -> dict[str, Any]:
    """An order as Gate returns it from POST/GET/DELETE /spot/orders."""
    quote_order = order.quote_amount is not None
    amount = order.quote_amount if quote_order else order.amount
    used = order.cost if quote_order else order.filled
    left = (amount or Decimal(0)) - used
    return {
        "id": order.id,
        "text": order.client_id or "apiv4",
        "amend_text": "-",
        "create_time": str(order.created_ms // 1000),
        "update_time": str(order.updated_ms // 1000),
        "create_time_ms": order.created_ms,
        "update_time_ms": order.updated_ms,
        "status": _STATUS[order.status],
        "currency_pair": native_id(order.symbol),
        "type": order.kind,
        "account": "spot",
        "side": order.side,
        "amount": fmt(amount),
        "price": fmt(order.price),
        "time_in_force": order.tif,
        "iceberg": "0",
        "left": fmt(left),
        "filled_amount": fmt(order.filled),
        "fill_price": fmt(order.cost),
        "filled_total": fmt(order.cost),
        "avg_deal_price": fmt(order.average),
        "fee": fmt(order.fee),
        "fee_currency": order.fee_currency,
        "point_fee": "0",
        "gt_fee": "0",
        "gt_maker_fee": "0",
        "gt_taker_fee": "0",
        "gt_discount": False,
        "rebated_fee": "0",
        "rebated_fee_currency": order.symbol.split("/")[1],
        "finish_as": _finish_as(order, canceled_by_user),
    }


PROTOCOL = Protocol(
    venue="gateio",
    port_offset=1,
    ws_path="/ws/v4/",
    first_order_id=1852454420,
    cadence_ms=20,
    taker_fee="0.002",
    maker_fee="0.002",
    build_app=build_app,
    push=push,
    topics=topics,
    native_id=native_id,
    aliases=("gate",),
    fault_kinds=frozenset({"stray_snapshot"}),
)
