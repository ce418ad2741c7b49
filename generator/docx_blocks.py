"""The body of a summary as WordprocessingML: headings, paragraphs, tables and charts written
as one XML string with the elements, attributes and order python-docx's proxies would write
(ECMA-376 schema order), parsed once and appended to the document's body."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Emu, Pt

from generator.chartdata import ChartBlock
from generator.docx_charts import Fonts, add_chart_parts, drawing_xml, taken_chart_numbers
from generator.docx_styles import STYLE_TABLE_TEXT, DocumentStyles
from generator.narrative import (
    Block,
    Heading,
    Para,
    TableBlock,
)

KEEP_TOGETHER_ROWS = 12  # tables up to this many rows are not split across pages

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


def paragraph_xml(
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


class BlockWriter(DocumentStyles):
    """Writes `narrative` blocks at the end of the document's body."""

    after_table: bool
    charts: int  # charts written so far
    chart_numbers: Iterator[int] | None  # free N for word/charts/chartN.xml
    style_ids: dict[str, str | None]
    _tbl_style: str | None

    @property
    def text_width(self) -> int:
        section = self.doc.sections[-1]
        return int(section.page_width - section.left_margin - section.right_margin)

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
            paragraph_xml(out, texts, self.style_id(style), [(block.text, False)], before=before)
        elif isinstance(block, Para):
            meta = block.role == "meta"
            paragraph_xml(
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
        paragraph_xml(out, texts, self.style_id("Caption"), [(block.caption, False)])
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
                paragraph_xml(
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
        paragraph_xml(
            out,
            texts,
            self.style_id("Caption"),
            [(block.caption, False)],
            keep_next=bool(block.note),
        )
        if block.note:
            paragraph_xml(
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


def chart_drawing(builder: BlockWriter, block: ChartBlock) -> str:
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
