"""Instructions per conversion (not a test): what one upload's conversion costs, counted by
valgrind's callgrind rather than timed, so the figure repeats on a machine shared with other
work (seconds there move by 20-50% between runs; instruction counts by well under 1%).

The conversion is what a server worker runs for one upload (`opsbook.serve.convert.
convert_job`: read, check and render a workbook's bytes). Each tree is counted twice, after one
warm-up conversion and after 1 + N, and the difference divided by N: start-up and imports
cancel out. With --against REV the same is counted for a git revision (checked out into a
temporary worktree and imported from there), for a before/after. Needs valgrind (Debian's
`valgrind`); run from the repository root with opsbook installed:

    python bench/instructions.py [--n 4] [--against REV] [--workbook FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVER = """
import sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from opsbook.serve import convert
data = Path(sys.argv[1]).read_bytes()
for _ in range(1 + int(sys.argv[2])):
    convert.convert_job(data, "bench.xlsx")
"""


def count(tree: Path, workbook: Path, n: int, workdir: Path) -> int:
    """Instructions of the driver after 1 + n conversions, importing opsbook from tree."""
    out = workdir / f"callgrind-{tree.name}-{n}.out"
    driver = workdir / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         sys.executable, str(driver), str(workbook), str(n)],
        check=True, env=env, cwd=workdir, capture_output=True,
    )  # fmt: skip
    match = re.search(r"^summary: (\d+)", out.read_text(encoding="utf-8"), re.M)
    if match is None:
        raise SystemExit(f"no summary line in {out}")
    return int(match[1])


def per_conversion(tree: Path, workbook: Path, n: int, workdir: Path) -> float:
    return (count(tree, workbook, n, workdir) - count(tree, workbook, 0, workdir)) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4, help="conversions counted (4)")
    parser.add_argument("--against", help="a git revision to count too, for a before/after")
    parser.add_argument(
        "--workbook", type=Path, default=ROOT / "samples" / "sample-zh-CN.xlsx",
        help="the workbook converted (the built-in zh-CN sample)",
    )  # fmt: skip
    args = parser.parse_args()
    workbook = args.workbook.resolve()
    with tempfile.TemporaryDirectory(prefix="opsbook-instr-") as tmp:
        workdir = Path(tmp)
        rows = [("this tree", per_conversion(ROOT, workbook, args.n, workdir))]
        if args.against:
            other = workdir / "against"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), args.against],
                check=True, capture_output=True,
            )  # fmt: skip
            try:
                rows.append((args.against, per_conversion(other, workbook, args.n, workdir)))
            finally:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                    check=False, capture_output=True,
                )  # fmt: skip
    print(f"instructions per conversion of {workbook.name} (callgrind, {args.n} conversions):")
    for name, value in rows:
        print(f"- {name}: {value / 1e6:.1f} M")
    if len(rows) == 2:
        print(f"- change: {rows[0][1] / rows[1][1] - 1:+.1%}")


if __name__ == "__main__":
    main()
