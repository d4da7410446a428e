"""What the reference-data pages say about each shipped file: size, status mix and the SOURCES.md entry."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

from restrat.catalog import reference

STATUS_COLUMNS = ("status", "code_status")
# Files without a status column take one status for every row, read from how SOURCES.md names them; a file it
# calls unverified (its title says so) is not labelled seen.
_NAME_STATUS = (("recalled", "recalled"), ("DERIVED", "derived"), ("thirdparty_approx", "thirdparty_approx"),
                ("secondary", "secondary"))
_REGULATORY_NOTE = ("China rare-earth regulation reference data: every row carries its own source (a URL, or "
                    "repository:path) and a status: seen (the value appears in that source), derived (arithmetic on "
                    "seen values, derivation in the note) or recalled (an unverified value with source 'none', kept "
                    "only to mark a gap). Several sources in one cell are separated by ' ; '. A summary of the rules "
                    "is in REGULATORY.md.")


@cache
def _sources_sections() -> dict[str, str]:
    text = (reference.REFERENCE / "SOURCES.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    for block in re.split(r"\n(?=#{2,3} )", text):
        head = re.match(r"### `([^`]+)`", block)
        if head:
            body = block.split("\n", 1)[1] if "\n" in block else ""
            # Shown as plain text: drop the Markdown emphasis and code marks.
            sections[head.group(1)] = re.sub(r"\*\*|`", "", body).strip()
    return sections


def provenance(name: str) -> str:
    """The SOURCES.md entry of a shipped file (plain text), or the rule every regulatory file follows."""
    found = _sources_sections().get(name)
    if found:
        return found
    if name.startswith(("cn_", "gb26451")) or name == "ree_element_classes.csv":
        return _REGULATORY_NOTE
    return "No entry in SOURCES.md."


def status_column(columns: list[str]) -> str | None:
    """The column holding a per-row status, if the file has one."""
    return next((c for c in STATUS_COLUMNS if c in columns), None)


def file_status(name: str) -> str:
    """The status of a file without a per-row status column."""
    found = next((status for marker, status in _NAME_STATUS if marker in name), None)
    if found:
        return found
    title = reference.DATASETS.get(name, {}).get("title", "")
    return "unverified" if "unverified" in title.lower() else "seen"


def summary(name: str) -> dict[str, Any]:
    """Title, licence, aspect, row count and status counts of one shipped reference file."""
    meta = reference.DATASETS[name]
    frame = reference.read(name)
    col = status_column(list(frame.columns))
    statuses = Counter(frame[col]) if col else Counter({file_status(name): len(frame)})
    return {"name": name, "title": meta["title"], "licence": meta["licence"], "aspect": meta["aspect"],
            "rows": len(frame), "statuses": dict(statuses.most_common()), "per_row": col is not None}
