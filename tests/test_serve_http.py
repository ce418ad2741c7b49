"""`opsbook serve` over HTTP: a real server subprocess on a loopback port, every endpoint and
error status, answers compared with the CLI's on the same files (docs/api.md)."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import docx
import httpx
import openpyxl
import pytest
from click.testing import CliRunner

from opsbook.cli import main
from tests import badfiles
from tests.serving import TOKEN, Served, start_server, workbook
from workbook.i18n import catalog

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample-zh-CN.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Corpus cases that are not a file one can upload (a folder, a missing path, a file the
# server may not read), or need another server environment, or are about output files.
NOT_UPLOADS = {"directory", "missing", "no_read_permission", "defusedxml_off",
               *badfiles.OUTPUT_CASES}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_server(tmp_path_factory.mktemp("serve") / "data", workers=2)
    yield served
    served.stop()


def docx_text(data: bytes) -> list[str]:
    """Every paragraph and table cell of a Word document, in order, as a reader sees it."""
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return lines


def upload(client: httpx.Client, path: str, data: bytes, name: str, **kw: object) -> httpx.Response:
    return client.post(path, files={"file": (name, data, XLSX)}, **kw)  # type: ignore[arg-type]


def disposition_name(response: httpx.Response) -> str:
    header = response.headers["content-disposition"]
    assert header.startswith("attachment;")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    return unquote(encoded)


# --- Pages and language -------------------------------------------------------------------------


def test_staff_page_speaks_zh_cn_by_default_en_by_header_and_switch(server: Served) -> None:
    with server.client() as c:
        zh = c.get("/")
        en = c.get("/", headers={"Accept-Language": "fr;q=1, en-GB;q=0.8, zh;q=0.5"})
        switched = c.get("/?lang=en")
        after = c.get("/")  # the switch is remembered (cookie)
    assert zh.status_code == 200
    assert catalog("zh-CN")("serve.staff.send_title") in zh.text
    assert catalog("en")("serve.staff.send_title") in en.text
    assert catalog("en")("serve.staff.send_title") in switched.text
    assert catalog("en")("serve.staff.send_title") in after.text
    policy = zh.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert '<meta name="viewport"' in zh.text  # phones get a page their width


def test_workbook_download_is_prefilled_and_names_the_page(server: Served) -> None:
    with server.client() as c:
        r = c.get("/workbook", params={"name": "林晓雨", "store": "山岚家居", "period": "2026年Q4",
                                       "lang": "zh-CN"})  # fmt: skip
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    assert disposition_name(r) == "林晓雨_山岚家居_2026年Q4_数据填报表.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(r.content))

    def named(name: str) -> object:
        sheet, cell = next(iter(wb.defined_names[name].destinations))
        return wb[sheet][cell.replace("$", "")].value

    assert (named("author"), named("store_name"), named("period")) == (
        "林晓雨", "山岚家居", "2026年Q4")  # fmt: skip
    cover = wb.worksheets[0]
    texts = [str(c.value) for row in cover.iter_rows() for c in row if c.value]
    assert any(server.url in t for t in texts), "the cover names this server's page"


# --- The API against the CLI --------------------------------------------------------------------


def test_render_gives_the_cli_summary(server: Served, tmp_path: Path) -> None:
    with server.client() as c:
        r = upload(c, "/api/v1/render", SAMPLE.read_bytes(), "山岚.xlsx")
    assert r.status_code == 200
    assert disposition_name(r) == "山岚.docx"
    cli_out = tmp_path / "cli.docx"
    done = CliRunner().invoke(main, ["render", str(SAMPLE), "-o", str(cli_out)])
    assert done.exit_code == 0, done.output
    assert docx_text(r.content) == docx_text(cli_out.read_bytes())


def test_check_gives_the_export_and_the_cli_findings(
    server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = badfiles.set_cell(SAMPLE.read_bytes(), "sku_unsold", "n", "-3")
    path = tmp_path / "bad.xlsx"
    path.write_bytes(data)
    with server.client() as c:
        r = upload(c, "/api/v1/check", data, "bad.xlsx", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    body = r.json()
    exported = CliRunner().invoke(main, ["export", str(path), "--format", "json"])
    assert body["fields"] == json.loads(exported.stdout)["fields"]
    assert body["kpis"] == json.loads(exported.stdout)["kpis"]
    monkeypatch.chdir(tmp_path)
    cli = CliRunner().invoke(main, ["check", "bad.xlsx", "--lang", "en"])
    assert cli.exit_code == 1 and body["blocking"] is True
    t = catalog("en")
    lines = [t("issues.check.line", file="bad.xlsx", severity=t(f"issues.check.{i['severity']}"),
               message=i["message"]) for i in body["issues"]]  # fmt: skip
    assert sorted(lines) == sorted(cli.stdout.splitlines()[:-1])
    assert body["issues"][0]["severity"] == "error"  # errors first
    assert any(i["cell"] and "!" in i["cell"] for i in body["issues"])


def test_submission_is_stored_and_downloadable_by_id(server: Served) -> None:
    data = workbook(1, author="周一")
    with server.client() as c:
        r = upload(c, "/api/v1/submissions", data, "周一.xlsx")
        assert r.status_code == 201, r.text
        s = r.json()
        assert (s["person"], s["period"]["key"], s["status"]) == ("周一", "2026-Q3", "ok")
        got = c.get(s["workbook_url"])
        summary = c.get(s["summary_url"])
        again = c.get(f"/api/v1/submissions/{s['id']}")
        missing = c.get("/api/v1/submissions/no-such-id/summary")
        other_kind = c.get(f"/api/v1/submissions/{s['id']}/passwd")
    assert got.content == data and disposition_name(got) == "周一.xlsx"
    assert summary.headers["content-type"].startswith("application/vnd.openxml")
    assert any("周一" in line for line in docx_text(summary.content))
    assert again.json()["id"] == s["id"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert other_kind.status_code == 404


def test_a_resend_replaces_the_current_one_and_keeps_the_history(server: Served) -> None:
    with server.client() as c:
        first = upload(c, "/api/v1/submissions", workbook(2, author="吴二"), "a.xlsx").json()
        second = upload(c, "/api/v1/submissions", workbook(3, author="吴二"), "b.xlsx").json()
        listed = c.get("/api/v1/periods/2026-Q3/submissions", headers=server.lead).json()
        every = c.get("/api/v1/periods/2026-Q3/submissions?history=1", headers=server.lead)
        old = c.get(first["workbook_url"])
    mine = [s for s in listed if s["person"] == "吴二"]
    assert [s["id"] for s in mine] == [second["id"]]
    assert mine[0]["versions"] == 2
    assert old.status_code == 200  # the earlier one is kept
    assert [s["id"] for s in every.json() if s["person"] == "吴二"] == [first["id"], second["id"]]


def test_lead_downloads_the_rollup_the_zip_and_the_export(server: Served) -> None:
    with server.client(headers=server.lead) as c:
        for n, name in ((4, "郑四"), (5, "王五")):
            assert upload(c, "/api/v1/submissions", workbook(n, author=name),
                          f"{name}.xlsx").status_code == 201  # fmt: skip
        people = {s["person"] for s in c.get("/api/v1/periods/2026-Q3/submissions").json()}
        xlsx = c.get("/api/v1/periods/2026-Q3/rollup.xlsx")
        docx_r = c.get("/api/v1/periods/2026-Q3/rollup.docx")
        zipped = c.get("/api/v1/periods/2026-Q3/summaries.zip")
        exported = c.get("/api/v1/periods/2026-Q3/export.json")
        csv_r = c.get("/api/v1/periods/2026-Q3/export.csv")
        periods = c.get("/api/v1/periods").json()
        none = c.get("/api/v1/periods/1999-Q1/rollup.xlsx")
    assert {"郑四", "王五"} <= people
    team = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(team.sheetnames) > 5
    assert docx_text(docx_r.content)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        names = zf.namelist()
    assert len(names) == len(people) and any(n.startswith("郑四") for n in names)
    assert exported.json()["template"]["id"]
    assert csv_r.text.startswith("kind,id,value,cell")
    assert any(p["key"] == "2026-Q3" and p["people"] == len(people) for p in periods)
    assert none.status_code == 404


def test_roster_shows_who_is_missing_blank_or_has_errors(server: Served) -> None:
    period = "2027年Q1"
    blank = workbook(0, author="空白", period=period)
    blank_values = {"author": "空白", "period": period}
    from generator.xlsx_writer import build_workbook
    from workbook import spec as spec_mod

    blank = build_workbook(spec_mod.load(), "zh-CN", blank_values)
    bad = badfiles.set_cell(workbook(6, author="错六", period=period), "sku_unsold", "n", "-3")
    roster = "姓名,邮箱\n好七,\n空白,\n错六,\n缺八,\n".encode()
    with server.client(headers=server.lead) as c:
        upload(c, "/api/v1/submissions", workbook(7, author="好七", period=period), "7.xlsx")
        upload(c, "/api/v1/submissions", blank, "blank.xlsx")
        upload(c, "/api/v1/submissions", bad, "6.xlsx")
        r = c.post("/api/v1/roster", files={"file": ("team.csv", roster, "text/csv")})
        assert r.status_code == 201, r.text
        page = c.get("/lead/periods/2027-Q1")
        bad_roster = c.post("/api/v1/roster", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert page.status_code == 200
    html = page.text

    def listed(element: str) -> str:
        return html.split(f'id="{element}">', 1)[1].split("</dd>", 1)[0]

    assert listed("missing") == "缺八"
    assert listed("blank") == "空白"
    assert listed("with-errors") == "错六"
    assert listed("complete") == "好七"
    assert bad_roster.status_code == 422


# --- Refusals -----------------------------------------------------------------------------------


UPLOAD_CASES = [c for c in badfiles.CASES if c not in NOT_UPLOADS]


@pytest.mark.parametrize("case", UPLOAD_CASES)
def test_bad_input_gets_the_cli_answer_as_an_http_error(
    server: Served, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    setup = badfiles.CASES[case](folder)
    name = setup.input.name
    data = setup.input.read_bytes()
    lang = "en" if sorted(UPLOAD_CASES).index(case) % 2 else "zh-CN"
    monkeypatch.chdir(setup.input.parent)
    cli = CliRunner().invoke(main, ["check", name, "--lang", lang], env={"OPSBOOK_LANG": lang})
    with server.client() as c:
        r = upload(c, "/api/v1/check", data, name, headers={"Accept-Language": lang})
        s = upload(c, "/api/v1/submissions", data, name, headers={"Accept-Language": lang})
    if cli.exit_code in (0, 1):  # read: the findings are the answer
        assert r.status_code == 200 and s.status_code == 201
        assert r.json()["blocking"] is (cli.exit_code == 1)
        assert len(r.json()["issues"]) == len(cli.stdout.splitlines()) - 1
        return
    expected = {2: 400, 3: 422, 4: 422}[cli.exit_code]
    error = r.json()["error"]
    if error["code"] == "unsafe.file_too_large":
        expected = 413
    assert (r.status_code, s.status_code) == (expected, expected)
    assert error["exit_code"] == cli.exit_code
    assert cli.stderr.splitlines() == [catalog(lang)("cli.error_prefix") + error["message"]]
    assert s.json()["error"] == error  # and nothing is stored: see the fault tests


def test_oversized_upload_is_refused_before_its_body(server: Served) -> None:
    """A declared 300 MB body is answered 413 without reading it."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     b"Content-Length: 314572800\r\n\r\n")  # fmt: skip
        answer = b""
        while b"}}" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        head = answer.decode()
    assert head.startswith("HTTP/1.1 413")
    assert "25 MB" in head


