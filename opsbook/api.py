"""The Python API behind every command: plain functions, no click, no printing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.xlsx_writer import build_workbook
from opsbook.files import safe_filename, write_atomic
from opsbook.sample import sample_values
from workbook import spec as spec_mod
from workbook.i18n import catalog, normalize_lang


def default_workbook_name(lang: str, store: str | None, period: str | None) -> str:
    """File name from the store and period, e.g. 山岚家居_2026年Q3_数据填报表.xlsx."""
    t = catalog(lang)
    stem = safe_filename(store or "", period or "")
    suffix = safe_filename(t("workbook.suffix"))
    if not stem:
        stem = safe_filename(t("workbook.default_name"))
    return f"{stem}_{suffix}.xlsx"


def new_workbook(
    out: Path | None = None,
    *,
    lang: str = "zh-CN",
    store: str | None = None,
    period: str | None = None,
    author: str | None = None,
    force: bool = False,
    values: dict[str, Any] | None = None,
) -> Path:
    """Write a new workbook to fill; return its path. Never overwrites without force."""
    lang = normalize_lang(lang)
    spec = spec_mod.load()
    prefill: dict[str, Any] = dict(values or {})
    for id_, value in (("store_name", store), ("period", period), ("author", author)):
        if value:
            prefill[id_] = value
    path = out if out is not None else Path(default_workbook_name(lang, store, period))
    write_atomic(path, build_workbook(spec, lang, prefill), force=force)
    return path


def demo(outdir: Path, *, lang: str = "zh-CN", force: bool = True) -> list[Path]:
    """Write the blank workbook and the filled sample (and its summary) into outdir."""
    lang = normalize_lang(lang)
    outdir.mkdir(parents=True, exist_ok=True)
    spec = spec_mod.load()
    written = []
    blank = outdir / f"blank-{lang}.xlsx"
    write_atomic(blank, build_workbook(spec, lang), force=force)
    written.append(blank)
    sample = outdir / f"sample-{lang}.xlsx"
    write_atomic(sample, build_workbook(spec, lang, sample_values(lang)), force=force)
    written.append(sample)
    return written
