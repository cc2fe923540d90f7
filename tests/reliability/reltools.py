"""Shared pieces of the reliability tests: a planted world, `arb` subprocesses, ledger truth.

The scenario's precision and limits follow the venues' real BTC_USDT listings (Gate:
amount_precision 6, precision 1, min_quote_amount 3; MEXC: baseSizePrecision 0.000001,
quotePrecision 2), as in tests/scan/test_scan_sandbox.py. Books start calm (no opportunity);
`plant` makes Gate's bid rich enough to clear both taker fees, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.sim import Fault, FaultKind, Simulator, parse_scenario

D = Decimal
SYMBOL = "BTC/USDT"
VENUES = ("mexc", "gateio")
CREATE = {"mexc": ("POST", "/api/v3/order"), "gateio": ("POST", "/api/v4/spot/orders")}
# Distinctive credentials: any of these strings in an output is a leak.
KEY = "RELKEY4c1d9e7fa0b2"
SECRET = "RELSECRET8e3f6a1c5d9b7e2f"

SCENARIO = f"""
name = "reliability"
[sandbox]
api_key = "{KEY}"
api_secret = "{SECRET}"
[venues.mexc]
cadence_ms = 20
taker_fee = "0.0005"
[venues.gateio]
cadence_ms = 20
taker_fee = "0.002"

[[markets]]
symbol = "BTC/USDT"
mexc = {{ price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }}
gateio = {{ price_decimals = 1, amount_decimals = 6, min_amount = "0.000001", min_notional = "3" }}

[balances.mexc]
USDT = "5000"
[balances.gateio]
BTC = "1"

[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "gateio"
symbol = "BTC/USDT"
bids = [["62900.0", "1"]]
asks = [["63410.0", "1"]]
"""

CALM_GATE = (((D("62900.0"), D(1)),), ((D("63410.0"), D(1)),))
# Gate's 0.015 BTC bid at 63400 over MEXC's asks: buy 0.015 for 945.05, sell for 951.0.
PLANTED_GATE = (((D("63400.0"), D("0.015")), (D("62900.0"), D(1))), ((D("63410.0"), D(1)),))
TRADE_AMOUNT = D("0.015")


def scenario() -> Any:
    """The planted scenario, parsed."""
    import tomllib  # noqa: PLC0415

    return parse_scenario(tomllib.loads(SCENARIO))


def plant(sim: Simulator) -> None:
    """Make Gate's bid rich: one opportunity of 0.015 BTC, mexc -> gateio."""
    sim.replace_book("gateio", SYMBOL, *PLANTED_GATE)


def calm(sim: Simulator) -> None:
    """Take the opportunity away again (what is left of Gate's rich bid is removed)."""
    sim.replace_book("gateio", SYMBOL, *CALM_GATE)


@contextlib.asynccontextmanager
async def ticking(sim: Simulator, every: float = 0.1) -> AsyncIterator[None]:
    """Move a deep, harmless bid on both venues so every stream keeps receiving deltas.

    A MEXC book only becomes ready after a delta; a still scenario would wait for the
    stream's ready timeout.
    """

    async def tick() -> None:
        n = 0
        while True:
            n += 1
            sim.set_level("mexc", SYMBOL, "bid", D("60000.00"), D(1 + n % 2))
            sim.set_level("gateio", SYMBOL, "bid", D("60000.0"), D(1 + n % 2))
            await asyncio.sleep(every)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def slow_rest(sim: Simulator, delay_ms: int, duration_ms: int) -> None:
    """Every REST answer of both venues waits `delay_ms` (0 / 0 clears it)."""
    for venue in VENUES:
        sim.inject(Fault(FaultKind.DELAY, venue, duration_ms=duration_ms, delay_ms=delay_ms))


async def eventually(
    condition: Callable[[], bool], within: float = 20.0, what: str = "condition"
) -> None:
    """Poll `condition` every 10 ms until it holds; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} never became true")
        await asyncio.sleep(0.01)


def placed(sim: Simulator, venue: str) -> int:
    """Orders the simulated venue has executed (or rejected after placing)."""
    return len(sim.state(venue).orders)


def creates(sim: Simulator, venue: str) -> int:
    """Order-create requests the venue received."""
    method, path = CREATE[venue]
    return sum(
        1
        for e in sim.log.entries
        if e["kind"] == "http"
        and e["venue"] == venue
        and (e["method"], e["path"]) == (method, path)
    )


def streaming(sim: Simulator) -> bool:
    """True once both venues received a book subscription."""
    return all(
        any(e["kind"] == "ws_in" and e["venue"] == v for e in sim.log.entries) for v in VENUES
    )


# ------------------------------------------------------------------ the arb process


def arb_env(sim: Simulator, tmp_path: Path, *, keys: bool = True) -> dict[str, str]:
    """Environment pointing `arb` at the simulator, with a private ledger and kill file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    for venue in VENUES:
        prefix = f"ARB_EXCHANGES__{venue.upper()}__"
        env[prefix + "REST_URL"] = sim.rest_url(venue)
        env[prefix + "WS_URL"] = sim.ws_url(venue)
        if keys:
            env[prefix + "API_KEY"] = KEY
            env[prefix + "API_SECRET"] = SECRET
    env |= {
        "ARB_EXCHANGES": ",".join(VENUES),  # the venues these promises are proven on
        "ARB_SYMBOLS": SYMBOL,
        "ARB_TRADING__MAX_NOTIONAL": "5000",
        "ARB_RISK__MAX_EXPOSURE": "5000",  # it also caps one trade's size
        "ARB_TRADING__SETTLE_DELAY_MS": "50",
        "ARB_LEDGER__PATH": str(tmp_path / "ledger.sqlite"),
        "ARB_RISK__KILL_SWITCH_PATH": str(tmp_path / "KILL"),
    }
    return env


@dataclass
class ArbProcess:
    """A running `arb` command with its output going to files."""

    proc: asyncio.subprocess.Process
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        """Everything the process wrote so far."""
        return self.stdout.read_text(), self.stderr.read_text()

    def kill(self) -> None:
        """kill -9: no handler, no cleanup, no flush."""
        self.proc.send_signal(signal.SIGKILL)

    async def wait(self, within: float) -> int:
        """The exit code; fails (after killing it) if the process is still running then."""
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            self.kill()
            await self.proc.wait()
            err = self.output()[1]
            raise AssertionError(f"arb still running after {within} s\n{err[-3000:]}") from None


async def start_arb(
    tmp_path: Path, env: dict[str, str], *args: str, name: str = "arb"
) -> ArbProcess:
    """Start `python -m arb ARGS` in `tmp_path`."""
    stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arb", *args, cwd=tmp_path, env=env, stdout=out, stderr=err
        )
    return ArbProcess(proc, stdout, stderr)


