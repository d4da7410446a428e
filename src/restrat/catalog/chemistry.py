"""Pure chemistry: parse oxide formulas and compute oxide/metal mass factors from atomic weights."""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)")


def parse_formula(formula: str) -> dict[str, int]:
    """Atom counts of a simple formula such as 'Pr6O11' -> {'Pr': 6, 'O': 11}."""
    if not formula or _TOKEN.sub("", formula):
        raise ValueError(f"not a simple chemical formula: {formula!r}")
    counts: dict[str, int] = {}
    for symbol, n in _TOKEN.findall(formula):
        counts[symbol] = counts.get(symbol, 0) + (int(n) if n else 1)
    return counts


def formula_mass(formula: str, weights: Mapping[str, float]) -> float:
    """Molar mass of formula in g/mol from the given atomic weights."""
    return sum(weights[s] * n for s, n in parse_formula(formula).items())


def oxide_to_metal_factor(element: str, oxide_formula: str, weights: Mapping[str, float]) -> float:
    """Mass of metal in one unit mass of its oxide (t metal per t oxide)."""
    counts = parse_formula(oxide_formula)
    if element not in counts:
        raise ValueError(f"{oxide_formula} does not contain {element}")
    return counts[element] * weights[element] / formula_mass(oxide_formula, weights)
