"""The one vcrpy configuration shared by the cassette tests and scripts/record_cassettes.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import vcr

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"

# Per-request noise and signatures: never recorded, never matched on.
VOLATILE_QUERY = ("timestamp", "recvWindow", "signature")
# Credentials and signing headers of every venue.
SECRET_HEADERS = (
    "X-MEXC-APIKEY",
    "X-MBX-APIKEY",
    "X-BAPI-API-KEY",
    "X-BAPI-SIGN",
    "X-BAPI-TIMESTAMP",
    "X-BAPI-RECV-WINDOW",
    "KEY",
    "SIGN",
    "Timestamp",
    "Authorization",
    "Cookie",
    "OK-ACCESS-KEY",
    "OK-ACCESS-SIGN",
    "OK-ACCESS-TIMESTAMP",
    "OK-ACCESS-PASSPHRASE",
)


def stable_query(r1: Any, r2: Any) -> None:
    """vcr matcher: the query strings agree once the volatile keys are dropped."""
    q1 = sorted((k, v) for k, v in r1.query if k not in VOLATILE_QUERY)
    q2 = sorted((k, v) for k, v in r2.query if k not in VOLATILE_QUERY)
    if q1 != q2:
        raise AssertionError(f"{q1} != {q2}")


def json_body(sent: Any, recorded: Any) -> None:
    """vcr matcher: a recorded JSON body (Gate's, OKX's and Bybit's orders) or form body (Binance's,
    without its volatile keys) equals ours."""
    if not recorded.body:
        return
    if not sent.body or _body(sent.body) != _body(recorded.body):
        raise AssertionError(f"{sent.body!r} != {recorded.body!r}")


def _body(body: str | bytes) -> Any:
    text = body.decode() if isinstance(body, bytes) else body
    if text.lstrip().startswith(("{", "[")):
        return json.loads(text)
    return sorted((k, v) for k, v in parse_qsl(text) if k not in VOLATILE_QUERY)


def make_vcr(record_mode: str = "none") -> vcr.VCR:
    """A VCR that replays (or records) cassettes under cassettes/ without any secret."""
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=("method", "host", "path", "stable_query", "json_body"),
        filter_headers=[(name, None) for name in SECRET_HEADERS],
        filter_query_parameters=[(name, None) for name in VOLATILE_QUERY],
        decode_compressed_response=True,
    )
    recorder.register_matcher("stable_query", stable_query)
    recorder.register_matcher("json_body", json_body)
    return recorder
