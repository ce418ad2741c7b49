"""The template spec: load a TOML template, hold it to the written schema (workbook.specschema),
build the model (workbook.specmodel) and check its meaning (workbook.speccheck), once.

Every problem is one SpecError naming the file, the item and the key. The model's types are
importable from here, where the rest of opsbook has always found them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from workbook import speccheck, specschema
from workbook.packagedata import load_toml, package_file, parse_toml
from workbook.speccheck import figure_kind
from workbook.specload import build
from workbook.specmodel import (
    DEFAULT_TEMPLATE,
    DIRECTIONS,
    NUMERIC_TYPES,
    ROLES,
    SHOWN_PRECISION,
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
    Placeholder,
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
    placeholders,
    previous_links,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "DIRECTIONS",
    "NUMERIC_TYPES",
    "ROLES",
    "SHOWN_PRECISION",
    "Chart",
    "ChartPoint",
    "Check",
    "Column",
    "Field",
    "FieldType",
    "Kpi",
    "KpiFormat",
    "Metric",
    "Paragraph",
    "Placeholder",
    "RollupSpec",
    "Section",
    "Sentence",
    "Spec",
    "SpecError",
    "Subsection",
    "Table",
    "Target",
    "Text",
    "Variant",
    "figure_kind",
    "from_dict",
    "load",
    "load_path",
    "placeholders",
    "previous_links",
]


def from_dict(data: Mapping[str, Any], source: str = "spec") -> Spec:
    """Build and check a Spec from parsed TOML; source names the file in every message."""
    try:
        specschema.check(data)
        spec = build(data)
        speccheck.validate(spec)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
    return spec


def load_path(path: Path) -> Spec:
    """A template spec from a TOML file (a company's own template)."""
    try:
        data = parse_toml(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise SpecError(f"{path.name}: cannot be read as TOML: {exc}") from None
    return from_dict(data, path.name)


@cache  # functools.cache is thread-safe: at worst two threads build the same immutable Spec
def load(template: str = DEFAULT_TEMPLATE) -> Spec:
    """The built-in template spec, parsed once per process."""
    path = package_file("workbook", "templates", f"{template}.toml")
    return from_dict(load_toml(path), path.name)
