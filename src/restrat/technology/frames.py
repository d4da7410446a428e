"""A DataFrame helper shared by the technology modules."""

from __future__ import annotations

import pandas as pd


def looked_up(keys: pd.Series, values: pd.Series, default: str = "") -> pd.Series:
    """values[key] for each key, default where there is none (text stays text even when nothing matches)."""
    return pd.Series(values.astype(object).reindex(keys.to_numpy()).fillna(default).to_numpy(), index=keys.index,
                     dtype=object)
