"""Errors a user can cause, each with a documented exit code and a localized one-line message."""

from __future__ import annotations

from enum import IntEnum

from workbook.i18n import catalog


class ExitCode(IntEnum):
    """The exit codes of every opsbook command (README, "Exit codes")."""

    OK = 0
    DATA = (
        1  # the workbook was read, but its data blocks the summary (check) or a batch item failed
    )
    USAGE = 2  # the command line is wrong (click's own code for usage errors)
    UNREADABLE = 3  # the input is missing, not a workbook, damaged, encrypted or another template
    UNSAFE = 4  # the input was refused as unsafe: too large, too many parts, hostile XML
    OUTPUT = 5  # the output cannot be written: exists, folder missing or read-only, disk full


class OpsbookError(Exception):
    """Base class: a message key in the locale catalogue plus the values it names."""

    exit_code = ExitCode.DATA

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, lang: str) -> str:
        return catalog(lang)(f"errors.{self.key}", **self.params)

    def __str__(self) -> str:
        return self.message("en")


class UnreadableFile(OpsbookError):
    exit_code = ExitCode.UNREADABLE


class UnsafeFile(OpsbookError):
    exit_code = ExitCode.UNSAFE


class OutputError(OpsbookError):
    exit_code = ExitCode.OUTPUT


class UsageProblem(OpsbookError):
    exit_code = ExitCode.USAGE
