"""Everything a venue's protocol handlers share: state, faults, request log, WebSockets."""

from __future__ import annotations

import time
from dataclasses import dataclass

from arb.sim.faults import FaultBoard
from arb.sim.hub import WsHub
from arb.sim.reqlog import RequestLog
from arb.sim.scenario import Scenario
from arb.sim.venue import VenueState


@dataclass(slots=True)
class VenueContext:
    """One simulated venue as its HTTP and WebSocket handlers see it."""

    venue: str
    scenario: Scenario
    state: VenueState
    faults: FaultBoard
    log: RequestLog
    hub: WsHub

    def now_ms(self) -> int:
        """The venue's clock in epoch ms, lagging while a stale fault is active."""
        return int(time.time() * 1000) - self.faults.stale_ms()

    def wall_ms(self) -> int:
        """The true epoch ms, used to check request timestamps (never stale)."""
        return int(time.time() * 1000)

    @property
    def api_key(self) -> str:
        """The sandbox API key clients must send."""
        return self.scenario.api_key

    @property
    def api_secret(self) -> str:
        """The sandbox API secret signatures are checked with."""
        return self.scenario.api_secret

    @property
    def api_password(self) -> str:
        """The sandbox API passphrase, for venues that sign with one."""
        return self.scenario.api_password
