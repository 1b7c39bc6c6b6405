"""Sensitivity analyses against closed forms of a model that is linear in the priors' normals.

With growth given as lognormal factors per year, no caps, a fixed utilization and no
algorithmic progress, log10 physical FLOP in year t is

    log10 S0 + t log10 g_spend + log10 F0 + t log10 g_hw + log10 u,

each term ``(mu + sigma z) / ln 10`` of an independent standard normal z: the Sobol
indices are the variance shares, and a probability with one prior held is a normal CDF.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import mcscale
from mcscale.analysis.sensitivity import correlated_groups, quantity_of, sobol, tornado
from mcscale.cli import main
from mcscale.units import Z_90_INTERVAL

LINEAR = """
[scenario]
name = "linear"
start = 2025
end = 2030

[spend]
initial = {{ dist = "lognormal", p5 = 1e8, p95 = 1e9 }}
growth_per_year = {spend_growth}

[hardware]
flop_per_usd = {{ dist = "lognormal", p5 = 1e17, p95 = 1e18 }}
growth_per_year = 1.3

[utilization]
value = 0.4
{extra}
"""
# the 90% interval of each lognormal, in log10: sigma of log10 X = log10(p95 / p5) / (2 z)
SIGMA_INITIAL = 1.0 / (2 * Z_90_INTERVAL)
SIGMA_GROWTH = math.log10(3.0 / 1.5) / (2 * Z_90_INTERVAL)
SIGMA_FLOP_PER_USD = 1.0 / (2 * Z_90_INTERVAL)
YEARS = 5  # 2025 -> 2030


def linear(spend_growth: str = '{ dist = "lognormal", p5 = 1.5, p95 = 3.0 }', extra: str = "") -> mcscale.Scenario:
    return mcscale.parse_scenario(LINEAR.format(spend_growth=spend_growth, extra=extra), "linear.toml")


def coefficients() -> dict[str, float]:
    """log10 physical FLOP in 2030 per unit of each prior's standard normal."""
    return {
        "spend.initial": SIGMA_INITIAL,
        "spend.growth_per_year": YEARS * SIGMA_GROWTH,
        "hardware.flop_per_usd": SIGMA_FLOP_PER_USD,
    }


def median_log10_2030() -> float:
    return math.log10(math.sqrt(1e8 * 1e9) * math.sqrt(1.5 * 3.0) ** YEARS * math.sqrt(1e17 * 1e18) * 1.3**YEARS * 0.4)


def test_sobol_indices_of_a_linear_model_are_its_variance_shares():
    result = sobol(linear(), "physical_flop in 2030", n_draws=20_000, seed=1, n_bootstrap=300)
    c = coefficients()
    total_variance = sum(v**2 for v in c.values())
    assert result.variance == pytest.approx(total_variance, rel=0.03)
    assert not result.grouped and "grouped" not in result.method
    for index in result.indices:
        exact = c[index.name] ** 2 / total_variance
        # the exact share lies in both bootstrap intervals (a little slack for the 10% misses)
        lo, hi = index.first_order_ci
        assert lo - 0.01 <= exact <= hi + 0.01, (index.name, index.first_order, exact)
        lo, hi = index.total_ci
        assert lo - 0.01 <= exact <= hi + 0.01, (index.name, index.total, exact)
        assert abs(index.first_order - exact) < 0.02 and abs(index.total - exact) < 0.02


def test_a_tornado_of_a_probability_matches_the_normal_cdf_with_the_prior_held():
    c = coefficients()
    threshold = median_log10_2030() + 0.3  # log10 FLOP
    question = f"P(physical_flop >= {10**threshold:.6e} in 2030)"
    result = tornado(linear(), question, n_draws=40_000, seed=2)
    sd_all = math.sqrt(sum(v**2 for v in c.values()))
    assert result.base == pytest.approx(stats.norm.sf(0.3 / sd_all), abs=4 * result.base_mcse)
    assert [bar.name for bar in result.bars] == sorted(c, key=lambda n: -c[n])  # largest swing first
    for bar in result.bars:
        rest = math.sqrt(sum(v**2 for k, v in c.items() if k != bar.name))
        for level, got, mcse in ((0.05, bar.low, bar.low_mcse), (0.95, bar.high, bar.high_mcse)):
            held = c[bar.name] * stats.norm.ppf(level)
            assert got == pytest.approx(stats.norm.sf((0.3 - held) / rest), abs=4 * mcse + 1e-3)
        assert bar.swing > 0 and bar.rank_correlation > 0


def test_a_tornado_of_a_value_moves_the_median_by_the_held_prior_alone():
    result = tornado(linear(), "physical_flop in 2030", n_draws=20_000, seed=3)
    c = coefficients()
    for bar in result.bars:
        # the median of a sum of symmetric terms with one term fixed: its shift alone
        assert bar.low == pytest.approx(median_log10_2030() + c[bar.name] * stats.norm.ppf(0.05), abs=0.02)
        assert bar.high == pytest.approx(median_log10_2030() + c[bar.name] * stats.norm.ppf(0.95), abs=0.02)
    initial = next(bar for bar in result.bars if bar.name == "spend.initial")
    assert (initial.prior_low, initial.prior_high) == pytest.approx((1e8, 1e9), rel=1e-9)  # its own 5% and 95%


