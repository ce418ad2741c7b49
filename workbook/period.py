"""Reporting periods: the ways people write them, one canonical form, and period arithmetic.

People type a period as free text ("2026年Q3", "2026年第三季度", "7-9月", "Q3 2026", "2026年度").
`parse_period` recognises the common forms and returns a `Period`: a span of whole months inside
one calendar year. `Period.key` is canonical and sortable ("2026-Q3", "2026-08", "2026-H1",
"2026", "2026-07..08"), `Period.days` the number of days, `Period.next()` the period that follows
(of the same length), and `Period.label(lang)` the locale's way of writing it. Text that names no
period, or two different ones, gives None: callers then ask for an explicit period.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from workbook.i18n import catalog

Kind = Literal["year", "half", "quarter", "month", "months"]

_CN_DIGITS = MappingProxyType({"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                               "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11,
                               "十二": 12})  # fmt: skip
_MONTH_NAMES = MappingProxyType(
    {
        **{
            name: index
            for index in range(1, 13)
            for name in (calendar.month_name[index].lower(), calendar.month_abbr[index].lower())
        },
        "sept": 9,
    }
)
_MONTH_WORD = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
_YEAR = r"(?P<year>(?:19|20|21)\d\d)"
_SEP = r"\s*(?:-|–|—|~|～|至|到|to)\s*"  # range separators, NFKC-normalised


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole months within one calendar year: first..last (1-12)."""

    year: int
    first: int
    last: int

    def __post_init__(self) -> None:
        if not (1 <= self.first <= self.last <= 12):
            raise ValueError(f"months out of order: {self.first}..{self.last}")

    @property
    def kind(self) -> Kind:
        """year, half, quarter or month where the span is one of those; months otherwise."""
        length = self.last - self.first + 1
        if length == 12:
            return "year"
        if length == 6 and self.first in (1, 7):
            return "half"
        if length == 3 and self.first % 3 == 1:
            return "quarter"
        if length == 1:
            return "month"
        return "months"

    @property
    def key(self) -> str:
        """Canonical, sortable text: 2026, 2026-H1, 2026-Q3, 2026-08, 2026-07..08."""
        kind = self.kind
        if kind == "year":
            return f"{self.year}"
        if kind == "half":
            return f"{self.year}-H{1 if self.first == 1 else 2}"
        if kind == "quarter":
            return f"{self.year}-Q{(self.first + 2) // 3}"
        if kind == "month":
            return f"{self.year}-{self.first:02d}"
        return f"{self.year}-{self.first:02d}..{self.last:02d}"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.year, self.last, calendar.monthrange(self.year, self.last)[1])

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def next(self) -> Period:
        """The following period of the same length (2026-Q4 -> 2027-Q1, 2026 -> 2027).

        A span of months that would cross a year end (Nov-Dec -> Jan-Feb) continues in the next
        year from January only when it divides the year evenly; otherwise ValueError.
        """
        length = self.last - self.first + 1
        first = self.last + 1
        if first > 12:
            if 12 % length:
                raise ValueError(f"{self.key}: the next period would cross a year end")
            return Period(self.year + 1, 1, length)
        if first + length - 1 > 12:
            raise ValueError(f"{self.key}: the next period would cross a year end")
        return Period(self.year, first, first + length - 1)

    def previous(self) -> Period:
        """The period before, of the same length (2026-Q1 -> 2025-Q4)."""
        length = self.last - self.first + 1
        last = self.first - 1
        if last < 1:
            if 12 % length:
                raise ValueError(f"{self.key}: the previous period would cross a year start")
            return Period(self.year - 1, 13 - length, 12)
        if last - length + 1 < 1:
            raise ValueError(f"{self.key}: the previous period would cross a year start")
        return Period(self.year, last - length + 1, last)

    def label(self, lang: str) -> str:
        """How the locale writes the period: 2026年Q3 / Q3 2026, 2026年8月 / August 2026, ..."""
        t = catalog(lang)
        kind = self.kind
        if kind == "year":
            return t("period.year", year=self.year)
        if kind == "half":
            return t("period.half1" if self.first == 1 else "period.half2", year=self.year)
        if kind == "quarter":
            return t("period.quarter", year=self.year, q=(self.first + 2) // 3)
        months = t.list("period.months")
        if kind == "month":
            return t("period.month", year=self.year, name=months[self.first - 1])
        return t(
            "period.months_range",
            year=self.year,
            first_name=months[self.first - 1],
            last_name=months[self.last - 1],
        )


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _CN_DIGITS.get(text)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"\s+", " ", text)
    # Decorations around a period that change nothing: 第, 度 of 季度/年度 stay meaningful below.
    for word in ("工作总结", "总结", "运营", "周期", "fiscal year", "financial year"):
        text = text.replace(word, " ")
    return re.sub(r"\s+", " ", text).strip(" ,，:：()（）[]【】")


