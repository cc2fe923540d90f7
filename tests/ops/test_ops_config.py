"""status.* and alerts.* settings: defaults, validation naming the key, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.config import Secret, load_settings, secret_values
from arb.errors import ConfigError


def test_the_status_server_is_off_and_alerts_unset_by_default() -> None:
    settings = load_settings(None)
    assert settings.status.listen is None
    assert settings.alerts.webhook_url is None
    assert settings.alerts.telegram is False


def test_status_and_alert_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARB_STATUS__LISTEN", "127.0.0.1:8787")
    monkeypatch.setenv("ARB_STATUS__TOKEN", "tok")
    monkeypatch.setenv("ARB_ALERTS__WEBHOOK_URL", "https://hooks.example/T0/B0/xyz?a=1")
    monkeypatch.setenv("ARB_ALERTS__TELEGRAM_TOKEN", "1:abc")
    monkeypatch.setenv("ARB_ALERTS__TELEGRAM_CHAT_ID", "-100")
    monkeypatch.setenv("ARB_ALERTS__VENUE_DOWN_S", "90")
    settings = load_settings(None)
    assert settings.status.listen == ("127.0.0.1", 8787)
    assert settings.status.token == Secret("tok")
    assert settings.alerts.telegram is True
    assert settings.alerts.venue_down_s == 90
    assert repr(settings.alerts.webhook_url) == "Secret('***')"
    assert set(secret_values(settings)) == {"tok", "https://hooks.example/T0/B0/xyz?a=1", "1:abc"}


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("ARB_STATUS__LISTEN", "8787", "status.listen"),
        ("ARB_STATUS__LISTEN", "127.0.0.1:99999", "status.listen"),
        ("ARB_ALERTS__WEBHOOK_URL", "ftp://x/y", "alerts.webhook_url"),
        ("ARB_ALERTS__TELEGRAM_API_URL", "api.telegram.org", "alerts.telegram_api_url"),
        ("ARB_ALERTS__VENUE_DOWN_S", "0", "alerts.venue_down_s"),
        ("ARB_ALERTS__DAILY_PNL", "sometimes", "alerts.daily_pnl"),
        ("ARB_ALERTS__SOUND", "loud", "alerts.sound"),
    ],
)
def test_a_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, key: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert error.value.key == key
    if key == "alerts.webhook_url":  # it may hold a token: never echoed
        assert value not in str(error.value)


def test_the_shipped_settings_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Path(__file__).resolve().parents[2] / "settings.toml"
    settings = load_settings(shipped)
    assert settings.status.listen is None
    assert settings.alerts.venue_down_s == 60
