"""Execution and risk settings: one frozen value, defaults safe for a small account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from arb.config import Settings


class Policy(StrEnum):
    """What to do when one leg filled more than the other."""

    UNWIND = "unwind"  # close the excess on the venue that filled it
    HEDGE = "hedge"  # complete the missing amount on the other venue


def _no_balances() -> Mapping[str, Mapping[str, Decimal]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    """Everything the executor, the risk limits and the paper wallet read.

    Money is in the quote currency. `max_exposure` bounds the unhedged base left by
    one-legged trades, per asset, valued at its last fill price.
    """

    policy: Policy = Policy.UNWIND
    max_notional: Decimal = Decimal("100")  # per trade, at the buy limit price
    min_profit: Decimal = Decimal("0.5")  # expected, at the sized amount's own walk
    min_profit_pct: Decimal = Decimal("0")  # percent of the buy cost
    max_worst_case_loss: Decimal = Decimal("0")  # both legs filled at their limit prices
    max_opportunity_age_s: float = 0.5  # seen -> fresh balances in: older is not traded
    max_slippage_pct: Decimal = Decimal("0.5")  # unwind / hedge limit vs the reference price
    max_exposure: Decimal = Decimal("200")  # unhedged quote value per asset
    max_daily_loss: Decimal = Decimal("20")  # realised, per UTC day
    max_consecutive_failures: int = 3  # failed or one-legged trades in a row
    max_venue_errors: int = 5  # venue errors (or calls slower than the bound) in a row
    max_latency_ms: int = 3000  # a venue call slower than this counts as a venue error
    order_timeout_s: float = 10.0  # create_order without an answer: outcome unknown
    settle_attempts: int = 5  # fresh order queries (or look-ups) before an order is unknown
    settle_delay_s: float = 0.2  # between those queries
    policy_attempts: int = 3  # unwind / hedge orders before halting
    kill_switch_path: Path | None = Path("var/KILL")  # trading stops while this file exists
    kill_poll_s: float = 0.25
    paper_balances: Mapping[str, Mapping[str, Decimal]] = field(default_factory=_no_balances)

    def __post_init__(self) -> None:
        """Refuse settings that would make the guard meaningless."""
        if self.max_notional <= 0 or self.max_exposure <= 0 or self.max_daily_loss <= 0:
            raise ValueError("max_notional, max_exposure and max_daily_loss must be positive")
        if not Decimal(0) <= self.max_slippage_pct < Decimal(10):
            raise ValueError("max_slippage_pct must be from 0 to 10 (percent)")
        if min(self.max_consecutive_failures, self.max_venue_errors) < 1:
            raise ValueError("failure limits must be at least 1")
        if min(self.settle_attempts, self.policy_attempts) < 1:
            raise ValueError("settle_attempts and policy_attempts must be at least 1")


def execution_settings(settings: Settings) -> ExecutionSettings:
    """The executor's settings from arb's validated settings (trading.*, risk.*, paper.*)."""
    trading, risk = settings.trading, settings.risk
    return ExecutionSettings(
        policy=Policy(trading.policy),
        max_notional=trading.max_notional,
        min_profit=trading.min_profit,
        min_profit_pct=trading.min_profit_pct,
        max_worst_case_loss=trading.max_worst_case_loss,
        max_opportunity_age_s=trading.max_opportunity_age_ms / 1000,
        max_slippage_pct=trading.max_slippage_pct,
        max_exposure=risk.max_exposure,
        max_daily_loss=risk.max_daily_loss,
        max_consecutive_failures=risk.max_consecutive_failures,
        max_venue_errors=risk.max_venue_errors,
        max_latency_ms=risk.max_latency_ms,
        order_timeout_s=trading.order_timeout_s,
        settle_attempts=trading.settle_attempts,
        settle_delay_s=trading.settle_delay_ms / 1000,
        policy_attempts=trading.policy_attempts,
        kill_switch_path=risk.kill_switch_path,
        kill_poll_s=risk.kill_poll_ms / 1000,
        paper_balances=settings.paper.balances,
    )
