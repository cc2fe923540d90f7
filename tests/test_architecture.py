"""Imports point inward: dynaconf only in config, ccxt only in venues (and sim), no cli imports."""

from __future__ import annotations

import ast
from pathlib import Path

ARB = Path(__file__).resolve().parents[1] / "arb"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> dict[str, set[str]]:
    return {str(p.relative_to(ARB.parent)): imports_of(p) for p in ARB.rglob("*.py")}


def offenders(prefix: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path} imports {name}"
        for path, names in modules().items()
        for name in names
        if (name == prefix or name.startswith(prefix + ".")) and not path.startswith(allowed)
    )


def test_only_config_imports_dynaconf() -> None:
    assert offenders("dynaconf", ("arb/config.py",)) == []


def test_only_venues_talk_to_ccxt() -> None:
    # The simulator may use the official protobuf schema classes that ship inside ccxt to
    # ENCODE MEXC frames; it shares no code with arb/venues.
    assert offenders("ccxt", ("arb/venues/", "arb/sim/")) == []


def test_simulator_shares_no_code_with_the_adapter() -> None:
    # config reads the venue registry (arb.venues.profiles) for venue ids and aliases only.
    allowed = (
        "arb/venues/",
        "arb/cli.py",
        "arb/execution/",
        "arb/scan",
        "arb/config.py",
        "arb/record/",
        "arb/run.py",
    )
    assert offenders("arb.venues", allowed) == []


def test_nothing_imports_the_cli() -> None:
    assert offenders("arb.cli", ("arb/__main__.py",)) == []


def test_venues_never_import_execution() -> None:
    assert [
        o for o in offenders("arb.execution", ("arb/execution/", "arb/cli.py")) if "venues" in o
    ] == []


def test_operations_are_wired_only_by_the_commands() -> None:
    # arb/ops reads the pipeline and the executor; they never import it back.
    assert offenders("arb.ops", ("arb/ops/", "arb/run.py", "arb/scan/command.py")) == []


def test_only_ops_uses_prometheus_client() -> None:
    assert offenders("prometheus_client", ("arb/ops/",)) == []
