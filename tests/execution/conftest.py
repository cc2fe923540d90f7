"""Fixtures for the execution tests: a fresh ledger per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arb.ledger import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh SQLite ledger, closed (and its queued writes checked) after the test."""
    opened = Ledger(tmp_path / "ledger.sqlite")
    yield opened
    opened.close()
