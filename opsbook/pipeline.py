"""The single-workbook pipeline: a filled workbook (a path, or bytes held in memory) in, a
Report and the Word summary's bytes out. Bytes never touch the disk; a path is only read.
The Python API (opsbook.api) and the batch (opsbook.batch) are thin layers over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.narrative import MISSING_MODES, MissingMode
from opsbook.identity import rollup_partial
from opsbook.screening import BlankWorkbook, figures_filled, refuse_lock_file
from workbook import spec as spec_mod
from workbook.errors import UsageProblem
from workbook.i18n import normalize_lang
from workbook.reader import read_workbook, read_workbook_bytes
from workbook.report import Issue, Report

Workbook = Path | bytes  # a filled workbook: its path, or its bytes (an upload, an attachment)
DEFAULT_NAME = "workbook.xlsx"  # how messages name bytes given without a name


def load_report(
    workbook: Workbook,
    name: str | None = None,
    *,
    spec: spec_mod.Spec | None = None,
    caveat: bool = True,
    unread: bool = False,
) -> Report:
    """Read a filled workbook. name: how messages name bytes (a path names itself).
    caveat: warn when it is a team roll-up whose totals cover fewer than everyone (what render
    and check say); unread: also name every filled cell nothing read (what check says)."""
    spec = spec if spec is not None else spec_mod.load()
    template_values = None
    if unread:
        from generator.xlsx_writer import static_values

        template_values = static_values
    if isinstance(workbook, bytes):
        report = read_workbook_bytes(workbook, name or DEFAULT_NAME, spec, unread=template_values)
    else:
        refuse_lock_file(workbook)
        report = read_workbook(workbook, spec, unread=template_values)
    return team_caveat(workbook, report) if caveat else report


def team_caveat(workbook: Workbook, report: Report) -> Report:
    """A team roll-up workbook whose totals cover fewer than everyone gets a warning: the KPIs
    its dashboard computes from those totals are not the team summary's (docs/rollup.md)."""
    sheet = rollup_partial(workbook)
    if sheet is not None:
        params = (("sheet", sheet),)
        report.issues.append(Issue("team_partial", "warning", "teamkpi.partial", params=params))
    return report


def missing_mode(missing: str) -> MissingMode:
    """The --missing value, checked: omit or mark."""
    if missing not in MISSING_MODES:
        raise UsageProblem("render.bad_missing", value=missing)
    return "mark" if missing == "mark" else "omit"


def summary_bytes(
    spec: spec_mod.Spec,
    report: Report,
    *,
    lang: str | None = None,
    missing: str = "omit",
    reference_docx: Path | None = None,
    charts: bool = True,
) -> bytes:
    """The Word summary of a report, as bytes (what render() writes, before its provenance)."""
    doc_lang = normalize_lang(lang or report.lang)
    mode = missing_mode(missing)
    from generator.docx_writer import build_summary  # python-docx: only render pays for it

    front = []
    if report.carried is not None:  # last period's commitments: targets against results
        from generator.targets import summary_blocks

        front = summary_blocks(spec, report, doc_lang)
    return build_summary(
        spec,
        report,
        lang=doc_lang,
        missing=mode,
        reference_docx=reference_docx,
        front_blocks=front,
        charts=charts,
    )


@dataclass(frozen=True)
class SummaryOptions:
    """How a summary is written (as for opsbook.api.render): its language (default: the
    workbook's), missing figures (omit or mark), a company's reference .docx, native charts."""

    lang: str | None = None
    missing: str = "omit"
    reference_docx: Path | None = None
    charts: bool = True

    def __post_init__(self) -> None:
        missing_mode(self.missing)  # a bad value is refused before any work

    def build(self, spec: spec_mod.Spec, report: Report) -> bytes:
        return summary_bytes(spec, report, lang=self.lang, missing=self.missing,
                             reference_docx=self.reference_docx, charts=self.charts)  # fmt: skip


def _read_for_summary(
    workbook: Workbook, name: str | None, refuse_blank: bool
) -> tuple[spec_mod.Spec, Report]:
    """The spec and the workbook's report; refuse_blank: raise BlankWorkbook when no figure is
    filled in."""
    spec = spec_mod.load()
    report = load_report(workbook, name, spec=spec)
    if refuse_blank and not figures_filled(spec, report.fields):
        raise BlankWorkbook("team.blank_template", path=report_path(workbook, name))
    return spec, report


def render_summary(
    workbook: Workbook,
    name: str | None = None,
    options: SummaryOptions | None = None,
    *,
    refuse_blank: bool = False,
) -> tuple[bytes, Report]:
    """Filled workbook -> the summary's .docx bytes and the Report it was written from."""
    options = options if options is not None else SummaryOptions()
    spec, report = _read_for_summary(workbook, name, refuse_blank)
    return options.build(spec, report), report


def report_path(workbook: Workbook, name: str | None) -> Path:
    """How messages name the workbook."""
    return Path(name or DEFAULT_NAME) if isinstance(workbook, bytes) else workbook


def require_suffix(path: Path, suffix: str) -> None:
    """Refuse an output whose name says another format (a .docx named .pdf opens nowhere)."""
    if path.suffix.lower() != suffix:
        raise UsageProblem("output.suffix", path=path, suffix=suffix)


def render_path(
    path: Path,
    out: Path | None = None,
    options: SummaryOptions | None = None,
    *,
    force: bool = False,
    record_source: bool = True,
    origin: Path | None = None,
    refuse_blank: bool = False,
) -> tuple[Path, Report]:
    """Filled workbook file -> Word summary file (opsbook.api.render: the arguments are its)."""
    from opsbook.files import check_output, write_atomic

    options = options if options is not None else SummaryOptions()
    target = out if out is not None else path.with_suffix(".docx")
    reference = options.reference_docx
    inputs = (path,) if reference is None else (path, reference)
    spec, report = _read_for_summary(path, None, refuse_blank)
    check_output(target, force=force, inputs=inputs)  # before the work of building
    require_suffix(target, ".docx")
    data = options.build(spec, report)
    if record_source:
        from opsbook import provenance

        data = provenance.stamp(data, provenance.of_source(path, origin))
    write_atomic(target, data, force=force, inputs=inputs)
    return target, report
