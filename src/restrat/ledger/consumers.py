"""What other capabilities learn from each import, inside its transaction: the rows it writes, set-wise.

Quota use (mining by REO extracted, separation by REO processed) and licence use (exports) must move with the
ledger and never drift from it, so they are applied in the same transaction as the events that cause them. Each
entry of CONSUMERS names a function `fn(*, session, written)` by "module:function"; it is imported when first
needed, so the ledger does not depend on the capabilities that read it. A consumer takes the import's rows from
`Written` and never reads them back: the event rows are copied in after the consumers run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

CONSUMERS: tuple[str, ...] = ("restrat.quota.consumption:on_import",
                              "restrat.exports.licences:consume_ledger_exports",
                              "restrat.industry.production:on_import",
                              "restrat.industry.valueday:on_import")


@dataclass(frozen=True)
class Written:
    """The rows one import appended, as tables keyed by the stored ids.

    events: event_id, uid, kind, facility_id, partner_facility_id (-1 none), at_epoch_s, quota_ref, licence_ref,
            country, reo_in_kg (REO of the inputs consumed), reo_out_kg (REO of the outputs produced)
    inputs: event_id, batch_id, kg (gross), reo_kg, form
    outputs: event_id, batch_id, facility_id (where it is held), form, kg (gross), reo_kg
    in_comp, out_comp: (len(inputs), 17) and (len(outputs), 17) float32 REO fractions per element in catalog
            order, as stored, row for row with inputs and outputs, so no consumer reads them back
    """

    events: pd.DataFrame
    inputs: pd.DataFrame
    outputs: pd.DataFrame
    in_comp: np.ndarray
    out_comp: np.ndarray


@cache
def _resolve(target: str) -> Callable[..., None]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def notify(*, session: Session, written: Written, consumers: tuple[str, ...] | None = None) -> None:
    """Hand the rows of an import to every consumer, in order, inside the import's transaction."""
    for target in CONSUMERS if consumers is None else consumers:
        _resolve(target)(session=session, written=written)
