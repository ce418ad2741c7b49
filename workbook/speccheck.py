"""The template spec's meaning, checked once it has the schema's shape: every id an item reads is
defined, sections and subsections exist, sentences cover every direction of their figures,
previous-period figures are linked, roll-up rules suit their fields. One SpecError each."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from types import MappingProxyType

from workbook import expr
from workbook.i18n import LANGS
from workbook.layout import valid_sheet_name
from workbook.specload import kind_of
from workbook.specmodel import (
    DIRECTIONS,
    NUMERIC_TYPES,
    ROLES,
    SHOWN_PRECISION,
    Field,
    Kpi,
    Sentence,
    Spec,
    SpecError,
    Table,
    placeholders,
    previous_links,
)
from workbook.specschema import PLACEHOLDER_FORMATS, ROLLUP_RULES


def _numeric(item: Field | Kpi | Table) -> bool:
    """A KPI, or a field holding a number: what expressions and weights may read."""
    return isinstance(item, Kpi) or (isinstance(item, Field) and item.type in NUMERIC_TYPES)


def validate(spec: Spec) -> None:
    """Every cross-reference of a spec that has the schema's shape; the first problem raises."""
    _validate_sections(spec)
    _validate_items(spec)
    _validate_paragraphs(spec)
    _validate_metrics_and_charts(spec)
    _validate_lists(spec)
    _validate_rollup(spec)
    _validate_checks(spec)
    _validate_periods(spec)
    _validate_targets(spec)


def _validate_sections(spec: Spec) -> None:
    section_ids: set[str] = set()
    numbers: set[int] = set()
    for sec in spec.sections:
        where = f"section {sec.id!r}"
        if sec.id in section_ids:
            raise SpecError(f"{where} id: defined twice")
        section_ids.add(sec.id)
        if (sec.kind == "numbered") != (sec.number is not None):
            raise SpecError(f"{where} number: a numbered section has a number, no other has")
        if sec.number is not None and sec.number in numbers:
            raise SpecError(f"{where} number: {sec.number} is used twice")
        numbers.add(sec.number or 0)
        for lang in LANGS:
            name = sec.sheet(lang)
            if not valid_sheet_name(name):
                raise SpecError(f"{where} sheet: {name!r} cannot be a sheet name")
    sub_ids: set[str] = set()
    for sub in spec.subsections:
        where = f"subsection {sub.id!r}"
        if sub.id in sub_ids:
            raise SpecError(f"{where} id: defined twice")
        sub_ids.add(sub.id)
        if sub.section not in section_ids:
            raise SpecError(f"{where} section: unknown section {sub.section!r}")
        if len(spec.subsections_of(sub.section)) > 10:
            raise SpecError(f"{where} section: a section has at most 10 subsections")


def _validate_items(spec: Spec) -> None:
    """Fields, KPIs and tables: their subsection, unit, prompt and expression."""
    sub_ids = {s.id for s in spec.subsections}
    for item in spec._by_id.values():
        if item.subsection not in sub_ids:
            raise SpecError(
                f"{kind_of(item)} {item.id!r} subsection: unknown subsection {item.subsection!r}"
            )
    for f in spec.fields:
        if f.unit is not None and f.unit not in spec.units:
            raise SpecError(f"field {f.id!r} unit: unknown unit {f.unit!r}")
        for lang in LANGS:
            if len(f.prompt(lang)) > 255:
                raise SpecError(
                    f"field {f.id!r} prompt: the {lang} prompt is over Excel's 255 characters"
                )
    for k in spec.kpis:
        if k.unit is not None and k.unit not in spec.units:
            raise SpecError(f"KPI {k.id!r} unit: unknown unit {k.unit!r}")
        for r in k.refs:
            target = spec._by_id.get(r)
            if target is None:
                raise SpecError(f"KPI {k.id!r} expr: unknown id {r!r} in {k.expression!r}")
            if not _numeric(target):
                raise SpecError(f"KPI {k.id!r} expr: {r!r} is not a number")
    spec.kpi_order  # noqa: B018 - raises SpecError on a cycle
    for t in spec.tables:
        columns = [c.id for c in t.columns]
        for index, c in enumerate(t.columns, start=1):
            if columns.index(c.id) != index - 1:
                raise SpecError(f"table {t.id!r} column {index} id: {c.id!r} is defined twice")


