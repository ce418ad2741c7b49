"""Golden comparison, XlsxWriter style: the generated package equals a reviewed reference,
part by part and element by element. Regenerate with OPSBOOK_UPDATE_GOLDEN=1 after a deliberate
change, and review the XML diff in git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from generator.xlsx_writer import build_workbook
from tests.helpers import compare_packages, first_xml_difference, zip_parts
from workbook.spec import Spec, load_path

GOLDEN = Path(__file__).parent / "golden"
CASES = [("zh-CN", None), ("en", None), ("zh-CN", "filled")]
FILLED = {"store_name": "山岚家居", "visits": 1000, "buyers": 25, "todo": [{"task": "复盘"}]}


@pytest.fixture(scope="module")
def mini() -> Spec:
    return load_path(GOLDEN / "mini-spec.toml")


def _pretty(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.tostring(
        etree.fromstring(xml, parser), pretty_print=True, xml_declaration=True, encoding="UTF-8"
    )


def _golden_dir(lang: str, variant: str | None) -> Path:
    return GOLDEN / f"mini-{lang}{'-' + variant if variant else ''}"


@pytest.mark.parametrize(("lang", "variant"), CASES)
def test_workbook_parts_match_golden(mini: Spec, lang: str, variant: str | None) -> None:
    actual = zip_parts(build_workbook(mini, lang, FILLED if variant else None))
    folder = _golden_dir(lang, variant)
    if os.environ.get("OPSBOOK_UPDATE_GOLDEN") == "1":
        for name, data in actual.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_pretty(data) if name.endswith((".xml", ".rels")) else data)
    expected = {
        str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert sorted(expected) == sorted(actual), "the package has different parts"
    for name in sorted(actual):
        if name.endswith((".xml", ".rels")):
            diff = first_xml_difference(expected[name], actual[name])
            assert diff is None, f"{name}: {diff}"
        else:
            assert expected[name] == actual[name], name


def test_comparison_names_the_first_differing_element(mini: Spec) -> None:
    base = build_workbook(mini, "zh-CN")
    changed = build_workbook(mini, "zh-CN", {"visits": 5})
    problems = compare_packages(base, changed)
    assert any(p.startswith("xl/worksheets/sheet2.xml: ") and "/c" in p for p in problems), problems