def test_oversized_streamed_upload_is_stopped_with_memory_flat(server: Served) -> None:
    """A chunked body with no length is cut off at the cap; the server's memory stays flat."""
    before = server.rss_peak_kb()
    chunk = b"\0" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n'
        for _ in range(120):  # 120 MB, five times the cap
            yield chunk

    with server.client() as c:
        try:
            r = c.post("/api/v1/check", content=body(),
                       headers={"Content-Type": "multipart/form-data; boundary=x"})  # fmt: skip
            status = r.status_code
        except httpx.TransportError:  # the server may close before the client stops sending
            status = 413
    assert status == 413
    grown_mb = (server.rss_peak_kb() - before) / 1024
    assert grown_mb < 30, f"the server's peak memory grew by {grown_mb:.0f} MB"


def test_too_many_files_and_no_file_are_bad_requests(server: Served) -> None:
    data = SAMPLE.read_bytes()
    with server.client() as c:
        many = c.post("/submit", files=[("file", (f"{i}.xlsx", data, XLSX)) for i in range(11)])
        none = c.post("/api/v1/check", files={"other": ("x.txt", b"x", "text/plain")})
        pair = [("file", ("a.xlsx", data, XLSX)), ("file", ("b.xlsx", data, XLSX))]
        two = c.post("/api/v1/submissions", files=pair)
        wrong = c.get("/api/v1/render")
    assert many.status_code == 400
    assert none.status_code == 400 and none.json()["error"]["code"] == "no_file"
    assert two.status_code == 400 and two.json()["error"]["code"] == "one_file"
    assert wrong.status_code == 405


