"""Benchmark (not a test): how fast opsbook starts, renders, batches and rolls up, and how much
memory a batch takes, against the targets of issue 5. Run from the repository root:

    python bench/bench.py [--n 500] [--reps 5] [--markdown docs/benchmark-table.md]

It writes N filled workbooks (the built-in sample, figures varied deterministically), then times
whole processes (the `opsbook` console script, each run several times; the median is shown) and
in-process calls, and the floor: a bare script that only loads the same workbook with openpyxl
and saves an empty document with python-docx. Peak memory is that of the whole process tree
(the command and its workers), sampled from /proc every 20 ms: the sum of resident set sizes
(RSS, which counts pages shared between forked workers once per process, so it overstates) and
the sum of proportional set sizes (PSS, shared pages split between their sharers).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 1024 * 1024

FLOOR_SCRIPT = """
import sys
import openpyxl, docx
openpyxl.load_workbook(sys.argv[1])
docx.Document().save(sys.argv[2])
"""


# ----------------------------------------------------------------------------------------------
# Inputs


def vary(values: dict[str, Any], i: int) -> dict[str, Any]:
    """Person i's figures: the sample's, scaled by a factor between 0.6 and 1.4 that depends
    only on i; whole numbers stay whole, rates stay rates."""
    factor = 0.6 + (i * 37 % 81) / 100
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, float) and value < 1:  # a rate or share: keep it
            continue
        if key in ("period_days", "high_value_threshold"):
            continue
        out[key] = round(value * factor) if isinstance(value, int) else round(value * factor, 2)
    out["author"] = f"成员{i:04d}"
    out["store_name"] = f"山岚家居{i % 25 + 1:02d}号店"
    return out


def make_inputs(folder: Path, n: int) -> list[Path]:
    from generator.xlsx_writer import build_workbook
    from opsbook.sample import sample_values
    from workbook.spec import load

    spec = load()
    base = sample_values("zh-CN")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"member-{i:04d}.xlsx"
        path.write_bytes(build_workbook(spec, "zh-CN", vary(base, i)))
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------------
# Memory of a process tree


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ")"
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(root: int) -> list[int]:
    children = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


@dataclass
class TreeSampler:
    """Peak RSS and PSS sums of a process and its descendants, sampled in a thread."""

    root: int
    interval: float = 0.02
    peak_rss: int = 0
    peak_pss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.root)
            self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in pids))
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


# ----------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Row:
    name: str
    times: list[float]
    how: str  # "process" or "in-process"
    cpu: list[float] = field(default_factory=list)  # user + system seconds, workers included
    peak_rss: int = 0
    peak_pss: int = 0
    target: str = ""
    ok: bool | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(
    argv: Sequence[str], cwd: Path, *, memory: bool = False
) -> tuple[float, float, int, int]:
    """Wall time and CPU time of one whole process and the workers it waited for (and its
    tree's peak RSS and PSS sums when asked)."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid).start() if memory else None
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if sampler is not None:
        sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()[-500:]}")
    if sampler is None:
        return elapsed, cpu, 0, 0
    return elapsed, cpu, sampler.peak_rss, sampler.peak_pss


def measure(
    name: str,
    argv: Sequence[str],
    cwd: Path,
    reps: int,
    *,
    memory: bool = False,
    before: Callable[[], None] | None = None,
) -> Row:
    row = Row(name, [], "process")
    for _ in range(reps):
        if before is not None:
            before()
        elapsed, cpu, rss, pss = run_process(argv, cwd, memory=memory)
        row.times.append(elapsed)
        row.cpu.append(cpu)
        row.peak_rss, row.peak_pss = max(row.peak_rss, rss), max(row.peak_pss, pss)
    print(f"  {name}: {row.median:.3f} s ({row.median_cpu:.3f} s CPU)", file=sys.stderr)
    return row


def measure_pair(
    first: tuple[str, Sequence[str]], second: tuple[str, Sequence[str]], cwd: Path, reps: int
) -> tuple[Row, Row]:
    """Two commands run alternately (first, second, first, ...), so that a change in the
    machine's load while they run weighs on both alike: their ratio is what matters."""
    rows = (Row(first[0], [], "process"), Row(second[0], [], "process"))
    for _ in range(reps):
        for row, (_, argv) in zip(rows, (first, second), strict=True):
            elapsed, cpu, _, _ = run_process(argv, cwd)
            row.times.append(elapsed)
            row.cpu.append(cpu)
    for row in rows:
        print(f"  {row.name}: {row.median:.3f} s ({row.median_cpu:.3f} s CPU)", file=sys.stderr)
    return rows


def measure_pair_here(
    first: tuple[str, Callable[[], object]], second: tuple[str, Callable[[], object]], reps: int
) -> tuple[Row, Row]:
    """measure_here for two calls, alternately, after a warm-up of each."""
    rows = (Row(first[0], [], "in-process"), Row(second[0], [], "in-process"))
    first[1]()
    second[1]()
    for _ in range(reps):
        for row, (_, func) in zip(rows, (first, second), strict=True):
            cpu = time.process_time()
            start = time.perf_counter()
            func()
            row.times.append(time.perf_counter() - start)
            row.cpu.append(time.process_time() - cpu)
    for row in rows:
        print(f"  {row.name} (in-process): {row.median:.3f} s", file=sys.stderr)
    return rows


