"""The fast MEXC and Gate apply paths build exactly the book ccxt + arb's integrity hooks build."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ccxt.pro
from ccxt.base.exchange import Exchange
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arb.venues import fast_apply
from arb.venues.fast_apply import _iso8601
from arb.venues.integrity import BookState, guard_for, message_hash
from arb.venues.mexc import seed as _seed_mexc
from arb.venues.mexc_decode import install

DATA = Path(__file__).parent.parent / "data"
SYMBOL = "BTC/USDT"
KEY = message_hash(SYMBOL)
URL = "ws://127.0.0.1:9/ws"  # never connected: frames are handed to the client directly


def _json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


_DERIVED = _json(DATA / "mexc" / "ws_aggre_depth_derived.json")
# Real-shaped frames: the recorded push, frames re-encoded from real REST levels, and the
# recorded synced sequence. Tests change their sequence ids only.
TEMPLATES = [
    base64.b64decode(_json(DATA / "books" / "mexc_ws_aggre_depth_pb.json")["wire_base64"]),
    *(base64.b64decode(f["wire_base64"]) for f in _DERIVED["frames"].values()),
    *(base64.b64decode(w) for w in _DERIVED["synced_sequence"]["wire_base64"]),
]
SNAPSHOT = _json(DATA / "books" / "mexc_depth.json")["payload"]
REST = {
    "/exchangeInfo": _json(DATA / "books" / "mexc_exchangeInfo.json")["payload"],
    "/spot/currency_pairs": _json(DATA / "books" / "gate_spot_currency_pairs.json")["payload"],
    "/margin/currency_pairs": _json(DATA / "books" / "gate_margin_currency_pairs.json")["payload"],
}
GATE = _json(DATA / "books" / "gate_ws_spot_obu.json")["frames"]


class Clock:
    """A monotonic clock that ticks once per reading, so both paths see the same times."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@dataclass
class Path_:
    """One ccxt.pro mexc instance (stock or fast) with arb's integrity hooks and a client."""

    exchange: Any
    client: Any
    clock: Clock = field(default_factory=Clock)
    fallbacks: int = 0  # frames the fast path handed back to ccxt and integrity's hooks


async def make_path(*, fast: bool, venue: str = "mexc") -> Path_:
    """An instance with the recorded markets and integrity's hooks; `fast`: arb's fast path.

    MEXC's comes with the decoder (mexc_decode.install), Gate's with watch_books.
    """
    exchange = getattr(ccxt.pro, venue)({"enableRateLimit": False})
    exchange.timeout_on_exit = 0  # close() would sleep 250 ms; nothing was ever connected
    exchange.fetch_markets = exchange.fetch_spot_markets
    exchange.has["fetchCurrencies"] = False

    async def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        return next(body for path, body in REST.items() if path in url.split("?", maxsplit=1)[0])

    exchange.fetch = fetch
    await exchange.load_markets()
    if fast and venue == "mexc":
        install(exchange)
    guard_for(exchange)
    if fast and venue == "gate":
        fast_apply.install(exchange)
    path = Path_(exchange, exchange.client(URL))
    # MEXC's generic protobuf dispatch, Gate's integrity-wrapped handler: the slow path
    name = "handle_protobuf_message" if venue == "mexc" else "handle_order_book"
    generic = getattr(exchange, name)

    def counted(client: Any, message: Any) -> Any:
        path.fallbacks += 1
        return generic(client, message)

    setattr(exchange, name, counted)
    return path


def start(path: Path_, nonce: int | None) -> BookState:
    """Stream the book: ready at `nonce` from the REST sample, or not ready when None."""
    state = BookState(venue=path.exchange.id, symbol=SYMBOL, clock=path.clock)
    guard_for(path.exchange).books[SYMBOL] = state
    path.exchange.orderbooks.pop(SYMBOL, None)
    if nonce is not None:
        assert _seed_mexc(path.exchange, state, snapshot(path.exchange, nonce), state.epoch)
        state.valid = True
    return state


