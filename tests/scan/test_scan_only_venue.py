"""Any other ccxt.pro exchange is scanned by settings alone: basic book integrity, never traded.

`binanceus` has no module in arb.venues; ccxt.pro's binanceus speaks Binance's protocol, so
it is pointed at the simulator's Binance (the same URL overrides a user sets for a proxy).
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from test_binance_sandbox import SCENARIO

from arb.config import Secret, VenueSettings, load_settings
from arb.scan.command import ScanOptions, scan
from arb.sim import Simulator, load_scenario
from arb.venues.profiles import profile_for


async def test_a_ccxt_pro_venue_without_a_module_is_scanned_with_basic_integrity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    path = tmp_path / "planted.toml"
    path.write_text(SCENARIO)
    profile = profile_for("binanceus")
    assert (profile.tradable, profile.level) == (False, "scan-only (book integrity: basic)")
    async with Simulator(load_scenario(path)) as sim:
        base = load_settings(None).with_overrides(exchanges=("mexc", "binanceus"))
        venues = dict(base.venues)
        for venue_id, simulated in (("mexc", "mexc"), ("binanceus", "binance")):
            venues[venue_id] = VenueSettings(
                id=venue_id,
                rest_url=sim.rest_url(simulated),
                ws_url=sim.ws_url(simulated),
                api_key=Secret(sim.scenario.api_key),
                api_secret=Secret(sim.scenario.api_secret),
            )
        settings = replace(base, venues=MappingProxyType(venues), symbols=("BTC/USDT",))
        options = ScanOptions(as_json=True, duration=3.0, stream_options=(("ready_timeout", 0.3),))
        assert await scan(settings, options) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert events, err
    first = events[0]
    assert (first["buy_exchange"], first["sell_exchange"]) == ("mexc", "binanceus")
    # The same exact money as on the traded Binance venue: 0.015 BTC, 945.05 -> 951.00.
    assert (Decimal(first["amount"]), Decimal(first["buy_cost"])) == (
        Decimal("0.015"),
        Decimal("945.05"),
    )
    assert "binanceus: " in err
