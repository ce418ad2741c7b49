"""Locale-aware figures for the Word summary: amounts, rates, counts, dates and directions.

Rules (the words and patterns live in the `[numfmt]` catalogue table):
- money: below 10,000 whole yuan stay whole (8,600元), other amounts keep two decimals
  (278.16元); zh-CN scales larger amounts to 万/亿 with up to 2 (under 100万) or 1 decimal
  (29.43万元, 1,286.5万元, 1.29亿元); en writes whole yuan (¥12,865,000).
- percent (a fraction): one decimal, two below 1% (2.5%, 12.3%, 0.45%), trailing zeros dropped.
- pp (points): always one decimal (2.0个百分点 / 2.0 percentage points).
- count: whole numbers with separators; zh-CN uses 万/亿 from 1,000,000 and from 10,000 when
  exact to two decimals (6.84万), so no count is rounded below a million.
- number: one decimal under 100, whole above (6.5, 2, 1,250); ratio: two decimals, trailing
  zeros dropped (ROI 3.40 -> 3.4).
Rounding is half-up on the decimal value a person would read (0.125 -> 0.13), never banker's.
Every function refuses NaN and infinities (ValueError): callers treat them as missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cache

from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.values import percent_digits, shown_decimal

# Enough digits for the largest float (1.8e308) with two decimals.
_CTX = Context(prec=400, rounding=ROUND_HALF_UP)

DIRECTION_FORMATS = ("change", "growth", "rise", "above", "pp")


def _decimal(value: float) -> Decimal:
    return shown_decimal(value)


def _round(value: Decimal, decimals: int) -> Decimal:
    rounded = _CTX.quantize(value, Decimal(1).scaleb(-decimals))
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _text(value: Decimal, *, strip: bool, group: bool = True) -> str:
    text = format(value, ",f" if group else "f")
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fixed(value: float, decimals: int, *, strip: bool = True, group: bool = True) -> str:
    """value rounded half-up to at most `decimals` places, with thousands separators."""
    return _text(_round(_decimal(value), decimals), strip=strip, group=group)


def limit_text(value: float, kind: str) -> str:
    """A spec limit as a data validation message in the workbook states it: the number as the
    spec gives it, with separators (1,000,000, 0.5), a percent limit as a percentage (100%).
    Not rounded as the summary's figures are: a limit is exact."""
    if kind == "percent":
        return f"{value * 100:g}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def xml_number(value: float) -> str:
    """A number as a chart's cache and embedded sheet hold it (xsd:double): exact, no
    separators, no locale; 12 for a whole number, else the shortest round-trip form."""
    return repr(float(value)) if value != int(value) else str(int(value))


@dataclass(frozen=True)
class _Scale:
    """A large-number unit: 万 (10^4) or 亿 (10^8)."""

    power: int  # 4 for 万, 8 for 亿
    word: str


