"""Every user-visible string exists in both locales, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from workbook.i18n import catalog, normalize_lang


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalog("zh-CN").entries, catalog("en").entries
    assert sorted(zh) == sorted(en)
    for key in zh:
        a, b = zh[key], en[key]
        assert type(a) is type(b), key
        if isinstance(a, str):
            assert _fields(a) == _fields(b), key
        else:
            assert len(a) == len(b), key


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "zh-CN"),
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("en", "en"),
        ("en_US", "en"),
        ("fr", "zh-CN"),
    ],
)
def test_locale_names_are_normalized(given: str | None, expected: str) -> None:
    assert normalize_lang(given) == expected
