"""The package's TOML data (template spec, locale catalogues), read fast.

The TOML files are the source and the only files anyone edits. Beside each one sits a JSON copy
(``<name>.compiled.json``) holding the same data and the CRC-32 and size of the TOML it was made
from. Parsing the spec's TOML takes ~14 ms, a sizeable part of a one-workbook ``render``; the
JSON copy loads in ~2 ms. A copy that does not match its TOML byte for byte (someone edited the
TOML and did not rewrite the copies) is ignored and the TOML is parsed: a stale copy costs
speed, never correctness. ``python -m workbook.packagedata`` rewrites the copies; a test keeps
them fresh.

Files are found beside this module rather than through importlib.resources, which costs ~5 ms
of imports; opsbook is always installed as plain files.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent  # not resolved: a linked install keeps its own layout
# The TOML files that get a compiled copy: every one the short commands read.
COMPILED = (
    ROOT / "workbook" / "templates" / "ecommerce-ops-summary.toml",
    ROOT / "workbook" / "locales" / "zh-CN.toml",
    ROOT / "workbook" / "locales" / "en.toml",
)
_GENERATED = "generated from {name} by `python -m workbook.packagedata`; edit the TOML, not this"


def package_file(package: str, *parts: str) -> Path:
    """A data file inside one of opsbook's packages (workbook, generator, opsbook)."""
    return ROOT.joinpath(package, *parts)


def compiled_path(toml_path: Path) -> Path:
    return toml_path.with_name(f"{toml_path.stem}.compiled.json")


def _stamp(raw: bytes) -> dict[str, int]:
    return {"source_crc32": zlib.crc32(raw), "source_size": len(raw)}


def load_toml(path: Path) -> dict[str, Any]:
    """The TOML file's data, from its compiled copy when that copy matches the file."""
    raw = path.read_bytes()
    try:
        blob = json.loads(compiled_path(path).read_bytes())
    except (OSError, ValueError):
        blob = None
    if isinstance(blob, dict) and all(blob.get(k) == v for k, v in _stamp(raw).items()):
        data = blob.get("data")
        if isinstance(data, dict):
            return data
    return parse_toml(raw)


def parse_toml(raw: bytes) -> dict[str, Any]:
    """TOML bytes -> data. tomllib is imported here only: ~2 ms that the JSON path skips."""
    from workbook.tomlcompat import tomllib

    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    return data


def compiled_text(path: Path) -> str:
    """The compiled copy's text for one TOML file (refuses data JSON cannot carry exactly)."""
    raw = path.read_bytes()
    data = parse_toml(raw)
    if json.loads(json.dumps(data, ensure_ascii=False)) != data:
        raise ValueError(f"{path}: holds values JSON cannot represent exactly (dates, NaN)")
    blob = {"generated": _GENERATED.format(name=path.name), **_stamp(raw), "data": data}
    return json.dumps(blob, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite (or with --check, verify) the compiled copies; exit 1 when one is stale."""
    check = "--check" in argv
    stale = 0
    for path in COMPILED:
        target, text = compiled_path(path), compiled_text(path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale += 1
        if check:
            print(f"stale: {target.relative_to(ROOT)}", file=sys.stderr)
        else:
            target.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {target.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":  # pragma: no cover - a developer's command
    raise SystemExit(main(sys.argv[1:]))
