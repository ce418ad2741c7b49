"""Cell values as people type them: parse one cell's content for a field type (pure, no I/O).

Every parse returns a `Parsed`: the value (None for blank), the coercions made on the way, and,
when the content cannot be read for the type, the problem instead of a value. The rules are
documented in docs/reader.md; the important ones:

- numbers stored as text are read: `1,234`, `¥1,000`, `1.2万`, `3亿`, `１２３` (full-width),
  ` 12 ` (spaces), `12.5 %`; thousands separators must group by three (`1,2` is not a number);
- a percent field holds a fraction (0.12 = 12%). A number in the cell is taken as it is, so 12 is
  1200% and fails the field's range; text with a % sign is exact (`12%`), and text without one is
  read as it shows next to the sheet's % unit: `12` is 12% (recorded as a guess to check);
- dates: real date cells, `2026-10-10`, `2026/10/10`, `2026.10.10`, `2026年10月10日`, `20261010`,
  and Excel date serial numbers (a guess to check); day-first or month-first forms are refused;
- Excel error values (`#DIV/0!` ...) and formulas that are not plain arithmetic are unreadable;
- text has control characters removed and Excel's `_x000B_` escapes decoded.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal

from workbook import expr

ValueType = Literal["text", "count", "money", "number", "percent", "date"]
Value = float | int | str | dt.date | None

# What was done to read a value. "Guesses" may change its meaning and are worth a look.
Coercion = Literal[
    "text_number",  # a number stored as text
    "grouping",  # thousands separators removed
    "currency",  # a currency sign or unit removed
    "fullwidth",  # full-width digits or punctuation
    "multiplier",  # 万, 亿, k ...
    "w_multiplier",  # w or W read as 万
    "approx",  # 约, 左右, ≈ removed: an approximate figure taken as it is
    "unit",  # the field's own unit word removed ("36款")
    "percent_assumed",  # text without % in a percent field, read as a percentage (guess)
    "formula",  # a formula of plain arithmetic, evaluated
    "date_text",  # a date typed as text
    "date_year",  # a month and day without a year: the year comes from the period
    "date_serial",  # a number read as an Excel date serial (guess)
    "time_dropped",  # a date with a time of day: the time is dropped
    "to_text",  # a number or boolean in a text field, written as text
    "date_to_text",  # a date in a text field, written as ISO text (guess)
    "placeholder",  # "-", "—", "/", "无", "N/A" read as blank
    "cleaned",  # control characters removed or escapes decoded
]
GUESSES: frozenset[str] = frozenset({"percent_assumed", "date_serial", "date_to_text"})

# Why a value cannot be read for its type; the value is then None.
Problem = Literal["error", "formula", "not_number", "not_date", "bool", "percent_elsewhere"]

ERROR_VALUES = frozenset(
    {
        "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
        "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
        "#PYTHON!", "#TIMEOUT!",
    }
)  # fmt: skip
_LIBREOFFICE_ERROR = re.compile(r"^Err:\d{3}$")

# Typed to mean "nothing here": read as blank.
PLACEHOLDERS = frozenset({"-", "--", "—", "——", "–", "/", "n/a", "na", "无", "暂无", "空"})

_MULTIPLIERS: tuple[tuple[str, Decimal], ...] = (  # longest first
    ("万亿", Decimal(10) ** 12),
    ("千万", Decimal(10) ** 7),
    ("百万", Decimal(10) ** 6),
    ("亿", Decimal(10) ** 8),
    ("万", Decimal(10) ** 4),
    ("千", Decimal(10) ** 3),
    ("k", Decimal(10) ** 3),
    ("K", Decimal(10) ** 3),
    ("w", Decimal(10) ** 4),  # 万, as typed on a Latin keyboard: 18.6w
    ("W", Decimal(10) ** 4),
)
# An approximate figure: the number is taken, with a note ("约795万", "795万左右").
_APPROX_PREFIXES = ("大约", "约合", "约", "≈", "~")
_APPROX_SUFFIXES = ("左右",)
_CURRENCY_PREFIXES = ("¥", "RMB", "CNY", "$")
_CURRENCY_SUFFIXES = ("元", "RMB", "CNY")
_MINUS_SIGNS = "\u2212\u2012\u2013\u2014\ufe63"
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^\.\d+$")
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?[eE][+-]?\d+$")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
# Excel serial numbers of the dates the workbook accepts (2000-01-01 .. 2100-12-31).
_SERIAL_MIN, _SERIAL_MAX = 36526, 73415
_EXCEL_EPOCH = dt.date(1899, 12, 30)

# Text cleaning. openpyxl turns `_x005F_` back into "_" but leaves the escapes of control
# characters literal, so only escapes of characters that cannot appear in XML are decoded: a
# user who typed a literal "_x0041_" keeps it.
_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|[Dd][89A-Fa-f][0-9A-Fa-f]{2}|[Ff]{3}[EeFf])_")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_FORBIDDEN = re.compile("[\x00-\x08\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Parsed:
    """One cell read for one type: a value, or a problem; plus the coercions made."""

    value: Value
    coercions: tuple[Coercion, ...] = ()
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def guessed(self) -> bool:
        return any(c in GUESSES for c in self.coercions)


BLANK = Parsed(None)


def clean_text(text: str) -> tuple[str, bool]:
    """Text safe for XML and Word: escapes decoded, control characters and lone surrogates gone.

    Tabs and line breaks stay (CR LF and CR become LF); U+000B, Word's manual line break that
    Excel keeps when text is pasted from Word, becomes a line break rather than gluing two words.
    Returns the text and whether anything other than line-break style changed.
    """
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text
    if _PAIR.search(decoded):  # an escaped surrogate pair is one character
        decoded = _PAIR.sub(_join_pair, decoded)
    out = decoded.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    out = _FORBIDDEN.sub("", out)
    changed = out != text.replace("\r\n", "\n").replace("\r", "\n")
    return out, changed


def _join_pair(m: re.Match[str]) -> str:
    high, low = m.group()[0], m.group()[1]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + ord(low) - 0xDC00)


def is_error_value(raw: object) -> bool:
    """An Excel (or LibreOffice) error value, as openpyxl gives it: `#DIV/0!`, `Err:502`."""
    if not isinstance(raw, str):
        return False
    text = raw.strip().upper()
    return text in ERROR_VALUES or bool(_LIBREOFFICE_ERROR.match(raw.strip()))


def is_percent_format(number_format: str) -> bool:
    """The cell's number format shows a percentage (0%, 0.0%, +0.00%;-0.00%), outside quotes."""
    return "%" in re.sub(r'"[^"]*"|\\.', "", number_format or "")


