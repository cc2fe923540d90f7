"""The one loguru setup: readable lines on stderr, optional JSON lines to a file, secrets masked."""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

STDERR_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[venue]}</cyan>{message}"
)


def setup_logging(
    level: str = "INFO", json_file: Path | None = None, secrets: Iterable[str] = ()
) -> None:
    """Replace loguru's default sink with ours; every secret value is masked in every record."""
    masks = tuple(s for s in secrets if s)
    _setup.update(json_file=json_file, masks=masks, level=level)

    def patch(record: Record) -> None:
        venue = record["extra"].get("venue")
        record["extra"]["venue"] = f"{venue}: " if venue else ""
        if masks:
            message = record["message"]
            for secret in masks:
                message = message.replace(secret, "***")
            record["message"] = message

    logger.remove()
    logger.configure(patcher=patch)
    logger.add(
        sys.stderr,
        level=level,
        format=STDERR_FORMAT,
        colorize=None,
        backtrace=False,
        diagnose=False,
    )
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        # enqueue: file writes happen on loguru's worker thread, never on the event loop.
        logger.add(
            json_file, level=level, serialize=True, enqueue=True, backtrace=False, diagnose=False
        )


_setup: dict[str, Any] = {"json_file": None, "masks": (), "level": "INFO"}


def logging_setup() -> tuple[str, Path | None, tuple[str, ...]]:
    """The level, JSON file and masked secrets in use (a worker process sets up the same)."""
    return _setup["level"], _setup["json_file"], _setup["masks"]


def reconfigure_logging(level: str, more_secrets: Iterable[str] = ()) -> None:
    """A settings reload: a new level for every sink, and new secrets masked too."""
    masks = tuple(dict.fromkeys((*_setup["masks"], *(s for s in more_secrets if s))))
    setup_logging(level, _setup["json_file"], masks)


class HotLog:
    """Cheap event recording for per-update code; a thread hands the events to loguru later.

    `record` only appends a tuple to a deque (no formatting, no locks, no I/O), so the hot
    path pays well under a microsecond; the drain thread formats each event and gives it to
    loguru. `close()` delivers everything still queued: no event is lost.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self._events: deque[tuple[str, str, tuple[object, ...]]] = deque()
        self._interval = interval
        self._stop = threading.Event()
        self.recorded = 0
        self.delivered = 0
        self._thread = threading.Thread(target=self._drain_forever, name="arb-hotlog", daemon=True)
        self._thread.start()

    def record(self, level: str, template: str, *args: object) -> None:
        """Queue one event; `template` is formatted with `args` later, off the hot path."""
        self._events.append((level, template, args))
        self.recorded += 1

    def drain(self) -> int:
        """Deliver every queued event to loguru now; return how many were delivered."""
        events = self._events
        count = 0
        while events:
            level, template, args = events.popleft()
            logger.log(level, template.format(*args) if args else template)
            count += 1
        self.delivered += count
        return count

    def _drain_forever(self) -> None:
        while not self._stop.wait(self._interval):
            self.drain()

    def close(self) -> None:
        """Stop the drain thread and deliver what is left."""
        self._stop.set()
        self._thread.join()
        self.drain()
