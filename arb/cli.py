"""The `arb` command line: scan, run, symbols and sim, with one-line errors and exit codes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from arb import __version__
from arb.config import LOG_LEVELS, Settings, load_settings, parse_symbol_list, parse_venue_list
from arb.errors import ArbError, ConfigError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def _settings_options(func: F) -> F:
    """The options every command that reads settings takes."""
    decorators = [
        click.option(
            "--settings",
            "settings_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Settings file to read instead of ./settings.toml "
            "(.secrets.toml is read from the same folder).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LOG_LEVELS, case_sensitive=False),
            help="Log level on stderr (overrides the log.level setting).",
        ),
        click.option(
            "--exchanges",
            metavar="VENUES",
            help="Comma-separated venues to use, e.g. mexc,gateio (overrides `exchanges`).",
        ),
        click.option(
            "--symbols",
            metavar="SYMBOLS",
            help="Comma-separated unified symbols, e.g. BTC/USDT,ETH/USDT, or `all` "
            "(overrides `symbols`).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _load(
    settings_file: Path | None, log_level: str | None, exchanges: str | None, symbols: str | None
) -> Settings:
    """Load settings, apply the CLI overrides and set up logging."""
    from arb.log import setup_logging  # noqa: PLC0415 - keep `arb --help` fast

    settings = load_settings(settings_file)
    settings = settings.with_overrides(
        exchanges=parse_venue_list(exchanges, "--exchanges") if exchanges else None,
        symbols=parse_symbol_list(symbols, "--symbols") if symbols else None,
    )
    secrets = [
        s.reveal()
        for v in settings.venues.values()
        for s in (v.api_key, v.api_secret)
        if s is not None
    ]
    setup_logging(log_level or settings.log.level, settings.log.file, secrets)
    if settings.warnings:
        from loguru import logger  # noqa: PLC0415

        for warning in settings.warnings:
            logger.warning(warning)
    return settings


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop where it is available, else on asyncio's default loop."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:  # pragma: no cover - uvloop is not built for Windows
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="arb")
def cli() -> None:
    """Cross-exchange spot arbitrage on MEXC and Gate.io.

    `arb scan` watches live order books and reports opportunities net of fees at real depth
    (no API keys needed). `arb run` also trades them. Settings come from ./settings.toml,
    .secrets.toml and ARB_* environment variables (see the README).
    """


@cli.command()
@_settings_options
def symbols(
    settings_file: Path | None, log_level: str | None, exchanges: str | None, symbols: str | None
) -> None:
    """Show the symbol-resolution table: each unified symbol's id, precision, limits and fee
    on every chosen venue."""
    settings = _load(settings_file, log_level, exchanges, symbols)
    raise ArbError(
        f"`arb symbols` is not available yet in {__version__} "
        f"(venues: {', '.join(settings.exchanges)})"
    )


@cli.command()
@_settings_options
def scan(
    settings_file: Path | None, log_level: str | None, exchanges: str | None, symbols: str | None
) -> None:
    """Watch live order books on every venue and report executable opportunities (dry mode)."""
    settings = _load(settings_file, log_level, exchanges, symbols)
    raise ArbError(
        f"`arb scan` is not available yet in {__version__} "
        f"(venues: {', '.join(settings.exchanges)})"
    )


@cli.command()
@_settings_options
def run(
    settings_file: Path | None, log_level: str | None, exchanges: str | None, symbols: str | None
) -> None:
    """Detect opportunities and trade them on the chosen venues."""
    settings = _load(settings_file, log_level, exchanges, symbols)
    raise ArbError(
        f"`arb run` is not available yet in {__version__} (venues: {', '.join(settings.exchanges)})"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every expected failure into one line and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="arb", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"arb: error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except (click.Abort, KeyboardInterrupt):
        click.echo("arb: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except ConfigError as exc:
        click.echo(f"arb: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except ArbError as exc:
        click.echo(f"arb: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else 0)
