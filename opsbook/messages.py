"""Messages as data: a catalogue key and its parameters, put into words only where they are
shown (the command line, a document, a web page), in the language of that output."""

from __future__ import annotations

from dataclasses import dataclass

from workbook.errors import OpsbookError
from workbook.i18n import catalog
from workbook.period import Period
from workbook.spec import Text


@dataclass(frozen=True)
class Message:
    """key: the full catalogue key (`errors.format.text`); params: the values it names, which
    may themselves be Messages, spec Texts or Periods (put into words in the same language)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, **params: object) -> Message:
        return cls(key, tuple(params.items()))

    @classmethod
    def of_error(cls, exc: OpsbookError) -> Message:
        """The one line an OpsbookError says (`errors.<key>`)."""
        return cls(f"errors.{exc.key}", tuple(exc.params.items()))

    def text(self, lang: str) -> str:
        """The message in words, in lang."""
        return catalog(lang)(self.key, **{k: words(v, lang) for k, v in self.params})

    def replacing(self, old: object, new: object) -> Message:
        """The same message with every parameter equal to old (or its text) naming new."""
        params = tuple((k, new if (v == old or v == str(old)) else v) for k, v in self.params)
        return Message(self.key, params)


def words(value: object, lang: str) -> object:
    """A message parameter as its message shows it in lang."""
    if isinstance(value, Message):
        return value.text(lang)
    if isinstance(value, Text):
        return value(lang)
    if isinstance(value, Period):
        return value.label(lang)
    return value


class MessageError(OpsbookError):
    """A mixin for an OpsbookError whose parameters may be Messages, said in the same language
    as the error itself (`class Refused(MessageError, UnreadableFile)`)."""

    def message(self, lang: str) -> str:
        return Message(f"errors.{self.key}", tuple(self.params.items())).text(lang)
