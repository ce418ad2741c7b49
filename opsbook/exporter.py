"""Export: every field, KPI and table value of a report, keyed by id, as JSON or CSV text."""

from __future__ import annotations

from typing import Literal

from workbook.errors import UsageProblem
from workbook.report import Report

ExportFormat = Literal["json", "csv"]


def export_report(report: Report, fmt: ExportFormat) -> str:
    """JSON: {"template", "fields", "kpis", "tables", "warnings"}; CSV: kind,id,value,cell rows.
    Dates are ISO 8601, blanks are null (JSON) or empty (CSV); messages in the workbook's language.
    Another format raises UsageProblem."""
    if fmt == "json":
        return _json(report)
    if fmt == "csv":
        return _csv(report)
    raise UsageProblem("app.export_format", fmt=fmt)


def _plain(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _json(report: Report) -> str:
    import json

    data = {
        "template": {
            "id": report.template_id,
            "version": report.template_version,
            "lang": report.lang,
        },
        "fields": {k: _plain(x) for k, x in report.fields.items()},
        "kpis": dict(report.kpis),
        "tables": {
            k: [{c: _plain(x) for c, x in row.items()} for row in rows]
            for k, rows in report.tables.items()
        },
        "warnings": [
            {
                "severity": issue.severity,
                "kind": issue.kind,
                "id": issue.id,
                "cell": issue.cell,
                "message": issue.message(report.lang),
            }
            for issue in report.issues
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _text(value: object) -> str:
    from workbook.values import number_text

    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return str(_plain(value))


def _csv(report: Report) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "id", "value", "cell"])
    for id_, value in report.fields.items():
        writer.writerow(["field", id_, _text(value), report.cells.get(id_, "")])
    for id_, kpi in report.kpis.items():
        writer.writerow(["kpi", id_, _text(kpi), report.cells.get(id_, "")])
    for table_id, rows in report.tables.items():
        for number, row in enumerate(rows, 1):
            for column, value in row.items():
                key = f"{table_id}.{number}.{column}"
                writer.writerow(["table", key, _text(value), report.cells.get(key, "")])
    return out.getvalue()
