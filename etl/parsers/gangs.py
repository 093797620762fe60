"""Children's Commissioner gang estimates (England) and a modelled CSP estimate built from them.

Why: no area publishes how many of its children are in gangs. The only real numbers are the
Children's Commissioner's national estimates (Keeping kids safe, Feb 2019: ONS analysis of the
Crime Survey for England and Wales 2017/18), so the gangs page shows those as `official` for
England, and offers a clearly labelled `modelled` CSP figure that says only what the method can
support: national prevalence times the CSP's own 10-17 population, with a deliberately wide range.

Sources of the official figures: the rows of national/national_figures.csv for the Children's
Commissioner (their quote and page are the citation, and each value must appear in its quote);
figures the file does not carry (girls, boys, the 100,000 total) are cited to the Home Affairs
Committee's Serious youth violence report (HC 1016, 2019), paragraph 83, which reports the
Commissioner's written evidence. A file row that disagrees with paragraph 83 is an error.

Modelled CSP estimate (`gangs_modelled_gang_members_10_17`):
    prevalence p = 27,000 / England population aged 10-17 (mid-year matching the survey year,
                   else the nearest mid-year in the population table)
    estimate     = p x CSP population aged 10-17 (same mid-year)
    range        = 0.35 x estimate .. 2.6 x estimate
The range combines two factors: the national figure is a survey-based estimate with no published
interval, taken as +/- 30% (0.7-1.3x), and local prevalence is unknown, taken as anywhere from
half to twice the national rate (0.5-2x). It is a plausible range, not a confidence interval.
England only: the estimate does not cover Wales, so Welsh CSPs get no value and are listed in
`not_estimated`, as are English CSPs without a 10-17 population (e.g. those inside a unitary
authority split across several CSPs, whose population cannot be divided).

May import etl.* and pandas only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.codes import ENGLAND
from etl.errors import SourceError
from etl.parsers.national_figures import read_national_file, row_period, value_in_quote
from etl.periods import Period, parse_period
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations

CCO_SERIES = "childrens_commissioner_gang_estimates"
SURVEY_PERIOD = "2017/18"  # CSEW year behind the 2019 estimates
NATIONAL_UNCERTAINTY = 0.30  # +/- on the national survey estimate (none published)
LOCAL_VARIATION = (0.5, 2.0)  # plausible local prevalence relative to national
RANGE_LOW = LOCAL_VARIATION[0] * (1 - NATIONAL_UNCERTAINTY)
RANGE_HIGH = LOCAL_VARIATION[1] * (1 + NATIONAL_UNCERTAINTY)
AGE_BAND = "10-17"

HAC_TITLE = ("Serious youth violence, Home Affairs Committee, Sixteenth Report of Session "
             "2017-19 (HC 1016, 31 Jul 2019), paragraph 83")
HAC_URL = "https://publications.parliament.uk/pa/cm201719/cmselect/cmhaff/1016/101602.htm"
HAC_QUOTE = (  # verbatim, including the report's en dash and curly quotes
    "Research completed for them by the ONS, based on the Crime Survey for England and Wales, "
    "found that there are around 27,000 children in England (aged 10\u201317) who identify as "
    "being in an urban street gang, amounting to around 12,200 girls and 14,800 boys. There are "
    "an additional 33,000 siblings of gang members and 34,000 who know a gang member and have "
    "been victims of gang violence. This adds up to a total of 100,000 children whom the "
    "Children\u2019s Commissioner describes as being \u201cat high levels of immediate risk\u201d "
    "of gang violence.")


@dataclass(frozen=True)
class Measure:
    """One published estimate; its title and definition are in data/indicators.csv."""

    indicator_id: str
    value: float  # as in paragraph 83
    file_unit: str | None  # the national figures row carrying it, when there is one


MEASURES = [
    Measure("gangs_cco_gang_members_10_17", 27_000, "children aged 10-17 who identify as a gang member"),
    Measure("gangs_cco_gang_members_girls_10_17", 12_200, None),
    Measure("gangs_cco_gang_members_boys_10_17", 14_800, None),
    Measure("gangs_cco_siblings", 33_000, "children who are the sibling of a gang member"),
    Measure("gangs_cco_victims_knowing_member", 34_000,
            "children who know gang members and experienced serious violence in last year"),
    Measure("gangs_cco_high_risk_total", 100_000, None),  # not the sum of the three groups above
]
MODELLED_ID = "gangs_modelled_gang_members_10_17"


def _cco_rows(paths: list[Path], source_id: str) -> pd.DataFrame:
    frames = [read_national_file(Path(p), source_id) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    return df[df["series"] == CCO_SERIES]


def official_observations(rows: pd.DataFrame, source_id: str) -> tuple[pd.DataFrame, Period]:
    """One England observation per measure, cited to its file row or to paragraph 83."""
    out, survey = [], parse_period(SURVEY_PERIOD)
    for m in MEASURES:
        assert value_in_quote(m.value, None, None, HAC_QUOTE, ""), m.indicator_id  # constants
        hit = rows[rows["unit"] == m.file_unit] if m.file_unit else rows.iloc[0:0]
        if len(hit) > 1:
            raise SourceError(f"{len(hit)} rows for {m.file_unit!r}", source_id=source_id,
                              file=hit.iloc[1]["file"], row=int(hit.iloc[1]["line"]),
                              column="unit")
        if len(hit):
            row = hit.iloc[0]
            where = {"source_id": source_id, "file": row["file"], "row": int(row["line"])}
            try:
                value = float(row["value"].replace(",", ""))
                period, _ = row_period(row["period"], row["period_type"])
            except ValueError as exc:
                raise SourceError(str(exc), column="value/period", **where) from None
            if value != m.value:
                raise SourceError(f"value {value:g} disagrees with {m.value:g} in {HAC_TITLE}",
                                  column="value", **where)
            if not value_in_quote(value, None, None, row["quote"], row["note"]):
                raise SourceError("value is not among the numbers in the quote",
                                  column="quote", **where)
            title, url, quote = row["source_title"], row["source_url"], row["quote"]
        else:
            period, title, url, quote = survey, HAC_TITLE, HAC_URL, HAC_QUOTE
        out.append({
            "indicator_id": m.indicator_id, "area_code": ENGLAND,
            "period_start": pd.Timestamp(period.start), "period_end": pd.Timestamp(period.end),
            "period_label": period.label, "period_type": period.kind, "count": m.value,
            "value": m.value, "quality": "official", "source_id": source_id,
            "note": f"Source: {title} ({url}). Quote: \"{quote}\" Children's Commissioner for "
                    "England, Keeping kids safe (Feb 2019); ONS analysis of the Crime Survey for "
                    "England and Wales 2017/18.",
        })
    return pd.DataFrame(out), survey


def _not_estimated_reason(geo, csp: str) -> str:
    if csp.startswith("W"):
        return "Wales: the Children's Commissioner estimate covers England only"
    split = [lad for lad in geo.children(csp, "lad") if len(geo.parents(lad, "csp")) > 1]
    if split:
        return (f"inside a local authority split across several CSPs ({', '.join(split)}): no "
                "10-17 population for the CSP, and the authority's cannot be divided")
    area = geo.areas[geo.areas["area_code"] == csp]
    if "valid_to" in area and area["valid_to"].notna().any():
        ended = area["valid_to"].dropna().iloc[0]
        return f"CSP code retired ({ended}); no 10-17 population on its geography"
    return "no 10-17 population for this CSP in the population table"


def modelled_estimates(geo, survey: Period, national: float, source_id: str
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observations, not_estimated) for every CSP in the geography."""
    eng_pop, eng_year = geo.population_for(ENGLAND, survey.start.year, AGE_BAND)
    if not eng_pop:
        raise SourceError(f"no England ({ENGLAND}) population aged {AGE_BAND}: cannot model "
                          "CSP estimates", source_id=source_id, file="population")
    prevalence = national / eng_pop
    obs, skipped = [], []
    for csp in sorted(geo.codes("csp")):
        pop, year = (None, None) if csp.startswith("W") else \
            geo.population_for(csp, eng_year, AGE_BAND)
        if not pop:
            skipped.append({"area_code": csp, "reason": _not_estimated_reason(geo, csp)})
            continue
        estimate = prevalence * pop
        obs.append({
            "indicator_id": MODELLED_ID, "area_code": csp,
            "period_start": pd.Timestamp(survey.start), "period_end": pd.Timestamp(survey.end),
            "period_label": survey.label, "period_type": survey.kind, "count": None,
            "denominator": pop, "value": round(estimate), "lower_ci": round(RANGE_LOW * estimate),
            "upper_ci": round(RANGE_HIGH * estimate), "quality": "modelled",
            "source_id": source_id,
            "note": (f"Modelled, not counted: {national:,.0f} / {eng_pop:,.0f} (England aged "
                     f"10-17, mid-{eng_year}) = {prevalence:.4%} applied to {pop:,.0f} children "
                     f"aged 10-17 in the CSP (mid-{year}). Range {RANGE_LOW:.2f}x-{RANGE_HIGH:.1f}x"
                     " the estimate: national survey uncertainty taken as +/-30% and local "
                     "prevalence as 0.5-2x national; a plausible range, not a confidence "
                     "interval. England only."),
        })
    return pd.DataFrame(obs), pd.DataFrame(skipped, columns=["area_code", "reason"])


def indicators(source_id: str = "cco_gang_estimates") -> pd.DataFrame:
    """The national estimates and the modelled CSP estimate: rows of the indicator registry
    (data/indicators.csv)."""
    return indicator_rows([m.indicator_id for m in MEASURES] + [MODELLED_ID], source_id=source_id)


def parse(paths: list[Path], source, geo) -> Staged:
    """Official England estimates plus the modelled CSP estimate and the CSPs left out."""
    source_id = getattr(source, "id", "cco_gang_estimates")
    rows = _cco_rows(paths, source_id) if paths else pd.DataFrame(columns=["series", "unit"])
    official, survey = official_observations(rows, source_id)
    national = float(official.loc[official["indicator_id"] == MEASURES[0].indicator_id,
                                  "value"].iloc[0])
    modelled, skipped = modelled_estimates(geo, survey, national, source_id)
    observations = finish_observations(pd.concat([official, modelled], ignore_index=True),
                                       source_id=source_id,
                                       file=", ".join(Path(p).name for p in paths))
    return Staged(source_id=source_id, observations=observations,
                  indicators=indicators(source_id),
                  tables={"not_estimated": skipped},
                  files=[{"name": Path(p).name, "rows": len(rows),
                          "period": survey.label} for p in paths])

