"""Per-venue differences as data: ccxt ids, constructor options, rate budgets and quirks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from arb.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Budget:
    """A token bucket: `per_second` sustained, `burst` back to back."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """Everything that differs between venues, so one generic adapter serves them all."""

    venue_id: str  # settings id: "mexc", "gateio"
    ccxt_id: str  # ccxt / ccxt.pro class name: "mexc", "gate"
    options: Mapping[str, Any]  # ccxt `options`, merged over ccxt's defaults
    # MEXC's fetch_markets always adds futures contracts (/api/v1/contract/detail) and
    # ignores options['fetchMarkets']; swapping in fetch_spot_markets is the only spot-only path.
    spot_markets_only: bool
    # Currency config is not needed for spot orders; MEXC signs it (needs keys, costs weight)
    # and Gate's is a large public list: neither is worth a request at start-up.
    load_currencies: bool
    reads: Budget  # markets, books, balances, fees, order queries
    orders: Budget  # create and cancel: never queued behind reads
    client_id_prefix: str  # what the venue wants in front of our client order id
    client_id_max_len: int  # including the prefix
    # MEXC's create response carries neither status nor fills, and no MEXC order carries a fee.
    create_reports_fills: bool
    orders_report_fees: bool
    # Gate sizes a market buy in quote currency (cost), not in base amount.
    market_buy_takes_cost: bool
    fast_ws_decode: bool  # install arb.venues.mexc_decode on the ccxt.pro instance
    # Book streams one WebSocket connection may carry. MEXC documents at most 30
    # subscriptions per connection; Gate sets no limit but closes connections whose
    # client falls behind, so we spread its books too.
    books_per_connection: int
    # Venue error codes meaning "no such order" that ccxt 4.5.90 leaves a plain ExchangeError.
    order_not_found_codes: tuple[str, ...] = ()
    # The venue batches a book's changes and pushes them every this many ms (None: as they
    # happen). On such a venue a live book goes quiet only when its market does, so one
    # silent for `market_data.max_silence_ms` is resubscribed rather than trusted.
    book_push_ms: int | None = None


def _frozen(options: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(options)


# Rate budgets. MEXC documents about 20 requests/s per IP for market data and account reads
# (ccxt's own `rateLimit: 50` ms says the same) and ~12 orders/s; Gate's spot API (rules of
# 2024-01-22) allows 200 requests / 10 s per endpoint for public and private reads and 10
# orders/s per account and market (cancels 200/s). Bursts stay small so a burst never
# borrows against the venue's own window.
PROFILES: Mapping[str, VenueProfile] = MappingProxyType(
    {
        "mexc": VenueProfile(
            venue_id="mexc",
            ccxt_id="mexc",
            options=_frozen({"adjustForTimeDifference": False}),
            spot_markets_only=True,
            load_currencies=False,
            reads=Budget(per_second=20.0, burst=10),
            orders=Budget(per_second=12.0, burst=6),
            client_id_prefix="",
            client_id_max_len=32,
            create_reports_fills=False,
            orders_report_fees=False,
            market_buy_takes_cost=False,
            fast_ws_decode=True,
            books_per_connection=30,
            # MEXC spot v3 answers an unknown order with {"code":-2013,"msg":"Order does not
            # exist."} (Binance's code); ccxt's mexc error table has no entry for it.
            order_not_found_codes=("-2013",),
            book_push_ms=100,  # spot@public.aggre.depth.v3.api.pb@100ms
        ),
        "gateio": VenueProfile(
            venue_id="gateio",
            ccxt_id="gate",
            options=_frozen(
                {
                    "adjustForTimeDifference": False,
                    "fetchMarkets": {"types": ["spot"]},
                    # None makes ccxt call /account/detail before markets and balances.
                    "unifiedAccount": False,
                }
            ),
            spot_markets_only=False,
            load_currencies=False,
            reads=Budget(per_second=20.0, burst=10),
            orders=Budget(per_second=10.0, burst=5),
            client_id_prefix="t-",
            client_id_max_len=30,  # ccxt refuses more than 28 characters after "t-"
            create_reports_fills=True,
            orders_report_fees=True,
            market_buy_takes_cost=True,
            fast_ws_decode=False,
            books_per_connection=100,
            # spot.obu: "400-level updates every 100 ms; 50-level updates every 20 ms"
            # (Gate APIv4 WebSocket docs, Order Book V2); arb subscribes level 50 or 400.
            book_push_ms=100,
        ),
    }
)

ALIASES: Mapping[str, str] = MappingProxyType({"gate": "gateio", "gate.io": "gateio"})


def profile_for(venue_id: str) -> VenueProfile:
    """The profile of a settings venue id or alias; ConfigError naming `exchanges` if unknown."""
    key = venue_id.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ConfigError("exchanges", f"unknown venue {venue_id!r} (known: {known})") from None
