"""The test helper that gives expected verdicts, checked against tabulated exact limits (Garwood
1936, as Breslow & Day and PHE's confidence-interval guide tabulate them: 10 events, 4.795 to
18.390), so the page tests that lean on it lean on something checked."""
import pytest

from tests.poisson_verdict import exact_limits, verdicts


def test_exact_limits_are_the_tabulated_ones():
    assert exact_limits(10) == pytest.approx((4.795, 18.390), abs=5e-4)
    assert exact_limits(0)[0] == 0.0


@pytest.mark.parametrize(("benchmark", "want"), [
    (4.0, {"higher"}),               # below the lower limit
    (4.80, {"higher", "similar"}),   # within 0.2% of 4.795: either side of Byar's limit
    (10.0, {"similar"}),
    (18.40, {"similar", "lower"}),   # within 0.2% of 18.390
    (19.0, {"lower"}),
])
def test_one_verdict_except_within_byars_accuracy_of_a_limit(benchmark, want):
    # 10 events in 100,000 people: the rate per 100,000 is the count, so limits are the table's
    assert verdicts(10, 100_000, benchmark) == want


def test_rates_scale_with_population():
    # 10 events in 50,000: 20 per 100,000, limits 9.59 to 36.78
    assert verdicts(10, 50_000, 9.0) == {"higher"} and verdicts(10, 50_000, 37.5) == {"lower"}
