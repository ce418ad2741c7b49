"""Narrative: what the summary says, as plain blocks; the spec's sentences with the report's
figures filled in, for one locale. No Word formatting here (that is docx_writer's job).

A sentence is the unit that is left out (`missing="omit"`) or marked (`missing="mark"`) when
one of its figures is missing; a sentence without placeholders stays when its subsection has
some of the user's data (a figure, a table row or a note), and is left out otherwise. Nothing here
writes `None`, `nan`, `inf`, `[X]`, `{` or an Excel error value: unusable values count as
missing, and user text is cleaned before it reaches the document.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Literal

from generator.chartdata import ChartBlock, spec_chart
from generator.numfmt import DIRECTION_FORMATS, NumberFormatter, formatter
from workbook import expr
from workbook.errors import UsageProblem
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import FieldValue, Report, SentenceChoice
from workbook.spec import (
    SHOWN_PRECISION,
    Field,
    Kpi,
    Metric,
    Paragraph,
    Section,
    Sentence,
    Spec,
    Subsection,
    Table,
    Variant,
    placeholders,
)
from workbook.values import ValueType, number_text, parse_number

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

MissingMode = Literal["omit", "mark"]
MISSING_MODES: tuple[str, ...] = ("omit", "mark")

# What Excel (and LibreOffice) show instead of a value; never a figure.
EXCEL_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
    "#PYTHON!", "#TIMEOUT!",
    # LibreOffice's own: Err:502 invalid argument, 504, 508 brackets, 511, 522 circular, 523.
    "ERR:502", "ERR:504", "ERR:508", "ERR:511", "ERR:522", "ERR:523",
})  # fmt: skip
_EXCEL_ERROR_RE = re.compile(
    "|".join(re.escape(e) for e in sorted(EXCEL_ERRORS, key=len, reverse=True)), re.IGNORECASE
)
# Text that is really "nothing", as some program wrote it.
_NULL_WORDS = frozenset({
    "none", "nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity", "null", "nil",
    "undefined", "[x]",
})  # fmt: skip
# Characters lxml refuses (office-notes: "All strings must be XML compatible").
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel's escapes for control characters as openpyxl returns them: _x000B_.
_XL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def clean_text(text: str) -> str:
    """User text made safe for the document: XML-legal, no template braces, tidy lines."""
    text = _XL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _XML_ILLEGAL.sub("", text)
    # Braces only ever mean an unfilled placeholder to a reader of the summary.
    text = text.replace("{", "(").replace("}", ")").replace("[X]", "").replace("[x]", "")
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def usable_text(value: FieldValue) -> str | None:
    """A text value fit to print, or None when it is blank, an error value or a null word."""
    if not isinstance(value, str):
        return None
    text = clean_text(value)
    if not text or text.lower() in _NULL_WORDS or _EXCEL_ERROR_RE.search(text):
        return None
    return text


def usable_number(value: FieldValue) -> float | None:
    """A finite number, or None (blank, text, a boolean, NaN or an infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ----------------------------------------------------------------------------------------------
# Chinese typesetting of the spec's text


_PRIVATE_USE, _PRIVATE_USE_SIZE = 0xE000, 0x1000  # stand-ins for placeholders while typesetting
_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}
_FULL_WIDTH_MARKS = frozenset("，：；？！（）")


def _wide(ch: str) -> bool:
    """CJK ideographs, kana/hangul, full-width forms and CJK punctuation, curly quotes."""
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFE30 <= code <= 0xFE4F
        or 0xFF00 <= code <= 0xFFEF
        or _PRIVATE_USE <= code < _PRIVATE_USE + _PRIVATE_USE_SIZE
        or ch in "“”‘’…—"
    )


