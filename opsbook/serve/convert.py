"""The server's one door into opsbook: every call into opsbook.api (and the report model) from
the web layer goes through this module, so a change of the API touches one file.

The *_job functions run in the conversion processes (opsbook/serve/pool.py): their arguments
and results are plain, picklable data. An error travels as its message key and values, and the
web layer words it in the language of each answer (localized at the edge); the issues of a
stored submission are kept in every locale, since the store keeps them for later pages.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from opsbook import api
from workbook import spec as spec_mod
from workbook.errors import ExitCode, OpsbookError
from workbook.i18n import LANGS, catalog
from workbook.period import Period, parse_period
from workbook.report import Report

ZIP_DATE = (2026, 1, 1, 0, 0, 0)
NO_PERIOD = "-"  # the key of workbooks whose period is left empty


@dataclass(frozen=True)
class Failure:
    """An error a user caused: its message key (errors.<key>) and values, with the CLI's exit
    code."""

    key: str
    exit_code: int
    params: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: OpsbookError) -> Failure:
        return cls(exc.key, int(exc.exit_code), {k: _plain(v) for k, v in exc.params.items()})

    @property
    def too_large(self) -> bool:
        return self.key in ("unsafe.file_too_large", "serve.too_large")


@dataclass(frozen=True)
class Converted:
    """A workbook read and rendered: the summary, and what the pages show about it."""

    name: str
    docx: bytes
    person: str
    person_key: str
    store_name: str
    period_text: str
    errors: int
    warnings: int
    blank: bool
    issues: list[dict[str, Any]] = field(default_factory=list)  # severity, kind, cell, message
    kpis: dict[str, float | None] = field(default_factory=dict)
    lang: str = "zh-CN"
    sha256: str = ""


def _plain(value: object) -> object:
    """A message value as it crosses from a conversion process: itself when plain data, else
    its text (what the message would show of it)."""
    if value is None or isinstance(value, str | int | float | bool | PurePath):
        return value
    return str(value)


def person_key(name: str) -> str:
    """A name as rosters and resends match it: case, spaces and full-width forms ignored."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def period_of(text: str) -> tuple[str, str]:
    """(canonical key, text as typed) of a period: 2026年Q3 and Q3 2026 share the key 2026-Q3;
    a text no parser knows is keyed by itself (spaces folded)."""
    typed = " ".join(text.split())
    found = parse_period(typed)
    return (found.key if found else (typed or NO_PERIOD)), typed


def period_label(key: str, typed: str, lang: str) -> str:
    """The period as the page's language writes it (the typed text when it is not canonical)."""
    found = parse_period(typed)
    if found is not None and found.key == key:
        return found.label(lang)
    return typed or catalog(lang)("serve.no_period")


def current_period_label(lang: str, year: int, month: int) -> str:
    """The quarter containing the month, as the locale writes it (the form's default)."""
    first = (month - 1) // 3 * 3 + 1
    return Period(year, first, first + 2).label(lang)


def _without_cell(message: str, cell: str | None) -> str:
    prefix = f"{cell}: "
    return message[len(prefix) :] if cell and message.startswith(prefix) else message