def parse_value(
    raw: object,
    kind: ValueType,
    *,
    formula: bool = False,
    units: tuple[str, ...] = (),
    number_format: str = "General",
    period_start: dt.date | None = None,
) -> Parsed:
    """Read one cell's content for a field type.

    raw: the cell value as openpyxl gives it (None, str, int, float, bool, date, datetime, time);
    formula: the cell holds a formula (raw is its text, starting with "="); units: the field's
    unit words in every locale ("款", "items"), accepted after a number; number_format: the
    cell's, so that a number shown as a percentage in a text field reads as shown (12%);
    period_start: the period's first day, for a date typed without a year (parse_date).
    """
    if raw is None:
        return BLANK
    if formula:
        return _parse_formula(str(raw), kind, units)
    if is_error_value(raw):
        return Parsed(None, problem="error")
    if kind == "text":
        return _parse_text(raw, number_format)
    if kind == "date":
        return parse_date(raw, period_start)
    return parse_number(raw, kind, units)


def _parse_formula(text: str, kind: ValueType, units: tuple[str, ...]) -> Parsed:
    """A formula typed into an input: plain arithmetic on numbers (=1200+300) is evaluated."""
    body = text[1:] if text.startswith("=") else text
    try:
        node = expr.parse(body.strip())
    except expr.ExprError:
        return Parsed(None, problem="formula")
    if expr.references(node) or kind in ("text", "date"):
        return Parsed(None, problem="formula")
    value = expr.evaluate(node, {})
    if value is None:
        return Parsed(None, problem="formula")
    result = parse_number(value, kind, units)
    return Parsed(result.value, ("formula", *result.coercions), result.problem)


# ---------------------------------------------------------------------------------------------
# Text


