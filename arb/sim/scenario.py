"""Simulator scenarios: markets, balances, books, timeline and faults read from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from arb.errors import ConfigError
from arb.sim.protocols import protocols, venue_id, venues

Level = tuple[Decimal, Decimal]  # (price, amount)


class FaultKind(StrEnum):
    """What can go wrong on a simulated venue."""

    DROP_WS = "drop_ws"  # close every WebSocket of the venue abruptly
    SKIP_SEQ = "skip_seq"  # the next book push skips one sequence number
    STALE = "stale"  # venue timestamps lag by stale_ms for duration_ms
    CROSSED_BOOK = "crossed_book"  # a bid appears above the best ask
    DELAY = "delay"  # REST answers wait delay_ms for duration_ms
    OUTAGE = "outage"  # the venue is down for duration_ms: REST 503, WebSockets refused
    HTTP_429 = "http_429"  # the next `count` REST requests are rate limited
    HTTP_5XX_AFTER_PLACE = "http_5xx_after_place"  # the order is placed, then 5xx
    REJECT_NEXT_ORDER = "reject_next_order"  # the next `count` orders are rejected
    # Gate: the next `count` subscriptions of the book also get the previous subscription's
    # full snapshot (older `u`, older levels) right after their own, as a late frame would.
    STRAY_SNAPSHOT = "stray_snapshot"
    MUTE_BOOK = "mute_book"  # the book's current subscriptions get no more pushes (pings do)


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault, fired at `at_ms` after start (or injected at run time)."""

    kind: FaultKind
    venue: str
    at_ms: int = 0
    count: int = 1
    duration_ms: int = 0
    delay_ms: int = 0
    stale_ms: int = 0
    status: int = 0  # HTTP status for http_5xx_after_place; 0 = the venue's usual one
    symbol: str = ""  # crossed_book / skip_seq / stray_snapshot / mute_book target; "" = all


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One market on one venue: steps, limits and fees, all exact."""

    symbol: str  # unified "BTC/USDT"
    venue: str
    price_decimals: int
    amount_decimals: int
    min_amount: Decimal
    min_notional: Decimal
    taker_fee: Decimal
    maker_fee: Decimal

    @property
    def base(self) -> str:
        """Base currency code."""
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        """Quote currency code."""
        return self.symbol.split("/")[1]

    @property
    def price_step(self) -> Decimal:
        """Smallest price increment."""
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def amount_step(self) -> Decimal:
        """Smallest amount increment."""
        return Decimal(1).scaleb(-self.amount_decimals)


@dataclass(frozen=True, slots=True)
class BookSpec:
    """A whole book for one venue and symbol (initial state or a replacement)."""

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class LevelChange:
    """Scripted change: set one level (amount 0 deletes it) or replace a whole book."""

    at_ms: int
    venue: str
    symbol: str
    side: str = ""  # "bid" | "ask"; empty when `book` replaces the whole book
    price: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    book: BookSpec | None = None


@dataclass(frozen=True, slots=True)
class WalkSymbol:
    """Random-walk parameters of one symbol (shared fair price, one ladder per venue)."""

    symbol: str
    mid: Decimal
    amount: Decimal  # typical size per level
    levels: int = 10
    spread_bps: Decimal = Decimal(2)
    step_bps: Decimal = Decimal(1)
    vol_bps: Decimal = Decimal(1)  # std-dev of the mid move per interval


@dataclass(frozen=True, slots=True)
class WalkSpec:
    """Generated timeline: seeded random walk with occasional cross-venue dislocations."""

    seed: int
    interval_ms: int
    symbols: tuple[WalkSymbol, ...]
    dislocation_every_ms: int = 0  # 0 = never
    dislocation_bps: Decimal = Decimal(0)
    dislocation_ms: int = 0


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """Venue-wide settings: push cadence and default fees."""

    venue: str
    cadence_ms: int
    taker_fee: Decimal
    maker_fee: Decimal


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a simulator run starts from."""

    name: str
    api_key: str
    api_secret: str
    venues: dict[str, VenueSpec]
    markets: tuple[MarketSpec, ...]
    balances: dict[str, dict[str, Decimal]]
    books: tuple[BookSpec, ...]
    timeline: tuple[LevelChange, ...] = ()
    faults: tuple[Fault, ...] = ()
    walk: WalkSpec | None = None
    # the passphrase venues that sign with one (OKX) check; a sandbox value, not a secret
    api_password: str = "sim-passphrase"  # noqa: S105

    def market(self, venue: str, symbol: str) -> MarketSpec | None:
        """The market spec of `symbol` on `venue`, or None."""
        for spec in self.markets:
            if spec.venue == venue and spec.symbol == symbol:
                return spec
        return None

    def venue_markets(self, venue: str) -> tuple[MarketSpec, ...]:
        """All markets listed on `venue`."""
        return tuple(m for m in self.markets if m.venue == venue)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario TOML file (ConfigError naming --scenario); None: the shipped default."""
    if path is None:
        text = resources.files("arb.sim").joinpath("scenarios/default.toml").read_text("utf-8")
        return parse_scenario(tomllib.loads(text), name="default")
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return parse_scenario(tomllib.load(handle), name=file.stem)
    except (OSError, tomllib.TOMLDecodeError, ValueError, TypeError, KeyError) as exc:
        # A user's file: the CLI turns this into one line and exit 2, not a traceback.
        raise ConfigError("--scenario", f"{file}: {exc}") from exc


def parse_scenario(data: dict[str, Any], name: str = "scenario") -> Scenario:
    """Build a Scenario from parsed TOML; raise ValueError naming the bad key."""
    sandbox = data.get("sandbox", {})
    specs = {v: _venue(v, data.get("venues", {}).get(v, {})) for v in venues()}
    markets = tuple(m for entry in data.get("markets", []) for m in _markets(entry, specs))
    balances = {
        v: {code.upper(): _dec(amount, f"balances.{v}.{code}") for code, amount in table.items()}
        for v, table in data.get("balances", {}).items()
        if _venue_id(v, "balances")
    }
    books = tuple(_book(entry, "books") for entry in data.get("books", []))
    return Scenario(
        name=str(data.get("name", name)),
        api_key=str(sandbox.get("api_key", "sim-key")),
        api_secret=str(sandbox.get("api_secret", "sim-secret")),
        api_password=str(sandbox.get("api_password", "sim-passphrase")),
        venues=specs,
        markets=markets,
        balances={v: balances.get(v, {}) for v in venues()},
        books=books,
        timeline=tuple(_change(entry) for entry in data.get("timeline", [])),
        faults=tuple(fault_from_dict(entry) for entry in data.get("faults", [])),
        walk=_walk(data["walk"]) if "walk" in data else None,
    )


def fault_from_dict(entry: dict[str, Any]) -> Fault:
    """Build a Fault from a `[[faults]]` table."""
    try:
        kind = FaultKind(entry["kind"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"faults.kind must be one of {[k.value for k in FaultKind]}") from exc
    venue = _venue_id(str(entry.get("venue", "")), "faults.venue")
    served = {k for p in protocols().values() for k in p.fault_kinds}
    if kind in served and kind not in protocols()[venue].fault_kinds:
        having = ", ".join(p.venue for p in protocols().values() if kind in p.fault_kinds)
        raise ValueError(f"faults.venue: {kind} is a fault of {having} only")
    return Fault(
        kind=kind,
        venue=venue,
        at_ms=int(entry.get("at_ms", 0)),
        count=int(entry.get("count", 1)),
        duration_ms=int(entry.get("duration_ms", 0)),
        delay_ms=int(entry.get("delay_ms", 0)),
        stale_ms=int(entry.get("stale_ms", 0)),
        status=int(entry.get("status", 0)),
        symbol=str(entry.get("symbol", "")),
    )


def _venue_id(text: str, key: str) -> str:
    venue = venue_id(text)
    if venue is None:
        raise ValueError(f"{key}: unknown venue {text!r} (want one of {venues()})")
    return venue


def _dec(value: Any, key: str) -> Decimal:
    # floats in TOML would carry binary noise into money; accept str and int only
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key}: write amounts as strings or integers, got {value!r}")
    return Decimal(str(value))


def _venue(venue: str, table: dict[str, Any]) -> VenueSpec:
    protocol = protocols()[venue]
    return VenueSpec(
        venue=venue,
        cadence_ms=int(table.get("cadence_ms", protocol.cadence_ms)),
        taker_fee=_dec(table.get("taker_fee", protocol.taker_fee), venue),
        maker_fee=_dec(table.get("maker_fee", protocol.maker_fee), venue),
    )


def _markets(entry: dict[str, Any], venues: dict[str, VenueSpec]) -> list[MarketSpec]:
    symbol = str(entry["symbol"]).upper()
    out = []
    for venue, spec in venues.items():
        table = entry.get(venue)
        if table is None:
            continue
        key = f"markets[{symbol}].{venue}"
        out.append(
            MarketSpec(
                symbol=symbol,
                venue=venue,
                price_decimals=int(table["price_decimals"]),
                amount_decimals=int(table["amount_decimals"]),
                min_amount=_dec(table.get("min_amount", "0"), key),
                min_notional=_dec(table.get("min_notional", "0"), key),
                taker_fee=_dec(table.get("taker_fee", str(spec.taker_fee)), key),
                maker_fee=_dec(table.get("maker_fee", str(spec.maker_fee)), key),
            )
        )
    return out


def _levels(rows: list[Any], key: str) -> tuple[Level, ...]:
    return tuple((_dec(p, key), _dec(a, key)) for p, a in rows)


def _book(entry: dict[str, Any], key: str) -> BookSpec:
    return BookSpec(
        venue=_venue_id(str(entry.get("venue", "")), f"{key}.venue"),
        symbol=str(entry["symbol"]).upper(),
        bids=_levels(entry.get("bids", []), f"{key}.bids"),
        asks=_levels(entry.get("asks", []), f"{key}.asks"),
    )


def _change(entry: dict[str, Any]) -> LevelChange:
    at_ms = int(entry.get("at_ms", 0))
    if entry.get("replace", False):
        book = _book(entry, "timeline")
        return LevelChange(at_ms=at_ms, venue=book.venue, symbol=book.symbol, book=book)
    side = str(entry.get("side", ""))
    if side not in ("bid", "ask"):
        raise ValueError("timeline.side must be 'bid' or 'ask' (or set replace = true)")
    return LevelChange(
        at_ms=at_ms,
        venue=_venue_id(str(entry.get("venue", "")), "timeline.venue"),
        symbol=str(entry["symbol"]).upper(),
        side=side,
        price=_dec(entry["price"], "timeline.price"),
        amount=_dec(entry["amount"], "timeline.amount"),
    )


def _walk(table: dict[str, Any]) -> WalkSpec:
    symbols = tuple(
        WalkSymbol(
            symbol=symbol.upper(),
            mid=_dec(spec["mid"], f"walk.symbols.{symbol}.mid"),
            amount=_dec(spec["amount"], f"walk.symbols.{symbol}.amount"),
            levels=int(spec.get("levels", 10)),
            spread_bps=_dec(spec.get("spread_bps", "2"), "walk.spread_bps"),
            step_bps=_dec(spec.get("step_bps", "1"), "walk.step_bps"),
            vol_bps=_dec(spec.get("vol_bps", "1"), "walk.vol_bps"),
        )
        for symbol, spec in table.get("symbols", {}).items()
    )
    return WalkSpec(
        seed=int(table.get("seed", 1)),
        interval_ms=int(table.get("interval_ms", 100)),
        symbols=symbols,
        dislocation_every_ms=int(table.get("dislocation_every_ms", 0)),
        dislocation_bps=_dec(table.get("dislocation_bps", "0"), "walk.dislocation_bps"),
        dislocation_ms=int(table.get("dislocation_ms", 0)),
    )
