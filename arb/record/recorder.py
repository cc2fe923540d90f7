"""`arb record`: `arb scan` with a tap on every venue connection writing what arrives to disk."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb import __version__
from arb.config import Settings
from arb.record.files import Frame, FrameWriter, Usage, write_header
from arb.scan.command import ScanOptions, scan
from arb.venues.tap import Tapped, tap


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """How `arb record` was asked to run."""

    out: Path
    scan: ScanOptions
    rotate_mb: float = 64.0


class Recorder:
    """Numbers each venue's ccxt instances (connections) and queues what they receive."""

    def __init__(self, writer: FrameWriter) -> None:
        self._writer = writer
        self._instances: dict[str, int] = {}
        self.stopped = False  # the scan stopped: later frames were never evaluated live

    def stop(self) -> None:
        """Record nothing more (the scan stopped; its connections are still closing)."""
        self.stopped = True

    def on_exchange(self, venue_id: str) -> Callable[[Any], None]:
        """The callback a `Venue` calls with each ccxt.pro instance it builds."""

        def attach(exchange: Any) -> None:
            conn = self._instances.get(venue_id, 0)
            self._instances[venue_id] = conn + 1

            def sink(item: Tapped) -> None:
                if self.stopped or (item.kind == "markets" and conn > 0):
                    return  # further connections share the first one's markets
                self._writer.put(
                    Frame(
                        item.t_ns,
                        item.wall_ms,
                        venue_id,
                        conn,
                        item.kind,
                        item.where,
                        item.payload,
                        item.params,
                    )
                )

            tap(exchange, sink)

        return attach


def header(settings: Settings, options: RecordOptions) -> dict[str, Any]:
    """What a replay needs to know about the run: version, time, settings (never secrets)."""
    return {
        "arb": __version__,
        "started_wall_ms": time.time_ns() // 1_000_000,
        "sandbox": options.scan.sandbox,
        "scenario": options.scan.scenario,
        "exchanges": list(settings.exchanges),
        "symbols": list(settings.symbols),
        "settings": {
            "trading": dataclasses.asdict(settings.trading),
            "market_data": dataclasses.asdict(settings.market_data),
        },
    }


async def record(settings: Settings, options: RecordOptions) -> int:
    """Scan as `arb scan` does while recording every frame; report the disk used."""
    options.out.mkdir(parents=True, exist_ok=True)
    write_header(options.out, _jsonable(header(settings, options)))
    writer = FrameWriter(options.out, rotate_bytes=int(options.rotate_mb * 1024 * 1024))
    recorder = Recorder(writer)
    try:
        scan_options = dataclasses.replace(
            options.scan, on_exchange=recorder.on_exchange, on_stop=recorder.stop
        )
        code = await scan(settings, scan_options)
    finally:
        await asyncio.to_thread(writer.close)  # joins the writer thread
    return code


def usage_line(out: Path, usage: Usage) -> str:
    """The disk-use summary line."""
    dropped = f", {usage.dropped} dropped (writer behind)" if usage.dropped else ""
    return (
        f"recorded {usage.frames} frames to {out}: {usage.files} file(s), "
        f"{usage.bytes / 1024:.1f} KiB{dropped}"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimal, Path
