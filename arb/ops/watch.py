"""What raises an alert: a breaker trip, a one-legged or halted trade, a venue down too long,
and each UTC day's realised P&L."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from arb.execution.executor import IntentState, TradeOutcome
from arb.execution.risk import utc_day_start_ms, wall_ms
from arb.ledger import Ledger
from arb.ops.alerts import Alert, Alerter, AlertKind
from arb.ops.status import Sources

DAY_MS = 86_400_000
TICK_S = 1.0


def trade_alert(outcome: TradeOutcome) -> Alert | None:
    """The alert a finished trade raises: one-legged, or halted (its unwind or hedge failed)."""
    symbol = outcome.orders[0].order.symbol if outcome.orders else "?"
    fields = {"intent_id": outcome.intent_id or "", "symbol": symbol, "pnl": str(outcome.pnl)}
    if outcome.state is IntentState.ONE_LEGGED:
        text = f"one-legged trade {outcome.intent_id} {symbol}: {outcome.reason}"
        return Alert(AlertKind.ONE_LEGGED, text, fields=fields)
    if outcome.state is IntentState.HALTED:
        text = f"trade {outcome.intent_id} {symbol} halted, trading stopped: {outcome.reason}"
        return Alert(AlertKind.UNWIND_FAILED, text, fields=fields)
    return None


async def daily_pnl(ledger: Ledger, day_ms: int) -> Alert:
    """The realised P&L alert of the UTC day starting at `day_ms`, from the ledger."""
    rows = await ledger.query(
        "SELECT realized_pnl, fees, one_legged FROM trades WHERE at_ms >= ? AND at_ms < ?",
        (day_ms, day_ms + DAY_MS),
    )
    pnl = sum((Decimal(r["realized_pnl"]) for r in rows), Decimal(0))
    fees = sum((Decimal(r["fees"]) for r in rows), Decimal(0))
    one_legged = sum(1 for r in rows if r["one_legged"])
    day = datetime.fromtimestamp(day_ms / 1000, UTC).date().isoformat()
    text = (
        f"daily P&L {day} (UTC): {pnl} quote, fees {fees}, {len(rows)} trades "
        f"({one_legged} one-legged)"
    )
    fields = {"day": day, "pnl": str(pnl), "fees": str(fees), "trades": str(len(rows))}
    return Alert(AlertKind.DAILY_PNL, text, fields=fields)


class Watch:
    """Checks the breaker, the venues and the date once a second and raises alerts."""

    def __init__(
        self,
        src: Sources,
        alerter: Alerter,
        *,
        clock_ms: Callable[[], int] = wall_ms,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._src = src
        self._alerter = alerter
        self._clock_ms = clock_ms
        self._mono = mono
        self._tripped: str | None = None
        self._down_since: dict[str, float] = {}
        self._down: set[str] = set()
        self._day = utc_day_start_ms(clock_ms())

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            await self.tick()
            await asyncio.sleep(TICK_S)

    async def tick(self) -> None:
        """One round of checks."""
        self._breaker()
        self._venues()
        day = utc_day_start_ms(self._clock_ms())
        if day != self._day:
            ended, self._day = self._day, day
            if self._alerter.settings.daily_pnl:
                self._alerter.send(await daily_pnl(self._src.ledger, ended))

    def _breaker(self) -> None:
        executor = self._src.executor
        tripped = None if executor is None else executor.guard.tripped
        if tripped is not None and tripped != self._tripped:
            self._alerter.send(
                Alert(AlertKind.BREAKER, f"circuit breaker tripped: {tripped}", fields={})
            )
        self._tripped = tripped

    def _venues(self) -> None:
        now = self._mono()
        limit = self._alerter.settings.venue_down_s
        for venue, feed in self._src.pipeline.feeds.items():
            if feed.state == "connected":
                self._down_since.pop(venue, None)
                if venue in self._down:
                    self._down.discard(venue)
                    self._alerter.send(
                        Alert(AlertKind.VENUE_UP, f"{venue} is back", fields={"venue": venue})
                    )
                continue
            since = self._down_since.setdefault(venue, now)
            if now - since >= limit and venue not in self._down:
                self._down.add(venue)
                why = feed.last_error or feed.state
                text = f"{venue} down for {now - since:.0f} s ({why})"
                self._alerter.send(Alert(AlertKind.VENUE_DOWN, text, fields={"venue": venue}))
