"""Test helpers shared by several test modules (no fixtures here: see conftest.py)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from lxml import etree

# Parts that legitimately vary between otherwise equal files are none today: XlsxWriter pins
# zip dates and we pin document dates. Kept as a hook for the comparison.
VOLATILE_PARTS: frozenset[str] = frozenset()


def zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _walk(a: etree._Element, b: etree._Element, path: str) -> Iterator[str]:
    here = f"{path}/{etree.QName(a).localname}"
    if a.tag != b.tag:
        yield f"{here}: tag {a.tag!r} != {b.tag!r}"
        return
    attrs_a, attrs_b = sorted(a.attrib.items()), sorted(b.attrib.items())
    if attrs_a != attrs_b:
        yield f"{here}: attributes {attrs_a} != {attrs_b}"
        return
    if (a.text or "").strip() != (b.text or "").strip():
        yield f"{here}: text {a.text!r} != {b.text!r}"
        return
    ca, cb = list(a), list(b)
    for i, (x, y) in enumerate(zip(ca, cb, strict=False)):
        yield from _walk(x, y, f"{here}[{i}]")
    if len(ca) != len(cb):
        yield f"{here}: {len(ca)} children != {len(cb)}"


def first_xml_difference(expected: bytes, actual: bytes) -> str | None:
    """The first differing element of two XML documents, as a readable path, or None."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    a = etree.fromstring(expected, parser)
    b = etree.fromstring(actual, parser)
    return next(_walk(a, b, ""), None)


def compare_packages(expected: bytes, actual: bytes) -> list[str]:
    """Part-by-part comparison of two OOXML packages; an empty list when they match."""
    exp, act = zip_parts(expected), zip_parts(actual)
    problems = []
    for name in sorted(set(exp) | set(act)):
        if name in VOLATILE_PARTS:
            continue
        if name not in act:
            problems.append(f"{name}: missing")
        elif name not in exp:
            problems.append(f"{name}: unexpected")
        elif name.endswith((".xml", ".rels")) and exp[name] != act[name]:
            diff = first_xml_difference(exp[name], act[name])
            problems.append(f"{name}: {diff or 'same elements, different bytes'}")
        elif exp[name] != act[name]:
            problems.append(f"{name}: binary content differs")
    return problems
