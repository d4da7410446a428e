"""The cooperation network (pure): actors are nodes; two actors in the same project, or holding the same patent,
share an edge weighted by how many projects and patents they share."""

from __future__ import annotations

import networkx as nx
import pandas as pd

LAYOUT_SEED = 7


def edges(participation: pd.DataFrame) -> pd.DataFrame:
    """Pairs of actors from participation rows (link, via 'project' or 'patent', actor): per pair, the projects and
    patents they share and the weight (their sum)."""
    p = participation[["link", "via", "actor"]].drop_duplicates()
    pairs = p.merge(p, on=["link", "via"], suffixes=("_a", "_b"))
    pairs = pairs[pairs.actor_a < pairs.actor_b]
    counts = pairs.groupby(["actor_a", "actor_b", "via"]).size().unstack("via", fill_value=0) \
        .reindex(columns=["project", "patent"], fill_value=0)
    out = counts.rename(columns={"project": "projects", "patent": "patents"}).reset_index()
    out["weight"] = out.projects + out.patents
    out.columns.name = None
    return out


def graph(nodes: pd.DataFrame, pairs: pd.DataFrame) -> nx.Graph:
    """A graph of the actors (nodes: actor, name, kind) and weighted edges."""
    g = nx.Graph()
    g.add_nodes_from((r.actor, {"name": r.name, "kind": r.kind}) for r in nodes.itertuples(index=False))
    g.add_weighted_edges_from(pairs[["actor_a", "actor_b", "weight"]].itertuples(index=False, name=None))
    return g


def communities(g: nx.Graph) -> dict[str, int]:
    """Community number per actor (greedy modularity on edge weights; 1 is the largest); isolated actors get 0."""
    linked = g.subgraph([n for n in g if g.degree(n) > 0])
    found = nx.community.greedy_modularity_communities(linked, weight="weight") if linked.number_of_edges() else []
    ordered = sorted(found, key=lambda c: (-len(c), min(c)))
    label = {n: i for i, c in enumerate(ordered, start=1) for n in c}
    return {n: label.get(n, 0) for n in g}


def measures(g: nx.Graph) -> pd.DataFrame:
    """Per actor: partners (degree), degree centrality, betweenness centrality (unweighted, normalised), weighted
    degree (shared projects and patents) and community; most central first."""
    if not g.number_of_nodes():
        return pd.DataFrame(columns=["actor", "name", "kind", "partners", "degree_centrality", "betweenness",
                                     "shared_links", "community"])
    deg = nx.degree_centrality(g) if g.number_of_nodes() > 1 else dict.fromkeys(g, 0.0)
    btw = nx.betweenness_centrality(g, normalized=True)
    comm = communities(g)
    out = pd.DataFrame({"actor": list(g.nodes)})
    out["name"] = [g.nodes[n]["name"] for n in out.actor]
    out["kind"] = [g.nodes[n]["kind"] for n in out.actor]
    out["partners"] = [g.degree(n) for n in out.actor]
    out["degree_centrality"] = out.actor.map(deg)
    out["betweenness"] = out.actor.map(btw)
    out["shared_links"] = [g.degree(n, weight="weight") for n in out.actor]
    out["community"] = out.actor.map(comm)
    return out.sort_values(["betweenness", "degree_centrality", "actor"], ascending=[False, False, True]) \
        .reset_index(drop=True)


def field_coverage(participation: pd.DataFrame, fields: pd.DataFrame) -> pd.DataFrame:
    """Per technology field: projects, patents, enterprises and institutes/universities taking part, and whether
    the field has no enterprise at all (only institutes, or nobody)."""
    p = participation
    ent = p[p.kind == "enterprise"].groupby("field").actor.nunique()
    inst = p[p.kind != "enterprise"].groupby("field").actor.nunique()
    proj = p[p.via == "project"].groupby("field").link.nunique()
    pat = p[p.via == "patent"].groupby("field").link.nunique()
    out = fields[["code", "name"]].rename(columns={"code": "field"}).copy()
    for col, series in (("projects", proj), ("patents", pat), ("enterprises", ent), ("institutions", inst)):
        out[col] = out.field.map(series).fillna(0).astype(int)
    out["no_enterprise"] = out.enterprises == 0
    out["situation"] = "enterprises take part"
    out.loc[out.no_enterprise & (out.institutions > 0), "situation"] = "institutes and universities only"
    out.loc[out.no_enterprise & (out.institutions == 0), "situation"] = "no activity recorded"
    return out


def layout(g: nx.Graph) -> pd.DataFrame:
    """x, y per actor: a seeded spring layout of each connected component (the same drawing every time), the
    components side by side, largest first, each scaled by the square root of its size."""
    rows: list[tuple[str, float, float]] = []
    offset = 0.0
    for comp in sorted(nx.connected_components(g), key=lambda c: (-len(c), min(c))):
        sub = g.subgraph(comp)
        scale = len(comp) ** 0.5
        pos = nx.spring_layout(sub, seed=LAYOUT_SEED, weight="weight", scale=scale) if len(comp) > 1 \
            else {n: (0.0, 0.0) for n in comp}
        rows += [(n, float(x) + offset + scale, float(y)) for n, (x, y) in pos.items()]
        offset += 2 * scale + 1.0
    return pd.DataFrame(rows, columns=["actor", "x", "y"])
