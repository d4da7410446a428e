"""The market equilibrium as one convex quadratic programme, built with scipy.sparse and solved with HiGHS.

Units inside the model: quantities in kt REO, prices in USD/kg, so money comes out in million USD.

Welfare maximisation (written as a minimisation for HiGHS) over all years at once:

    min  sum_t d_t [ c_x.x + 1/2 g (G x)^2 + c_y.y + 1/2 b (C y)^2 - a.(q+z) + 1/2 beta (q+z)^2 + s.z + h.I ]

subject to, every year t,
    seller balance (player p, region r, element e):  sum_s rho_r a_se x_sr - sum_m y_prem >= 0   (free disposal)
    market clearing (element e, market m):           sum_p,r y_prem - sum_k q_kem - (I_em,t - I_em,t-1) >= 0
    mine capacity (source s):                        sum_r x_sr <= K_s,t
    separation capacity (region r):                  rho_r sum_s x_sr <= S_r,t
    named caps (quotas, export controls, reserves):  sum over a selection <= rhs

The price of element e in market m is the dual of its clearing row divided by the discount factor d_t.
A Cournot player p adds 1/2 b_em (sum_r y_prem)^2, so its sales satisfy price - b_em y = marginal cost;
the competitive fringe has no such term and prices at marginal cost.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

INF = highspy.kHighsInf


@dataclass(frozen=True)
class Cap:
    """A named linear cap: a selection of mining routes, sales or separation in some years, at most rhs kt.

    kind: 'mine' (selection of routes, per year), 'sales' (selection of sales, per year), 'separation' (selection
    of routes weighted by recovery, per year) or 'cumulative_mine' (selection of routes summed over all years)."""

    name: str
    kind: str
    select: np.ndarray  # boolean mask over routes (mine, separation, cumulative_mine) or sales
    rhs: np.ndarray  # kt per year (length T); for cumulative_mine a length-1 array
    group: str = "lever"


@dataclass
class Inputs:
    """Everything one equilibrium needs, as arrays indexed by the frames' positions."""

    elements: list[str]
    years: np.ndarray  # (T,)
    markets: list[str]  # (M,)
    regions: list[str]  # separation regions (R,)
    players: pd.DataFrame  # code, name, strategic (bool)
    sources: pd.DataFrame  # code, name, country, player (code), ore_type, ... one row per source (S)
    composition: np.ndarray  # (S, E) share of each element in the source's REO, rows sum to 1
    mine_cap: np.ndarray  # (S, T) kt
    mine_cost: np.ndarray  # (S, T) USD/kg REO, linear part
    mine_slope: np.ndarray  # (S, T) USD/kg per kt, quadratic part
    emission: np.ndarray  # (S,) t CO2e per t REO mined and separated
    routes: pd.DataFrame  # source (int), region (int), cost (USD/kg): where each source's concentrate is separated
    recovery: np.ndarray  # (R,)
    sep_cap: np.ndarray  # (R, T) kt of separated output
    sales_cost: np.ndarray  # (R, M) USD/kg from a separation region to a market
    segments: pd.DataFrame  # application, element (int), market (int): one linear demand segment each (K)
    alpha: np.ndarray  # (K, T) USD/kg intercept
    beta: np.ndarray  # (K, T) USD/kg per kt slope
    sub_price: np.ndarray  # (K, T) USD/kg at which a substitute replaces the element
    sub_cap: np.ndarray  # (K, T) kt of the segment that can be substituted
    stock0: np.ndarray  # (E, M) kt held before the first year
    stock_min: np.ndarray  # (E, M, T) kt
    stock_max: np.ndarray  # (E, M, T) kt
    hold_cost: np.ndarray  # (E,) USD/kg per year
    strategic_markets: np.ndarray | None = None  # (M,) bool: where strategic players use their market power
    discount_rate: float = 0.05
    caps: list[Cap] = field(default_factory=list)


