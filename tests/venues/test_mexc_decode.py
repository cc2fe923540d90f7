"""The fast MEXC frame decoder returns exactly what ccxt's decode_proto_msg returns."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arb.venues.mexc_decode import FrameDecodeError, decode_frame, decode_frame_stock, install

DATA = Path(__file__).parent.parent / "data" / "mexc"
SAMPLE = json.loads((DATA / "ws_aggre_depth_pb.json").read_text())
DERIVED = json.loads((DATA / "ws_aggre_depth_derived.json").read_text())
REAL_FRAME = base64.b64decode(SAMPLE["wire_base64"])
DERIVED_FRAMES = {
    name: base64.b64decode(frame["wire_base64"]) for name, frame in DERIVED["frames"].items()
}
SYNCED = [base64.b64decode(wire) for wire in DERIVED["synced_sequence"]["wire_base64"]]
NAMED_FRAMES = {
    "real_push": REAL_FRAME,
    **DERIVED_FRAMES,
    **{f"synced_{n}": frame for n, frame in enumerate(SYNCED)},
}
ALL_FRAMES = list(NAMED_FRAMES.values())
SNAPSHOT = json.loads((DATA / "depth.json").read_text())["payload"]
SYMBOL = "BTCUSDT"  # no markets are loaded, so ccxt keys the book by the market id
URL = "ws://127.0.0.1:9/ws"  # never connected: the frames are handed to the client directly


def _load_derive_script() -> Any:
    spec = importlib.util.spec_from_file_location("derive", DATA / "derive_depth_frames.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ccxt_decode() -> Callable[[bytes], Any]:
    """ccxt.pro mexc's own, unpatched decode_proto_msg."""
    decode: Callable[[bytes], Any] = ccxt.pro.mexc().decode_proto_msg
    return decode


def _outcome(decode: Callable[[bytes], Any], frame: bytes) -> str:
    """The decoded dict as JSON (so key order counts too), or 'rejected'."""
    try:
        return json.dumps(decode(frame))
    except (DecodeError, ValueError):
        return "rejected"


def _assert_same_as_ccxt(ccxt_decode: Callable[[bytes], Any], frame: bytes) -> None:
    expected = _outcome(ccxt_decode, frame)
    assert _outcome(decode_frame, frame) == expected
    assert _outcome(decode_frame_stock, frame) == expected
    if expected == "rejected":
        with pytest.raises(FrameDecodeError):
            decode_frame(frame)


def test_real_push_decodes_to_the_recorded_payload(ccxt_decode: Callable[[bytes], Any]) -> None:
    decoded = decode_frame(REAL_FRAME)
    assert decoded == SAMPLE["payload"]
    assert list(decoded) == ["channel", "symbol", "sendTime", "publicAggreDepths"]
    assert json.dumps(decoded) == json.dumps(ccxt_decode(REAL_FRAME))


def test_bytearray_frames_decode_like_bytes() -> None:
    assert decode_frame(bytearray(REAL_FRAME)) == SAMPLE["payload"]


@pytest.mark.parametrize("frame", ALL_FRAMES, ids=list(NAMED_FRAMES))
def test_every_stored_frame_decodes_as_ccxt_does(
    ccxt_decode: Callable[[bytes], Any], frame: bytes
) -> None:
    assert _outcome(decode_frame, frame) != "rejected"
    _assert_same_as_ccxt(ccxt_decode, frame)


def test_rest_levels_frame_keeps_every_level_as_strings() -> None:
    depth = decode_frame(DERIVED_FRAMES["rest_levels"])["publicAggreDepths"]
    assert depth["asks"][2] == {"price": "40838.88", "quantity": "0.498000"}
    assert [level["price"] for level in depth["bids"]] == ["45995.47", "40838.50", "40837.95"]
    assert (depth["fromVersion"], depth["toVersion"]) == ("43296363256", "43296363275")


def test_mexc_field_6_unknown_to_ccxt_is_ignored() -> None:
    assert decode_frame(DERIVED_FRAMES["last_order_create_time"]) == SAMPLE["payload"]


def test_derived_frames_file_is_what_the_script_writes() -> None:
    assert _load_derive_script().derive() == DERIVED


@pytest.mark.parametrize("frame", [REAL_FRAME, DERIVED_FRAMES["rest_levels"]], ids=["real", "rest"])
def test_every_truncation_and_byte_flip_behaves_as_ccxt(
    ccxt_decode: Callable[[bytes], Any], frame: bytes
) -> None:
    for cut in range(len(frame)):
        _assert_same_as_ccxt(ccxt_decode, frame[:cut])
    for at in range(len(frame)):
        for flipped in (frame[at] ^ 0x80, frame[at] ^ 0x01, 0xFF):
            _assert_same_as_ccxt(ccxt_decode, frame[:at] + bytes([flipped]) + frame[at + 1 :])


def test_garbage_raises_a_value_error_naming_the_frame() -> None:
    with pytest.raises(ValueError, match="5-byte binary frame is not a PushDataV3ApiWrapper"):
        decode_frame(b"\xff\xff\xff\xff\xff")


