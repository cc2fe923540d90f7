"""Every ccxt exception class lands on the arb error that says what to do next."""

from __future__ import annotations

import inspect

import pytest
from ccxt.base import errors as ccxt_errors

from arb import errors
from arb.venues.errors import scrub, translate

EXPECTED: dict[str, type[errors.ArbError]] = {
    "BaseError": errors.ArbError,
    "ExchangeError": errors.ArbError,
    "AuthenticationError": errors.AuthenticationFailed,
    "PermissionDenied": errors.AuthenticationFailed,
    "AccountNotEnabled": errors.AuthenticationFailed,
    "AccountSuspended": errors.AuthenticationFailed,
    "ArgumentsRequired": errors.ArbError,
    "BadRequest": errors.ArbError,
    "BadSymbol": errors.SymbolUnknown,
    "OperationRejected": errors.OrderRejected,
    "NoChange": errors.OrderRejected,
    "MarginModeAlreadySet": errors.OrderRejected,
    "MarketClosed": errors.OrderRejected,
    "ManualInteractionNeeded": errors.OrderRejected,
    "RestrictedLocation": errors.OrderRejected,
    "InsufficientFunds": errors.InsufficientFunds,
    "InvalidAddress": errors.ArbError,
    "AddressPending": errors.ArbError,
    "InvalidOrder": errors.OrderRejected,
    "OrderNotFound": errors.OrderRejected,
    "OrderNotCached": errors.OrderRejected,
    "OrderImmediatelyFillable": errors.OrderRejected,
    "OrderNotFillable": errors.OrderRejected,
    "DuplicateOrderId": errors.OrderRejected,
    "ContractUnavailable": errors.OrderRejected,
    "NotSupported": errors.ArbError,
    "InvalidProxySettings": errors.ArbError,
    "ExchangeClosedByUser": errors.VenueUnavailable,
    "OperationFailed": errors.VenueUnavailable,
    "NetworkError": errors.VenueUnavailable,
    "DDoSProtection": errors.RateLimited,
    "RateLimitExceeded": errors.RateLimited,
    "ExchangeNotAvailable": errors.VenueUnavailable,
    "OnMaintenance": errors.VenueUnavailable,
    "InvalidNonce": errors.VenueUnavailable,
    "ChecksumError": errors.BookInvalid,
    "RequestTimeout": errors.VenueUnavailable,
    "BadResponse": errors.VenueUnavailable,
    "NullResponse": errors.VenueUnavailable,
    "CancelPending": errors.VenueUnavailable,
    "UnsubscribeError": errors.ArbError,
}

CCXT_CLASSES = {
    name: cls
    for name, cls in vars(ccxt_errors).items()
    if inspect.isclass(cls)
    and issubclass(cls, BaseException)
    and cls.__module__ == ccxt_errors.__name__
}


def test_the_table_covers_every_ccxt_exception_class() -> None:
    assert set(CCXT_CLASSES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_ccxt_class_translates_to_its_arb_class(name: str) -> None:
    error = translate(CCXT_CLASSES[name]("mexc said no"), "mexc")
    assert type(error) is EXPECTED[name]
    assert error.venue == "mexc"
    assert "mexc said no" in error.message


@pytest.mark.parametrize(
    "exc", [ccxt_errors.RateLimitExceeded("429"), ccxt_errors.DDoSProtection("418")]
)
def test_a_rate_limited_order_call_was_refused_not_lost(exc: BaseException) -> None:
    # A 429/418 is the venue's answer before it processes the request: nothing was placed.
    error = translate(exc, "mexc", client_order_id="arb0011")
    assert isinstance(error, errors.OrderThrottled)
    assert isinstance(error, errors.OrderRejected)
    assert not isinstance(error, errors.OrderUnknown)


@pytest.mark.parametrize(
    "exc",
    [
        ccxt_errors.RequestTimeout("gate POST https://api.gateio.ws/api/v4/spot/orders timed out"),
        ccxt_errors.NetworkError("connection reset"),
        ccxt_errors.ExchangeNotAvailable("502 Bad Gateway"),
        TimeoutError(),
    ],
)
def test_an_order_lost_in_transit_is_unknown_and_carries_the_client_id(
    exc: BaseException,
) -> None:
    error = translate(exc, "gateio", client_order_id="arb0011")
    assert isinstance(error, errors.OrderUnknown)
    assert error.client_order_id == "arb0011"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt_errors.ExchangeError("unclassified"), errors.OrderRejected),
        (ccxt_errors.BadRequest("bad amount"), errors.OrderRejected),
        (ccxt_errors.InvalidOrder("min notional"), errors.OrderRejected),
        (ccxt_errors.InsufficientFunds("balance"), errors.InsufficientFunds),
        (ccxt_errors.AuthenticationError("bad key"), errors.AuthenticationFailed),
    ],
)
def test_an_order_the_venue_refused_is_rejected_not_unknown(
    exc: BaseException, expected: type[errors.ArbError]
) -> None:
    assert type(translate(exc, "mexc", client_order_id="arb0011")) is expected


def test_mexc_signed_url_loses_signature_key_and_secret() -> None:
    message = (
        "mexc GET https://api.mexc.com/api/v3/account?timestamp=1795549340612&recvWindow=5000"
        "&signature=c37fa96b1e69fef3bedef9fa6f94b2cef9b05dd27ae97e4889067f7d3604aad1 400 "
        '{"code":700002,"msg":"Signature for this request is not valid."} '
        "headers X-MEXC-APIKEY: mx0vglKEYKEYKEY secret sEcReTsEcReT"
    )
    error = translate(
        ccxt_errors.AuthenticationError(message),
        "mexc",
        secrets=("mx0vglKEYKEYKEY", "sEcReTsEcReT"),
    )
    text = str(error)
    assert "c37fa96b" not in text
    assert "mx0vglKEYKEYKEY" not in text
    assert "sEcReTsEcReT" not in text
    assert "signature=***" in text
    assert "Signature for this request is not valid" in text
    assert "\n" not in text


def test_scrub_keeps_one_short_line() -> None:
    text = scrub("line one\nline two " + "x" * 1000)
    assert "\n" not in text
    assert len(text) <= 300
