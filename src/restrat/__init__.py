"""restrat: rare earth industry governance and strategy platform.

From a notebook::

    import restrat
    restrat.elements()            # the 17 rare earth elements as a DataFrame
    restrat.oxide_to_metal("Nd")  # 0.8574 t Nd per t Nd2O3
    restrat.facilities()          # the facility registry of the configured database
"""

from restrat.python_api import (
    elements,
    enterprises,
    facilities,
    groups,
    hs_codes,
    oxide_to_metal,
    product_forms,
)

__version__ = "0.1.0"
__all__ = [
    "elements",
    "enterprises",
    "facilities",
    "groups",
    "hs_codes",
    "oxide_to_metal",
    "product_forms",
]
