"""Bybit API v5 spot on loopback: REST /v5/... and the orderbook stream at /v5/public/spot.

Payload shapes follow tests/data/bybit (Bybit's documented examples and ccxt's recorded
traffic, each with its source): every REST answer is {retCode, retMsg, result, retExtInfo,
time} with HTTP 200, errors included; a book subscription gets a `snapshot` and then `delta`s
whose `u` is the previous one + 1, per https://bybit-exchange.github.io/docs/v5/websocket/
public/orderbook. Signed requests are checked as https://bybit-exchange.github.io/docs/v5/
guide#authentication says: X-BAPI-SIGN = hex HMAC-SHA256 of timestamp + api key + recv
window + (query string | JSON body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import weakref
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from arb.sim.book import BookDelta, SimBook
from arb.sim.context import VenueContext
from arb.sim.http import fmt, json_response, middleware
from arb.sim.hub import WsConn
from arb.sim.protocols import Protocol
from arb.sim.scenario import FaultKind, MarketSpec
from arb.sim.signing import same
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, SimOrder, VenueReject, VenueState

DEPTHS = ("1", "50", "200", "1000")

# (retCode, retMsg) after Bybit's v5 error-code page (ccxt 4.5.90 maps each code)
_ERRORS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.INSUFFICIENT_BALANCE: (170131, "Insufficient balance."),
    RejectReason.MIN_NOTIONAL: (170140, "Order value exceeded lower limit."),
    RejectReason.MIN_AMOUNT: (170136, "Order quantity exceeded lower limit."),
    RejectReason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
    RejectReason.UNKNOWN_ORDER: (170213, "Order does not exist."),
    RejectReason.BAD_PARAM: (10001, "params error"),
    RejectReason.REJECTED: (170130, "Data sent for paramter 'price' is not valid."),
    RejectReason.MISSING_KEY: (10003, "API key is invalid."),
    RejectReason.BAD_KEY: (10003, "API key is invalid."),
    RejectReason.BAD_SIGNATURE: (10004, "error sign! origin_string[...]"),
    RejectReason.EXPIRED: (
        10002,
        "invalid request, please check your server timestamp or recv_window param",
    ),
}
_STATUS = {
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Cancelled",
}

# Per venue state and symbol: (the SimBook sequence number last pushed, Bybit's `u` then).
# Bybit's `u` counts pushes, not level changes; a skipped SimBook number is a skipped `u`.
_SEQ: weakref.WeakKeyDictionary[VenueState, dict[str, tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def native_id(symbol: str) -> str:
    """Bybit's market id: BTC/USDT -> BTCUSDT."""
    return symbol.replace("/", "")


def envelope(ctx: VenueContext, result: Any, code: int = 0, message: str = "OK") -> web.Response:
    """Bybit's answer shape, errors included (HTTP 200)."""
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}}
    return json_response(body | {"time": ctx.wall_ms()})


def _u_after(ctx: VenueContext, delta: BookDelta) -> int:
    seqs = _SEQ.setdefault(ctx.state, {})
    pushed, u = seqs.get(delta.symbol, (delta.first - 1, delta.first - 1))
    u += 1 if delta.first == pushed + 1 else 2
    seqs[delta.symbol] = (delta.last, u)
    return u


def _u_now(ctx: VenueContext, book: SimBook) -> int:
    seqs = _SEQ.setdefault(ctx.state, {})
    if book.symbol not in seqs:
        seqs[book.symbol] = (book.pushed, book.pushed)
    return seqs[book.symbol][1]


def topics(symbol: str) -> set[str]:
    """Every orderbook topic a client can subscribe `symbol`'s book on."""
    return {f"orderbook.{depth}.{native_id(symbol)}" for depth in DEPTHS}


