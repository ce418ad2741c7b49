"""`opsbook serve`: the team server (a drop page for staff, the lead's pages, an HTTP API) on
uvicorn, with an embedded SQLite store or PostgreSQL. Imported only by the serve command."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opsbook.serve.security import new_token, token_hash

if TYPE_CHECKING:
    from opsbook.serve.store import Store

TOKEN_KEY = "lead_token_sha256"
SECRET_KEY = "session_secret"
TOKEN_ENV = "OPSBOOK_LEAD_TOKEN"


@dataclass(frozen=True)
class Started:
    """What serve() tells its caller before it starts serving."""

    store: str
    new_token: str | None  # the lead's token, created now: shown once, never again
    token_from_env: bool


def lead_token(store: Store) -> tuple[str, str | None, bool]:
    """The hash of the lead's token as stored, the token itself when made now (shown once),
    and whether it came from OPSBOOK_LEAD_TOKEN (which replaces the stored one)."""
    env_token = os.environ.get(TOKEN_ENV, "").strip()
    if env_token:
        return store.set_setting(TOKEN_KEY, token_hash(env_token), replace=True), None, True
    candidate = new_token()
    stored = store.set_setting(TOKEN_KEY, token_hash(candidate), replace=False)
    return stored, (candidate if stored == token_hash(candidate) else None), False


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    data: Path = Path("opsbook-data"),
    db: str | None = None,
    workers: int | None = None,
    queue: int = 32,
    timeout: float = 60.0,
    max_upload_mb: float = 25.0,
    announce: Callable[[Started], None] = lambda started: None,
) -> None:
    """Open (or create) the store, make sure the lead has a token, and serve until stopped."""
    import secrets

    import uvicorn

    from opsbook.serve.app import Server, Settings, guarded
    from opsbook.serve.store import open_store

    try:
        store = open_store(data, db)
    except Exception as exc:  # sqlite3 / psycopg errors: a folder or a server out of reach
        from workbook.errors import OutputError

        where = str(data) if db is None else db.split("@")[-1]
        reason = " ".join(str(exc).split())[:200]
        raise OutputError("serve.store", where=where, reason=reason) from exc
    stored, created, from_env = lead_token(store)
    secret = store.set_setting(SECRET_KEY, secrets.token_hex(32), replace=False)
    settings = Settings(
        workers=workers or os.cpu_count() or 1,
        queue=queue,
        timeout=timeout,
        max_upload_mb=max_upload_mb,
    )
    server = Server(store, settings, secret, stored)
    announce(Started(store.description, created, from_env))
    uvicorn.run(
        guarded(server),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
