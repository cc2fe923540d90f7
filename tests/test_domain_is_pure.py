"""arb/domain stays pure: no venue library, event loop, logging, settings, clock or outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[1] / "arb" / "domain"
FORBIDDEN = (
    "ccxt",
    "asyncio",
    "loguru",
    "dynaconf",
    "time",
    "datetime",
    "aiohttp",
    "arb.venues",
    "arb.sim",
    "arb.execution",
    "arb.cli",
    "arb.config",
)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports, `from x import y` counted as x and x.y."""
    package = "arb.domain" if path.name == "__init__.py" else f"arb.domain.{path.stem}"
    parts = package.split(".")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # `from .. import venues` inside arb/domain/x.py means arb.venues.
            base = ".".join(parts[: len(parts) - node.level]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def forbidden_in(path: Path) -> list[str]:
    return sorted(
        name
        for name in imported_modules(path)
        for banned in FORBIDDEN
        if name == banned or name.startswith(banned + ".")
    )


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_the_modules_this_test_guards() -> None:
    names = {p.name for p in domain_modules()}

    assert {"book.py", "symbols.py", "opportunity.py"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    assert forbidden_in(path) == []


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import time", ["time"]),
        ("from datetime import datetime", ["datetime", "datetime.datetime"]),
        ("import ccxt.pro as ccxtpro", ["ccxt.pro"]),
        ("from arb import venues", ["arb.venues"]),
        ("from .. import config", ["arb.config"]),
        ("from ..execution.legs import run", ["arb.execution.legs", "arb.execution.legs.run"]),
        ("def f():\n    import asyncio", ["asyncio"]),
        ("import timeit\nfrom arb.domain import book\nfrom . import symbols", []),
    ],
)
def test_the_checker_itself(tmp_path: Path, source: str, caught: list[str]) -> None:
    module = tmp_path / "probe.py"
    module.write_text(source)

    assert forbidden_in(module) == caught
