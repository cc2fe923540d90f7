"""The HTTP layer every simulated venue shares: request log, delay, outage and 429 faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from arb.sim.context import VenueContext
from arb.sim.reqlog import redact
from arb.sim.scenario import FaultKind
from arb.sim.venue import VenueReject

Handler = Callable[[web.Request], Any]
ErrorRenderer = Callable[[VenueReject], web.Response]


def fmt(value: Decimal | None) -> str:
    """A Decimal as venues print it: plain notation, no exponent, no trailing zeros."""
    if value is None:
        return "0"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def json_response(payload: Any, status: int = 200) -> web.Response:
    """A JSON answer with the content type both venues send."""
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


def middleware(
    ctx: VenueContext, on_reject: ErrorRenderer, rate_limited: Callable[[], web.Response]
) -> Any:
    """Log every request, apply delay and 429 faults, render VenueReject in the venue's shape."""

    @web.middleware
    async def handle(request: web.Request, handler: Handler) -> web.StreamResponse:
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        body = "" if upgrade else await request.text()
        entry = ctx.log.record(
            ctx.venue,
            "ws_connect" if upgrade else "http",
            method=request.method,
            path=request.path,
            query=redact(request.rel_url.raw_query_string),
            body=redact(body),  # Binance signs form bodies: the signature is in there
        )
        if ctx.faults.down():
            # A venue in maintenance, or its gateway with nothing behind it: no payload.
            entry["fault"] = "outage"
            entry["status"] = 503
            return web.Response(status=503, text="503 Service Temporarily Unavailable")
        if upgrade:
            response: web.StreamResponse = await handler(request)
            return response
        delay = ctx.faults.delay_ms()
        if delay:
            entry["fault"] = "delay"
            await asyncio.sleep(delay / 1000)
        if ctx.faults.take(FaultKind.HTTP_429) is not None:
            entry["fault"] = "http_429"
            response = rate_limited()
        else:
            try:
                response = await handler(request)
            except VenueReject as reject:
                entry["reject"] = str(reject.reason)
                response = on_reject(reject)
        entry["status"] = response.status
        return response

    return handle
