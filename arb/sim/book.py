"""A simulated venue order book with sequence numbers and pending (unpushed) changes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arb.sim.scenario import Level


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Level changes pushed to subscribers; amount 0 deletes a level."""

    symbol: str
    first: int  # MEXC fromVersion / Gate U
    last: int  # MEXC toVersion / Gate u
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class SimBook:
    """Bids and asks of one symbol on one venue.

    Every level change bumps `version`; `flush()` turns the changes made since the last
    push into one delta whose first sequence number is the previous push's last + 1, so
    a REST snapshot taken right after a flush lines up exactly with the stream.
    """

    def __init__(self, symbol: str, version: int) -> None:
        """Start empty at sequence number `version`."""
        self.symbol = symbol
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.version = version
        self.pushed = version  # last sequence number sent to subscribers
        self._pending_bids: dict[Decimal, Decimal] = {}
        self._pending_asks: dict[Decimal, Decimal] = {}

    def set_level(self, side: str, price: Decimal, amount: Decimal) -> None:
        """Set one level's amount (0 removes it) and record it for the next push."""
        levels, pending = (
            (self.bids, self._pending_bids) if side == "bid" else (self.asks, self._pending_asks)
        )
        if amount <= 0:
            if price not in levels:
                return
            del levels[price]
            amount = Decimal(0)
        elif levels.get(price) == amount:
            return
        else:
            levels[price] = amount
        pending[price] = amount
        self.version += 1

    def replace(self, bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
        """Replace the whole book, recording only the levels that differ."""
        for side, current, new in (("bid", self.bids, bids), ("ask", self.asks, asks)):
            wanted = {p: a for p, a in new if a > 0}
            for price in [p for p in current if p not in wanted]:
                self.set_level(side, price, Decimal(0))
            for price, amount in wanted.items():
                self.set_level(side, price, amount)

    def skip_sequence(self) -> None:
        """Burn one sequence number so the next push has a gap (a fault)."""
        self.version += 1
        self.pushed += 1

    @property
    def has_pending(self) -> bool:
        """True when changes wait for the next push."""
        return bool(self._pending_bids or self._pending_asks)

    def flush(self) -> BookDelta | None:
        """Collect the pending changes into one delta, or None when nothing changed."""
        if not self.has_pending:
            return None
        delta = BookDelta(
            symbol=self.symbol,
            first=self.pushed + 1,
            last=self.version,
            bids=tuple(sorted(self._pending_bids.items(), reverse=True)),
            asks=tuple(sorted(self._pending_asks.items())),
        )
        self._pending_bids = {}
        self._pending_asks = {}
        self.pushed = self.version
        return delta

    def top(self, depth: int | None = None) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Bids best-first and asks best-first, cut to `depth` levels per side."""
        bids = tuple(sorted(self.bids.items(), reverse=True))
        asks = tuple(sorted(self.asks.items()))
        if depth is None:
            return bids, asks
        return bids[:depth], asks[:depth]

    def best_bid(self) -> Decimal | None:
        """Highest bid price, or None."""
        return max(self.bids) if self.bids else None

    def best_ask(self) -> Decimal | None:
        """Lowest ask price, or None."""
        return min(self.asks) if self.asks else None
