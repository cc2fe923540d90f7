"""Request signatures exactly as MEXC, Gate.io and OKX verify them."""

from __future__ import annotations

import base64
import hashlib
import hmac


def mexc_signature(total_params: str, secret: str) -> str:
    """MEXC spot v3: hex HMAC-SHA256 of the query string followed by the body."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def gate_signature(
    method: str, path: str, query: str, body: str, *, timestamp: str, secret: str
) -> str:
    """Gate APIv4: hex HMAC-SHA512 of METHOD, path, unencoded query, sha512(body), timestamp."""
    body_hash = hashlib.sha512(body.encode()).hexdigest()
    payload = "\n".join((method.upper(), path, query, body_hash, timestamp))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def split_mexc_query(raw_query: str) -> tuple[str, str]:
    """Split a raw MEXC query into (signed part, signature); signature is '' when absent."""
    signed, sep, signature = raw_query.rpartition("&signature=")
    if not sep:
        if raw_query.startswith("signature="):
            return "", raw_query.removeprefix("signature=")
        return raw_query, ""
    return signed, signature


def same(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def okx_signature(prehash: str, secret: str) -> str:
    """OKX API v5: base64 HMAC-SHA256 of timestamp + METHOD + requestPath (+ query) + body."""
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
