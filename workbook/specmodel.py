"""The template spec's model: plain, immutable types of the TOML template (no I/O).

workbook.spec loads it; workbook.specschema holds the allowed values of each key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from workbook import expr

DEFAULT_TEMPLATE = "ecommerce-ops-summary"

FieldType = Literal["text", "count", "money", "number", "percent", "date"]
KpiFormat = Literal["percent", "money", "count", "number", "ratio", "change", "pp"]
# The precision at which figures are shown and compared: (factor, decimal places) of the value
# as a person reads it. Two values equal at this precision are "flat" (持平); a pair that
# differs here is printed with enough decimals to show it (numfmt.NumberFormatter.pair).
SHOWN_PRECISION: Mapping[str, tuple[int, int]] = MappingProxyType({
    "percent": (100, 2), "change": (100, 2), "pp": (1, 1), "money": (1, 2), "count": (1, 0),
    "number": (1, 2), "ratio": (1, 2),
})  # fmt: skip
# Direction functions of sentence conditions, expanded to round() comparisons at that precision.
DIRECTIONS: Mapping[str, str] = MappingProxyType({"up": ">", "down": "<", "flat": "="})

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# The field types that hold a number: what expressions, weights and checks may read.
NUMERIC_TYPES: tuple[str, ...] = ("count", "money", "number", "percent")
# The roles a spec may give its fields ([roles] in the TOML): what the code needs by meaning.
ROLES = (
    "author", "department", "store", "business_scope", "period", "period_days", "core_goal",
    "report_date",
)  # fmt: skip


class SpecError(ValueError):
    """The template spec is not valid; the message names the item."""


@dataclass(frozen=True)
class Text:
    """A user-visible string in every supported locale: `text(lang)` picks one; as a parameter
    of an issue message the message picks one with its format spec (`{label:zh-CN}` in
    zh-CN.toml, `{label:en}` in en.toml)."""

    zh_cn: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.zh_cn if lang == "zh-CN" else self.en

    def __format__(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh_cn

    def __str__(self) -> str:
        return self.zh_cn


@dataclass(frozen=True)
class Section:
    """One numbered section of the template (or the conclusion): one sheet of the workbook."""

    id: str
    kind: str
    number: int | None
    title: Text
    sheet: Text
    tab_color: str


@dataclass(frozen=True)
class Subsection:
    """A titled block of a section: a heading in the summary, a band on the sheet."""

    id: str
    section: str
    style: str
    title: Text | None


@dataclass(frozen=True)
class Field:
    """One input cell: its type, unit, valid range, prompt and example."""

    id: str
    subsection: str
    type: FieldType
    label: Text
    prompt: Text
    unit: str | None = None
    required: bool = False
    note: bool = False
    min: float | None = None
    max: float | None = None
    rollup: str = "none"  # one of ROLLUP_RULES[type]; default "sum" for count and money
    weight: tuple[str, ...] = ()  # "mean" only: numeric ids whose per-person product weighs
    # A previous-period figure names the current field it was in its own period ("uv" on
    # uv_prev): the next period's workbook copies this period's current value into it.
    current: str | None = None
    polarity: str = "neutral"  # one of POLARITIES


@dataclass(frozen=True)
class RollupSpec:
    """Spec-level roll-up settings: the field naming the person, the per-person KPIs, and the
    field naming the period (workbooks of another period are left out of a roll-up)."""

    person: str | None = None
    kpis: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()  # the team summary's per-person charts, one per id
    period: str | None = None


@dataclass(frozen=True)
class Kpi:
    """A computed figure: an expression over field and KPI ids, a formula in the workbook."""

    id: str
    subsection: str
    expression: str
    node: expr.Node
    format: KpiFormat
    label: Text
    unit: str | None = None
    polarity: str = "neutral"  # one of POLARITIES

    @property
    def refs(self) -> tuple[str, ...]:
        return expr.references(self.node)

    @property
    def formula(self) -> str:
        return expr.excel_formula(self.node)


@dataclass(frozen=True)
class Column:
    """One column of an input table (problems, action plan)."""

    id: str
    type: FieldType
    label: Text
    width: int


@dataclass(frozen=True)
class Table:
    """A list the user fills row by row, such as the problems found or the action plan."""

    id: str
    subsection: str
    rows: int
    label: Text
    columns: tuple[Column, ...]
    # "list": its own table in the summary (problems, actions); "metrics": the person's own
    # metrics (name, previous, current, unit, note), rows of the section's KPI table.
    kind: Literal["list", "metrics"] = "list"


@dataclass(frozen=True)
class Placeholder:
    """One `{id}` / `{id:fmt}` / `{id:to:ref}` in a narrative sentence."""

    raw: str
    id: str
    fmt: str | None
    ref: str | None

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id,) if self.ref is None else (self.id, self.ref)


@dataclass(frozen=True)
class Variant:
    """One wording of a sentence, chosen when its condition holds (no condition: always).

    missing: the wording used with `--missing mark` when a figure is missing; it must read
    well with a 【待补充】 marker in place of any figure (neutral words: 从…变为…).
    """

    text: Text | None  # None: the sentence is left out when this variant is chosen (omit)
    when: str | None = None
    node: expr.Node | None = None  # the condition, directions expanded to round() comparisons
    missing: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence of the summary: data-driven variants and, optionally, the template's own
    wording (with its examples and diagnoses), which is used only when the person keeps it.

    A sentence with no variants is template wording only: left out unless the person keeps it.
    """

    id: str
    variants: tuple[Variant, ...]
    template: Text | None = None

    def __call__(self, lang: str) -> str:
        """The default wording: the first variant with words, else the template's."""
        text = next((v.text for v in self.variants if v.text is not None), self.template)
        assert text is not None
        return text(lang)

    def texts(self, lang: str) -> tuple[str, ...]:
        """Every wording of the sentence in one locale."""
        out = [v.text(lang) for v in self.variants if v.text is not None]
        if self.template is not None:
            out.append(self.template(lang))
        return tuple(out)

    @property
    def conditional(self) -> bool:
        return any(v.when is not None for v in self.variants)

    @property
    def name(self) -> str:
        """The defined name of the sentence's choice cell in the workbook."""
        return f"say_{self.id}"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the summary: sentences with `{id}` placeholders."""

    subsection: str
    lead: Text | None
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Metric:
    """One row of a section's KPI table: previous, current, change and target."""

    section: str
    label: Text
    prev: str | None
    current: str
    change: str | None
    target: str | None
    # What `prev` is: the previous period (its fields name their current field), the same
    # period last year, or an expected value; only "previous" is carried to the next period.
    compare: str = "previous"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.prev, self.current, self.change, self.target) if i)


