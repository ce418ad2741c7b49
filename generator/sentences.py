"""The spec's sentences with the report's figures: placeholders filled, variants chosen by
their conditions, the person's review choices (keep, drop, rewrite), and table and metric rows
as text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from generator.figures import (
    Figures,
    usable_number,
    usable_text,
)
from generator.numfmt import DIRECTION_FORMATS
from generator.typeset import PLACEHOLDER, PRIVATE_USE, PRIVATE_USE_SIZE, typeset
from workbook import expr
from workbook.report import FieldValue, SentenceChoice
from workbook.spec import (
    SHOWN_PRECISION,
    Paragraph,
    Sentence,
    Spec,
    Table,
    Variant,
    placeholders,
)
from workbook.values import ValueType, number_text, parse_number

MissingMode = Literal["omit", "mark"]
MISSING_MODES: tuple[str, ...] = ("omit", "mark")


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
    for m in PLACEHOLDER.finditer(template):
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
        if len(phs) != 1 or not figures.spec.has(phs[0].id) or len(found) >= PRIVATE_USE_SIZE:
            return m.group(0)
        found.append(m.group(0))
        return chr(PRIVATE_USE + len(found) - 1)

    masked = PLACEHOLDER.sub(stand_in, text)
    cleaned = usable_text(masked)
    if cleaned is None:
        return None
    cleaned = typeset(cleaned, figures.lang)
    for i, raw in enumerate(found):
        shown = _placeholder_text(raw, figures, missing == "mark")
        if shown is None:
            return None
        cleaned = cleaned.replace(chr(PRIVATE_USE + i), shown)
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
