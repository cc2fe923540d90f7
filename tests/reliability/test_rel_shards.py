"""Worker shards: `arb scan --workers N` finds what one process finds, and outlives a worker.

Each scan is the real command in its own process (`python -m arb scan --sandbox`), with
the books planted by a scenario: every symbol has one cross, two from the start and two
planted later on the timeline, spread so each worker's share holds one of each.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from reltools import ArbProcess, start_arb

from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.scan.shards import split_symbols, worker_count
from arb.sim import Simulator, load_scenario
from arb.sim.venue import SimOrder

# Precision and limits follow the default scenario (the venues' real listings).
SCENARIO = """
name = "shards"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 20
taker_fee = "0.0005"
[venues.gateio]
cadence_ms = 20
taker_fee = "0.002"

[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
gateio = { price_decimals = 1, amount_decimals = 6, min_amount = "0.000001", min_notional = "3" }
[[markets]]
symbol = "ETH/USDT"
mexc = { price_decimals = 2, amount_decimals = 5, min_amount = "0.00001", min_notional = "1" }
gateio = { price_decimals = 2, amount_decimals = 4, min_amount = "0.001", min_notional = "3" }
[[markets]]
symbol = "LTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 4, min_amount = "0.001", min_notional = "1" }
gateio = { price_decimals = 2, amount_decimals = 3, min_amount = "0.001", min_notional = "3" }
[[markets]]
symbol = "XRP/USDT"
mexc = { price_decimals = 4, amount_decimals = 2, min_amount = "0.1", min_notional = "1" }
gateio = { price_decimals = 4, amount_decimals = 3, min_amount = "0.001", min_notional = "3" }

# BTC (worker 0 of 2): MEXC's asks below Gate's bid, from the start.
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "gateio"
symbol = "BTC/USDT"
bids = [["63400.0", "0.015"], ["62900.0", "1"]]
asks = [["63410.0", "1"]]

# ETH (worker 1): Gate's ask below MEXC's bid, from the start.
[[books]]
venue = "mexc"
symbol = "ETH/USDT"
bids = [["3530.00", "0.2"], ["3499.00", "2"]]
asks = [["3531.00", "2"]]
[[books]]
venue = "gateio"
symbol = "ETH/USDT"
bids = [["3504.00", "2"]]
asks = [["3505.00", "0.15"], ["3506.00", "2"]]

# LTC (worker 0) and XRP (worker 1): calm at first, a cross planted later.
[[books]]
venue = "mexc"
symbol = "LTC/USDT"
bids = [["67.00", "5"]]
asks = [["67.10", "5"]]
[[books]]
venue = "gateio"
symbol = "LTC/USDT"
bids = [["67.00", "5"]]
asks = [["67.10", "5"]]
[[books]]
venue = "mexc"
symbol = "XRP/USDT"
bids = [["0.5000", "1000"]]
asks = [["0.5010", "1000"]]
[[books]]
venue = "gateio"
symbol = "XRP/USDT"
bids = [["0.5000", "1000"]]
asks = [["0.5010", "1000"]]

[[timeline]]
at_ms = {ltc_ms}
venue = "gateio"
symbol = "LTC/USDT"
replace = true
bids = [["68.50", "3"]]
asks = [["68.60", "5"]]
[[timeline]]
at_ms = {xrp_ms}
venue = "mexc"
symbol = "XRP/USDT"
replace = true
bids = [["0.5200", "400"]]
asks = [["0.5210", "1000"]]
"""


def test_worker_count_follows_cores_and_symbols() -> None:
    assert worker_count(0, 300, cores=2) == 2  # auto: one per core
    assert worker_count(0, 300, cores=1) == 1
    assert worker_count(4, 300, cores=2) == 4  # asked for: more than cores is allowed
    assert worker_count(4, 3, cores=8) == 3  # never a worker without a symbol
    assert worker_count(0, 0, cores=8) == 1


def test_symbols_are_dealt_round_robin() -> None:
    symbols = [f"S{i}/USDT" for i in range(7)]
    shares = split_symbols(symbols, 3)
    assert shares == (
        ("S0/USDT", "S3/USDT", "S6/USDT"),
        ("S1/USDT", "S4/USDT"),
        ("S2/USDT", "S5/USDT"),
    )
    assert sorted(s for share in shares for s in share) == sorted(symbols)


def orders_of(sim: Simulator) -> list[SimOrder]:
    """Every order the simulated venues took."""
    return [o for v in ("mexc", "gateio") for o in sim.state(v).orders.values()]


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    env.update(
        ARB_EXCHANGES="mexc,gateio",
        ARB_TRADING__MAX_NOTIONAL="1000",
        ARB_LEDGER__PATH=str(tmp_path / f"{name}.sqlite"),
    )
    return env


def _key(line: str) -> tuple[str, ...]:
    event = json.loads(line)
    return tuple(
        event[k]
        for k in (
            "symbol",
            "buy_exchange",
            "sell_exchange",
            "amount",
            "buy_price",
            "sell_price",
            "buy_limit_price",
            "sell_limit_price",
            "fees",
            "net_profit",
        )
    )


def _scenario(tmp_path: Path, ltc_ms: int, xrp_ms: int) -> Path:
    scenario = tmp_path / "shards.toml"
    scenario.write_text(SCENARIO.replace("{ltc_ms}", str(ltc_ms)).replace("{xrp_ms}", str(xrp_ms)))
    return scenario


async def _scan(tmp_path: Path, workers: str, seconds: float) -> tuple[list[str], str]:
    scenario = _scenario(tmp_path, 3000, 3500)
    args = ("scan", "--sandbox", "--json", "--scenario", str(scenario))
    arb = await start_arb(
        tmp_path,
        _env(tmp_path, f"w{workers}"),
        *args,
        "--workers",
        workers,
        "--duration",
        str(seconds),
        name=f"w{workers}",
    )
    assert await arb.wait(within=seconds + 40) == 0, arb.output()[1][-3000:]
    out, err = arb.output()
    return out.splitlines(), err


async def test_two_workers_emit_what_one_worker_emits(tmp_path: Path) -> None:
    one, err_one = await _scan(tmp_path, "1", 6)
    two, err_two = await _scan(tmp_path, "2", 6)
    assert "workers:" not in err_one
    assert "workers: 2 (symbols each: 2, 2); restarted 0 times" in err_two
    expected = sorted(_key(line) for line in one)
    # Every cross, found once each: BTC and ETH from the start, LTC and XRP when planted.
    assert [k[:3] for k in expected] == [
        ("BTC/USDT", "mexc", "gateio"),
        ("ETH/USDT", "gateio", "mexc"),
        ("LTC/USDT", "mexc", "gateio"),
        ("XRP/USDT", "gateio", "mexc"),
    ]
    assert sorted(_key(line) for line in two) == expected
    # The parent wrote every worker's opportunity to its one ledger.
    conn = sqlite3.connect(tmp_path / "w2.sqlite")
    rows = conn.execute("SELECT symbol, amount, net_profit FROM opportunities").fetchall()
    conn.close()
    assert sorted(rows) == sorted((k[0], k[3], k[9]) for k in expected)


def _worker_pids(arb: ArbProcess) -> dict[int, int]:
    """Worker index -> pid, from the parent's start-up log lines."""
    found: dict[int, int] = {}
    for line in arb.output()[1].splitlines():
        if "worker " in line and " started (pid " in line:
            index = int(line.split("worker ", 1)[1].split(" ", 1)[0])
            found[index] = int(line.split("(pid ", 1)[1].split(")", 1)[0])
    return found


async def _until(check: object, within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            pytest.fail("timed out")
        await asyncio.sleep(0.1)


async def test_a_killed_worker_is_started_again_and_resyncs(tmp_path: Path) -> None:
    # LTC and XRP turn profitable well after the kill and the restart.
    scenario = _scenario(tmp_path, 10_000, 10_500)
    args = ("scan", "--sandbox", "--json", "--scenario", str(scenario), "--workers", "2")
    arb = await start_arb(tmp_path, _env(tmp_path, "kill"), *args, "--duration", "15")

    def btc_events() -> int:
        return sum(1 for line in arb.output()[0].splitlines() if "BTC/USDT" in line)

    await _until(lambda: btc_events() == 1 and len(_worker_pids(arb)) == 2, within=20)
    first = _worker_pids(arb)[0]  # BTC/USDT and LTC/USDT
    os.kill(first, signal.SIGKILL)
    # Started again, its books resynced: the BTC cross is found again, by the new process.
    await _until(lambda: btc_events() == 2, within=20)
    assert await arb.wait(within=40) == 0
    out, err = arb.output()
    assert "worker 0 (BTC/USDT, LTC/USDT) exited with code -9; starting it again" in err
    assert _worker_pids(arb)[0] != first
    assert "restarted 1 time" in err
    symbols = sorted(json.loads(line)["symbol"] for line in out.splitlines())
    # The other worker went on (ETH once); LTC and XRP once each when planted, LTC by the
    # new process.
    assert symbols == ["BTC/USDT", "BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"]


BALANCES = """
[balances.mexc]
USDT = "5000"
ETH = "1"
XRP = "1000"
[balances.gateio]
USDT = "5000"
BTC = "1"
LTC = "10"
"""


async def test_run_with_two_workers_trades_every_shards_opportunity_in_one_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trade at a time, each after fresh balances (MEXC allows two account reads a
    # second): the later crosses come once the earlier trades are done.
    path = _scenario(tmp_path, 5000, 6500)
    path.write_text(path.read_text() + BALANCES)
    scenario = load_scenario(path)
    async with Simulator(scenario) as sim:
        for venue in ("mexc", "gateio"):
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
        monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")
        monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT,ETH/USDT,LTC/USDT,XRP/USDT")
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "1000")
        monkeypatch.setenv("ARB_RISK__MAX_EXPOSURE", "5000")
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        # Not about an opportunity's age: a loaded machine's slow balance reads must not skip.
        monkeypatch.setenv("ARB_TRADING__MAX_OPPORTUNITY_AGE_MS", "5000")
        options = RunOptions(duration=9.0, workers=2)
        assert await run(load_settings(None), options) == 0
        # Two workers each opened their own book connection on each venue.
        assert len(sim.log.of("mexc", "ws_connect")) >= 2
        assert len(sim.log.of("gateio", "ws_connect")) >= 2
        orders = {o.symbol for o in orders_of(sim)}
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync("SELECT symbol, state FROM intents ORDER BY id")
    ledger.close()
    # Each worker's crosses, traded one at a time by the parent's executor, each settled:
    # LTC from worker 0 and XRP from worker 1, each planted alone. BTC (worker 0) and ETH
    # (worker 1) cross from the start, found at once: the executor takes the first and
    # drops the other while busy (one trade at a time), so one of the two is traded.
    traded = [r["symbol"] for r in intents]
    assert {r["state"] for r in intents} == {"settled"}
    assert {"LTC/USDT", "XRP/USDT"} <= set(traded)
    assert len(set(traded) & {"BTC/USDT", "ETH/USDT"}) >= 1
    assert len(traded) == len(set(traded))  # none traded twice
    assert orders == set(traded)


async def test_a_settings_reload_reaches_every_worker(tmp_path: Path) -> None:
    # Started with a profit floor no cross here meets; lowered while running: the crosses
    # planted after the reload are found by both workers (LTC by worker 0, XRP by worker 1).
    scenario = _scenario(tmp_path, 9_000, 9_500)
    settings = tmp_path / "settings.toml"
    settings.write_text("[default.trading]\nmin_profit = 100\n")
    args = ("scan", "--sandbox", "--json", "--scenario", str(scenario), "--workers", "2")
    arb = await start_arb(
        tmp_path, _env(tmp_path, "reload"), *args, "--settings", str(settings), "--duration", "13"
    )
    await _until(lambda: len(_worker_pids(arb)) == 2, within=20)
    await asyncio.sleep(1.0)
    assert arb.output()[0] == ""  # nothing meets 100 USDT
    settings.write_text("[default.trading]\nmin_profit = 0.5\n")
    await _until(lambda: "trading.min_profit" in arb.output()[1], within=10)
    assert await arb.wait(within=40) == 0
    out, err = arb.output()
    symbols = {json.loads(line)["symbol"] for line in out.splitlines()}
    assert {"LTC/USDT", "XRP/USDT"} <= symbols, err[-3000:]