def snapshot(exchange: Any, nonce: int) -> Any:
    """ccxt's parse of the real REST depth sample, with its id moved to `nonce`."""
    parsed = exchange.parse_order_book(SNAPSHOT, SYMBOL, int(SNAPSHOT["timestamp"]))
    parsed["nonce"] = nonce
    return parsed


def frame(
    template: bytes,
    first: int,
    end: int,
    *,
    levels: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = None,
    send_time: int | None = -1,
) -> bytes:
    """`template` with its versions set; optionally its levels and sendTime (None: unset)."""
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    wrapper.ParseFromString(template)
    depth = wrapper.publicAggreDepths
    depth.fromVersion, depth.toVersion = str(first), str(end)
    if levels is not None:
        for side, pairs in zip((depth.asks, depth.bids), levels, strict=True):
            del side[:]
            for price, quantity in pairs:
                side.add(price=price, quantity=quantity)
    if send_time is None:
        wrapper.ClearField("sendTime")
    elif send_time >= 0:
        wrapper.sendTime = send_time
    return bytes(wrapper.SerializeToString())


def feed(path: Path_, data: bytes | str) -> str:
    """Hand a frame to ccxt's client; what a watcher waiting on the book got from it."""
    waiter = path.client.future(KEY)
    path.client.handle_text_or_binary_message(data)
    if not waiter.done():
        return "waiting"
    error = waiter.exception()
    if error is not None:
        return f"{type(error).__name__}: {error}"
    stored = path.exchange.orderbooks.get(SYMBOL)
    return "book" if waiter.result() is stored else "another object"


def view(path: Path_) -> dict[str, Any]:
    """Everything both paths must agree on: ccxt's book and arb's state of it."""
    state = guard_for(path.exchange).books[SYMBOL]
    stored = path.exchange.orderbooks.get(SYMBOL)
    book = None
    if stored is not None:
        book = {
            "asks": [list(level) for level in stored["asks"]],
            "bids": [list(level) for level in stored["bids"]],
            "nonce": stored["nonce"],
            "timestamp": stored["timestamp"],
            "datetime": stored["datetime"],
            "cache": json.dumps(stored.cache),
        }
    # Every field of arb's state, so a field integrity adds is compared too.
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    fields.pop("clock")
    client = fields.pop("client")
    return {"book": book, "own_client": client is path.client, **fields}


def same_on_both(paths: tuple[Path_, Path_], frames: list[bytes] | list[str]) -> None:
    """Feed `frames` to the stock and the fast path, comparing after every frame."""
    stock, fast = paths
    for number, data in enumerate(frames):
        woke = feed(stock, data), feed(fast, data)
        assert woke[1] == woke[0], f"frame {number}"
        assert view(fast) == view(stock), f"frame {number}"


