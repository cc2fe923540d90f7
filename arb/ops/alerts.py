"""Alerts to a webhook (JSON POST) and Telegram, sent off the hot path and never blocking it.

`Alerter.send` only puts the alert on a bounded queue (a full queue drops it, counted and
logged); a background task delivers each to every configured target, retrying connection
errors, 429 and 5xx with tenacity. Tokens and webhook URLs are never logged: failures name
the target and the HTTP status only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
from loguru import logger
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from arb.config import AlertSettings

TIMEOUT_S = 10.0


class AlertKind:
    """What an alert is about (the webhook's `kind`)."""

    BREAKER = "breaker_tripped"
    ONE_LEGGED = "one_legged"
    UNWIND_FAILED = "unwind_failed"
    VENUE_DOWN = "venue_down"
    VENUE_UP = "venue_up"
    DAILY_PNL = "daily_pnl"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: its kind, a line for a human, and fields for a machine."""

    kind: str
    text: str
    at_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    fields: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, object]:
        """The webhook's JSON body."""
        at = datetime.fromtimestamp(self.at_ms / 1000, UTC).isoformat(timespec="milliseconds")
        return {"source": "arb", "kind": self.kind, "text": self.text, "at": at, **self.fields}


class Retryable(Exception):
    """A delivery that may succeed later (connection error, 429, 5xx)."""


class Refused(Exception):
    """A delivery the target refused for good (4xx): a bad token, chat id or URL."""


class Alerter:
    """A bounded queue of alerts and the task that delivers them."""

    def __init__(self, settings: AlertSettings, *, wait_s: float = 1.0) -> None:
        self.settings = settings
        self._wait_s = wait_s  # first retry wait; doubles up to 30 s
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=settings.queue_size)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def configured(self) -> bool:
        """True when at least one target is set."""
        return self.settings.webhook_url is not None or self.settings.telegram

    def send(self, alert: Alert) -> bool:
        """Queue `alert` for delivery; never blocks. False when no target or the queue is full."""
        logger.warning("ALERT {}: {}", alert.kind, alert.text)
        if not self.configured:
            return False
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning(
                "alert queue full: {} alert dropped ({} so far)", alert.kind, self.dropped
            )
            return False
        return True

    async def run(self) -> None:
        """Deliver queued alerts until cancelled."""
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                alert = await self._queue.get()
                try:
                    await self._deliver(session, alert)
                except Exception:  # noqa: BLE001 - the one catch-all of this long-running loop
                    self.failed += 1
                    logger.exception("alert delivery crashed")
                finally:
                    self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued alert was delivered or given up (tests, shutdown)."""
        await self._queue.join()

    async def _deliver(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        s = self.settings
        targets: list[tuple[str, str, dict[str, object]]] = []
        if s.webhook_url is not None:
            targets.append(("webhook", s.webhook_url.reveal(), alert.payload()))
        if s.telegram and s.telegram_token is not None:
            url = f"{s.telegram_api_url}/bot{s.telegram_token.reveal()}/sendMessage"
            targets.append(("telegram", url, {"chat_id": s.telegram_chat_id, "text": alert.text}))
        for name, url, body in targets:
            try:
                await self._post(session, url, body)
            except (Retryable, Refused) as exc:
                self.failed += 1
                logger.error("{} alert {} not delivered: {}", name, alert.kind, exc)
            else:
                self.sent += 1

    async def _post(self, session: aiohttp.ClientSession, url: str, body: object) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries),
            wait=wait_exponential(multiplier=self._wait_s, max=30),
            retry=retry_if_exception_type(Retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await _post_once(session, url, body)


async def _post_once(session: aiohttp.ClientSession, url: str, body: object) -> None:
    """One POST; errors carry the status or exception type, never the URL (it holds tokens)."""
    try:
        async with session.post(url, json=body) as answer:
            status = answer.status
            await answer.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retryable(type(exc).__name__) from None
    if status == 429 or status >= 500:
        raise Retryable(f"HTTP {status}")
    if status >= 400:
        raise Refused(f"HTTP {status}")
