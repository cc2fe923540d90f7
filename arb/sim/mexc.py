"""MEXC spot v3 on loopback: REST /api/v3 and the protobuf depth stream at /ws.

Payload shapes follow tests/data/sim/mexc/*.json (real MEXC traffic and docs, each with
its source); errors follow MEXC's documented {"code", "msg"} shape and code table.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2

from arb.sim.book import BookDelta
from arb.sim.context import VenueContext
from arb.sim.http import fmt, json_response, middleware
from arb.sim.protocols import Protocol
from arb.sim.scenario import FaultKind, MarketSpec
from arb.sim.signing import mexc_signature, same, split_mexc_query
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, SimOrder, VenueReject

DEPTH_CHANNEL = re.compile(r"^spot@public\.aggre\.depth\.v3\.api\.pb@(100ms|10ms)@([A-Z0-9]+)$")
INTERVALS = ("100ms", "10ms")
RECV_WINDOW_MAX = 60_000

# (HTTP status, MEXC code, msg) from MEXC's spot v3 error-code table
_ERRORS: dict[RejectReason, tuple[int, int, str]] = {
    RejectReason.INSUFFICIENT_BALANCE: (400, 30004, "Insufficient position"),
    RejectReason.MIN_NOTIONAL: (400, 30002, "The minimum transaction volume cannot be less than :"),
    RejectReason.MIN_AMOUNT: (400, 30002, "The minimum transaction volume cannot be less than :"),
    RejectReason.UNKNOWN_SYMBOL: (400, -1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (400, -2013, "Order does not exist."),
    RejectReason.BAD_PARAM: (400, 700004, "Param 'origClientOrderId' or 'orderId' must be sent"),
    RejectReason.REJECTED: (400, 30087, "Order price exceeds allowed range"),
    RejectReason.SERVER_ERROR: (503, 503, "service not available, please try again"),
    RejectReason.MISSING_KEY: (400, 400, "api key required"),
    RejectReason.BAD_KEY: (400, 700001, "API-key format invalid."),
    RejectReason.BAD_SIGNATURE: (400, 700002, "Signature for this request is not valid."),
    RejectReason.EXPIRED: (400, 700003, "Timestamp for this request is outside of the recvWindow."),
}

# MEXC order type -> (kind, time in force)
_TYPES = {
    "LIMIT": ("limit", "gtc"),
    "MARKET": ("market", "ioc"),
    "IMMEDIATE_OR_CANCEL": ("limit", "ioc"),
    "FILL_OR_KILL": ("limit", "fok"),
    "LIMIT_MAKER": ("limit", "poc"),
}
_TYPE_NAMES = {v: k for k, v in _TYPES.items()}
_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
}


def native_id(symbol: str) -> str:
    """MEXC's market id: BTC/USDT -> BTCUSDT."""
    return symbol.replace("/", "")


def reject_response(reject: VenueReject) -> web.Response:
    """A VenueReject in MEXC's error shape."""
    status, code, msg = _ERRORS[reject.reason]
    if reject.reason is RejectReason.SERVER_ERROR and reject.detail:
        status = int(reject.detail)
    return json_response({"code": code, "msg": msg}, status=status)


def rate_limited() -> web.Response:
    """MEXC's answer once the rate limit is hit."""
    return json_response({"code": 429, "msg": "Too Many Requests"}, status=429)


def build_app(ctx: VenueContext) -> web.Application:
    """The aiohttp application serving MEXC's REST paths and /ws."""
    app = web.Application(middlewares=[middleware(ctx, reject_response, rate_limited)])
    api = _Api(ctx)
    app.router.add_get("/api/v3/ping", api.ping)
    app.router.add_get("/api/v3/time", api.time)
    app.router.add_get("/api/v3/exchangeInfo", api.exchange_info)
    app.router.add_get("/api/v1/contract/detail", api.contract_detail)
    app.router.add_get("/api/v3/depth", api.depth)
    app.router.add_get("/api/v3/capital/config/getall", api.currencies)
    app.router.add_get("/api/v3/account", api.account)
    app.router.add_get("/api/v3/tradeFee", api.trade_fee)
    app.router.add_post("/api/v3/order", api.create_order)
    app.router.add_get("/api/v3/order", api.get_order)
    app.router.add_delete("/api/v3/order", api.cancel_order)
    app.router.add_get("/ws", api.websocket)
    return app


