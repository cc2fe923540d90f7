"""The ledger: WAL mode, durable awaited writes, queued writes that survive close, exact money."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from arb.ledger import Ledger, insert


def opportunity_row(profit: str) -> dict[str, object]:
    return {
        "detected_at_ms": 1_700_000_000_000,
        "symbol": "BTC/USDT",
        "buy_exchange": "mexc",
        "sell_exchange": "gateio",
        "amount": Decimal("0.001234"),
        "buy_price": Decimal("42000.1"),
        "sell_price": Decimal("42100.2"),
        "net_profit": Decimal(profit),
        "net_profit_pct": Decimal("0.123"),
        "source": "scan",
    }


async def test_awaited_write_is_on_disk_for_another_connection(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    await ledger.write(insert("opportunities", opportunity_row("0.10000000000000000001")))
    other = sqlite3.connect(tmp_path / "l.sqlite")
    rows = other.execute("SELECT amount, net_profit FROM opportunities").fetchall()
    assert rows == [("0.001234", "0.10000000000000000001")]
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()
    ledger.close()


async def test_queued_writes_are_all_delivered_by_close(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    for i in range(500):
        ledger.record(insert("opportunities", opportunity_row(str(i))))
    ledger.close()
    reopened = Ledger(tmp_path / "l.sqlite")
    rows = reopened.query_sync(
        "SELECT count(*) AS n, sum(CAST(net_profit AS INTEGER)) AS s FROM opportunities"
    )
    assert (rows[0]["n"], rows[0]["s"]) == (500, sum(range(500)))
    reopened.close()


async def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    good = insert("opportunities", opportunity_row("1"))
    bad = ("INSERT INTO opportunities (symbol) VALUES (?)", ("BTC/USDT",))  # NOT NULL columns
    with pytest.raises(sqlite3.IntegrityError):
        await ledger.write(good, bad)
    assert (await ledger.query("SELECT count(*) AS n FROM opportunities"))[0]["n"] == 0
    ledger.close()


def test_a_failed_queued_write_surfaces_on_close(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.record(("INSERT INTO nowhere VALUES (1)", ()))
    with pytest.raises(sqlite3.OperationalError):
        ledger.close()