@dataclass
class Layout:
    """Positions of every variable and row of one year; the full model repeats them T times.

    Sellers: each strategic player is its own seller; all price-taking players of a region are pooled into one
    competitive seller (seller -1), which leaves the equilibrium unchanged and keeps the model small."""

    routes: pd.DataFrame  # source, region, cost, seller
    sales: pd.DataFrame  # seller, region, element, market
    balance: pd.DataFrame  # seller, region, element
    clearing: pd.DataFrame  # element, market: one aggregated demand each (only traded pairs)
    seg_clearing: np.ndarray  # (K,) clearing position of each demand segment
    stock_clearing: np.ndarray  # (E*M,) clearing position of each stock (-1: not traded)

    @property
    def n_x(self) -> int:
        return len(self.routes)

    @property
    def n_y(self) -> int:
        return len(self.sales)

    @property
    def n_q(self) -> int:
        return len(self.clearing)

    @property
    def n_z(self) -> int:
        return len(self.seg_clearing)

    n_i: int = 0

    @property
    def per_year(self) -> int:
        return self.n_x + self.n_y + self.n_q + self.n_z + self.n_i

    def offsets(self) -> dict[str, int]:
        o = {"x": 0, "y": self.n_x, "q": self.n_x + self.n_y}
        o["z"] = o["q"] + self.n_q
        o["i"] = o["z"] + self.n_z
        return o


@dataclass
class Solution:
    """Primal values per year (arrays shaped (T, n)), prices (T, E, M) and the caps' shadow values."""

    method: str  # 'by year' (one block per year), 'linked years' (some years solved together) or 'joint'
    objective: float
    x: np.ndarray
    y: np.ndarray
    q: np.ndarray  # (T, n_clearing) element use per (element, market)
    z: np.ndarray  # (T, K) substituted per demand segment
    stock: np.ndarray  # (T, E, M)
    price: np.ndarray  # (T, E, M) USD/kg, NaN where an element is not traded in a market
    cap_duals: dict[str, np.ndarray]
    layout: Layout
    linked: tuple[str, ...] = ()  # the blocks of years solved together, e.g. ('2025-2028',)


