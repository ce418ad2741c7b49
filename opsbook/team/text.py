"""Text of the team summary: one precision per table column, lists merged without repeats."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# The first number of a table cell: sign, digits with thousands separators, decimals.
_NUMBER = re.compile(r"(?P<sign>[-+−]?)(?P<int>\d[\d,]*)(?:\.(?P<frac>\d+))?")
# What separates the items of a list a person types in one cell.
_ITEM_SEPARATORS = re.compile(r"[、,，;；/／\n]+")


def same_precision(cells: Sequence[str]) -> list[str]:
    """Cells of one column written with one number of decimals: among the cells whose number
    has the same unit ("6万元" and "4.5万元"), the shorter ones are padded with zeros ("6.0万元").
    Padding never changes a value; cells without a number are left as they are."""
    parsed: list[tuple[re.Match[str], str] | None] = []
    widest: dict[str, int] = {}
    for cell in cells:
        match = _NUMBER.search(cell)
        if match is None:
            parsed.append(None)
            continue
        shape = cell[: match.start()].lstrip("+-−") + "#" + cell[match.end() :]
        parsed.append((match, shape))
        widest[shape] = max(widest.get(shape, 0), len(match.group("frac") or ""))
    out = []
    for cell, found in zip(cells, parsed, strict=True):
        if found is None:
            out.append(cell)
            continue
        match, shape = found
        frac = (match.group("frac") or "").ljust(widest[shape], "0")
        number = match.group("sign") + match.group("int") + (f".{frac}" if frac else "")
        out.append(cell[: match.start()] + number + cell[match.end() :])
    return out


def item_key(item: str) -> str:
    """Equality of two texts, ignoring spacing, case and full-width forms."""
    return "".join(unicodedata.normalize("NFKC", item).casefold().split())


def merged_items(values: Iterable[str]) -> list[str]:
    """The items of several people's lists ("GMV增长、会员复购提升" and "GMV增长"), each once, in
    the order first given."""
    seen: dict[str, str] = {}
    for value in values:
        for item in _ITEM_SEPARATORS.split(value):
            item = " ".join(item.split())
            if item:
                seen.setdefault(item_key(item), item)
    return list(seen.values())
