"""The built-in filled example: a fictional store's figures, read from package data."""

from __future__ import annotations

from importlib import resources
from typing import Any

from workbook.i18n import normalize_lang
from workbook.tomlcompat import tomllib


def sample_values(lang: str) -> dict[str, Any]:
    """Field id -> value (and table id -> rows) for the sample store, in the given locale."""
    lang = normalize_lang(lang)
    ref = resources.files("opsbook") / "data" / "sample.toml"
    data = tomllib.loads(ref.read_text(encoding="utf-8"))
    values: dict[str, Any] = {}
    values.update(data["numbers"])
    values.update(data["dates"])
    values.update(data["text"][lang])
    values.update(data["tables"][lang])
    return values
