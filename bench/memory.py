"""Memory with 300 symbols on two venues: ccxt.pro books, detector state, markets; no network.

This module is the measured process (`python -m bench.memory FRAMES.json`): it imports only
what `arb scan` imports, builds both venues as arb `Venue`s (the production ccxt.pro
instances, MEXC's fast decoder installed) with markets parsed from the simulator's REST
bodies, then feeds every prepared frame through ccxt's WebSocket client with the integrity
hooks installed, copying each update to an OrderBook (depth 20) for one Detector. The frames
are prepared in the parent process by `bench.memory_frames`, so the simulator's own state is
not counted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.config import VenueSettings
from arb.domain.book import OrderBook
from arb.domain.symbols import SymbolTable
from arb.scan.detector import Detector, Limits
from arb.venues.adapter import Venue
from arb.venues.integrity import BookState, guard_for

VENUES = ("mexc", "gateio")
DEPTH = 20


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _offline(exchange: Any, bodies: dict[str, Any]) -> None:
    """Answer ccxt's REST calls from `bodies` (by path) instead of the network."""

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        path = "/" + url.split("://", 1)[-1].split("?", 1)[0].split("/", 1)[1]
        if path not in bodies:
            raise AssertionError(f"bench: no body for {method} {url}")
        return bodies[path]

    exchange.fetch = fetch


def _copy(venue: str, symbol: str, stored: Any) -> OrderBook:
    """What the book stream hands the detector: top levels copied to tuples."""
    return OrderBook(
        venue=venue,
        symbol=symbol,
        bids=tuple((float(p), float(a)) for p, a in stored["bids"][:DEPTH]),
        asks=tuple((float(p), float(a)) for p, a in stored["asks"][:DEPTH]),
        timestamp=int(time.time() * 1000),
        nonce=stored["nonce"],
        received_at=time.monotonic(),
    )


def _seed_mexc(exchange: Any, state: BookState, raw: dict[str, Any]) -> None:
    """Seed ccxt's MEXC book from a REST snapshot, as the stream's resync does."""
    snapshot = exchange.parse_order_book(raw, state.symbol, raw["timestamp"])
    snapshot["nonce"] = raw["lastUpdateId"]
    stored = exchange.order_book()
    stored.reset(snapshot)
    exchange.orderbooks[state.symbol] = stored
    state.seq = raw["lastUpdateId"]
    state.after_snapshot = True
    state.valid = True


async def build(path: Path) -> dict[str, Any]:
    """Load markets, seed and stream every book, feed the detector; RSS at each stage.

    `path` holds JSON lines: a header (REST bodies, symbols), then one frame per line, read
    one at a time so the prepared frames never sit in memory together.
    """
    stages = {"after_imports": rss_mb()[0]}
    lines = path.open(encoding="utf-8")
    prepared = json.loads(lines.readline())
    venues = {v: Venue(VenueSettings(id=v)) for v in VENUES}
    exchanges = {v: venue._exchange for v, venue in venues.items()}
    names: list[str] = prepared["symbols"]
    try:
        for venue_id, exchange in exchanges.items():
            _offline(exchange, prepared["bodies"][venue_id])
        stages["venues_built"] = rss_mb()[0]
        infos = [m for venue in venues.values() for m in await venue.load_markets()]
        table = SymbolTable(infos)
        stages["markets_loaded"] = rss_mb()[0]
        clients = {v: e.client(f"ws://bench.invalid/{v}") for v, e in exchanges.items()}
        states = {
            (v, s): BookState(v, s, time.monotonic, connected=True) for v in VENUES for s in names
        }
        for (venue_id, symbol), state in states.items():
            guard_for(exchanges[venue_id]).books[symbol] = state
        markets = {
            s: {v: m for v in VENUES if (m := table.get_market(v, s)) is not None} for s in names
        }
        detector = Detector(
            markets,
            Limits(Decimal(100), Decimal("0.5"), Decimal(0)),
            60_000,
            mono=time.monotonic,
            wall_ms=lambda: time.time_ns() // 10**6,
        )
        frames = 0
        del prepared
        for line in lines:
            venue_id, symbol, kind, data = json.loads(line)
            exchange = exchanges[venue_id]
            if kind == "snapshot":
                _seed_mexc(exchange, states[(venue_id, symbol)], data)
                continue
            frame = base64.b64decode(data) if kind == "binary" else data
            clients[venue_id].handle_text_or_binary_message(frame)
            frames += 1
            stored = exchange.orderbooks[symbol]
            detector.on_book(_copy(venue_id, symbol, stored), time.time_ns() // 10**6)
        stages["books_and_detector"] = rss_mb()[0]
        levels = {
            v: sum(len(e.orderbooks[s]["bids"]) + len(e.orderbooks[s]["asks"]) for s in names)
            for v, e in exchanges.items()
        }
        applied = {v: sum(states[(v, s)].updates for s in names) for v in VENUES}
    finally:
        lines.close()
        for venue in venues.values():
            await venue.close()
    current, peak = rss_mb()
    return {
        "symbols": len(names),
        "frames_fed": frames,
        "updates_applied": applied,
        "levels_held": levels,
        "detector_books": sum(
            1 for v in VENUES for s in names if detector.usable_book(v, s, time.monotonic())
        ),
        "rss_mb": {k: round(v, 1) for k, v in stages.items()},
        "rss_final_mb": round(current, 1),
        "peak_rss_mb": round(peak, 1),
    }


def main(argv: list[str]) -> int:
    """`python -m bench.memory FRAMES.json`: print the report as JSON on stdout."""
    report = asyncio.run(build(Path(argv[0])))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