def measure_here(name: str, func: Callable[[], object], reps: int) -> Row:
    func()  # warm up: imports and caches, as a long-running script would have them
    row = Row(name, [], "in-process")
    for _ in range(reps):
        cpu = time.process_time()
        start = time.perf_counter()
        func()
        row.times.append(time.perf_counter() - start)
        row.cpu.append(time.process_time() - cpu)
    print(f"  {name} (in-process): {row.median:.3f} s", file=sys.stderr)
    return row


def opsbook_command() -> list[str]:
    """The console script next to this interpreter (a pyenv or asdf shim would add its own
    start-up time), else the one on PATH."""
    beside = Path(sys.executable).parent / "opsbook"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("opsbook")
    if found is None:
        raise SystemExit("opsbook is not installed: pip install -e .")
    return [found]


def batch_command(opsbook: list[str], folder: Path, outdir: Path, jobs: int) -> list[str]:
    """`opsbook render FOLDER --outdir --jobs` once render takes many paths; until then the same
    code path through the command line's batch helper."""
    probe = subprocess.run([*opsbook, "render", "--help"], capture_output=True, text=True)
    if "--jobs" in probe.stdout:
        return [
            *opsbook,
            "render",
            str(folder),
            "--outdir",
            str(outdir),
            "--jobs",
            str(jobs),
            "--force",
        ]
    code = (
        "import sys; from pathlib import Path; from opsbook.cli.batch import render_batch; "
        f"sys.exit(render_batch((Path({str(folder)!r}),), Path({str(outdir)!r}), {jobs}, "
        "None, 'omit', True))"
    )
    return [sys.executable, "-c", code]


# ----------------------------------------------------------------------------------------------
# Report


SPIN_SCRIPT = """
import time
start = time.perf_counter()
x = 0
for i in range(15_000_000):
    x += i
print(time.perf_counter() - start)
"""


