"""Binance spot on loopback: REST /api/v3 (+ /sapi/v1/asset/tradeFee) and diff depth at /ws.

Payload shapes follow tests/data/binance/*.json and the cassettes in cassettes/binance (real
Binance traffic and documentation, each with its source); errors follow Binance's documented
{"code", "msg"} shape and error-code table (binance-spot-api-docs errors.md). Signed requests
are checked as Binance checks them: hex HMAC-SHA256 of the query string followed by the body,
key in the X-MBX-APIKEY header, timestamp within recvWindow.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from arb.sim.book import BookDelta
from arb.sim.context import VenueContext
from arb.sim.http import middleware
from arb.sim.hub import WsConn
from arb.sim.protocols import Protocol
from arb.sim.scenario import FaultKind, MarketSpec
from arb.sim.signing import same
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, SimOrder, VenueReject

DEPTH_STREAM = re.compile(r"^([a-z0-9]+)@depth(@100ms|@1000ms)?$")
RECV_WINDOW_MAX = 60_000

# (HTTP status, Binance code, msg) from Binance's spot error-code table
_ERRORS: dict[RejectReason, tuple[int, int, str]] = {
    RejectReason.INSUFFICIENT_BALANCE: (
        400,
        -2010,
        "Account has insufficient balance for requested action.",
    ),
    RejectReason.MIN_NOTIONAL: (400, -1013, "Filter failure: NOTIONAL"),
    RejectReason.MIN_AMOUNT: (400, -1013, "Filter failure: LOT_SIZE"),
    RejectReason.UNKNOWN_SYMBOL: (400, -1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (400, -2013, "Order does not exist."),
    RejectReason.BAD_PARAM: (
        400,
        -1102,
        "Mandatory parameter was not sent, was empty/null, or malformed.",
    ),
    RejectReason.REJECTED: (400, -2010, "Market is closed."),
    RejectReason.SERVER_ERROR: (
        503,
        -1001,
        "Internal error; unable to process your request. Please try again.",
    ),
    RejectReason.MISSING_KEY: (401, -2014, "API-key format invalid."),
    RejectReason.BAD_KEY: (401, -2015, "Invalid API-key, IP, or permissions for action."),
    RejectReason.BAD_SIGNATURE: (400, -1022, "Signature for this request is not valid."),
    RejectReason.EXPIRED: (
        400,
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    ),
}

# Binance (type, timeInForce) -> (kind, time in force)
_KINDS = {
    ("LIMIT", "GTC"): ("limit", "gtc"),
    ("LIMIT", "IOC"): ("limit", "ioc"),
    ("LIMIT", "FOK"): ("limit", "fok"),
    ("LIMIT_MAKER", ""): ("limit", "poc"),
    ("MARKET", ""): ("market", "ioc"),
}
_NAMES = {v: k for k, v in _KINDS.items()}
_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
}


def native_id(symbol: str) -> str:
    """Binance's market id: BTC/USDT -> BTCUSDT."""
    return symbol.replace("/", "")


def signature(total_params: str, secret: str) -> str:
    """Binance HMAC keys: hex HMAC-SHA256 of the query string followed by the body."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def num(value: Decimal | None) -> str:
    """A decimal as Binance prints it: eight places."""
    return f"{value or Decimal(0):.8f}"


def reject_response(reject: VenueReject) -> web.Response:
    """A VenueReject in Binance's error shape."""
    status, code, msg = _ERRORS[reject.reason]
    if reject.reason is RejectReason.SERVER_ERROR and reject.detail:
        status = int(reject.detail)
    return _json({"code": code, "msg": msg}, status=status)


