"""Combining rules: how each field of many people's workbooks becomes the team's (sums, weighted
means, the same value, joined texts, merged lists), and the team's KPIs over a consistent subset
of people. The rules are data in the spec (docs/rollup.md)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from opsbook.team.notes import Counted, FileRef, Names, Note
from opsbook.team.people import Person, plain_text
from opsbook.team.text import item_key, merged_items
from workbook.calc import compute_kpis
from workbook.i18n import catalog, normalize_lang
from workbook.report import FieldValue, TableRow
from workbook.spec import NUMERIC_TYPES, Field, Kpi, Spec, Table

# Rows of a merged list (problems, actions) in the team's workbook and summary: a team of 500
# with three problems each would otherwise print 1,500.
MAX_TEAM_ROWS = 100


def _half_up(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _number(value: FieldValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _present(f: Field, value: FieldValue) -> bool:
    if f.type in NUMERIC_TYPES:
        return _number(value) is not None
    if f.type == "text":
        return plain_text(value) is not None
    return isinstance(value, dt.date)


def _key(value: FieldValue) -> object:
    """Equality for "same": text ignores spacing and case, numbers compare as floats."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _whole(f: Field, value: float) -> float | int:
    """Counts stay whole numbers (a mean of days is rounded half up); other numbers as they are."""
    if f.type == "count":
        return _half_up(value)
    return int(value) if value.is_integer() and f.type != "percent" else value


