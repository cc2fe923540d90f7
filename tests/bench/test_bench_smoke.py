"""Every benchmark runs end to end at tiny sizes, so none can rot; no timing is asserted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from bench.suite import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "scripts" / "bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    code = _script().main(["--quick", "--json", str(out)])
    return code, json.loads(out.read_text()), str(out)


def test_every_benchmark_ran_without_error(quick_report: tuple[int, dict[str, Any], str]) -> None:
    code, report, _ = quick_report
    assert report["errors"] == {}
    assert code == 0
    assert set(report["seconds_per_benchmark"]) == set(BENCHMARKS)


def test_rows_carry_measured_numbers_and_a_verdict(
    quick_report: tuple[int, dict[str, Any], str],
) -> None:
    _, report, _ = quick_report
    assert report["rows"]
    for row in report["rows"]:
        for side in ("ours", "baseline"):
            stat = row[side]
            if stat is not None:
                assert stat["median"] > 0
                assert stat["p99"] >= stat["median"]
                assert stat["samples"] > 0
        if row["target"].startswith(("<", ">")):
            assert isinstance(row["passed"], bool), row["operation"]


def test_report_states_python_and_cpu(quick_report: tuple[int, dict[str, Any], str]) -> None:
    _, report, _ = quick_report
    assert report["environment"]["python"].startswith("CPython 3.")
    assert report["environment"]["cpu"]
    assert report["quick"] is True


def test_hot_log_delivered_every_event(quick_report: tuple[int, dict[str, Any], str]) -> None:
    _, report, _ = quick_report
    (row,) = [r for r in report["rows"] if r["operation"].startswith("hot-path log")]
    details = row["details"]
    assert details["recorded"] > 0
    assert details["delivered"] == details["recorded"]
    assert details["sink_lines"] == details["recorded"] + details["direct_calls"]


def test_detector_found_the_cross_and_only_the_cross(
    quick_report: tuple[int, dict[str, Any], str],
) -> None:
    _, report, _ = quick_report
    rows = {r["operation"]: r for r in report["rows"]}
    for frame in ("Gate spot.obu delta", "MEXC push"):
        cross = rows[f"evaluation, profitable cross: Detector.on_book after a {frame}"]
        calm = rows[f"evaluation, no opportunity: Detector.on_book after a {frame}"]
        assert float(cross["details"]["net_profit_usdt"]) >= 0.5  # the bench's min_profit
        assert cross["details"]["events_on_first_update"] == 1  # the one direction that pays
        assert calm["details"]["events_on_first_update"] == 0