def test_cross_site_posts_are_refused_and_store_nothing(server: Served) -> None:
    data = workbook(9, author="跨站", period="2030年Q1")
    with server.client() as c:
        api = "/api/v1/submissions"
        refused = [
            upload(c, api, data, "x.xlsx", headers={"Sec-Fetch-Site": "cross-site"}),
            upload(c, "/submit", data, "x.xlsx", headers={"Sec-Fetch-Site": "same-site"}),
            upload(c, api, data, "x.xlsx", headers={"Origin": "https://evil.example"}),
            c.post("/lead/login", data={"token": TOKEN}, headers={"Origin": "null"}),
        ]  # fmt: skip
        same = upload(c, "/submit", data, "x.xlsx", headers={"Sec-Fetch-Site": "same-origin",
                                                               "Origin": server.url})  # fmt: skip
        periods = c.get("/api/v1/periods", headers=server.lead).json()
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert refused[0].json()["error"]["code"] == "cross_site"
    assert same.status_code == 200
    assert [p["submissions"] for p in periods if p["key"] == "2030-Q1"] == [
        1
    ]  # only the allowed one


def test_script_in_a_workbook_comes_back_as_text(server: Served) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    data = workbook(10, author=payload, store=payload, period="2031年Q1")
    with server.client() as c:
        page = upload(c, "/submit", data, "<i>x.xlsx")
        lead = c.get("/lead/periods/2031-Q1", headers=server.lead)
    for html in (page.text, lead.text):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html
    assert "&lt;i&gt;x.xlsx" in page.text


