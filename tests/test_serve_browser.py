"""`opsbook serve` in a real browser: Debian's Chromium driven by Playwright against a real
server. A person downloads a workbook, sends a filled one by the file picker and by
drag-and-drop, reads its errors with their cells and downloads the summary; a lead signs in,
uploads a roster, sees who is missing and downloads the roll-up and the zip.

Screenshots go to $OPSBOOK_SCREENSHOTS when set (the README's come from here), else to a
temporary folder."""

from __future__ import annotations

import base64
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from opsbook.cli import main
from tests import badfiles
from tests.serving import TOKEN, Served, start_server, workbook
from tests.test_serve_http import docx_text
from workbook.i18n import catalog

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
DROP_JS = """async ([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], name, {type: "application/octet-stream"});
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const zone = document.getElementById("drop");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_server(tmp_path_factory.mktemp("browser") / "data", workers=2)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path, headless=True,
                                     args=CHROMIUM_ARGS)  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OPSBOOK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cli_summary_text(path: Path, tmp_path: Path) -> list[str]:
    out = tmp_path / "cli.docx"
    done = CliRunner().invoke(main, ["render", str(path), "-o", str(out), "--force"])
    assert done.exit_code == 0, done.output
    return docx_text(out.read_bytes())


def test_staff_get_send_read_and_download(
    server: Served, browser: Any, tmp_path: Path, shots: Path
) -> None:
    t = catalog("zh-CN")
    context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                  viewport={"width": 1100, "height": 900})  # fmt: skip
    page = context.new_page()
    page.goto(server.url)
    page.fill("input[name=name]", "林晓雨")
    page.fill("input[name=store]", "山岚家居")
    page.fill("input[name=period]", "2026年Q3")
    page.screenshot(path=str(shots / "serve-staff-zh-CN.png"), full_page=True)
    with page.expect_download() as got:
        page.click("#get-button")
    blank = got.value
    assert blank.suggested_filename == "林晓雨_山岚家居_2026年Q3_数据填报表.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(Path(blank.path()).read_bytes()))
    sheet, cell = next(iter(wb.defined_names["author"].destinations))
    assert wb[sheet][cell.replace("$", "")].value == "林晓雨"

    # The file picker: a filled workbook, no problems; its summary is the CLI's.
    good = tmp_path / "林晓雨.xlsx"
    good.write_bytes(workbook(1, author="林晓雨"))
    page.goto(server.url)
    page.set_input_files("#file", str(good))
    result = page.locator("article.result").first
    result.wait_for(timeout=60_000)
    assert t("serve.result.ok") in result.inner_text()
    with page.expect_download() as got:
        result.locator("a.button").click()
    summary = Path(got.value.path()).read_bytes()
    assert docx_text(summary) == cli_summary_text(good, tmp_path)

    # Drag and drop: a workbook with an error; the page lists it first, with its cell.
    bad = badfiles.set_cell(workbook(2, author="周二"), "sku_unsold", "n", "-3")
    page.goto(server.url)
    page.evaluate(DROP_JS, [base64.b64encode(bad).decode(), "周二.xlsx"])
    result = page.locator("article.result").first
    result.wait_for(timeout=60_000)
    first = result.locator("ul.issues li").first
    assert first.get_attribute("class") == "error"
    assert "!" in first.locator("code.cell").inner_text()
    assert "周二" in result.inner_text()
    page.screenshot(path=str(shots / "serve-result-zh-CN.png"), full_page=True)

    # The switch to English, and a phone-sized screen.
    page.click("a.lang")
    assert catalog("en")("serve.staff.send_title") in page.inner_text("main")
    page.screenshot(path=str(shots / "serve-staff-en.png"), full_page=True)
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                device_scale_factor=2, is_mobile=True, has_touch=True)  # fmt: skip
    small = phone.new_page()
    small.goto(server.url)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    small.screenshot(path=str(shots / "serve-staff-phone.png"), full_page=True)
    phone.close()


def test_the_page_works_without_javascript(server: Served, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(server.url)
    path = tmp_path / "nojs.xlsx"
    path.write_bytes(workbook(3, author="No Script"))
    page.set_input_files("#file", str(path))
    page.click("#send-button")
    page.wait_for_url(f"{server.url}/submit")
    assert "No Script" in page.inner_text("article.result")
    context.close()


def test_lead_signs_in_uploads_a_roster_and_downloads(
    server: Served, browser: Any, tmp_path: Path, shots: Path
) -> None:
    with server.client() as c:
        for n, name in ((10, "郑十"), (11, "王十一")):
            sent = {"file": (f"{name}.xlsx", workbook(n, author=name))}
            assert c.post("/api/v1/submissions", files=sent).status_code == 201
    context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                  viewport={"width": 1100, "height": 900})  # fmt: skip
    page = context.new_page()
    page.goto(f"{server.url}/lead")
    assert page.url.endswith("/lead/login")
    page.fill("#token", "wrong")
    page.click("#login-button")
    assert catalog("zh-CN")("serve.login.failed") in page.inner_text("main")
    page.fill("#token", TOKEN)
    page.click("#login-button")
    page.click("text=2026年Q3")
    roster = tmp_path / "名单.csv"
    roster.write_text("姓名,邮箱\n郑十,\n王十一,\n冯缺席,\n", encoding="utf-8-sig")
    page.set_input_files("#roster-file", str(roster))
    page.click("#roster-button")
    assert page.inner_text("#missing") == "冯缺席"
    assert "郑十" in page.inner_text("#submissions")
    page.screenshot(path=str(shots / "serve-lead-zh-CN.png"), full_page=True)
    with page.expect_download() as got:
        page.click("#dl-rollup-xlsx")
    team = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    assert len(team.sheetnames) > 5
    with page.expect_download() as got:
        page.click("#dl-zip")
    with zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())) as zf:
        names = zf.namelist()
    assert any(n.startswith("郑十") for n in names) and any(n.startswith("王十一") for n in names)
    page.goto(f"{page.url}?lang=en")
    assert "Not submitted (1)" in page.inner_text("#board")
    page.screenshot(path=str(shots / "serve-lead-en.png"), full_page=True)
    context.close()
