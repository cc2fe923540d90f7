"""Settings: dynaconf files + ARB_ environment variables -> one frozen, validated `Settings`.

This is the only module that imports dynaconf. Sources, later ones winning:
`settings.toml` (or `--settings FILE`), `.secrets.toml` beside it, then `ARB_*` environment
variables with `__` nesting (`ARB_TRADING__MAX_NOTIONAL=250`). `ARB_ENV` picks the named
environment (`development` by default, `production`, `testing`); `[default]` applies to all.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from arb.domain.symbols import ALL_PAIRS, Symbol
from arb.errors import ConfigError

ENVIRONMENTS = ("development", "production", "testing")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
DEFAULT_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "LTC/USDT")
_DYNACONF_INTERNAL = {"LOAD_DOTENV", "ENV", "ENVIRONMENTS", "ENV_SWITCHER"}


class Secret:
    """A credential that never shows itself in a repr, str, log line or error."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The raw value, for the one place that signs requests."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class VenueSettings:
    """Per-venue settings: endpoint overrides, fee override and credentials."""

    id: str
    rest_url: str | None = None
    ws_url: str | None = None
    taker_fee: Decimal | None = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    api_password: Secret | None = None  # the API passphrase some venues sign with (OKX)

    @property
    def has_keys(self) -> bool:
        """True when both the API key and secret are set."""
        return self.api_key is not None and self.api_secret is not None


POLICIES = ("unwind", "hedge")


@dataclass(frozen=True, slots=True)
class TradingSettings:
    """Money limits for detection and execution (quote currency) and how legs are settled."""

    max_notional: Decimal = Decimal("100")
    min_profit: Decimal = Decimal("0.5")
    min_profit_pct: Decimal = Decimal("0")
    max_worst_case_loss: Decimal = Decimal("0")  # both legs at their limit prices
    # `arb run`: an opportunity older than this when its fresh balances are in is not traded
    max_opportunity_age_ms: int = 500
    policy: str = "unwind"  # one leg filled more: unwind the excess, or hedge the rest
    max_slippage_pct: Decimal = Decimal("0.5")  # unwind / hedge limit vs the reference price
    order_timeout_s: float = 10.0  # an order call without an answer has an unknown outcome
    settle_attempts: int = 5  # fresh order queries before an order counts as unknown
    settle_delay_ms: int = 200
    policy_attempts: int = 3  # unwind / hedge orders before trading halts


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """Circuit-breaker limits and the kill switch."""

    max_exposure: Decimal = Decimal("200")  # unhedged quote value per asset
    max_daily_loss: Decimal = Decimal("20")  # realised, per UTC day, quote currency
    max_consecutive_failures: int = 3  # failed or one-legged trades in a row
    max_venue_errors: int = 5  # venue errors or slow calls in a row
    max_latency_ms: int = 3000  # a venue call slower than this counts as an error
    kill_switch_path: Path | None = Path("var/KILL")  # no new trades while this file exists
    kill_poll_ms: int = 250


