"""Period parsing, canonical keys, days and arithmetic, against hand-written expectations."""

from __future__ import annotations

import pytest

from workbook.period import Period, parse_period

# (text as people type it, canonical key, days) -- days counted by hand from the calendar.
FORMS = [
    ("2026年Q3", "2026-Q3", 92),
    ("2026-Q3", "2026-Q3", 92),  # the canonical key itself
    ("2026年Q3季度", "2026-Q3", 92),
    ("2026年7月1日-9月30日", "2026-Q3", 92),  # whole months written as dates
    ("2026.07.01-2026.09.30", "2026-Q3", 92),
    ("2026/7/1-2026/9/30", "2026-Q3", 92),
    ("2026年2月1日-2月28日", "2026-02", 28),
    ("2026Q3", "2026-Q3", 92),
    ("2026 Q3", "2026-Q3", 92),
    ("Q3 2026", "2026-Q3", 92),
    ("q3/2026", "2026-Q3", 92),
    ("2026年第三季度", "2026-Q3", 92),
    ("2026年第3季度", "2026-Q3", 92),
    ("2026年三季度", "2026-Q3", 92),
    ("2026年7-9月", "2026-Q3", 92),
    ("2026年7月-9月", "2026-Q3", 92),
    ("2026年7月至9月", "2026-Q3", 92),
    ("2026.7-2026.9", "2026-Q3", 92),
    ("2026年Q1", "2026-Q1", 90),
    ("2028年Q1", "2028-Q1", 91),  # leap year
    ("2026年第二季度", "2026-Q2", 91),
    ("2026年Q4", "2026-Q4", 92),
    ("third quarter 2026", "2026-Q3", 92),
    ("2026年8月", "2026-08", 31),
    ("2026-08", "2026-08", 31),
    ("2026年2月", "2026-02", 28),
    ("August 2026", "2026-08", 31),
    ("Aug 2026", "2026-08", 31),
    ("2026年上半年", "2026-H1", 181),
    ("2026年下半年", "2026-H2", 184),
    ("2026 H1", "2026-H1", 181),
    ("H2 2026", "2026-H2", 184),
    ("2026年度", "2026", 365),
    ("2028年度", "2028", 366),
    ("2026年", "2026", 365),
    ("FY2026", "2026", 365),
    ("２０２６年Ｑ３", "2026-Q3", 92),  # full-width, as some input methods type it
    (" 2026年Q3 工作总结 ", "2026-Q3", 92),
    ("2026年7-8月", "2026-07..08", 62),
    ("Jul-Aug 2026", "2026-07..08", 62),
]


@pytest.mark.parametrize(("text", "key", "days"), FORMS)
def test_forms_people_type(text: str, key: str, days: int) -> None:
    period = parse_period(text)
    assert period is not None, text
    assert period.key == key
    assert period.days == days


@pytest.mark.parametrize(
    "text", ["", "  ", "本季度", "Q5 2026", "2026年13月", "2026年9-7月", "2025年11月-2026年1月",
             "hello", "26Q3", None, 2026, "2026年7月2日-9月30日", "2026年7月1日-9月29日"]
)  # fmt: skip
def test_not_a_period(text: object) -> None:
    assert parse_period(text) is None


def test_year_from_context() -> None:
    assert parse_period("7-9月") is None
    p = parse_period("7-9月", default_year=2026)
    assert p is not None and p.key == "2026-Q3"
    q = parse_period("第一季度", default_year=2027)
    assert q is not None and q.key == "2027-Q1"


@pytest.mark.parametrize(
    ("text", "following"),
    [
        ("2026年Q3", "2026-Q4"),
        ("2026年Q4", "2027-Q1"),
        ("2026年度", "2027"),
        ("2026年8月", "2026-09"),
        ("2026年12月", "2027-01"),
        ("2026年上半年", "2026-H2"),
        ("2026年下半年", "2027-H1"),
        ("2026年7-8月", "2026-09..10"),
    ],
)
def test_next(text: str, following: str) -> None:
    period = parse_period(text)
    assert period is not None
    assert period.next().key == following
    assert period.next().previous() == period


def test_next_refuses_a_span_across_the_year_end() -> None:
    period = parse_period("2026年10-11月")
    assert period is not None
    with pytest.raises(ValueError):
        period.next()


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        (Period(2026, 7, 9), "2026年Q3", "Q3 2026"),
        (Period(2026, 1, 12), "2026年度", "FY2026"),
        (Period(2026, 8, 8), "2026年8月", "August 2026"),
        (Period(2026, 1, 6), "2026年上半年", "H1 2026"),
        (Period(2026, 7, 8), "2026年7-8月", "July–August 2026"),
    ],
)
def test_labels(key: Period, zh: str, en: str) -> None:
    assert key.label("zh-CN") == zh
    assert key.label("en") == en
    # A label reads back as the same period.
    assert parse_period(zh) == key
    assert parse_period(en) == key


def test_order_is_chronological() -> None:
    texts = ["2026年Q4", "2025年度", "2026年Q1", "2026年8月"]
    periods = sorted(p for t in texts if (p := parse_period(t)) is not None)
    assert [p.key for p in periods] == ["2025", "2026-Q1", "2026-08", "2026-Q4"]
