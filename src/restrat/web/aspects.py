"""The seven strategy aspects (wording of the design brief) and which pages serve each.

A capability without a page is listed with `href` None so the aspect page says plainly it is not built yet."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Capability:
    title: str
    href: str | None
    what: str


@dataclass(frozen=True)
class Aspect:
    number: int
    short: str
    wording: str
    capability: str
    pages: tuple[Capability, ...] = field(default_factory=tuple)

    @property
    def built(self) -> tuple[Capability, ...]:
        return tuple(c for c in self.pages if c.href)

    @property
    def missing(self) -> tuple[Capability, ...]:
        return tuple(c for c in self.pages if not c.href)


ASPECTS: tuple[Aspect, ...] = (
    Aspect(1, "Industrial policy and integration",
           "stable industrial policy; integration of enterprises (M&A, vertical integration, access conditions)",
           "industry", (
               Capability("Facilities", "/registry/facilities", "search and filter the facility registry"),
               Capability("Enterprises", "/registry/enterprises", "enterprises behind the facilities"),
               Capability("Enterprise groups", "/registry/groups", "state groups and their members on a date"),
               Capability("Industry access conditions (reference data)", "/reference/cn_access_conditions.csv",
                          "2012 and 2016 access conditions with their sources"),
               Capability("Access-condition checks", "/industry/access",
                          "facilities checked against the conditions in force on a date, and why they fall short"),
               Capability("Concentration (HHI, CR-n)", "/industry/concentration",
                          "HHI and CR-n by stage, ore type, region and year on capacity, production or quota"),
               Capability("Merger screening", "/industry/concentration",
                          "change in HHI and CR-n with the US DOJ/FTC screening thresholds"),
               Capability("Vertical integration per group", "/industry/concentration",
                          "share of a group's processing input supplied from inside the group (ledger)"),
               Capability("Scale effects from a cost-curve assumption", "/industry/concentration",
                          "the merging parties' unit cost before and after on a power-law cost curve (ILLUSTRATIVE "
                          "elasticities), in the merger screening"),
           )),
    Aspect(2, "Technology innovation",
           "technology innovation; \u201cfission growth\u201d of output value along the chain; intensive processing",
           "technology, industry", (
               Capability("Product forms along the chain", "/catalog/forms", "what each chain stage makes"),
               Capability("Demand outlook (reference data)",
                          "/reference/ree_iea_critical_minerals_outlook_demand_supply.csv",
                          "IEA magnet rare earth demand and supply"),
               Capability("Demand shares by application (reference data)", "/reference/ree_demand_shares_secondary.csv",
                          "secondary sources"),
               Capability("R&D projects, patents, enterprise\u2013institute cooperation", "/technology",
                          "projects, readiness, patents and scorecard indicators (illustrative demo records)"),
               Capability("Industrialisation pipeline and its economic effect", "/technology",
                          "time to pilot and production; output from the ledger valued at USGS oxide prices"),
               Capability("Cooperation network", "/technology/network",
                          "who is central, communities, fields without an enterprise partner"),
               Capability("Value chain: value added per stage, multiplier from ore to end product",
                          "/industry/value-chain",
                          "value per tonne REO and value added per stage, product-structure balance, Sankey of value "
                          "beside the Sankey of mass (USGS oxide prices; other forms ILLUSTRATIVE factors)"),
               Capability("Technology export control", "/technology/export-control",
                          "fields and projects against the technology catalogue and 1E902 on a date"),
           )),
    Aspect(3, "Clusters and complete chains",
           "industrial clusters and complete industrial chains",
           "industry", (
               Capability("Facility map by chain stage", "/", "every registered facility on a map"),
               Capability("Facilities by region", "/registry/facilities", "filter the registry by stage"),
               Capability("Spatial cluster detection", "/industry/clusters", "DBSCAN on great-circle distance"),
               Capability("Chain completeness per cluster", "/industry/clusters", "which stages each cluster covers"),
               Capability("Value added per cluster", "/industry/value-chain?by=cluster",
                          "value made and added by each cluster's facilities (ledger)"),
           )),
    Aspect(4, "Resource strategy and quotas",
           "national resource strategy; total quantity control (mining and smelting/separation quotas) under one "
           "authority",
           "quota, ledger", (
               Capability("National quota history", "/quota/history", "China's mining and separation quotas by year"),
               Capability("World mine production and reserves", "/world/production", "USGS figures by country"),
               Capability("Quota allocations to groups (reference data)", "/reference/cn_quota_groups.csv",
                          "group allocations with sources"),
               Capability("Traceability ledger", "/ledger",
                          "mine-to-magnet events, national flows between chain stages, chain verification"),
               Capability("Trace a batch to its mines", "/ledger/trace",
                          "lineage graph and origin mix by mine, country and ore type, per element"),
               Capability("Facility material balance", "/ledger/balance",
                          "per-element balance of a facility and its stock counts against the book"),
               Capability("Supervision: ledger anomalies", "/ledger/anomalies",
                          "mining without or beyond quota, laundering signatures, unreceived transfers, "
                          "stock discrepancies; alerts to the facilities concerned"),
               Capability("Quota allocations by group", "/quota/allocations",
                          "published group allocations per batch (stacked), plans issued on the platform"),
               Capability("Quota against actual production", "/quota/balances",
                          "each facility's quota against its ledger use; over-quota alerts with penalty ranges"),
               Capability("Allocation optimiser", "/quota/optimiser",
                          "LP allocation of a national total with binding constraints and shadow prices explained"),
           )),
    Aspect(5, "Environmental protection",
           "resource development with environmental protection; emission standards; three-wastes recycling",
           "environment", (
               Capability("GB 26451-2011 emission limits (reference data)", "/reference/gb26451_emission_limits.csv",
                          "limits with a source"),
               Capability("GB 26451-2011 limits recalled, unverified (reference data)",
                          "/reference/gb26451_emission_limits_recalled.csv", "marked recalled; do not rely on them"),
               Capability("Emission limits on a date", "/environment/standards",
                          "GB 26451-2011 and local standards as dated rows; recalled values marked unverified"),
               Capability("Exceedance map, rankings and scores", "/environment",
                          "national map of exceedances, escalation levels and environmental scores"),
               Capability("Facility compliance", "/environment/facility",
                          "values against the limit in force, exceedance episodes, compliance per pollutant"),
               Capability("Monitoring-data ingestion", "/environment/ingestion",
                          "files, API and HJ 212-2017 data loggers through workspace checks; substitution rules"),
               Capability("Wastes, residues and process losses in the national flows", "/ledger",
                          "from the traceability ledger"),
               Capability("Wastes, Th/U residue inventory and recycling per facility", "/environment/wastes",
                          "from the ledger's disposal and recycling events and the monitored streams"),
           )),
    Aspect(6, "Export control",
           "export control system: product classification, control list updated from data, military vs civil "
           "licences, quota standards",
           "exports", (
               Capability("HS tariff lines", "/catalog/hs", "search Chinese tariff lines for rare earth products"),
               Capability("Export control measures (reference data)", "/reference/cn_export_control_measures.csv",
                          "measures 2014\u20132025"),
               Capability("Dual-use control list items (reference data)", "/reference/cn_export_control_items.csv",
                          "items 1C902\u20131C913"),
               Capability("Export quotas 2005\u20132014 (reference data)", "/reference/cn_export_quota.csv", ""),
               Capability("Where a batch was exported", "/ledger/trace",
                          "downstream trace of a batch to its export destinations"),
               Capability("Control list on a date", "/exports",
                          "dated entries with suspensions, timeline, what applies today and why"),
               Capability("What changed between two dates", "/exports/diff", "net changes and the dated events"),
               Capability("Classify a product", "/exports/classify", "items that apply, licence needed, reasons"),
               Capability("Licences: apply, review, decide, use", "/exports/licences",
                          "review clock, audit trail, military/civil quota standards, use by ledger exports, flags"),
               Capability("Data-driven list review", "/exports/review",
                          "criticality ranking from data, dated proposals the regulator accepts or rejects"),
               Capability("End-user screening", "/exports/screening",
                          "fuzzy matching across scripts against denied-party lists"),
               Capability("De minimis content rule from the ledger", "/exports/content",
                          "controlled Chinese-origin value share of a foreign-made product against the dated rule"),
           )),
    Aspect(7, "Trade association",
           "trade association: integrate productivity and purchasing power, pricing power",
           "association", (
               Capability("USGS prices by element (reference data)", "/reference/ree_prices_usgs_mcs.csv", ""),
               Capability("China domestic daily prices (reference data)",
                          "/reference/ree_prices_china_domestic_daily_2013_2024.csv", "third-party, unverified"),
               Capability("Reference price index", "/association",
                          "members' prices, volume-weighted trimmed mean per product and month"),
               Capability("Aggregate statistics with disclosure control", "/association",
                          "suppressed below three members or when one member dominates"),
               Capability("Coordinated-selling scenarios", "/market",
                          "the association coordinating exports, in the market model"),
           )),
)

MARKET = Aspect(0, "Testing the strategy", "testing the strategy before taking it", "market", (
    Capability("Strategy simulator: scenario form and runs against the baseline", "/market",
               "20-year partial equilibrium of the 17 elements with joint production, quotas, export controls, "
               "market power and stocks; prices in China and outside"),
    Capability("Compare scenario runs", "/market/compare", "shares, spending, revenues, emissions across runs"),
    Capability("Market calibration and assumptions", "/market/calibration",
               "base-year fit to USGS volumes and prices; every assumption with its reason"),
    Capability("Scenario sweeps and strategy report", "/market",
               "restrat simulate SCENARIO --out DIR --runs N [--scheduler ADDRESS]: Parquet, HTML report, fan charts"),
))

# The data pages in the left navigation, below the aspects.
NAV_PAGES: tuple[tuple[str, str], ...] = (
    ("Facility map", "/"),
    ("Elements", "/catalog"),
    ("Product forms", "/catalog/forms"),
    ("HS codes", "/catalog/hs"),
    ("Facilities", "/registry/facilities"),
    ("Enterprises", "/registry/enterprises"),
    ("Groups", "/registry/groups"),
    ("Quota history", "/quota/history"),
    ("Traceability ledger", "/ledger"),
    ("Export control", "/exports"),
    ("Technology innovation", "/technology"),
    ("Environment", "/environment"),
    ("World production", "/world/production"),
    ("Market model", "/market"),
    ("Reference data", "/reference"),
)


def aspect(number: int) -> Aspect | None:
    """Aspect 1..7, or 0 for testing the strategy on the market model."""
    if number == 0:
        return MARKET
    return next((a for a in ASPECTS if a.number == number), None)