LEAD_GETS = ["/api/v1/periods", "/api/v1/periods/2026-Q3/submissions",
             "/api/v1/periods/2026-Q3/rollup.xlsx", "/api/v1/periods/2026-Q3/rollup.docx",
             "/api/v1/periods/2026-Q3/summaries.zip", "/api/v1/periods/2026-Q3/export.json",
             "/api/v1/roster"]  # fmt: skip


def test_lead_endpoints_refuse_missing_or_bad_tokens(server: Served) -> None:
    with server.client() as c:
        for path in LEAD_GETS:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                r = c.get(path, headers=headers)
                assert r.status_code == 401, (path, headers)
                assert r.json()["error"]["code"] == "unauthorized"
        roster = c.post("/api/v1/roster", files={"file": ("r.csv", b"name\nA\n", "text/csv")})
        assert roster.status_code == 401
        assert c.get("/lead", follow_redirects=False).headers["location"] == "/lead/login"
        assert c.get("/lead/periods/2026-Q3", follow_redirects=False).status_code == 303


def test_lead_signs_in_with_an_httponly_samesite_cookie(server: Served) -> None:
    with server.client() as c:
        bad = c.post("/lead/login", data={"token": "nope"})
        good = c.post("/lead/login", data={"token": TOKEN}, follow_redirects=False)
        cookie = good.headers["set-cookie"]
        page = c.get("/lead")
        api = c.get("/api/v1/periods")
        out = c.post("/lead/logout", follow_redirects=False)
        after = c.get("/api/v1/periods")
        c.cookies.set("opsbook_lead", "9999999999.forged")
        forged = c.get("/api/v1/periods")
        script = c.get("/static/app.js")
        health = c.get("/healthz")
    assert bad.status_code == 401
    assert good.status_code == 303
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert page.status_code == 200 and catalog("zh-CN")("serve.lead.periods") in page.text
    assert api.status_code == 200
    assert out.status_code == 303 and after.status_code == 401
    assert forged.status_code == 401
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert health.text == "ok"


