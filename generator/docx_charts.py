"""Native Word charts: a `ChartBlock` as a chart part (word/charts/chartN.xml, c:chartSpace) with
its embedded workbook (word/embeddings/, so Word's and WPS's "Edit Data" open the figures),
referenced from an inline drawing in the body (docs/word-charts.md).

The chart XML follows python-pptx's `ChartXmlWriter` (same elements and order, checked in
tests by reading our parts back with python-pptx), written here as text: importing python-pptx
at render time costs about a third of a whole `opsbook render` (it loads Pillow and all of
PowerPoint's part classes). The embedded workbook is the smallest SpreadsheetML package Excel,
WPS and LibreOffice open: a sheet, shared strings and one number format, with fixed zip dates.

Black-and-white printing: series are told apart by grey level and a hatch, each bar outlined in
black; lines by their dash and marker (solid with filled circles, dashed with open squares ...);
values are printed on the bars and points in the text's format (1,286.5万元, 3.7%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part

from generator.chartdata import ChartBlock
from generator.docx_chart_workbook import column_letter as _col
from generator.docx_chart_workbook import escape as _x
from generator.docx_chart_workbook import workbook_xlsx
from generator.numfmt import xml_number

NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
CHART_URI = NS_C
EMU_PER_CM = 360000


@dataclass(frozen=True)
class Fonts:
    """Typefaces and sizes (points) of the chart's text."""

    latin: str
    latin_title: str
    east_asia: str
    east_asia_title: str
    lang: str  # "zh-CN", "en-US": the language of the chart's text runs
    size: float = 9.0
    title_size: float = 10.5


# Fills that print apart in black and white: light grey, dark grey, a black hatch on white,
# mid grey, dots. The order for n series (or points) keeps the first and last far apart.
_LIGHT = '<a:solidFill><a:srgbClr val="D0D0D0"/></a:solidFill>'
_MID = '<a:solidFill><a:srgbClr val="8C8C8C"/></a:solidFill>'
_DARK = '<a:solidFill><a:srgbClr val="404040"/></a:solidFill>'
_HATCH = (
    '<a:pattFill prst="wdUpDiag"><a:fgClr><a:srgbClr val="000000"/></a:fgClr>'
    '<a:bgClr><a:srgbClr val="FFFFFF"/></a:bgClr></a:pattFill>'
)
_DOTS = (
    '<a:pattFill prst="pct20"><a:fgClr><a:srgbClr val="000000"/></a:fgClr>'
    '<a:bgClr><a:srgbClr val="FFFFFF"/></a:bgClr></a:pattFill>'
)
_ORDERS = {1: (_DARK,), 2: (_LIGHT, _DARK), 3: (_LIGHT, _DARK, _HATCH)}
_CYCLE = (_LIGHT, _MID, _DARK, _HATCH, _DOTS)
_OUTLINE = '<a:ln w="6350"><a:solidFill><a:srgbClr val="000000"/></a:solidFill></a:ln>'
_GRID = '<a:ln w="6350"><a:solidFill><a:srgbClr val="D9D9D9"/></a:solidFill></a:ln>'
_AXIS_LINE = '<a:ln w="6350"><a:solidFill><a:srgbClr val="595959"/></a:solidFill></a:ln>'


# Lines that print apart in black and white: (dash, marker symbol, marker fill); the first is
# solid black with filled circles, the next dashed with open squares, and so on.
_BLACK = '<a:solidFill><a:srgbClr val="000000"/></a:solidFill>'
_WHITE = '<a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill>'
LINE_STYLES = (
    ("solid", "circle", _BLACK),
    ("dash", "square", _WHITE),
    ("sysDot", "triangle", _DARK),
    ("lgDashDot", "diamond", _WHITE),
    ("sysDash", "x", _BLACK),
)


def fills(n: int) -> tuple[str, ...]:
    """n fills, distinct in grey level or pattern."""
    return _ORDERS.get(n) or tuple(_CYCLE[i % len(_CYCLE)] for i in range(n))


