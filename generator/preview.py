"""A live preview of each summary sentence in the workbook: an Excel formula over the named
cells that shows what the summary will say, as the person fills figures and makes choices.

The formula follows the same spec as the summary (the sentence's variants and conditions, the
person's choice and their own wording), with Excel's TEXT() standing in for generator/numfmt.py:
the same precision rules for one figure (2.5%, 278.16元, 1,286.5万元), but not the pair rule
that prints two close figures with more decimals (the summary does). Its cached result is the
summary's own sentence, so previewers that never calculate show exactly what Word will print.
Plain functions only (IF, AND, COUNT, ROUND, ABS, TEXT, LEN, SUBSTITUTE), so Excel, WPS and
LibreOffice compute it the same way; no macro.
"""

from __future__ import annotations

from workbook import expr
from workbook.i18n import Catalog, catalog, normalize_lang
from workbook.report import Report, SentenceChoice
from workbook.spec import (
    Placeholder,
    Sentence,
    Spec,
    Variant,
    figure_kind,
    placeholders,
)

MAX_FORMULA = 8000  # Excel allows 8,192 characters
_LITERAL = 250  # Excel allows 255 characters in one string literal


def _literal(text: str) -> str:
    if not text:
        return '""'
    parts = [text[i : i + _LITERAL] for i in range(0, len(text), _LITERAL)]
    return "&".join('"' + p.replace('"', '""') + '"' for p in parts)


def _strip(value: str, decimals: int, pattern: str = "#,##0") -> str:
    """TEXT with up to `decimals` places, trailing zeros dropped (2.5, 278.16, 3,200): the
    optional digits (#) leave "3,200." for a whole number, and the dot goes with a marker."""
    if decimals == 0:
        return f'TEXT({value},"{pattern}")'
    shown = f'TEXT({value},"{pattern}.{"#" * decimals}")&"|"'
    return f'SUBSTITUTE(SUBSTITUTE({shown},".|",""),"|","")'


