"""The bundled peer models reproduce their peer's rule and its published numbers.

``direct-approach`` is Epoch AI's Direct Approach timelines model (github.com/
epoch-research/timelines-direct-approach at commit 50fff99): its equations are re-implemented
at the end of this file, its requirement recomputed from its scaling-law bound, and its rule
applied to mcscale's draws.

``cotra2020`` and ``cotra2022`` are Rethink Priorities' Python replication of Cotra's
biological-anchors timelines (github.com/rethinkpriorities/future-assessment-model,
``modules/tai_timelines.py`` and the notebook "(2) Cotra Timeline Models.ipynb" at commit
8b5dc07). The peer's equations are re-implemented below from that source, independently of
mcscale (plain Python floats, the peer's own ``round``), and fed mcscale's requirement draws:
the year each draw reaches TAI must be the year mcscale's trajectories cross the requirement.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

import mcscale

LN2 = math.log(2.0)
YEARS = range(2025, 2125)  # the peer's years = range(CURRENT_YEAR, CURRENT_YEAR + 100)
NEVER = 2126  # the peer's MAX_YEAR + 1

# VARIABLE_SETS of the peer's notebook (Cotra2022 changes only initial_flop_per_dollar)
PEER = {
    "cotra2020": {"initial_flop_per_dollar": 17.6},
    "cotra2022": {"initial_flop_per_dollar": 18.57},
}
COMMON = {
    "initial_gdp": 24e12,
    "algo_doubling_rate_max": 3.5,
    "algo_doubling_rate_min": 2,
    "min_reduction": 2,
    "max_reduction": 5,
    "flop_halving_rate": 2.5,
    "max_flop_per_dollar": 24,
    "initial_pay": 9,
    "gdp_growth": 1.03,
    "max_gdp_frac": 0.01,
    "spend_doubling_time": 2.5,
}
# The notebook's printed "TAI ARRIVAL DATE BY YEAR" (10,000 runs): P(TAI by end of year) in %, and the median.
PUBLISHED = {
    "cotra2020": ({2030: 9.3, 2036: 19.0, 2040: 26.6, 2050: 48.0, 2100: 76.2}, 2052),
    "cotra2022": ({2030: 25.6, 2036: 39.2, 2040: 48.9, 2050: 69.2, 2100: 86.7}, 2041),
}


# --------------------------------------------------------------------------- #
# the peer's equations, as in modules/tai_timelines.py                         #
# --------------------------------------------------------------------------- #


def willingness_to_pay(initial_gdp, gdp_growth, initial_pay, spend_doubling_time, max_gdp_frac, year):  # noqa: ANN001, ANN201
    gdp = initial_gdp * gdp_growth**year
    x = (LN2 / spend_doubling_time) * year
    return 10 ** (
        math.log10(initial_pay)
        + math.log10(math.exp(x))
        - math.log10(1 + initial_pay / (gdp * max_gdp_frac) * math.exp(x))
    )


def algo_halving_fn(min_speed, max_speed, tai_flop_size):  # noqa: ANN001, ANN201
    return min(max(max_speed - (round((tai_flop_size - 29) / 2) / 2), min_speed), max_speed)


def possible_algo_reduction_fn(min_reduction, max_reduction, tai_flop_size):  # noqa: ANN001, ANN201
    return min(max(min_reduction + round((tai_flop_size - 32) / 4), min_reduction), max_reduction)


def flop_needed(initial_flop, possible_reduction, doubling_rate, year):  # noqa: ANN001, ANN201
    x = (LN2 / doubling_rate) * year
    return 10 ** (
        math.log10(initial_flop)
        - max(math.log10(math.exp(x)) - math.log10(1 + (1 / possible_reduction) * math.exp(x)), 0)
    )


def flop_per_dollar(initial_flop_per_dollar, max_flop_per_dollar, halving_rate, year):  # noqa: ANN001, ANN201
    x = (LN2 / halving_rate) * year
    return 10 ** (
        math.log10(initial_flop_per_dollar)
        + math.log10(math.exp(x))
        - math.log10(1 + initial_flop_per_dollar / max_flop_per_dollar * math.exp(x))
    )


def peer_tai_year(variables: dict, tai_flop_size: float) -> int:
    """run_tai_model_round without the features the Cotra variable sets leave off (ramp, horizon, delays)."""
    v = variables
    # "Cap initial pay at max GDP frac"
    initial_pay = willingness_to_pay(v["initial_gdp"], v["gdp_growth"], 10 ** v["initial_pay"], 1, v["max_gdp_frac"], 0)
    doubling_rate = algo_halving_fn(v["algo_doubling_rate_min"], v["algo_doubling_rate_max"], tai_flop_size)
    reduction = possible_algo_reduction_fn(v["min_reduction"], v["max_reduction"], tai_flop_size)
    for y in YEARS:
        t = y - YEARS[0]
        needed = flop_needed(10**tai_flop_size, 10**reduction, doubling_rate, t)
        per_dollar = flop_per_dollar(
            10 ** v["initial_flop_per_dollar"], 10 ** v["max_flop_per_dollar"], v["flop_halving_rate"], t
        )
        cost = max(needed / per_dollar, 1)
        willingness = willingness_to_pay(
            v["initial_gdp"], v["gdp_growth"], initial_pay, v["spend_doubling_time"], v["max_gdp_frac"], t
        )
        if cost <= willingness:
            return y
    return NEVER


# --------------------------------------------------------------------------- #
# tests                                                                        #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(PEER))
def test_every_draw_crosses_in_the_year_of_the_peers_rule(name):
    variables = {**COMMON, **PEER[name]}
    result = mcscale.run(name, n_draws=4000, seed=5)
    requirement = np.log10(result.prior["milestone.requirement"].values.reshape(-1))
    effective = result.trajectories["effective_flop"].values.reshape(requirement.size, -1)
    years = result.trajectories["year"].values
    assert list(years) == list(YEARS)
    reached = effective >= requirement[:, None]
    ours = np.where(reached.any(axis=1), years[np.argmax(reached, axis=1)], NEVER)
    peer = np.array([peer_tai_year(variables, r) for r in requirement])
    # One named difference: the peer floors the algorithmic gain at 1 (max(..., 0) in flop_needed);
    # mcscale's soft ceiling gives M / (1 + M) < 1 at the start, so a requirement within that
    # sliver above the 2025 compute (<= 0.0044 dex) crosses a year later here.
    start = effective[:, 0]
    floor = np.log10(1 + 1 / result.prior["algorithms.max_gain"].values.reshape(-1))
    sliver = (requirement > start) & (requirement <= start + floor)
    assert np.all(ours[~sliver] == peer[~sliver]), np.flatnonzero((ours != peer) & ~sliver)[:10]
    assert np.all((peer[sliver] == 2025) & (ours[sliver] == 2026))
    assert sliver.sum() <= 5  # 0.0044 dex of a requirement density of about 3% per dex
    assert len(np.unique(peer)) > 50  # the draws cross over the whole century


@pytest.mark.parametrize("name", sorted(PEER))
def test_the_answers_are_the_published_ones_within_their_named_differences(name):
    published, median = PUBLISHED[name]
    result = mcscale.run(name, n_draws=200_000, seed=0, mode="stream")
    for year, percent in published.items():
        ours = 100 * mcscale.ask(result, f"P(effective_flop >= requirement by {year})").value
        # cotra2022 by 2100: 84.9% vs 86.7%, the requirement table's linear interpolation between
        # its printed 80th and 90th percentiles (README, "Reproducing published models")
        tolerance = 2.5 if (name, year) == ("cotra2022", 2100) else 1.5
        assert abs(ours - percent) <= tolerance, (year, ours, percent)
    answer = mcscale.ask(result, "year effective_flop >= requirement")
    # mcscale interpolates the crossing between grid years; the peer counts whole years
    assert math.ceil(answer.quantiles["50%"]) == median


# --------------------------------------------------------------------------- #
# direct-approach: Epoch's Direct Approach timelines model                     #
# --------------------------------------------------------------------------- #
# The peer's equations, re-implemented from github.com/epoch-research/timelines-direct-approach
# at commit 50fff99 (timeline.py, common.py, k_performance.py): its README's headline.

DA_YEARS = np.arange(2023, 2101)  # common.YEARS
DA_HEADLINE = ({2030: 29, 2050: 69, 2100: 79}, 2036)  # README: "Probability of TAI by..." and the median
DA_RUNS = ((17.0, 8.0), (23.0, 2.0), (25.0, 1.0))  # training_runs of tai_requirements: (log10 FLOP, years)


def _ci_lognormal(width: float, low: float, high: float) -> tuple[float, float]:
    """DistributionCI('lognormal', width, low, high): natural-log mu and sigma."""
    mu = (math.log(low) + math.log(high)) / 2
    return mu, (mu - math.log(low)) / stats.norm.ppf(0.5 + width / 200)


def _log10_k_performance(compute, A, B, alpha, beta, slowdown):  # noqa: ANN001, ANN202, N803
    """log10 of k_performance(KL_divergence(optimal_N_D(compute))) of the README's k_performance.py."""
    G = (alpha * A) / (beta * B)  # noqa: N806 (the peer's names)
    N = G * (compute / 6) ** (beta / (alpha + beta))  # noqa: N806
    D = (compute / 6) ** (alpha / (alpha + beta)) / G  # noqa: N806
    kl = A / N**alpha + B / D**beta
    delta_0, delta_1 = 0.9 / 0.1, 0.1 / 0.9
    d_1 = (1 - delta_0) / (delta_1 - delta_0)
    d_0 = delta_1 * d_1
    return math.log10(slowdown * (d_1 * math.log2(d_0 / d_1) + (1 - d_1) * math.log2((1 - d_0) / (1 - d_1))) / -kl)


