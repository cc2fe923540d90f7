"""Depth-frame ingest (raw frame -> ccxt.pro's book) on real frames: our paths against stock ccxt.

Each path is a ccxt.pro instance with markets parsed from the recorded REST samples (no
network); frames go in where ccxt's WebSocket client hands them over
(`Client.handle_text_or_binary_message`: JSON parse for text, then `handle_message`). Frames
are the real samples with only their sequence ids moved on, one frame after the other, so
every one is applied (none is dropped as stale or cached).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import ccxt.pro
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2

from arb.venues import fast_apply
from arb.venues.integrity import BookState, guard_for
from arb.venues.mexc_decode import install
from bench.harness import ROOT, Row, Stat, interleaved
from bench.mexc_decode import frames as mexc_frames

BOOKS = ROOT / "tests" / "data" / "books"
SYMBOL = "BTC/USDT"
_REST = {
    "mexc": {"/api/v3/exchangeInfo": "mexc_exchangeInfo.json"},
    "gate": {
        "/api/v4/spot/currency_pairs": "gate_spot_currency_pairs.json",
        "/api/v4/margin/currency_pairs": "gate_margin_currency_pairs.json",
    },
}


def sample(name: str) -> dict[str, Any]:
    """One recorded sample file of tests/data/books."""
    loaded: dict[str, Any] = json.loads((BOOKS / name).read_text())
    return loaded


async def offline_exchange(ccxt_id: str) -> Any:
    """A ccxt.pro instance whose markets come from the recorded REST samples."""
    exchange = getattr(ccxt.pro, ccxt_id)({"enableRateLimit": False})
    exchange.fetch_markets = exchange.fetch_spot_markets
    exchange.has["fetchCurrencies"] = False
    bodies = {path: sample(name)["payload"] for path, name in _REST[ccxt_id].items()}

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        path = url.split("://", 1)[-1].split("?", 1)[0]
        path = "/" + path.split("/", 1)[1]
        if path not in bodies:
            raise AssertionError(f"bench: no recorded body for {method} {url}")
        return bodies[path]

    exchange.fetch = fetch
    await exchange.load_markets()
    return exchange


def client_of(exchange: Any) -> Any:
    """A ccxt WebSocket client of the instance (never connected): frames enter through it."""
    return exchange.client("ws://bench.invalid/ws")


# -- MEXC --------------------------------------------------------------------------------


def mexc_sequence(frame: bytes, count: int) -> tuple[int, list[bytes]]:
    """`count` copies of a real frame with fromVersion/toVersion moved on; the first id - 1."""
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    wrapper.ParseFromString(frame)
    depth = wrapper.publicAggreDepths
    first, last = int(depth.fromVersion), int(depth.toVersion)
    span = last - first + 1
    out = []
    for index in range(count):
        depth.fromVersion = str(first + index * span)
        depth.toVersion = str(last + index * span)
        out.append(bytes(wrapper.SerializeToString()))
    return first - 1, out


def seed_mexc(exchange: Any, nonce: int, *, guarded: bool) -> None:
    """Give the instance a book from the recorded REST depth, as the stream's resync does."""
    raw = sample("mexc_depth.json")["payload"]
    snapshot = exchange.parse_order_book(raw, SYMBOL, int(raw["timestamp"]))
    snapshot["nonce"] = nonce  # the REST sample is from another moment: align its id only
    stored = exchange.order_book()
    stored.reset(snapshot)
    exchange.orderbooks[SYMBOL] = stored
    if guarded:
        guard_for(exchange).books[SYMBOL] = BookState(
            venue="mexc",
            symbol=SYMBOL,
            clock=time.monotonic,
            seq=nonce,
            after_snapshot=True,
            valid=True,
            connected=True,
        )


def feeder(client: Any, frames: list[Any]) -> Callable[[], None]:
    """A zero-argument function that hands the next frame to ccxt's client."""
    stream: Iterator[Any] = iter(frames)
    handle = client.handle_text_or_binary_message

    def feed() -> None:
        handle(next(stream))

    return feed


async def mexc_rows(quick: bool) -> list[Row]:
    """Stock ccxt against arb's production path (install(): decoder + fast apply, integrity)."""
    samples, calls, warmup = (20, 10, 20) if quick else (300, 20, 200)
    rows = []
    named = mexc_frames()
    for name in ("real_push", "rest_levels", "rest_levels_deep"):
        nonce, frames = mexc_sequence(named[name], warmup + samples * calls)
        paths: dict[str, Any] = {}
        # "decoder": install() without a book stream, so only the decoder applies (the fast
        # apply path needs integrity's state); "production": what `arb scan` runs.
        for path in ("stock", "decoder", "production"):
            exchange = await offline_exchange("mexc")
            if path != "stock":
                install(exchange)
            seed_mexc(exchange, nonce, guarded=path == "production")
            paths[path] = exchange
        try:
            feeds = {p: feeder(client_of(e), frames) for p, e in paths.items()}
            production, stock = interleaved(
                feeds["production"],
                feeds["stock"],
                samples=samples,
                calls=calls,
                warmup=warmup,
                scale=1e6,
                unit="us",
            )
            # the decoder alone gets a fresh stock run beside it, on the next frames
            nonce2, frames2 = mexc_sequence(named[name], warmup + samples * calls)
            for p in ("stock", "decoder"):
                seed_mexc(paths[p], nonce2, guarded=False)
            feeds2 = {p: feeder(client_of(paths[p]), frames2) for p in ("stock", "decoder")}
            decoder, stock2 = interleaved(
                feeds2["decoder"],
                feeds2["stock"],
                samples=samples,
                calls=calls,
                warmup=warmup,
                scale=1e6,
                unit="us",
            )
            _check_applied(paths, frames[-1], frames2[-1])
        finally:
            for exchange in paths.values():
                await exchange.close()
        size = f"{len(named[name])} B"
        rows.append(
            _mexc_row(
                f"MEXC ingest, {name} ({size}): install() + integrity (production)",
                production,
                stock,
                True,
            )
        )
        rows.append(_mexc_row(f"MEXC ingest, {name}: decoder only", decoder, stock2, False))
    return rows


