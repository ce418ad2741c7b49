"""Every bad input of the corpus (tests/badfiles.py), through every command, meets its row in
docs/bad-inputs.md: the exit code, the one localized line, no traceback, no output or temporary
file left behind, and the input byte-identical afterwards."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsbook.cli import main
from tests import badfiles
from tests.badfiles import CASES, OUTPUT_CASES, Setup
from workbook.errors import OpsbookError
from workbook.i18n import LANGS
from workbook.reader import read_workbook

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md"
#: Commands that read a workbook; the ones that write a file also run the output cases.
ALL_COMMANDS = ("check", "export", "render", "rollup")
COMMANDS = tuple(c for c in ALL_COMMANDS if c in main.commands)
WRITERS = frozenset({"export", "render", "rollup"})
BATCHES = frozenset({"rollup"})  # many workbooks in: each case runs beside a good one
MAX_BOMB_RSS_MB = 300  # a correctness bound for refused bombs, not a speed target


# --- The table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    case: str
    exits: dict[str, int | None]  # command -> exit code; None where the command does not apply
    messages: dict[str, str]  # lang -> the line, with <file>, <out> and <dir> placeholders


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_table(text: str) -> dict[str, Row]:
    """The corpus table of docs/bad-inputs.md: the one whose header starts with "Case"."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Case |"))
    header = _cells(lines[start])
    rows: dict[str, Row] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, _cells(line), strict=True))
        case = cells["Case"].strip("`")
        exits = {
            cmd: None if cells[f"`{cmd}`"] == "—" else int(cells[f"`{cmd}`"])
            for cmd in ALL_COMMANDS
        }
        messages = {lang: cells[f"Message ({lang})"].strip("`") for lang in LANGS}
        assert case not in rows, f"two rows for {case}"
        rows[case] = Row(case, exits, messages)
    return rows


ROWS = parse_table(DOC.read_text(encoding="utf-8"))


def test_every_corpus_case_has_exactly_one_row() -> None:
    assert sorted(ROWS) == sorted(CASES)


def test_the_table_lists_the_commands_that_exist() -> None:
    for row in ROWS.values():
        for command in COMMANDS:
            applies = not (row.case in OUTPUT_CASES and command not in WRITERS)
            assert (row.exits[command] is not None) == applies, (row.case, command)


# --- Running a command --------------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int
    stdout: list[str]
    stderr: list[str]


def _snapshot(*folders: Path) -> dict[Path, str]:
    """Every file under the folders -> a hash of its bytes (or its kind)."""
    seen: dict[Path, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                seen[path] = "folder"
            elif path.stat().st_mode & 0o444 == 0:
                path.chmod(0o644)  # root could read it anyway; keep the hash honest
                seen[path] = hashlib.sha256(path.read_bytes()).hexdigest()
                path.chmod(0o000)
            else:
                seen[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def unprivileged_prefix() -> list[str]:
    """A command prefix that takes away the right to bypass file permissions.

    As root (CI), setpriv drops every capability: the process keeps uid 0 but, without
    CAP_DAC_OVERRIDE, the owner's mode bits apply to it like to anyone (a real other uid cannot
    reach the interpreter under /root). As another user, nothing is needed."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("setpriv (util-linux) is needed to run as an unprivileged process")
        pytest.skip("setpriv (util-linux) is not installed")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
            "--no-new-privs", "--"]  # fmt: skip


def run_cli(
    argv: list[str], lang: str, setup: Setup, monkeypatch: pytest.MonkeyPatch | None = None
) -> Outcome:
    """The command as a user runs it: in-process with CliRunner, or in a subprocess when the
    case needs another environment or fewer privileges."""
    if setup.unprivileged or setup.env:
        env = {**os.environ, "OPSBOOK_LANG": lang, **setup.env}
        prefix = unprivileged_prefix() if setup.unprivileged else []
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "opsbook.cli", *argv],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        return Outcome(done.returncode, done.stdout.splitlines(), done.stderr.splitlines())
    if setup.fault == "enospc":
        assert monkeypatch is not None
        _disk_fills_up(monkeypatch)
    result = CliRunner().invoke(main, argv, env={"OPSBOOK_LANG": lang})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash: show it as the test failure
    return Outcome(result.exit_code, result.stdout.splitlines(), result.stderr.splitlines())


def _disk_fills_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up after the first 4 KB of any file written."""
    real_write = os.write
    written: dict[int, int] = {}

    def write(fd: int, data: bytes | memoryview) -> int:
        if written.get(fd, 0) >= 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data[:4096]))
        written[fd] = written.get(fd, 0) + n
        return n

    monkeypatch.setattr(os, "write", write)


def command_line(command: str, setup: Setup, out: Path, lang: str) -> list[str]:
    argv = [command, str(setup.input)]
    if command in BATCHES:
        argv = [command, str(colleague(setup.input.parent)), str(setup.input), "--jobs", "1"]
    if command in WRITERS:
        argv += ["-o", str(out)] + (["--force"] if setup.force else [])
    if command in ("check", "render", "rollup"):
        argv += ["--lang", lang]
    return argv