# ----------------------------------------------------------------------------------------------
# Chart XML


def _rpr(fonts: Fonts, *, title: bool = False, size: float | None = None) -> str:
    """A run's properties: size, bold for titles, Latin and East Asian typefaces, black."""
    pt = size or (fonts.title_size if title else fonts.size)
    latin, ea = (
        (fonts.latin_title, fonts.east_asia_title) if title else (fonts.latin, fonts.east_asia)
    )
    bold = ' b="1"' if title else ' b="0"'
    return (
        f'sz="{round(pt * 100)}"{bold}><a:solidFill><a:srgbClr val="000000"/></a:solidFill>'
        f'<a:latin typeface="{_x(latin)}"/><a:ea typeface="{_x(ea)}"/>'
        f'<a:cs typeface="{_x(latin)}"/>'
    )


def _tx_pr(fonts: Fonts, **kw: Any) -> str:
    return (
        f"<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr {_rpr(fonts, **kw)}</a:defRPr>"
        f'</a:pPr><a:endParaRPr lang="{fonts.lang}"/></a:p></c:txPr>'
    )


def _str_cache(ref: str, values: Sequence[str]) -> str:
    pts = "".join(f'<c:pt idx="{i}"><c:v>{_x(v)}</c:v></c:pt>' for i, v in enumerate(values))
    return (
        f'<c:strRef><c:f>{ref}</c:f><c:strCache><c:ptCount val="{len(values)}"/>{pts}'
        "</c:strCache></c:strRef>"
    )


def _num_cache(ref: str, values: Sequence[float | None], code: str) -> str:
    pts = "".join(
        f'<c:pt idx="{i}"><c:v>{xml_number(v)}</c:v></c:pt>'
        for i, v in enumerate(values)
        if v is not None
    )
    return (
        f"<c:numRef><c:f>{ref}</c:f><c:numCache><c:formatCode>{_x(code)}</c:formatCode>"
        f'<c:ptCount val="{len(values)}"/>{pts}</c:numCache></c:numRef>'
    )


def _d_lbls(block: ChartBlock, fonts: Fonts, position: str = "") -> str:
    """Values printed on the bars or points, in the text's number format (position: a
    c:dLblPos value, "" for the application's default)."""
    pos = f'<c:dLblPos val="{position}"/>' if position else ""
    return (
        f'<c:dLbls><c:numFmt formatCode="{_x(block.number_format)}" sourceLinked="0"/>'
        "<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>"
        f"{_tx_pr(fonts, size=fonts.size - 1)}{pos}"
        '<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
        '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/>'
        "</c:dLbls>"
    )


def _cat_val(block: ChartBlock, s: int) -> str:
    """A series' c:cat and c:val: the categories in column A, its values in its column."""
    n = len(block.categories)
    col = _col(s + 1)
    values = block.series[s].values
    return (
        f"<c:cat>{_str_cache(f'Sheet1!$A$2:$A${n + 1}', block.categories)}</c:cat>"
        f"<c:val>{_num_cache(f'Sheet1!${col}$2:${col}${n + 1}', values, block.number_format)}"
        "</c:val>"
    )


def _tx(block: ChartBlock, s: int) -> str:
    return f"<c:tx>{_str_cache(f'Sheet1!${_col(s + 1)}$1', [block.series[s].name])}</c:tx>"


