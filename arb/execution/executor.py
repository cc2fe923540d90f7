"""Two-leg execution: fresh balances, sizing, a durable intent, both IOC legs at once, settling."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from loguru import logger

from arb.domain.opportunity import Opportunity
from arb.domain.symbols import MarketInfo
from arb.errors import ArbError
from arb.execution import records
from arb.execution.legs import Ack, AckKind, LegResult, Order, Role, TradingVenue, send, settle
from arb.execution.policy import Fix, corrective, filled_as_sent, gap, tradable
from arb.execution.risk import RiskGuard, wall_ms
from arb.execution.settings import ExecutionSettings
from arb.execution.sizing import Plan, Room, Skip, size_trade
from arb.execution.totals import fee_fields, summarize
from arb.ledger import Ledger
from arb.venues.adapter import Balance, new_client_order_id

ZERO = Decimal(0)


class IntentState(StrEnum):
    """Where an intent ended (the `intents.state` column)."""

    SKIPPED = "skipped"  # not sent: no room, below a minimum, not profitable at the limits
    PENDING = "pending"  # orders may be in flight (a crash here is reconciled at start)
    SETTLED = "settled"  # both legs filled alike
    ONE_LEGGED = "one_legged"  # the legs differed; the policy closed the gap (to dust)
    FAILED = "failed"  # neither leg filled
    HALTED = "halted"  # an outcome stayed unknown or the gap could not be closed


@dataclass(frozen=True, slots=True)
class TradeOutcome:
    """What one opportunity turned into; money in the quote currency."""

    intent_id: str | None  # None when nothing was written (trading blocked)
    state: IntentState
    reason: str | None
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    fees: Decimal = ZERO
    pnl: Decimal = ZERO
    cycle_ms: float | None = None  # opportunity seen -> both legs acknowledged
    orders: tuple[LegResult, ...] = ()


def new_intent_id() -> str:
    """A fresh intent id."""
    return "i" + secrets.token_hex(8)


class Executor:
    """Trades opportunities one at a time on the given venues, recording all in the ledger."""

    def __init__(
        self,
        venues: Mapping[str, TradingVenue],
        ledger: Ledger,
        settings: ExecutionSettings,
        guard: RiskGuard,
        *,
        clock: Callable[[], float] = time.monotonic,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.venues = venues
        self.ledger = ledger
        self.settings = settings
        self.guard = guard
        self._clock = clock
        self._clock_ms = clock_ms
        # One trade at a time: a second one would size itself from balances the first is
        # about to spend.
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[TradeOutcome]] = set()
        # symbol -> monotonic time our last trade on it finished. Books received before
        # then may still show the liquidity that trade took (the venue's push of our own
        # fill can lag), so an opportunity seen on them is not traded.
        self._finished: dict[str, float] = {}
        # Told every finished trade's outcome (metrics, alerts); must not block or raise.
        self.on_outcome: Callable[[TradeOutcome], None] | None = None

    def reconfigure(self, settings: ExecutionSettings) -> None:
        """Use `settings` (and its risk limits) from the next trade on (a settings reload)."""
        self.settings = settings
        self.guard.reconfigure(settings)

    @property
    def busy(self) -> bool:
        """True while a trade is started or in flight."""
        return bool(self._tasks) or self._lock.locked()

    def submit(
        self, opp: Opportunity, seen_at: float | None = None, books_since: float | None = None
    ) -> bool:
        """Start trading `opp` in the background; False if busy or trading is blocked.

        `books_since` is when the older of the two books showing `opp` arrived: books from
        before our last trade on the symbol finished are not traded on.
        """
        seen = self._clock() if seen_at is None else seen_at
        if self.busy or self.guard.blocked() is not None:
            return False
        since = seen if books_since is None else books_since
        if since <= self._finished.get(opp.symbol, float("-inf")):
            return False
        self._start(opp, seen)
        return True

    async def execute(self, opp: Opportunity, *, seen_at: float | None = None) -> TradeOutcome:
        """Trade `opp` once; cancelling the caller never abandons orders in flight."""
        task = self._start(opp, self._clock() if seen_at is None else seen_at)
        return await asyncio.shield(task)

    async def settled(self) -> None:
        """Wait until no trade is in flight (`arb replay` steps recorded time between trades)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Start no new trade and wait until every trade in flight has settled."""
        self.guard.stopping = True
        if self._tasks:
            logger.info("settling {} trade(s) in flight before closing", len(self._tasks))
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, opp: Opportunity, seen_at: float) -> asyncio.Task[TradeOutcome]:
        task = asyncio.create_task(self._locked(opp, seen_at), name=f"trade {opp.symbol}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[TradeOutcome]) -> None:
        self._tasks.discard(task)
        self._finished[task.get_name().removeprefix("trade ")] = self._clock()
        if task.cancelled():
            return
        if task.exception() is not None:
            logger.opt(exception=task.exception()).error("trade task crashed")
        elif self.on_outcome is not None:
            self.on_outcome(task.result())

    async def _locked(self, opp: Opportunity, seen_at: float) -> TradeOutcome:
        async with self._lock:
            return await self._trade(opp, seen_at)

    # -- one trade -----------------------------------------------------------------------

    async def _trade(self, opp: Opportunity, seen_at: float) -> TradeOutcome:
        # An opportunity seen longer ago than trading.max_opportunity_age_ms was seen on
        # books that have moved on: one leg would likely miss. Balances a rate limit would
        # hold back past that are not even asked for (the budget is kept for the next one).
        limit_s = self.settings.max_opportunity_age_s
        wait_s = self._balance_wait(opp)
        age_s = self._clock() - seen_at
        if age_s + wait_s > limit_s:
            why = f"seen {age_s * 1000:.0f} ms ago" + (
                f", and the balance reads would wait {wait_s * 1000:.0f} ms for the rate limits"
                if wait_s > 0
                else ""
            )
            return await self._skip(opp, _stale(why, limit_s))
        plan = await self._plan(opp)
        if isinstance(plan, TradeOutcome):
            return plan
        age_s = self._clock() - seen_at
        if age_s > limit_s:
            why = f"fresh balances came {age_s * 1000:.0f} ms after the opportunity was seen"
            return await self._skip(opp, _stale(why, limit_s))
        return await self._send_and_settle(opp, plan, seen_at)

    def _balance_wait(self, opp: Opportunity) -> float:
        """Seconds the trade's balance reads would wait for the venues' rate limits now."""
        venues = (self.venues.get(opp.buy_venue), self.venues.get(opp.sell_venue))
        return max((v.balance_wait() for v in venues if v is not None), default=0.0)

    async def _plan(self, opp: Opportunity) -> Plan | TradeOutcome:
        """Size the trade from balances fetched now, or the outcome that ends it here."""
        blocked = self.guard.blocked()
        if blocked is not None:
            return TradeOutcome(None, IntentState.SKIPPED, blocked)
        buy_venue, sell_venue = self.venues.get(opp.buy_venue), self.venues.get(opp.sell_venue)
        if buy_venue is None or sell_venue is None:
            return await self._skip(opp, "a venue of this opportunity is not open for trading")
        try:
            buy_market, sell_market = buy_venue.market(opp.symbol), sell_venue.market(opp.symbol)
            buy_balance, sell_balance = await self._balances(buy_venue, sell_venue)
            # Read in here: an amount the venue sent unreadable fails like the fetch itself.
            quote_free = buy_balance.free.get(buy_market.quote, ZERO)
            base_free = sell_balance.free.get(sell_market.base, ZERO)
        except ArbError as exc:
            await self.guard.check()
            return await self._skip(opp, f"cannot size: {exc}")
        await self.guard.check()
        blocked = self.guard.blocked()  # the kill switch may have fired during the fetch
        if blocked is not None:
            return TradeOutcome(None, IntentState.SKIPPED, blocked)
        s = self.settings
        room = Room(
            quote_free=quote_free,
            base_free=base_free,
            max_notional=s.max_notional,
            exposure_room=self.guard.exposure_room(buy_market.base),
            min_profit=s.min_profit,
            min_profit_pct=s.min_profit_pct,
            max_worst_case_loss=s.max_worst_case_loss,
        )
        plan = size_trade(opp, buy_market, sell_market, room)
        if isinstance(plan, Skip):
            return await self._skip(opp, plan.reason)
        return plan

    async def _send_and_settle(self, opp: Opportunity, plan: Plan, seen_at: float) -> TradeOutcome:
        """Write the intent, send both legs at once, settle them and close any gap."""
        intent_id = new_intent_id()
        orders = (
            Order(
                new_client_order_id(),
                opp.buy_venue,
                opp.symbol,
                "buy",
                Role.LEG,
                plan.buy_amount,
                plan.buy_price,
            ),
            Order(
                new_client_order_id(),
                opp.sell_venue,
                opp.symbol,
                "sell",
                Role.LEG,
                plan.sell_amount,
                plan.sell_price,
            ),
        )
        now = self._clock_ms()
        # Durable before any request leaves: a crash from here on is found and reconciled.
        await self.ledger.write(
            records.intent_row(
                intent_id,
                opp,
                amount=plan.sell_amount,
                buy_price=plan.buy_price,
                sell_price=plan.sell_price,
                expected_net=plan.legs.expected_net,
                worst_net=plan.legs.worst_net,
                state=IntentState.PENDING,
                reason=None,
                now_ms=now,
            ),
            *(records.order_row(intent_id, order, now) for order in orders),
        )
        acks = await self._send_both(orders)
        cycle_ms = (max(ack.at for ack in acks) - seen_at) * 1000
        settled = await asyncio.gather(
            *(self._settle(o, a) for o, a in zip(orders, acks, strict=True))
        )
        legs = list(settled)
        for leg in legs:
            self._record_leg(leg)
        halt = next(
            (
                f"{leg.order.venue} {leg.order.side} outcome unknown: {leg.error}"
                for leg in legs
                if not leg.known
            ),
            None,
        )
        markets = {v: self.venues[v].market(opp.symbol) for v in (opp.buy_venue, opp.sell_venue)}
        # Legs filled as sized are even: a grossed-up buy leaves under one step of base over.
        uneven = not filled_as_sent(legs) and gap(legs, markets)
        if halt is None and uneven and any(leg.filled for leg in legs):
            halt = await self._flatten(intent_id, opp, legs)
        return await self._finish(intent_id, opp, legs, cycle_ms, halt)

    async def _balances(self, buy: TradingVenue, sell: TradingVenue) -> tuple[Balance, Balance]:
        """Both venues' balances, fetched now and concurrently."""
        # The buy venue's read runs in this task, so its request leaves without waiting for
        # the loop's next turn; the sell venue's runs in its own as soon as this one waits.
        sell_read = asyncio.ensure_future(self._balance(sell))
        try:
            buy_balance = await self._balance(buy)
        except asyncio.CancelledError:
            sell_read.cancel()
            raise
        except BaseException:
            await asyncio.gather(sell_read, return_exceptions=True)
            raise
        return buy_balance, await sell_read

    async def _balance(self, venue: TradingVenue) -> Balance:
        start = self._clock()
        try:
            balance = await venue.fetch_balance()
        except ArbError:
            self.guard.observe_venue(venue.id, False, self._clock() - start)
            raise
        self.guard.observe_venue(venue.id, True, self._clock() - start)
        return balance

    async def _send_both(self, orders: Sequence[Order]) -> list[Ack]:
        """Send both legs at once; each ends on its own and never cancels the other."""
        first, second = orders
        # The first leg is sent from this task, so its request leaves without waiting for
        # the loop's next turn; the second from its own task as soon as the first waits.
        other = asyncio.ensure_future(self._send(second))
        try:
            first_ack: Ack | BaseException = await self._send(first)
        except asyncio.CancelledError:
            other.cancel()  # as gather would: the trade itself is being cancelled
            raise
        except Exception as exc:  # noqa: BLE001 - an order that may have left is unknown
            first_ack = exc
        (second_ack,) = await asyncio.gather(other, return_exceptions=True)
        return [self._known_or_unknown(ack) for ack in (first_ack, second_ack)]

    def _known_or_unknown(self, result: Ack | BaseException) -> Ack:
        if not isinstance(result, BaseException):
            return result
        return Ack(AckKind.UNKNOWN, error=f"{type(result).__name__}: {result}", at=self._clock())

    async def _send(self, order: Order) -> Ack:
        s = self.settings
        return await send(
            self.venues[order.venue],
            order,
            timeout_s=s.order_timeout_s,
            observe=self.guard.observe_venue,
            clock=self._clock,
        )

    async def _settle(self, order: Order, ack: Ack) -> LegResult:
        s = self.settings
        return await settle(
            self.venues[order.venue],
            order,
            ack,
            attempts=s.settle_attempts,
            delay_s=s.settle_delay_s,
            observe=self.guard.observe_venue,
            clock=self._clock,
        )

    async def _run_order(self, intent_id: str, order: Order) -> LegResult:
        """Write, send once and settle one unwind or hedge order."""
        await self.ledger.write(records.order_row(intent_id, order, self._clock_ms()))
        leg = await self._settle(order, await self._send(order))
        self._record_leg(leg)
        return leg

    async def _flatten(self, intent_id: str, opp: Opportunity, legs: list[LegResult]) -> str | None:
        """Run the policy until the legs are even (or only dust is left); the halt reason if not."""
        s = self.settings
        markets = {v: self.venues[v].market(opp.symbol) for v in (opp.buy_venue, opp.sell_venue)}
        for _ in range(s.policy_attempts):
            fix = corrective(s.policy, opp, legs, markets, s.max_slippage_pct)
            if fix is None or not (amount := tradable(fix.amount, fix.price, markets[fix.venue])):
                return None  # even, or dust below the venue's minimums: residual exposure
            market = markets[fix.venue]
            try:
                amount = await self._affordable(fix, amount, market)
            except ArbError as exc:
                logger.warning("{}: balance for the {} unavailable: {}", fix.venue, fix.role, exc)
                continue
            if not amount:
                short = f"{fix.amount} {market.base} on {fix.venue}"
                if abs(gap(legs, markets)) * fix.price > self.guard.exposure_room(market.base):
                    return f"cannot {fix.role} {short}: balance too small"
                # What is left fits the exposure limit: the guard counts it as residual.
                logger.warning("cannot {} {}: balance too small, left as residual", fix.role, short)
                return None
            logger.warning(
                "{} {}: {} {} {} at {} (one-legged by {})",
                fix.venue,
                fix.role,
                fix.side,
                amount,
                opp.symbol,
                fix.price,
                fix.amount,
            )
            order = Order(
                new_client_order_id(), fix.venue, opp.symbol, fix.side, fix.role, amount, fix.price
            )
            leg = await self._run_order(intent_id, order)
            legs.append(leg)
            if not leg.known:
                return f"{fix.role} order on {fix.venue} outcome unknown: {leg.error}"
        fix = corrective(s.policy, opp, legs, markets, s.max_slippage_pct)
        if fix is not None and tradable(fix.amount, fix.price, markets[fix.venue]):
            left = f"{fix.amount} {markets[fix.venue].base}"
            return f"{left} still one-legged after {s.policy_attempts} {s.policy} attempts"
        return None

    async def _affordable(self, fix: Fix, amount: Decimal, market: MarketInfo) -> Decimal:
        """`amount` cut to what a balance fetched now pays for, on the step (0: nothing)."""
        balance = await self._balance(self.venues[fix.venue])
        if fix.side == "sell":
            available = balance.free.get(market.base, ZERO)
        else:
            available = balance.free.get(market.quote, ZERO) / (fix.price * market.pay_rate)
        return tradable(min(amount, available), fix.price, market)

    def _record_leg(self, leg: LegResult) -> None:
        market = self.venues[leg.order.venue].market(leg.order.symbol)
        fee, currency = fee_fields(leg, market)
        now = self._clock_ms()
        statements = [records.order_update(leg, fee, currency, now)]
        if leg.filled > 0:
            statements.append(records.fill_row(leg, fee, currency, now))
        self.ledger.record(*statements)

    async def _skip(self, opp: Opportunity, reason: str) -> TradeOutcome:
        intent_id = new_intent_id()
        logger.info("skip {} {}->{}: {}", opp.symbol, opp.buy_venue, opp.sell_venue, reason)
        self.ledger.record(
            records.intent_row(
                intent_id,
                opp,
                amount=opp.amount,
                buy_price=opp.buy_limit_price,
                sell_price=opp.sell_limit_price,
                expected_net=opp.net_profit,
                worst_net=None,
                state=IntentState.SKIPPED,
                reason=reason,
                now_ms=self._clock_ms(),
            )
        )
        return TradeOutcome(intent_id, IntentState.SKIPPED, reason)

    async def _finish(
        self,
        intent_id: str,
        opp: Opportunity,
        legs: list[LegResult],
        cycle_ms: float,
        halt: str | None,
    ) -> TradeOutcome:
        markets = {leg.order.venue: self.venues[leg.order.venue].market(opp.symbol) for leg in legs}
        totals = summarize(legs, markets)
        if halt is not None:
            state = IntentState.HALTED
        elif not totals.bought and not totals.sold:
            state = IntentState.FAILED
        elif len(legs) == 2 and (not totals.residual or filled_as_sent(legs)):
            state = IntentState.SETTLED
        else:
            state = IntentState.ONE_LEGGED
        reason = halt or _reason(state, legs, totals.residual, opp)
        now = self._clock_ms()
        statements = [
            records.intent_update(
                intent_id, state=state, reason=reason, cycle_ms=cycle_ms, now_ms=now
            )
        ]
        if state is not IntentState.HALTED:
            # A halted trade's fills are not all known: the next start reconciles and books it.
            statements.append(
                records.trade_row(
                    intent_id,
                    symbol=opp.symbol,
                    buy_venue=opp.buy_venue,
                    sell_venue=opp.sell_venue,
                    totals=totals,
                    one_legged=state is IntentState.ONE_LEGGED,
                    now_ms=now,
                )
            )
        await self.ledger.write(*statements)
        log = logger.info if state is IntentState.SETTLED else logger.warning
        log(
            "{} {} {}->{}: {} (pnl {:.6f}, cycle {:.1f} ms)",
            intent_id,
            opp.symbol,
            opp.buy_venue,
            opp.sell_venue,
            state,
            totals.pnl,
            cycle_ms,
        )
        if halt is not None:
            logger.critical("ALERT {} halted: {}", intent_id, halt)
            await self.guard.trip(f"{intent_id}: {halt}")
        await self.guard.after_trade(
            ok=state is IntentState.SETTLED,
            pnl=totals.pnl,
            asset=opp.symbol.split("/")[0],
            residual=totals.residual,
            price=totals.mark,
        )
        return TradeOutcome(
            intent_id,
            state,
            reason,
            totals.bought,
            totals.sold,
            totals.fees,
            totals.pnl,
            cycle_ms,
            tuple(legs),
        )


def _reason(
    state: IntentState, legs: Sequence[LegResult], residual: Decimal, opp: Opportunity
) -> str | None:
    if state is IntentState.SETTLED:
        return None
    errors = "; ".join(
        f"{leg.order.venue} {leg.order.side}: {leg.error}" for leg in legs[:2] if leg.error
    )
    if state is IntentState.FAILED:
        return f"neither leg filled{': ' + errors if errors else ''}"
    fills = ", ".join(
        f"{leg.order.role} {leg.order.venue} {leg.order.side} {leg.filled}" for leg in legs
    )
    dust = f"; residual {residual} {opp.symbol.split('/')[0]}" if residual else ""
    return f"one-legged: {fills}{dust}"


def _stale(why: str, limit_s: float) -> str:
    return f"stale: {why} (trading.max_opportunity_age_ms {limit_s * 1000:.0f})"
