"""DBSCAN on great-circle distance and chain completeness per cluster."""

from __future__ import annotations

import pandas as pd
import pytest

from restrat.industry import clusters


def _frame(points: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"code": c, "name": c, "stage": s, "lat": la, "lon": lo, "capacity_t_reo_per_year": cap,
                          "region": c.split("-")[0], "country": "China", "data_status": "illustrative"}
                         for c, s, la, lo, cap in [(p[0], p[1], p[2], p[3], p[4]) for p in points]])


def test_two_groups_and_an_outlier() -> None:
    frame = _frame([("BT-1", "mining", 40.60, 109.80, 100), ("BT-2", "separation", 40.65, 109.90, 80),
                    ("BT-3", "metal", 40.70, 109.85, 50), ("GZ-1", "mining", 25.80, 114.90, 10),
                    ("GZ-2", "separation", 25.85, 114.95, 9), ("GZ-3", "separation", 25.90, 114.85, 7),
                    ("LONE-1", "material", 31.0, 121.0, 5)])
    labelled = clusters.label(frame, eps_km=30, min_samples=3)
    by_code = dict(zip(labelled.code, labelled.cluster, strict=True))
    assert by_code["BT-1"] == by_code["BT-2"] == by_code["BT-3"] != by_code["GZ-1"] == by_code["GZ-3"]
    assert by_code["LONE-1"] == clusters.NOISE
    summary = clusters.summary(labelled, chain=clusters.CHAIN_STAGES).set_index("region")
    assert summary.loc["BT", "completeness"] == pytest.approx(3 / 6)
    assert summary.loc["BT", "stages_missing"] == "alloy, material, product"
    assert summary.loc["GZ", "capacity_separation"] == pytest.approx(16)


@pytest.mark.parametrize(("eps_km", "together"), [(112.0, True), (110.0, False)])
def test_distance_is_great_circle(eps_km: float, together: bool) -> None:
    # One degree of latitude is 111.2 km on the mean-radius sphere, whatever the longitude.
    frame = _frame([("A-1", "mining", 10.0, 100.0, 1), ("A-2", "metal", 11.0, 100.0, 1)])
    labelled = clusters.label(frame, eps_km=eps_km, min_samples=2)
    assert bool(labelled.cluster.nunique() == 1 and labelled.cluster.iloc[0] != clusters.NOISE) == together


def test_no_facilities_gives_no_clusters() -> None:
    labelled = clusters.label(_frame([]).reindex(columns=["code", "name", "stage", "lat", "lon",
                                                          "capacity_t_reo_per_year", "region", "country"]),
                              eps_km=10, min_samples=2)
    assert clusters.summary(labelled, chain=clusters.CHAIN_STAGES).empty