def _validate_paragraphs(spec: Spec) -> None:
    sub_ids = {s.id for s in spec.subsections}
    seen_sentences: set[str] = set()
    for index, p in enumerate(spec.paragraphs, start=1):
        if p.subsection not in sub_ids:
            raise SpecError(f"paragraph {index} subsection: unknown subsection {p.subsection!r}")
        for sentence in p.sentences:
            if sentence.id in seen_sentences:
                raise SpecError(f"sentence {sentence.id!r} id: defined twice")
            seen_sentences.add(sentence.id)
            texts = [v.text for v in sentence.variants if v.text is not None]
            if sentence.template is not None:
                texts.append(sentence.template)
            for text in texts:
                _validate_placeholders(spec, sentence, text("zh-CN"), text("en"))
            _validate_variants(spec, sentence)


def _validate_placeholders(spec: Spec, sentence: Sentence, zh: str, en: str) -> None:
    where = f"sentence {sentence.id!r}"
    for lang, text in (("zh-CN", zh), ("en", en)):
        for ph in placeholders(text):
            for id_ in ph.ids:
                if not spec.has(id_):
                    raise SpecError(f"{where} {lang} {text[:30]!r}: unknown id {id_!r}")
            if ph.fmt is not None and ph.fmt not in PLACEHOLDER_FORMATS:
                raise SpecError(f"{where} {lang} placeholder {ph.raw}: unknown format")
    if sorted(p.raw for p in placeholders(zh)) != sorted(p.raw for p in placeholders(en)):
        raise SpecError(f"{where} {zh[:30]!r}: locales differ in figures")


def _validate_metrics_and_charts(spec: Spec) -> None:
    section_ids = {s.id for s in spec.sections}
    for m in spec.metrics:
        if m.section not in section_ids:
            raise SpecError(f"metric {m.label.en!r} section: unknown section {m.section!r}")
        for key, id_ in (("prev", m.prev), ("current", m.current), ("change", m.change),
                         ("target", m.target)):  # fmt: skip
            if id_ is not None and not (spec.has(id_) and _numeric(spec.item(id_))):
                raise SpecError(f"metric {m.label.en!r} {key}: unknown figure {id_!r}")
    places = section_ids | {s.id for s in spec.subsections}
    metric_currents = {m.current for m in spec.metrics if m.prev}
    for chart in spec.charts:
        where = f"chart {chart.title.en!r}"
        if chart.after is not None and chart.after not in places:
            raise SpecError(f"{where} after: after {chart.after!r} is no section")
        for point in chart.points:
            if not spec.has(point.id) or not _numeric(spec.item(point.id)):
                raise SpecError(f"{where} points: unknown figure {point.id!r}")
        for current in chart.metrics:
            if current not in metric_currents:
                raise SpecError(
                    f"{where} metrics: no metric with a previous value has current {current!r}"
                )


def _validate_lists(spec: Spec) -> None:
    """The spec's top-level lists of ids and its roles."""
    if spec.period_field is not None and not _is_field(spec, spec.period_field, "text"):
        raise SpecError(f"period_field: unknown text field {spec.period_field!r}")
    for key, items in (("cover_summary", spec.cover_summary), ("blanks", spec.blanks)):
        for id_ in items:
            if not spec.has(id_) or isinstance(spec.item(id_), Table):
                raise SpecError(f"{key}: blank {id_!r} is not a field or KPI"
                                if key == "blanks" else f"{key}: unknown id {id_!r}")  # fmt: skip
    for role, id_ in spec.roles.items():
        if role not in ROLES:
            raise SpecError(f"roles: unknown role {role!r} (known: {', '.join(ROLES)})")
        if not _is_field(spec, id_):
            raise SpecError(f"roles {role}: unknown field {id_!r}")
    for kpi_format, unit in spec.format_units.items():
        if unit not in spec.units:
            raise SpecError(f"format_units {kpi_format}: unknown unit {unit!r}")


