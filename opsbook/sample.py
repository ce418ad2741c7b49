"""The built-in filled example: a fictional store's figures, read from package data."""

from __future__ import annotations

from typing import Any

from workbook.i18n import normalize_lang
from workbook.packagedata import package_file, parse_toml


def sample_values(lang: str) -> dict[str, Any]:
    """Field id -> value (and table id -> rows) for the sample store, in the given locale."""
    lang = normalize_lang(lang)
    # The sample holds TOML dates, so it has no JSON copy; only `new` and the demo read it.
    data = parse_toml(package_file("opsbook", "data", "sample.toml").read_bytes())
    values: dict[str, Any] = {}
    values.update(data["numbers"])
    values.update(data["dates"])
    values.update(data["text"][lang])
    values.update(data["tables"][lang])
    return values
