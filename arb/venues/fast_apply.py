"""Lean apply paths for MEXC and Gate depth deltas to ready books; other frames go to ccxt."""

# Profiling the production ingest (decoder + integrity hooks) put most of a frame's cost in
# ccxt's generic code around the apply, not in the apply: MessageToDict-shaped dicts built
# only to be read back with safe_* accessors, safe_float_2 per level, iso8601 on every
# frame, and our integrity wrapper reading the same dict again. For a binary aggre.depth
# push to a book that is ready (snapshot applied, sequence known) this module does the same
# work straight from the parsed protobuf: the integrity gap check, then exactly what ccxt's
# handle_order_book and our handle_book_delta hook do (nonce, levels via the book sides'
# storeArray, timestamp, datetime, resolving the watchers' future). Anything else - a book
# not ready or caching deltas before its snapshot, a gap, a field ccxt would read
# differently (empty or unparsable numbers), another channel, text frames - is handed to
# ccxt's own path with the integrity hooks, unchanged. Gate `spot.obu` deltas (JSON, parsed
# by ccxt's client) get the same treatment after the parse: integrity's U/u check, then what
# ccxt's handle_new_spot_order_book and handle_book_delta do. tests/venues/test_fast_apply.py
# feeds the same frames through both paths and compares the books.

from __future__ import annotations

from typing import Any

from ccxt.base.exchange import Exchange

from arb.venues.integrity import BookState, Verdict, guard_of, message_hash, next_verdict
from arb.venues.mexc_decode import parse, render

_APPLY = Verdict.APPLY
_DEPTH_CHANNEL = "public.aggre.depth.v3.api.pb"  # ccxt dispatches on the channel's 2nd part
_CACHE_LIMIT = 4096  # channel names and whole seconds remembered; cleared when exceeded


def install(exchange: Any) -> None:
    """Route a ccxt.pro mexc or gate instance's depth deltas through the fast apply path."""
    if getattr(exchange, "_arb_fast_apply", False):
        return
    if exchange.id in ("gate", "gateio"):
        _install_gate(exchange)
        return
    if exchange.id != "mexc":
        raise ValueError(f"no fast apply path for ccxt exchange {exchange.id!r}")
    stock = exchange.handle_message  # ccxt's bound method: text frames and the fallback
    depth_channels: dict[str, bool] = {}

    def handle_message(client: Any, message: Any) -> None:
        if not isinstance(message, bytes | bytearray):
            stock(client, message)
            return
        wrapper = parse(message)
        if not _applied(exchange, client, wrapper, depth_channels):
            exchange.handle_protobuf_message(client, render(wrapper))

    # ccxt binds on_message to exchange.handle_message when it creates a client, so this
    # covers every connection opened from now on (the adapter installs before connecting).
    exchange.handle_message = handle_message
    exchange._arb_fast_apply = True


def _applied(exchange: Any, client: Any, wrapper: Any, depth_channels: dict[str, bool]) -> bool:
    """Apply a depth push to its ready book as ccxt + integrity would; False to let ccxt do it."""
    target = _ready_book(exchange, wrapper, depth_channels)
    if target is None:
        return False
    state, stored = target
    depth = wrapper.publicAggreDepths
    try:
        first, end = int(depth.fromVersion), int(depth.toVersion)
        # Converted before anything changes, so a level ccxt would read differently (an
        # empty or non-numeric string) sends the whole frame down ccxt's path instead.
        asks = [[float(level.price), float(level.quantity)] for level in depth.asks]
        bids = [[float(level.price), float(level.quantity)] for level in depth.bids]
        # safe_integer's int(float(text)), which ccxt and our hook use for nonce and time
        nonce = int(float(depth.toVersion))
    except (ValueError, OverflowError):  # OverflowError: int(float()) of a huge id
        return False
    if next_verdict(state.seq, first, end, after_snapshot=state.after_snapshot) is not _APPLY:
        return False  # a gap or an old frame: integrity's hook decides (resync, count)
    now = state.clock()
    state.last_frame_at = now
    state.connected = True
    state.behind = 0
    state.client = client
    state.seq = end
    state.after_snapshot = False
    _apply(stored, nonce, asks, bids)
    number = wrapper.sendTime
    timestamp = int(float(number)) if number or wrapper.HasField("sendTime") else None
    stored["timestamp"] = timestamp
    stored["datetime"] = _iso8601(timestamp)
    client.resolve(stored, message_hash(state.symbol))
    state.applied(now)
    return True


def _ready_book(
    exchange: Any, wrapper: Any, depth_channels: dict[str, bool]
) -> tuple[BookState, Any] | None:
    """arb's state and ccxt's book for a depth push if arb streams it and it is ready."""
    if wrapper.WhichOneof("body") != "publicAggreDepths":
        return None
    guard = guard_of(exchange)
    if guard is None or not _is_depth(wrapper.channel, depth_channels):
        return None  # no book stream ever started, or another channel: ccxt's own path
    market_id = wrapper.symbol
    symbol = (
        (guard.symbols.get(market_id) or guard.symbol(market_id, market_id)) if market_id else None
    )
    state = guard.books.get(symbol) if symbol is not None else None
    stored = exchange.orderbooks.get(symbol) if state is not None else None
    if state is None or stored is None or state.seq is None or stored["nonce"] is None:
        return None  # not streamed by arb, or not ready: ccxt caches, integrity requests
    return state, stored


