"""The one generic venue adapter over ccxt.pro: markets, books, balances, fees and IOC orders."""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import secrets as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
from ccxt.base import errors as ccxt_errors
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from arb.config import VenueSettings
from arb.domain.book import OrderBook
from arb.domain.symbols import MarketInfo
from arb.errors import SymbolUnknown, VenueUnavailable
from arb.venues.errors import translate
from arb.venues.limits import Call, RateLimiter
from arb.venues.profiles import VenueProfile, profile_for
from arb.venues.urls import override_urls

T = TypeVar("T")

# Everything ccxt or the transport under it raises for a failed call.
_CALL_ERRORS = (ccxt_errors.BaseError, TimeoutError, ConnectionError)
# What reading a body of the wrong shape raises, in ccxt's parsers or ours: ccxt indexes and
# converts venue JSON without checking types (a null level, a list where a dict belongs).
_UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, InvalidOperation)


class OrderStatus(StrEnum):
    """An order's state as the venue reported it; UNKNOWN when the venue did not say."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Fee:
    """One fee charged on an order; `estimated` when derived from the fee rate."""

    currency: str
    cost: Decimal
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What a venue said about one order, exact.

    An IOC order that filled partly comes back `canceled` on both venues: read `filled`,
    never `status`, to know what traded. A MEXC create answer has status UNKNOWN and no
    fills: fetch the order to learn them.
    """

    venue: str
    symbol: str
    id: str | None
    client_order_id: str | None
    side: str
    status: OrderStatus
    amount: Decimal | None
    price: Decimal | None
    filled: Decimal
    average: Decimal | None
    cost: Decimal
    fees: tuple[Fee, ...]
    timestamp: int | None  # venue time, ms

    @property
    def final(self) -> bool:
        """True when the order can no longer fill (its `filled` is the final amount)."""
        return self.status not in (OrderStatus.OPEN, OrderStatus.UNKNOWN)


class Amounts(Mapping[str, Decimal]):
    """One part of a balance (free, used or total) by currency, exact and read-only.

    ccxt hands amounts over as floats; each becomes a Decimal when first read, so a trade
    that needs two currencies does not convert every coin of the account on its way. An
    amount that cannot be read raises VenueUnavailable where it is read.
    """

    __slots__ = ("_exact", "_raw", "_venue")

    def __init__(self, raw: Mapping[str, Any], venue: str) -> None:
        self._raw = {code: v for code, v in raw.items() if v is not None and v != ""}
        self._exact: dict[str, Decimal] = {}
        self._venue = venue

    def __getitem__(self, code: str) -> Decimal:
        exact = self._exact.get(code)
        if exact is None:
            value = self._raw[code]
            try:
                exact = Decimal(str(value))
            except _UNREADABLE:
                raise VenueUnavailable(
                    f"unreadable answer (balance of {code}: {value!r})", venue=self._venue
                ) from None
            self._exact[code] = exact
        return exact

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Amounts({dict(self.items())!r})"


@dataclass(frozen=True, slots=True)
class Balance:
    """One fresh balance snapshot of a venue's spot account."""

    venue: str
    free: Mapping[str, Decimal]
    used: Mapping[str, Decimal]
    total: Mapping[str, Decimal]


def new_client_order_id() -> str:
    """A fresh client order id every venue accepts (short, alphanumeric)."""
    return "arb" + _random.token_hex(8)


def _dec(value: Any) -> Decimal | None:
    # ccxt parses venue strings to float; str() gives back the shortest repr, which is
    # the venue's own decimal text for up to 15 significant digits.
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _first_http_origin(tree: Any) -> str | None:
    """scheme://host of the first http(s) endpoint in ccxt's `urls['api']` tree."""
    if isinstance(tree, str):
        parts = urlsplit(tree)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None
    if isinstance(tree, Mapping):
        for value in tree.values():
            found = _first_http_origin(value)
            if found is not None:
                return found
    return None


