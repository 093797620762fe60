"""Disclosure control: primary, rate, secondary suppression, rounding, CSV formulas."""
import numpy as np
import pandas as pd
import pytest

from methods.disclosure import (
    apply_disclosure_control,
    neutralise_csv_formulas,
    recoverable,
    suppress_linked_table,
)
from tests.disclosure_attack import attack_sums


def frame(counts, health=True, reasons=None, **extra):
    n = len(counts)
    df = pd.DataFrame(
        {
            "count": counts,
            "value": [c * 10 if c is not None else None for c in counts],
            "lower_ci": [c * 8 if c is not None else None for c in counts],
            "upper_ci": [c * 12 if c is not None else None for c in counts],
            "suppressed_reason": reasons if reasons is not None else [None] * n,
            "is_health_source": [health] * n,
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


def test_primary_suppression_of_health_counts_1_to_7():
    out = apply_disclosure_control(frame([0, 1, 7, 8, 25]))
    assert out["count"].isna().tolist() == [False, True, True, False, False]
    assert out["value"].isna().tolist() == [True, True, True, True, False]  # rates < 10 withheld
    assert out["lower_ci"].isna().tolist() == out["value"].isna().tolist()
    assert out["suppressed_reason"].tolist() == [
        "rate withheld: fewer than 10 events", "small count (1-7)", "small count (1-7)",
        "rate withheld: fewer than 10 events", None,
    ]
    assert out["count"][0] == 0 and out["count"][3] == 8  # counts shown where not suppressed


def test_non_health_small_counts_kept_but_rate_withheld():
    out = apply_disclosure_control(frame([3, 12], health=False))
    assert out["count"].tolist() == [3, 12]
    assert np.isnan(out["value"][0]) and out["value"][1] == 120


def test_rate_rule_only_on_rate_rows_when_flagged():
    out = apply_disclosure_control(frame([8, 8], health=False, is_rate=[True, False]))
    assert np.isnan(out["value"][0]) and out["value"][1] == 80


def test_source_kind_column_and_missing_health_info():
    df = frame([3, 3]).drop(columns="is_health_source").assign(source_kind=["health", "police"])
    out = apply_disclosure_control(df)
    assert out["count"].isna().tolist() == [True, False]
    with pytest.raises(ValueError):
        apply_disclosure_control(frame([3]).drop(columns="is_health_source"))


def test_publisher_reason_kept_and_missing_never_zero():
    df = frame([None, 5, 30], reasons=["[c]", None, None])
    out = apply_disclosure_control(df, round_health_counts=True)
    assert out["suppressed_reason"][0] == "[c]"
    assert np.isnan(out["count"][0]) and np.isnan(out["value"][0])
    assert not (out["count"].fillna(-1) == 0).any()
    assert df["count"].isna().sum() == 1  # input untouched


def test_counts_only_table():
    df = frame([3, 12]).drop(columns=["value", "lower_ci", "upper_ci"])
    out = apply_disclosure_control(df)
    assert out["count"].isna().tolist() == [True, False]
    assert "value" not in out and out["suppressed_reason"][0] == "small count (1-7)"
    assert out["suppressed_reason"][1] is None


def test_rounding_to_nearest_5():
    out = apply_disclosure_control(frame([0, 8, 12, 13, 103]), round_health_counts=True)
    assert out["count"].tolist() == [0, 10, 10, 15, 105]
    assert out["count_rounded"].all()
    # Rate withheld from the unrounded count (8 < 10) even though 8 rounds to 10.
    assert np.isnan(out["value"][1]) and out["value"][2] == 120
    police = apply_disclosure_control(frame([12], health=False), round_health_counts=True)
    assert police["count"][0] == 12 and not police["count_rounded"][0]


def age_table():
    return pd.DataFrame(
        {
            "area_code": ["E06000001"] * 4 + ["E06000002"] * 4,
            "age": ["0-17", "18-24", "25+", "All"] * 2,
            "count": [3, 40, 12, 55, 20, 40, 12, 72],
            "value": [1.0] * 8,
            "lower_ci": [0.5] * 8,
            "upper_ci": [1.5] * 8,
            "suppressed_reason": [None] * 8,
            "is_health_source": [True] * 8,
        }
    )


def test_suppressed_cell_recoverable_from_total_triggers_secondary():
    df = age_table()
    plain = apply_disclosure_control(df)
    # Without groups the 3 could be recovered: 55 - 40 - 12.
    shown = plain["count"][:3]
    assert plain["count"][3] - shown.sum(skipna=True) == 3
    out = apply_disclosure_control(df, group_cols=["area_code"], total_marker=("age", "All"))
    assert out["count"][:4].isna().tolist() == [True, False, True, False]  # 12 is the next smallest
    assert out["suppressed_reason"][2] == "secondary suppression"
    assert np.isnan(out["value"][2]) and np.isnan(out["upper_ci"][2])
    # The other area has nothing suppressed, so nothing extra is hidden.
    assert out["count"][4:].notna().all()


def test_no_secondary_when_two_cells_already_hidden_or_no_total():
    df = age_table()
    df.loc[1, "count"] = 5  # now two primary suppressions in area 1
    out = apply_disclosure_control(df, group_cols=["area_code"], total_marker=("age", "All"))
    assert out["count"][:4].isna().tolist() == [True, True, False, False]
    no_total = age_table()[lambda d: d["age"] != "All"]
    out2 = apply_disclosure_control(no_total, group_cols=["area_code"], total_marker=("age", "All"))
    assert out2["count"].isna().sum() == 1


def test_secondary_with_total_column_flag():
    df = age_table().assign(is_total=lambda d: d["age"] == "All")
    out = apply_disclosure_control(df, group_cols=["area_code"])
    assert out["suppressed_reason"].tolist().count("secondary suppression") == 1


def test_neutralise_csv_formulas():
    df = pd.DataFrame(
        {
            "name": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "Oxford", None],
            "value": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan],
            "obj": pd.Series([-3, "=1+1", "ok", 4, 5, 6, 7, 8], dtype=object),
        }
    )
    out = neutralise_csv_formulas(df)
    assert out["name"].tolist()[:7] == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "'\rx", "Oxford"]
    assert pd.isna(out["name"][7])
    assert out["value"][0] == -5.0 and out["value"].dtype == float
    assert out["obj"][0] == -3 and out["obj"][1] == "'=1+1"
    assert df["name"][0].startswith("=")  # input untouched