def push(ctx: VenueContext, delta: BookDelta) -> None:
    """Send one book change as a `delta` to each depth's subscribers (u = previous + 1)."""
    u = _u_after(ctx, delta)
    now = ctx.now_ms()
    for topic in sorted(topics(delta.symbol)):
        if ctx.hub.subscribers(topic):
            data = {
                "s": native_id(delta.symbol),
                "b": [[fmt(p), fmt(a)] for p, a in delta.bids],
                "a": [[fmt(p), fmt(a)] for p, a in delta.asks],
                "u": u,
                "seq": delta.last,
            }
            frame = {"topic": topic, "type": "delta", "ts": now, "data": data, "cts": now}
            ctx.hub.broadcast(topic, json.dumps(frame, separators=(",", ":")))


def build_app(ctx: VenueContext) -> web.Application:
    """The aiohttp application serving Bybit's v5 REST paths and /v5/public/spot."""

    def on_reject(reject: VenueReject) -> web.Response:
        if reject.reason is RejectReason.SERVER_ERROR:
            code = int(reject.detail) if reject.detail.isdigit() else 502
            return web.Response(text=f"<html><body><h1>{code}</h1></body></html>", status=code)
        code, message = _ERRORS[reject.reason]
        return envelope(ctx, {}, code, message)

    def rate_limited() -> web.Response:
        return envelope(ctx, {}, 10006, "Too many visits!")

    app = web.Application(middlewares=[middleware(ctx, on_reject, rate_limited)])
    api = _Api(ctx)
    app.router.add_get("/v5/market/time", api.time)
    app.router.add_get("/v5/market/instruments-info", api.instruments)
    app.router.add_get("/v5/market/orderbook", api.order_book)
    app.router.add_get("/v5/account/wallet-balance", api.wallet_balance)
    app.router.add_get("/v5/account/fee-rate", api.fee_rate)
    app.router.add_post("/v5/order/create", api.create_order)
    app.router.add_get("/v5/order/realtime", api.get_order)
    app.router.add_get("/v5/order/history", api.get_order)
    app.router.add_post("/v5/order/cancel", api.cancel_order)
    app.router.add_get("/v5/public/spot", api.websocket)
    return app


