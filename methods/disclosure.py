"""The one disclosure-control rule set, applied by one function to the screen, the CSV
download and any exported report.

Why one place: if the page and the download suppressed differently, a user could subtract one
from the other and recover a small health count. Rules (docs/methods.md):

1. Primary: health-source counts of 1-7 are suppressed; count, value and interval become
   missing, reason 'small count (1-7)'.
2. Secondary: within a group that also carries its total (e.g. age bands plus 'All ages'),
   if exactly one member cell is missing (suppressed here or by the publisher) it could be
   recovered as total minus the rest, so the
   smallest remaining member is suppressed too, reason 'secondary suppression'. Only one level
   of totals is handled; cross-tabulated margins need a group per margin.
3. Rates: a rate whose count is below 10 is withheld (value and interval missing, the count
   still shown if not suppressed), reason 'rate withheld: fewer than 10 events'.
4. Optional: remaining health-source counts rounded to the nearest 5 (column count_rounded).

A publisher's existing suppressed_reason is kept, and a missing value never becomes zero.
Each row's `suppressed_reason` records why its figures are missing.

Imports: numpy, pandas only. No I/O.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

REASON_SMALL = "small count (1-7)"
REASON_RATE = "rate withheld: fewer than 10 events"
REASON_SECONDARY = "secondary suppression"
SMALL_MIN, SMALL_MAX = 1, 7
RATE_MIN_COUNT = 10
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _health_mask(df: pd.DataFrame, health_col: str, source_kind_col: str, health_kinds: Sequence[str]) -> np.ndarray:
    if health_col in df:
        return df[health_col].fillna(False).astype(bool).to_numpy()
    if source_kind_col in df:
        return df[source_kind_col].isin(list(health_kinds)).to_numpy()
    raise ValueError(
        f"need a '{health_col}' or '{source_kind_col}' column to know which rows are health data"
    )


def _total_mask(df: pd.DataFrame, total_col: str | None, total_marker: tuple[str, object] | None) -> np.ndarray:
    if total_marker is not None:
        col, marker = total_marker
        return (df[col] == marker).fillna(False).to_numpy(dtype=bool)
    if total_col is not None and total_col in df:
        return df[total_col].fillna(False).astype(bool).to_numpy()
    raise ValueError("secondary suppression needs total_col or total_marker to find the total rows")


def apply_disclosure_control(
    df: pd.DataFrame,
    *,
    group_cols: Sequence[str] | None = None,
    total_col: str | None = "is_total",
    total_marker: tuple[str, object] | None = None,
    round_health_counts: bool = False,
    count_col: str = "count",
    value_col: str = "value",
    ci_cols: Sequence[str] = ("lower_ci", "upper_ci"),
    reason_col: str = "suppressed_reason",
    health_col: str = "is_health_source",
    source_kind_col: str = "source_kind",
    health_kinds: Sequence[str] = ("health",),
    rate_col: str | None = "is_rate",
) -> pd.DataFrame:
    """Apply the disclosure rules and return a new frame (the input is not modified).

    Health rows are found from a bool `health_col` or else from `source_kind_col` in
    `health_kinds`. The rate rule applies where the bool `rate_col` is True, or to every row
    with a value when that column is absent. Secondary suppression runs only when `group_cols`
    is given; total rows are marked by the bool `total_col` or by `total_marker`
    (column, value), e.g. ("age_band", "All ages"). When `round_health_counts` is set, a bool
    column `count_rounded` is added.
    """
    out = df.copy()
    count = pd.to_numeric(out[count_col], errors="coerce").astype(float).to_numpy(copy=True)
    original = count.copy()
    has_value = value_col in out  # a counts-only table has no rate column
    value = (
        pd.to_numeric(out[value_col], errors="coerce").astype(float).to_numpy(copy=True)
        if has_value
        else np.full(len(out), np.nan)
    )
    cis = {c: pd.to_numeric(out[c], errors="coerce").astype(float).to_numpy(copy=True) for c in ci_cols if c in out}
    if reason_col in out:
        reason = np.array([None if _blank(r) else r for r in out[reason_col]], dtype=object)
    else:
        reason = np.full(len(out), None, dtype=object)
    health = _health_mask(out, health_col, source_kind_col, health_kinds)

    def hide(mask: np.ndarray, why: str, *, keep_count: bool = False) -> None:
        if not keep_count:
            count[mask] = np.nan
        value[mask] = np.nan
        for arr in cis.values():
            arr[mask] = np.nan
        reason[mask & pd.isna(reason)] = why

    hide(health & (original >= SMALL_MIN) & (original <= SMALL_MAX), REASON_SMALL)

    if group_cols:
        total = _total_mask(out, total_col, total_marker)
        positions = pd.Series(np.arange(len(out)), index=out.index)
        keys = [out[c] for c in group_cols]
        for _, pos in positions.groupby(keys, dropna=False, sort=False):
            idx = pos.to_numpy()
            is_total = total[idx]
            members = idx[~is_total]
            if not is_total.any() or np.isnan(count[idx[is_total]]).all():
                continue  # no visible total, nothing to recover from
            if np.isnan(count[members]).sum() != 1:
                continue
            visible = members[~np.isnan(count[members])]
            if len(visible) == 0:
                continue
            pick = visible[np.argmin(original[visible])]
            mask = np.zeros(len(out), dtype=bool)
            mask[pick] = True
            hide(mask, REASON_SECONDARY)

    is_rate = (
        out[rate_col].fillna(False).astype(bool).to_numpy()
        if rate_col and rate_col in out
        else np.ones(len(out), dtype=bool)
    )
    hide(is_rate & ~np.isnan(count) & (original < RATE_MIN_COUNT) & ~np.isnan(value), REASON_RATE, keep_count=True)

    if round_health_counts:
        rounded = health & ~np.isnan(count)
        count[rounded] = np.floor(count[rounded] / 5 + 0.5) * 5
        out["count_rounded"] = rounded

    out[count_col] = count
    if has_value:
        out[value_col] = value
    for c, arr in cis.items():
        out[c] = arr
    out[reason_col] = pd.Series(reason, index=out.index, dtype=object)
    return out


def _blank(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)) or (isinstance(x, str) and not x.strip())


def neutralise_csv_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ tab or carriage return with a single quote, so a
    spreadsheet opening our CSV does not run them as formulas (CSV injection). Only strings are
    touched: a negative number stays a number. Returns a new frame."""
    out = df.copy()

    def fix(x: object) -> object:
        return "'" + x if isinstance(x, str) and x.startswith(FORMULA_PREFIXES) else x

    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(fix)
    return out


