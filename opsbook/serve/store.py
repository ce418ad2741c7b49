"""The team server's store: submissions (with their workbook and summary), the roster and the
server's settings, in SQLite (the embedded default) or PostgreSQL, through the same SQL.

Every write is one transaction: a submission row holds its workbook and its summary, so it is
stored whole or not at all (a process killed mid-write leaves nothing behind), and it is
committed before the server answers. Several server processes may share one store.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS submissions (
        seq {serial} PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        period_key TEXT NOT NULL,
        period_label TEXT NOT NULL,
        person TEXT NOT NULL,
        person_key TEXT NOT NULL,
        store_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        blank INTEGER NOT NULL,
        details TEXT NOT NULL,
        workbook_name TEXT NOT NULL,
        workbook {blob} NOT NULL,
        summary_name TEXT NOT NULL,
        summary {blob} NOT NULL,
        workbook_sha256 TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_period ON submissions (period_key, person_key, seq)",
    """CREATE TABLE IF NOT EXISTS rosters (
        seq {serial} PRIMARY KEY,
        created_at TEXT NOT NULL,
        name TEXT NOT NULL,
        data {blob} NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

# The columns of a submission without its two files.
META = (
    "id, period_key, period_label, person, person_key, store_name, created_at, errors, "
    "warnings, blank, details, workbook_name, summary_name, workbook_sha256"
)


@dataclass(frozen=True)
class Submission:
    """One stored submission, without its files. details: issues (both languages), KPIs."""

    id: str
    period_key: str
    period_label: str
    person: str
    person_key: str
    store_name: str
    created_at: str  # ISO 8601, UTC
    errors: int
    warnings: int
    blank: bool
    details: dict[str, Any]
    workbook_name: str
    summary_name: str
    workbook_sha256: str
    versions: int = 1  # how many this person sent for the period (the history)


@dataclass(frozen=True)
class NewSubmission:
    """What add() stores: the metadata and both files."""

    id: str
    period_key: str
    period_label: str
    person: str
    person_key: str
    store_name: str
    errors: int
    warnings: int
    blank: bool
    details: dict[str, Any]
    workbook_name: str
    workbook: bytes
    summary_name: str
    summary: bytes
    workbook_sha256: str


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    people: int
    submissions: int
    last: str


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """The store's operations; the subclasses only open connections and spell the SQL."""

    serial = "INTEGER"
    blob = "BLOB"
    description = ""
    _lock: threading.Lock
    _conns: list[Any]

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def sql(self, text: str) -> str:
        return text

    def close(self) -> None:
        """Close every connection this store opened (one per thread)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    def _remember(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)

    def init(self) -> None:
        with self.transaction() as cur:
            self.lock_schema(cur)
            for statement in SCHEMA:
                cur.execute(self.sql(statement.format(serial=self.serial, blob=self.blob)))

    def lock_schema(self, cur: _Cursor) -> None:
        """Serialize schema creation between processes starting together."""

    # --- settings

    def setting(self, key: str) -> str | None:
        with self.transaction() as cur:
            cur.execute(self.sql("SELECT value FROM settings WHERE key = ?"), (key,))
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str, *, replace: bool = True) -> str:
        """Store value (or keep the existing one when replace is False); return what is stored."""
        action = "UPDATE SET value = excluded.value" if replace else "NOTHING"
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    f"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO {action}"
                ),
                (key, value),
            )
            cur.execute(self.sql("SELECT value FROM settings WHERE key = ?"), (key,))
            return str(cur.fetchone()[0])

    # --- submissions

    def add(self, s: NewSubmission) -> str:
        """Store one submission whole, in one committed transaction; return its creation time."""
        created = now()
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    "INSERT INTO submissions (id, period_key, period_label, person, person_key, "
                    "store_name, created_at, errors, warnings, blank, details, workbook_name, "
                    "workbook, summary_name, summary, workbook_sha256) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    s.id, s.period_key, s.period_label, s.person, s.person_key, s.store_name,
                    created, s.errors, s.warnings, int(s.blank),
                    json.dumps(s.details, ensure_ascii=False), s.workbook_name, s.workbook,
                    s.summary_name, s.summary, s.workbook_sha256,
                ),
            )  # fmt: skip
        return created

    @staticmethod
    def _row(row: Sequence[Any], versions: int = 1) -> Submission:
        return Submission(
            id=row[0], period_key=row[1], period_label=row[2], person=row[3], person_key=row[4],
            store_name=row[5], created_at=row[6], errors=int(row[7]), warnings=int(row[8]),
            blank=bool(row[9]), details=json.loads(row[10]), workbook_name=row[11],
            summary_name=row[12], workbook_sha256=row[13], versions=versions,
        )  # fmt: skip

    def get(self, id_: str) -> Submission | None:
        with self.transaction() as cur:
            cur.execute(self.sql(f"SELECT {META} FROM submissions WHERE id = ?"), (id_,))
            row = cur.fetchone()
        return None if row is None else self._row(row)

    def file(self, id_: str, kind: str) -> tuple[str, bytes] | None:
        """(file name, bytes) of a submission's workbook or summary, by id."""
        column = {"workbook": "workbook", "summary": "summary"}[kind]
        with self.transaction() as cur:
            cur.execute(
                self.sql(f"SELECT {column}_name, {column} FROM submissions WHERE id = ?"), (id_,)
            )
            row = cur.fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def all_ids(self) -> list[tuple[str, str]]:
        """(id, workbook sha256) of every submission, oldest first (for checks and tests)."""
        with self.transaction() as cur:
            cur.execute("SELECT id, workbook_sha256 FROM submissions ORDER BY seq")
            return [(str(r[0]), str(r[1])) for r in cur.fetchall()]

    def periods(self) -> list[Period]:
        with self.transaction() as cur:
            cur.execute(
                "SELECT period_key, MAX(period_label), COUNT(DISTINCT person_key), COUNT(*), "
                "MAX(created_at) FROM submissions GROUP BY period_key ORDER BY MAX(created_at) DESC"
            )
            return [Period(str(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]))
                    for r in cur.fetchall()]  # fmt: skip

    def current(self, period_key: str) -> list[Submission]:
        """The current submission of each person for the period (their last), by person."""
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    f"SELECT {META}, counts.n FROM submissions JOIN ("
                    "SELECT person_key AS pk, MAX(seq) AS last, COUNT(*) AS n FROM submissions "
                    "WHERE period_key = ? GROUP BY person_key) counts ON seq = counts.last "
                    "ORDER BY person"
                ),
                (period_key,),
            )
            return [self._row(r, int(r[14])) for r in cur.fetchall()]

    def history(self, period_key: str) -> list[Submission]:
        """Every submission for the period, resends included, oldest first."""
        with self.transaction() as cur:
            cur.execute(
                self.sql(f"SELECT {META} FROM submissions WHERE period_key = ? ORDER BY seq"),
                (period_key,),
            )
            return [self._row(r) for r in cur.fetchall()]

    def current_files(self, period_key: str, kind: str) -> list[tuple[Submission, str, bytes]]:
        """Each person's current workbook or summary for the period."""
        out = []
        for s in self.current(period_key):
            found = self.file(s.id, kind)
            if found is not None:
                out.append((s, found[0], found[1]))
        return out

    # --- the roster

    def set_roster(self, name: str, data: bytes) -> None:
        with self.transaction() as cur:
            cur.execute(
                self.sql("INSERT INTO rosters (created_at, name, data) VALUES (?, ?, ?)"),
                (now(), name, data),
            )

    def roster(self) -> tuple[str, bytes] | None:
        """The roster uploaded last: (file name, CSV bytes)."""
        with self.transaction() as cur:
            cur.execute("SELECT name, data FROM rosters ORDER BY seq DESC LIMIT 1")
            row = cur.fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))


