"""ILLUSTRATIVE demo records of the innovation registry: a few projects, institutes, patents and industrialisations
linked to the demo's illustrative facilities (SYN-* plants carry the synthetic ledger, so their output shows the
economic effect). Every record is labelled illustrative; none describes a real project, patent or institution."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from restrat.exports import models as export_models
from restrat.exports import service as exports
from restrat.technology import service

SOURCE = "restrat demo generator: ILLUSTRATIVE, not a real project, patent or institution"

INSTITUTIONS = [
    ("ILL-INST-SEP", "Institute of Separation Chemistry (illustrative)", "institute", "Inner Mongolia"),
    ("ILL-INST-MAG", "Magnetic Materials Institute (illustrative)", "institute", "Zhejiang"),
    ("ILL-INST-LUM", "Luminescence Laboratory (illustrative)", "institute", "Jilin"),
    ("ILL-INST-CAT", "Catalysis Institute (illustrative)", "institute", "Shanghai"),
    ("ILL-UNI-N", "Northern University of Technology (illustrative)", "university", "Beijing"),
    ("ILL-UNI-S", "Southern Mining University (illustrative)", "university", "Jiangxi"),
]
# code, title, field, lead, start, end, partners
PROJECTS = [
    ("TP-SEP-01", "Continuous counter-current extraction with lower acid use", "separation_extraction",
     "E-SYN-SEP-IN01", "2019-03-01", "2024-12-31", "ILL-INST-SEP;ILL-UNI-N;ILL-SEP-001"),
    ("TP-MAG-01", "Grain-boundary terbium diffusion for low-dysprosium NdFeB", "magnets", "E-SYN-MAG-ZH01",
     "2021-01-15", "", "ILL-INST-MAG;ILL-UNI-N;E-SYN-MET-JI01"),
    ("TP-MET-01", "Molten-salt electrolysis cell with an inert anode", "metal_alloy", "E-SYN-MET-JI01",
     "2018-05-01", "2023-06-30", "ILL-UNI-S"),
    ("TP-ION-01", "Magnesium-salt in-situ leaching of ionic clays", "ionic_leaching", "E-SYN-MIN-I-JI01",
     "2020-09-01", "", "ILL-UNI-S;ILL-INST-SEP"),
    ("TP-SEP-02", "Membrane recovery of rare earths from separation effluent", "separation_extraction",
     "ILL-SEP-001", "2022-04-01", "", "ILL-UNI-S"),
    ("TP-REC-01", "Hydrogen decrepitation recycling of magnet swarf", "recycling", "ILL-REC-001", "2022-02-01", "",
     "ILL-UNI-N"),
    ("TP-PHO-01", "Low-terbium green phosphor", "phosphors", "ILL-MAT-002", "2023-06-01", "", "ILL-INST-LUM"),
]
BUDGETS = [("TP-SEP-01", "2019-03-01", 18.0e6), ("TP-SEP-01", "2021-01-01", 24.5e6), ("TP-MAG-01", "2021-01-15", 32e6),
           ("TP-MAG-01", "2024-03-01", 45e6), ("TP-MET-01", "2018-05-01", 12e6), ("TP-ION-01", "2020-09-01", 9.5e6),
           ("TP-SEP-02", "2022-04-01", 6e6), ("TP-REC-01", "2022-02-01", 4.2e6), ("TP-PHO-01", "2023-06-01", 3.1e6)]
READINESS = [("TP-SEP-01", "2019-03-01", 3), ("TP-SEP-01", "2020-06-01", 5), ("TP-SEP-01", "2021-06-01", 6),
             ("TP-SEP-01", "2023-04-01", 8), ("TP-SEP-01", "2024-01-15", 9), ("TP-MAG-01", "2021-01-15", 3),
             ("TP-MAG-01", "2023-09-01", 6), ("TP-MAG-01", "2026-09-01", 8), ("TP-MET-01", "2018-05-01", 4),
             ("TP-MET-01", "2020-11-01", 6), ("TP-MET-01", "2022-03-01", 8), ("TP-ION-01", "2020-09-01", 3),
             ("TP-ION-01", "2024-05-01", 6), ("TP-ION-01", "2026-09-10", 7), ("TP-SEP-02", "2022-04-01", 2),
             ("TP-SEP-02", "2025-03-01", 5), ("TP-REC-01", "2022-02-01", 2), ("TP-REC-01", "2024-06-01", 4),
             ("TP-PHO-01", "2023-06-01", 3), ("TP-PHO-01", "2025-06-01", 4)]
# number, title, field, project, filed, holders, later statuses
PATENTS = [
    ("ILL-PAT-0001", "Extraction cascade with acid recycling", "separation_extraction", "TP-SEP-01", "2020-02-10",
     "E-SYN-SEP-IN01;ILL-INST-SEP", [("granted", "2022-05-20")]),
    ("ILL-PAT-0002", "Extractant with lower entrainment", "separation_extraction", "TP-SEP-01", "2021-08-01",
     "E-SYN-SEP-IN01;ILL-UNI-N", [("published", "2023-02-01")]),
    ("ILL-PAT-0003", "Terbium diffusion source coating", "magnets", "TP-MAG-01", "2022-04-12",
     "E-SYN-MAG-ZH01;ILL-INST-MAG", [("granted", "2024-07-01")]),
    ("ILL-PAT-0004", "Diffusion furnace temperature profile", "magnets", "TP-MAG-01", "2024-01-20",
     "E-SYN-MAG-ZH01;ILL-UNI-N", []),
    ("ILL-PAT-0005", "Inert anode for fluoride electrolysis", "metal_alloy", "TP-MET-01", "2019-10-01",
     "E-SYN-MET-JI01;ILL-UNI-S", [("granted", "2021-12-01"), ("lapsed", "2025-06-01")]),
    ("ILL-PAT-0006", "Lanthanum-cerium FCC catalyst support", "catalysts", "", "2023-03-03", "ILL-INST-CAT", []),
    ("ILL-PAT-0007", "Cerium polishing slurry dispersant", "polishing_powders", "", "2024-09-09",
     "ILL-UNI-S;ILL-INST-CAT", []),
    ("ILL-PAT-0008", "Effluent membrane module", "separation_extraction", "TP-SEP-02", "2025-05-05", "ILL-SEP-001",
     []),
    ("ILL-PAT-0009", "Low-terbium phosphor host lattice", "phosphors", "TP-PHO-01", "2024-11-11",
     "ILL-MAT-002;ILL-INST-LUM", []),
]
# project, stage, facility, date, forms
STEPS = [
    ("TP-SEP-01", "pilot", "SYN-SEP-IN01", "2021-06-01", ""),
    ("TP-SEP-01", "production", "SYN-SEP-IN01", "2023-04-01", "separated_oxide"),
    ("TP-SEP-01", "production", "SYN-SEP-IN02", "2024-02-01", "separated_oxide"),
    ("TP-MET-01", "pilot", "SYN-MET-JI01", "2020-11-01", ""),
    ("TP-MET-01", "production", "SYN-MET-JI01", "2022-03-01", "metal"),
    ("TP-MAG-01", "pilot", "SYN-MAG-ZH01", "2023-09-01", ""),
    ("TP-MAG-01", "production", "SYN-MAG-ZH01", "2026-09-01", "magnet_ndfeb"),
    ("TP-MAG-01", "production", "SYN-MAG-ZH02", "2026-09-15", "magnet_ndfeb"),
    ("TP-ION-01", "pilot", "SYN-MIN-I-JI01", "2024-05-01", ""),
    ("TP-ION-01", "production", "SYN-MIN-I-JI01", "2026-09-10", "concentrate"),
    ("TP-SEP-02", "pilot", "ILL-SEP-001", "2025-03-01", ""),
]
LEVELS = [("SYN-SEP-IN01", "2015-01-01", 2), ("SYN-SEP-IN01", "2023-04-01", 4), ("SYN-SEP-IN02", "2015-01-01", 3),
          ("SYN-SEP-IN02", "2024-02-01", 4), ("SYN-MET-JI01", "2015-01-01", 2), ("SYN-MET-JI01", "2022-03-01", 4),
          ("SYN-MAG-ZH01", "2015-01-01", 3), ("SYN-MAG-ZH01", "2026-09-01", 5), ("SYN-MAG-ZH02", "2015-01-01", 3),
          ("SYN-MAG-ZH02", "2026-09-15", 4), ("SYN-MIN-I-JI01", "2015-01-01", 1),
          ("SYN-MIN-I-JI01", "2026-09-10", 3)]
APPLICATIONS = [("TP-MAG-01", "Magnet maker abroad (illustrative)", "Germany", dt.date(2025, 10, 20)),
                ("TP-REC-01", "Recycler abroad (illustrative)", "Japan", dt.date(2025, 11, 20)),
                ("TP-PHO-01", "Lighting firm abroad (illustrative)", "Korea, Republic of", dt.date(2026, 6, 1))]


def bundle() -> dict[str, list[dict[str, Any]]]:
    """The demo records as an import bundle."""
    return {
        "institutions": [{"code": c, "name": n, "kind": k, "country": "China", "region": r}
                         for c, n, k, r in INSTITUTIONS],
        "projects": [{"code": c, "title": t, "field": f, "lead_enterprise": lead, "start_date": s, "end_date": e,
                      "partners": p} for c, t, f, lead, s, e, p in PROJECTS],
        "budgets": [{"project": p, "recorded_on": d, "budget_cny": b} for p, d, b in BUDGETS],
        "readiness": [{"project": p, "assessed_on": d, "level": lv} for p, d, lv in READINESS],
        "patents": [{"number": n, "title": t, "field": f, "project": p, "filed_on": d, "holders": h}
                    for n, t, f, p, d, h, _ in PATENTS],
        "patent_status": [{"patent": n, "status": s, "status_on": d} for n, *_, later in PATENTS for s, d in later],
        "industrialisation": [{"project": p, "stage": s, "facility": f, "reached_on": d, "forms": fm}
                              for p, s, f, d, fm in STEPS],
        "facility_levels": [{"facility": f, "level_on": d, "level": lv,
                             "basis": "assessed before the process change" if d == "2015-01-01"
                             else "process change recorded as industrialisation"} for f, d, lv in LEVELS],
    }


def seed(*, session: Session) -> dict[str, int]:
    """Record the illustrative innovation registry (after the demo facilities and ledger) and a few technology
    export applications checked against the control list, loading the shipped list first if it is empty."""
    counts = {f"tech_{k}": v for k, v in service.import_bundle(
        session=session, bundle=bundle(), username="demo", data_status="illustrative", source=SOURCE,
        source_name="technology demo").items()}
    if not session.scalar(select(func.count()).select_from(export_models.ControlEntry)):
        exports.seed_control_list(session=session)
    for project, recipient, country, day in APPLICATIONS:
        service.apply_for_export(session=session, project=project, recipient=recipient, recipient_country=country,
                                 applied_on=day, username="demo")
    counts["tech_export_applications"] = len(APPLICATIONS)
    return counts
