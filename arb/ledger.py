"""The SQLite ledger (WAL): opportunities, intents, orders, fills, trades and breaker events.

One writer thread owns the connection, so no database call ever runs on the event loop.
`await ledger.write(...)` returns once the row is committed to disk (an intent must be durable
before its orders are sent); `ledger.record(...)` queues a write and returns at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Params = Sequence[object]

# Money is stored as exact decimal strings, never as floats.
sqlite3.register_adapter(Decimal, str)

SCHEMA = """
CREATE TABLE IF NOT EXISTS opportunities (
    id INTEGER PRIMARY KEY,
    detected_at_ms INTEGER NOT NULL,   -- wall clock, ms since the epoch
    symbol TEXT NOT NULL,
    buy_exchange TEXT NOT NULL,
    sell_exchange TEXT NOT NULL,
    amount TEXT NOT NULL,              -- decimals are stored as exact strings
    buy_price TEXT NOT NULL,
    sell_price TEXT NOT NULL,
    net_profit TEXT NOT NULL,
    net_profit_pct TEXT NOT NULL,
    source TEXT NOT NULL               -- scan, run, paper, sandbox
);
CREATE TABLE IF NOT EXISTS intents (
    id TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    buy_exchange TEXT NOT NULL,
    sell_exchange TEXT NOT NULL,
    amount TEXT NOT NULL,
    buy_price TEXT NOT NULL,
    sell_price TEXT NOT NULL,
    expected_profit TEXT NOT NULL,     -- net if both legs fill as walked
    worst_case_profit TEXT,            -- net if both fill at their limit prices (sent intents)
    state TEXT NOT NULL,               -- skipped, pending, settled, one_legged, failed, halted
    reason TEXT,
    cycle_ms REAL,
    updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    intent_id TEXT NOT NULL REFERENCES intents(id),
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    role TEXT NOT NULL,                -- leg, unwind, hedge
    amount TEXT NOT NULL,
    price TEXT,
    order_id TEXT,
    status TEXT NOT NULL,              -- sending, open, closed, canceled, rejected, unknown
    filled TEXT NOT NULL DEFAULT '0',
    average TEXT,
    cost TEXT,
    fee TEXT,
    fee_currency TEXT,
    error TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    id INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL REFERENCES orders(client_order_id),
    at_ms INTEGER NOT NULL,
    amount TEXT NOT NULL,
    price TEXT NOT NULL,
    fee TEXT NOT NULL,
    fee_currency TEXT
);
CREATE TABLE IF NOT EXISTS trades (
    intent_id TEXT PRIMARY KEY REFERENCES intents(id),
    at_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    buy_exchange TEXT NOT NULL,
    sell_exchange TEXT NOT NULL,
    bought TEXT NOT NULL,
    sold TEXT NOT NULL,
    buy_cost TEXT NOT NULL,
    sell_proceeds TEXT NOT NULL,
    fees TEXT NOT NULL,                -- in the quote currency
    realized_pnl TEXT NOT NULL,
    one_legged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS breaker_events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,                -- trip, reset, kill
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_intent ON orders(intent_id);
CREATE INDEX IF NOT EXISTS intents_by_state ON intents(state);
"""


class Ledger:
    """A SQLite ledger whose every statement runs on one writer thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arb-ledger")
        self._local = threading.local()
        self._pending: set[Future[Any]] = set()
        self._errors: list[BaseException] = []
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed intent survives a power cut, not just a process crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        _migrate(conn)
        self._local.conn = conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self._local.conn
        return conn

    def _run(self, statements: Sequence[tuple[str, Params]]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                conn.execute(sql, params)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def write(self, *statements: tuple[str, Params]) -> None:
        """Run the statements in one transaction; return once it is committed."""
        await asyncio.wrap_future(self._executor.submit(self._run, statements))

    def record(self, *statements: tuple[str, Params]) -> None:
        """Queue the statements as one transaction and return at once (errors surface on close)."""
        future = self._executor.submit(self._run, statements)
        self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            self._errors.append(future.exception())  # type: ignore[arg-type]

    async def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Read rows (after every write queued before this call)."""
        return await asyncio.wrap_future(self._executor.submit(self._select, sql, params))

    def query_sync(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Read rows from outside the event loop (reports, tests)."""
        return self._executor.submit(self._select, sql, params).result()

    def _select(self, sql: str, params: Params) -> list[sqlite3.Row]:
        conn = self._conn()
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))

    def call(self, func: Callable[[sqlite3.Connection], T]) -> T:
        """Run `func(connection)` on the writer thread and wait (outside the event loop)."""
        return self._executor.submit(lambda: func(self._conn())).result()

    def close(self) -> None:
        """Finish every queued write, close the connection; raise the first failed write."""
        self._executor.submit(lambda: self._conn().close()).result()
        self._executor.shutdown(wait=True)
        if self._errors:
            raise self._errors[0]


# Columns added after a table was first released: (table, column, declaration).
_ADDED = (("intents", "worst_case_profit", "TEXT"),)


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a ledger written by an older arb lacks (its rows keep NULL there)."""
    for table, column, declaration in _ADDED:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def insert(table: str, row: dict[str, object]) -> tuple[str, Params]:
    """An INSERT statement for `row` (column names are ours, never user input)."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())  # noqa: S608