class SqliteStore(Store):
    """SQLite in a folder (WAL, full sync): the embedded default."""

    serial = "INTEGER"  # INTEGER PRIMARY KEY: SQLite's rowid, never reused while it is the max

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "opsbook.sqlite3"
        self.description = str(self.path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[Any] = []

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self._remember(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        conn = self._connect()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock later
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()


class PostgresStore(Store):
    """PostgreSQL (psycopg 3): for several server processes or machines on one store."""

    serial = "BIGINT GENERATED BY DEFAULT AS IDENTITY"
    blob = "BYTEA"

    def __init__(self, url: str) -> None:
        import psycopg  # only a PostgreSQL store needs it

        self._psycopg = psycopg
        self.url = url
        self.description = url.split("@")[-1]  # never the password
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[Any] = []

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._psycopg.connect(self.url)
            self._local.conn = conn
            self._remember(conn)
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._psycopg.OperationalError:
            conn.close()  # a broken connection is opened again by the next transaction
            raise

    def lock_schema(self, cur: _Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(7413001)")


def open_store(data: Path, db: str | None) -> Store:
    """PostgreSQL when db is a postgresql:// URL, else SQLite in the data folder."""
    store: Store
    store = PostgresStore(db) if db else SqliteStore(data)
    store.init()
    return store