def topics(symbol: str) -> set[str]:
    """Every depth channel a client can subscribe `symbol`'s book on."""
    return {f"spot@public.aggre.depth.v3.api.pb@{i}@{native_id(symbol)}" for i in INTERVALS}


def push(ctx: VenueContext, delta: BookDelta) -> None:
    """Send one book delta as a binary PushDataV3ApiWrapper to the channel's subscribers."""
    for interval in INTERVALS:
        channel = f"spot@public.aggre.depth.v3.api.pb@{interval}@{native_id(delta.symbol)}"
        if ctx.hub.subscribers(channel):
            ctx.hub.broadcast(channel, _encode(ctx, channel, interval, delta))


def _encode(ctx: VenueContext, channel: str, interval: str, delta: BookDelta) -> bytes:
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    wrapper.channel = channel
    wrapper.symbol = native_id(delta.symbol)
    wrapper.sendTime = ctx.now_ms()
    body = wrapper.publicAggreDepths
    for price, amount in delta.asks:
        item = body.asks.add()
        item.price, item.quantity = fmt(price), fmt(amount)
    for price, amount in delta.bids:
        item = body.bids.add()
        item.price, item.quantity = fmt(price), fmt(amount)
    body.eventType = f"spot@public.aggre.depth.v3.api.pb@{interval}"
    body.fromVersion = str(delta.first)
    body.toVersion = str(delta.last)
    return bytes(wrapper.SerializeToString())