def _parse_text(raw: object, number_format: str = "General") -> Parsed:
    if isinstance(raw, bool):
        return Parsed("TRUE" if raw else "FALSE", ("to_text",))
    if isinstance(raw, int | float):
        if is_percent_format(number_format) and math.isfinite(raw):
            # "12%" typed where the cell is not text: Excel, WPS and LibreOffice store 0.12
            # with a % format. It is read as shown, as typed: 12% (0.125 -> 12.5%).
            return Parsed(f"{number_text(round(raw * 100, 10))}%")
        return Parsed(number_text(raw), ("to_text",))
    if isinstance(raw, dt.datetime):
        if raw.time() == dt.time(0):
            return Parsed(raw.date().isoformat(), ("date_to_text",))
        return Parsed(raw.isoformat(sep=" "), ("date_to_text",))
    if isinstance(raw, dt.date | dt.time):
        return Parsed(raw.isoformat(), ("date_to_text",))
    text, changed = clean_text(str(raw))
    text = text.strip()
    if not text:
        return BLANK
    return Parsed(text, ("cleaned",) if changed else ())


def number_text(value: float) -> str:
    """A number as text, as short as round-trips, without a spurious ".0" and without an
    exponent in the range people type: 2026, 0.125, 1234567.891, 0.00005."""
    if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
        return str(int(value))
    text = repr(float(value))
    if "e" in text and 1e-6 <= abs(value) < 1e16:  # the range people type: no exponent
        text = format(Decimal(text), "f")
    return text


# ---------------------------------------------------------------------------------------------
# Numbers as a person reads them (the summary, `check` messages): one definition of rounding

_ROUNDING = Context(prec=400, rounding=ROUND_HALF_UP)  # enough for the largest float


def rounded(value: float, decimals: int, *, group: bool = True) -> str:
    """value rounded half-up (on the decimal a person reads: 0.125 -> 0.13) to at most
    `decimals` places, trailing zeros dropped, with thousands separators. NaN and infinities
    raise ValueError."""
    return _rounded(shown_decimal(value), decimals, group=group)


def percent_digits(fraction: float) -> str:
    """A fraction as a percentage without its sign, as the summary writes it: one decimal, two
    below 1% (0.325928 -> "32.6", 0.0045 -> "0.45", 0.28 -> "28")."""
    pct = shown_decimal(fraction).scaleb(2)
    small = abs(_ROUNDING.quantize(pct, Decimal("0.01"))) < 1
    return _rounded(pct, 2 if small else 1)


