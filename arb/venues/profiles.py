"""Per-venue differences as data, and the registry that finds each venue's own module.

A venue arb trades on is one module in this package, `arb/venues/<venue_id>.py`, whose
`PROFILE` is a `VenueProfile`: its ccxt id and options, rate limits, order quirks and the
rules that keep its books whole (`BookRules`). `profile_for` finds it by settings id or
alias; nothing shared names a venue. Any other ccxt.pro exchange id gets a scan-only profile
with basic book integrity (crossed, empty and stale checks; no sequence check).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from arb.errors import ConfigError
from arb.venues.limits import Budget, Call, Charge, window


def _no_limit(depth: int) -> int | None:
    return None


def _orderbook_hash(symbol: str) -> str:
    return "orderbook:" + symbol


@dataclass(frozen=True, slots=True)
class BookRules:
    """How one venue's books are kept whole beyond ccxt (arb.venues.books calls these).

    `install(guard)` puts the venue's raw-frame integrity hooks on a ccxt.pro instance
    (arb.venues.integrity.Guard); they call `BookState.applied` for every frame or snapshot
    that changes a book (the scan pipeline evaluates a book in the socket callback on it).
    `resync(stream)` rebuilds a reset book and returns ccxt's stored book if it is ready at
    once, else None (it arrives with the next watch);
    `fast_apply(exchange)` installs a lean apply path for ready books, if the venue has one.
    `ws_limit(depth)` / `rest_limit(depth)`: the subscription and REST snapshot depth to ask
    for (None: the venue's default). `book_hash(symbol)`: the message hash ccxt.pro resolves
    the book's watchers under ("orderbook:BTC/USDT" on most venues).
    """

    install: Callable[[Any], None]
    resync: Callable[[Any], Awaitable[Any]]
    fast_apply: Callable[[Any], None] | None = None
    ws_limit: Callable[[int], int | None] = _no_limit
    rest_limit: Callable[[int], int | None] = _no_limit
    book_hash: Callable[[str], str] = _orderbook_hash
    # ccxt's raw REST method behind fetch_order_book (`arb record` keeps its answers), and
    # whether `resync` rebuilds from that snapshot (True) or by resubscribing (False).
    snapshot_call: str = ""
    rest_resync: bool = False


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
    # The venue's own rate limits: one bucket per endpoint it counts apart, and what each
    # adapter call spends of them (arb.venues.limits).
    budgets: Mapping[str, Budget]
    costs: Mapping[Call, tuple[Charge, ...]]
    client_id_prefix: str  # what the venue wants in front of our client order id
    client_id_max_len: int  # including the prefix
    # MEXC's create response carries neither status nor fills, and no MEXC order carries a fee.
    create_reports_fills: bool
    orders_report_fees: bool
    # Gate sizes a market buy in quote currency (cost), not in base amount.
    market_buy_takes_cost: bool
    # Installed on every ccxt.pro instance before use (MEXC: its protobuf decoder; Bybit:
    # a request fix). A per-instance set-up hook, whatever it installs.
    decoder: Callable[[Any], None] | None
    # Book streams one WebSocket connection may carry. MEXC documents at most 30
    # subscriptions per connection; Gate sets no limit but closes connections whose
    # client falls behind, so we spread its books too.
    books_per_connection: int
    # The venue takes a buy's taker fee from the base coins it delivers (both MEXC and Gate
    # charge the currency received unless fee deduction in MX / GT points is switched on).
    buy_fee_in_base: bool = True
    # Venue error codes meaning "no such order" that ccxt 4.5.90 leaves a plain ExchangeError.
    order_not_found_codes: tuple[str, ...] = ()
    # The ccxt fetch_order param that looks an order up by our client order id (ccxt's
    # unified `clientOrderId` where ccxt maps it; Bybit: its own `orderLinkId`).
    client_id_param: str = "clientOrderId"
    # The venue batches a book's changes and pushes them every this many ms (None: as they
    # happen). On such a venue a live book goes quiet only when its market does, so one
    # silent for `market_data.max_silence_ms` is resubscribed rather than trusted.
    book_push_ms: int | None = None
    # None: a scan-only venue with basic book integrity (crossed, empty, stale; no sequence).
    books: BookRules | None = None
    aliases: tuple[str, ...] = ()  # other names settings may use for the venue
    # The venue signs private requests with an API passphrase too (ccxt's `password`):
    # live trading needs `exchanges.<venue>.api_password`.
    needs_password: bool = False
    listed: int = 100  # where the venue comes in default lists (then by id)

    @property
    def tradable(self) -> bool:
        """True when arb trades here; else scan-only (basic book integrity)."""
        return self.books is not None

    @property
    def level(self) -> str:
        """What arb does on the venue, as `arb symbols` and the live table show it."""
        return "trade" if self.tradable else "scan-only (book integrity: basic)"


def frozen(options: dict[Any, Any]) -> Mapping[Any, Any]:
    """A read-only view of a profile's table."""
    return MappingProxyType(options)


@cache
def trade_profiles() -> Mapping[str, VenueProfile]:
    """Every venue with its own module in this package, by settings id (loaded once)."""
    package = importlib.import_module("arb.venues")
    found: dict[str, VenueProfile] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):
            continue
        profile = getattr(importlib.import_module(f"arb.venues.{module.name}"), "PROFILE", None)
        if isinstance(profile, VenueProfile):
            found[profile.venue_id] = profile
    ordered = sorted(found.values(), key=lambda p: (p.listed, p.venue_id))
    return MappingProxyType({p.venue_id: p for p in ordered})


