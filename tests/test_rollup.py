"""Team roll-up: sums, weighted means and recomputed KPIs checked against hand-computed values,
the xlsx and docx outputs, the roster, and the spec rules behind them."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from generator.xlsx_writer import build_workbook
from opsbook.api import check
from opsbook.cli import main
from opsbook.identity import is_rollup_workbook
from opsbook.sample import sample_values
from opsbook.team.rollup import rollup
from opsbook.team.roster import RosterEntry, read_roster
from tests.helpers import summary_text
from workbook.calc import compute_kpis
from workbook.errors import ExitCode, OpsbookError, UnreadableFile
from workbook.reader import read_workbook
from workbook.report import Report
from workbook.spec import Spec, SpecError, from_dict, load
from workbook.tomlcompat import tomllib

SPEC_FILE = Path(__file__).parent.parent / "workbook" / "templates" / "ecommerce-ops-summary.toml"

# Two people with round numbers. The hand computations are in each test.
ALICE: dict[str, Any] = {
    "author": "Alice",
    "store_name": "North store",
    "uv": 1000,
    "orders": 50,
    "gmv": 10000,
    "gmv_prev": 8000,
    "gmv_last_year": 9000,
    "buyers": 40,
    "repeat_buyers": 10,
    "ad_spend": 1000,
    "ad_gmv": 3000,
    "members": 100,
    "ltv": 500,
    "ltv_prev": 400,
    "high_value_threshold": 3000,
    "target_gmv_growth": 0.10,
    "target_ltv_growth": 0.10,
    "task_hours": 5,
    "task_hours_prev": 6,
    "s2_notes": "Moved live streams to the evening.",
    "core_goal": "GMV growth",
}
BOB: dict[str, Any] = {
    "author": "Bob",
    "store_name": "South store",
    "uv": 3000,
    "orders": 90,
    "gmv": 20000,
    "gmv_prev": 20000,
    "buyers": 60,
    "repeat_buyers": 30,
    "ad_spend": 3000,
    "ad_gmv": 6000,
    "members": 300,
    "ltv": 300,
    "ltv_prev": 300,
    "high_value_threshold": 3000,
    "target_gmv_growth": 0.40,
    "target_ltv_growth": 0.20,
    "task_hours": 7,
    "task_hours_prev": 6,
    "core_goal": "User growth",
}


def filled(figures: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    values: dict[str, Any] = {
        "period": "Q3 2026",
        "period_days": 92,
        "business_scope": "Store operations",
        "core_goal": "Growth",
    }
    values.update(figures)
    return values


def write_person(path: Path, figures: dict[str, Any], lang: str = "en") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_workbook(load(), lang, filled(figures, lang)))
    return path


@pytest.fixture
def team(tmp_path: Path) -> Path:
    folder = tmp_path / "team"
    write_person(folder / "alice.xlsx", ALICE)
    write_person(folder / "bob.xlsx", BOB)
    return folder


def messages(notes: list[str]) -> str:
    return "\n".join(notes)


# -- combining --------------------------------------------------------------------------------


def test_counts_and_money_are_summed_and_every_kpi_is_recomputed_from_the_sums(
    team: Path,
) -> None:
    result = rollup([team], lang="en", jobs=2)
    fields, kpis = result.report.fields, result.report.kpis
    assert [p.name for p in result.people] == ["Alice", "Bob"]
    assert (fields["uv"], fields["orders"], fields["gmv"], fields["gmv_prev"]) == (
        4000,
        140,
        30000,
        28000,
    )
    assert (fields["buyers"], fields["repeat_buyers"], fields["members"]) == (100, 40, 400)
    # 140 / 4000, not the mean of 5% and 3% (4%)
    assert kpis["conversion_rate"] == pytest.approx(0.035)
    assert kpis["aov"] == pytest.approx(30000 / 140)
    assert kpis["gmv_growth"] == pytest.approx(30000 / 28000 - 1)
    assert kpis["repurchase_rate"] == pytest.approx(40 / 100)
    assert kpis["roi"] == pytest.approx(9000 / 4000)  # not the mean of 3.0 and 2.0
    # "same": both gave 92 days and a 3000 threshold
    assert (fields["period_days"], fields["high_value_threshold"], fields["period"]) == (
        92,
        3000,
        "Q3 2026",
    )
    # unweighted mean: hours per standard task (5 and 7; 6 and 6)
    assert (fields["task_hours"], fields["task_hours_prev"]) == (6, 6)
    assert kpis["efficiency_gain"] == pytest.approx(0.0)


def test_weighted_means_make_team_targets_the_sum_of_personal_ones(team: Path) -> None:
    result = rollup([team], lang="en", jobs=1)
    fields, kpis = result.report.fields, result.report.kpis
    # LTV per member, weighted by members: (100*500 + 300*300) / 400
    assert fields["ltv"] == pytest.approx(350)
    assert fields["ltv_prev"] == pytest.approx((100 * 400 + 300 * 300) / 400)
    assert kpis["ltv_change"] == pytest.approx(350 / 325 - 1)
    # growth target weighted by GMV: (10000*0.1 + 20000*0.4) / 30000
    assert fields["target_gmv_growth"] == pytest.approx(0.3)
    assert kpis["target_gmv"] == pytest.approx(10000 * 1.1 + 20000 * 1.4)
    # LTV growth weighted by members x LTV, so the team's target LTV is the member-weighted
    # mean of the personal target LTVs: (100*550 + 300*360) / 400
    assert fields["target_ltv_growth"] == pytest.approx((5000 + 18000) / 140000)
    assert kpis["target_ltv"] == pytest.approx(407.5)


def test_a_total_with_a_blank_part_sums_what_was_reported_and_says_whom_it_covers(
    team: Path,
) -> None:
    # Alice gave last year's GMV (9000), Bob did not: the team's total is Alice's 9000, it
    # covers 1 of 2 people, and the YoY growth counts only Alice: 10000 / 9000 - 1, not the
    # team's 30000 over Alice's 9000.
    result = rollup([team], lang="en", jobs=1)
    assert result.report.fields["gmv_last_year"] == 9000
    assert result.report.kpis["gmv_yoy"] == pytest.approx(10000 / 9000 - 1)
    assert result.report.coverage["gmv_yoy"] == (1, 2)
    assert result.summary_lines()[:2] == [
        "Combined 2 workbooks",
        "These team totals cover 1 of 2 people: GMV, same period last year",
    ]
    flagged = result.summary_lines()[2]
    assert flagged == (
        "These figures count only the people who reported all they need (the same people this "
        "period and last): GMV growth year on year (1 of 2 people)"
    )
    bob = str(team / "bob.xlsx")
    line = next(m for m in result.messages() if m.startswith("Bob"))
    assert line == (
        f"Bob ({bob}) left 1 blank: GMV, same period last year; those team totals cover the "
        "others only (fill them in, 0 if none)"
    )


def test_one_workbook_rolls_up_to_its_own_figures() -> None:
    spec = load()
    values = sample_values("zh-CN")
    sample = Report(spec.id, spec.version, "zh-CN", "sample.xlsx", fields=dict(values),
                    kpis=compute_kpis(spec, values))  # fmt: skip
    alone = rollup([sample], lang="zh-CN")
    for f in spec.fields:
        if f.type in ("count", "money", "number", "percent") and f.rollup != "none":
            assert alone.report.fields.get(f.id) == pytest.approx(values[f.id]), f.id
    for k, value in sample.kpis.items():
        assert alone.report.kpis[k] == pytest.approx(value), k
    assert alone.messages() == []


def test_fields_that_must_agree_warn_when_they_differ(tmp_path: Path) -> None:
    write_person(tmp_path / "a.xlsx", {**ALICE, "period_days": 92})
    write_person(tmp_path / "b.xlsx", {**BOB, "period_days": 91})
    write_person(tmp_path / "c.xlsx", {**BOB, "author": "Carol", "period_days": 92,
                                        "period": "2026 Q3"})  # fmt: skip
    result = rollup([tmp_path], lang="en", jobs=2)
    assert result.report.fields["period_days"] == 92
    # "Q3 2026" and "2026 Q3" are one period, written the locale's way.
    assert result.report.fields["period"] == "Q3 2026"
    notes = result.messages()
    assert (
        "Days in period: the workbooks differ (92 (2), 91 (1)); the roll-up shows 92 but "
        "combines the figures of every workbook: check Bob"
    ) in notes
    assert not any(n.startswith("Period:") for n in notes)


def test_store_becomes_the_team_label_and_a_shared_store_is_flagged(tmp_path: Path) -> None:
    write_person(tmp_path / "a.xlsx", ALICE)
    write_person(tmp_path / "b.xlsx", {**BOB, "store_name": "North store"})
    write_person(tmp_path / "c.xlsx", {**BOB, "author": "Carol"})
    result = rollup([tmp_path], lang="en", jobs=1)
    assert result.report.fields["store_name"] == "Team roll-up (3 people)"
    assert (
        "Brand / store name “North store” is in 2 workbooks (Alice, Bob): if they report the "
        "same figures, the team totals count them more than once"
    ) in result.messages()
    named = rollup([tmp_path], lang="en", jobs=1, team="East region")
    assert named.report.fields["store_name"] == "East region"


def test_text_is_joined_with_names_or_listed_once(team: Path) -> None:
    result = rollup([team], lang="en", jobs=1)
    assert result.report.fields["s2_notes"] == "Alice: Moved live streams to the evening."
    assert result.report.fields["core_goal"] == "GMV growth, User growth"
    assert result.report.fields["business_scope"] == "Store operations"
    assert "author" not in result.report.fields  # rollup = "none"


def test_text_too_long_for_its_cell_keeps_whole_entries(tmp_path: Path) -> None:
    for i in range(12):
        write_person(tmp_path / f"p{i:02}.xlsx", {**ALICE, "author": f"P{i}",
                                                   "core_goal": f"Goal number {i:02}"})  # fmt: skip
    result = rollup([tmp_path], lang="en", jobs=2)
    goal = str(result.report.fields["core_goal"])
    assert len(goal) <= 120
    kept = re.findall(r"Goal number \d\d", goal)
    assert kept == [f"Goal number {i:02}" for i in range(len(kept))]
    assert goal.endswith(f"… ({12 - len(kept)} more: see each person's workbook)")
    assert (
        f"Core goals: not everything fits the cell; {12 - len(kept)} of 12 entries are left out"
        in (result.messages())
    )


# -- outputs ----------------------------------------------------------------------------------


def test_xlsx_rollup_reads_back_with_the_same_kpis_and_a_per_person_sheet(
    team: Path, tmp_path: Path
) -> None:
    result = rollup([team], lang="en", jobs=1)
    out = result.write(tmp_path / "TEAM.xlsx")
    back = read_workbook(out)
    assert back.errors == []
    for k, value in result.report.kpis.items():
        if k == "gmv_yoy":  # over Alice alone in the summary; see below
            continue
        assert back.kpis[k] == (pytest.approx(value) if value is not None else None), k
    # The dashboard's formula divides the team's GMV by Alice's last-year GMV alone
    # (30000 / 9000 - 1); checking or rendering the workbook says so instead of passing it on.
    assert back.kpis["gmv_yoy"] == pytest.approx(30000 / 9000 - 1)
    warnings = [i.message("en") for i in check(out).warnings]
    caveat = "This is a team roll-up whose totals cover only some people"
    assert any(w.startswith(caveat) for w in warnings)
    assert not [i for i in check(team / "alice.xlsx").warnings if i.kind == "team_partial"]
    assert back.fields["gmv"] == 30000
    wb = openpyxl.load_workbook(out)
    assert "Per person" in wb.sheetnames
    ws = wb["Per person"]
    header = [c.value for c in ws[3]]
    assert header[:4] == ["Name", "Email", "File", "Brand / store name"]
    assert header[4:-1] == [load().item(i).label("en") for i in load().rollup.kpis]
    assert header[-1] == "Issues"
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=5)]
    assert [r[0] for r in rows] == ["Alice", "Bob"]
    assert rows[0][3] == "North store"
    assert rows[0][header.index("Conversion rate (this period)")] == pytest.approx(0.05)
    team_row = [c.value for c in ws[6]]
    assert team_row[0] == "Team"
    # the team's conversion rate: 140 orders / 4000 visitors
    assert team_row[header.index("Conversion rate (this period)")] == pytest.approx(0.035)
    # formulas stay live: the team's conversion rate is a formula over the summed inputs
    ((sheet, coord),) = list(wb.defined_names["conversion_rate"].destinations)
    assert str(wb[sheet][coord.replace("$", "")].value).startswith("=")
    assert is_rollup_workbook(out) and not is_rollup_workbook(team / "alice.xlsx")


def test_docx_rollup_has_the_per_person_table_and_the_missing_list(
    team: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "people.csv"
    roster.write_text("Name,Email\nAlice,\nBob,\nDana,dana@example.com\n", encoding="utf-8")
    result = rollup([team], lang="en", roster=roster, jobs=1)
    text = summary_text(result.write(tmp_path / "TEAM.docx").read_bytes())
    assert "Appendix: about this team roll-up" in text
    table = text[text.index("Main KPIs by person") :]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Name | GMV (this period) |")
    assert rows[1].startswith("| Alice | ¥10,000 |")
    assert "| 5% |" in rows[1]  # Alice's own conversion rate, 50 / 1000
    assert rows[2].startswith("| Bob | ¥20,000 |")
    assert "Not submitted (1): Dana <dana@example.com>." in text


def test_an_earlier_rollup_in_the_folder_is_left_out(team: Path) -> None:
    rollup([team], lang="en", jobs=1).write(team / "TEAM.xlsx")
    again = rollup([team], lang="en", jobs=1)
    assert [p.name for p in again.people] == ["Alice", "Bob"]
    assert (
        f"{team / 'TEAM.xlsx'}: an earlier team roll-up, not a person's workbook; left out"
        in again.messages()
    )


# -- roster -----------------------------------------------------------------------------------


def mail(path: Path, sender: str, name: str, data: bytes) -> Path:
    message = EmailMessage()
    message["From"] = sender
    message["Subject"] = "summary"
    message.set_content("attached")
    message.add_attachment(
        data,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
    )
    path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    return path


def test_roster_lists_who_has_not_submitted_matching_names_and_email_senders(
    tmp_path: Path,
) -> None:
    # Excel's "CSV UTF-8": a BOM, Chinese headers, CRLF line ends.
    roster = tmp_path / "名单.csv"
    roster.write_bytes(
        "\ufeff姓名,邮箱\r\n林晓雨,lin@example.cn\r\n王 磊,\r\n陈思,chen@example.cn\r\n"
        "赵敏,zhao@example.cn\r\n".encode()
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # Lin's workbook has no author, but her email address is on the roster.
    lin = mail(tmp_path / "lin.eml", "Xiaoyu <LIN@example.cn>", "q3.xlsx",
         build_workbook(load(), "zh-CN", filled({**ALICE, "author": None})))  # fmt: skip
    write_person(inbox / "wang.xlsx", {**BOB, "author": "王磊"}, "zh-CN")  # name without the space
    write_person(inbox / "guest.xlsx", {**BOB, "author": "Guest"}, "zh-CN")
    result = rollup([lin, inbox], roster=roster, jobs=2)  # folders hold workbooks, not .eml
    assert result.lang == "zh-CN"
    assert [p.name for p in result.people] == ["Xiaoyu", "Guest", "王磊"]
    assert result.people[0].email == "lin@example.cn"
    assert [e.shown for e in result.missing] == ["陈思 <chen@example.cn>", "赵敏 <zhao@example.cn>"]
    assert [p.name for p in result.unlisted] == ["Guest"]
    assert result.summary_lines() == [
        "已汇总 3 份工作簿",
        "以下团队合计只含 3 人中的 1 人:去年同期GMV",
        "以下指标只计入填齐其全部所需数据的人(本期与上期同一批人):GMV同比增长(3人中1人)",
        "未提交(2人):",
        "  陈思 <chen@example.cn>",
        "  赵敏 <zhao@example.cn>",
    ]
    assert "不在名单中:Guest" in result.messages()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name;email\nAlice;ALICE@x.com\n", [RosterEntry("Alice", "alice@x.com")]),
        (b"Email\n\nbob@x.com\nbob@x.com\n", [RosterEntry(None, "bob@x.com")]),
        ("姓名\t部门\n林晓雨\t运营\n".encode("gb18030"), [RosterEntry("林晓雨", None)]),
    ],
)
def test_roster_files_as_excel_saves_them(
    tmp_path: Path, data: bytes, expected: list[RosterEntry]
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    assert read_roster(path) == expected


def test_a_roster_without_a_name_or_email_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("who,where\nAlice,North\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as caught:
        read_roster(path)
    assert caught.value.exit_code == 3
    assert caught.value.message("en") == (
        f"{path}: the roster needs a header row with a name column (name, 姓名) and/or an email "
        "column (email, 邮箱)"
    )


@pytest.mark.parametrize("text", ["name,email\n", "姓名\r\n\r\n , \r\n"])
def test_a_roster_with_nobody_on_it_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(UnreadableFile) as caught:
        read_roster(path)
    assert caught.value.exit_code == 3
    assert caught.value.message("zh-CN") == (
        f"{path}:名单中没有任何人(只有标题行,下面没有姓名或邮箱)"
    )


# -- command line -----------------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    return CliRunner()


def test_cli_rollup_writes_the_team_workbook_and_lists_the_missing(
    runner: CliRunner, team: Path, tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text("name\nAlice\nBob\nDana\n", encoding="utf-8")
    result = runner.invoke(
        main, ["rollup", "team", "-o", "TEAM.xlsx", "--roster", "people.csv", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Wrote TEAM.xlsx",
        "Combined 2 workbooks",
        "These team totals cover 1 of 2 people: GMV, same period last year",
    ]
    assert lines[3].endswith("GMV growth year on year (1 of 2 people)")
    assert lines[4:] == ["Not submitted (1):", "  Dana"]
    assert result.stderr.startswith("Note: Bob (")
    assert read_workbook(tmp_path / "TEAM.xlsx").fields["gmv"] == 30000


def test_cli_rollup_refuses_other_outputs_and_existing_files(
    runner: CliRunner, team: Path, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["rollup", "team", "-o", "TEAM.pdf", "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: TEAM.pdf: the roll-up is written as .xlsx (a workbook) or .docx (a summary)\n"
    )
    (tmp_path / "TEAM.docx").write_bytes(b"precious")
    result = runner.invoke(main, ["rollup", "team", "-o", "TEAM.docx", "--lang", "en"])
    assert result.exit_code == 5
    assert (tmp_path / "TEAM.docx").read_bytes() == b"precious"


def test_cli_rollup_exits_1_when_an_input_is_left_out(
    runner: CliRunner, team: Path, tmp_path: Path
) -> None:
    (team / "broken.xlsx").write_bytes(b"not a workbook at all")
    result = runner.invoke(main, ["rollup", "team", "-o", "TEAM.docx", "--lang", "en"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "Wrote TEAM.docx",
        "Combined 2 workbooks; 1 left out (listed below)",
    ]
    # What makes the exit code 1 reads as an error, not as a note.
    assert result.stderr.startswith(f"Error: Not included: {Path('team') / 'broken.xlsx'}: ")
    assert (tmp_path / "TEAM.docx").is_file()


def test_nothing_readable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.xlsx").write_bytes(b"junk")
    with pytest.raises(OpsbookError) as caught:
        rollup([tmp_path / "bad.xlsx"], lang="en", jobs=1)
    assert caught.value.message("en").startswith("the only input could not be used: ")
    assert caught.value.exit_code == ExitCode.UNREADABLE  # as for one unreadable workbook


def test_nothing_readable_exits_3_with_one_line_and_no_output(runner: CliRunner) -> None:
    Path("bad.xlsx").write_bytes(b"junk")
    Path("empty.xlsx").write_bytes(b"")
    result = runner.invoke(main, ["rollup", "bad.xlsx", "empty.xlsx", "-o", "TEAM.xlsx"])
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "2 个输入都无法使用" in result.stderr
    assert not Path("TEAM.xlsx").exists()


# -- the spec's rules -------------------------------------------------------------------------


def _raw() -> dict[str, Any]:
    with SPEC_FILE.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    return data


def _field(data: dict[str, Any], id_: str) -> dict[str, Any]:
    return next(f for f in data["fields"] if f["id"] == id_)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("ltv", {"rollup": "join"}), "field 'ltv': rollup 'join' does not suit a money field"),
        (("target_gmv_growth", {"rollup": "sum"}), "rollup 'sum' does not suit a percent field"),
        (("gmv", {"weight": "uv"}), "field 'gmv': a weight needs rollup = \"mean\""),
        (("ltv", {"weight": "nobody"}), "field 'ltv': unknown weight id 'nobody'"),
        (
            ("ltv", {"weight": ["members", "period"]}),
            "field 'ltv': weight 'period' is not a number",
        ),
        (("ltv", {"weight": 3}), "field 'ltv' weight: must be an id or a list of ids"),
    ],
)
def test_rollup_rules_in_the_spec_are_checked(
    change: tuple[str, dict[str, Any]], message: str
) -> None:
    data = _raw()
    id_, attrs = change
    _field(data, id_).update(attrs)
    with pytest.raises(SpecError, match=re.escape(message)):
        from_dict(data)


def test_every_number_that_cannot_be_summed_says_how_it_combines() -> None:
    spec = load()
    for f in spec.fields:
        if f.type in ("percent", "number"):
            assert f.rollup in ("mean", "same"), f.id
    assert spec.field("period_days").rollup == "same"
    assert spec.field("high_value_threshold").rollup == "same"
    assert spec.field("gmv").rollup == "sum"  # money defaults to a sum


def rules_table(spec: Spec) -> str:
    """The spec's roll-up rules as a Markdown table, every field that is not a plain sum (the
    table in docs/rollup.md; a test keeps the two the same)."""
    lines = ["| field | type | rollup | weight |", "|---|---|---|---|"]
    for f in spec.fields:
        if f.rollup == "sum":
            continue
        weight = " × ".join(f"`{w}`" for w in f.weight)
        lines.append(f"| `{f.id}` ({f.label.en}) | {f.type} | {f.rollup} | {weight} |")
    return "\n".join(lines)


def test_the_rules_table_in_docs_is_current() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "rollup.md").read_text(encoding="utf-8")
    between = doc.split("<!-- rules:begin -->\n", 1)[1].split("\n<!-- rules:end -->", 1)[0]
    assert between == rules_table(load())


def test_cli_rollup_never_writes_over_a_workbook_it_read_but_replaces_its_own(
    runner: CliRunner, team: Path
) -> None:
    alice = (team / "alice.xlsx").read_bytes()
    result = runner.invoke(
        main, ["rollup", "team", "-o", "team/alice.xlsx", "--force", "--lang", "en"]
    )
    assert result.exit_code == 5
    assert (
        result.stderr == f"Error: {Path('team/alice.xlsx')}: the output cannot be the input file\n"
    )
    assert (team / "alice.xlsx").read_bytes() == alice
    first = runner.invoke(main, ["rollup", "team", "-o", "team/TEAM.xlsx", "--lang", "en"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(
        main, ["rollup", "team", "-o", "team/TEAM.xlsx", "--force", "--lang", "en"]
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[:2] == ["Wrote team/TEAM.xlsx", "Combined 2 workbooks"]
    assert "an earlier team roll-up, not a person's workbook; left out" in again.stderr


def test_the_same_workbook_sent_twice_is_counted_once(team: Path) -> None:
    (team / "forwarded").mkdir()
    (team / "forwarded" / "alice-again.xlsx").write_bytes((team / "alice.xlsx").read_bytes())
    twice = rollup([team], lang="en")
    once = rollup([team / "alice.xlsx", team / "bob.xlsx"], lang="en")
    assert len(twice.people) == 2
    assert twice.report.fields["gmv"] == once.report.fields["gmv"] == ALICE["gmv"] + BOB["gmv"]
    alice_again = team / "forwarded" / "alice-again.xlsx"
    assert (
        f"{alice_again}: the same file as {team / 'alice.xlsx'} (identical content); counted once"
        in messages(twice.messages())
    )


# -- a blank template, a revised copy ---------------------------------------------------------


def saved_on(path: Path, when: str) -> Path:
    """Rewrite the workbook's last-saved time (docProps/core.xml), as Excel does on save."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    core = parts["docProps/core.xml"].decode()
    core = re.sub(
        r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{when}\g<2>", core
    )
    parts["docProps/core.xml"] = core.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_a_blank_workbook_is_left_out_instead_of_blanking_every_total(team: Path) -> None:
    (team / "blank.xlsx").write_bytes(build_workbook(load(), "en", {}))
    result = rollup([team], lang="en", jobs=1)
    assert [p.name for p in result.people] == ["Alice", "Bob"]
    assert result.report.fields["gmv"] == ALICE["gmv"] + BOB["gmv"]
    assert result.report.kpis["conversion_rate"] == pytest.approx(140 / 4000)
    assert [f.source for f in result.failed] == [str(team / "blank.xlsx")]
    assert result.exit_code == 1
    assert (
        f"Not included: {team / 'blank.xlsx'}: no figure is filled in (the blank template?); "
        "left out" in messages(result.messages())
    )