class PreviewFormula:
    """Builds preview formulas for one spec and locale."""

    def __init__(self, spec: Spec, lang: str) -> None:
        self.spec = spec
        self.lang = normalize_lang(lang)
        self.t: Catalog = catalog(self.lang)
        self.scales = [
            (int(power), word)
            for power, word in (item.split(":", 1) for item in self.t("numfmt.large_units").split())
        ]

    # -- one figure ------------------------------------------------------------------------

    def _wrap(self, key: str, value: str) -> str:
        before, _, after = self.t(key).partition("{value}")
        out = value
        if before:
            out = f"{_literal(before)}&{out}"
        if after:
            out = f"{out}&{_literal(after)}"
        return out

    def percent(self, value: str) -> str:
        # A number joined to text prints in Excel's General format: 28, 2.5, 0.45 (the rounding
        # drops trailing zeros as numfmt does); one decimal, two below 1%.
        p = f"({value})*100"
        small = f'ROUND({p},IF(ABS(ROUND({p},2))<1,2,1))&""'
        big = f'IF(ROUND({p},1)=ROUND({p},0),TEXT({p},"#,##0"),TEXT({p},"#,##0.0"))'
        return self._wrap("numfmt.percent", f"IF(ABS({p})>=999.95,{big},{small})")

    def money(self, value: str) -> str:
        if not self.scales:
            text = f'IF(ABS({value})>=10000,TEXT({value},"#,##0"),{_strip(value, 2)})'
            return self._wrap("numfmt.money", text)
        out = _strip(value, 2)
        out = f'IF(ABS({value})>=10000,TEXT({value},"#,##0"),{out})'
        for power, word in sorted(self.scales):
            scaled = f"({value})/1E{power}"
            inner = f"IF(ABS({scaled})<100,{_strip(scaled, 2)},{_strip(scaled, 1)})"
            out = f'IF(ABS({value})>=1E{power},{inner}&"{word}",{out})'
        return self._wrap("numfmt.money", out)

    def count(self, value: str) -> str:
        out = f'TEXT({value},"#,##0")'
        for power, word in sorted(self.scales):
            scaled = f"({value})/1E{power}"
            big = f"OR(ABS({value})>=1E6,MOD(ROUND({value},0),100)=0)" if power == 4 else "TRUE"
            out = f'IF(AND(ABS({value})>=1E{power},{big}),{_strip(scaled, 2)}&"{word}",{out})'
        return out

    def number(self, value: str) -> str:
        return f'IF(ABS({value})<100,{_strip(value, 1)},TEXT({value},"#,##0"))'

    def ratio(self, value: str) -> str:
        return _strip(value, 2)

    def pp(self, value: str) -> str:
        return self._wrap("numfmt.pp", f'TEXT({value},"#,##0.0")')

    def shown(self, value: str, kind: str) -> str:
        """A number in its kind's format."""
        if kind in ("percent", "change"):
            return self.percent(value)
        if kind == "money":
            return self.money(value)
        if kind == "count":
            return self.count(value)
        if kind == "pp":
            return self.pp(value)
        if kind == "ratio":
            return self.ratio(value)
        return self.number(value)

    def kind(self, id_: str) -> str:
        return figure_kind(self.spec, id_)

    def placeholder(self, ph: Placeholder) -> str | None:
        """The placeholder's text as an Excel expression; None where the preview cannot."""
        kind = self.kind(ph.id)
        if kind == "date" or kind == "table":
            return None
        if kind == "text":
            return ph.id if ph.fmt is None else None
        if ph.fmt is None:
            return self.shown(ph.id, kind)
        if ph.fmt == "size":
            return self.shown(f"ABS({ph.id})", kind)
        if ph.fmt == "gap" and ph.ref is not None:
            if kind in ("percent", "change"):
                return self.pp(f"ABS({ph.id}-{ph.ref})*100")
            return self.shown(f"ABS({ph.id}-{ph.ref})", kind)
        if ph.fmt in ("change", "growth", "rise", "above", "pp"):
            fmt = ph.fmt
            item = self.spec.item(ph.id)
            if fmt == "change" and getattr(item, "polarity", "neutral") != "higher_better":
                fmt = "rise"
            factor, places = (100, 2) if kind in ("percent", "change") else (1, 1)
            rounded = f"ROUND({ph.id}*{factor},{places})"
            size = self.shown(f"ABS({ph.id})", kind)
            up = self._wrap(f"numfmt.{fmt}_up", size)
            down = self._wrap(f"numfmt.{fmt}_down", size)
            flat = _literal(self.t(f"numfmt.{fmt}_flat"))
            return f"IF({rounded}>0,{up},IF({rounded}<0,{down},{flat}))"
        if ph.fmt == "to" and ph.ref is not None:
            shown, ref = self.shown(ph.id, kind), self.shown(ph.ref, kind)
            return (
                f"IF({shown}={ref},{self._wrap('numfmt.to_flat', shown)},"
                f"IF({ph.id}>{ph.ref},{self._wrap('numfmt.to_up', shown)},"
                f"{self._wrap('numfmt.to_down', shown)}))"
            )
        return None

    # -- sentences -------------------------------------------------------------------------

    def text(self, sentence: str) -> tuple[str, tuple[str, ...]] | None:
        """A sentence with its figures: the expression and the ids it reads."""
        from generator.typeset import typeset

        sentence = typeset(sentence, self.lang)
        pieces: list[str] = []
        ids: dict[str, None] = {}
        rest = sentence
        plain = [ph.id for ph in placeholders(sentence) if ph.fmt is None]
        for ph in placeholders(sentence):
            before, _, rest = rest.partition(ph.raw)
            value = self.placeholder(ph)
            if value is None:
                return None
            kind = self.kind(ph.id)
            partner = next((o for o in plain if o != ph.id and self.kind(o) == kind), None)
            if ph.fmt is None and partner is not None and kind == "percent":
                # two rates that would print the same although they differ: more decimals
                precise = self._wrap("numfmt.percent", f'ROUND(({ph.id})*100,2)&""')
                same = f"ROUND(({ph.id})*100,1)=ROUND(({partner})*100,1)"
                value = f"IF({same},{precise},{value})"
            elif ph.fmt is None and partner is not None and kind == "number":
                same = f"{value}={self.shown(partner, kind)}"
                value = f"IF({same},{_strip(ph.id, 2)},{value})"
            if before:
                pieces.append(_literal(before))
            pieces.append(value)
            for id_ in ph.ids:
                ids.setdefault(id_, None)
        if rest:
            pieces.append(_literal(rest))
        return "&".join(pieces) or '""', tuple(ids)

    def _guarded(self, body: str, ids: tuple[str, ...], otherwise: str) -> str:
        if not ids:
            return body
        return f"IF(COUNT({','.join(ids)})<{len(ids)},{otherwise},{body})"

    def condition(self, node: expr.Node) -> str:
        refs = expr.references(node)
        body = expr.to_excel(node)
        if not refs:
            return body
        return f"IFERROR(AND(COUNT({','.join(refs)})={len(refs)},{body}),FALSE)"

    def variant(self, variant: Variant, sentence: Sentence, incomplete: str) -> str | None:
        if variant.text is None:
            return _literal(self.t("narrative.preview_left_out"))
        rendered = self.text(variant.text(self.lang))
        if rendered is None:
            return None
        body, ids = rendered
        chosen = set() if variant.node is None else set(expr.references(variant.node))
        zero = [
            i
            for i in ids
            if i not in chosen and self.kind(i) == "count" and i in self._shown(variant)
        ]
        if zero:
            tests = ",".join(f"ROUND({i},0)=0" for i in zero)
            body = f"IF(OR({tests}),{_literal(self.t('narrative.preview_left_out'))},{body})"
        texts = [i for i in ids if self.kind(i) == "text"]
        numbers = tuple(i for i in ids if i not in texts)
        body = self._guarded(body, numbers, incomplete)
        for i in texts:
            body = f"IF(LEN(TRIM(CLEAN({i})))=0,{incomplete},{body})"
        return body

    def _shown(self, variant: Variant) -> set[str]:
        assert variant.text is not None
        return {ph.id for ph in placeholders(variant.text(self.lang)) if ph.fmt is None}

    def auto(self, sentence: Sentence) -> str | None:
        """The data's own wording: the first variant whose condition holds."""
        incomplete = _literal(self.t("narrative.preview_incomplete"))
        if not sentence.variants:
            return _literal(self.t("narrative.preview_left_out"))
        out = incomplete
        for variant in reversed([v for v in sentence.variants if not v.missing]):
            body = self.variant(variant, sentence, incomplete)
            if body is None:
                return None
            out = (
                body if variant.node is None else f"IF({self.condition(variant.node)},{body},{out})"
            )
        return out

    def rewrite(self, sentence: Sentence, text_cell: str) -> str:
        """The person's wording with {id} markers replaced by the figures."""
        out = text_cell
        ids: dict[str, None] = {}
        for text in sentence.texts(self.lang):
            for ph in placeholders(text):
                ids.setdefault(ph.id, None)
        for id_ in ids:
            value = self.placeholder(Placeholder("{" + id_ + "}", id_, None, None))
            if value is None:
                continue
            if self.kind(id_) != "text":
                value = f'IF(COUNT({id_})=0,"{{{id_}}}",{value})'
            out = f'SUBSTITUTE({out},"{{{id_}}}",{value})'
        return out

    def formula(self, sentence: Sentence, choice_cell: str, text_cell: str) -> str | None:
        """The preview cell's formula, or None when it would be too long for Excel."""
        words = self.t.list("narrative.choices")
        auto = self.auto(sentence)
        if auto is None:
            return None
        keep = auto
        if sentence.template is not None:
            rendered = self.text(sentence.template(self.lang))
            if rendered is None:
                return None
            body, ids = rendered
            numbers = tuple(i for i in ids if self.kind(i) != "text")
            keep = self._guarded(body, numbers, _literal(self.t("narrative.preview_incomplete")))
        drop = _literal(self.t("narrative.preview_left_out"))
        text = (
            f'=IF({choice_cell}="{words[2]}",{drop},'
            f'IF({choice_cell}="{words[1]}",{keep},'
            f"IF(LEN({text_cell})>0,{self.rewrite(sentence, text_cell)},{auto})))"
        )
        return text if len(text) <= MAX_FORMULA else None