def _typeset_plain(text: str) -> str:
    out: list[str] = []
    # Parentheses: a pair becomes full-width when its content or a neighbour is Chinese.
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs[stack.pop()] = i
    wide_pairs: set[int] = set()
    for start, end in pairs.items():
        before = text[start - 1] if start > 0 else ""
        after = text[end + 1] if end + 1 < len(text) else ""
        inner = text[start + 1 : end]
        if any(_wide(c) for c in inner + before + after):
            wide_pairs.update((start, end))
    for i, ch in enumerate(text):
        if ch == " " and out and out[-1] in _FULL_WIDTH_MARKS:
            continue  # a full-width mark carries its own space
        if i in wide_pairs:
            out.append("（" if ch == "(" else "）")
        elif ch in _FULL:
            prev = out[-1] if out else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if (prev and _wide(prev)) or (nxt and _wide(nxt)):
                out.append(_FULL[ch])
            else:
                out.append(ch)
        else:
            out.append(ch)
    return "".join(out)


def typeset(text: str, lang: str) -> str:
    """Text in the locale's typography.

    The template spec (and many users typing in Excel) write Chinese with ASCII punctuation
    (, : ; ( )); a Chinese document uses the full-width forms. A mark is converted only next to
    Chinese text, so "A/B", "1,234" and English phrases keep theirs. Placeholders stand in as
    wide characters while punctuation is converted, and figures are substituted afterwards, so
    thousands separators are never touched.
    """
    if normalize_lang(lang) != "zh-CN":
        return text
    found = _PLACEHOLDER.findall(text)
    if len(found) > _PRIVATE_USE_SIZE:
        raise ValueError("too many placeholders in one sentence")
    masked = _PLACEHOLDER.sub(lambda m: chr(_PRIVATE_USE + found.index(m.group(0))), text)
    out = _typeset_plain(masked)
    for i, raw in enumerate(found):
        out = out.replace(chr(_PRIVATE_USE + i), raw)
    return out


# ----------------------------------------------------------------------------------------------
# Figures


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
        item = self.spec.item(id_)
        if isinstance(item, Field):
            return item.type
        if isinstance(item, Kpi):
            return item.format
        return "table"

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


# ----------------------------------------------------------------------------------------------
# Sentences and paragraphs


@dataclass(frozen=True)
class RenderedParagraph:
    """One paragraph of the summary: an optional bold lead ("商品运营：") and its text."""

    lead: str | None
    text: str


def _placeholder_text(
    raw: str, figures: Figures, mark: bool, shown: dict[str, str] | None = None
) -> str | None:
    """One placeholder's text; None when missing (and not marking).

    shown: figures already formatted for this sentence (a pair printed at the precision that
    tells them apart).
    """
    (ph,) = placeholders(raw)
    if ph.fmt is None:
        if shown and ph.id in shown:
            return shown[ph.id]
        text = figures.text(ph.id)
        if text is None:
            return figures.marker(ph.id) if mark else None
        return text
    value = figures.number(ph.id)
    if value is None:
        if not mark:
            return None
        if ph.fmt == "to":  # keep the movement word: 从【…】变为【…】
            return figures.t("numfmt.to_unknown", value=figures.marker(ph.id))
        return figures.marker(ph.id)
    kind = figures.kind(ph.id)
    if ph.fmt in DIRECTION_FORMATS:
        fmt = ph.fmt
        if fmt == "change" and figures.polarity(ph.id) != "higher_better":
            fmt = "rise"  # neutral verbs (上升/下降) where up is not an improvement
        return figures.fmt.direction(fmt, value, kind) + figures.covers(ph.id)
    if ph.fmt == "size":
        return figures.fmt.magnitude(value, kind) + figures.covers(ph.id)
    if ph.fmt == "to" and ph.ref is not None:
        ref = figures.number(ph.ref)
        if ref is None and not mark:
            return None
        return figures.fmt.moved_to(value, ref, kind) + figures.covers(ph.id)
    if ph.fmt == "gap" and ph.ref is not None:
        ref = figures.number(ph.ref)
        if ref is None:
            return figures.marker(ph.ref) if mark else None
        return figures.fmt.gap(value, ref, kind)
    raise ValueError(f"unknown placeholder format in {raw}")


