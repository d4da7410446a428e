"""Cooperation network measures against a small graph worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from restrat.technology import network

# Two project triangles {A, B, C} and {D, E, F}; C and D co-hold one patent, the only bridge.
# A and B also share a second project, so their edge weighs 2.
PARTICIPATION = pd.DataFrame(
    [("P1", "project", "magnets", a, "enterprise" if a in "AB" else "institute") for a in "ABC"]
    + [("P2", "project", "magnets", a, "enterprise") for a in "AB"]
    + [("P3", "project", "recycling", a, "university") for a in "DEF"]
    + [("T1", "patent", "catalysts", a, "institute") for a in "CD"],
    columns=["link", "via", "field", "actor", "kind"])
NODES = PARTICIPATION[["actor", "kind"]].drop_duplicates("actor").assign(name=lambda d: "Actor " + d.actor)


def test_edges_count_shared_projects_and_patents() -> None:
    e = network.edges(PARTICIPATION).set_index(["actor_a", "actor_b"])
    assert len(e) == 7
    assert e.loc[("A", "B")].tolist() == [2, 0, 2]  # projects, patents, weight
    assert e.loc[("C", "D")].tolist() == [0, 1, 1]


def test_centrality_and_communities_match_the_hand_worked_graph() -> None:
    g = network.graph(NODES, network.edges(PARTICIPATION))
    m = network.measures(g).set_index("actor")
    # Every shortest path between {A, B} and {D, E, F} runs through C: 6 of the (n-1)(n-2)/2 = 10 pairs without C
    # -> 0.6; likewise D for {A, B, C} x {E, F}. Nobody else lies between two others.
    assert m.at["C", "betweenness"] == pytest.approx(0.6)
    assert m.at["D", "betweenness"] == pytest.approx(0.6)
    assert m.at["A", "betweenness"] == 0 and m.at["F", "betweenness"] == 0
    assert m.at["C", "degree_centrality"] == pytest.approx(3 / 5) and m.at["A", "degree_centrality"] == 2 / 5
    assert m.at["A", "shared_links"] == 3  # weight 2 to B plus 1 to C
    assert m.index[:2].tolist() == ["C", "D"]  # most central first
    assert m.loc[list("ABC"), "community"].nunique() == 1 and m.loc[list("DEF"), "community"].nunique() == 1
    assert m.at["A", "community"] != m.at["D", "community"]


def test_fields_without_an_enterprise_are_named() -> None:
    fields = pd.DataFrame({"code": ["magnets", "recycling", "catalysts", "phosphors"],
                           "name": ["Magnets", "Recycling", "Catalysts", "Phosphors"]})
    cov = network.field_coverage(PARTICIPATION, fields).set_index("field")
    assert cov.loc["magnets", ["projects", "patents", "enterprises", "institutions"]].tolist() == [2, 0, 2, 1]
    assert cov.no_enterprise.to_dict() == {"magnets": False, "recycling": True, "catalysts": True,
                                           "phosphors": True}
    assert cov.at["recycling", "situation"] == "institutes and universities only"
    assert cov.at["phosphors", "situation"] == "no activity recorded"


def test_layout_is_the_same_every_time_and_places_every_actor() -> None:
    g = network.graph(NODES, network.edges(PARTICIPATION))
    first, second = network.layout(g), network.layout(g)
    assert first.equals(second) and set(first.actor) == set("ABCDEF")
