"""The command line: help, version, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from arb import __version__
from arb.cli import main, run_long


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert __version__ in out


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("scan", "run", "symbols"):
        assert command in out


@pytest.mark.parametrize("command", ["scan", "run", "symbols"])
def test_subcommand_help_explains_the_options(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    for option in ("--exchanges", "--symbols", "--settings", "--log-level"):
        assert option in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["scan", "--exchanges", "mexc,nosuchvenue"], "--exchanges"),
        (["scan", "--exchanges", "mexc"], "--exchanges"),
        (["scan", "--symbols", "BTCUSDT"], "--symbols"),
        (["scan", "--log-level", "LOUD"], "--log-level"),
        (["scan", "--no-such-flag"], "--no-such-flag"),
        (["frobnicate"], "frobnicate"),
        (["scan", "--settings", "missing.toml"], "--settings"),
        (["scan", "--workers", "0"], "--workers"),
        (["scan", "--workers", "many"], "--workers"),
        (["run", "--workers", "65"], "--workers"),
        (["run", "--paper", "--workers", "2"], "--workers"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert named in err


def test_bad_setting_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARB_MARKET_DATA__DEPTH", "zero")
    code, _, err = run_cli(capsys, "scan")
    assert code == 2
    assert "market_data.depth" in err
    assert "Traceback" not in err


def test_installed_console_script_runs(tmp_path: Path) -> None:
    arb = Path(sys.executable).parent / "arb"
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(arb), "scan", "--exchanges", "mexc,nowhere"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "unknown venue 'nowhere'" in done.stderr


def test_long_commands_run_with_the_start_up_heap_frozen_and_give_it_back() -> None:
    async def frozen_while_running() -> int:
        return gc.get_freeze_count()

    assert gc.get_freeze_count() == 0
    frozen = run_long(frozen_while_running())

    assert frozen > 10_000  # ccxt and arb's modules, out of the collector's walks
    assert gc.get_freeze_count() == 0  # the caller's collector is its own again
