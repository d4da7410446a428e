"""Check the stored ledger against its hash chain: the first altered, missing, inserted or reordered event."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.ledger.chain import Canonical, chain, digests


@dataclass
class VerifyResult:
    ok: bool
    events_checked: int
    head_chain_hex: str
    first_bad_event_id: int | None = None
    first_bad_uid: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _col(rows: list[tuple], i: int) -> list:
    return [r[i] for r in rows]


def verify(*, session: Session) -> VerifyResult:
    """Recompute every event's digest from the stored rows and the chain over them; report the first break."""
    head = session.execute(text("SELECT last_event_id, last_chain FROM ledger_head WHERE id = 1")).one()
    facilities = dict(session.execute(text("SELECT id, code FROM facility")).all())
    ev = session.execute(text(
        "SELECT id, uid, kind, facility_id, partner_facility_id, at_epoch_s, ref_event_id, declared_kg, declared_comp, "
        "quota_ref, licence_ref, country, note, digest, chain FROM ledger_event ORDER BY id")).all()
    n = len(ev)
    if n == 0:
        if int(head[0]) != 0:
            return VerifyResult(False, 0, bytes(head[1]).hex(), int(head[0]), None,
                                f"the ledger head says {head[0]} events but none are stored")
        return VerifyResult(True, 0, bytes(head[1]).hex())
    ids = np.array(_col(ev, 0), dtype=np.int64)
    uids = _col(ev, 1)
    uid_by_id = dict(zip(ids.tolist(), uids, strict=True))
    ins = session.execute(text(
        "SELECT i.event_id, b.code, i.kg FROM ledger_input i JOIN ledger_batch b ON b.id = i.batch_id "
        "ORDER BY i.event_id, i.id")).all()
    outs = session.execute(text(
        "SELECT event_id, code, form, gross_kg, reo_kg, comp FROM ledger_batch ORDER BY event_id, id")).all()
    pos = {int(i): k for k, i in enumerate(ids.tolist())}
    in_keep = [r for r in ins if r[0] in pos]
    out_keep = [r for r in outs if r[0] in pos]
    canon = Canonical(
        uid=uids, kind=_col(ev, 2), at=np.array(_col(ev, 5), dtype=np.int64),
        facility=[facilities.get(f) for f in _col(ev, 3)],
        partner=[facilities.get(f) if f is not None else None for f in _col(ev, 4)],
        ref_uid=[uid_by_id.get(r, f"#missing:{r}") if r is not None else None for r in _col(ev, 6)],
        declared_kg=np.array([np.nan if v is None else v for v in _col(ev, 7)], dtype=np.float64),
        quota_ref=_col(ev, 9), licence_ref=_col(ev, 10), country=_col(ev, 11), note=_col(ev, 12),
        declared_comp=[bytes(c) if c is not None else None for c in _col(ev, 8)],
        in_ev=np.array([pos[r[0]] for r in in_keep], dtype=np.int64), in_batch=_col(in_keep, 1),
        in_kg=np.array(_col(in_keep, 2), dtype=np.float64),
        out_ev=np.array([pos[r[0]] for r in out_keep], dtype=np.int64), out_batch=_col(out_keep, 1),
        out_form=_col(out_keep, 2), out_kg=np.array(_col(out_keep, 3), dtype=np.float64),
        out_reo_kg=np.array(_col(out_keep, 4), dtype=np.float64), out_comp=[bytes(c) for c in _col(out_keep, 5)],
    )
    recomputed = digests(canon)
    stored_digest = [bytes(d) for d in _col(ev, 13)]
    stored_chain = [bytes(c) for c in _col(ev, 14)]
    links = chain(recomputed)
    expected_ids = np.arange(1, n + 1)
    problems: list[tuple[int, str]] = []
    gap = np.flatnonzero(ids != expected_ids)
    if len(gap):
        k = int(gap[0])
        problems.append((k, f"event id {int(expected_ids[k])} is missing (deleted) before event {int(ids[k])}"))
    bad_digest = next((k for k in range(n) if recomputed[k] != stored_digest[k]), None)
    if bad_digest is not None:
        problems.append((bad_digest, "content altered: the stored rows no longer match the event's digest"))
    bad_link = next((k for k in range(n) if links[k] != stored_chain[k]), None)
    if bad_link is not None:
        problems.append((bad_link, "chain broken: an event before it was altered, deleted, inserted or reordered"))
    if not problems and (int(head[0]) != int(ids[-1]) or bytes(head[1]) != stored_chain[-1]):
        problems.append((n - 1, f"the ledger head says the last event is {head[0]}; events after "
                                f"{int(ids[-1])} were deleted or the head was altered"))
    if problems:
        k, what = min(problems, key=lambda p: p[0])
        return VerifyResult(False, n, links[-1].hex(), int(ids[k]), uids[k], what)
    return VerifyResult(True, n, links[-1].hex())