def test_a_tornado_with_one_uncertain_prior_shows_only_that_prior():
    result = tornado(linear(spend_growth="2.0"), "P(physical_flop >= 1e27 by 2030)", n_draws=5_000)
    assert {bar.name for bar in result.bars} == {"spend.initial", "hardware.flop_per_usd"}
    one = mcscale.parse_scenario(
        LINEAR.format(spend_growth="2.0", extra="").replace(
            'flop_per_usd = { dist = "lognormal", p5 = 1e17, p95 = 1e18 }', "flop_per_usd = 3e17"
        ),
        "one.toml",
    )
    assert [bar.name for bar in tornado(one, "P(physical_flop >= 1e27 by 2030)", n_draws=5_000).bars] == [
        "spend.initial"
    ]


CORRELATED = '\n[[correlations]]\npair = ["spend.initial", "hardware.flop_per_usd"]\nrho = {rho}\n'


def test_a_correlated_tornado_holds_one_prior_and_conditions_the_other():
    rho = 0.6
    r = 2 * math.sin(math.pi * rho / 6)  # the copula's normal correlation
    c = coefficients()
    threshold = 0.3
    question = f"P(physical_flop >= {10 ** (median_log10_2030() + threshold):.6e} in 2030)"
    result = tornado(linear(extra=CORRELATED.format(rho=rho)), question, n_draws=40_000, seed=4)
    assert result.conditional and "conditional distribution" in result.method
    bar = next(b for b in result.bars if b.name == "spend.initial")
    z = stats.norm.ppf(0.95)
    # given z_initial = z: z_fpu ~ N(r z, 1 - r^2)
    mean = (c["spend.initial"] + r * c["hardware.flop_per_usd"]) * z
    sd = math.sqrt((1 - r**2) * c["hardware.flop_per_usd"] ** 2 + c["spend.growth_per_year"] ** 2)
    assert bar.high == pytest.approx(stats.norm.sf((threshold - mean) / sd), abs=4 * bar.high_mcse + 1e-3)


def test_correlated_priors_get_group_indices_that_with_the_rest_sum_to_one():
    result = sobol(linear(extra=CORRELATED.format(rho=0.5)), "physical_flop in 2030", n_draws=20_000, seed=5)
    assert result.grouped and "grouped" in result.method
    names = [index.name for index in result.indices]
    assert "spend.initial + hardware.flop_per_usd" in names and "spend.growth_per_year" in names
    # an additive model of independent groups: the first-order indices sum to one
    assert sum(index.first_order for index in result.indices) == pytest.approx(1.0, abs=0.03)
    assert correlated_groups(np.array([[1, 0.2, 0], [0.2, 1, 0], [0, 0, 1]])) == [[0, 1], [2]]


def test_the_same_seed_gives_the_same_indices_whatever_the_thread_count():
    question = "year physical_flop >= 1e27"
    one = sobol(linear(), question, n_draws=40_000, seed=6, threads=1, n_bootstrap=50)
    two = sobol(linear(), question, n_draws=40_000, seed=6, threads=2, n_bootstrap=50)
    assert one.to_records() == two.to_records()
    assert (
        tornado(linear(), question, 40_000, 6, threads=1).bars == tornado(linear(), question, 40_000, 6, threads=2).bars
    )


def test_a_crossing_year_counts_never_as_the_horizon_end_plus_a_step():
    quantity = quantity_of(linear(), "year physical_flop >= 1e40")
    assert quantity.kind == "crossing_year" and quantity.never_value == 2031.0
    result = tornado(linear(), "year physical_flop >= 1e40", n_draws=2_000)
    assert result.p_never == 1.0 and result.base == 2031.0


@pytest.mark.parametrize(
    "question", ["quantiles physical_flop in 2030", "cost of 1e27 in 2030", "interval spend in 2030", "P(spend >= 1"]
)
def test_questions_that_are_not_one_number_per_draw_are_refused(question):
    if question.startswith("quantiles"):
        assert quantity_of(linear(), question).kind == "log10_value"  # the same as "physical_flop in 2030"
        return
    with pytest.raises(ValueError):
        quantity_of(linear(), question)


def test_cli_tornado_and_sobol_json(tmp_path, capsys):
    path = tmp_path / "linear.toml"
    path.write_text(LINEAR.format(spend_growth='{ dist = "lognormal", p5 = 1.5, p95 = 3.0 }', extra=""))
    assert main(["sensitivity", str(path), "P(physical_flop >= 1e26 by 2030)", "--draws", "4000", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["name"] for r in records} == set(coefficients())
    assert all({"name", "low", "high", "swing", "mcse", "method", "n_draws", "seed"} <= set(r) for r in records)
    assert (
        main(["sensitivity", str(path), "physical_flop in 2030", "--method", "sobol", "--draws", "4000", "--json"]) == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all({"first_order", "first_order_ci", "total", "total_ci", "method"} <= set(r) for r in records)
    assert main(["sensitivity", str(path), "physical_flop in 2030", "--draws", "2000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("physical_flop in 2030 = ") and "spend.growth_per_year" in out and "$100M .. $1B" in out
    assert main(["sensitivity", str(path), "cost of 1e27 in 2030"]) == 2
