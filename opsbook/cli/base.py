"""The command group and what every command shares: the language of help, usage and errors,
one localized line per OpsbookError, and the options several commands take."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from opsbook.cli.words import command_lang, help_text, message
from workbook.errors import OpsbookError
from workbook.i18n import catalog, normalize_lang

F = TypeVar("F", bound=Callable[..., Any])

LANG_CHOICE = click.Choice(["zh-CN", "en"], case_sensitive=False)


def env_lang() -> str:
    return normalize_lang(os.environ.get("OPSBOOK_LANG") or "zh-CN")


def handle_errors(func: F) -> F:
    """Turn an OpsbookError into one localized line on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        lang = normalize_lang(kwargs.get("lang") or env_lang())
        try:
            return func(*args, **kwargs)
        except OpsbookError as exc:
            if ctx.find_root().params.get("debug"):
                import traceback  # only for --debug: saves a short command ~2 ms of imports

                traceback.print_exc()
            click.echo(catalog(lang)("cli.error_prefix") + exc.message(lang), err=True)
            ctx.exit(int(exc.exit_code))

    return wrapper  # type: ignore[return-value]


class LocalizedCommand(click.Command):
    """A command whose help and usage speak the command line's language (opsbook.cli.words)."""

    def get_help(self, ctx: click.Context) -> str:
        return help_text(super().get_help(ctx), _STATE["lang"])

    def get_usage(self, ctx: click.Context) -> str:
        return help_text(super().get_usage(ctx), _STATE["lang"])


class LocalizedGroup(click.Group):
    """The opsbook group: decides the language before click parses anything, gives every
    command its help in that language, and says click's own errors in it (exit 2 as click)."""

    command_class = LocalizedCommand

    def get_help(self, ctx: click.Context) -> str:
        return help_text(super().get_help(ctx), _STATE["lang"])

    def get_usage(self, ctx: click.Context) -> str:
        return help_text(super().get_usage(ctx), _STATE["lang"])

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        lang = _STATE["lang"] = command_lang(argv)
        _localize(self, lang)
        t = catalog(lang)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if not standalone_mode:
                raise
            if exc.ctx is not None:
                hint = ""
                if exc.ctx.command.get_help_option(exc.ctx) is not None:
                    option = exc.ctx.help_option_names[0]
                    hint = t("clihelp.try_help", command=exc.ctx.command_path, option=option)
                click.echo(f"{exc.ctx.get_usage()}\n{hint}\n", err=True)
            click.echo(t("cli.error_prefix") + message(exc.format_message(), lang), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            click.echo(t("cli.error_prefix") + message(exc.format_message(), lang), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            if not standalone_mode:
                raise
            click.echo(t("clihelp.aborted"), err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


_STATE = {"lang": "zh-CN"}


def _localize(group: click.Group, lang: str) -> None:
    """Every command's help, short help, option help and metavar from the catalogue."""
    t = catalog(lang)
    entries = t.entries
    commands: list[tuple[str, click.Command]] = [("opsbook", group), *group.commands.items()]
    for name, command in commands:
        prefix = f"clihelp.{name}"
        if f"{prefix}.doc" in entries:
            command.help = t(f"{prefix}.doc")
        if f"{prefix}.short" in entries:
            command.short_help = t(f"{prefix}.short")
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            key = f"{prefix}.{param.name}"
            if param.name == "version":
                param.help = t("clihelp.version")
            elif key in entries:
                param.help = t(key)
            if param.is_flag or isinstance(param.type, click.Choice):
                continue
            if isinstance(param.type, click.Path):
                folder = not param.type.file_okay
                param.metavar = t("clihelp.metavar_dir" if folder else "clihelp.metavar_file")
            elif isinstance(param.type, click.IntRange):
                param.metavar = t("clihelp.metavar_n")
            else:
                param.metavar = t("clihelp.metavar_text")


def lang_option(help: str, *, default: str | None = None) -> Callable[[F], F]:
    """--lang: the language of an output or of messages (help: what it sets)."""
    return click.option(
        "--lang", type=LANG_CHOICE, default=default, show_default=default is not None, help=help
    )


def force_option(help: str = "Overwrite OUT if it exists.") -> Callable[[F], F]:
    return click.option("--force", is_flag=True, help=help)


def no_charts_option(where: str) -> Callable[[F], F]:
    return click.option(
        "--no-charts", is_flag=True, help=f"Leave the native charts out of {where}."
    )


def paths_argument(metavar: str | None = None) -> Callable[[F], F]:
    """Input paths (files, folders, .eml files). No dir_okay=False or readable check:
    workbook/safety.py answers a folder or an unreadable file with one localized line (exit 3);
    click would print a usage error in English."""
    return click.argument("paths", metavar=metavar, nargs=-1, required=True,
                          type=click.Path(readable=False, path_type=Path))  # fmt: skip


def filled_argument() -> Callable[[F], F]:
    """One filled workbook (checked as paths_argument's are)."""
    return click.argument(
        "filled", metavar="FILLED.xlsx", type=click.Path(readable=False, path_type=Path)
    )


def out_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    return click.option(
        "-o", "--out", required=required, type=click.Path(dir_okay=False, path_type=Path), help=help
    )


def outdir_option(help: str) -> Callable[[F], F]:
    return click.option("--outdir", type=click.Path(file_okay=False, path_type=Path), help=help)


@click.group(cls=LocalizedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsbook", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
def main(debug: bool) -> None:
    """opsbook: 电商运营工作总结 Excel 填报表与 Word 总结 / e-commerce work summaries.

    \b
    opsbook new             write a workbook to fill in
    opsbook demo OUTDIR     write a blank workbook and a filled sample
    opsbook render FILLED   turn a filled workbook into the Word summary
    opsbook next FILLED     next period's workbook, pre-filled from this one
    opsbook trend PATHS     KPIs over several periods (-o TREND.xlsx)
    opsbook rollup PATHS    combine many workbooks into a team view (-o TEAM.xlsx)
    opsbook check FILLED    list what is missing or wrong, cell by cell
    opsbook export FILLED   every value by id, as JSON or CSV
    """