# ---------------------------------------------------------------- margins a page shows
REASON_MARGIN = "secondary suppression (protects a small count from the totals shown)"


def recoverable(values: np.ndarray, hidden: np.ndarray, groups: Sequence[Sequence[int]],
                totals: Sequence[int | None]) -> np.ndarray:
    """Which hidden cells a user could work out exactly from what is shown.

    The published table is a set of linear constraints: for each group g, the sum of its
    member cells equals its total cell (`totals[g]`, an index into `values`, or None when the
    page shows no total for it, in which case the group constrains nothing). Shown cells are
    known; a hidden cell j is recoverable when some combination of the constraints isolates it,
    i.e. when the unit vector e_j lies in the row space of the constraint matrix restricted to
    the hidden cells. This catches every differencing attack (row minus the rest, column
    minus the rest, and chains of them), not only a single margin.
    """
    hidden = np.asarray(hidden, dtype=bool)
    idx = np.flatnonzero(hidden)
    out = np.zeros(len(values), dtype=bool)
    rows = []
    for members, total in zip(groups, totals, strict=True):
        if total is None:
            continue
        r = np.zeros(len(values))
        r[list(members)] = 1.0
        r[total] -= 1.0
        rows.append(r)
    if not rows or not len(idx):
        return out
    a = np.array(rows)[:, idx]
    # e_k lies in the row space of `a` exactly when the orthogonal projection onto that space
    # keeps it whole: P_kk = |P e_k|^2 = 1, with P = V_r V_r^T from one thin SVD (V_r: the right
    # singular vectors past numpy matrix_rank's tolerance), instead of one rank per hidden cell.
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    tol = (s.max() if s.size else 0.0) * max(a.shape) * np.finfo(float).eps
    basis = vt[: int((s > tol).sum())]
    out[idx] = np.abs((basis**2).sum(axis=0) - 1.0) < 1e-9
    return out


