"""Simulator pieces on their own: sequencing, matching, signatures, scenarios, walk."""

from __future__ import annotations

import hashlib
import tomllib
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simtools import sample, scenario_data

from arb.sim import load_scenario, parse_scenario
from arb.sim.book import SimBook
from arb.sim.matching import take, total
from arb.sim.signing import gate_signature, mexc_signature, split_mexc_query
from arb.sim.venue import OrderRequest, OrderStatus, RejectReason, VenueReject, VenueState
from arb.sim.walk import Walk

D = Decimal


def test_flushes_chain_sequence_numbers_and_skip_leaves_a_gap() -> None:
    book = SimBook("BTC/USDT", version=100)
    book.set_level("bid", D("10"), D("1"))
    book.set_level("ask", D("11"), D("2"))
    first = book.flush()
    assert first is not None
    assert (first.first, first.last) == (101, 102)
    book.set_level("bid", D("10"), D("1"))  # same amount: no change, no sequence number
    assert book.flush() is None
    book.skip_sequence()
    book.set_level("bid", D("10"), D("0"))
    gapped = book.flush()
    assert gapped is not None
    assert gapped.first == first.last + 2
    assert gapped.bids == ((D("10"), D("0")),)
    assert book.bids == {}


def test_replace_records_only_differences() -> None:
    book = SimBook("ETH/USDT", version=0)
    book.replace(((D("9"), D("1")), (D("8"), D("1"))), ((D("10"), D("1")),))
    book.flush()
    book.replace(((D("9"), D("1")),), ((D("10"), D("3")),))
    delta = book.flush()
    assert delta is not None
    assert delta.bids == ((D("8"), D("0")),)
    assert delta.asks == ((D("10"), D("3")),)