class _Api:
    """Request handlers of one MEXC venue."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.by_id = {native_id(s): s for s in ctx.state.markets}

    def _symbol(self, request: web.Request) -> str:
        symbol = self.by_id.get(request.query.get("symbol", ""))
        if symbol is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, request.query.get("symbol", ""))
        return symbol

    async def _auth(self, request: web.Request) -> None:
        """Check key, timestamp window and signature exactly as MEXC does."""
        key = request.headers.get("X-MEXC-APIKEY", "")
        if not key:
            raise VenueReject(RejectReason.MISSING_KEY)
        if key != self.ctx.api_key:
            raise VenueReject(RejectReason.BAD_KEY)
        signed, signature = split_mexc_query(request.rel_url.raw_query_string)
        # totalParams is the query string concatenated with the request body
        total_params = signed + await request.text()
        if not signature or not same(mexc_signature(total_params, self.ctx.api_secret), signature):
            raise VenueReject(RejectReason.BAD_SIGNATURE)
        try:
            timestamp = int(request.query["timestamp"])
            window = int(request.query.get("recvWindow", "5000"))
        except (KeyError, ValueError) as exc:
            raise VenueReject(RejectReason.EXPIRED) from exc
        server = self.ctx.wall_ms()
        if window > RECV_WINDOW_MAX or not (server - window <= timestamp < server + 1000):
            raise VenueReject(RejectReason.EXPIRED)

    async def ping(self, request: web.Request) -> web.Response:
        return json_response({})

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": self.ctx.now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        symbols = [_symbol_info(spec) for spec in self.state.markets.values()]
        return json_response(
            {
                "timezone": "CST",
                "serverTime": self.ctx.now_ms(),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    async def contract_detail(self, request: web.Request) -> web.Response:
        # spot-only venue: ccxt's load_markets always asks for swaps; none are listed
        return json_response({"success": True, "code": 0, "data": []})

    async def depth(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        limit = min(int(request.query.get("limit", "100")), 5000)
        book = self.state.books[symbol]
        # push what is pending first so lastUpdateId lines up with the stream
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(limit)
        return json_response(
            {
                "lastUpdateId": book.version,
                "bids": [[fmt(p), fmt(a)] for p, a in bids],
                "asks": [[fmt(p), fmt(a)] for p, a in asks],
                "timestamp": self.ctx.now_ms(),
            }
        )

    async def currencies(self, request: web.Request) -> web.Response:
        await self._auth(request)
        coins = [{"coin": c, "name": c, "networkList": []} for c in self.state.currencies()]
        return json_response(coins)

    async def account(self, request: web.Request) -> web.Response:
        await self._auth(request)
        balances = []
        for code in self.state.currencies():
            free, locked = self.state.balance(code)
            if free or locked:
                balances.append({"asset": code, "free": fmt(free), "locked": fmt(locked)})
        return json_response(
            {
                "makerCommission": None,
                "takerCommission": None,
                "buyerCommission": None,
                "sellerCommission": None,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "updateTime": None,
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
            }
        )

    async def trade_fee(self, request: web.Request) -> web.Response:
        await self._auth(request)
        spec = self.state.market(self._symbol(request))
        return json_response(
            {
                "data": {
                    "makerCommission": float(spec.maker_fee),
                    "takerCommission": float(spec.taker_fee),
                },
                "code": 0,
                "msg": "success",
                "timestamp": self.ctx.now_ms(),
            }
        )

    async def create_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        req = self._order_request(request)
        if self.ctx.faults.take(FaultKind.REJECT_NEXT_ORDER) is not None:
            raise VenueReject(RejectReason.REJECTED)
        order_id = f"C02__{self.state.next_id()}"
        order = self.state.place(order_id, req, self.ctx.now_ms())
        self.ctx.log.record(self.ctx.venue, "order", order_id=order.id, status=str(order.status))
        fault = self.ctx.faults.take(FaultKind.HTTP_5XX_AFTER_PLACE)
        if fault is not None:
            raise VenueReject(RejectReason.SERVER_ERROR, str(fault.status or 503))
        payload: dict[str, Any] = {
            "symbol": native_id(order.symbol),
            "orderId": order.id,
            "orderListId": "-1",
            "price": fmt(order.price),
            "type": _TYPE_NAMES[(order.kind, order.tif)],
            "side": order.side.upper(),
            "transactTime": order.created_ms,
        }
        if order.amount is not None:
            payload["origQty"] = fmt(order.amount)
        return json_response(payload)

    def _order_request(self, request: web.Request) -> OrderRequest:
        query = request.query
        symbol = self._symbol(request)
        kind_tif = _TYPES.get(query.get("type", ""))
        side = query.get("side", "").lower()
        if kind_tif is None or side not in ("buy", "sell"):
            raise VenueReject(RejectReason.BAD_PARAM, "type/side")
        price, amount, quote = (_dec(query.get(k)) for k in ("price", "quantity", "quoteOrderQty"))
        kind, tif = kind_tif
        if kind == "market" and quote is not None and side == "buy":
            amount = None  # a market buy by quoteOrderQty spends quote, whatever else is sent
        elif amount is None or (kind == "limit" and price is None):
            raise VenueReject(RejectReason.BAD_PARAM, "quantity/price")
        else:
            quote = None
        return OrderRequest(
            symbol=symbol,
            side=side,
            kind=kind,
            tif=tif,
            price=price if kind == "limit" else None,
            amount=amount,
            quote_amount=quote,
            client_id=query.get("newClientOrderId", ""),
        )

    def _lookup(self, request: web.Request) -> SimOrder:
        symbol = self._symbol(request)
        order_id = request.query.get("orderId", "")
        client_id = request.query.get("origClientOrderId", "")
        if not order_id and not client_id:
            raise VenueReject(RejectReason.BAD_PARAM, "orderId")
        order = self.state.find(order_id, client_id)
        if order.symbol != symbol:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order.id)
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        return json_response(_order_info(self._lookup(request)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        await self._auth(request)
        order = self.state.cancel(self._lookup(request), self.ctx.now_ms())
        info = _order_info(order)
        keys = ("symbol", "orderId", "clientOrderId", "price", "origQty", "executedQty")
        payload = {"origClientOrderId": order.client_id or None} | {k: info[k] for k in keys}
        payload |= {k: info[k] for k in ("cummulativeQuoteQty", "status", "type", "side")}
        payload["timeInForce"] = info["timeInForce"]
        return json_response(payload)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        return await self.ctx.hub.serve(request, self._on_text)

    async def _on_text(self, conn: Any, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        self.ctx.log.record(self.ctx.venue, "ws_in", frame=message)
        method = str(message.get("method", "")).upper()
        if method == "PING":
            conn.send(json.dumps({"id": 0, "code": 0, "msg": "PONG"}))
            return
        for channel in message.get("params", []):
            match = DEPTH_CHANNEL.match(str(channel))
            if match is None or match.group(2) not in self.by_id:
                reason = f"Not Subscribed successfully! [{channel}].  Reason： Blocked! "
                conn.send(json.dumps({"id": 0, "code": 0, "msg": reason}))
                continue
            if method == "SUBSCRIPTION":
                conn.subscribe(channel)
            elif method == "UNSUBSCRIPTION":
                conn.topics.discard(channel)
            conn.send(json.dumps({"id": 0, "code": 0, "msg": channel}))


def _dec(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise VenueReject(RejectReason.BAD_PARAM, text) from exc


def _symbol_info(spec: MarketSpec) -> dict[str, Any]:
    """One exchangeInfo symbol object, keys as in the recorded BROCKUSDT entry."""
    return {
        "symbol": native_id(spec.symbol),
        "status": "1",
        "baseAsset": spec.base,
        "baseAssetPrecision": spec.amount_decimals,
        "quoteAsset": spec.quote,
        "quotePrecision": spec.price_decimals,
        "quoteAssetPrecision": spec.price_decimals,
        "baseCommissionPrecision": spec.amount_decimals,
        "quoteCommissionPrecision": spec.price_decimals,
        "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "quoteAmountPrecision": fmt(spec.min_notional),
        "baseSizePrecision": fmt(spec.min_amount),
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": "2000000",
        "makerCommission": fmt(spec.maker_fee),
        "takerCommission": fmt(spec.taker_fee),
        "quoteAmountPrecisionMarket": fmt(spec.min_notional),
        "maxQuoteAmountMarket": "100000",
        "fullName": spec.base,
        "tradeSideType": 1,
    }


def _order_info(order: SimOrder) -> dict[str, Any]:
    """GET /api/v3/order answer, keys as in MEXC's documented query-order response."""
    return {
        "symbol": native_id(order.symbol),
        "orderId": order.id,
        "orderListId": "-1",
        "clientOrderId": order.client_id or None,
        "price": fmt(order.price),
        "origQty": fmt(order.amount),
        "executedQty": fmt(order.filled),
        "cummulativeQuoteQty": fmt(order.cost),
        "status": _STATUS[order.status],
        "timeInForce": None,
        "type": _TYPE_NAMES[(order.kind, order.tif)],
        "side": order.side.upper(),
        "stopPrice": None,
        "icebergQty": None,
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": True,
        "origQuoteOrderQty": fmt(order.quote_amount),
    }


PROTOCOL = Protocol(
    venue="mexc",
    port_offset=0,
    ws_path="/ws",
    first_order_id=474424498318368768,
    cadence_ms=100,
    taker_fee="0.0005",
    maker_fee="0",
    build_app=build_app,
    push=push,
    topics=topics,
    native_id=native_id,
    aliases=(),
    fault_kinds=frozenset(),
)