# ---------------------------------------------------------------- margins and differencing attacks

def _attack(table: pd.DataFrame, sums: dict, truth: pd.Series) -> dict:
    """The attacker (tests/disclosure_attack.py) on a table's shown counts: {name: (min, max)}
    for each hidden one."""
    return attack_sums(table["count"], sums.items() if isinstance(sums, dict) else sums, truth=truth)


def _grid(cells: dict[tuple[str, str], float]):
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    counts = {f"{r}{c}": v for (r, c), v in cells.items()}
    sums = {}
    for r in rows:
        counts[f"row {r}"] = sum(cells[r, c] for c in cols)
        sums[f"row {r}"] = [f"{r}{c}" for c in cols]
    for c in cols:
        counts[f"col {c}"] = sum(cells[r, c] for r in rows)
        sums[f"col {c}"] = [f"{r}{c}" for r in rows]
    counts["all"] = sum(cells.values())
    sums["all"] = [f"row {r}" for r in rows]
    return pd.Series(counts), sums


def test_recoverable_by_hand_on_a_two_by_two_table():
    #      x    y  | row
    # a   20   30  |  50
    # b   40   60  | 100
    # col 60   90  | 150
    counts, sums = _grid({("a", "x"): 20, ("a", "y"): 30, ("b", "x"): 40, ("b", "y"): 60})
    names = list(counts.index)
    groups = [[names.index(m) for m in ms] for ms in sums.values()]
    totals = [names.index(t) for t in sums]
    hide = lambda *ns: np.isin(names, ns)  # noqa: E731
    # One cell alone: row total minus the rest.
    assert recoverable(counts.to_numpy(), hide("ax"), groups, totals)[names.index("ax")]
    # Two in a row: each is its column total minus the other row.
    assert recoverable(counts.to_numpy(), hide("ax", "ay"), groups, totals)[[names.index("ax"), names.index("ay")]].all()
    # All four: rows and columns give three independent equations in four unknowns.
    assert not recoverable(counts.to_numpy(), hide("ax", "ay", "bx", "by"), groups, totals).any()
    # A row and its total hidden: the other row and the grand total still give the row total.
    assert recoverable(counts.to_numpy(), hide("ax", "ay", "bx", "by", "row a"), groups, totals)[names.index("row a")]