# ------------------------------------------------------------------ the ledger's truth


def ledger_rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    """Rows from the ledger file, read-only (the writer may be another process)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))
    except sqlite3.OperationalError:
        return []  # the schema is not there yet
    finally:
        conn.close()


def files_text(folder: Path, pattern: str) -> dict[str, str]:
    """Every file matching `pattern` in `folder`, bytes as latin-1 text (nothing is lost)."""
    return {p.name: p.read_bytes().decode("latin-1") for p in sorted(folder.glob(pattern))}


def has_row(path: Path, sql: str) -> Callable[[], bool]:
    """A condition: `sql` returns a row."""
    return lambda: bool(ledger_rows(path, sql))


def venue_client_id(venue: str, client_order_id: str) -> str:
    """Our client order id as the venue stores it (Gate wants a `t-` prefix)."""
    return ("t-" if venue == "gateio" else "") + client_order_id


def assert_ledger_is_the_truth(path: Path, sim: Simulator) -> list[sqlite3.Row]:
    """Every order the simulator holds is in the ledger with its true final fill, and back.

    No order is unknown to the ledger, none is left open, unknown or sending, and no
    intent is pending or halted. Returns the ledger's orders.
    """
    orders = ledger_rows(path, "SELECT * FROM orders")
    by_id = {venue_client_id(o["exchange"], o["client_order_id"]): o for o in orders}
    for venue in VENUES:
        for sim_order in sim.state(venue).orders.values():
            row = by_id.get(sim_order.client_id)
            assert row is not None, f"{venue} order {sim_order.client_id} unknown to the ledger"
            assert row["exchange"] == venue
            assert D(row["filled"]) == sim_order.filled, (row["client_order_id"], venue)
            assert row["order_id"] == sim_order.id
            assert row["status"] in ("closed", "canceled"), dict(row)
    known = {(v, o.client_id) for v in VENUES for o in sim.state(v).orders.values()}
    for row in orders:
        venue_cid = venue_client_id(row["exchange"], row["client_order_id"])
        if (row["exchange"], venue_cid) not in known:
            # Never placed: the ledger must say so and book nothing for it.
            assert row["status"] == "rejected", dict(row)
            assert D(row["filled"]) == 0
    open_intents = ledger_rows(path, "SELECT * FROM intents WHERE state IN ('pending', 'halted')")
    assert open_intents == [], [dict(r) for r in open_intents]
    return orders


def btc_exposure(sim: Simulator, start: dict[str, Decimal]) -> Decimal:
    """BTC held across both venues now minus at `start` (free plus locked)."""
    now = sum(
        (sim.state(v).free.get("BTC", D(0)) + sim.state(v).locked.get("BTC", D(0)) for v in VENUES),
        D(0),
    )
    return now - sum(start.values(), D(0))


def btc_held(sim: Simulator) -> dict[str, Decimal]:
    """BTC per venue, free plus locked."""
    return {
        v: sim.state(v).free.get("BTC", D(0)) + sim.state(v).locked.get("BTC", D(0)) for v in VENUES
    }


# Unhedged BTC the policy may leave: MEXC's taker fee on the bought leg (taken in BTC)
# plus dust below Gate's 3 USDT minimum notional, which no venue would accept as an order.
FLAT_TOLERANCE = TRADE_AMOUNT * D("0.0005") + D(3) / D(63000)
