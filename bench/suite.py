"""Runs every benchmark and renders the one results table (text and JSON)."""

from __future__ import annotations

import asyncio
import inspect
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from loguru import logger

from bench import (
    detect,
    execution,
    hotlog,
    ingest,
    lookup,
    memory_frames,
    ops_metrics,
    pipeline,
    reference,
    replay,
    scale,
    shards,
    startup,
)
from bench.harness import Row, environment

Benchmark = Callable[[bool], Any]  # returns list[Row] or an awaitable of one

BENCHMARKS: dict[str, Benchmark] = {
    "lookup": lookup.run,
    "hotlog": hotlog.run,
    "ops_metrics": ops_metrics.run,
    "mexc_ingest": ingest.mexc_rows,
    "gate_ingest": ingest.gate_rows,
    "detect": detect.run,
    "memory": memory_frames.run,
    "settings": startup.settings_rows,
    "markets": startup.market_rows,
    "pipeline": pipeline.run,
    "reference": reference.run,
    "execution": execution.run,
    "replay": replay.run,
    "scale_markets": scale.market_rows,
    "scale_startup": scale.startup_rows,
    "scale_pipeline": scale.latency_rows,
    "shards": shards.run,
}


def run_all(quick: bool, only: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen benchmarks (all by default) and return the JSON-ready report.

    A benchmark that raises becomes one row with passed None and the error in its notes;
    the others still run.
    """
    quiet_logs()
    started = time.time()
    rows: list[Row] = []
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    for name, bench in BENCHMARKS.items():
        if only and name not in only:
            continue
        began = time.perf_counter()
        try:
            rows.extend(_call(bench, quick))
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
            errors[name] = traceback.format_exc()
            rows.append(_failed(name, exc))
        timings[name] = round(time.perf_counter() - began, 2)
    return {
        "environment": environment(),
        "quick": quick,
        "started_unix": round(started, 1),
        "duration_s": round(time.time() - started, 1),
        "seconds_per_benchmark": timings,
        "rows": [row.as_json() for row in rows],
        "errors": errors,
    }


def quiet_logs() -> None:
    """Only warnings and errors on stderr: the table is the output."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def _call(bench: Benchmark, quick: bool) -> list[Row]:
    result = bench(quick)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    rows: list[Row] = list(result)
    return rows


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _failed(name: str, exc: BaseException) -> Row:
    return Row(
        operation=f"{name} (benchmark failed)",
        ours=None,
        baseline=None,
        ratio=None,
        ratio_means="",
        target="",
        passed=None,
        notes=f"{type(exc).__name__}: {exc}",
    )


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table with the environment stated above it."""
    env = report["environment"]
    lines = [
        f"{env['python']} on {env['cpu']} ({env['cpus']} CPUs), ccxt {env['ccxt']}, "
        f"protobuf {env['protobuf']}; medians with p99 in brackets"
        + (" (quick run: tiny samples, numbers are not meaningful)" if report["quick"] else ""),
        "",
        "| operation | ours | baseline | ratio | target | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        lines.append(
            "| "
            + " | ".join(
                [
                    row["operation"],
                    _stat(row["ours"]),
                    _stat(row["baseline"]),
                    "" if row["ratio"] is None else f"{row['ratio']} ({row['ratio_means']})",
                    row["target"],
                    _verdict(row["passed"]),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def _stat(stat: dict[str, Any] | None) -> str:
    if stat is None:
        return "-"
    return f"{_num(stat['median'])} {stat['unit']} (p99 {_num(stat['p99'])})"


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "MISS", None: "-"}[passed]
