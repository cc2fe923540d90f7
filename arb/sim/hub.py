"""WebSocket connections of one simulated venue: per-connection outbox, topics, drops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

Frame = str | bytes


class WsConn:
    """One client connection; every frame goes through its outbox so order is kept."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        """Wrap an open WebSocket."""
        self.ws = ws
        self.request = request
        self.topics: set[str] = set()
        self.muted: set[str] = set()  # subscribed topics whose pushes are lost (mute_book)
        self.outbox: asyncio.Queue[Frame] = asyncio.Queue()

    def subscribe(self, topic: str) -> None:
        """Add a subscription; a fresh one is served even if the old one was muted."""
        self.topics.add(topic)
        self.muted.discard(topic)

    def send(self, frame: Frame) -> None:
        """Queue a frame for this connection."""
        self.outbox.put_nowait(frame)

    async def write_loop(self) -> None:
        """Write queued frames until the socket closes or the client is gone."""
        try:
            while not self.ws.closed:
                frame = await self.outbox.get()
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
        except ConnectionResetError:
            return  # dropped (a `drop_ws` fault or the client left) with frames still queued


TextHandler = Callable[[WsConn, str], Awaitable[None]]


class WsHub:
    """All WebSocket connections of one venue."""

    def __init__(self) -> None:
        """Start with no connections."""
        self.conns: set[WsConn] = set()

    def subscribers(self, topic: str) -> list[WsConn]:
        """Connections subscribed to `topic`."""
        return [c for c in self.conns if topic in c.topics and topic not in c.muted]

    def broadcast(self, topic: str, frame: Frame) -> int:
        """Queue `frame` to every subscriber of `topic`; return how many got it."""
        targets = self.subscribers(topic)
        for conn in targets:
            conn.send(frame)
        return len(targets)

    def mute(self, topics: set[str]) -> int:
        """Current subscriptions to `topics` get no more pushes; return how many went dead."""
        muted = 0
        for conn in self.conns:
            dead = (conn.topics & topics) - conn.muted
            conn.muted |= dead
            muted += len(dead)
        return muted

    def drop_all(self) -> int:
        """Abort every connection's transport, as a network drop would; return how many."""
        dropped = 0
        for conn in list(self.conns):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    async def serve(self, request: web.Request, on_text: TextHandler) -> web.WebSocketResponse:
        """Accept a WebSocket and feed its text frames to `on_text` until it closes."""
        # heartbeat None: the venues keep connections alive with their own JSON pings
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = WsConn(ws, request)
        self.conns.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await on_text(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def close_all(self) -> None:
        """Close every connection cleanly (simulator shutdown)."""
        for conn in list(self.conns):
            await conn.ws.close()
