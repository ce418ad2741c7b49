"""Report -> Word summary (.docx): the template's structure, Chinese office typography, same bytes
for the same input.

`narrative.outline()` turns the spec and a Report into plain blocks (headings, paragraphs,
tables); `_Builder` here writes those blocks with python-docx. `summary_text()` reads a summary
back as Markdown-like text for golden tests and round-trip comparisons.

Typography (office-notes: "Writing docx"):
- every style used, and the document defaults, name an East Asian font (`w:eastAsia`) and carry
  no theme-font attributes, which would override the names; headings are black, not theme blue;
- zh-CN: title 黑体 二号 (22 pt) bold, Heading 1 黑体 三号 (16 pt), Heading 2 楷体 四号 (14 pt)
  bold, body 宋体 小四 (12 pt) with 1.5 line spacing, justified, first line indented two
  characters; tables 五号 (10.5 pt); header and footer 小五 (9 pt); Latin text in Times New
  Roman (Arial in headings). en: Calibri 11 pt body, 1.15 spacing, no indent.
- A4 with Word's Chinese default margins (2.54 cm top and bottom, 3.17 cm left and right).

`reference_docx`: the summary starts from the company's document. Its page setup, headers,
footers and the formatting of every style it defines are kept; its body is dropped. Styles we
need that it lacks are added with our layout but its fonts (they inherit from its Normal). The
one thing we change in its styles is the East Asian font, and only where Chinese text would
otherwise fall back to whatever the machine picks: a style chain with no `w:eastAsia` name and
no usable theme East Asian font gets ours. A header or footer is added only where the reference
has none.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Emu, Pt, RGBColor

from generator.narrative import (
    Block,
    Heading,
    MissingMode,
    Para,
    TableBlock,
    outline,
    typeset,
    usable_text,
)
from workbook.errors import UnreadableFile, UnsafeFile
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import Report
from workbook.spec import Spec

# Fixed document date when the report has none (the xlsx writer uses the same).
FIXED_DATE = dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)

# A reference document bigger than this (uncompressed) or with more parts is refused.
MAX_REFERENCE_BYTES = 200 * 1024 * 1024
MAX_REFERENCE_PARTS = 5000

STYLE_TABLE_TEXT = "Table Text"
KEEP_TOGETHER_ROWS = 12  # tables up to this many rows are not split across pages
_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


@dataclass(frozen=True)
class Typography:
    """Sizes in points and paragraph layout of one locale."""

    title: float
    heading1: float
    heading2: float
    body: float
    table: float
    small: float
    line_spacing: float
    first_line_chars: int
    justify: bool
    body_after: float  # space after a body paragraph


TYPOGRAPHY = {
    # 二号 22, 三号 16, 四号 14, 小四 12, 五号 10.5, 小五 9.
    "zh-CN": Typography(22, 16, 14, 12, 10.5, 9, 1.5, 2, True, 0),
    "en": Typography(20, 14, 12, 11, 9.5, 8.5, 1.15, 0, False, 6),
}


# ----------------------------------------------------------------------------------------------
# Word


# Children that must follow an element we add, in schema order (ECMA-376 CT_PPr, CT_TcPr):
# Word refuses a file whose property elements are out of order.
_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
_AFTER_OUTLINE_LVL = _AFTER_PBDR[_AFTER_PBDR.index("w:outlineLvl") + 1 :]
_AFTER_TBL_CELL_MAR = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
_AFTER_SHD = (
    "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark",
    "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange",
)  # fmt: skip


def _rfonts(element: Any) -> Any:
    """The w:rFonts of a style (or of docDefaults' w:rPrDefault), created when absent."""
    if element.tag == qn("w:style"):
        rpr = element.get_or_add_rPr()
    else:
        rpr = element.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            element.append(rpr)
    return rpr.get_or_add_rFonts()


def _set_fonts(element: Any, latin: str, east_asia: str) -> None:
    """Name every font slot and drop the theme attributes that would override the names."""
    fonts = _rfonts(element)
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _set_east_asia(element: Any, east_asia: str) -> None:
    fonts = _rfonts(element)
    fonts.attrib.pop(qn("w:eastAsiaTheme"), None)
    fonts.set(qn("w:eastAsia"), east_asia)


def _first_line(ppr_owner: Any, chars: int, body_pt: float) -> None:
    """First-line indent in characters (w:firstLineChars, which Word honours) and in twips
    (w:firstLine, for LibreOffice and others)."""
    ind = ppr_owner.get_or_add_pPr().get_or_add_ind()
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(round(chars * body_pt * 20)))
    for attr in ("w:hanging", "w:hangingChars"):
        ind.attrib.pop(qn(attr), None)


