"""The attacker of the disclosure tests: a linear programme, independent of the code under test.

Every published figure is fixed, every hidden one is free and >= 0, each sum the viewer can see
(a parent and its children, a total and its breakdown) is an equality, and for each hidden figure
the least and greatest value it can take is found. A suppressed count is safe when that range is
wide. One attacker for the unit tests (methods/disclosure) and the page tests (tests/app), so
every test attacks the same way.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linprog

Equation = tuple[Mapping[str, float], float]  # ({unknown: coefficient}, constant)


def attack_bounds(unknowns: Sequence[str], equations: Iterable[Equation]) -> dict[str, tuple[float, float]]:
    """Each equation means sum(coefficient × unknown) = constant; unknowns are counts >= 0.
    Returns {unknown: (least, greatest)}, greatest inf when nothing bounds it."""
    col = {u: i for i, u in enumerate(unknowns)}
    a_eq, b_eq = [], []
    for coefs, const in equations:
        row = np.zeros(len(unknowns))
        for u, c in coefs.items():
            row[col[u]] += c
        a_eq.append(row)
        b_eq.append(const)
    out = {}
    for u in unknowns:
        c = np.zeros(len(unknowns))
        c[col[u]] = 1.0
        low, top = (linprog(sign * c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None)) for sign in (1, -1))
        assert low.status == 0, f"the attacker's equations have no solution ({low.message})"
        out[u] = (low.fun, math.inf if top.status == 3 else -top.fun)  # status 3: unbounded
    return out


def _hidden(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def attack_sums(published: Mapping[str, float | None], sums: Iterable[tuple[str, Iterable[str]]], *,
                truth: Mapping[str, float] | None = None, gap_from_truth: bool = False,
                ) -> dict[str, tuple[float, float]]:
    """Ranges of the hidden figures (None or NaN in `published`) given every (parent, children)
    sum as parent = sum of children. `gap_from_truth`: each parent = children + its gap in
    `truth` (what it holds beyond the children shown: unknown residence, rounding), handed to the
    attacker. With `truth`, the attacker's model is checked: every true figure lies in its range."""
    published = dict(published)
    hidden = [n for n, v in published.items() if _hidden(v)]
    equations = []
    for parent, kids in sums:
        kids = list(kids)
        const = -(truth[parent] - sum(truth[k] for k in kids)) if gap_from_truth else 0.0
        coefs: dict[str, float] = {}
        for name, sign in [(k, 1.0) for k in kids] + [(parent, -1.0)]:
            if _hidden(published[name]):
                coefs[name] = coefs.get(name, 0.0) + sign
            else:
                const -= sign * published[name]
        if any(coefs.values()):
            equations.append((coefs, const))
    out = attack_bounds(hidden, equations) if hidden and equations else {}
    for name, (lo, hi) in out.items():
        if truth is not None and name in truth:
            assert lo - 1e-6 <= truth[name] <= hi + 1e-6, f"the attacker's model is wrong for {name}"
    return out