def test_errors_speak_the_request_language(server: Served) -> None:
    with server.client() as c:
        en = c.get("/api/v1/periods", headers={"Accept-Language": "en-US,en;q=0.9"})
        zh = c.get("/api/v1/periods", headers={"Accept-Language": "zh-CN"})
    assert en.json()["error"]["message"] == catalog("en")("errors.serve.unauthorized")
    assert zh.json()["error"]["message"] == catalog("zh-CN")("errors.serve.unauthorized")


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    served = start_server(tmp_path / "data", workers=1, queue=0)
    data = [workbook(20 + i) for i in range(4)]

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=served.url, timeout=120) as c:
            responses = await asyncio.gather(*(
                c.post("/api/v1/render", files={"file": (f"{i}.xlsx", d, XLSX)})
                for i, d in enumerate(data)))  # fmt: skip
        for r in responses:
            if r.status_code == 503:
                assert r.headers["retry-after"] == "5"
                assert r.json()["error"]["code"] == "busy"
        return [r.status_code for r in responses]

    try:
        statuses = asyncio.run(burst())
    finally:
        served.stop()
    assert 503 in statuses and 200 in statuses


def test_the_other_commands_do_not_load_the_server() -> None:
    """`opsbook --help` and the file commands stay fast: the web stack loads with `serve` only."""
    import subprocess
    import sys

    probe = ("import sys; from opsbook.cli import main; import opsbook.api; "
             "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'psycopg', "
             "'python_multipart', 'opsbook.serve') if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_periods_group_by_their_canonical_key(server: Served) -> None:
    """2026年第四季度 and Q4 2026 are one period; a text that names none is its own key."""
    from urllib.parse import quote

    with server.client(headers=server.lead) as c:
        a = upload(
            c, "/api/v1/submissions", workbook(30, author="甲", period="2026年第四季度"), "a.xlsx"
        )
        b = upload(c, "/api/v1/submissions", workbook(31, author="乙", period="Q4 2026"), "b.xlsx")
        odd = upload(
            c, "/api/v1/submissions", workbook(32, author="丙", period="双11/冲刺"), "c.xlsx"
        )
        q4 = c.get("/api/v1/periods/2026-Q4/submissions", headers={"Accept-Language": "en"})
        own = c.get(f"/api/v1/periods/{quote('双11/冲刺', safe='')}/submissions")
        page = c.get(f"/lead/periods/{quote('双11/冲刺', safe='')}")
    assert a.json()["period"]["key"] == b.json()["period"]["key"] == "2026-Q4"
    assert {s["person"] for s in q4.json()} == {"甲", "乙"}
    assert {s["period"]["label"] for s in q4.json()} == {"Q4 2026"}
    assert odd.json()["period"]["key"] == "双11/冲刺"
    assert [s["person"] for s in own.json()] == ["丙"]
    assert page.status_code == 200 and "丙" in page.text


def test_the_lead_token_is_printed_once_and_only_its_hash_stored(tmp_path: Path) -> None:
    import re
    import sqlite3

    data = tmp_path / "data"
    first = start_server(data, token=None)
    first.stop()
    shown = re.findall(r"(?:令牌|token)[^:：]*[:：]\s*(\S+)\s*$", first.log.read_text(), re.M)
    token = next(t for t in shown if len(t) >= 24)
    second = start_server(data, token=None)
    try:
        with second.client() as c:
            ok = c.get("/api/v1/periods", headers={"Authorization": f"Bearer {token}"})
            bad = c.get("/api/v1/periods", headers={"Authorization": f"Bearer {token}x"})
    finally:
        second.stop()
    assert ok.status_code == 200 and bad.status_code == 401
    assert token not in second.log.read_text()  # not printed again
    with sqlite3.connect(data / "opsbook.sqlite3") as db:
        stored = [row[0] for row in db.execute("SELECT value FROM settings")]
    db.close()
    assert token not in " ".join(stored)


def test_a_store_out_of_reach_is_one_line_and_exit_5(tmp_path: Path) -> None:
    wrong = CliRunner().invoke(main, ["serve", "--db", "mysql://x/y"], env={"OPSBOOK_LANG": "en"})
    down = CliRunner().invoke(main, ["serve", "--db", "postgresql://nobody@127.0.0.1:1/x"],
                              env={"OPSBOOK_LANG": "en"})  # fmt: skip
    assert wrong.exit_code == 2
    assert wrong.stderr.splitlines() == [
        "Error: " + catalog("en")("errors.serve.bad_db", db="mysql://x/y")]  # fmt: skip
    assert down.exit_code == 5
    lines = down.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: 127.0.0.1:1/x: cannot open the store")
