"""The same model in plain vectorized numpy: speed baseline and independent second implementation.

This module re-implements the model equations (README, "The model") without the engine, and is used two ways:

- as the speed baseline of :mod:`mcscale.bench` ("the same model written in plain
  vectorized numpy", the typical notebook approach: sample every prior as an array,
  broadcast the trajectories over a (draw, year) array, ``np.quantile`` per year);
- as an independent oracle for the kernels: :func:`numpy_trajectories` takes per-draw
  parameter values (for example those a run stored in ``result.prior``) and recomputes
  every log10 trajectory, which must agree with ``result.trajectories`` to rounding
  (``tests/test_numpy_model.py``).

It deliberately shares no code with :mod:`mcscale.sim.kernels` or
:func:`mcscale.sim.encode.build_model_plan`; only the :class:`mcscale.Scenario` dataclass
(the parsed, validated file) is read. The sampler does not reproduce the engine's
random stream: it draws the same distributions, not the same numbers; given the same
normals (:func:`numpy_params_from_normals`) it computes the same values. The families
the engine tabulates (beta, gamma, pert, triangular, student_t, log_student_t,
metalog) are computed here exactly, with ``scipy.stats`` (the metalog with its own
least-squares fit and root finding), not through a table. Nothing imports this module
at ``import mcscale`` time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special

from mcscale.model.priors import PriorSpec
from mcscale.model.scenario import Scenario

__all__ = [
    "QUANTILES",
    "NumpyRun",
    "numpy_params_from_normals",
    "numpy_run",
    "numpy_sample_params",
    "numpy_trajectories",
    "exponential_limit_log10",
    "soft_min_log10",
    "year_grid",
]

#: Per-year quantiles :func:`numpy_run` reports.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

_LN10 = math.log(10.0)
_LOG10_2 = math.log10(2.0)
_TOL = 1e-9  # years: a regime boundary "at" a grid year, up to rounding of the grid
_U_EDGE = 1e-300  # keeps inverse CDFs finite at u = 0 and u = 1


# --------------------------------------------------------------------------- #
# Trajectories                                                                 #
# --------------------------------------------------------------------------- #


def year_grid(scenario: Scenario) -> np.ndarray:
    """Return the grid years ``start, start + step, ..., end`` [year]."""
    n = int(round((scenario.end - scenario.start) / scenario.step)) + 1
    return scenario.start + scenario.step * np.arange(n)


def soft_min_log10(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """Return ``log10(x c / (x + c))`` from ``a = log10 x`` and ``b = log10 c``.

    ``x c / (x + c) = 1 / (1/x + 1/c)``, so in log10 space this is
    ``-log10(10**-a + 10**-b)``, computed as a log-sum-exp (no overflow).
    """
    return -np.logaddexp(-_LN10 * a, -_LN10 * np.asarray(b)) / _LN10


def exponential_limit_log10(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """Return ``log10(c (1 - exp(-x / c)))`` from ``a = log10 x`` and ``b = log10 c``.

    With ``p = x / c``: ``b + log10(-expm1(-p))``; below p = 1e-300 (where p rounds
    to zero) the limit is x itself.
    """
    p = 10.0 ** np.minimum(a - b, 300.0)
    with np.errstate(divide="ignore"):
        limited = b + np.log10(-np.expm1(-p))
    return np.where(a - b < -300.0, a, limited)


def _ceiling(log_value: np.ndarray, log_ceiling: np.ndarray, kind: str) -> np.ndarray:
    """Apply a hard (``min``), soft or exponential ceiling in log10 space."""
    if kind == "hard":
        return np.minimum(log_value, log_ceiling)
    if kind == "soft":
        return soft_min_log10(log_value, log_ceiling)
    if kind == "exponential":
        return exponential_limit_log10(log_value, log_ceiling)
    raise ValueError(f"unknown ceiling kind {kind!r}")


def _column(params: dict[str, np.ndarray], name: str, n_draws: int) -> np.ndarray:
    """Return parameter ``name`` as a (n_draws, 1) column (a scalar is broadcast)."""
    try:
        values = np.asarray(params[name], dtype=np.float64)
    except KeyError:
        raise KeyError(f"no values for parameter {name!r}") from None
    return np.broadcast_to(values.reshape(-1), (n_draws,)).reshape(n_draws, 1)


def _rate_name(priors: dict[str, PriorSpec], section: str, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """Return ``(parameter name, key)`` of the first of ``section.key`` given in ``priors``."""
    for key in keys:
        spec = priors.get(f"{section}.{key}")
        if spec is not None:
            return spec.name, key
    return None


def _log10_rate(params: dict[str, np.ndarray], name: str, key: str, n_draws: int) -> np.ndarray:
    """Growth rate [log10 per year] from a doubling time [year], a factor, OOM or percent per year."""
    value = _column(params, name, n_draws)
    if key == "doubling_time":
        return _LOG10_2 / value
    if key == "oom_per_year":
        return value
    if key == "percent_per_year":
        return np.log1p(value / 100.0) / _LN10
    return np.log10(value)  # growth_per_year, cap_growth_per_year, gdp_growth_per_year


def _regime_coverage(scenario: Scenario, years: np.ndarray) -> np.ndarray:
    """Years each regime covers from the start to each grid year.

    Returns
    -------
    ndarray, shape (n_regimes, n_years)
        ``coverage[r, k]`` is the time [year] regime ``r`` (0 = the base) has been in
        force between ``years[0]`` and ``years[k]``. A regime from year ``Y`` covers
        every grid interval that starts at or after ``Y`` (until the next regime).
    """
    starts = years[:-1]
    lengths = np.diff(years)
    # regime of each interval: how many regime years are <= the interval's start
    regime_years = np.array([r.start_year for r in scenario.regimes], dtype=np.float64)
    regime_of = (starts[:, None] >= regime_years[None, :] - _TOL).sum(axis=1)
    n_regimes = len(scenario.regimes) + 1
    per_interval = np.zeros((n_regimes, len(starts)))
    per_interval[regime_of, np.arange(len(starts))] = lengths
    coverage = np.zeros((n_regimes, len(years)))
    coverage[:, 1:] = np.cumsum(per_interval, axis=1)
    return coverage


def _exponent(
    scenario: Scenario,
    params: dict[str, np.ndarray],
    n_draws: int,
    coverage: np.ndarray,
    section: str,
    keys: tuple[str, ...],
) -> np.ndarray | None:
    """log10 growth since the start year of one growing quantity, shape (n_draws, n_years).

    A regime that does not give the quantity's rate keeps the previous regime's;
    a quantity with no rate at all does not grow (returns None).
    """
    rates: list[np.ndarray | None] = []
    current = None
    for priors in [scenario.priors] + [regime.priors for regime in scenario.regimes]:
        found = _rate_name(priors, section, keys)
        if found is not None:
            current = _log10_rate(params, found[0], found[1], n_draws)
        rates.append(current)
    if all(rate is None for rate in rates):
        return None
    zero = np.zeros((n_draws, 1))
    matrix = np.hstack([zero if rate is None else rate for rate in rates])  # (n_draws, n_regimes)
    return matrix @ coverage


def numpy_trajectories(
    scenario: Scenario, params: dict[str, np.ndarray], years: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Compute every draw's log10 trajectories with vectorized numpy.

    Parameters
    ----------
    scenario : Scenario
        The validated scenario (only its structure is used: which parameters exist,
        regimes, cap and ceiling kinds).
    params : dict of str to ndarray
        Per-draw values of every prior, keyed by prior name (``"spend.initial"``,
        ``"spend.doubling_time@2030"``, ...), in canonical units [year, USD, FLOP];
        fixed priors too (a scalar is broadcast).
    years : ndarray, optional
        The grid [year]; the scenario's own grid when omitted. It must start at the
        scenario's start year (growth is counted from there).

    Returns
    -------
    dict of str to ndarray
        log10 values, each of shape (n_draws, n_years): ``spend`` [log10 USD],
        ``cap`` [log10 USD] (only when the scenario has a cap), ``flop_per_usd``
        [log10 FLOP/USD], ``physical_flop`` [log10 FLOP], ``algo_multiplier``
        [log10 x], ``effective_flop`` [log10 FLOP].
    """
    years = year_grid(scenario) if years is None else np.asarray(years, dtype=np.float64)
    if abs(years[0] - scenario.start) > _TOL:
        raise ValueError(f"years must start at the scenario's start {scenario.start:g}, got {years[0]:g}")
    p = scenario.priors
    n_draws = max(np.size(v) for v in params.values())
    coverage = _regime_coverage(scenario, years)
    zeros = np.zeros((n_draws, len(years)))

    def grow(section: str, keys: tuple[str, ...]) -> np.ndarray:
        exponent = _exponent(scenario, params, n_draws, coverage, section, keys)
        return zeros if exponent is None else exponent

    growth_keys = ("doubling_time", "growth_per_year", "oom_per_year", "percent_per_year")
    out: dict[str, np.ndarray] = {}

    # spend, and the cap it runs into
    spend = np.log10(_column(params, "spend.initial", n_draws)) + grow("spend", growth_keys)
    if "spend.cap" in p or "spend.cap_gdp_fraction" in p:
        if "spend.cap" in p:
            cap0 = np.log10(_column(params, "spend.cap", n_draws))
            cap = cap0 + grow("spend", ("cap_growth_per_year",))
        else:
            gdp0 = np.log10(
                _column(params, "spend.cap_gdp_fraction", n_draws) * _column(params, "economy.gdp", n_draws)
            )
            cap = gdp0 + grow("economy", ("gdp_growth_per_year",))
        spend = _ceiling(spend, cap, scenario.cap_kind)
        out["spend"] = spend
        out["cap"] = cap
    else:
        out["spend"] = spend

    # hardware price-performance
    if "hardware.flop_per_usd" in p:
        fpu0 = np.log10(_column(params, "hardware.flop_per_usd", n_draws))
    else:
        fpu0 = -np.log10(_column(params, "hardware.price_per_flop", n_draws))
    fpu = fpu0 + grow("hardware", growth_keys)
    if "hardware.max_flop_per_usd" in p:
        fpu = _ceiling(
            fpu, np.log10(_column(params, "hardware.max_flop_per_usd", n_draws)), scenario.hardware_ceiling_kind
        )
    out["flop_per_usd"] = fpu

    # compute
    utilization = np.log10(_column(params, "utilization.value", n_draws))
    out["physical_flop"] = spend + fpu + utilization

    # algorithms
    algo = grow("algorithms", growth_keys)
    if "algorithms.rate_multiplier" in p:
        algo = algo * _column(params, "algorithms.rate_multiplier", n_draws)
    if "algorithms.max_gain" in p or "algorithms.max_gain_oom" in p:
        if "algorithms.max_gain" in p:
            log_gain = np.log10(_column(params, "algorithms.max_gain", n_draws))
        else:
            log_gain = _column(params, "algorithms.max_gain_oom", n_draws)
        algo = _ceiling(algo, log_gain, scenario.algorithms_ceiling_kind)
    out["algo_multiplier"] = algo if algo is not zeros else zeros.copy()
    out["effective_flop"] = out["physical_flop"] + algo
    return out


