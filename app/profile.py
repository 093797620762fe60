"""An area profile: every local indicator at the geography its publisher releases it at, with
benchmarks, comparisons, summary sentences and similar areas (the printable report is
`app.report`, built from these rows).

Why a module and not page code: the profile is what a CSP lead pastes into a board paper, so the
table, the CSV and the printable report must be the same numbers; building them once here (from
`app.queries` and `methods`) keeps the page short and lets tests call it directly.

Rules: each figure lives at its own geography and is labelled ("Police force area: Thames
Valley, which includes Oxford"); comparisons come only from `methods.benchmark`, sentences only
from `methods.summary`; every figure passes through `app.disclosure_view.control` first.
Imports: pandas, numpy, methods, app.queries, app.disclosure_view. No streamlit calls.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from app import queries as q
from app.benchmarks import profile_comparisons, registry_verdict, similar_comparison
from app.disclosure_view import control, quality_label
from app.indicator_format import decimals_of, is_rate, multiplier_of
from app.trends import recent_trend, trend_fields
from methods.benchmark import rating_style
from methods.rates import crude_rate, proportion
from methods.summary import area_summary
from methods.summary import summary_groups as area_summary_groups
from methods.wording import in_brackets


def period_words(label: object, period_type: object) -> str:
    """'2024-03' -> 'March 2024'; other labels as published."""
    s = str(label or "")
    if period_type == "month":
        try:
            return pd.Timestamp(s + "-01").strftime("%B %Y")
        except ValueError:
            return s
    return s


def title_mid_sentence(title: object) -> str:
    """A registry title placed after other words ("National figure for context: 3,775 hospital
    consultant episodes ... (HES ...)"): only a capitalised first word is lowered, never the
    rest, so acronyms and names inside the title (HES, FCE, NDTMS, England) keep their case; a
    first word that is itself an acronym ("HES", "ISTV") stays as written."""
    text = str(title or "")
    first = text.split(" ", 1)[0]
    if not first or not first[0].isupper() or any(c.isupper() for c in first[1:]):
        return text
    return first[0].lower() + text[1:]


def _geo_label(area_type: str, name: str, relation: str | None) -> str:
    kind = q.AREA_TYPE_NAMES.get(area_type, area_type)
    return f"{kind}: {name}" + (f", {relation}" if relation else "")


def _candidates(geo: dict[str, Any]) -> list[list[dict[str, str]]]:
    """Groups of areas to try, nearest geography first, each with its label."""
    a = geo["area"]
    me = {"code": a["area_code"], "type": a["area_type"], "label": _geo_label(a["area_type"], a["area_name"], None)}
    lads = [{"code": x["code"], "type": "lad", "label": _geo_label("lad", x["name"], x["relation"])}
            for x in geo["lads"] if x["code"] != a["area_code"]]
    csps = [{"code": x["code"], "type": "csp", "label": _geo_label("csp", x["name"], x["relation"])}
            for x in geo["csps"] if x["code"] != a["area_code"]]
    groups: list[list[dict[str, str]]] = [[me]]
    if a["area_type"] == "csp":
        groups.append(lads)
    elif a["area_type"] == "lad":
        groups.append(csps)
    if geo["pfa"] and a["area_type"] != "pfa":
        groups.append([{"code": geo["pfa"]["code"], "type": "pfa",
                        "label": _geo_label("pfa", geo["pfa"]["name"], f"which includes {a['area_name']}")}])
    return [g for g in groups if g]


def _region_group(geo: dict[str, Any]) -> list[dict[str, str]]:
    """The region an area is in, for figures published no lower than region: "South East
    region (where Oxford is)"."""
    a, r = geo["area"], geo["region"]
    if not r or a["area_type"] == "region":
        return []
    return [{"code": r["code"], "type": "region", "label": f"{r['name']} region (where {a['area_name']} is)"}]


def _utla_candidates(geo: dict[str, Any]) -> list[list[dict[str, str]]]:
    """For a figure published per upper-tier local authority: the council area(s) containing the
    CSP or LAD, labelled 'Upper-tier local authority: Kent County Council area, which includes
    Maidstone'. Only these, so a county figure is never shown as the district's own."""
    if geo["area"]["area_type"] == "utla":
        a = geo["area"]
        return [[{"code": a["area_code"], "type": "utla", "label": _geo_label("utla", a["area_name"], None)}]]
    groups = [[{"code": u["code"], "type": "utla", "label": f"{q.AREA_TYPE_NAMES['utla']}: {u['words']}"}
               for u in geo.get("utlas", []) if u.get("current", True) is current] for current in (True, False)]
    return [g for g in groups if g]


def _benchmark_codes(geo: dict[str, Any], row_type: str) -> list[tuple[str, str]]:
    """(code, name) of the benchmarks for a figure at `row_type`: England & Wales (or the
    country when E&W is not published), then the force area (for CSP/LAD figures) or region."""
    out = [(q.ENGLAND_WALES, "England & Wales")]
    country_name = "Wales" if geo["country"] == q.WALES else "England"
    out.append((geo["country"], country_name))
    if row_type in ("csp", "lad") and geo["pfa"]:
        out.append((geo["pfa"]["code"], f"{geo['pfa']['name']} police force area"))
    if geo["region"]:
        out.append((geo["region"]["code"], geo["region"]["name"]))
    return out


def _missing_reason(ind: pd.Series, geo: dict[str, Any]) -> str:
    a = geo["area"]
    if str(ind["indicator_id"]).startswith("gangs_local_"):
        return ("no local working estimate supplied by this partnership "
                "(template: data/templates/gang_working_estimates.csv)")
    if ind["geography_level"] == "region" and geo["country"] == q.WALES:
        return "published for English regions only (no figure for Wales in this source)"
    if ind["series"] == "police_uk" and geo["pfa"]:
        cov = q.coverage_grid()
        mine = cov[cov["pfa_code"] == geo["pfa"]["code"]]
        if mine.empty or (mine["status"] == "missing").all():
            return f"no police.uk file for {geo['pfa']['name']} police in this mirror"
    if ind["geography_level"] == "utla" and geo["country"] == q.WALES:
        return "published for English councils only (Department for Education statistics cover England)"
    cov = q.indicator_coverage()
    cov = cov[cov["indicator_id"] == ind["indicator_id"]]
    nation = "Wales" if geo["country"] == q.WALES else "England"
    covered = bool(cov["covers_wales" if nation == "Wales" else "covers_england"].any())
    if not cov.empty and not covered:
        other = "England" if nation == "Wales" else "Wales"
        return f"this publication covers {other} only (no figures for {nation})"
    sources = set(cov["source_id"])
    for ne in geo["not_estimated"]:
        if ne["source_id"] in sources:  # only the reason its own source gives
            return str(ne["reason"])
    level = q.AREA_TYPE_NAMES.get(ind["geography_level"], ind["geography_level"])
    return f"published for each {level.lower()}; none matches {a['area_name']}"


def _missing_month_reason(ind: pd.Series, geo: dict[str, Any], month: str) -> str:
    """Why a monthly figure is absent: the force's police.uk file for the month is missing or
    partial (from the coverage grid), or the source does not cover that month."""
    if ind["series"] == "police_uk" and geo["pfa"]:
        cov = q.coverage_grid()
        hit = cov[(cov["pfa_code"] == geo["pfa"]["code"]) & (cov["month"] == month)]
        if not hit.empty:
            status, note = hit.iloc[0]["status"], hit.iloc[0]["note"]
            detail = f" {in_brackets(note)}" if isinstance(note, str) and note else ""
            return f"{geo['pfa']['name']} police.uk file {status}{detail}"
    return "this source has no figure for that month"


def csp_profile(code: str, month: str | None = None) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """Profile rows for a CSP, local authority or force area: one row per indicator and
    geography, disclosure-controlled, with up to two benchmark comparisons.

    Each indicator shows its latest period, except monthly series when `month` (YYYY-MM) is
    chosen: then that month, and if the month is missing for the area the row says so rather
    than quietly showing another month."""
    geo = q.area_geography(code)
    if geo is None:
        return None, pd.DataFrame()
    inds = pd.concat([q.local_indicators(), q.regional_indicators()], ignore_index=True)
    region_group = _region_group(geo)
    groups = _candidates(geo)
    utla_groups = _utla_candidates(geo)
    all_codes = sorted({c["code"] for g in groups + [region_group] + utla_groups for c in g})
    obs = q.observations(list(inds["indicator_id"]), all_codes)
    rows: list[dict[str, Any]] = []
    for _, ind in inds.iterrows():
        mine = obs[obs["indicator_id"] == ind["indicator_id"]]
        chosen: list[dict[str, str]] = []
        # Region-level sources are shown at the area's region, upper-tier ones at the council area;
        # other indicators never fall back to either.
        level = ind["geography_level"]
        for g in (utla_groups if level == "utla" else groups + [region_group] if level == "region" else groups):
            if mine["area_code"].isin([c["code"] for c in g]).any():
                chosen = [c for c in g if c["code"] in set(mine["area_code"])]
                break
        if not chosen:
            rows.append({"family": ind["family"], "indicator_id": ind["indicator_id"], "title": ind["title"],
                         "unit": ind["unit"], "polarity": ind["polarity"], "geo_label": "not available",
                         "suppressed_reason": _missing_reason(ind, geo), "quality": None,
                         "is_health_source": bool(ind["is_health_source"])})
            continue
        for c in chosen:
            series = mine[mine["area_code"] == c["code"]]
            ptype = q.preferred_period_type(series["period_type"])
            series = series[series["period_type"] == ptype]
            if month and ptype == "month":
                picked = series[series["period_label"] == month]
                if picked.empty:
                    rows.append({"family": ind["family"], "indicator_id": ind["indicator_id"], "title": ind["title"],
                                 "unit": ind["unit"], "polarity": ind["polarity"], "geo_label": c["label"],
                                 "period_label": month, "period_type": "month",
                                 "suppressed_reason": f"no figure for {month}: {_missing_month_reason(ind, geo, month)}",
                                 "quality": None, "is_health_source": bool(ind["is_health_source"])})
                    continue
                latest = picked.iloc[[-1]]
            else:
                latest = series.sort_values(["period_end", "period_start"]).iloc[[-1]]
            row = control(latest).iloc[0].to_dict()
            if pd.isna(row["value"]) and not isinstance(row.get("suppressed_reason"), str):
                row["suppressed_reason"] = row.get("note") if isinstance(row.get("note"), str) else None
            row["geo_label"] = c["label"]
            rows.append(_with_benchmarks(row, geo, c["type"]))
    df = pd.DataFrame(rows)
    order = {f: i for i, f in enumerate(q.FAMILIES)}
    df["_o"] = df["family"].map(order)
    # Within a family, published figures lead and synthetic stand-ins come last (q.QUALITY_RANK).
    df["_q"] = df["quality"].map(q.QUALITY_RANK).fillna(len(q.QUALITY_RANK))
    df = df.sort_values(["_o", "_q", "indicator_id"]).drop(columns=["_o", "_q"]).reset_index(drop=True)
    return geo, with_partnership_totals(geo, with_council_figures(geo, df))


def _with_benchmarks(row: dict[str, Any], geo: dict[str, Any], row_type: str) -> dict[str, Any]:
    # Comparator, like-for-like value and category come from app.benchmarks, shared with
    # Compare, the map and the downloads; `bench{i}_basis` says what each benchmark sums.
    for i, (comp, b, result) in enumerate(profile_comparisons(row, row_type, geo), start=1):
        style = rating_style(result)
        row[f"bench{i}_name"] = comp.name
        row[f"bench{i}_code"] = comp.code
        row[f"bench{i}_role"] = comp.role
        row[f"bench{i}_value"] = b.get("value")
        row[f"bench{i}_lower"] = b.get("lower_ci")
        row[f"bench{i}_upper"] = b.get("upper_ci")
        row[f"bench{i}_basis"] = b.get("basis")
        row[f"bench{i}_phrase"] = result.phrase
        row[f"bench{i}_label"] = f"{style.symbol} {style.label}"
        row[f"bench{i}_colour"] = style.colour
        row[f"_result{i}"] = result
    if (verdict := registry_verdict(row["indicator_id"], row.get("polarity"))) is not None:
        # the registry gives this indicator no comparators: "not compared" with its reason
        style = rating_style(verdict)
        row["bench1_label"] = f"{style.symbol} {style.label}"
        row["bench1_phrase"] = verdict.phrase
        row["_result1"] = verdict
    if (sim := similar_comparison(row, row_type)) is not None:  # the CSP's most similar partnerships
        comp, b, result = sim
        style = rating_style(result)
        row["similar_name"] = comp.name
        row["similar_value"] = None if b is None else b.get("value")
        row["similar_basis"] = None if b is None else b.get("basis")
        row["similar_phrase"] = result.phrase
        row["similar_label"] = f"{style.symbol} {style.label}"
        row["_similar_result"] = result
    # the recent-trend marker, from app.trends as on Compare and in every download
    row.update(trend_fields(recent_trend(row["indicator_id"], row["area_code"], row["period_type"],
                                         row["period_label"])))
    row["summary"] = summary_sentence(row)
    return row


def summary_sentence(row: dict[str, Any], say_not_compared: bool = True) -> str:
    """The plain-English sentence for one profile row (methods.summary). A count (e.g. a modelled
    number of children) has no per-population reading: its number is followed by its unit words,
    and the registry's "not compared" (the reason the profile line gives) is said in it too.
    `say_not_compared=False`: the sentence without its "not compared" phrase, for a summary that
    says that reason once for several figures (`summary_groups`)."""
    area_name = str(row.get("geo_label", "")).split(": ", 1)[-1].split(",")[0]
    period = period_words(row.get("period_label"), row.get("period_type"))
    value = row.get("value")
    value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    rate = is_rate(row)  # multiplier and decimals: the indicator's registry row (data/indicators.csv)
    return area_summary(
        indicator=str(row["title"]), area=area_name, period=period, value=value,
        comparison=row.get("_result1"), per=(multiplier_of(row) or 100_000) if rate else 1,
        decimals=decimals_of(row), quality=row.get("quality"),
        suppressed_reason=row.get("suppressed_reason") if isinstance(row.get("suppressed_reason"), str) else None,
        unit=None if rate else str(row.get("unit") or ""), say_not_compared=say_not_compared,
    )


def summary_groups(rows: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """The profile's summary block for `rows` (profile rows with a value, in the order shown):
    compared figures first, then the others, a "not compared" reason shared by several figures
    said once above them (methods.summary.summary_groups)."""
    items = []
    for r in rows.to_dict("records"):
        if not isinstance(r.get("summary"), str):
            continue
        result = r.get("_result1")
        result = result if hasattr(result, "significance") else None
        short = summary_sentence(r, say_not_compared=False) if result is not None else r["summary"]
        items.append((r["summary"], short, result))
    return area_summary_groups(items)


PROFILE_COLUMNS = [
    "family", "title", "geo_label", "period_label", "count", "denominator", "value", "lower_ci", "upper_ci",
    "unit", "bench1_label", "bench1_value", "bench1_basis", "bench2_label", "bench2_value", "bench2_basis",
    "bench3_label", "bench3_value", "bench3_basis", "trend", "trend_detail", "suppressed_reason", "quality",
    "publisher", "source_title", "note",
]


def profile_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads (no internal objects)."""
    cols = [c for c in PROFILE_COLUMNS if c in rows]
    out = rows[cols].copy()
    if "quality" in out:
        out["quality"] = out["quality"].map(lambda v: quality_label(v) if isinstance(v, str) else "")
    return out


def default_month(code: str) -> str | None:
    """The month a profile opens on: the latest month for which the area's own police force
    published a complete police.uk file (falling back to its latest partial one, then to the
    latest month of any force). Opening on the newest month of the whole warehouse would show
    every police.uk line as missing for a force that has not published it yet."""
    cov = q.coverage_grid()
    if cov.empty:
        return None
    geo = q.area_geography(code)
    if geo and geo["pfa"]:
        mine = cov[cov["pfa_code"] == geo["pfa"]["code"]]
        for status in ("present", "partial"):
            hit = mine[mine["status"] == status]
            if not hit.empty:
                return str(hit["month"].max())
    return str(cov["month"].max())


# ---------------------------------------------------------------- split and merged partnerships
COUNCIL_COLUMNS = ["council_code", "council_name", "council_period", "council_count", "council_value",
                   "council_lower_ci", "council_upper_ci", "council_unit", "council_phrase", "council_quality"]


def with_council_figures(geo: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """For a CSP without a population of its own (one of several partnerships sharing a split
    unitary authority, e.g. Aylesbury Vale in Buckinghamshire), each row with a count but no
    rate gets the council's figure for the same indicator and period beside it (`council_*`
    columns: the local authority's count, rate, interval and its first comparison), so the
    reader has a rate to set the count against and a link to that council's profile. The CSP's
    own count is never divided by the council's population."""
    a = geo["area"]
    if a["area_type"] != "csp" or rows.empty or "area_code" not in rows:
        return rows
    councils = q.split_councils(a["area_code"])
    if councils.empty:
        return rows
    out = rows.copy()
    for c in COUNCIL_COLUMNS:
        out[c] = pd.Series([None] * len(out), index=out.index, dtype=object)
    mine = out[(out["area_code"] == a["area_code"]) & out["count"].notna() & out["value"].isna()]
    if mine.empty:
        return out
    obs = q.observations(list(mine["indicator_id"].unique()), list(councils["area_code"]))
    council_geo: dict[str, dict[str, Any] | None] = {}
    for idx, r in mine.iterrows():
        hit = obs[(obs["indicator_id"] == r["indicator_id"]) & (obs["period_label"] == r["period_label"])
                  & (obs["period_type"] == r.get("period_type"))]
        if hit.empty:
            continue
        c = control(hit.iloc[[0]]).iloc[0].to_dict()
        if c["area_code"] not in council_geo:
            council_geo[c["area_code"]] = q.area_geography(c["area_code"])
        cgeo = council_geo[c["area_code"]]
        phrase = None
        if cgeo is not None and pd.notna(c.get("value")):
            comps = profile_comparisons(c, "lad", cgeo)
            phrase = comps[0][2].phrase if comps else None
        values = [c["area_code"], c["area_name"], c["period_label"], c.get("count"), c.get("value"),
                  c.get("lower_ci"), c.get("upper_ci"), c.get("unit"), phrase, c.get("quality")]
        for col, v in zip(COUNCIL_COLUMNS, values, strict=True):
            out.at[idx, col] = v
    return out


def with_partnership_totals(geo: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """For a CSP made of several whole districts (North Yorkshire: seven former districts), an
    indicator shown district by district gets a partnership total first: counts and populations
    of the districts added and the rate recomputed the way the publisher computes a crude rate
    or proportion. The district rows follow it, marked `folded_under` (the page folds them
    away). No total is made, and the total row says why, when a district's figure is suppressed
    or missing (adding the rest would understate it), when their periods differ, or for a
    directly standardised rate (not additive from district rates)."""
    a = geo["area"]
    lad_codes = {x["code"] for x in geo.get("lads", [])}
    if a["area_type"] != "csp" or len(lad_codes) < 2 or rows.empty or "area_code" not in rows:
        return rows
    out = rows.copy()
    out["folded_under"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    parts_of = {i: g for i, g in out[out["area_code"].isin(lad_codes)].groupby("indicator_id", sort=False)
                if len(g) > 1}
    if not parts_of:
        return out
    records: list[dict[str, Any]] = []
    done: set[str] = set()
    for idx, r in out.iterrows():
        ind = r["indicator_id"]
        if ind in parts_of and idx in parts_of[ind].index:
            if ind in done:
                continue
            done.add(ind)
            parts = parts_of[ind]
            records.append(partnership_total(parts, geo))
            records += [{**p, "folded_under": ind} for p in parts.to_dict("records")]
        else:
            records.append(r.to_dict())
    return pd.DataFrame(records, columns=list(dict.fromkeys([*out.columns, "partnership_total_of"])))


def partnership_total(parts: pd.DataFrame, geo: dict[str, Any]) -> dict[str, Any]:
    """One row: the partnership's total of its districts' rows `parts` (one indicator), with its
    comparisons, or with the reason no total can be made."""
    a = geo["area"]
    first = parts.iloc[0].to_dict()
    n = len(parts)
    names = ", ".join(sorted(parts["area_name"]))
    qualities = sorted(set(parts["quality"].dropna()), key=lambda x: q.QUALITY_RANK.get(x, len(q.QUALITY_RANK)))
    row: dict[str, Any] = {
        k: first.get(k) for k in ("family", "indicator_id", "title", "unit", "polarity", "geography_level",
                                  "is_health_source", "definition", "method", "series", "basis", "period_type",
                                  "source_id", "publisher", "source_title", "source_url", "licence", "is_current",
                                  "multiplier", "decimals", "value_type")}
    row.update({
        "area_code": a["area_code"], "area_name": a["area_name"], "area_type": "csp",
        "geo_label": f"{q.AREA_TYPE_NAMES['csp']}: {a['area_name']}, total of its {n} former districts",
        "period_label": first.get("period_label"), "period_start": first.get("period_start"),
        "period_end": first.get("period_end"), "quality": qualities[-1] if qualities else None,
        "count": None, "denominator": None, "value": None, "lower_ci": None, "upper_ci": None,
        "partnership_total_of": n, "folded_under": None,
        "note": f"partnership total: the published figures of {names} added"})
    why = None
    if parts["period_label"].nunique() > 1:
        why = "the districts' latest figures are for different periods, so they are not added"
    elif first.get("value_type") == "standardised_rate":
        why = ("a directly standardised rate cannot be added up from the districts' rates (it needs their "
               "counts by age); see each district below")
    elif parts["count"].isna().any():
        k = int(parts["count"].isna().sum())
        why = (f"{k} of the {n} districts' counts are suppressed or not published, so no total is made "
               "(adding the others would understate it); see each district below")
    elif is_rate(first) and parts["denominator"].isna().any():
        why = "a district has no population for this figure, so no partnership rate is made"
    if why:
        row["suppressed_reason"] = why
        return _with_benchmarks(row, geo, "lad")
    count = float(parts["count"].sum())
    row["count"] = count
    if is_rate(first):
        denom = float(parts["denominator"].sum())
        per = float(multiplier_of(first) or 100_000)
        res = proportion(count, denom, per=per) if per == 100.0 else crude_rate(count, denom, per=per)
        row.update({"denominator": denom, "value": res.value, "lower_ci": res.lower, "upper_ci": res.upper})
        row["method"] = (f"partnership total: the districts' counts and denominators added, "
                         f"{'proportion (Wilson interval)' if per == 100.0 else 'crude rate'} recomputed")
    else:
        row["value"] = count
        row["method"] = "partnership total: the districts' published counts added"
    controlled = control(pd.DataFrame([row])).iloc[0].to_dict()
    if pd.isna(controlled.get("value")) and not isinstance(controlled.get("suppressed_reason"), str):
        controlled["suppressed_reason"] = "withheld by disclosure control"
    return _with_benchmarks(controlled, geo, "lad")