levels_strategy = st.lists(
    st.tuples(
        st.decimals(min_value=1, max_value=1000, places=2),
        st.decimals(min_value=D("0.001"), max_value=10, places=3),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda level: level[0],
)


@given(levels_strategy, st.decimals(min_value=D("0.001"), max_value=50, places=3))
def test_take_never_exceeds_amount_depth_or_limit(
    levels: list[tuple[Decimal, Decimal]], amount: Decimal
) -> None:
    asks = sorted(levels)
    limit = asks[len(asks) // 2][0]
    fills = take(asks, True, limit=limit, amount=amount, budget=None, step=D("0.001"))
    filled, _ = total(fills)
    assert filled <= amount
    assert all(f.price <= limit for f in fills)
    depth = sum((a for p, a in asks if p <= limit), D(0))
    assert filled == min(amount, depth)


def test_budget_buys_whole_steps_only() -> None:
    fills = take(((D("3"), D("10")),), True, limit=None, amount=None, budget=D("10"), step=D("0.1"))
    assert fills[0].amount == D("3.3")


def state() -> VenueState:
    return VenueState("mexc", parse_scenario(scenario_data()), first_order_id=1)


def request(
    side: str, amount: str, price: str, tif: str = "ioc", symbol: str = "BTC/USDT"
) -> OrderRequest:
    return OrderRequest(symbol, side, "limit", tif, D(price), D(amount), None, "")


def test_fok_fills_all_or_nothing() -> None:
    venue = state()
    # ETH asks: 2 at 3500.20 and 3 at 3500.30
    order = venue.place("1", request("buy", "6", "3500.3", "fok", "ETH/USDT"), now_ms=0)
    assert (order.status, order.filled) == (OrderStatus.CANCELED, D(0))
    assert venue.free["USDT"] == D("100000")
    order = venue.place("2", request("buy", "4.5", "3500.3", "fok", "ETH/USDT"), now_ms=0)
    assert (order.status, order.filled) == (OrderStatus.FILLED, D("4.5"))
    assert order.cost == D("2") * D("3500.2") + D("2.5") * D("3500.3")


def test_post_only_that_would_cross_is_canceled_unfilled() -> None:
    venue = state()
    order = venue.place("1", request("buy", "1", "46000", tif="poc"), now_ms=0)
    assert (order.status, order.filled) == (OrderStatus.CANCELED, D(0))
    assert venue.books["BTC/USDT"].best_ask() == D("45995.48")


def test_min_notional_and_unknown_symbol_are_rejected() -> None:
    venue = state()
    with pytest.raises(VenueReject) as small:
        venue.place("1", request("buy", "0.00001", "45996"), now_ms=0)
    assert small.value.reason is RejectReason.MIN_NOTIONAL
    with pytest.raises(VenueReject) as unknown:
        venue.market("DOGE/USDT")
    assert unknown.value.reason is RejectReason.UNKNOWN_SYMBOL


def test_mexc_signature_reproduces_a_real_ccxt_request() -> None:
    capture = sample("mexc", "ccxt_loopback_capture")
    request_ = next(s for s in capture["requests"] if s["step"] == "fetch_balance")
    path_qs = request_["http_requests"][0]["path_qs"]
    signed, signature = split_mexc_query(urlsplit(path_qs).query)
    assert mexc_signature(signed, "s") == signature  # the capture used secret 's'


def test_gate_signature_reproduces_ccxt_and_the_documented_example() -> None:
    capture = sample("gate", "ccxt_loopback_capture")
    post = next(s for s in capture["requests"] if s["step"] == "create_order_limit")
    http = post["http_requests"][0]
    headers = http["headers"]
    sign = gate_signature(
        "POST", http["path_qs"], "", http["body"], timestamp=headers["Timestamp"], secret="s"
    )
    assert sign == headers["SIGN"]
    # Gate's APIv4 authentication page: key "key", secret "secret"
    documented = gate_signature(
        "GET",
        "/api/v4/futures/orders",
        "contract=BTC_USD&status=finished&limit=50",
        "",
        timestamp="1541993715",
        secret="secret",
    )
    assert documented.startswith("55f84ea195d6fe57ce62464daaa7c3c0")
    assert hashlib.sha512(b"").hexdigest().startswith("cf83e1357eefb8bd")


def test_default_scenario_lists_four_pairs_on_both_venues() -> None:
    scenario = load_scenario()
    for venue in ("mexc", "gateio"):
        symbols = {m.symbol for m in scenario.venue_markets(venue)}
        assert symbols == {"BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"}
    assert scenario.walk is not None
    fees = sum(scenario.venues[v].taker_fee for v in ("mexc", "gateio")) * 10_000
    assert scenario.walk.dislocation_bps > fees


def test_scenario_errors_name_the_key() -> None:
    data = scenario_data()
    data["balances"]["mexc"]["USDT"] = 100.5
    with pytest.raises(ValueError, match=r"balances\.mexc\.USDT"):
        parse_scenario(data)
    with pytest.raises(ValueError, match=r"faults\.kind"):
        parse_scenario(scenario_data() | {"faults": [{"kind": "meteor", "venue": "mexc"}]})
    with pytest.raises(ValueError, match=r"timeline\.venue"):
        parse_scenario(
            scenario_data()
            | {
                "timeline": [
                    {"venue": "x", "symbol": "BTC/USDT", "side": "bid", "price": "1", "amount": "1"}
                ]
            }
        )


def test_walk_dislocation_creates_arbitrage_after_fees() -> None:
    scenario = load_scenario()
    assert scenario.walk is not None
    venues = {v: VenueState(v, scenario, 1) for v in ("mexc", "gateio")}
    walk = Walk(scenario.walk, venues)
    best_edge = D(0)
    for t_ms in range(0, 60_000, scenario.walk.interval_ms):
        walk.step(t_ms)
        for symbol in ("BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"):
            for buy_on, sell_on in (("mexc", "gateio"), ("gateio", "mexc")):
                ask = venues[buy_on].books[symbol].best_ask()
                bid = venues[sell_on].books[symbol].best_bid()
                assert ask is not None
                assert bid is not None
                fees = venues[buy_on].markets[symbol].taker_fee
                fees += venues[sell_on].markets[symbol].taker_fee
                best_edge = max(best_edge, bid / ask - 1 - fees)
    assert best_edge > 0
    # calm periods have no edge: books on one venue never cross
    for venue in venues.values():
        for book in venue.books.values():
            assert book.best_bid() is not None
            assert book.best_bid() < book.best_ask()  # type: ignore[operator]


def test_the_documented_example_is_a_valid_scenario() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
    text = docs.read_text("utf-8")
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    scenario = parse_scenario(tomllib.loads(block))
    gate_btc = scenario.market("gateio", "BTC/USDT")
    assert gate_btc is not None
    assert gate_btc.taker_fee == D("0.001")
    assert scenario.timeline[1].book is not None
    assert scenario.faults[0].status == 502
    assert scenario.balances["mexc"]["BTC"] == D("0.5")
