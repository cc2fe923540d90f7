"""Five venues on the simulator: `arb run` trades several pairs, the ledger is the truth."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.sim import Simulator, load_scenario
from arb.venues.profiles import profile_for

VENUES = ("mexc", "gateio", "binance", "okx", "bybit")


async def test_run_on_five_venues_settles_on_several_pairs_and_agrees_with_the_venues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario()  # the default one: a random walk on all five venues
    async with Simulator(scenario) as sim:
        for venue in VENUES:
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
            monkeypatch.setenv(prefix + "API_PASSWORD", scenario.api_password)
        monkeypatch.setenv("ARB_EXCHANGES", ",".join(VENUES))
        monkeypatch.setenv("ARB_RISK__MAX_CONSECUTIVE_FAILURES", "1000")  # keep trading
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=12.0, stream_options=(("ready_timeout", 0.3),))
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
    # Trades settled between more than two pairs of venues.
    assert len({(r["buy_exchange"], r["sell_exchange"]) for r in settled}) > 2, settled
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
