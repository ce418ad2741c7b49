"""A real `opsbook serve` in a subprocess on a free loopback port, for the server's tests and
the load benchmark. Plain helpers: the fixtures live in conftest.py."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from generator.xlsx_writer import build_workbook
from opsbook.sample import sample_values
from workbook import spec as spec_mod

TOKEN = "test-lead-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """One running server: its URL, process, store and log."""

    url: str
    proc: subprocess.Popen[bytes]
    data: Path
    log: Path
    db: str | None = None

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)  # type: ignore[arg-type]

    @property
    def lead(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def kill(self) -> None:
        """SIGKILL the server and its conversion processes (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_peak_kb(self) -> int:
        """The server process's peak resident memory (VmHWM), in kB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def tree_rss_kb(self) -> int:
        """Resident memory of the server and its conversion processes now, in kB."""
        total = 0
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def start_server(
    data: Path,
    *,
    db: str | None = None,
    workers: int = 1,
    queue: int = 32,
    max_upload_mb: float = 25,
    timeout: float = 60,
    port: int | None = None,
    token: str | None = TOKEN,
) -> Served:
    """Start `opsbook serve` and wait until it answers (or fail with its log)."""
    port = port or free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}-server-{port}.log"
    env = {k: v for k, v in os.environ.items() if k != "OPSBOOK_LEAD_TOKEN"}
    if token is not None:
        env["OPSBOOK_LEAD_TOKEN"] = token
    argv = [sys.executable, "-m", "opsbook.cli", "serve", "--port", str(port),
            "--data", str(data), "--workers", str(workers), "--queue", str(queue),
            "--max-upload-mb", str(max_upload_mb), "--timeout", str(timeout)]  # fmt: skip
    if db:
        argv += ["--db", db]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", proc, data, log, db)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"opsbook serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    served.kill()
    raise AssertionError(f"opsbook serve did not start: {log.read_text()}")


def workbook(n: int, *, lang: str = "zh-CN", author: str | None = None,
             period: str = "2026年Q3", store: str | None = None) -> bytes:  # fmt: skip
    """A distinct filled workbook: the sample with person n's name and figures."""
    values = dict(sample_values(lang))
    values["author"] = author if author is not None else f"员工{n:03d}"
    values["period"] = period
    if store is not None:
        values["store_name"] = store
    for key in ("search_uv", "new_users"):
        if isinstance(values.get(key), int | float):
            values[key] = values[key] + n
    return build_workbook(spec_mod.load(), lang, values)


def pg_schema_url(base: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use a fresh schema of their own."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"
