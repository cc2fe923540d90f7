"""Recording tap on a ccxt.pro instance: every raw frame, REST book answer and market list it gets.

`arb record` attaches it to each instance a `Venue` builds; `arb.venues.playback` feeds what
it saw back through the same instance methods, so a replay runs ccxt's real decode and
our integrity hooks on exactly the bytes that arrived.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arb.venues.profiles import profile_for_ccxt


@dataclass(frozen=True, slots=True)
class Tapped:
    """One thing an instance received: a WebSocket frame, a REST book answer or its markets."""

    t_ns: int  # monotonic receive time
    wall_ms: int  # wall clock at receipt
    kind: str  # "ws", "rest" or "markets"
    where: str  # the WebSocket URL, or the REST call's name
    payload: str | bytes  # frame text or bytes (MEXC protobuf), or JSON text
    params: str | None = None  # the REST call's parameters (JSON text)


Sink = Callable[[Tapped], None]


def _now() -> tuple[int, int]:
    return time.monotonic_ns(), time.time_ns() // 1_000_000


def tap(exchange: Any, sink: Sink) -> None:
    """Hand `sink` everything `exchange` receives from now on (before it is handled)."""
    make_client = exchange.client

    def client(url: str) -> Any:
        made = make_client(url)
        if not getattr(made, "_arb_tap", False):
            handle = made.handle_text_or_binary_message

            # After ccxt's decompression, before its JSON parse: exactly what replay hands
            # back to the same method.
            def handle_text_or_binary_message(data: Any) -> None:
                t_ns, wall = _now()
                sink(Tapped(t_ns, wall, "ws", url, bytes(data) if _binary(data) else data))
                handle(data)

            made.handle_text_or_binary_message = handle_text_or_binary_message
            made._arb_tap = True
        return made

    exchange.client = client
    _tap_markets(exchange, sink)
    # The raw REST call behind the venue's book snapshots: its answer is recorded as the venue
    # sent it (JSON-decoded by ccxt), and replay hands it back to ccxt's own parser.
    profile = profile_for_ccxt(exchange.id)
    if profile is not None and profile.books is not None and profile.books.snapshot_call:
        _tap_rest(exchange, profile.books.snapshot_call, sink)


def _binary(data: Any) -> bool:
    return isinstance(data, bytes | bytearray)


def _tap_markets(exchange: Any, sink: Sink) -> None:
    set_markets = exchange.set_markets

    def tapped(markets: Any, currencies: Any = None) -> Any:
        result = set_markets(markets, currencies)
        # ccxt's own market dicts, without the venue's raw `info` (replay does not read it
        # and it is most of the size).
        kept = [{k: v for k, v in m.items() if k != "info"} for m in exchange.markets.values()]
        t_ns, wall = _now()
        sink(Tapped(t_ns, wall, "markets", exchange.id, json.dumps(kept, default=str)))
        return result

    exchange.set_markets = tapped


def _tap_rest(exchange: Any, name: str, sink: Sink) -> None:
    call = getattr(exchange, name)

    async def tapped(params: Any = None) -> Any:
        response = await call(params or {})
        t_ns, wall = _now()
        sink(Tapped(t_ns, wall, "rest", name, json.dumps(response), json.dumps(params or {})))
        return response

    setattr(exchange, name, tapped)
