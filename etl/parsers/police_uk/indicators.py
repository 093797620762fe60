"""The indicators police.uk figures are published under (titles, units, polarity, definitions)."""
from __future__ import annotations

import pandas as pd

from etl.parsers.police_uk.read import CRIME_TYPES

# Offences found mostly by police activity (stop and search, patrols): more recorded can mean
# more police looking, not more harm, so their comparisons carry no better/worse judgement
# (docs/methods.md, "Comparisons").
POLICE_ACTIVITY = {"Drugs", "Possession of weapons"}


def _indicators() -> pd.DataFrame:
    rows = []
    for crime_type, ind in CRIME_TYPES.items():
        rows.append({
            "indicator_id": ind, "family": "knife_crime",
            "title": f"{crime_type} (police.uk street-level records)",
            "unit": "offences in the month; rate per 100,000 residents",
            "polarity": "none" if crime_type in POLICE_ACTIVITY else "higher_is_worse",
            "definition": (("Mostly found by police activity: a higher figure may mean more policing, not "
                            "more harm, so no better/worse judgement is made. " if crime_type in POLICE_ACTIVITY
                            else "")
                           + f"Crimes recorded by the police in the category '{crime_type}', as published "
                           "on data.police.uk, counted by the month of the record and placed by LSOA. "
                           "CSP and LAD counts use the CSP's own force's file; force counts are everything "
                           "the force published, placed or not; region and England & Wales add up forces "
                           "whose file for the month is complete (the note lists any left out). British "
                           "Transport Police records are not in any area count. Rate = count / ONS mid-year "
                           "population x 100,000 (95% CI: Byar, exact Poisson below 10)."),
            "geography_level": "csp", "method": "count and crude rate", "is_health_source": False,
            "series": "police_uk", "basis": "police.uk street-level", "break_note": None,
        })
    return pd.DataFrame(rows)
