"""`arb record` / `arb replay`: a sandbox run recorded and replayed through the real pipeline."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from arb.config import load_settings
from arb.ledger import Ledger
from arb.record.files import Frame, FrameWriter, read_frames
from arb.record.recorder import RecordOptions, record
from arb.record.replay import ReplayOptions, replay
from arb.scan.command import ScanOptions
from arb.scan.detector import OpportunityEvent
from arb.scan.output import event_json

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "recordings" / "sandbox-sample"


def _decided(line: str) -> dict[str, Any]:
    """An opportunity line without the two fields that are clocks of the run itself."""
    event = json.loads(line)
    del event["detected_at"], event["latency_us"]  # live: decision time; replay: frame time
    return event


async def _replayed(folder: Path, **options: Any) -> list[str]:
    lines: list[str] = []

    def on_event(event: OpportunityEvent) -> None:
        lines.append(event_json(event))

    await replay(load_settings(), ReplayOptions(folder=folder, **options), on_event)
    return lines


async def test_a_recorded_sandbox_run_replays_to_the_opportunities_the_live_scan_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rec"
    options = RecordOptions(out=out, scan=ScanOptions(as_json=True, duration=7.0, sandbox=True))
    # Two venues: with more, frames of different venues that arrive together can be decided
    # in another order live than their receive order, which replay follows.
    two = load_settings().with_overrides(exchanges=("mexc", "gateio"))
    assert await record(two, options) == 0
    live = [_decided(line) for line in capsys.readouterr().out.splitlines()]
    assert live, "the default scenario plants dislocations every few seconds"
    kinds = {f.kind for f in read_frames(out)}
    assert kinds >= {"markets", "ws"}
    first = await _replayed(out)
    second = await _replayed(out)
    assert first == second  # byte for byte
    assert [_decided(line) for line in first] == live


async def test_the_shipped_recording_replays_identically_to_what_was_printed_live() -> None:
    live = [_decided(line) for line in (SAMPLE / "live.jsonl").read_text().splitlines()]
    first = await _replayed(SAMPLE)
    assert first == await _replayed(SAMPLE)
    assert [_decided(line) for line in first] == live
    assert len(live) > 10


def test_paper_replay_writes_the_trades_arb_report_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for venue in ("MEXC", "GATEIO"):
        monkeypatch.setenv(f"ARB_PAPER__BALANCES__{venue}__USDT", "1000")
        monkeypatch.setenv(f"ARB_PAPER__BALANCES__{venue}__BTC", "0.01")
    ledger = tmp_path / "paper.sqlite"
    with pytest.raises(SystemExit) as done:
        main(["replay", str(SAMPLE), "--paper", "--ledger", str(ledger)])
    assert done.value.code == 0
    assert "paper ledger" in capsys.readouterr().out
    conn = Ledger(ledger)
    try:
        trades = conn.query_sync("SELECT symbol, fees, one_legged FROM trades")
        intents = conn.query_sync("SELECT state FROM intents")
    finally:
        conn.close()
    assert trades
    assert intents
    assert {row["symbol"] for row in trades} <= {"BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"}
    with pytest.raises(SystemExit) as again:
        main(["replay", str(SAMPLE), "--paper", "--ledger", str(ledger)])
    assert again.value.code == 2  # never mixed into an existing ledger


def test_a_sweep_prints_one_row_per_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["replay", str(SAMPLE), "--sweep", "trading.min_profit=0.2,100"])
    assert done.value.code == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "│" in line]
    assert [r.split("│")[1].strip() for r in rows] == ["0.2", "100"]
    assert rows[-1].split("│")[2].strip() == "0"  # nothing nets 100 USDT


def test_a_sweep_of_an_unknown_setting_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["replay", str(SAMPLE), "--sweep", "trading.nope=1"])
    assert done.value.code == 2
    assert "--sweep" in capsys.readouterr().err


def test_a_flushed_recording_reads_back_without_its_gzip_trailer(tmp_path: Path) -> None:
    writer = FrameWriter(tmp_path, flush_s=0.05)
    frames = [Frame(i, 1000 + i, "mexc", 0, "ws", "ws://x", b"\x0a\x01" * i) for i in range(5)]
    for frame in frames:
        writer.put(frame)
    writer.close()
    path = next(tmp_path.glob("frames-*.jsonl.gz"))
    path.write_bytes(path.read_bytes()[:-8])  # what a killed writer leaves: no trailer
    assert list(read_frames(tmp_path)) == frames


def test_a_killed_recorder_keeps_all_but_the_last_second(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    env = {**os.environ, "ARB_LEDGER__PATH": str(tmp_path / "l.sqlite")}
    command = [sys.executable, "-m", "arb", "record", "--sandbox", "--out", str(out)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(1 for _ in _safe_frames(out)) < 50:
            time.sleep(0.2)
        time.sleep(2.0)
        killed_ms = time.time_ns() // 1_000_000
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    frames = list(read_frames(out))
    assert len(frames) >= 50
    # Flushed at least every second; frames arrive every 100 ms (margin for a busy machine).
    assert killed_ms - frames[-1].wall_ms < 2500
    shutil.rmtree(out)


def _safe_frames(out: Path) -> list[Frame]:
    return list(read_frames(out)) if out.is_dir() else []
