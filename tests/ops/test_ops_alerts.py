"""Alerts: delivery to a local receiver, retries, refusals, a full queue, what raises them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from loguru import logger
from opstools import receiver

from arb.config import AlertSettings, Secret, Settings
from arb.domain.symbols import SymbolTable
from arb.execution.executor import Executor
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger, insert
from arb.log import HotLog
from arb.ops.alerts import Alert, Alerter, AlertKind
from arb.ops.status import Sources
from arb.ops.watch import Watch, daily_pnl
from arb.scan.engine import FeedState, Pipeline

TOKEN = "987:secret-bot-token"


def settings_for(url: str, **more: object) -> AlertSettings:
    base = AlertSettings(
        webhook_url=Secret(f"{url}/hook"),
        telegram_token=Secret(TOKEN),
        telegram_chat_id="42",
        telegram_api_url=url,
    )
    return replace(base, **more)


async def deliver(alerter: Alerter, *alerts: Alert) -> None:
    task = asyncio.create_task(alerter.run())
    for alert in alerts:
        alerter.send(alert)
    await alerter.drain()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_an_alert_is_posted_to_the_webhook_and_sent_to_telegram() -> None:
    async with receiver() as got:
        alerter = Alerter(settings_for(got.url))
        await deliver(alerter, Alert(AlertKind.BREAKER, "circuit breaker tripped: x", 0))
    assert got.requests == [
        (
            "/hook",
            {
                "source": "arb",
                "kind": "breaker_tripped",
                "text": "circuit breaker tripped: x",
                "at": "1970-01-01T00:00:00.000+00:00",
            },
        ),
        (f"/bot{TOKEN}/sendMessage", {"chat_id": "42", "text": "circuit breaker tripped: x"}),
    ]
    assert (alerter.sent, alerter.failed) == (2, 0)


async def test_a_5xx_is_retried_until_delivered() -> None:
    async with receiver() as got:
        got.fail_first = 2
        alerter = Alerter(settings_for(got.url, telegram_chat_id=None), wait_s=0.001)
        await deliver(alerter, Alert(AlertKind.VENUE_DOWN, "mexc down"))
    assert [path for path, _ in got.requests] == ["/hook", "/hook", "/hook"]
    assert (alerter.sent, alerter.failed) == (1, 0)


async def test_a_refused_delivery_is_not_retried_and_the_token_is_never_logged() -> None:
    lines: list[str] = []
    handler = logger.add(lines.append, level="DEBUG")
    try:
        async with receiver() as got:
            got.status = 401
            alerter = Alerter(settings_for(got.url), wait_s=0.001)
            await deliver(alerter, Alert(AlertKind.BREAKER, "tripped"))
    finally:
        logger.remove(handler)
    assert len(got.requests) == 2  # one try per target: a 4xx will not get better
    assert (alerter.sent, alerter.failed) == (0, 2)
    assert any("telegram alert breaker_tripped not delivered: HTTP 401" in line for line in lines)
    assert not any(TOKEN in line or "/hook" in line for line in lines)


async def test_an_unreachable_target_is_given_up_after_the_retries() -> None:
    async with receiver() as got:
        url = got.url
    alerter = Alerter(settings_for(url, telegram_chat_id=None, retries=3), wait_s=0.001)
    await deliver(alerter, Alert(AlertKind.BREAKER, "tripped"))
    assert (alerter.sent, alerter.failed) == (0, 1)


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    alerter = Alerter(settings_for("http://127.0.0.1:9", queue_size=2))
    results = [alerter.send(Alert(AlertKind.VENUE_DOWN, f"down {i}")) for i in range(4)]
    assert results == [True, True, False, False]
    assert alerter.dropped == 2


def test_without_a_target_nothing_is_queued() -> None:
    alerter = Alerter(AlertSettings())
    assert alerter.send(Alert(AlertKind.BREAKER, "tripped")) is False
    assert alerter.dropped == 0


class Clock:
    def __init__(self, mono: float, ms: int) -> None:
        self.mono, self.ms = mono, ms


def sources(ledger: Ledger, with_executor: bool = True) -> Sources:
    hot = HotLog()
    hot.close()
    pipeline = Pipeline(Settings(), {}, SymbolTable([]), (), lambda _: None, hot=hot)
    pipeline.feeds.update(mexc=FeedState(state="connected"), gateio=FeedState(state="connected"))
    executor = None
    if with_executor:
        settings = ExecutionSettings(kill_switch_path=None)
        executor = Executor({}, ledger, settings, RiskGuard(ledger, settings))
    return Sources(pipeline, ledger, executor, "sandbox", 0)


async def test_the_watch_alerts_a_breaker_trip_a_venue_down_too_long_and_its_return(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    src = sources(ledger)
    clock = Clock(100.0, 1_700_000_000_000)
    async with receiver() as got:
        alerter = Alerter(settings_for(got.url, telegram_chat_id=None, venue_down_s=30))
        watch = Watch(src, alerter, clock_ms=lambda: clock.ms, mono=lambda: clock.mono)
        task = asyncio.create_task(alerter.run())
        await watch.tick()
        assert src.executor is not None
        await src.executor.guard.trip("3 failed or one-legged trades in a row")
        feed = src.pipeline.feeds["gateio"]
        feed.state, feed.last_error = "error", "BTC/USDT: connection closed"
        await watch.tick()
        clock.mono += 29
        await watch.tick()  # down for 29 s: not yet
        clock.mono += 1
        await watch.tick()
        clock.mono += 10
        await watch.tick()  # still down: alerted once only
        feed.state = "connected"
        await watch.tick()
        await alerter.drain()
        task.cancel()
    ledger.close()
    assert [(body["kind"], body["text"]) for _, body in got.requests] == [
        ("breaker_tripped", "circuit breaker tripped: 3 failed or one-legged trades in a row"),
        ("venue_down", "gateio down for 30 s (BTC/USDT: connection closed)"),
        ("venue_up", "gateio is back"),
    ]


async def test_the_day_s_realised_pnl_is_sent_after_midnight_utc(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    day = 1_717_200_000_000  # 2024-06-01T00:00:00Z
    for n, (pnl, fees, one_legged, at) in enumerate(
        [("1.25", "0.40", 0, day + 5), ("-0.5", "0.10", 1, day + 60_000), ("9", "1", 0, day - 1)]
    ):
        await ledger.write(
            insert(
                "intents",
                {
                    "id": f"i{n}",
                    "created_at_ms": at,
                    "symbol": "BTC/USDT",
                    "buy_exchange": "mexc",
                    "sell_exchange": "gateio",
                    "amount": "0.01",
                    "buy_price": "1",
                    "sell_price": "1",
                    "expected_profit": "1",
                    "state": "settled",
                    "updated_at_ms": at,
                },
            ),
            insert(
                "trades",
                {
                    "intent_id": f"i{n}",
                    "at_ms": at,
                    "symbol": "BTC/USDT",
                    "buy_exchange": "mexc",
                    "sell_exchange": "gateio",
                    "bought": "0.01",
                    "sold": "0.01",
                    "buy_cost": "1",
                    "sell_proceeds": "1",
                    "fees": fees,
                    "realized_pnl": pnl,
                    "one_legged": one_legged,
                },
            ),
        )
    alert = await daily_pnl(ledger, day)
    assert (
        alert.text == "daily P&L 2024-06-01 (UTC): 0.75 quote, fees 0.50, 2 trades (1 one-legged)"
    )
    clock = Clock(0.0, day + 86_400_000 - 1)
    async with receiver() as got:
        alerter = Alerter(settings_for(got.url, telegram_chat_id=None))
        watch = Watch(sources(ledger), alerter, clock_ms=lambda: clock.ms, mono=lambda: clock.mono)
        task = asyncio.create_task(alerter.run())
        await watch.tick()
        clock.ms += 1  # midnight
        await watch.tick()
        await watch.tick()
        await alerter.drain()
        task.cancel()
    ledger.close()
    assert [(b["kind"], b["day"], b["pnl"], b["trades"]) for _, b in got.requests] == [
        ("daily_pnl", "2024-06-01", "0.75", "2")
    ]
    assert Decimal(got.requests[0][1]["fees"]) == Decimal("0.5")


async def test_daily_pnl_can_be_turned_off(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    clock = Clock(0.0, 1_717_200_000_000 - 1)
    alerter = Alerter(settings_for("http://127.0.0.1:9", daily_pnl=False, queue_size=1))
    watch = Watch(sources(ledger), alerter, clock_ms=lambda: clock.ms, mono=lambda: clock.mono)
    clock.ms += 1
    await watch.tick()
    ledger.close()
    assert alerter.send(Alert(AlertKind.BREAKER, "x")) is True  # the one-slot queue was still empty
    assert alerter.dropped == 0