@dataclass(frozen=True)
class ChartPoint:
    """One bar of a 'points' chart: an id and its label."""

    id: str
    label: Text


@dataclass(frozen=True)
class Chart:
    """A native chart on the dashboard: "rates" (previous vs current of percentage metrics) or
    "points" (one column per id)."""

    kind: str
    title: Text
    points: tuple[ChartPoint, ...] = ()
    metrics: tuple[str, ...] = ()  # "rates": the metrics to show, by their current id
    # In the Word summary too: after this section's KPI table, or this subsection's text.
    after: str | None = None


@dataclass(frozen=True)
class Check:
    """A figure that is part of another and so can never exceed it (unsold SKUs of the SKUs on
    sale, repeat buyers of the buyers). error: it cannot be right; warning: it rarely is."""

    part: str
    whole: str
    why: Text  # the reason, as the message gives it: "unsold SKUs are among those on sale"
    severity: Literal["error", "warning"] = "error"

    def breached(self, values: Mapping[str, object]) -> bool:
        """Both figures are numbers and the part is larger. On the values as read: a number
        typed as text counts here, where the workbook's formula (`excel`) sees numbers stored
        as numbers only."""
        part, whole = values.get(self.part), values.get(self.whole)
        if isinstance(part, bool) or isinstance(whole, bool):
            return False
        if not isinstance(part, int | float) or not isinstance(whole, int | float):
            return False
        return part > whole

    @property
    def excel(self) -> str:
        """The same test as an Excel formula over the fields' defined names (TRUE: breached)."""
        return f"AND(ISNUMBER({self.part}),ISNUMBER({self.whole}),{self.part}>{self.whole})"


@dataclass(frozen=True)
class Target:
    """A commitment of section 六 (or a plan of 五) compared, a period later, with what happened.

    commitment: the field(s) the person filled (shown as written); target: an expression over
    the workbook that made the commitment (the value to reach); actual: an expression over the
    next period's workbook (None: nothing in the workbook measures it); polarity: whether a
    higher or a lower actual meets the target.
    """

    id: str
    label: Text
    commitment: tuple[str, ...]
    target: str
    target_node: expr.Node
    actual: str | None
    actual_node: expr.Node | None
    format: str
    polarity: str = "higher_better"