@dataclass
class Combiner:
    """Combines the people's values into the team's: sums, weighted targets, notes."""

    spec: Spec
    people: Sequence[Person]
    lang: str
    team: str | None
    notes: list[Note] = field(default_factory=list)
    partial: dict[str, int] = field(default_factory=dict)  # sums of fewer than everyone: how many
    means: dict[str, int] = field(default_factory=dict)  # means of fewer than everyone: how many

    def combine(self) -> dict[str, FieldValue]:
        values: dict[str, FieldValue] = {}
        blank_sums: dict[int, list[Field]] = {}
        for f in self.spec.fields:
            present = [p for p in self.people if _present(f, p.values.get(f.id))]
            if f.rollup == "label":
                values[f.id] = self.label(f, present)
            if f.rollup == "none" or not present:
                continue
            if f.rollup == "sum":
                # What was reported is summed; the total says whom it covers (partial_lines),
                # and the KPIs computed from it are flagged (partial_kpis).
                if len(present) < len(self.people):
                    self.partial[f.id] = len(present)
                    filled = {p.index for p in present}
                    for p in self.people:
                        left_out = {id_ for i in p.impossible for id_ in (i.part, i.whole)}
                        if p.index not in filled and f.id not in left_out:
                            blank_sums.setdefault(p.index, []).append(f)
                total = math.fsum(_number(p.values[f.id]) or 0.0 for p in present)
                values[f.id] = _whole(f, total)
            elif f.rollup == "mean":
                mean = self.mean(f, present)
                if mean is not None:
                    values[f.id] = _whole(f, mean)
                    # A mean over fewer than everyone says whom it covers, as a sum does.
                    taking = sum(_reports(self.spec, p, f.id) for p in present)
                    if taking < len(self.people):
                        self.means[f.id] = taking
            elif f.rollup == "same":
                values[f.id] = self.same(f, present)
            elif f.rollup == "join":
                values[f.id] = self.join(f, present)
            elif f.rollup == "unique":
                values[f.id] = self.unique(f, present)
        for p in self.people:
            fields = blank_sums.get(p.index)
            if fields:
                self.note(
                    "blank_in_sum",
                    name=p.name,
                    source=FileRef(p.source),
                    fields=Names(tuple(f.label for f in fields)),
                    n=len(fields),
                )
        return values

    def note(self, key: str, **params: object) -> None:
        self.notes.append(Note(key, tuple(params.items())))

    def mean(self, f: Field, present: Sequence[Person]) -> float | None:
        """The weighted mean: weight = product of the weight ids' values for that person; people
        without a usable weight take no part. Unweighted when the field names no weight."""
        total = weights = 0.0
        for p in present:
            value = _number(p.values[f.id])
            w = 1.0
            for id_ in f.weight:
                part = p.number(id_)
                w = math.nan if part is None else w * part
            if value is None or not math.isfinite(w) or w <= 0:
                continue
            total += value * w
            weights += w
        if weights <= 0:
            return None
        return total / weights

    def same(self, f: Field, present: Sequence[Person]) -> FieldValue:
        """The value everyone gave; when they differ, the most common (first seen on a tie) and a
        note listing the values."""
        counts: Counter[object] = Counter(_key(p.values[f.id]) for p in present)
        if len(counts) == 1:
            return present[0].values[f.id]
        best = max(counts.values())
        chosen = next(p.values[f.id] for p in present if counts[_key(p.values[f.id])] == best)
        shown: dict[object, str] = {}
        for p in present:
            shown.setdefault(_key(p.values[f.id]), _show(p.values[f.id]))
        odd = tuple(p.name for p in present if _key(p.values[f.id]) != _key(chosen))
        self.note(
            "differ",
            field=f.label,
            values=Names(tuple(Counted(shown[k], n) for k, n in counts.most_common())),
            chosen=_show(chosen),
            others=Names(odd),
        )
        return chosen

    def label(self, f: Field, present: Sequence[Person]) -> str:
        """The team's label (given, or the one value everyone shares, or "Team (N people)"); and
        a note for every value shared by several workbooks, whose sums may count it twice."""
        groups: dict[object, list[Person]] = {}
        for p in present:
            groups.setdefault(_key(p.values[f.id]), []).append(p)
        for members in groups.values():
            if len(members) > 1:
                self.note(
                    "shared_label",
                    field=f.label,
                    value=_show(members[0].values[f.id]),
                    names=Names(tuple(p.name for p in members)),
                    n=len(members),
                )
        if self.team:
            return self.team
        if len(groups) == 1 and len(present) == len(self.people):
            return str(plain_text(present[0].values[f.id]))
        return catalog(self.lang)("rollup.team_label", n=len(self.people))

    def join(self, f: Field, present: Sequence[Person]) -> str:
        """Each person's text, with their name, one paragraph each; a text several people
        kept the same (the template's own paragraph) once, with all their names."""
        t = catalog(self.lang)
        groups: dict[str, tuple[list[str], str]] = {}
        for p in present:
            text = str(p.values[f.id]).strip()
            groups.setdefault(item_key(text), ([], text))[0].append(p.name)
        sep = t("rollup.list_sep")
        parts = [t("rollup.joined", name=sep.join(names), text=text)
                 for names, text in groups.values()]  # fmt: skip
        return self.fit(f, parts, "\n")

    def unique(self, f: Field, present: Sequence[Person]) -> str:
        """The distinct items of everyone's lists, in the order first given."""
        items = merged_items(str(p.values[f.id]) for p in present)
        return self.fit(f, items, catalog(self.lang)("rollup.list_sep"))

    def fit(self, f: Field, parts: list[str], sep: str) -> str:
        """Join whole parts within the field's length limit; say how many were left out."""
        t = catalog(self.lang)
        limit = int(f.max) if f.max is not None else None
        text = sep.join(parts)
        if limit is None or len(text) <= limit:
            return text
        kept: list[str] = []
        for i, part in enumerate(parts):
            more = t("rollup.more_parts", n=len(parts) - i - 1)
            if len(sep.join([*kept, part, more])) > limit:
                break
            kept.append(part)
        left = len(parts) - len(kept)
        self.note("cut", field=f.label, n=left, total=len(parts))
        return sep.join([*kept, t("rollup.more_parts", n=left)])[:limit]