def _is_field(spec: Spec, id_: str, type_: str | None = None) -> bool:
    item = spec._by_id.get(id_)
    return isinstance(item, Field) and (type_ is None or item.type == type_)


def _validate_checks(spec: Spec) -> None:
    for c in spec.checks:
        where = f"check {c.part} <= {c.whole}"
        for key, id_ in (("part", c.part), ("whole", c.whole)):
            figure = spec._by_id.get(id_)
            if not isinstance(figure, Field) or figure.type not in NUMERIC_TYPES:
                raise SpecError(f"{where} {key}: {id_!r} is not a numeric field")
        if spec.field(c.part).type != spec.field(c.whole).type:
            raise SpecError(f"{where}: a part and its whole must be figures of the same type")


def _previous_of(spec: Spec, node: expr.Node, links: Mapping[str, str]) -> expr.Node | None:
    """A current expression with every field replaced by its previous-period field (None when a
    field has none), KPIs followed to their own expressions."""
    by_current = {cur: prev for prev, cur in links.items()}
    if isinstance(node, expr.Num):
        return node
    if isinstance(node, expr.Ref):
        item = spec._by_id.get(node.name)
        if isinstance(item, Kpi):
            return _previous_of(spec, item.node, links)
        return expr.Ref(by_current[node.name]) if node.name in by_current else None
    if isinstance(node, expr.Neg):
        inner = _previous_of(spec, node.operand, links)
        return None if inner is None else expr.Neg(inner)
    if not isinstance(node, expr.BinOp):  # a condition (comparison, function) has no previous
        return None
    left = _previous_of(spec, node.left, links)
    right = _previous_of(spec, node.right, links)
    return None if left is None or right is None else expr.BinOp(node.op, left, right)


def _expanded(spec: Spec, node: expr.Node) -> expr.Node:
    """An expression with its KPIs replaced by their own expressions, down to fields."""
    if isinstance(node, expr.Ref):
        item = spec._by_id.get(node.name)
        return _expanded(spec, item.node) if isinstance(item, Kpi) else node
    if isinstance(node, expr.Neg):
        return expr.Neg(_expanded(spec, node.operand))
    if isinstance(node, expr.BinOp):
        return expr.BinOp(node.op, _expanded(spec, node.left), _expanded(spec, node.right))
    return node


def _validate_periods(spec: Spec) -> None:
    """Each previous-period field names a current field of its type; each previous-period
    comparison of the KPI tables is linked, field by field, to its current figure."""
    links = previous_links(spec)
    for prev, current in links.items():
        f, cur = spec.field(prev), spec._by_id.get(current)
        if not isinstance(cur, Field) or cur.type != f.type or cur.current is not None:
            raise SpecError(
                f"field {prev!r}: current {current!r} must be a current field of type {f.type}"
            )
    if len(set(links.values())) != len(links):
        raise SpecError("two previous-period fields name the same current field")
    for m in spec.metrics:
        where = f"metric {m.label.en!r}"
        if m.prev is None or m.compare != "previous":
            continue
        prev_item, cur_item = spec._by_id[m.prev], spec._by_id[m.current]
        if isinstance(prev_item, Field):
            if links.get(m.prev) != m.current:
                raise SpecError(
                    f"{where}: previous-period field {m.prev!r} needs current = {m.current!r}"
                )
            continue
        if not isinstance(prev_item, Kpi) or not isinstance(cur_item, Kpi):
            raise SpecError(f"{where}: {m.prev!r} and {m.current!r} must both be KPIs or fields")
        mapped = _previous_of(spec, _expanded(spec, cur_item.node), links)
        if mapped is None or mapped != _expanded(spec, prev_item.node):
            raise SpecError(
                f"{where}: {m.prev!r} is not {m.current!r} computed from previous-period "
                "fields that name their current field"
            )


