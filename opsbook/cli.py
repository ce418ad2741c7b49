"""The command line: a thin click layer over opsbook.api. Nothing else imports click."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from workbook.errors import OpsbookError
from workbook.i18n import catalog, normalize_lang

F = TypeVar("F", bound=Callable[..., Any])

LANG_CHOICE = click.Choice(["zh-CN", "en"], case_sensitive=False)


def _env_lang() -> str:
    return normalize_lang(os.environ.get("OPSBOOK_LANG") or "zh-CN")


def handle_errors(func: F) -> F:
    """Turn an OpsbookError into one localized line on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        lang = normalize_lang(kwargs.get("lang") or _env_lang())
        try:
            return func(*args, **kwargs)
        except OpsbookError as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(catalog(lang)("cli.error_prefix") + exc.message(lang), err=True)
            ctx.exit(int(exc.exit_code))

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsbook")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def main(debug: bool) -> None:
    """opsbook: 电商运营工作总结 Excel 填报表与 Word 总结 / e-commerce work summaries.

    \b
    opsbook new             write a workbook to fill in
    opsbook demo OUTDIR     write a blank workbook and a filled sample
    """


@main.command("new")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=LANG_CHOICE, default="zh-CN", show_default=True,
              help="Language of the workbook.")
@click.option("--store", help="Store or brand name, filled in for you.")
@click.option("--period", help="Period, e.g. 2026年Q3, filled in for you.")
@click.option("--author", help="Your name, filled in for you.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@handle_errors
def new_cmd(out: Path | None, lang: str, store: str | None, period: str | None,
            author: str | None, force: bool) -> None:
    """Write a new summary workbook to fill in (default name from store and period)."""
    from opsbook.api import new_workbook

    lang = normalize_lang(lang)
    path = new_workbook(out, lang=lang, store=store, period=period, author=author, force=force)
    click.echo(catalog(lang)("cli.wrote", path=path))


@main.command("demo")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lang", type=LANG_CHOICE, default="zh-CN", show_default=True)
@handle_errors
def demo_cmd(outdir: Path, lang: str) -> None:
    """Write a blank workbook and a filled sample (and its Word summary) into OUTDIR."""
    from opsbook.api import demo

    lang = normalize_lang(lang)
    for path in demo(outdir, lang=lang):
        click.echo(catalog(lang)("cli.wrote", path=path))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
