"""`opsbook serve`: the team server (opsbook.serve), started from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from opsbook.cli import base
from opsbook.cli.base import F
from workbook.errors import UsageProblem
from workbook.i18n import catalog, normalize_lang


def _limit(
    name: str, kind: click.IntRange | click.FloatRange, default: float, help: str
) -> Callable[[F], F]:
    """A limit of the server, with its default shown."""
    return click.option(name, type=kind, default=default, show_default=True, help=help)


@base.main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("opsbook-data"),
    show_default=True,
    help="Folder of the embedded store (SQLite).",
)
@click.option("--db", metavar="postgresql://...", help="A PostgreSQL store instead of --data.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Conversion processes (default: the number of CPUs).",
)
@_limit(
    "--queue",
    click.IntRange(min=0),
    32,
    "Conversions that may wait; beyond it the server answers 503 (busy).",
)
@_limit("--timeout", click.FloatRange(min=1), 60.0, "Seconds one conversion may take.")
@_limit(
    "--max-upload-mb",
    click.FloatRange(min=0.1),
    25.0,
    "Largest request body; larger uploads are refused while they stream.",
)
@base.lang_option("Language of these messages.")
@base.handle_errors
def serve_cmd(
    host: str,
    port: int,
    data: Path,
    db: str | None,
    workers: int | None,
    queue: int,
    timeout: float,
    max_upload_mb: float,
    lang: str | None,
) -> None:
    """Serve the team pages: a drop page for staff, the lead's view, an HTTP API (docs/api.md).

    Stores submissions in SQLite under --data (default ./opsbook-data), or in PostgreSQL with
    --db postgresql://user@host/db. The lead's token is printed once, at the first start
    (OPSBOOK_LEAD_TOKEN sets it instead).
    """
    from opsbook.serve import Started, serve

    t = catalog(normalize_lang(lang or base.env_lang()))
    shown = "localhost" if host in ("127.0.0.1", "::1") else host

    def announce(started: Started) -> None:
        click.echo(t("serve.cli.store", store=started.store))
        if started.new_token:
            click.echo(t("serve.cli.new_token", token=started.new_token))
        elif started.token_from_env:
            click.echo(t("serve.cli.env_token"))
        else:
            click.echo(t("serve.cli.old_token"))
        click.echo(t("serve.cli.listening", url=f"http://{shown}:{port}/"), nl=True)

    if db is not None and not db.startswith(("postgresql://", "postgres://")):
        raise UsageProblem("serve.bad_db", db=db)
    serve(host=host, port=port, data=data, db=db, workers=workers, queue=queue,
          timeout=timeout, max_upload_mb=max_upload_mb, announce=announce)  # fmt: skip
