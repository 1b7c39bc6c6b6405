"""Each prior form, sampled through the engine, against scipy.stats.

Tolerances: the empirical CDF at a point has MCSE sqrt(F(1-F)/n); checks allow 4 MCSE.
The Kolmogorov-Smirnov statistic is compared with its 0.1% critical value 1.95/sqrt(n).
"""

import math

import numpy as np
import pytest
from scipy import stats

from helpers import flat, run_text, scenario_text
from mcscale import ScenarioError, parse_scenario
from mcscale.model.copula import normal_correlation, prior_order

N = 40_000
KS_CRITICAL = 1.95 / math.sqrt(N)
Z95 = stats.norm.ppf(0.95)


def sample(prior: str, key: str = "spend.initial", n: int = N, seed: int = 1) -> np.ndarray:
    """Draws of one prior placed at ``key`` of a minimal scenario."""
    text = scenario_text(end=2026, **{key.replace(".", "_"): prior})
    return flat(run_text(text, n_draws=n, seed=seed).prior[key])


def assert_cdf_at(values: np.ndarray, x: float, p: float) -> None:
    empirical = np.mean(values <= x)
    mcse = math.sqrt(p * (1 - p) / values.size)
    assert abs(empirical - p) <= 4 * mcse, (empirical, p, mcse)


def assert_ks(values: np.ndarray, cdf) -> None:  # noqa: ANN001
    statistic = stats.kstest(values, cdf).statistic
    assert statistic < KS_CRITICAL, statistic


def test_lognormal_from_p5_p95_reproduces_its_quantiles():
    values = sample('{ dist = "lognormal", p5 = 1.5e8, p95 = 1.0e9 }')
    assert_cdf_at(values, 1.5e8, 0.05)
    assert_cdf_at(values, 1.0e9, 0.95)
    mu = (math.log(1.5e8) + math.log(1e9)) / 2
    sigma = (math.log(1e9) - math.log(1.5e8)) / (2 * Z95)
    assert_ks(values, stats.lognorm(s=sigma, scale=math.exp(mu)).cdf)


@pytest.mark.parametrize(
    ("prior", "frozen"),
    [
        ('{ dist = "lognormal", median = 3e8, gsd = 2.5 }', stats.lognorm(s=math.log(2.5), scale=3e8)),
        ('{ dist = "lognormal", mu = 19.5, sigma = 0.7 }', stats.lognorm(s=0.7, scale=math.exp(19.5))),
        ('{ dist = "uniform", low = 1e8, high = 5e8 }', stats.uniform(1e8, 4e8)),
        ('{ dist = "loguniform", low = 1e7, high = 1e10 }', stats.loguniform(1e7, 1e10)),
        ('{ dist = "normal", mean = 5e8, sd = 1e8, lower = 1 }', stats.norm(5e8, 1e8)),
        ('{ dist = "normal", p5 = 2e8, p95 = 6e8, lower = 1 }', stats.norm(4e8, 2e8 / Z95)),
    ],
)
def test_prior_forms_match_scipy(prior, frozen):
    values = sample(prior)
    assert_ks(values, frozen.cdf)
    for q in (0.05, 0.5, 0.95):
        assert_cdf_at(values, frozen.ppf(q), q)


def test_truncated_normal_matches_truncnorm():
    values = sample('{ dist = "normal", mean = 3e8, sd = 2e8, lower = 2e8, upper = 6e8 }')
    a, b = (2e8 - 3e8) / 2e8, (6e8 - 3e8) / 2e8
    assert values.min() >= 2e8 and values.max() <= 6e8
    assert_ks(values, stats.truncnorm(a, b, loc=3e8, scale=2e8).cdf)


def test_truncated_lognormal_matches_renormalized_cdf():
    base = stats.lognorm(s=1.0, scale=1e9)
    low, high = 5e8, 4e9
    values = sample(f'{{ dist = "lognormal", median = 1e9, gsd = {math.e}, lower = {low}, upper = {high} }}')

    def cdf(x):  # noqa: ANN001, ANN202
        return (base.cdf(np.clip(x, low, high)) - base.cdf(low)) / (base.cdf(high) - base.cdf(low))

    assert values.min() >= low and values.max() <= high
    assert_ks(values, cdf)


def test_fixed_value_is_constant_and_not_in_prior_group():
    result = run_text(scenario_text(end=2026), n_draws=1000)
    assert "spend.initial" not in result.prior
    assert np.all(10.0 ** result.trajectories["spend"].sel(year=2025).values == pytest.approx(1e8, rel=1e-14))


