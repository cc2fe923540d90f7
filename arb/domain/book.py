"""Immutable order book snapshots handed from the venue streams to the detector."""

from __future__ import annotations

from dataclasses import dataclass

# A level is (price, amount) as the venue feed gave them (ccxt parses to float). Floats are
# only used to screen; every number that decides money is re-read exactly with
# `Decimal(repr(x))`, which restores the venue's own decimal string for prices and amounts
# of up to 15 significant digits.
Level = tuple[float, float]


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Top-of-book levels of one venue's market, copied on one tick and never mutated."""

    venue: str
    symbol: str
    bids: tuple[Level, ...]  # best (highest) price first
    asks: tuple[Level, ...]  # best (lowest) price first
    timestamp: int | None  # venue time, integer ms
    nonce: int | None  # venue sequence number of the last applied update
    received_at: float  # local monotonic seconds when the update that made it arrived

    @property
    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask: a broken book."""
        return bool(self.bids and self.asks and self.bids[0][0] >= self.asks[0][0])

    @property
    def empty(self) -> bool:
        """True when either side has no levels."""
        return not self.bids or not self.asks
