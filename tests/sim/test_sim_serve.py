"""serve(), banner() and the JSON Lines request log as a user of `arb sim` sees them."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from simtools import KEY, SECRET, point_gate, point_mexc, scenario_data

from arb.sim import Simulator, banner, parse_scenario, serve


async def test_serve_runs_until_cancelled_and_banner_names_the_urls() -> None:
    started: list[Simulator] = []
    task = asyncio.create_task(serve(parse_scenario(scenario_data()), ready=started.append))
    for _ in range(100):
        if started:
            break
        await asyncio.sleep(0.01)
    sim = started[0]
    lines = banner(sim)
    assert f"  exchanges.mexc.rest_url = '{sim.rest_url('mexc')}'" in lines
    assert f"  exchanges.gateio.ws_url = '{sim.ws_url('gateio')}'" in lines
    url = sim.rest_url("gateio") + "/api/v4/spot/time"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_request_log_file_has_no_secrets(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    async with Simulator(parse_scenario(scenario_data()), log_path=path) as sim:
        mexc = ccxtpro.mexc({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
        gate = ccxtpro.gate({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
        gate.options |= {"fetchMarkets": {"types": ["spot"]}, "unifiedAccount": False}
        point_mexc(mexc, sim)
        point_gate(gate, sim)
        try:
            await mexc.create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
            await gate.create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
        finally:
            await mexc.close()
            await gate.close()
    text = path.read_text("utf-8")
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["kind"] for e in entries if e["kind"] == "order"] == ["order", "order"]
    assert all(a["t_ms"] <= b["t_ms"] for a, b in itertools.pairwise(entries))
    assert SECRET not in text
    assert KEY not in text
    signed = [e for e in entries if "signature=" in e.get("query", "")]
    assert signed
    assert all("signature=<redacted>" in e["query"] for e in signed)
