"""The prior families and forms of issue 17 (beta, gamma, pert, triangular, student_t, log_student_t, metalog;
two-percentile forms), sampled through the engine and checked against scipy.stats; their validation and the
load-time warnings.

Tolerances: the empirical CDF at a point has MCSE sqrt(F(1-F)/n); checks allow 4 MCSE. The
Kolmogorov-Smirnov statistic is compared with its 0.1% critical value 1.95/sqrt(n). The tabulated
quantile functions are compared with scipy.stats at fixed normal scores: within 1e-6 in normal-score
units (the error of the draw's probability, divided by the normal density), or within a few ulps of the
value where the value itself cannot say more.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special, stats

from helpers import flat, run_text, scenario_text
from mcscale import ScenarioError, parse_scenario
from mcscale.model.priors import TABLE_Z, PriorSpec

N = 40_000
KS_CRITICAL = 1.95 / math.sqrt(N)


def sample(prior: str, key: str = "spend.doubling_time", n: int = N, seed: int = 1, extra: str = "") -> np.ndarray:
    """Draws of one prior placed at ``key`` of a minimal scenario."""
    text = scenario_text(extra, end=2026, **{key.replace(".", "_"): prior})
    return flat(run_text(text, n_draws=n, seed=seed).prior[key])


def assert_cdf_at(values: np.ndarray, x: float, p: float) -> None:
    empirical = np.mean(values <= x)
    mcse = math.sqrt(p * (1 - p) / values.size)
    assert abs(empirical - p) <= 4 * mcse, (x, empirical, p, mcse)


def truncated(frozen, low: float = -np.inf, high: float = np.inf, log: bool = False):  # noqa: ANN001, ANN201
    """CDF, quantile function and density of a scipy.stats distribution truncated to [low, high] (of ln x: ``log``)."""
    lo = math.log(low) if log and low > 0 else (-np.inf if log else low)
    hi = math.log(high) if log and np.isfinite(high) else high
    f_lo, s_lo, f_hi, s_hi = frozen.cdf(lo), frozen.sf(lo), frozen.cdf(hi), frozen.sf(hi)
    upper_tail = s_lo < 0.5
    mass = s_lo - s_hi if upper_tail else f_hi - f_lo

    def cdf(x):  # noqa: ANN001, ANN202
        x = np.asarray(x, dtype=float)
        y = np.log(np.maximum(x, 1e-300)) if log else x
        y = np.clip(y, lo, hi)
        return (s_lo - frozen.sf(y)) / mass if upper_tail else (frozen.cdf(y) - f_lo) / mass

    def ppf(u, u_bar=None):  # noqa: ANN001, ANN202
        u = np.asarray(u, dtype=float)
        u_bar = 1 - u if u_bar is None else u_bar  # 1 - u, given where u is close to 1
        p, q = f_lo + mass * u, s_hi + mass * u_bar
        y = np.where(p <= 0.5, frozen.ppf(np.minimum(p, 0.5)), frozen.isf(np.minimum(q, 0.5)))
        return np.exp(y) if log else y

    def pdf(x):  # noqa: ANN001, ANN202
        x = np.asarray(x, dtype=float)
        return (frozen.pdf(np.log(x)) / x if log else frozen.pdf(x)) / mass

    return cdf, ppf, pdf


class Triangular:
    """The triangular distribution in closed form (scipy's ``triang.isf`` loses digits near the upper end)."""

    def __init__(self, low: float, mode: float, high: float) -> None:
        self.low, self.mode, self.high = low, mode, high
        self.below, self.above = (high - low) * (mode - low), (high - low) * (high - mode)
        self.at_mode = (mode - low) / (high - low)

    def cdf(self, x):  # noqa: ANN001, ANN201
        return 1 - self.sf(x)

    def sf(self, x):  # noqa: ANN001, ANN201
        x = np.clip(np.asarray(x, dtype=float), self.low, self.high)
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = 1 - np.where(self.below > 0, (x - self.low) ** 2 / self.below, 0.0)
            return np.where(x <= self.mode, rising, (self.high - x) ** 2 / self.above)

    def ppf(self, p):  # noqa: ANN001, ANN201
        p = np.asarray(p, dtype=float)
        return np.where(
            p <= self.at_mode, self.low + np.sqrt(p * self.below), self.high - np.sqrt((1 - p) * self.above)
        )

    def isf(self, q):  # noqa: ANN001, ANN201
        q = np.asarray(q, dtype=float)
        return np.where(
            1 - q <= self.at_mode, self.low + np.sqrt((1 - q) * self.below), self.high - np.sqrt(q * self.above)
        )

    def pdf(self, x):  # noqa: ANN001, ANN201
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = np.where(self.below > 0, 2 * (x - self.low) / self.below, 0.0)
            falling = 2 * (self.high - x) / self.above
        return np.where((x < self.low) | (x > self.high), 0.0, np.where(x <= self.mode, rising, falling))


def pert(low: float, mode: float, high: float, lam: float = 4.0):  # noqa: ANN201
    width = high - low
    return stats.beta(1 + lam * (mode - low) / width, 1 + lam * (high - mode) / width, loc=low, scale=width)


LOGISTIC_POINTS = [[p, float(stats.logistic(100, 2).ppf(p / 100))] for p in (3, 20, 50, 70, 99)]
# (prior as written, key, scipy.stats distribution, lower, upper, whether the distribution is of ln x)
FAMILIES = {
    "beta-alpha-beta": ('{ dist = "beta", alpha = 2, beta = 5 }', "utilization.value", stats.beta(2, 5), 0, 1, False),
    "beta-u-shaped": (
        '{ dist = "beta", alpha = 0.5, beta = 0.7 }',
        "utilization.value",
        stats.beta(0.5, 0.7),
        0,
        1,
        False,
    ),
    "beta-truncated": (
        '{ dist = "beta", alpha = 2, beta = 5, lower = 0.3, upper = 0.9 }',
        "utilization.value",
        stats.beta(2, 5),
        0.3,
        0.9,
        False,
    ),
    "gamma": (
        '{ dist = "gamma", shape = 0.7, scale = 2 }',
        "spend.doubling_time",
        stats.gamma(0.7, scale=2),
        0,
        np.inf,
        False,
    ),
    "gamma-upper-tail": (
        '{ dist = "gamma", shape = 3, scale = 1e8, lower = 1.5e9 }',
        "spend.initial",
        stats.gamma(3, scale=1e8),
        1.5e9,
        np.inf,
        False,
    ),
    "pert": ('{ dist = "pert", min = 0.5, mode = 1, max = 4 }', "spend.doubling_time", pert(0.5, 1, 4), 0.5, 4, False),
    "pert-lambda-truncated": (
        '{ dist = "pert", min = 0.5, mode = 1, max = 4, lambda = 2, upper = 2 }',
        "spend.doubling_time",
        pert(0.5, 1, 4, 2),
        0.5,
        2,
        False,
    ),
    "triangular": (
        '{ dist = "triangular", low = 1e17, mode = 2e17, high = 6e17 }',
        "hardware.flop_per_usd",
        Triangular(1e17, 2e17, 6e17),
        1e17,
        6e17,
        False,
    ),
    "triangular-mode-at-low": (
        '{ dist = "triangular", low = 0.1, mode = 0.1, high = 0.6 }',
        "utilization.value",
        Triangular(0.1, 0.1, 0.6),
        0.1,
        0.6,
        False,
    ),
    "student-t": (
        '{ dist = "student_t", loc = 3, scale = 0.5, df = 2.5, lower = 0.5 }',
        "hardware.doubling_time",
        stats.t(2.5, loc=3, scale=0.5),
        0.5,
        np.inf,
        False,
    ),
    "student-t-cauchy-both-bounds": (
        '{ dist = "student_t", loc = 3, scale = 0.5, df = 1, lower = 1, upper = 30 }',
        "hardware.doubling_time",
        stats.t(1, loc=3, scale=0.5),
        1,
        30,
        False,
    ),
    "log-student-t": (
        '{ dist = "log_student_t", mu = 0, sigma = 0.5, df = 3 }',
        "spend.doubling_time",
        stats.t(3, loc=0, scale=0.5),
        0,
        np.inf,
        True,
    ),
    "log-student-t-truncated": (
        '{ dist = "log_student_t", mu = 19.5, sigma = 1, df = 2, lower = 1e7, upper = 1e10 }',
        "spend.initial",
        stats.t(2, loc=19.5, scale=1),
        1e7,
        1e10,
        True,
    ),
    # the logistic is the 2-term metalog, so a metalog through its percentiles is exact
    "metalog-logistic": (
        f'{{ dist = "metalog", points = {LOGISTIC_POINTS}, lower = 1 }}',
        "spend.doubling_time",
        stats.logistic(100, 2),
        1,
        np.inf,
        False,
    ),
}


@pytest.mark.parametrize("case", FAMILIES.values(), ids=FAMILIES.keys())
def test_each_family_samples_its_scipy_distribution(case):
    prior, key, frozen, low, high, log = case
    values = sample(prior, key)
    cdf, ppf, _ = truncated(frozen, low, high, log)
    assert values.min() >= low and values.max() <= high
    assert stats.kstest(values, cdf).statistic < KS_CRITICAL
    for q in (0.01, 0.05, 0.5, 0.95, 0.99):
        assert_cdf_at(values, float(ppf(q)), q)


@pytest.mark.parametrize("case", FAMILIES.values(), ids=FAMILIES.keys())
def test_the_tabulated_quantile_function_is_scipys_within_1e_6_in_z(case):
    prior, key, frozen, low, high, log = case
    spec = parse_scenario(scenario_text(end=2026, **{key.replace(".", "_"): prior})).all_priors()[key]
    table = spec.quantile_table()
    _, ppf, pdf = truncated(frozen, low, high, log)
    # grid points, midpoints and quarter points, out to |z| = 8
    z = np.arange(-8.0, 8.0, table.step / 4)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        got, expected = table.evaluate(z), ppf(special.ndtr(z), special.ndtr(-z))
        # error in normal-score units: |x - x_ref| dz/dx, with dz/dx = density(x) / phi(z)
        z_error = np.abs(got - expected) * pdf(expected) / stats.norm.pdf(z)
        # where the value cannot say more: a few ulps of it (of its log10, in a log10 table)
        ulps = 16 * np.spacing(np.abs(expected))
        if table.log10:
            ulps += 8 * math.log(10) * np.abs(expected) * np.spacing(np.abs(np.log10(expected)))
            # the table clamps at 1e+-300 (a warning says so when it matters); the interval next to it bends
            kept = (expected > 1e-295) & (expected < 1e295)
        else:
            kept = np.abs(expected) < 1e295
    ok = (z_error <= 1e-6) | (np.abs(got - expected) <= ulps) | ~kept
    assert np.all(ok), (z[~ok][:5], float(np.max(z_error[~ok])))
    # the table's own quantile function (scipy.special) agrees too
    u = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(spec.ppf(u), ppf(u), rtol=1e-9)


def test_new_families_correlate_through_the_copula():
    text = scenario_text(
        '\n[[correlations]]\npair = ["utilization.value", "spend.doubling_time"]\nrho = -0.6\n',
        end=2026,
        utilization_value='{ dist = "beta", p5 = 0.2, p95 = 0.5 }',
        spend_doubling_time='{ dist = "log_student_t", p5 = 0.5, p95 = 2, df = 4, upper = 10 }',
    )
    result = run_text(text, n_draws=N, seed=2)
    u, t = flat(result.prior["utilization.value"]), flat(result.prior["spend.doubling_time"])
    rho = stats.spearmanr(u, t).statistic
    assert abs(math.atanh(rho) - math.atanh(-0.6)) <= 4 * math.sqrt(1.06 / (N - 3)), rho
    spec = result.scenario.priors["utilization.value"]
    frozen = stats.beta(spec.params["alpha"], spec.params["beta"])
    assert stats.kstest(u, frozen.cdf).statistic < KS_CRITICAL
    assert_cdf_at(u, 0.2, 0.05)
    assert_cdf_at(u, 0.5, 0.95)


def test_a_mixture_of_tabulated_components_with_truncation():
    prior = (
        '{ dist = "mixture", weights = [0.4, 0.6], lower = 0.8, components = ['
        '{ dist = "gamma", shape = 2, scale = 1 }, { dist = "triangular", low = 0.5, mode = 3, high = 5 }] }'
    )
    values = sample(prior)
    a, b = stats.gamma(2), stats.triang(2.5 / 4.5, loc=0.5, scale=4.5)
    mass = 0.4 * a.sf(0.8) + 0.6 * b.sf(0.8)

    def cdf(x):  # noqa: ANN001, ANN202
        x = np.maximum(x, 0.8)
        return (0.4 * (a.cdf(x) - a.cdf(0.8)) + 0.6 * (b.cdf(x) - b.cdf(0.8))) / mass

    assert values.min() >= 0.8
    assert stats.kstest(values, cdf).statistic < KS_CRITICAL


def test_streaming_draws_the_same_tabulated_values():
    question = '\n[[questions]]\nmetric = "spend"\nthreshold = 5e8\nby = 2027\n'
    text = scenario_text(question, end=2030, spend_initial='{ dist = "gamma", p10 = 1e8, p90 = 6e8 }')
    answers = [
        run_text(text, n_draws=20_000, seed=4, mode=mode).probability("spend", 5e8, by=2027)
        for mode in ("materialized", "stream")
    ]
    assert answers[0].value == answers[1].value
    # spend doubles each year, so P(spend >= 5e8 by 2027) = P(initial >= 5e8 / 4)
    spec = parse_scenario(text).priors["spend.initial"]
    p = stats.gamma(spec.params["shape"], scale=spec.params["scale"]).sf(5e8 / 4)
    assert abs(answers[0].value - p) <= 4 * math.sqrt(p * (1 - p) / 20_000), (answers[0].value, p)


# --------------------------------------------------------------------------- #
# two percentiles                                                              #
# --------------------------------------------------------------------------- #

INTERVALS = {"p1": 0.01, "p99": 0.99, "p5": 0.05, "p95": 0.95, "p10": 0.10, "p90": 0.90, "p25": 0.25, "p75": 0.75}
PAIRS = [("p5", "p95"), ("p1", "p99"), ("p10", "p90"), ("p25", "p75")]


def _frozen(spec: PriorSpec):  # noqa: ANN202
    p = spec.params
    return {
        "normal": lambda: stats.norm(p.get("mean"), p.get("sd")),
        "lognormal": lambda: stats.lognorm(s=p.get("sigma"), scale=math.exp(p.get("mu", 0))),
        "beta": lambda: stats.beta(p.get("alpha"), p.get("beta")),
        "gamma": lambda: stats.gamma(p.get("shape"), scale=p.get("scale")),
        "student_t": lambda: stats.t(p.get("df"), loc=p.get("loc"), scale=p.get("scale")),
    }[spec.dist]()


@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
@pytest.mark.parametrize(
    ("dist", "values", "key", "extra"),
    [
        ("normal", (2.0, 6.0), "spend.doubling_time", ", lower = 0.1"),
        ("lognormal", (1.5e8, 1e9), "spend.initial", ""),
        ("beta", (0.2, 0.45), "utilization.value", ""),
        ("gamma", (0.5, 3.0), "spend.doubling_time", ""),
        ("student_t", (2.0, 6.0), "spend.doubling_time", ", df = 3, lower = 0.1"),
        ("log_student_t", (1.5e8, 1e9), "spend.initial", ", df = 3"),
    ],
)
def test_any_two_percentiles_give_a_two_parameter_family(pair, dist, values, key, extra):
    low_key, high_key = pair
    prior = f'{{ dist = "{dist}", {low_key} = {values[0]}, {high_key} = {values[1]}{extra} }}'
    spec = parse_scenario(scenario_text(end=2026, **{key.replace(".", "_"): prior})).all_priors()[key]
    levels = (INTERVALS[low_key], INTERVALS[high_key])
    if dist == "log_student_t":
        frozen = stats.t(spec.params["df"], loc=spec.params["mu"], scale=spec.params["sigma"])
        got = np.exp(frozen.ppf(levels))
    else:
        got = _frozen(spec).ppf(levels)
    np.testing.assert_allclose(got, values, rtol=1e-9)


def test_the_90_percent_interval_keeps_its_bits():
    spec = parse_scenario(scenario_text(spend_initial='{ dist = "lognormal", p5 = 1.5e8, p95 = 1.0e9 }')).priors[
        "spend.initial"
    ]
    z = 1.6448536269514722  # Z_90_INTERVAL, as before the other pairs existed
    assert spec.params == {
        "mu": (math.log(1.5e8) + math.log(1e9)) / 2,
        "sigma": (math.log(1e9) - math.log(1.5e8)) / (2 * z),
    }


def test_a_beta_from_a_90_percent_interval_is_solved_numerically():
    values = sample('{ dist = "beta", p5 = 0.25, p95 = 0.55 }', key="utilization.value")
    assert_cdf_at(values, 0.25, 0.05)
    assert_cdf_at(values, 0.55, 0.95)


def test_the_written_prior_round_trips_into_the_attrs():
    written = {"dist": "pert", "min": 0.5, "mode": 1, "max": 3, "lambda": 3, "unit": "year"}
    text = scenario_text(
        end=2026, spend_doubling_time='{ dist = "pert", min = 0.5, mode = 1, max = 3, lambda = 3, unit = "year" }'
    )
    result = run_text(text, n_draws=1000)
    attrs = result.prior["spend.doubling_time"].attrs
    assert attrs["dist"] == "pert"
    assert json.loads(attrs["prior"]) == written


# --------------------------------------------------------------------------- #
# metalog                                                                      #
# --------------------------------------------------------------------------- #


def _metalog(points: list, extra: str = ", lower = 0.01") -> PriorSpec:
    prior = f'{{ dist = "metalog", points = {points}{extra} }}'
    return parse_scenario(scenario_text(end=2026, spend_doubling_time=prior), "m.toml").priors["spend.doubling_time"]


def test_a_metalog_through_a_logistics_percentiles_recovers_it_exactly():
    logistic = stats.logistic(100, 2)
    spec = _metalog([[p, float(logistic.ppf(p / 100))] for p in (3, 20, 50, 70, 99)], ", lower = 1")
    assert spec.params["terms"] == 5
    u = np.array([1e-6, 1e-3, 0.05, 0.31, 0.5, 0.77, 0.95, 0.999])
    np.testing.assert_allclose(spec.ppf(u), logistic.ppf(u), rtol=1e-10)
    np.testing.assert_allclose(
        [spec.cdf(x) for x in (92.0, 100.0, 107.5)], logistic.cdf([92.0, 100.0, 107.5]), atol=1e-12
    )


def test_a_metalog_through_a_normals_percentiles_recovers_its_quantiles():
    normal = stats.norm(10, 2)
    spec = _metalog([[p, float(normal.ppf(p / 100))] for p in (1, 5, 10, 25, 50, 75, 90, 95, 99)])
    u = np.array([0.01, 0.03, 0.2, 0.5, 0.7, 0.97, 0.99])
    # a 9-term metalog is not a normal, but between the points it is within 1e-3 sd of one
    np.testing.assert_allclose(spec.ppf(u), normal.ppf(u), atol=2e-3)
    points = [[p, float(normal.ppf(p / 100))] for p in (1, 10, 50, 90, 99)]
    values = sample(f'{{ dist = "metalog", points = {points}, lower = 0.01 }}')
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        assert_cdf_at(values, float(normal.ppf(q)), q)


def test_a_log10_metalog_of_a_lognormal():
    lognormal = stats.lognorm(s=1.2, scale=1e9)
    points = [[p, float(np.log10(lognormal.ppf(p / 100)))] for p in (1, 10, 50, 90, 99)]
    values = sample(f'{{ dist = "metalog", log10 = true, points = {points} }}', key="spend.initial")
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        assert_cdf_at(values, float(lognormal.ppf(q)), q)


def test_symmetric_points_get_the_most_terms_they_determine():
    normal = stats.norm(10, 2)
    spec = _metalog([[p, float(normal.ppf(p / 100))] for p in (1, 10, 25, 50, 75, 90, 99)])
    assert spec.params["terms"] == 6  # 7 terms: four odd basis functions, three independent values


def test_a_metalog_that_is_not_a_distribution_is_rejected_with_the_terms_tried():
    points = [[10, 1.0], [50, 1.1], [90, 5.0], [95, 5.05]]
    with pytest.raises(ScenarioError) as info:
        _metalog(points)
    ((path, message),) = info.value.problems
    assert path == "spend.doubling_time.points"
    assert message.startswith("a metalog with 4 terms through these points is not a valid distribution")
    assert "quantile function decreases between" in message and "terms = 2" in message
    with pytest.raises(ScenarioError) as info:
        _metalog(points, ", terms = 3, lower = 0.01")
    ((path, message),) = info.value.problems
    assert path == "spend.doubling_time.terms" and "with 3 terms" in message
    # the suggestion works
    spec = _metalog(points, ", terms = 2, lower = 0.01")
    assert spec.params["terms"] == 2


# --------------------------------------------------------------------------- #
# bad input                                                                    #
# --------------------------------------------------------------------------- #

BAD = {
    "beta-negative-alpha": (
        "utilization.value",
        '{ dist = "beta", alpha = -1, beta = 2 }',
        "utilization.value.alpha",
        "must be positive",
    ),
    "beta-percentile-outside": (
        "utilization.value",
        '{ dist = "beta", p5 = 0.2, p95 = 1.2 }',
        "utilization.value.p95",
        "must lie in (0, 1) for a beta",
    ),
    "gamma-nonfinite": (
        "spend.initial",
        '{ dist = "gamma", shape = inf, scale = 1e8 }',
        "spend.initial.shape",
        "finite",
    ),
    "gamma-p10-not-positive": (
        "spend.initial",
        '{ dist = "gamma", p10 = 0, p90 = 1e9 }',
        "spend.initial.p10",
        "must be positive for a gamma",
    ),
    "interval-reversed": (
        "spend.initial",
        '{ dist = "gamma", p25 = 2e9, p75 = 1e9 }',
        "spend.initial.p75",
        "must be greater than p25",
    ),
    "pert-mode-outside": (
        "spend.doubling_time",
        '{ dist = "pert", min = 1, mode = 5, max = 3 }',
        "spend.doubling_time.mode",
        "must lie between min and max",
    ),
    "pert-lambda": (
        "spend.doubling_time",
        '{ dist = "pert", min = 1, mode = 2, max = 3, lambda = 0 }',
        "spend.doubling_time.lambda",
        "must be positive",
    ),
    "triangular-high": (
        "spend.doubling_time",
        '{ dist = "triangular", low = 3, mode = 3, high = 3 }',
        "spend.doubling_time.high",
        "must be greater than low",
    ),
    "student-t-df": (
        "spend.doubling_time",
        '{ dist = "student_t", p5 = 1, p95 = 3, df = 0, lower = 0.1 }',
        "spend.doubling_time.df",
        "must be positive",
    ),
    "student-t-not-positive": (
        "spend.doubling_time",
        '{ dist = "student_t", p5 = 1, p95 = 3, df = 3 }',
        "spend.doubling_time",
        "must be positive, but this student_t prior can be -inf",
    ),
    "student-t-without-df": (
        "spend.doubling_time",
        '{ dist = "student_t", p5 = 1, p95 = 3, lower = 0.1 }',
        "spend.doubling_time.df",
        "missing",
    ),
    "log-student-t-two-forms": (
        "spend.doubling_time",
        '{ dist = "log_student_t", p5 = 1, p95 = 3, mu = 0, sigma = 1, df = 2 }',
        "spend.doubling_time",
        "several forms",
    ),
    "metalog-at-zero": (
        "spend.doubling_time",
        '{ dist = "metalog", points = [[0, 0.5], [50, 1], [99, 3]], lower = 0.1 }',
        "spend.doubling_time.points",
        "strictly between 0 and 100",
    ),
    "metalog-too-many-terms": (
        "spend.doubling_time",
        '{ dist = "metalog", points = [[5, 0.5], [50, 1], [95, 3]], terms = 4, lower = 0.1 }',
        "spend.doubling_time.terms",
        "from 2 to 3",
    ),
    "metalog-flat": (
        "spend.doubling_time",
        '{ dist = "metalog", points = [[5, 0.5], [50, 1], [95, 1]], lower = 0.1 }',
        "spend.doubling_time.points",
        "must increase",
    ),
    "metalog-nonfinite-point": (
        "spend.doubling_time",
        '{ dist = "metalog", points = [[5, 0.5], [50, nan], [95, 3]], lower = 0.1 }',
        "spend.doubling_time.points[1]",
        "must be finite",
    ),
    "unknown-key": (
        "spend.doubling_time",
        '{ dist = "gamma", shape = 2, scale = 1, df = 3 }',
        "spend.doubling_time.df",
        "unknown key for a gamma prior",
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_new_priors_get_one_line_with_their_key_path(case):
    key, prior, path, fragment = case
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(**{key.replace(".", "_"): prior}), "bad.toml")
    assert len(info.value.problems) == 1, info.value.problems
    ((got_path, message),) = info.value.problems
    assert got_path == path and fragment in message, (got_path, message)


def test_a_mixture_component_is_checked_with_its_key_path():
    prior = '{ dist = "mixture", weights = [0.5, 0.5], components = [1e8, { dist = "gamma", shape = -2, scale = 1 }] }'
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(spend_initial=prior), "bad.toml")
    assert info.value.problems == [("spend.initial.components[1].shape", "must be positive")]


# --------------------------------------------------------------------------- #
# warnings at load                                                             #
# --------------------------------------------------------------------------- #


def _load(capsys, **values: str) -> list[str]:  # noqa: ANN001
    parse_scenario(scenario_text(**values), "w.toml")
    return capsys.readouterr().err.splitlines()


def test_a_percentile_table_that_clamps_says_so(capsys):
    err = _load(capsys, spend_initial='{ dist = "percentiles", log10 = true, points = [[1, 7], [50, 8], [90, 9]] }')
    assert err == [
        "mcscale: warning: w.toml: spend.initial: percentile table from p1 to p90: 1% of the draws are clamped to its "
        "first value (log10 7) and 10% to its last (log10 9); add points at 0 and 100 to spread them"
    ]
    # and it does: 10% of the draws sit on the last value
    values = np.log10(
        sample('{ dist = "percentiles", log10 = true, points = [[1, 7], [50, 8], [90, 9]] }', key="spend.initial")
    )
    assert_cdf_at(-values, -9 + 1e-12, 0.10)


def test_a_truncated_percentile_table_counts_its_clamps_within_the_bounds(capsys):
    err = _load(capsys, spend_initial='{ dist = "percentiles", points = [[10, 1e8], [100, 1e9]], upper = 5.5e8 }')
    # F(5.5e8) = 0.1 + 0.9 x 4.5e8 / 9e8 = 0.55, of which the clamped 0.1 is 18.2%
    assert len(err) == 1 and "18.2% of the draws are clamped to its first value (1e+08)" in err[0]
    assert "to its last" not in err[0]


def test_a_full_percentile_table_and_the_bundled_scenarios_warn_nothing(capsys):
    assert _load(capsys, spend_initial='{ dist = "percentiles", points = [[0, 1e8], [50, 3e8], [100, 1e9]] }') == []
    from mcscale import bundled_scenarios, load_scenario

    for path in bundled_scenarios().values():
        load_scenario(path)
    assert capsys.readouterr().err == ""


def test_a_truncation_that_keeps_under_1_percent_says_so(capsys):
    err = _load(capsys, spend_doubling_time='{ dist = "gamma", shape = 2, scale = 1, lower = 8 }')
    mass = stats.gamma(2).sf(8)  # 0.3%
    assert err == [
        f"mcscale: warning: w.toml: spend.doubling_time: truncating it to [8, inf] keeps only {100 * mass:.3g}% of "
        "its probability: every draw comes from that part; widen the bounds or move the prior"
    ]
    assert _load(capsys, spend_doubling_time='{ dist = "gamma", shape = 2, scale = 1, lower = 5 }') == []  # 4%


def test_utilizations_own_truncation_counts(capsys):
    # most of the mass above 1: refused (a 1%-50% loss is warned of, tests/test_hostile_input.py)
    with pytest.raises(ScenarioError, match=r"utilization.value: 100% of this lognormal prior lies outside \(0, 1\]"):
        _load(capsys, utilization_value='{ dist = "lognormal", median = 20, gsd = 2 }')


def test_a_mixture_component_left_with_under_1_percent_says_what_share_it_gets(capsys):
    prior = (
        '{ dist = "mixture", weights = [0.5, 0.5], upper = 2, components = ['
        '{ dist = "lognormal", median = 1, gsd = 1.5 }, { dist = "gamma", shape = 20, scale = 1 }] }'
    )
    err = _load(capsys, spend_doubling_time=prior)
    kept = stats.gamma(20).cdf(2)
    share = 0.5 * kept / (0.5 * kept + 0.5 * stats.lognorm(s=math.log(1.5)).cdf(2))
    assert err == [
        "mcscale: warning: w.toml: spend.doubling_time.components[1]: the mixture's bounds keep only "
        f"{100 * kept:.3g}% of this component's probability: it gets {100 * share:.3g}% of the draws instead of "
        "its weight 50%"
    ]


def test_a_fat_tail_beyond_the_tables_range_says_so(capsys):
    err = _load(capsys, spend_doubling_time='{ dist = "log_student_t", mu = 0, sigma = 1, df = 1 }')
    share = 2 * stats.t(1).cdf(-300 * math.log(10))  # |ln x| > 300 ln 10
    assert err == [
        f"mcscale: warning: w.toml: spend.doubling_time: {share:.2g} of its draws lie outside [1e-300, 1e+300] and "
        "are clamped to it; set lower/upper"
    ]
    cauchy = stats.t(1)
    share = cauchy.cdf(-300 * math.log(10)) / cauchy.cdf(6 * math.log(10))  # below 1e-300, within (0, 1e6]
    assert _load(capsys, spend_doubling_time='{ dist = "log_student_t", mu = 0, sigma = 1, df = 1, upper = 1e6 }') == [
        f"mcscale: warning: w.toml: spend.doubling_time: {share:.2g} of its draws lie outside [1e-300, 1e+300] and "
        "are clamped to it; set lower/upper"
    ]
    assert _load(capsys, spend_doubling_time='{ dist = "log_student_t", mu = 0, sigma = 1, df = 3 }') == []


def test_draws_beyond_the_grid_take_the_end_values():
    spec = parse_scenario(scenario_text(spend_doubling_time='{ dist = "gamma", shape = 2, scale = 1 }')).priors[
        "spend.doubling_time"
    ]
    table = spec.quantile_table()
    ends = table.evaluate(np.array([-TABLE_Z, TABLE_Z]))
    np.testing.assert_allclose(table.evaluate(np.array([-20.0, 20.0])), ends, rtol=0)
    expected = [stats.gamma(2).ppf(special.ndtr(-TABLE_Z)), stats.gamma(2).isf(special.ndtr(-TABLE_Z))]
    np.testing.assert_allclose(ends, expected, rtol=1e-9)


@pytest.mark.parametrize(
    "source",
    ['{ dist = "gamma", p5 = 1e8, p95 = 1e9 }', '{ dist = "lognormal", p5 = 1e8, p95 = 1e9 }'],
    ids=["gamma", "lognormal"],
)
def test_a_log10_lookup_of_a_positive_family(source):
    lookup = (
        '{ dist = "lookup", of = "spend.initial", log10 = true, interpolation = "step", points = [[0, 3], [8.5, 2]] }'
    )
    result = run_text(scenario_text(end=2026, spend_initial=source, algorithms_doubling_time=lookup), n_draws=2000)
    initial = flat(result.prior["spend.initial"])
    expected = np.where(np.log10(initial) >= 8.5, 2.0, 3.0)
    np.testing.assert_array_equal(flat(result.prior["algorithms.doubling_time"]), expected)


def test_a_log10_lookup_of_a_prior_that_reaches_zero_is_rejected():
    lookup = '{ dist = "lookup", of = "utilization.value", log10 = true, points = [[-1, 3], [0, 2]] }'
    text = scenario_text(
        algorithms_doubling_time=lookup, utilization_value='{ dist = "triangular", low = 0, mode = 0.3, high = 0.6 }'
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert info.value.problems == [
        ("algorithms.doubling_time.log10", "log10 of 'utilization.value' needs a positive prior")
    ]