def protect_margins(values: np.ndarray, hidden: np.ndarray, groups: Sequence[Sequence[int]],
                    totals: Sequence[int | None]) -> np.ndarray:
    """Add secondary suppressions until no hidden cell is recoverable (see `recoverable`).

    `values` are the true counts (NaN where the publisher already withheld one), `hidden` the
    cells already suppressed. While some hidden cell can be worked out, one more cell is
    hidden: in a group that contains a recoverable cell, the smallest shown non-zero member
    (a total only when no member is left). Returns the new hidden mask; the input is not
    modified. Greedy, so it may hide more than the minimum, never less than is safe.
    """
    v = np.asarray(values, dtype=float)
    hide = np.asarray(hidden, dtype=bool).copy() | np.isnan(v)
    member_sets = [set(m) | ({t} if t is not None else set()) for m, t in zip(groups, totals, strict=True)]
    while True:
        rec = recoverable(v, hide, groups, totals)
        if not rec.any():
            return hide
        best = _next_to_hide(v, hide, groups, totals, member_sets, rec)
        if best is None:
            # A cell recoverable through chains of sums whose own sums are all hidden already: hide
            # a shown cell of any sum that holds a hidden one, which breaks the chain.
            best = _next_to_hide(v, hide, groups, totals, member_sets, hide)
        if best is None:
            # Only hidden cells are linked to it: what is "recoverable" follows from the structure
            # of the sums alone (e.g. a sum of one member), and no shown figure gives it away.
            return hide
        hide[best] = True


def _next_to_hide(v: np.ndarray, hide: np.ndarray, groups: Sequence[Sequence[int]], totals: Sequence[int | None],
                  member_sets: Sequence[set[int]], flagged: np.ndarray) -> int | None:
    """The cell to hide next among the sums holding a flagged cell: the smallest shown non-zero
    member of the sum with the fewest hidden cells (a zero member, then the total, only when no
    other is left)."""
    best: tuple[int, float, int] | None = None
    for (members, total), cells in zip(zip(groups, totals, strict=True), member_sets, strict=True):
        if total is None or not any(flagged[c] for c in cells):
            continue
        n_hidden = sum(bool(hide[c]) for c in cells)
        for pool in ([m for m in members if not hide[m] and v[m] > 0],
                     [m for m in members if not hide[m]],
                     [total] if not hide[total] else []):
            if pool:
                pick = min(pool, key=lambda m: (v[m], m))
                key = (n_hidden, float(v[pick]), pick)
                if best is None or key < best:
                    best = key
                break
    return None if best is None else best[2]


