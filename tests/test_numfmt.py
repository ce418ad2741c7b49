"""Figures as a reader of the summary sees them: exact strings in both locales."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.numfmt import DIRECTION_FORMATS, formatter

ZH = formatter("zh-CN")
EN = formatter("en")


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (8600, "8,600元", "¥8,600"),
        (278.1621, "278.16元", "¥278.16"),
        (673.2, "673.20元", "¥673.20"),
        (294285.714, "29.43万元", "¥294,286"),
        (4120000, "412万元", "¥4,120,000"),
        (12865000, "1,286.5万元", "¥12,865,000"),
        (128650000, "1.29亿元", "¥128,650,000"),
        (99999999.9, "1亿元", "¥100,000,000"),  # 9,999.99…万 rounds up into 亿, not 10,000万
        (-8600, "-8,600元", "-¥8,600"),
        (0, "0元", "¥0"),
    ],
)
def test_money(value: float, zh: str, en: str) -> None:
    assert (ZH.money(value), EN.money(value)) == (zh, en)


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (3200, "3,200", "3,200"),
        (15732, "15,732", "15,732"),  # not exact in 万: never rounded below a million
        (68400, "6.84万", "68,400"),
        (286000, "28.6万", "286,000"),
        (1850000, "185万", "1,850,000"),
        (1234567, "123.46万", "1,234,567"),
        (42600000, "4,260万", "42,600,000"),
        (28050.000000000004, "28,050", "28,050"),  # float noise from a KPI
        (300000000, "3亿", "300,000,000"),
    ],
)
def test_count(value: float, zh: str, en: str) -> None:
    assert (ZH.count(value), EN.count(value)) == (zh, en)


@pytest.mark.parametrize(
    ("fraction", "text"),
    [
        (0.025, "2.5%"),
        (0.123, "12.3%"),
        (0.0045, "0.45%"),
        (0.28, "28%"),
        (0.1200000000000001, "12%"),
        (1.6248468512619456, "162.5%"),
        (-0.11762081784386613, "-11.8%"),
        (0.00125, "0.13%"),  # half-up, not banker's rounding
        (-0.00001, "0%"),  # never "-0%"
    ],
)
def test_percent_is_the_same_in_both_locales(fraction: float, text: str) -> None:
    assert ZH.percent(fraction) == EN.percent(fraction) == text


def test_percentage_points_keep_one_decimal() -> None:
    assert ZH.pp(1.9999999999999991) == "2.0个百分点"
    assert EN.pp(1.9999999999999991) == "2.0 percentage points"
    assert EN.pp(2, short=True, signed=True) == "+2.0 pp"
    assert ZH.pp(-0.04, signed=True) == "0.0个百分点"


def test_ratios_numbers_and_signed_changes() -> None:
    assert (ZH.ratio(3.4), ZH.ratio(2.9), ZH.ratio(2.345)) == ("3.4", "2.9", "2.35")
    assert (EN.number(1.978), EN.number(6.5), EN.number(1250.4)) == ("2", "6.5", "1,250")
    assert (ZH.change(0.12), ZH.change(-0.118), ZH.change(0.0)) == ("+12%", "-11.8%", "0%")


def test_dates() -> None:
    day = dt.date(2026, 10, 10)
    assert (ZH.date(day), EN.date(day)) == ("2026年10月10日", "10 October 2026")
    assert ZH.short_date(day) == EN.short_date(day) == "2026-10-10"


@pytest.mark.parametrize(
    ("fmt", "value", "kind", "zh", "en"),
    [
        ("change", 0.12, "change", "提升12%", "rose by 12%"),
        ("change", -0.1176, "change", "下降11.8%", "fell by 11.8%"),
        ("change", 0.00001, "change", "持平", "was unchanged"),
        ("growth", 0.2137, "change", "增长21.4%", "grew by 21.4%"),
        ("growth", -0.05, "change", "下降5%", "shrank by 5%"),
        ("rise", 0.1375, "change", "上升13.8%", "rose by 13.8%"),
        ("above", 0.1176, "change", "高出11.8%", "11.8% above"),
        ("above", -0.1176, "change", "低11.8%", "11.8% below"),
        ("above", 0.0, "change", "持平", "in line with"),
        ("pp", 1.9999999, "pp", "提升2.0个百分点", "rose by 2.0 percentage points"),
        ("change", -2.0, "pp", "下降2.0个百分点", "fell by 2.0 percentage points"),
    ],
)
def test_direction_words(fmt: str, value: float, kind: str, zh: str, en: str) -> None:
    assert (ZH.direction(fmt, value, kind), EN.direction(fmt, value, kind)) == (zh, en)


def test_moved_to_compares_what_the_reader_sees() -> None:
    assert ZH.moved_to(0.30, 0.37, "percent") == "降至30%"
    assert EN.moved_to(3.4, 2.9, "ratio") == "up to 3.4"
    # 28% and 28.00001% read the same: "unchanged", never "from 28% up to 28%".
    assert ZH.moved_to(0.2800001, 0.28, "percent") == "保持在28%"
    assert EN.moved_to(0.2800001, 0.28, "percent") == "unchanged at 28%"
    assert ZH.moved_to(0.28, None, "percent") == "至28%"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        ZH.money(value)
    with pytest.raises(ValueError, match="finite"):
        EN.value(value, "percent")


KINDS = ("money", "count", "percent", "change", "pp", "ratio", "number")
_BAD = re.compile(r"nan|none|inf|e[+-]|\d[eE]\d", re.IGNORECASE)
finite = st.floats(allow_nan=False, allow_infinity=False)


@given(value=finite, kind=st.sampled_from(KINDS), table=st.booleans())
def test_any_finite_value_reads_as_a_plain_figure(value: float, kind: str, table: bool) -> None:
    for fmt in (ZH, EN):
        text = fmt.value(value, kind, table=table)
        assert text and not _BAD.search(text), text
        assert not re.search(r"-[¥]?0(?![.\d])", text), f"negative zero: {text}"


@given(value=finite, fmt=st.sampled_from(DIRECTION_FORMATS), kind=st.sampled_from(KINDS))
def test_direction_never_shows_a_sign_or_noise(value: float, fmt: str, kind: str) -> None:
    for f in (ZH, EN):
        text = f.direction(fmt, value, kind)
        assert not _BAD.search(text) and "-" not in text and "+" not in text, text


@given(value=st.floats(min_value=-1e15, max_value=1e15))
def test_english_counts_are_the_rounded_value(value: float) -> None:
    expected = int(Decimal(repr(value)).quantize(Decimal(1), ROUND_HALF_UP))
    assert int(EN.count(value).replace(",", "")) == expected


@given(value=st.floats(min_value=0, max_value=1e12))
def test_chinese_money_is_within_rounding_of_the_value(value: float) -> None:
    text = ZH.money(value).removesuffix("元").replace(",", "")
    scale = 1e8 if text.endswith("亿") else 1e4 if text.endswith("万") else 1
    shown = float(text.rstrip("亿万")) * scale
    # At most half a unit of the last kept digit: 0.005万 = ¥50 below 100万, 0.05万 = ¥500 above.
    tolerance = 0.005 if scale == 1 else (0.005 if float(text.rstrip("亿万")) < 100 else 0.05)
    assert abs(shown - value) <= tolerance * scale + 1e-6 * max(value, 1)


def test_a_spec_limit_reads_as_the_spec_gives_it() -> None:
    """The data validation message's limits: exact, with separators; percent as a percentage."""
    from generator.numfmt import limit_text

    assert limit_text(1_000_000, "count") == "1,000,000"
    assert limit_text(0.5, "number") == "0.5"
    assert limit_text(1234.25, "money") == "1,234.25"
    assert limit_text(1, "percent") == "100%"
    assert limit_text(0.125, "percent") == "12.5%"


def test_a_chart_number_is_exact_and_plain() -> None:
    from generator.numfmt import xml_number

    assert xml_number(12.0) == "12"
    assert xml_number(1234567) == "1234567"
    assert xml_number(0.125) == "0.125"
    assert xml_number(-3.5) == "-3.5"