_CN_NUM = r"(?:\d{1,2}|十[一二]|[一二两三四五六七八九十])"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        # quarters
        (
            rf"^{_YEAR}\s*(?:年|-|/)?\s*(?:第?\s*(?P<q>[1-4一二三四])\s*季度?|q(?P<q2>[1-4])\s*(?:季度)?)$",
            "quarter",
        ),
        (rf"^q(?P<q>[1-4])\s*[/ ,.-]?\s*{_YEAR}$", "quarter"),
        (
            rf"^(?:the )?(?P<q>first|second|third|fourth|1st|2nd|3rd|4th) quarter(?: of)? {_YEAR}$",
            "quarter",
        ),
        # halves
        (rf"^{_YEAR}\s*年?\s*(?P<h>上|下)半年(?:度)?$", "half"),
        (rf"^{_YEAR}\s*[ -]?\s*h(?P<h>[12])$", "half"),
        (rf"^h(?P<h>[12])\s*[/ ,.-]?\s*{_YEAR}$", "half"),
        (rf"^(?:the )?(?P<h>first|second) half(?: of)? {_YEAR}$", "half"),
        # whole years
        (rf"^{_YEAR}\s*(?:年度?|年全年|全年)?$", "year"),
        (rf"^(?:fy|year)\s*{_YEAR}$", "year"),
        # month ranges: 2026年7-9月, 2026年7月-9月, 2026.7-2026.9, 2026-07~2026-09
        (
            rf"^{_YEAR}\s*[年./-]\s*(?P<m1>{_CN_NUM})\s*月?{_SEP}(?:(?P<year2>\d{{4}})\s*[年./-]\s*)?"
            rf"(?P<m2>{_CN_NUM})\s*月?(?:份)?$",
            "months",
        ),
        (rf"^(?P<m1>{_MONTH_WORD})\.?{_SEP}(?P<m2>{_MONTH_WORD})\.?,? {_YEAR}$", "months_en"),
        # whole months written as dates: 2026年7月1日-9月30日, 2026.07.01-2026.09.30
        (
            rf"^{_YEAR}\s*[年./-]\s*(?P<m1>\d{{1,2}})\s*[月./-]\s*(?P<d1>\d{{1,2}})\s*日?{_SEP}"
            rf"(?:(?P<year2>\d{{4}})\s*[年./-]\s*)?(?P<m2>\d{{1,2}})\s*[月./-]\s*(?P<d2>\d{{1,2}})\s*日?$",
            "days",
        ),
        # single months: 2026年8月, 2026-08, 2026/8, August 2026, Aug. 2026
        (rf"^{_YEAR}\s*[年./-]\s*(?P<m1>{_CN_NUM})\s*月?(?:份)?$", "month"),
        (rf"^(?P<m1>{_MONTH_WORD})\.?,? {_YEAR}$", "month_en"),
        (rf"^{_YEAR} (?P<m1>{_MONTH_WORD})$", "month_en"),
    )
)
_ORDINALS = MappingProxyType({"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
                              "fourth": 4, "4th": 4})  # fmt: skip
# Without a year: only with default_year (the caller's context, e.g. a date's year).
_NO_YEAR = (
    (re.compile(rf"^(?P<m1>{_CN_NUM})\s*月?{_SEP}(?P<m2>{_CN_NUM})\s*月(?:份)?$"), "months"),
    (re.compile(r"^第?(?P<q>[1-4一二三四])季度$|^q(?P<q2>[1-4])$"), "quarter"),
    (re.compile(r"^(?P<h>上|下)半年$|^h(?P<h2>[12])$"), "half"),
    (re.compile(rf"^(?P<m1>{_CN_NUM})月(?:份)?$"), "month"),
)


def _build(kind: str, groups: dict[str, str | None], year: int) -> Period | None:
    if kind == "quarter":
        raw = groups.get("q") or groups.get("q2") or ""
        q = _ORDINALS.get(raw) or _number(raw)
        return None if q is None or not 1 <= q <= 4 else Period(year, 3 * q - 2, 3 * q)
    if kind == "half":
        raw = groups.get("h") or groups.get("h2") or ""
        first = raw in ("上", "1", "first")
        return Period(year, 1, 6) if first else Period(year, 7, 12)
    if kind == "year":
        return Period(year, 1, 12)
    if kind == "days":
        period = _build("months", groups, year)
        if period is None or int(groups.get("d1") or 0) != 1:
            return None
        return period if int(groups.get("d2") or 0) == period.end.day else None
    if kind in ("months", "months_en", "month", "month_en"):
        english = kind.endswith("_en")
        names = (groups.get("m1") or "", groups.get("m2") or groups.get("m1") or "")
        m1, m2 = (_MONTH_NAMES.get(n) if english else _number(n) for n in names)
        year2 = groups.get("year2")
        if m1 is None or m2 is None or not (1 <= m1 <= m2 <= 12):
            return None
        if year2 is not None and int(year2) != year:
            return None  # a span across two years is not a period here
        return Period(year, m1, m2)
    return None


def parse_period(text: object, *, default_year: int | None = None) -> Period | None:
    """The period a text names, or None when it names none (or none this module knows).

    A text without a year ("7-9月", "Q3") is understood only with `default_year`.
    """
    if not isinstance(text, str):
        return None
    norm = _normalize(text)
    if not norm:
        return None
    for pattern, kind in _PATTERNS:
        match = pattern.match(norm)
        if match:
            return _build(kind, match.groupdict(), int(match.group("year")))
    if default_year is not None:
        for pattern, kind in _NO_YEAR:
            match = pattern.match(norm)
            if match:
                return _build(kind, match.groupdict(), default_year)
    return None


def local_date(when: dt.date, lang: str) -> str:
    """A date as the locale writes it: 2026年8月31日 / 31 August 2026."""
    t = catalog(lang)
    month = t.list("numfmt.months")[when.month - 1]
    return t("numfmt.date", year=when.year, month=month, day=when.day)
