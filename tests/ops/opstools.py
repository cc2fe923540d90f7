"""Shared by the operations tests: a planted scenario, free ports, a local alert receiver."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from arb.sim import Scenario, Simulator, load_scenario

# The BTC/USDT books of tests/scan/test_scan_sandbox.py's planted scenario: MEXC asks under
# Gate's 0.015 BTC bid by more than both taker fees (market facts as recorded there).
PLANTED = """
name = "planted"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 10
taker_fee = "0.0005"
[venues.gateio]
cadence_ms = 10
taker_fee = "0.002"
[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
gateio = { price_decimals = 1, amount_decimals = 6, min_amount = "0.000001", min_notional = "3" }
[balances.mexc]
USDT = "5000"
[balances.gateio]
BTC = "1"
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "gateio"
symbol = "BTC/USDT"
bids = [["63400.0", "0.015"], ["62900.0", "1"]]
asks = [["63410.0", "1"]]
"""

# Gate rejects the first order: the MEXC buy fills alone and is unwound (one-legged).
REJECT_GATE = """
[[faults]]
at_ms = 0
venue = "gateio"
kind = "reject_next_order"
count = 1
"""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_scenario(tmp_path: Path, extra: str = "") -> Path:
    """The planted scenario (plus `extra`) as a file."""
    path = tmp_path / "planted.toml"
    path.write_text(PLANTED + extra)
    return path


def point_at(monkeypatch: pytest.MonkeyPatch, sim: Simulator, scenario: Scenario) -> None:
    """ARB_* variables that send both venues to `sim` with its keys (as a user would); only
    these two are chosen, so no other default venue is ever reached live."""
    monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")
    for venue in ("mexc", "gateio"):
        prefix = f"ARB_EXCHANGES__{venue.upper()}__"
        monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
        monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
        monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
        monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)


def trade_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Limits that let the planted trade through; ledger and kill file in tmp_path."""
    monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT")
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_RISK__MAX_EXPOSURE", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))


@dataclass
class Receiver:
    """A local HTTP server standing in for a webhook and the Telegram Bot API."""

    url: str = ""
    requests: list[tuple[str, Any]] = field(default_factory=list)  # (path, JSON body)
    fail_first: int = 0  # answer 500 to this many requests first
    status: int = 200  # then answer this


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """Run a Receiver on an ephemeral loopback port."""
    got = Receiver()

    async def handle(request: web.Request) -> web.Response:
        got.requests.append((request.path, await request.json()))
        if got.fail_first:
            got.fail_first -= 1
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": got.status < 400}, status=got.status)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    got.url = f"http://127.0.0.1:{port}"
    try:
        yield got
    finally:
        await runner.cleanup()


__all__ = ["load_scenario"]
