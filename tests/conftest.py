"""Shared fixtures. Plain helpers live in tests/helpers.py and tests/lo.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.lo import LibreOffice, find_soffice


def _missing(what: str) -> NoReturn:
    """Skip locally, but fail under CI: CI installs every tool (.ci/run) and must never skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: tests must not be skipped here)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibreOffice]:
    """A real LibreOffice with recalculate-on-load profiles private to this test session."""
    soffice = find_soffice()
    if soffice is None:
        _missing(
            "LibreOffice (soffice) is not installed: install libreoffice-calc-nogui and "
            "libreoffice-writer-nogui (Debian/Ubuntu; .ci/run does), or set $SOFFICE"
        )
    yield LibreOffice(tmp_path_factory.mktemp("libreoffice"), soffice=soffice)


@pytest.fixture(scope="session")
def poppler() -> None:
    """pdftotext, pdfinfo and pdftoppm, to read and render what LibreOffice printed."""
    absent = [t for t in ("pdftotext", "pdfinfo", "pdftoppm") if shutil.which(t) is None]
    if absent:
        _missing(f"{', '.join(absent)} not installed: install poppler-utils (.ci/run does)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, which Playwright drives (never `playwright install`)."""
    path = os.environ.get("OPSBOOK_CHROMIUM") or shutil.which("chromium")
    if path is None:
        _missing("chromium is not installed: install Debian's chromium (.ci/run does)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install '.[test]')")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL database for the store tests: OPSBOOK_TEST_PG (.ci/run starts one)."""
    url = os.environ.get("OPSBOOK_TEST_PG")
    if not url:
        _missing("no PostgreSQL: set OPSBOOK_TEST_PG=postgresql://... (.ci/run starts one)")
    return url
