"""Promise 6 (REST): hostile REST bodies never escape the adapter as anything but an ArbError.

The adapter talks to the simulator through a loopback proxy that forwards every request and
returns the simulator's answer, except that for one endpoint hypothesis replaces the answer
with a hostile body: the real body with one field swapped for a wrong type, NaN, infinity,
a negative or huge number or junk, the real body cut short, or garbage. An order's create
is forwarded first (the order really is placed) and only its answer is garbled: then the
adapter must say the outcome is unknown, never that the order was refused.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reltools import SYMBOL, scenario

from arb.config import Secret, VenueSettings
from arb.domain.book import OrderBook
from arb.errors import ArbError, OrderUnknown
from arb.sim import Simulator
from arb.venues import Venue
from arb.venues.adapter import Balance, OrderResult, new_client_order_id

D = Decimal
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["NaN", "-Infinity", "-1", "1e999", "", "abc", "0x10"]),
    st.lists(st.sampled_from(["abc", None, -1, "1e999"]), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON document (the root is the empty path)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            found += paths_of(value, (*prefix, i))
    return found


@st.composite
def hostile_body(draw: st.DrawFn, real: bytes) -> bytes:
    """The real answer made hostile."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "truncated", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(max_size=40))
    if kind == "truncated":
        return real[: draw(st.integers(0, max(len(real) - 1, 0)))]
    doc = json.loads(real)
    path = draw(st.sampled_from(paths_of(doc)))
    value = draw(HOSTILE)
    if not path:
        return json.dumps(value, allow_nan=True).encode()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(doc, allow_nan=True).encode()


@dataclass
class Proxy:
    """Forwards to the simulator; `garble[(method, path prefix)]` replaces that answer."""

    target: str
    garble: dict[tuple[str, str], bytes] = field(default_factory=dict)
    real: dict[tuple[str, str], bytes] = field(default_factory=dict)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding")
        }
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                self.target + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
            status = answer.status
        for (method, prefix), hostile in self.garble.items():
            if request.method == method and request.path.startswith(prefix):
                self.real.setdefault((method, prefix), body)
                return web.Response(body=hostile, status=200, content_type="application/json")
        return web.Response(body=body, status=status, content_type="application/json")


@contextlib.asynccontextmanager
async def proxied(venue_id: str) -> AsyncIterator[tuple[Simulator, Proxy, Venue]]:
    async with Simulator(scenario()) as sim:
        proxy = Proxy(sim.rest_url(venue_id))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", proxy.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        settings_ = VenueSettings(
            id=venue_id,
            rest_url=proxy.url,
            ws_url=sim.ws_url(venue_id),
            api_key=Secret(sim.scenario.api_key),
            api_secret=Secret(sim.scenario.api_secret),
        )
        try:
            async with Venue(settings_, read_attempts=1) as venue:
                await venue.load_markets()
                yield sim, proxy, venue
        finally:
            await runner.cleanup()
    assert sim.crashes == []


# The real answers, captured from the simulator once per module (the bodies it sends).
REAL: dict[str, bytes] = {}


async def real_body(proxy: Proxy, key: tuple[str, str], call: Any) -> bytes:
    name = f"{key}"
    if name not in REAL:
        proxy.garble[key] = b"{}"
        with contextlib.suppress(ArbError):
            await call()
        REAL[name] = proxy.real[key]
        del proxy.garble[key]
    return REAL[name]


ENDPOINTS = {
    "mexc balance": ("mexc", ("GET", "/api/v3/account")),
    "mexc book": ("mexc", ("GET", "/api/v3/depth")),
    "mexc order": ("mexc", ("GET", "/api/v3/order")),
    "gate balance": ("gateio", ("GET", "/api/v4/spot/accounts")),
    "gate book": ("gateio", ("GET", "/api/v4/spot/order_book")),
    "gate order": ("gateio", ("GET", "/api/v4/spot/orders/")),
}