def canonical_id(venue_id: str) -> str:
    """The settings id a name or alias stands for ("gate" -> "gateio"); the name otherwise."""
    key = venue_id.strip().lower()
    for profile in trade_profiles().values():
        if key in profile.aliases:
            return profile.venue_id
    return key


def profile_for(venue_id: str) -> VenueProfile:
    """The profile of a settings venue id or alias; ConfigError naming `exchanges` if unknown.

    A ccxt.pro exchange without a module here is scanned with basic book integrity.
    """
    key = canonical_id(venue_id)
    profile = trade_profiles().get(key)
    if profile is not None:
        return profile
    if key in _ccxt_pro_ids():
        return scan_only(key)
    known = ", ".join(trade_profiles())
    raise ConfigError(
        "exchanges",
        f"unknown venue {venue_id!r} (trade: {known}; scan: any ccxt.pro exchange id)",
    )


def profile_for_ccxt(ccxt_id: str) -> VenueProfile | None:
    """The trade profile whose ccxt class is `ccxt_id`, None for a scan-only one."""
    return next((p for p in trade_profiles().values() if p.ccxt_id == ccxt_id), None)


# A venue we know nothing of: one cautious bucket for every call (scan reads markets and,
# on resyncs, nothing else), well under what any listed venue allows per IP.
_UNKNOWN_BUDGETS = {"any": window(50, 10, burst=5)}
_UNKNOWN_COSTS = {call: (Charge("any"),) for call in Call}


@cache
def scan_only(ccxt_id: str) -> VenueProfile:
    """A profile for any ccxt.pro exchange: a cautious rate budget, no book rules."""
    return VenueProfile(
        venue_id=ccxt_id,
        ccxt_id=ccxt_id,
        options=frozen({}),
        spot_markets_only=False,
        load_currencies=False,
        budgets=frozen(_UNKNOWN_BUDGETS),
        costs=frozen(_UNKNOWN_COSTS),
        client_id_prefix="",
        client_id_max_len=32,
        create_reports_fills=False,
        orders_report_fees=False,
        market_buy_takes_cost=False,
        decoder=None,
        books_per_connection=50,
    )


@cache
def _ccxt_pro_ids() -> frozenset[str]:
    import ccxt.pro  # noqa: PLC0415 - only asked for a venue without a module here

    return frozenset(ccxt.pro.exchanges)