def _bar_plot(block: ChartBlock, fonts: Fonts) -> list[str]:
    """c:barChart (clustered bars or columns) and its two axes."""
    n = len(block.categories)
    out = [
        f'<c:barChart><c:barDir val="{block.direction}"/><c:grouping val="clustered"/>',
        f'<c:varyColors val="{1 if block.by_point else 0}"/>',
    ]
    series_fills = fills(n if block.by_point else len(block.series))
    for s in range(len(block.series)):
        out.append(f'<c:ser><c:idx val="{s}"/><c:order val="{s}"/>{_tx(block, s)}')
        if block.by_point:
            out.append(f"<c:spPr>{series_fills[0]}{_OUTLINE}</c:spPr>")
            out.append('<c:invertIfNegative val="0"/>')
            for i in range(n):
                out.append(
                    f'<c:dPt><c:idx val="{i}"/><c:invertIfNegative val="0"/>'
                    f'<c:bubble3D val="0"/><c:spPr>{series_fills[i]}{_OUTLINE}</c:spPr></c:dPt>'
                )
        else:
            out.append(f"<c:spPr>{series_fills[s]}{_OUTLINE}</c:spPr>")
            out.append('<c:invertIfNegative val="0"/>')
        out.append(_d_lbls(block, fonts))
        out.append(f"{_cat_val(block, s)}</c:ser>")
    gap = 60 if len(block.series) > 1 else 80
    out.append(f'<c:gapWidth val="{gap}"/>')
    out.append('<c:axId val="500000001"/><c:axId val="500000002"/></c:barChart>')
    horizontal = block.direction == "bar"
    # From zero when no value is negative: a bar's length is then its value.
    values = [v for s in block.series for v in s.values if v is not None]
    # Horizontal bars: categories top to bottom in the order given (maxMin), the value axis
    # then at the bottom (it crosses at the last category).
    out.append(_cat_ax(fonts, horizontal=horizontal))
    out.append(_val_ax(block, fonts, horizontal=horizontal, from_zero=all(v >= 0 for v in values)))
    return out


def _line_plot(block: ChartBlock, fonts: Fonts) -> list[str]:
    """c:lineChart (one line per series, a marker on each point, a gap where a value is
    missing) and its two axes. Lines differ in dash and marker, not only in grey."""
    out = ['<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>']
    for s in range(len(block.series)):
        dash, symbol, fill = LINE_STYLES[s % len(LINE_STYLES)]
        out.append(
            f'<c:ser><c:idx val="{s}"/><c:order val="{s}"/>{_tx(block, s)}'
            f'<c:spPr><a:ln w="22225" cap="rnd">{_BLACK}<a:prstDash val="{dash}"/><a:round/>'
            "</a:ln></c:spPr>"
            f'<c:marker><c:symbol val="{symbol}"/><c:size val="7"/><c:spPr>{fill}'
            f'<a:ln w="9525">{_BLACK}</a:ln></c:spPr></c:marker>'
        )
        out.append(_d_lbls(block, fonts, "t"))
        out.append(f'{_cat_val(block, s)}<c:smooth val="0"/></c:ser>')
    out.append('<c:marker val="1"/>')
    out.append('<c:axId val="500000001"/><c:axId val="500000002"/></c:lineChart>')
    # The value axis is left to the application (a trend's change, not its size, is the point).
    out.append(_cat_ax(fonts, horizontal=False))
    out.append(_val_ax(block, fonts, horizontal=False, from_zero=False))
    return out


def _cat_ax(fonts: Fonts, *, horizontal: bool) -> str:
    return (
        '<c:catAx><c:axId val="500000001"/><c:scaling><c:orientation val="'
        f'{"maxMin" if horizontal else "minMax"}"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="{"l" if horizontal else "b"}"/>'
        '<c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f"<c:spPr>{_AXIS_LINE}</c:spPr>{_tx_pr(fonts)}"
        '<c:crossAx val="500000002"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
    )


def _val_ax(block: ChartBlock, fonts: Fonts, *, horizontal: bool, from_zero: bool) -> str:
    floor = '<c:min val="0"/>' if from_zero else ""
    return (
        '<c:valAx><c:axId val="500000002"/><c:scaling><c:orientation val="minMax"/>'
        f'{floor}</c:scaling><c:delete val="0"/><c:axPos val="{"b" if horizontal else "l"}"/>'
        f"<c:majorGridlines><c:spPr>{_GRID}</c:spPr></c:majorGridlines>"
        f'<c:numFmt formatCode="{_x(block.axis_format)}" sourceLinked="0"/>'
        '<c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f"<c:spPr><a:ln><a:noFill/></a:ln></c:spPr>{_tx_pr(fonts)}"
        f'<c:crossAx val="500000001"/><c:crosses val="{"max" if horizontal else "autoZero"}"/>'
        '<c:crossBetween val="between"/></c:valAx>'
    )


