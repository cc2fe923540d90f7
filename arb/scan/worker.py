"""One shard of a scan: every venue's books for a share of the symbols, in its own process.

`arb.scan.shards` starts it as `python -m arb.scan.worker`. The parent writes framed
messages to its stdin: first a `WorkerSpec` (settings, its symbols, the ccxt markets the
parent loaded, so the venues are not asked again), then new `Limits` after a settings
reload. The worker writes framed messages to its stdout: each opportunity event as it is
found (from the socket callback that applied the frame, as in one process), and a `Report`
of its counters every REPORT_S. It stops when its stdin closes or on SIGTERM, after a last
report. A frame is a 4-byte little-endian length and a pickle; both ends are this package.
Logs go to stderr, which the parent shares.
"""

from __future__ import annotations

import asyncio
import copyreg
import io
import os
import pickle
import signal
import struct
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from arb.config import Settings
from arb.domain.opportunity import Opportunity
from arb.domain.symbols import SymbolTable
from arb.log import HotLog
from arb.scan.detector import Limits, OpportunityEvent, Stats
from arb.scan.engine import FeedState, Pipeline
from arb.scan.output import LineWriter, event_json
from arb.venues.adapter import Venue

REPORT_S = 0.25
_LENGTH = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker watches and how."""

    index: int
    settings: Settings  # `symbols` is this worker's share
    markets: Mapping[str, Sequence[Mapping[str, Any]]]  # venue -> ccxt markets, its symbols
    pending: tuple[str, ...]  # venues down at start-up: retried here too
    stream_options: tuple[tuple[str, float], ...]
    log_level: str
    log_file: Path | None
    secrets: tuple[str, ...]  # masked in every log line, as in the parent
    book_budget_share: float = 1.0  # of the venues' snapshot budgets (split with the others)
    # `arb scan --json`: the parent's stdout, passed down, for this worker's own lines (a
    # line is one write of at most PIPE_BUF bytes, so lines of several writers never mix)
    line_fd: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A worker's counters: cumulative since it started, except `latencies` (new ones)."""

    feeds: Mapping[str, FeedState]
    updates: Mapping[str, int]
    stale_refused: Mapping[str, int]
    opportunities: int
    best: Opportunity | None
    latencies: tuple[float, ...]  # frame-to-decision, seconds, since the previous report
    histogram: tuple[tuple[int, ...], float]  # the latency histogram's counts and sum
    current: Mapping[tuple[str, str, str], Opportunity]


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return _proxy, (dict(proxy),)


# Settings hold read-only mappings, which pickle does not take by itself.
_TABLE = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}


def frame(message: object) -> bytes:
    """One message as sent between parent and worker."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _TABLE
    pickler.dump(message)
    body = out.getbuffer()
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> object | None:
    """The next message, or None at the end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        message: object = pickle.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))  # noqa: S301
        return message  # pickled by our own parent or worker
    except asyncio.IncompleteReadError:
        return None


class _Counters:
    """Builds reports from a detector's stats (latencies since the previous report)."""

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._seen = 0

    def report(self, pipeline: Pipeline) -> Report:
        stats = self._stats
        counted = sum(stats.latency.counts)
        new = min(counted - self._seen, len(stats.latencies))
        self._seen = counted
        latencies = tuple(stats.latencies)[len(stats.latencies) - new :] if new > 0 else ()
        return Report(
            feeds={v: replace(f, books=dict(f.books)) for v, f in pipeline.feeds.items()},
            updates=dict(stats.updates),
            stale_refused=dict(stats.stale_refused),
            opportunities=stats.opportunities,
            best=stats.best,
            latencies=latencies,
            histogram=(tuple(stats.latency.counts), stats.latency.total),
            current=dict(pipeline.detector.current),
        )