def _issues(report: Report) -> list[dict[str, Any]]:
    order = {"error": 0, "warning": 1, "info": 2}
    return [
        {
            "severity": i.severity,
            "kind": i.kind,
            "id": i.id,
            "cell": i.cell,
            "message": {lang: i.message(lang) for lang in LANGS},  # as `opsbook check` says it
            "text": {lang: _without_cell(i.message(lang), i.cell) for lang in LANGS},
        }
        for i in sorted(report.issues, key=lambda i: order.get(i.severity, 3))
    ]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def convert_job(data: bytes, name: str) -> Converted | Failure:
    """Read and render one uploaded workbook (the summary in the workbook's own language, as
    `opsbook render` writes it)."""
    try:
        docx, report = api.render_bytes(data, name)
    except OpsbookError as exc:
        return Failure.of(exc)
    spec = spec_mod.load()

    def role(name: str) -> str:
        id_ = spec.role(name)
        return _text(report.fields.get(id_)) if id_ is not None else ""

    store = role("store")
    person_id = spec.rollup.person or spec.role("author")
    person = _text(report.fields.get(person_id or "")) or store or name.rsplit(".", 1)[0]
    from opsbook.team.people import person_from_report

    filled = person_from_report(spec, report, 0).filled  # the roll-up's own "blank" test
    return Converted(
        name=name,
        docx=docx,
        person=person,
        person_key=person_key(person),
        store_name=store,
        period_text=role("period"),
        errors=len(report.errors),
        warnings=len(report.warnings),
        blank=filled == 0,
        issues=_issues(report),
        kpis={k: _number(report.value(k)) for k in spec.rollup.kpis},
        lang=report.lang,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def check_job(data: bytes, name: str) -> dict[str, Any] | Failure:
    """The check report as `opsbook export --format json` gives it, plus every issue (messages
    in every locale) and whether the problems block a trustworthy summary."""
    import json

    try:
        report = api.read_bytes(data, name)
    except OpsbookError as exc:
        return Failure.of(exc)
    out: dict[str, Any] = json.loads(api.export_report(report, "json"))
    out["issues"] = _issues(report)
    out["blocking"] = report.blocking
    return out


def workbook_job(
    lang: str, store: str | None, period: str | None, author: str | None, url: str | None
) -> bytes:
    """A new workbook to fill, with name, store and period filled in and this server named."""
    return api.new_workbook_bytes(
        lang=lang, store=store, period=period, author=author, convert_url=url
    )


def roster_names(data: bytes, name: str) -> list[tuple[str, str | None]] | Failure:
    """(shown name, matching key or None for an email-only entry) of each roster entry."""
    try:
        entries = api.parse_roster(data, name)
    except OpsbookError as exc:
        return Failure.of(exc)
    return [(e.shown, person_key(e.name) if e.name else None) for e in entries]


def rollup_job(
    workbooks: list[tuple[bytes, str]],
    roster: tuple[bytes, str] | None,
    fmt: str,
    lang: str,
) -> bytes | Failure:
    """The team roll-up of the period's current workbooks: xlsx, docx, or the export (json,
    csv) of the team report."""
    try:
        reports = [api.read_bytes(data, name) for data, name in workbooks]
        entries = api.parse_roster(*roster) if roster is not None else None
        team = api.rollup(reports, roster=entries, lang=lang, jobs=1)
        if fmt == "xlsx":
            return team.xlsx()
        if fmt == "docx":
            return team.docx()
        return api.export_report(team.report, "json" if fmt == "json" else "csv").encode()
    except OpsbookError as exc:
        return Failure.of(exc)


def summaries_zip(files: list[tuple[str, bytes]]) -> bytes:
    """Every summary in one zip, one file per person (names made unique)."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            stem, dot, ext = name.rpartition(".")
            unique, n = name, 1
            while unique.casefold() in seen:
                n += 1
                unique = f"{stem} ({n}){dot}{ext}"
            seen.add(unique.casefold())
            zf.writestr(zipfile.ZipInfo(unique, ZIP_DATE), data)
    return buffer.getvalue()


def file_stem(*parts: str) -> str:
    """A safe file-name stem from the given parts (the CLI's own rule)."""
    from opsbook.files import safe_filename

    return safe_filename(*parts) or "opsbook"


def words(lang: str, key: str, **params: object) -> str:
    """A page string from the locale catalogue."""
    return catalog(lang)(key, **params)


def too_large(limit_mb: float) -> Failure:
    """The error for a body over the server's cap."""
    return Failure("serve.too_large", int(ExitCode.UNSAFE), {"limit": f"{limit_mb:g}"})


def kpi_texts(kpis: dict[str, float | None], lang: str) -> list[tuple[str, str]]:
    """(label, figure) of the main KPIs, as the summary writes them, in the page's language."""
    from generator.numfmt import formatter

    spec = spec_mod.load()
    fmt = formatter(lang)
    out = []
    for id_, value in kpis.items():
        if value is None:
            continue
        item = next((k for k in spec.kpis if k.id == id_), None)
        if item is not None:
            out.append((item.label(lang), fmt.value(value, item.format)))
            continue
        f = next((f for f in spec.fields if f.id == id_), None)
        if f is not None:
            out.append((f.label(lang), fmt.value(value, f.type)))
    return out