async def mexc_path(*, count: int) -> tuple[Callable[[], None], Any]:
    """A mexc instance on the production path with a seeded book, and a feeder of `count`
    real pushes after it."""
    nonce, frames = mexc_sequence(mexc_frames()["real_push"], count)
    exchange = await offline_exchange("mexc")
    install(exchange)
    seed_mexc(exchange, nonce, guarded=True)
    return feeder(client_of(exchange), frames), exchange


def _mexc_row(operation: str, ours: Stat, stock: Stat, judged: bool) -> Row:
    speedup = stock.median / ours.median
    return Row(
        operation=operation,
        ours=ours,
        baseline=stock,
        ratio=round(speedup, 2),
        ratio_means="frames/s ours / stock",
        target=">= 3x" if judged else "(info: install() before any book stream)",
        passed=speedup >= 3 if judged else None,
        notes="per frame: decode + gap check + apply to ccxt's book" if judged else "per frame",
    )


def _check_applied(paths: dict[str, Any], last: bytes, last2: bytes) -> None:
    """Every path applied its last frame: the same book and the frame's toVersion as nonce."""
    books = {p: e.orderbooks[SYMBOL] for p, e in paths.items()}
    top = {p: (b["bids"][:3], b["asks"][:3]) for p, b in books.items()}
    if len({json.dumps(t) for t in top.values()}) != 1:
        raise AssertionError(f"bench: the paths built different books: {top}")
    # Without integrity's hooks ccxt keeps each delta's fromVersion as the nonce.
    for path, frame, field in (
        ("production", last, "toVersion"),
        ("decoder", last2, "fromVersion"),
        ("stock", last2, "fromVersion"),
    ):
        wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
        wrapper.ParseFromString(frame)
        if books[path]["nonce"] != int(getattr(wrapper.publicAggreDepths, field)):
            raise AssertionError(f"bench: {path} stopped at {books[path]['nonce']}")


# -- Gate ----------------------------------------------------------------------------------


def gate_sequence(count: int) -> tuple[str, list[str]]:
    """The real full snapshot and `count` copies of the real delta with U/u moved on."""
    frames = sample("gate_ws_spot_obu.json")["frames"]
    full = frames["server_full_snapshot"]
    delta = json.loads(json.dumps(frames["server_incremental"]))
    first, last = delta["result"]["U"], delta["result"]["u"]
    span = last - first + 1
    start = full["result"]["u"] + 1
    out = []
    for index in range(count):
        delta["result"]["U"] = start + index * span
        delta["result"]["u"] = start + index * span + span - 1
        out.append(json.dumps(delta, separators=(",", ":")))
    return json.dumps(full, separators=(",", ":")), out


async def gate_path(*, guarded: bool, count: int) -> tuple[Callable[[], None], Any]:
    """A gate instance fed the real full snapshot, and a feeder of `count` deltas after it."""
    full, deltas = gate_sequence(count)
    exchange = await offline_exchange("gate")
    if guarded:
        guard_for(exchange).books[SYMBOL] = BookState(
            venue="gateio", symbol=SYMBOL, clock=time.monotonic, connected=True
        )
        fast_apply.install(exchange)  # as watch_books does for Gate
    client = client_of(exchange)
    client.handle_text_or_binary_message(full)
    return feeder(client, deltas), exchange


async def gate_rows(quick: bool) -> list[Row]:
    """Stock ccxt.pro gate against arb's production path (integrity hooks + fast apply)."""
    samples, calls, warmup = (20, 10, 20) if quick else (300, 20, 200)
    count = warmup + samples * calls
    _, deltas = gate_sequence(count)
    feeds, paths = {}, {}
    for path in ("stock", "guarded"):
        feeds[path], paths[path] = await gate_path(guarded=path == "guarded", count=count)
    try:
        guarded, stock = interleaved(
            feeds["guarded"],
            feeds["stock"],
            samples=samples,
            calls=calls,
            warmup=warmup,
            scale=1e6,
            unit="us",
        )
        nonces = {p: e.orderbooks[SYMBOL]["nonce"] for p, e in paths.items()}
        state = guard_for(paths["guarded"]).books[SYMBOL]
    finally:
        for exchange in paths.values():
            await exchange.close()
    last_u = json.loads(deltas[-1])["result"]["u"]
    applied = state.updates == len(deltas) + 1 and set(nonces.values()) == {last_u}
    if not applied:
        raise AssertionError(f"bench: Gate deltas not all applied: {nonces}, {state.updates}")
    relative = stock.median / guarded.median
    return [
        Row(
            operation="Gate spot.obu delta ingest + integrity hooks (production: fast apply)",
            ours=guarded,
            baseline=stock,
            ratio=round(relative, 3),
            ratio_means="frames/s ours / stock",
            target=">= 0.9x",
            passed=relative >= 0.9,
            notes="per frame: JSON parse + gap check + apply",
            details={"deltas_applied": state.updates - 1, "last_u": last_u},
        )
    ]
