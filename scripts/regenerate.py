"""Regenerate every derived artefact in one step: `python scripts/regenerate.py [--previews]`.

Run it after changing the spec, a locale catalogue, or anything that changes the workbook or the
summary on purpose (CONTRIBUTING.md says when). In order:

1. the JSON copies of the spec and the catalogues (`python -m workbook.packagedata`);
2. docs/blank-map.md, where each blank of the template lives (`python -m workbook.blankmap`),
   and the reference tables of docs/spec.md, from the schema (`python -m workbook.specschema`);
3. the golden files of tests/golden (the tests that compare against them, with
   OPSBOOK_UPDATE_GOLDEN=1);
4. samples/ (`scripts/make_samples.py`), and with --previews its PNG pages, which need LibreOffice
   and poppler.

Each step is a child process, so it sees the files the step before it wrote. Every artefact has a
test that fails while it is stale, and names this command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tests that write their golden files when OPSBOOK_UPDATE_GOLDEN=1.
GOLDEN_TESTS = [
    "tests/test_golden_xlsx.py",
    "tests/test_docx_writer.py",
    "tests/test_narrative_honesty.py",
]
# Where docs/spec.md's generated reference begins (it runs to the end of the file).
SPEC_REFERENCE_START = "### Top level"


def _run(args: list[str], *, env: dict[str, str] | None = None, stdout: Path | None = None) -> None:
    print("+", " ".join(args), f"> {stdout.relative_to(ROOT)}" if stdout else "", flush=True)
    if stdout is None:
        subprocess.run(args, cwd=ROOT, env=env, check=True)
        return
    result = subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    stdout.write_bytes(result.stdout)


def _spec_reference(python: str) -> None:
    """docs/spec.md ends with the schema's reference tables: rewrite them from the schema."""
    doc = ROOT / "docs" / "spec.md"
    print("+", python, "-m workbook.specschema >", doc.relative_to(ROOT), "(its end)", flush=True)
    tables = subprocess.run(
        [python, "-m", "workbook.specschema"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    text = doc.read_text(encoding="utf-8")
    start = text.index(SPEC_REFERENCE_START)
    doc.write_text(text[:start] + tables, encoding="utf-8")


def main(argv: list[str]) -> int:
    python = sys.executable
    _run([python, "-m", "workbook.packagedata"])
    _run(
        [python, "-m", "workbook.blankmap", "docs/template-zh-CN.md"],
        stdout=ROOT / "docs" / "blank-map.md",
    )
    _spec_reference(python)
    env = dict(os.environ, OPSBOOK_UPDATE_GOLDEN="1")
    _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *GOLDEN_TESTS], env=env)
    samples = [python, "scripts/make_samples.py"]
    if "--previews" in argv:
        samples.append("--previews")
    _run(samples)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