class Infeasible(Exception):
    """The constraints cannot all hold; names the conflicting ones."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = conflicts
        super().__init__("the scenario's constraints cannot all hold; conflicting: " + "; ".join(conflicts))


def _pos(frame: pd.DataFrame, cols: list[str], table: pd.DataFrame) -> np.ndarray:
    """Position in table of each row of frame, matched on the integer columns cols (-1 when absent).

    The key columns are packed into one int64 (mixed radix) and looked up by binary search: a pandas merge does
    the same but costs milliseconds per call, which a sweep pays thousands of times."""
    left = frame[cols].to_numpy(dtype=np.int64).reshape(len(frame), len(cols))
    right = table[cols].to_numpy(dtype=np.int64).reshape(len(table), len(cols))
    if len(right) == 0 or len(left) == 0:
        return np.full(len(left), -1, dtype=int)
    both = np.vstack([left, right])
    low = both.min(axis=0)
    span = both.max(axis=0) - low + 1
    radix = np.concatenate([np.cumprod(span[::-1])[::-1][1:], [1]])
    key_l, key_r = (left - low) @ radix, (right - low) @ radix
    order = np.argsort(key_r, kind="stable")
    at = np.minimum(np.searchsorted(key_r[order], key_l), len(order) - 1)
    return np.where(key_r[order][at] == key_l, order[at], -1).astype(int)


def layout(inp: Inputs) -> Layout:
    """Which sales, balances and clearing rows exist: only where some source can deliver the element."""
    player_idx = pd.Series(range(len(inp.players)), index=inp.players.code.to_numpy())
    src_player = player_idx.loc[inp.sources.player].to_numpy()
    strategic = inp.players.strategic.to_numpy()
    src_seller = np.where(strategic[src_player], src_player, -1)
    routes = inp.routes.reset_index(drop=True)
    routes = routes.assign(seller=src_seller[routes.source.to_numpy()])
    carried = inp.composition[routes.source.to_numpy()] > 0  # (routes, E)
    r_idx, e_idx = np.nonzero(carried)
    balance = pd.DataFrame({"seller": routes.seller.to_numpy()[r_idx], "region": routes.region.to_numpy()[r_idx],
                            "element": e_idx}).drop_duplicates().sort_values(["seller", "region", "element"])
    balance = balance.reset_index(drop=True)
    clearing = inp.segments[["element", "market"]].drop_duplicates().sort_values(["element", "market"])
    clearing = clearing.reset_index(drop=True)
    n_m = len(inp.markets)
    sales = balance.merge(clearing, on="element").sort_values(["seller", "region", "element", "market"])
    return Layout(routes=routes, sales=sales.reset_index(drop=True), balance=balance, clearing=clearing,
                  seg_clearing=_pos(inp.segments, ["element", "market"], clearing),
                  stock_clearing=_pos(pd.DataFrame({"element": np.repeat(np.arange(len(inp.elements)), n_m),
                                                    "market": np.tile(np.arange(n_m), len(inp.elements))}),
                                      ["element", "market"], clearing),
                  n_i=len(inp.elements) * len(inp.markets))


def _incidence(rows: np.ndarray, n_rows: int, n_cols: int, values: np.ndarray | None = None) -> sp.csr_matrix:
    """Row rows[j] gets values[j] in column j (columns with rows[j] < 0 stay empty)."""
    vals = np.ones(len(rows)) if values is None else np.asarray(values, dtype=float)
    keep = rows >= 0
    return sp.csr_matrix((vals[keep], (rows[keep], np.flatnonzero(keep))), shape=(n_rows, n_cols))


@dataclass
class Built:
    """The assembled QP: objective, Hessian, rows and bounds, plus where each block sits."""

    c: np.ndarray
    hessian: sp.csc_matrix
    a: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_names: list[str]
    row_year: np.ndarray  # year index of each row, -1 for rows spanning the horizon
    clearing_rows: np.ndarray  # (T, n_clearing)
    cap_rows: dict[str, np.ndarray]
    layout: Layout
    discount: np.ndarray
    years: np.ndarray  # the calendar years, (T,)


def aggregate_demand(inp: Inputs, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope (n_clearing, T) of the horizontal sum of the linear segments of each (element,
    market): Q(p) = sum_k (alpha_k - p) / beta_k, exact while every segment is served."""
    n_t = len(inp.years)
    inv = np.zeros((lay.n_q, n_t))
    ratio = np.zeros((lay.n_q, n_t))
    np.add.at(inv, lay.seg_clearing, 1.0 / inp.beta)
    np.add.at(ratio, lay.seg_clearing, inp.alpha / inp.beta)
    return ratio / inv, 1.0 / inv


