"""Rendering from several threads at once (a server's case) gives the documents a sequential
render gives, byte for byte: no shared mutable state in the writers leaks between renders."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator.xlsx_writer import build_workbook
from opsbook.api import render_bytes
from opsbook.sample import sample_values
from workbook import spec as spec_mod

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8

Job = tuple[bytes, str, str | None]


def _scaled(value: object) -> object:
    return value * 1.37 if isinstance(value, int | float) and not isinstance(value, bool) else value


def _jobs() -> list[Job]:
    """The two samples, a sample with every other figure left out, one with other figures,
    and a blank workbook summarized in the other language."""
    spec = spec_mod.load()
    half = dict(list(sample_values("zh-CN").items())[::2])
    other = {
        key: value * 1.37
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for key, value in sample_values("en").items()
    }
    return [
        ((ROOT / "samples" / "sample-zh-CN.xlsx").read_bytes(), "sample-zh-CN.xlsx", None),
        ((ROOT / "samples" / "sample-en.xlsx").read_bytes(), "sample-en.xlsx", None),
        (build_workbook(spec, "zh-CN", half), "half.xlsx", None),
        (build_workbook(spec, "en", other), "other.xlsx", "en"),
        ((ROOT / "samples" / "blank-zh-CN.xlsx").read_bytes(), "blank.xlsx", "en"),
    ]


def _render(job: Job) -> str:
    data, name, lang = job
    document, _ = render_bytes(data, name, lang=lang)
    return hashlib.sha256(document).hexdigest()


def concurrent_then_sequential() -> tuple[list[str], list[str]]:
    """Each job three times from 8 threads released together (first, while the writers'
    caches are cold in a fresh process), then each job once in this thread."""
    jobs = _jobs() * 3
    start = threading.Barrier(THREADS)

    def run(index: int) -> str:
        if index < THREADS:  # the first eight start at the same moment
            start.wait(timeout=60)
        return _render(jobs[index])

    with ThreadPoolExecutor(THREADS) as pool:
        together = list(pool.map(run, range(len(jobs))))
    alone = [_render(job) for job in jobs]
    return together, alone


def test_renders_from_eight_threads_are_byte_identical_to_sequential_ones() -> None:
    together, alone = concurrent_then_sequential()
    assert len(set(alone)) == 5  # five different documents
    assert together == alone


def test_the_first_renders_of_a_fresh_process_in_eight_threads_agree() -> None:
    """In a new process the Word templates are not made yet: threads race to make them."""
    code = (
        "from tests.test_threads import concurrent_then_sequential as c\n"
        "together, alone = c()\n"
        "assert together == alone, (together, alone)\n"
        "print(len(set(alone)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "5"


def _read(barrier: threading.Barrier, data: bytes) -> None:
    from opsbook.api import check

    barrier.wait()
    check(data, name="sample-zh-CN.xlsx")


def _blank_values(barrier: threading.Barrier, spec: spec_mod.Spec) -> None:
    from generator.xlsx_writer import static_values

    barrier.wait()
    static_values(spec, "zh-CN")


def test_reading_in_threads_beside_the_writer_leaves_the_warning_filters_as_they_were() -> None:
    """catch_warnings swaps the process's filter list: the reader's openpyxl load and the
    writer's blank-workbook values, in threads at once, once left "ignore every warning" behind
    for good (3 runs in 9). Both now take turns through workbook.safety.quiet_openpyxl."""
    import warnings

    from workbook.spec import from_dict
    from workbook.tomlcompat import tomllib

    data = (ROOT / "samples" / "sample-zh-CN.xlsx").read_bytes()
    raw = tomllib.loads(
        (ROOT / "workbook" / "templates" / "ecommerce-ops-summary.toml").read_text("utf-8")
    )
    before = list(warnings.filters)
    for _ in range(4):
        spec = from_dict(raw, "ecommerce-ops-summary.toml")  # a new spec: static values anew
        barrier = threading.Barrier(4)

        threads = [threading.Thread(target=_read, args=(barrier, data)) for _ in range(3)]
        threads.append(threading.Thread(target=_blank_values, args=(barrier, spec)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert list(warnings.filters) == before
