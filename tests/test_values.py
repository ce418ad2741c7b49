"""Values as people type them: each rule of workbook/values.py, and round trips (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbook.values import (
    Parsed,
    ValueType,
    clean_text,
    is_error_value,
    number_text,
    parse_date,
    parse_value,
)

FULLWIDTH = str.maketrans("0123456789,.%", "０１２３４５６７８９，．％")


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (1234, "count", 1234),
        (12.0, "count", 12),
        ("1234", "count", 1234),
        ("1,234", "count", 1234),
        ("1,234,567.5", "number", 1234567.5),
        (" 12 ", "count", 12),
        ("１２３", "count", 123),
        ("１，２３４", "count", 1234),
        ("¥1,000", "money", 1000),
        ("￥1,000.50", "money", 1000.5),
        ("1000元", "money", 1000),
        ("RMB 2,500", "money", 2500),
        ("-¥1,000", "money", -1000),
        ("¥-1,000", "money", -1000),
        ("1.2万", "money", 12000),
        ("1.2万元", "money", 12000),
        ("3亿", "money", 300000000),
        ("1.5k", "count", 1500),
        ("2.5e3", "number", 2500),
        ("36款", "count", 36),
        ("36 items", "count", 36),
        ("12%", "percent", 0.12),
        ("12.5 %", "percent", 0.125),
        ("１２．５％", "percent", 0.125),
        ("-3%", "percent", -0.03),
        ("5‰", "percent", 0.005),
        ("=1200+300", "count", 1500),
        ("=(1+1)*3", "money", 6),
    ],
)
def test_numbers_are_read_the_way_people_type_them(
    raw: object, kind: ValueType, value: float
) -> None:
    parsed = parse_value(raw, kind, formula=str(raw).startswith("="), units=("款", "items"))
    assert parsed.ok
    assert parsed.value == pytest.approx(value, rel=1e-15)
    assert type(parsed.value) is (
        float if kind == "percent" or not float(value).is_integer() else int
    )


def test_each_coercion_is_recorded_and_plain_numbers_have_none() -> None:
    assert parse_value(1234, "count") == Parsed(1234)
    assert parse_value("1,234", "count").coercions == ("text_number", "grouping")
    assert parse_value("¥1.2万", "money").coercions == ("text_number", "currency", "multiplier")
    assert parse_value("１２３", "count").coercions == ("text_number", "fullwidth")
    assert parse_value("=1+2", "count", formula=True).coercions == ("formula",)
    assert not parse_value("12%", "percent").guessed


def test_percent_field_rules() -> None:
    # A number in the cell is the fraction itself: 12 is 1200%, which the reader's range refuses.
    assert parse_value(12, "percent") == Parsed(12.0)
    assert parse_value(0.12, "percent") == Parsed(0.12)
    # Text without a % sign reads as it shows next to the sheet's "%" unit, flagged as a guess.
    text = parse_value("12", "percent")
    assert text.value == pytest.approx(0.12)
    assert text.guessed and "percent_assumed" in text.coercions
    assert parse_value("0.5", "percent").value == pytest.approx(0.005)
    # A percentage elsewhere is not silently divided by 100.
    assert parse_value("12%", "count").problem == "percent_elsewhere"
    assert parse_value("12%", "money").problem == "percent_elsewhere"


@pytest.mark.parametrize(
    "error", ["#DIV/0!", "#REF!", "#NAME?", "#N/A", "#VALUE!", "#NUM!", "Err:502"]
)
@pytest.mark.parametrize("kind", ["text", "count", "money", "number", "percent", "date"])
def test_excel_errors_are_unreadable_in_every_type(error: str, kind: ValueType) -> None:
    assert is_error_value(error)
    assert parse_value(error, kind) == Parsed(None, problem="error")


@pytest.mark.parametrize(
    ("raw", "kind", "problem"),
    [
        ("abc", "count", "not_number"),
        ("1,2", "count", "not_number"),  # a decimal comma, or a typo: not guessed
        ("12,34,567", "count", "not_number"),
        ("1.2.3", "number", "not_number"),
        ("¥100", "count", "not_number"),  # currency only in money fields
        ("万", "money", "not_number"),
        ("x" * 100, "money", "not_number"),
        ("1e999", "number", "not_number"),
        (True, "count", "bool"),
        (False, "percent", "bool"),
        (dt.date(2026, 1, 1), "money", "not_number"),
        ("=A1+B1", "count", "formula"),
        ("=SUM(B2:B5)", "money", "formula"),
        ("=1/0", "number", "formula"),
        ("=gmv*2", "money", "formula"),
        ("10/10/2026", "date", "not_date"),  # day or month first: ambiguous
        ("2026-02-30", "date", "not_date"),
        ("next week", "date", "not_date"),
        (True, "date", "bool"),
        (12, "date", "not_date"),  # not a plausible date serial
    ],
)
def test_unreadable_values_say_why(raw: object, kind: ValueType, problem: str) -> None:
    parsed = parse_value(raw, kind, formula=isinstance(raw, str) and raw.startswith("="))
    assert parsed == Parsed(None, problem=problem)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["-", "—", "/", "N/A", "无", "暂无", "  ", ""])
def test_placeholders_and_spaces_are_blank(raw: str) -> None:
    for kind in ("count", "money", "percent", "date"):
        parsed = parse_value(raw, kind)
        assert parsed.value is None and parsed.ok, (raw, kind)
    assert parse_value(None, "count") == Parsed(None)


@pytest.mark.parametrize(
    "raw",
    [
        "2026-10-10",
        "2026/10/10",
        "2026.10.10",
        "2026-10-10 00:00:00",
        "2026年10月10日",
        "2026 年 10 月 10 日",
        "２０２６年１０月１０日",
        "20261010",
    ],
)
def test_dates_typed_as_text(raw: str) -> None:
    assert parse_value(raw, "date") == Parsed(dt.date(2026, 10, 10), ("date_text",))


def test_date_cells_serials_and_times() -> None:
    assert parse_date(dt.datetime(2026, 10, 10)) == Parsed(dt.date(2026, 10, 10))
    assert parse_date(dt.date(2026, 10, 10)) == Parsed(dt.date(2026, 10, 10))
    with_time = parse_date(dt.datetime(2026, 10, 10, 15, 30))
    assert with_time == Parsed(dt.date(2026, 10, 10), ("time_dropped",))
    serial = parse_date(46305)  # what a date cell holds once its date format is lost
    assert serial.value == dt.date(2026, 10, 10) and serial.guessed


def test_text_fields_take_anything_as_text() -> None:
    assert parse_value("  山岚家居  ", "text") == Parsed("山岚家居")
    assert parse_value(2026, "text") == Parsed("2026", ("to_text",))
    assert parse_value(0.125, "text") == Parsed("0.125", ("to_text",))
    assert parse_value(True, "text") == Parsed("TRUE", ("to_text",))
    as_date = parse_value(dt.datetime(2026, 7, 1), "text")  # Excel turned "2026-07" into a date
    assert as_date.value == "2026-07-01" and as_date.guessed
    assert parse_value("=A1&B1", "text", formula=True).problem == "formula"
    assert parse_value("a\x01b", "text") == Parsed("ab", ("cleaned",))


def test_clean_text_removes_what_xml_refuses_and_keeps_line_breaks() -> None:
    assert clean_text("a\x00b\x08c\x0cd\x1fe\ufffef\uffffg") == ("abcdefg", True)
    assert clean_text("line1\r\nline2\rline3\tend") == ("line1\nline2\nline3\tend", False)
    # Word's manual line break (U+000B), as Excel escapes it and openpyxl leaves it
    assert clean_text("line1_x000B_line2") == ("line1\nline2", True)
    assert clean_text("a_x0001_b") == ("ab", True)
    # a literal escape a user typed (Excel wrote _x005F_x0041_, openpyxl gives _x0041_) stays
    assert clean_text("code _x0041_") == ("code _x0041_", False)
    # an escaped surrogate pair is one character; a lone surrogate goes
    assert clean_text("smile _xD83D__xDE00_") == ("smile \U0001f600", True)
    assert clean_text("lone \ud800 surrogate") == ("lone  surrogate", True)


# -- round trips ----------------------------------------------------------------------------

FORBIDDEN = {chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))}
FORBIDDEN |= {"\ufffe", "\uffff"}


def excel_escape(text: str) -> str:
    """What Excel writes for control characters (and what openpyxl hands back literally)."""
    return "".join(f"_x{ord(c):04X}_" if ord(c) < 0x20 and c not in "\t\n" else c for c in text)


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["", "¥", "RMB ", "￥"]),
       st.sampled_from(["", "元", " 元"]), st.booleans(), st.booleans())  # fmt: skip
def test_money_round_trips_through_any_typed_form(
    amount: int, prefix: str, suffix: str, fullwidth: bool, padded: bool
) -> None:
    text = f"{prefix}{amount:,}{suffix}"
    if fullwidth:
        text = text.translate(FULLWIDTH)
    if padded:
        text = f"  {text}\u3000"
    parsed = parse_value(text, "money")
    assert parsed.value == amount and parsed.ok


@given(st.decimals(min_value=0, max_value=1000, places=3))
def test_percent_text_round_trips(percent: Decimal) -> None:
    assert parse_value(f"{percent}%", "percent").value == float(percent / 100)
    assert parse_value(f"{percent} ％", "percent").value == float(percent / 100)


@given(st.decimals(min_value=0, max_value=99999, places=4), st.sampled_from(["万", "亿"]))
def test_chinese_multipliers_are_exact(amount: Decimal, word: str) -> None:
    factor = 10**4 if word == "万" else 10**8
    parsed = parse_value(f"{amount}{word}", "money")
    assert parsed.value == pytest.approx(float(amount * factor), rel=1e-15, abs=1e-9)


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_numbers_written_as_text_read_back_unchanged(number: float) -> None:
    text = number_text(number)
    assert not text.endswith(".0")
    assert "e" not in text or number < 1e-6
    assert parse_value(text, "number").value == number
    assert parse_value(text, "text").value == text


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_round_trip_through_every_typed_form(day: dt.date) -> None:
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        day.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
    ]
    for text in forms:
        assert parse_value(text, "date").value == day, text
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_value(serial, "date").value == day


@given(st.text(alphabet=st.characters(exclude_characters="_", codec="utf-8")))
def test_clean_text_is_xml_safe_idempotent_and_undoes_excel_escapes(text: str) -> None:
    cleaned, _ = clean_text(text)
    assert not FORBIDDEN & set(cleaned)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    assert clean_text(cleaned) == (cleaned, False)
    # Excel escapes control characters; reading the escape gives what reading the text gives.
    assert clean_text(excel_escape(text))[0] == cleaned
