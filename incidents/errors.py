"""Problems found in incident data, and the one error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, located as precisely as the data allows.

    ``feature`` counts from 1 (the first feature of a file is ``#1``); ``None`` for a problem with the file
    itself.
    """

    file: str
    message: str
    feature: int | None = None
    feature_id: str | None = None
    field: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        parts = [self.file]
        if self.feature is not None:
            where = f"feature #{self.feature}"
            if self.feature_id:
                where += f" ({self.feature_id})"
            parts.append(where)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class IncidentDataError(ValueError):
    """Raised once for every problem found in a load, so that the analyst can fix them all in one pass."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the incident data:"
        super().__init__("\n".join([head, *(f"  {p}" for p in errors)]))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


def raise_if_errors(problems: Iterable[Problem]) -> None:
    collected = list(problems)
    if any(p.severity == "error" for p in collected):
        raise IncidentDataError(collected)
