"""Problems the library reports: diagnostics about content, and the exceptions that carry them."""
from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in the content, with its place and a hint how to fix it."""

    path: str
    line: int | None
    severity: str
    message: str
    hint: str = ""
    col: int | None = None

    @property
    def place(self) -> str:
        if self.line is None:
            return self.path
        if self.col is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.col}"

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.col or 0, self.severity, self.message)

    def format(self) -> str:
        text = f"{self.place}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "col": self.col,
                "severity": self.severity, "message": self.message, "hint": self.hint}


class PledgepackError(Exception):
    """Base of every error the library raises for bad input or a failed step."""


class ContentError(PledgepackError):
    """The content has errors; `diagnostics` holds every problem found (warnings too)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == ERROR]
        super().__init__(f"{len(errors)} error(s) in the content")


class PackageInvalid(PledgepackError):
    """A built package failed validation; `report` says why."""

    def __init__(self, report):
        self.report = report
        super().__init__(f"the package is invalid: {len(report.problems)} problem(s)")
