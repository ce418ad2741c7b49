"""opsbook: Excel workbook in, formatted Word work summary out.

The public API: the functions of :mod:`opsbook.api` and the types they return, documented in
docs/python-api.md. Names are imported lazily, so that the command line starts fast::

    from opsbook import render, check, Report
    docx, report = render(Path("filled.xlsx").read_bytes(), name="filled.xlsx")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsbook.version import __version__

if TYPE_CHECKING:
    from opsbook.api import (
        check,
        demo,
        export,
        new_workbook,
        new_workbook_bytes,
        next_many,
        next_workbook,
        read,
        render,
        render_many,
        rollup,
        summarize,
        trend,
    )
    from opsbook.batch import BatchRun
    from opsbook.messages import Message
    from opsbook.results import BatchResult, BatchSummary
    from opsbook.team.outputs import Rollup
    from workbook.errors import OpsbookError
    from workbook.report import Issue, Report

# name -> the module it lives in
_TYPES = {
    "Report": "workbook.report",
    "Issue": "workbook.report",
    "OpsbookError": "workbook.errors",
    "Rollup": "opsbook.team.outputs",
    "BatchResult": "opsbook.results",
    "BatchRun": "opsbook.batch",
    "BatchSummary": "opsbook.results",
    "Message": "opsbook.messages",
}

__all__ = [
    "BatchResult",
    "BatchRun",
    "BatchSummary",
    "Issue",
    "Message",
    "OpsbookError",
    "Report",
    "Rollup",
    "__version__",
    "check",
    "demo",
    "export",
    "new_workbook",
    "new_workbook_bytes",
    "next_many",
    "next_workbook",
    "read",
    "render",
    "render_many",
    "rollup",
    "summarize",
    "trend",
]


def __dir__() -> list[str]:
    """The public names (loaded lazily, so that help(opsbook) and tab completion list them)."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    import importlib

    if name in __all__ and name not in _TYPES:
        return getattr(importlib.import_module("opsbook.api"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(name)
