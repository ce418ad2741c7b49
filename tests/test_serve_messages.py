"""Every way `opsbook serve` can fail speaks the request's language (issue 11: localized at
the edge): a crashed conversion worker, a refused form, a file too large, a cross-site post, an
unknown address, a user error from the reader; and the pool recovers from the crash."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import badfiles
from tests.serving import Served, start_server, workbook
from workbook.i18n import catalog

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_server(tmp_path_factory.mktemp("serve") / "data", workers=1, max_upload_mb=1)
    yield served
    served.stop()


def workers(served: Served) -> list[int]:
    """The server's conversion processes (spawned children running spawn_main)."""
    children = Path(f"/proc/{served.proc.pid}/task/{served.proc.pid}/children")
    out = []
    for pid in (int(p) for p in children.read_text().split()):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
    return out


def crash_a_worker(served: Served) -> None:
    (pid,) = workers(served)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid in workers(served) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the executor's manager notices the death


def render(c: httpx.Client, headers: dict[str, str], data: bytes | None = None) -> httpx.Response:
    files = {"file": ("w.xlsx", data if data is not None else workbook(3), XLSX)}
    return c.post("/api/v1/render", files=files, headers=headers)


@pytest.mark.parametrize(("headers", "lang"), [(EN, "en"), (ZH, "zh-CN")])
def test_a_crashed_worker_is_busy_in_the_request_language_and_the_pool_recovers(
    server: Served, headers: dict[str, str], lang: str
) -> None:
    with server.client() as c:
        assert render(c, headers).status_code == 200  # the worker is up
        crash_a_worker(server)
        crashed = render(c, headers)
        after = render(c, headers)
    assert crashed.status_code == 503
    assert crashed.headers["retry-after"] == "5"
    assert crashed.json()["error"] == {
        "code": "busy",
        "message": catalog(lang)("errors.serve.busy"),
    }
    assert after.status_code == 200  # a new worker took over


def test_the_staff_page_says_a_crash_in_its_language(server: Served) -> None:
    with server.client() as c:
        assert render(c, ZH).status_code == 200
        crash_a_worker(server)
        page = c.post(
            "/submit?lang=en",
            files={"file": ("w.xlsx", workbook(4), XLSX)},
            headers={"Origin": server.url, **ZH},
        )
    assert page.status_code == 200
    assert catalog("en")("errors.serve.busy") in page.text
    assert catalog("zh-CN")("errors.serve.busy") not in page.text


@pytest.mark.parametrize(("headers", "lang"), [(EN, "en"), (ZH, "zh-CN")])
def test_every_refusal_speaks_the_request_language(
    server: Served, tmp_path: Path, headers: dict[str, str], lang: str
) -> None:
    t = catalog(lang)
    csv = badfiles.csv_renamed(tmp_path).input.read_bytes()
    with server.client() as c:
        too_many = c.post(
            "/api/v1/render",
            files=[("file", (f"{i}.xlsx", b"x", XLSX)) for i in range(12)],
            headers=headers,
        )
        large = render(c, headers, b"0" * (2 * 1024 * 1024))
        cross = c.post("/api/v1/render", headers={"Origin": "https://evil.example", **headers})
        missing = c.get("/api/v1/nothing-here", headers=headers)
        unreadable = render(c, headers, csv)
    reason = t("serve_form.too_many_files")
    assert too_many.status_code == 400
    assert too_many.json()["error"]["message"] == t("errors.serve.bad_form", detail=reason, max=10)
    assert large.status_code == 413
    assert large.json()["error"]["message"] == t("errors.serve.too_large", limit="1")
    assert cross.status_code == 403
    assert cross.json()["error"]["message"] == t("errors.serve.cross_site")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == t("errors.serve.not_found")
    assert unreadable.status_code == 422
    error = unreadable.json()["error"]
    assert error["code"].startswith("format.")
    assert error["message"] == t(f"errors.{error['code']}", path="w.xlsx")
