"""ccxt's exceptions translated into the arb error tree, once, with secrets scrubbed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ccxt.base import errors as ccxt_errors

from arb import errors

# Most specific first: the first class the exception is an instance of decides.
TABLE: tuple[tuple[type[BaseException], type[errors.ArbError]], ...] = (
    (ccxt_errors.ChecksumError, errors.BookInvalid),
    (ccxt_errors.RateLimitExceeded, errors.RateLimited),
    (ccxt_errors.DDoSProtection, errors.RateLimited),
    (ccxt_errors.OnMaintenance, errors.VenueUnavailable),
    (ccxt_errors.ExchangeNotAvailable, errors.VenueUnavailable),
    (ccxt_errors.RequestTimeout, errors.VenueUnavailable),
    (ccxt_errors.InvalidNonce, errors.VenueUnavailable),  # clock drift / recvWindow: retryable
    (ccxt_errors.NetworkError, errors.VenueUnavailable),
    (ccxt_errors.NullResponse, errors.VenueUnavailable),
    (ccxt_errors.BadResponse, errors.VenueUnavailable),
    (ccxt_errors.CancelPending, errors.VenueUnavailable),  # ask again later
    (ccxt_errors.OperationFailed, errors.VenueUnavailable),
    (ccxt_errors.ExchangeClosedByUser, errors.VenueUnavailable),
    (ccxt_errors.AccountNotEnabled, errors.AuthenticationFailed),
    (ccxt_errors.PermissionDenied, errors.AuthenticationFailed),
    (ccxt_errors.AccountSuspended, errors.AuthenticationFailed),
    (ccxt_errors.AuthenticationError, errors.AuthenticationFailed),
    (ccxt_errors.InsufficientFunds, errors.InsufficientFunds),
    (ccxt_errors.BadSymbol, errors.SymbolUnknown),
    (ccxt_errors.OrderNotFound, errors.OrderRejected),  # not there, or no longer cancellable
    (ccxt_errors.OrderNotCached, errors.OrderRejected),
    (ccxt_errors.OrderImmediatelyFillable, errors.OrderRejected),
    (ccxt_errors.OrderNotFillable, errors.OrderRejected),
    (ccxt_errors.DuplicateOrderId, errors.OrderRejected),
    (ccxt_errors.ContractUnavailable, errors.OrderRejected),
    (ccxt_errors.InvalidOrder, errors.OrderRejected),
    (ccxt_errors.MarketClosed, errors.OrderRejected),
    (ccxt_errors.OperationRejected, errors.OrderRejected),
    # What remains is a request the venue refused for a reason ccxt could not classify:
    # not worth a retry, and only an order call can call it a rejected order (see translate).
    (ccxt_errors.BadRequest, errors.ArbError),
    (ccxt_errors.ArgumentsRequired, errors.ArbError),
    (ccxt_errors.NotSupported, errors.ArbError),
    (ccxt_errors.ExchangeError, errors.ArbError),
    (ccxt_errors.BaseError, errors.ArbError),
    # Raised by asyncio / aiohttp outside ccxt's own wrapping (e.g. our own timeouts).
    (TimeoutError, errors.VenueUnavailable),
    (ConnectionError, errors.VenueUnavailable),
)

# Outcomes of an order placement that leave it unknown: the request may have reached the venue.
_ORDER_OUTCOME_UNKNOWN = (errors.VenueUnavailable,)

_MAX_MESSAGE = 300
_SECRET_QUERY = re.compile(
    r"((?:signature|sign|apikey|api_key|key|secret|passphrase|listenkey)=)[^&\s\"',}]*",
    re.IGNORECASE,
)
_SECRET_HEADER = re.compile(
    r"([\"']?(?:x-mexc-apikey|key|sign|apikey|secret|passphrase)[\"']?\s*:\s*[\"']?)[^\"',}\s]+",
    re.IGNORECASE,
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """One line of `text` without signatures, keys or any of `secrets`, at most 300 chars."""
    out = _SECRET_QUERY.sub(r"\1***", text)
    out = _SECRET_HEADER.sub(r"\1***", out)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    out = " ".join(out.split())
    return out if len(out) <= _MAX_MESSAGE else out[: _MAX_MESSAGE - 3] + "..."


def arb_class(exc: BaseException) -> type[errors.ArbError] | None:
    """The arb error class for a ccxt (or transport) exception; None if it is not one."""
    for source, target in TABLE:
        if isinstance(exc, source):
            return target
    return None


def translate(
    exc: BaseException,
    venue: str,
    *,
    secrets: Iterable[str] = (),
    client_order_id: str | None = None,
) -> errors.ArbError:
    """The arb error for `exc`; pass `client_order_id` when the call placed an order.

    An order placement that failed in transit (timeout, network, 5xx) is OrderUnknown:
    the venue may have accepted it, so the caller looks it up instead of resending. A rate
    limit (429/418) is the venue's explicit refusal before it processes the request:
    OrderThrottled, nothing placed. Any other refusal is OrderRejected.
    """
    if isinstance(exc, errors.ArbError):
        return exc
    target = arb_class(exc) or errors.ArbError
    message = scrub(f"{type(exc).__name__}: {exc}", secrets)
    if client_order_id is not None:
        if issubclass(target, errors.RateLimited):
            return errors.OrderThrottled(
                f"order {client_order_id} refused by the rate limit ({message})", venue=venue
            )
        if issubclass(target, _ORDER_OUTCOME_UNKNOWN):
            return errors.OrderUnknown(
                f"order {client_order_id} outcome unknown ({message})",
                venue=venue,
                client_order_id=client_order_id,
            )
        if target is errors.ArbError:
            target = errors.OrderRejected
    return target(message, venue=venue)
