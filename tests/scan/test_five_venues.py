"""Five venues on the simulator: `arb run` trades several pairs, the ledger is the truth."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.sim import Simulator, load_scenario
from arb.venues.profiles import profile_for

VENUES = ("mexc", "gateio", "binance", "okx", "bybit")
# Calm books on every venue (best bid, best ask). Then, one after another, a cross is
# planted per symbol on its own pair of venues: (at ms, symbol, buy venue, ask, amount, sell
# venue, bid, amount). Each is about one trade's worth (the sell side is the smaller: the buy
# is grossed up for a fee taken in base), so it is traded once and gone before the next.
CALM = {"BTC/USDT": ("62900.0", "63600.0"), "ETH/USDT": ("2990.00", "3040.00")}
CALM |= {"LTC/USDT": ("69.50", "71.50"), "XRP/USDT": ("0.5000", "0.5100")}
PLANTED = (
    (1000, "BTC/USDT", "okx", "63000.0", "0.003", "bybit", "63500.0", "0.002"),
    (2500, "ETH/USDT", "binance", "3000.00", "0.06", "gateio", "3030.00", "0.05"),
    (4000, "LTC/USDT", "mexc", "70.00", "3", "okx", "70.80", "2"),
)


def planted_scenario() -> str:
    """The default scenario's venues, real market shapes and wallets; calm books, then crosses."""
    text = (resources.files("arb.sim") / "scenarios" / "default.toml").read_text()
    text = text[: text.index("[walk]")]  # no random walk: the books move only as planted
    for symbol, (bid, ask) in CALM.items():
        for venue in VENUES:
            text += (
                f'\n[[books]]\nvenue = "{venue}"\nsymbol = "{symbol}"\n'
                f'bids = [["{bid}", "1"]]\nasks = [["{ask}", "1"]]\n'
            )
    for at_ms, symbol, buy, ask, ask_amount, sell, bid, bid_amount in PLANTED:
        for venue, side, price, amount in (
            (buy, "ask", ask, ask_amount),
            (sell, "bid", bid, bid_amount),
        ):
            text += (
                f'\n[[timeline]]\nat_ms = {at_ms}\nvenue = "{venue}"\nsymbol = "{symbol}"\n'
                f'side = "{side}"\nprice = "{price}"\namount = "{amount}"\n'
            )
    return text


async def test_run_on_five_venues_settles_on_several_pairs_and_agrees_with_the_venues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "planted.toml"
    path.write_text(planted_scenario())
    scenario = load_scenario(path)
    async with Simulator(scenario) as sim:
        for venue in VENUES:
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
            monkeypatch.setenv(prefix + "API_PASSWORD", scenario.api_password)
        monkeypatch.setenv("ARB_EXCHANGES", ",".join(VENUES))
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "1000")  # risk.max_exposure caps it
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=6.5, stream_options=(("ready_timeout", 0.3),))
        assert await run(load_settings(None), options) == 0
        at_venues = {
            (venue, order.client_id.removeprefix(profile_for(venue).client_id_prefix)): order
            for venue in VENUES
            for order in sim.state(venue).orders.values()
        }
    ledger = Ledger(tmp_path / "ledger.sqlite")
    orders = ledger.query_sync("SELECT * FROM orders")
    settled = ledger.query_sync(
        "SELECT DISTINCT buy_exchange, sell_exchange FROM intents WHERE state = 'settled'"
    )
    open_intents = ledger.query_sync("SELECT id FROM intents WHERE state IN ('pending', 'halted')")
    ledger.close()
    # Trades settled on each planted pair: more than two pairs of venues.
    pairs = {(r["buy_exchange"], r["sell_exchange"]) for r in settled}
    assert pairs == {(p[2], p[5]) for p in PLANTED}, pairs
    # Every order the venues hold is in the ledger with its true fill, and every ledger order
    # the venues do not hold was refused with nothing filled.
    for row in orders:
        held = at_venues.pop((row["exchange"], row["client_order_id"]), None)
        if held is None:
            assert (row["status"], Decimal(row["filled"])) == ("rejected", 0), dict(row)
        else:
            assert Decimal(row["filled"]) == held.filled, dict(row)
            assert row["order_id"] == held.id
    assert at_venues == {}  # no order at a venue unknown to the ledger
    assert open_intents == []
