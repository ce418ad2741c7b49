"""From one period to the next: the spec's previous-period links, the next workbook (previous
figures, period, carried commitments), two steps, the command line, and the targets compared."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.api import render
from opsbook.cli import main
from opsbook.nextperiod import build_next, next_workbook
from opsbook.sample import sample_values
from tests.helpers import summary_text
from tests.lo import LibreOffice
from tests.test_libreoffice import (
    NUMERIC_FIELDS,
    cell_value,
    kpis_by_name,
    make_fill,
    named_cell,
    same,
)
from workbook import expr
from workbook.reader import read_workbook
from workbook.spec import Kpi, SpecError, from_dict, load, previous_links
from workbook.tomlcompat import tomllib

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = ROOT / "workbook" / "templates" / "ecommerce-ops-summary.toml"
SPEC = load()
SAMPLE = {
    "zh-CN": ROOT / "samples" / "sample-zh-CN.xlsx",
    "en": ROOT / "samples" / "sample-en.xlsx",
}


def raw_spec() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(SPEC_FILE.read_text(encoding="utf-8"))
    return data


# -- the spec ------------------------------------------------------------------------------------


def test_each_of_the_17_previous_fields_names_its_current_field() -> None:
    links = previous_links(SPEC)
    assert len(links) == 17
    assert {p for p in links} == {f.id for f in SPEC.fields if f.id.endswith("_prev")}
    for prev, current in links.items():
        assert prev == f"{current}_prev"
        assert SPEC.field(prev).type == SPEC.field(current).type


def test_every_previous_period_comparison_of_the_kpi_tables_is_linked() -> None:
    """A [[metrics]] row comparing with the previous period reads only linked fields; the other
    comparisons say what they compare with (last year, expected)."""
    links = previous_links(SPEC)
    others = {m.prev: m.compare for m in SPEC.metrics if m.prev and m.compare != "previous"}
    assert others == {"gmv_last_year": "last_year", "funnel_loss_expected": "expected"}
    for m in SPEC.metrics:
        if m.prev is None or m.compare != "previous":
            continue
        if SPEC.has(m.prev) and m.prev in links:
            assert links[m.prev] == m.current
        else:  # a KPI of previous-period fields
            fields = [r for r in SPEC.kpi(m.prev).refs if r in links]
            assert fields and all(r in links for r in SPEC.kpi(m.prev).refs), m.prev


def test_a_previous_field_without_its_link_stops_the_spec_loading() -> None:
    data = raw_spec()
    for f in data["fields"]:
        if f["id"] == "uv_prev":
            del f["current"]
    with pytest.raises(SpecError, match=r"uv_prev.*current = 'uv'"):
        from_dict(data)


def test_a_kpi_comparison_whose_fields_are_not_linked_stops_the_spec_loading() -> None:
    data = raw_spec()
    for f in data["fields"]:
        if f["id"] == "returned_orders_prev":
            del f["current"]
    with pytest.raises(SpecError, match="return_rate_prev"):
        from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"current": "orders"}, "current 'orders' must be a current field of type money"),
        ({"current": "store_name"}, "must be a current field"),
    ],
)
def test_a_wrong_link_stops_the_spec_loading(change: dict[str, str], message: str) -> None:
    data = raw_spec()
    for f in data["fields"]:
        if f["id"] == "gmv_prev":
            f.update(change)
    with pytest.raises(SpecError, match=message):
        from_dict(data)


def test_a_target_must_declare_a_known_polarity_and_figures() -> None:
    data = raw_spec()
    data["targets"][0]["polarity"] = "up"
    with pytest.raises(SpecError, match="polarity"):
        from_dict(data)
    data = raw_spec()
    data["targets"][0]["actual"] = "gmv / nothing"
    with pytest.raises(SpecError, match="nothing"):
        from_dict(data)


# -- the next workbook ---------------------------------------------------------------------------


def check_next(source: Path, nxt: Path) -> None:
    """Every previous-period field of nxt holds source's current value; who and what carry."""
    before, after = read_workbook(source, SPEC), read_workbook(nxt, SPEC)
    for prev, current in previous_links(SPEC).items():
        assert after.fields[prev] == before.fields[current], prev
    for id_ in ("author", "department", "store_name", "business_scope"):
        assert after.fields[id_] == before.fields[id_], id_
    for f in SPEC.fields:  # nothing else is pre-filled: this period is still to be filled
        if f.id not in previous_links(SPEC) and f.id not in (
            "author", "department", "store_name", "business_scope", "period", "period_days",
        ):  # fmt: skip
            assert after.fields[f.id] is None, f.id


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_samples_next_workbook(lang: str, tmp_path: Path) -> None:
    out, book = next_workbook(SAMPLE[lang], tmp_path / "next.xlsx")
    check_next(SAMPLE[lang], out)
    report = read_workbook(out, SPEC)
    assert report.fields["period"] == {"zh-CN": "2026年Q4", "en": "Q4 2026"}[lang]
    assert report.fields["period_days"] == 92  # Oct 31 + Nov 30 + Dec 31
    carried = report.carried
    assert carried is not None
    assert (carried.source, carried.period) == (SAMPLE[lang].name, book.period)
    # The sample's GMV 12,865,000 with a 20% growth target: 15,438,000 to reach.
    assert carried.targets["gmv"] == pytest.approx(15_438_000)
    # 6.5 hours a task, 15% more effective: 6.5 / 1.15 hours.
    assert carried.targets["task_hours"] == pytest.approx(6.5 / 1.15)
    assert carried.commitments["target_gmv_growth"] == pytest.approx(0.2)
    actions = carried.tables["actions"]
    assert len(actions) == len(sample_values(lang)["actions"])
    assert [a["owner"] for a in actions] == [a["owner"] for a in sample_values(lang)["actions"]]
    assert all(a["outcome"] is None for a in actions)


