"""What the reader of a roll-up should know, as data: notes with parameters that are put into
words where they are shown (a terminal names files by path, a document by file name)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from opsbook.messages import words
from workbook.i18n import catalog
from workbook.period import local_date
from workbook.spec import Text

# Names listed in one note before "and N more".
LISTED = 5


@dataclass(frozen=True)
class When:
    """A saving time for messages, in the local time of the machine running opsbook, written as
    the message's language writes dates (2026年8月31日 09:30 / 31 August 2026 09:30)."""

    timestamp: float | None


@dataclass(frozen=True)
class Note:
    """One warning about the roll-up, localized on demand (`<group>.<key>`)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()
    group: str = "rollup.note"

    def message(self, lang: str, *, document: bool = False) -> str:
        """The line; document=True names files without their folders (for team.docx)."""
        t = catalog(lang)
        params = {k: param_words(v, lang, document) for k, v in self.params}
        # The document's reader gets words for them: no command to run, no sheet cells.
        if document and f"teamdoc.{self.key}" in t.entries:
            return t(f"teamdoc.{self.key}", **params)
        return t(f"{self.group}.{self.key}", **params)


@dataclass(frozen=True)
class FileRef:
    """An input as messages name it: its path on a terminal, its file name in a document."""

    label: str

    def short(self) -> str:
        return " › ".join(Path(part).name for part in self.label.split(" › "))


def short_label(label: str) -> str:
    return FileRef(label).short()


@dataclass(frozen=True)
class Counted:
    """A value and how many workbooks gave it."""

    value: str
    n: int


@dataclass(frozen=True)
class Names:
    """A list for a message: the first LISTED items, then "and N more"."""

    items: tuple[str | Text | Counted | FileRef, ...]


def param_words(value: object, lang: str, document: bool = False) -> object:
    """A note's parameter in words (document=True: files named without their folders)."""
    t = catalog(lang)
    if isinstance(value, FileRef):
        return value.short() if document else value.label
    if isinstance(value, When):
        if value.timestamp is None:
            return "?"
        moment = dt.datetime.fromtimestamp(value.timestamp)
        return f"{local_date(moment.date(), lang)} {moment:%H:%M}"
    if isinstance(value, Counted):
        return t("rollup.value_count", value=value.value, n=value.n)
    if isinstance(value, Names):
        items = [str(param_words(i, lang, document)) for i in value.items]
        shown = t("rollup.list_sep").join(items[:LISTED])
        if len(value.items) > LISTED:
            shown = t("rollup.and_more", items=shown, n=len(value.items) - LISTED)
        return shown
    return words(value, lang)