async def read(venue: Venue, what: str, order_id: str) -> object:
    if what.endswith("balance"):
        return await venue.fetch_balance()
    if what.endswith("book"):
        return await venue.fetch_order_book(SYMBOL, 5)
    return await venue.fetch_order(SYMBOL, order_id=order_id)


FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)


@dataclass
class Rig:
    """One venue behind the garbling proxy, an order to look up, the endpoint's real answer."""

    sim: Simulator
    proxy: Proxy
    venue: Venue
    what: str
    key: tuple[str, str]
    order_id: str
    real: bytes
    price: Decimal


# What each venue's wallet in the scenario can trade: MEXC holds USDT, Gate holds BTC.
SIDE = {"mexc": ("buy", D("63010")), "gateio": ("sell", D("62900"))}
# An answer in the venue's error shape is a refusal by content, whatever its status.
ERROR_KEYS = {"mexc": {"code", "msg"}, "gateio": {"label"}}


@pytest.fixture(params=list(ENDPOINTS))
async def read_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    what: str = request.param
    venue_id, key = ENDPOINTS[what]
    side, price = SIDE[venue_id]
    async with proxied(venue_id) as (sim, proxy, venue):
        # one real order to look up: a small IOC order that fills on the still book
        placed = await venue.create_order(SYMBOL, side, D("0.001"), price, new_client_order_id())
        order_id = str(placed.id)
        real = await real_body(proxy, key, lambda: read(venue, what, order_id))
        yield Rig(sim, proxy, venue, what, key, order_id, real, price)


@pytest.fixture(params=["mexc", "gateio"])
async def create_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    venue_id: str = request.param
    key = ("POST", "/api/v3/order" if venue_id == "mexc" else "/api/v4/spot/orders")
    side, price = SIDE[venue_id]
    async with proxied(venue_id) as (sim, proxy, venue):
        real = await real_body(
            proxy, key, lambda: venue.create_order(SYMBOL, side, D("0.001"), price, "arbreal")
        )
        assert b"order" in real.lower() or b"id" in real  # a success answer, not an error
        yield Rig(sim, proxy, venue, venue_id, key, "", real, price)


def error_shaped(body: bytes, venue_id: str) -> bool:
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and bool(ERROR_KEYS[venue_id] & set(doc))


@FUZZ
@given(data=st.data())
async def test_a_hostile_read_answer_is_an_arb_error_or_a_sane_value(
    read_rig: Rig, data: st.DataObject
) -> None:
    rig = read_rig
    rig.proxy.garble[rig.key] = data.draw(hostile_body(rig.real))
    try:
        value = await read(rig.venue, rig.what, rig.order_id)
        if isinstance(value, Balance):  # amounts become exact when read: read them all
            parts = (value.free, value.used, value.total)
            assert all(isinstance(part[code], Decimal) for part in parts for code in part)
    except ArbError:
        return  # translated once, one line: the caller knows what to do next
    assert isinstance(value, Balance | OrderBook | OrderResult | None)


@FUZZ
@given(data=st.data())
async def test_a_garbled_answer_to_a_placed_order_is_unknown_never_refused(
    create_rig: Rig, data: st.DataObject
) -> None:
    rig = create_rig
    body = rig.proxy.garble[rig.key] = data.draw(hostile_body(rig.real))
    venue_id = rig.venue.id
    placed_before = len(rig.sim.state(venue_id).orders)
    cid = new_client_order_id()
    answer: OrderResult | ArbError
    try:
        answer = await rig.venue.create_order(SYMBOL, SIDE[venue_id][0], D("0.001"), rig.price, cid)
    except ArbError as exc:
        answer = exc
    if isinstance(answer, OrderUnknown):
        assert answer.client_order_id == cid  # to be looked up by it
    elif isinstance(answer, ArbError):
        assert error_shaped(body, venue_id), f"a placed order reported as {answer!r}"
    else:
        assert isinstance(answer, OrderResult)
    assert len(rig.sim.state(venue_id).orders) == placed_before + 1  # it really was placed