def colleague(folder: Path) -> Path:
    """A good workbook from someone else, beside the case's input, for the batch commands."""
    path = folder / "colleague.xlsx"
    if not path.exists():
        path.write_bytes(badfiles.sample_bytes())
    return path


def expected_line(row: Row, lang: str, setup: Setup, out: Path) -> str:
    return (
        row.messages[lang]
        .replace("<out>", str(out))
        .replace("<dir>", str(out.parent))
        .replace("<file>", str(setup.input))
    )


def _langs(case: str, command: str) -> tuple[str, ...]:
    """`check` shows a read workbook's findings in both locales. Elsewhere the line is the same
    for every command, so the locales alternate between commands: each case still meets both."""
    row = ROWS.get(case)
    if command == "check" and row is not None and (row.exits["check"] or 0) < 2:
        return LANGS
    applicable = [c for c in COMMANDS if not (case in OUTPUT_CASES and c not in WRITERS)]
    offset = sorted(CASES).index(case)
    return (LANGS[(offset + applicable.index(command)) % len(LANGS)],)


RUNS = [
    pytest.param(case, command, lang, id=f"{case}-{command}-{lang}")
    for case in CASES
    for command in COMMANDS
    if not (case in OUTPUT_CASES and command not in WRITERS)
    for lang in _langs(case, command)
]


@pytest.mark.parametrize(("case", "command", "lang"), RUNS)
def test_case_meets_its_row(
    case: str, command: str, lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = ROWS[case]
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    setup = CASES[case](inbox)
    if command in BATCHES:
        colleague(inbox)
    out = setup.output or outbox / ("values.json" if command == "export" else "summary.docx")
    before = _snapshot(inbox, outbox)

    result = run_cli(command_line(command, setup, out, lang), lang, setup, monkeypatch)

    assert result.exit_code == row.exits[command], (result.stdout, result.stderr)
    assert not any("Traceback" in line for line in result.stdout + result.stderr)
    line = expected_line(row, lang, setup, out)
    after = _snapshot(inbox, outbox)
    if command in BATCHES and result.exit_code == 1:
        # The workbook was left out, saying why (the message after "Not included:", or the
        # folder searched), and the team output written from the colleague's workbook.
        # (When nothing at all can be read, nothing is written.)
        tail = re.sub(r"^[::]\s*", "", line.split(str(setup.input), 1)[-1])
        assert any(str(setup.input) in e or tail in e for e in result.stderr), result.stderr
        assert {p: h for p, h in after.items() if p != out} == before
        if out in after:
            with zipfile.ZipFile(out) as zf:
                assert "word/document.xml" in zf.namelist() and zf.testzip() is None
        return
    if command in BATCHES and result.exit_code in (3, 4):
        # Nothing could be read (the colleague's workbook neither): one line, nothing written.
        tail = re.sub(r"^[::]\s*", "", line.split(str(setup.input), 1)[-1])
        assert len(result.stderr) == 1 and tail in result.stderr[0], result.stderr
        assert after == before
        return
    if result.exit_code >= 2:  # refused: one line naming the file, nothing written
        assert result.stderr == [line]
        assert any(p in row.messages[lang] for p in ("<file>", "<out>"))
        assert after == before
        return
    if command == "check":
        assert line in result.stdout
        assert after == before
        return
    # The workbook was read and the output written: exactly one new file, complete.
    assert {p: h for p, h in after.items() if p != out} == before
    assert out in after
    if command in ("render", "rollup"):
        with zipfile.ZipFile(out) as zf:
            assert "word/document.xml" in zf.namelist()
            assert zf.testzip() is None
    else:
        assert "fields" in json.loads(out.read_text(encoding="utf-8"))


# --- What "still works" means -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("sample") / "sample.xlsx"
    path.write_bytes(badfiles.sample_bytes())
    report = read_workbook(path)
    return {"fields": report.fields, "tables": report.tables, "kpis": report.kpis}


@pytest.mark.parametrize(
    "case", ["xlsx_named_xls", "names_deleted", "sheets_renamed", "rows_inserted", "older_version"]
)
def test_edited_workbooks_still_give_every_value(
    case: str, tmp_path: Path, sample_report: dict[str, object]
) -> None:
    report = read_workbook(CASES[case](tmp_path).input)
    assert {"fields": report.fields, "tables": report.tables, "kpis": report.kpis} == sample_report


def test_a_deleted_sheet_loses_only_its_own_values(
    tmp_path: Path, sample_report: dict[str, object]
) -> None:
    from workbook import spec as spec_mod

    spec = spec_mod.load()
    gone = badfiles.name_target(badfiles.sample_bytes(), "gmv")[0]
    report = read_workbook(CASES["sheet_deleted"](tmp_path).input)
    fields = sample_report["fields"]
    assert isinstance(fields, dict)
    on_gone = {f.id for f in spec.fields if spec.section_of(f.id).sheet.zh_cn == gone}
    assert on_gone and all(report.fields[i] is None for i in on_gone)
    assert {k: v for k, v in report.fields.items() if k not in on_gone} == {
        k: v for k, v in fields.items() if k not in on_gone
    }
    assert any(i.severity == "error" and i.id == "gmv" for i in report.issues)


# --- Bombs: refused with memory bounded ---------------------------------------------------------

_MEASURE = """
import json, resource, sys
from pathlib import Path
from workbook.errors import OpsbookError
from workbook.reader import read_workbook
outcomes = {}
for name in sys.argv[1:]:
    try:
        read_workbook(Path(name))
        outcomes[name] = "read"
    except OpsbookError as exc:
        outcomes[name] = exc.key
# VmHWM: this process's own peak. ru_maxrss would carry over the peak of the process that
# forked it (Linux keeps it across exec): pytest's, hundreds of MB late in the suite.
status = Path("/proc/self/status")
if status.exists():
    line = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM:"))
    peak = int(line.split()[1]) / 1024
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"outcomes": outcomes, "peak_mb": peak}))
"""

BOMBS = [
    "zip_bomb", "zip_bomb_lying", "overlapping_bomb", "entry_count_bomb", "huge_merge",
    "stretched_name", "far_row", "billion_laughs", "external_entity",
]  # fmt: skip


def test_bombs_are_refused_with_memory_bounded(tmp_path: Path) -> None:
    """All bombs, one after another in one fresh process: each refused as unsafe, and the
    process's peak memory (interpreter and libraries included) stays under the bound."""
    inputs = []
    for case in BOMBS:
        (tmp_path / case).mkdir()
        inputs.append(str(CASES[case](tmp_path / case).input))
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *inputs],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    measured = json.loads(done.stdout)
    assert all(key.startswith("unsafe.") for key in measured["outcomes"].values()), measured
    assert len(measured["outcomes"]) == len(BOMBS)
    assert measured["peak_mb"] < MAX_BOMB_RSS_MB, measured


