"""Synthetic ledger generator: an ILLUSTRATIVE mine-to-magnet chain with injected anomalies and their ground truth.

Mines carry the element distributions of `ree_deposit_distribution_recalled.csv` (RECALLED literature values,
unverified): rock-type mines the Bayan Obo profile, ionic-clay mines the Longnan (high-Y) or Xunwu profiles,
imported concentrate the Mount Weld or Mountain Pass profiles. Each day every separation plant runs one
campaign: three mines extract and ship concentrate to it (sometimes with an import), it separates the blend
into grouped oxides (PrNd, La-Ce, Sm-Eu-Gd, Tb-Dy, Y and heavy), disposes of its residue, ships PrNd oxide to
a metal plant and Tb-Dy oxide to a magnet maker, exports La-Ce oxide, and counts its stock. The metal plant
makes PrNd metal, the magnet maker NdFeB magnets, which are exported.

Anomalies (`KINDS`) are injected into distinct campaigns at `anomaly_rate` x events; each is written to
`truth.jsonl` as `{"kind": ..., "event_ids": [...], "facility": ..., "note": ...}` (see docs/ledger-anomalies.md).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.catalog.service import ELEMENTS
from restrat.ledger.format import ARROW_SCHEMA, COMPOSITION, INPUT, OUTPUT

KINDS = ("over_quota", "no_quota", "origin_mismatch", "element_gain", "unreceived_transfer", "transfer_mismatch",
         "double_consumption", "unknown_origin", "stock_discrepancy")
DEPOSITS = "ree_deposit_distribution_recalled.csv"
PROFILE_OF = {"rock": "Bayan Obo", "ionic_y": "Longnan", "ionic_l": "Xunwu", "import_au": "Mount Weld",
              "import_us": "Mountain Pass"}
GROUPS = {"PRND": ("Pr", "Nd"), "LACE": ("La", "Ce"), "SEG": ("Sm", "Eu", "Gd"), "TBDY": ("Tb", "Dy"),
          "YH": ("Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc")}
EL = {e: i for i, e in enumerate(ELEMENTS)}
END = dt.datetime(2026, 9, 30, tzinfo=dt.UTC)  # the ledger ends here and starts as far back as its size needs
EVENTS_PER_CAMPAIGN = 22  # on average; sizes the run
SEP_KEEP, METAL_KEEP, MAGNET_KEEP, RESIDUE_SHARE = 0.97, 0.985, 0.98, 0.004
MAGNET_REO_GRADE = 0.31  # NdFeB is about 31% rare earth by mass; the rest is iron and boron added at the plant
# (stage, ore type, count, region, lat, lon): locations are illustrative, around the real producing regions.
LAYOUT = [
    ("mining", "rock", 12, "Inner Mongolia", 41.8, 109.9), ("mining", "ionic", 24, "Jiangxi", 25.2, 115.0),
    ("separation", "none", 8, "Inner Mongolia", 40.6, 110.0), ("separation", "none", 8, "Jiangxi", 25.8, 114.9),
    ("metal", "none", 8, "Jiangxi", 26.5, 115.5), ("material", "none", 10, "Zhejiang", 29.9, 121.5),
]
DESTINATIONS = ("Japan", "Germany", "United States", "Korea, Republic of", "Viet Nam", "Netherlands")


@dataclass
class SynthLedger:
    """A generated ledger: events in the interchange schema, the registry and quotas it needs, and the truth."""

    events: pa.Table
    facilities: pd.DataFrame
    quotas: pd.DataFrame
    truth: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)


def deposit_profiles() -> dict[str, np.ndarray]:
    """17-element REO fractions per deposit profile, from the recalled deposit table ('trace' counts as 0)."""
    df = reference.read(DEPOSITS)
    out: dict[str, np.ndarray] = {}
    for key, name in PROFILE_OF.items():
        rows = df[df["deposit"].str.startswith(name)]
        vec = np.zeros(len(ELEMENTS))
        for el, value in zip(rows["element"], rows["value"], strict=True):
            try:
                vec[EL[el]] = float(value)
            except ValueError:
                continue
        out[key] = vec / vec.sum()
    return out


def _facilities() -> pd.DataFrame:
    rows, rng = [], np.random.default_rng(0)  # fixed layout, independent of the event seed
    for stage, ore, count, region, lat, lon in LAYOUT:
        for k in range(count):
            tag = {"mining": "MIN", "separation": "SEP", "metal": "MET", "material": "MAG"}[stage]
            code = f"SYN-{tag}-{ore[0].upper() + '-' if stage == 'mining' else ''}{region[:2].upper()}{k + 1:02d}"
            rows.append({"code": code, "name": f"Synthetic {stage} {region} {k + 1}", "enterprise": f"E-{code}",
                         "stage": stage, "ore_type": ore, "region": region, "country": "China",
                         "lat": round(lat + rng.normal(0, 0.4), 4), "lon": round(lon + rng.normal(0, 0.4), 4),
                         "data_status": "illustrative",
                         "source": "restrat synth ledger: ILLUSTRATIVE facility, not a real plant"})
    return pd.DataFrame(rows)


class _Builder:
    """Accumulates events column-wise and keeps every separation plant's custody book: what the ledger says it holds
    (batches produced there or shipped to it, less what is consumed of them), as the stock-count rule reads it."""

    def __init__(self) -> None:
        self.ev: dict[str, list[Any]] = {f.name: [] for f in ARROW_SCHEMA if f.name not in ("inputs", "outputs",
                                                                                              "stock_composition")}
        self.at: list[int] = []
        self.inputs: list[list[tuple[str, float]]] = []
        self.outputs: list[list[tuple[str, str, float, float, np.ndarray]]] = []
        self.batch: dict[str, tuple[str, float, float, np.ndarray]] = {}  # code -> holder, gross kg, REO kg, comp
        self.stock: dict[str, float] = {}  # separation plant -> book REO kg
        self.extractions: list[tuple[int, str, int, float]] = []  # event index, mine, year, REO kg (with quota)

    def add(self, uid: str, kind: str, when: dt.datetime, facility: str, *, inputs: list[tuple[str, float]] = (),
            outputs: list[tuple[str, str, float, float, np.ndarray]] = (), **fields: Any) -> int:
        idx = len(self.at)
        for name, col in self.ev.items():
            col.append(fields.get(name))
        self.ev["event_id"][idx], self.ev["kind"][idx], self.ev["facility"][idx] = uid, kind, facility
        self.ev["time"][idx] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.at.append(int(when.timestamp()))
        for code, kg in inputs:
            holder, gross, reo, _ = self.batch[code]
            if holder in self.stock:
                self.stock[holder] -= kg / gross * reo
        holder = fields["partner_facility"] if kind == "shipment" else facility
        for code, _form, kg, grade, comp in outputs:
            self.batch[code] = (holder, kg, kg * grade, comp)
            if holder in self.stock:
                self.stock[holder] += kg * grade
        self.inputs.append(list(inputs))
        self.outputs.append(list(outputs))
        return idx

    def table(self) -> pa.Table:
        """The events as an Arrow table in the interchange schema, in time order."""
        n = len(self.at)
        cols: dict[str, pa.Array] = {}
        for f in ARROW_SCHEMA:
            if f.name == "inputs":
                cols[f.name] = _list_array(self.inputs, INPUT, lambda items: {
                    "batch": pa.array([b for b, _ in items], pa.string()),
                    "mass_kg": pa.array([k for _, k in items], pa.float64())})
            elif f.name == "outputs":
                cols[f.name] = _list_array(self.outputs, OUTPUT, _output_fields)
            elif f.name == "stock_composition":
                cols[f.name] = pa.nulls(n, COMPOSITION)
            else:
                cols[f.name] = pa.array(self.ev[f.name], f.type)
        table = pa.table(cols, schema=ARROW_SCHEMA)
        order = np.argsort(np.asarray(self.at, dtype=np.int64), kind="stable")
        return table.take(pa.array(order))


def _output_fields(items: list[tuple[str, str, float, float, np.ndarray]]) -> dict[str, pa.Array]:
    comp = np.vstack([c for *_, c in items]) if items else np.zeros((0, len(ELEMENTS)))
    return {"batch": pa.array([o[0] for o in items], pa.string()), "form": pa.array([o[1] for o in items], pa.string()),
            "mass_kg": pa.array([o[2] for o in items], pa.float64()),
            "reo_grade": pa.array([o[3] for o in items], pa.float64()),
            "composition": pa.StructArray.from_arrays([pa.array(comp[:, i]) for i in range(len(ELEMENTS))],
                                                      fields=list(COMPOSITION))}


def _list_array(lists: list[list[Any]], item_type: pa.StructType, fields_of: Any) -> pa.Array:
    offsets = np.zeros(len(lists) + 1, dtype=np.int32)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    flat = [item for x in lists for item in x]
    values = pa.StructArray.from_arrays(list(fields_of(flat).values()), fields=list(item_type))
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=pa.list_(item_type))


def _noisy(rng: np.random.Generator, profile: np.ndarray, sd: float = 0.03) -> np.ndarray:
    """A batch's composition: the deposit profile with multiplicative noise, renormalised."""
    v = profile * rng.lognormal(0.0, sd, size=profile.shape)
    return v / v.sum()


