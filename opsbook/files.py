"""Safe file output: write beside the target, then rename, so no half-written file is ever seen.

On Linux the bytes go to an unnamed file in the target folder (O_TMPFILE): if the process is
killed mid-write, the kernel discards it and nothing is left behind. The finished file is then
given its name in one step: linked to the target when it must not be overwritten (which fails,
atomically, if a file appeared there meanwhile), or linked to a hidden temporary name and
renamed over the target with --force. Elsewhere (other systems, network shares without
O_TMPFILE) a named hidden temporary file `.NAME.XXXX.tmp` is written, then renamed; any error
removes it, but a hard kill can leave it behind. Either way the target is either the previous
file or the complete new one, never a partial file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path

from workbook.errors import OutputError

_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
#: Write in steps of this size, so a huge document does not need one giant system call.
WRITE_STEP = 1024 * 1024

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
# O_TMPFILE is not supported by this file system or kernel: fall back to a named temporary file.
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def safe_filename(*parts: str) -> str:
    """A file name from free text (store, period): no path separators or reserved characters."""
    words = [_UNSAFE_CHARS.sub("_", p).strip(" ._") for p in parts if p and p.strip()]
    return "_".join(w.replace(" ", "_") for w in words if w)


def check_output(path: Path, *, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output that would overwrite an input, an existing file (without force), or
    that sits in a missing folder."""
    for source in inputs:
        with contextlib.suppress(OSError):
            if path.exists() and source.exists() and path.samefile(source):
                raise OutputError("output.is_input", path=path)
        if path.resolve() == source.resolve():
            raise OutputError("output.is_input", path=path)
    if path.is_dir():
        raise OutputError("output.is_dir", path=path)
    if path.exists() and not force:
        raise OutputError("output.exists", path=path)
    if not path.parent.is_dir():
        raise OutputError("output.dir_missing", path=path, folder=path.parent)


def _output_error(exc: OSError, path: Path) -> OutputError:
    if exc.errno in _DISK_FULL:
        return OutputError("write.disk_full", path=path)
    if exc.errno in _NO_PERMISSION:
        if _held_elsewhere(path):
            return OutputError("team.output_held", path=path)
        return OutputError("write.no_permission", path=path, folder=path.parent)
    if exc.errno == errno.EEXIST:
        return OutputError("output.exists", path=path)
    return OutputError("output.not_writable", path=path, reason=exc.strerror or exc)


def _held_elsewhere(path: Path) -> bool:
    """Whether a refused write is about the file, not its folder: the file exists in a folder
    we may write to (on Windows, a file open in Word or WPS cannot be replaced), or an office
    suite's lock file sits beside it."""
    if any(path.with_name(n).is_file() for n in (f"~${path.name}", f".~lock.{path.name}#")):
        return True
    return path.is_file() and os.access(path.parent, os.W_OK)


def _tmpfile_supported() -> bool:
    """O_TMPFILE exists here, and /proc can name the unnamed file afterwards."""
    return (
        hasattr(os, "O_TMPFILE")
        and os.link in os.supports_dir_fd
        and os.link in os.supports_follow_symlinks
        and os.path.isdir("/proc/self/fd")
    )


def _open_unnamed(folder: Path) -> int | None:
    """An unnamed file in folder (mode 0666 less the umask), or None where unsupported."""
    if not _tmpfile_supported():
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise


def _open_named(folder: Path, name: str) -> tuple[int, Path]:
    """A hidden temporary file beside the target, with the permissions a new file would get
    (mkstemp makes it private, 0600)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp_name, 0o666 & ~umask)
    return fd, Path(tmp_name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:WRITE_STEP])
        view = view[written:]


def _link(source: str | Path, target: Path, *, follow: bool) -> None:
    """A hard link; follow=True names an O_TMPFILE through /proc/self/fd/N. os.link calls
    link(2), which does not follow that symlink, unless a folder descriptor is given: then it
    calls linkat(2) with AT_SYMLINK_FOLLOW."""
    if not follow:
        os.link(source, target, follow_symlinks=False)
        return
    folder_fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(source, target.name, dst_dir_fd=folder_fd, follow_symlinks=True)
    finally:
        os.close(folder_fd)


def _link_or_replace(source: str | Path, path: Path, *, force: bool, follow: bool) -> None:
    """Give the finished file its name: a hard link that fails if the target exists, or (with
    force) a hidden link renamed over the target."""
    if not force:
        _link(source, path, follow=follow)
        return
    hidden = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    _link(source, hidden, follow=follow)
    try:
        os.replace(hidden, path)
    except OSError:
        with contextlib.suppress(OSError):
            hidden.unlink()
        raise


def _sync_folder(folder: Path) -> None:
    """Make the new name durable (best effort: not every system can fsync a folder)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes, *, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Write data to path atomically.

    If anything fails (disk full, permissions, a kill), the previous file at path is intact and
    no partial file is left behind; without force an existing file is never replaced, even one
    that appears while writing.
    """
    check_output(path, force=force, inputs=inputs)
    folder = path.parent
    tmp: Path | None = None
    try:
        fd = _open_unnamed(folder)
        if fd is None:
            fd, tmp = _open_named(folder, path.name)
    except OSError as exc:
        raise _output_error(exc, path) from exc
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            if tmp is None:
                _link_or_replace(f"/proc/self/fd/{fd}", path, force=force, follow=True)
            elif force:
                os.replace(tmp, path)
            else:
                try:
                    _link_or_replace(tmp, path, force=False, follow=False)
                except OSError as exc:
                    if exc.errno == errno.EEXIST:
                        raise
                    # no hard links on this file system: check, then rename
                    if path.exists():
                        raise OutputError("output.exists", path=path) from exc
                    os.replace(tmp, path)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _output_error(exc, path) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _sync_folder(folder)


def prepare_outdir(outdir: Path) -> None:
    """Create outdir (and its parents) if needed; refuse a file in its place."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError("batch.outdir_not_dir", path=outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError("output.not_writable", path=outdir, reason=exc.strerror or exc) from exc