def test_a_revised_workbook_replaces_the_earlier_one_of_the_same_person(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    # The revision comes first in the folder's order: the saving time decides, not the order.
    saved_on(write_person(folder / "a-alice-v2.xlsx", {**ALICE, "gmv": 12000}),
             "2026-10-12T09:30:00Z")  # fmt: skip
    saved_on(write_person(folder / "b-alice.xlsx", ALICE), "2026-10-10T18:00:00Z")
    write_person(folder / "bob.xlsx", BOB)
    result = rollup([folder], lang="en", jobs=1)
    assert [p.name for p in result.people] == ["Alice", "Bob"]
    assert result.report.fields["gmv"] == 12000 + BOB["gmv"]
    assert result.exit_code == 0
    (line,) = [m for m in result.messages() if "sent 2 workbooks" in m]
    assert line.startswith(f"Alice sent 2 workbooks: the last saved, {folder / 'a-alice-v2.xlsx'}")
    assert line.endswith(f"is used; left out: {folder / 'b-alice.xlsx'}")


def test_people_are_told_apart_by_email_before_name(tmp_path: Path) -> None:
    data = build_workbook(load(), "en", filled({**ALICE, "author": "王磊"}))
    other = build_workbook(load(), "en", filled({**BOB, "author": "王 磊"}))
    a = mail(tmp_path / "a.eml", "王磊 <wang.lei@example.com>", "q3.xlsx", data)
    b = mail(tmp_path / "b.eml", "王磊 <wanglei2@example.com>", "q3.xlsx", other)
    result = rollup([a, b], lang="en", jobs=1)
    assert len(result.people) == 2  # two colleagues of the same name, by their addresses
    assert result.report.fields["gmv"] == ALICE["gmv"] + BOB["gmv"]
    revised = build_workbook(load(), "en", filled({**ALICE, "author": "王磊", "gmv": 12000}))
    again = mail(tmp_path / "c.eml", "Wang Lei <WANG.LEI@example.com>", "q3-v2.xlsx", revised)
    result = rollup([a, b, again], lang="en", jobs=1)
    assert len(result.people) == 2  # the same address, whatever the display name
    assert result.report.fields["gmv"] == 12000 + BOB["gmv"]  # same saving time: the later one
    assert any("王磊 sent 2 workbooks" in m for m in result.messages())


def test_one_email_with_a_groups_workbooks_counts_each_person(tmp_path: Path) -> None:
    # A group lead forwards three colleagues' workbooks in one message.
    message = EmailMessage()
    message["From"] = "Ma Lin <ma@example.com>"
    message["Subject"] = "our group"
    message.set_content("attached")
    for who, figures in (("王磊", ALICE), ("李娜", BOB), ("张伟", {**BOB, "gmv": 5000})):
        data = build_workbook(load(), "en", filled({**figures, "author": who}))
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename=f"{who}.xlsx")  # fmt: skip
    group = tmp_path / "group.eml"
    group.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    result = rollup([group], lang="en", jobs=1)
    assert [p.name for p in result.people] == ["王磊", "李娜", "张伟"]
    assert result.report.fields["gmv"] == ALICE["gmv"] + BOB["gmv"] + 5000
    assert not any("sent 3 workbooks" in m for m in result.messages())


