"""Read ledger events from JSON Lines, Parquet or CSV into flat tables (pure: files in, arrays out).

JSON Lines and Parquet go through Arrow's C++ readers with one explicit schema, so a million events
are parsed without a Python loop; CSV carries `inputs`, `outputs` and `stock_composition` as JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from restrat.catalog.service import ELEMENTS
from restrat.errors import InputError, Problem

SCHEMA_PATH = Path(str(resources.files("restrat.interchange") / "ledger-event.schema.json"))
COMPOSITION = pa.struct([pa.field(e, pa.float64()) for e in ELEMENTS])
INPUT = pa.struct([pa.field("batch", pa.string()), pa.field("mass_kg", pa.float64())])
OUTPUT = pa.struct([pa.field("batch", pa.string()), pa.field("form", pa.string()), pa.field("mass_kg", pa.float64()),
                    pa.field("reo_grade", pa.float64()), pa.field("composition", COMPOSITION)])
TEXT_FIELDS = ("event_id", "kind", "time", "facility", "partner_facility", "shipment_event", "corrects", "quota_id",
               "licence_id", "country", "note")
ARROW_SCHEMA = pa.schema(
    [pa.field(f, pa.string()) for f in TEXT_FIELDS[:5]]
    + [pa.field("inputs", pa.list_(INPUT)), pa.field("outputs", pa.list_(OUTPUT))]
    + [pa.field(f, pa.string()) for f in TEXT_FIELDS[5:]]
    + [pa.field("received_kg", pa.float64()), pa.field("stock_reo_kg", pa.float64()),
       pa.field("stock_composition", COMPOSITION)]
)


@dataclass
class EventFrames:
    """Events, their inputs and their outputs as flat tables; `ev` columns index into `events`."""

    events: pd.DataFrame  # row, uid, kind, at (epoch s), facility, partner_facility, ... (one row per event)
    inputs: pd.DataFrame  # ev, batch, kg
    outputs: pd.DataFrame  # ev, batch, form, kg, grade
    out_comp: np.ndarray  # (len(outputs), 17) float64 REO fractions
    stock_comp: np.ndarray  # (len(events), 17) float64; NaN rows where no stock composition was given

    def __len__(self) -> int:
        return len(self.events)


def _composition(arr: pa.Array) -> np.ndarray:
    """(n, 17) float64 fractions from a struct array of element fields; missing elements are 0, null rows NaN."""
    n = len(arr)
    if arr.null_count == n:
        return np.full((n, len(ELEMENTS)), np.nan)
    # Filled element by element into contiguous rows, then viewed transposed: writing strided columns of a
    # C-ordered (n, 17) array costs several times more.
    out = np.empty((len(ELEMENTS), n), dtype=np.float64)
    for i in range(len(ELEMENTS)):
        out[i] = pc.struct_field(arr, [i]).to_numpy(zero_copy_only=False)  # a null field arrives as NaN
    fractions = out.T
    np.copyto(fractions, 0.0, where=np.isnan(fractions))
    if arr.null_count:
        fractions[arr.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return fractions


def _epoch_seconds(times: pa.ChunkedArray) -> np.ndarray:
    """Seconds since 1970 UTC of ISO 8601 times; int64 minimum where a time cannot be read. Arrow parses whole
    seconds with a zone in C++; anything else (fractions, no zone, bad values) goes through pandas, which reads
    zone-less times as UTC and marks bad values."""
    try:
        secs = times.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64())
        return pc.fill_null(secs, np.iinfo(np.int64).min).to_numpy().astype(np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(pd.Series(times.to_numpy(zero_copy_only=False)), utc=True, format="ISO8601",
                                errors="coerce")
        secs = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        return secs.fillna(np.iinfo(np.int64).min).astype(np.int64).to_numpy()


def frames_from_table(table: pa.Table) -> EventFrames:
    """Flatten an Arrow table in the interchange schema into EventFrames (vectorised)."""
    missing = [f.name for f in ARROW_SCHEMA if f.name not in table.column_names]
    for name in missing:
        table = table.append_column(name, pa.nulls(len(table), ARROW_SCHEMA.field(name).type))
    table = table.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)
    n = len(table)
    at = _epoch_seconds(table["time"])
    events = pd.DataFrame({"row": np.arange(1, n + 1), "uid": table["event_id"].to_pandas(),
                           "kind": table["kind"].to_pandas(), "time": table["time"].to_pandas(),
                           "at": at})
    for f in TEXT_FIELDS[3:]:
        events[f] = table[f].to_pandas()
    events["received_kg"] = table["received_kg"].to_numpy(zero_copy_only=False)
    events["stock_reo_kg"] = table["stock_reo_kg"].to_numpy(zero_copy_only=False)

    def flat(col: str) -> tuple[pa.Array, np.ndarray]:
        chunked = table[col].combine_chunks()
        values = pc.list_flatten(chunked)
        parents = pc.list_parent_indices(chunked).to_numpy(zero_copy_only=False)
        return values, parents.astype(np.int64)

    in_vals, in_ev = flat("inputs")
    inputs = pd.DataFrame({"ev": in_ev, "batch": pc.struct_field(in_vals, [0]).to_pandas(),
                           "kg": pc.struct_field(in_vals, [1]).to_numpy(zero_copy_only=False)})
    out_vals, out_ev = flat("outputs")
    outputs = pd.DataFrame({"ev": out_ev, "batch": pc.struct_field(out_vals, [0]).to_pandas(),
                            "form": pc.struct_field(out_vals, [1]).to_pandas(),
                            "kg": pc.struct_field(out_vals, [2]).to_numpy(zero_copy_only=False),
                            "grade": pc.struct_field(out_vals, [3]).to_numpy(zero_copy_only=False)})
    out_comp = _composition(pc.struct_field(out_vals, [4])) if len(out_vals) else np.zeros((0, len(ELEMENTS)))
    stock_comp = _composition(table["stock_composition"].combine_chunks())
    return EventFrames(events=events, inputs=inputs, outputs=outputs, out_comp=out_comp, stock_comp=stock_comp)


def _jsonl_problem(path: Path) -> InputError:
    """Find the first line the fast reader refused and say what is wrong with it (slow path, errors only)."""
    known = set(ARROW_SCHEMA.names)
    with path.open("rb") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                return InputError(Problem(row=i, field="(line)", rule=f"not valid JSON: {e.msg}"), source=path.name)
            if not isinstance(obj, dict):
                return InputError(Problem(row=i, field="(line)", rule="must be a JSON object"), source=path.name)
            extra = sorted(set(obj) - known)
            if extra:
                return InputError(Problem(row=i, field=extra[0], rule="unknown field (see the JSON Schema)"),
                                  source=path.name)
            for key, value in obj.items():
                if key in ("inputs", "outputs") and not isinstance(value, list):
                    return InputError(Problem(row=i, field=key, rule="must be a list"), source=path.name)
                for j, item in enumerate(value if key in ("inputs", "outputs") else []):
                    allowed = set((INPUT if key == "inputs" else OUTPUT).names)
                    bad = sorted(set(item) - allowed) if isinstance(item, dict) else ["(item)"]
                    if bad:
                        return InputError(Problem(row=i, field=f"{key}[{j}].{bad[0]}", rule="unknown or malformed"),
                                          source=path.name)
                    comp = item.get("composition", {})
                    if isinstance(comp, dict) and set(comp) - set(ELEMENTS):
                        el = sorted(set(comp) - set(ELEMENTS))[0]
                        return InputError(Problem(row=i, field=f"{key}[{j}].composition.{el}",
                                                  rule="must be one of the 17 rare earth elements"), source=path.name)
                if key in ("received_kg", "stock_reo_kg") and not isinstance(value, int | float):
                    return InputError(Problem(row=i, field=key, rule="must be a number", value=value), source=path.name)
    return InputError(Problem(field="(file)", rule="could not be read as JSON Lines events"), source=path.name)


def read_jsonl(path: Path) -> EventFrames:
    """Events from a JSON Lines file."""
    opts = pajson.ParseOptions(explicit_schema=ARROW_SCHEMA, unexpected_field_behavior="error")
    try:
        table = pajson.read_json(path, parse_options=opts, read_options=pajson.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _jsonl_problem(path) from None
    return frames_from_table(table)


def read_parquet(path: Path) -> EventFrames:
    """Events from a Parquet file in the interchange schema (nested inputs/outputs)."""
    table = pq.read_table(path)
    extra = [c for c in table.column_names if c not in ARROW_SCHEMA.names]
    if extra:
        raise InputError(Problem(field=extra[0], rule="unknown column (see the JSON Schema)"), source=path.name)
    try:
        return frames_from_table(table)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise InputError(Problem(field="(file)", rule=f"columns do not match the interchange schema: {e}"),
                         source=path.name) from None


def read_csv(path: Path) -> EventFrames:
    """Events from a CSV file whose inputs, outputs and stock_composition cells hold JSON."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = [c for c in df.columns if c not in ARROW_SCHEMA.names]
    if extra:
        raise InputError(Problem(field=extra[0], rule="unknown column (see the JSON Schema)"), source=path.name)
    records = []
    for i, rec in enumerate(df.to_dict("records"), start=1):
        obj: dict[str, object] = {}
        for key, value in rec.items():
            if value == "":
                continue
            if key in ("inputs", "outputs", "stock_composition"):
                try:
                    obj[key] = json.loads(value)
                except json.JSONDecodeError as e:
                    raise InputError(Problem(row=i, field=key, rule=f"must hold JSON: {e.msg}"),
                                     source=path.name) from None
            elif key in ("received_kg", "stock_reo_kg"):
                try:
                    obj[key] = float(value)
                except ValueError:
                    raise InputError(Problem(row=i, field=key, rule="must be a number", value=value),
                                     source=path.name) from None
            else:
                obj[key] = value
        records.append(obj)
    return read_records(records, source=path.name)


