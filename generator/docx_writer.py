"""Report -> Word summary (.docx): the template's structure, Chinese office typography, same bytes
for the same input.

`narrative.outline()` turns the spec and a Report into plain blocks (headings, paragraphs,
tables); `_Builder` here writes those blocks with python-docx. (tests/helpers.py's
`summary_text()` reads a summary back as Markdown-like text for golden tests.)

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
import itertools
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Emu, Pt, RGBColor

from generator.chartdata import ChartBlock
from generator.docx_charts import Fonts, add_chart_parts, drawing_xml, taken_chart_numbers
from generator.docx_internals import add_field, paragraph_properties, save_package
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

# Body XML written as text (`_Builder.blocks`), as python-docx's proxies would write it.
_W_T = qn("w:t")
# What python-docx's `run.text = ...` makes of a text: a w:tab for a tab, a w:br for a line
# break (\r or \n), and a w:t for each stretch of other characters.
_RUN_PIECES = re.compile(r"[\t\r\n]|[^\t\r\n]+")
# Cell padding of 0.13 cm left and right (Word's default is 0.19 cm): figures such as
# "1,543.8万元" stay on one line in a five-column table.
_CELL_MARGINS = (
    '<w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="72" w:type="dxa"/>'
    '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="72" w:type="dxa"/></w:tblCellMar>'
)
# python-docx's new table (`CT_Tbl.new_tbl`) carries this.
_TBL_LOOK = (
    '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0"'
    ' w:noHBand="0" w:noVBand="1" w:val="04A0"/>'
)
_HEADER_SHADING = '<w:shd w:val="clear" w:color="auto" w:fill="D9D9D9"/>'


# html.escape(value, quote=True), without importing html and its entity tables.
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
)


def _attr(value: str) -> str:
    return value.translate(_ATTR_ESCAPES)


def _paragraph_xml(
    out: list[str],
    texts: list[str],
    style_id: str | None,
    runs: Sequence[tuple[str | None, bool]],
    *,
    keep_next: bool = False,
    before: int | None = None,
    no_indent: bool = False,
    center: bool = False,
    empty_run: bool = False,
    left: bool = False,
) -> None:
    """A w:p as `add_paragraph()`, `_p.style = style_id` (an empty w:pPr when None),
    `paragraph_format` and `add_run(text)` (`.bold`) write it, appended to `out`.

    The w:pPr children are in schema order: pStyle, keepNext, spacing (`before`, in twips),
    ind (no first-line indent), jc. Runs with no text are left out unless `empty_run`; each
    w:t is written empty and its text appended to `texts`, in document order.
    """
    out.append("<w:p><w:pPr>")
    if style_id is not None:
        out.append(f'<w:pStyle w:val="{_attr(style_id)}"/>')
    if keep_next:
        out.append("<w:keepNext/>")
    if before is not None:
        out.append(f'<w:spacing w:before="{before}"/>')
    if no_indent:
        out.append('<w:ind w:firstLineChars="0" w:firstLine="0"/>')
    if center:
        out.append('<w:jc w:val="center"/>')
    elif left or any(text and ("\n" in text or "\r" in text) for text, _ in runs):
        # Word and LibreOffice stretch a justified line that ends in a line break across the
        # whole width ("未 提 交"): such a paragraph is set flush left.
        out.append('<w:jc w:val="left"/>')
    out.append("</w:pPr>")
    for text, bold in runs:
        if not text and not empty_run:
            continue
        out.append("<w:r><w:rPr><w:b/></w:rPr>" if bold else "<w:r>")
        for piece in _RUN_PIECES.findall(text or ""):
            if piece == "\t":
                out.append("<w:tab/>")
            elif piece in ("\r", "\n"):
                out.append("<w:br/>")
            else:
                # python-docx's CT_R.add_t: preserve spaces at either end
                out.append('<w:t xml:space="preserve"/>' if piece.strip() != piece else "<w:t/>")
                texts.append(piece)
        out.append("</w:r>")
    out.append("</w:p>")


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
            self._styles()
        if not self.reference and template is None:
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
            ppr.insert_element_before(border, *_AFTER_PBDR)
        if section.footer.is_linked_to_previous:
            paragraph = section.footer.paragraphs[0]
            paragraph.style = self.doc.styles["Footer"]
            pattern = self.t("docx.footer")
            for piece, field in _split_fields(pattern):
                if piece:
                    paragraph.add_run(piece)
                if field:
                    add_field(paragraph, field)

    # -- blocks -----------------------------------------------------------------------------

    def style_id(self, name: str) -> str | None:
        """The style's id; None for the default paragraph style (it needs no w:pStyle)."""
        if name not in self.style_ids:
            style = self.doc.styles[name]
            default = style.element.get(qn("w:default")) in ("1", "true", "on")
            self.style_ids[name] = None if default else style.style_id
        return self.style_ids[name]

    def blocks(self, blocks: Sequence[Block]) -> None:
        """Write the blocks at the end of the body.

        The XML of all of them is written as one string and parsed once: python-docx's
        proxies (`add_paragraph`, `row.cells`, `cell.width`, `paragraph_format`, ...) find the
        place of every property by walking the schema's child order, which cost most of a
        summary. The string holds the same elements, attributes and order as those proxies
        write (children in schema order: ECMA-376 CT_PPr, CT_TblPr, CT_TcPr); texts are set
        afterwards through lxml, which checks them as python-docx's `run.text` did.
        """
        out: list[str] = [f"<w:body {nsdecls('w')}>"]
        texts: list[str] = []
        for block in blocks:
            self._block(block, out, texts)
        out.append("</w:body>")
        fragment = parse_xml("".join(out))
        for element, text in zip(fragment.iter(_W_T), texts, strict=True):
            element.text = text
        body = self.doc.element.body
        end = body.find(qn("w:sectPr"))
        for child in list(fragment):
            if end is None:
                body.append(child)
            else:
                end.addprevious(child)

    def _block(self, block: Block, out: list[str], texts: list[str]) -> None:
        after_table, self.after_table = self.after_table, isinstance(block, TableBlock | ChartBlock)
        if isinstance(block, ChartBlock):
            self._chart(block, out, texts)
        elif isinstance(block, Heading):
            style = ("Title", "Heading 1", "Heading 2")[block.level]
            before = Pt(self.typo.body).twips if after_table else None
            _paragraph_xml(out, texts, self.style_id(style), [(block.text, False)], before=before)
        elif isinstance(block, Para):
            meta = block.role == "meta"
            _paragraph_xml(
                out,
                texts,
                self.style_id("Normal"),
                [(block.lead, True), (block.text, False)],
                before=Pt(self.typo.body / 2).twips if after_table else None,
                no_indent=meta,
                center=meta,
                left=block.role == "list",
            )
        else:
            self._table(block, out, texts)

    def _table(self, block: TableBlock, out: list[str], texts: list[str]) -> None:
        """A caption, then the table as `doc.add_table` and the cell proxies wrote it."""
        _paragraph_xml(out, texts, self.style_id("Caption"), [(block.caption, False)])
        total = self.text_width
        ncols = len(block.header)
        emus = [int(total * w) for w in block.widths]
        if any(e < 0 for e in emus[:ncols]):  # python-docx refused these widths too
            raise ValueError(f"negative table column width: {emus}")
        widths = [Emu(e).twips for e in emus]
        # The tblW element keeps python-docx's attribute order (w:type, then w:w).
        out.append(f'<w:tbl><w:tblPr>{self._table_style}<w:tblW w:type="dxa" w:w="')
        out.append(str(Emu(sum(emus)).twips))
        out.append(f'"/><w:jc w:val="center"/><w:tblLayout w:type="fixed"/>{_CELL_MARGINS}')
        out.append(_TBL_LOOK)
        out.append("</w:tblPr><w:tblGrid>")
        out.extend(f'<w:gridCol w:w="{widths[c]}"/>' for c in range(ncols))
        out.append("</w:tblGrid>")
        table_text = self.style_id(STYLE_TABLE_TEXT)
        # A short table stays on one page: "keep with next" on every row but the last is how
        # Word (and LibreOffice) keep a table together. A long one may break, header repeated.
        keep_together = len(block.rows) <= KEEP_TOGETHER_ROWS
        for r, values in enumerate((block.header, *block.rows)):
            header = r == 0
            keep = keep_together and r < len(block.rows)
            out.append("<w:tr><w:trPr><w:cantSplit/>")
            out.append("<w:tblHeader/></w:trPr>" if header else "</w:trPr>")
            for c in range(ncols):
                out.append(f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{widths[c]}"/>')
                if header:
                    out.append(_HEADER_SHADING)
                out.append('<w:vAlign w:val="center"/></w:tcPr>')
                _paragraph_xml(
                    out,
                    texts,
                    table_text,
                    [(values[c], header)],
                    keep_next=keep,
                    center=header or block.centered[c],
                    empty_run=True,
                )
                out.append("</w:tc>")
            out.append("</w:tr>")
        out.append("</w:tbl>")

    def _chart(self, block: ChartBlock, out: list[str], texts: list[str]) -> None:
        """A native chart (generator/docx_charts.py) as wide as the text, its caption below
        (图1 …) and, when figures are missing, a note saying which."""
        self.charts += 1
        out.append(
            '<w:p><w:pPr><w:keepNext/><w:spacing w:before="120" w:after="0" w:line="240"'
            ' w:lineRule="auto"/><w:ind w:firstLineChars="0" w:firstLine="0"/>'
            '<w:jc w:val="center"/></w:pPr><w:r>'
        )
        out.append(chart_drawing(self, block))
        out.append("</w:r></w:p>")
        _paragraph_xml(
            out,
            texts,
            self.style_id("Caption"),
            [(block.caption, False)],
            keep_next=bool(block.note),
        )
        if block.note:
            _paragraph_xml(
                out, texts, self.style_id(STYLE_TABLE_TEXT), [(block.note, False)], center=True
            )

    @property
    def _table_style(self) -> str:
        """The w:tblStyle of our tables: none when "Table Grid" is the document's default
        table style (as python-docx's `table.style = ...` decides), computed once."""
        if self._tbl_style is None:
            style_id = self.doc.part.get_style_id(
                self.doc.styles["Table Grid"], WD_STYLE_TYPE.TABLE
            )
            self._tbl_style = "" if style_id is None else f'<w:tblStyle w:val="{_attr(style_id)}"/>'
        return self._tbl_style

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


def chart_drawing(builder: _Builder, block: ChartBlock) -> str:
    """Add the block's chart parts to the builder's document; the w:drawing showing it."""
    t = builder.t
    fonts = Fonts(
        latin=builder.latin,
        latin_title=builder.latin_heading,
        east_asia=builder.body_font,
        east_asia_title=builder.heading_font,
        lang="zh-CN" if builder.lang == "zh-CN" else "en-US",
        size=builder.typo.small,
        title_size=builder.typo.table,
    )
    if builder.chart_numbers is None:
        taken = taken_chart_numbers(builder.doc.part)
        builder.chart_numbers = (n for n in itertools.count(1) if n not in taken)
    r_id = add_chart_parts(builder.doc.part, block, fonts, next(builder.chart_numbers))
    cx = builder.text_width
    cy = int(Cm(block.height_cm))
    return drawing_xml(r_id, 1000 + builder.charts, t("charts.name", n=builder.charts), cx, cy)


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
    store = usable_text(report.fields.get("store_name"))
    period = usable_text(report.fields.get("period"))
    header = t("docx.header", store=store, title=title) if store else title
    builder.header_footer(" ".join(header.split("\n")))
    builder.blocks(blocks)
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


__all__ = ["build_summary", "document_date"]
