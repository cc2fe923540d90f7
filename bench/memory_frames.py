"""Prepares the memory benchmark's input in the parent process and runs the measured child.

The simulator's random walk (a 300-symbol copy of the default scenario, see bench.universe)
builds the books; they are written as the venues' real frame shapes: Gate a spot.obu full
snapshot of 50 levels then deltas, MEXC a REST depth snapshot of 100 levels (what the
stream's resync fetches) then binary aggre.depth deltas, encoded as the simulator encodes
them. The REST bodies for market loading are the simulator's own.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2

from arb.sim import gate as sim_gate
from arb.sim import mexc as sim_mexc
from arb.sim.book import BookDelta, SimBook
from arb.sim.http import fmt
from arb.sim.scenario import Scenario
from arb.sim.venue import VenueState
from arb.sim.walk import Walk
from bench.harness import ROOT, Row, Stat
from bench.universe import scenario

VENUES = ("mexc", "gateio")
GATE_LEVELS = 50  # spot.obu level 50: what arb subscribes to at depth <= 50
MEXC_LEVELS = 100  # MEXC's REST snapshot without a limit
TARGET_MB = 250


def rest_bodies(world: Scenario) -> dict[str, dict[str, Any]]:
    """The simulator's REST bodies for the scenario's markets, by venue and path."""
    # The simulator builds these inside its request handlers from these module-private
    # entry builders; calling them directly keeps every socket closed.
    mexc_symbols = [sim_mexc._symbol_info(m) for m in world.venue_markets("mexc")]
    gate_pairs = [sim_gate._pair(m) for m in world.venue_markets("gateio")]
    return {
        "mexc": {
            "/api/v3/exchangeInfo": {
                "timezone": "CST",
                "serverTime": int(time.time() * 1000),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": mexc_symbols,
            },
            "/api/v1/contract/detail": {"success": True, "code": 0, "data": []},
        },
        "gateio": {
            "/api/v4/spot/currency_pairs": gate_pairs,
            "/api/v4/margin/currency_pairs": [],
        },
    }


def mexc_frame(delta: BookDelta) -> bytes:
    """A delta as MEXC's binary aggre.depth push, encoded as the simulator does."""
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    native = sim_mexc.native_id(delta.symbol)
    wrapper.channel = f"spot@public.aggre.depth.v3.api.pb@100ms@{native}"
    wrapper.symbol = native
    wrapper.sendTime = int(time.time() * 1000)
    body = wrapper.publicAggreDepths
    for price, amount in delta.asks:
        body.asks.add(price=fmt(price), quantity=fmt(amount))
    for price, amount in delta.bids:
        body.bids.add(price=fmt(price), quantity=fmt(amount))
    body.eventType = "spot@public.aggre.depth.v3.api.pb@100ms"
    body.fromVersion = str(delta.first)
    body.toVersion = str(delta.last)
    return bytes(wrapper.SerializeToString())


def gate_frame(symbol: str, book: SimBook, delta: BookDelta | None) -> str:
    """A full spot.obu snapshot (delta None) or a delta, as the simulator sends them."""
    now = int(time.time() * 1000)
    topic = f"ob.{sim_gate.native_id(symbol)}.{GATE_LEVELS}"
    if delta is None:
        bids, asks = book.top(GATE_LEVELS)
        result: dict[str, Any] = {"t": now, "full": True, "s": topic, "u": book.version}
    else:
        bids, asks = delta.bids, delta.asks
        result = {"t": now, "s": topic, "U": delta.first, "u": delta.last}
    result["b"] = [[fmt(p), fmt(a)] for p, a in bids]
    result["a"] = [[fmt(p), fmt(a)] for p, a in asks]
    return json.dumps({"channel": "spot.obu", "result": result, "time_ms": now})


def mexc_snapshot(book: SimBook) -> dict[str, Any]:
    """GET /api/v3/depth's body for the book (recorded shape: lastUpdateId, bids, asks)."""
    bids, asks = book.top(MEXC_LEVELS)
    return {
        "lastUpdateId": book.version,
        "bids": [[fmt(p), fmt(a)] for p, a in bids],
        "asks": [[fmt(p), fmt(a)] for p, a in asks],
        "timestamp": int(time.time() * 1000),
    }


def prepare(path: Path, symbols: int, steps: int) -> int:
    """Write the header and every frame of `steps` walk steps to `path`; return frames."""
    world = scenario(symbols, levels=MEXC_LEVELS)
    assert world.walk is not None
    states = {v: VenueState(v, world, 1) for v in VENUES}
    walk = Walk(world.walk, states)
    walk.step(0)
    names = [m.symbol for m in world.venue_markets("mexc")]
    frames = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"bodies": rest_bodies(world), "symbols": names}) + "\n")
        for venue in VENUES:
            for symbol in names:
                book = states[venue].books[symbol]
                book.flush()
                item: list[Any]
                if venue == "gateio":
                    item = [venue, symbol, "text", gate_frame(symbol, book, None)]
                else:
                    item = [venue, symbol, "snapshot", mexc_snapshot(book)]
                out.write(json.dumps(item) + "\n")
        for step in range(1, steps + 1):
            walk.step(step * world.walk.interval_ms)
            for venue in VENUES:
                for symbol in names:
                    book = states[venue].books[symbol]
                    delta = book.flush()
                    if delta is None:
                        continue
                    if venue == "mexc":
                        data = base64.b64encode(mexc_frame(delta)).decode()
                        item = [venue, symbol, "binary", data]
                    else:
                        item = [venue, symbol, "text", gate_frame(symbol, book, delta)]
                    out.write(json.dumps(item) + "\n")
                    frames += 1
    return frames


def measure(symbols: int, steps: int) -> dict[str, Any]:
    """Prepare the frames, run `python -m bench.memory` on them, return its report."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frames.jsonl"
        started = time.perf_counter()
        prepare(path, symbols, steps)
        prepared_s = time.perf_counter() - started
        done = subprocess.run(  # noqa: S603 - our own interpreter on our own module
            [sys.executable, "-m", "bench.memory", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"bench.memory failed:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["prepare_s"] = round(prepared_s, 1)
    return report


def run(quick: bool = False) -> list[Row]:
    """300 symbols (quick: 10) on two venues; the target is on the final RSS."""
    symbols, steps = (10, 2) if quick else (300, 5)
    report = measure(symbols, steps)
    final = report["rss_final_mb"]
    imports = report["rss_mb"]["after_imports"]
    return [
        Row(
            operation=f"memory: {symbols} symbols x 2 venues (books, detector, markets)",
            ours=Stat(final, report["peak_rss_mb"], "MB RSS", 1),
            baseline=Stat(imports, imports, "MB RSS", 1),
            ratio=None,
            ratio_means="",
            target=f"< {TARGET_MB} MB RSS",
            passed=final < TARGET_MB,
            notes="ours: final RSS (p99 column: peak); baseline column: RSS after imports",
            details=report,
        )
    ]
