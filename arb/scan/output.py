"""What `arb scan` shows: JSON lines, a live terminal table and the closing summary."""

from __future__ import annotations

import json
import os
import queue
import select
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from rich.console import Group
from rich.table import Table

from arb.domain.opportunity import Opportunity
from arb.scan.detector import OpportunityEvent, Stats

PCT_PLACES = Decimal("0.000001")


def iso_ms(wall_ms: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-24T20:31:51.123Z."""
    moment = datetime.fromtimestamp(wall_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{wall_ms % 1000:03d}Z"


def event_json(event: OpportunityEvent) -> str:
    """One JSON line for an opportunity event; decimals are strings, exact."""
    o = event.opportunity
    return json.dumps(
        {
            "symbol": o.symbol,
            "buy_exchange": o.buy_venue,
            "sell_exchange": o.sell_venue,
            "amount": str(o.amount),
            "buy_price": str(o.buy_vwap),
            "sell_price": str(o.sell_vwap),
            "buy_limit_price": str(o.buy_limit_price),
            "sell_limit_price": str(o.sell_limit_price),
            "buy_cost": str(o.buy_cost),
            "sell_proceeds": str(o.sell_proceeds),
            "fees": str(o.buy_fee + o.sell_fee),
            "net_profit": str(o.net_profit),
            # a quotient: shown to 6 places; net_profit itself is exact
            "net_profit_pct": str(o.net_profit_pct.quantize(PCT_PLACES)),
            "detected_at": iso_ms(event.detected_at_ms),
            "latency_us": round(event.latency_s * 1e6, 1),
        },
        separators=(",", ":"),
    )


class LineWriter:
    """Writes lines to a stream at once when it has room, else from its own thread.

    The event loop never blocks on it: a line goes straight to the file descriptor (one
    `write`, flushed) only when nothing is queued before it and the kernel says the pipe has
    room for it; otherwise it is queued for the writer thread, which may block.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._fd = _direct_fd(self._stream)
        self._poll: select.poll | None = None
        if self._fd is not None:
            self._stream.flush()  # anything printed before goes first
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLOUT)
        # Each counter is written by one thread only: lines queued, and lines written.
        self._queued = 0
        self._written = 0
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write_forever, name="arb-out", daemon=True)
        self._thread.start()

    @property
    def fd(self) -> int | None:
        """The file descriptor lines go to directly; None for a stream without one."""
        return self._fd

    def write(self, line: str) -> None:
        """Write one line (without its newline) now if that cannot block, else queue it."""
        if self._poll is not None and self._queued == self._written:
            data = (line + "\n").encode()
            # A pipe takes up to PIPE_BUF bytes in one piece when it polls writable.
            if len(data) <= select.PIPE_BUF and self._poll.poll(0):
                try:
                    sent = os.write(self._fd, data)  # type: ignore[arg-type]
                except BlockingIOError:
                    sent = 0  # full after all: the thread waits for room
                except BrokenPipeError:  # `arb scan --json | head`: the reader left
                    self._poll = None
                    return
                if sent == len(data):
                    return
                line = data[sent:-1].decode(errors="replace")  # the thread writes the rest
        self._queued += 1
        self._lines.put(line)

    def _write_forever(self) -> None:
        while (line := self._lines.get()) is not None:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except BrokenPipeError:  # `arb scan --json | head`: the reader left
                return
            finally:
                self._written += 1

    def close(self) -> None:
        """Write everything queued, then stop."""
        self._lines.put(None)
        self._thread.join()


def _direct_fd(stream: TextIO) -> int | None:
    """The stream's file descriptor if lines may be written to it directly."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO and friends
        return None


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One line of the per-venue feed panel."""

    venue: str
    state: str  # connected, resyncing, disconnected, ...
    books: int
    oldest_age_ms: float | None
    updates_per_s: float
    resyncs: int
    level: str = "trade"  # or "scan-only (book integrity: basic)"


def _money(value: Decimal, places: int = 4) -> str:
    return f"{value:.{places}f}"


def live_view(
    current: Mapping[tuple[str, str, str], Opportunity], feeds: Sequence[FeedRow], top: int = 15
) -> Group:
    """The terminal view: best current opportunities, then the state of every venue feed."""
    table = Table(title="Opportunities (net of taker fees)", expand=False)
    for name in ("symbol", "buy", "sell", "amount", "buy VWAP", "sell VWAP", "net profit", "net %"):
        table.add_column(name, justify="left" if name in ("symbol", "buy", "sell") else "right")
    ranked = sorted(current.values(), key=lambda o: o.net_profit, reverse=True)[:top]
    for o in ranked:
        table.add_row(
            o.symbol,
            o.buy_venue,
            o.sell_venue,
            str(o.amount),
            str(o.buy_vwap),
            str(o.sell_vwap),
            _money(o.net_profit),
            _money(o.net_profit_pct, 3),
        )
    if not ranked:
        table.add_row("-", "", "", "", "", "", "", "")
    feed = Table(title="Feeds", expand=False)
    for name in ("venue", "level", "state", "books", "oldest book age", "updates/s", "resyncs"):
        feed.add_column(name, justify="left" if name in ("venue", "level", "state") else "right")
    for row in feeds:
        age = "-" if row.oldest_age_ms is None else f"{row.oldest_age_ms:,.0f} ms"
        feed.add_row(
            row.venue,
            row.level,
            row.state,
            str(row.books),
            age,
            f"{row.updates_per_s:,.1f}",
            str(row.resyncs),
        )
    return Group(table, feed)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_lines(
    stats: Stats,
    resyncs: Mapping[str, int],
    seconds: float,
    unreachable: Mapping[str, str] | None = None,
) -> list[str]:
    """The closing summary, one fact per line; `unreachable` maps venues that never answered
    to their REST URL."""
    lines = [f"scanned for {seconds:.1f} s"]
    down = unreachable or {}
    for venue in sorted(set(stats.updates) | set(resyncs) | set(down)):
        if venue in down:
            lines.append(f"{venue}: never answered ({down[venue]}); left out of the scan")
            continue
        lines.append(
            f"{venue}: {stats.updates.get(venue, 0)} book updates, "
            f"{resyncs.get(venue, 0)} resyncs, {stats.stale_refused.get(venue, 0)} stale refused"
        )
    lines.append(f"opportunities seen: {stats.opportunities}")
    best = stats.best
    if best is not None:
        lines.append(
            f"best net profit: {_money(best.net_profit)} {best.symbol.split('/')[1]} "
            f"({best.symbol}, buy {best.buy_venue}, sell {best.sell_venue}, amount {best.amount})"
        )
    else:
        lines.append("best net profit: none")
    latencies = list(stats.latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    if p50 is not None and p99 is not None:
        lines.append(
            f"frame-to-decision latency (last {len(latencies):,} updates): "
            f"p50 {p50 * 1e6:,.0f} us, p99 {p99 * 1e6:,.0f} us"
        )
    return lines
