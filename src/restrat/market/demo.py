"""Market demo data: the baseline and two example scenarios of the shipped library, solved and stored, so the
scenario pages show results (charts beside the baseline, comparisons) before anyone runs anything."""

from __future__ import annotations

from sqlalchemy.orm import Session

from restrat.market import service

# The baseline, an export cut (prices inside and outside China split) and the association's market power: each a
# 20-year equilibrium of well under a second on the by-year path (the export cut links a few years).
DEMO_SCENARIOS = ("baseline", "medium_heavy_export_cut", "association_coordinates_exports")


def seed(*, session: Session) -> dict[str, int]:
    """Solve and store the demo scenarios from the shipped library (as the user 'demo')."""
    for name in DEMO_SCENARIOS:
        service.run_and_store(session=session, text=service.library_text(name=name), username="demo",
                              source=f"{name}.toml")
    return {"market_run": len(DEMO_SCENARIOS)}