def _distinct(sentence: str, figures: Figures) -> dict[str, str]:
    """Plain figures of a sentence that would print the same although they differ, at the
    precision that tells them apart (2.65% and 2.56%, not 2.6% twice)."""
    ids = [ph.id for ph in placeholders(sentence) if ph.fmt is None]
    out: dict[str, str] = {}
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            kind = figures.kind(a)
            va, vb = figures.number(a), figures.number(b)
            if va is None or vb is None or kind != figures.kind(b) or a == b:
                continue
            ta, tb = figures.fmt.pair(va, vb, kind)
            if ta != figures.fmt.value(va, kind):
                out[a], out[b] = ta, tb
    return out


def render_sentence(sentence: str, figures: Figures, missing: MissingMode) -> str | None:
    """The sentence with its figures, or None when a figure is missing and missing="omit"."""
    mark = missing == "mark"
    template = typeset(sentence, figures.lang)
    shown = _distinct(template, figures)
    out: list[str] = []
    last = 0
    # One pass over the template: a substituted value is never scanned again, so user text
    # that happens to contain "{gmv}" stays text.
    for m in _PLACEHOLDER.finditer(template):
        text = _placeholder_text(m.group(0), figures, mark, shown)
        if text is None:
            return None
        out.append(template[last : m.start()])
        out.append(text)
        last = m.end()
    out.append(template[last:])
    return "".join(out)


def choose_variant(sentence: Sentence, figures: Figures, missing: MissingMode) -> Variant | None:
    """The first variant whose condition holds on the figures; with a figure missing, the
    `missing` variant when marking, else none (the sentence is left out)."""
    for variant in sentence.variants:
        if variant.missing:
            continue
        if variant.node is None:
            return variant
        env = {id_: figures.number(id_) for id_ in expr.references(variant.node)}
        if expr.evaluate(variant.node, env):
            return variant
    if missing == "mark":
        return next((v for v in sentence.variants if v.missing), None)
    return None


def _zero_count(text: str, variant: Variant, figures: Figures) -> bool:
    """A count shown as 0 that the variant's condition did not choose ("执行0场")."""
    chosen = set() if variant.node is None else set(expr.references(variant.node))
    for ph in placeholders(text):
        if ph.fmt is None and ph.id not in chosen and figures.kind(ph.id) == "count":
            value = figures.number(ph.id)
            factor, places = SHOWN_PRECISION["count"]
            if value is not None and expr.excel_round(value * factor, places) == 0:
                return True
    return False


def render_rewrite(text: str, figures: Figures, missing: MissingMode) -> str | None:
    """The person's own wording; {id} markers of the sentence's figures become the figures."""
    found: list[str] = []

    def stand_in(m: re.Match[str]) -> str:
        try:
            phs = placeholders(m.group(0))
        except ValueError:
            return m.group(0)
        if len(phs) != 1 or not figures.spec.has(phs[0].id) or len(found) >= _PRIVATE_USE_SIZE:
            return m.group(0)
        found.append(m.group(0))
        return chr(_PRIVATE_USE + len(found) - 1)

    masked = _PLACEHOLDER.sub(stand_in, text)
    cleaned = usable_text(masked)
    if cleaned is None:
        return None
    cleaned = typeset(cleaned, figures.lang)
    for i, raw in enumerate(found):
        shown = _placeholder_text(raw, figures, missing == "mark")
        if shown is None:
            return None
        cleaned = cleaned.replace(chr(_PRIVATE_USE + i), shown)
    return cleaned


def render_choice(
    sentence: Sentence, figures: Figures, missing: MissingMode, *, keep_fixed: bool = True
) -> str | None:
    """One sentence of the summary as the person chose it (docs/narrative.md).

    auto (no choice made): the variant the figures select; template wording only (examples,
    diagnoses) is left out. keep: the template's wording. drop: nothing. rewrite: their text.
    """
    choice = figures.report.choices.get(sentence.id, SentenceChoice())
    if choice.choice == "drop":
        return None
    if choice.choice == "rewrite" and choice.text:
        return render_rewrite(choice.text, figures, missing)
    if choice.choice == "keep" and sentence.template is not None:
        return render_sentence(sentence.template(figures.lang), figures, missing)
    variant = choose_variant(sentence, figures, missing)
    if variant is None or variant.text is None:
        return None
    text = variant.text(figures.lang)
    if choice.choice == "auto":
        if not keep_fixed and not placeholders(text) and not sentence.conditional:
            return None
        if _zero_count(text, variant, figures):
            return None
    return render_sentence(text, figures, missing)


