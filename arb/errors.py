"""The arb error tree, grouped by what the caller does next.

ArbError                      every error arb raises on purpose; one line, venue named
├── ConfigError               bad setting or argument: exit 2 naming the key
├── VenueUnavailable          network, 5xx, timeout, maintenance: retry reads with backoff
│   └── RateLimited           429/418: back off harder
├── AuthenticationFailed      bad or missing keys, permissions: stop
├── SymbolUnknown             the venue does not list the symbol: skip it, tell the user
├── OrderRejected             the venue refused an order (bad size, price, state): skip
│   └── InsufficientFunds     not enough balance: refresh balances before anything else
├── OrderUnknown              an order call whose outcome is unknown: look it up by client
│                             order id and reconcile; never resend it
├── BookInvalid               sequence gap, crossed or empty book: resync, never use it
└── LegMismatch               one leg filled and the other did not: unwind and alert
"""

from __future__ import annotations


class ArbError(Exception):
    """Root of every error arb raises on purpose."""

    def __init__(self, message: str, *, venue: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.venue = venue

    def __str__(self) -> str:
        return f"{self.venue}: {self.message}" if self.venue else self.message


class ConfigError(ArbError):
    """A setting or argument is wrong; the CLI exits 2 and names `key`."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class VenueUnavailable(ArbError):
    """The venue did not answer usefully (network, 5xx, timeout, maintenance): retry reads."""


class RateLimited(VenueUnavailable):
    """The venue throttled us (HTTP 429 / 418): back off before the next request."""


class AuthenticationFailed(ArbError):
    """Keys missing, wrong or without permission: stop trading on this venue."""


class SymbolUnknown(ArbError):
    """The venue does not list this symbol (or not as an active spot market)."""


class OrderRejected(ArbError):
    """The venue refused the order; nothing was placed."""


class InsufficientFunds(OrderRejected):
    """The venue refused the order for lack of balance: refresh balances."""


class OrderThrottled(OrderRejected):
    """The venue answered the order call with a rate limit: refused, nothing placed."""


class OrderUnknown(ArbError):
    """An order call ended without a known outcome: look it up, never resend."""

    def __init__(self, message: str, *, venue: str | None = None, client_order_id: str) -> None:
        super().__init__(message, venue=venue)
        self.client_order_id = client_order_id


class BookInvalid(ArbError):
    """A book cannot be trusted (gap, crossed, empty): resync before use."""


class LegMismatch(ArbError):
    """The two legs of a trade did not fill alike: unwind or hedge, then alert."""
