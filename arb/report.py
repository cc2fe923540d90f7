"""`arb report`: P&L, fees, trades, one-legged events and breaker trips from the ledger."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ZERO = Decimal(0)
Report = dict[str, Any]


def report(ledger_path: Path, as_json: bool) -> int:
    """Print the report of the ledger at `ledger_path`; the exit code (1 if there is none)."""
    if not ledger_path.is_file():
        Console(stderr=True).print(f"arb: no ledger at {ledger_path}", highlight=False)
        return 1
    # Read-only: a report never creates, migrates or locks the ledger a run is writing.
    conn = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        data = build_report(conn)
    finally:
        conn.close()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        _print(data, Console())
    return 0


def build_report(conn: sqlite3.Connection) -> Report:
    """The report as plain data: money as exact decimal strings."""
    return {
        "by_symbol": _by_symbol(conn),
        "by_venue": _by_venue(conn),
        "intents": _intents(conn),
        "breaker": _breaker(conn),
        "totals": _totals(conn),
    }


def _dec(value: object) -> Decimal:
    return ZERO if value in (None, "") else Decimal(str(value))


def _by_symbol(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute("SELECT * FROM trades ORDER BY symbol"):
        s = out.setdefault(
            row["symbol"],
            {
                "symbol": row["symbol"],
                "trades": 0,
                "one_legged": 0,
                "bought": ZERO,
                "sold": ZERO,
                "buy_cost": ZERO,
                "sell_proceeds": ZERO,
                "fees": ZERO,
                "pnl": ZERO,
            },
        )
        s["trades"] += 1
        s["one_legged"] += int(row["one_legged"])
        for key, column in (
            ("bought", "bought"),
            ("sold", "sold"),
            ("buy_cost", "buy_cost"),
            ("sell_proceeds", "sell_proceeds"),
            ("fees", "fees"),
            ("pnl", "realized_pnl"),
        ):
            s[key] += _dec(row[column])
    return [_strings(s) for s in out.values()]


def _by_venue(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute("SELECT * FROM orders ORDER BY exchange"):
        v = out.setdefault(
            row["exchange"],
            {
                "venue": row["exchange"],
                "orders": 0,
                "filled_orders": 0,
                "unwind_or_hedge": 0,
                "rejected": 0,
                "unknown": 0,
                "bought": ZERO,
                "sold": ZERO,
                "volume": ZERO,
                "fees": ZERO,
            },
        )
        v["orders"] += 1
        filled = _dec(row["filled"])
        v["filled_orders"] += int(filled > 0)
        v["unwind_or_hedge"] += int(row["role"] != "leg")
        v["rejected"] += int(row["status"] == "rejected")
        v["unknown"] += int(row["status"] in ("unknown", "sending"))
        v["bought" if row["side"] == "buy" else "sold"] += filled
        v["volume"] += _dec(row["cost"])
        v["fees"] += _fee_in_quote(row)
    return [_strings(v) for v in out.values()]


def _fee_in_quote(row: sqlite3.Row) -> Decimal:
    base = str(row["symbol"]).partition("/")[0]
    fee = _dec(row["fee"])
    if row["fee_currency"] == base:
        return fee * _dec(row["average"] or row["price"])
    return fee  # quote (or points the executor already converted to quote)


def _intents(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in conn.execute("SELECT symbol, state FROM intents"):
        counts[(row["symbol"], row["state"])] += 1
    return [{"symbol": s, "state": st, "count": n} for (s, st), n in sorted(counts.items())]


def _breaker(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"at": _when(row["at_ms"]), "kind": row["kind"], "reason": row["reason"]}
        for row in conn.execute("SELECT * FROM breaker_events ORDER BY id")
    ]


def _totals(conn: sqlite3.Connection) -> dict[str, Any]:
    trades = list(conn.execute("SELECT realized_pnl, fees, one_legged FROM trades"))
    trips = conn.execute("SELECT COUNT(*) FROM breaker_events WHERE kind = 'trip'").fetchone()[0]
    return _strings(
        {
            "trades": len(trades),
            "one_legged": sum(int(r["one_legged"]) for r in trades),
            "fees": sum((_dec(r["fees"]) for r in trades), ZERO),
            "pnl": sum((_dec(r["realized_pnl"]) for r in trades), ZERO),
            "breaker_trips": int(trips),
        }
    )


def _when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _strings(row: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def _table(title: str, rows: list[dict[str, Any]], empty: str) -> Table | str:
    if not rows:
        return f"[bold]{title}[/bold]: {empty}"
    table = Table(title=title, title_justify="left")
    for key in rows[0]:
        table.add_column(
            key.replace("_", " "),
            justify="left"
            if key in ("symbol", "venue", "state", "kind", "reason", "at")
            else "right",
        )
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def _print(data: Report, console: Console) -> None:
    console.print(_table("P&L by symbol", data["by_symbol"], "no trades yet"))
    console.print(_table("Orders by venue", data["by_venue"], "no orders yet"))
    console.print(_table("Intents", data["intents"], "none"))
    console.print(_table("Circuit breaker", data["breaker"], "never tripped"))
    t = data["totals"]
    console.print(
        f"[bold]Total[/bold]: {t['trades']} trades ({t['one_legged']} one-legged), "
        f"fees {t['fees']}, realised P&L {t['pnl']}, breaker trips {t['breaker_trips']}"
    )
