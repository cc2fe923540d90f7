"""Real ccxt clients trading on the simulator: balances, fills, fees, lookups, signatures."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt
import pytest
from simtools import Factory

from arb.sim import Simulator

D = Decimal


async def test_balances_match_the_scenario(clients: Factory) -> None:
    for venue in ("mexc", "gateio"):
        balance = await clients(venue).fetch_balance()
        assert balance["free"]["USDT"] == 100000.0
        assert balance["total"]["BTC"] == 2.0
        assert balance["total"]["ETH"] == 10.0


async def test_mexc_partial_ioc_reports_canceled_and_moves_balances_exactly(
    sim: Simulator, clients: Factory
) -> None:
    mexc = clients("mexc")
    placed = await mexc.create_order("BTC/USDT", "limit", "buy", 1.5, 45996, {"timeInForce": "IOC"})
    order = await mexc.fetch_order(placed["id"], "BTC/USDT")
    cost = D("0.4") * D("45995.48") + D("0.6") * D("45996")
    assert order["status"] == "canceled"
    assert order["filled"] == 1.0
    assert order["amount"] == 1.5
    assert order["cost"] == float(cost)
    state = sim.state("mexc")
    assert state.free["USDT"] == D("100000") - cost
    assert state.free["BTC"] == D("2") + D("1") - D("1") * D("0.0005")
    balance = await mexc.fetch_balance()
    assert balance["free"]["USDT"] == float(D("100000") - cost)
    assert balance["free"]["BTC"] == float(D("2.9995"))
    # the liquidity taken is gone from the book
    assert sim.book("mexc", "BTC/USDT").best_ask() == D("46000")


async def test_gate_full_fill_sell_charges_the_fee_in_quote(
    sim: Simulator, clients: Factory
) -> None:
    gate = clients("gateio")
    order = await gate.create_order("BTC/USDT", "limit", "sell", 0.5, 45995, {"timeInForce": "IOC"})
    assert order["status"] == "closed"
    assert order["filled"] == 0.5
    assert order["average"] == 45995.47
    proceeds = D("0.5") * D("45995.47")
    fee = proceeds * D("0.002")
    assert order["fees"][-1] == {"currency": "USDT", "cost": float(fee)}
    state = sim.state("gateio")
    assert state.free["USDT"] == D("100000") + proceeds - fee
    assert state.free["BTC"] == D("1.5")
    assert (await gate.fetch_balance())["free"]["USDT"] == float(D("100000") + proceeds - fee)


async def test_gate_partial_ioc_is_cancelled_with_its_fill(clients: Factory) -> None:
    gate = clients("gateio")
    placed = await gate.create_order(
        "ETH/USDT", "limit", "buy", 3, 3500.2, {"timeInForce": "IOC", "clientOrderId": "t-leg-1"}
    )
    assert placed["status"] == "canceled"
    assert placed["filled"] == 2.0
    found = await gate.fetch_order("t-leg-1", "ETH/USDT")
    assert found["id"] == placed["id"]
    assert found["filled"] == 2.0
    assert found["info"]["finish_as"] == "ioc"


async def test_market_orders_walk_the_book(sim: Simulator, clients: Factory) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    sold = await mexc.create_order("BTC/USDT", "market", "sell", 1.0)
    sold = await mexc.fetch_order(sold["id"], "BTC/USDT")
    assert sold["status"] == "closed"
    assert sold["cost"] == float(D("0.5") * D("45995.47") + D("0.5") * D("45995.00"))
    bought = await gate.create_order(
        "ETH/USDT", "market", "buy", 7000.4, None, {"createMarketBuyOrderRequiresPrice": False}
    )
    # 2 ETH at 3500.20 cost 7000.40: the whole budget
    assert bought["status"] == "closed"
    assert bought["filled"] == 2.0
    assert sim.state("gateio").free["ETH"] == D("10") + D("2") - D("2") * D("0.002")


async def test_mexc_resting_order_locks_then_cancel_releases(
    sim: Simulator, clients: Factory
) -> None:
    mexc = clients("mexc")
    placed = await mexc.create_order(
        "ETH/USDT", "limit", "buy", 1, 3400, {"clientOrderId": "leg-7"}
    )
    found = await mexc.fetch_order(None, "ETH/USDT", {"clientOrderId": "leg-7"})
    assert found["id"] == placed["id"]
    assert found["status"] == "open"
    assert sim.state("mexc").balance("USDT") == (D("96600"), D("3400"))
    canceled = await mexc.cancel_order(placed["id"], "ETH/USDT")
    assert canceled["status"] == "canceled"
    assert sim.state("mexc").balance("USDT") == (D("100000"), D("0"))


async def test_insufficient_balance_is_rejected_in_each_venue_shape(
    sim: Simulator, clients: Factory
) -> None:
    with pytest.raises(ccxt.InsufficientFunds, match="Insufficient position"):
        await clients("mexc").create_order("BTC/USDT", "market", "sell", 3)
    with pytest.raises(ccxt.InsufficientFunds, match="BALANCE_NOT_ENOUGH"):
        await clients("gateio").create_order("BTC/USDT", "limit", "buy", 3, 46000)
    assert sim.state("mexc").orders == {}
    assert sim.state("gateio").orders == {}
    assert sim.state("gateio").free["USDT"] == D("100000")


async def test_unknown_order_lookups_fail_as_order_not_found(clients: Factory) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        await clients("gateio").fetch_order("t-nope", "BTC/USDT")
    with pytest.raises(ccxt.ExchangeError, match="-2013"):
        await clients("mexc").fetch_order("C02__1", "BTC/USDT")


async def test_wrong_secret_fails_signature_checks(sim: Simulator, clients: Factory) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="700002"):
        await clients("mexc", secret="wrong").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="INVALID_SIGNATURE"):
        await clients("gateio", secret="wrong").create_order("BTC/USDT", "limit", "buy", 0.1, 1000)
    assert sim.state("gateio").orders == {}
    # the failing signed call (load_markets' currency list) is logged without its signature
    signed = [e["query"] for e in sim.log.of("mexc", "http") if "signature=" in e["query"]]
    assert signed
    assert all(q.endswith("signature=<redacted>") for q in signed)


async def test_trading_fees_come_from_the_scenario(clients: Factory) -> None:
    assert (await clients("mexc").fetch_trading_fee("BTC/USDT"))["taker"] == 0.0005
    assert (await clients("gateio").fetch_trading_fee("ETH/USDT"))["taker"] == 0.002
