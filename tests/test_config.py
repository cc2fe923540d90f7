"""Settings: every public name works from files and ARB_ variables; bad values name the key."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import Secret, load_settings
from arb.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_shipped_settings_file_matches_built_in_defaults(tmp_path: Path) -> None:
    shutil.copy(REPO / "settings.toml", tmp_path / "settings.toml")
    from_file = load_settings(tmp_path / "settings.toml")
    built_in = load_settings(None)
    assert (
        from_file.exchanges == built_in.exchanges == ("mexc", "gateio", "binance", "okx", "bybit")
    )
    assert from_file.symbols == built_in.symbols
    assert from_file.trading == built_in.trading
    assert from_file.trading.min_profit == Decimal("0.5")
    assert from_file.market_data == built_in.market_data
    assert from_file.market_data.max_age_ms == 5000
    assert from_file.market_data.max_silence_ms == 30_000
    assert from_file.market_data.workers == 0  # "auto": one per core
    assert from_file.ledger == built_in.ledger
    assert from_file.venues == built_in.venues


def test_every_public_name_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[default]
symbols = ["btc/usdt", "ETH/USDT"]
[default.trading]
max_notional = 250.5
min_profit = 0.75
min_profit_pct = 0.1
[default.market_data]
max_age_ms = 1500
depth = 10
[default.ledger]
path = "data/ledger.sqlite"
[default.exchanges.mexc]
rest_url = "http://127.0.0.1:9100"
ws_url = "ws://127.0.0.1:9100/"
taker_fee = 0.0005
[default.exchanges.gate]
enabled = true
""",
    )
    s = load_settings(path)
    assert s.symbols == ("BTC/USDT", "ETH/USDT")
    assert s.trading.max_notional == Decimal("250.5")
    assert s.trading.min_profit == Decimal("0.75")
    assert s.trading.min_profit_pct == Decimal("0.1")
    assert s.market_data.max_age_ms == 1500
    assert s.market_data.depth == 10
    assert s.ledger.path == Path("data/ledger.sqlite")
    mexc = s.venue("mexc")
    assert mexc.rest_url == "http://127.0.0.1:9100"
    assert mexc.ws_url == "ws://127.0.0.1:9100"
    assert mexc.taker_fee == Decimal("0.0005")
    assert s.exchanges == ("mexc", "gateio", "binance", "okx", "bybit")
    assert s.venue("gate") is s.venues["gateio"]


def test_environment_variables_nest_and_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[default.trading]\nmax_notional = 100\n")
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "250")
    monkeypatch.setenv("ARB_TRADING__MIN_PROFIT", "0.7")
    monkeypatch.setenv("ARB_MARKET_DATA__DEPTH", "5")
    monkeypatch.setenv("ARB_EXCHANGES__GATEIO__WS_URL", "ws://127.0.0.1:9000")
    monkeypatch.setenv("ARB_EXCHANGES__MEXC__API_KEY", "mx0vglKEY")
    monkeypatch.setenv("ARB_EXCHANGES__MEXC__API_SECRET", "s3cr3t-value")
    monkeypatch.setenv("ARB_SYMBOLS", '["SOL/USDT"]')
    s = load_settings(path)
    assert s.trading.max_notional == Decimal("250")
    assert s.trading.min_profit == Decimal("0.7")
    assert s.market_data.depth == 5
    assert s.venue("gateio").ws_url == "ws://127.0.0.1:9000"
    assert s.venue("mexc").has_keys
    assert s.venue("mexc").api_secret == Secret("s3cr3t-value")
    assert s.symbols == ("SOL/USDT",)


def test_exchange_list_from_env_keeps_per_venue_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[default.exchanges.mexc]\nws_url = 'ws://127.0.0.1:1'\n")
    (tmp_path / ".secrets.toml").write_text(
        "[default.exchanges.gateio]\napi_key='k'\napi_secret='s'\n"
    )
    (tmp_path / ".secrets.toml").chmod(0o600)
    monkeypatch.setenv("ARB_EXCHANGES", "gate,mexc")
    s = load_settings(path)
    assert s.exchanges == ("gateio", "mexc")
    assert s.venue("gateio").has_keys
    assert s.venue("mexc").ws_url == "ws://127.0.0.1:1"
    assert s.warnings == ()


def test_disabled_venue_leaves_the_selection(tmp_path: Path) -> None:
    path = write(tmp_path, "[default]\nexchanges = ['mexc', 'gateio']\n")
    assert load_settings(path).exchanges == ("mexc", "gateio")
    path = write(
        tmp_path,
        "[default.exchanges.mexc]\nenabled = false\n[default.exchanges.gateio]\nenabled = true\n"
        "[default.exchanges.binance]\nenabled = false\n"
        "[default.exchanges.bybit]\nenabled = false\n"
        "[default.exchanges.okx]\nenabled = false\n",
    )
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "exchanges"


