"""The HTTP status server (aiohttp): /health, /metrics, /api/status and the status page at /.

Off unless `status.listen` is set. With `status.token` every data endpoint wants
`Authorization: Bearer <token>`; the page itself carries no data, so it is served to anyone
and sends the token it is given after `#token=` in its address.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from ipaddress import ip_address

from aiohttp import web
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST

from arb.config import Secret
from arb.errors import ArbError
from arb.ops.metrics import Metrics
from arb.ops.page import PAGE
from arb.ops.status import Sources, health, status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = frozenset({"/"})


def build_app(src: Sources, metrics: Metrics, token: Secret | None) -> web.Application:
    """The status application; `token` (when set) guards every endpoint but the page."""

    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None and request.path not in PUBLIC:
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {token.reveal()}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return web.json_response({"error": "bearer token required"}, status=401)
        return await handler(request)

    async def get_health(_: web.Request) -> web.Response:
        ok, body = health(src)
        return web.json_response(body, status=200 if ok else 503)

    async def get_metrics(_: web.Request) -> web.Response:
        # Collected on the event loop, where the counters are written: a consistent view.
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def get_status(_: web.Request) -> web.Response:
        return web.json_response(await status(src), headers={"Cache-Control": "no-store"})

    async def get_page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application(middlewares=[bearer])
    app.router.add_get("/", get_page)
    app.router.add_get("/health", get_health)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/api/status", get_status)
    return app


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@asynccontextmanager
async def serve(
    app: web.Application, host: str, port: int, token: Secret | None
) -> AsyncIterator[str]:
    """Serve `app` on host:port until the block ends; yields its base URL."""
    if not is_loopback(host) and token is None:
        logger.warning(
            "status server on {} without status.token: anyone who can reach it sees it", host
        )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            why = exc.strerror or exc
            raise ArbError(f"status server cannot listen on {host}:{port}: {why}") from None
        url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
        logger.info("status server on {} (health, metrics, status page)", url)
        yield url
    finally:
        await runner.cleanup()