class _Theme:
    """Whether the document's theme gives East Asian text a real font."""

    def __init__(self, document: Any) -> None:
        self.fonts: dict[str, bool] = {"major": False, "minor": False}
        lang = ""
        settings = document.settings.element.find(qn("w:themeFontLang"))
        if settings is not None:
            lang = settings.get(qn("w:eastAsia"), "")
        try:
            theme = document.part.part_related_by(RT.THEME)
        except KeyError:
            return
        root = parse_xml(theme.blob)
        ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
        for kind in ("major", "minor"):
            font = root.find(f".//a:fontScheme/a:{kind}Font", ns)
            if font is None:
                continue
            ea = font.find("a:ea", ns)
            hans = font.find("a:font[@script='Hans']", ns)
            self.fonts[kind] = bool(ea is not None and ea.get("typeface")) or (
                lang.lower().startswith("zh") and hans is not None and bool(hans.get("typeface"))
            )

    def usable(self, attr: str) -> bool:
        return self.fonts["major" if attr.startswith("major") else "minor"]


class _Builder:
    def __init__(self, lang: str, reference: Any | None) -> None:
        self.lang = lang
        self.t: Catalog = catalog(lang)
        self.typo = TYPOGRAPHY[lang]
        self.reference = reference is not None
        self.after_table = False
        self.style_ids: dict[str, str | None] = {}
        self.doc: Any = reference if reference is not None else docx.Document()
        self.latin = self.t("docx.font_latin")
        self.latin_heading = self.t("docx.font_heading_latin")
        self.body_font = self.t("docx.font_body")
        self.heading_font = self.t("docx.font_heading")
        self.subheading_font = self.t("docx.font_subheading")
        if self.reference:
            self._clear_body()
        self._styles()
        if not self.reference:
            self._page()

    # -- styles -----------------------------------------------------------------------------

    def _style(self, name: str, kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH) -> tuple[Any, bool]:
        """The named style, and whether we created it (so we may format it)."""
        try:
            return self.doc.styles[name], not self.reference
        except KeyError:
            style = self.doc.styles.add_style(name, kind)
            if kind == WD_STYLE_TYPE.PARAGRAPH and name != "Normal":
                style.base_style = self.doc.styles["Normal"]
            return style, True

    def _styles(self) -> None:
        theme = _Theme(self.doc)
        defaults = self.doc.styles.element.find(qn("w:docDefaults"))
        if not self.reference and defaults is not None:
            rpr_default = defaults.find(qn("w:rPrDefault"))
            if rpr_default is not None:
                _set_fonts(rpr_default, self.latin, self.body_font)
                lang_el = rpr_default.find(qn("w:rPr")).find(qn("w:lang"))
                if lang_el is not None and self.lang == "zh-CN":
                    lang_el.set(qn("w:eastAsia"), "zh-CN")
            self._theme_lang()

        specs: list[tuple[str, WD_STYLE_TYPE, str, str]] = [
            ("Normal", WD_STYLE_TYPE.PARAGRAPH, self.latin, self.body_font),
            ("Title", WD_STYLE_TYPE.PARAGRAPH, self.latin_heading, self.heading_font),
            ("Heading 1", WD_STYLE_TYPE.PARAGRAPH, self.latin_heading, self.heading_font),
            ("Heading 2", WD_STYLE_TYPE.PARAGRAPH, self.latin, self.subheading_font),
            ("Caption", WD_STYLE_TYPE.PARAGRAPH, self.latin_heading, self.heading_font),
            (STYLE_TABLE_TEXT, WD_STYLE_TYPE.PARAGRAPH, self.latin, self.body_font),
            ("Table Grid", WD_STYLE_TYPE.TABLE, self.latin, self.body_font),
            ("Header", WD_STYLE_TYPE.PARAGRAPH, self.latin, self.body_font),
            ("Footer", WD_STYLE_TYPE.PARAGRAPH, self.latin, self.body_font),
        ]
        for name, kind, latin, east in specs:
            style, ours = self._style(name, kind)
            if ours:
                if not self.reference:
                    _set_fonts(style.element, latin, east)
                self._format(name, style)
            self._ensure_east_asia(style, east, theme)

    def _theme_lang(self) -> None:
        """Theme fonts resolve East Asian text by this language; say Chinese for zh-CN."""
        el = self.doc.settings.element.find(qn("w:themeFontLang"))
        if el is not None and self.lang == "zh-CN":
            el.set(qn("w:eastAsia"), "zh-CN")

    def _ensure_east_asia(self, style: Any, east: str, theme: _Theme) -> None:
        """Give the style an East Asian font unless its chain already names a usable one."""
        node = style
        while node is not None:
            fonts = node.element.find(qn("w:rPr") + "/" + qn("w:rFonts"))
            if fonts is not None:
                if fonts.get(qn("w:eastAsia")) and fonts.get(qn("w:eastAsiaTheme")) is None:
                    return
                theme_attr = fonts.get(qn("w:eastAsiaTheme"))
                if theme_attr is not None:
                    if theme.usable(theme_attr):
                        return
                    break
            node = node.base_style
        else:
            defaults = self.doc.styles.element.find(
                qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr")
            )
            fonts = defaults.find(qn("w:rFonts")) if defaults is not None else None
            if fonts is not None:
                theme_attr = fonts.get(qn("w:eastAsiaTheme"))
                if theme_attr is None and fonts.get(qn("w:eastAsia")):
                    return
                if theme_attr is not None and theme.usable(theme_attr):
                    return
        _set_east_asia(style.element, east)

    def _format(self, name: str, style: Any) -> None:
        """Our layout for a style we own (all of them, or those the reference lacks)."""
        typo = self.typo
        black = RGBColor(0, 0, 0)
        if name == "Table Grid":
            style.font.size = Pt(typo.table)
            return
        pf = style.paragraph_format
        font = style.font
        if name == "Normal":
            font.size = Pt(typo.body)
            pf.line_spacing = typo.line_spacing
            pf.space_before = Pt(0)
            pf.space_after = Pt(typo.body_after)
            pf.widow_control = True
            if typo.justify:
                pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            if typo.first_line_chars:
                _first_line(style.element, typo.first_line_chars, typo.body)
            return
        # Everything else: no first-line indent, black text.
        _first_line(style.element, 0, typo.body)
        font.color.rgb = black
        font.italic = False
        if name == "Title":
            ppr = style.element.get_or_add_pPr()
            border = ppr.find(qn("w:pBdr"))
            if border is not None:
                ppr.remove(border)
            font.size = Pt(typo.title)
            font.bold = True
            pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
            pf.line_spacing = 1.2
            pf.space_before = Pt(0)
            pf.space_after = Pt(typo.title * 0.6)
        elif name in ("Heading 1", "Heading 2"):
            level = 0 if name == "Heading 1" else 1
            font.size = Pt(typo.heading1 if level == 0 else typo.heading2)
            font.bold = True
            pf.alignment = WD_ALIGN_PARAGRAPH.LEFT
            pf.keep_with_next = True
            pf.line_spacing = typo.line_spacing
            pf.space_before = Pt(12 if level == 0 else 6)
            pf.space_after = Pt(6 if level == 0 else 3)
            ppr = style.element.get_or_add_pPr()
            if ppr.find(qn("w:outlineLvl")) is None:
                outline_lvl = OxmlElement("w:outlineLvl")
                outline_lvl.set(qn("w:val"), str(level))
                ppr.insert_element_before(outline_lvl, *_AFTER_OUTLINE_LVL)
        elif name == "Caption":
            font.size = Pt(typo.table)
            font.bold = True
            pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
            pf.keep_with_next = True
            pf.line_spacing = 1.0
            pf.space_before = Pt(9)
            pf.space_after = Pt(3)
        elif name == STYLE_TABLE_TEXT:
            font.size = Pt(typo.table)
            pf.alignment = WD_ALIGN_PARAGRAPH.LEFT
            pf.line_spacing = 1.0
            pf.space_before = Pt(2)
            pf.space_after = Pt(2)
        elif name in ("Header", "Footer"):
            font.size = Pt(typo.small)
            pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
            pf.line_spacing = 1.0
            pf.space_before = Pt(0)
            pf.space_after = Pt(0)

    # -- page -------------------------------------------------------------------------------

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

    @property
    def text_width(self) -> int:
        section = self.doc.sections[-1]
        return int(section.page_width - section.left_margin - section.right_margin)

    def header_footer(self, header_text: str) -> None:
        section = self.doc.sections[0]
        if section.header.is_linked_to_previous:
            paragraph = section.header.paragraphs[0]
            paragraph._p.style = self.style_id("Header")
            paragraph.add_run(header_text)
            ppr = paragraph._p.get_or_add_pPr()
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
            ppr.insert_element_before(border, *_AFTER_PBDR)
        if section.footer.is_linked_to_previous:
            paragraph = section.footer.paragraphs[0]
            paragraph._p.style = self.style_id("Footer")
            pattern = self.t("docx.footer")
            for piece, field in _split_fields(pattern):
                if piece:
                    paragraph.add_run(piece)
                if field:
                    _add_field(paragraph, field)

    # -- blocks -----------------------------------------------------------------------------

    def style_id(self, name: str) -> str | None:
        """The style's id; None for the default paragraph style (it needs no w:pStyle)."""
        if name not in self.style_ids:
            style = self.doc.styles[name]
            default = style.element.get(qn("w:default")) in ("1", "true", "on")
            self.style_ids[name] = None if default else style.style_id
        return self.style_ids[name]

    def paragraph(self, style: str, text: str = "") -> Any:
        """A new body paragraph. Styles are set by id: python-docx's `paragraph.style = ...`
        scans every style for the default one on each call (about 2 ms a paragraph)."""
        paragraph = self.doc.add_paragraph()
        paragraph._p.style = self.style_id(style)
        if text:
            paragraph.add_run(text)
        return paragraph

    def add(self, block: Block) -> None:
        after_table, self.after_table = self.after_table, isinstance(block, TableBlock)
        if isinstance(block, Heading):
            style = ("Title", "Heading 1", "Heading 2")[block.level]
            heading = self.paragraph(style, block.text)
            if after_table:
                heading.paragraph_format.space_before = Pt(self.typo.body)
        elif isinstance(block, Para):
            paragraph = self.paragraph("Normal")
            if after_table:
                paragraph.paragraph_format.space_before = Pt(self.typo.body / 2)
            if block.lead:
                paragraph.add_run(block.lead).bold = True
            if block.text:
                paragraph.add_run(block.text)
            if block.role == "meta":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _first_line(paragraph._p, 0, self.typo.body)
        else:
            self.table(block)

    def table(self, block: TableBlock) -> None:
        self.paragraph("Caption", block.caption)
        ncols = len(block.header)
        table = self.doc.add_table(rows=1 + len(block.rows), cols=ncols)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        total = self.text_width
        widths = [int(total * w) for w in block.widths]
        tbl_pr = table._tbl.tblPr
        tbl_w = tbl_pr.find(qn("w:tblW"))
        if tbl_w is None:
            tbl_w = OxmlElement("w:tblW")
            tbl_pr.append(tbl_w)
        tbl_w.set(qn("w:w"), str(Emu(sum(widths)).twips))
        tbl_w.set(qn("w:type"), "dxa")
        tbl_pr.insert_element_before(_cell_margins(), *_AFTER_TBL_CELL_MAR)
        for i, column in enumerate(table.columns):
            column.width = widths[i]
        table_text = self.style_id(STYLE_TABLE_TEXT)
        # A short table stays on one page: "keep with next" on every row but the last is how
        # Word (and LibreOffice) keep a table together. A long one may break, header repeated.
        keep_together = len(block.rows) <= KEEP_TOGETHER_ROWS
        for r, row in enumerate(table.rows):
            tr_pr = row._tr.get_or_add_trPr()
            tr_pr.append(OxmlElement("w:cantSplit"))
            if r == 0:
                tr_pr.append(OxmlElement("w:tblHeader"))
            values = block.header if r == 0 else block.rows[r - 1]
            for c, cell in enumerate(row.cells):
                cell.width = widths[c]
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                paragraph = cell.paragraphs[0]
                paragraph._p.style = table_text
                if r == 0 or block.centered[c]:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                if keep_together and r < len(block.rows):
                    paragraph.paragraph_format.keep_with_next = True
                run = paragraph.add_run(values[c])
                if r == 0:
                    run.bold = True
                    _shade(cell, "D9D9D9")

    # -- properties and bytes ---------------------------------------------------------------

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
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return _normalize_zip(buffer.getvalue(), when)


