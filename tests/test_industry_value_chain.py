"""Value chain from the ledger on a hand-worked chain: value per tonne REO per stage at USGS oxide prices times the
form factors, value added, the multiplier from ore, the product-structure balance and the value Sankey
(SQLite and PostgreSQL); the pure maths on hand-computed numbers; bad stage-price files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ledger_builders import IONIC, ROCK, out, registry_for_ledger, simple_chain, t
from sqlalchemy.orm import Session

from restrat.errors import InputError
from restrat.industry import service, valuechain
from restrat.ledger import service as ledger

EL = ("La", "Ce", "Nd", "Dy")
USGS = (Path(__file__).resolve().parents[1] / "src/restrat/catalog/data/reference"
        / "ree_prices_usgs_annual_latest_edition.csv")


def _price(element: str, year: int) -> float:
    """The USGS oxide price of the latest year at or before `year`, read straight from the shipped file."""
    p = pd.read_csv(USGS)
    p = p[(p.element == element) & p["product"].str.contains("oxide") & (p.year <= year)]
    return float(p[p.year == p.year.max()].price_usd_per_kg.mean())


def _oxide_value(comp: dict[str, float], year: int = 2025) -> float:
    return sum(f * _price(el, year) for el, f in comp.items())


def _prices_file(tmp_path: Path, factors: dict[str, float]) -> Path:
    sp = service.stage_prices()
    sp["factor_of_oxide_value"] = sp.form.map(factors).fillna(sp.factor_of_oxide_value)
    path = tmp_path / "prices.csv"
    sp.to_csv(path, index=False)
    return path


def _with_magnets(session: Session) -> None:
    """simple_chain, then metal from the PrNd oxide (98 % kept) and magnets from that metal (all kept)."""
    registry_for_ledger(session)
    events = simple_chain()
    prnd = events[-1]["outputs"][0]
    comp, reo = prnd["composition"], prnd["mass_kg"]
    events += [
        {"event_id": "S3", "kind": "shipment", "time": t(4), "facility": "SEP", "partner_facility": "MET",
         "inputs": [{"batch": "PRND", "mass_kg": reo}], "outputs": [out("PRNDT", "separated_oxide", reo, 1.0, comp)]},
        {"event_id": "R3", "kind": "receipt", "time": t(5), "facility": "MET", "partner_facility": "SEP",
         "shipment_event": "S3", "received_kg": reo},
        {"event_id": "P2", "kind": "processing", "time": t(6), "facility": "MET",
         "inputs": [{"batch": "PRNDT", "mass_kg": reo}], "outputs": [out("M1", "metal", reo * 0.98, 1.0, comp)]},
        {"event_id": "P3", "kind": "processing", "time": t(7), "facility": "MET",
         "inputs": [{"batch": "M1", "mass_kg": reo * 0.98}],
         "outputs": [out("MAG1", "magnet_ndfeb", reo * 0.98 / 0.3, 0.3, comp)]},
    ]
    ledger.import_records(session=session, records=events, username="t")


def test_value_per_tonne_and_value_added_follow_oxide_prices_and_form_factors(session: Session,
                                                                              tmp_path: Path) -> None:
    _with_magnets(session)
    path = _prices_file(tmp_path, {"concentrate": 0.4, "separated_oxide": 1.0, "metal": 1.5, "magnet_ndfeb": 3.0})
    result = service.value_chain(session=session, prices_path=path)
    st = result["stages"].set_index("stage")
    mined = 5_000 * 0.4 * _oxide_value(ROCK) + 1_800 * 0.4 * _oxide_value(IONIC)
    assert st.loc["mining", "output_t"] == pytest.approx(6.8)
    assert st.loc["mining", "output_value_usd"] == pytest.approx(mined, rel=1e-5)
    assert st.loc["mining", "value_added_usd"] == pytest.approx(mined, rel=1e-5)  # extraction consumes nothing
    sep = st.loc["separation"]
    assert sep.input_value_usd == pytest.approx(mined, rel=1e-5)  # the concentrate, valued as the mines made it
    made = sum(0.97 * (5_000 * ROCK.get(e, 0) + 1_800 * IONIC[e]) * _price(e, 2025)
               for e in ("La", "Ce", "Pr", "Nd", "Dy"))
    assert sep.output_value_usd == pytest.approx(made, rel=1e-5)
    assert sep.value_added_usd == pytest.approx(made - mined, rel=1e-5)
    # The metal plant's facility stage is 'metal'; it makes metal and then magnets, both counted at its stage.
    prnd = {"Pr": 5_000 * ROCK["Pr"] + 1_800 * IONIC["Pr"], "Nd": 5_000 * ROCK["Nd"] + 1_800 * IONIC["Nd"]}
    prnd_value = 0.97 * sum(kg * _price(e, 2025) for e, kg in prnd.items())  # kg REO x USD/kg
    prnd_t = 0.97 * sum(prnd.values()) / 1000
    metal = st.loc["metal"]
    assert metal.output_value_usd == pytest.approx(0.98 * prnd_value * (1.5 + 3.0), rel=1e-5)
    assert metal.input_value_usd == pytest.approx(prnd_value * 1.0 + 0.98 * prnd_value * 1.5, rel=1e-5)
    assert metal.value_per_t_usd == pytest.approx(0.98 * prnd_value * 4.5 / (2 * 0.98 * prnd_t), rel=1e-5)
    m = result["multipliers"].iloc[0]
    assert m.to_stage == "metal" and m.from_stage == "mining"
    assert m.multiplier == pytest.approx(metal.value_per_t_usd / (mined / 6.8), rel=1e-6)


def test_product_structure_splits_raw_intermediate_and_high_end(session: Session) -> None:
    _with_magnets(session)
    s = service.value_chain(session=session)["structure"].set_index("structure")
    prnd_t = 0.97 * (5_000 * (ROCK["Pr"] + ROCK["Nd"]) + 1_800 * (IONIC["Pr"] + IONIC["Nd"])) / 1000
    sep_t = 0.97 * (6.8 - 1.8 * (IONIC["Sm"] + IONIC["Gd"] + IONIC["Tb"] + IONIC["Y"]) - 5.0 * (ROCK["Sm"]
                                                                                               + ROCK["Gd"]))
    raw, mid, high = 6.8, sep_t + 0.98 * prnd_t, 0.98 * prnd_t
    assert s.loc["raw", "reo_t"] == pytest.approx(raw)
    assert s.loc["intermediate", "reo_t"] == pytest.approx(mid, rel=1e-5)
    assert s.loc["high_end", "share_reo_pct"] == pytest.approx(100 * high / (raw + mid + high), rel=1e-5)
    assert s.share_value_pct.sum() == pytest.approx(100)


def test_value_chain_by_group_country_and_cluster(session: Session) -> None:
    _with_magnets(session)
    by_group = service.value_chain(session=session, by="group")["stages"]
    assert set(by_group.owner) == {"E-UP", "E-DOWN"}
    assert set(by_group[by_group.owner == "E-UP"].stage) == {"mining"}
    mult = service.value_chain(session=session, by="group")["multipliers"].set_index("owner")
    assert np.isnan(mult.loc["E-DOWN", "multiplier"]) and "no priced mining" in mult.loc["E-DOWN", "note"]
    by_cluster = service.value_chain(session=session, by="cluster", min_samples=2)["stages"]
    assert set(by_cluster.cluster) == {"0"}  # every facility sits at one point
    national = service.value_chain(session=session)["stages"]
    assert by_cluster.value_added_usd.sum() == pytest.approx(national.value_added_usd.sum())
    assert set(service.value_chain(session=session, by="country")["stages"].country) == {"China"}


def test_value_sankey_balances_inputs_value_added_and_what_leaves(session: Session) -> None:
    _with_magnets(session)
    flows = service.value_flows(session=session)
    st = service.value_chain(session=session)["stages"].set_index("stage")
    into = flows.groupby("target").value_usd.sum()
    for stage in ("separation", "metal"):
        assert into[stage] == pytest.approx(st.loc[stage, "output_value_usd"], rel=1e-6)
    assert set(flows.flow) == {"input", "value_added", "left_chain"}
    left = flows[flows.flow == "left_chain"].set_index("source").value_usd
    assert "mining" not in left.index  # all concentrate was consumed by separation


def test_unpriced_elements_are_counted_not_valued() -> None:
    prices = pd.DataFrame({"element": ["La", "Nd", "Nd"], "year": [2020, 2020, 2022], "usd_per_kg": [2.0, 60, 80]})
    comp = np.array([[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.5, 0.0]])
    per_kg, frac, year = valuechain.oxide_value(comp, np.array([2021, 2023, 2019]), prices, elements=EL)
    assert per_kg.tolist() == pytest.approx([31.0, 80.0, 0.0])
    assert frac.tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert year.tolist() == [2020, 2022, 0]


def test_multiplier_uses_the_most_downstream_stage_with_output() -> None:
    cells = pd.DataFrame({"stage": ["mining", "separation", "separation", "material", "material"],
                          "role": ["out", "in", "out", "in", "out"], "reo_t": [10, 10, 9, 9, 9],
                          "priced_t": [10, 10, 9, 9, 9], "value_usd": [100.0, 100, 450, 450, 1800]})
    stages = valuechain.stage_table(cells, keys=[], chain=["mining", "separation", "metal", "material"])
    assert stages.value_per_t_usd.tolist() == [10.0, 50.0, 200.0]
    assert stages.value_added_usd.tolist() == [100.0, 350.0, 1350.0]
    m = valuechain.multipliers(stages, keys=[]).iloc[0]
    assert (m.to_stage, m.multiplier) == ("material", 20.0)


def test_a_bad_stage_price_file_names_row_field_and_rule(tmp_path: Path) -> None:
    sp = service.stage_prices()
    sp.loc[1, "factor_of_oxide_value"] = -1
    sp.loc[2, "status"] = "guessed"
    sp = sp[sp.form != "phosphor"]
    path = tmp_path / "bad.csv"
    sp.to_csv(path, index=False)
    with pytest.raises(InputError) as e:
        service.stage_prices(path=path)
    text = "\n".join(e.value.lines())
    assert "row 3, field 'factor_of_oxide_value': must be a number >= 0" in text
    assert "row 4, field 'status'" in text and "'phosphor'" in text


def test_shipped_stage_prices_label_every_unsourced_factor_as_illustrative() -> None:
    sp = service.stage_prices()
    assert sp[sp.status == "seen"].form.tolist() == ["separated_oxide"]
    assumed = sp[sp.status == "assumption"]
    assert assumed.reason.str.contains("ILLUSTRATIVE|no sale value").all()


def _value_table(session: Session) -> pd.DataFrame:
    from sqlalchemy import text

    from restrat.industry import valueday

    cols = list(valueday.KEYS + valueday.VALUE_COLUMNS)
    rows = session.execute(text(f"SELECT {', '.join(cols)} FROM {valueday.TABLE}")).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=cols).sort_values(list(valueday.KEYS)).reset_index(
        drop=True)


def test_import_hook_keeps_the_element_table_equal_to_a_rebuild_across_imports(session: Session) -> None:
    from restrat.industry import valueday

    registry_for_ledger(session)
    events = simple_chain()
    ledger.import_records(session=session, records=events[:6], username="t")  # mines, shipments, receipts
    ledger.import_records(session=session, records=events[6:], username="t")  # separation consumes older batches
    kept = _value_table(session)
    assert set(kept.role) == {"out", "in"}
    separation_in = kept[(kept.role == "in")]
    assert separation_in.reo_kg.sum() == pytest.approx(6_800)
    assert separation_in.dy_kg.sum() == pytest.approx(1_800 * IONIC["Dy"], rel=1e-6)
    valueday.rebuild(session.connection())
    rebuilt = _value_table(session)
    pd.testing.assert_frame_equal(kept, rebuilt, check_exact=False, rtol=1e-9)