def _validate_targets(spec: Spec) -> None:
    for id_ in spec.carry_tables:
        if not isinstance(spec._by_id.get(id_), Table):
            raise SpecError(f"carry_tables: {id_!r} is not a table")
    ids = set()
    for t in spec.targets:
        where = f"target {t.id!r}"
        if t.id in ids:
            raise SpecError(f"{where} id: defined twice")
        ids.add(t.id)
        for c in t.commitment:
            item = spec._by_id.get(c)
            if not isinstance(item, Field) or item.type not in NUMERIC_TYPES:
                raise SpecError(f"{where} commitment: {c!r} is not a numeric field")
        nodes = [("target", t.target_node)]
        if t.actual_node is not None:
            nodes.append(("actual", t.actual_node))
        for what, node in nodes:
            for r in expr.references(node):
                item = spec._by_id.get(r)
                if item is None or not _numeric(item):
                    raise SpecError(f"{where} {what}: reads {r!r}, not a figure of the spec")


def figure_kind(spec: Spec, id_: str) -> str:
    """A numeric field's type or a KPI's format."""
    item = spec.item(id_)
    if isinstance(item, Kpi):
        return item.format
    if isinstance(item, Field):
        return item.type
    return "table"


def expand_condition(spec: Spec, text: str, where: str) -> expr.Node:
    """Parse a sentence condition; up/down/flat become round() comparisons at the precision
    each figure is shown at (SHOWN_PRECISION): up(x) is x shown above 0, up(a, b) is a shown
    above b."""
    try:
        node = expr.parse(_DIRECTION_CALL.sub(r"\1__dir(", text), _CONDITION_FUNCTIONS)
    except expr.ExprError as exc:
        raise SpecError(f"{where}: {exc}") from exc

    def shown(arg: expr.Node, kind: str) -> expr.Node:
        factor, places = SHOWN_PRECISION[kind]
        scaled = arg if factor == 1 else expr.BinOp("*", arg, expr.Num(float(factor)))
        return expr.Call("round", (scaled, expr.Num(float(places))))

    def walk(n: expr.Node) -> expr.Node:
        if isinstance(n, expr.Call) and n.name.endswith("__dir"):
            name = n.name[: -len("__dir")]
            args = n.args
            if len(args) not in (1, 2) or not all(isinstance(a, expr.Ref) for a in args):
                raise SpecError(f"{where}: {name}() takes one or two figure ids")
            refs = [a for a in args if isinstance(a, expr.Ref)]
            kinds = []
            for r in refs:
                if not spec.has(r.name) or not _numeric(spec.item(r.name)):
                    raise SpecError(f"{where}: {r.name!r} is not a numeric field or KPI")
                kinds.append(figure_kind(spec, r.name))
            left = shown(refs[0], kinds[0])
            right = shown(refs[1], kinds[0]) if len(refs) == 2 else expr.Num(0.0)
            return expr.Compare(DIRECTIONS[name], left, right)
        if isinstance(n, expr.Call):
            return expr.Call(n.name, tuple(walk(a) for a in n.args))
        if isinstance(n, expr.Compare):
            return expr.Compare(n.op, walk(n.left), walk(n.right))
        if isinstance(n, expr.BinOp):
            return expr.BinOp(n.op, walk(n.left), walk(n.right))
        if isinstance(n, expr.Neg):
            return expr.Neg(walk(n.operand))
        if isinstance(n, expr.Ref) and (not spec.has(n.name) or not _numeric(spec.item(n.name))):
            raise SpecError(f"{where}: unknown figure {n.name!r}")
        return n

    return walk(node)