def read_records(records: list[dict], *, source: str = "request") -> EventFrames:
    """Events from a list of dicts in the interchange format (the API's request body)."""
    try:
        table = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, TypeError) as e:
        known = set(ARROW_SCHEMA.names)
        for i, rec in enumerate(records, start=1):
            extra = sorted(set(rec) - known)
            if extra:
                raise InputError(Problem(row=i, field=extra[0], rule="unknown field (see the JSON Schema)"),
                                 source=source) from None
        raise InputError(Problem(field="(body)", rule=f"does not match the interchange schema: {e}"),
                         source=source) from None
    for i, rec in enumerate(records, start=1):
        extra = sorted(set(rec) - set(ARROW_SCHEMA.names))
        if extra:
            raise InputError(Problem(row=i, field=extra[0], rule="unknown field (see the JSON Schema)"), source=source)
    return frames_from_table(table)


def read_events(path: Path) -> EventFrames:
    """Events from a .jsonl/.ndjson, .parquet or .csv file."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    if suffix == ".parquet":
        return read_parquet(path)
    if suffix == ".csv":
        return read_csv(path)
    raise InputError(Problem(field="file", rule="must be .jsonl, .parquet or .csv", value=path.name))


def arrow_strings(values: pd.Series | pd.Index) -> pa.Array:
    """A string column as one Arrow array, without a Python object per value when it is Arrow-backed already."""
    arr = values.array.__arrow_array__() if hasattr(values.array, "__arrow_array__") else pa.array(
        values.to_numpy(dtype=object), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())
