"""Catalog logic: element table with computed factors, forms, HS codes, USGS statistics; loading into the store."""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from restrat.catalog import models, reference
from restrat.catalog.chemistry import oxide_to_metal_factor
from restrat.errors import InputError, NotFound, Problem
from restrat.store.bulk import insert_rows

ELEMENTS = ("La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc")
HS_LEVELS = {4: "hs4", 6: "hs6", 8: "cn8", 10: "cn10"}
_HS_RE = re.compile(r"^\d+$")
# The primary Chinese light/medium/heavy class comes from the three-group scheme; elements it leaves open
# take the heavier group (as the strategy's classification does for Tb and Dy) and elements it omits
# follow the cerium/yttrium two-group split that was seen in sources.
_TWO_TO_THREE = {"light": "light", "medium_heavy": "heavy"}


def atomic_weights() -> dict[str, float]:
    """Atomic weights (g/mol) of the rare earth elements and oxygen from the shipped data."""
    props = reference.read("ree_element_properties_mendeleev.csv")
    extra = pd.read_csv(reference.DATA / "atomic_weights_extra.csv", dtype=str)
    weights = {r.symbol: float(r.atomic_weight) for r in props.itertuples()}
    weights.update({r.symbol: float(r.atomic_weight) for r in extra.itertuples()})
    return weights


@cache
def _element_frame() -> pd.DataFrame:
    props = reference.read("ree_element_properties_mendeleev.csv").set_index("symbol")
    oxides = pd.read_csv(reference.DATA / "oxide_formulas.csv", dtype=str).set_index("element")
    classes = reference.read("ree_element_classes.csv")
    weights = atomic_weights()
    rows = []
    for sym in ELEMENTS:
        three = classes[(classes.element == sym) & (classes.scheme == "three_group_literature")]
        two = classes[(classes.element == sym) & (classes.scheme == "cerium_yttrium_two_group")]
        ore = classes[(classes.element == sym) & (classes.scheme == "quota_ore_type")]
        if len(three):
            raw = three.iloc[0]["class"]
            cn_class = "heavy" if raw == "medium_or_heavy" else raw
            status = three.iloc[0]["status"] if raw == cn_class else "derived"
            note = "" if raw == cn_class else f"three-group scheme says {raw}; counted as heavy"
        else:
            cn_class = _TWO_TO_THREE[two.iloc[0]["class"]]
            status, note = "derived", "absent from the three-group scheme; follows the cerium/yttrium split"
        formula = oxides.loc[sym, "oxide_formula"]
        rows.append({
            "symbol": sym,
            "atomic_number": int(props.loc[sym, "atomic_number"]),
            "name": props.loc[sym, "name"],
            "atomic_weight_g_per_mol": weights[sym],
            "oxide_formula": formula,
            "oxide_to_metal_factor": oxide_to_metal_factor(sym, formula, weights),
            "cn_class": cn_class,
            "cn_class_status": status,
            "cn_class_note": note,
            "quota_ore_type": ore.iloc[0]["class"] if len(ore) else "",
            "source": "atomic weights: mendeleev 1.3.0; oxide formula: "
            + oxides.loc[sym, "source"] + "; classes: ree_element_classes.csv",
        })
    return pd.DataFrame(rows)


def element_table() -> pd.DataFrame:
    """The 17 rare earth elements with atomic weight, oxide formula, computed oxide-to-metal factor and class."""
    return _element_frame().copy()


def element_symbol(value: str, *, field: str = "element", row: int | None = None) -> str:
    """The canonical symbol for value (case-insensitive symbol or English name), or an InputError."""
    table = _element_frame()
    key = str(value).strip().lower()
    for sym, name in zip(table.symbol, table.name, strict=True):
        if key in (sym.lower(), name.lower()):
            return sym
    raise InputError(Problem(field=field, rule="must be one of the 17 rare earth elements", row=row, value=value))


def oxide_to_metal(*, element: str) -> float:
    """Tonnes of metal in one tonne of the element's standard oxide."""
    sym = element_symbol(element)
    table = _element_frame().set_index("symbol")
    return float(table.loc[sym, "oxide_to_metal_factor"])


def convert(*, element: str, tonnes: float, to: str) -> float:
    """Convert tonnes of an element between its oxide ('to'='metal') and metal ('to'='oxide') forms."""
    if to not in ("metal", "oxide"):
        raise InputError(Problem(field="to", rule="must be 'metal' or 'oxide'", value=to))
    if tonnes < 0:
        raise InputError(Problem(field="tonnes", rule="must not be negative", value=tonnes))
    factor = oxide_to_metal(element=element)
    return tonnes * factor if to == "metal" else tonnes / factor


def stage_table() -> pd.DataFrame:
    """Chain stages in order."""
    df = pd.read_csv(reference.DATA / "chain_stages.csv", dtype={"position": int})
    return df.sort_values("position").reset_index(drop=True)


def product_form_table() -> pd.DataFrame:
    """Product forms along the chain with their stage."""
    return pd.read_csv(reference.DATA / "product_forms.csv", dtype=str)


def hs_code_table() -> pd.DataFrame:
    """Chinese tariff lines for rare earth products, with source and status."""
    return reference.read("cn_hs_codes.csv")


