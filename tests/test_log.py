"""Logging: secrets masked in every sink; hot-path events all reach loguru, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loguru import logger

from arb.log import HotLog, setup_logging


def test_secrets_never_reach_a_sink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "arb.jsonl"
    setup_logging("DEBUG", log_file, secrets=["KEY-abc123", "SECRET-xyz789"])
    logger.bind(venue="mexc").error(
        "signed GET /api/v3/account?key=KEY-abc123 failed: SECRET-xyz789"
    )
    logger.complete()
    logger.remove()
    err = capsys.readouterr().err
    text = log_file.read_text()
    assert "KEY-abc123" not in err + text
    assert "SECRET-xyz789" not in err + text
    assert "mexc: signed GET /api/v3/account?key=*** failed: ***" in err
    assert json.loads(text.splitlines()[0])["record"]["message"].endswith("failed: ***")


def test_hot_log_delivers_every_event_in_order() -> None:
    seen: list[str] = []
    logger.remove()
    sink = logger.add(lambda m: seen.append(m.record["message"]), level="DEBUG")
    hot = HotLog(interval=0.001)
    for i in range(10_000):
        hot.record("DEBUG", "update {} on {}", i, "gateio")
    hot.close()
    logger.remove(sink)
    assert hot.recorded == hot.delivered == 10_000
    assert seen == [f"update {i} on gateio" for i in range(10_000)]
