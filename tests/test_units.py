import numpy as np
import pytest

from mcscale.results.answer import Answer
from mcscale.units import format_multiple, format_number, format_probability, format_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (383e6, "$383M"),
        (12.8e9, "$12.8B"),
        (999.9e9, "$1T"),  # rounds up into the next suffix, not "$1e+03B"
        (3.2e14, "$320T"),
        (5.03e18, "$5.03e18"),  # past $999T no suffix, never "$5.03e+06T"
        (999.4, "$999"),
    ],
)
def test_usd_amounts_read_as_written(value, text):
    assert format_value(value, "USD") == text


def test_numbers_and_multiples_have_one_short_form():
    assert format_number(2.1e25) == "2.1e25" and format_number(450.0) == "450"
    assert [format_multiple(k) for k in (10, 1000, 10000, 1e6, 0.5)] == ["10x", "1000x", "10000x", "1e6x", "0.5x"]


def test_probability_decimals_follow_the_mcse():
    assert format_probability(0.822, 0.0012) == ("0.8220", "0.0012")
    assert format_probability(0.99999, 0.00001) == ("0.999990", "0.000010")  # two digits of the MCSE


def answer(**fields):
    base = {"question": "q", "kind": "probability", "unit": "1", "n_draws": 100_000, "seed": 0, "scenario": "s"}
    return Answer(**{**base, **fields})


def test_a_rule_of_three_bound_prints_with_the_decimals_of_its_size():
    text = str(answer(value=1.0, bound=("lower", 1 - 3e-5)))
    assert text.startswith("q = 1.000000 (> 0.999970 at 95%)")


def test_a_crossing_year_past_the_horizon_reads_not_reached():
    item = answer(
        kind="crossing_year",
        unit="year",
        quantiles={"5%": 2030.0, "95%": float("inf")},
        quantile_mcse={"5%": 0.1, "95%": float("inf")},
        details={"p_never": 0.1, "p_never_mcse": 0.001, "horizon_end": 2060.0},
    )
    assert "5% 2030.0 ± 0.1, 95%: not reached by 2060;" in str(item)
    assert "never ± never" not in str(item)


def test_effective_flop_costs_carry_their_mcse():
    item = answer(
        kind="cost",
        unit="USD",
        quantiles={"50%": 6e10},
        quantile_mcse={"50%": 3e8},
        details={"effective_flop_quantiles": {"50%": 3e9}, "effective_flop_mcse": {"50%": 3e7}},
    )
    assert "effective FLOP: 50% $3B ± $30M" in str(item)


def test_chunk_homogeneity_is_the_chi_square_test_of_a_two_row_table():
    from scipy import stats

    from mcscale.stats import chunk_homogeneity

    rng = np.random.default_rng(0)
    same = rng.random((16, 5000)) < 0.3
    checks = chunk_homogeneity(same)
    table = np.array([np.count_nonzero(same, axis=1), np.count_nonzero(~same, axis=1)])
    oracle = stats.chi2_contingency(table, correction=False)
    assert checks["chunk_chi2"] == pytest.approx(oracle.statistic, rel=1e-9)
    assert checks["chunk_p_value"] == pytest.approx(oracle.pvalue, rel=1e-9) and "warning" not in checks
    shifted = same.copy()
    shifted[0] = rng.random(5000) < 0.4  # one chunk from another distribution
    assert "chunks disagree" in chunk_homogeneity(shifted)["warning"]
    assert chunk_homogeneity(np.zeros((4, 10), dtype=bool)) == {}
