"""Set-wise evaluation: hand-worked exceedances and episodes, prescribed averages, pH ranges, limits changing
inside a series, escalation and scores; and the property that evaluating a stream equals combining the
evaluations of its parts cut at period boundaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restrat.environment import evaluation as ev

H, D = 3_600, 86_400


def _segments(rows: list[tuple[int, int, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["key", "start", "end", "low", "high"])


def _run(values: list[float], *, period: int = H, averaging: int = 0, segments: pd.DataFrame | None = None,
         keep: bool = False) -> ev.Evaluation:
    n = len(values)
    seg = segments if segments is not None else _segments([(0, 0, 10 * D, np.nan, 10.0)])
    return ev.evaluate(np.zeros(n, np.int64), np.arange(n, dtype=np.int64) * period, np.array(values, float),
                       period_s=np.array([averaging]), segments=seg, keep_values=keep)


def test_hand_worked_episodes_merge_consecutive_exceedances() -> None:
    # hours:      0  1   2   3  4   5  6   7
    result = _run([5, 12, 15, 9, 11, 8, 20, 10])  # limit 10; 10 itself complies
    eps = result.episodes
    assert eps[["start", "end", "values"]].values.tolist() == [[1 * H, 2 * H, 2], [4 * H, 4 * H, 1],
                                                             [6 * H, 6 * H, 1]]
    assert eps.peak_ratio.tolist() == pytest.approx([1.5, 1.1, 2.0])
    assert eps.peak_value.tolist() == [15, 11, 20]
    s = result.series.iloc[0]
    assert (s.evaluated, s.exceeded, s.first_exceed, s.last_exceed) == (8, 4, False, False)


def test_values_are_averaged_over_the_prescribed_period_before_the_comparison() -> None:
    # two days of hourly values; day 1 averages 9 (one hour at 32 does not make an exceedance), day 2 averages 11
    day1 = [8.0] * 23 + [32.0]
    day2 = [11.0] * 24
    result = _run(day1 + day2, averaging=D, keep=True)
    assert result.values.value.tolist() == pytest.approx([9.0, 11.0])
    assert result.episodes[["start", "end", "values"]].values.tolist() == [[D, 2 * D, 1]]


def test_ph_range_counts_values_below_and_above() -> None:
    seg = _segments([(0, 0, 10 * D, 6.0, 9.0)])
    result = _run([7.0, 5.0, 7.5, 9.5, 9.6], segments=seg)
    eps = result.episodes
    assert eps[["start", "values"]].values.tolist() == [[1 * H, 1], [3 * H, 2]]
    assert eps.peak_ratio.tolist() == pytest.approx([6.0 / 5.0, 9.6 / 9.0])


def test_the_limit_in_force_at_each_value_is_used_and_unlimited_values_are_counted_apart() -> None:
    seg = _segments([(0, 0, 2 * H, np.nan, 10.0), (0, 2 * H, 4 * H, np.nan, 5.0)])
    result = _run([8, 8, 8, 8, 8], segments=seg)
    s = result.series.iloc[0]
    assert (s.evaluated, s.exceeded, s.unlimited) == (4, 2, 1)
    assert result.episodes[["start", "end"]].values.tolist() == [[2 * H, 3 * H]]


def test_series_are_kept_apart_and_unsorted_input_is_sorted() -> None:
    key = np.array([1, 0, 1, 0], np.int64)
    t = np.array([H, 0, 0, H], np.int64)
    value = np.array([20.0, 20.0, 20.0, 1.0])
    seg = _segments([(0, 0, D, np.nan, 10.0), (1, 0, D, np.nan, 10.0)])
    result = ev.evaluate(key, t, value, period_s=np.array([0, 0]), segments=seg)
    assert result.episodes[["key", "start", "values"]].values.tolist() == [[0, 0, 1], [1, 0, 2]]


def test_escalation_takes_the_highest_level_any_threshold_reaches_within_its_window() -> None:
    rules = pd.DataFrame({"level": ["warning", "fine"], "rank": [1, 2], "window_days": [365, 30],
                          "min_episodes": [1, 3], "min_peak_ratio": [np.nan, 4.0], "min_exceeding_values": [np.nan,
                                                                                                               np.nan],
                          "score_penalty": [5, 20], "action": ["warn", "fine"]})
    eps = pd.DataFrame({"facility_id": [1, 1, 1, 2, 3], "end": [1 * D, 20 * D, 29 * D, 5 * D, 7 * D],
                        "peak_ratio": [1.2, 1.3, 1.1, 1.5, 4.5], "values": [1, 1, 1, 1, 1]})
    levels = ev.escalations(eps, rules).set_index("facility_id")
    assert levels.level.to_dict() == {1: "fine", 2: "warning", 3: "fine"}
    assert levels.reached_at[1] == 29 * D  # the third episode within 30 days
    spread = eps.assign(end=[1 * D, 40 * D, 80 * D, 5 * D, 7 * D])
    assert ev.escalations(spread, rules).set_index("facility_id").level[1] == "warning"
    series = pd.DataFrame({"facility_id": [1, 2, 4], "evaluated": [100, 50, 10], "exceeded": [3, 1, 0]})
    scores = ev.scores(series, levels.reset_index()).set_index("facility_id").score
    assert scores.to_dict() == pytest.approx({1: 97 - 20, 2: 98 - 5, 4: 100.0})


@st.composite
def _stream(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Hourly values of up to three series over up to six days, with gaps; a cut day."""
    days = draw(st.integers(2, 6))
    rows = []
    for key in range(draw(st.integers(1, 3))):
        hours = draw(st.lists(st.integers(0, days * 24 - 1), min_size=1, max_size=days * 24, unique=True))
        for h in sorted(hours):
            rows.append((key, h * H, draw(st.sampled_from([1.0, 4.0, 9.0, 11.0, 30.0]))))
    arr = np.array(rows)
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2], draw(st.integers(1, days - 1))