def validate_hs_code(code: str, *, field: str = "hs_code", row: int | None = None) -> str:
    """The code without dots or spaces if it is 4, 6, 8 or 10 digits, else an InputError."""
    cleaned = str(code).replace(".", "").replace(" ", "")
    if not _HS_RE.match(cleaned) or len(cleaned) not in HS_LEVELS:
        raise InputError(Problem(field=field, rule="HS code must be 4, 6, 8 or 10 digits", row=row, value=code))
    return cleaned


def production_table() -> pd.DataFrame:
    """USGS mine production by country, every edition kept (t REO)."""
    df = reference.read("ree_usgs_mcs_world_mine_production.csv")
    df["data_year"] = df.data_year.astype(int)
    df["mine_production_t_reo"] = pd.to_numeric(df.mine_production_t_reo, errors="coerce")
    df["estimated"] = df.estimated.eq("yes")
    return df


def latest_production() -> pd.DataFrame:
    """Mine production by country and year from the newest MCS edition that reports the year."""
    df = production_table().dropna(subset=["mine_production_t_reo"])
    df = df.sort_values("mcs_edition").groupby(["data_year", "country"], as_index=False).last()
    return df.sort_values(["data_year", "mine_production_t_reo"], ascending=[True, False]).reset_index(drop=True)


def reserves_table() -> pd.DataFrame:
    """USGS reserves by country, every edition kept (t REO; NA stays empty)."""
    df = reference.read("ree_usgs_mcs_world_reserves.csv")
    df["reserves_t_reo"] = pd.to_numeric(df.reserves_t_reo, errors="coerce")
    return df


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def load_reference(*, session: Session) -> dict[str, int]:
    """Replace the catalog tables with the shipped reference data; returns rows written per table."""
    for model in (models.HsCode, models.ElementClass, models.ProductForm, models.ChainStage,
                  models.CountryProduction, models.CountryReserves, models.Element):
        session.execute(delete(model))
    counts: dict[str, int] = {}
    counts["element"] = insert_rows(session, models.Element.__table__, _records(element_table()))
    classes = reference.read("ree_element_classes.csv").rename(columns={"class": "class_"})
    classes = classes[["element", "scheme", "class_", "status", "source", "note"]]
    counts["element_class"] = insert_rows(
        session, models.ElementClass.__table__, _records(classes.rename(columns={"class_": "class"})))
    counts["chain_stage"] = insert_rows(session, models.ChainStage.__table__, _records(stage_table()))
    counts["product_form"] = insert_rows(session, models.ProductForm.__table__, _records(product_form_table()))
    hs = hs_code_table()
    hs = hs.rename(columns={"description_en": "description"})
    hs["element"] = hs.element.where(hs.element != "", None)
    counts["hs_code"] = insert_rows(session, models.HsCode.__table__, _records(hs))
    prod = production_table()[["mcs_edition", "data_year", "country", "mine_production_t_reo", "estimated",
                               "raw_value", "note", "source"]]
    counts["country_production"] = insert_rows(session, models.CountryProduction.__table__, _records(prod))
    res = reserves_table()[["mcs_edition", "country", "reserves_t_reo", "raw_value", "note", "source"]]
    counts["country_reserves"] = insert_rows(session, models.CountryReserves.__table__, _records(res))
    return counts


def list_elements(*, session: Session, q: str | None = None) -> list[models.Element]:
    """Elements in atomic-number order, optionally filtered by symbol, name or class."""
    stmt = select(models.Element).order_by(models.Element.atomic_number)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(models.Element.symbol.ilike(like), models.Element.name.ilike(like),
                              models.Element.cn_class.ilike(like)))
    return list(session.scalars(stmt))


def get_element(*, session: Session, symbol: str) -> models.Element:
    """One element by symbol or name."""
    sym = element_symbol(symbol)
    element = session.get(models.Element, sym)
    if element is None:
        raise NotFound("element", symbol)
    return element


def list_product_forms(*, session: Session) -> list[models.ProductForm]:
    """Product forms ordered along the chain."""
    stmt = (select(models.ProductForm).join(models.ChainStage)
            .order_by(models.ChainStage.position, models.ProductForm.code))
    return list(session.scalars(stmt))


def list_stages(*, session: Session) -> list[models.ChainStage]:
    """Chain stages in order."""
    return list(session.scalars(select(models.ChainStage).order_by(models.ChainStage.position)))


def search_hs_codes(*, session: Session, q: str | None = None, limit: int = 200) -> list[models.HsCode]:
    """Tariff lines whose code starts with q or whose description, element or form contains it."""
    stmt = select(models.HsCode).order_by(models.HsCode.code).limit(limit)
    if q:
        q = q.strip()
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(models.HsCode.code.startswith(q.replace(".", "")),
                              models.HsCode.description.ilike(like),
                              models.HsCode.element.ilike(like), models.HsCode.form.ilike(like)))
    return list(session.scalars(stmt))


def get_hs_code(*, session: Session, code: str) -> models.HsCode:
    """One tariff line by its code (validated first)."""
    cleaned = validate_hs_code(code, field="code")
    row = session.get(models.HsCode, cleaned)
    if row is None:
        raise NotFound("hs_code", code, field="code")
    return row