# --------------------------------------------------------------------------- #
# Sampling                                                                     #
# --------------------------------------------------------------------------- #


_SCIPY_FAMILIES = ("beta", "gamma", "pert", "triangular", "student_t", "log_student_t")


def _frozen(spec: PriorSpec):  # noqa: ANN202 (a scipy.stats frozen distribution)
    """Return the scipy.stats distribution of the value (of its natural log for log_student_t)."""
    from scipy import stats

    q = spec.params
    if spec.dist == "beta":
        return stats.beta(q["alpha"], q["beta"])
    if spec.dist == "gamma":
        return stats.gamma(q["shape"], scale=q["scale"])
    if spec.dist == "pert":  # Vose, "Risk Analysis" (2008): a beta on [min, max]
        width = q["max"] - q["min"]
        a = 1.0 + q["lambda"] * (q["mode"] - q["min"]) / width
        b = 1.0 + q["lambda"] * (q["max"] - q["mode"]) / width
        return stats.beta(a, b, loc=q["min"], scale=width)
    if spec.dist == "triangular":
        width = q["high"] - q["low"]
        return stats.triang((q["mode"] - q["low"]) / width, loc=q["low"], scale=width)
    if spec.dist == "student_t":
        return stats.t(q["df"], loc=q["loc"], scale=q["scale"])
    return stats.t(q["df"], loc=q["mu"], scale=q["sigma"])  # log_student_t: of ln(value)