def spin(processes: int) -> float:
    """Seconds the slowest of `processes` concurrent pure-Python loops takes."""
    procs = [
        subprocess.Popen([sys.executable, "-c", SPIN_SCRIPT], stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    return max(float(p.communicate()[0]) for p in procs)


def parallel_capacity() -> float:
    """How many CPUs two processes really get right now: 2.0 on an idle machine with two real
    cores; less when other work or shared (SMT) cores take a share. Medians of three runs."""
    one = statistics.median(spin(1) for _ in range(3))
    two = statistics.median(spin(2) for _ in range(3))
    return 2 * one / two


def machine() -> list[tuple[str, str]]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next(
                (line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), ""
            )
    except OSError:
        pass
    versions = []
    for dist in ("openpyxl", "python-docx", "XlsxWriter", "lxml", "click", "defusedxml"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    return [
        ("CPUs (os.cpu_count)", str(os.cpu_count())),
        ("CPU model", model or platform.processor() or "unknown"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Libraries", ", ".join(versions)),
    ]


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def table(rows: list[Row]) -> list[list[str]]:
    out = [
        [
            "measurement",
            "how",
            "median s",
            "CPU s",
            "runs",
            "peak RSS MB",
            "peak PSS MB",
            "target",
            "",
        ]
    ]
    for r in rows:
        out.append(
            [
                r.name,
                r.how,
                f"{r.median:.3f}",
                f"{r.median_cpu:.3f}",
                str(len(r.times)),
                f"{r.peak_rss / MB:.0f}" if r.peak_rss else "",
                f"{r.peak_pss / MB:.0f}" if r.peak_pss else "",
                r.target,
                verdict(r.ok),
            ]
        )
    return out


def plain(cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def markdown(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="workbooks in the batch (500)")
    parser.add_argument("--reps", type=int, default=5, help="runs of each short measurement (5)")
    parser.add_argument("--batch-reps", type=int, default=1, help="runs of each batch (1)")
    parser.add_argument("--markdown", type=Path, help="also write the results as Markdown here")
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)

    cpus = os.cpu_count() or 1
    opsbook = opsbook_command()
    load_before = os.getloadavg()[0]
    capacity_before = parallel_capacity()
    print(f"parallel capacity of 2 processes: {capacity_before:.2f} CPUs", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="opsbook-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        inputs = work / "inputs"
        print(f"writing {args.n} workbooks into {inputs} ...", file=sys.stderr)
        paths = make_inputs(inputs, args.n)
        one = paths[0]
        rows: list[Row] = []
        reps = args.reps

        print("whole processes:", file=sys.stderr)
        rows.append(
            measure(
                "python -c pass (interpreter start)", [sys.executable, "-c", "pass"], work, reps
            )
        )
        rows.append(
            measure(
                "python -c 'import opsbook.api' (imports)",
                [sys.executable, "-c", "import opsbook.api"],
                work,
                reps,
            )
        )
        try:
            metadata.version("numpy")
            rows.append(
                measure(
                    "python -c 'import numpy' (openpyxl imports it when it is installed)",
                    [sys.executable, "-c", "import numpy"],
                    work,
                    reps,
                )
            )
        except metadata.PackageNotFoundError:
            pass
        help_row = measure("opsbook --help", [*opsbook, "--help"], work, reps)
        help_row.target, help_row.ok = "< 0.2 s", help_row.median < 0.2
        rows.append(help_row)
        rows.append(measure("opsbook new", [*opsbook, "new", "new.xlsx", "--force"], work, reps))
        render_argv = [*opsbook, "render", str(one), "-o", "one.docx", "--force"]
        render_row, floor_row = measure_pair(
            ("opsbook render one.xlsx", render_argv),
            (
                "floor: openpyxl load + empty python-docx save",
                [sys.executable, "-c", FLOOR_SCRIPT, str(one), "floor.docx"],
            ),
            work,
            reps,
        )
        # Peak memory from one more run: the sampler's thread is kept out of the timed runs.
        _, _, render_row.peak_rss, render_row.peak_pss = run_process(render_argv, work, memory=True)
        render_row.target, render_row.ok = "< 0.6 s", render_row.median < 0.6
        rows += [render_row, floor_row]

        batch: dict[int, Row] = {}
        for jobs in sorted({1, 2, cpus}):
            outdir = work / f"out-{jobs}"

            def clear(outdir: Path = outdir) -> None:
                shutil.rmtree(outdir, ignore_errors=True)

            row = measure(
                f"batch of {args.n}, {jobs} worker{'s' if jobs > 1 else ''}",
                batch_command(opsbook, inputs, outdir, jobs),
                work,
                args.batch_reps,
                memory=True,
                before=clear,
            )
            row.target, row.ok = "peak < 250 MB", row.peak_rss < 250 * MB
            if jobs == 2:
                row.target += f"; {args.n * 40 / 500:.0f} s"
                row.ok = row.ok and row.median < 40 * args.n / 500
            batch[jobs] = row
            rows.append(row)
        rollup_row = measure(
            f"opsbook rollup of {args.n} -o team.xlsx",
            [*opsbook, "rollup", str(inputs), "-o", "team.xlsx", "--force"],
            work,
            args.batch_reps,
            memory=True,
        )
        rollup_row.target, rollup_row.ok = "peak < 250 MB", rollup_row.peak_rss < 250 * MB
        rows.append(rollup_row)

        print("in-process:", file=sys.stderr)
        # openpyxl warns that it drops the cover's data-bar extension; the reader silences it too
        warnings.simplefilter("ignore")
        import docx
        import openpyxl

        from opsbook.api import render
        from workbook.reader import read_workbook

        def floor() -> None:
            openpyxl.load_workbook(one)
            docx.Document().save(str(work / "floor.docx"))

        here_render, here_floor = measure_pair_here(
            ("render one.xlsx", lambda: render(one, work / "one.docx", force=True)),
            ("floor: openpyxl load + empty docx save", floor),
            reps,
        )
        here_read = measure_here(
            "read_workbook (the reader alone)", lambda: read_workbook(one), reps
        )
        from generator.docx_writer import build_summary
        from workbook.spec import load

        spec, report = load(), read_workbook(one)
        here_load = measure_here(
            "openpyxl load (what the reader starts with)", lambda: openpyxl.load_workbook(one), reps
        )
        here_docx = measure_here(
            "build_summary (the Word writer alone)",
            lambda: build_summary(spec, report, lang=report.lang),
            reps,
        )
        rows += [here_render, here_floor, here_load, here_read, here_docx]

    ratios = [
        ("render / floor, whole process", render_row.median / floor_row.median, "<= 1.5"),
        ("render / floor, in-process", here_render.median / here_floor.median, "<= 1.5"),
    ]
    if 2 in batch:
        ratios.append(("batch: 1 worker / 2 workers", batch[1].median / batch[2].median, ">= 1.7"))
    cells = table(rows)
    print()
    print(plain(cells))
    print()
    for name, value, target in ratios:
        met = value <= 1.5 if target.startswith("<=") else value >= 1.7
        print(f"{name}: {value:.2f} (target {target}: {verdict(met)})")
    capacity_after = parallel_capacity()
    info = [
        *machine(),
        (
            "Load while running",
            f"1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
            f"two CPU-bound processes got {capacity_before:.2f} CPUs before and "
            f"{capacity_after:.2f} after (2.00 = two idle cores)",
        ),
    ]
    for key, text in info:
        print(f"{key}: {text}")
    if args.markdown is not None:
        command = "python bench/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
        doc = [
            f"Command: `{command.strip()}`",
            "",
            *(f"- {k}: {v}" for k, v in info),
            "",
            markdown(cells),
            "",
            "| ratio | value | target | |",
            "|---|---|---|---|",
        ]
        for name, value, target in ratios:
            met = value <= 1.5 if target.startswith("<=") else value >= 1.7
            doc.append(f"| {name} | {value:.2f} | {target} | {verdict(met)} |")
        args.markdown.write_text("\n".join(doc) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