def test_without_a_real_saving_time_the_later_email_wins(tmp_path: Path) -> None:
    # Workbooks straight from the generator carry no saving time of their own (created ==
    # modified): the emails' Date headers decide, not the order the files are given in.
    def dated(name: str, when: str, gmv: int) -> Path:
        message = EmailMessage()
        message["From"] = "Alice <alice@example.com>"
        message["Date"] = when
        message.set_content("attached")
        data = build_workbook(load(), "en", filled({**ALICE, "gmv": gmv}))
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename="q3.xlsx")  # fmt: skip
        path = tmp_path / name
        path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        return path

    later = dated("a.eml", "Mon, 05 Oct 2026 09:00:00 +0800", 12000)
    earlier = dated("b.eml", "Thu, 01 Oct 2026 09:00:00 +0800", 11000)
    result = rollup([later, earlier], lang="en", jobs=1)
    assert result.report.fields["gmv"] == 12000
    assert read_workbook(write_person(tmp_path / "plain.xlsx", ALICE)).saved_at is None
    stamped = saved_on(write_person(tmp_path / "saved.xlsx", ALICE), "2026-10-12T09:30:00Z")
    assert read_workbook(stamped).saved_at is not None


def test_lists_are_merged_with_each_persons_name_and_read_back(tmp_path: Path) -> None:
    problems = sample_values("en")["problems"]  # three rows
    actions = [{"action": "Move live streams to 8 pm", "owner": "Bob"}, {"owner": "Bob"}]
    write_person(tmp_path / "a.xlsx", {**ALICE, "problems": problems})
    bobs = [{**problems[0], "symptom": "Up 20% since June"}]  # the same problem, his own words
    write_person(tmp_path / "b.xlsx", {**BOB, "problems": bobs, "actions": actions})
    result = rollup([tmp_path], lang="en", jobs=1)
    merged = result.report.tables["problems"]
    assert len(merged) == 4 and [r["symptom"] for r in merged] == [
        *(r["symptom"] for r in problems),
        "Up 20% since June",
    ]
    assert merged[0]["problem"] == f"Alice: {problems[0]['problem']}"
    assert merged[3]["problem"] == f"Bob: {problems[0]['problem']}"
    assert [r["action"] for r in result.report.tables["actions"]] == [
        "Bob: Move live streams to 8 pm",
        "Bob",  # a row with no action of its own still says whose it is
    ]
    # The team workbook grows the table to fit (a person's has 6 rows) and reads back whole.
    team = result.write(tmp_path / "team.xlsx")
    assert read_workbook(team).tables["problems"] == merged


