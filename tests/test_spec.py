"""The template spec covers the source template, and refuses to load when it is inconsistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from workbook import blankmap
from workbook.spec import (
    Field,
    Kpi,
    SpecError,
    from_dict,
    load,
    placeholders,
)
from workbook.tomlcompat import tomllib

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docs" / "template-zh-CN.md"
SEED = ROOT.parent / "shared" / "seed" / "template-zh-CN.md"
SPEC_FILE = ROOT / "workbook" / "templates" / "ecommerce-ops-summary.toml"


def test_docs_copy_of_the_template_is_the_seed() -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} is not beside the repository")
    assert TEMPLATE.read_bytes() == SEED.read_bytes()


def test_every_one_of_the_59_blanks_is_a_field_or_kpi() -> None:
    spec = load()
    blanks = blankmap.template_blanks(TEMPLATE.read_text(encoding="utf-8"))
    assert len(blanks) == 59
    assert sum(b.placeholder == "X" for b in blanks) == 55
    assert [b.placeholder for b in blanks if b.placeholder != "X"] == [
        "时间周期",
        "业务模块",
        "品牌/店铺名称",
        "核心目标",
    ]
    assert len(spec.blanks) == 59
    for id_ in spec.blanks:
        assert isinstance(spec.item(id_), Field | Kpi), id_


def test_every_blank_appears_in_the_narrative_of_both_locales() -> None:
    spec = load()
    for lang in ("zh-CN", "en"):
        used = {ph.id for p in spec.paragraphs for s in p.sentences for ph in placeholders(s(lang))}
        missing = [b for b in spec.blanks if b not in used]
        assert missing == [], lang


def test_rates_the_template_states_are_computed_not_typed() -> None:
    spec = load()
    for id_ in (
        "unsold_rate",
        "restock_ontime_rate",
        "first_purchase_rate",
        "referral_share",
        "repurchase_rate",
        "repurchase_rate_prev",
        "retention30",
        "paid_share",
        "paid_share_prev",
        "new_product_share",
        "gmv_yoy",
        "roi_change",
    ):
        assert isinstance(spec.item(id_), Kpi), id_


def test_the_blank_map_in_docs_is_current() -> None:
    expected = blankmap.render(load(), TEMPLATE.read_text(encoding="utf-8"))
    actual = (ROOT / "docs" / "blank-map.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "run: python -m workbook.blankmap docs/template-zh-CN.md > docs/blank-map.md"
    )


def test_prompts_carry_an_example_in_both_locales() -> None:
    for f in load().fields:
        if f.note:
            continue
        assert "如" in f.prompt("zh-CN"), f.id
        assert "e.g." in f.prompt("en"), f.id


def test_kpis_come_in_dependency_order() -> None:
    spec = load()
    seen: set[str] = set()
    for k in spec.kpi_order:
        assert all(r in seen or not isinstance(spec.item(r), Kpi) for r in k.refs), k.id
        seen.add(k.id)


def _raw() -> dict[str, Any]:
    with SPEC_FILE.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["fields"][5].update(id="uv1"), "cannot be a defined name"),
        (lambda d: d["fields"][5].update(id="Orders"), "cannot be a defined name"),
        (
            lambda d: d["kpis"][0].update(expr="sku_unsold / nothing_here"),
            "unknown id 'nothing_here'",
        ),
        (lambda d: d["kpis"][0].update(expr="sku_unsold / (sku_total"), "missing ')'"),
        (lambda d: d["kpis"][0].update(expr="unsold_rate * 2"), "depends on itself"),
        (lambda d: d["kpis"][0].update(expr="period / 2"), "is not a number"),
        (lambda d: d["fields"][0]["label"].pop("en"), "needs exactly the locales"),
        (lambda d: d["fields"][1].update(type="currency"), "unknown type"),
        (lambda d: d["blanks"].append("no_such_id"), "blank 'no_such_id'"),
        (lambda d: d["sections"][1]["sheet"].update(en="Sheet/1"), "cannot be a sheet name"),
        (lambda d: d["fields"].append(dict(d["fields"][4])), "defined twice"),
        (lambda d: d["checks"][0].update(whole="no_such_id"), "'no_such_id' is not a numeric"),
        (lambda d: d["checks"][0].update(whole="period"), "'period' is not a numeric field"),
        (lambda d: d["checks"][0].update(whole="gmv"), "figures of the same type"),
        (lambda d: d["checks"][0].update(severity="fatal"), "severity must be error or warning"),
        (lambda d: d["checks"][0]["why"].pop("zh-CN"), "needs exactly the locales"),
        (lambda d: d["charts"][0].update(after="s9"), "after 's9' is no section"),
        (lambda d: d["rollup"].update(charts=["period"]), "'period' is not a numeric"),
    ],
)
def test_inconsistent_specs_are_refused_with_the_item_named(mutate: Any, message: str) -> None:
    data = _raw()
    mutate(data)
    with pytest.raises(SpecError, match=re.escape(message)):
        from_dict(data)


def test_sentence_figures_must_match_across_locales() -> None:
    data = _raw()
    data["paragraphs"][1]["sentences"][0]["en"] = "No figure here."
    with pytest.raises(SpecError, match="locales differ in figures"):
        from_dict(data)


def test_a_check_compares_numbers_only() -> None:
    check = load().checks[0]
    part, whole = check.part, check.whole
    assert check.breached({part: 2, whole: 1.5})
    assert not check.breached({part: 1.5, whole: 1.5})
    assert not check.breached({part: 2, whole: None})
    assert not check.breached({part: "2", whole: 1})  # text in a number cell: not a number
    assert not check.breached({part: True, whole: 0})  # Excel's ISNUMBER(TRUE) is FALSE
    assert check.excel == f"AND(ISNUMBER({part}),ISNUMBER({whole}),{part}>{whole})"
