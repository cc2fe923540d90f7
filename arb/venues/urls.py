"""Point every REST and WebSocket endpoint of a ccxt exchange at other hosts, paths kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

_REST_SCHEMES = ("http", "https")
_WS_SCHEMES = ("ws", "wss")


def rebase_url(url: str, base: str) -> str:
    """Replace scheme://host:port of `url` with `base`'s, keeping its path (base path prepended)."""
    old = urlsplit(url)
    new = urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, new.path.rstrip("/") + old.path, old.query, ""))


def override_urls(api: Any, rest_url: str | None, ws_url: str | None) -> Any:
    """A copy of ccxt's `urls['api']` tree with every http(s) entry moved to `rest_url` and
    every ws(s) entry to `ws_url`; entries of a kind without an override stay as they are."""
    if isinstance(api, dict):
        return {key: override_urls(value, rest_url, ws_url) for key, value in api.items()}
    if isinstance(api, list):
        return [override_urls(value, rest_url, ws_url) for value in api]
    if isinstance(api, str):
        scheme = urlsplit(api).scheme.lower()
        if rest_url and scheme in _REST_SCHEMES:
            return rebase_url(api, rest_url)
        if ws_url and scheme in _WS_SCHEMES:
            return rebase_url(api, ws_url)
    return api