def peer_requirement_fit(seed: int = 2024, n: int = 20_000) -> tuple[float, float]:
    """norm.fit of the peer's 20,000 raw requirements, replaying its np.random.seed(2024) stream."""
    rs = np.random.RandomState(seed)  # noqa: NPY002 (the peer's legacy generator, to replay its draws)
    slowdowns = rs.lognormal(*_ci_lognormal(70, 9.84, 290), n)
    ks = rs.lognormal(*_ci_lognormal(70, 3129, 141714), n)
    out = np.empty(n)
    for i in range(n):
        A, B = rs.normal(406.4, 25), rs.normal(410.7, 25)  # noqa: N806
        alpha, beta = rs.normal(0.34, 0.05), rs.normal(0.28, 0.05)
        low = _log10_k_performance(1e10, 406.4, 410.7, 0.34, 0.28, slowdowns[i])
        high = _log10_k_performance(1e30, A, B, alpha, beta, slowdowns[i])
        m = 20.0 / (high - low)
        out[i] = m * math.log10(ks[i]) + 10 - low * m
    mu, sd = stats.norm.fit(out)
    return float(mu), float(sd)


def peer_requirement_cdf(mu: float, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """The requirement after the update on no TAI and the 5/7 scaling: (log10 FLOP grid, CDF), by quadrature."""
    x = np.linspace(mu - 12 * sd, mu + 12 * sd, 200_001)
    log_density = stats.norm.logpdf(x, mu, sd) - sum(d * 10 ** (0.3 * (r - x)) for r, d in DA_RUNS)
    density = np.exp(log_density - log_density.max())
    cdf = integrate.cumulative_trapezoid(density, x, initial=0.0)
    return 5 / 7 * (x - 25) + 25, cdf / cdf[-1]


def peer_constrain(value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """common.constrain: limit (1 - exp(-value / limit)) from log10 inputs, in linear space.

    The peer computes ``1 - exp(-p)``, which loses digits for small p = value / limit (its
    kludge returns ``value`` once ``exp(-p)`` rounds to 1); this is the equation it
    implements, with ``expm1``.
    """
    value, limit = np.minimum(value, 300), np.minimum(limit, 300)
    return -(10.0**limit) * np.expm1(-(10.0 ** (value - limit)))


def peer_effective_flop(d: dict[str, np.ndarray]) -> np.ndarray:
    """log10 effective FLOP, shape (n_draws, 78 years), as timeline.py computes it (hardware: mcscale's prior)."""
    offsets = np.arange(len(DA_YEARS))[None, :]
    col = {name: np.asarray(v, dtype=float).reshape(-1, 1) for name, v in d.items()}
    # spending(): a year of growth is added before each year is recorded
    max_spend = np.log10(col["spend.initial"]) + (offsets + 1) * np.log10(1 + col["spend.percent_per_year"] / 100)
    gwp = np.log10(col["economy.gdp"]) + (offsets + 1) * np.log10(col["economy.gdp_growth_per_year"])
    spend = np.log10(np.maximum(1e-10, peer_constrain(max_spend, gwp + np.log10(col["spend.cap_gdp_fraction"]))))
    # algorithmic_improvements()
    growth = col["algorithms.oom_per_year"] * col["algorithms.rate_multiplier"]
    algo = np.log10(np.maximum(1e-10, peer_constrain((1 + offsets) * growth, col["algorithms.max_gain_oom"])))
    # flops_per_dollar(): not reproducible here (pickled regressions); the scenario's approximation
    fpu = np.log10(col["hardware.flop_per_usd"]) + (offsets + 1) * col["hardware.oom_per_year"]
    fpu = np.log10(peer_constrain(fpu, np.log10(col["hardware.max_flop_per_usd"])))
    return spend + fpu + algo


def peer_floored(d: dict[str, np.ndarray]) -> np.ndarray:
    """Where timeline.py's max(1e-10, ...) floors the algorithmic multiplier or spend, shape (n_draws, 78)."""
    offsets = np.arange(len(DA_YEARS))[None, :]
    growth = (d["algorithms.oom_per_year"] * d["algorithms.rate_multiplier"]).reshape(-1, 1)
    spend_rate = np.log10(1 + d["spend.percent_per_year"] / 100).reshape(-1, 1)
    return ((1 + offsets) * growth < -9.9) | (np.log10(d["spend.initial"][:, None]) + (offsets + 1) * spend_rate < -9.9)


def _da_draws(result: mcscale.Result) -> dict[str, np.ndarray]:
    fixed = json.loads(result.tree["prior"].attrs["fixed_parameters"])
    out = {name: result.prior[name].values.reshape(-1) for name in result.prior.data_vars}
    out.update({name: np.full(result.n_draws, float(v)) for name, v in fixed.items()})
    return out


def test_direct_approach_requirement_is_the_peers_posterior():
    mu, sd = peer_requirement_fit()
    assert (round(mu, 4), round(sd, 4)) == (35.4287, 9.2885)  # as the scenario's comments say
    grid, cdf = peer_requirement_cdf(mu, sd)
    spec = mcscale.load_scenario(mcscale.bundled_scenarios()["direct-approach"]).priors["milestone.requirement"]
    for probability, value in spec.points:  # (as loaded: probabilities, not percentiles)
        if 0 < probability < 1:
            # the table's values are rounded to 0.001 dex: at most 0.00025 of probability at the density's peak
            assert abs(np.interp(value, grid, cdf) - probability) < 3e-4, (probability, value)
    (_, low), (_, high) = spec.points[0], spec.points[-1]
    assert abs(np.interp(low, grid, cdf) - 1e-6) < 1e-6 and abs(np.interp(high, grid, cdf) - (1 - 1e-6)) < 1e-6


def test_direct_approach_every_draw_crosses_in_the_year_of_the_peers_rule():
    result = mcscale.run("direct-approach", n_draws=20_000, seed=5)
    d = _da_draws(result)
    requirement = np.log10(d["milestone.requirement"])
    years = result.trajectories["year"].values
    ours = result.trajectories["effective_flop"].values.reshape(requirement.size, -1)
    assert list(years) == [2022, *DA_YEARS]
    peer = peer_effective_flop(d)
    # The trajectories are the peer's, year by year (hardware: the same approximation on both
    # sides), except where the peer floors a regressing multiplier or spend at 1e-10.
    floored = peer_floored(d)
    assert floored.mean() < 0.01
    np.testing.assert_allclose(ours[:, 1:][~floored], peer[~floored], rtol=0, atol=1e-9)
    arrived = peer > requirement[:, None]  # the peer's rule: compute > requirement in that year
    peer_first = np.where(arrived.any(axis=1), DA_YEARS[np.argmax(arrived, axis=1)], 2101)
    reached = ours[:, 1:] >= requirement[:, None]
    ours_first = np.where(reached.any(axis=1), DA_YEARS[np.argmax(reached, axis=1)], 2101)
    np.testing.assert_array_equal(ours_first, peer_first)
    assert len(np.unique(peer_first)) > 60

    # The answers: mcscale counts a draw "by Y" once it has crossed; the peer counts the draws
    # above their requirement in Y itself. They differ by the draws that fall back (regress, or
    # a shrinking GWP), and by 2022, the base point the peer never compares: within a few MCSE.
    for year in (2030, 2050, 2100):
        answer = mcscale.ask(result, f"P(effective_flop >= requirement by {year})")
        peer_share = arrived[:, year - 2023].mean()
        assert abs(answer.value - peer_share) <= 3 * answer.mcse, (year, answer.value, peer_share)
        assert answer.value >= peer_share  # falling back only ever removes draws from the peer's count
    median = mcscale.ask(result, "year effective_flop >= requirement").quantiles["50%"]
    peer_median = DA_YEARS[np.argmax(arrived.mean(axis=0) >= 0.5)]  # app.quantile
    assert math.ceil(median) == peer_median


def test_direct_approach_answers_are_the_headline_within_the_named_differences():
    published, median = DA_HEADLINE
    result = mcscale.run("direct-approach", n_draws=200_000, seed=0, mode="stream")
    for year, percent in published.items():
        ours = 100 * mcscale.ask(result, f"P(effective_flop >= requirement by {year})").value
        # the headline is rounded to whole points (+-0.5) of 20,000 draws (MCSE 0.3); by 2050 the
        # approximated hardware path (README, "Reproducing published models") adds 3.4 points
        tolerance = 4.0 if year == 2050 else 1.5
        assert abs(ours - percent) <= tolerance, (year, ours, percent)
    answer = mcscale.ask(result, "year effective_flop >= requirement")
    assert abs(math.ceil(answer.quantiles["50%"]) - median) <= 1
