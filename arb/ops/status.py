"""What the status server shows: health per venue, trading state, opportunities, trades, P&L."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arb.execution.executor import Executor
from arb.execution.risk import utc_day_start_ms
from arb.ledger import Ledger
from arb.scan.view import ScanView

RECENT_TRADES = 20
RECENT_OPPORTUNITIES = 20


@dataclass(frozen=True, slots=True)
class Sources:
    """The running parts the status server reads (never writes)."""

    pipeline: ScanView
    ledger: Ledger
    executor: Executor | None  # None for `arb scan`
    mode: str  # run, paper, sandbox, scan
    started_ms: int
    mono: Callable[[], float] = time.monotonic


def venues(src: Sources) -> dict[str, dict[str, Any]]:
    """Per venue: connected, each book's age, resyncs, updates, stale refusals, last error."""
    p, now = src.pipeline, src.mono()
    stats = p.detector.stats
    return {
        venue: {
            "state": feed.state,
            "connected": feed.state == "connected",
            "book_age_ms": {s: round((now - at) * 1000, 1) for s, at in sorted(feed.books.items())},
            "resyncs": feed.resyncs,
            "updates": stats.updates.get(venue, 0),
            "stale_refused": stats.stale_refused.get(venue, 0),
            "last_error": feed.last_error,
        }
        for venue, feed in p.feeds.items()
    }


def trading_state(src: Sources) -> dict[str, Any]:
    """Breaker, kill switch and whether a new trade may start now."""
    if src.executor is None:
        return {"enabled": False, "allowed": False, "blocked": "scan only", "breaker": None}
    guard = src.executor.guard
    blocked = guard.blocked()
    return {
        "enabled": True,
        "allowed": blocked is None,
        "blocked": blocked,
        "breaker": guard.tripped,
        "kill_switch": guard.killed is not None or guard.kill_file,
        "consecutive_failures": guard.consecutive_failures,
        "daily_pnl": str(guard.daily_pnl),
    }


def health(src: Sources) -> tuple[bool, dict[str, Any]]:
    """(healthy, body): healthy while two venues stream and, for `arb run`, trading may go on."""
    per_venue = venues(src)
    trading = trading_state(src)
    streaming = sum(1 for v in per_venue.values() if v["connected"])
    ok = streaming >= 2 and (src.executor is None or trading["allowed"])
    return ok, {"ok": ok, "mode": src.mode, "venues": per_venue, "trading": trading}


async def status(src: Sources) -> dict[str, Any]:
    """Everything the status page shows, as JSON-ready values (decimals as strings)."""
    _, body = health(src)
    current = sorted(
        src.pipeline.detector.current.values(), key=lambda o: o.net_profit, reverse=True
    )
    body["opportunities"] = [
        {
            "symbol": o.symbol,
            "buy": o.buy_venue,
            "sell": o.sell_venue,
            "amount": str(o.amount),
            "net_profit": str(o.net_profit),
            "net_profit_pct": f"{o.net_profit_pct:.4f}",
        }
        for o in current[:RECENT_OPPORTUNITIES]
    ]
    body["opportunities_seen"] = src.pipeline.detector.stats.opportunities
    body["trades"] = await recent_trades(src.ledger)
    body["pnl"] = await pnl(src.ledger, src.started_ms)
    limits = src.pipeline.detector.limits
    body["limits"] = {
        "max_notional": str(limits.max_notional),
        "min_profit": str(limits.min_profit),
        "min_profit_pct": str(limits.min_profit_pct),
    }
    body["started_ms"] = src.started_ms
    return body


async def recent_trades(ledger: Ledger) -> list[dict[str, Any]]:
    """The latest trades in the ledger, newest first."""
    rows = await ledger.query(
        "SELECT t.intent_id, t.at_ms, t.symbol, t.buy_exchange, t.sell_exchange, t.sold, "
        "t.fees, t.realized_pnl, t.one_legged, i.state, i.cycle_ms FROM trades t "
        "JOIN intents i ON i.id = t.intent_id ORDER BY t.at_ms DESC LIMIT ?",
        (RECENT_TRADES,),
    )
    return [
        {
            "intent_id": r["intent_id"],
            "at_ms": r["at_ms"],
            "symbol": r["symbol"],
            "buy": r["buy_exchange"],
            "sell": r["sell_exchange"],
            "amount": r["sold"],
            "fees": r["fees"],
            "pnl": r["realized_pnl"],
            "state": r["state"],
            "cycle_ms": None if r["cycle_ms"] is None else round(r["cycle_ms"], 1),
        }
        for r in rows
    ]


async def pnl(ledger: Ledger, since_ms: int) -> dict[str, str | int]:
    """Realised P&L and fees of this session and of today (UTC), from the ledger."""
    today = utc_day_start_ms(time.time_ns() // 1_000_000)
    out: dict[str, str | int] = {}
    for name, since in (("session", since_ms), ("today", today)):
        rows = await ledger.query(
            "SELECT realized_pnl, fees FROM trades WHERE at_ms >= ?", (since,)
        )
        out[f"{name}_pnl"] = str(sum((Decimal(r["realized_pnl"]) for r in rows), Decimal(0)))
        out[f"{name}_fees"] = str(sum((Decimal(r["fees"]) for r in rows), Decimal(0)))
        out[f"{name}_trades"] = len(rows)
    return out