class NumberFormatter:
    """Formats figures for one locale; all words come from the catalogue."""

    def __init__(self, lang: str) -> None:
        self.lang = normalize_lang(lang)
        self.t: Catalog = catalog(self.lang)
        scales = []
        for item in self.t("numfmt.large_units").split():
            power, word = item.split(":", 1)
            scales.append(_Scale(int(power), word))
        self.scales = tuple(sorted(scales, key=lambda s: s.power, reverse=True))

    # -- plain magnitudes ---------------------------------------------------------------------

    def _scaled(self, value: Decimal, decimals: Callable[[Decimal], int]) -> str | None:
        """value in the largest 万/亿 unit it reaches (None below 万 or in a locale without).

        decimals(size in the unit) gives the places to keep; 9,999.96万 becomes 1亿, not
        10,000.0万.
        """
        magnitude = value.copy_abs()
        index = next(
            (i for i, s in enumerate(self.scales) if magnitude >= Decimal(1).scaleb(s.power)),
            None,
        )
        if index is None:
            return None
        while True:
            scale = self.scales[index]
            scaled = value.scaleb(-scale.power)
            rounded = _round(scaled, decimals(scaled.copy_abs()))
            if index > 0:
                step = Decimal(1).scaleb(self.scales[index - 1].power - scale.power)
                if rounded.copy_abs() >= step:
                    index -= 1
                    continue
            return _text(rounded, strip=True) + scale.word

    def money(self, value: float) -> str:
        """An amount in yuan: 8,600元 / 278.16元 / 1,286.5万元 / 1.29亿元; ¥12,865,000."""
        d = _decimal(value)
        amount = None
        if d.copy_abs() >= 10**4:
            amount = self._scaled(d, lambda size: 2 if size < 100 else 1)
            if amount is None:
                amount = _text(_round(d, 0), strip=True)
        else:
            cents = _round(d, 2)
            amount = _text(cents, strip=cents == cents.to_integral_value())
        if amount.startswith("-"):
            return "-" + self.t("numfmt.money", value=amount[1:])
        return self.t("numfmt.money", value=amount)

    def count(self, value: float) -> str:
        """A whole number: 3,200; zh-CN 6.84万 / 185万 / 4,260万 (never rounded below 1e6)."""
        d = _round(_decimal(value), 0)
        magnitude = d.copy_abs()
        if self.scales and (magnitude >= 10**6 or (magnitude >= 10**4 and magnitude % 100 == 0)):
            scaled = self._scaled(d, lambda size: 2)
            if scaled is not None:
                return scaled
        return _text(d, strip=True)

    def percent(self, fraction: float) -> str:
        """A fraction as a percentage: 0.025 -> 2.5%, 0.0045 -> 0.45%, 0.28 -> 28%."""
        return self.t("numfmt.percent", value=percent_digits(fraction))

    def change(self, fraction: float) -> str:
        """A signed relative change for tables: +12%, -11.8%, 0%."""
        text = self.percent(fraction)
        return text if text.startswith("-") or _is_zero(text) else "+" + text

    def pp(self, points: float, *, short: bool = False, signed: bool = False) -> str:
        """Percentage points, one decimal: 2.0个百分点 / 2.0 percentage points (short: 2.0 pp)."""
        value = _text(_round(_decimal(points), 1), strip=False)
        if signed and not value.startswith("-") and not _is_zero(value):
            value = "+" + value
        return self.t("numfmt.pp_short" if short else "numfmt.pp", value=value)

    def precise(self, value: float, kind: str) -> str:
        """A figure at the finest precision figures are compared at (spec.SHOWN_PRECISION):
        what a pair that would otherwise print the same is shown with (2.65% / 2.56%)."""
        d = _decimal(value)
        if kind in ("percent", "change"):
            text = self.t("numfmt.percent", value=_text(_round(d.scaleb(2), 2), strip=True))
            return "+" + text if kind == "change" and d > 0 else text
        if kind == "money":
            amount = None
            if d.copy_abs() >= 10**4:
                amount = self._scaled(d, lambda size: 6 if size < 10**4 else 10)
            if amount is None:
                amount = _text(_round(d, 2), strip=True)
            if amount.startswith("-"):
                return "-" + self.t("numfmt.money", value=amount[1:])
            return self.t("numfmt.money", value=amount)
        if kind == "count":
            whole = _round(d, 0)
            if self.scales and whole.copy_abs() >= 10**4:
                scaled = self._scaled(whole, lambda size: 8)
                if scaled is not None:
                    return scaled
            return _text(whole, strip=True)
        if kind in ("number", "ratio"):
            return _text(_round(d, 2), strip=True)
        return self.value(value, kind)

    def pair(self, a: float, b: float, kind: str) -> tuple[str, str]:
        """Two figures of one kind: as usual, or both precise when they would print the same
        although they differ at the compared precision."""
        first, second = self.value(a, kind), self.value(b, kind)
        if first == second:
            pa, pb = self.precise(a, kind), self.precise(b, kind)
            if pa != pb:
                return pa, pb
        return first, second

    def gap(self, a: float, b: float, kind: str) -> str:
        """The unsigned distance between two figures: points for rates (6.0个百分点), the
        figure's own unit otherwise."""
        if kind in ("percent", "change"):
            return self.pp(abs(a - b) * 100)
        return self.value(abs(a - b), kind)

    def number(self, value: float) -> str:
        """A plain quantity: one decimal under 100 (6.5, 2), whole above (1,250)."""
        d = _decimal(value)
        return _text(_round(d, 1 if d.copy_abs() < 100 else 0), strip=True)

    def ratio(self, value: float) -> str:
        """A ratio such as ROI: 3.4, 2.95."""
        return _text(_round(_decimal(value), 2), strip=True)

    def date(self, value: dt.date) -> str:
        """2026年10月10日 / 10 October 2026."""
        months = self.t.list("numfmt.months")
        return self.t("numfmt.date", year=value.year, month=months[value.month - 1], day=value.day)

    def short_date(self, value: dt.date) -> str:
        """For table cells: 2026-11-30 in every locale."""
        return value.isoformat()

    def with_unit(self, text: str, unit: str) -> str:
        return self.t("numfmt.with_unit", value=text, unit=unit) if unit else text

    # -- by kind ------------------------------------------------------------------------------

    def value(self, value: float, kind: str, *, table: bool = False) -> str:
        """A figure in its spec format (field type or KPI format); tables sign changes."""
        if kind == "money":
            return self.money(value)
        if kind == "count":
            return self.count(value)
        if kind == "percent":
            return self.percent(value)
        if kind == "change":
            return self.change(value) if table else self.percent(value)
        if kind == "pp":
            return self.pp(value, short=table, signed=table)
        if kind == "ratio":
            return self.ratio(value)
        if kind == "number":
            return self.number(value)
        raise ValueError(f"not a numeric kind: {kind!r}")

    def magnitude(self, value: float, kind: str) -> str:
        """The unsigned size of a change, for direction words: 12%, 2.0个百分点."""
        value = abs(value)
        if kind in ("change", "percent"):
            return self.percent(value)
        if kind == "pp":
            return self.pp(value)
        return self.value(value, kind)

    # -- directions ---------------------------------------------------------------------------

    def direction(self, fmt: str, value: float, kind: str) -> str:
        """`{id:change}` and friends: 提升12% / rose by 12%, 下降 / fell by, 持平 / unchanged."""
        if fmt not in DIRECTION_FORMATS:
            raise ValueError(f"unknown direction format: {fmt!r}")
        size = self.magnitude(value, kind)
        if _is_zero(size):
            return self.t(f"numfmt.{fmt}_flat")
        way = "up" if value > 0 else "down"
        return self.t(f"numfmt.{fmt}_{way}", value=size)

    def moved_to(self, value: float, ref: float | None, kind: str) -> str:
        """`{id:to:ref}`: 提升至30% / up to 30%, 降至 / down to, 保持在 / unchanged at.

        Equal when both read the same once formatted, so "from 28% up to 28%" cannot happen.
        Without a reference the words are neutral: 至30% / to 30%.
        """
        shown = self.value(value, kind)
        if ref is None:
            return self.t("numfmt.to_neutral", value=shown)
        if shown == self.value(ref, kind):
            return self.t("numfmt.to_flat", value=shown)
        way = "up" if value > ref else "down"
        return self.t(f"numfmt.to_{way}", value=shown)


def _is_zero(text: str) -> bool:
    """True when a formatted figure shows zero (0%, 0.0个百分点, 0)."""
    digits = [c for c in text if c.isdigit()]
    return bool(digits) and set(digits) == {"0"}


@cache
def formatter(lang: str) -> NumberFormatter:
    """The formatter of a locale, built once per process."""
    return NumberFormatter(lang)