@dataclass(frozen=True, slots=True)
class PaperSettings:
    """Starting wallets of `arb run --paper`, per venue and currency; replay's fill latency."""

    balances: Mapping[str, Mapping[str, Decimal]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    latency_ms: int = 50  # `arb replay --paper`: decision -> fill, in recorded time


@dataclass(frozen=True, slots=True)
class MarketDataSettings:
    """How fresh and how deep a book must be to be used; how a missing venue is retried."""

    max_age_ms: int = 5000
    depth: int = 20
    # A venue unreachable at start-up is retried in the background, waits doubling up to this.
    venue_retry_max_s: int = 60
    # On a venue that pushes a book's changes on a fixed cadence, a book that took no
    # update for this long is resubscribed (resynced) and not used meanwhile.
    max_silence_ms: int = 30_000
    # Worker processes `arb scan` / `arb run` split the symbols across; 0 means one per core.
    workers: int = 0


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    """Where the SQLite ledger lives."""

    path: Path = Path("var/ledger.sqlite")


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Log level for stderr and an optional JSON-lines log file."""

    level: str = "INFO"
    file: Path | None = None


def known_venues() -> tuple[str, ...]:
    """The venues arb trades on: one module each in arb.venues (the default selection)."""
    # Imported here: the venue registry's modules read this module's settings types.
    from arb.venues.profiles import trade_profiles  # noqa: PLC0415

    return tuple(trade_profiles())


@dataclass(frozen=True, slots=True)
class StatusSettings:
    """The HTTP status server (health, metrics, status page): off unless `listen` is set."""

    listen: tuple[str, int] | None = None  # (host, port)
    token: Secret | None = None  # bearer token the data endpoints require, when set


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Where alerts go (a webhook, Telegram) and when a venue counts as down."""

    webhook_url: Secret | None = None  # a webhook URL often embeds its own token
    telegram_token: Secret | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    venue_down_s: int = 60  # a venue not connected for this long raises an alert
    daily_pnl: bool = True  # at midnight UTC, the day's realised P&L
    retries: int = 5  # delivery attempts per alert and target
    queue_size: int = 100  # alerts waiting to be sent; more are dropped (counted)

    @property
    def telegram(self) -> bool:
        """True when both the bot token and the chat id are set."""
        return self.telegram_token is not None and self.telegram_chat_id is not None


def needs_password(venue_id: str) -> bool:
    """True when the venue signs private requests with an API passphrase too (OKX)."""
    from arb.venues.profiles import profile_for  # noqa: PLC0415 - see known_venues

    return profile_for(venue_id).needs_password


def _default_venues() -> Mapping[str, VenueSettings]:
    return MappingProxyType({v: VenueSettings(id=v) for v in known_venues()})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting arb reads, validated and frozen."""

    env: str = "development"
    exchanges: tuple[str, ...] = field(default_factory=known_venues)
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    quote_currencies: tuple[str, ...] = ("USDT",)
    venues: Mapping[str, VenueSettings] = field(default_factory=_default_venues)
    trading: TradingSettings = TradingSettings()
    risk: RiskSettings = RiskSettings()
    paper: PaperSettings = PaperSettings()
    market_data: MarketDataSettings = MarketDataSettings()
    ledger: LedgerSettings = LedgerSettings()
    log: LogSettings = LogSettings()
    status: StatusSettings = StatusSettings()
    alerts: AlertSettings = AlertSettings()
    settings_file: Path | None = None
    warnings: tuple[str, ...] = ()

    def venue(self, venue_id: str) -> VenueSettings:
        """The settings of one venue (by id or alias); defaults for one without a table."""
        venue = normalize_venue(venue_id, "exchanges")
        return self.venues.get(venue) or VenueSettings(id=venue)

    def with_overrides(
        self, *, exchanges: tuple[str, ...] | None = None, symbols: tuple[str, ...] | None = None
    ) -> Settings:
        """A copy with the CLI's --exchanges / --symbols applied."""
        out = self
        if exchanges is not None:
            out = replace(out, exchanges=exchanges)
        if symbols is not None:
            out = replace(out, symbols=symbols)
        return out


def secret_values(settings: Settings) -> list[str]:
    """Every credential's raw value, for the log sinks to mask."""
    a = settings.alerts
    found = [s for v in settings.venues.values() for s in (v.api_key, v.api_secret)]
    found += [settings.status.token, a.webhook_url, a.telegram_token]
    return [s.reveal() for s in found if s is not None]


def normalize_venue(name: str, key: str) -> str:
    """Map a venue name or alias to its settings id; ConfigError naming `key` if unknown.

    Known: a venue with its own module in arb.venues (traded), or any other ccxt.pro
    exchange id (scanned with basic book integrity).
    """
    from arb.venues.profiles import profile_for  # noqa: PLC0415 - see known_venues

    try:
        return profile_for(name).venue_id
    except ConfigError as exc:
        raise ConfigError(key, exc.problem) from None


def parse_venue_list(value: object, key: str) -> tuple[str, ...]:
    """Parse a venue list from a list or a comma-separated string: at least two, no repeats."""
    items = _string_list(value, key)
    venues = tuple(normalize_venue(v, key) for v in items)
    if len(set(venues)) != len(venues):
        raise ConfigError(key, f"a venue is listed twice: {', '.join(venues)}")
    if len(venues) < 2:
        raise ConfigError(key, "arbitrage needs at least two venues")
    return venues


def parse_symbol_list(value: object, key: str) -> tuple[str, ...]:
    """Parse unified symbols (`BTC/USDT`) from a list or comma string; `all` passes through."""
    items = _string_list(value, key)
    if [i.lower() for i in items] == list(ALL_PAIRS):
        return ALL_PAIRS
    out: list[str] = []
    for item in items:
        try:
            out.append(str(Symbol.parse(item)))
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None
    if len(set(out)) != len(out):
        raise ConfigError(key, "a symbol is listed twice")
    return tuple(out)


def load_settings(settings_file: Path | None = None) -> Settings:
    """Load, merge and validate settings; raise ConfigError naming the first bad key."""
    if settings_file is not None and not settings_file.is_file():
        raise ConfigError("--settings", f"no such file: {settings_file}")
    path = settings_file or _find_settings_file()
    if path is not None:
        _check_layout(path)
    env_name = os.environ.get("ARB_ENV", "development").strip().lower()
    if env_name not in ENVIRONMENTS:
        raise ConfigError("ARB_ENV", f"{env_name!r} is not one of {', '.join(ENVIRONMENTS)}")
    raw, selection = _read_raw(path, env_name)
    settings = _build(raw, selection, env_name)
    warnings = _secrets_warnings(path)
    return replace(settings, settings_file=path, warnings=warnings)


def _check_layout(path: Path) -> None:
    # dynaconf silently ignores top-level keys outside an environment table; say so instead.
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read: {exc}") from None
    for key in data:
        if key.lower() not in {"default", *ENVIRONMENTS}:
            raise ConfigError(
                key, f"must sit under [default] or [{'] / ['.join(ENVIRONMENTS)}] in {path}"
            )


def _find_settings_file() -> Path | None:
    candidate = Path.cwd() / "settings.toml"
    return candidate if candidate.is_file() else None


@contextmanager
def _hidden_env(name: str) -> Iterator[str | None]:
    # `exchanges` is both the venue list and the table of per-venue settings. Letting dynaconf
    # apply ARB_EXCHANGES='["mexc"]' would replace the whole table (keys from .secrets.toml
    # included), so the list form from the environment is read here and applied afterwards.
    value = os.environ.pop(name, None)
    try:
        yield value
    finally:
        if value is not None:
            os.environ[name] = value


def _read_raw(path: Path | None, env_name: str) -> tuple[dict[str, Any], object]:
    from dynaconf import Dynaconf  # noqa: PLC0415 - import cost is paid only when loading

    files = [] if path is None else [str(path), str(path.parent / ".secrets.toml")]
    try:
        with _hidden_env("ARB_EXCHANGES") as selection:
            dyn = Dynaconf(
                envvar_prefix="ARB",
                settings_files=files,
                environments=True,
                env_switcher="ARB_ENV",
                env=env_name,
                load_dotenv=False,
                merge_enabled=True,
            )
            raw = dyn.as_dict()
    except Exception as exc:  # noqa: BLE001 - dynaconf raises many types for a broken file
        raise ConfigError(str(path or "settings"), f"cannot be read: {exc}") from None
    return _lower_keys({k: v for k, v in raw.items() if k not in _DYNACONF_INTERNAL}), selection


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


_TOP_KEYS = {
    "exchanges",
    "symbols",
    "quote_currencies",
    "trading",
    "risk",
    "paper",
    "market_data",
    "ledger",
    "log",
    "status",
    "alerts",
}
_TABLE_KEYS = {
    "trading": {
        "max_notional",
        "min_profit",
        "min_profit_pct",
        "max_worst_case_loss",
        "max_opportunity_age_ms",
        "policy",
        "max_slippage_pct",
        "order_timeout_s",
        "settle_attempts",
        "settle_delay_ms",
        "policy_attempts",
    },
    "risk": {
        "max_exposure",
        "max_daily_loss",
        "max_consecutive_failures",
        "max_venue_errors",
        "max_latency_ms",
        "kill_switch_path",
        "kill_poll_ms",
    },
    "paper": {"balances", "latency_ms"},
    "market_data": {"max_age_ms", "depth", "venue_retry_max_s", "max_silence_ms", "workers"},
    "ledger": {"path"},
    "log": {"level", "file"},
    "status": {"listen", "token"},
    "alerts": {
        "webhook_url",
        "telegram_token",
        "telegram_chat_id",
        "telegram_api_url",
        "venue_down_s",
        "daily_pnl",
        "retries",
        "queue_size",
    },
}
_VENUE_KEYS = {
    "enabled",
    "rest_url",
    "ws_url",
    "taker_fee",
    "api_key",
    "api_secret",
    "api_password",
}


def _build(raw: dict[str, Any], selection: object, env_name: str) -> Settings:
    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(key, "unknown setting")
    for table, allowed in _TABLE_KEYS.items():
        section = raw.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(table, "must be a table")
        for key in section:
            if key not in allowed:
                raise ConfigError(f"{table}.{key}", "unknown setting")
    exchanges, venues = _venues(raw.get("exchanges"), selection)
    defaults = Settings()
    trading = raw.get("trading", {})
    market = raw.get("market_data", {})
    log = raw.get("log", {})
    return Settings(
        env=env_name,
        exchanges=exchanges,
        symbols=parse_symbol_list(raw.get("symbols", list(defaults.symbols)), "symbols"),
        quote_currencies=tuple(
            q.upper()
            for q in _string_list(
                raw.get("quote_currencies", list(defaults.quote_currencies)), "quote_currencies"
            )
        ),
        venues=MappingProxyType(venues),
        trading=_trading(trading, defaults.trading),
        risk=_risk(raw.get("risk", {}), defaults.risk),
        paper=PaperSettings(
            balances=_paper_balances(raw.get("paper", {}).get("balances", {})),
            latency_ms=_int(
                raw.get("paper", {}), "paper.latency_ms", defaults.paper.latency_ms, 0, 60_000
            ),
        ),
        market_data=MarketDataSettings(
            max_age_ms=_int(market, "market_data.max_age_ms", defaults.market_data.max_age_ms, 1),
            depth=_int(market, "market_data.depth", defaults.market_data.depth, 1, 400),
            venue_retry_max_s=_int(
                market,
                "market_data.venue_retry_max_s",
                defaults.market_data.venue_retry_max_s,
                1,
                3600,
            ),
            max_silence_ms=_int(
                market, "market_data.max_silence_ms", defaults.market_data.max_silence_ms, 1
            ),
            workers=_workers(market),
        ),
        ledger=LedgerSettings(
            path=_path(raw.get("ledger", {}), "ledger.path", Path("var/ledger.sqlite"))
        ),
        log=LogSettings(level=_log_level(log), file=_optional_path(log, "log.file")),
        status=_status(raw.get("status", {})),
        alerts=_alerts(raw.get("alerts", {}), defaults.alerts),
    )


def _status(section: dict[str, Any]) -> StatusSettings:
    return StatusSettings(
        listen=_listen(section.get("listen")),
        token=_secret(section.get("token"), "status.token"),
    )


def _listen(value: object) -> tuple[str, int] | None:
    if value in (None, ""):
        return None
    host, _, port = str(value).strip().rpartition(":")
    host = host.strip("[]")  # [::1]:8787
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError("status.listen", f"must be host:port, e.g. 127.0.0.1:8787, got {value!r}")
    return host, int(port)


def _alerts(section: dict[str, Any], d: AlertSettings) -> AlertSettings:
    chat = section.get("telegram_chat_id")
    daily = section.get("daily_pnl", d.daily_pnl)
    if not isinstance(daily, bool):
        raise ConfigError("alerts.daily_pnl", "must be true or false")
    webhook = _secret(section.get("webhook_url"), "alerts.webhook_url")
    if webhook is not None:
        _url(webhook.reveal(), "alerts.webhook_url", ("http", "https"), path=True)
    api = section.get("telegram_api_url") or d.telegram_api_url
    return AlertSettings(
        webhook_url=webhook,
        telegram_token=_secret(section.get("telegram_token"), "alerts.telegram_token"),
        telegram_chat_id=None if chat in (None, "") else str(chat),
        telegram_api_url=_url(api, "alerts.telegram_api_url", ("http", "https")) or api,
        venue_down_s=_int(section, "alerts.venue_down_s", d.venue_down_s, 1, 86_400),
        daily_pnl=daily,
        retries=_int(section, "alerts.retries", d.retries, 1, 20),
        queue_size=_int(section, "alerts.queue_size", d.queue_size, 1, 10_000),
    )


def _trading(section: dict[str, Any], d: TradingSettings) -> TradingSettings:
    policy = str(section.get("policy", d.policy)).lower()
    if policy not in POLICIES:
        raise ConfigError("trading.policy", f"must be one of {', '.join(POLICIES)}")
    timeout = _decimal(section, "trading.order_timeout_s", Decimal(str(d.order_timeout_s)), 0)
    return TradingSettings(
        max_notional=_decimal(section, "trading.max_notional", d.max_notional, 0),
        min_profit=_decimal(section, "trading.min_profit", d.min_profit, None),
        min_profit_pct=_decimal(section, "trading.min_profit_pct", d.min_profit_pct, None),
        max_worst_case_loss=_decimal(
            section, "trading.max_worst_case_loss", d.max_worst_case_loss, None
        ),
        max_opportunity_age_ms=_int(
            section, "trading.max_opportunity_age_ms", d.max_opportunity_age_ms, 1, 60_000
        ),
        policy=policy,
        max_slippage_pct=_bounded(section, "trading.max_slippage_pct", d.max_slippage_pct, 10),
        order_timeout_s=float(timeout),
        settle_attempts=_int(section, "trading.settle_attempts", d.settle_attempts, 1, 100),
        settle_delay_ms=_int(section, "trading.settle_delay_ms", d.settle_delay_ms, 0, 60_000),
        policy_attempts=_int(section, "trading.policy_attempts", d.policy_attempts, 1, 100),
    )


def _risk(section: object, d: RiskSettings) -> RiskSettings:
    if not isinstance(section, dict):
        raise ConfigError("risk", "must be a table")
    kill = section.get("kill_switch_path", str(d.kill_switch_path or ""))
    return RiskSettings(
        max_exposure=_decimal(section, "risk.max_exposure", d.max_exposure, 0),
        max_daily_loss=_decimal(section, "risk.max_daily_loss", d.max_daily_loss, 0),
        max_consecutive_failures=_int(
            section, "risk.max_consecutive_failures", d.max_consecutive_failures, 1
        ),
        max_venue_errors=_int(section, "risk.max_venue_errors", d.max_venue_errors, 1),
        max_latency_ms=_int(section, "risk.max_latency_ms", d.max_latency_ms, 1),
        kill_switch_path=_optional_path({"kill_switch_path": kill}, "risk.kill_switch_path"),
        kill_poll_ms=_int(section, "risk.kill_poll_ms", d.kill_poll_ms, 10, 60_000),
    )


def _bounded(section: dict[str, Any], key: str, default: Decimal, high: int) -> Decimal:
    number = _decimal(section, key, default, None)
    if number >= high:
        raise ConfigError(key, f"must be below {high}, got {number}")
    return number


def _paper_balances(table: object) -> Mapping[str, Mapping[str, Decimal]]:
    if not isinstance(table, dict):
        raise ConfigError("paper.balances", "must be a table per venue")
    out: dict[str, Mapping[str, Decimal]] = {}
    for name, wallet in table.items():
        venue = normalize_venue(name, f"paper.balances.{name}")
        if not isinstance(wallet, dict):
            raise ConfigError(f"paper.balances.{name}", "must be a table of currency = amount")
        out[venue] = MappingProxyType(
            {
                str(code).upper(): _decimal(
                    wallet, f"paper.balances.{name}.{code}", Decimal(0), None
                )
                for code in wallet
            }
        )
    return MappingProxyType(out)


def _venues(table: object, selection: object) -> tuple[tuple[str, ...], dict[str, VenueSettings]]:
    known = known_venues()
    venues = {v: VenueSettings(id=v) for v in known}
    enabled: list[str] = list(known)
    if isinstance(table, list | str):
        selection = table if selection is None else selection
    elif isinstance(table, dict):
        enabled = []
        for name, section in table.items():
            venue = normalize_venue(name, f"exchanges.{name}")
            if not isinstance(section, dict):
                raise ConfigError(f"exchanges.{name}", "must be a table of venue settings")
            venues[venue] = _venue_settings(venue, name, section)
            if section.get("enabled", True) is not False:
                enabled.append(venue)
        enabled.extend(v for v in known if v not in enabled and v not in table)
    elif table is not None:
        raise ConfigError("exchanges", "must be a list of venue ids or a table per venue")
    if selection is not None:
        return parse_venue_list(_maybe_toml_list(selection), "exchanges"), venues
    return parse_venue_list(enabled, "exchanges"), venues


def _venue_settings(venue: str, name: str, section: dict[str, Any]) -> VenueSettings:
    prefix = f"exchanges.{name}"
    for key in section:
        if key not in _VENUE_KEYS:
            raise ConfigError(f"{prefix}.{key}", "unknown setting")
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{prefix}.enabled", "must be true or false")
    fee = section.get("taker_fee")
    taker_fee = None
    if fee not in (None, ""):
        taker_fee = _to_decimal(fee, f"{prefix}.taker_fee")
        if not Decimal(0) <= taker_fee < Decimal("0.1"):
            raise ConfigError(
                f"{prefix}.taker_fee", "must be a fraction from 0 to 0.1 (0.001 = 0.1 %)"
            )
    return VenueSettings(
        id=venue,
        rest_url=_url(section.get("rest_url"), f"{prefix}.rest_url", ("http", "https")),
        ws_url=_url(section.get("ws_url"), f"{prefix}.ws_url", ("ws", "wss")),
        taker_fee=taker_fee,
        api_key=_secret(section.get("api_key"), f"{prefix}.api_key"),
        api_secret=_secret(section.get("api_secret"), f"{prefix}.api_secret"),
        api_password=_secret(section.get("api_password"), f"{prefix}.api_password"),
    )


def _url(value: object, key: str, schemes: tuple[str, ...], *, path: bool = False) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(key, "must be a URL string")
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(key, f"must be {' or '.join(s + '://host[:port]' for s in schemes)}")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(key, "has a bad port") from None
    if path:  # a whole URL (a webhook): kept as given
        return value.strip()
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(key, "only scheme, host and port are replaced: give no path or query")
    return f"{parts.scheme}://{parts.netloc}"


def _secret(value: object, key: str) -> Secret | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str | int):
        raise ConfigError(key, "must be a string")
    return Secret(str(value))


