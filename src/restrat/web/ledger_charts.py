"""Plotly figure specifications for the ledger pages: national flow Sankey, lineage graph, origin mix, balances."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT, STAGE_COLOURS

# Sankey ends that are not chain stages: where material enters and leaves the national chain.
FLOW_ENDS = {"deposits": ("Deposits (extracted)", "#5b3a29"), "imports": ("Imports", "#17becf"),
             "exports": ("Exports", "#393b79"), "wastes and residues": ("Wastes and residues", "#bcbd22"),
             "process losses": ("Process losses", "#9e9e9e")}
FLOW_COLOURS = {"extraction": "rgba(140,86,75,0.45)", "shipment": "rgba(31,119,180,0.35)",
                "import": "rgba(23,190,207,0.45)", "export": "rgba(57,59,121,0.45)",
                "disposal": "rgba(188,189,34,0.55)", "process_loss": "rgba(120,120,120,0.45)"}
FLOW_LABELS = {"extraction": "extraction", "shipment": "shipments", "import": "imports", "export": "exports",
               "disposal": "disposals", "process_loss": "process losses"}
MAX_GRAPH_NODES = 400  # beyond this a node-link drawing is unreadable; the page says what was left out
MAX_LABELLED_NODES = 30


def flow_sankey(flows: pd.DataFrame, stage_names: dict[str, str], stage_order: list[str]) -> dict[str, Any]:
    """National REO flows as a Sankey: deposits and imports on the left, the chain stages in chain order, exports,
    wastes and losses on the right. Stage nodes carry the catalog's stage names."""
    present = set(flows.source) | set(flows.target)
    order = ["deposits", "imports"] + [s for s in stage_order if s in present] + [
        "exports", "wastes and residues", "process losses"]
    order = [n for n in order if n in present]
    index = {n: i for i, n in enumerate(order)}
    labels = [FLOW_ENDS[n][0] if n in FLOW_ENDS else stage_names.get(n, n) for n in order]
    colours = [FLOW_ENDS[n][1] if n in FLOW_ENDS else STAGE_COLOURS.get(n, "#444") for n in order]
    link = {"source": [index[s] for s in flows.source], "target": [index[t] for t in flows.target],
            "value": [round(float(v), 3) for v in flows.reo_t],
            "color": [FLOW_COLOURS.get(f, "rgba(0,0,0,0.2)") for f in flows.flow],
            "customdata": [FLOW_LABELS.get(f, f) for f in flows.flow],
            "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.1f} t REO<extra>%{customdata}</extra>"}
    xs, ys = _sankey_positions(order, flows)
    trace = {"type": "sankey", "arrangement": "snap", "valueformat": ",.1f", "valuesuffix": " t REO",
             "node": {"label": labels, "color": colours, "pad": 18, "thickness": 16, "x": xs, "y": ys,
                      "line": {"color": "#fff", "width": 0.5},
                      "hovertemplate": "%{label}<br>%{value:,.1f} t REO<extra></extra>"},
             "link": link}
    layout = {"font": FONT, "height": 460, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}}
    return {"data": [trace], "layout": layout}


SINK_Y = {"exports": 0.35, "wastes and residues": 0.86, "process losses": 0.95}


