"""opsbook: Excel workbook in, formatted Word work summary out.

The public API lives in :mod:`opsbook.api`; names are imported lazily so that the command line
starts fast.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "check",
    "demo",
    "export",
    "new_workbook",
    "next_many",
    "next_workbook",
    "read",
    "render",
    "render_many",
    "rollup",
    "summarize",
    "trend",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from opsbook import api

        return getattr(api, name)
    raise AttributeError(name)
