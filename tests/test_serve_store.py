"""The server's store on SQLite and on a real PostgreSQL: what is added comes back whole, a
resend becomes the current one and the history stays, a failed write leaves nothing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.serve.store import NewSubmission, Store, open_store
from tests.serving import pg_schema_url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(tmp_path / "data", None)
    else:
        base = request.getfixturevalue("postgres_url")
        opened = open_store(tmp_path, pg_schema_url(base, f"t_{uuid.uuid4().hex[:12]}"))
    yield opened
    opened.close()


def record(person: str, period: str = "2026-Q3", n: int = 0, **kw: object) -> NewSubmission:
    workbook = f"workbook of {person} #{n}".encode() * 100 + bytes(range(256))
    values: dict[str, object] = dict(
        id=uuid.uuid4().hex, period_key=period, period_label=period, person=person,
        person_key=person.lower(), store_name="山岚", errors=0, warnings=1, blank=False,
        details={"issues": [], "kpis": {"roi": 3.4}}, workbook_name=f"{person}.xlsx",
        workbook=workbook, summary_name=f"{person}.docx", summary=b"PK\x03\x04" + workbook[::-1],
        workbook_sha256=hashlib.sha256(workbook).hexdigest(),
    )  # fmt: skip
    values.update(kw)
    return NewSubmission(**values)  # type: ignore[arg-type]


def test_a_submission_comes_back_byte_for_byte(store: Store) -> None:
    r = record("林晓雨")
    store.add(r)
    got = store.get(r.id)
    assert got is not None
    assert (got.person, got.period_key, got.warnings, got.details) == (
        "林晓雨", "2026-Q3", 1, {"issues": [], "kpis": {"roi": 3.4}})  # fmt: skip
    assert store.file(r.id, "workbook") == (r.workbook_name, r.workbook)
    assert store.file(r.id, "summary") == (r.summary_name, r.summary)
    assert store.get("nope") is None and store.file("nope", "summary") is None


def test_a_resend_is_current_and_the_history_stays(store: Store) -> None:
    first, second, other = record("A", n=1), record("A", n=2), record("B")
    later = record("A", period="2026-Q4")
    for r in (first, other, second, later):
        store.add(r)
    current = store.current("2026-Q3")
    assert [(s.person, s.id, s.versions) for s in current] == [("A", second.id, 2),
                                                               ("B", other.id, 1)]  # fmt: skip
    assert store.file(first.id, "workbook") is not None  # kept
    periods = {p.key: (p.people, p.submissions) for p in store.periods()}
    assert periods == {"2026-Q3": (2, 3), "2026-Q4": (1, 1)}
    assert [s.id for s in store.history("2026-Q3")] == [first.id, other.id, second.id]
    files = store.current_files("2026-Q3", "summary")
    assert [f[1] for f in files] == ["A.docx", "B.docx"]


def test_a_failed_write_leaves_nothing(store: Store) -> None:
    r = record("A")
    store.add(r)
    clash = record("B", id=r.id)  # the same id: the insert fails inside its transaction
    with pytest.raises(Exception):  # noqa: B017 - sqlite3 and psycopg raise their own classes
        store.add(clash)
    assert [s.person for s in store.current("2026-Q3")] == ["A"]
    assert store.all_ids() == [(r.id, r.workbook_sha256)]


def test_settings_keep_or_replace(store: Store) -> None:
    assert store.set_setting("k", "first", replace=False) == "first"
    assert store.set_setting("k", "second", replace=False) == "first"
    assert store.set_setting("k", "third", replace=True) == "third"
    assert store.setting("k") == "third" and store.setting("absent") is None


def test_the_roster_is_the_last_uploaded(store: Store) -> None:
    assert store.roster() is None
    store.set_roster("a.csv", b"name\nA\n")
    store.set_roster("b.csv", "姓名\n乙\n".encode())
    assert store.roster() == ("b.csv", "姓名\n乙\n".encode())


def test_opening_twice_is_harmless(store: Store, tmp_path: Path) -> None:
    """Two processes starting together both run the schema; the second changes nothing."""
    r = record("A")
    store.add(r)
    store.init()
    assert store.get(r.id) is not None
