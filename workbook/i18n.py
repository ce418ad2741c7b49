"""Locale catalogues: every user-visible string, in zh-CN and en."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from workbook.packagedata import load_toml, package_file

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")


class Catalog:
    """A flat view of one locale's catalogue: dotted keys to strings or lists of strings."""

    def __init__(self, lang: str, entries: Mapping[str, Any]) -> None:
        self.lang = lang
        # Shared by every thread (catalog() is cached): read-only.
        self.entries: Mapping[str, Any] = MappingProxyType(dict(entries))

    def __call__(self, key: str, /, **kwargs: object) -> str:
        value = self.entries[key]
        if not isinstance(value, str):
            raise TypeError(f"{key} is a list; use .list()")
        return value.format(**kwargs) if kwargs else value

    def list(self, key: str) -> list[str]:
        value = self.entries[key]
        if not isinstance(value, list):
            raise TypeError(f"{key} is not a list")
        return [str(v) for v in value]


def _flatten(prefix: str, data: dict[str, Any], out: dict[str, Any]) -> None:
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(f"{full}.", value, out)
        else:
            out[full] = value


def normalize_lang(lang: str | None) -> str:
    """Map zh, zh_CN, zh-cn, en_US ... to a supported locale; unknown ones to the default."""
    if not lang:
        return DEFAULT_LANG
    low = lang.replace("_", "-").lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT_LANG


@cache
def catalog(lang: str = DEFAULT_LANG) -> Catalog:
    lang = normalize_lang(lang)
    entries: dict[str, Any] = {}
    _flatten("", load_toml(package_file("workbook", "locales", f"{lang}.toml")), entries)
    return Catalog(lang, entries)