def suppress_linked_table(
    counts: pd.Series,
    sums: Mapping[object, Sequence[object]] | Sequence[tuple[object, Sequence[object]]],
) -> pd.DataFrame:
    """Disclosure control for a set of health counts linked by sums, as one page shows them.

    `counts` holds every figure a user can see or work out, by name (cells, row and column
    totals, band totals, a grand total, even a figure only shown as "total minus the rest");
    `sums` says which names add up to which total ({total: members}, or (total, members)
    pairs when one total is the sum of two different breakdowns). Counts of 1-7 are suppressed (reason
    'small count (1-7)'), then more cells until no suppressed figure can be recovered from the
    others by any combination of the sums (`protect_margins`). Returns a frame indexed like
    `counts` with columns count (NaN where suppressed) and suppressed_reason.
    """
    names = list(counts.index)
    if len(set(names)) != len(names):
        raise ValueError("figure names must be unique")
    pos = {n: i for i, n in enumerate(names)}
    values = pd.to_numeric(counts, errors="coerce").astype(float).to_numpy()
    small = (values >= SMALL_MIN) & (values <= SMALL_MAX)
    pairs = list(sums.items()) if isinstance(sums, Mapping) else list(sums)
    groups = [[pos[m] for m in members] for _, members in pairs]
    totals = [pos[t] for t, _ in pairs]
    hidden = protect_margins(values, small, groups, totals)
    reason = np.where(small, REASON_SMALL, np.where(hidden & ~np.isnan(values), REASON_MARGIN, None))
    reason = np.where(np.isnan(values), "not published", reason)
    return pd.DataFrame({"count": np.where(hidden, np.nan, values),
                         "suppressed_reason": pd.Series(reason, dtype=object).where(lambda s: s.notna(), None).to_numpy()},
                        index=counts.index)


# ---------------------------------------------------------------- the area hierarchy
REASON_HIERARCHY = "secondary suppression (protects a small count from a parent area's total)"


def _ancestors(links: pd.DataFrame) -> dict[str, set[str]]:
    """Every area's ancestors (parents, their parents, ...) from child_code/parent_code rows
    of any vintage. Cycles are ignored."""
    parents: dict[str, set[str]] = {}
    for child, parent in zip(links["child_code"].astype(str), links["parent_code"].astype(str), strict=True):
        if child != parent:
            parents.setdefault(child, set()).add(parent)
    out: dict[str, set[str]] = {}

    def walk(code: str) -> set[str]:
        if code in out:
            return out[code]
        out[code] = set()  # guards a cycle
        seen: set[str] = set()
        for p in parents.get(code, ()):
            seen |= {p} | walk(p)
        out[code] = seen
        return seen

    for code in parents:
        walk(code)
    return out