def test_mixture_matches_weighted_cdf():
    prior = (
        '{ dist = "mixture", weights = [0.3, 0.7], components = ['
        '{ dist = "lognormal", median = 1e8, gsd = 2 }, { dist = "uniform", low = 5e8, high = 2e9 }] }'
    )
    values = sample(prior)
    first = stats.lognorm(s=math.log(2), scale=1e8)
    second = stats.uniform(5e8, 1.5e9)

    def cdf(x):  # noqa: ANN001, ANN202
        return 0.3 * first.cdf(x) + 0.7 * second.cdf(x)

    assert_ks(values, cdf)
    assert_cdf_at(values, 4e8, cdf(4e8))


def test_truncated_mixture_renormalizes_each_component():
    prior = (
        '{ dist = "mixture", weights = [0.5, 0.5], lower = 1e8, components = ['
        '{ dist = "lognormal", median = 1e8, gsd = 2 }, { dist = "lognormal", median = 1e9, gsd = 2 }] }'
    )
    values = sample(prior)
    a = stats.lognorm(s=math.log(2), scale=1e8)
    b = stats.lognorm(s=math.log(2), scale=1e9)
    mass = 0.5 * a.sf(1e8) + 0.5 * b.sf(1e8)

    def cdf(x):  # noqa: ANN001, ANN202
        x = np.maximum(x, 1e8)
        return (0.5 * (a.cdf(x) - a.cdf(1e8)) + 0.5 * (b.cdf(x) - b.cdf(1e8))) / mass

    assert values.min() >= 1e8
    assert_ks(values, cdf)


def test_percentile_table_reproduces_its_points_and_clamps():
    points = [[1, 25.9], [10, 28.3], [50, 35.3], [90, 45.3], [99, 68.3]]
    prior = f'{{ dist = "percentiles", log10 = true, points = {points} }}'
    values = np.log10(sample(prior, key="spend.initial"))
    # P(X <= first point) = 1%, the mass clamped there; P(X < later point) = its percentile
    assert_cdf_at(values, 25.9 + 1e-9, 0.01)
    for percentile, value in points[1:]:
        assert_cdf_at(values, value - 1e-9, percentile / 100)
    # clamped at the ends: 1% of draws sit exactly on the first point, 1% on the last
    assert values.min() == pytest.approx(25.9, abs=1e-12)
    assert values.max() == pytest.approx(68.3, abs=1e-12)
    inner = values[(values > 25.9 + 1e-9) & (values < 68.3 - 1e-9)]
    ps = [p / 100 for p, _ in points]
    vs = [v for _, v in points]
    assert_ks(inner, lambda x: (np.interp(x, vs, ps) - 0.01) / 0.98)


@pytest.mark.parametrize("interpolation", ["step", "linear"])
def test_lookup_maps_its_source_exactly(interpolation):
    table = [[8.0, 3.5], [8.5, 3.0], [9.0, 2.5], [9.5, 2.0]]
    text = scenario_text(
        end=2026,
        algorithms_doubling_time=f'{{ dist = "lookup", of = "spend.initial", log10 = true, '
        f'interpolation = "{interpolation}", points = {table}, unit = "month" }}',
        spend_initial='{ dist = "loguniform", low = 1e7, high = 1e10 }',
    )
    result = run_text(text, n_draws=5000)
    source = np.log10(flat(result.prior["spend.initial"]))
    looked_up = flat(result.prior["algorithms.doubling_time"])
    xs = np.array([x for x, _ in table])
    ys = np.array([y for _, y in table]) / 12.0
    if interpolation == "step":
        expected = ys[np.clip(np.searchsorted(xs, source, side="right") - 1, 0, len(xs) - 1)]
    else:
        expected = np.interp(source, xs, ys)
    np.testing.assert_allclose(looked_up, expected, rtol=1e-14)


def test_month_and_day_units_convert_to_years():
    months = sample('{ dist = "lognormal", median = 6, gsd = 1.5, unit = "month" }', key="spend.doubling_time")
    days = sample('{ dist = "lognormal", median = 182.625, gsd = 1.5, unit = "day" }', key="spend.doubling_time")
    np.testing.assert_allclose(months, days, rtol=1e-12)  # same normals, same seed
    assert_cdf_at(months, 0.5, 0.5)


def test_utilization_is_truncated_to_unit_interval_by_default():
    values = sample('{ dist = "lognormal", median = 0.8, gsd = 1.5 }', key="utilization.value")
    assert values.max() <= 1.0
    base = stats.lognorm(s=math.log(1.5), scale=0.8)
    assert_ks(values, lambda x: base.cdf(np.minimum(x, 1.0)) / base.cdf(1.0))


