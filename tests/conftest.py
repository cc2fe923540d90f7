"""Shared fixtures: every test runs with a clean ARB_* environment in its own folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's own ARB_* variables or ./settings.toml must never leak into a test.
    for name in list(os.environ):
        if name.startswith("ARB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