def test_the_bombs_really_are_bombs(tmp_path: Path) -> None:
    """The corpus is honest. The bomb worksheet's stored stream is one deflate block that
    inflates to exactly 1 MiB, repeated 3,072 times: 3 GiB, while the lying directory declares
    40 KB. The laughs' last entity stands for 30 billion characters."""
    import zlib

    block, tail = badfiles.zero_block()
    inflater = zlib.decompressobj(-15)
    assert len(inflater.decompress(block + tail)) == 1 << 20 and inflater.eof
    for case, declared in (("zip_bomb", 3 << 30), ("zip_bomb_lying", 40_000)):
        (tmp_path / case).mkdir()
        path = CASES[case](tmp_path / case).input
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("xl/worksheets/sheet99.xml")
        start = info.header_offset + 30 + len(info.filename.encode())
        with path.open("rb") as fh:
            fh.seek(start)
            stored = fh.read(info.compress_size)
        assert stored == block * 3072 + tail
        assert info.file_size == declared

    laughs = tmp_path / "laughs"
    laughs.mkdir()
    with zipfile.ZipFile(CASES["billion_laughs"](laughs).input) as zf:
        sst = zf.read("xl/sharedStrings.xml")
    assert b"<t>&j;" in sst
    sizes = {"a": len("lollollollollollollollollollol")}
    for letter in "bcdefghij":
        previous = chr(ord(letter) - 1)
        assert f'<!ENTITY {letter} "{("&" + previous + ";") * 10}">'.encode() in sst
        sizes[letter] = 10 * sizes[previous]
    assert sizes["j"] == 30 * 10**9


# --- Tracebacks only on request -----------------------------------------------------------------


def test_debug_shows_the_traceback_and_still_the_line(tmp_path: Path) -> None:
    setup = CASES["empty"](tmp_path)
    plain = CliRunner().invoke(main, ["check", str(setup.input)], env={"OPSBOOK_LANG": "en"})
    debug = CliRunner().invoke(
        main, ["--debug", "check", str(setup.input)], env={"OPSBOOK_LANG": "en"}
    )
    line = expected_line(ROWS["empty"], "en", setup, tmp_path)
    assert plain.exit_code == debug.exit_code == 3
    assert plain.stderr.splitlines() == [line]
    assert "Traceback (most recent call last)" in debug.stderr
    assert "workbook/safety.py" in debug.stderr
    assert debug.stderr.splitlines()[-1] == line


# --- The error model behind the table -----------------------------------------------------------


def test_every_refusal_is_an_opsbook_error_with_a_catalogued_message(tmp_path: Path) -> None:
    """Through the API too, each refused input raises the documented error class, whose message
    exists in both locales as a single line naming the file."""
    from workbook.i18n import catalog

    for case, row in ROWS.items():
        exit_code = row.exits["check"]
        if exit_code is None or exit_code < 2:
            continue
        folder = tmp_path / case
        folder.mkdir()
        setup = CASES[case](folder)
        if setup.unprivileged or setup.env:
            continue  # these need their own process: the CLI test above runs them
        with pytest.raises(OpsbookError) as caught:
            read_workbook(setup.input)
        assert int(caught.value.exit_code) == exit_code, case
        assert f"errors.{caught.value.key}" in catalog("en").entries, case
        for lang in LANGS:
            text = caught.value.message(lang)
            assert "\n" not in text and str(setup.input) in text, (case, lang)
