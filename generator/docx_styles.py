"""Word styles of a summary: fonts (East Asian names, no theme fonts), sizes and paragraph
layout per locale (`TYPOGRAPHY`), and how a company's reference document keeps its own.

Typography (office-notes: "Writing docx"):
- every style used, and the document defaults, name an East Asian font (`w:eastAsia`) and carry
  no theme-font attributes, which would override the names; headings are black, not theme blue;
- zh-CN: title 黑体 二号 (22 pt) bold, Heading 1 黑体 三号 (16 pt), Heading 2 楷体 四号 (14 pt)
  bold, body 宋体 小四 (12 pt) with 1.5 line spacing, justified, first line indented two
  characters; tables 五号 (10.5 pt); header and footer 小五 (9 pt); Latin text in Times New
  Roman (Arial in headings). en: Calibri 11 pt body, 1.15 spacing, no indent.

`reference_docx`: styles we need that the reference lacks are added with our layout but its
fonts (they inherit from its Normal). The one thing we change in its styles is the East Asian
font, and only where Chinese text would otherwise fall back to whatever the machine picks: a
style chain with no `w:eastAsia` name and no usable theme East Asian font gets ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.shared import Pt, RGBColor

from workbook.i18n import Catalog

STYLE_TABLE_TEXT = "Table Text"
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


# Children that must follow an element we add, in schema order (ECMA-376 CT_PPr, CT_TcPr):
# Word refuses a file whose property elements are out of order.
AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
_AFTER_OUTLINE_LVL = AFTER_PBDR[AFTER_PBDR.index("w:outlineLvl") + 1 :]


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


class Theme:
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


class DocumentStyles:
    """The styles of one summary's document (`set_up_styles`)."""

    # Set by the builder (generator/docx_writer.py) before any method here runs.
    doc: Any
    lang: str
    t: Catalog
    typo: Typography
    reference: bool
    latin: str
    latin_heading: str
    body_font: str
    heading_font: str
    subheading_font: str

    def _style(self, name: str, kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH) -> tuple[Any, bool]:
        """The named style, and whether we created it (so we may format it)."""
        try:
            return self.doc.styles[name], not self.reference
        except KeyError:
            style = self.doc.styles.add_style(name, kind)
            if kind == WD_STYLE_TYPE.PARAGRAPH and name != "Normal":
                style.base_style = self.doc.styles["Normal"]
            return style, True

    def set_up_styles(self) -> None:
        theme = Theme(self.doc)
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

    def _ensure_east_asia(self, style: Any, east: str, theme: Theme) -> None:
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
        self._format_display(name, style)

    def _format_display(self, name: str, style: Any) -> None:
        """Title, headings, caption, table text, header and footer: size and paragraph layout."""
        typo = self.typo
        pf = style.paragraph_format
        font = style.font
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