def build(inp: Inputs) -> Built:
    """Assemble the whole multi-year QP as sparse matrices (no Python loop over variables)."""
    lay = layout(inp)
    n_t = len(inp.years)
    n_e, n_m = len(inp.elements), len(inp.markets)
    n_s, n_r = len(inp.sources), len(inp.regions)
    routes, sales = lay.routes, lay.sales
    r_src = routes.source.to_numpy()
    r_reg = routes.region.to_numpy()
    off = lay.offsets()
    n = lay.per_year
    disc = (1.0 + inp.discount_rate) ** -np.arange(n_t)

    def block(name: str, width: int) -> sp.csr_matrix:
        """Selects one block of a year's variable vector."""
        return sp.csr_matrix((np.ones(width), (np.arange(width), off[name] + np.arange(width))), shape=(width, n))

    sel_x, sel_y, sel_q = block("x", lay.n_x), block("y", lay.n_y), block("q", lay.n_q)
    sel_z, sel_i = block("z", lay.n_z), block("i", lay.n_i)

    # seller balance (seller, region, element): -rho a x + sum_m y <= 0
    bal = lay.balance
    xe_r, xe_e = np.nonzero(inp.composition[r_src] > 0)
    coef = inp.composition[r_src[xe_r], xe_e] * inp.recovery[r_reg[xe_r]]
    key = pd.DataFrame({"seller": routes.seller.to_numpy()[xe_r], "region": r_reg[xe_r], "element": xe_e})
    a_bal = (sp.csr_matrix((-coef, (_pos(key, ["seller", "region", "element"], bal), xe_r)),
                           shape=(len(bal), lay.n_x)) @ sel_x
             + _incidence(_pos(sales, ["seller", "region", "element"], bal), len(bal), lay.n_y) @ sel_y)

    # market clearing (element, market): element use + stock change - sales <= 0 (substitutes use no element)
    clr = lay.clearing
    i_clr = lay.stock_clearing
    i_inc = _incidence(i_clr, len(clr), lay.n_i) @ sel_i
    a_now = -_incidence(_pos(sales, ["element", "market"], clr), len(clr), lay.n_y) @ sel_y + sel_q + i_inc

    a_mine = _incidence(r_src, n_s, lay.n_x) @ sel_x
    a_sep = _incidence(r_reg, n_r, lay.n_x, inp.recovery[r_reg]) @ sel_x

    eye_t = sp.identity(n_t, format="csr")
    blocks = [sp.kron(eye_t, a_bal), sp.kron(eye_t, a_now) - sp.kron(sp.eye(n_t, k=-1), i_inc),
              sp.kron(eye_t, a_mine), sp.kron(eye_t, a_sep)]
    opening = np.zeros(len(clr))
    traded = i_clr >= 0
    opening[i_clr[traded]] = inp.stock0.ravel()[traded]
    hi = [np.zeros(len(bal) * n_t), np.concatenate([opening, np.zeros(len(clr) * (n_t - 1))]),
          inp.mine_cap.T.ravel(), inp.sep_cap.T.ravel()]
    years_of = [np.repeat(np.arange(n_t), k) for k in (len(bal), len(clr), n_s, n_r)]
    names = (["seller balance"] * (len(bal) * n_t) + ["market clearing"] * (len(clr) * n_t)
             + ["mine capacity"] * (n_s * n_t) + ["separation capacity"] * (n_r * n_t))
    n_rows = sum(len(h) for h in hi)
    clearing_rows = len(bal) * n_t + np.arange(len(clr) * n_t).reshape(n_t, len(clr))

    cap_rows: dict[str, np.ndarray] = {}
    for cap in inp.caps:
        weights = cap.select.astype(float)
        if cap.kind == "separation":
            weights = weights * inp.recovery[r_reg]
        row = sp.csr_matrix(weights) @ (sel_y if cap.kind == "sales" else sel_x)
        if cap.kind == "cumulative_mine":
            blocks.append(sp.kron(sp.csr_matrix(np.ones((1, n_t))), row))
            years_of.append(np.array([-1]))
        elif cap.kind in ("mine", "separation", "sales"):
            blocks.append(sp.kron(eye_t, row))
            years_of.append(np.arange(n_t))
        else:
            raise ValueError(f"unknown cap kind {cap.kind!r}")
        count = len(years_of[-1])
        hi.append(np.asarray(cap.rhs, dtype=float).reshape(count))
        cap_rows[cap.name] = n_rows + np.arange(count)
        names += [cap.name] * count
        n_rows += count
    a = sp.vstack(blocks, format="csr")
    row_hi = np.concatenate(hi)

    # objective: costs, minus the demand intercept on use and substitutes, plus the substitutes' price
    big_a, big_b = aggregate_demand(inp, lay)
    cost_x = (inp.mine_cost[r_src] + routes.cost.to_numpy()[:, None]).T
    cost_y = np.broadcast_to(inp.sales_cost[sales.region.to_numpy(), sales.market.to_numpy()], (n_t, lay.n_y))
    cost_q = -big_a.T
    cost_z = (inp.sub_price - big_a[lay.seg_clearing]).T
    cost_i = np.broadcast_to(np.repeat(inp.hold_cost, n_m), (n_t, lay.n_i))
    c = (np.hstack([cost_x, cost_y, cost_q, cost_z, cost_i]) * disc[:, None]).ravel()

    # Hessian: source slope on its total output, demand slope on use + substitutes, Cournot on strategic sales
    in_market = np.ones(n_m, bool) if inp.strategic_markets is None else inp.strategic_markets
    strategic = (sales.seller.to_numpy() >= 0) & in_market[sales.market.to_numpy()]
    pem = sales.loc[strategic, ["seller", "element", "market"]].drop_duplicates().reset_index(drop=True)
    c_rows = np.where(strategic, _pos(sales, ["seller", "element", "market"], pem), -1)
    c_sel = _incidence(c_rows, len(pem), lay.n_y) @ sel_y
    d_sel = sel_q + _incidence(lay.seg_clearing, lay.n_q, lay.n_z) @ sel_z
    b_p = big_b[_pos(pem, ["element", "market"], clr)] if len(pem) else np.zeros((0, n_t))
    weights = np.vstack([inp.mine_slope, big_b, b_p])
    stacked = sp.vstack([_incidence(r_src, n_s, lay.n_x) @ sel_x, d_sel, c_sel], format="csr")
    big = sp.kron(eye_t, stacked, format="csr")
    hess = (big.T @ sp.diags((weights * disc[None, :]).T.ravel()) @ big).tocsc()

    col_lo = np.zeros((n_t, n))
    col_hi = np.full((n_t, n), INF)
    col_hi[:, off["z"]:off["i"]] = inp.sub_cap.T
    col_lo[:, off["i"]:] = inp.stock_min.reshape(n_e * n_m, n_t).T
    col_hi[:, off["i"]:] = np.minimum(inp.stock_max.reshape(n_e * n_m, n_t).T, INF)
    # stocks of elements not traded in a market stay at their opening level
    idle = np.flatnonzero(~traded)
    col_lo[:, off["i"] + idle] = inp.stock0.ravel()[idle][None, :]
    col_hi[:, off["i"] + idle] = inp.stock0.ravel()[idle][None, :]
    return Built(c=c, hessian=hess, a=a, row_lo=np.full(len(row_hi), -INF), row_hi=row_hi, col_lo=col_lo.ravel(),
                 col_hi=col_hi.ravel(), row_names=names, row_year=np.concatenate(years_of),
                 clearing_rows=clearing_rows, cap_rows=cap_rows, layout=lay, discount=disc,
                 years=np.asarray(inp.years))


