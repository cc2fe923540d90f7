"""Unified symbols, per-venue market facts and the symbol-resolution table."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Symbol:
    """A spot pair named the ccxt way: base and quote currency codes."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Parse `BASE/QUOTE` (ccxt's unified form); raise ValueError otherwise."""
        base, sep, quote = text.strip().upper().partition("/")
        if not sep or not base or not quote or "/" in quote or ":" in quote:
            raise ValueError(f"not a unified spot symbol (want BASE/QUOTE): {text!r}")
        return cls(base, quote)

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What one venue says about one spot market; all steps and limits exact."""

    venue: str  # settings venue id: "mexc" or "gateio"
    symbol: str  # unified, "BTC/USDT"
    native_id: str  # the venue's own id: "BTCUSDT", "BTC_USDT"
    base: str
    quote: str
    amount_step: Decimal  # orders' amounts are whole multiples of this
    price_step: Decimal
    min_amount: Decimal  # 0 when the venue sets none
    min_notional: Decimal  # quote currency; 0 when the venue sets none
    taker_fee: Decimal  # fraction, 0.001 = 0.1 %
    active: bool