# Random messages built with ccxt's own protobuf classes: any text (empty, unicode), int64
# extremes, optional fields present or absent, empty items, another body, or two messages
# concatenated (protobuf merges them: bodies combine, last scalar and last oneof win).
_TEXT = st.text(max_size=10)
_DECIMAL = st.from_regex(r"[0-9]{1,7}(\.[0-9]{1,8})?", fullmatch=True)
_STRING = st.one_of(_DECIMAL, _TEXT)
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def _messages(draw: st.DrawFn) -> bytes:
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    for name in ("channel", "symbol", "symbolId"):
        if draw(st.booleans()):
            setattr(wrapper, name, draw(_TEXT))
    for name in ("createTime", "sendTime"):
        if draw(st.booleans()):
            setattr(wrapper, name, draw(_INT64))
    body = draw(st.sampled_from(["depth", "depth", "deals", "none"]))
    if body == "depth":
        depth = wrapper.publicAggreDepths
        depth.SetInParent()
        for side in (depth.asks, depth.bids):
            for price, quantity in draw(st.lists(st.tuples(_STRING, _STRING), max_size=6)):
                side.add(price=price, quantity=quantity)
        for name in ("eventType", "fromVersion", "toVersion"):
            setattr(depth, name, draw(_STRING))
    elif body == "deals":
        deals = wrapper.publicAggreDeals
        deals.SetInParent()
        for price, quantity, time in draw(st.lists(st.tuples(_STRING, _STRING, _INT64))):
            deals.deals.add(price=price, quantity=quantity, tradeType=1, time=time)
    return bytes(wrapper.SerializeToString())


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_messages(), min_size=1, max_size=2))
def test_random_valid_messages_decode_as_ccxt_does(
    ccxt_decode: Callable[[bytes], Any], parts: list[bytes]
) -> None:
    frame = b"".join(parts)
    assert _outcome(ccxt_decode, frame) != "rejected"
    _assert_same_as_ccxt(ccxt_decode, frame)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=st.one_of(
        st.binary(max_size=300),
        st.tuples(st.sampled_from(ALL_FRAMES), st.integers(0, 300), st.binary(max_size=4)).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :]
        ),
    )
)
def test_random_bytes_only_ever_decode_as_ccxt_or_raise_value_error(
    ccxt_decode: Callable[[bytes], Any], frame: bytes
) -> None:
    _assert_same_as_ccxt(ccxt_decode, frame)


async def _book_after_sync(exchange: Any) -> dict[str, Any]:
    """Run ccxt's own snapshot sync over the synced sequence, feeding frames via its client."""
    client = exchange.client(URL)
    message_hash = f"orderbook:{SYMBOL}"
    for frame in SYNCED[:2]:  # pushes that arrive before the snapshot are cached
        client.handle_text_or_binary_message(frame)
    snapshot = exchange.parse_order_book(SNAPSHOT, SYMBOL, None, "bids", "asks")
    snapshot["nonce"] = int(SNAPSHOT["lastUpdateId"])  # what mexc's fetch_order_book sets

    async def fetch_snapshot(*_: Any) -> Any:
        return snapshot

    # The REST leg is not under test here: hand ccxt the real REST sample it would fetch.
    exchange.fetch_rest_order_book_safe = fetch_snapshot
    await exchange.load_order_book(client, message_hash, SYMBOL, None, {})
    client.handle_text_or_binary_message(SYNCED[2])
    book = exchange.orderbooks[SYMBOL]
    return {
        "asks": [list(level) for level in book["asks"]],
        "bids": [list(level) for level in book["bids"]],
        "nonce": book["nonce"],
        "timestamp": book["timestamp"],
        "cache": list(book.cache),
    }


async def test_installed_decoder_builds_the_same_book_as_stock_ccxt() -> None:
    stock, fast = ccxt.pro.mexc(), ccxt.pro.mexc()
    install(fast)
    try:
        stock_book = await _book_after_sync(stock)
        fast_book = await _book_after_sync(fast)
    finally:
        await stock.close()
        await fast.close()
    assert fast.decode_proto_msg is decode_frame
    assert fast_book == stock_book
    # The first push predates the snapshot and is dropped; the REST levels and the last push
    # apply on top of it (the last push's bid is above the REST asks: ccxt does not check).
    assert fast_book["asks"] == [[40838.61, 6.544908], [40838.88, 0.498], [45995.48, 13.457322]]
    assert fast_book["bids"] == [
        [117053.41, 1.86837271],
        [45995.47, 10.337165],
        [40838.5, 0.387864],
        [40837.95, 0.0084],
    ]
    assert fast_book["nonce"] == int(SNAPSHOT["lastUpdateId"]) + 35
    assert fast_book["timestamp"] == int(SAMPLE["payload"]["sendTime"])
    assert fast_book["cache"] == []


def test_install_refuses_another_exchange() -> None:
    with pytest.raises(ValueError, match=r"ccxt\.pro mexc instance"):
        install(ccxt.pro.gate())