def _maybe_toml_list(value: object) -> object:
    if isinstance(value, str) and value.strip().startswith("["):
        inner = value.strip()[1:-1]
        return [p.strip().strip("'\"") for p in inner.split(",") if p.strip()]
    return value


def _string_list(value: object, key: str) -> list[str]:
    value = _maybe_toml_list(value)
    if isinstance(value, str):
        items = [p.strip() for p in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(p).strip() for p in value]
    else:
        raise ConfigError(key, "must be a list or a comma-separated string")
    if not items or any(not i for i in items):
        raise ConfigError(key, "must not be empty or hold empty entries")
    return items


def _to_decimal(value: object, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ConfigError(key, f"must be a number, got {value!r}")
    try:
        # str() first: a float from TOML or an env var reads back as the digits the user typed.
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(key, f"must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    return number


def _decimal(
    section: dict[str, Any], key: str, default: Decimal, strictly_above: int | None
) -> Decimal:
    name = key.rsplit(".", 1)[1]
    if name not in section:
        return default
    number = _to_decimal(section[name], key)
    if strictly_above is not None and number <= strictly_above:
        raise ConfigError(key, f"must be greater than {strictly_above}, got {number}")
    if strictly_above is None and number < 0:
        raise ConfigError(key, f"must not be negative, got {number}")
    return number


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int | None = None) -> int:
    name = key.rsplit(".", 1)[1]
    value = section.get(name, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(key, f"must be {bound}, got {value}")
    return value


def _workers(section: dict[str, Any]) -> int:
    return parse_workers(section.get("workers", "auto"), "market_data.workers")


def parse_workers(value: object, key: str) -> int:
    """Worker processes: "auto" (0: one per core) or a count from 1 to 64; else ConfigError."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f'must be "auto" or a whole number, got {value!r}')
    if not 1 <= value <= 64:
        raise ConfigError(key, f"must be from 1 to 64, got {value}")
    return value


def _path(section: object, key: str, default: Path) -> Path:
    if not isinstance(section, dict):
        raise ConfigError(key.split(".", maxsplit=1)[0], "must be a table")
    found = _optional_path(section, key)
    return default if found is None else found


def _optional_path(section: dict[str, Any], key: str) -> Path | None:
    value = section.get(key.rsplit(".", 1)[1])
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(key, "must be a file path string")
    return Path(value).expanduser()


def _log_level(section: dict[str, Any]) -> str:
    level = str(section.get("level", "INFO")).upper()
    if level not in LOG_LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _secrets_warnings(path: Path | None) -> tuple[str, ...]:
    if path is None:
        return ()
    secrets = path.parent / ".secrets.toml"
    try:
        mode = secrets.stat().st_mode
    except FileNotFoundError:
        return ()
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (f"{secrets} is readable by other users; run: chmod 600 {secrets}",)
    return ()
