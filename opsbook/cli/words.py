"""click's own words (usage errors, help headings) in the user's language.

click writes its messages in English through gettext, with no catalogue for Chinese. The CLI
(opsbook/cli/, the only package importing click) passes the English text through `message`
and `help_text`, which know click's fixed message forms and say them from the locale catalogue
(`clihelp.*`); a form not known here is shown as click wrote it. No click import here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from workbook.i18n import catalog, normalize_lang

_Q = r"'(?P<{0}>[^']*)'"
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^Missing argument (?P<name>'.*')\.$", "missing_argument"),
        (r"^Missing option (?P<name>'.*')\.$", "missing_option"),
        (r"^No such option:? (?P<name>'?[^' ]+'?)\.? Did you mean (?P<hint>'[^']+')\?$",
         "did_you_mean"),
        (r"^No such option:? (?P<name>'?[^' ]+'?)\.? \(Did you mean one of: (?P<hints>.+)\?\)$",
         "did_you_mean_one_of"),
        (r"^No such option:? (?P<name>'?[^' ]+'?)\.?$", "no_such_option"),
        (r"^Option (?P<name>'[^']+') requires an argument\.$", "needs_value"),
        (r"^Option (?P<name>'[^']+') requires (?P<n>\d+) arguments\.$", "needs_values"),
        (r"^Option (?P<name>'[^']+') does not take a value\.$", "takes_no_value"),
        (r"^Got unexpected extra arguments? \((?P<args>.*)\)$", "extra_arguments"),
        (r"^No such command (?P<name>'[^']+')\.$", "no_such_command"),
        (r"^No such command (?P<name>'[^']+')\. Did you mean (?P<hint>'[^']+')\?$",
         "typo.command_did_you_mean"),
        (r"^No such command (?P<name>'[^']+')\. \(Did you mean one of: (?P<hints>.+)\?\)$",
         "typo.command_one_of"),
        (r"^Missing command\.$", "missing_command"),
        (r"^Invalid value for (?P<param>'[^']+'): (?P<value>.+) is not one of (?P<choices>.+)\.$",
         "not_a_choice"),
        (r"^Invalid value for (?P<param>'[^']+'): (?P<value>.+) is not in the range "
         r"(?P<range>.+)\.$", "out_of_range"),
        (r"^Invalid value for (?P<param>'[^']+'): (?P<value>.+) is not a valid integer"
         r"(?: range)?\.$", "not_a_number"),
        (r"^Invalid value for (?P<param>'[^']+'): (?P<detail>.+)$", "invalid_value"),
    )
)  # fmt: skip


def message(text: str, lang: str) -> str:
    """One of click's error messages, in lang (unknown forms stay as click wrote them)."""
    if normalize_lang(lang) == "en":
        return text
    t = catalog(lang)
    for pattern, key in _MESSAGES:
        match = pattern.match(text.strip())
        if match:
            return t(f"clihelp.{key}", **match.groupdict())
    return text


# Help text: the headings and bracketed notes click adds around the texts opsbook gives it.
_HEADINGS = {"Usage:": "usage", "Options:": "options", "Commands:": "commands",
             "Positional arguments:": "arguments", "Arguments:": "arguments"}  # fmt: skip
_DEFAULT = re.compile(r"\[default: (?P<value>[^\]]*)\]")
_REQUIRED = re.compile(r"\[required\]")


def help_text(text: str, lang: str) -> str:
    """click's help or usage text, with its own words (Usage:, Options:, [default: …]) in lang."""
    t = catalog(lang)
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        for heading, key in _HEADINGS.items():
            if stripped.startswith(heading):
                indent = line[: len(line) - len(stripped)]
                line = indent + t(f"clihelp.{key}") + stripped[len(heading) :]
                break
        line = line.replace("Show this message and exit.", t("clihelp.help"))
        line = _DEFAULT.sub(lambda m: "[" + t("clihelp.default", value=m["value"]) + "]", line)
        line = _REQUIRED.sub("[" + t("clihelp.required") + "]", line)
        lines.append(line)
    return "\n".join(lines)


def command_lang(args: Sequence[str]) -> str:
    """The language a command line speaks before click parses it: --lang, else OPSBOOK_LANG,
    else zh-CN (an unknown value counts as zh-CN, whose message then says it is unknown)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return normalize_lang(args[i + 1])
        if arg.startswith("--lang="):
            return normalize_lang(arg.split("=", 1)[1])
    return normalize_lang(os.environ.get("OPSBOOK_LANG") or "zh-CN")
