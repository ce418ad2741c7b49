"""The JSON copies of the package's TOML data: fresh, equal to the TOML, and ignored when stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbook import packagedata
from workbook.tomlcompat import tomllib


def test_the_shipped_copies_are_fresh() -> None:
    stale = [
        str(packagedata.compiled_path(p))
        for p in packagedata.COMPILED
        if not packagedata.compiled_path(p).exists()
        or packagedata.compiled_path(p).read_text(encoding="utf-8") != packagedata.compiled_text(p)
    ]
    assert not stale, f"run `python -m workbook.packagedata` to rewrite {stale}"


@pytest.mark.parametrize("path", packagedata.COMPILED, ids=lambda p: p.name)
def test_a_fresh_copy_holds_the_tomls_data(path: Path) -> None:
    with path.open("rb") as fh:
        expected = tomllib.load(fh)
    assert packagedata.load_toml(path) == expected
    blob = json.loads(packagedata.compiled_path(path).read_text(encoding="utf-8"))
    assert blob["data"] == expected  # the copy itself, not a fallback to the TOML


def _pair(tmp_path: Path, toml_text: str, copy_data: object) -> Path:
    source = tmp_path / "t.toml"
    source.write_text(toml_text, encoding="utf-8")
    packagedata.compiled_path(source).write_text(
        packagedata.compiled_text(source), encoding="utf-8"
    )
    blob = json.loads(packagedata.compiled_path(source).read_text(encoding="utf-8"))
    blob["data"] = copy_data
    packagedata.compiled_path(source).write_text(json.dumps(blob), encoding="utf-8")
    return source


def test_a_matching_copy_is_what_gets_loaded(tmp_path: Path) -> None:
    # Proof that the fast path is taken: the copy's (deliberately different) data comes back.
    source = _pair(tmp_path, 'a = "toml"\n', {"a": "copy"})
    assert packagedata.load_toml(source) == {"a": "copy"}


def test_an_edited_toml_makes_its_copy_stale(tmp_path: Path) -> None:
    source = _pair(tmp_path, 'a = "toml"\n', {"a": "copy"})
    source.write_text('a = "edited"\n', encoding="utf-8")  # same size, other bytes
    assert packagedata.load_toml(source) == {"a": "edited"}


@pytest.mark.parametrize("copy", [b"", b"{not json", b"[]", b'{"data": 1}', b"\xff\xfe"])
def test_a_damaged_or_missing_copy_falls_back_to_the_toml(tmp_path: Path, copy: bytes) -> None:
    source = tmp_path / "t.toml"
    source.write_text("a = 1\n", encoding="utf-8")
    assert packagedata.load_toml(source) == {"a": 1}  # no copy at all
    packagedata.compiled_path(source).write_bytes(copy)
    assert packagedata.load_toml(source) == {"a": 1}


def test_data_json_cannot_carry_gets_no_copy(tmp_path: Path) -> None:
    source = tmp_path / "dates.toml"
    source.write_text("day = 2026-11-24\n", encoding="utf-8")
    with pytest.raises((TypeError, ValueError)):
        packagedata.compiled_text(source)


def test_the_short_commands_never_parse_toml() -> None:
    # Loading the spec and both catalogues takes the JSON copies: tomllib is never imported.
    code = (
        "import sys; from workbook import spec, i18n; spec.load(); i18n.catalog('zh-CN');"
        " i18n.catalog('en'); print('tomllib' in sys.modules or 'tomli' in sys.modules)"
    )
    # This checkout's modules, whatever else is installed.
    env = {**os.environ, "PYTHONPATH": str(packagedata.ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=packagedata.ROOT,
        env=env,
    ).stdout
    assert out.strip() == "False"
