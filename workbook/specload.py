"""Parsed spec data (already held to workbook.specschema) -> the Spec model, with the loader's
defaults (ranges of numbers, roll-up rules, polarities); meaning is checked by speccheck."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, cast

from workbook import expr
from workbook.i18n import LANGS
from workbook.specmodel import (
    Chart,
    ChartPoint,
    Check,
    Column,
    Field,
    FieldType,
    Kpi,
    KpiFormat,
    Metric,
    Paragraph,
    RollupSpec,
    Section,
    Sentence,
    Spec,
    SpecError,
    Subsection,
    Table,
    Target,
    Text,
    Variant,
)
from workbook.specschema import METRICS_COLUMNS, is_name

Data = Mapping[str, Any]

_DEFAULT_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "count": (0, 1e12),
        "money": (0, 1e13),
        "number": (0, 1e12),
        "percent": (0, 1),
    }
)


def build(data: Data) -> Spec:
    """The Spec of checked data; ids defined twice are refused here (the index needs them)."""
    fields = tuple(_field(f) for f in data.get("fields", ()))
    kpis = tuple(_kpi(k) for k in data.get("kpis", ()))
    tables = tuple(_table(t) for t in data.get("tables", ()))
    by_id: dict[str, Field | Kpi | Table] = {}
    items: tuple[Field | Kpi | Table, ...] = (*fields, *kpis, *tables)
    for item in items:
        if item.id in by_id:
            raise SpecError(
                f"{kind_of(item)} {item.id!r} id: defined twice (also a {kind_of(by_id[item.id])})"
            )
        by_id[item.id] = item
    rollup = data.get("rollup", {})
    return Spec(
        id=data["id"],
        version=int(data["version"]),
        title=_text(data["title"]),
        units=MappingProxyType({k: _text(v) for k, v in data.get("units", {}).items()}),
        sections=tuple(_section(s) for s in data["sections"]),
        subsections=tuple(_subsection(s) for s in data["subsections"]),
        fields=fields,
        kpis=kpis,
        tables=tables,
        paragraphs=_paragraphs(data.get("paragraphs", ())),
        metrics=tuple(_metric(m) for m in data.get("metrics", ())),
        blanks=ids(data.get("blanks", ())),
        cover_summary=ids(data.get("cover_summary", ())),
        period_field=data.get("period_field"),
        charts=tuple(_chart(c) for c in data.get("charts", ())),
        rollup=RollupSpec(
            person=rollup.get("person"),
            kpis=ids(rollup.get("kpis", ())),
            charts=ids(rollup.get("charts", ())),
            period=rollup.get("period"),
        ),
        checks=tuple(_check(c) for c in data.get("checks", ())),
        targets=tuple(_target(t) for t in data.get("targets", ())),
        carry_tables=ids(data.get("carry_tables", ())),
        roles=MappingProxyType({str(k): str(v) for k, v in data.get("roles", {}).items()}),
        format_units=MappingProxyType(dict(data.get("format_units", {}))),
        _by_id=MappingProxyType(by_id),
    )


def kind_of(item: Field | Kpi | Table) -> str:
    """What a message calls an item: field, KPI or table."""
    return "field" if isinstance(item, Field) else "KPI" if isinstance(item, Kpi) else "table"


def ids(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """One id or a list of ids (the schema's "ids"), as a tuple."""
    return (raw,) if isinstance(raw, str) else tuple(raw)


def _text(raw: Data) -> Text:
    return Text(raw["zh-CN"], raw["en"])


def _opt_text(raw: Data | None) -> Text | None:
    return None if raw is None else _text(raw)


def _section(s: Data) -> Section:
    return Section(
        id=s["id"],
        kind=s["kind"],
        number=s.get("number"),
        title=_text(s["title"]),
        sheet=_text(s["sheet"]),
        tab_color=s.get("tab_color", "#808080"),
    )


def _subsection(s: Data) -> Subsection:
    return Subsection(s["id"], s["section"], s.get("style", "heading"), _opt_text(s.get("title")))


def _number(raw: Any) -> float | None:
    return None if raw is None else float(raw)


def _field(f: Data) -> Field:
    ftype = cast(FieldType, f["type"])
    lo, hi = _DEFAULT_RANGE.get(ftype, (None, None))
    return Field(
        id=f["id"],
        subsection=f["subsection"],
        type=ftype,
        label=_text(f["label"]),
        prompt=_text(f["prompt"]),
        unit=f.get("unit"),
        required=bool(f.get("required", False)),
        note=bool(f.get("note", False)),
        min=_number(f.get("min", lo)),
        max=_number(f.get("max", hi)),
        rollup=str(f.get("rollup", "sum" if ftype in ("count", "money") else "none")),
        weight=ids(f.get("weight", ())),
        current=f.get("current"),
        polarity=f.get("polarity", "neutral"),
    )


def parse_expression(text: str, where: str) -> expr.Node:
    try:
        return expr.parse(text)
    except expr.ExprError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _kpi(k: Data) -> Kpi:
    return Kpi(
        id=k["id"],
        subsection=k["subsection"],
        expression=k["expr"],
        node=parse_expression(k["expr"], f"KPI {k['id']!r} expr"),
        format=cast(KpiFormat, k["format"]),
        label=_text(k["label"]),
        unit=k.get("unit"),
        polarity=k.get("polarity", "neutral"),
    )


def _table(t: Data) -> Table:
    columns = tuple(
        Column(c["id"], cast(FieldType, c["type"]), _text(c["label"]), int(c.get("width", 16)))
        for c in t["columns"]
    )
    kind: Literal["list", "metrics"] = "metrics" if t.get("kind") == "metrics" else "list"
    if kind == "metrics" and tuple(c.id for c in columns) != METRICS_COLUMNS:
        raise SpecError(f"table {t['id']!r} columns: a metrics table has columns {METRICS_COLUMNS}")
    return Table(t["id"], t["subsection"], int(t["rows"]), _text(t["label"]), columns, kind)


def _paragraphs(raw: list[Data] | tuple[Data, ...]) -> tuple[Paragraph, ...]:
    """Paragraphs; a sentence without an id is named after its subsection and place."""
    counters: dict[str, int] = {}
    out = []
    for p in raw:
        sentences = []
        for s in p["sentences"]:
            counters[p["subsection"]] = counters.get(p["subsection"], 0) + 1
            sentences.append(_sentence(s, f"{p['subsection']}_{counters[p['subsection']]}"))
        out.append(Paragraph(p["subsection"], _opt_text(p.get("lead")), tuple(sentences)))
    return tuple(out)


def _sentence(raw: Data, default_id: str) -> Sentence:
    """A sentence: plain {zh-CN, en} text, or a table with id, variants and template."""
    if set(raw) <= set(LANGS):
        return Sentence(default_id, (Variant(_text(raw)),))
    id_ = raw.get("id", default_id)
    where = f"sentence {id_!r}"
    if not is_name(f"say_{id_}"):
        raise SpecError(f"{where} id: {id_!r} cannot be a defined name (lower-case letters, _)")
    variants = []
    for index, v in enumerate(raw.get("variants", ()), start=1):
        when = v.get("when")
        if v.get("omit", False):
            if any(k in v for k in LANGS) or v.get("missing", False):
                raise SpecError(f"{where} variant {index}: an omit variant has no text")
            variants.append(Variant(None, when))
            continue
        if set(LANGS) - set(v):
            raise SpecError(
                f"{where} variant {index}: needs exactly the locales {', '.join(LANGS)}"
            )
        variants.append(Variant(_text(v), when, None, bool(v.get("missing", False))))
    template = _opt_text(raw.get("template"))
    if not variants and template is None:
        raise SpecError(f"{where}: needs variants or a template wording")
    return Sentence(id_, tuple(variants), template)


def _metric(m: Data) -> Metric:
    return Metric(
        section=m["section"],
        label=_text(m["label"]),
        prev=m.get("prev"),
        current=m["current"],
        change=m.get("change"),
        target=m.get("target"),
        compare=str(m.get("compare", "previous")),
    )


def _chart(c: Data) -> Chart:
    return Chart(
        kind=c["kind"],
        title=_text(c["title"]),
        points=tuple(ChartPoint(p["id"], _text(p["label"])) for p in c.get("points", ())),
        metrics=ids(c.get("metrics", ())),
        after=c.get("after"),
    )


def _check(c: Data) -> Check:
    return Check(c["part"], c["whole"], _text(c["why"]), c.get("severity", "error"))


def _target(t: Data) -> Target:
    where = f"target {t['id']!r}"
    actual = t.get("actual")
    return Target(
        id=t["id"],
        label=_text(t["label"]),
        commitment=ids(t["commitment"]),
        target=t["target"],
        target_node=parse_expression(t["target"], f"{where} target"),
        actual=actual,
        actual_node=None if actual is None else parse_expression(actual, f"{where} actual"),
        format=str(t["format"]),
        polarity=str(t.get("polarity", "higher_better")),
    )