_BANNER_SHOWN = threading.Lock()
_banner_done = False


def _new_highs() -> highspy.Highs:
    """A HiGHS instance; the copyright banner HiGHS prints on its first construction goes to /dev/null, not stdout
    (where it would break `--json` output)."""
    global _banner_done
    with _BANNER_SHOWN:
        if _banner_done:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True
        return h


def _highs(a: sp.spmatrix, c: np.ndarray, hessian: sp.spmatrix | None, col_lo: np.ndarray, col_hi: np.ndarray,
           row_lo: np.ndarray, row_hi: np.ndarray) -> highspy.Highs:
    h = _new_highs()
    # No "threads" option: HiGHS keeps one global scheduler per process, and asking for a thread count other than
    # the one it started with (by any earlier solve, e.g. the quota optimiser) makes run() fail with status "Not Set".
    h.setOptionValue("output_flag", False)
    a = sp.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h.passModel(lp)
    if hessian is not None:
        tri = sp.tril(hessian, format="csc")
        tri.sort_indices()
        hm = highspy.HighsHessian()
        hm.dim_ = a.shape[1]
        hm.format_ = highspy.HessianFormat.kTriangular
        hm.start_, hm.index_, hm.value_ = tri.indptr, tri.indices, tri.data
        h.passHessian(hm)
    return h