def preview_text(spec: Spec, report: Report, sentence: Sentence, lang: str) -> str:
    """What the preview formula shows, as the summary words it: the formula's cached result."""
    from generator.figures import Figures
    from generator.sentences import choose_variant, render_sentence

    figures = Figures(spec, report, lang)
    t = figures.t
    left_out, incomplete = t("narrative.preview_left_out"), t("narrative.preview_incomplete")
    choice = report.choices.get(sentence.id, SentenceChoice())
    if choice.choice == "drop":
        return left_out
    if choice.choice == "keep" and sentence.template is not None:
        return render_sentence(sentence.template(figures.lang), figures, "omit") or incomplete
    if choice.text and choice.choice != "keep":
        out = choice.text
        for text in sentence.texts(figures.lang):
            for ph in placeholders(text):
                shown = figures.text(ph.id)
                if shown is not None:
                    out = out.replace("{" + ph.id + "}", shown)
        return out
    if not sentence.variants:
        return left_out
    variant = choose_variant(sentence, figures, "omit")
    if variant is None:
        return incomplete
    if variant.text is None:
        return left_out
    text = variant.text(figures.lang)
    chosen = set() if variant.node is None else set(expr.references(variant.node))
    phs = placeholders(text)
    if any(figures.text(i) is None for ph in phs for i in ph.ids if figures.kind(i) != "text"):
        return incomplete
    if any(figures.kind(ph.id) == "text" and figures.text(ph.id) is None for ph in phs):
        return incomplete
    for ph in phs:
        value = figures.number(ph.id)
        counted = ph.fmt is None and ph.id not in chosen and figures.kind(ph.id) == "count"
        if counted and value is not None and round(value) == 0:
            return left_out
    return render_sentence(text, figures, "omit") or incomplete
