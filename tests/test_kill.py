"""Output under faults: a render killed mid-write (SIGKILL), a full disk, a file appearing while
writing. Afterwards the target is the previous file or nothing, never a partial file, no
temporary file is left, and the input is untouched (opsbook/files.py)."""

from __future__ import annotations

import errno
import hashlib
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook import files
from tests.badfiles import sample_bytes
from workbook.errors import OutputError

# Runs the CLI with os.write or os.fsync stalled on files in the target folder, announcing the
# stall on stdout: half the bytes written ("write"), or all written but not yet named ("fsync").
DRIVER = """
import os, sys, time
stage, folder, argv = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3:]
real_write, real_fsync = os.write, os.fsync

def in_folder(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith(folder + os.sep)
    except OSError:
        return False

def stall():
    sys.stdout.write("STALLED\\n")
    sys.stdout.flush()
    time.sleep(300)

def write(fd, data):
    if not in_folder(fd):
        return real_write(fd, data)
    n = real_write(fd, bytes(data[: max(1, len(data) // 2)]))
    stall()
    return n

def fsync(fd):
    real_fsync(fd)
    if in_folder(fd):
        stall()

if stage == "write":
    os.write = write
else:
    os.fsync = fsync
from opsbook.cli import main
main(argv)
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for_stall(proc: subprocess.Popen[str], timeout: float = 120) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the command never reached the write"
    line = proc.stdout.readline()
    assert line == "STALLED\n", (line, proc.stderr.read() if proc.stderr else "")


def _unnamed_files_work(folder: Path) -> bool:
    """O_TMPFILE works in this folder (Linux; not every file system has it)."""
    if not files._tmpfile_supported():
        return False
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
    except OSError:
        return False
    return True


def _needs_unnamed_files(what: str) -> None:
    message = f"{what} needs O_TMPFILE (Linux, on ext4, xfs, btrfs or tmpfs)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def work_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder where unnamed files work: the test's own, else one in /dev/shm (tmpfs)."""
    if _unnamed_files_work(tmp_path):
        yield tmp_path
        return
    shm = Path("/dev/shm")
    if not (shm.is_dir() and _unnamed_files_work(shm)):
        _needs_unnamed_files("the kill test")
    folder = Path(tempfile.mkdtemp(dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("stage", ["write", "fsync"])
@pytest.mark.parametrize("previous", [True, False], ids=["over-previous", "new-file"])
@pytest.mark.parametrize("command", ["render", "export"])
def test_a_kill_mid_write_leaves_the_previous_file_or_nothing(
    command: str, previous: bool, stage: str, work_dir: Path
) -> None:
    tmp_path = work_dir
    source = tmp_path / "sample.xlsx"
    source.write_bytes(sample_bytes())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("summary.docx" if command == "render" else "values.json")
    if previous:
        target.write_bytes(b"the previous output, complete")
    before_in, before_out = _digest(source), sorted(os.listdir(out_dir))
    previous_digest = _digest(target) if previous else None

    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, stage, str(out_dir),
         command, str(source), "-o", str(target), "--force"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_stall(proc)
        # Mid-write: the bytes so far live in an unnamed file; the folder shows nothing new.
        assert sorted(os.listdir(out_dir)) == before_out
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    assert sorted(os.listdir(out_dir)) == before_out  # no partial output, no temporary file
    if previous_digest is not None:
        assert _digest(target) == previous_digest
    else:
        assert not target.exists()
    assert _digest(source) == before_in
    assert sorted(os.listdir(tmp_path)) == ["out", "sample.xlsx"]


# --- write_atomic under faults, on both paths ---------------------------------------------------


@pytest.fixture(params=["unnamed", "named"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing: an O_TMPFILE (Linux) and the named hidden temporary file."""
    if request.param == "named":
        monkeypatch.setattr(files, "_tmpfile_supported", lambda: False)
    return str(request.param)


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    real_write = os.write
    total = {"n": 0}

    def write(fd: int, data: bytes | memoryview) -> int:
        if total["n"] >= limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data[: limit - total["n"]]))
        total["n"] += n
        return n

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_keeps_the_previous_file(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "summary.docx"
    target.write_bytes(b"previous")
    _full_disk_after(monkeypatch, 1000)
    with pytest.raises(OutputError) as caught:
        files.write_atomic(target, b"x" * 5000, force=True)
    assert caught.value.key == "write.disk_full"
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["summary.docx"]


def test_a_file_that_appears_while_writing_is_not_replaced(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --force, even a file created by someone else mid-write survives."""
    target = tmp_path / "summary.docx"
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if not target.exists():
            target.write_bytes(b"someone else's")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OutputError) as caught:
        files.write_atomic(target, b"mine", force=False)
    assert caught.value.key == "output.exists"
    assert target.read_bytes() == b"someone else's"
    assert os.listdir(tmp_path) == ["summary.docx"]


def test_without_hard_links_the_named_path_still_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_tmpfile_supported", lambda: False)

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "no hard links here")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "new.docx"
    files.write_atomic(target, b"first", force=False)
    assert target.read_bytes() == b"first"
    with pytest.raises(OutputError):
        files.write_atomic(target, b"second", force=False)
    files.write_atomic(target, b"third", force=True)
    assert target.read_bytes() == b"third"
    assert os.listdir(tmp_path) == ["new.docx"]


def test_outputs_get_ordinary_permissions(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not mkstemp's private 0600: colleagues on a shared folder can open the summary."""
    old = os.umask(0o022)
    try:
        target = tmp_path / "summary.docx"
        files.write_atomic(target, b"data", force=False)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        files.write_atomic(target, b"more", force=True)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
    finally:
        os.umask(old)
    assert target.read_bytes() == b"more"
    assert os.listdir(tmp_path) == ["summary.docx"]


def test_large_outputs_are_written_whole(mode: str, tmp_path: Path) -> None:
    data = os.urandom(3 * files.WRITE_STEP + 17)
    target = tmp_path / "big.bin"
    files.write_atomic(target, data, force=False)
    assert target.read_bytes() == data
