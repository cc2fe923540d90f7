"""Settings reload: a live setting applies, another is refused by name, a bad file is kept out."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from loguru import logger
from test_ops_alerts import sources

from arb.config import load_settings
from arb.ledger import Ledger
from arb.ops.alerts import Alerter
from arb.ops.reload import Reloader, flatten, plan
from arb.ops.service import apply_settings
from arb.ops.status import Sources

FILE = """
[default]
symbols = ["BTC/USDT"]
[default.trading]
min_profit = {min_profit}
[default.market_data]
depth = {depth}
[default.alerts]
venue_down_s = 60
"""


def write(path: Path, min_profit: str = "0.5", depth: int = 20) -> None:
    path.write_text(FILE.format(min_profit=min_profit, depth=depth))


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(m.record["message"]), level="DEBUG")
    yield lines
    logger.remove(handler)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, Sources, Alerter, Reloader]]:
    path = tmp_path / "settings.toml"
    write(path)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    src = sources(ledger)
    settings = load_settings(path)
    alerter = Alerter(settings.alerts)
    reloader = Reloader(path, settings, lambda old, new: apply_settings(src, alerter, old, new))
    yield path, src, alerter, reloader
    ledger.close()


async def test_a_live_setting_applies_to_the_detector_and_the_executor(
    running: tuple[Path, Sources, Alerter, Reloader], logs: list[str]
) -> None:
    path, src, _, reloader = running
    assert src.executor is not None
    before = src.executor.settings
    write(path, min_profit="0.75")
    result = await reloader.reload("SIGHUP")
    assert result is not None
    assert [c.key for c in result.applied] == ["trading.min_profit"]
    assert src.pipeline.detector.limits.min_profit == Decimal("0.75")
    assert src.executor.settings.min_profit == Decimal("0.75")
    assert src.executor.settings is not before  # a new frozen value, swapped in
    assert before.min_profit == Decimal("0.5")
    assert "settings reload (SIGHUP): trading.min_profit: 0.5 -> 0.75" in logs


async def test_a_setting_that_cannot_change_live_is_refused_by_name(
    running: tuple[Path, Sources, Alerter, Reloader], logs: list[str]
) -> None:
    path, src, _, reloader = running
    write(path, min_profit="0.6", depth=50)
    result = await reloader.reload("file changed")
    assert result is not None
    assert [c.key for c in result.refused] == ["market_data.depth"]
    assert reloader.running.market_data.depth == 20
    assert src.pipeline.detector.limits.min_profit == Decimal("0.6")  # the live one still applies
    assert any(
        "market_data.depth cannot change while running; restart to apply it (kept 20)" in line
        for line in logs
    )


async def test_a_bad_file_keeps_the_running_settings_and_says_why(
    running: tuple[Path, Sources, Alerter, Reloader], logs: list[str]
) -> None:
    path, src, _, reloader = running
    write(path, min_profit='"lots"')
    assert await reloader.reload("SIGHUP") is None
    assert src.pipeline.detector.limits.min_profit == Decimal("0.5")
    assert reloader.running.trading.min_profit == Decimal("0.5")
    assert any(
        "settings reload (SIGHUP) refused, running settings kept: trading.min_profit" in line
        for line in logs
    )


async def test_sighup_and_a_file_change_both_reload(
    running: tuple[Path, Sources, Alerter, Reloader],
) -> None:
    path, src, alerter, reloader = running
    watcher = asyncio.create_task(reloader.watch(poll_s=0.02))
    try:
        await asyncio.sleep(0.1)  # the watcher took the files' first modification times
        write(path, min_profit="0.8")
        stamp = path.stat().st_mtime_ns + 1_000_000_000
        os.utime(path, ns=(stamp, stamp))  # a coarse file-system clock must still see it
        for _ in range(200):
            if src.pipeline.detector.limits.min_profit == Decimal("0.8"):
                break
            await asyncio.sleep(0.02)
        assert src.pipeline.detector.limits.min_profit == Decimal("0.8")
        path.write_text(path.read_text().replace("venue_down_s = 60", "venue_down_s = 5"))
        os.utime(path, ns=(stamp, stamp))  # same time as before: only SIGHUP can tell
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            if alerter.settings.venue_down_s == 5:
                break
            await asyncio.sleep(0.02)
        assert alerter.settings.venue_down_s == 5
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


def test_secrets_are_compared_but_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    write(path)
    (tmp_path / ".secrets.toml").write_text('[default.alerts]\ntelegram_token = "111:aaa"\n')
    old = load_settings(path)
    (tmp_path / ".secrets.toml").write_text('[default.alerts]\ntelegram_token = "222:bbb"\n')
    result = plan(old, load_settings(path))
    assert [c.describe() for c in result.applied] == ["alerts.telegram_token: *** -> ***"]
    assert "exchanges.mexc.ws_url" in flatten(old)