def test_protect_margins_hides_a_rectangle_and_survives_the_attack():
    cells = {(r, c): v for (r, c), v in zip(
        [(r, c) for r in "abc" for c in "xyz"], [3, 20, 25, 30, 40, 35, 28, 33, 45], strict=True)}
    counts, sums = _grid(cells)
    out = suppress_linked_table(counts, sums)
    assert out.loc["ax", "suppressed_reason"] == "small count (1-7)"
    hidden = out.index[out["count"].isna()].tolist()
    # The cheapest safe pattern: ax, the smallest other in its row (ay = 20), the smallest other
    # in its column (cx = 28) and the cell completing the rectangle (cy = 33).
    assert sorted(hidden) == ["ax", "ay", "cx", "cy"]
    assert set(out.loc[hidden[1:], "suppressed_reason"]) <= {
        "secondary suppression (protects a small count from the totals shown)", "small count (1-7)"}
    for name, (lo, hi) in _attack(out, sums, counts).items():
        assert hi - lo > 0, name


def test_hour_by_day_with_bands_and_weapon_totals_survives_the_attack():
    # The ISTV page: 7 x 24 cells, day totals, 3-hour band totals over the week, attendances
    # with no time, a weapon breakdown, and one grand total shared by both.
    rng = np.random.default_rng(3)
    days, hours = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], [f"{h:02d}" for h in range(24)]
    cell = {f"{d} {h}": float(rng.poisson(1.2 + 2 * (h in ("22", "23")))) for d in days for h in hours}
    counts, sums = dict(cell), {}
    for d in days:
        counts[f"day {d}"] = sum(cell[f"{d} {h}"] for h in hours)
        sums[f"day {d}"] = [f"{d} {h}" for h in hours]
    for b in range(8):
        members = [f"{d} {h:02d}" for d in days for h in range(3 * b, 3 * b + 3)]
        counts[f"band {b}"] = sum(cell[m] for m in members)
        sums[f"band {b}"] = members
    counts["no time"] = 5.0
    counts["all"] = sum(cell.values()) + 5
    sums["all"] = [f"day {d}" for d in days] + ["no time"]
    weapons = {"knife": 31.0, "blunt": 2.0, "body": counts["all"] - 33}
    counts.update({f"weapon {k}": v for k, v in weapons.items()})
    truth = pd.Series(counts)
    # One grand total, the sum of two different breakdowns.
    pairs = [*sums.items(), ("all", [f"weapon {k}" for k in weapons])]
    out = suppress_linked_table(truth, pairs)
    sums_tied = pairs
    assert out["count"].isna().sum() > (truth.between(1, 7)).sum()  # secondary cells were needed
    attacked = _attack(out, sums_tied, truth)
    assert attacked and all(hi - lo > 0 for lo, hi in attacked.values())
    assert np.isnan(out.loc["weapon blunt", "count"]) and np.isnan(out.loc["no time", "count"])


def test_recoverable_matches_one_rank_test_per_cell() -> None:
    """`recoverable` takes one SVD per call; on random linked tables (cells, row and column
    totals, a grand total, random hidden patterns) it must flag exactly the cells the textbook
    test flags: e_j in the row space of the hidden-cell constraints, one matrix rank per cell."""
    import numpy as np

    from methods.disclosure import recoverable

    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(300):
        r, c = rng.integers(1, 5), rng.integers(1, 6)
        cells = np.arange(r * c).reshape(r, c)
        row_t = r * c + np.arange(r)
        col_t = r * c + r + np.arange(c)
        grand = r * c + r + c
        n = grand + 1
        groups = [list(cells[i]) for i in range(r)] + [list(cells[:, j]) for j in range(c)] + [list(row_t)]
        totals = [int(t) if rng.random() < 0.8 else None for t in [*row_t, *col_t, grand]]
        hidden = rng.random(n) < 0.35
        got = recoverable(np.ones(n), hidden, groups, totals)
        rows = []
        for members, total in zip(groups, totals, strict=True):
            if total is not None:
                v = np.zeros(n)
                v[members] = 1.0
                v[total] -= 1.0
                rows.append(v)
        idx = np.flatnonzero(hidden)
        want = np.zeros(n, dtype=bool)
        if rows and len(idx):
            a = np.array(rows)[:, idx]
            rank = np.linalg.matrix_rank(a)
            for k, j in enumerate(idx):
                e = np.zeros(len(idx))
                e[k] = 1.0
                want[j] = np.linalg.matrix_rank(np.vstack([a, e])) == rank
        assert (got == want).all()
        checked += int(want.sum())
    assert checked > 50  # the random tables do include recoverable cells