def _metalog_basis(p: np.ndarray, k: int) -> np.ndarray:
    """Keelin's (2016) metalog basis, shape (len(p), k): 1, L, (p-1/2) L, p-1/2, (p-1/2)^2, (p-1/2)^2 L, ..."""
    p = np.asarray(p, dtype=float)
    logit = np.log(p / (1.0 - p))
    c = p - 0.5
    columns = []
    for j in range(1, k + 1):
        if j == 1:
            columns.append(np.ones_like(p))
        elif j == 2:
            columns.append(logit)
        elif j == 3:
            columns.append(c * logit)
        elif j == 4:
            columns.append(c)
        elif j % 2:
            columns.append(c ** ((j - 1) // 2))
        else:
            columns.append(c ** (j // 2 - 1) * logit)
    return np.column_stack(columns)


def _metalog(spec: PriorSpec, p: np.ndarray) -> np.ndarray:
    """Metalog quantile (log10 of the value where ``log10``), refitted here from the table."""
    probs = np.array([pr for pr, _ in spec.points])
    values = np.array([v for _, v in spec.points])
    k = int(spec.params["terms"])
    coefficients = np.linalg.lstsq(_metalog_basis(probs, k), values, rcond=None)[0]
    return _metalog_basis(np.atleast_1d(p), k) @ coefficients


def _metalog_cdf(spec: PriorSpec, x: float) -> float:
    from scipy import optimize

    target = math.log10(x) if spec.log10 else x
    if spec.log10 and x <= 0:
        return 0.0

    def excess(log_odds: float) -> float:
        return float(_metalog(spec, np.array([1.0 / (1.0 + math.exp(-log_odds))]))[0]) - target

    if excess(-35.0) >= 0:
        return 0.0
    if excess(35.0) <= 0:
        return 1.0
    return 1.0 / (1.0 + math.exp(-optimize.brentq(excess, -35.0, 35.0, xtol=1e-13)))


def _cdf(spec: PriorSpec, x: float) -> float:
    """CDF of an untruncated prior at ``x`` [written units] (not for mixture or lookup)."""
    if x == -math.inf:
        return 0.0
    if x == math.inf:
        return 1.0
    if spec.dist in _SCIPY_FAMILIES:
        if spec.dist == "log_student_t":
            return float(_frozen(spec).cdf(math.log(x))) if x > 0 else 0.0
        return float(_frozen(spec).cdf(x))
    if spec.dist == "metalog":
        return _metalog_cdf(spec, x)
    q = spec.params
    if spec.dist == "normal":
        return float(special.ndtr((x - q["mean"]) / q["sd"]))
    if spec.dist == "lognormal":
        return float(special.ndtr((math.log(x) - q["mu"]) / q["sigma"])) if x > 0 else 0.0
    if spec.dist == "uniform":
        return float(np.clip((x - q["low"]) / (q["high"] - q["low"]), 0.0, 1.0))
    if spec.dist == "loguniform":
        if x <= 0:
            return 0.0
        return float(np.clip(math.log(x / q["low"]) / math.log(q["high"] / q["low"]), 0.0, 1.0))
    if spec.dist == "percentiles":
        probs = np.array([pr for pr, _ in spec.points])
        values = np.array([v for _, v in spec.points])
        if spec.log10:
            if x <= 0:
                return 0.0
            x = math.log10(x)
        if x < values[0]:
            return 0.0
        if x >= values[-1]:
            return 1.0
        return float(np.interp(x, values, probs))
    if spec.dist == "fixed":
        return float(x >= spec.params["value"])
    raise ValueError(f"no CDF for a {spec.dist} prior")


def _inverse_cdf(spec: PriorSpec, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of an untruncated parametric or percentile prior [written units]."""
    if spec.dist in _SCIPY_FAMILIES + ("metalog",):
        return _inverse_cdf_tails(spec, u, 1.0 - u)
    q = spec.params
    if spec.dist in ("normal", "lognormal"):
        z = special.ndtri(np.clip(u, _U_EDGE, 1.0 - 2.0**-53))
        return q["mean"] + q["sd"] * z if spec.dist == "normal" else np.exp(q["mu"] + q["sigma"] * z)
    if spec.dist == "uniform":
        return q["low"] + (q["high"] - q["low"]) * u
    if spec.dist == "loguniform":
        return np.exp(math.log(q["low"]) + math.log(q["high"] / q["low"]) * u)
    if spec.dist == "percentiles":
        probs = [pr for pr, _ in spec.points]
        values = [v for _, v in spec.points]
        v = np.interp(u, probs, values)  # clamped to the end values outside the table
        return 10.0**v if spec.log10 else v
    if spec.dist == "fixed":
        return np.full_like(u, spec.params["value"])
    raise ValueError(f"no inverse CDF for a {spec.dist} prior")


def _tails(spec: PriorSpec, x: float) -> tuple[float, float]:
    """``(F(x), 1 - F(x))`` of a scipy.stats family (each from scipy, accurate in its tail) or a metalog."""
    if x == -math.inf:
        return 0.0, 1.0
    if x == math.inf:
        return 1.0, 0.0
    if spec.dist == "metalog":
        f = _metalog_cdf(spec, x)
        return f, 1.0 - f
    if spec.dist == "log_student_t":
        if x <= 0:
            return 0.0, 1.0
        x = math.log(x)
    frozen = _frozen(spec)
    return float(frozen.cdf(x)), float(frozen.sf(x))


def _inverse_cdf_tails(spec: PriorSpec, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Inverse CDF of a scipy.stats family or a metalog at ``p`` (``q = 1 - p``): ppf(p) to the median, then isf(q)."""
    p, q = np.atleast_1d(np.asarray(p, dtype=float)), np.atleast_1d(np.asarray(q, dtype=float))
    if spec.dist == "metalog":
        v = _metalog(spec, np.clip(np.where(p <= 0.5, p, 1.0 - q), _U_EDGE, 1.0 - 2.0**-53))
        return 10.0**v if spec.log10 else v
    frozen = _frozen(spec)
    v = np.where(p <= 0.5, frozen.ppf(np.minimum(p, 0.5)), frozen.isf(np.minimum(q, 0.5)))
    return np.exp(v) if spec.dist == "log_student_t" else v


def _truncated(spec: PriorSpec, z: np.ndarray) -> np.ndarray:
    """Values of a (possibly truncated) non-mixture prior driven by standard normals ``z``."""
    truncated = math.isfinite(spec.lower) or math.isfinite(spec.upper)
    if spec.dist in _SCIPY_FAMILIES + ("metalog",):
        f_low, s_low = _tails(spec, spec.lower)
        f_high, s_high = _tails(spec, spec.upper)
        mass = s_low - s_high if s_low < 0.5 else f_high - f_low
        return _inverse_cdf_tails(spec, f_low + mass * special.ndtr(z), s_high + mass * special.ndtr(-z))
    q = spec.params
    if not truncated and spec.dist == "normal":
        return q["mean"] + q["sd"] * z
    if not truncated and spec.dist == "lognormal":
        return np.exp(q["mu"] + q["sigma"] * z)
    u_low, u_high = _cdf(spec, spec.lower), _cdf(spec, spec.upper)
    return _inverse_cdf(spec, u_low + (u_high - u_low) * special.ndtr(z))


def _mixture(spec: PriorSpec, z: np.ndarray) -> np.ndarray:
    """Sample a mixture from one normal per draw: ``u`` picks the component and its quantile.

    Each component is truncated to the mixture's bounds and its weight is scaled by the
    mass left inside them. Returns canonical units: a component written with its own
    ``unit`` uses it, the others the mixture's.
    """
    components = [replace(c, lower=max(c.lower, spec.lower), upper=min(c.upper, spec.upper)) for c in spec.components]
    mass = np.array([_cdf(c, c.upper) - _cdf(c, c.lower) for c in components])
    weights = np.asarray(spec.weights) * mass
    edges = np.concatenate([[0.0], np.cumsum(weights / weights.sum())])
    edges[-1] = 1.0
    u = special.ndtr(z)
    which = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, len(components) - 1)
    out = np.empty_like(u)
    for k, component in enumerate(components):
        mask = which == k
        u_in = (u[mask] - edges[k]) / (edges[k + 1] - edges[k])
        lo, hi = _cdf(component, component.lower), _cdf(component, component.upper)
        scale = component.scale if isinstance(component.written, dict) and "unit" in component.written else spec.scale
        out[mask] = _inverse_cdf(component, lo + (hi - lo) * u_in) * scale
    return out


def _lookup(spec: PriorSpec, source: np.ndarray) -> np.ndarray:
    """Values of a lookup prior from its source's values [written units]."""
    key = np.log10(source) if spec.log10 else source
    xs = np.array([x for x, _ in spec.points])
    ys = np.array([y for _, y in spec.points])
    if spec.interpolation == "step":
        return ys[np.clip(np.searchsorted(xs, key, side="right") - 1, 0, len(xs) - 1)]
    return np.interp(key, xs, ys)


def numpy_params_from_normals(
    scenario: Scenario, z: dict[str, np.ndarray], n_draws: int | None = None
) -> dict[str, np.ndarray]:
    """Every prior's values given the copula's (correlated) standard normal of each sampled prior.

    Parameters
    ----------
    scenario : Scenario
    z : dict of str to ndarray
        The normal that drives each sampled prior (every prior but fixed and lookup
        ones), by name, each of shape (n_draws,).
    n_draws : int, optional
        Number of draws; needed only when no prior is sampled.

    Returns
    -------
    dict of str to ndarray
        Every prior by name, shape (n_draws,), in canonical units [year, USD, FLOP].
    """
    priors = scenario.all_priors()
    if n_draws is None:
        n_draws = len(next(iter(z.values()))) if z else 1
    out: dict[str, np.ndarray] = {}
    for name, spec in priors.items():
        if spec.dist == "mixture":
            out[name] = _mixture(spec, np.asarray(z[name], dtype=float))
        elif spec.dist == "fixed":
            out[name] = np.full(n_draws, spec.params["value"] * spec.scale)
        elif spec.dist != "lookup":
            out[name] = _truncated(spec, np.asarray(z[name], dtype=float)) * spec.scale

    def resolve(name: str) -> np.ndarray:
        if name not in out:
            spec = priors[name]
            out[name] = _lookup(spec, resolve(spec.of)) * spec.scale
        return out[name]

    for name in priors:
        resolve(name)
    return {name: out[name] for name in priors}


def numpy_sample_params(scenario: Scenario, n_draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sample every prior of a scenario with vectorized numpy.

    One standard normal per draw drives each sampled prior. Correlated priors share a
    Gaussian copula: Spearman ``rho`` becomes ``r = 2 sin(pi rho / 6)`` on the normals.
    Truncation maps ``u = Phi(z)`` into ``[F(lower), F(upper)]`` before the inverse CDF.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Number of draws.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict of str to ndarray
        Every prior (fixed and lookup ones included) by name, shape (n_draws,),
        in canonical units [year, USD, FLOP].
    """
    priors = scenario.all_priors()
    sampled = [name for name, spec in priors.items() if spec.dist not in ("fixed", "lookup")]
    z = rng.standard_normal((n_draws, len(sampled)))
    if scenario.correlations:
        column = {name: i for i, name in enumerate(sampled)}
        matrix = np.eye(len(sampled))
        for a, b, rho in scenario.correlations:
            matrix[column[a], column[b]] = matrix[column[b], column[a]] = 2.0 * math.sin(math.pi * rho / 6.0)
        z = z @ np.linalg.cholesky(matrix).T
    return numpy_params_from_normals(scenario, {name: z[:, i] for i, name in enumerate(sampled)}, n_draws)


# --------------------------------------------------------------------------- #
# A whole run                                                                  #
# --------------------------------------------------------------------------- #


@dataclass
class NumpyRun:
    """Per-year quantiles of a plain-numpy run, with where its time went.

    Attributes
    ----------
    years : ndarray
        The grid [year].
    quantiles : dict of str to ndarray
        Per variable, shape (len(QUANTILES), n_years), of the log10 values.
    seconds : dict of str to float
        Wall time of ``sample``, ``trajectories``, ``quantiles`` and ``total`` [s].
    """

    years: np.ndarray
    quantiles: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)


def numpy_run(scenario: Scenario, n_draws: int, seed: int = 0) -> NumpyRun:
    """Sample a scenario, propagate it and take per-year quantiles, all in plain numpy.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Number of draws.
    seed : int, optional
        Seed of the ``numpy.random.default_rng`` generator.

    Returns
    -------
    NumpyRun
    """
    t0 = time.perf_counter()
    params = numpy_sample_params(scenario, n_draws, np.random.default_rng(seed))
    t1 = time.perf_counter()
    years = year_grid(scenario)
    trajectories = numpy_trajectories(scenario, params, years)
    t2 = time.perf_counter()
    q = np.asarray(QUANTILES)
    quantiles = {name: np.quantile(values, q, axis=0) for name, values in trajectories.items()}
    t3 = time.perf_counter()
    seconds = {"sample": t1 - t0, "trajectories": t2 - t1, "quantiles": t3 - t2, "total": t3 - t0}
    return NumpyRun(years=years, quantiles=quantiles, seconds=seconds)
