"""The simulated venues: one module per venue protocol in this package, found by its PROTOCOL.

A module `arb/sim/<name>.py` that defines `PROTOCOL = Protocol(...)` is a simulated venue:
its REST and WebSocket app, how it pushes a book change, and its defaults. Nothing shared in
the simulator names a venue; adding one is adding its module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from arb.sim.book import BookDelta
    from arb.sim.context import VenueContext


@dataclass(frozen=True, slots=True)
class Protocol:
    """One simulated venue: its wire protocol and the defaults a scenario may override."""

    venue: str  # arb's settings id
    port_offset: int  # `arb sim --port P` serves this venue on P + offset
    ws_path: str  # the WebSocket path ccxt connects to (shown in the banner)
    first_order_id: int  # order ids count up from here, shaped like the venue's own
    cadence_ms: int  # how often book changes are pushed
    taker_fee: str
    maker_fee: str
    build_app: Callable[[VenueContext], web.Application]
    push: Callable[[VenueContext, BookDelta], None]
    topics: Callable[[str], set[str]]  # the WebSocket topics that carry a symbol's book
    native_id: Callable[[str], str]  # the venue's market id of a unified symbol
    aliases: tuple[str, ...] = ()
    fault_kinds: frozenset[str] = frozenset()  # venue-only fault kinds it serves


@cache
def protocols() -> Mapping[str, Protocol]:
    """Every simulated venue by settings id, in port order (modules imported once)."""
    package = importlib.import_module("arb.sim")
    found: list[Protocol] = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):
            continue
        protocol: Any = getattr(importlib.import_module(f"arb.sim.{module.name}"), "PROTOCOL", None)
        if isinstance(protocol, Protocol):
            found.append(protocol)
    found.sort(key=lambda p: p.port_offset)
    return MappingProxyType({p.venue: p for p in found})


def venues() -> tuple[str, ...]:
    """The simulated venues' settings ids, in port order."""
    return tuple(protocols())


def venue_id(text: str) -> str | None:
    """The simulated venue a name or alias stands for, None if there is none."""
    key = text.strip().lower()
    for protocol in protocols().values():
        if key == protocol.venue or key in protocol.aliases:
            return protocol.venue
    return None
