"""The indicators police.uk figures are published under: rows of the indicator registry."""
from __future__ import annotations

import pandas as pd

from etl.parsers.police_uk.read import CRIME_TYPES
from etl.registry import indicator_rows


def _indicators(source_id: str = "police_uk_street") -> pd.DataFrame:
    """Titles, units, polarity and definitions of the crime types we hold: rows of the indicator
    registry (data/indicators.csv). Drugs and possession of weapons are found mostly by police
    activity (stop and search, patrols): more recorded can mean more police looking, not more
    harm, so the registry gives them polarity 'none' (docs/methods.md, "Comparisons")."""
    return indicator_rows(list(CRIME_TYPES.values()), source_id=source_id)