def test_spearman_correlation_matches_request():
    text = scenario_text(
        end=2026,
        spend_doubling_time='{ dist = "lognormal", median = 1, gsd = 1.5 }',
        spend_initial='{ dist = "uniform", low = 1e8, high = 2e8 }',
    )
    text += '\n[[correlations]]\npair = ["spend.initial", "spend.doubling_time"]\nrho = -0.6\n'
    result = run_text(text, n_draws=N)
    rho = stats.spearmanr(flat(result.prior["spend.initial"]), flat(result.prior["spend.doubling_time"])).statistic
    # Fisher z of Spearman's rho has standard error sqrt(1.06 / (n - 3)).
    assert abs(math.atanh(rho) - math.atanh(-0.6)) <= 4 * math.sqrt(1.06 / (N - 3)), rho


def test_normal_correlation_names_the_matrix_and_rejects_non_pd():
    names = ["a", "b", "c"]
    chol = normal_correlation(names, [("a", "b", 0.5)])
    r = 2 * math.sin(math.pi * 0.5 / 6)
    np.testing.assert_allclose(chol @ chol.T, [[1, r, 0], [r, 1, 0], [0, 0, 1]], atol=1e-15)
    with pytest.raises(ValueError, match="positive definite"):
        normal_correlation(names, [("a", "b", 0.95), ("b", "c", 0.95), ("a", "c", -0.95)])


def test_prior_order_puts_lookups_after_their_source():
    text = scenario_text(
        '\n[milestone]\nrequirement = { dist = "loguniform", low = 1e26, high = 1e30 }\n',
        algorithms_doubling_time='{ dist = "lookup", of = "milestone.requirement", points = [[1, 2], [3, 4]] }',
    )
    scenario = parse_scenario(text, "t.toml")
    order = prior_order(scenario.all_priors())
    assert order.index("milestone.requirement") < order.index("algorithms.doubling_time")


@pytest.mark.parametrize(
    ("prior", "frozen", "low", "high"),
    [
        ('{ dist = "lognormal", mu = 0, sigma = 0.5, lower = 200 }', stats.lognorm(s=0.5), 200.0, np.inf),
        ('{ dist = "normal", mean = 1, sd = 0.1, lower = 2, upper = 3 }', stats.norm(1, 0.1), 2.0, 3.0),
    ],
)
def test_truncation_far_in_the_upper_tail(prior, frozen, low, high):
    # 10 standard deviations out the CDF rounds to 1; the survival function does not.
    values = sample(prior, key="spend.doubling_time")
    assert values.min() >= low and values.max() <= high

    def cdf(x):  # noqa: ANN001, ANN202
        x = np.clip(x, low, high)
        return (frozen.sf(low) - frozen.sf(x)) / (frozen.sf(low) - frozen.sf(high))

    assert_ks(values, cdf)


def test_mixture_components_keep_their_own_units():
    prior = (
        '{ dist = "mixture", weights = [0.5, 0.5], components = ['
        '{ dist = "uniform", low = 5, high = 7, unit = "month" }, { dist = "uniform", low = 2, high = 3 }] }'
    )
    values = sample(prior, key="spend.doubling_time")
    first, second = stats.uniform(5 / 12, 2 / 12), stats.uniform(2, 1)
    assert_ks(values, lambda x: 0.5 * first.cdf(x) + 0.5 * second.cdf(x))


def test_truncation_with_no_mass_is_rejected():
    with pytest.raises(ScenarioError, match="spend.doubling_time: lower/upper leave no probability mass"):
        parse_scenario(scenario_text(spend_doubling_time='{ dist = "normal", mean = 1, sd = 0.01, lower = 100 }'))


def test_mixture_with_a_plain_number_component():
    values = sample(
        '{ dist = "mixture", weights = [0.3, 0.7], components = [{ dist = "lognormal", median = 1e8, gsd = 2 }, 5e8] }'
    )
    assert np.mean(values == 5e8) == pytest.approx(0.7, abs=4 * math.sqrt(0.21 / N))
    lognormal = values[values != 5e8]
    statistic = stats.kstest(lognormal, stats.lognorm(s=math.log(2), scale=1e8).cdf).statistic
    assert statistic < 1.95 / math.sqrt(lognormal.size)


def test_lookup_keys_are_in_the_source_units_as_written():
    # the source is written in months; the keys too, and the draws are in years
    text = scenario_text(
        end=2026,
        spend_doubling_time='{ dist = "uniform", low = 3, high = 30, unit = "month" }',
        algorithms_doubling_time='{ dist = "lookup", of = "spend.doubling_time", points = [[6, 1], [24, 3]] }',
    )
    from helpers import run_text as run

    result = run(text, n_draws=4000)
    months = flat(result.prior["spend.doubling_time"]) * 12
    expected = np.interp(months, [6, 24], [1, 3])
    np.testing.assert_allclose(flat(result.prior["algorithms.doubling_time"]), expected, rtol=1e-12)
