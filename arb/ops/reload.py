"""Settings reload while running: SIGHUP or a change of the settings file re-reads them.

Only settings that are safe to change live apply (at the next opportunity): the trade size
and profit floors, the risk limits, the log level and the alerts. A change to anything else
is refused, with a log line naming it, and the running value stays. A file that does not
load keeps the running settings and the log says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from loguru import logger

from arb.config import Secret, Settings, load_settings
from arb.errors import ConfigError

LIVE = (
    "trading.max_notional",
    "trading.min_profit",
    "trading.min_profit_pct",
    "risk.max_exposure",
    "risk.max_daily_loss",
    "risk.max_consecutive_failures",
    "risk.max_venue_errors",
    "risk.max_latency_ms",
    "log.level",
)
LIVE_SECTIONS = ("alerts",)
RESTART_ONLY = ("alerts.queue_size",)  # the queue exists already
_NOT_SETTINGS = {"env", "settings_file", "warnings"}
POLL_S = 2.0


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """Every leaf setting by its dotted key (`trading.min_profit`, `exchanges.mexc.ws_url`)."""
    out: dict[str, object] = {}
    if is_dataclass(value) and not isinstance(value, type):
        items: Mapping[str, object] = {
            f.name: getattr(value, f.name) for f in fields(value) if f.name not in _NOT_SETTINGS
        }
    elif isinstance(value, Mapping):
        items = value
    else:
        return {prefix: value}
    for name, item in items.items():
        key = "exchanges" if prefix == "" and name == "venues" else name
        out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return out


def is_live(key: str) -> bool:
    """True for a setting that may change while running."""
    if key in RESTART_ONLY:
        return False
    return key in LIVE or key.split(".", 1)[0] in LIVE_SECTIONS


@dataclass(frozen=True, slots=True)
class Change:
    """One setting whose value differs between the running settings and the file."""

    key: str
    old: object
    new: object

    def describe(self) -> str:
        """`key: old -> new`, secrets masked."""
        return f"{self.key}: {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a reload does: the settings that run next, what applied, what was refused."""

    settings: Settings
    applied: tuple[Change, ...]
    refused: tuple[Change, ...]


def plan(running: Settings, loaded: Settings) -> Plan:
    """Compare `loaded` with `running`; take the live changes, refuse the rest."""
    old, new = flatten(running), flatten(loaded)
    changes = [
        Change(k, old.get(k), new.get(k)) for k in sorted({*old, *new}) if old.get(k) != new.get(k)
    ]
    applied = tuple(c for c in changes if is_live(c.key))
    refused = tuple(c for c in changes if not is_live(c.key))
    result = running
    if applied:
        result = replace(
            running,
            trading=replace(
                running.trading,
                max_notional=loaded.trading.max_notional,
                min_profit=loaded.trading.min_profit,
                min_profit_pct=loaded.trading.min_profit_pct,
            ),
            risk=replace(
                running.risk,
                max_exposure=loaded.risk.max_exposure,
                max_daily_loss=loaded.risk.max_daily_loss,
                max_consecutive_failures=loaded.risk.max_consecutive_failures,
                max_venue_errors=loaded.risk.max_venue_errors,
                max_latency_ms=loaded.risk.max_latency_ms,
            ),
            log=replace(running.log, level=loaded.log.level),
            alerts=replace(loaded.alerts, queue_size=running.alerts.queue_size),
        )
    return Plan(result, applied, refused)


def _show(value: object) -> str:
    if isinstance(value, Secret):
        return "***"
    return "unset" if value is None else str(value)


class Reloader:
    """Re-reads the settings file on SIGHUP or when it (or .secrets.toml) changes."""

    def __init__(
        self,
        path: Path | None,
        running: Settings,
        apply: Callable[[Settings, Settings], None],
        load: Callable[[Path | None], Settings] = load_settings,
    ) -> None:
        self.path = path
        self.running = running  # as loaded from the files: no CLI overrides, no sandbox
        self._apply = apply
        self._load = load
        self._stamps: tuple[float | None, ...] = ()

    async def reload(self, why: str) -> Plan | None:
        """Load the file, apply what may change live, log the rest; None if it did not load."""
        try:
            loaded = await asyncio.to_thread(self._load, self.path)
        except ConfigError as exc:
            logger.error("settings reload ({}) refused, running settings kept: {}", why, exc)
            return None
        result = plan(self.running, loaded)
        for change in result.refused:
            logger.error(
                "settings reload ({}): {} cannot change while running; restart to apply it "
                "(kept {})",
                why,
                change.key,
                _show(change.old),
            )
        for change in result.applied:
            logger.warning("settings reload ({}): {}", why, change.describe())
        if result.applied:
            before, self.running = self.running, result.settings
            self._apply(before, result.settings)
        elif not result.refused:
            logger.info("settings reload ({}): nothing changed", why)
        return result

    async def watch(self, poll_s: float = POLL_S) -> None:
        """Reload on SIGHUP and whenever the settings files' modification times change."""
        loop = asyncio.get_running_loop()
        hup = asyncio.Event()
        with contextlib.suppress(NotImplementedError, AttributeError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, hup.set)
        try:
            self._stamps = await asyncio.to_thread(self._mtimes)
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hup.wait(), poll_s)
                if hup.is_set():
                    hup.clear()
                    self._stamps = await asyncio.to_thread(self._mtimes)
                    await self.reload("SIGHUP")
                    continue
                stamps = await asyncio.to_thread(self._mtimes)
                if stamps != self._stamps:
                    self._stamps = stamps
                    await self.reload("file changed")
        finally:
            with contextlib.suppress(NotImplementedError, AttributeError, RuntimeError):
                loop.remove_signal_handler(signal.SIGHUP)

    def _mtimes(self) -> tuple[float | None, ...]:
        if self.path is None:
            return ()
        return tuple(_mtime(p) for p in (self.path, self.path.parent / ".secrets.toml"))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return None


def live_keys() -> tuple[str, ...]:
    """The settings a reload applies (for the README and the log)."""
    return (*LIVE, *(f"{s}.*" for s in LIVE_SECTIONS))


__all__ = ["Change", "Plan", "Reloader", "flatten", "is_live", "live_keys", "plan"]