def has_figures(sentence: str, figures: Figures) -> bool:
    """True when the sentence has placeholders and every figure it needs is present."""
    return bool(placeholders(sentence)) and render_sentence(sentence, figures, "omit") is not None


def render_paragraph(
    paragraph: Paragraph, figures: Figures, missing: MissingMode, *, keep_fixed: bool = True
) -> RenderedParagraph | None:
    """The paragraph's surviving sentences, or None when every one was left out.

    keep_fixed=False drops the template's sentences that carry no figure: they are claims the
    user never made unless some of their own data stands beside them.
    """
    sentences = [
        render_choice(sentence, figures, missing, keep_fixed=keep_fixed)
        for sentence in paragraph.sentences
    ]
    kept = [s for s in sentences if s]
    if not kept:
        return None
    lead = None
    if paragraph.lead is not None:
        lead = figures.t("docx.lead", lead=typeset(paragraph.lead(figures.lang), figures.lang))
    return RenderedParagraph(lead, figures.t("docx.sentence_join").join(kept))


def note_paragraphs(figures: Figures, subsection: str) -> list[str]:
    """The user's own notes (fields with note = true) of a subsection, one item per line."""
    out: list[str] = []
    for f in figures.spec.fields_of(subsection):
        if f.note:
            text = figures.text(f.id)
            if text:
                out.extend(text.split("\n"))
    return out


def table_rows(table: Table, figures: Figures) -> list[list[str]]:
    """A free-text table's rows as display strings; empty rows are dropped, blanks show —."""
    rows: list[list[str]] = []
    dash = figures.t("numfmt.not_applicable")
    for raw in figures.report.tables.get(table.id, []):
        cells: list[str | None] = []
        for column in table.columns:
            value = raw.get(column.id)
            cells.append(_cell_text(value, column.type, figures))
        if any(c for c in cells):
            rows.append([c or dash for c in cells])
    return rows


