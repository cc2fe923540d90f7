"""Re-encode real MEXC depth payloads into the extra test frames of ws_aggre_depth_derived.json."""

# Run from the repository root: .venv/bin/python tests/data/mexc/derive_depth_frames.py
# Nothing here is invented: every string and number comes from ws_aggre_depth_pb.json (a real
# push) or depth.json (real REST depth responses); frames are encoded by protobuf with ccxt
# 4.5.90's own _pb2 classes, or with MEXC's published schema where that adds field 6.
# tests/venues/test_mexc_decode.py checks that this script still reproduces the JSON file.

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from ccxt.protobuf.mexc import PublicAggreDepthsV3Api_pb2, PushDataV3ApiWrapper_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = Path(__file__).parent
OUTPUT = HERE / "ws_aggre_depth_derived.json"
DEEP_LEVELS_PER_SIDE = 20


def load(name: str) -> dict[str, Any]:
    """Read one of the copied sample files."""
    loaded: dict[str, Any] = json.loads((HERE / name).read_text())
    return loaded


def real_wrapper() -> Any:
    """Parse the real push's wire bytes with ccxt's wrapper class."""
    wrapper = PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper()
    wrapper.ParseFromString(base64.b64decode(load("ws_aggre_depth_pb.json")["wire_base64"]))
    return wrapper


def rest_levels() -> tuple[list[list[str]], list[list[str]]]:
    """The [price, quantity] levels of ccxt's recorded REST depth responses: asks, bids."""
    depth = load("depth.json")
    # The first variant is MEXC's doc sample (prices 15 and 14, not a BTC book); the payload
    # and the other variant are ccxt's recorded responses at BTC prices.
    books = [depth["payload"]] + [v["payload"] for v in depth["variants"][1:]]
    return [a for b in books for a in b["asks"]], [b_ for b in books for b_ in b["bids"]]


def with_levels(asks: list[list[str]], bids: list[list[str]], from_version: int) -> str:
    """The real push with its levels replaced, its versions moved to start at from_version."""
    wrapper = real_wrapper()
    depth = wrapper.publicAggreDepths
    span = int(depth.toVersion) - int(depth.fromVersion)
    del depth.asks[:]
    del depth.bids[:]
    for side, levels in ((depth.asks, asks), (depth.bids, bids)):
        for price, quantity in levels:
            side.add(price=price, quantity=quantity)
    depth.fromVersion = str(from_version)
    depth.toVersion = str(from_version + span)
    return base64.b64encode(wrapper.SerializeToString()).decode()


def real_levels() -> tuple[list[list[str]], list[list[str]]]:
    """The real push's own [price, quantity] levels: asks, bids."""
    depth = real_wrapper().publicAggreDepths
    return (
        [[level.price, level.quantity] for level in depth.asks],
        [[level.price, level.quantity] for level in depth.bids],
    )


def upstream_depth_class() -> Any:
    """PublicAggreDepthsV3Api as MEXC publishes it today: ccxt's schema plus field 6."""
    file_proto = descriptor_pb2.FileDescriptorProto()
    PublicAggreDepthsV3Api_pb2.DESCRIPTOR.CopyToProto(file_proto)
    message = next(m for m in file_proto.message_type if m.name == "PublicAggreDepthsV3Api")
    message.field.add(
        name="lastOrderCreateTime",
        number=6,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        json_name="lastOrderCreateTime",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("PublicAggreDepthsV3Api"))


def with_last_order_create_time() -> str:
    """The real push re-encoded with MEXC's field 6 set to the push's own sendTime."""
    wrapper = real_wrapper()
    upstream = upstream_depth_class()()
    upstream.ParseFromString(wrapper.publicAggreDepths.SerializeToString())
    upstream.lastOrderCreateTime = wrapper.sendTime
    wrapper.publicAggreDepths.Clear()
    # ccxt's class keeps field 6 as an unknown field and writes it back out after the rest.
    wrapper.publicAggreDepths.MergeFromString(upstream.SerializeToString())
    return base64.b64encode(wrapper.SerializeToString()).decode()


def derive() -> dict[str, Any]:
    """Build the derived-frames document."""
    asks, bids = rest_levels()
    push_asks, push_bids = real_levels()
    deep_asks = [asks[n % len(asks)] for n in range(DEEP_LEVELS_PER_SIDE)]
    deep_bids = [bids[n % len(bids)] for n in range(DEEP_LEVELS_PER_SIDE)]
    push_from = int(real_wrapper().publicAggreDepths.fromVersion)
    snapshot_nonce = int(load("depth.json")["payload"]["lastUpdateId"])
    return {
        "source": (
            "DERIVED, not captured: re-encoded by tests/data/mexc/derive_depth_frames.py from "
            "ws_aggre_depth_pb.json (real push: channel, symbol, sendTime, eventType, versions, "
            "levels) and depth.json (real REST levels), with ccxt 4.5.90's _pb2 classes"
        ),
        "endpoint": "WS binary frame on channel spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT",
        "frames": {
            "rest_levels": {
                "note": "real push with its levels replaced by the 3 asks and 3 bids of the "
                "ccxt-recorded REST samples; versions moved on by 20 to follow the real push",
                "wire_base64": with_levels(asks, bids, push_from + 20),
            },
            "rest_levels_deep": {
                "note": f"{DEEP_LEVELS_PER_SIDE} levels a side, the REST levels repeated in "
                "turn (a size for benchmarks, not a realistic book); versions moved on by 40",
                "wire_base64": with_levels(deep_asks, deep_bids, push_from + 40),
            },
            "last_order_create_time": {
                "note": "real push re-encoded with MEXC's current schema, which adds depth "
                "field 6 int64 lastOrderCreateTime (proto_schema.upstream_proto_text); its "
                "value is the push's own sendTime, the real one was not captured",
                "wire_base64": with_last_order_create_time(),
            },
        },
        "synced_sequence": {
            "note": "three pushes whose versions are moved around depth.json's lastUpdateId "
            f"({snapshot_nonce}) so ccxt's snapshot sync can run: the first starts 5 below it "
            "(cached, then dropped by the sync), the second carries the REST levels, the third "
            "the real push's levels again",
            "wire_base64": [
                with_levels(push_asks, push_bids, snapshot_nonce - 5),
                with_levels(asks, bids, snapshot_nonce + 15),
                with_levels(push_asks, push_bids, snapshot_nonce + 35),
            ],
        },
    }


def main() -> None:
    """Write ws_aggre_depth_derived.json."""
    OUTPUT.write_text(json.dumps(derive(), indent=2) + "\n")


if __name__ == "__main__":
    main()