def _cell_margins() -> Any:
    """Cell padding of 0.13 cm left and right (Word's default is 0.19 cm): figures such as
    "1,543.8万元" stay on one line in a five-column table."""
    margins = OxmlElement("w:tblCellMar")
    for side, width in (("w:top", 0), ("w:left", 72), ("w:bottom", 0), ("w:right", 72)):
        el = OxmlElement(side)
        el.set(qn("w:w"), str(width))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    return margins


def _shade(cell: Any, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().insert_element_before(shd, *_AFTER_SHD)


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


def _add_field(paragraph: Any, instruction: str) -> None:
    """A complex field (PAGE, NUMPAGES) with a cached result of 1 until the viewer updates it."""

    def char(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(el)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    char("separate")
    paragraph.add_run("1")
    char("end")


def _normalize_zip(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite the package with fixed member dates (python-docx stamps the current time)."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 0
            member.external_attr = 0
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


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


def document_date(report: Report) -> dt.datetime:
    """The report's own date (midnight UTC), or a fixed date: never the clock."""
    value = report.fields.get("report_date")
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
) -> bytes:
    """The Word summary as bytes: the same spec, report and options give the same bytes.

    extra_blocks: written after the summary in its styles (the team roll-up's appendix).
    """
    lang = normalize_lang(lang)
    blocks = [*outline(spec, report, lang=lang, missing=missing), *extra_blocks]
    reference = _open_reference(reference_docx) if reference_docx is not None else None
    builder = _Builder(lang, reference)
    t = catalog(lang)
    title = typeset(spec.title(lang), lang)
    store = usable_text(report.fields.get("store_name"))
    period = usable_text(report.fields.get("period"))
    header = t("docx.header", store=store, title=title) if store else title
    builder.header_footer(" ".join(header.split("\n")))
    for block in blocks:
        builder.add(block)
    when = document_date(report)
    subject_parts = [p for p in (store, period) if p]
    builder.properties(
        title=title,
        author=usable_text(report.fields.get("author")) or t("docx.default_author"),
        subject=" · ".join(subject_parts)
        if len(subject_parts) < 2
        else t("docx.subject", store=store, period=period),
        comments=t("docx.comments", source=usable_text(report.source) or spec.id),
        when=when,
    )
    return builder.to_bytes(when)


# ----------------------------------------------------------------------------------------------
# Reading a summary back


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


__all__ = ["build_summary", "document_date", "iter_text_parts", "summary_text"]
