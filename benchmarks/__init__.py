"""restrat benchmarks: `make bench` (python -m benchmarks). Each figure is printed beside a naive baseline
measured in the same run, because this shared machine is noisy: ratios hold, absolute times drift."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

COLUMNS = ("measure", "restrat", "naive baseline", "ratio", "notes")


def markdown_table(rows: Iterable[Sequence[str]], columns: Sequence[str] = COLUMNS) -> str:
    """Rows of figures as the Markdown table the README quotes."""
    lines = [f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)
