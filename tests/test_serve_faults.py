"""Nothing acknowledged is lost: a server SIGKILLed with uploads in flight keeps every
submission it answered for, and none half-stored; two servers on one store lose nothing. On
SQLite and on a real PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from opsbook.serve.store import open_store
from tests.serving import Served, pg_schema_url, start_server, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str | None]:
    if request.param == "sqlite":
        return tmp_path / "data", None
    base = request.getfixturevalue("postgres_url")
    return tmp_path / "data", pg_schema_url(base, f"f_{uuid.uuid4().hex[:12]}")


def send(url: str, data: bytes, name: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/submissions", files={"file": (name, data, XLSX)},
                      timeout=120)  # fmt: skip


def assert_whole(data_dir: Path, db: str | None) -> list[str]:
    """Every stored submission is whole: its workbook matches its checksum, its summary is a
    readable Word package. Returns the ids."""
    store = open_store(data_dir, db)
    try:
        ids = store.all_ids()
        for id_, sha in ids:
            workbook_file = store.file(id_, "workbook")
            summary_file = store.file(id_, "summary")
            assert workbook_file is not None and summary_file is not None
            assert hashlib.sha256(workbook_file[1]).hexdigest() == sha
            with zipfile.ZipFile(io.BytesIO(summary_file[1])) as zf:
                assert "word/document.xml" in zf.namelist()
        return [i for i, _ in ids]
    finally:
        store.close()


def test_sigkill_with_uploads_in_flight_loses_no_acknowledged_one(
    backend: tuple[Path, str | None],
) -> None:
    data_dir, db = backend
    payloads = [(workbook(100 + i, author=f"K{i:02d}"), f"k{i:02d}.xlsx") for i in range(24)]
    served = start_server(data_dir, db=db, workers=2)
    acknowledged: dict[str, str] = {}  # id -> sha256 of what was sent
    failed: list[str] = []
    lock = threading.Lock()

    def one(item: tuple[bytes, str]) -> None:
        data, name = item
        try:
            r = send(served.url, data, name)
        except httpx.TransportError:
            with lock:
                failed.append(name)
            return
        if r.status_code == 201:
            with lock:
                acknowledged[r.json()["id"]] = hashlib.sha256(data).hexdigest()

    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, p) for p in payloads]
            deadline = time.monotonic() + 120
            while len(acknowledged) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            served.kill()  # SIGKILL, conversions and uploads in flight
            for f in futures:
                f.result()
    finally:
        served.kill()
    assert len(acknowledged) >= 5
    assert failed, "the kill came after every upload finished: nothing was in flight"

    restarted = start_server(data_dir, db=db, workers=1)
    try:
        with restarted.client() as c:
            for id_, sha in acknowledged.items():
                r = c.get(f"/api/v1/submissions/{id_}/workbook")
                assert r.status_code == 200, id_
                assert hashlib.sha256(r.content).hexdigest() == sha
                assert c.get(f"/api/v1/submissions/{id_}/summary").status_code == 200
    finally:
        restarted.stop()
    stored = assert_whole(data_dir, db)
    assert set(acknowledged) <= set(stored)
    assert len(stored) <= len(payloads)


def test_two_servers_on_one_store_lose_nothing(backend: tuple[Path, str | None]) -> None:
    data_dir, db = backend
    first = start_server(data_dir, db=db, workers=1)
    second: Served | None = None
    try:
        second = start_server(data_dir, db=db, workers=1)
        urls = [first.url, second.url]
        payloads = [(workbook(200 + i, author=f"T{i:02d}"), f"t{i:02d}.xlsx") for i in range(30)]
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda ip: send(urls[ip[0] % 2], *ip[1]),
                                      enumerate(payloads)))  # fmt: skip
        assert [r.status_code for r in responses] == [201] * len(payloads)
        ids = {r.json()["id"] for r in responses}
        with first.client(headers=first.lead) as c:
            people = c.get("/api/v1/periods/2026-Q3/submissions").json()
        assert {p["person"] for p in people} == {f"T{i:02d}" for i in range(30)}
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert set(assert_whole(data_dir, db)) == ids