def generate(*, events: int = 100_000, seed: int = 1, anomaly_rate: float = 0.01) -> SynthLedger:
    """Generate an ILLUSTRATIVE ledger of about `events` events with injected anomalies and their truth."""
    if events < EVENTS_PER_CAMPAIGN:
        raise ValueError(f"events must be at least {EVENTS_PER_CAMPAIGN}")
    if not 0 <= anomaly_rate <= 0.03:
        raise ValueError("anomaly_rate must be between 0 and 0.03 (one anomaly per campaign at most)")
    rng = np.random.default_rng(seed)
    profiles = deposit_profiles()
    fac = _facilities()
    by = {k: fac.loc[(fac.stage == s) & ((fac.ore_type == o) if o else True), "code"].tolist()
          for k, s, o in [("rock", "mining", "rock"), ("ionic", "mining", "ionic"), ("met", "metal", None),
                          ("mag", "material", None)]}
    seps = fac.loc[fac.stage == "separation", ["code", "region"]]
    north = set(seps.loc[seps.region == "Inner Mongolia", "code"])
    mine_profile = {m: "rock" for m in by["rock"]} | {m: ("ionic_y" if i % 2 == 0 else "ionic_l")
                                                      for i, m in enumerate(by["ionic"])}
    b = _Builder()
    b.stock = {s: 0.0 for s in seps.code}
    n_campaigns = max(1, round(events / EVENTS_PER_CAMPAIGN))
    n_anomalies = min(n_campaigns, round(anomaly_rate * events))
    chosen = rng.choice(n_campaigns, size=n_anomalies, replace=False)
    inject = {int(c): KINDS[i % len(KINDS)] for i, c in enumerate(chosen)}
    truth: list[dict[str, Any]] = []
    over_quota: list[tuple[int, str, int]] = []  # event index, mine, year: mass fixed once quotas are known
    sep_codes = seps.code.tolist()
    start = END - dt.timedelta(days=math.ceil(n_campaigns / len(sep_codes)))

    for c in range(n_campaigns):
        sep = sep_codes[c % len(sep_codes)]
        day = start + dt.timedelta(days=c // len(sep_codes))
        year = day.year
        anomaly = inject.get(c)
        tag = f"{sep[4:]}-{c:07d}"

        def h(hours: float, _day: dt.datetime = day) -> dt.datetime:
            return _day + dt.timedelta(hours=hours)

        # Laundering moves rock-mine output south, so an origin mismatch may also reach an ionic-clay plant.
        pool = by["rock"] if sep in north or anomaly == "origin_mismatch" else by["ionic"]
        mines = [pool[i] for i in rng.choice(len(pool), size=3, replace=False)]
        sep_inputs: list[tuple[str, float]] = []
        for k, mine in enumerate(mines):
            rock = mine_profile[mine] == "rock"
            grade = rng.uniform(0.45, 0.6) if rock else rng.uniform(0.88, 0.93)
            kg = round(rng.uniform(20_000, 60_000) if rock else rng.uniform(2_000, 9_000), 1)
            comp = _noisy(rng, profiles[mine_profile[mine]])
            x_uid = f"X-{tag}-{k}"
            quota = f"Q-{mine}-{year}"
            if anomaly == "origin_mismatch" and k == 0 and rock:
                comp = _noisy(rng, profiles["ionic_y"])
                truth.append({"kind": anomaly, "event_ids": [x_uid], "facility": mine,
                              "note": "rock-type mine declares an ionic-clay heavy rare earth signature"})
            if anomaly == "no_quota" and k == 0:
                quota = None
                truth.append({"kind": anomaly, "event_ids": [x_uid], "facility": mine,
                              "note": "extraction reported without a quota"})
            form = "concentrate"
            xi = b.add(x_uid, "extraction", h(k * 0.5), mine, outputs=[(f"C-{tag}-{k}", form, kg, grade, comp)],
                       quota_id=quota)
            if quota is not None:
                b.extractions.append((xi, mine, year, kg * grade))
            if anomaly == "unknown_origin" and k == 0:
                # The plant consumes concentrate that never left the mine on record.
                sep_inputs.append((f"C-{tag}-{k}", kg))
                continue
            s_uid = f"S-{tag}-{k}"
            b.add(s_uid, "shipment", h(3), mine, partner_facility=sep,
                  inputs=[(f"C-{tag}-{k}", kg)], outputs=[(f"CT-{tag}-{k}", form, kg, grade, comp)])
            received = kg
            if anomaly == "transfer_mismatch" and k == 0:
                received = round(kg * rng.uniform(0.8, 0.9), 1)
                truth.append({"kind": anomaly, "event_ids": [s_uid, f"R-{tag}-{k}"], "facility": sep,
                              "note": f"received {received} kg of {kg} kg shipped"})
            if anomaly == "unreceived_transfer" and k == 0:
                truth.append({"kind": anomaly, "event_ids": [s_uid], "facility": mine,
                              "note": "shipment never confirmed by the receiving plant"})
            else:
                b.add(f"R-{tag}-{k}", "receipt", h(5), sep, partner_facility=mine, shipment_event=s_uid,
                      received_kg=received)
            sep_inputs.append((f"CT-{tag}-{k}", kg))
        if rng.random() < 0.25:
            origin = "import_au" if sep in north else "import_us"
            kg, grade = round(rng.uniform(10_000, 30_000), 1), rng.uniform(0.4, 0.6)
            b.add(f"I-{tag}", "import", h(5), sep, country="Australia" if origin == "import_au" else "United States",
                  outputs=[(f"IC-{tag}", "concentrate", kg, grade, _noisy(rng, profiles[origin]))])
            sep_inputs.append((f"IC-{tag}", kg))

        # Separation: every element of the blend into its group, SEP_KEEP of it; a residue takes a little.
        reo = np.zeros(len(ELEMENTS))
        for code, kg in sep_inputs:
            _, gross, r, comp = b.batch[code]
            reo += kg / gross * r * comp
        outs = []
        for g, els in GROUPS.items():
            idx = [EL[e] for e in els]
            part = reo[idx] * SEP_KEEP
            if part.sum() < 1.0:
                continue
            comp = np.zeros(len(ELEMENTS))
            comp[idx] = part / part.sum()
            outs.append((f"{g}-{tag}", "separated_oxide", round(float(part.sum()), 3), 1.0, comp))
        p_uid = f"P-{tag}"
        if anomaly == "element_gain":
            code, form, kg, grade, comp = outs[0]
            outs[0] = (code, form, round(kg * rng.uniform(1.12, 1.25), 3), grade, comp)
            truth.append({"kind": anomaly, "event_ids": [p_uid], "facility": sep,
                          "note": f"{code} carries more REO than the inputs brought in"})
        if anomaly == "unknown_origin":
            truth.append({"kind": anomaly, "event_ids": [p_uid], "facility": sep,
                          "note": f"consumes {sep_inputs[0][0]}, held at {mines[0]}, never shipped here"})
        residue_reo = reo.sum() * RESIDUE_SHARE
        outs.append((f"RES-{tag}", "residue", round(residue_reo / 0.02, 3), 0.02, reo / reo.sum()))
        b.add(p_uid, "processing", h(8), sep, inputs=sep_inputs, outputs=outs)
        b.add(f"D-{tag}", "disposal", h(9), sep, inputs=[(f"RES-{tag}", outs[-1][2])], note="residue to storage")

        made = {o[0].split("-")[0]: o for o in outs}
        metal_plant = by["met"][int(rng.integers(len(by["met"])))]
        magnet_plant = by["mag"][int(rng.integers(len(by["mag"])))]
        prnd = made["PRND"]
        b.add(f"S2-{tag}", "shipment", h(10), sep, partner_facility=metal_plant,
              inputs=[(prnd[0], prnd[2])], outputs=[(f"{prnd[0]}-T", *prnd[1:])])
        b.add(f"R2-{tag}", "receipt", h(12), metal_plant, partner_facility=sep, shipment_event=f"S2-{tag}",
              received_kg=prnd[2])
        metal_reo = prnd[2] * METAL_KEEP
        b.add(f"PM-{tag}", "processing", h(14), metal_plant, inputs=[(f"{prnd[0]}-T", prnd[2])],
              outputs=[(f"MET-{tag}", "metal", round(metal_reo, 3), 1.0, prnd[4])])
        b.add(f"S3-{tag}", "shipment", h(15), metal_plant, partner_facility=magnet_plant,
              inputs=[(f"MET-{tag}", round(metal_reo, 3))],
              outputs=[(f"MET-{tag}-T", "metal", round(metal_reo, 3), 1.0, prnd[4])])
        b.add(f"R3-{tag}", "receipt", h(17), magnet_plant, partner_facility=metal_plant, shipment_event=f"S3-{tag}",
              received_kg=round(metal_reo, 3))
        mag_inputs = [(f"MET-{tag}-T", round(metal_reo, 3))]
        mag_reo = np.asarray(prnd[4]) * metal_reo
        if "TBDY" in made:
            tbdy = made["TBDY"]
            b.add(f"S4-{tag}", "shipment", h(10), sep, partner_facility=magnet_plant,
                  inputs=[(tbdy[0], tbdy[2])], outputs=[(f"{tbdy[0]}-T", *tbdy[1:])])
            b.add(f"R4-{tag}", "receipt", h(12), magnet_plant, partner_facility=sep, shipment_event=f"S4-{tag}",
                  received_kg=tbdy[2])
            mag_inputs.append((f"{tbdy[0]}-T", tbdy[2]))
            mag_reo = mag_reo + np.asarray(tbdy[4]) * tbdy[2]
        mag_reo = mag_reo * MAGNET_KEEP
        magnet_kg = round(float(mag_reo.sum()) / MAGNET_REO_GRADE, 3)
        b.add(f"PG-{tag}", "processing", h(19), magnet_plant, inputs=mag_inputs,
              outputs=[(f"MAGNET-{tag}", "magnet_ndfeb", magnet_kg, MAGNET_REO_GRADE, mag_reo / mag_reo.sum())])
        dest = DESTINATIONS[int(rng.integers(len(DESTINATIONS)))]
        b.add(f"E-{tag}", "export", h(21), magnet_plant, inputs=[(f"MAGNET-{tag}", magnet_kg)], country=dest,
              licence_id=f"EXL-{year}-{c:07d}")
        if anomaly == "double_consumption":
            b.add(f"E2-{tag}", "export", h(22), magnet_plant, inputs=[(f"MAGNET-{tag}", round(magnet_kg / 2, 3))],
                  country=dest, licence_id=f"EXL-{year}-{c:07d}")
            truth.append({"kind": anomaly, "event_ids": [f"E2-{tag}"], "facility": magnet_plant,
                          "note": f"MAGNET-{tag} exported again after it was exported in full"})
        lace = made["LACE"]
        b.add(f"E3-{tag}", "export", h(21), sep, inputs=[(lace[0], lace[2])], country=dest)

        book = b.stock[sep]
        declared = round(book, 3)
        count_uid = f"K-{tag}"
        if anomaly == "stock_discrepancy":
            declared = round(book * rng.choice([0.75, 1.3]) + 500, 3)
            truth.append({"kind": anomaly, "event_ids": [count_uid], "facility": sep,
                          "note": f"declared {declared} kg REO, book {book:.3f} kg"})
        b.add(count_uid, "stock_count", h(23), sep, stock_reo_kg=declared)
        if anomaly == "over_quota":
            mine = next((m for m in mines if (m, year) not in {(q[1], q[2]) for q in over_quota}), None)
            if mine is None:
                continue
            xi = b.add(f"XQ-{tag}", "extraction", h(2), mine, quota_id=f"Q-{mine}-{year}",
                       outputs=[(f"CQ-{tag}", "concentrate", 1.0, 0.5, _noisy(rng, profiles[mine_profile[mine]]))])
            over_quota.append((xi, mine, year))
            truth.append({"kind": anomaly, "event_ids": [f"XQ-{tag}"], "facility": mine,
                          "note": "unreported campaign pushes the mine past its annual quota"})

    quotas = _quotas(b, fac)
    limit = quotas.set_index("code")["tonnes_reo"]
    ext = pd.DataFrame(b.extractions, columns=["ev", "mine", "year", "reo_kg"])
    ext["at"] = np.asarray(b.at, dtype=np.int64)[ext["ev"].to_numpy()]
    for xi, mine, year in over_quota:
        # Just enough to pass the quota at this event: what the mine had extracted before, and 5% of the quota more.
        code, form, _, grade, comp = b.outputs[xi][0]
        quota_kg = float(limit.get(f"Q-{mine}-{year}", 1.0)) * 1000
        mine_year = ext[(ext["mine"] == mine) & (ext["year"] == year) & (ext["ev"] != xi)]
        before = float(mine_year.loc[mine_year["at"] <= b.at[xi], "reo_kg"].sum())
        kg = round((quota_kg * 1.05 - before) / grade, 1)
        b.outputs[xi][0] = (code, form, kg, grade, comp)
    table = b.table()
    meta = {"events": len(table), "seed": seed, "anomaly_rate": anomaly_rate, "campaigns": n_campaigns,
            "anomalies": len(truth), "start": start.date().isoformat(),
            "end": END.date().isoformat(),
            "data_status": "illustrative: synthetic events; compositions from RECALLED deposit profiles "
                           f"({DEPOSITS}, unverified)", "profiles": PROFILE_OF}
    return SynthLedger(events=table, facilities=fac, quotas=quotas, truth=truth, meta=meta)


def _quotas(b: _Builder, fac: pd.DataFrame) -> pd.DataFrame:
    """Annual mining quota per mine: its normal extraction that year plus 20% headroom (ILLUSTRATIVE)."""
    ext = pd.DataFrame(b.extractions, columns=["ev", "mine", "year", "reo_kg"])
    per = ext.groupby(["mine", "year"], as_index=False)["reo_kg"].sum()
    ore = fac.set_index("code")["ore_type"]
    return pd.DataFrame({"code": "Q-" + per.mine + "-" + per.year.astype(str), "facility": per.mine,
                         "year": per.year, "kind": "mining", "ore_type": per.mine.map(ore).to_numpy(),
                         "tonnes_reo": [math.ceil(v * 1.2 / 1000) for v in per.reo_kg]})


def write(ledger: SynthLedger, out_dir: Path, *, fmt: str = "parquet") -> list[Path]:
    """Write events (Parquet or JSON Lines), facilities.csv, quotas.csv, truth.jsonl and meta.json to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    if fmt == "parquet":
        path = out_dir / "events.parquet"
        pq.write_table(ledger.events, path, compression="zstd")
    else:
        path = out_dir / "events.jsonl"
        with path.open("w") as fh:
            for rec in ledger.events.to_pylist():
                fh.write(json.dumps(_compact(rec), separators=(",", ":")) + "\n")
    paths.append(path)
    for name, df in (("facilities.csv", ledger.facilities), ("quotas.csv", ledger.quotas)):
        df.to_csv(out_dir / name, index=False)
        paths.append(out_dir / name)
    with (out_dir / "truth.jsonl").open("w") as fh:
        for rec in ledger.truth:
            fh.write(json.dumps(rec) + "\n")
    (out_dir / "meta.json").write_text(json.dumps(ledger.meta, indent=2))
    return paths + [out_dir / "truth.jsonl", out_dir / "meta.json"]


def _compact(rec: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields and zero fractions so a JSON Lines event reads like one written by hand."""
    out = {k: v for k, v in rec.items() if v is not None and v != []}
    for o in out.get("outputs", []):
        o["composition"] = {e: f for e, f in o["composition"].items() if f}
    return out


def load_registry(*, session: Session, ledger: SynthLedger) -> dict[str, int]:
    """Register the synthetic enterprises, facilities and mining quotas (idempotent; all labelled illustrative)."""
    from restrat.catalog.models import ChainStage
    from restrat.catalog.service import load_reference
    from restrat.quota.models import QuotaAllocation
    from restrat.registry import models as reg
    from restrat.registry import service as registry
    from restrat.store.bulk import insert_rows

    if session.scalar(select(ChainStage.code).limit(1)) is None:
        load_reference(session=session)
    fac = ledger.facilities
    have = set(session.scalars(select(reg.Enterprise.code).where(reg.Enterprise.code.in_(fac.enterprise.tolist()))))
    for rec in fac[~fac.enterprise.isin(have)].itertuples(index=False):
        registry.create_enterprise(session=session, code=rec.enterprise, name=f"{rec.name} Co (illustrative)",
                                   country=rec.country, region=rec.region, data_status="illustrative",
                                   source=rec.source)
    registry.import_facilities(session=session, rows=fac, source_name="synth")
    ids = dict(session.execute(select(reg.Facility.code, reg.Facility.id)).all())
    # a mining quota is held by the enterprise that owns the mine
    holder = dict(zip(fac.code, fac.enterprise.map(dict(session.execute(select(reg.Enterprise.code,
                                                                               reg.Enterprise.id)).all())),
                      strict=True))
    known = set(session.scalars(select(QuotaAllocation.code)))
    q = ledger.quotas[~ledger.quotas.code.isin(known)]
    insert_rows(session, QuotaAllocation.__table__, [
        {"code": r.code, "year": int(r.year), "kind": r.kind, "ore_type": r.ore_type, "facility_id": ids[r.facility],
         "enterprise_id": int(holder[r.facility]), "tonnes_reo": float(r.tonnes_reo), "data_status": "illustrative",
         "source": "restrat synth ledger (ILLUSTRATIVE)"} for r in q.itertuples(index=False)])
    session.flush()
    return {"enterprises": int((~fac.enterprise.isin(have)).sum()), "facilities": len(fac), "quotas": len(q)}