def test_named_environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        "[default.trading]\nmin_profit = 1\n[production.trading]\nmin_profit = 2\n"
        "[testing.trading]\nmin_profit = 3\n",
    )
    assert load_settings(path).trading.min_profit == Decimal("1")
    monkeypatch.setenv("ARB_ENV", "production")
    assert load_settings(path).trading.min_profit == Decimal("2")
    monkeypatch.setenv("ARB_ENV", "testing")
    assert load_settings(path).trading.min_profit == Decimal("3")
    monkeypatch.setenv("ARB_ENV", "staging")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "ARB_ENV"


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[default.trading]\nmax_notional = 0\n", "trading.max_notional", "greater than 0"),
        ("[default.trading]\nmax_notional = 'lots'\n", "trading.max_notional", "number"),
        ("[default.trading]\nmin_profit = -1\n", "trading.min_profit", "negative"),
        ("[default.trading]\nmax_notionl = 5\n", "trading.max_notionl", "unknown setting"),
        ("[default.market_data]\nmax_age_ms = 0\n", "market_data.max_age_ms", "at least 1"),
        (
            "[default.market_data]\nmax_silence_ms = 0\n",
            "market_data.max_silence_ms",
            "at least 1",
        ),
        ("[default.market_data]\nmax_age_ms = 1.5\n", "market_data.max_age_ms", "whole number"),
        ("[default.market_data]\ndepth = 1000\n", "market_data.depth", "from 1 to 400"),
        ("[default.market_data]\nworkers = 0\n", "market_data.workers", "from 1 to 64"),
        ("[default.market_data]\nworkers = 'most'\n", "market_data.workers", '"auto"'),
        ("[default]\nsymbols = ['BTCUSDT']\n", "symbols", "BASE/QUOTE"),
        ("[default]\nsymbols = []\n", "symbols", "empty"),
        ("[default]\nsymbols = ['BTC/USDT', 'btc/usdt']\n", "symbols", "twice"),
        (
            "[default]\nexchanges = ['mexc', 'nowhere']\n",
            "exchanges",
            "unknown venue 'nowhere'",
        ),
        ("[default]\nexchanges = ['mexc']\n", "exchanges", "at least two"),
        ("[default]\nexchanges = ['mexc', 'gate', 'gateio']\n", "exchanges", "twice"),
        ("[default.exchanges.nowhere]\n", "exchanges.nowhere", "unknown venue"),
        ("[default.exchanges.mexc]\nrest_url = 'ftp://x'\n", "exchanges.mexc.rest_url", "http"),
        ("[default.exchanges.mexc]\nws_url = 'http://x:1'\n", "exchanges.mexc.ws_url", "ws://"),
        (
            "[default.exchanges.mexc]\nrest_url = 'http://x/api'\n",
            "exchanges.mexc.rest_url",
            "path",
        ),
        (
            "[default.exchanges.mexc]\nrest_url = 'http://x:99999'\n",
            "exchanges.mexc.rest_url",
            "port",
        ),
        ("[default.exchanges.gateio]\ntaker_fee = 0.2\n", "exchanges.gateio.taker_fee", "0.1"),
        ("[default.exchanges.gateio]\ntaker_fee = true\n", "exchanges.gateio.taker_fee", "number"),
        ("[default.exchanges.gateio]\napi_keey = 'x'\n", "exchanges.gateio.api_keey", "unknown"),
        (
            "[default.exchanges.gateio]\nenabled = 'yes'\n",
            "exchanges.gateio.enabled",
            "true or false",
        ),
        ("[default.log]\nlevel = 'LOUD'\n", "log.level", "one of"),
        ("[default.trading]\npolicy = 'pray'\n", "trading.policy", "unwind, hedge"),
        ("[default.trading]\nmax_slippage_pct = 12\n", "trading.max_slippage_pct", "below 10"),
        ("[default.trading]\nsettle_attempts = 0\n", "trading.settle_attempts", "from 1"),
        ("[default.risk]\nmax_exposure = 0\n", "risk.max_exposure", "greater than 0"),
        ("[default.risk]\nmax_daily_loss = 'x'\n", "risk.max_daily_loss", "number"),
        ("[default.risk]\nmax_consecutive_failures = 0\n", "risk.max_consecutive_failures", "1"),
        ("[default.risk]\nkill_switch = 'x'\n", "risk.kill_switch", "unknown setting"),
        ("[default.paper.balances.nowhere]\nUSDT = 1\n", "paper.balances.nowhere", "unknown venue"),
        ("[default.paper.balances.mexc]\nUSDT = 'lots'\n", "paper.balances.mexc.usdt", "number"),
        ("[default.ledger]\npath = 5\n", "ledger.path", "path"),
        ("[default]\ncolour = 'red'\n", "colour", "unknown setting"),
        ("colour = 'red'\n", "colour", "under [default]"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, toml))
    assert err.value.key == key
    assert words in str(err.value)


def test_bad_env_value_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "-5")
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, ""))
    assert err.value.key == "trading.max_notional"


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(write(tmp_path, "[default\nx="))
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml")
    assert err.value.key == "--settings"


def test_secrets_are_masked_and_world_readable_file_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "")
    secrets = tmp_path / ".secrets.toml"
    secrets.write_text("[default.exchanges.mexc]\napi_key='AKEY-123'\napi_secret='SECRET-456'\n")
    secrets.chmod(0o644)
    s = load_settings(path)
    assert s.venue("mexc").api_key is not None
    assert s.venue("mexc").api_key.reveal() == "AKEY-123"
    text = repr(s) + str(s)
    assert "AKEY-123" not in text
    assert "SECRET-456" not in text
    assert any("chmod 600" in w for w in s.warnings)


def test_an_api_passphrase_is_a_masked_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[default.trading]\nmax_notional = 100\n")
    monkeypatch.setenv("ARB_EXCHANGES__OKX__API_PASSWORD", "my-Passphrase-1")
    okx = load_settings(path).venue("okx")
    assert okx.api_password is not None
    assert okx.api_password.reveal() == "my-Passphrase-1"
    assert "my-Passphrase-1" not in repr(okx)