def rate_limited() -> web.Response:
    """Binance's answer once the request weight is used up."""
    msg = (
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    return _json({"code": -1003, "msg": msg}, status=429)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def build_app(ctx: VenueContext) -> web.Application:
    """The aiohttp application serving Binance's spot REST paths and /ws[/<n>]."""
    app = web.Application(middlewares=[middleware(ctx, reject_response, rate_limited)])
    api = _Api(ctx)
    app.router.add_get("/api/v3/ping", api.ping)
    app.router.add_get("/api/v3/time", api.time)
    app.router.add_get("/api/v3/exchangeInfo", api.exchange_info)
    app.router.add_get("/api/v3/depth", api.depth)
    app.router.add_get("/api/v3/account", api.account)
    app.router.add_get("/sapi/v1/asset/tradeFee", api.trade_fee)
    app.router.add_post("/api/v3/order", api.create_order)
    app.router.add_get("/api/v3/order", api.get_order)
    app.router.add_delete("/api/v3/order", api.cancel_order)
    app.router.add_get("/ws", api.websocket)
    app.router.add_get("/ws/{stream:[0-9]+}", api.websocket)  # ccxt: one URL per stream index
    return app


def topics(symbol: str) -> set[str]:
    """Every diff depth stream a client can subscribe `symbol`'s book on."""
    market = native_id(symbol).lower()
    return {f"{market}@depth", f"{market}@depth@100ms", f"{market}@depth@1000ms"}


def push(ctx: VenueContext, delta: BookDelta) -> None:
    """Send one book delta as a depthUpdate event to every subscriber of its streams."""
    frame: str | None = None
    for topic in sorted(topics(delta.symbol)):
        if ctx.hub.subscribers(topic):
            frame = frame or json.dumps(_event(ctx, delta), separators=(",", ":"))
            ctx.hub.broadcast(topic, frame)


def _event(ctx: VenueContext, delta: BookDelta) -> dict[str, Any]:
    """The documented `depthUpdate` event: U..u, absolute quantities, 0 removes a level."""
    return {
        "e": "depthUpdate",
        "E": ctx.now_ms(),
        "s": native_id(delta.symbol),
        "U": delta.first,
        "u": delta.last,
        "b": [[num(p), num(a)] for p, a in delta.bids],
        "a": [[num(p), num(a)] for p, a in delta.asks],
    }


class _Api:
    """Request handlers of one Binance venue."""

    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.by_id = {native_id(s): s for s in ctx.state.markets}

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = self.by_id.get(params.get("symbol", ""))
        if symbol is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, params.get("symbol", ""))
        return symbol

    async def _signed(self, request: web.Request) -> dict[str, str]:
        """The request's parameters, once key, signature and timestamp check out."""
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key:
            raise VenueReject(RejectReason.MISSING_KEY)
        if key != self.ctx.api_key:
            raise VenueReject(RejectReason.BAD_KEY)
        # "totalParams is defined as the query string concatenated with the request body";
        # the signature is its last parameter, in either part.
        query, body = request.rel_url.raw_query_string, await request.text()
        total = query + body
        signed, sep, given = total.rpartition("&signature=")
        if not sep or not same(signature(signed, self.ctx.api_secret), given):
            raise VenueReject(RejectReason.BAD_SIGNATURE)
        params = dict(parse_qsl(query)) | dict(parse_qsl(body))
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError) as exc:
            raise VenueReject(RejectReason.EXPIRED) from exc
        server = self.ctx.wall_ms()
        if window > RECV_WINDOW_MAX or not (server - window <= timestamp < server + 1000):
            raise VenueReject(RejectReason.EXPIRED)
        return params

    async def ping(self, request: web.Request) -> web.Response:
        return _json({})

    async def time(self, request: web.Request) -> web.Response:
        return _json({"serverTime": self.ctx.now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        symbols = [_symbol_info(spec) for spec in self.state.markets.values()]
        rate_limits = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10},
        ]
        limits = (6000, 100)
        return _json(
            {
                "timezone": "UTC",
                "serverTime": self.ctx.now_ms(),
                "rateLimits": [r | {"limit": n} for r, n in zip(rate_limits, limits, strict=True)],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    async def depth(self, request: web.Request) -> web.Response:
        symbol = self._symbol(dict(request.query))
        limit = min(int(request.query.get("limit", "100")), 5000)
        book = self.state.books[symbol]
        # push what is pending first so lastUpdateId lines up with the stream
        delta = book.flush()
        if delta is not None:
            push(self.ctx, delta)
        bids, asks = book.top(limit)
        return _json(
            {
                "lastUpdateId": book.version,
                "bids": [[num(p), num(a)] for p, a in bids],
                "asks": [[num(p), num(a)] for p, a in asks],
            }
        )

    async def account(self, request: web.Request) -> web.Response:
        await self._signed(request)
        balances = []
        for code in self.state.currencies():
            free, locked = self.state.balance(code)
            balances.append({"asset": code, "free": num(free), "locked": num(locked)})
        rates = {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000"}
        return _json(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": rates | {"seller": "0.00000000"},
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self.ctx.now_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 354937868,
            }
        )

    async def trade_fee(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        specs = self.state.markets.values()
        if "symbol" in params:
            specs = [self.state.market(self._symbol(params))]  # type: ignore[assignment]
        return _json(
            [
                {
                    "symbol": native_id(spec.symbol),
                    "makerCommission": str(spec.maker_fee),
                    "takerCommission": str(spec.taker_fee),
                }
                for spec in specs
            ]
        )

    async def create_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        req = self._order_request(params)
        if self.ctx.faults.take(FaultKind.REJECT_NEXT_ORDER) is not None:
            raise VenueReject(RejectReason.REJECTED)
        order = self.state.place(str(self.state.next_id()), req, self.ctx.now_ms())
        self.ctx.log.record(self.ctx.venue, "order", order_id=order.id, status=str(order.status))
        fault = self.ctx.faults.take(FaultKind.HTTP_5XX_AFTER_PLACE)
        if fault is not None:
            raise VenueReject(RejectReason.SERVER_ERROR, str(fault.status or 503))
        payload = _order_info(order)
        for key in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
            payload.pop(key)
        payload["transactTime"] = order.created_ms
        payload["fills"] = _fills(order)
        return _json(payload)

    def _order_request(self, params: dict[str, str]) -> OrderRequest:
        symbol = self._symbol(params)
        order_type = params.get("type", "")
        tif = params.get("timeInForce", "") if order_type == "LIMIT" else ""
        kind_tif = _KINDS.get((order_type, tif))
        side = params.get("side", "").lower()
        if kind_tif is None or side not in ("buy", "sell"):
            raise VenueReject(RejectReason.BAD_PARAM, "type/side/timeInForce")
        price, amount, quote = (_dec(params.get(k)) for k in ("price", "quantity", "quoteOrderQty"))
        kind, time_in_force = kind_tif
        if kind == "market" and quote is not None and amount is None:
            pass  # a market order by quoteOrderQty spends (buy) or receives (sell) quote
        elif amount is None or (kind == "limit" and price is None):
            raise VenueReject(RejectReason.BAD_PARAM, "quantity/price")
        else:
            quote = None
        return OrderRequest(
            symbol=symbol,
            side=side,
            kind=kind,
            tif=time_in_force,
            price=price if kind == "limit" else None,
            amount=amount,
            quote_amount=quote,
            client_id=params.get("newClientOrderId", ""),
        )

    def _lookup(self, params: dict[str, str]) -> SimOrder:
        symbol = self._symbol(params)
        order_id = params.get("orderId", "")
        client_id = params.get("origClientOrderId", "")
        if not order_id and not client_id:
            raise VenueReject(RejectReason.BAD_PARAM, "orderId")
        order = self.state.find(order_id, client_id)
        if order.symbol != symbol:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order.id)
        return order

    async def get_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        return _json(_order_info(self._lookup(params)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        order = self.state.cancel(self._lookup(params), self.ctx.now_ms())
        info = _order_info(order)
        keys = ("symbol", "orderId", "orderListId", "clientOrderId", "price", "origQty")
        payload = {"origClientOrderId": order.client_id} | {k: info[k] for k in keys}
        payload["transactTime"] = order.updated_ms
        for key in ("executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status"):
            payload[key] = info[key]
        for key in ("timeInForce", "type", "side", "selfTradePreventionMode"):
            payload[key] = info[key]
        return _json(payload)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        return await self.ctx.hub.serve(request, self._on_text)

    async def _on_text(self, conn: WsConn, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        self.ctx.log.record(self.ctx.venue, "ws_in", frame=message)
        method = str(message.get("method", ""))
        streams = [str(s) for s in message.get("params", [])]
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not all(map(self._known, streams)):
            error = {"code": 2, "msg": f"Invalid request: unknown method or stream {streams}"}
            conn.send(json.dumps({"error": error, "id": message.get("id")}))
            return
        for stream in streams:
            if method == "SUBSCRIBE":
                conn.subscribe(stream)
            else:
                conn.topics.discard(stream)
        conn.send(json.dumps({"result": None, "id": message.get("id")}))

    def _known(self, stream: str) -> bool:
        match = DEPTH_STREAM.match(stream)
        return match is not None and match.group(1).upper() in self.by_id


def _dec(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise VenueReject(RejectReason.BAD_PARAM, text) from exc


def _symbol_info(spec: MarketSpec) -> dict[str, Any]:
    """One exchangeInfo symbol object, keys and filters as in the recorded BTCUSDT entry."""
    tick, step = num(spec.price_step), num(spec.amount_step)
    return {
        "symbol": native_id(spec.symbol),
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "1000000.00000000",
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(spec.min_amount),
                "maxQty": "9000000.00000000",
                "stepSize": step,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": num(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": ["SPOT"],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _status(order: SimOrder) -> str:
    # An IOC / FOK / market order's unfilled rest expires; only a resting order is canceled.
    if order.status is OrderStatus.CANCELED and order.tif in ("ioc", "fok"):
        return "EXPIRED"
    return _STATUS[order.status]


def _order_info(order: SimOrder) -> dict[str, Any]:
    """GET /api/v3/order answer, keys as in the recorded spot fetchOrder response."""
    order_type, tif = _NAMES[(order.kind, order.tif)]
    return {
        "symbol": native_id(order.symbol),
        "orderId": int(order.id),
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "price": num(order.price),
        "origQty": num(order.amount),
        "executedQty": num(order.filled),
        "cummulativeQuoteQty": num(order.cost),
        "status": _status(order),
        "timeInForce": tif or "GTC",
        "type": order_type,
        "side": order.side.upper(),
        "stopPrice": num(None),
        "icebergQty": num(None),
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": True,
        "workingTime": order.created_ms,
        "origQuoteOrderQty": num(order.quote_amount),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def _fills(order: SimOrder) -> list[dict[str, Any]]:
    """The FULL response's fills: one per order here, commission in the asset received."""
    if not order.filled:
        return []
    return [
        {
            "price": num(order.average),
            "qty": num(order.filled),
            "commission": num(order.fee),
            "commissionAsset": order.fee_currency,
            "tradeId": int(order.id),
        }
    ]


PROTOCOL = Protocol(
    venue="binance",
    port_offset=2,
    ws_path="/ws",
    first_order_id=28457392187,
    cadence_ms=100,
    taker_fee="0.001",
    maker_fee="0.001",
    build_app=build_app,
    push=push,
    topics=topics,
    native_id=native_id,
    aliases=(),
    fault_kinds=frozenset(),
)
