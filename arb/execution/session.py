"""`arb run`'s trading session: start-up (fees, reconciliation, breaker), kill switch, signals.

    async with trading(venues, ledger, settings, symbols) as executor:
        ...  # hand each Opportunity to executor.submit(opp, seen_at)

Start-up fetches each venue's account taker fee for the symbols, reconciles intents an
earlier run left unfinished and loads the breaker; an unfinished intent that still needs
an operator trips it. SIGUSR1 (or the kill-switch file) stops new trades at once;
SIGINT / SIGTERM stop new trades, then the block's exit waits for trades in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path

from loguru import logger

from arb.errors import ArbError
from arb.execution.executor import Executor
from arb.execution.legs import TradingVenue
from arb.execution.reconcile import reconcile
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger


async def fetch_fees(venues: Mapping[str, TradingVenue], symbols: Iterable[str]) -> None:
    """Fetch every venue's account taker fee for `symbols` (the adapter keeps them)."""

    async def one(venue: TradingVenue, symbol: str) -> None:
        try:
            fee = await venue.fetch_trading_fee(symbol)
        except ArbError as exc:
            # The market's listed fee stays in use; decisions still include a fee.
            logger.warning("{}: no account fee for {} ({}): market fee used", venue.id, symbol, exc)
            return
        logger.info("{}: taker fee for {} is {}", venue.id, symbol, fee)

    await asyncio.gather(*(one(v, s) for v in venues.values() for s in symbols))


async def prepare(
    venues: Mapping[str, TradingVenue],
    ledger: Ledger,
    settings: ExecutionSettings,
    symbols: Iterable[str],
) -> Executor:
    """Fees, reconciliation and the breaker: everything that must happen before a trade."""
    await fetch_fees(venues, symbols)
    reconciled = await reconcile(ledger, venues)
    guard = await RiskGuard.load(ledger, settings)
    for item in reconciled:
        if item.needs_operator:
            await guard.trip(f"intent {item.intent_id} left by an earlier run: {item.reason}")
    return Executor(venues, ledger, settings, guard)


async def watch_kill_switch(guard: RiskGuard, path: Path, poll_s: float) -> None:
    """Block new trades while `path` exists (checked off the event loop every `poll_s`)."""
    while True:
        guard.set_kill_file(await asyncio.to_thread(path.exists))
        await asyncio.sleep(poll_s)


def install_signals(guard: RiskGuard, on_stop: Callable[[], None]) -> Callable[[], None]:
    """SIGUSR1 kills trading; SIGINT / SIGTERM stop it and call `on_stop`. Returns an undo."""
    loop = asyncio.get_running_loop()

    def stop(name: str) -> None:
        if not guard.stopping:
            logger.warning("{}: no new trades; settling what is in flight, then closing", name)
        guard.stopping = True
        on_stop()

    installed = []
    with contextlib.suppress(NotImplementedError, AttributeError):  # Windows has neither
        loop.add_signal_handler(signal.SIGUSR1, guard.kill, "SIGUSR1")
        installed.append(signal.SIGUSR1)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig.name)
            installed.append(sig)

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


@contextlib.asynccontextmanager
async def trading(
    venues: Mapping[str, TradingVenue],
    ledger: Ledger,
    settings: ExecutionSettings,
    symbols: Iterable[str],
    *,
    on_stop: Callable[[], None] | None = None,
    signals: bool = True,
) -> AsyncIterator[Executor]:
    """A ready executor with the kill switch watched; on exit, trades in flight settle."""
    executor = await prepare(venues, ledger, settings, symbols)
    watcher = None
    if settings.kill_switch_path is not None:
        watcher = asyncio.create_task(
            watch_kill_switch(executor.guard, settings.kill_switch_path, settings.kill_poll_s)
        )
    undo = install_signals(executor.guard, on_stop or (lambda: None)) if signals else None
    try:
        yield executor
    finally:
        await executor.close()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if undo is not None:
            undo()