HARD_ROWS = ("seller balance", "market clearing")


def conflicts(built: Built) -> list[str]:
    """Names of the constraints that conflict, by an elastic feasibility LP.

    Every constraint except material balances and market clearing, and every stockpile target, gets a slack;
    HiGHS minimises the total slack. The conflicting constraints are those left violated (positive slack) and
    those binding at that optimum (non-zero dual): together they block any feasible point."""
    n_rows, n_cols = built.a.shape
    soft = np.array([name not in HARD_ROWS for name in built.row_names])
    targets = np.flatnonzero((built.col_lo > 0) & (built.col_hi > built.col_lo))
    slack_rows = np.flatnonzero(soft)
    n_slack = len(slack_rows) + len(targets)
    relax = sp.csr_matrix((-np.ones(len(slack_rows)), (slack_rows, np.arange(len(slack_rows)))),
                          shape=(n_rows, n_slack))
    target_rows = sp.hstack([sp.csr_matrix((-np.ones(len(targets)), (np.arange(len(targets)), targets)),
                                           shape=(len(targets), n_cols)),
                             sp.csr_matrix((-np.ones(len(targets)),
                                            (np.arange(len(targets)), len(slack_rows) + np.arange(len(targets)))),
                                           shape=(len(targets), n_slack))])
    a = sp.vstack([sp.hstack([built.a, relax]), target_rows])
    col_lo = np.concatenate([np.where(np.isin(np.arange(n_cols), targets), 0.0, built.col_lo), np.zeros(n_slack)])
    col_hi = np.concatenate([built.col_hi, np.full(n_slack, INF)])
    c = np.concatenate([np.zeros(n_cols), np.ones(n_slack)])
    h = _highs(a, c, None, col_lo, col_hi, np.full(a.shape[0], -INF),
               np.concatenate([built.row_hi, -built.col_lo[targets]]))
    h.run()
    sol = h.getSolution()
    slack = np.asarray(sol.col_value)[n_cols:]
    dual = np.asarray(sol.row_dual)
    names = list(built.row_names) + ["stockpile target"] * len(targets)
    soft_all = np.concatenate([soft, np.ones(len(targets), bool)])
    violated = np.concatenate([slack_rows, n_rows + np.arange(len(targets))])[slack > 1e-7]
    binding = np.flatnonzero(soft_all & (np.abs(dual) > 1e-9))
    found = sorted({names[i] for i in np.concatenate([violated, binding])})
    return found or ["(no single constraint could be named)"]


def _check(h: highspy.Highs, built: Built) -> None:
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise Infeasible(conflicts(built))
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS stopped with status {h.modelStatusToString(status)}")


