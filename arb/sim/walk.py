"""Generated book timeline: a seeded random walk per symbol with cross-venue dislocations."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, Decimal

from arb.sim.matching import floor_to
from arb.sim.scenario import Level, MarketSpec, WalkSpec, WalkSymbol
from arb.sim.venue import VenueState

BPS = Decimal(10_000)


class Walk:
    """Moves a shared fair price per symbol and rebuilds each venue's ladder around it.

    Level sizes are a deterministic function of the price (so unchanged levels stay
    unchanged) plus a few random refreshes per step; consumed liquidity refills on the
    next step. A dislocation shifts one venue's ladder by `dislocation_bps` for a while,
    which is a real arbitrage when it exceeds both venues' taker fees.
    """

    def __init__(self, spec: WalkSpec, venues: dict[str, VenueState]) -> None:
        """Seed the walk; every venue listing a walked symbol gets a ladder."""
        self.spec = spec
        self.venues = venues
        self.rng = random.Random(spec.seed)  # noqa: S311 - a reproducible market, not crypto
        self.mid = {s.symbol: s.mid for s in spec.symbols}
        self.offset_bps: dict[tuple[str, str], Decimal] = {}
        self.offset_until: dict[tuple[str, str], int] = {}
        self.sizes: dict[tuple[str, str, str, Decimal], Decimal] = {}
        self.next_dislocation = spec.dislocation_every_ms

    def step(self, t_ms: int) -> None:
        """Advance the walk to `t_ms` after start and rewrite the books."""
        self._dislocate(t_ms)
        if len(self.sizes) > 200_000:
            self.sizes.clear()  # prices wander; forget sizes of long-gone levels
        for sym in self.spec.symbols:
            move = Decimal(repr(self.rng.gauss(0, float(sym.vol_bps)))) / BPS
            self.mid[sym.symbol] = (self.mid[sym.symbol] * (1 + move)).quantize(Decimal("1e-12"))
            for venue, state in self.venues.items():
                spec = state.markets.get(sym.symbol)
                if spec is None:
                    continue
                offset = self.offset_bps.get((venue, sym.symbol), Decimal(0))
                bids, asks = self._ladder(venue, spec, sym, offset)
                state.books[sym.symbol].replace(bids, asks)

    def _dislocate(self, t_ms: int) -> None:
        for key, until in list(self.offset_until.items()):
            if t_ms >= until:
                del self.offset_until[key]
                self.offset_bps.pop(key, None)
        every = self.spec.dislocation_every_ms
        if not every or t_ms < self.next_dislocation or not self.spec.symbols:
            return
        self.next_dislocation += every
        symbol = self.rng.choice(self.spec.symbols).symbol
        # Only a venue that lists the symbol can be dislocated on it.
        listing = sorted(v for v, state in self.venues.items() if symbol in state.books)
        if not listing:
            return
        venue = self.rng.choice(listing)
        sign = 1 if self.rng.random() < 0.5 else -1
        self.offset_bps[(venue, symbol)] = sign * self.spec.dislocation_bps
        self.offset_until[(venue, symbol)] = t_ms + self.spec.dislocation_ms

    def _ladder(
        self, venue: str, spec: MarketSpec, sym: WalkSymbol, offset: Decimal
    ) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        tick = spec.price_step
        center = self.mid[sym.symbol] * (1 + offset / BPS)
        half = center * sym.spread_bps / BPS / 2
        best_bid = floor_to(center - half, tick)
        best_ask = ((center + half) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
        if best_ask <= best_bid:
            best_ask = best_bid + tick
        step = max(tick, floor_to(center * sym.step_bps / BPS, tick))
        bids = tuple(
            (p, self._size(venue, spec, sym, "bid", p))
            for p in (best_bid - i * step for i in range(sym.levels))
            if p > 0
        )
        asks = tuple(
            (p, self._size(venue, spec, sym, "ask", p))
            for p in (best_ask + i * step for i in range(sym.levels))
        )
        self._refresh(venue, spec, sym, bids, asks)
        return bids, asks

    def _size(
        self, venue: str, spec: MarketSpec, sym: WalkSymbol, side: str, p: Decimal
    ) -> Decimal:
        key = (venue, sym.symbol, side, p)
        size = self.sizes.get(key)
        if size is None:
            # same price, same size: only levels entering or leaving the ladder change
            seed = f"{self.spec.seed}:{venue}:{sym.symbol}:{side}:{p}"
            fraction = random.Random(seed).random()  # noqa: S311 - reproducible, not crypto
            size = self._amount(spec, sym, fraction)
            self.sizes[key] = size
        return size

    def _refresh(
        self,
        venue: str,
        spec: MarketSpec,
        sym: WalkSymbol,
        bids: tuple[Level, ...],
        asks: tuple[Level, ...],
    ) -> None:
        """Resize one random level per side (persistently), as makers requote."""
        for side, levels in (("bid", bids), ("ask", asks)):
            if levels:
                price = self.rng.choice(levels)[0]
                self.sizes[(venue, sym.symbol, side, price)] = self._amount(
                    spec, sym, self.rng.random()
                )

    def _amount(self, spec: MarketSpec, sym: WalkSymbol, fraction: float) -> Decimal:
        raw = sym.amount * (Decimal("0.5") + Decimal(repr(fraction)))
        return max(floor_to(raw, spec.amount_step), spec.amount_step)
