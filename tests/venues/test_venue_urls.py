"""URL overrides move every endpoint of both venues, exactly as the loopback recipe says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt.pro as ccxtpro

from arb.venues.urls import override_urls, rebase_url

P = 18443
REST = f"http://127.0.0.1:{P}"
WS = f"ws://127.0.0.1:{P}"


def _leaves(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _leaves(value)
    elif isinstance(tree, str):
        yield tree


def test_mexc_matches_the_loopback_recipe() -> None:
    api = override_urls(ccxtpro.mexc().urls["api"], REST, WS)
    assert api["spot"] == {"public": REST, "private": REST}
    assert api["contract"] == {
        "public": f"{REST}/api/v1/contract",
        "private": f"{REST}/api/v1/private",
    }
    assert api["spot2"] == {"public": f"{REST}/open/api/v2", "private": f"{REST}/open/api/v2"}
    assert api["broker"] == {"private": f"{REST}/api/v3/broker"}
    assert api["ws"] == {"spot": f"{WS}/ws", "swap": f"{WS}/edge"}


def test_gate_matches_the_loopback_recipe() -> None:
    original = ccxtpro.gate().urls["api"]
    api = override_urls(original, REST, WS)
    assert set(api["public"]) == set(original["public"])
    assert all(url == f"{REST}/api/v4" for url in api["public"].values())
    assert all(url == f"{REST}/api/v4" for url in api["private"].values())
    assert api["spot"] == f"{WS}/ws/v4/"


def test_no_endpoint_keeps_a_real_host() -> None:
    for exchange in (ccxtpro.mexc(), ccxtpro.gate()):
        api = override_urls(exchange.urls["api"], REST, WS)
        leaves = list(_leaves(api))
        assert leaves
        assert all(url.startswith((REST, WS)) for url in leaves), leaves


def test_only_the_overridden_kind_moves_and_the_original_is_untouched() -> None:
    exchange = ccxtpro.gate()
    api = override_urls(exchange.urls["api"], None, WS)
    assert api["public"]["spot"] == "https://api.gateio.ws/api/v4"
    assert api["spot"] == f"{WS}/ws/v4/"
    assert exchange.urls["api"]["spot"] == "wss://api.gateio.ws/ws/v4/"


def test_a_base_with_a_path_prefixes_the_venue_path() -> None:
    assert rebase_url("https://api.gateio.ws/api/v4", "http://proxy:8080/gate/") == (
        "http://proxy:8080/gate/api/v4"
    )
