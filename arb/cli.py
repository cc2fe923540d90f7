"""The `arb` command line: scan, run, symbols and sim, with one-line errors and exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from arb import __version__
from arb.config import (
    LOG_LEVELS,
    Settings,
    load_settings,
    parse_symbol_list,
    parse_venue_list,
    parse_workers,
    secret_values,
)
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
    setup_logging(log_level or settings.log.level, settings.log.file, secret_values(settings))
    if settings.warnings:
        from loguru import logger  # noqa: PLC0415

        for warning in settings.warnings:
            logger.warning(warning)
    return settings


_workers_option = click.option(
    "--workers",
    metavar="N",
    help="Worker processes to split the symbols across, each watching every venue's books "
    'for its share: a count, or "auto" for one per core (overrides market_data.workers).',
)

_scenario_option = click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Simulator scenario file for --sandbox (default: the built-in realistic one).",
)


def _duration_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--duration",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help=f"Stop after this many seconds{what} (default: run until Ctrl-C).",
    )


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop where it is available, else on asyncio's default loop."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:  # pragma: no cover - uvloop is not built for Windows
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def run_long(coro: Coroutine[Any, Any, T]) -> T:
    """run_async for the long-running commands, with the start-up heap out of the collector.

    Everything imported by now (ccxt's modules are most of the ~215k objects) lives as long
    as the process. Frozen, the collector stops walking it, so a full collection costs a few
    milliseconds instead of tens: cheap enough for the pipeline's sweep that frees what each
    reconnect leaves in reference cycles (`arb.scan.engine.SWEEP_S`).
    """
    gc.freeze()
    try:
        return run_async(coro)
    finally:
        gc.unfreeze()  # a caller in the same process (tests) gets its collector back


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="arb")
def cli() -> None:
    """Cross-exchange spot arbitrage on MEXC, Gate.io, Binance, OKX and Bybit.

    `arb scan` watches live order books and reports opportunities net of fees at real depth
    (no API keys needed). `arb run` also trades them. Settings come from ./settings.toml,
    .secrets.toml and ARB_* environment variables (see the README).
    """


@cli.command()
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--sandbox", is_flag=True, help="Read the markets of the built-in simulator instead.")
def symbols(
    settings_file: Path | None,
    log_level: str | None,
    exchanges: str | None,
    symbols: str | None,
    as_json: bool,
    sandbox: bool,
) -> int:
    """Show the symbol-resolution table for the chosen venues.

    One row per unified symbol: each venue's native id, price and amount precision, minimum
    amount, minimum notional, taker fee and whether it is active. Without --symbols it lists
    the configured `symbols`; `--symbols all` lists every pair in `quote_currencies` active
    on the chosen venues (what `arb scan --symbols all` watches).
    """
    settings = _load(settings_file, log_level, exchanges, symbols)
    from arb.venues.symbols_cmd import run_symbols  # noqa: PLC0415 - keep `arb --help` fast

    async def go() -> int:
        if sandbox:
            from arb.scan.command import sandbox as start_sandbox  # noqa: PLC0415

            async with start_sandbox(settings, None) as chosen:
                return await run_symbols(chosen, chosen.exchanges, chosen.symbols, as_json)
        return await run_symbols(settings, settings.exchanges, settings.symbols, as_json)

    return run_async(go())


@cli.command()
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--sandbox", is_flag=True, help="Read the built-in simulator's accounts instead.")
def balances(
    settings_file: Path | None,
    log_level: str | None,
    exchanges: str | None,
    symbols: str | None,
    as_json: bool,
    sandbox: bool,
) -> int:
    """Show fresh balances per venue, the combined holding per asset and its skew.

    Every chosen venue's balance is fetched now (API keys needed, or --sandbox). One row per
    asset: each venue's total, the combined holding, and the skew (the most held on one
    venue minus the least, also in percent): what a trader rebalances between venues.
    """
    settings = _load(settings_file, log_level, exchanges, symbols)
    from arb.execution.holdings import print_balances  # noqa: PLC0415 - keep --help fast
    from arb.run import check_keys  # noqa: PLC0415
    from arb.venues import Venue  # noqa: PLC0415

    async def go() -> int:
        async with contextlib.AsyncExitStack() as stack:
            chosen = settings
            if sandbox:
                from arb.scan.command import sandbox as start_sandbox  # noqa: PLC0415

                chosen = await stack.enter_async_context(start_sandbox(settings, None))
            else:
                check_keys(chosen)
            venues = [
                await stack.enter_async_context(Venue(chosen.venue(v))) for v in chosen.exchanges
            ]
            return await print_balances(venues, as_json)

    return run_async(go())


@cli.command()
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Scenario file (default: the built-in realistic one; format in docs/scenarios.md).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65534),
    default=0,
    show_default=True,
    help="MEXC listens on PORT and Gate.io on PORT+1; 0 picks free ports.",
)
@click.option(
    "--request-log",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every request the simulator receives as JSON lines to this file.",
)
def sim(scenario: Path | None, host: str, port: int, request_log: Path | None) -> int:
    """Run the exchange simulator standalone until Ctrl-C.

    It speaks MEXC's and Gate.io's real REST and WebSocket protocols on loopback, so any
    ccxt client (and `arb scan` / `arb run` with the printed rest_url / ws_url settings)
    can use it as if it were the venues.
    """
    from arb.sim import banner, load_scenario, serve  # noqa: PLC0415

    loaded = load_scenario(scenario)

    def ready(simulator: Any) -> None:
        for line in banner(simulator):
            click.echo(line)

    try:
        run_async(serve(loaded, host, port, log_path=request_log, ready=ready))
    except KeyboardInterrupt:
        click.echo("simulator stopped", err=True)
    return 0


@cli.command()
@_settings_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON lines (one per opportunity event)."
)
@_duration_option("")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Start the built-in exchange simulator and scan it instead of the live venues.",
)
@_scenario_option
@_workers_option
def scan(
    settings_file: Path | None,
    log_level: str | None,
    exchanges: str | None,
    symbols: str | None,
    as_json: bool,
    duration: float | None,
    sandbox: bool,
    scenario: Path | None,
    workers: str | None,
) -> int:
    """Watch live order books on every venue and report executable opportunities (dry mode).

    Needs no API keys. Opportunities are net of both venues' taker fees, sized by walking
    real book depth up to trading.max_notional, rounded to both venues' steps and minimums;
    stale, gapped or crossed books are never used. On a terminal it shows a live table;
    with --json it prints one JSON object per opportunity event. Every opportunity is also
    stored in the ledger. Stops on --duration or Ctrl-C and prints a summary. With several
    symbols and cores, worker processes share the symbols (--workers).
    """
    if scenario is not None and not sandbox:
        raise click.UsageError("--scenario needs --sandbox")
    worker_setting = parse_workers(workers, "--workers") if workers is not None else None
    settings = _load(settings_file, log_level, exchanges, symbols)
    from arb.scan.command import ScanOptions  # noqa: PLC0415 - keep `arb --help` fast
    from arb.scan.command import scan as scan_command  # noqa: PLC0415

    options = ScanOptions(
        as_json=as_json,
        duration=duration,
        sandbox=sandbox,
        scenario=str(scenario) if scenario else None,
        workers=worker_setting,
    )
    return run_long(scan_command(settings, options))


@cli.command()
@_settings_options
@click.option(
    "--paper",
    is_flag=True,
    help="Trade live books with a simulated wallet (paper.balances); never sends an order.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Send real orders to the built-in exchange simulator instead of the live venues.",
)
@_scenario_option
@_duration_option(", settling trades in flight")
@click.option(
    "--reset-breaker",
    is_flag=True,
    help="Reset a tripped circuit breaker (recorded in the ledger) before starting.",
)
@_workers_option
def run(
    settings_file: Path | None,
    log_level: str | None,
    exchanges: str | None,
    symbols: str | None,
    paper: bool,
    sandbox: bool,
    scenario: Path | None,
    duration: float | None,
    reset_breaker: bool,
    workers: str | None,
) -> int:
    """Detect opportunities and trade them: both legs at once, settled and recorded.

    Every trade fetches fresh balances from both venues after the opportunity was seen,
    sizes within them and the risk limits, writes its intent to the ledger, then places
    both legs concurrently as immediate-or-cancel limit orders and settles them from fresh
    order queries. One leg filling more than the other runs trading.policy (unwind or
    hedge). An order whose outcome is unknown is looked up, never resent. The circuit
    breaker stops new trades on the risk.* limits until --reset-breaker; the kill switch
    (the risk.kill_switch_path file, or SIGUSR1) stops them at once. SIGINT / SIGTERM stop
    new trades, settle what is in flight and exit. Live mode needs API keys on every venue.
    """
    if scenario is not None and not sandbox:
        raise click.UsageError("--scenario needs --sandbox")
    if paper and sandbox:
        raise click.UsageError("--paper and --sandbox cannot be combined")
    worker_setting = parse_workers(workers, "--workers") if workers is not None else None
    if paper and worker_setting is not None and worker_setting > 1:
        raise ConfigError("--workers", "--paper fills walk this process's own books: use one")
    settings = _load(settings_file, log_level, exchanges, symbols)
    from arb.run import RunOptions  # noqa: PLC0415 - keep `arb --help` fast
    from arb.run import run as run_command  # noqa: PLC0415

    options = RunOptions(
        paper=paper,
        sandbox=sandbox,
        scenario=str(scenario) if scenario else None,
        duration=duration,
        reset_breaker=reset_breaker,
        workers=worker_setting,
    )
    return run_long(run_command(settings, options))


@cli.command()
@_settings_options
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("var/recordings/latest"),
    show_default=True,
    help="Folder to write the recording to (header.json and rotated frames-*.jsonl.gz).",
)
@click.option(
    "--rotate-mb",
    type=click.FloatRange(min=0.001),
    default=64.0,
    show_default=True,
    help="Start a new frames file after this many MB (uncompressed); also every hour.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the live opportunities as JSON lines.")
@_duration_option("")
@click.option("--sandbox", is_flag=True, help="Record the built-in exchange simulator.")
@_scenario_option
def record(
    settings_file: Path | None,
    log_level: str | None,
    exchanges: str | None,
    symbols: str | None,
    out: Path,
    rotate_mb: float,
    as_json: bool,
    duration: float | None,
    sandbox: bool,
    scenario: Path | None,
) -> int:
    """Scan as `arb scan` does and record every raw book frame and REST snapshot to disk.

    Frames are stored as received (MEXC protobuf as bytes) with our receive times, in
    gzip JSON Lines rotated by size and time and flushed every second, plus the markets
    seen at start and the settings used. `arb replay` plays a recording back.
    """
    if scenario is not None and not sandbox:
        raise click.UsageError("--scenario needs --sandbox")
    settings = _load(settings_file, log_level, exchanges, symbols)
    from arb.record.recorder import RecordOptions  # noqa: PLC0415 - keep `arb --help` fast
    from arb.record.recorder import record as record_command  # noqa: PLC0415
    from arb.scan.command import ScanOptions  # noqa: PLC0415

    scan_options = ScanOptions(
        as_json=as_json,
        duration=duration,
        sandbox=sandbox,
        scenario=str(scenario) if scenario else None,
        live_table=False,
    )
    options = RecordOptions(out=out, scan=scan_options, rotate_mb=rotate_mb)
    return run_long(record_command(settings, options))


def _speed(value: str) -> float | None:
    text = value.strip().lower()
    if text == "max":
        return None
    try:
        speed = float(text.removesuffix("x"))
    except ValueError:
        speed = 0.0
    if speed <= 0:
        raise click.BadParameter(f"{value!r}: use max or a positive factor like 1x")
    return speed


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file to read instead of ./settings.toml (limits, depth, paper wallets).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Log level on stderr (overrides the log.level setting).",
)
@click.option(
    "--speed", default="max", show_default=True, help="max, or a pace like 1x (recorded time)."
)
@click.option("--json", "as_json", is_flag=True, help="Print opportunity events as JSON lines.")
@click.option(
    "--paper",
    is_flag=True,
    help="Trade the opportunities with paper wallets on the recorded books (paper.*).",
)
@click.option(
    "--ledger",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --paper: write the trades to this new ledger file (for arb report).",
)
@click.option(
    "--sweep",
    metavar="KEY=V1,V2,...",
    help="Replay once per value of one setting, e.g. trading.min_profit=0.2,0.5,1; a table.",
)
def replay(
    folder: Path,
    settings_file: Path | None,
    log_level: str | None,
    speed: str,
    as_json: bool,
    paper: bool,
    ledger: Path | None,
    sweep: str | None,
) -> int:
    """Play a recording through the real decode, integrity, freshness and detector code.

    Recorded receive times drive freshness and detected_at, so the same recording and
    settings give the same opportunities, byte for byte. --paper hands them to the real
    executor with paper wallets filling against the recorded books paper.latency_ms later.
    """
    from arb.record.command import (  # noqa: PLC0415 - keep `arb --help` fast
        parse_sweep,
        replay_command,
        sweep_command,
    )
    from arb.record.files import read_header  # noqa: PLC0415
    from arb.record.replay import ReplayOptions  # noqa: PLC0415

    pace = _speed(speed)
    if ledger is not None and not paper:
        raise click.UsageError("--ledger needs --paper")
    if ledger is not None and ledger.exists():
        raise ConfigError("--ledger", f"{ledger} exists; a replay writes a new ledger")
    try:
        header = read_header(folder)
    except ValueError as exc:
        raise ConfigError("FOLDER", str(exc)) from None
    # The recording's venues, not today's defaults: --paper needs wallets on those only.
    recorded = ",".join(header.get("exchanges") or ()) or None
    settings = _load(settings_file, log_level, recorded, None)
    options = ReplayOptions(folder=folder, speed=pace, paper=paper, ledger=ledger)
    if paper:
        from arb.run import check_paper  # noqa: PLC0415

        check_paper(settings)
    if sweep is not None:
        if as_json or ledger is not None:
            raise click.UsageError("--sweep prints a table: no --json or --ledger")
        plan = parse_sweep(sweep, settings)
        return run_async(
            sweep_command(lambda: _load(settings_file, log_level, None, None), options, plan)
        )
    return run_async(
        replay_command(settings, options, as_json=as_json, keep_ledger=ledger is not None)
    )


@cli.command()
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file to read instead of ./settings.toml (for ledger.path).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def report(settings_file: Path | None, as_json: bool) -> int:
    """P&L, fees, trades, one-legged events and breaker trips per symbol and venue."""
    from arb.report import report as print_report  # noqa: PLC0415

    settings = load_settings(settings_file)
    return print_report(settings.ledger.path, as_json)


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
