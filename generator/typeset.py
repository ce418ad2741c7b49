"""Chinese typesetting of the spec's and the user's text: full-width punctuation next to
Chinese, placeholders kept as they are."""

from __future__ import annotations

import re

from workbook.i18n import normalize_lang

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


PRIVATE_USE, PRIVATE_USE_SIZE = 0xE000, 0x1000  # stand-ins for placeholders while typesetting
_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}
_FULL_WIDTH_MARKS = frozenset("，：；？！（）")


def _wide(ch: str) -> bool:
    """CJK ideographs, kana/hangul, full-width forms and CJK punctuation, curly quotes."""
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFE30 <= code <= 0xFE4F
        or 0xFF00 <= code <= 0xFFEF
        or PRIVATE_USE <= code < PRIVATE_USE + PRIVATE_USE_SIZE
        or ch in "“”‘’…—"
    )


def _typeset_plain(text: str) -> str:
    out: list[str] = []
    # Parentheses: a pair becomes full-width when its content or a neighbour is Chinese.
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs[stack.pop()] = i
    wide_pairs: set[int] = set()
    for start, end in pairs.items():
        before = text[start - 1] if start > 0 else ""
        after = text[end + 1] if end + 1 < len(text) else ""
        inner = text[start + 1 : end]
        if any(_wide(c) for c in inner + before + after):
            wide_pairs.update((start, end))
    for i, ch in enumerate(text):
        if ch == " " and out and out[-1] in _FULL_WIDTH_MARKS:
            continue  # a full-width mark carries its own space
        if i in wide_pairs:
            out.append("（" if ch == "(" else "）")
        elif ch in _FULL:
            prev = out[-1] if out else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if (prev and _wide(prev)) or (nxt and _wide(nxt)):
                out.append(_FULL[ch])
            else:
                out.append(ch)
        else:
            out.append(ch)
    return "".join(out)


def typeset(text: str, lang: str) -> str:
    """Text in the locale's typography.

    The template spec (and many users typing in Excel) write Chinese with ASCII punctuation
    (, : ; ( )); a Chinese document uses the full-width forms. A mark is converted only next to
    Chinese text, so "A/B", "1,234" and English phrases keep theirs. Placeholders stand in as
    wide characters while punctuation is converted, and figures are substituted afterwards, so
    thousands separators are never touched.
    """
    if normalize_lang(lang) != "zh-CN":
        return text
    found = PLACEHOLDER.findall(text)
    if len(found) > PRIVATE_USE_SIZE:
        raise ValueError("too many placeholders in one sentence")
    masked = PLACEHOLDER.sub(lambda m: chr(PRIVATE_USE + found.index(m.group(0))), text)
    out = _typeset_plain(masked)
    for i, raw in enumerate(found):
        out = out.replace(chr(PRIVATE_USE + i), raw)
    return out