async def serve(spec: WorkerSpec, inbox: asyncio.StreamReader, out: asyncio.WriteTransport) -> None:
    """Stream this worker's books until the parent closes stdin or SIGTERM; then report."""
    settings = spec.settings
    hot = HotLog()
    lines = None if spec.line_fd is None else _line_writer(spec.line_fd)

    def on_event(event: OpportunityEvent) -> None:
        if lines is not None:  # the line first, from the socket callback, as in one process
            lines.write(event_json(event))
        out.write(frame(event))

    try:
        async with AsyncExitStack() as stack:
            venues = {
                v: await stack.enter_async_context(Venue(settings.venue(v)))
                for v in (*spec.markets, *spec.pending)
            }
            for venue in venues.values():
                venue.share_book_budgets(spec.book_budget_share)
            infos = [m for v, raw in spec.markets.items() for m in venues[v].use_markets(raw)]
            pipeline = Pipeline(
                settings,
                {v: venues[v] for v in spec.markets},
                SymbolTable(infos),
                settings.symbols,
                on_event,
                hot=hot,
                pending={v: venues[v] for v in spec.pending},
                stream_options=dict(spec.stream_options),
            )
            counters = _Counters(pipeline.detector.stats)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, lambda: None)  # the parent decides
            tasks = [
                asyncio.create_task(pipeline.run(), name="arb-streams"),
                asyncio.create_task(_listen(inbox, pipeline, stop), name="arb-inbox"),
                asyncio.create_task(_report(pipeline, counters, out), name="arb-report"),
            ]
            stopper = asyncio.create_task(stop.wait())
            try:
                done, _ = await asyncio.wait([*tasks, stopper], return_when="FIRST_COMPLETED")
                for task in done:
                    if task is not stopper and not task.cancelled():
                        task.result()  # a crash of the pipeline's supervisor ends the worker
            finally:
                for task in (*tasks, stopper):
                    task.cancel()
                await asyncio.gather(*tasks, stopper, return_exceptions=True)
                out.write(frame(counters.report(pipeline)))
    finally:
        hot.close()
        if lines is not None:
            lines.close()


def _line_writer(fd: int) -> LineWriter:
    """Lines to the parent's stdout (an inherited descriptor: opening it does no I/O)."""
    return LineWriter(open(fd, "w", closefd=False))


async def _listen(inbox: asyncio.StreamReader, pipeline: Pipeline, stop: asyncio.Event) -> None:
    """New limits from the parent; the end of stdin is the parent asking us to stop."""
    while (message := await read_frame(inbox)) is not None:
        if isinstance(message, Limits):
            pipeline.detector.set_limits(message)
    stop.set()


async def _report(pipeline: Pipeline, counters: _Counters, out: asyncio.WriteTransport) -> None:
    while True:
        await asyncio.sleep(REPORT_S)
        out.write(frame(counters.report(pipeline)))


async def _main(stdin: BinaryIO, stdout: BinaryIO) -> int:
    from arb.log import setup_logging  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    inbox = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(inbox), stdin)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
    spec = await read_frame(inbox)
    if not isinstance(spec, WorkerSpec):
        sys.stderr.write("arb worker: expected a WorkerSpec on stdin (started by arb only)\n")
        return 2
    setup_logging(spec.log_level, spec.log_file, spec.secrets)
    try:
        await serve(spec, inbox, transport)
    finally:
        transport.close()
    return 0


def main() -> int:
    """The worker process: `python -m arb.scan.worker`, started by the parent only."""
    import gc  # noqa: PLC0415

    import uvloop  # noqa: PLC0415

    # Messages get the real stdout; anything else printed goes to stderr with the logs.
    messages = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    gc.freeze()  # the start-up heap out of the collector, as `arb scan` does (arb.cli.run_long)
    return uvloop.run(_main(sys.stdin.buffer, messages))


if __name__ == "__main__":
    # Run as arb.scan.worker, not __main__, so the classes pickled by the parent are these.
    from arb.scan import worker  # noqa: PLW0406

    raise SystemExit(worker.main())
