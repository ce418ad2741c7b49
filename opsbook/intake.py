"""Intake: the workbooks named by files, folders and .eml mail messages, each once, in a fixed
order, with what is known of where it came from (the origin, the sender, a lock file beside it).

Discovery rules (docs/rollup.md, "Inputs"):
- a file is taken as given; Office lock files (`~$name.xlsx`) are skipped everywhere;
- a folder is searched recursively for `.xlsx` / `.xlsm`, skipping hidden files and folders
  (a leading dot: editors' temporary files, `.git`, macOS `._` copies) and lock files;
- an `.eml` file contributes each `.xlsx` / `.xlsm` attachment, saved into a work folder as
  `<sender>_<attachment>` (other attachments are ignored); its summary goes beside the `.eml`.
Inputs are processed in a fixed order (as given; in a folder, its own files by name, then its
subfolders by name), so output names are deterministic.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from opsbook.files import safe_filename
from opsbook.mail import workbook_parts
from opsbook.messages import Message
from opsbook.screening import is_lock_name, locked_by, workbook_of_lock
from workbook.errors import OpsbookError, UnreadableFile, UnsafeFile

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
EML_SUFFIX = ".eml"
# An .eml is parsed whole in memory: refuse anything larger than a generous mailbox limit.
MAX_EML_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """One workbook to process.

    path: the file to read (for an .eml attachment, the copy extracted into the work folder);
    origin: the file the user has (the workbook itself, or the .eml it came in);
    attachment: the attachment's own file name; sender_*: the .eml's From header.
    """

    path: Path
    origin: Path
    attachment: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    sent_at: dt.datetime | None = None  # the .eml's Date header
    lock: Path | None = None  # an office suite's lock file beside it: open, maybe unsaved edits

    @property
    def label(self) -> str:
        """How messages name this input: the path, or "mail.eml › attachment.xlsx"."""
        if self.attachment is None:
            return str(self.origin)
        return f"{self.origin} › {self.attachment}"

    @property
    def output_stem(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class InputProblem:
    """An input that gives no workbook at all (missing path, empty folder, bad .eml)."""

    origin: Path
    error: OpsbookError


Found = Source | InputProblem


def _is_workbook_name(name: str) -> bool:
    return name.lower().endswith(WORKBOOK_SUFFIXES) and not is_lock_name(name)


def _walk(folder: Path) -> Iterator[Path]:
    """Workbooks under folder, sorted, not following links to folders (no cycles)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and _is_workbook_name(name):
                yield Path(root) / name


def unique_name(stem: str, suffix: str, taken: set[str], scope: str = "") -> str:
    """stem+suffix, or stem-2+suffix, stem-3+suffix ...: the first name not yet taken in scope
    (a folder), compared case-insensitively as on Windows and macOS. Records the name."""
    name, n = f"{stem}{suffix}", 1
    while f"{scope}/{name.casefold()}" in taken:
        n += 1
        name = f"{stem}-{n}{suffix}"
    taken.add(f"{scope}/{name.casefold()}")
    return name


def _sent(message: EmailMessage) -> dt.datetime | None:
    """The Date header as an aware datetime, when it can be parsed."""
    try:
        when = getattr(message["Date"], "datetime", None)
    except Exception:  # a malformed header must not stop the batch
        return None
    if not isinstance(when, dt.datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def read_eml(path: Path) -> EmailMessage:
    """Parse an .eml file, refusing missing, unreadable or oversized ones."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise UnreadableFile("input.not_found", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    if size > MAX_EML_BYTES:
        raise UnsafeFile("batch.eml_too_large", path=path, limit=MAX_EML_BYTES // (1024 * 1024))
    try:
        with path.open("rb") as fh:
            message = email.message_from_binary_file(fh, policy=email.policy.default)
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default guarantees it
        raise UnreadableFile("batch.eml_unreadable", path=path)
    return message


def extract_attachments(eml: Path, workdir: Path, taken: set[str]) -> list[Source]:
    """Save every workbook attached to eml into workdir as `<sender>_<name>`; raise when there is
    none. taken: names already used in workdir (updated)."""
    message = read_eml(eml)
    sent_at = _sent(message)
    found: list[Source] = []
    for part, who in workbook_parts(message):
        name, address = who.name, who.address
        sender = safe_filename(name or (address or "").split("@")[0]) or safe_filename(eml.stem)
        filename = part.get_filename()
        if not filename or not _is_workbook_name(filename.strip()):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        original = Path(filename.strip().replace("\\", "/")).name
        suffix = Path(original).suffix.lower()
        stem = safe_filename(Path(original).stem) or "workbook"
        # The sender's name once: 李明_Q3.xlsx from 李明 stays 李明_Q3, never 李明_李明_Q3.
        named = _fold(sender) in _fold(stem)
        target = workdir / unique_name(stem if named else f"{sender}_{stem}", suffix, taken)
        target.write_bytes(payload)
        found.append(Source(target, eml, original, name, address, sent_at))
    if not found:
        raise UnreadableFile("batch.eml_no_workbook", path=eml)
    return found


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def discover(paths: Iterable[Path], workdir: Path) -> list[Found]:
    """Every workbook named by paths, in order, and every input that gave none."""
    paths = list(paths)
    found: list[Found] = []
    seen: set[str] = set()
    taken: set[str] = set()
    named = {os.path.normcase(os.path.realpath(p)) for p in paths}

    def first_time(path: Path) -> bool:
        key = os.path.normcase(os.path.realpath(path))
        if key in seen:
            return False
        seen.add(key)
        return True

    for path in paths:
        if path.is_dir():
            books = list(_walk(path))
            if not books:
                found.append(InputProblem(path, UnreadableFile("batch.no_workbooks", path=path)))
            found.extend(Source(p, p, lock=locked_by(p)) for p in books if first_time(p))
        elif is_lock_name(path.name):
            # Beside its workbook, also named (a shell glob picks both up): the workbook's own
            # warning says it is open. Named alone: say what it is, not "not a workbook".
            if os.path.normcase(os.path.realpath(workbook_of_lock(path))) in named:
                continue
            lock_error = UnreadableFile(
                "team.lock_file", path=path, workbook=workbook_of_lock(path).name
            )
            found.append(InputProblem(path, lock_error))
        elif not first_time(path):
            continue
        elif path.suffix.lower() == EML_SUFFIX:
            try:
                found.extend(extract_attachments(path, workdir, taken))
            except OpsbookError as exc:
                found.append(InputProblem(path, exc))
        else:
            # Anything else goes to the renderer, whose checks say what is wrong with it.
            found.append(Source(path, path, lock=locked_by(path)))
    return found


def is_container(path: Path) -> bool:
    """Whether a path holds workbooks rather than being one: a folder or an .eml message."""
    return path.is_dir() or path.suffix.lower() == EML_SUFFIX


def problem_of(exc: OpsbookError, source: Source) -> Message:
    """The error's one line, naming the input as the user knows it (not the extracted copy)."""
    return Message.of_error(exc).replacing(source.path, source.label)


def localized(exc: OpsbookError, source: Source, lang: str) -> str:
    """problem_of(exc, source) in words, in lang."""
    return problem_of(exc, source).text(lang)


def unexpected(source: Source, exc: BaseException | None) -> Message:
    """An error opsbook did not foresee (exc), or a worker that died (None), as one line."""
    reason: object = Message.of("app.worker_crashed")
    if exc is not None:
        reason = f"{type(exc).__name__}: {exc}"
    return Message.of("errors.batch.unexpected", path=source.label, reason=reason)
