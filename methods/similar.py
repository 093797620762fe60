"""Most similar partnerships: a comparator group for each CSP from published characteristics.

Why: a partnership's rate set only against England & Wales or its force mixes places that are
nothing alike (a dense city centre against the national average of towns and countryside).
Local government and policing already answer this with nearest-neighbour groups: CIPFA's
nearest neighbours for councils and the Home Office's "most similar groups" (iQuanta) for CSPs
and forces. Both standardise a set of characteristics, weight them, and take the areas at the
smallest Euclidean distance. This module does the same, openly, for serious violence.

The method (also in docs/methods.md and on screen):

1. Each characteristic is put on one scale: log for size-like ones (population, density: they
   span orders of magnitude and matter in ratios), then a z-score over the areas that have it
   (mean 0, standard deviation 1, population standard deviation, ddof 0).
2. Weighted Euclidean distance, d(a, b) = sqrt(sum_j w_j (z_aj - z_bj)^2), with stated weights
   (`DEFAULT_CHARACTERISTICS`: each of the five groups of characteristics carries weight 1,
   shared equally among its members, so a group with more columns does not count for more).
3. Missing characteristics (a Welsh CSP has no DfE children's social care factors; a council's
   factor may be suppressed): a pair is compared on the characteristics both areas have, and
   the sum is scaled up by (total weight / weight used), so distances computed on fewer
   characteristics stay on the same scale as full ones (the "available case" rule of Gower's
   distance). Nothing is imputed. A pair sharing less than `MIN_WEIGHT_SHARE` of the total
   weight gets no distance, and an area without every `required` characteristic (population
   and density: the denominator of every rate) gets no group and is in no group.
4. The `k` (15) nearest other areas, ties broken by area code, so the group never depends on
   row order.

Imports: numpy, pandas only. No I/O.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHOD_VERSION = "similar-1"
GROUP_SIZE = 15
MIN_WEIGHT_SHARE = 0.5
# distances are rounded before ranking so that ties (equal up to floating-point noise from the
# order of summation) are broken by area code, never by row order
TIE_DECIMALS = 9


@dataclass(frozen=True)
class Characteristic:
    """One column of the characteristics frame: its weight, whether it is logged before the
    z-score, whether an area must have it, and in words what it is and why it is used."""

    name: str
    group: str
    weight: float
    log: bool = False
    required: bool = False
    label: str = ""
    why: str = ""


_OFFENCE_WHY = ("the mix of street-level crime police record in the area (each type's share of the four "
                "serious-violence-related types police.uk records here, latest 12 loaded months): a share, "
                "not a rate, so areas are matched on the kind of crime, not on how much of it there is")
_CSC_WHY = ("the upper-tier council's children in need assessments citing this factor per 10,000 children "
            "(DfE): the exploitation context children's services see; England only")

DEFAULT_CHARACTERISTICS: tuple[Characteristic, ...] = (
    Characteristic("population", "size", 1.0, log=True, required=True, label="Population (all ages)",
                   why="size: the scale of services and of counts; ONS mid-year estimate"),
    Characteristic("density", "density", 1.0, log=True, required=True, label="Residents per square kilometre",
                   why="urban or rural: violence and its policing differ most along this line; land area measured "
                       "in the British National Grid (EPSG:27700, metres; its scale is within 0.1% of true "
                       "across Great Britain, so areas are too), never in degrees"),
    Characteristic("share_10_24", "age", 0.5, label="Share of residents aged 10-24",
                   why="the ages at highest risk of serious youth violence, as victims and offenders"),
    Characteristic("share_0_17", "age", 0.5, label="Share of residents aged 0-17",
                   why="children: the population the Serious Violence Duty and children's services serve"),
    Characteristic("share_violence_and_sexual_offences", "offence_mix", 0.25,
                   label="Violence and sexual offences, share of the four types", why=_OFFENCE_WHY),
    Characteristic("share_robbery", "offence_mix", 0.25, label="Robbery, share of the four types", why=_OFFENCE_WHY),
    Characteristic("share_drugs", "offence_mix", 0.25, label="Drugs, share of the four types", why=_OFFENCE_WHY),
    Characteristic("share_possession_of_weapons", "offence_mix", 0.25,
                   label="Possession of weapons, share of the four types", why=_OFFENCE_WHY),
    Characteristic("cin_gangs_rate", "childrens_social_care", 0.2, label="Children in need: gangs, per 10,000",
                   why=_CSC_WHY),
    Characteristic("cin_child_criminal_exploitation_rate", "childrens_social_care", 0.2,
                   label="Children in need: child criminal exploitation, per 10,000", why=_CSC_WHY),
    Characteristic("cin_child_sexual_exploitation_rate", "childrens_social_care", 0.2,
                   label="Children in need: child sexual exploitation, per 10,000", why=_CSC_WHY),
    Characteristic("cin_going_missing_rate", "childrens_social_care", 0.2,
                   label="Children in need: going missing, per 10,000", why=_CSC_WHY),
    Characteristic("cin_drug_misuse_child_rate", "childrens_social_care", 0.2,
                   label="Children in need: the child's drug misuse, per 10,000", why=_CSC_WHY),
)


def _check(chars: Sequence[Characteristic]) -> None:
    names = [c.name for c in chars]
    if len(set(names)) != len(names):
        raise ValueError(f"characteristic names must be unique, got {names}")
    if any(not (c.weight > 0) for c in chars):
        raise ValueError("every characteristic weight must be positive")


def standardise(values: pd.DataFrame, characteristics: Sequence[Characteristic] = DEFAULT_CHARACTERISTICS
                ) -> pd.DataFrame:
    """z-scores of each characteristic (log first where `log`), over the areas that have it.

    `values`: one row per area (index = area code), one column per characteristic; missing
    values stay missing. A logged characteristic must be positive (log of zero or less is
    undefined: ValueError naming the area). A characteristic with no spread (all areas equal)
    scores 0 for everyone: it cannot tell areas apart.
    """
    _check(characteristics)
    out = pd.DataFrame(index=values.index)
    for c in characteristics:
        if c.name not in values:
            raise ValueError(f"no column {c.name!r} in the characteristics")
        x = pd.to_numeric(values[c.name], errors="coerce").astype(float)
        if c.log:
            bad = x[x.notna() & (x <= 0)]
            if len(bad):
                raise ValueError(f"{c.name} must be positive to take its log; {bad.index[0]} has {bad.iloc[0]}")
            x = np.log(x)
        sd = x.std(ddof=0)
        out[c.name] = (x - x.mean()) / sd if sd and np.isfinite(sd) and sd > 0 else x * 0.0
    return out


def distance_matrix(z: pd.DataFrame, characteristics: Sequence[Characteristic] = DEFAULT_CHARACTERISTICS,
                    min_weight_share: float = MIN_WEIGHT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """(distances, weight used) for every pair of rows of `z` (standardised characteristics).

    d(a, b) = sqrt((W / W_ab) * sum over the characteristics both have of w_j (z_aj - z_bj)^2),
    W the total weight, W_ab the weight of the characteristics both have. NaN where
    W_ab < min_weight_share * W, and on the diagonal."""
    _check(characteristics)
    w = np.array([c.weight for c in characteristics], dtype=float)
    m = z[[c.name for c in characteristics]].to_numpy(dtype=float)
    have = np.isfinite(m)
    filled = np.where(have, m, 0.0)
    n = len(m)
    sq = np.zeros((n, n))
    used = np.zeros((n, n))
    for j in range(m.shape[1]):
        both = have[:, j][:, None] & have[:, j][None, :]
        diff = filled[:, j][:, None] - filled[:, j][None, :]
        sq += np.where(both, w[j] * diff * diff, 0.0)
        used += np.where(both, w[j], 0.0)
    total = w.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.sqrt(sq * total / used)
    d[used < min_weight_share * total - 1e-12] = np.nan
    np.fill_diagonal(d, np.nan)
    return d, used


def nearest_neighbours(values: pd.DataFrame, characteristics: Sequence[Characteristic] = DEFAULT_CHARACTERISTICS,
                       k: int = GROUP_SIZE, min_weight_share: float = MIN_WEIGHT_SHARE) -> pd.DataFrame:
    """The `k` most similar other areas for each area of `values` (index = area code).

    Returns one row per (area, neighbour): area_code, neighbour_code, rank (1 = most similar),
    distance, characteristics_used (the names both areas had, comma-separated). Areas missing a
    required characteristic take no part (no group, in no group). Fewer than `k` neighbours
    only when fewer than `k` other areas can be compared with the area."""
    _check(characteristics)
    if k < 1:
        raise ValueError("k must be at least 1")
    if values.index.has_duplicates:
        raise ValueError(f"area {values.index[values.index.duplicated()][0]} appears twice in the characteristics")
    required = [c.name for c in characteristics if c.required]
    vals = values[values[required].notna().all(axis=1)] if required else values
    vals = vals.sort_index()  # rows in code order: nothing below depends on the caller's order
    cols = ["area_code", "neighbour_code", "rank", "distance", "characteristics_used"]
    if len(vals) < 2:
        return pd.DataFrame(columns=cols)
    z = standardise(vals, characteristics)
    d, _ = distance_matrix(z, characteristics, min_weight_share)
    names = [c.name for c in characteristics]
    have = z[names].notna().to_numpy()
    codes = np.array(vals.index, dtype=object)
    rows = []
    for i, code in enumerate(codes):
        ok = np.isfinite(d[i])
        cand = pd.DataFrame({"neighbour_code": codes[ok], "distance": d[i][ok]})
        cand["_key"] = cand["distance"].round(TIE_DECIMALS)
        cand = cand.sort_values(["_key", "neighbour_code"], kind="mergesort").head(k)
        for rank, (nb, dist) in enumerate(zip(cand["neighbour_code"], cand["distance"], strict=True), start=1):
            j = int(np.flatnonzero(codes == nb)[0])
            used = ",".join(n for n, a, b in zip(names, have[i], have[j], strict=True) if a and b)
            rows.append((code, nb, rank, float(dist), used))
    return pd.DataFrame(rows, columns=cols)


def method_note(characteristics: Sequence[Characteristic] = DEFAULT_CHARACTERISTICS, k: int = GROUP_SIZE) -> str:
    """The method in a few plain sentences, for the screen (the same text on every page)."""
    groups: dict[str, list[Characteristic]] = {}
    for c in characteristics:
        groups.setdefault(c.group, []).append(c)
    parts = []
    for members in groups.values():
        names = ", ".join(c.label.lower() for c in members)
        parts.append(f"{names} (weight {sum(c.weight for c in members):g})")
    return (f"The {k} partnerships in England & Wales nearest to this one on published characteristics, found "
            "as CIPFA's nearest neighbours and the Home Office's most similar groups are: each characteristic "
            "standardised (z-score; population and density logged first), weighted, and the weighted Euclidean "
            f"distance taken. Characteristics: {'; '.join(parts)}. A pair is compared on the characteristics "
            "both have, scaled to the full weight (Welsh partnerships have no DfE children's social care "
            "figures); nothing is imputed. Ties go to the lower area code. The group average is the sum of "
            "the group's counts over the sum of their populations, as the partnership's own figure is "
            "counted, without the partnership itself.")
