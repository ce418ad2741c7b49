"""samples/ is exactly what the current code generates (regenerate: scripts/make_samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.api import demo
from tests.helpers import compare_packages

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_samples_match_the_code(tmp_path: Path, lang: str) -> None:
    written = demo(tmp_path, lang=lang)
    assert written, "demo wrote nothing"
    for path in written:
        committed = SAMPLES / path.name
        assert committed.exists(), f"samples/{path.name} is missing: run scripts/make_samples.py"
        problems = compare_packages(committed.read_bytes(), path.read_bytes())
        assert problems == [], f"samples/{path.name} is stale: run scripts/make_samples.py"


def test_the_next_period_sample_matches_the_code() -> None:
    from opsbook.nextperiod import build_next

    committed = SAMPLES / "next-zh-CN.xlsx"
    assert committed.exists(), "samples/next-zh-CN.xlsx is missing: run scripts/make_samples.py"
    fresh = build_next(SAMPLES / "sample-zh-CN.xlsx").data
    problems = compare_packages(committed.read_bytes(), fresh)
    assert problems == [], "samples/next-zh-CN.xlsx is stale: run scripts/make_samples.py"
