"""`opsbook check` and `opsbook export`, as a user runs them: exact lines and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from opsbook import api
from opsbook.cli import main
from opsbook.sample import sample_values
from tests.test_reader import SPEC, address, build, build_blank, edit, setter
from workbook.calc import compute_kpis


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_LANG", raising=False)
    return CliRunner()


# -- check -------------------------------------------------------------------------------------


def test_check_a_clean_workbook(runner: CliRunner, tmp_path: Path) -> None:
    build(tmp_path)
    result = runner.invoke(main, ["check", "filled.xlsx"])
    assert result.exit_code == 0
    assert result.stdout == "filled.xlsx:错误 0 个,警告 0 个,提示 0 条;可以生成总结\n"
    assert result.stderr == ""


def test_check_lists_every_missing_required_field_and_exits_1(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = build_blank(tmp_path)
    result = runner.invoke(main, ["check", "blank.xlsx", "--lang", "en"])
    assert result.exit_code == 1
    required = [f for f in SPEC.fields if f.required]
    expected = [
        f"blank.xlsx: error: {address(path, f.id)}: {f.label.en}: required, but empty"
        for f in required
    ]
    expected.append(
        f"blank.xlsx: errors: {len(required)}, warnings: 0, notes: 0; "
        "fix the errors before writing the summary"
    )
    assert result.stdout.splitlines() == expected


def test_check_speaks_the_workbooks_language_unless_told(runner: CliRunner, tmp_path: Path) -> None:
    src = build(tmp_path, "en.xlsx", lang="en")
    edit(src, "typed.xlsx", setter(target_high_value_share="8.5"))
    cell = address(src, "target_high_value_share")
    result = runner.invoke(main, ["check", "typed.xlsx"])
    assert result.exit_code == 0  # warnings do not block the summary
    n = len(SPEC.kpis)
    assert result.stdout.splitlines() == [
        f"typed.xlsx: note: {n} KPI results were not saved in the file (it was last saved by a "
        "program that does not calculate); opsbook calculated them",
        f"typed.xlsx: warning: {cell}: Target high-value share: “8.5” has no % sign; read as 8.5%",
        "typed.xlsx: errors: 0, warnings: 1, notes: 1; nothing blocks the summary",
    ]
    result = runner.invoke(main, ["check", "typed.xlsx", "--lang", "zh-CN"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        f"typed.xlsx:警告:{cell}: 下期高价值用户占比目标:“8.5”没有 % 号,按 8.5% 读取"
    )


def test_check_an_out_of_range_value_blocks(runner: CliRunner, tmp_path: Path) -> None:
    src = build(tmp_path)
    edit(src, "bad.xlsx", setter(plan_retention30=22))
    result = runner.invoke(main, ["check", "bad.xlsx"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        "bad.xlsx:错误 1 个,警告 0 个,提示 1 条;请先修正错误再生成总结"
    )


def test_check_unreadable_inputs_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", "nothing.xlsx"])
    assert result.exit_code == 3
    assert result.stderr == "错误:nothing.xlsx:文件不存在\n"
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "plain.xlsx")
    result = runner.invoke(main, ["check", "plain.xlsx"], env={"OPSBOOK_LANG": "en"})
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: plain.xlsx: not an opsbook workbook (no template id found); "
        "make one with opsbook new\n"
    )
    edit(build(tmp_path), "other.xlsx", setter(opsbook_template="weekly-report"))
    result = runner.invoke(main, ["check", "other.xlsx"])
    assert result.exit_code == 3
    assert result.stderr == (
        "错误:other.xlsx:由另一个模板(weekly-report)生成;本 opsbook 读取 ecommerce-ops-summary\n"
    )


# -- export ------------------------------------------------------------------------------------


def test_export_json(runner: CliRunner, tmp_path: Path) -> None:
    build(tmp_path, "en.xlsx", lang="en")
    result = runner.invoke(main, ["export", "en.xlsx", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["template"] == {"id": SPEC.id, "version": SPEC.version, "lang": "en"}
    sample = sample_values("en")
    assert data["fields"]["report_date"] == "2026-10-10"
    assert data["fields"]["gmv"] == 12865000
    assert data["fields"]["store_name"] == "Shanlan Home Tmall flagship store"
    assert set(data["fields"]) == {f.id for f in SPEC.fields}
    assert data["kpis"] == compute_kpis(SPEC, sample)
    assert data["tables"]["actions"][0]["deadline"] == "2026-11-30"
    assert data["warnings"] == []
    assert result.stdout == api.export(tmp_path / "en.xlsx", "json")


def test_export_json_blanks_are_null_and_warnings_listed(runner: CliRunner, tmp_path: Path) -> None:
    path = build_blank(tmp_path)
    result = runner.invoke(main, ["export", "blank.xlsx"])
    assert result.exit_code == 0  # export reports problems, it does not judge them
    data = json.loads(result.stdout)
    assert set(data["fields"].values()) == {None}
    assert set(data["kpis"].values()) == {None}
    assert data["warnings"][0] == {
        "severity": "error",
        "kind": "missing_required",
        "id": "period",
        "cell": address(path, "period"),
        "message": f"{address(path, 'period')}: 时间周期为必填项,但未填写",
    }


def test_export_csv(runner: CliRunner, tmp_path: Path) -> None:
    path = build(tmp_path)
    result = runner.invoke(main, ["export", "filled.xlsx", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["kind", "id", "value", "cell"]
    sample = sample_values("zh-CN")
    table_cells = sum(len(row) for t in SPEC.tables for row in sample[t.id])
    assert len(rows) == 1 + len(SPEC.fields) + len(SPEC.kpis) + table_cells
    by_id = {row[1]: row for row in rows[1:]}
    assert by_id["gmv"] == ["field", "gmv", "12865000", address(path, "gmv")]
    assert by_id["report_date"] == [
        "field",
        "report_date",
        "2026-10-10",
        address(path, "report_date"),
    ]
    assert by_id["unsold_rate"] == ["kpi", "unsold_rate", "0.05", address(path, "unsold_rate")]
    assert by_id["task_hours"][2] == "6.5"
    assert by_id["actions.1.deadline"][:3] == ["table", "actions.1.deadline", "2026-11-30"]
    assert by_id["actions.1.deadline"][3].endswith("!C24")
    assert result.stdout == api.export(path, "csv")


def test_export_to_a_file_atomically_and_never_over_a_file_without_force(
    runner: CliRunner, tmp_path: Path
) -> None:
    build(tmp_path)
    result = runner.invoke(main, ["export", "filled.xlsx", "--format", "csv", "-o", "out.csv"])
    assert result.exit_code == 0
    assert result.stdout == "已写入 out.csv\n"
    # a byte-order mark first, so Excel on a Chinese Windows reads the file as UTF-8
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfkind,id,value,cell\n")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig") == api.export(
        tmp_path / "filled.xlsx", "csv"
    )
    again = runner.invoke(main, ["export", "filled.xlsx", "-o", "out.csv"])
    assert again.exit_code == 5
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("kind,id,value,cell\n")
    forced = runner.invoke(main, ["export", "filled.xlsx", "-o", "out.csv", "--force"])
    assert forced.exit_code == 0
    assert json.loads((tmp_path / "out.csv").read_text(encoding="utf-8"))["template"]["id"] == (
        SPEC.id
    )
    onto_input = runner.invoke(main, ["export", "filled.xlsx", "-o", "filled.xlsx", "--force"])
    assert onto_input.exit_code == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filled.xlsx", "out.csv"]


def test_export_refuses_an_unknown_format(runner: CliRunner, tmp_path: Path) -> None:
    build(tmp_path)
    result = runner.invoke(main, ["export", "filled.xlsx", "--format", "xml"])
    assert result.exit_code == 2
    assert "错误:'--format' 的值 'xml' 无效,可选:'json', 'csv'。" in result.stderr


def test_export_to_a_dash_writes_standard_output(runner: CliRunner, tmp_path: Path) -> None:
    build(tmp_path)
    result = runner.invoke(main, ["export", "filled.xlsx", "--format", "json", "-o", "-"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["template"]["id"] == "ecommerce-ops-summary"
    assert not (tmp_path / "-").exists()