def hierarchy_sums(areas: pd.DataFrame, links: pd.DataFrame,
                   ancestors: Mapping[str, set[str]] | None = None) -> list[tuple[str, list[str]]]:
    """The sums a user can form from figures published at several levels of the geography.

    `areas` holds the figures present (area_code, area_type) for one indicator and period;
    `links` the child_code/parent_code rows (every vintage; `ancestors`, from `_ancestors`,
    saves walking them again). For each present area P and each other level present, the
    present areas of that level lying inside P (through any chain of links) add up to P:
    London = its boroughs, England = its regions, a force = its CSPs, and also England = all
    its districts when the regions are not published. Whether a level really covers P is
    judged on the counts by the caller (`protect_hierarchy`); an area linked to two parents of
    one type by different vintages is in both sums (more suppression, never less).
    """
    anc = _ancestors(links) if ancestors is None else ancestors
    present = areas[["area_code", "area_type"]].drop_duplicates("area_code")
    codes = present["area_code"].astype(str).tolist()
    types = dict(zip(codes, present["area_type"].astype(str), strict=True))
    found: dict[tuple[str, str], list[str]] = {}
    for child in codes:
        for parent in anc.get(child, ()):
            if parent in types and types[parent] != types[child]:
                found.setdefault((parent, types[child]), []).append(child)
    order = {c: i for i, c in enumerate(codes)}
    return [(p, kids) for (p, _), kids in sorted(found.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]


def _plausible(parent: float, members: np.ndarray) -> bool:
    """Whether parent = sum(members) is a sum a user could difference, judged on the true
    counts (NaN where unknown): within SMALL_MAX when every figure is known (a gap of a few
    counts, e.g. unknown residence, still gives a small count to within that), and not
    contradicted when some are unknown. Levels that do not tile the parent (counties without
    the unitaries) differ by far more and are left out, as are sums against stale links."""
    known = members[~np.isnan(members)]
    if np.isnan(parent):
        return True
    if len(known) == len(members):
        return abs(parent - known.sum()) <= SMALL_MAX
    return known.sum() <= parent + SMALL_MAX


def protect_hierarchy(
    df: pd.DataFrame,
    links: pd.DataFrame,
    *,
    truth: pd.Series | None = None,
    by: Sequence[str] = ("indicator_id", "period_type", "period_label"),
    count_col: str = "count",
    value_col: str = "value",
    ci_cols: Sequence[str] = ("lower_ci", "upper_ci"),
    reason_col: str = "suppressed_reason",
) -> pd.DataFrame:
    """Secondary suppression across the area hierarchy, for figures already through
    `apply_disclosure_control` (count missing where suppressed, here or by the publisher).

    Within each `by` group (one indicator and period), a parent area's published total and its
    children's figures are linked sums (`hierarchy_sums`, kept where the true counts in
    `truth` - the counts before suppression, aligned with `df`; by default the shown ones -
    bear them out, see `_plausible`): with exactly one child suppressed, parent minus the rest
    gives it back (City of London = London minus the other boroughs), and chains of such
    differences (a region from England minus the other regions, then a borough from that
    region) too. `protect_margins` adds suppressions until no suppressed count can be worked
    out by any combination of the sums: the smallest shown sibling first, the parent only when
    no sibling is left. Rows so hidden lose count, value and interval and get reason
    REASON_HIERARCHY. Returns a new frame in the input's order.
    """
    out = df.copy()
    if out.empty:
        return out
    count = pd.to_numeric(out[count_col], errors="coerce").astype(float).to_numpy(copy=True)
    true = count.copy() if truth is None else pd.to_numeric(truth, errors="coerce").astype(float).to_numpy(copy=True)
    hide_rows = np.zeros(len(out), dtype=bool)
    positions = pd.Series(np.arange(len(out)), index=out.index)
    keys = [out[c] for c in by if c in out]
    groups = positions.groupby(keys, dropna=False, sort=False) if keys else [(None, positions)]
    anc = _ancestors(links)
    for _, pos in groups:
        idx = pos.to_numpy()
        part = out.iloc[idx]
        if part["area_type"].nunique() < 2 or not np.isnan(count[idx]).any():
            continue  # one level only, or nothing suppressed: nothing to recover
        codes = part["area_code"].astype(str).tolist()
        if len(set(codes)) != len(codes):
            raise ValueError("one figure per area and period is needed for hierarchy suppression")
        where = {c: i for i, c in enumerate(codes)}
        t = true[idx]
        sums = [(p, kids) for p, kids in hierarchy_sums(part, links, anc)
                if _plausible(t[where[p]], t[[where[k] for k in kids]])]
        if not sums:
            continue
        member_idx = [[where[c] for c in kids] for _, kids in sums]
        total_idx = [where[p] for p, _ in sums]
        try:
            hidden = protect_margins(count[idx], np.isnan(count[idx]), member_idx, total_idx)
        except ValueError:  # sums that contradict each other: hide every figure in them
            hidden = np.isnan(count[idx]).copy()
            for m, tot in zip(member_idx, total_idx, strict=True):
                hidden[m + [tot]] = True
        hide_rows[idx] = hidden & ~np.isnan(count[idx])
    if not hide_rows.any():
        return out
    for col in [count_col, value_col, *ci_cols]:
        if col in out:
            vals = pd.to_numeric(out[col], errors="coerce").astype(float).to_numpy(copy=True)
            vals[hide_rows] = np.nan
            out[col] = vals
    reasons = (out[reason_col].to_numpy(dtype=object, copy=True) if reason_col in out
               else np.full(len(out), None, dtype=object))
    reasons[hide_rows] = REASON_HIERARCHY
    out[reason_col] = pd.Series(reasons, index=out.index, dtype=object)
    return out
