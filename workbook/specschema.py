"""The template spec's written schema: every table and key of the TOML, its type, whether it is
required, and its allowed values, as data; `check` holds a parsed spec to it, `describe` writes
it out for template authors (docs/spec.md).

A spec that passes `check` has the shape the loader reads: every later problem is one of
meaning (an unknown id, a cycle), found by workbook.speccheck. Either way one `SpecError`
names the item and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from workbook.i18n import LANGS
from workbook.specmodel import ROLES, SpecError

# Allowed values of the spec's keys.
FIELD_TYPES: tuple[str, ...] = ("text", "count", "money", "number", "percent", "date")
KPI_FORMATS: tuple[str, ...] = ("percent", "money", "count", "number", "ratio", "change", "pp")
SECTION_KINDS = ("cover", "numbered", "conclusion")
SUBSECTION_STYLES = ("heading", "list", "plain")
PLACEHOLDER_FORMATS = ("change", "growth", "rise", "above", "pp", "to", "size", "gap")
# Which way is good for a figure (docs/narrative.md): a movement of a "higher_better" figure up
# is an improvement, of a "lower_better" one (costs, return rate, drop-off) a deterioration;
# "neutral" figures (shares, traffic mix) only rise and fall.
POLARITIES = ("higher_better", "lower_better", "neutral")
METRIC_COMPARES = ("previous", "last_year", "expected")
SEVERITIES = ("error", "warning")
CHART_KINDS = ("rates", "points")
TABLE_KINDS = ("list", "metrics")
METRICS_COLUMNS = ("name", "prev", "current", "unit", "note")
ROLLUP_NAMES = ("sum", "same", "mean", "label", "join", "unique", "none")
# How a team roll-up combines one field over many workbooks (docs/rollup.md), by field type.
ROLLUP_RULES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "count": ("sum", "same", "mean", "none"),
        "money": ("sum", "same", "mean", "none"),
        "number": ("sum", "same", "mean", "none"),
        "percent": ("same", "mean", "none"),
        "text": ("same", "label", "join", "unique", "none"),
        "date": ("same", "none"),
    }
)
MAX_SECTION_NUMBER = 10  # headings number sections 一 … 十

# Defined names: letters, digits and underscores, starting with a letter, and never shaped
# like an A1 cell reference (uv1) or an R1C1 one (r, c, r2c3), which Excel would refuse.
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([a-z]{1,3}\d+|r\d*c?\d*|c\d*)$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

# The kinds of value a key holds, as template authors read them.
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "string": "a string",
        "name": "an id usable as an Excel defined name (a-z, 0-9, _; not like a cell: uv1)",
        "id": "the id of another item",
        "ids": "an id or a list of ids",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "color": 'a colour "#RRGGBB"',
        "text": 'a text in every locale: { zh-CN = "…", en = "…" }',
        "texts": "a table of texts, one per key",
        "table": "a table",
        "tables": "an array of tables ([[…]])",
        "sentences": "an array of sentences, each a text or a table (id, variants, template)",
    }
)


@dataclass(frozen=True)
class Key:
    """One key of a table: its kind, whether it must be there, its allowed values."""

    kind: str
    doc: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    low: float | None = None  # integers and numbers: the smallest allowed
    high: float | None = None
    keys: Mapping[str, Key] = field(default_factory=dict)  # "table" and "tables": their keys
    item: str = ""  # "tables": what one entry is called in a message ("field")

    def __post_init__(self) -> None:  # the schema is shared by every thread: read-only
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))


def _k(kind: str, doc: str, **kw: Any) -> Key:
    return Key(kind, doc, **kw)


_TEXT_REQ = {"required": True}
LABEL = _k("text", "the label, as the workbook and the summary show it", **_TEXT_REQ)
POLARITY = _k("string", "which way is good (default neutral)", allowed=POLARITIES)

SECTION = {
    "id": _k("string", "the section's id", required=True),
    "kind": _k("string", "cover, numbered section or conclusion", required=True,
               allowed=SECTION_KINDS),
    "number": _k("integer", "the section's number (numbered sections)", low=1,
                 high=MAX_SECTION_NUMBER),
    "title": _k("text", "the heading", **_TEXT_REQ),
    "sheet": _k("text", "the sheet name (31 characters, no : \\ / ? * [ ] ')", **_TEXT_REQ),
    "tab_color": _k("color", "the sheet tab's colour (default #808080)"),
}  # fmt: skip
SUBSECTION = {
    "id": _k("string", "the subsection's id", required=True),
    "section": _k("id", "the section it belongs to", required=True),
    "style": _k("string", "heading (一), list (1.) or plain (default heading)",
                allowed=SUBSECTION_STYLES),
    "title": _k("text", "the heading (none: no heading)"),
}  # fmt: skip
FIELD = {
    "id": _k("name", "the field's id and defined name", required=True),
    "subsection": _k("id", "where the field sits", required=True),
    "type": _k("string", "what the cell holds", required=True, allowed=FIELD_TYPES),
    "label": LABEL,
    "prompt": _k("text", "the input prompt, with an example (255 characters)", **_TEXT_REQ),
    "unit": _k("id", "a key of [units]"),
    "required": _k("boolean", "must be filled (default false)"),
    "note": _k("boolean", "a free-text note (no example needed)"),
    "min": _k("number", "the smallest valid value (numbers: default 0)"),
    "max": _k("number", "the largest valid value"),
    "rollup": _k("string", "how a team roll-up combines it (by type: docs/rollup.md)",
                 allowed=ROLLUP_NAMES),
    "weight": _k("ids", 'rollup = "mean": the figures whose per-person product weighs'),
    "current": _k("id", "a previous-period figure: the current field it was"),
    "polarity": POLARITY,
}  # fmt: skip
KPI = {
    "id": _k("name", "the KPI's id and defined name", required=True),
    "subsection": _k("id", "where the KPI sits", required=True),
    "expr": _k("string", "the expression over field and KPI ids", required=True),
    "format": _k("string", "how it is shown", required=True, allowed=KPI_FORMATS),
    "label": LABEL,
    "unit": _k("id", "a key of [units]"),
    "polarity": POLARITY,
}
COLUMN = {
    "id": _k("string", "the column's id", required=True),
    "type": _k("string", "what its cells hold", required=True, allowed=FIELD_TYPES),
    "label": LABEL,
    "width": _k("integer", "the column width in characters (default 16)", low=1, high=255),
}
TABLE = {
    "id": _k("name", "the table's id and defined name", required=True),
    "subsection": _k("id", "where the table sits", required=True),
    "rows": _k("integer", "how many rows the sheet offers", required=True, low=1, high=1000),
    "label": LABEL,
    "columns": _k("tables", "its columns", required=True, keys=COLUMN, item="column"),
    "kind": _k("string", "list (its own table) or metrics (rows of the KPI table)",
               allowed=TABLE_KINDS),
}  # fmt: skip
VARIANT = {
    "when": _k("string", "the condition (none: always); up(), down(), flat() of figures"),
    "zh-CN": _k("string", "the wording in zh-CN, with {id} placeholders"),
    "en": _k("string", "the wording in en"),
    "omit": _k("boolean", "when the condition holds, the sentence is left out"),
    "missing": _k("boolean", "the wording when a figure is missing"),
}
SENTENCE = {
    "id": _k("string", "the sentence's id (its choice cell is named say_ and the id)"),
    "variants": _k("tables", "its wordings, chosen by the figures", keys=VARIANT,
                   item="variant"),
    "template": _k("text", "the template's own wording, used only when the person keeps it"),
}  # fmt: skip
PARAGRAPH = {
    "subsection": _k("id", "where the paragraph is printed", required=True),
    "lead": _k("text", "a lead-in before the sentences"),
    "sentences": _k("sentences", "its sentences", required=True, keys=SENTENCE, item="sentence"),
}
METRIC = {
    "section": _k("id", "the section whose KPI table shows it", required=True),
    "label": LABEL,
    "prev": _k("id", "the previous figure"),
    "current": _k("id", "the current figure", required=True),
    "change": _k("id", "the change figure"),
    "target": _k("id", "the target figure"),
    "compare": _k("string", "what prev is (default previous)", allowed=METRIC_COMPARES),
}
POINT = {"id": _k("id", "the figure", required=True), "label": LABEL}
CHART = {
    "kind": _k("string", "rates or points", required=True, allowed=CHART_KINDS),
    "title": _k("text", "the chart's title", **_TEXT_REQ),
    "points": _k("tables", '"points": one column per figure', keys=POINT, item="point"),
    "metrics": _k("ids", '"rates": the metrics shown, by their current id'),
    "after": _k("id", "in the summary too: after this section or subsection"),
}
CHECK = {
    "part": _k("id", "the part (a numeric field)", required=True),
    "whole": _k("id", "the whole it cannot exceed", required=True),
    "why": _k("text", "the reason, as the message gives it", **_TEXT_REQ),
    "severity": _k("string", "error or warning (default error)", allowed=SEVERITIES),
}
TARGET = {
    "id": _k("name", "the target's id", required=True),
    "label": LABEL,
    "commitment": _k("ids", "the field(s) the person filled", required=True),
    "target": _k("string", "the value to reach, an expression", required=True),
    "actual": _k("string", "the next period's value, an expression"),
    "format": _k("string", "how it is shown", required=True, allowed=KPI_FORMATS),
    "polarity": _k("string", "which way meets it (default higher_better)", allowed=POLARITIES),
}
ROLLUP = {
    "person": _k("id", "the field naming the person"),
    "period": _k("id", "the text field naming the period"),
    "kpis": _k("ids", "the per-person KPIs of the team summary"),
    "charts": _k("ids", "the team summary's per-person charts"),
}
FORMAT_UNIT_KEYS = {f: _k("id", f"the unit of a {f} KPI that names none") for f in KPI_FORMATS}
ROLE_KEYS = {role: _k("id", f"the field that is the {role.replace('_', ' ')}") for role in ROLES}

SCHEMA: Mapping[str, Key] = MappingProxyType({
    "id": _k("string", "the template's id", required=True),
    "version": _k("integer", "its version, stored in every workbook", required=True, low=1),
    "title": _k("text", "the summary's title", **_TEXT_REQ),
    "cover_summary": _k("ids", "inputs the cover shows back"),
    "period_field": _k("id", "the text field naming the period"),
    "carry_tables": _k("ids", "plan tables the next period's workbook carries"),
    "blanks": _k("ids", "the template's blanks, in reading order"),
    "units": _k("texts", "unit id -> its text"),
    "sections": _k("tables", "one sheet each", required=True, keys=SECTION, item="section"),
    "subsections": _k("tables", "titled blocks of a section", required=True, keys=SUBSECTION,
                      item="subsection"),
    "fields": _k("tables", "the input cells", keys=FIELD, item="field"),
    "kpis": _k("tables", "computed figures", keys=KPI, item="KPI"),
    "tables": _k("tables", "lists filled row by row", keys=TABLE, item="table"),
    "paragraphs": _k("tables", "the summary's text", keys=PARAGRAPH, item="paragraph"),
    "metrics": _k("tables", "rows of the sections' KPI tables", keys=METRIC, item="metric"),
    "charts": _k("tables", "native charts", keys=CHART, item="chart"),
    "checks": _k("tables", "a part never above its whole", keys=CHECK, item="check"),
    "targets": _k("tables", "commitments checked a period later", keys=TARGET, item="target"),
    "format_units": _k("table", "KPI format -> the unit it shows by default",
                       keys=FORMAT_UNIT_KEYS),
    "roles": _k("table", "role -> the field playing it", keys=ROLE_KEYS),
    "rollup": _k("table", "team roll-up settings", keys=ROLLUP),
})  # fmt: skip


def is_name(value: str) -> bool:
    """Whether a string can be an Excel defined name of the workbook."""
    return bool(_ID.match(value)) and not _CELL_LIKE.match(value)


def check(data: Mapping[str, Any]) -> None:
    """Hold parsed spec data to SCHEMA; the first problem raises one SpecError."""
    _check_table(data, SCHEMA, "")


def _name_item(kind: str, index: int, entry: object, parent: str) -> str:
    """How a message names one entry of an array: field 'gmv', check sku <= total, section 3."""
    prefix = f"{parent} " if parent else ""
    if isinstance(entry, dict):
        id_ = entry.get("id")
        if isinstance(id_, str) and id_:
            return f"{prefix}{kind} {id_!r}"
        part, whole = entry.get("part"), entry.get("whole")
        if isinstance(part, str) and isinstance(whole, str):
            return f"{prefix}{kind} {part} <= {whole}"
    return f"{prefix}{kind} {index}"


def _check_table(data: object, keys: Mapping[str, Key], item: str) -> None:
    if not isinstance(data, dict):
        raise SpecError(f"{item or 'the spec'}: must be a table, not {_type_name(data)}")
    extra = data.keys() - keys.keys()
    if extra:
        unknown = sorted(map(str, extra))
        where = f"{item}: u" if item else "U"
        raise SpecError(f"{where}nknown key {unknown[0]!r} (known: {', '.join(keys)})")
    for name, key in keys.items():
        if name not in data:
            if key.required:
                raise SpecError(f"{item} {name}: missing, required ({KINDS[key.kind]})".lstrip())
            continue
        _check_value(data[name], key, item, name)


def _check_value(value: object, key: Key, item: str, name: str) -> None:
    where = f"{item} {name}" if item else name
    if not _CHECKERS[key.kind](value):
        raise SpecError(f"{where}: must be {KINDS[key.kind]}, not {_type_name(value)}")
    if key.kind == "name" and isinstance(value, str) and not is_name(value):
        raise SpecError(
            f"{where}: {value!r} cannot be a defined name (lower-case letters, digits, _)"
        )
    if key.kind == "text":
        _check_text(value, where)
    if key.allowed and value not in key.allowed:
        raise SpecError(f"{where}: unknown {name} {value!r}; {name} must be {_or(key.allowed)}")
    number = key.low is not None or key.high is not None
    if number and not _in_range(value, key):
        raise SpecError(f"{where}: {value} is out of range ({_range(key)})")
    if key.kind == "texts" and isinstance(value, dict):
        for sub, text in value.items():
            _check_text(text, f"{where} {sub}")
    if key.kind == "table":
        _check_table(value, key.keys, where)
    if key.kind in ("tables", "sentences") and isinstance(value, list):
        for index, entry in enumerate(value, start=1):
            label = _name_item(key.item, index, entry, item)
            if key.kind == "sentences" and _is_text(entry):
                _check_text(entry, label)
                continue
            _check_table(entry, key.keys, label)


def _check_text(value: object, where: str) -> None:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        raise SpecError(f"{where}: needs exactly the locales {', '.join(LANGS)}")
    for lang in LANGS:
        if not isinstance(value[lang], str) or not value[lang].strip():
            raise SpecError(f"{where}: {lang} text is empty")


def _is_text(entry: object) -> bool:
    """A sentence written as a bare text: only locale keys."""
    return isinstance(entry, dict) and bool(entry) and set(entry) <= set(LANGS)


def _is_ids(value: object) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(i, str) for i in value)
    )


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _in_range(value: Any, key: Key) -> bool:
    return (key.low is None or value >= key.low) and (key.high is None or value <= key.high)


def _range(key: Key) -> str:
    low = "" if key.low is None else f"{key.low:g}"
    return f"{low} to {'' if key.high is None else f'{key.high:g}'}".strip()


def _or(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


_CHECKERS: Mapping[str, Callable[[object], bool]] = MappingProxyType(
    {
        "string": lambda v: isinstance(v, str) and bool(v.strip()),
        "name": lambda v: isinstance(v, str),
        "id": lambda v: isinstance(v, str) and bool(v.strip()),
        "ids": _is_ids,
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "color": lambda v: isinstance(v, str) and bool(_COLOR.match(v)),
        "text": lambda v: isinstance(v, dict),
        "texts": lambda v: isinstance(v, dict),
        "table": lambda v: isinstance(v, dict),
        "tables": lambda v: isinstance(v, list),
        "sentences": lambda v: isinstance(v, list),
    }
)


def describe() -> str:
    """The schema as Markdown tables, one per TOML table (the reference part of docs/spec.md)."""
    out: list[str] = []

    def table(title: str, keys: Mapping[str, Key]) -> None:
        out.extend((f"### {title}", "", "| key | kind | required | allowed | meaning |",
                    "|---|---|---|---|---|"))  # fmt: skip
        nested: list[tuple[str, Key]] = []
        for name, key in keys.items():
            allowed = _range(key) if key.low is not None else ", ".join(key.allowed)
            kind = KINDS[key.kind]
            req = "yes" if key.required else ""
            out.append(f"| `{name}` | {kind} | {req} | {allowed} | {key.doc} |")
            if key.keys:
                nested.append((name, key))
        out.append("")
        for name, key in nested:
            table(f"{title.rstrip(']')}.{name}]" if title.startswith("[") else f"[{name}]",
                  key.keys)  # fmt: skip

    table("Top level", {k: v for k, v in SCHEMA.items()})
    return "\n".join(out)


if __name__ == "__main__":
    print(describe())
