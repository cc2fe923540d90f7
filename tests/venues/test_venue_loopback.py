"""The adapter against a loopback venue: concurrent legs, retries of reads, never of orders."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from venue_loopback import LoopbackVenue, Reply, cassette_replies

from arb.config import Secret, VenueSettings
from arb.errors import OrderUnknown, VenueUnavailable
from arb.venues import Venue

D = Decimal
MEXC_ORDER = ("POST", "/api/v3/order")
GATE_ORDER = ("POST", "/api/v4/spot/orders")


def settings(venue: str, url: str) -> VenueSettings:
    return VenueSettings(
        id=venue, rest_url=url, api_key=Secret("test-key"), api_secret=Secret("test-secret")
    )


def both_venues() -> LoopbackVenue:
    return LoopbackVenue(
        cassette_replies(
            "mexc/balance", "mexc/create_order", "gateio/balance", "gateio/create_order"
        )
    )


async def test_two_legs_placed_together_arrive_together() -> None:
    # ccxt's own MEXC throttler made an order sent right after load_markets and a balance
    # read wait seconds; with our limiter neither leg waits for anything.
    async with (
        both_venues() as server,
        Venue(settings("mexc", server.url), backoff_s=0.01) as mexc,
        Venue(settings("gateio", server.url), backoff_s=0.01) as gate,
    ):
        await asyncio.gather(mexc.load_markets(), gate.load_markets())
        await asyncio.gather(mexc.fetch_balance(), gate.fetch_balance())
        mexc_leg, gate_leg = await asyncio.gather(
            mexc.create_order("ADA/USDT", "buy", D("0.5"), D("2"), "arbleg1"),
            gate.create_order("BTC/USDT", "sell", D("0.001"), D("65000"), "arbleg2"),
        )
    (mexc_order,) = server.received(*MEXC_ORDER)
    (gate_order,) = server.received(*GATE_ORDER)
    gap = abs(mexc_order.at - gate_order.at)
    assert gap < 0.05, f"legs arrived {gap * 1000:.0f} ms apart"
    assert mexc_leg.id == "C02__545584045430513665029"
    assert gate_leg.id == "1852454420"
    # What the venues received: IOC limit orders carrying our client ids, rounded.
    assert mexc_order.query["type"] == "IMMEDIATE_OR_CANCEL"
    assert mexc_order.query["newClientOrderId"] == "arbleg1"
    assert '"time_in_force":"ioc"' in gate_order.body
    assert '"text":"t-arbleg2"' in gate_order.body
    # Only spot market data was requested at start-up.
    paths = {a.path for a in server.arrivals}
    assert "/api/v1/contract/detail" not in paths
    assert not any(p.startswith(("/api/v4/futures", "/api/v4/delivery")) for p in paths)
    assert "/api/v4/account/detail" not in paths


async def test_a_read_is_retried_when_the_venue_is_unavailable() -> None:
    replies = cassette_replies("gateio/balance")
    replies[("GET", "/api/v4/spot/accounts")].statuses = [502, 503]
    async with (
        LoopbackVenue(replies) as server,
        Venue(settings("gateio", server.url), backoff_s=0.01) as gate,
    ):
        await gate.load_markets()
        balance = await gate.fetch_balance()
    assert balance.free["ETH"] == D("968.8")
    assert len(server.received("GET", "/api/v4/spot/accounts")) == 3


async def test_a_read_gives_up_after_its_attempts() -> None:
    replies = cassette_replies("gateio/balance")
    replies[("GET", "/api/v4/spot/accounts")].statuses = [502] * 10
    async with (
        LoopbackVenue(replies) as server,
        Venue(settings("gateio", server.url), backoff_s=0.01, read_attempts=3) as gate,
    ):
        await gate.load_markets()
        with pytest.raises(VenueUnavailable):
            await gate.fetch_balance()
    assert len(server.received("GET", "/api/v4/spot/accounts")) == 3


async def test_an_order_that_met_a_5xx_is_unknown_and_never_resent() -> None:
    replies = cassette_replies("mexc/create_order")
    replies[MEXC_ORDER].statuses = [502]
    async with (
        LoopbackVenue(replies) as server,
        Venue(settings("mexc", server.url), backoff_s=0.01) as mexc,
    ):
        await mexc.load_markets()
        with pytest.raises(OrderUnknown) as caught:
            await mexc.create_order("ADA/USDT", "buy", D("0.5"), D("2"), "arbleg3")
    assert caught.value.client_order_id == "arbleg3"
    assert caught.value.venue == "mexc"
    assert len(server.received(*MEXC_ORDER)) == 1


async def test_an_order_that_timed_out_is_unknown_and_never_resent() -> None:
    replies = cassette_replies("gateio/create_order")
    replies[GATE_ORDER] = Reply(body=replies[GATE_ORDER].body, delay_s=1.0)
    async with (
        LoopbackVenue(replies) as server,
        Venue(settings("gateio", server.url), timeout_s=0.2) as gate,
    ):
        await gate.load_markets()
        with pytest.raises(OrderUnknown) as caught:
            await gate.create_order("BTC/USDT", "buy", D("0.001"), D("65000"), "arbleg4")
    assert caught.value.client_order_id == "arbleg4"
    assert "test-secret" not in str(caught.value)
    assert len(server.received(*GATE_ORDER)) == 1
