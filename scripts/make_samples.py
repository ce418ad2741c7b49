"""Regenerate samples/ from the current code: `python scripts/make_samples.py`.

Writes what `opsbook demo` writes, in both locales, and the sample's next-period workbook
(`opsbook next samples/sample-zh-CN.xlsx`, as next-zh-CN.xlsx). tests/test_samples.py fails
while samples/ differs from this output. With --previews it also renders the PNG previews shown
in the README (needs LibreOffice and poppler: scripts/render_previews.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opsbook.api import demo
from opsbook.nextperiod import build_next

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PREVIEWS: list[tuple[str, str, list[int]]] = [
    ("sample-zh-CN.xlsx", "workbook-zh-CN", [1, 3, 9]),
    ("sample-zh-CN.docx", "summary-zh-CN", [1, 2, 4]),
    ("sample-en.docx", "summary-en", [1]),
    ("next-zh-CN.xlsx", "next-zh-CN", [1, 9]),  # the cover and the Targets sheet
]


def main() -> int:
    for lang in ("zh-CN", "en"):
        for path in demo(SAMPLES, lang=lang, force=True):
            print(path.relative_to(SAMPLES.parent))
    nxt = SAMPLES / "next-zh-CN.xlsx"
    nxt.write_bytes(build_next(SAMPLES / "sample-zh-CN.xlsx").data)
    print(nxt.relative_to(SAMPLES.parent))
    if "--previews" in sys.argv[1:]:
        for old in SAMPLES.glob("preview-*.png"):
            old.unlink()
        script = Path(__file__).with_name("render_previews.py")
        for source, name, pages in PREVIEWS:
            args = [sys.executable, str(script), str(SAMPLES / source), "--name", name]
            for page in pages:
                args += ["--page", str(page)]
            subprocess.run(args, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
