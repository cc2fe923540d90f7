"""The simulator's request log: what clients did, JSON Lines, monotonic ms, no secrets."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

# MEXC puts the signature in the query string, Binance in the query or the form body;
# Gate in the SIGN header (never logged)
KEEP_IN_MEMORY = 50_000  # entries kept for inspection; the file keeps everything
_SIGNATURE = re.compile(r"(signature=)[0-9a-fA-F]*")


def redact(query: str) -> str:
    """Replace a signature in a query string or form body with a marker."""
    return _SIGNATURE.sub(r"\1<redacted>", query)


class RequestLog:
    """In-memory entries, optionally appended to a JSON Lines file off the event loop."""

    def __init__(self, path: Path | None = None) -> None:
        """Start empty; `path` receives every entry when the log is flushed."""
        self.entries: list[dict[str, Any]] = []
        self._path = path
        self._written = 0
        self._start = time.monotonic()

    def record(self, venue: str, kind: str, **fields: Any) -> dict[str, Any]:
        """Add one entry stamped with monotonic milliseconds since the simulator started."""
        entry = {"t_ms": round((time.monotonic() - self._start) * 1000, 3), "venue": venue}
        entry["kind"] = kind
        entry.update(fields)
        self.entries.append(entry)
        if self._path is None and len(self.entries) > KEEP_IN_MEMORY * 2:
            # a long sandbox run must not grow without bound; the newest entries stay
            del self.entries[:-KEEP_IN_MEMORY]
        return entry

    @property
    def started(self) -> float:
        """The monotonic time (seconds) every entry's `t_ms` counts from."""
        return self._start

    def of(self, venue: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Entries of one venue (and kind)."""
        return [
            e for e in self.entries if e["venue"] == venue and (kind is None or e["kind"] == kind)
        ]

    async def flush(self) -> None:
        """Append the entries not yet written to the file (no-op without a path)."""
        if self._path is None or self._written == len(self.entries):
            return
        batch = self.entries[self._written :]
        self._written = len(self.entries)
        lines = "".join(json.dumps(e, default=str) + "\n" for e in batch)
        await asyncio.to_thread(_append, self._path, lines)
        if len(self.entries) > KEEP_IN_MEMORY * 2:
            del self.entries[:-KEEP_IN_MEMORY]  # already on disk
            self._written = len(self.entries)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