def _use_columns(built: Built, n_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Over `n_t` consecutive years from year 0: each substitute column z and the use column q of its (element,
    market), as positions in those years' variable vector."""
    lay = built.layout
    n, off = lay.per_year, lay.offsets()
    first = n * np.arange(n_t)[:, None]
    z_cols = (first + off["z"] + np.arange(lay.n_z)[None, :]).ravel()
    q_of_z = (first + off["q"] + lay.seg_clearing[None, :]).ravel()
    keep = np.tile(lay.seg_clearing >= 0, n_t)
    return z_cols[keep], q_of_z[keep]


def _solve_qp(a: sp.spmatrix, c: np.ndarray, hessian: sp.spmatrix, col_lo: np.ndarray, col_hi: np.ndarray,
              row_lo: np.ndarray, row_hi: np.ndarray, z_cols: np.ndarray, q_of_z: np.ndarray,
              built: Built) -> tuple[np.ndarray, np.ndarray, float]:
    """Solve the QP with HiGHS after a change of variables: each element use q is replaced by the demand served
    u = q + sum of its substitutes z (x = M x'), so the demand term, a dense block over (q, z) of every (element,
    market), becomes one diagonal entry, and q >= 0 becomes the row u - sum z >= 0. The feasible set and the optimum
    are the same; HiGHS's active-set QP solver needs about a quarter fewer iterations. Returns the primal values in
    the original variables, the duals of the original rows and the objective."""
    n_cols, n_rows = a.shape[1], a.shape[0]
    m = (sp.identity(n_cols, format="csr")
         + sp.csr_matrix((-np.ones(len(z_cols)), (q_of_z, z_cols)), shape=(n_cols, n_cols))).tocsc()
    q_cols = np.unique(q_of_z)
    a2 = sp.vstack([a @ m, m[q_cols]], format="csc")
    h2 = (m.T @ hessian @ m).tocsc()
    lo2, hi2 = col_lo.copy(), col_hi.copy()
    lo2[q_cols], hi2[q_cols] = 0.0, INF  # u >= 0 follows from q >= 0 and z >= 0; q's own bounds become rows
    h = _highs(a2, m.T @ c, h2, lo2, hi2, np.concatenate([row_lo, col_lo[q_cols]]),
               np.concatenate([row_hi, col_hi[q_cols]]))
    h.run()
    _check(h, built)
    sol = h.getSolution()
    return (m @ np.asarray(sol.col_value), np.asarray(sol.row_dual)[:n_rows],
            float(h.getInfo().objective_function_value))


def _solve_joint(built: Built) -> tuple[np.ndarray, np.ndarray, float]:
    n_t = len(built.discount)
    z_cols, q_of_z = _use_columns(built, n_t)
    return _solve_qp(built.a, built.c, built.hessian, built.col_lo, built.col_hi, built.row_lo, built.row_hi,
                     z_cols, q_of_z, built)


def _solve_block(built: Built, a_csc: sp.csc_matrix, h_csc: sp.csc_matrix, first: int, last: int,
                 opening: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Solve years first..last as one QP: stocks free inside the block, the last year's stock held at its lower
    bound (nothing carried out of the block), `opening` (the year before's stock, held at its lower bound) entering
    the first year's clearing rows. Returns the block's columns, its rows, their values and duals, the objective."""
    lay = built.layout
    n, off = lay.per_year, lay.offsets()
    cols = np.arange(first * n, (last + 1) * n)
    rows = np.flatnonzero((built.row_year >= first) & (built.row_year <= last))
    a = a_csc[:, cols][rows]
    lo, hi = built.col_lo[cols], built.col_hi[cols].copy()
    hi[(last - first) * n + off["i"]:] = lo[(last - first) * n + off["i"]:]
    row_hi = built.row_hi[rows].copy()
    if first > 0 and opening is not None:
        row_hi -= a_csc[:, (first - 1) * n + off["i"]:first * n][rows] @ opening
    z_cols, q_of_z = _use_columns(built, last - first + 1)
    x, d, obj = _solve_qp(a, built.c[cols], h_csc[:, cols][cols], lo, hi, built.row_lo[rows],
                          row_hi, z_cols, q_of_z, built)
    return cols, rows, np.concatenate([x, d]), obj


def _solve_by_year(built: Built, n_t: int
                   ) -> tuple[np.ndarray, np.ndarray, float, str, tuple[str, ...]] | None:
    """Solve the horizon in blocks of years, starting with one block per year, linking blocks where it pays.

    At a block's last year the stock is held at its lower bound (the stockpile target), so blocks are independent.
    The result is optimal for the whole horizon when no block boundary would rather carry stock: the discounted
    price next year is at most this year's price plus the holding cost (the reduced cost of that stock variable).
    Blocks whose boundary fails that test are merged and solved again as one QP, until every boundary passes.
    Returns None when a cumulative cap (reserves) would be broken: then the whole horizon is solved at once."""
    lay = built.layout
    n, off = lay.per_year, lay.offsets()
    col = np.empty(n * n_t)
    dual = np.zeros(len(built.row_hi))
    starts = list(range(n_t))  # first year of each block
    solved: dict[tuple[int, int], float] = {}
    stock_cols = (np.arange(n_t)[:, None] * n + off["i"] + np.arange(lay.n_i)[None, :]).ravel()
    hold = built.c[stock_cols].reshape(n_t, lay.n_i)
    room = (built.col_hi[stock_cols] > built.col_lo[stock_cols] + 1e-9).reshape(n_t, lay.n_i)
    traded = lay.stock_clearing >= 0
    pos = lay.stock_clearing[traded]
    spanning = np.flatnonzero(built.row_year < 0)
    a_csc, h_csc = built.a.tocsc(), built.hessian.tocsc()
    while True:
        ends = starts[1:] + [n_t]
        for first, stop in zip(starts, ends, strict=True):
            if (first, stop - 1) in solved:
                continue
            opening = built.col_lo[(first - 1) * n + off["i"]:first * n] if first > 0 else None
            cols, rows, values, obj = _solve_block(built, a_csc, h_csc, first, stop - 1, opening)
            col[cols], dual[rows] = values[:len(cols)], values[len(cols):]
            solved[(first, stop - 1)] = obj
        if len(spanning) and np.any(built.a[spanning] @ col > built.row_hi[spanning] + 1e-7):
            return None
        price = -dual[built.clearing_rows]  # discounted prices (T, n_clearing)
        gain = price[1:, pos] - price[:-1, pos] - hold[:-1][:, traded]
        pays = np.any((gain > 1e-6 * (1.0 + np.abs(price[1:, pos]))) & room[:-1][:, traded], axis=1)
        link = {t + 1 for t in np.flatnonzero(pays)} & set(starts[1:])  # blocks starting at t+1 join the one before
        if not link:
            break
        starts = [s for s in starts if s not in link]
    ends = starts[1:] + [n_t]
    objective = sum(solved[(first, stop - 1)] for first, stop in zip(starts, ends, strict=True))
    years = built.years
    linked = tuple(f"{years[a]}-{years[b - 1]}" for a, b in zip(starts, ends, strict=True) if b - a > 1)
    method = "joint" if len(starts) == 1 and n_t > 1 else "linked years" if linked else "by year"
    return col, dual, objective, method, linked


def solve(inp: Inputs, *, joint: bool = False) -> Solution:
    """Build and solve the equilibrium; raises Infeasible naming the conflicting constraints.

    The QP is block-diagonal by year except for stocks and cumulative caps, so HiGHS first solves the year blocks
    and the links are checked; when a link would bind (or joint=True) HiGHS solves the whole horizon at once."""
    built = build(inp)
    n_t = len(inp.years)
    found = None if joint else _solve_by_year(built, n_t)
    if found is None:
        found = (*_solve_joint(built), "joint", (f"{inp.years[0]}-{inp.years[-1]}",))
    col, dual, objective, method, linked = found
    lay = built.layout
    off = lay.offsets()
    col = col.reshape(n_t, -1)
    n_e, n_m = len(inp.elements), len(inp.markets)
    price = np.full((n_t, n_e, n_m), np.nan)
    clr = lay.clearing
    # HiGHS reports the dual of a binding <= row of a minimisation as <= 0: the price is minus it, undiscounted
    price[:, clr.element.to_numpy(), clr.market.to_numpy()] = -dual[built.clearing_rows] / built.discount[:, None]
    cap_duals = {}
    for name, rows in built.cap_rows.items():
        d = -dual[rows]
        cap_duals[name] = d / built.discount if len(rows) == n_t else d
    return Solution(method=method, objective=objective, x=col[:, :off["y"]], y=col[:, off["y"]:off["q"]],
                    q=col[:, off["q"]:off["z"]], z=col[:, off["z"]:off["i"]],
                    stock=col[:, off["i"]:].reshape(n_t, n_e, n_m), price=price, cap_duals=cap_duals, layout=lay,
                    linked=linked)
