"""Fast decoder for MEXC's binary depth pushes, returning exactly what ccxt's decoder returns."""

# ccxt.pro's mexc decodes every binary frame with decode_proto_msg: protobuf (C, upb) parses a
# PushDataV3ApiWrapper, then json_format.MessageToDict walks it in generic Python, which costs
# three to six times the parse. For the aggregated-depth body (field 313, the only binary
# channel watch_order_book uses) we keep protobuf's parse and build MessageToDict's dict
# directly: same keys in the same order, strings kept as strings, int64 as decimal strings,
# empty proto3 strings and empty lists left out, explicitly present optional fields kept even
# at their default. Every other body goes through MessageToDict unchanged. Because protobuf
# still does all the parsing, malformed, truncated, unknown-field and merged-field input is
# handled exactly as ccxt handles it, except that a frame protobuf rejects raises
# FrameDecodeError (a ValueError) instead of protobuf's DecodeError.
#
# A hand-written wire reader was measured too (bench/mexc_decode.py has the numbers in its
# docstring): it is about 6% faster on a one-level frame and slower from two levels a side,
# because protobuf's C parser beats Python byte indexing, so it was not kept.

from __future__ import annotations

from typing import Any

from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

Decoded = dict[str, Any]

_Wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper


class FrameDecodeError(ValueError):
    """A binary MEXC frame that is not a valid PushDataV3ApiWrapper."""


def decode_frame(data: bytes | bytearray) -> Decoded:
    """Decode one binary MEXC push to the dict ccxt's decode_proto_msg returns for it."""
    return render(parse(data))


def render(message: Any) -> Decoded:
    """The dict ccxt's decode_proto_msg returns for an already parsed PushDataV3ApiWrapper."""
    if message.WhichOneof("body") != "publicAggreDepths":
        decoded: Decoded = MessageToDict(message)
        return decoded
    # MessageToDict lists set fields in field-number order. symbol and sendTime are proto3
    # `optional`: present in every depth push and shown whenever set, even if empty or 0, so
    # the cheap value test comes first; symbolId and createTime are usually absent.
    decoded = {}
    text = message.channel
    if text:
        decoded["channel"] = text
    text = message.symbol
    if text or message.HasField("symbol"):
        decoded["symbol"] = text
    if message.HasField("symbolId"):
        decoded["symbolId"] = message.symbolId
    if message.HasField("createTime"):
        decoded["createTime"] = str(message.createTime)
    number = message.sendTime
    if number or message.HasField("sendTime"):
        decoded["sendTime"] = str(number)
    decoded["publicAggreDepths"] = _depth(message.publicAggreDepths)
    return decoded


def decode_frame_stock(data: bytes | bytearray) -> Decoded:
    """Decode one binary MEXC push the way ccxt 4.5.90 does (protobuf + MessageToDict)."""
    decoded: Decoded = MessageToDict(parse(data))
    return decoded


def install(exchange: Any) -> None:
    """Make a ccxt.pro mexc instance decode binary frames with decode_frame, apply fast paths.

    Depth pushes to books arb streams and has ready skip the decoded dict entirely
    (arb.venues.fast_apply); every other binary frame is decoded with decode_frame.
    """
    if getattr(exchange, "id", None) != "mexc" or not callable(
        getattr(exchange, "decode_proto_msg", None)
    ):
        raise ValueError(f"install() needs a ccxt.pro mexc instance, got {type(exchange)!r}")
    # handle_message calls self.decode_proto_msg(frame); an instance attribute shadows the
    # class's method for this exchange only, including for clients already connected.
    exchange.decode_proto_msg = decode_frame
    # Imported here: fast_apply builds on this module's parse and render.
    from arb.venues import fast_apply  # noqa: PLC0415

    fast_apply.install(exchange)


def parse(data: bytes | bytearray) -> Any:
    """Parse a PushDataV3ApiWrapper with protobuf, as ccxt does; FrameDecodeError if invalid."""
    message = _Wrapper()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise FrameDecodeError(
            f"mexc: a {len(data)}-byte binary frame is not a PushDataV3ApiWrapper: {exc}"
        ) from exc
    return message


def _depth(depth: Any) -> Decoded:
    """Render a PublicAggreDepthsV3Api as MessageToDict does."""
    body: Decoded = {}
    asks, bids = depth.asks, depth.bids
    if asks:
        body["asks"] = _levels(asks)
    if bids:
        body["bids"] = _levels(bids)
    text = depth.eventType
    if text:
        body["eventType"] = text
    text = depth.fromVersion
    if text:
        body["fromVersion"] = text
    text = depth.toVersion
    if text:
        body["toVersion"] = text
    return body


def _levels(items: Any) -> list[dict[str, str]]:
    """Render repeated PublicAggreDepthV3ApiItem as MessageToDict does (empty strings left out)."""
    levels = []
    for item in items:
        price, quantity = item.price, item.quantity
        if price and quantity:
            levels.append({"price": price, "quantity": quantity})
        else:
            levels.append({k: v for k, v in (("price", price), ("quantity", quantity)) if v})
    return levels