def _build_exchange(profile: VenueProfile, settings: VenueSettings) -> Any:
    config: dict[str, Any] = {
        # ccxt's throttler charges load_markets so heavily that later calls wait seconds
        # and makes an order wait behind a read; our RateLimiter replaces it.
        "enableRateLimit": False,
        "options": copy.deepcopy(dict(profile.options)),
    }
    if settings.api_key is not None and settings.api_secret is not None:
        config["apiKey"] = settings.api_key.reveal()
        config["secret"] = settings.api_secret.reveal()
    if settings.api_password is not None:
        config["password"] = settings.api_password.reveal()
    exchange = getattr(ccxtpro, profile.ccxt_id)(config)
    if settings.rest_url or settings.ws_url:
        exchange.urls["api"] = override_urls(
            exchange.urls["api"], settings.rest_url, settings.ws_url
        )
    if profile.spot_markets_only:
        exchange.fetch_markets = exchange.fetch_spot_markets
    if not profile.load_currencies:
        exchange.has["fetchCurrencies"] = False
    return exchange


class Venue:
    """One venue over ccxt.pro; open it with `async with Venue(settings) as venue:`."""

    def __init__(
        self,
        settings: VenueSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        read_attempts: int = 4,
        backoff_s: float = 0.25,
        timeout_s: float = 10.0,
        on_exchange: Callable[[Any], None] | None = None,
    ) -> None:
        self.profile = profile_for(settings.id)
        self.id = self.profile.venue_id
        self._settings = settings
        self._clock = clock
        self._exchange = _build_exchange(self.profile, settings)
        self._exchange.timeout = int(timeout_s * 1000)  # ccxt counts milliseconds
        self._limiter = RateLimiter(self.profile.budgets, self.profile.costs, clock=clock)
        self._secrets = tuple(
            s.reveal()
            for s in (settings.api_key, settings.api_secret, settings.api_password)
            if s is not None
        )
        self._read_attempts = read_attempts
        self._backoff_s = backoff_s
        self._markets: dict[str, MarketInfo] = {}
        self._account_fees: dict[str, Decimal] = {}
        self._timeout_ms = int(timeout_s * 1000)
        # ccxt.pro keeps one WebSocket per URL and instance: more books than a connection may
        # carry go to further instances ("shards") that share the loaded markets.
        self._shards: list[Any] = [self._exchange]
        self._shard_of: dict[str, Any] = {}
        if self.profile.decoder is not None:
            self.profile.decoder(self._exchange)
        # Called with every ccxt.pro instance built, before it connects (`arb record`'s tap).
        self._on_exchange = on_exchange
        if on_exchange is not None:
            on_exchange(self._exchange)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close ccxt's HTTP sessions and WebSocket connections."""
        for shard in self._shards:
            await shard.close()

    # -- calls ---------------------------------------------------------------------------

    async def _call(
        self,
        call: Call,
        method: Callable[..., Awaitable[T]],
        *args: Any,
        symbol: str | None = None,
        client_order_id: str | None = None,
        limit: int | None = None,
    ) -> T:
        await self._limiter.acquire(call, symbol, limit=limit)
        try:
            with self._readable(client_order_id):
                return await self._not_found_as_such(method, *args)
        except _CALL_ERRORS as exc:
            # `from None`: ccxt's own message may carry a signed URL; only the scrubbed
            # translation may travel into logs and tracebacks.
            raise translate(
                exc, self.id, secrets=self._secrets, client_order_id=client_order_id
            ) from None

    @contextlib.contextmanager
    def _readable(self, client_order_id: str | None = None) -> Iterator[None]:
        """Turn a venue answer that cannot be read into BadResponse: unavailable, or unknown.

        For an order call the order may still have been placed: translated with its client
        order id, it becomes OrderUnknown and is looked up, never taken as refused.
        """
        try:
            yield
        except _UNREADABLE as exc:
            bad = ccxt_errors.BadResponse(f"unreadable answer ({type(exc).__name__}: {exc})")
            raise translate(
                bad, self.id, secrets=self._secrets, client_order_id=client_order_id
            ) from None

    async def _not_found_as_such(self, method: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a ccxt call, raising OrderNotFound for the venue's own "no such order" codes."""
        try:
            return await method(*args)
        except ccxt_errors.ExchangeError as exc:
            text = str(exc).replace(" ", "")
            if not isinstance(exc, ccxt_errors.OrderNotFound) and any(
                f'"code":{code}' in text for code in self.profile.order_not_found_codes
            ):
                raise ccxt_errors.OrderNotFound(str(exc)) from exc
            raise

    async def _read(
        self,
        call: Call,
        method: Callable[..., Awaitable[T]],
        *args: Any,
        symbol: str | None = None,
        limit: int | None = None,
    ) -> T:
        """An idempotent read: retried with exponential backoff and jitter when unavailable."""
        try:
            # Most reads succeed at once: tenacity's machinery (tens of microseconds, on the
            # trade path for balances) is built only once a retry may be due.
            return await self._call(call, method, *args, symbol=symbol, limit=limit)
        except VenueUnavailable as exc:
            first = exc
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(VenueUnavailable),
            stop=stop_after_attempt(self._read_attempts),
            wait=wait_exponential(multiplier=self._backoff_s, max=10 * self._backoff_s)
            + wait_random(0, self._backoff_s),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number == 1:
                    raise first  # the attempt made above: tenacity backs off, then tries again
                return await self._call(call, method, *args, symbol=symbol, limit=limit)
        raise AssertionError("tenacity stopped without a result")  # pragma: no cover

    # -- markets -------------------------------------------------------------------------

    def share_book_budgets(self, fraction: float) -> None:
        """Spend `fraction` of the budgets book snapshots and market loads are charged to.

        Worker shards each open the venue too, from the same IP: the parent and the workers
        split those budgets, so together they stay inside the venue's documented limits.
        """
        self._limiter.share((Call.FETCH_ORDER_BOOK, Call.LOAD_MARKETS), fraction)

    async def load_markets(self) -> tuple[MarketInfo, ...]:
        """Load the venue's spot markets (and nothing else) as exact MarketInfo values."""
        markets = await self._read(Call.LOAD_MARKETS, self._exchange.load_markets, True)
        return self._take_markets(markets)

    def use_markets(self, markets: Sequence[Mapping[str, Any]]) -> tuple[MarketInfo, ...]:
        """Take ccxt markets as recorded instead of loading them (`arb replay`: no request)."""
        self._exchange.set_markets(list(markets))
        return self._take_markets(self._exchange.markets)

    @property
    def exchange(self) -> Any:
        """The first ccxt.pro instance (replay feeds recorded frames to it)."""
        return self._exchange

    def _take_markets(self, markets: Mapping[str, Any]) -> tuple[MarketInfo, ...]:
        infos = tuple(
            info
            for market in markets.values()
            if market.get("spot") and (info := self._market_info(market)) is not None
        )
        self._markets = {info.symbol: info for info in infos}
        return infos

    def _market_info(self, market: Mapping[str, Any]) -> MarketInfo | None:
        precision = market.get("precision") or {}
        amount_step = _dec(precision.get("amount"))
        price_step = _dec(precision.get("price"))
        if amount_step is None or price_step is None:
            return None  # a market without steps cannot be traded exactly
        limits = market.get("limits") or {}
        symbol = str(market["symbol"])
        return MarketInfo(
            venue=self.id,
            symbol=symbol,
            native_id=str(market["id"]),
            base=str(market["base"]),
            quote=str(market["quote"]),
            amount_step=amount_step,
            price_step=price_step,
            min_amount=_dec((limits.get("amount") or {}).get("min")) or Decimal(0),
            min_notional=_dec((limits.get("cost") or {}).get("min")) or Decimal(0),
            taker_fee=self._effective_fee(symbol, _dec(market.get("taker"))),
            active=bool(market.get("active")),
            buy_fee_in_base=self.profile.buy_fee_in_base,
        )

    def _effective_fee(self, symbol: str, market_fee: Decimal | None) -> Decimal:
        if self._settings.taker_fee is not None:
            return self._settings.taker_fee
        if symbol in self._account_fees:
            return self._account_fees[symbol]
        return market_fee if market_fee is not None else Decimal(0)

    def market(self, symbol: str) -> MarketInfo:
        """The loaded market of `symbol`; SymbolUnknown if the venue does not list it."""
        try:
            return self._markets[symbol]
        except KeyError:
            raise SymbolUnknown(f"no spot market {symbol}", venue=self.id) from None

    def taker_fee(self, symbol: str) -> Decimal:
        """The taker fee used for decisions: settings override, else account fee, else market."""
        return self.market(symbol).taker_fee

    # -- reads ---------------------------------------------------------------------------

    async def fetch_order_book(self, symbol: str, depth: int) -> OrderBook:
        """A REST snapshot of the top `depth` levels of each side."""
        self.market(symbol)
        raw = await self._read(
            Call.FETCH_ORDER_BOOK,
            self._exchange.fetch_order_book,
            symbol,
            depth,
            symbol=symbol,
            limit=depth,  # the levels asked for: some venues weigh a snapshot by them
        )
        received_at = self._clock()
        with self._readable():
            return OrderBook(
                venue=self.id,
                symbol=symbol,
                bids=tuple((float(lvl[0]), float(lvl[1])) for lvl in raw["bids"][:depth]),
                asks=tuple((float(lvl[0]), float(lvl[1])) for lvl in raw["asks"][:depth]),
                timestamp=None if raw.get("timestamp") is None else int(raw["timestamp"]),
                nonce=None if raw.get("nonce") is None else int(raw["nonce"]),
                received_at=received_at,
            )

    def balance_wait(self) -> float:
        """Seconds a balance read started now would wait for our rate limiter (0: none)."""
        return self._limiter.wait_for(Call.FETCH_BALANCE)

    async def fetch_balance(self) -> Balance:
        """A fresh balance of the spot account: always a request, never a cache."""
        raw = await self._read(Call.FETCH_BALANCE, self._exchange.fetch_balance)
        with self._readable():
            free, used, total = (Amounts(raw.get(part) or {}, self.id) for part in _PARTS)
            return Balance(venue=self.id, free=free, used=used, total=total)

    async def fetch_trading_fee(self, symbol: str) -> Decimal:
        """The account's real taker fee for `symbol` (static, so fetched once and cached)."""
        if symbol not in self._account_fees:
            self.market(symbol)
            raw = await self._read(
                Call.FETCH_TRADING_FEE, self._exchange.fetch_trading_fee, symbol, symbol=symbol
            )
            fee = _dec(raw.get("taker"))
            if fee is None:
                raise VenueUnavailable(f"no taker fee in the answer for {symbol}", venue=self.id)
            self._account_fees[symbol] = fee
            if symbol in self._markets:
                old = self._markets[symbol]
                self._markets[symbol] = replace(old, taker_fee=self._effective_fee(symbol, fee))
        return self._account_fees[symbol]

    async def fetch_order(
        self,
        symbol: str,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
    ) -> OrderResult | None:
        """An order by venue id, or by our client order id when the id is unknown.

        None when the venue says it has no such order (e.g. a create that never arrived).
        """
        if order_id is None and client_order_id is None:
            raise ValueError("fetch_order needs an order id or a client order id")
        self.market(symbol)
        params: dict[str, Any] = {}
        if order_id is None and client_order_id is not None:
            params[self.profile.client_id_param] = self._venue_client_id(client_order_id)

        async def fetch() -> Any:
            try:
                return await self._not_found_as_such(
                    self._exchange.fetch_order, order_id, symbol, params
                )
            except ccxt_errors.OrderNotFound:
                return None

        raw = await self._read(Call.FETCH_ORDER, fetch, symbol=symbol)
        with self._readable():
            return None if raw is None else self._order_result(raw, symbol, client_order_id)

    # -- orders --------------------------------------------------------------------------

    async def create_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal,
        price: Decimal,
        client_order_id: str,
        *,
        market: bool = False,
    ) -> OrderResult:
        """Place an immediate-or-cancel order; never retried.

        A limit order by default. With `market=True`, `price` is the reference used to
        size a market buy in quote currency where the venue wants a cost (Gate). A
        timeout or network error raises OrderUnknown carrying `client_order_id`: look
        the order up with fetch_order, never send it again.
        """
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be buy or sell, not {side!r}")
        self.market(symbol)
        ex = self._exchange
        try:
            sent_amount = ex.amount_to_precision(symbol, str(amount))
            sent_price = ex.price_to_precision(symbol, str(price))
        except _CALL_ERRORS as exc:  # e.g. an amount that truncates to zero: nothing was sent
            raise translate(exc, self.id, secrets=self._secrets) from None
        params: dict[str, Any] = {"clientOrderId": self._venue_client_id(client_order_id)}
        order_type = "limit"
        if market:
            order_type = "market"
            if side == "buy" and self.profile.market_buy_takes_cost:
                params["cost"] = str(Decimal(sent_amount) * Decimal(sent_price))
        else:
            params["timeInForce"] = "IOC"
        raw = await self._call(
            Call.CREATE_ORDER,
            ex.create_order,
            symbol,
            order_type,
            side,
            float(sent_amount),
            float(sent_price),
            params,
            symbol=symbol,
            client_order_id=client_order_id,
        )
        with self._readable(client_order_id):
            return self._order_result(raw, symbol, client_order_id)

    async def cancel_order(self, symbol: str, order_id: str) -> OrderResult:
        """Cancel an open order; OrderRejected if it is gone or already final."""
        self.market(symbol)
        raw = await self._call(
            Call.CANCEL_ORDER, self._exchange.cancel_order, order_id, symbol, symbol=symbol
        )
        with self._readable():
            return self._order_result(raw, symbol, None)

    # -- streams -------------------------------------------------------------------------

    def watch_book(
        self,
        symbol: str,
        depth: int,
        push: Callable[[OrderBook], None] | None = None,
        **options: float,
    ) -> AsyncIterator[Any]:
        """Book events of one symbol (valid books, resyncs) from arb.venues.books.

        With `push`, valid books updated by a frame go to it from the socket callback.
        """
        self.market(symbol)
        # Imported when first used: the stream module imports this package's error table.
        books = importlib.import_module("arb.venues.books")
        exchange = self._stream_exchange(symbol)

        async def snapshot(name: str, limit: int | None) -> Any:
            # The stream's REST resyncs spend the same depth budget as our own reads, at the
            # weight of the levels they ask for (None: the venue's default depth).
            await self._limiter.acquire(Call.FETCH_ORDER_BOOK, name, limit=limit)
            return await exchange.fetch_order_book(name, limit)

        stream: AsyncIterator[Any] = books.watch_books(
            exchange,
            self.id,
            symbol,
            depth,
            self._clock,
            fetch_snapshot=snapshot,
            push=push,
            **options,
        )
        return stream

    def _stream_exchange(self, symbol: str) -> Any:
        """The ccxt.pro instance (one WebSocket connection) that streams `symbol`'s book."""
        shard = self._shard_of.get(symbol)
        if shard is not None:
            return shard
        counts = {id(s): 0 for s in self._shards}
        for owner in self._shard_of.values():
            counts[id(owner)] += 1
        shard = next(
            (s for s in self._shards if counts[id(s)] < self.profile.books_per_connection), None
        )
        if shard is None:
            shard = _build_exchange(self.profile, self._settings)
            shard.timeout = self._timeout_ms
            shard.set_markets(self._exchange.markets, self._exchange.currencies)
            shard.streaming["keepAlive"] = self._exchange.streaming.get("keepAlive")
            if self.profile.decoder is not None:
                self.profile.decoder(shard)
            if self._on_exchange is not None:
                self._on_exchange(shard)
            self._shards.append(shard)
        self._shard_of[symbol] = shard
        return shard

    @property
    def connections(self) -> int:
        """How many ccxt.pro instances (WebSocket connections per URL) this venue uses."""
        return len(self._shards)

    def alive_at(self, symbol: str) -> float | None:
        """Monotonic time of the last sign of life of `symbol`'s stream: a frame or a pong.

        None while the stream is not connected. A quiet book on a live connection stays
        usable because the connection keeps answering pings.
        """
        shard = self._shard_of.get(symbol)
        if shard is None:
            return None
        books = importlib.import_module("arb.venues.books")
        health = books.book_health(shard, symbol)
        if health is None or not health.connected:
            return None
        latest: float | None = health.last_frame_at
        pongs = [c.lastPong for c in shard.clients.values() if c.lastPong]
        if pongs:
            # ccxt stamps pongs with wall-clock ms; move the newest onto our monotonic clock.
            age_s = max(0.0, time.time() - max(pongs) / 1000)
            pong_at = self._clock() - age_s
            latest = pong_at if latest is None else max(latest, pong_at)
        return latest

    def keep_alive(self, interval_ms: int) -> None:
        """Ping the venue's WebSocket at least every `interval_ms` (before streams start)."""
        for shard in self._shards:
            current = shard.streaming.get("keepAlive")
            if current is None or current > interval_ms:
                shard.streaming["keepAlive"] = interval_ms

    @property
    def rest_url(self) -> str:
        """scheme://host[:port] of the venue's REST API, for messages to the user."""
        if self._settings.rest_url:
            return self._settings.rest_url
        return _first_http_origin(self._exchange.urls["api"]) or self._exchange.id

    # -- helpers -------------------------------------------------------------------------

    def _venue_client_id(self, client_order_id: str) -> str:
        venue_id = self.profile.client_id_prefix + client_order_id
        if len(venue_id) > self.profile.client_id_max_len:
            raise ValueError(f"client order id too long for {self.id}: {client_order_id!r}")
        return venue_id

    def _order_result(
        self, raw: Mapping[str, Any], symbol: str, client_order_id: str | None
    ) -> OrderResult:
        status_text = raw.get("status")
        status = OrderStatus(status_text) if status_text in _STATUSES else OrderStatus.UNKNOWN
        filled = _dec(raw.get("filled")) or Decimal(0)
        average = _dec(raw.get("average"))
        cost = _dec(raw.get("cost"))
        if cost is None:
            cost = filled * average if average is not None else Decimal(0)
        venue_cid = raw.get("clientOrderId")
        prefix = self.profile.client_id_prefix
        if isinstance(venue_cid, str) and prefix and venue_cid.startswith(prefix):
            venue_cid = venue_cid[len(prefix) :]
        return OrderResult(
            venue=self.id,
            symbol=symbol,
            id=None if raw.get("id") is None else str(raw["id"]),
            client_order_id=venue_cid if isinstance(venue_cid, str) else client_order_id,
            side=str(raw.get("side")),
            status=status,
            amount=_dec(raw.get("amount")),
            price=_dec(raw.get("price")),
            filled=filled,
            average=average,
            cost=cost,
            fees=self._fees(raw, symbol, cost),
            timestamp=None if raw.get("timestamp") is None else int(raw["timestamp"]),
        )

    def _fees(self, raw: Mapping[str, Any], symbol: str, cost: Decimal) -> tuple[Fee, ...]:
        # Gate reports fees in `fees` (ccxt leaves `fee` None); MEXC orders carry none, so
        # the fee is derived from the taker rate, in the asset received as venues charge it.
        entries = list(raw.get("fees") or [])
        if not entries and raw.get("fee"):
            entries = [raw["fee"]]
        fees = tuple(
            Fee(currency=str(entry["currency"]), cost=fee_cost)
            for entry in entries
            if entry and entry.get("currency") and (fee_cost := _dec(entry.get("cost")))
        )
        filled = _dec(raw.get("filled")) or Decimal(0)
        if fees or self.profile.orders_report_fees or not filled:
            return fees
        market = self.market(symbol)
        if raw.get("side") == "buy":
            return (Fee(currency=market.base, cost=filled * market.taker_fee, estimated=True),)
        return (Fee(currency=market.quote, cost=cost * market.taker_fee, estimated=True),)


_STATUSES = frozenset(s.value for s in OrderStatus)
_PARTS = ("free", "used", "total")
