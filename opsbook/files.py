"""Safe file output: write beside the target, then rename, so no half-written file is ever seen."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from workbook.errors import OutputError

_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


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


def write_atomic(path: Path, data: bytes, *, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Write data to path atomically: a temporary file in the same folder, then a rename.

    If anything fails (disk full, permissions, a kill), the previous file at path is intact and
    no temporary file is left behind.
    """
    check_output(path, force=force, inputs=inputs)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError("output.not_writable", path=path, reason=exc.strerror or exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not force and path.exists():
            raise OutputError("output.exists", path=path)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError("output.not_writable", path=path, reason=exc.strerror or exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
