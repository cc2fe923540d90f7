"""Symbol resolution: SymbolTable.get_symbol / get_market against a plain dict lookup."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from arb.domain.symbols import SymbolTable
from bench.harness import Row, Stat, timed_loops
from bench.universe import market_infos, scenario

SYMBOLS = 300


class _Empty:
    """A method that does nothing: the floor of any `table.get_x(venue, key)` call."""

    __slots__ = ()

    def get(self, venue: str, key: str) -> None:
        """Return nothing."""


def _calls(method: Callable[[str, str], Any], keys: list[tuple[str, str]]) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n // len(keys)):
            for venue, key in keys:
                method(venue, key)

    return loop


def _subscripts(plain: dict[str, Any], keys: list[tuple[str, str]]) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n // len(keys)):
            for _venue, key in keys:
                plain[key]

    return loop


def _nested(plain: dict[str, dict[str, Any]], keys: list[tuple[str, str]]) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n // len(keys)):
            for venue, key in keys:
                plain[venue][key]

    return loop


def _mapped(
    per_venue: dict[str, Mapping[str, Any]], keys: list[tuple[str, str]]
) -> Callable[[int], None]:
    # Keys arrive grouped by venue (a frame belongs to one venue's stream).
    grouped = [(per_venue[venue], key) for venue, key in keys]

    def loop(n: int) -> None:
        for _ in range(n // len(grouped)):
            for table, key in grouped:
                table[key]

    return loop


def _empty_loop(keys: list[tuple[str, str]]) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n // len(keys)):
            for _venue, _key in keys:
                pass

    return loop


def run(quick: bool = False) -> list[Row]:
    """Both lookup directions over 300 symbols on two venues, against `dict[key]`."""
    infos = market_infos(scenario(SYMBOLS))
    table = SymbolTable(infos)
    # fresh str keys, as a decoded frame's would be (no identity shortcut in the dict)
    natives = [(m.venue, "".join(list(m.native_id))) for m in infos]
    symbols = [(m.venue, "".join(list(m.symbol))) for m in infos]
    by_native = {m.native_id: m.symbol for m in infos}
    by_symbol = {m.symbol: m for m in infos}
    nested: dict[str, dict[str, Any]] = {}
    for m in infos:
        nested.setdefault(m.venue, {})[m.native_id] = m.symbol
    samples = 30 if quick else 300
    rows = []
    for name, method, keys, plain in (
        ("native id -> symbol (get_symbol)", table.get_symbol, natives, by_native),
        ("symbol -> market (get_market)", table.get_market, symbols, by_symbol),
    ):
        calls = len(keys) * 10
        mine, base = timed_loops(
            _calls(method, keys), _subscripts(plain, keys), samples=samples, calls=calls
        )
        rows.append(
            Row(
                operation=f"symbol resolution: {name}",
                ours=mine,
                baseline=base,
                ratio=round(mine.median / base.median, 2),
                ratio_means="ours / dict[key] (times slower)",
                target="(info: the method API; hot paths use the maps below)",
                passed=None,
                notes="per lookup over 600 keys, loop cost in both",
                details=_breakdown(keys, nested if "native" in name else None, samples, calls),
            )
        )
    # What hot-path code does: take the venue's map once, then index it per frame.
    for name, maps, keys, plain in (
        ("native id -> symbol (symbols_of(venue)[id])", table.symbols_of, natives, by_native),
        ("symbol -> market (markets_of(venue)[symbol])", table.markets_of, symbols, by_symbol),
    ):
        calls = len(keys) * 10
        per_venue = {venue: maps(venue) for venue in table.venues}
        mine, base = timed_loops(
            _mapped(per_venue, keys), _subscripts(plain, keys), samples=samples, calls=calls
        )
        ratio = mine.median / base.median
        rows.append(
            Row(
                operation=f"symbol resolution: {name}",
                ours=mine,
                baseline=base,
                ratio=round(ratio, 2),
                ratio_means="ours / dict[key] (times slower)",
                target="< 100 ns, <= 2x dict",
                passed=mine.median < 100 and ratio <= 2,
                notes="per lookup over 600 keys; the venue's map is taken once per venue",
            )
        )
    return rows


def _breakdown(
    keys: list[tuple[str, str]], nested: dict[str, dict[str, Any]] | None, samples: int, calls: int
) -> dict[str, Any]:
    """Where the time goes: the loop alone, an empty method call, the nested dict hit."""
    empty_call, empty_loop = timed_loops(
        _calls(_Empty().get, keys), _empty_loop(keys), samples=samples, calls=calls
    )
    out: dict[str, Any] = {
        "loop_only_ns": _median(empty_loop),
        "empty_method_call_ns": _median(empty_call),
    }
    if nested is not None:
        two_hits, _ = timed_loops(
            _nested(nested, keys), _empty_loop(keys), samples=samples, calls=calls
        )
        out["nested_dict_two_hits_ns"] = _median(two_hits)
    return out


def _median(stat: Stat) -> float:
    return round(stat.median, 1)