def test_a_merged_list_keeps_at_most_max_team_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opsbook.team.combine as combine_mod

    monkeypatch.setattr(combine_mod, "MAX_TEAM_ROWS", 2)
    problems = sample_values("en")["problems"]
    write_person(tmp_path / "a.xlsx", {**ALICE, "problems": problems})
    result = rollup([tmp_path / "a.xlsx"], lang="en", jobs=1)
    assert len(result.report.tables["problems"]) == 2
    assert (
        "Problems and causes: the team's list keeps the first 2 of 3 rows; 1 more are in "
        "people's own summaries"
    ) in result.messages()


def test_a_text_deadline_survives_the_team_workbook(tmp_path: Path) -> None:
    actions = [{"action": "Renegotiate ad rates", "owner": "Alice", "deadline": "end of Q4"}]
    path = write_person(tmp_path / "a.xlsx", ALICE)
    # Typed into the date column by hand (the generator would only write dates there).
    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names["actions"].destinations)
    first = wb[sheet][ref.replace("$", "").split(":")[0]]
    for offset, key in enumerate(("action", "owner", "deadline")):
        wb[sheet].cell(first.row, first.column + offset, actions[0][key])
    wb.save(path)
    result = rollup([path], lang="en", jobs=1)
    assert result.report.tables["actions"][0]["deadline"] == "end of Q4"
    team = result.write(tmp_path / "team.xlsx")  # used to fail: a text in a date column
    assert read_workbook(team).tables["actions"][0]["deadline"] == "end of Q4"


