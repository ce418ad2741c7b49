"""The roster CSV: who should have submitted, and who has not."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsbook.team.people import Person, norm_name
from workbook.errors import UnreadableFile, UnsafeFile

# Roster columns, matched case-insensitively after trimming: the first column whose header is one
# of these (in either language) is used.
ROSTER_NAME_HEADERS = ("name", "full name", "person", "姓名", "名字", "人员", "填写人")
ROSTER_EMAIL_HEADERS = ("email", "e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件")
MAX_ROSTER_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class RosterEntry:
    """One person on the roster: a name, an email address, or both."""

    name: str | None
    email: str | None

    @property
    def shown(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or ""


def _norm_header(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace("\ufeff", "").split()).casefold()


def read_roster(path: Path) -> list[RosterEntry]:
    """A CSV with a header row naming a name column and/or an email column (ROSTER_*_HEADERS).

    UTF-8 with or without a BOM (Excel's "CSV UTF-8"); a file that is not UTF-8 is read as
    GB18030, which is what Chinese Excel's plain "CSV" writes. Comma, semicolon or tab separated.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UnreadableFile("input.not_found", path=path) from exc
    except IsADirectoryError as exc:
        raise UnreadableFile("input.is_dir", path=path) from exc
    except OSError as exc:
        raise UnreadableFile("input.no_permission", path=path) from exc
    return parse_roster(data, path)


def parse_roster(data: bytes, path: Path) -> list[RosterEntry]:
    """read_roster for bytes already in memory (an upload); path only names them in messages."""
    if len(data) > MAX_ROSTER_BYTES:
        raise UnsafeFile("batch.roster_too_large", path=path, limit=MAX_ROSTER_BYTES // 2**20)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise UnreadableFile("batch.roster_encoding", path=path) from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    if not rows:
        raise UnreadableFile("batch.roster_columns", path=path)
    header = [_norm_header(h) for h in rows[0]]
    name_col = next((i for i, h in enumerate(header) if h in ROSTER_NAME_HEADERS), None)
    email_col = next((i for i, h in enumerate(header) if h in ROSTER_EMAIL_HEADERS), None)
    if name_col is None and email_col is None:
        raise UnreadableFile("batch.roster_columns", path=path)

    def cell(row: list[str], col: int | None) -> str | None:
        if col is None or col >= len(row):
            return None
        return " ".join(row[col].split()) or None

    entries: list[RosterEntry] = []
    seen: set[tuple[str | None, str | None]] = set()
    for row in rows[1:]:
        name = cell(row, name_col)
        address = cell(row, email_col)
        entry = RosterEntry(name, address.lower() if address else None)
        key = (norm_name(name) if name else None, entry.email)
        if (name or address) and key not in seen:
            seen.add(key)
            entries.append(entry)
    if not entries:
        raise UnreadableFile("batch.roster_empty", path=path)
    return entries


def match_roster(
    roster: Sequence[RosterEntry], people: Sequence[Person]
) -> tuple[list[RosterEntry], list[Person]]:
    """(roster entries with no workbook, people not on the roster). A person matches an entry by
    email (the .eml sender) or by name (the workbook's person field or the sender's name),
    ignoring case, spaces and full-width forms."""
    by_email: dict[str, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for i, entry in enumerate(roster):
        if entry.email:
            by_email.setdefault(entry.email.casefold(), []).append(i)
        if entry.name:
            by_name.setdefault(norm_name(entry.name), []).append(i)
    matched: set[int] = set()
    unlisted: list[Person] = []
    for p in people:
        hits = set(by_email.get(p.email.casefold(), [])) if p.email else set()
        for name in p.names:
            hits.update(by_name.get(norm_name(name), []))
        if hits:
            matched.update(hits)
        else:
            unlisted.append(p)
    missing = [e for i, e in enumerate(roster) if i not in matched]
    return missing, unlisted


def roster_emails(roster: Sequence[RosterEntry], people: Sequence[Person]) -> dict[int, str]:
    """Person index -> the email the roster gives them, for people matched to exactly one
    address (by name or email, as match_roster matches)."""
    out: dict[int, str] = {}
    for p in people:
        found = {
            e.email
            for e in roster
            if e.email
            and (
                (p.email and e.email.casefold() == p.email.casefold())
                or (e.name and any(norm_name(e.name) == norm_name(n) for n in p.names))
            )
        }
        if len(found) == 1:
            out[p.index] = found.pop()
    return out