def shown_decimal(value: float) -> Decimal:
    """The value a person reads, as Excel and LibreOffice show it: 15 significant digits, rounded
    half-up from the shortest decimal that round-trips (repr). So 0.125 stays 0.125,
    0.13749999999999996 is 0.1375 (13.75%, which Excel's ROUND prints 13.8%), and
    4.924106613226984e17 reads 492,410,661,322,698,000."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    exact = Decimal(repr(float(value)))
    if exact.is_zero():
        return exact
    return exact.quantize(Decimal(1).scaleb(exact.adjusted() - 14), rounding=ROUND_HALF_UP)


def _rounded(d: Decimal, decimals: int, *, group: bool = True) -> str:
    q = _ROUNDING.quantize(d, Decimal(1).scaleb(-decimals))
    text = format(q.copy_abs() if q.is_zero() else q, ",f" if group else "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---------------------------------------------------------------------------------------------
# Numbers


def _number_result(value: Decimal | float, kind: ValueType) -> int | float:
    if kind == "percent":
        return float(value)
    as_float = float(value)
    if math.isfinite(as_float) and as_float.is_integer() and abs(as_float) < 2**53:
        return int(as_float)
    return as_float


def parse_number(raw: object, kind: ValueType, units: tuple[str, ...] = ()) -> Parsed:
    """A count, money, number or percent value (see the module docstring for the rules)."""
    if isinstance(raw, bool):
        return Parsed(None, problem="bool")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return Parsed(None, problem="not_number")
        return Parsed(_number_result(raw, kind))
    if not isinstance(raw, str):  # a date or time in a number field
        return Parsed(None, problem="not_number")
    return _number_from_text(raw, kind, units)


def _number_from_text(raw: str, kind: ValueType, units: tuple[str, ...]) -> Parsed:
    coercions: list[Coercion] = ["text_number"]
    text = unicodedata.normalize("NFKC", raw).strip()
    if text != raw.strip() and any(not c.isspace() for c in set(raw) - set(text)):
        coercions.append("fullwidth")
    if not text:
        return BLANK
    if text.lower() in PLACEHOLDERS:
        return Parsed(None, ("placeholder",))
    if len(text) > 64:
        return Parsed(None, problem="not_number")
    approx = next((p for p in _APPROX_PREFIXES if text.startswith(p)), None)
    if approx is not None and len(text) > len(approx):
        coercions.append("approx")
        text = text[len(approx) :].strip()
    approx = next((p for p in _APPROX_SUFFIXES if text.endswith(p)), None)
    if approx is not None and len(text) > len(approx):
        if "approx" not in coercions:
            coercions.append("approx")
        text = text[: -len(approx)].strip()
    sign, text = _take_sign(text)
    if kind == "money":
        prefix = next((p for p in _CURRENCY_PREFIXES if text.upper().startswith(p)), None)
        if prefix is not None:
            coercions.append("currency")
            text = text[len(prefix) :].strip()
            if sign == 1:
                sign, text = _take_sign(text)
    unit = next((u for u in units if u and text.endswith(u) and len(text) > len(u)), None)
    if unit is not None:
        coercions.append("unit")
        text = text[: -len(unit)].strip()
    if kind == "money":
        suffix = next((s for s in _CURRENCY_SUFFIXES if text.upper().endswith(s)), None)
        if suffix is not None and len(text) > len(suffix):
            coercions.append("currency")
            text = text[: -len(suffix)].strip()
    factor, divisor = Decimal(1), Decimal(1)
    if text.endswith(("%", "‰")):
        if kind != "percent":
            return Parsed(None, problem="percent_elsewhere")
        divisor = Decimal(100) if text.endswith("%") else Decimal(1000)
        text = text[:-1].strip()
    else:
        word = next((w for w, _ in _MULTIPLIERS if text.endswith(w) and len(text) > len(w)), None)
        if word is not None:
            coercions.append("w_multiplier" if word in "wW" else "multiplier")
            factor = dict(_MULTIPLIERS)[word]
            text = text[: -len(word)].strip()
        if kind == "percent":
            divisor = Decimal(100)
            coercions.append("percent_assumed")
    if "," in text:
        coercions.append("grouping")
    if not (_NUMBER.match(text) or _SCIENTIFIC.match(text)):
        return Parsed(None, problem="not_number")
    number = sign * Decimal(text.replace(",", "")) * factor / divisor
    if not math.isfinite(float(number)):  # 1e999: too large for any cell
        return Parsed(None, problem="not_number")
    return Parsed(_number_result(number, kind), tuple(coercions))


def _take_sign(text: str) -> tuple[int, str]:
    if text[:1] == "+":
        return 1, text[1:].strip()
    if text[:1] == "-" or text[:1] in _MINUS_SIGNS:
        return -1, text[1:].strip()
    return 1, text


# ---------------------------------------------------------------------------------------------
# Dates


def parse_date(raw: object, period_start: dt.date | None = None) -> Parsed:
    """A date: date cells, ISO-like and Chinese text forms, Excel serials (a guess).

    period_start: the first day of the workbook's period; a month and day without a year
    ("7月8日") is then the first such date on or after it (a deadline in January of a fourth
    quarter is next year's)."""
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0):
            return Parsed(raw.date(), ("time_dropped",))
        return Parsed(raw.date())
    if isinstance(raw, dt.date):
        return Parsed(raw)
    if isinstance(raw, bool):
        return Parsed(None, problem="bool")
    if isinstance(raw, int | float):
        if math.isfinite(raw) and float(raw).is_integer() and _SERIAL_MIN <= raw <= _SERIAL_MAX:
            return Parsed(_EXCEL_EPOCH + dt.timedelta(days=int(raw)), ("date_serial",))
        return Parsed(None, problem="not_date")
    if not isinstance(raw, str):
        return Parsed(None, problem="not_date")
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return BLANK
    if text.lower() in PLACEHOLDERS:
        return Parsed(None, ("placeholder",))
    m = _DATE.match(text) or _COMPACT_DATE.match(text)
    if m is None:
        return _month_day(text, period_start)
    try:
        value = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return Parsed(None, problem="not_date")
    return Parsed(value, ("date_text",))


def _month_day(text: str, period_start: dt.date | None) -> Parsed:
    """ "7月8日" with the year from the period (see parse_date); not a date without one."""
    m = _MONTH_DAY.match(text)
    if m is None or period_start is None:
        return Parsed(None, problem="not_date")
    month, day = int(m.group(1)), int(m.group(2))
    year = period_start.year + ((month, day) < (period_start.month, period_start.day))
    try:
        return Parsed(dt.date(year, month, day), ("date_text", "date_year"))
    except ValueError:
        return Parsed(None, problem="not_date")