def fill_current(path: Path, values: dict[str, Any], out: Path) -> None:
    """What a person does: type this period's figures into the named input cells, save."""
    wb = openpyxl.load_workbook(path)
    for id_, value in values.items():
        ((sheet, coord),) = list(wb.defined_names[id_].destinations)
        wb[sheet][coord.replace("$", "")].value = value
    wb.save(out)


def random_source(rng: random.Random, lang: str) -> bytes:
    values: dict[str, Any] = make_fill(
        NUMERIC_FIELDS, [rng.randint(0, 255) for _ in NUMERIC_FIELDS], rng
    )
    values.update(period="2026年Q3" if lang == "zh-CN" else "Q3 2026", period_days=92)
    values.update(store_name="山岚家居", author="林晓雨")
    return build_workbook(SPEC, lang, values)


@pytest.mark.parametrize("seed", range(6))
def test_random_fills_and_two_steps(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    lang = ("zh-CN", "en")[seed % 2]
    source = tmp_path / "q3.xlsx"
    source.write_bytes(random_source(rng, lang))
    q4, _ = next_workbook(source, tmp_path / "q4.xlsx")
    check_next(source, q4)
    # The person fills Q4's own figures; its next workbook takes them as previous.
    figures = make_fill(NUMERIC_FIELDS, [rng.randint(0, 255) for _ in NUMERIC_FIELDS], rng)
    current = {k: v for k, v in figures.items() if k not in previous_links(SPEC) and v is not None}
    current.pop("period_days", None)
    filled = tmp_path / "q4-filled.xlsx"
    fill_current(q4, current, filled)
    q1, book = next_workbook(filled, tmp_path / "q1.xlsx")
    assert book.next_period == {"zh-CN": "2027年Q1", "en": "Q1 2027"}[lang]
    check_next(filled, q1)
    assert read_workbook(q1, SPEC).fields["period_days"] == 90


# -- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "period", "date", "expected", "days"),
    [
        ("zh-CN", "2026年Q4", None, "2027年Q1", 90),
        ("zh-CN", "2026年度", None, "2027年度", 365),
        ("zh-CN", "2026年8月", None, "2026年9月", 30),
        ("zh-CN", "上半年", dt.date(2026, 7, 5), "2026年下半年", 184),
        ("zh-CN", "2026年第三季度", None, "2026年Q4", 92),
        ("en", "Q4 2026", None, "Q1 2027", 90),
        ("en", "FY2026", None, "FY2027", 365),
        ("en", "August 2026", None, "September 2026", 30),
        ("en", "H1 2026", None, "H2 2026", 184),
    ],
)
def test_the_period_advances_in_both_locales(
    lang: str, period: str, date: dt.date | None, expected: str, days: int, tmp_path: Path
) -> None:
    values: dict[str, Any] = {"period": period, "gmv": 100}
    if date is not None:
        values["report_date"] = date
    source = tmp_path / "src.xlsx"
    source.write_bytes(build_workbook(SPEC, lang, values))
    book = build_next(source)
    assert book.next_period == expected
    out = tmp_path / "out.xlsx"
    out.write_bytes(book.data)
    report = read_workbook(out, SPEC)
    assert (report.fields["period"], report.fields["period_days"]) == (expected, days)


