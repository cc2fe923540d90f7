"""`arb replay` output: opportunities as JSON lines, a summary, the paper report, a sweep table."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from arb.config import Settings
from arb.errors import ConfigError
from arb.record.replay import ReplayOptions, ReplayResult, replay
from arb.report import build_report
from arb.report import report as print_report
from arb.scan.detector import OpportunityEvent
from arb.scan.output import event_json

LoadSettings = Callable[[], Settings]


@dataclass(frozen=True, slots=True)
class Sweep:
    """`--sweep key=v1,v2,...`: one setting and the values to replay with."""

    key: str
    values: tuple[str, ...]


def parse_sweep(text: str, settings: Settings) -> Sweep:
    """Parse `section.key=v1,v2`; ConfigError naming --sweep unless it is a known setting."""
    key, sep, values = text.partition("=")
    key = key.strip().lower()
    parts = key.split(".")
    items = tuple(v.strip() for v in values.split(",") if v.strip())
    if not sep or not items:
        raise ConfigError("--sweep", f"expected key=v1,v2,..., got {text!r}")
    section = getattr(settings, parts[0], None) if len(parts) == 2 else None
    if section is None or parts[0] in ("venues", "ledger", "log") or not hasattr(section, parts[1]):
        raise ConfigError("--sweep", f"{key!r} is not a setting a replay can vary")
    return Sweep(key, items)


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    # Settings are validated where they are loaded: the swept value goes in as its
    # ARB_ environment variable, so a bad one exits 2 naming the key, as anywhere else.
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def swept_settings(load: LoadSettings, sweep: Sweep, value: str) -> Settings:
    """The settings with one swept value applied."""
    with _env("ARB_" + sweep.key.upper().replace(".", "__"), value):
        return load()


async def replay_command(
    settings: Settings, options: ReplayOptions, *, as_json: bool, keep_ledger: bool
) -> int:
    """One replay: JSON lines (with --json) on stdout, the summary (and paper report) after."""
    console = Console(stderr=as_json)
    lines: list[str] = []

    def on_event(event: OpportunityEvent) -> None:
        if as_json:
            lines.append(event_json(event))

    with _paper_ledger(options, keep_ledger) as run:
        result = await replay(settings, run, on_event)
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
        for line in summary(result):
            console.print(line, highlight=False)
        if run.paper and run.ledger is not None:
            if not as_json:
                print_report(run.ledger, False)
            if keep_ledger:
                console.print(f"paper ledger: {run.ledger} (arb report reads it)")
    return 0


def summary(result: ReplayResult) -> list[str]:
    """The replay's summary lines."""
    rate = result.updates / result.elapsed_s if result.elapsed_s > 0 else 0.0
    best = result.best
    lines = [
        f"replayed {result.frames} frames ({result.recorded_s:.1f} s recorded) in "
        f"{result.elapsed_s:.2f} s: {result.updates} book updates ({rate:,.0f}/s), "
        f"{result.resyncs} resyncs, {result.stale_refused} stale refused",
        f"opportunities: {result.opportunities}"
        + (
            f"; best {best.net_profit} {best.symbol} {best.buy_venue} -> {best.sell_venue}"
            if best is not None
            else ""
        ),
    ]
    if result.trades_submitted:
        lines.append(f"paper trades submitted: {result.trades_submitted}")
    return lines


@contextlib.contextmanager
def _paper_ledger(options: ReplayOptions, keep: bool) -> Iterator[ReplayOptions]:
    """A fresh ledger for paper trades: the one asked for, or a temporary one."""
    if not options.paper or keep:
        yield options
        return
    with tempfile.TemporaryDirectory(prefix="arb-replay-") as folder:
        yield replace(options, ledger=Path(folder) / "replay.sqlite")


async def sweep_command(
    load: LoadSettings, options: ReplayOptions, sweep: Sweep, console: Console | None = None
) -> int:
    """Replay once per swept value and print one table row per value."""
    rows = []
    for value in sweep.values:
        settings = swept_settings(load, sweep, value)
        with _paper_ledger(options, keep=False) as run:
            result = await replay(settings, run, lambda _: None)
            totals = _totals(run.ledger) if run.paper and run.ledger is not None else None
        rows.append(_row(value, result, totals))
    (console or Console()).print(sweep_table(sweep.key, rows, paper=options.paper))
    return 0


def _totals(ledger: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        totals: dict[str, Any] = build_report(conn)["totals"]
        return totals
    finally:
        conn.close()


def _row(value: str, result: ReplayResult, totals: dict[str, Any] | None) -> list[str]:
    best = result.best.net_profit if result.best is not None else "-"
    row = [value, str(result.opportunities), str(best)]
    if totals is not None:
        row += [str(totals[k]) for k in ("trades", "pnl", "fees", "one_legged")]
    return row


def sweep_table(key: str, rows: Sequence[list[str]], *, paper: bool) -> Table:
    """The sweep's table: one row per value."""
    table = Table(title=f"replay sweep over {key}", title_justify="left")
    columns = [key, "opportunities", "best net"]
    if paper:
        columns += ["trades", "P&L", "fees", "one-legged"]
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table