@dataclass(frozen=True)
class Spec:
    """The whole template: sections, fields, KPIs, tables, narrative, charts, roll-up."""

    id: str
    version: int
    title: Text
    units: Mapping[str, Text]
    sections: tuple[Section, ...]
    subsections: tuple[Subsection, ...]
    fields: tuple[Field, ...]
    kpis: tuple[Kpi, ...]
    tables: tuple[Table, ...]
    paragraphs: tuple[Paragraph, ...]
    metrics: tuple[Metric, ...]
    blanks: tuple[str, ...]
    cover_summary: tuple[str, ...] = ()
    # The text field naming the period ("2026年Q3"): a date typed without a year takes its year.
    period_field: str | None = None
    charts: tuple[Chart, ...] = ()
    rollup: RollupSpec = RollupSpec()
    checks: tuple[Check, ...] = ()
    targets: tuple[Target, ...] = ()
    carry_tables: tuple[str, ...] = ()  # plan tables the next period's workbook carries
    # role -> field id (ROLES): the fields code needs by meaning ("store"), not by id
    roles: Mapping[str, str] = field(default_factory=dict)
    format_units: Mapping[str, str] = field(default_factory=dict)  # KPI format -> default unit
    _by_id: Mapping[str, Field | Kpi | Table] = field(
        repr=False, compare=False, default_factory=dict
    )

    def item(self, id_: str) -> Field | Kpi | Table:
        return self._by_id[id_]

    def role(self, name: str) -> str | None:
        """The id of the field playing a role (one of ROLES), or None when the spec has none."""
        if name not in ROLES:
            raise KeyError(name)
        return self.roles.get(name)

    def field(self, id_: str) -> Field:
        item = self._by_id[id_]
        if not isinstance(item, Field):
            raise KeyError(id_)
        return item

    def kpi(self, id_: str) -> Kpi:
        item = self._by_id[id_]
        if not isinstance(item, Kpi):
            raise KeyError(id_)
        return item

    def has(self, id_: str) -> bool:
        return id_ in self._by_id

    def section(self, id_: str) -> Section:
        return next(s for s in self.sections if s.id == id_)

    def subsections_of(self, section_id: str) -> tuple[Subsection, ...]:
        return tuple(s for s in self.subsections if s.section == section_id)

    def fields_of(self, subsection_id: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.subsection == subsection_id)

    def kpis_of(self, subsection_id: str) -> tuple[Kpi, ...]:
        return tuple(k for k in self.kpis if k.subsection == subsection_id)

    def tables_of(self, subsection_id: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.subsection == subsection_id)

    def paragraphs_of(self, subsection_id: str) -> tuple[Paragraph, ...]:
        return tuple(p for p in self.paragraphs if p.subsection == subsection_id)

    def section_of(self, id_: str) -> Section:
        sub = self._by_id[id_].subsection
        return self.section(next(s.section for s in self.subsections if s.id == sub))

    def unit_text(self, unit: str | None, lang: str) -> str:
        return "" if unit is None else self.units[unit](lang)

    @property
    def kpi_order(self) -> tuple[Kpi, ...]:
        """KPIs in an order where each comes after the KPIs it reads."""
        return _topological(self.kpis)


def placeholders(sentence: str) -> tuple[Placeholder, ...]:
    """The placeholders of a narrative sentence, in order."""
    found = []
    for m in _PLACEHOLDER.finditer(sentence):
        parts = m.group(1).split(":")
        id_, fmt, ref = parts[0], parts[1] if len(parts) > 1 else None, None
        if fmt in ("to", "gap") and len(parts) == 3:
            ref = parts[2]
        elif len(parts) > 2:
            raise SpecError(f"placeholder {{{m.group(1)}}} has too many parts")
        found.append(Placeholder(m.group(0), id_, fmt, ref))
    return tuple(found)


def previous_links(spec: Spec) -> dict[str, str]:
    """Previous-period field id -> the current field whose value it takes a period later."""
    return {f.id: f.current for f in spec.fields if f.current is not None}


def _topological(kpis: tuple[Kpi, ...]) -> tuple[Kpi, ...]:
    by_id = {k.id: k for k in kpis}
    done: dict[str, Kpi] = {}
    visiting: set[str] = set()

    def visit(k: Kpi) -> None:
        if k.id in done:
            return
        if k.id in visiting:
            raise SpecError(f"KPI {k.id!r} depends on itself")
        visiting.add(k.id)
        for r in k.refs:
            if r in by_id:
                visit(by_id[r])
        visiting.discard(k.id)
        done[k.id] = k

    for k in kpis:
        visit(k)
    return tuple(done.values())
