"""The server's guards: the lead's token and session, cross-site request refusal, the body cap
while it streams, response headers, and safe download names. No opsbook imports."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "opsbook_lead"
SESSION_SECONDS = 12 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


# --- The lead's token and session ---------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What the store keeps of the lead's token (the token has 192 random bits: a plain hash
    suffices; a slow hash guards low-entropy passwords, which this is not)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def session_value(secret: str, now: float | None = None) -> str:
    """A signed, expiring session: expiry.signature (nothing to look up, valid on every server
    process sharing the store's secret)."""
    expires = int((now or time.time()) + SESSION_SECONDS)
    sig = hmac.new(secret.encode(), f"lead:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{sig}"


def session_valid(value: str | None, secret: str, now: float | None = None) -> bool:
    if not value or "." not in value:
        return False
    expires, _, sig = value.partition(".")
    if not expires.isdigit() or int(expires) < (now or time.time()):
        return False
    good = hmac.new(secret.encode(), f"lead:{expires}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, good)


# --- Cross-site requests ------------------------------------------------------------------------


def cross_site(method: str, headers: dict[str, str], host: str) -> bool:
    """True for a state-changing request a browser sent from another site (after Go's
    CrossOriginProtection): Sec-Fetch-Site when the browser sends it, else Origin against Host.
    A request with neither header is not from a browser (curl, scripts) and is allowed."""
    if method.upper() not in UNSAFE_METHODS:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != host.lower()


# --- Downloads ----------------------------------------------------------------------------------


def content_disposition(name: str) -> str:
    """attachment with an ASCII fallback and the real name per RFC 5987 / RFC 6266."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- ASGI middleware ----------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The request body passed the server's cap while it streamed."""


class Guard:
    """Outermost layer: security headers on every response; a body larger than `max_body` is
    refused from its Content-Length before any of it is read, or stopped while it streams
    (the app sees BodyTooLarge from receive()), so nothing parses or stores more than the cap."""

    def __init__(self, app: ASGIApp, max_body: int, refuse: Callable[[Scope], ASGIApp]) -> None:
        self.app = app
        self.max_body = max_body
        self.refuse = refuse  # the 413 answer, in the request's language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self.refuse(scope)(scope, receive, send_with_headers)
            return
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        await self.app(scope, capped_receive, send_with_headers)