def _show(value: FieldValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def combine(
    spec: Spec, people: Sequence[Person], *, lang: str, team: str | None = None
) -> tuple[dict[str, FieldValue], list[Note], dict[str, int]]:
    """Field id -> combined value (absent when blank), the notes on the way, and the sums that
    cover fewer than everyone (field id -> how many people they cover)."""
    combiner = Combiner(spec, people, normalize_lang(lang), team)
    return combiner.combine(), combiner.notes, combiner.partial


def _reports(spec: Spec, p: Person, id_: str) -> bool:
    """Whether the person reported this input of a KPI as the team's value uses it: a number,
    and for a weighted mean, a usable weight too (without one they take no part in the mean)."""
    if p.number(id_) is None:
        return False
    item = spec.item(id_)
    if isinstance(item, Field) and item.rollup == "mean" and item.weight:
        w = 1.0
        for wid in item.weight:
            part = p.number(wid)
            if part is None:
                return False
            w *= part
        return math.isfinite(w) and w > 0
    return True


def _inputs(spec: Spec, id_: str, seen: set[str]) -> set[str]:
    """The fields a field or KPI rests on: a KPI's references, a weighted mean's weights."""
    if id_ in seen:
        return set()
    seen.add(id_)
    item = spec.item(id_)
    if isinstance(item, Kpi):
        out: set[str] = set()
        for ref in item.refs:
            out |= _inputs(spec, ref, seen)
        return out
    out = {id_}
    if isinstance(item, Field) and item.rollup == "mean":
        for wid in item.weight:
            out |= _inputs(spec, wid, seen)
    return out


def kpi_inputs(spec: Spec) -> dict[str, frozenset[str]]:
    """KPI id -> the fields its family rests on. A family is a KPI with the KPIs it is compared
    with: one referring to another (roi_change to roi and roi_prev), and x with x_prev; so a
    current value, its previous value and the change between them cover the same people."""
    ids = {k.id for k in spec.kpis}
    parent = {k.id: k.id for k in spec.kpis}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in spec.kpis:
        linked = [r for r in k.refs if r in ids]
        if f"{k.id}_prev" in ids:
            linked.append(f"{k.id}_prev")
        for r in linked:
            parent[find(r)] = find(k.id)
    leaves: dict[str, set[str]] = {}
    for k in spec.kpis:
        leaves.setdefault(find(k.id), set()).update(_inputs(spec, k.id, set()))
    return {k.id: frozenset(leaves[find(k.id)]) for k in spec.kpis}


def consistent_kpis(
    spec: Spec, people: Sequence[Person], values: dict[str, FieldValue], lang: str
) -> tuple[dict[str, float | None], dict[str, int]]:
    """The team's KPIs, each computed only over the people who reported every input of it and
    of the KPIs it is compared with (a consistent subset: one person's ad spend left out leaves
    their ad GMV out of the team's ROI too). Returns the KPIs and, for those over fewer than
    everyone, how many people they cover. Inputs nobody reported do not count; a KPI nobody
    reported every input of is blank."""
    kpis = compute_kpis(spec, values)
    covers: dict[str, int] = {}
    done: dict[frozenset[int], dict[str, float | None]] = {}
    inputs = kpi_inputs(spec)
    for k in spec.kpis:
        needed = [i for i in inputs[k.id] if any(_reports(spec, p, i) for p in people)]
        who = [p for p in people if all(_reports(spec, p, i) for i in needed)]
        if len(who) == len(people):
            continue
        if not who:
            kpis[k.id] = None
            continue
        key = frozenset(p.index for p in who)
        if key not in done:
            subset = Combiner(spec, who, lang, None).combine()
            done[key] = compute_kpis(spec, subset)
        kpis[k.id] = done[key][k.id]
        if kpis[k.id] is not None:
            covers[k.id] = len(who)
    return kpis, covers


def partial_kpis(spec: Spec, partial: Iterable[str], kpis: dict[str, float | None]) -> list[Kpi]:
    """The KPIs with a value computed (directly or through other KPIs) from a partial total."""
    tainted = set(partial)
    changed = True
    while changed:
        changed = False
        for k in spec.kpis:
            if k.id not in tainted and tainted.intersection(k.refs):
                tainted.add(k.id)
                changed = True
    return [k for k in spec.kpis if k.id in tainted and kpis.get(k.id) is not None]


def merge_rows(
    table: Table, people: Sequence[Person], lang: str, notes: list[Note]
) -> list[TableRow]:
    """Everyone's rows of a list (the problems found, the action plan), in people's order, the
    first column prefixed with the person's name as `join` does (a row several people wrote the
    same: once, with all their names); at most MAX_TEAM_ROWS, with a note saying how many more
    each person's own summary has."""
    t = catalog(lang)
    first = table.columns[0].id
    # A row several people wrote the same (the template's example kept) is listed once, with
    # all their names.
    groups: dict[tuple[object, ...], tuple[list[str], TableRow]] = {}
    for p in people:
        for row in p.tables.get(table.id, []):
            key = tuple(_key(row.get(c.id)) for c in table.columns)
            groups.setdefault(key, ([], row))[0].append(p.name)
    rows: list[TableRow] = []
    for names, row in groups.values():
        merged = dict(row)
        text = merged.get(first)
        name = t("rollup.list_sep").join(names)
        if isinstance(text, str) and text.strip():
            merged[first] = t("rollup.joined", name=name, text=text.strip())
        else:
            merged[first] = name
        rows.append(merged)
    if len(rows) > MAX_TEAM_ROWS:
        params = (("table", table.label), ("kept", MAX_TEAM_ROWS),
                  ("n", len(rows) - MAX_TEAM_ROWS), ("total", len(rows)))  # fmt: skip
        notes.append(Note("rows_cut", params))
        rows = rows[:MAX_TEAM_ROWS]
    return rows