_DIRECTION_CALL = re.compile(r"\b(up|down|flat)\s*\(")
# A condition may call up(), down() and flat() too (renamed so no field id can shadow them).
_CONDITION_FUNCTIONS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {**expr.FUNCTIONS, **{f"{d}__dir": (1, 2) for d in DIRECTIONS}}
)

# Values the loader tries for each figure a condition reads, by kind: every direction (up,
# down, flat, flat only after rounding) and zero. A pair compared by up(a, b) meets all of its
# orders because both figures range over the same values.
_PROBES: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        "change": (0.1, -0.1, 0.0, 0.00001),
        "pp": (2.0, -2.0, 0.0, 0.01),
        "count": (0.0, 3.0, 5.0),
        "percent": (0.3, 0.37, 0.30001, 0.0),
    }
)
_PROBES_DEFAULT = (3.0, 3.7, 3.0001, 0.0)


def _validate_variants(spec: Spec, sentence: Sentence) -> None:
    """Conditions are valid; every direction of the figures they read picks a variant; a
    sentence with conditions has a wording for missing figures."""
    where = f"sentence {sentence.id!r}"
    nodes: list[expr.Node | None] = []
    for v in sentence.variants:
        node = None if v.when is None else expand_condition(spec, v.when, f"{where} when")
        object.__setattr__(v, "node", node)
        nodes.append(node)
    if not sentence.conditional:
        return
    if not any(v.missing or v.when is None for v in sentence.variants):
        raise SpecError(f"{where}: no variant for a missing figure (missing = true)")
    ids = sorted({r for n in nodes if n is not None for r in expr.references(n)})
    probes = [_PROBES.get(figure_kind(spec, i), _PROBES_DEFAULT) for i in ids]
    chosen = [n for n, v in zip(nodes, sentence.variants, strict=True) if not v.missing]
    for values in itertools.islice(itertools.product(*probes), 20000):
        env = dict(zip(ids, values, strict=True))
        if not any(n is None or expr.evaluate(n, env) for n in chosen):
            shown = ", ".join(f"{k}={v:g}" for k, v in env.items())
            raise SpecError(f"{where}: no variant holds when {shown}")


def _validate_rollup(spec: Spec) -> None:
    for f in spec.fields:
        if f.rollup not in ROLLUP_RULES[f.type]:
            raise SpecError(
                f"field {f.id!r}: rollup {f.rollup!r} does not suit a {f.type} field "
                f"({', '.join(ROLLUP_RULES[f.type])})"
            )
        if f.weight and f.rollup != "mean":
            raise SpecError(f'field {f.id!r}: a weight needs rollup = "mean"')
        for w in f.weight:
            target = spec._by_id.get(w)
            if target is None:
                raise SpecError(f"field {f.id!r}: unknown weight id {w!r}")
            if not _numeric(target):
                raise SpecError(f"field {f.id!r}: weight {w!r} is not a number")
    person = spec.rollup.person
    if person is not None and (not spec.has(person) or not isinstance(spec.item(person), Field)):
        raise SpecError(f"rollup person: unknown field {person!r}")
    for id_ in spec.rollup.kpis:
        if not spec.has(id_) or isinstance(spec.item(id_), Table):
            raise SpecError(f"rollup kpis: unknown id {id_!r}")
    for id_ in spec.rollup.charts:
        if not spec.has(id_) or not _numeric(spec.item(id_)):
            raise SpecError(f"rollup charts: {id_!r} is not a numeric field or KPI")
    period = spec.rollup.period
    if period is not None and (
        not spec.has(period)
        or not isinstance(item := spec.item(period), Field)
        or item.type != "text"
    ):
        raise SpecError(f"rollup period: unknown text field {period!r}")