def in_order(start_id: int, templates: list[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """Each template once, their versions moved on so every frame follows the previous one."""
    first = start_id
    for template in templates:
        wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
        wrapper.ParseFromString(template)
        depth = wrapper.publicAggreDepths
        span = int(depth.toVersion) - int(depth.fromVersion) + 1
        yield first, first + span - 1, template
        first += span


async def test_real_frames_build_the_same_book_as_ccxt_with_integrity() -> None:
    paths = await make_path(fast=False), await make_path(fast=True)
    try:
        for path in paths:
            start(path, None)  # not ready: deltas are cached until the snapshot
        steps = list(in_order(1_000, TEMPLATES * 3))
        cached = [frame(t, a, b) for a, b, t in steps[:2]]
        same_on_both(paths, cached)
        # The REST snapshot lands inside the cache: the second delta is applied on top.
        for path in paths:
            state = guard_for(path.exchange).books[SYMBOL]
            state.pending = None
            assert _seed_mexc(path.exchange, state, snapshot(path.exchange, steps[0][1]), 0)
        assert view(paths[1]) == view(paths[0])
        fallbacks = paths[1].fallbacks
        ready, resent = [], 0
        for n, (first, end, template) in enumerate(steps[2:]):
            ready.append(frame(template, first, end))
            if n % 3 == 2:
                ready.append(ready[-2])  # a resent frame: stale, dropped by both
                resent += 1
        same_on_both(paths, ready)
        # Every in-order frame took the fast path; integrity's hook judged the stale ones.
        assert paths[1].fallbacks == fallbacks + resent
        last = steps[-1][1]
        after_gap = [
            frame(TEMPLATES[0], last + 5, last + 9),
            frame(TEMPLATES[1], last + 10, last + 10),
        ]
        same_on_both(paths, after_gap)
        assert guard_for(paths[1].exchange).books[SYMBOL].resyncs == 1
    finally:
        for path in paths:
            await path.exchange.close()
    book = paths[1].exchange.orderbooks[SYMBOL]
    # The gap reset the book; the frame after it starts the cache the next snapshot aligns with.
    assert book["nonce"] is None
    assert [delta["fromVersion"] for delta in book.cache] == [str(last + 5), str(last + 10)]


async def test_snapshot_id_inside_the_first_delta_applies_it_on_both() -> None:
    # After a REST snapshot a delta may start before it (MEXC's snapshot id falls inside
    # the delta's range); levels are absolute, so both paths re-apply the overlap.
    paths = await make_path(fast=False), await make_path(fast=True)
    try:
        for path in paths:
            start(path, 2_000)
        same_on_both(paths, [frame(TEMPLATES[1], 1_990, 2_010), frame(TEMPLATES[2], 2_011, 2_011)])
    finally:
        for path in paths:
            await path.exchange.close()
    assert paths[1].fallbacks == 0
    assert paths[1].exchange.orderbooks[SYMBOL]["nonce"] == 2_011


# Prices from the real samples (so deltas hit existing levels) and a few between them.
_PRICES = sorted(
    {level[0] for level in SNAPSHOT["bids"] + SNAPSHOT["asks"]}
    | {"117053.41", "117145.49", "40838.6", "45995.475", "0.01"}
)
_QUANTITIES = ["0", "0.0", "0.000000", "1.86837271", "0.0084", "13.457322", "500"]
_level = st.tuples(st.sampled_from(_PRICES), st.sampled_from(_QUANTITIES))
_sides = st.tuples(st.lists(_level, max_size=6), st.lists(_level, max_size=6))
_step = st.one_of(
    st.tuples(st.just("next"), _sides, st.integers(1, 40)),
    st.tuples(st.just("resend"), _sides, st.just(0)),
    st.tuples(st.just("gap"), _sides, st.integers(2, 5)),
)
_send_times = st.one_of(st.none(), st.integers(0, 2**63 - 1), st.integers(1.7e12, 1.8e12))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(_step, _send_times), min_size=1, max_size=25))
async def test_random_delta_sequences_build_the_same_book(
    steps: list[tuple[tuple[str, Any, int], int | None]],
) -> None:
    paths = await make_path(fast=False), await make_path(fast=True)
    try:
        for path in paths:
            start(path, 5_000)
        seq, frames = 5_000, []
        for (kind, sides, span), send_time in steps:
            if kind == "resend" and frames:
                frames.append(frames[-1])
                continue
            first = seq + (span if kind == "gap" else 1)
            seq = first + max(span, 1) - 1
            frames.append(frame(TEMPLATES[0], first, seq, levels=sides, send_time=send_time))
        same_on_both(paths, frames)
    finally:
        for path in paths:
            await path.exchange.close()


@given(st.one_of(st.integers(-5, 2**63), st.integers(0, 8_640_000_000_000_000), st.none()))
def test_datetime_is_ccxts_iso8601(timestamp: int | None) -> None:
    assert _iso8601(timestamp) == Exchange.iso8601(timestamp)
    assert _iso8601(timestamp) == Exchange.iso8601(timestamp)  # and again, from the cache