@pytest.mark.parametrize("period", ["旺季", "上半年", "2026年8-12月"])
def test_a_period_that_cannot_be_advanced_asks_for_period(period: str, tmp_path: Path) -> None:
    source = tmp_path / "src.xlsx"
    source.write_bytes(build_workbook(SPEC, "zh-CN", {"period": period}))
    result = CliRunner().invoke(main, ["next", str(source)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"错误:{source}:无法从时间周期“{period}”推算下一期;请用 --period 指定,如 --period 2026年Q4"
    )
    assert list(tmp_path.iterdir()) == [source]
    ok = CliRunner().invoke(main, ["next", str(source), "--period", "2027年1-2月"])
    assert ok.exit_code == 0, ok.output
    (written,) = [p for p in tmp_path.iterdir() if p != source]
    report = read_workbook(written, SPEC)
    assert (report.fields["period"], report.fields["period_days"]) == ("2027年1-2月", 59)


# -- the command line ----------------------------------------------------------------------------


def test_next_and_new_from_write_the_same_workbook(tmp_path: Path) -> None:
    runner = CliRunner()
    a = runner.invoke(main, ["next", str(SAMPLE["zh-CN"]), "-o", str(tmp_path / "a.xlsx")])
    assert a.exit_code == 0, a.output
    assert a.output.strip() == (
        f"已写入 {tmp_path / 'a.xlsx'}(来自 sample-zh-CN.xlsx:2026年Q3 → 2026年Q4)"
    )
    b = runner.invoke(main, ["new", str(tmp_path / "b.xlsx"), "--from", str(SAMPLE["zh-CN"])])
    assert b.exit_code == 0, b.output
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    again = runner.invoke(main, ["next", str(SAMPLE["zh-CN"]), "-o", str(tmp_path / "a.xlsx")])
    assert again.exit_code == 5
    clash = runner.invoke(main, ["new", "--from", str(SAMPLE["zh-CN"]), "--store", "X"])
    assert clash.exit_code == 2


def test_next_default_name_is_beside_the_source(tmp_path: Path) -> None:
    source = tmp_path / "sample.xlsx"
    shutil.copy(SAMPLE["zh-CN"], source)
    result = CliRunner().invoke(main, ["next", str(source)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "山岚家居天猫旗舰店_2026年Q4_数据填报表.xlsx").is_file()
    assert source.read_bytes() == SAMPLE["zh-CN"].read_bytes()


def test_next_for_many_folders_and_mail(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE["zh-CN"], inbox / "lin.xlsx")
    other = tmp_path / "other.xlsx"
    other.write_bytes(
        build_workbook(
            SPEC, "zh-CN", {**sample_values("zh-CN"), "author": "王磊", "period": "2026年Q3"}
        )
    )
    msg = EmailMessage()
    msg["From"] = "Wang Lei <wang@example.com>"
    msg["Subject"] = "Q3"
    msg.set_content("attached")
    msg.add_attachment(
        other.read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="wang.xlsx",
    )
    eml = tmp_path / "wang.eml"
    eml.write_bytes(msg.as_bytes())
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(build_workbook(SPEC, "zh-CN"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["next", str(inbox), str(eml), str(blank), "--outdir", str(out)]
    )
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "林晓雨_山岚家居天猫旗舰店_2026年Q4_数据填报表.xlsx",
        "王磊_山岚家居天猫旗舰店_2026年Q4_数据填报表.xlsx",
    ]
    assert "下期工作簿:生成 2 份,失败 1 份" in result.output
    assert "未填写时间周期" in result.output
    wang = read_workbook(out / "王磊_山岚家居天猫旗舰店_2026年Q4_数据填报表.xlsx", SPEC)
    assert wang.carried is not None and wang.carried.source == "wang.xlsx"
    many_o = CliRunner().invoke(main, ["next", str(inbox), "-o", str(tmp_path / "x.xlsx")])
    assert many_o.exit_code == 2


# -- targets met or missed -----------------------------------------------------------------------

# This period's figures for the sample's next workbook, and by hand what they mean against the
# sample's commitments (GMV 12,865,000 x 1.2; task hours 6.5 / 1.15; drop-off 76% x 0.9; ...).
RESULTS = {
    "gmv": 14_000_000,  # target 15,438,000: missed, 14,000,000 / 15,438,000 = 90.685%
    "task_hours": 5.2,  # lower is better, target 5.652: met, 5.6522 / 5.2 = 108.70%
    "campaign_clicks": 200_000,
    "campaign_buyers": 60_000,  # drop-off 70%, target 68.4% (lower): missed, 97.71%
    "new_users": 81_000,  # target 80,000: met, 101.25%
    "retention_cohort": 50_000,
    "retention_retained": 10_500,  # 21% against 22%: missed, 95.4545%
}
HAND = {
    "gmv": (15_438_000, 14_000_000, 14_000_000 / 15_438_000, False),
    "task_hours": (6.5 / 1.15, 5.2, (6.5 / 1.15) / 5.2, True),
    "funnel_loss": (0.684, 0.7, 0.684 / 0.7, False),
    "new_users": (80_000, 81_000, 81_000 / 80_000, True),
    "retention30": (0.22, 0.21, 0.21 / 0.22, False),
}


def filled_next(tmp_path: Path, lang: str = "zh-CN") -> Path:
    nxt, _ = next_workbook(SAMPLE[lang], tmp_path / "next.xlsx")
    filled = tmp_path / "filled.xlsx"
    fill_current(nxt, RESULTS, filled)
    wb = openpyxl.load_workbook(filled)
    ((sheet, coord),) = list(wb.defined_names["carried_tbl_actions"].destinations)
    first = coord.replace("$", "").split(":")[0]
    row = wb[sheet][first].row
    wb[sheet].cell(row, 6).value = "已完成,预算占比降至9%"
    wb.save(filled)
    return filled


def test_attainment_against_hand_computed_values(tmp_path: Path) -> None:
    from generator.targets import assessments

    report = read_workbook(filled_next(tmp_path), SPEC)
    found = {t.id: a for t, a in assessments(SPEC, report)}
    for id_, (target, actual, attainment, met) in HAND.items():
        a = found[id_]
        assert a is not None
        assert a.target == pytest.approx(target, rel=1e-12), id_
        assert a.actual == pytest.approx(actual, rel=1e-12), id_
        assert a.attainment == pytest.approx(attainment, rel=1e-12), id_
        assert a.met is met, id_
    assert found["interactions"] is None  # nothing in the workbook measures it
    assert found["members"] is not None and found["members"].actual is None  # not filled


def test_the_summary_says_which_targets_were_met(tmp_path: Path) -> None:
    docx, _ = render(filled_next(tmp_path), tmp_path / "next.docx")
    text = summary_text(docx.read_bytes())
    assert "## 目标达成情况" in text
    assert text.index("## 目标达成情况") < text.index("## 一、")
    assert "可衡量的5项目标中，达成2项，未达成3项。" in text
    assert "GMV（目标1,543.8万元，实际1,400万元）" in text
    assert "| GMV | 1,543.8万元 | 1,400万元 | 90.7% | 未达成 |" in text
    assert "| 标准工作平均耗时（小时） | 5.7 | 5.2 | 108.7% | 达成 |" in text
    assert "| 点击-转化漏斗流失率 | 68.4% | 70% | 97.7% | 未达成 |" in text
    assert "| 新增注册用户 | 8万 | 8.1万 | 101.3% | 达成 |" in text
    assert "| 新用户30日留存率 | 22% | 21% | 95.5% | 未达成 |" in text
    assert "| 新渠道用户占比 | 15% | 本表无法衡量 | — | — |" in text
    assert "上期改进行动共4项，已填写完成情况1项。" in text
    assert "已完成，预算占比降至9%" in text


def test_the_english_summary_too(tmp_path: Path) -> None:
    docx, _ = render(filled_next(tmp_path, "en"), tmp_path / "next.docx")
    text = summary_text(docx.read_bytes())
    assert "## Targets vs results" in text
    assert "Of 5 measurable targets, 2 were met and 3 missed." in text
    assert "| Metric | Target | Actual | Attainment | Met |" in text


def test_a_workbook_without_commitments_has_no_targets_section(tmp_path: Path) -> None:
    docx, report = render(SAMPLE["zh-CN"], tmp_path / "s.docx")
    assert report.carried is None
    assert "目标达成情况" not in summary_text(docx.read_bytes())


def _reads(id_: str) -> set[str]:
    """The input fields a KPI reads, directly or through other KPIs."""
    item = SPEC.item(id_)
    if not isinstance(item, Kpi):
        return {id_}
    return set().union(*(_reads(r) for r in item.refs))


@pytest.mark.libreoffice
def test_libreoffice_computes_the_next_workbook_as_opsbook_does(
    libreoffice: LibreOffice, tmp_path: Path
) -> None:
    """The next workbook of the sample and of random fills, filled in, recalculated by
    LibreOffice: every KPI equals opsbook's, and the Targets sheet's actual, attainment and
    met / missed equal the summary's."""
    from generator.targets import assessments
    from workbook.carried import target_name

    (tmp_path / "sample").mkdir()
    sources = [filled_next(tmp_path / "sample")]
    rng = random.Random(12)
    for i in range(3):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        source = folder / "q3.xlsx"
        source.write_bytes(random_source(rng, "zh-CN"))
        nxt, _ = next_workbook(source, folder / "q4.xlsx")
        figures = make_fill(NUMERIC_FIELDS, [rng.randint(0, 255) for _ in NUMERIC_FIELDS], rng)
        current = {
            k: v for k, v in figures.items() if k not in previous_links(SPEC) and v is not None
        }
        current.pop("period_days", None)
        fill_current(nxt, current, folder / f"filled{i}.xlsx")
        sources.append(folder / f"filled{i}.xlsx")
    outs = libreoffice.convert(sources, "xlsx", tmp_path / "lo")
    met_word = {True: "达成", False: "未达成", None: None}
    for source, out in zip(sources, outs, strict=True):
        report = read_workbook(source, SPEC)
        lo = kpis_by_name(out)
        for k in SPEC.kpis:
            if _reads(k.id) & set(report.unusable):  # a part above its whole: left out
                assert report.kpis[k.id] is None, (source, k.id)
                continue
            assert same(lo[k.id], report.kpis[k.id]), (source, k.id, lo[k.id], report.kpis[k.id])
        wb = openpyxl.load_workbook(out, data_only=True)
        for target, a in assessments(SPEC, report):
            cell = named_cell(wb, target_name(target.id))
            row = [cell_value(cell.offset(0, i).value) for i in (1, 2, 3)]
            if a is None:
                continue
            reads = expr.references(target.actual_node) if target.actual_node else ()
            if set().union(*(_reads(r) for r in reads)) & set(report.unusable):
                assert a.actual is None, (source, target.id)  # built on an impossible figure
                continue
            assert same(row[0], a.actual), (source, target.id, row, a)
            assert same(row[1], a.attainment), (source, target.id, row, a)
            assert row[2] == met_word[a.met], (source, target.id, row, a)
        wb.close()
