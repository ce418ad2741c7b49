"""Real LibreOffice (and poppler) as a reference calculator and renderer.

Used by the tests (through the `libreoffice` fixture in conftest.py) and by
scripts/render_previews.py, so this module must not import pytest.

- Every soffice process gets its own profile directory (`-env:UserInstallation`): a profile is
  locked while soffice runs, and a fresh one keeps whatever the developer configured out of the
  results.
- That profile sets Calc's "recalculate on load" for OOXML files to *always*
  (`OOXMLRecalcMode` = 0). LibreOffice's default is *never*: it would trust the cached results
  of an xlsx file (docs: shared office-notes, "Formula results (the cache)").
- Start-up dominates the cost of a conversion (about 1 s), so `convert` takes many files per
  call, and splits them over `jobs` soffice processes (one profile each) to use several cores.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

__all__ = [
    "RECALC_PROFILE_XCU",
    "LibreOffice",
    "LibreOfficeError",
    "find_soffice",
    "pdf_page_count",
    "pdf_text",
    "pdf_to_png",
    "write_profile",
]

# The only setting the profile needs. LibreOffice adds its own items on the first start.
RECALC_PROFILE_XCU = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

# Where soffice lives when it is not on PATH (macOS app bundle, Windows default install).
_KNOWN_LOCATIONS = (
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)

# Seconds allowed per call (start-up) and per file, unless the caller says otherwise.
TIMEOUT_BASE = 120.0
TIMEOUT_PER_FILE = 15.0


class LibreOfficeError(RuntimeError):
    """soffice or a poppler tool is missing, failed, timed out or produced no output."""


def find_soffice() -> str | None:
    """The soffice executable: $SOFFICE, then PATH (soffice, libreoffice), then known places."""
    configured = os.environ.get("SOFFICE")
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in _KNOWN_LOCATIONS if Path(p).is_file()), None)


def write_profile(root: Path) -> Path:
    """Create a LibreOffice profile directory that recalculates xlsx/ods files on load."""
    user = root / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_PROFILE_XCU, encoding="utf-8")
    return root


def _output_name(source: Path, to: str) -> str:
    # "pdf", "xlsx" or "xlsx:Calc MS Excel 2007 XML": the extension is before the filter name.
    return f"{source.stem}.{to.split(':', 1)[0]}"


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace").strip()


class LibreOffice:
    """Convert files with a real soffice, each process in its own recalculating profile.

    `workdir` holds the profiles (one per job, created on first use); give each test session
    or script run its own, for example a fresh temporary directory. One object runs one
    conversion at a time: do not call `convert` on it from several threads.
    """

    def __init__(
        self,
        workdir: Path,
        soffice: str | None = None,
        jobs: int | None = None,
    ) -> None:
        found = soffice or find_soffice()
        if found is None:
            raise LibreOfficeError(
                "LibreOffice (soffice) is not installed or not on PATH; set $SOFFICE to its path"
            )
        self.soffice = found
        self.workdir = Path(workdir)
        self.jobs = max(1, jobs if jobs is not None else min(4, os.cpu_count() or 1))
        self._profiles: list[Path] = []

    def profile(self, index: int = 0) -> Path:
        """The profile directory of job `index`, created on first use."""
        while len(self._profiles) <= index:
            path = self.workdir / f"profile-{len(self._profiles)}"
            self._profiles.append(write_profile(path))
        return self._profiles[index]

    def command(self, files: Sequence[Path], to: str, outdir: Path, job: int = 0) -> list[str]:
        return [
            self.soffice,
            f"-env:UserInstallation={self.profile(job).resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            *(str(f) for f in files),
        ]

    def version(self) -> str:
        """`soffice --version`, e.g. "LibreOffice 7.4.7.2 40(Build:2)"."""
        done = subprocess.run(
            [
                self.soffice,
                f"-env:UserInstallation={self.profile().resolve().as_uri()}",
                "--version",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_BASE,
            check=False,
        )
        return done.stdout.strip()

    def convert(
        self,
        files: Sequence[Path],
        to: str,
        outdir: Path,
        timeout: float | None = None,
    ) -> list[Path]:
        """Convert every file to format `to` ("pdf", "xlsx", "png", "docx", or "ext:Filter").

        Returns the output paths in the order of `files`. One soffice call per job converts all
        of that job's files. Raises LibreOfficeError, with soffice's output, when soffice fails,
        times out, or leaves an output missing.
        """
        sources = [Path(f).resolve() for f in files]
        if not sources:
            return []
        outdir = Path(outdir).resolve()
        outdir.mkdir(parents=True, exist_ok=True)
        missing = [str(s) for s in sources if not s.is_file()]
        if missing:
            raise LibreOfficeError(f"cannot convert missing files: {', '.join(missing)}")
        outputs = [outdir / _output_name(s, to) for s in sources]
        if len(set(outputs)) != len(outputs):
            raise LibreOfficeError("two inputs would give the same output name; rename them")
        clobbered = [str(s) for s, o in zip(sources, outputs, strict=True) if s == o]
        if clobbered:
            raise LibreOfficeError(f"output would overwrite its input: {', '.join(clobbered)}")
        for out in outputs:
            out.unlink(missing_ok=True)  # a stale output must not pass for a fresh one
        limit = timeout if timeout is not None else TIMEOUT_BASE + TIMEOUT_PER_FILE * len(sources)

        jobs = min(self.jobs, len(sources))
        # Contiguous chunks of nearly equal size, one per soffice process.
        size, extra = divmod(len(sources), jobs)
        chunks: list[list[Path]] = []
        start = 0
        for job in range(jobs):
            end = start + size + (1 if job < extra else 0)
            chunks.append(sources[start:end])
            start = end
        report = self._run(
            [self.command(chunk, to, outdir, job) for job, chunk in enumerate(chunks)], limit
        )

        absent = [o for o in outputs if not o.is_file() or o.stat().st_size == 0]
        if absent:
            raise LibreOfficeError(
                f"soffice produced no {to} for: {', '.join(p.name for p in absent)}\n{report}"
            )
        return outputs

    def _run(self, commands: list[list[str]], timeout: float) -> str:
        """Run the commands concurrently and return their output; raise on a non-zero exit or
        when time runs out."""
        with contextlib.ExitStack() as stack:
            procs: list[tuple[list[str], subprocess.Popen[bytes], IO[bytes], IO[bytes]]] = []
            for cmd in commands:
                out = stack.enter_context(tempfile.TemporaryFile())
                err = stack.enter_context(tempfile.TemporaryFile())
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    # its own process group: on a timeout we end soffice.bin too, not only the
                    # shell script that started it
                    start_new_session=True,
                )
                procs.append((cmd, proc, out, err))
            deadline = time.monotonic() + timeout
            timed_out: list[list[str]] = []
            for cmd, proc, _, _ in procs:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out.append(cmd)
                    _kill_group(proc)
            report = "\n".join(
                f"$ {' '.join(cmd)}\n(exit {proc.returncode})\nstdout: {_read(out)}\n"
                f"stderr: {_read(err)}"
                for cmd, proc, out, err in procs
            )
            if timed_out:
                raise LibreOfficeError(f"soffice did not finish within {timeout:g} s\n{report}")
            if any(proc.returncode != 0 for _, proc, _, _ in procs):
                raise LibreOfficeError(f"soffice failed\n{report}")
            return report


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# -- poppler ---------------------------------------------------------------------------------


def _poppler(args: list[str], timeout: float = 120.0) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise LibreOfficeError(f"{args[0]} is not installed (Debian/Ubuntu: poppler-utils)")
    try:
        done = subprocess.run([tool, *args[1:]], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LibreOfficeError(f"{args[0]} did not finish within {timeout:g} s") from exc
    if done.returncode != 0:
        raise LibreOfficeError(
            f"{' '.join(args)} failed (exit {done.returncode}): "
            f"{done.stderr.decode('utf-8', errors='replace').strip()}"
        )
    return done.stdout.decode("utf-8", errors="replace")


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    """The text of a PDF (or of pages first..last), as pdftotext extracts it."""
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return _poppler(["pdftotext", "-enc", "UTF-8", *pages, str(pdf), "-"])


def pdf_page_count(pdf: Path) -> int:
    for line in _poppler(["pdfinfo", str(pdf)]).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Pages":
            return int(value)
    raise LibreOfficeError(f"pdfinfo found no page count in {pdf}")


def pdf_to_png(pdf: Path, page: int, target: Path, dpi: int = 80) -> Path:
    """Render one page of a PDF to `target` (a .png path)."""
    if target.suffix != ".png":
        raise ValueError(f"{target} must end in .png")
    prefix = target.with_suffix("")
    pages = ["-f", str(page), "-l", str(page)]
    _poppler(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", *pages, str(pdf), str(prefix)])
    return target