class _Api:
    """Request handlers of one Bybit venue."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.by_id = {native_id(s): s for s in ctx.state.markets}

    def _symbol(self, market_id: str) -> str:
        symbol = self.by_id.get(market_id)
        if symbol is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, market_id)
        return symbol

    async def _auth(self, request: web.Request) -> str:
        """Check the X-BAPI-* headers exactly as Bybit does; the signed payload's text."""
        key = request.headers.get("X-BAPI-API-KEY", "")
        sign = request.headers.get("X-BAPI-SIGN", "")
        timestamp = request.headers.get("X-BAPI-TIMESTAMP", "")
        window = request.headers.get("X-BAPI-RECV-WINDOW", "5000")
        if not key or not sign or not timestamp:
            raise VenueReject(RejectReason.MISSING_KEY)
        if key != self.ctx.api_key:
            raise VenueReject(RejectReason.BAD_KEY)
        body = await request.text()
        payload = body if request.method == "POST" else request.rel_url.raw_query_string
        expected = bybit_signature(timestamp + key + window + payload, self.ctx.api_secret)
        if not same(expected, sign):
            raise VenueReject(RejectReason.BAD_SIGNATURE)
        try:
            # "server_time - recv_window <= timestamp < server_time + 1000"
            skew = self.ctx.wall_ms() - int(timestamp)
            late = skew > int(window) or skew < -1000
        except ValueError as exc:
            raise VenueReject(RejectReason.EXPIRED) from exc
        if late:
            raise VenueReject(RejectReason.EXPIRED)
        return body

    async def time(self, request: web.Request) -> web.Response:
        now = self.ctx.now_ms()
        return envelope(self.ctx, {"timeSecond": str(now // 1000), "timeNano": str(now * 10**6)})

    async def instruments(self, request: web.Request) -> web.Response:
        if request.query.get("category") != "spot":
            return envelope(self.ctx, {"category": request.query.get("category"), "list": []})
        rows = [_instrument(spec) for spec in self.state.markets.values()]
        return envelope(self.ctx, {"category": "spot", "list": rows})

    async def order_book(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request.query.get("symbol", ""))
        limit = min(int(request.query.get("limit", "1")), 200)
        book = self.state.books[symbol]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(limit)
        result = {
            "s": native_id(symbol),
            "a": [[fmt(p), fmt(a)] for p, a in asks],
            "b": [[fmt(p), fmt(a)] for p, a in bids],
            "ts": self.ctx.now_ms(),
            "u": _u_now(self.ctx, book),
        }
        return envelope(self.ctx, result)

    async def wallet_balance(self, request: web.Request) -> web.Response:
        await self._auth(request)
        if request.query.get("accountType") != "UNIFIED":
            raise VenueReject(RejectReason.BAD_PARAM, "accountType")
        coins = []
        for code in self.state.currencies():
            free, locked = self.state.balance(code)
            coins.append(_coin(code, free, locked))
        account = {"accountType": "UNIFIED", "accountIMRate": "0", "accountLTV": "0"}
        return envelope(self.ctx, {"list": [account | {"coin": coins}]})

    async def fee_rate(self, request: web.Request) -> web.Response:
        await self._auth(request)
        spec = self.state.market(self._symbol(request.query.get("symbol", "")))
        row = {
            "symbol": native_id(spec.symbol),
            "takerFeeRate": fmt(spec.taker_fee),
            "makerFeeRate": fmt(spec.maker_fee),
        }
        return envelope(self.ctx, {"list": [row]})

    async def create_order(self, request: web.Request) -> web.Response:
        body = _json_body(await self._auth(request))
        req = self._order_request(body)
        if self._known_link_id(req.client_id):
            raise VenueReject(RejectReason.BAD_PARAM, "orderLinkId")  # "must be unique"
        if self.ctx.faults.take(FaultKind.REJECT_NEXT_ORDER) is not None:
            raise VenueReject(RejectReason.REJECTED)
        order = self.state.place(str(self.state.next_id()), req, self.ctx.now_ms())
        self.ctx.log.record(self.ctx.venue, "order", order_id=order.id, status=str(order.status))
        fault = self.ctx.faults.take(FaultKind.HTTP_5XX_AFTER_PLACE)
        if fault is not None:
            raise VenueReject(RejectReason.SERVER_ERROR, str(fault.status or 502))
        return envelope(self.ctx, {"orderId": order.id, "orderLinkId": order.client_id})

    def _known_link_id(self, link_id: str) -> bool:
        try:
            self.state.find(client_id=link_id)
        except VenueReject:
            return False
        return True

    def _order_request(self, body: dict[str, Any]) -> OrderRequest:
        if body.get("category") != "spot":
            raise VenueReject(RejectReason.BAD_PARAM, "category")
        symbol = self._symbol(str(body.get("symbol", "")))
        side = {"Buy": "buy", "Sell": "sell"}.get(str(body.get("side")))
        kind = {"Limit": "limit", "Market": "market"}.get(str(body.get("orderType")))
        tif = str(body.get("timeInForce", "GTC" if kind == "limit" else "IOC"))
        tif = {"GTC": "gtc", "IOC": "ioc", "FOK": "fok", "PostOnly": "poc"}.get(tif, "")
        client_id = str(body.get("orderLinkId") or secrets.token_hex(8))
        if side is None or kind is None or not tif or len(client_id) > 36:
            raise VenueReject(RejectReason.BAD_PARAM, "side/orderType/timeInForce/orderLinkId")
        qty = _dec(body.get("qty"))
        price = _dec(body.get("price")) if kind == "limit" else None
        if qty is None or (kind == "limit" and price is None):
            raise VenueReject(RejectReason.BAD_PARAM, "qty/price")
        # A spot market buy's qty is in quote coin unless marketUnit says baseCoin.
        unit = body.get("marketUnit") or ("quoteCoin" if side == "buy" else "baseCoin")
        quote = qty if kind == "market" and unit == "quoteCoin" else None
        return OrderRequest(
            symbol=symbol,
            side=side,
            kind=kind,
            tif="ioc" if kind == "market" else tif,
            price=price,
            amount=None if quote is not None else qty,
            quote_amount=quote,
            client_id=client_id,
        )

    def _lookup(self, symbol: str, order_id: str, link_id: str) -> SimOrder:
        order = self.state.find(order_id=order_id, client_id=link_id)
        if order.symbol != symbol:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order_id or link_id)
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        query = request.query
        symbol = self._symbol(query.get("symbol", ""))
        try:
            rows = [
                _order_info(
                    self._lookup(symbol, query.get("orderId", ""), query.get("orderLinkId", ""))
                )
            ]
        except VenueReject:
            rows = []  # Bybit answers an unknown order with an empty list
        return envelope(self.ctx, {"nextPageCursor": "", "category": "spot", "list": rows})

    async def cancel_order(self, request: web.Request) -> web.Response:
        body = _json_body(await self._auth(request))
        symbol = self._symbol(str(body.get("symbol", "")))
        order = self._lookup(
            symbol, str(body.get("orderId") or ""), str(body.get("orderLinkId") or "")
        )
        order = self.state.cancel(order, self.ctx.now_ms())
        return envelope(self.ctx, {"orderId": order.id, "orderLinkId": order.client_id})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        conn_id = secrets.token_hex(10)
        return await self.ctx.hub.serve(
            request, lambda conn, text: self._on_text(conn, text, conn_id)
        )

    async def _on_text(self, conn: WsConn, text: str, conn_id: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        self.ctx.log.record(self.ctx.venue, "ws_in", frame=message)
        op = message.get("op")
        head = {"success": True, "ret_msg": "", "conn_id": conn_id}
        if "req_id" in message:
            head["req_id"] = message["req_id"]
        if op == "ping":
            conn.send(json.dumps(head | {"ret_msg": "pong", "op": "ping"}))
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send(json.dumps(head | {"success": False, "ret_msg": f"error:invalid op {op}"}))
            return
        args = [str(a) for a in message.get("args", [])]
        bad = [a for a in args if not self._known(a)]
        if bad or (op == "subscribe" and any(a in conn.topics for a in args)):
            reason = f"error:handler not found,topic:{(bad or args)[0]}"
            conn.send(json.dumps(head | {"success": False, "ret_msg": reason, "op": op}))
            return
        conn.send(json.dumps(head | {"ret_msg": op, "op": op}))
        for topic in args:
            if op == "subscribe":
                self._start_stream(conn, topic)
            else:
                conn.topics.discard(topic)

    def _known(self, topic: str) -> bool:
        parts = topic.split(".")
        return (
            len(parts) == 3
            and parts[0] == "orderbook"
            and parts[1] in DEPTHS
            and parts[2] in self.by_id
        )

    def _start_stream(self, conn: WsConn, topic: str) -> None:
        """Flush pending changes to others, queue the snapshot, then subscribe."""
        _, depth, market_id = topic.split(".")
        book = self.state.books[self.by_id[market_id]]
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(int(depth))
        now = self.ctx.now_ms()
        data = {
            "s": market_id,
            "b": [[fmt(p), fmt(a)] for p, a in bids],
            "a": [[fmt(p), fmt(a)] for p, a in asks],
            "u": _u_now(self.ctx, book),
            "seq": book.pushed,
        }
        frame = {"topic": topic, "type": "snapshot", "ts": now, "data": data, "cts": now}
        conn.send(json.dumps(frame, separators=(",", ":")))
        conn.subscribe(topic)


def bybit_signature(payload: str, secret: str) -> str:
    """Bybit v5: hex HMAC-SHA256 of timestamp + api key + recv window + query or body."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _json_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise VenueReject(RejectReason.BAD_PARAM, "body") from exc
    if not isinstance(body, dict):
        raise VenueReject(RejectReason.BAD_PARAM, "body")
    return body


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise VenueReject(RejectReason.BAD_PARAM, str(value)) from exc


def _instrument(spec: MarketSpec) -> dict[str, Any]:
    """One /v5/market/instruments-info spot entry, keys as in tests/data/bybit."""
    return {
        "symbol": native_id(spec.symbol),
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "utaOnly",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": fmt(spec.amount_step),
            "quotePrecision": "0.0000001",
            "minOrderQty": fmt(spec.min_amount),
            "maxOrderQty": "10000000",
            "minOrderAmt": fmt(spec.min_notional),
            "maxOrderAmt": "8000000",
        },
        "priceFilter": {"tickSize": fmt(spec.price_step)},
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
    }


def _coin(code: str, free: Decimal, locked: Decimal) -> dict[str, Any]:
    """One UNIFIED wallet coin, keys as in ccxt's recorded fetchBalance answer."""
    wallet = fmt(free + locked)
    return {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": "0",
        "equity": wallet,
        "totalPositionMM": "0",
        "usdValue": "0",
        "unrealisedPnl": "0",
        "collateralSwitch": True,
        "spotHedgingQty": "0",
        "borrowAmount": "0.000000000000000000",
        "totalPositionIM": "0",
        "walletBalance": wallet,
        "cumRealisedPnl": "0",
        "locked": fmt(locked),
        "marginCollateral": True,
        "coin": code,
    }


def _status(order: SimOrder) -> str:
    if order.status is OrderStatus.CANCELED and order.filled > 0:
        return "PartiallyFilledCanceled"  # an IOC order that filled in part
    return _STATUS[order.status]


def _order_info(order: SimOrder) -> dict[str, Any]:
    """An order as /v5/order/realtime lists it, keys as in ccxt's recorded spot orders."""
    quote_order = order.quote_amount is not None
    qty = order.quote_amount if quote_order else order.amount
    leaves = (qty or Decimal(0)) - (order.cost if quote_order else order.filled)
    if order.status in (OrderStatus.FILLED, OrderStatus.CANCELED):
        leaves = Decimal(0)
    return {
        "symbol": native_id(order.symbol),
        "orderType": "Limit" if order.kind == "limit" else "Market",
        "orderLinkId": order.client_id,
        "orderId": order.id,
        "cancelType": "UNKNOWN",
        "avgPrice": fmt(order.average) if order.average is not None else "",
        "stopOrderType": "",
        "lastPriceOnCreated": "",
        "orderStatus": _status(order),
        "takeProfit": "0",
        "cumExecValue": fmt(order.cost),
        "smpType": "None",
        "triggerDirection": "0",
        "blockTradeId": "",
        "cumFeeDetail": {order.fee_currency: fmt(order.fee)} if order.fee else {},
        "rejectReason": "EC_NoError",
        "isLeverage": "0",
        "price": fmt(order.price),
        "orderIv": "",
        "createdTime": str(order.created_ms),
        "tpTriggerBy": "",
        "positionIdx": "0",
        "timeInForce": {"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "poc": "PostOnly"}[order.tif],
        "leavesValue": "0",
        "updatedTime": str(order.updated_ms),
        "side": "Buy" if order.side == "buy" else "Sell",
        "smpGroup": "0",
        "triggerPrice": "0",
        "tpLimitPrice": "0",
        "cumExecFee": fmt(order.fee),
        "slTriggerBy": "",
        "leavesQty": fmt(leaves),
        "closeOnTrigger": False,
        "placeType": "",
        "cumExecQty": fmt(order.filled),
        "reduceOnly": False,
        "qty": fmt(qty),
        "stopLoss": "0",
        "marketUnit": "quoteCoin" if quote_order else "baseCoin",
        "smpOrderId": "",
        "triggerBy": "",
    }


PROTOCOL = Protocol(
    venue="bybit",
    port_offset=4,
    ws_path="/v5/public/spot",
    first_order_id=1609920528435648000,
    cadence_ms=20,  # orderbook.50 spot: pushed every 20 ms
    taker_fee="0.001",
    maker_fee="0.001",
    build_app=build_app,
    push=push,
    topics=topics,
    native_id=native_id,
)
