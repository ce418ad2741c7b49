"""Test helpers shared by several test modules (no fixtures here: see conftest.py)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
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


# Reading a Word summary back (golden tests, round trips)


def _paragraph_markdown(paragraph: Any) -> str:
    parts = []
    for run in paragraph.runs:
        text = run.text
        if text.strip() and run.bold and paragraph.style.name not in _HEADING_MARKS:
            stripped = text.rstrip()
            parts.append(f"**{stripped}**{text[len(stripped) :]}")
        else:
            parts.append(text)
    return "".join(parts)


_HEADING_MARKS = {"Title": "# ", "Heading 1": "## ", "Heading 2": "### "}


def _iter_blocks(document: Any) -> Iterator[Any]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)


def summary_text(data: bytes) -> str:
    """A summary as Markdown-like text: header and footer, then headings (#), paragraphs
    (bold leads as **…**), captions and tables (| a | b |), in document order."""
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    section = document.sections[0]
    for label, part in (("header", section.header), ("footer", section.footer)):
        text = " ".join(p.text for p in part.paragraphs if p.text)
        lines.append(f"[{label}] {text}")
    lines.append("")
    for block in _iter_blocks(document):
        if hasattr(block, "rows"):
            for row in block.rows:
                lines.append("| " + " | ".join(c.text.replace("\n", " ") for c in row.cells) + " |")
            lines.append("")
            continue
        text = _paragraph_markdown(block)
        if not text:
            continue
        mark = _HEADING_MARKS.get(block.style.name, "")
        lines.append(mark + text)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def iter_text_parts(data: bytes) -> Sequence[str]:
    """Every piece of visible text of a summary: body, tables, headers, footers, properties."""
    document = docx.Document(io.BytesIO(data))
    texts: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                root = parse_xml(archive.read(name))
                texts.extend(t.text or "" for t in root.iter(qn("w:t")))
    cp = document.core_properties
    texts.extend([cp.title or "", cp.author or "", cp.subject or "", cp.comments or ""])
    return texts
