"""Report -> Word summary (.docx): the template's structure, Chinese office typography, same bytes
for the same input.

`narrative.outline()` turns the spec and a Report into plain blocks (headings, paragraphs,
tables); `_Builder` here writes those blocks with python-docx. (tests/helpers.py's
`summary_text()` reads a summary back as Markdown-like text for golden tests.)

Parts: styles and typography (generator/docx_styles.py), body blocks as XML
(generator/docx_blocks.py), native charts (generator/docx_charts.py), python-docx's internals
(generator/docx_internals.py). Here: the page (A4 with Word's Chinese default margins, 2.54 cm
top and bottom, 3.17 cm left and right), header and footer, properties, the per-locale template
cache, and the entry points.

`reference_docx`: the summary starts from the company's document. Its page setup, headers,
footers and the formatting of every style it defines are kept (but East Asian fonts, see
docx_styles); its body is dropped. A header or footer is added only where the reference has
none.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.enum.section import WD_ORIENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from generator.docx_blocks import BlockWriter
from generator.docx_internals import add_field, paragraph_properties, save_package
from generator.docx_styles import AFTER_PBDR, STYLE_TABLE_TEXT, TYPOGRAPHY
from generator.figures import role_value, usable_text
from generator.narrative import Block, Heading, outline
from generator.sentences import MissingMode
from generator.typeset import typeset
from workbook.errors import UnreadableFile, UnsafeFile
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import Report
from workbook.spec import Spec

# Fixed document date when the report has none (the xlsx writer uses the same).
FIXED_DATE = dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)

# A reference document bigger than this (uncompressed) or with more parts is refused.
MAX_REFERENCE_BYTES = 200 * 1024 * 1024
MAX_REFERENCE_PARTS = 5000


class _Builder(BlockWriter):
    """One summary being written.

    reference: the company's document (its body is dropped). template: a locale's
    `_Template` (see `_new_builder`), python-docx's default document already set up.
    Neither: python-docx's default document, set up here (how the template is made).
    """

    def __init__(self, lang: str, reference: Any | None, template: _Template | None = None) -> None:
        self.lang = lang
        self.t: Catalog = catalog(lang)
        self.typo = TYPOGRAPHY[lang]
        self.reference = reference is not None
        self.after_table = False
        self.charts = 0  # charts written so far
        self.chart_numbers: Iterator[int] | None = None  # free N for word/charts/chartN.xml
        self.style_ids: dict[str, str | None] = {}
        self._tbl_style: str | None = None
        if reference is not None:
            self.doc: Any = reference
        elif template is not None:
            self.doc = docx.Document(io.BytesIO(template.data))
            self.style_ids = dict(template.style_ids)
            self._tbl_style = template.table_style
        else:
            self.doc = docx.Document()
        self.latin = self.t("docx.font_latin")
        self.latin_heading = self.t("docx.font_heading_latin")
        self.body_font = self.t("docx.font_body")
        self.heading_font = self.t("docx.font_heading")
        self.subheading_font = self.t("docx.font_subheading")
        if self.reference:
            self._clear_body()
        if self.reference or template is None:
            self.set_up_styles()
        if not self.reference and template is None:
            self._page()

    def _clear_body(self) -> None:
        body = self.doc.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)

    def _page(self) -> None:
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(2.54)
        section.left_margin = section.right_margin = Cm(3.17)
        section.header_distance = Cm(1.5)
        section.footer_distance = Cm(1.75)

    def header_footer(self, header_text: str) -> None:
        section = self.doc.sections[0]
        if section.header.is_linked_to_previous:
            paragraph = section.header.paragraphs[0]
            paragraph.style = self.doc.styles["Header"]
            paragraph.add_run(header_text)
            ppr = paragraph_properties(paragraph)
            border = OxmlElement("w:pBdr")
            bottom = OxmlElement("w:bottom")
            for attr, value in (
                ("w:val", "single"),
                ("w:sz", "4"),
                ("w:space", "1"),
                ("w:color", "auto"),
            ):
                bottom.set(qn(attr), value)
            border.append(bottom)
            ppr.insert_element_before(border, *AFTER_PBDR)
        if section.footer.is_linked_to_previous:
            paragraph = section.footer.paragraphs[0]
            paragraph.style = self.doc.styles["Footer"]
            pattern = self.t("docx.footer")
            for piece, field in _split_fields(pattern):
                if piece:
                    paragraph.add_run(piece)
                if field:
                    add_field(paragraph, field)

    def properties(
        self, *, title: str, author: str, subject: str, comments: str, when: dt.datetime
    ) -> None:
        cp = self.doc.core_properties
        cp.title = title
        cp.author = author
        cp.last_modified_by = author
        cp.subject = subject
        cp.comments = comments
        cp.keywords = ""
        cp.category = ""
        cp.language = self.lang
        cp.revision = 1
        cp.created = when
        cp.modified = when
        # The template's preview picture would show another document.
        rels = self.doc.part.package.rels
        for r_id, rel in list(rels.items()):
            if rel.reltype == RT.THUMBNAIL:
                rels.pop(r_id)

    def to_bytes(self, when: dt.datetime) -> bytes:
        return save_package(self.doc, when, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class _Template:
    """python-docx's default document with our styles and page for one locale (a package
    saved without compression: it is only ever read back here), and what `_Builder` looks up
    in its styles, the same in every document made from it."""

    data: bytes
    style_ids: tuple[tuple[str, str | None], ...]
    table_style: str


# Shared by every thread of the process (opsbook serve renders several uploads at once): read
# and written only under _TEMPLATES_LOCK. A template is immutable once made.
_TEMPLATES: dict[str, _Template] = {}
_BUILT: set[str] = set()  # locales set up from scratch once in this process
_TEMPLATES_LOCK = threading.Lock()
_TEMPLATE_STYLES = ("Title", "Heading 1", "Heading 2", "Normal", "Caption", STYLE_TABLE_TEXT)


def _new_builder(lang: str) -> _Builder:
    """A builder on python-docx's default document with our styles and page.

    The set-up depends only on the locale (its catalogue's fonts and its typography), never on
    a report or a reference document. Reloading a saved set-up costs less than half of doing
    it again, but saving it costs ~6 ms: so the first summary of a locale in this process
    (often the only one: `opsbook render one.xlsx`) just sets up, the second also saves the
    set-up as a template, and later ones reload it.
    """
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(lang)
        first = template is None and lang not in _BUILT
        _BUILT.add(lang)
    if template is not None:
        return _Builder(lang, None, template)
    builder = _Builder(lang, None)
    if first:
        return builder
    # Two threads may both get here: they make the same template; the first one stays.
    made = _Template(
        save_package(builder.doc, FIXED_DATE, zipfile.ZIP_STORED),
        tuple((name, builder.style_id(name)) for name in _TEMPLATE_STYLES),
        builder._table_style,
    )
    with _TEMPLATES_LOCK:
        _TEMPLATES.setdefault(lang, made)
    return builder


def _split_fields(pattern: str) -> Iterator[tuple[str, str | None]]:
    """Text and fields of a footer pattern, in order.

    '第 {page} 页 / 共 {pages} 页' -> ('第 ', 'PAGE'), (' 页 / 共 ', 'NUMPAGES'), (' 页', None).
    """
    fields = {"{page}": "PAGE", "{pages}": "NUMPAGES"}
    rest = pattern
    while rest:
        hits = [(rest.find(k), k) for k in fields if k in rest]
        if not hits:
            yield rest, None
            return
        pos, key = min(hits)
        yield rest[:pos], fields[key]
        rest = rest[pos + len(key) :]


# ----------------------------------------------------------------------------------------------
# Entry points


def _open_reference(path: Path) -> Any:
    """The company's document, checked before python-docx parses it."""
    if not path.is_file():
        raise UnreadableFile("render.reference_not_found", path=path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(
            "render.reference_unreadable", path=path, reason=type(exc).__name__
        ) from exc
    if len(infos) > MAX_REFERENCE_PARTS or sum(i.file_size for i in infos) > MAX_REFERENCE_BYTES:
        raise UnsafeFile("render.reference_too_large", path=path)
    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx and lxml raise many types for a damaged package
        raise UnreadableFile(
            "render.reference_unreadable", path=path, reason=type(exc).__name__
        ) from exc


def document_date(spec: Spec, report: Report) -> dt.datetime:
    """The report's own date (the spec's "report_date" role, midnight UTC), or a fixed date: never
    the clock."""
    value = role_value(spec, report.fields, "report_date")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date) and value.year >= 1980:
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    return FIXED_DATE


def build_summary(
    spec: Spec,
    report: Report,
    *,
    lang: str,
    missing: MissingMode = "omit",
    reference_docx: Path | None = None,
    extra_blocks: Sequence[Block] = (),
    front_blocks: Sequence[Block] = (),
    charts: bool = True,
) -> bytes:
    """The Word summary as bytes: the same spec, report and options give the same bytes.

    extra_blocks: written after the summary in its styles (the team roll-up's appendix);
    front_blocks: written after the title and meta lines, before the first section (last
    period's targets against the results, generator/targets.py);
    charts: the spec's native charts (`[[charts]]` with `after`); False leaves them out.
    """
    lang = normalize_lang(lang)
    blocks = [*outline(spec, report, lang=lang, missing=missing, charts=charts), *extra_blocks]
    if front_blocks:
        first = next(i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level == 1)
        blocks[first:first] = front_blocks
    reference = _open_reference(reference_docx) if reference_docx is not None else None
    builder = _Builder(lang, reference) if reference is not None else _new_builder(lang)
    t = catalog(lang)
    title = typeset(spec.title(lang), lang)
    store = usable_text(role_value(spec, report.fields, "store"))
    period = usable_text(role_value(spec, report.fields, "period"))
    header = t("docx.header", store=store, title=title) if store else title
    builder.header_footer(" ".join(header.split("\n")))
    builder.blocks(blocks)
    when = document_date(spec, report)
    subject_parts = [p for p in (store, period) if p]
    builder.properties(
        title=title,
        author=usable_text(role_value(spec, report.fields, "author")) or t("docx.default_author"),
        subject=" · ".join(subject_parts)
        if len(subject_parts) < 2
        else t("docx.subject", store=store, period=period),
        comments=t("docx.comments", source=usable_text(report.source) or spec.id),
        when=when,
    )
    return builder.to_bytes(when)


__all__ = ["build_summary", "document_date"]