def _canonical(result: ev.Evaluation) -> tuple:
    series = result.series[result.series.evaluated + result.series.unlimited > 0]
    cols = ["key", "evaluated", "exceeded", "unlimited", "first_t", "first_exceed", "last_t", "last_exceed"]
    eps = result.episodes.sort_values(["key", "start"])
    return (series.sort_values("key")[cols].values.tolist(),
            eps[["key", "start", "end", "values"]].values.tolist(), np.round(eps.peak_ratio.to_numpy(), 9).tolist())


@settings(max_examples=150, deadline=None)
@given(_stream(), st.sampled_from([0, H, D]))
def test_evaluating_a_stream_equals_combining_its_parts(stream: tuple, averaging: int) -> None:
    key, t, value, cut_day = stream
    seg = _segments([(k, 0, 3 * D, np.nan, 10.0) for k in range(3)] + [(k, 3 * D, 10 * D, np.nan, 8.0)
                                                                       for k in range(3)])
    period = np.full(3, averaging)
    whole = ev.evaluate(key, t, value, period_s=period, segments=seg)
    first = t < cut_day * D
    a = ev.evaluate(key[first], t[first], value[first], period_s=period, segments=seg)
    b = ev.evaluate(key[~first], t[~first], value[~first], period_s=period, segments=seg)
    assert _canonical(ev.combine(a, b)) == _canonical(whole)


def test_combining_parts_where_a_series_is_absent_keeps_typed_columns_and_warns_nothing() -> None:
    import warnings

    seg = _segments([(0, 0, 10 * D, np.nan, 10.0), (1, 0, 10 * D, np.nan, 10.0)])
    period = np.zeros(2, np.int64)
    a = ev.evaluate(np.array([0, 0]), np.array([0, H]), np.array([11.0, 12.0]), period_s=period, segments=seg)
    b = ev.evaluate(np.array([1]), np.array([2 * H]), np.array([5.0]), period_s=period, segments=seg)
    empty = ev.evaluate(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), period_s=period, segments=seg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = ev.combine(ev.combine(a, empty), b)
        again = ev.combine(empty, both)
    for result in (both, again):
        s = result.series
        assert s.dtypes.to_dict() == {"key": np.int64, "evaluated": np.int64, "exceeded": np.int64,
                                      "unlimited": np.int64, "first_t": np.int64, "first_exceed": np.bool_,
                                      "last_t": np.int64, "last_exceed": np.bool_}
        assert s.values.tolist() == [[0, 2, 2, 0, 0, True, H, True], [1, 1, 0, 0, 2 * H, False, 2 * H, False]]
        assert result.episodes[["key", "start", "end", "values"]].values.tolist() == [[0, 0, H, 2]]
