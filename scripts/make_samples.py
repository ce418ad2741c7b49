"""Regenerate samples/ from the current code: `python scripts/make_samples.py`.

Writes what `opsbook demo` writes, in both locales. tests/test_samples.py fails while samples/
differs from this output. PNG previews are made separately (scripts/render_previews.py), since
they need LibreOffice.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsbook.api import demo

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main() -> int:
    for lang in ("zh-CN", "en"):
        for path in demo(SAMPLES, lang=lang, force=True):
            print(path.relative_to(SAMPLES.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
