"""A loopback HTTP venue for adapter tests: serves cassette payloads and logs arrivals."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from aiohttp import web
from venue_vcr import CASSETTES


@dataclass
class Arrival:
    """One request as the server saw it, stamped on arrival with the monotonic clock."""

    at: float
    method: str
    path: str
    query: dict[str, str]
    body: str


@dataclass
class Reply:
    """What the server answers to one (method, path): statuses are used up in order."""

    body: str
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0


def cassette_replies(*names: str) -> dict[tuple[str, str], Reply]:
    """The responses of the named cassettes (e.g. "mexc/balance"), keyed by method and path."""
    replies: dict[tuple[str, str], Reply] = {}
    for name in names:
        doc: dict[str, Any] = yaml.safe_load(Path(CASSETTES, f"{name}.yaml").read_text())
        for interaction in doc["interactions"]:
            request = interaction["request"]
            key = (request["method"], urlsplit(request["uri"]).path)
            replies[key] = Reply(body=interaction["response"]["body"]["string"])
    return replies


class LoopbackVenue:
    """An aiohttp server on 127.0.0.1 answering from `replies` and recording every arrival."""

    def __init__(self, replies: dict[tuple[str, str], Reply]) -> None:
        self.replies = replies
        self.arrivals: list[Arrival] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        arrival = Arrival(
            at=time.monotonic(),
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=await request.text(),
        )
        self.arrivals.append(arrival)
        reply = self.replies.get((request.method, request.path))
        if reply is None:
            return web.Response(status=404, text='{"message":"not in this test"}')
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        status = reply.statuses.pop(0) if reply.statuses else 200
        if status != 200:
            return web.Response(status=status, text="Bad Gateway")
        return web.Response(text=reply.body, content_type="application/json")

    async def __aenter__(self) -> LoopbackVenue:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def received(self, method: str, path: str) -> list[Arrival]:
        """The arrivals of one method and path, in order."""
        return [a for a in self.arrivals if a.method == method and a.path == path]
