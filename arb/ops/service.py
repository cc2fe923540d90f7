"""Wires operations into a running `arb run` / `arb scan`: server, metrics, alerts, reload."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from loguru import logger

from arb.config import Settings, load_settings, secret_values
from arb.errors import ConfigError
from arb.execution.executor import TradeOutcome
from arb.log import reconfigure_logging
from arb.ops.alerts import Alerter
from arb.ops.metrics import Metrics
from arb.ops.reload import Reloader
from arb.ops.server import build_app, serve
from arb.ops.status import Sources
from arb.ops.watch import Watch, trade_alert
from arb.scan.detector import Limits

DRAIN_S = 5.0  # at shutdown, time given to alerts still queued


@dataclass(frozen=True, slots=True)
class Operations:
    """The running operations parts (tests and the summary read them)."""

    metrics: Metrics
    alerter: Alerter
    reloader: Reloader
    url: str | None  # the status server's base URL, None when off


def apply_settings(src: Sources, alerter: Alerter, old: Settings, new: Settings) -> None:
    """Swap in the live settings: new frozen limits for the detector and the executor."""
    t, r = new.trading, new.risk
    src.pipeline.detector.set_limits(Limits(t.max_notional, t.min_profit, t.min_profit_pct))
    if src.executor is not None:
        src.executor.reconfigure(
            replace(
                src.executor.settings,
                max_notional=t.max_notional,
                min_profit=t.min_profit,
                min_profit_pct=t.min_profit_pct,
                max_exposure=r.max_exposure,
                max_daily_loss=r.max_daily_loss,
                max_consecutive_failures=r.max_consecutive_failures,
                max_venue_errors=r.max_venue_errors,
                max_latency_ms=r.max_latency_ms,
            )
        )
    if old.log.level != new.log.level or old.alerts != new.alerts:
        reconfigure_logging(new.log.level, secret_values(new))
    alerter.settings = new.alerts


@asynccontextmanager
async def operations(settings: Settings, src: Sources) -> AsyncIterator[Operations]:
    """Run the status server (if `status.listen`), alerts and reload around the block."""
    metrics = Metrics(src.pipeline, src.executor)
    alerter = Alerter(settings.alerts)
    if src.executor is not None:
        src.executor.on_outcome = lambda outcome: _on_outcome(metrics, alerter, outcome)
    reloader = Reloader(
        settings.settings_file,
        await _as_in_file(settings),
        lambda old, new: apply_settings(src, alerter, old, new),
    )
    jobs: list[Coroutine[Any, Any, None]] = [alerter.run(), Watch(src, alerter).run()]
    jobs.append(reloader.watch())
    tasks = [asyncio.create_task(job, name="arb-ops") for job in jobs]
    try:
        async with AsyncExitStack() as stack:
            url = None
            if settings.status.listen is not None:
                host, port = settings.status.listen
                app = build_app(src, metrics, settings.status.token)
                url = await stack.enter_async_context(serve(app, host, port, settings.status.token))
            yield Operations(metrics, alerter, reloader, url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(alerter.drain(), DRAIN_S)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _on_outcome(metrics: Metrics, alerter: Alerter, outcome: TradeOutcome) -> None:
    metrics.trades.on_outcome(outcome)
    alert = trade_alert(outcome)
    if alert is not None:
        alerter.send(alert)


async def _as_in_file(settings: Settings) -> Settings:
    """The settings as the files give them (without --exchanges / --symbols): what a reload
    compares with."""
    try:
        return await asyncio.to_thread(load_settings, settings.settings_file)
    except ConfigError as exc:  # changed since start-up: compare with what runs
        logger.warning("settings file no longer loads ({}); a reload compares with start-up", exc)
        return settings
