"""Risk limits and the circuit breaker: trips persist in the ledger until reset on purpose.

The breaker trips on: a realised loss for the UTC day at or above `max_daily_loss`;
`max_consecutive_failures` failed or one-legged trades in a row; `max_venue_errors`
venue errors (or calls slower than `max_latency_ms`) in a row on one venue; unhedged
exposure in one asset above `max_exposure`; and any halt (an order whose outcome stays
unknown, or an unwind / hedge that could not flatten). A trip writes a `breaker_events`
row (kind `trip`) and stops new trades; scanning goes on. It stays tripped across
restarts until `reset_breaker` writes a `reset` row (`arb run --reset-breaker`).

The kill switch (the `kill_switch_path` file, or SIGUSR1) stops new trades at once
without a trip: the file blocks while it exists, the signal until the process ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from loguru import logger

from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger, insert

ZERO = Decimal(0)


def wall_ms() -> int:
    """Wall clock in integer ms since the epoch."""
    return time.time_ns() // 1_000_000


def utc_day_start_ms(now_ms: int) -> int:
    """Midnight UTC of the day of `now_ms`, in ms."""
    day = datetime.fromtimestamp(now_ms / 1000, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(day.timestamp()) * 1000


async def breaker_state(ledger: Ledger) -> str | None:
    """The reason of the standing trip, or None when the breaker is closed."""
    rows = await ledger.query(
        "SELECT kind, reason FROM breaker_events WHERE kind IN ('trip', 'reset') "
        "ORDER BY id DESC LIMIT 1"
    )
    return str(rows[0]["reason"]) if rows and rows[0]["kind"] == "trip" else None


async def reset_breaker(ledger: Ledger, reason: str = "reset by the operator") -> bool:
    """Close a tripped breaker (a durable `reset` row); False if it was not tripped."""
    if await breaker_state(ledger) is None:
        return False
    await ledger.write(
        insert("breaker_events", {"at_ms": wall_ms(), "kind": "reset", "reason": reason})
    )
    logger.warning("circuit breaker reset: {}", reason)
    return True


class RiskGuard:
    """Decides whether a new trade may start, and trips the breaker when a limit is hit."""

    def __init__(
        self,
        ledger: Ledger,
        settings: ExecutionSettings,
        *,
        tripped: str | None = None,
        daily_pnl: Decimal = ZERO,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._clock_ms = clock_ms
        self.tripped = tripped
        self.killed: str | None = None  # the signal's reason; lasts until the process ends
        self.kill_file = False  # the kill-switch file exists
        self.stopping = False  # shutting down: settle what is in flight, start nothing
        self._day = utc_day_start_ms(clock_ms())
        self.daily_pnl = daily_pnl
        self.consecutive_failures = 0
        self._venue_errors: dict[str, int] = {}
        self._exposure: dict[str, tuple[Decimal, Decimal]] = {}  # asset -> (base, last price)
        # observe_venue runs inside order calls; its trip is written by the next check()
        self.pending_trip: str | None = None

    @classmethod
    async def load(
        cls, ledger: Ledger, settings: ExecutionSettings, clock_ms: Callable[[], int] = wall_ms
    ) -> RiskGuard:
        """A guard that remembers a standing trip and today's realised P&L from the ledger."""
        rows = await ledger.query(
            "SELECT realized_pnl FROM trades WHERE at_ms >= ?", (utc_day_start_ms(clock_ms()),)
        )
        pnl = sum((Decimal(r["realized_pnl"]) for r in rows), ZERO)
        tripped = await breaker_state(ledger)
        if tripped is not None:
            logger.error("circuit breaker is tripped ({}); no trades until it is reset", tripped)
        return cls(ledger, settings, tripped=tripped, daily_pnl=pnl, clock_ms=clock_ms)

    def reconfigure(self, settings: ExecutionSettings) -> None:
        """Judge the limits by `settings` from now on (a settings reload)."""
        self._settings = settings

    def blocked(self) -> str | None:
        """Why no new trade may start now, or None."""
        if self.stopping:
            return "shutting down"
        if self.killed is not None:
            return f"kill switch: {self.killed}"
        if self.kill_file:
            return f"kill switch file {self._settings.kill_switch_path} exists"
        if self.tripped is not None:
            return f"circuit breaker tripped: {self.tripped}"
        return None

    async def trip(self, reason: str) -> None:
        """Stop new trades until reset, durably and loudly (once per standing trip)."""
        if self.tripped is not None:
            logger.error("circuit breaker already tripped; also: {}", reason)
            return
        self.tripped = reason
        logger.critical("CIRCUIT BREAKER TRIPPED: {} - no new trades until reset", reason)
        await self._ledger.write(
            insert("breaker_events", {"at_ms": self._clock_ms(), "kind": "trip", "reason": reason})
        )

    def kill(self, reason: str) -> None:
        """The kill switch: no new trade from now on (recorded, not a trip)."""
        if self.killed is None:
            self.killed = reason
            logger.critical("KILL SWITCH: {} - no new trades", reason)
            self._ledger.record(
                insert(
                    "breaker_events", {"at_ms": self._clock_ms(), "kind": "kill", "reason": reason}
                )
            )

    def set_kill_file(self, exists: bool) -> None:
        """The kill-switch file appeared or went away."""
        if exists and not self.kill_file:
            reason = f"file {self._settings.kill_switch_path} exists"
            logger.critical("KILL SWITCH: {} - no new trades while it exists", reason)
            self._ledger.record(
                insert(
                    "breaker_events", {"at_ms": self._clock_ms(), "kind": "kill", "reason": reason}
                )
            )
        elif not exists and self.kill_file:
            logger.warning("kill switch file removed: trading may resume")
        self.kill_file = exists

    # -- limits ------------------------------------------------------------------------

    def exposure_room(self, asset: str) -> Decimal:
        """Quote value of new unhedged `asset` the exposure limit still allows (>= 0)."""
        return max(self._settings.max_exposure - self.exposure(asset), ZERO)

    def exposure(self, asset: str) -> Decimal:
        """Quote value of the unhedged `asset` left by one-legged trades."""
        base, price = self._exposure.get(asset, (ZERO, ZERO))
        return abs(base) * price

    def observe_venue(self, venue: str, ok: bool, seconds: float) -> None:
        """Count a venue call for health: an error or a slow answer in a row trips the breaker."""
        if ok and seconds * 1000 <= self._settings.max_latency_ms:
            self._venue_errors[venue] = 0
            return
        count = self._venue_errors.get(venue, 0) + 1
        self._venue_errors[venue] = count
        if count >= self._settings.max_venue_errors and self.tripped is None:
            self.pending_trip = self.pending_trip or (
                f"{venue} unhealthy: {count} errors or slow calls in a row"
            )

    async def after_trade(
        self, *, ok: bool, pnl: Decimal, asset: str, residual: Decimal, price: Decimal
    ) -> None:
        """Account one finished trade and trip the breaker if a limit is now exceeded."""
        now = self._clock_ms()
        day = utc_day_start_ms(now)
        if day != self._day:
            self._day, self.daily_pnl = day, ZERO
        self.daily_pnl += pnl
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1
        if residual:
            base, _ = self._exposure.get(asset, (ZERO, ZERO))
            self._exposure[asset] = (base + residual, price)
        await self.check()

    async def check(self) -> None:
        """Trip the breaker for the first limit that is exceeded now."""
        s = self._settings
        reason = self.pending_trip
        if reason is None and -self.daily_pnl >= s.max_daily_loss:
            reason = f"daily realised loss {-self.daily_pnl:.4f} reached {s.max_daily_loss}"
        if reason is None and self.consecutive_failures >= s.max_consecutive_failures:
            reason = f"{self.consecutive_failures} failed or one-legged trades in a row"
        if reason is None:
            over = [a for a in self._exposure if self.exposure(a) > s.max_exposure]
            if over:
                reason = f"unhedged {over[0]} worth {self.exposure(over[0]):.4f} over max_exposure"
        self.pending_trip = None
        if reason is not None:
            await self.trip(reason)