def chart_xml(block: ChartBlock, fonts: Fonts) -> bytes:
    """The chart part (c:chartSpace) of a block, its data at Sheet1 of the embedded workbook:
    categories in A2:A(n+1), series names in row 1 from B, values below them."""
    out = [
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n",
        f'<c:chartSpace xmlns:c="{NS_C}" xmlns:a="{NS_A}" xmlns:r="{NS_R}">',
        '<c:date1904 val="0"/>',
        f'<c:lang val="{fonts.lang}"/>',
        '<c:roundedCorners val="0"/>',
        "<c:chart>",
        # The title
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>"
        f"<a:defRPr {_rpr(fonts, title=True)}"
        f'</a:defRPr></a:pPr><a:r><a:rPr lang="{fonts.lang}" {_rpr(fonts, title=True)}</a:rPr>'
        f"<a:t>{_x(block.title)}</a:t></a:r></a:p></c:rich></c:tx>"
        '<c:overlay val="0"/></c:title>',
        '<c:autoTitleDeleted val="0"/>',
        "<c:plotArea><c:layout/>",
    ]
    if block.direction == "line":
        out.extend(_line_plot(block, fonts))
    else:
        out.extend(_bar_plot(block, fonts))
    out.append("<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr></c:plotArea>")
    if len(block.series) > 1:
        out.append(
            f'<c:legend><c:legendPos val="b"/><c:overlay val="0"/>{_tx_pr(fonts)}</c:legend>'
        )
    out.append('<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>')
    out.append(
        '<c:spPr><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill><a:ln><a:noFill/></a:ln>'
        f"</c:spPr>{_tx_pr(fonts)}"
    )
    out.append('<c:externalData r:id="rId1"><c:autoUpdate val="0"/></c:externalData>')
    out.append("</c:chartSpace>")
    return "".join(out).encode("utf-8")


# ----------------------------------------------------------------------------------------------
# Parts and the inline drawing


def taken_chart_numbers(document_part: Any) -> set[int]:
    """N of every word/charts/chartN.xml or embedded Microsoft_Excel_WorksheetN.xlsx already
    in the package (a reference document's)."""
    prefixes = ("/word/charts/chart", "/word/embeddings/Microsoft_Excel_Worksheet")
    return {
        part.partname.idx
        for part in document_part.package.iter_parts()
        if part.partname.startswith(prefixes) and part.partname.idx is not None
    }


def add_chart_parts(document_part: Any, block: ChartBlock, fonts: Fonts, number: int) -> str:
    """Add the chart part chartN.xml (N: a number no part has) and its workbook to the
    package; the document's rId of the chart."""
    package = document_part.package
    chart_name = PackURI(f"/word/charts/chart{number}.xml")
    chart = Part(chart_name, CT.DML_CHART, chart_xml(block, fonts), package)
    xlsx_name = PackURI(f"/word/embeddings/Microsoft_Excel_Worksheet{number}.xlsx")
    workbook = Part(xlsx_name, CT.SML_SHEET, workbook_xlsx(block), package)
    r_id = chart.relate_to(workbook, RT.PACKAGE)
    if r_id != "rId1":  # chart_xml names rId1 in c:externalData
        raise AssertionError(f"embedded workbook related as {r_id}")
    return str(document_part.relate_to(chart, RT.CHART))


def drawing_xml(r_id: str, doc_pr_id: int, name: str, cx: int, cy: int) -> str:
    """The w:drawing of an inline chart cx by cy EMU."""
    return (
        f'<w:drawing><wp:inline xmlns:wp="{NS_WP}" distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{doc_pr_id}" name="{_x(name)}"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic xmlns:a="{NS_A}"><a:graphicData uri="{CHART_URI}">'
        f'<c:chart xmlns:c="{NS_C}" xmlns:r="{NS_R}" r:id="{r_id}"/>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing>"
    )