def gate_frame(
    kind: str,
    first: int,
    end: int,
    *,
    levels: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = None,
    stamp: int | None = -1,
) -> str:
    """The real full snapshot or delta with its ids set; optionally levels and `t` (None: gone)."""
    message = json.loads(json.dumps(GATE[kind]))
    result = message["result"]
    result["u"] = end
    if kind == "server_incremental":
        result["U"] = first
    if levels is not None:
        result["b"], result["a"] = ([list(level) for level in side] for side in levels)
    if stamp is None:
        del result["t"]
    elif stamp >= 0:
        result["t"] = stamp
    return json.dumps(message)


async def test_gate_real_frames_build_the_same_book_as_ccxt_with_integrity() -> None:
    paths = await make_path(fast=False, venue="gate"), await make_path(fast=True, venue="gate")
    try:
        for path in paths:
            start(path, None)
        full = GATE["server_full_snapshot"]["result"]["u"]
        frames = [gate_frame("server_full_snapshot", 0, full)]
        seq = full
        for n in range(12):
            frames.append(gate_frame("server_incremental", seq + 1, seq + 44))
            seq += 44
            if n % 4 == 3:
                frames.append(frames[-1])  # resent: stale for both
        same_on_both(paths, frames)
        # Only the full snapshot and the 3 stale resends took ccxt's (integrity's) path.
        assert paths[1].fallbacks == 4
        # A gap resyncs on both; a new full snapshot restarts the sequence.
        again = [
            gate_frame("server_incremental", seq + 3, seq + 9),
            gate_frame("server_full_snapshot", 0, seq + 100),
            gate_frame("server_incremental", seq + 101, seq + 120),
        ]
        same_on_both(paths, again)
    finally:
        for path in paths:
            await path.exchange.close()
    assert guard_for(paths[1].exchange).books[SYMBOL].resyncs == 1
    assert paths[1].exchange.orderbooks[SYMBOL]["nonce"] == seq + 120


_GATE_PRICES = sorted(
    {
        level[0]
        for kind in ("server_full_snapshot", "server_incremental")
        for side in ("a", "b")
        for level in GATE[kind]["result"][side]
    }
    | {"104027.15", "104000", "0.1"}
)
_gate_level = st.tuples(st.sampled_from(_GATE_PRICES), st.sampled_from(_QUANTITIES))
_gate_sides = st.tuples(st.lists(_gate_level, max_size=6), st.lists(_gate_level, max_size=6))
_gate_step = st.one_of(
    st.tuples(st.just("next"), _gate_sides, st.integers(1, 60)),
    st.tuples(st.just("resend"), _gate_sides, st.just(0)),
    st.tuples(st.just("gap"), _gate_sides, st.integers(2, 5)),
    st.tuples(st.just("full"), _gate_sides, st.integers(1, 9)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(_gate_step, _send_times), min_size=1, max_size=25))
async def test_gate_random_delta_sequences_build_the_same_book(
    steps: list[tuple[tuple[str, Any, int], int | None]],
) -> None:
    paths = await make_path(fast=False, venue="gate"), await make_path(fast=True, venue="gate")
    try:
        for path in paths:
            start(path, None)
        seq = 9_000
        frames = [gate_frame("server_full_snapshot", 0, seq)]
        for (kind, sides, span), stamp in steps:
            if kind == "resend":
                frames.append(frames[-1])
                continue
            if kind == "full":
                seq += span
                frames.append(gate_frame("server_full_snapshot", 0, seq))
                continue
            first = seq + (span if kind == "gap" else 1)
            seq = first + max(span, 1) - 1
            frames.append(gate_frame("server_incremental", first, seq, levels=sides, stamp=stamp))
        same_on_both(paths, frames)
    finally:
        for path in paths:
            await path.exchange.close()