def _cell_text(value: FieldValue, kind: str, figures: Figures) -> str | None:
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return figures.fmt.short_date(value)
        return _user_text(value, figures.lang)
    if kind in ("count", "money", "number", "percent"):
        number = usable_number(value)
        if number is not None:
            return figures.fmt.value(number, kind, table=True)
        return _user_text(value, figures.lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = usable_number(value)
        return None if number is None else figures.fmt.number(number)
    return _user_text(value, figures.lang)


def own_metric_rows(
    spec: Spec, section_id: str, figures: Figures, with_target: bool
) -> list[tuple[str, ...]]:
    """The person's own metrics of a section as KPI table rows: name, previous, current (as
    typed, with the unit), change where both are numbers (percentage points between two
    percentages), and no target. A row without a name or a current value is left out."""
    dash = figures.t("numfmt.not_applicable")
    rows: list[tuple[str, ...]] = []
    for table in spec.tables:
        if table.kind != "metrics" or spec.section_of(table.id).id != section_id:
            continue
        for raw in figures.report.tables.get(table.id, []):
            name = _user_text(raw.get("name"), figures.lang)
            current = _user_text(_as_text(raw.get("current")), figures.lang)
            if name is None or current is None:
                continue
            unit = usable_text(raw.get("unit")) or ""
            prev = _user_text(_as_text(raw.get("prev")), figures.lang)
            cells = [
                name,
                _with_unit(prev, unit, figures) if prev else dash,
                _with_unit(current, unit, figures),
                _own_change(prev, current, figures) or dash,
            ]
            if with_target:
                cells.append(dash)
            rows.append(tuple(cells))
    return rows


def _as_text(value: FieldValue) -> FieldValue:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return value


def _with_unit(text: str, unit: str, figures: Figures) -> str:
    if not unit or text.endswith(unit) or text.endswith("%"):
        return text
    return figures.fmt.with_unit(text, unit)


def _own_change(prev: str | None, current: str, figures: Figures) -> str | None:
    """+12%, or +2.0 pp between two percentages; None when either is not a number."""
    if prev is None:
        return None
    both_percent = prev.rstrip().endswith("%") and current.rstrip().endswith("%")
    kind: ValueType = "percent" if both_percent else "number"
    a, b = parse_number(prev, kind).value, parse_number(current, kind).value
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    if both_percent:
        return figures.fmt.pp((b - a) * 100, short=True, signed=True)
    if a == 0:
        return None
    return figures.fmt.change(b / a - 1)


def _user_text(value: FieldValue, lang: str) -> str | None:
    text = usable_text(value)
    return None if text is None else typeset(text, lang)


# ----------------------------------------------------------------------------------------------
# Blocks: what the document says, before any Word formatting


@dataclass(frozen=True)
class Heading:
    """A title, section or subsection heading of the summary."""

    level: int  # 0 title, 1 section, 2 subsection
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph of the summary."""

    text: str
    lead: str | None = None  # bold words starting the paragraph
    # "list": a line of names or notes, set flush left (justified, Word spreads a line of few
    # breakable points letter by letter)
    role: Literal["body", "meta", "note", "missing", "list"] = "body"


@dataclass(frozen=True)
class TableBlock:
    """A table of the summary: caption, header row, body rows, column widths and alignment."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # fractions of the text width
    centered: tuple[bool, ...]  # per column: centre (figures) or left (text)


Block = Heading | Para | TableBlock | ChartBlock


class _Outline:
    """Builds the blocks of one summary."""

    def __init__(
        self, spec: Spec, report: Report, lang: str, missing: MissingMode, charts: bool = True
    ) -> None:
        self.spec = spec
        self.report = report
        self.lang = lang
        self.missing = missing
        self.fig = Figures(spec, report, lang)
        self.t: Catalog = catalog(lang)
        self.tables = 0
        self.figures = 0
        self.with_charts = charts

    def ts(self, text: str) -> str:
        return typeset(text, self.lang)

    def numeral(self, n: int) -> str:
        numerals = self.t.list("docx.numerals")
        return numerals[n - 1] if n <= len(numerals) else str(n)

    def section_heading(self, section: Section) -> str:
        title = self.ts(section.title(self.lang))
        if section.kind == "numbered" and section.number is not None:
            return self.t("docx.section_heading", numeral=self.numeral(section.number), title=title)
        return title

    def caption(self, key: str, **params: str) -> str:
        self.tables += 1
        return self.t(key, n=self.tables, **params)

    def charts(self, place: str) -> list[Block]:
        """The spec's charts placed after this section's KPI table or this subsection."""
        out: list[Block] = []
        for chart in self.spec.charts:
            if not self.with_charts or chart.after != place:
                continue
            block = spec_chart(self.fig, chart, self.spec.metrics)
            if block is not None:
                self.figures += 1
                caption = self.t("charts.caption", n=self.figures, title=block.title)
                out.append(dataclasses.replace(block, caption=caption))
        return out

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(0, self.ts(self.spec.title(self.lang)))]
        out.extend(self.meta())
        for section in self.spec.sections:
            if section.kind != "cover":
                out.extend(self.section(section))
        return out

    def meta(self) -> list[Block]:
        """Store and period; department and author; date: centred lines under the title."""
        lines = (
            (("docx.meta_store", "store_name"), ("docx.meta_period", "period")),
            (("docx.meta_department", "department"), ("docx.meta_author", "author")),
            (("docx.meta_date", "report_date"),),
        )
        out: list[Block] = []
        for line in lines:
            items = []
            for key, id_ in line:
                if not self.spec.has(id_):
                    continue
                value = self.fig.text(id_)
                if value is None and self.missing == "mark":
                    value = self.fig.marker(id_)
                if value is not None:
                    value = " ".join(value.split("\n"))
                    items.append(self.t("docx.meta_item", label=self.t(key), value=value))
            if items:
                out.append(Para(self.t("docx.meta_separator").join(items), role="meta"))
        return out

    def section(self, section: Section) -> list[Block]:
        body: list[Block] = []
        body.extend(self.kpi_table(section))
        body.extend(self.charts(section.id))
        headings = lists = 0
        for sub in self.spec.subsections_of(section.id):
            content = [*self.subsection(sub), *self.charts(sub.id)]
            if not content:
                continue
            if sub.style == "heading" and sub.title is not None:
                headings += 1
                text = self.t(
                    "docx.subsection_heading",
                    numeral=self.numeral(headings),
                    title=self.ts(sub.title(self.lang)),
                )
                body.append(Heading(2, text))
            elif sub.style == "list" and sub.title is not None:
                lists += 1
                lead = self.t("docx.list_lead", number=lists, title=self.ts(sub.title(self.lang)))
                first = content[0]
                if isinstance(first, Para) and first.lead is None and first.role == "body":
                    content[0] = Para(first.text, lead=lead)
                else:
                    content.insert(0, Para("", lead=lead))
            body.extend(content)
        if not body:
            body.append(Para(self.t("docx.section_missing"), role="missing"))
        return [Heading(1, self.section_heading(section)), *body]

    def subsection(self, sub: Subsection) -> list[Block]:
        """The spec's paragraphs, then the user's tables, then the user's notes."""
        out: list[Block] = []
        paragraphs = self.spec.paragraphs_of(sub.id)
        notes = note_paragraphs(self.fig, sub.id)
        # The template's figure-free sentences ("活动后链路缺乏分层引导……") only stand beside
        # the user's own data: a subsection with no figure, table row or note makes no claims.
        has_data = (
            bool(notes)
            or any(table_rows(table, self.fig) for table in self.list_tables(sub.id))
            or any(has_figures(s(self.lang), self.fig) for p in paragraphs for s in p.sentences)
        )
        for paragraph in paragraphs:
            rendered = render_paragraph(paragraph, self.fig, self.missing, keep_fixed=has_data)
            if rendered is not None:
                out.append(Para(rendered.text, lead=rendered.lead))
        for table in self.list_tables(sub.id):
            rows = table_rows(table, self.fig)
            if not rows:
                continue
            # A date (2026-11-30) needs about 18 characters of column to stay on one line.
            units = [max(c.width, 18) if c.type == "date" else c.width for c in table.columns]
            total = sum(units)
            out.append(
                TableBlock(
                    caption=self.caption(
                        "docx.table_caption", title=self.ts(table.label(self.lang))
                    ),
                    header=tuple(self.ts(c.label(self.lang)) for c in table.columns),
                    rows=tuple(tuple(r) for r in rows),
                    widths=tuple(u / total for u in units),
                    centered=tuple(c.type != "text" for c in table.columns),
                )
            )
        out.extend(Para(text, role="note") for text in notes)
        return out

    def list_tables(self, subsection_id: str) -> tuple[Table, ...]:
        """The subsection's tables of its own (a metrics table is part of the KPI table)."""
        return tuple(t for t in self.spec.tables_of(subsection_id) if t.kind == "list")

    def kpi_table(self, section: Section) -> list[Block]:
        """The section's KPI table and, when it shows changes, the note saying how they are
        measured (relative % for amounts and counts, percentage points for rates)."""
        metrics = [m for m in self.spec.metrics if m.section == section.id]
        with_target = any(m.target for m in metrics)
        rows = [row for m in metrics if (row := self.kpi_row(m, with_target)) is not None]
        rows.extend(own_metric_rows(self.spec, section.id, self.fig, with_target))
        if not rows:
            return []
        header = self.t.list("docx.kpi_header")
        if not with_target:
            header = header[:4]
        # Metric, previous, current, change (wider: "+2.0个百分点"), target.
        with_target_widths, without_target_widths = KPI_WIDTHS[self.lang]
        widths = with_target_widths if with_target else without_target_widths
        table = TableBlock(
            caption=self.caption("docx.kpi_caption", section=self.ts(section.title(self.lang))),
            header=tuple(header),
            rows=tuple(rows),
            widths=widths,
            centered=(False, *([True] * (len(header) - 1))),
        )
        dash = {self.t("numfmt.not_applicable"), self.t("numfmt.cell_missing")}
        kinds = {
            self.fig.kind(m.current) in RATE_KINDS
            for m, row in zip(metrics, self._rows_of(metrics, with_target), strict=True)
            if row is not None and row[3] not in dash
        }
        if not kinds:
            return [table]
        key = "narrative.change_note_" + ("both" if len(kinds) == 2 else "pp" if True in kinds
                                          else "relative")  # fmt: skip
        return [table, Para(self.t(key), role="note")]

    def _rows_of(self, metrics: list[Metric], with_target: bool) -> list[tuple[str, ...] | None]:
        return [self.kpi_row(m, with_target) for m in metrics]

    def change_cell(self, metric: Metric) -> str | None:
        """Previous to current: percentage points for rates and shares (+3.0个百分点), the
        relative change for amounts, counts and ratios (+8.7%); None when either is missing."""
        if metric.prev is None:
            return None
        prev, current = self.fig.number(metric.prev), self.fig.number(metric.current)
        if prev is None or current is None:
            return None
        kind = self.fig.kind(metric.current)
        factor, places = SHOWN_PRECISION.get(kind, (1, 2))
        if expr.excel_round(prev * factor, places) == expr.excel_round(current * factor, places):
            return self.t("narrative.change_flat")
        if kind in RATE_KINDS:
            points = (current - prev) * 100
            return self.fig.fmt.pp(points, short=True, signed=True)
        if prev == 0:
            return None
        return self.fig.fmt.change(current / prev - 1)

    def kpi_row(self, metric: Metric, with_target: bool) -> tuple[str, ...] | None:
        current = self.fig.text(metric.current, table=True)
        if current is None and self.missing == "omit":
            return None
        missing_cell = self.t(
            "numfmt.cell_missing" if self.missing == "mark" else "numfmt.not_applicable"
        )
        dash = self.t("numfmt.not_applicable")
        label = metric.label(self.lang)
        cells = [self.ts(label)]
        # A row whose label names the unit ("耗时（小时）") shows bare numbers: the unit once.
        unit = self.fig.unit(metric.current)
        with_unit = not (unit and unit in label)
        if not with_unit:
            current = self.fig.text(metric.current, table=True, with_unit=False)
        prev_text = (
            None
            if metric.prev is None
            else self.fig.text(metric.prev, table=True, with_unit=with_unit)
        )
        prev, now = (
            None if metric.prev is None else self.fig.number(metric.prev),
            self.fig.number(metric.current),
        )
        if prev is not None and now is not None and prev_text == current:
            # two different figures never print the same: 2.65% / 2.56%
            kind = self.fig.kind(metric.current)
            prev_text, current = self.fig.fmt.pair(prev, now, kind)
            if kind in ("count", "number") and TABLE_UNITS[self.lang] and with_unit:
                prev_text = self.fig.fmt.with_unit(prev_text, unit)
                current = self.fig.fmt.with_unit(current, unit)
        cells.append(dash if metric.prev is None else prev_text or missing_cell)
        cells.append(current or missing_cell)
        change = self.change_cell(metric)
        if change is not None:  # a team change over fewer than everyone says so
            change += self.fig.covers(metric.change or metric.current)
        cells.append(change if change is not None else (dash if metric.prev is None else
                                                        missing_cell))  # fmt: skip
        if with_target:
            if metric.target is None:
                cells.append(dash)
            else:
                target = self.fig.text(metric.target, table=True, with_unit=with_unit)
                cells.append(target or missing_cell)
        return tuple(cells)


def outline(
    spec: Spec,
    report: Report,
    *,
    lang: str,
    missing: MissingMode = "omit",
    charts: bool = True,
) -> list[Block]:
    """The summary as plain blocks, in reading order; charts: the spec's Word charts too."""
    if missing not in MISSING_MODES:
        raise UsageProblem("render.bad_missing", value=missing)
    return _Outline(spec, report, normalize_lang(lang), missing, charts).blocks()
