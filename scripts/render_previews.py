"""Render PNG previews of a workbook or document, as LibreOffice prints it.

    python scripts/render_previews.py samples/sample-zh-CN.xlsx --name workbook-zh-CN \\
        --page 1 --find "(一)运营策略执行" --find "KPI 看板"

writes samples/preview-workbook-zh-CN-p1.png, and one PNG for the first page containing each
--find text (its page number in the name; pick text only that sheet has: the cover lists every
section title). Without --page or --find: the first page. Needs
LibreOffice (soffice) and poppler-utils (pdftoppm, pdftotext). LibreOffice runs with a private
profile in a temporary folder that recalculates formulas on load, so the pictures show computed
figures even where a file carries no cached results.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests/lo.py is shared with the test suite
    sys.path.insert(0, str(ROOT))

from tests.lo import (  # noqa: E402
    LibreOffice,
    LibreOfficeError,
    pdf_page_count,
    pdf_text,
    pdf_to_png,
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find_page(pdf: Path, needle: str, pages: int) -> int:
    """The first page whose text contains `needle` (whitespace-insensitive)."""
    wanted = _squash(needle)
    for page in range(1, pages + 1):
        if wanted in _squash(pdf_text(pdf, page, page)):
            return page
    raise LibreOfficeError(f"no page of {pdf.name} contains {needle!r}")


def render(
    source: Path,
    outdir: Path,
    name: str,
    pages: list[int],
    finds: list[str],
    dpi: int,
) -> list[Path]:
    """Print `source` to PDF with LibreOffice and render the chosen pages to PNG files."""
    with tempfile.TemporaryDirectory(prefix="opsbook-previews-") as tmp:
        work = Path(tmp)
        (pdf,) = LibreOffice(work / "lo", jobs=1).convert([source], "pdf", work / "pdf")
        count = pdf_page_count(pdf)
        chosen = [*pages, *(find_page(pdf, text, count) for text in finds)] or [1]
        bad = [p for p in chosen if not 1 <= p <= count]
        if bad:
            raise LibreOfficeError(f"{source.name} has {count} pages; no page {bad[0]}")
        outdir.mkdir(parents=True, exist_ok=True)
        return [
            pdf_to_png(pdf, page, outdir / f"preview-{name}-p{page}.png", dpi)
            for page in dict.fromkeys(chosen)
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render PNG previews with LibreOffice.")
    parser.add_argument("source", type=Path, help="an .xlsx, .docx or anything soffice prints")
    parser.add_argument("--outdir", type=Path, default=ROOT / "samples")
    parser.add_argument("--name", help="file names are preview-NAME-pN.png (default: source stem)")
    parser.add_argument("--page", type=int, action="append", default=[], help="a page number")
    parser.add_argument(
        "--find", action="append", default=[], help="render the first page containing this text"
    )
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    try:
        written = render(
            args.source,
            args.outdir,
            args.name or args.source.stem,
            args.page,
            args.find,
            args.dpi,
        )
    except LibreOfficeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
