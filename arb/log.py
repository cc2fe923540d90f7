"""The one loguru setup: readable lines on stderr, optional JSON lines to a file, secrets masked."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

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
