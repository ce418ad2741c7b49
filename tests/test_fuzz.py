"""Fuzzing the read path: the sample workbook with its bytes mutated (flip, insert, delete,
overwrite, truncate) or its XML parts mutated inside a valid zip. Every run ends in a Report and
a rendered document, or in one of the documented OpsbookErrors: never another exception, never
a hang (each example runs under an alarm).

The examples are derandomized so CI sees the same ones every run; set OPSBOOK_FUZZ_EXAMPLES to
explore more locally (for example 2000)."""

from __future__ import annotations

import io
import os
import re
import signal
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from generator.docx_writer import build_summary
from tests.badfiles import repack, sample_bytes, zip_parts
from workbook import spec as spec_mod
from workbook.errors import ExitCode, OpsbookError
from workbook.i18n import LANGS
from workbook.reader import read_workbook

EXAMPLES = int(os.environ.get("OPSBOOK_FUZZ_EXAMPLES", "0"))
SECONDS_PER_EXAMPLE = 60  # a hang guard, not a speed target: a normal example takes < 1 s
SAMPLE = sample_bytes()
PARTS = zip_parts(SAMPLE)
XML_PARTS = sorted(name for name in PARTS if name.endswith((".xml", ".rels")))
# The parts the reader's answers come from, drawn three times as often as the rest.
READ_PARTS = [n for n in XML_PARTS if n.startswith(("xl/worksheets/sheet", "xl/sharedStrings"))]
WEIGHTED_PARTS = XML_PARTS + 2 * [*READ_PARTS, "xl/workbook.xml", "docProps/custom.xml"]
SPEC = spec_mod.load()

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    # No "explain" phase: it traces every line run, slowing an example many times over.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(BaseException):
    """Raised by the alarm; a BaseException so no `except Exception` on the way can hide it."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="opsbook-fuzz-") as name:
        yield Path(name)


def read_and_render(data: bytes, folder: Path) -> str:
    """Read (and, if it reads, render) one mutated workbook: "rendered" or the error's key.
    Anything but a documented OpsbookError escapes and fails the test."""
    path = folder / "mutated.xlsx"
    path.write_bytes(data)
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            report = read_workbook(path)
            for lang in LANGS:
                for issue in report.issues:
                    assert "\n" not in issue.message(lang)
            document = build_summary(SPEC, report, lang=report.lang)
        except OpsbookError as exc:
            assert exc.exit_code in (ExitCode.UNREADABLE, ExitCode.UNSAFE), exc.key
            for lang in LANGS:
                message = exc.message(lang)
                assert "\n" not in message and str(path) in message
            return exc.key
    with zipfile.ZipFile(io.BytesIO(document)) as docx:
        assert "word/document.xml" in docx.namelist() and docx.testzip() is None
    return "rendered"


# --- Mutating bytes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    kind: str  # flip, insert, delete, overwrite, truncate
    at: int
    bit: int = 0
    length: int = 0
    data: bytes = b""


_N = len(SAMPLE)
BYTE_EDIT = st.one_of(
    st.builds(Edit, st.just("flip"), st.integers(0, _N - 1), bit=st.integers(0, 7)),
    st.builds(Edit, st.just("insert"), st.integers(0, _N), data=st.binary(min_size=1, max_size=64)),
    st.builds(Edit, st.just("delete"), st.integers(0, _N - 1), length=st.integers(1, 512)),
    st.builds(
        Edit, st.just("overwrite"), st.integers(0, _N - 1), data=st.binary(min_size=1, max_size=16)
    ),
    st.builds(Edit, st.just("truncate"), st.integers(0, _N - 1)),
)


def apply_byte_edits(data: bytes, edits: list[Edit]) -> bytes:
    buf = bytearray(data)
    for edit in edits:
        at = min(edit.at, len(buf))
        if edit.kind == "flip" and at < len(buf):
            buf[at] ^= 1 << edit.bit
        elif edit.kind == "insert":
            buf[at:at] = edit.data
        elif edit.kind == "delete":
            del buf[at : at + edit.length]
        elif edit.kind == "overwrite":
            buf[at : at + len(edit.data)] = edit.data
        elif edit.kind == "truncate":
            del buf[at:]
    return bytes(buf)


@settings(FUZZ, max_examples=EXAMPLES or 150)
@given(edits=st.lists(BYTE_EDIT, min_size=1, max_size=4))
def test_mutated_bytes_end_in_a_document_or_a_documented_error(
    edits: list[Edit], folder: Path
) -> None:
    read_and_render(apply_byte_edits(SAMPLE, edits), folder)


# --- Mutating XML inside a valid zip ------------------------------------------------------------

# Fragments that matter to a spreadsheet reader: markup, cell types, references, odd numbers.
TOKENS = [
    "<", ">", "/>", "</c>", "</row>", "<c>", '<c r="A1">', "<v>", "</v>", "<f>", "</f>", "&amp;",
    "&", "&#0;", "&#xD800;", '"', "'", "=", "<!--", "-->", "<![CDATA[", "]]>", 't="s"', 't="e"',
    't="b"', 't="str"', 't="inlineStr"', 't="d"', 's="9999"', 'r="XFD1048576"', 'r="A0"',
    'r="ZZZZ1"', "<v>1e308</v>", "<v>-0</v>", "<v>NaN</v>", "<v>#DIV/0!</v>", "#REF!",
    "'Sheet'!$A$1", "$B$999999", "_x000B_", "_xD83D_", "\u00a0", "\ufeff", "\u202e", "9" * 40,
    "-1", "0", "1.5", "2026-13-45", "x:",
]  # fmt: skip
VALUES = [
    "", "0", "-1", "1.5", "1e308", "-0", "NaN", "inf", "99999999999999999999", "#DIV/0!", "#N/A",
    "TRUE", "2026-13-45", "45292", "12%", "¥1,286,500", "约三万", "_x000B_", "_xD83D_", "\u202e",
    "=SUM(A1:A3)", "'Sheet'!$A$1", "$B$999999", "A1:XFD1048576", "#REF!", "s", "e", "str", "n",
]  # fmt: skip
NUMBER = re.compile(r"\d+")
# A value to replace: cell values and strings, attribute values (not namespaces), defined names.
VALUE = re.compile(
    r'(?:<v>|<t>|<t xml:space="preserve">)(?P<text>[^<]*)<'
    r'| (?P<attr>[A-Za-z]+)="(?P<value>[^"]*)"'
    r'|<definedName name="[^"]*">(?P<name>[^<]*)<'
)
KINDS = [*["value"] * 5, "number", "number", "insert", "delete", "duplicate", "swap"]


@st.composite
def xml_mutation(draw: st.DrawFn) -> tuple[str, str]:
    """A part name and its mutated text: mostly edits that keep the XML well formed (a value,
    an attribute, a number), so the reader and the renderer see them, plus some that break it.
    Positions are drawn uniformly (Hypothesis favours small integers, which would all land in
    the XML declaration, left alone here: the byte fuzzing covers it)."""
    name = draw(st.sampled_from(WEIGHTED_PARTS))
    text = PARTS[name].decode("utf-8")
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(1, 4))):
        prolog = text.find("?>") + 2
        n = len(text)
        at = rnd.randint(prolog, n)
        kind = draw(st.sampled_from(KINDS))
        if kind in ("value", "number"):
            if kind == "value":
                spans = [
                    m.span(group)
                    for m in VALUE.finditer(text, prolog)
                    if m.group("attr") != "xmlns"
                    for group in ("text", "value", "name")
                    if m.start(group) >= 0
                ]
                new = escape(draw(st.sampled_from(VALUES)), {'"': "&quot;"})
            else:
                spans = [m.span() for m in NUMBER.finditer(text, prolog)]
                new = str(draw(st.integers(-(10**9), 10**12)))
            if spans:
                start, end = spans[rnd.randrange(len(spans))]
                text = text[:start] + new + text[end:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)) :]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + draw(st.integers(1, 400))] + text[at:]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        else:
            a, b = sorted((at, rnd.randint(prolog, n)))
            width = min(draw(st.integers(1, 60)), b - a)
            text = (
                text[:a]
                + text[b : b + width]
                + text[a + width : b]
                + text[a : a + width]
                + (text[b + width :])
            )
    return name, text


@settings(FUZZ, max_examples=EXAMPLES or 100)
@given(mutation=xml_mutation())
def test_mutated_xml_ends_in_a_document_or_a_documented_error(
    mutation: tuple[str, str], folder: Path
) -> None:
    name, text = mutation
    parts = dict(PARTS)
    parts[name] = text.encode("utf-8", errors="surrogatepass")
    read_and_render(repack(parts), folder)


def test_the_unmutated_sample_renders(folder: Path) -> None:
    """The baseline the fuzzing starts from really is read and rendered."""
    assert read_and_render(SAMPLE, folder) == "rendered"
    assert read_and_render(repack(dict(PARTS)), folder) == "rendered"


# --- What the fuzzing found, kept as plain tests --------------------------------------------------


def _retarget(name: str, reference: str) -> bytes:
    """The sample with the defined name `name` pointed at `reference` on its own sheet."""
    parts = dict(PARTS)
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    found = re.search(rf'(<definedName name="{name}">[^<]*!)[^<]*(</definedName>)', workbook)
    assert found is not None
    parts["xl/workbook.xml"] = (
        workbook[: found.start()] + found.group(1) + reference + found.group(2)
        + workbook[found.end() :]
    ).encode("utf-8")  # fmt: skip
    return repack(parts)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        # A table's range stretched by a digit: the reader walked 33 billion rows (a hang).
        (SPEC.tables[0].id, "$A$24:$E$33000000000"),
        (SPEC.tables[0].id, "$A$24:$E$&#51;3000000"),  # the same, as character references
        # Past Excel's last row, and row 0: openpyxl's ws.cell() raised ValueError.
        ("gmv", "$B$1048577"),
        ("gmv", "$B$0"),
    ],
)
def test_defined_names_the_fuzzing_broke(name: str, reference: str, folder: Path) -> None:
    read_and_render(_retarget(name, reference), folder)
