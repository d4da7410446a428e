"""Errors that name the row, the field and the rule, shared by the CLI, the API and imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (row, field), which rule, and the offending value."""

    field: str
    rule: str
    row: int | None = None
    value: object = None

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{where}field '{self.field}': {self.rule}{shown}"


class InputError(ValueError):
    """Bad input: carries every problem found; nothing was written."""

    def __init__(self, problems: list[Problem] | Problem, *, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{head}{self.problems[0]}{more}")

    def lines(self, *, limit: int = 50) -> list[str]:
        """One line per problem, capped at limit with a count of the rest."""
        head = f"{self.source}: " if self.source else ""
        out = [f"{head}{p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(f"... and {len(self.problems) - limit} more problems")
        return out


class NotFound(LookupError):
    """A referenced record does not exist."""

    def __init__(self, kind: str, key: object, *, field: str | None = None) -> None:
        self.kind = kind
        self.key = key
        self.field = field or kind
        super().__init__(f"unknown {kind}: {key!r}")


class Forbidden(PermissionError):
    """The acting user's role does not allow this."""