def _is_depth(channel: str, depth_channels: dict[str, bool]) -> bool:
    """Whether ccxt would hand a push on `channel` to handle_order_book."""
    is_depth = depth_channels.get(channel)
    if is_depth is None:
        parts = channel.split("@")
        is_depth = len(parts) > 1 and parts[1] == _DEPTH_CHANNEL
        if len(depth_channels) >= _CACHE_LIMIT:
            depth_channels.clear()
        depth_channels[channel] = is_depth
    return is_depth


def _apply(stored: Any, nonce: int, asks: list[list[float]], bids: list[list[float]]) -> None:
    """Apply a delta's levels to ccxt's book as integrity's handle_book_delta hook does."""
    if nonce <= stored["nonce"]:
        return  # the hook skips levels a book already has (timestamp and wake still follow)
    stored["nonce"] = nonce
    _store(stored, asks, bids)


def _store(stored: Any, asks: list[list[float]], bids: list[list[float]]) -> None:
    """Set (or, at amount 0, remove) each level in ccxt's book, as ccxt's own apply does."""
    for side, levels in (("asks", asks), ("bids", bids)):
        store = stored[side].storeArray
        for level in levels:
            store(level)


_SECONDS: dict[int, str] = {}  # whole second -> "YYYY-MM-DDTHH:MM:SS", as ccxt formats it


def _iso8601(timestamp: int | None) -> str | None:
    """ccxt's Exchange.iso8601 for an int ms timestamp, formatting each second only once."""
    if timestamp is None:
        return None
    seconds, milliseconds = divmod(timestamp, 1000)
    prefix = _SECONDS.get(seconds)
    if prefix is None:
        full = Exchange.iso8601(timestamp)
        if full is None:
            return None  # out of ccxt's range: not cached, ccxt decides every time
        if len(_SECONDS) >= _CACHE_LIMIT:
            _SECONDS.clear()
        prefix = _SECONDS[seconds] = full[:-5]  # drop ".mmmZ"
    return f"{prefix}.{milliseconds:03d}Z"


def _install_gate(exchange: Any) -> None:
    stock = exchange.handle_message

    def handle_message(client: Any, message: Any) -> None:
        if not _gate_applied(exchange, client, message):
            stock(client, message)

    exchange.handle_message = handle_message
    exchange._arb_fast_apply = True


def _gate_applied(exchange: Any, client: Any, message: Any) -> bool:
    """Apply a spot.obu delta to its ready book as ccxt + integrity would; False: ccxt does it."""
    target = _gate_ready_book(exchange, message)
    if target is None:
        return False
    state, stored, result = target
    try:
        first, end = int(result["U"]), int(result["u"])  # integrity's reading of the ids
        bids, asks = _gate_levels(result.get("b", [])), _gate_levels(result.get("a", []))
    except (KeyError, TypeError, ValueError):
        return False  # integrity or ccxt reads this frame differently: their path decides
    if next_verdict(state.seq, first, end, after_snapshot=False) is not _APPLY:
        return False  # a gap or an old frame: integrity's hook decides (resync, count)
    now = state.clock()
    state.last_frame_at = now
    state.connected = True
    state.behind = 0
    state.seq = end
    # ccxt's handle_new_spot_order_book reads the delta's end (u) as its start and skips
    # a delta its book already has, without waking anyone; integrity counts it applied.
    nonce = _safe_int(stored["nonce"])
    update = _safe_int(result.get("u"))
    if nonce is not None and (update is None or nonce < update):
        timestamp = _safe_int(result.get("t"))
        stored["timestamp"] = timestamp
        stored["datetime"] = _iso8601(timestamp)
        stored["nonce"] = update
        _store(stored, asks, bids)
        client.resolve(stored, message_hash(state.symbol))
    state.applied(now)
    return True


def _gate_ready_book(exchange: Any, message: Any) -> tuple[BookState, Any, Any] | None:
    """arb's state, ccxt's book and the delta of a spot.obu update to a ready book."""
    # Frames with an error or data member, or an event, go through ccxt's own dispatch.
    if type(message) is not dict or message.get("channel") != "spot.obu":
        return None
    if "error" in message or "data" in message or message.get("event") is not None:
        return None
    result = message.get("result")
    guard = guard_of(exchange)
    if guard is None or type(result) is not dict or result.get("full") is True:
        return None
    channel = result.get("s")
    symbol = guard.symbols.get(channel) if type(channel) is str else None
    state = guard.books.get(symbol) if symbol is not None else None
    stored = exchange.orderbooks.get(symbol) if state is not None else None
    if state is None or stored is None or state.seq is None:
        return None
    return state, stored, result


def _gate_levels(levels: Any) -> list[list[float]]:
    """[[price, amount]] as ccxt's parse_order_book_bid_ask makes them; raises if it would not."""
    if type(levels) is not list:
        raise TypeError("levels")
    out = []
    for level in levels:
        if type(level) is not list or len(level) != 2:
            raise TypeError("level")  # ccxt reads dicts and counts differently
        out.append([float(level[0]), float(level[1])])
    return out


def _safe_int(value: Any) -> int | None:
    """ccxt's safe_integer of one value: int(float(value)), None if that fails."""
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
