"""The report's figures for one locale: values looked up by spec id, checked as usable (no
blank, error value or null word reaches the document), cleaned and formatted."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from generator.numfmt import NumberFormatter, formatter
from generator.typeset import typeset
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import FieldValue, Report
from workbook.spec import (
    Field,
    Kpi,
    Spec,
    figure_kind,
)
from workbook.values import ERROR_VALUES, clean_text

# Table cells add the spec's unit to counts and plain numbers where units are a character or
# two (185万人次, 6.5小时); English units are words ("1,850,000 visits") that would wrap a
# narrow column, so there the metric's label says what is counted.
TABLE_UNITS = {"zh-CN": True, "en": False}

# KPI table columns (metric, previous, current, change[, target]) as fractions of the text
# width. Labels may wrap; figures must not: Chinese figures are long ("1,543.8万元",
# "+2.0个百分点") and labels short, English the other way round.
KPI_WIDTHS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "zh-CN": ((0.22, 0.195, 0.195, 0.195, 0.195), (0.31, 0.23, 0.23, 0.23)),
    "en": ((0.30, 0.175, 0.175, 0.175, 0.175), (0.37, 0.21, 0.21, 0.21)),
}

# KPI kinds whose change is stated in percentage points; every other kind changes relatively.
RATE_KINDS = frozenset({"percent"})

# An error value (workbook.values: Excel's, LibreOffice's Err:NNN) anywhere in a text: never a
# figure, never printed.
_ERROR_RE = re.compile(
    "|".join(re.escape(e) for e in sorted(ERROR_VALUES, key=len, reverse=True)) + r"|ERR:\d{3}",
    re.IGNORECASE,
)
_VERTICAL_TAB = re.compile("\x0b|_x000[Bb]_")
# Text that is really "nothing", as some program wrote it.
_NULL_WORDS = frozenset({
    "none", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "null", "nil",
    "undefined", "[x]",
})  # fmt: skip


def document_text(text: str) -> str:
    """User text made safe for the document: XML-legal (workbook.values.clean_text), no tabs,
    no template braces, tidy lines."""
    # A vertical tab that reaches the document, typed or escaped, is dropped: the reader has
    # made Word's manual line breaks "\n" already (workbook.values.clean_text).
    text = clean_text(_VERTICAL_TAB.sub("", text))[0].replace("\t", " ")
    # Braces only ever mean an unfilled placeholder to a reader of the summary.
    text = text.replace("{", "(").replace("}", ")").replace("[X]", "").replace("[x]", "")
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def usable_text(value: FieldValue) -> str | None:
    """A text value fit to print, or None when it is blank, an error value or a null word."""
    if not isinstance(value, str):
        return None
    text = document_text(value)
    if not text or text.lower() in _NULL_WORDS or _ERROR_RE.search(text):
        return None
    return text


def usable_number(value: FieldValue) -> float | None:
    """A finite number, or None (blank, text, a boolean, NaN or an infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def role_value(spec: Spec, values: Mapping[str, Any], role: str) -> Any:
    """The value of the field playing a role (spec.ROLES: "store", "period", "author", ...);
    None when the spec names no field for it or the field is blank."""
    id_ = spec.role(role)
    return None if id_ is None else values.get(id_)


class Figures:
    """The report's values, looked up by spec id and formatted for one locale."""

    def __init__(self, spec: Spec, report: Report, lang: str) -> None:
        self.spec = spec
        self.report = report
        self.lang = normalize_lang(lang)
        self.fmt: NumberFormatter = formatter(self.lang)
        self.t: Catalog = catalog(self.lang)

    def kind(self, id_: str) -> str:
        """A field's type or a KPI's format."""
        return figure_kind(self.spec, id_)

    def label(self, id_: str) -> str:
        return typeset(self.spec.item(id_).label(self.lang), self.lang)

    def unit(self, id_: str) -> str:
        item = self.spec.item(id_)
        unit = item.unit if isinstance(item, Field | Kpi) else None
        return self.spec.unit_text(unit, self.lang)

    def number(self, id_: str) -> float | None:
        if self.kind(id_) in ("text", "date", "table"):
            return None
        return usable_number(self.report.value(id_))

    def polarity(self, id_: str) -> str:
        item = self.spec.item(id_)
        return item.polarity if isinstance(item, Field | Kpi) else "neutral"

    def text(self, id_: str, *, table: bool = False, with_unit: bool = True) -> str | None:
        """The id's value in its own format, or None when it is missing.

        Narrative figures carry no unit (the sentence says 人, 条/周 ...); table cells add the
        spec's unit to counts and plain numbers where the locale's units are short.
        """
        kind = self.kind(id_)
        value = self.report.value(id_)
        if kind == "text":
            text = usable_text(value)
            return None if text is None else typeset(text, self.lang)
        if kind == "date":
            if isinstance(value, dt.datetime):
                value = value.date()
            if not isinstance(value, dt.date):
                return None
            return self.fmt.short_date(value) if table else self.fmt.date(value)
        number = self.number(id_)
        if number is None:
            return None
        shown = self.fmt.value(number, kind, table=table)
        if table and with_unit and kind in ("count", "number") and TABLE_UNITS[self.lang]:
            shown = self.fmt.with_unit(shown, self.unit(id_))
        return shown + self.covers(id_)

    def covers(self, id_: str) -> str:
        """ " (n of m people)" after a team figure that covers fewer than everyone, else ""."""
        covers = self.report.coverage.get(id_)
        if covers is None:
            return ""
        return self.t("teamkpi.covers", n=covers[0], m=covers[1])

    def marker(self, id_: str) -> str:
        """The visible mark for a missing figure: 【待补充：复购率（上期）】."""
        return self.t("numfmt.missing_mark", label=self.label(id_))