def _sankey_positions(order: list[str], flows: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Node positions in chain order: Plotly's own layout puts imports in the first column, whose band then runs
    across the mining node; imports here sit half a column before the stage they enter, below the main stream."""
    stages = [n for n in order if n not in FLOW_ENDS]
    step = 0.6 / max(len(stages) - 1, 1)
    x = {n: 0.2 + step * i for i, n in enumerate(stages)}
    x.update({"deposits": 0.001, "exports": 0.999, "wastes and residues": 0.999, "process losses": 0.999})
    entered = [x[t] for t in flows.loc[flows.source == "imports", "target"] if t in x]
    x["imports"] = max(0.001, min(entered, default=0.2) - step / 2)
    y = {n: 0.4 for n in order} | {"imports": 0.93} | SINK_Y
    return [round(x[n], 4) for n in order], [y[n] for n in order]


def _levels(nodes: dict[int, dict[str, Any]], edges: list[dict[str, Any]], start: int) -> dict[int, int]:
    """Chain steps from the start batch: ancestors negative (longest path to the start), descendants positive."""
    succ: dict[int, list[int]] = defaultdict(list)
    pred: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        succ[e["from"]].append(e["to"])
        pred[e["to"]].append(e["from"])
    level = {start: 0}
    for direction, neighbours, step in (("up", pred, -1), ("down", succ, 1)):
        # Relaxation converges within the graph's depth because a lineage graph has no cycles.
        frontier = [start]
        for _ in range(len(nodes)):
            nxt = []
            for n in frontier:
                for m in neighbours.get(n, []):
                    cand = level[n] + step
                    further = m not in level or (cand < level[m] if direction == "up" else cand > level[m])
                    if further and m != start:
                        level[m] = cand
                        nxt.append(m)
            if not nxt:
                break
            frontier = nxt
    return level


def _positions(levels: dict[int, int], edges: list[dict[str, Any]], start: int) -> dict[int, float]:
    """Vertical positions per level, each node near the mean of its already placed neighbours so that lines cross
    little; working outward from the start batch."""
    neigh: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        neigh[e["from"]].append(e["to"])
        neigh[e["to"]].append(e["from"])
    by_level: dict[int, list[int]] = defaultdict(list)
    for n, lv in levels.items():
        by_level[lv].append(n)
    y: dict[int, float] = {start: 0.0}
    outward = sorted((lv for lv in by_level if lv != 0), key=abs)
    for lv in [0] + outward:
        members = by_level[lv]

        def key(n: int, lv: int = lv) -> tuple[float, int]:
            placed = [y[m] for m in neigh.get(n, []) if m in y and levels.get(m) != lv]
            return (sum(placed) / len(placed) if placed else 0.0, n)

        members.sort(key=key)
        for i, n in enumerate(members):
            y[n] = i - (len(members) - 1) / 2
    return y


def lineage_graph(trace: dict[str, Any], stage_names: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The lineage as a node-link drawing: x = chain steps from the batch, line width by the REO kg attributed
    along each link, nodes coloured by the chain stage of the facility holding the batch; with the number of
    nodes drawn."""
    nodes = {n["id"]: n for n in trace["nodes"]}
    start = next(n["id"] for n in trace["nodes"] if n["code"] == trace["batch"])
    levels = _levels(nodes, trace["edges"], start)
    if len(levels) > MAX_GRAPH_NODES:
        keep = sorted(levels, key=lambda n: (abs(levels[n]), n))[:MAX_GRAPH_NODES]
        levels = {n: levels[n] for n in keep}
    edges = [e for e in trace["edges"] if e["from"] in levels and e["to"] in levels]
    ys = _positions(levels, edges, start)
    top = max((e["reo_kg"] for e in edges), default=1.0) or 1.0
    data: list[dict[str, Any]] = []
    mid_x, mid_y, mid_text = [], [], []
    for e in edges:
        x0, x1 = levels[e["from"]], levels[e["to"]]
        y0, y1 = ys[e["from"]], ys[e["to"]]
        data.append({"type": "scatter", "mode": "lines", "x": [x0, x1], "y": [y0, y1], "hoverinfo": "skip",
                     "showlegend": False,
                     "line": {"width": round(1 + 11 * math.sqrt(e["reo_kg"] / top), 2),
                              "color": "rgba(90,110,130,0.45)"}})
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        mid_text.append(f"{e['from_batch']} → {e['to_batch']}<br>{e['reo_kg']:,.1f} kg REO attributed"
                        f"<br>{e['kg']:,.1f} kg gross consumed")
    data.append({"type": "scatter", "mode": "markers", "x": mid_x, "y": mid_y, "text": mid_text,
                 "hovertemplate": "%{text}<extra>link</extra>", "showlegend": False,
                 "marker": {"size": 6, "color": "rgba(90,110,130,0.25)"}})
    top_reo = max((nodes[n]["reo_kg"] for n in levels), default=1.0) or 1.0
    label = len(levels) <= MAX_LABELLED_NODES
    by_stage: dict[str, list[int]] = defaultdict(list)
    for n in levels:
        by_stage[nodes[n]["stage"] or "unknown"].append(n)
    for stage in [s for s in STAGE_COLOURS if s in by_stage] + [s for s in by_stage if s not in STAGE_COLOURS]:
        members = by_stage[stage]
        data.append({
            "type": "scatter", "mode": "markers+text" if label else "markers", "name": stage_names.get(stage, stage),
            "x": [levels[n] for n in members], "y": [ys[n] for n in members],
            "text": [nodes[n]["code"] for n in members],
            # Neighbouring columns put their labels on opposite sides, so long batch codes do not run together.
            "textposition": ["top center" if levels[n] % 2 == 0 else "bottom center" for n in members],
            "textfont": {"size": 9, "color": "#44505b"},
            "customdata": [[nodes[n]["form"], nodes[n]["facility"] or "?", nodes[n]["facility_name"] or "",
                            nodes[n]["gross_kg"], nodes[n]["reo_kg"], nodes[n]["produced_by"]["kind"],
                            _when(nodes[n]["produced_by"]["at_epoch_s"])] for n in members],
            "hovertemplate": "<b>%{text}</b><br>%{customdata[0]} at %{customdata[1]}<br>%{customdata[2]}"
                             "<br>%{customdata[3]:,.1f} kg gross, %{customdata[4]:,.1f} kg REO"
                             "<br>made by %{customdata[5]} on %{customdata[6]}<extra></extra>",
            "marker": {"size": [_node_size(nodes[n], top_reo) for n in members],
                       "color": STAGE_COLOURS.get(stage, "#444"), "line": {"width": 1, "color": "#fff"}},
        })
    # A ring of its own, so the batch stands out without changing how its stage looks in the legend.
    data.append({"type": "scatter", "mode": "markers", "name": "batch traced", "x": [0], "y": [ys[start]],
                 "hoverinfo": "skip", "marker": {"symbol": "circle-open", "size": _node_size(nodes[start], top_reo) + 8,
                                                 "color": "#111", "line": {"width": 2.5}}})
    xs = sorted(set(levels.values()))
    height = max(360, min(900, 70 * max((sum(1 for v in levels.values() if v == x) for x in xs), default=1) + 120))
    layout = {"font": FONT, "height": height, "margin": {"l": 20, "r": 20, "t": 20, "b": 50}, "hovermode": "closest",
              "xaxis": {"title": {"text": "chain steps from the batch (upstream ← 0 → downstream)"},
                        "tickvals": xs, "zeroline": False, "showgrid": True, "gridcolor": "#f0f0f0",
                        "range": [min(xs) - 0.6, max(xs) + 0.6]},
              "yaxis": {"visible": False},
              "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}}
    return {"data": data, "layout": layout}, len(levels)


def _node_size(node: dict[str, Any], top_reo: float) -> float:
    return 9 + 16 * math.sqrt(node["reo_kg"] / top_reo)


def _when(epoch: int | None) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M") if epoch is not None else "?"


def share_bars(rows: list[dict[str, Any]], key: str, *, top: int = 15) -> dict[str, Any]:
    """Horizontal bars of origin shares (largest on top), the tail summed into 'others'."""
    shown = rows[:top]
    rest = rows[top:]
    labels = [str(r[key]) for r in shown] + ([f"{len(rest)} others"] if rest else [])
    shares = [r["share"] * 100 for r in shown] + ([sum(r["share"] for r in rest) * 100] if rest else [])
    kg = [r["reo_kg"] for r in shown] + ([sum(r["reo_kg"] for r in rest)] if rest else [])
    trace = {"type": "bar", "orientation": "h", "x": shares[::-1], "y": labels[::-1], "customdata": kg[::-1],
             "marker": {"color": "#1f77b4"}, "text": [f"{s:.1f}%" for s in shares[::-1]], "textposition": "auto",
             "hovertemplate": "%{y}: %{x:.1f}% (%{customdata:,.1f} kg REO)<extra></extra>"}
    layout = {"font": FONT, "height": max(160, 26 * len(labels) + 60), "margin": {"l": 130, "r": 10, "t": 10, "b": 40},
              "xaxis": {"title": {"text": "share of the batch's REO, %"}, "range": [0, 100], "gridcolor": "#eee"}}
    return {"data": [trace], "layout": layout}


def element_shares(rows: list[dict[str, Any]], key: str, elements: list[str], *, top: int = 8) -> dict[str, Any]:
    """Per element, the share of that element coming from each origin (stacked to 100%)."""
    traces = []
    for i, r in enumerate(rows[:top]):
        traces.append({"type": "bar", "name": str(r[key]), "x": elements,
                       "y": [r["share_by_element"].get(el, 0.0) * 100 for el in elements],
                       "marker": {"color": COLORWAY[i % len(COLORWAY)]},
                       "hovertemplate": "%{x}: %{y:.1f}% from " + str(r[key]) + "<extra></extra>"})
    if len(rows) > top:
        rest = rows[top:]
        traces.append({"type": "bar", "name": f"{len(rest)} others", "x": elements, "marker": {"color": "#c7c7c7"},
                       "y": [sum(r["share_by_element"].get(el, 0.0) for r in rest) * 100 for el in elements],
                       "hovertemplate": "%{x}: %{y:.1f}% from the others<extra></extra>"})
    layout = {"font": FONT, "barmode": "stack", "height": 320, "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
              "yaxis": {"title": {"text": "% of the element"}, "range": [0, 100], "gridcolor": "#eee"},
              "legend": {"orientation": "v", "x": 1.02, "y": 1}}
    return {"data": traces, "layout": layout}


def balance_bars(elements: list[dict[str, Any]]) -> dict[str, Any]:
    """Per element: opening, inputs, outputs, process loss and closing stock in t REO, so the identity
    opening + inputs − outputs − loss = closing can be read off the bars."""
    els = [r["element"] for r in elements]
    series = [
        ("Opening", "#9aa0a6", [r["opening_kg"] for r in elements]),
        ("Inputs (extracted, imported, received)", "#2ca02c",
         [r["extracted_kg"] + r["imported_kg"] + r["received_kg"] for r in elements]),
        ("Outputs (shipped, exported, disposed)", "#1f77b4",
         [r["shipped_kg"] + r["exported_kg"] + r["disposed_kg"] for r in elements]),
        ("Process loss", "#ff7f0e", [r["process_loss_kg"] for r in elements]),
        ("Closing", "#393b79", [r["closing_kg"] for r in elements]),
    ]
    traces = [{"type": "bar", "name": name, "x": els, "y": [v / 1000 for v in values], "marker": {"color": colour},
               "hovertemplate": "%{x}: %{y:,.3f} t REO<extra>" + name + "</extra>"} for name, colour, values in series]
    layout = {"font": FONT, "barmode": "group", "height": 380, "margin": {"l": 70, "r": 10, "t": 40, "b": 40},
              "yaxis": {"title": {"text": "t REO"}, "gridcolor": "#eee", "zerolinecolor": "#888"},
              "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}}
    return {"data": traces, "layout": layout}


def finding_counts(counts: dict[str, int]) -> dict[str, Any]:
    """Findings per kind as horizontal bars, the most frequent on top."""
    kinds = list(counts)[::-1]
    trace = {"type": "bar", "orientation": "h", "x": [counts[k] for k in kinds], "y": kinds,
             "marker": {"color": "#b3261e"}, "text": [counts[k] for k in kinds], "textposition": "auto",
             "hovertemplate": "%{y}: %{x} findings<extra></extra>"}
    layout = {"font": FONT, "height": max(180, 28 * len(kinds) + 60), "margin": {"l": 150, "r": 10, "t": 10, "b": 40},
              "xaxis": {"title": {"text": "findings"}, "gridcolor": "#eee", "rangemode": "tozero"}}
    return {"data": [trace], "layout": layout}