def test_a_nameless_workbook_never_joins_named_ones_from_the_same_sender(tmp_path: Path) -> None:
    # A group lead forwards 王磊's and 李娜's workbooks and one without a name.
    message = EmailMessage()
    message["From"] = "Lead <lead@example.com>"
    message.set_content("attached")
    for who, figures in (("", {**BOB, "gmv": 5000}), ("王磊", ALICE), ("李娜", BOB)):
        data = build_workbook(load(), "en", filled({**figures, "author": who or None}))
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename=f"{who or 'nameless'}.xlsx")  # fmt: skip
    group = tmp_path / "group.eml"
    group.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    result = rollup([group], lang="en", jobs=1)
    assert len(result.people) == 3
    assert result.report.fields["gmv"] == 5000 + ALICE["gmv"] + BOB["gmv"]


def test_a_grown_list_reads_back_whole_by_its_labels_too(tmp_path: Path) -> None:
    problems = sample_values("en")["problems"]
    for name in ("a", "b", "c"):
        own = [{**row, "cause": f"{row['cause']} ({name})"} for row in problems]
        write_person(tmp_path / f"{name}.xlsx", {**ALICE, "author": name, "problems": own})
    (tmp_path / "out").mkdir()
    team = rollup([tmp_path], lang="en", jobs=1).write(tmp_path / "out" / "team.xlsx")
    wb = openpyxl.load_workbook(team)
    del wb.defined_names["problems"]  # e.g. the sheets were copied into another file
    wb.save(tmp_path / "nameless.xlsx")
    assert len(read_workbook(tmp_path / "nameless.xlsx").tables["problems"]) == 9
