"""The workbook embedded in a Word chart (word/embeddings/): the smallest SpreadsheetML
package Excel, WPS and LibreOffice open (a sheet, shared strings and one number format, fixed
zip dates), so that "Edit Data" opens the chart's figures."""

from __future__ import annotations

import io
import zipfile

from generator.chartdata import ChartBlock
from generator.numfmt import xml_number

ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def column_letter(index: int) -> str:
    """Column letters of a 0-based index (0 -> A)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006"
_NS_REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


# The parts that are the same in every embedded workbook, in the package's order.
_FIXED_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="{_NS_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT_SHEET}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml"'
        f' ContentType="{_CT_SHEET}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT_SHEET}.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml"'
        f' ContentType="{_CT_SHEET}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_NS_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_NS_REL_DOC}/officeDocument"'
        ' Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'{_XML}<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL_DOC}">'
        "<bookViews><workbookView/></bookViews>"
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_NS_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_NS_REL_DOC}/worksheet"'
        ' Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_NS_REL_DOC}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{_NS_REL_DOC}/sharedStrings"'
        ' Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def _sheet(block: ChartBlock) -> tuple[str, list[str]]:
    """The worksheet's XML and its shared strings, in order."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def sst(text: str) -> int:
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    rows = ['<row r="1">']
    for s, series in enumerate(block.series):
        rows.append(f'<c r="{column_letter(s + 1)}1" t="s"><v>{sst(series.name)}</v></c>')
    rows.append("</row>")
    for i, category in enumerate(block.categories):
        r = i + 2
        rows.append(f'<row r="{r}"><c r="A{r}" t="s"><v>{sst(category)}</v></c>')
        for s, series in enumerate(block.series):
            value = series.values[i]
            if value is not None:
                rows.append(
                    f'<c r="{column_letter(s + 1)}{r}" s="1"><v>{xml_number(value)}</v></c>'
                )
        rows.append("</row>")
    last = f"{column_letter(len(block.series))}{len(block.categories) + 1}"
    sheet = (
        f'{_XML}<worksheet xmlns="{_NS_MAIN}"><dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        '<cols><col min="1" max="1" width="24" customWidth="1"/>'
        f'<col min="2" max="{len(block.series) + 1}" width="16" customWidth="1"/></cols>'
        f"<sheetData>{''.join(rows)}</sheetData></worksheet>"
    )
    return sheet, strings


def workbook_xlsx(block: ChartBlock) -> bytes:
    """The chart's figures as an xlsx: categories in column A, a series per column from B
    (its name in row 1), values in the chart's number format; missing values are empty cells."""
    sheet, strings = _sheet(block)
    shared = "".join(f'<si><t xml:space="preserve">{escape(t)}</t></si>' for t in strings)
    members = {
        **_FIXED_PARTS,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/styles.xml": (
            f'{_XML}<styleSheet xmlns="{_NS_MAIN}">'
            '<numFmts count="1"><numFmt numFmtId="164"'
            f' formatCode="{escape(block.number_format)}"/>'
            '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        ),
        "xl/sharedStrings.xml": (
            f'{_XML}<sst xmlns="{_NS_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{shared}</sst>"
        ),
    }
    # Stored, not deflated: the docx deflates the whole part anyway (and a zlib stream per
    # member was most of the cost of a chart).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), text.encode("utf-8"))
    return buffer.getvalue()
