"""What the trend's writers (opsbook/trend_xlsx.py, opsbook/trend_docx.py) read of a trend:
the shape of opsbook.trend's Trend, Point and Row as protocols, so that the writers need not
import the module that calls them (no import cycle, not even for type checking)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workbook.report import Report
from workbook.spec import Spec


class PointView(Protocol):
    """One period of the trend."""

    @property
    def label(self) -> str: ...

    @property
    def sources(self) -> tuple[str, ...]: ...

    @property
    def report(self) -> Report: ...


class RowView(Protocol):
    """One figure over the periods."""

    @property
    def id(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def values(self) -> tuple[float | None, ...]: ...

    @property
    def changes(self) -> tuple[float | None, ...]: ...

    @property
    def in_points(self) -> bool: ...


class TrendView(Protocol):
    """The periods, the rows and the words around them, in one language."""

    @property
    def spec(self) -> Spec: ...

    @property
    def lang(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def points(self) -> Sequence[PointView]: ...

    @property
    def rows(self) -> Sequence[RowView]: ...

    @property
    def title(self) -> str: ...

    @property
    def main_ids(self) -> tuple[str, ...]: ...
