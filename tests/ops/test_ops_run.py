"""A scripted `arb run` on the simulator: every endpoint, the metrics' values, the alerts."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opstools import REJECT_GATE, free_port, point_at, receiver, trade_env, write_scenario
from prometheus_client.parser import text_string_to_metric_families

from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.sim import Simulator, load_scenario

TOKEN = "s3cret-status-token"
OPTIONS = RunOptions(duration=4.0, stream_options=(("ready_timeout", 0.3),))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def until(check: Any, seconds: float = 15.0) -> Any:
    """Poll `check()` (async) until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_endpoints_and_metrics_after_a_scripted_sandbox_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(write_scenario(tmp_path))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    seen: dict[str, Any] = {}
    async with Simulator(scenario) as sim:
        point_at(monkeypatch, sim, scenario)
        trade_env(monkeypatch, tmp_path)
        monkeypatch.setenv("ARB_STATUS__LISTEN", f"127.0.0.1:{port}")
        monkeypatch.setenv("ARB_STATUS__TOKEN", TOKEN)
        running = asyncio.create_task(run(load_settings(None), OPTIONS))
        async with aiohttp.ClientSession() as http:

            async def traded() -> dict[str, Any] | None:
                try:
                    async with http.get(f"{base}/api/status", headers=auth) as answer:
                        body: dict[str, Any] = await answer.json()
                except aiohttp.ClientConnectionError:
                    return None
                return body if body["trades"] else None

            seen["status"] = await until(traded)
            async with http.get(f"{base}/health") as answer:
                seen["health_no_token"] = answer.status
            async with http.get(f"{base}/health", headers=auth) as answer:
                seen["health"] = (answer.status, await answer.json())
            async with http.get(f"{base}/metrics", headers=auth) as answer:
                seen["metrics_type"] = answer.headers["Content-Type"]
                seen["metrics"] = samples(await answer.text())
            async with http.get(f"{base}/") as answer:  # the page: no data, no token needed
                seen["page"] = (answer.status, await answer.text())
            (tmp_path / "KILL").touch()  # the kill switch: trading may not proceed

            async def blocked() -> tuple[int, dict[str, Any]] | None:
                async with http.get(f"{base}/health", headers=auth) as answer:
                    return (answer.status, await answer.json()) if answer.status != 200 else None

            seen["health_killed"] = await until(blocked)
        assert await running == 0
    ledger = Ledger(tmp_path / "ledger.sqlite")
    trades = ledger.query_sync("SELECT intent_id, realized_pnl, fees FROM trades")
    ledger.close()
    assert len(trades) == 1
    trade = trades[0]

    assert seen["health_no_token"] == 401
    status, health = seen["health"]
    assert status == 200
    assert health["ok"] is True
    assert health["trading"] == {
        "enabled": True,
        "allowed": True,
        "blocked": None,
        "breaker": None,
        "kill_switch": False,
        "consecutive_failures": 0,
        "daily_pnl": trade["realized_pnl"],
    }
    for venue in ("mexc", "gateio"):
        assert health["venues"][venue]["connected"] is True
        assert list(health["venues"][venue]["book_age_ms"]) == ["BTC/USDT"]
        assert health["venues"][venue]["resyncs"] == 0
        assert health["venues"][venue]["last_error"] is None
    killed_status, killed = seen["health_killed"]
    assert killed_status == 503
    assert killed["ok"] is False
    assert killed["trading"]["kill_switch"] is True

    m = seen["metrics"]
    assert seen["metrics_type"].startswith("text/plain")
    assert m[("arb_intents_total", (("outcome", "settled"),))] == 1
    assert m[("arb_intents_total", (("outcome", "one_legged"),))] == 0
    assert m[("arb_one_legged_trades_total", ())] == 0
    assert m[("arb_realised_pnl_quote", ())] == pytest.approx(float(Decimal(trade["realized_pnl"])))
    assert m[("arb_fees_quote_total", ())] == pytest.approx(float(Decimal(trade["fees"])))
    assert m[("arb_cycle_seconds_count", ())] == 1
    assert m[("arb_opportunities_total", ())] >= 1
    assert m[("arb_breaker_tripped", ())] == 0
    for venue in ("mexc", "gateio"):
        assert m[("arb_book_updates_total", (("venue", venue),))] >= 1
        assert m[("arb_book_resyncs_total", (("venue", venue),))] == 0
        assert m[("arb_stale_refusals_total", (("venue", venue),))] == 0
        assert m[("arb_venue_connected", (("venue", venue),))] == 1
    decided = m[("arb_frame_to_decision_seconds_count", ())]
    assert decided >= 2  # at least one update per venue was evaluated
    assert m[("arb_frame_to_decision_seconds_bucket", (("le", "+Inf"),))] == decided

    body = seen["status"]
    assert [t["intent_id"] for t in body["trades"]] == [trade["intent_id"]]
    assert body["trades"][0]["state"] == "settled"
    assert body["pnl"]["session_pnl"] == trade["realized_pnl"]
    page_status, page = seen["page"]
    assert page_status == 200
    assert "<title>arb status</title>" in page
    assert TOKEN not in page


async def test_a_one_legged_sandbox_trade_reaches_the_webhook_and_telegram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(write_scenario(tmp_path, REJECT_GATE))
    async with receiver() as got, Simulator(scenario) as sim:
        point_at(monkeypatch, sim, scenario)
        trade_env(monkeypatch, tmp_path)
        monkeypatch.setenv("ARB_ALERTS__WEBHOOK_URL", f"{got.url}/hooks/arb")
        monkeypatch.setenv("ARB_ALERTS__TELEGRAM_TOKEN", "123:bot-token")
        monkeypatch.setenv("ARB_ALERTS__TELEGRAM_CHAT_ID", "-1001")
        monkeypatch.setenv("ARB_ALERTS__TELEGRAM_API_URL", got.url)
        assert await run(load_settings(None), OPTIONS) == 0
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync("SELECT id, state FROM intents WHERE state != 'skipped'")
    ledger.close()
    assert [r["state"] for r in intents] == ["one_legged"]
    intent_id = intents[0]["id"]
    hooks = [body for path, body in got.requests if path == "/hooks/arb"]
    telegram = [body for path, body in got.requests if path == "/bot123:bot-token/sendMessage"]
    assert [(h["source"], h["kind"], h["intent_id"], h["symbol"]) for h in hooks] == [
        ("arb", "one_legged", intent_id, "BTC/USDT")
    ]
    assert hooks[0]["text"].startswith(f"one-legged trade {intent_id} BTC/USDT")
    assert [(t["chat_id"], t["text"]) for t in telegram] == [("-1001", hooks[0]["text"])]
