"""Numba kernels on plain arrays; the only module that imports numba.

One call of :func:`simulate_chunk` samples every prior of a chunk of draws and
propagates each draw's trajectory along the year grid, in log10 space, in one
pass with no per-parameter temporaries. The chunk's random numbers come from the
numpy ``Generator`` it is handed (numba consumes it natively, bit for bit the same
stream as numpy), so a chunk's output depends only on its seed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "CAP",
    "FLOP_PER_USD",
    "GROWTH_ALGORITHMS",
    "GROWTH_CAP",
    "GROWTH_HARDWARE",
    "GROWTH_SPEND",
    "N_VALUES",
    "N_VARIABLES",
    "RATE_DOUBLING_TIME",
    "RATE_GROWTH_PER_YEAR",
    "RATE_NONE",
    "VALUE_CAP",
    "VALUE_CAP_SCALE",
    "VALUE_FLOP_PER_USD",
    "VALUE_MAX_FLOP_PER_USD",
    "VALUE_MAX_GAIN",
    "VALUE_SPEND",
    "VALUE_UTILIZATION",
    "ndtr",
    "draw_parameters",
    "ndtri",
    "propagate",
    "sample_normals",
    "simulate_chunk",
]

# Value slots of the model plan (log10 of a sampled parameter, or absent).
VALUE_SPEND = 0
VALUE_CAP = 1
VALUE_CAP_SCALE = 2  # GDP, when the cap is a fraction of GDP
VALUE_FLOP_PER_USD = 3
VALUE_MAX_FLOP_PER_USD = 4
VALUE_UTILIZATION = 5
VALUE_MAX_GAIN = 6
N_VALUES = 7

# Growing quantities, and how a regime gives each one's rate.
GROWTH_SPEND = 0
GROWTH_CAP = 1
GROWTH_HARDWARE = 2
GROWTH_ALGORITHMS = 3
RATE_NONE = 0
RATE_DOUBLING_TIME = 1
RATE_GROWTH_PER_YEAR = 2

# Trajectory variables, in output order (log10 values).
SPEND = 0
CAP = 1
FLOP_PER_USD = 2
PHYSICAL_FLOP = 3
ALGO_MULTIPLIER = 4
EFFECTIVE_FLOP = 5
N_VARIABLES = 6

# Ceiling modes.
CEILING_NONE = 0
CEILING_HARD = 1
CEILING_SOFT = 2

_FIXED, _NORMAL, _LOGNORMAL, _UNIFORM, _LOGUNIFORM, _PERCENTILES, _MIXTURE, _LOOKUP = range(8)
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_LOG10_2 = math.log10(2.0)
_LOG10_E = math.log10(math.e)
_LN10 = math.log(10.0)
_U_MIN = 1e-300
_U_MAX = 1.0 - 2.0**-53

_jit = numba.njit(nogil=True, cache=True)


@_jit
def ndtr(z: float) -> float:
    """Return the standard normal CDF at ``z``."""
    return 0.5 * math.erfc(-z / _SQRT2)


@_jit
def _ndtri_lower(p: float) -> float:
    """Inverse normal CDF for ``0 < p <= 0.5`` (Acklam, then one Halley step)."""
    if p > 0.02425:
        q = p - 0.5
        r = q * q
        x = (
            (
                (
                    (
                        ((-3.969683028665376e01 * r + 2.209460984245205e02) * r - 2.759285104469687e02) * r
                        + 1.383577518672690e02
                    )
                    * r
                    - 3.066479806614716e01
                )
                * r
                + 2.506628277459239e00
            )
            * q
        ) / (
            (
                (
                    ((-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02) * r
                    + 6.680131188771972e01
                )
                * r
                - 1.328068155288572e01
            )
            * r
            + 1.0
        )
    else:
        q = math.sqrt(-2.0 * math.log(p))
        x = (
            (
                (
                    ((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e00) * q
                    - 2.549732539343734e00
                )
                * q
                + 4.374664141464968e00
            )
            * q
            + 2.938163982698783e00
        ) / (
            (
                ((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e00) * q
                + 3.754408661907416e00
            )
            * q
            + 1.0
        )
    # Halley refinement on the lower tail, where erfc keeps full relative precision.
    e = ndtr(x) - p
    u = e * _SQRT2PI * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@_jit
def ndtri(p: float) -> float:
    """Inverse standard normal CDF, for ``0 < p < 1``."""
    if p > 0.5:
        return -_ndtri_lower(1.0 - p)  # 1 - p is exact for p >= 0.5
    return _ndtri_lower(p)


@_jit
def _interp_clamped(x: float, xs: np.ndarray, ys: np.ndarray, start: int, length: int) -> float:
    """Piecewise-linear interpolation through ``length`` points, clamped at both ends."""
    if x <= xs[start]:
        return ys[start]
    last = start + length - 1
    if x >= xs[last]:
        return ys[last]
    i = start
    while xs[i + 1] < x:
        i += 1
    w = (x - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i] + w * (ys[i + 1] - ys[i])


@_jit
def _parametric(kind: int, a: float, b: float, u: float) -> float:
    """Inverse CDF of a parametric prior at ``u`` [written units]."""
    if kind == _NORMAL:
        return a + b * ndtri(u)
    if kind == _LOGNORMAL:
        return math.exp(a + b * ndtri(u))
    if kind == _UNIFORM:
        return a + (b - a) * u
    if kind == _LOGUNIFORM:
        return math.exp(a + (b - a) * u)
    return a


@_jit
def _from_uniform(
    row: int,
    u: float,
    kind: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    u_low: np.ndarray,
    u_high: np.ndarray,
    scale: np.ndarray,
    table_x: np.ndarray,
    table_y: np.ndarray,
    table_start: np.ndarray,
    table_len: np.ndarray,
    log10: np.ndarray,
) -> float:
    """Value of a non-mixture, non-lookup row at probability ``u`` [canonical units]."""
    u = u_low[row] + u * (u_high[row] - u_low[row])
    u = min(max(u, _U_MIN), _U_MAX)
    if kind[row] == _PERCENTILES:
        v = _interp_clamped(u, table_x, table_y, table_start[row], table_len[row])
        if log10[row]:
            v = 10.0**v
    else:
        v = _parametric(kind[row], a[row], b[row], u)
    return v * scale[row]


@_jit
def draw_parameters(rng, prior, out: np.ndarray) -> None:
    """Fill ``out[row, i]`` with draw ``i`` of every primary prior row.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator; one standard normal per sampled row and draw.
    prior : PriorTable
        Encoded priors.
    out : ndarray, shape (n_params, n_draws)
        Receives the draws [canonical units].
    """
    # Unpack once: passing the whole tuple to a helper per draw costs a reference
    # count per array, which was 100x the arithmetic.
    kind, a, b = prior.kind, prior.a, prior.b
    u_low, u_high, scale = prior.u_low, prior.u_high, prior.scale
    table_x, table_y = prior.table_x, prior.table_y
    table_start, table_len = prior.table_start, prior.table_len
    log10, step, source = prior.log10, prior.step, prior.source
    truncated, normal_index = prior.truncated, prior.normal_index
    chol = prior.cholesky
    correlated = prior.correlated
    n_normals = chol.shape[0]
    n_params = prior.n_params
    z_raw = np.empty(n_normals)
    z = np.empty(n_normals)
    for i in range(out.shape[1]):
        for j in range(n_normals):
            z_raw[j] = rng.standard_normal()
        if correlated:
            for r in range(n_normals):
                acc = 0.0
                for j in range(r + 1):
                    acc += chol[r, j] * z_raw[j]
                z[r] = acc
        else:
            z[:] = z_raw
        for row in range(n_params):
            k = kind[row]
            if k == _FIXED:
                v = a[row] * scale[row]
            elif k == _LOOKUP:
                key = out[source[row], i]
                if log10[row]:
                    key = math.log10(key)
                start = table_start[row]
                if step[row]:
                    m = start
                    while m < start + table_len[row] - 1 and table_x[m + 1] <= key:
                        m += 1
                    v = table_y[m]
                else:
                    v = _interp_clamped(key, table_x, table_y, start, table_len[row])
                v *= scale[row]
            elif not truncated[row] and k == _NORMAL:
                v = (a[row] + b[row] * z[normal_index[row]]) * scale[row]
            elif not truncated[row] and k == _LOGNORMAL:
                v = math.exp(a[row] + b[row] * z[normal_index[row]]) * scale[row]
            else:
                u = ndtr(z[normal_index[row]])
                target = row
                if k == _MIXTURE:
                    start = table_start[row]
                    m = start
                    while m < start + table_len[row] - 1 and u >= table_x[m]:
                        m += 1
                    below = table_x[m - 1] if m > start else 0.0
                    u = (u - below) / (table_x[m] - below)
                    target = int(table_y[m])
                v = _from_uniform(
                    target,
                    u,
                    kind,
                    a,
                    b,
                    u_low,
                    u_high,
                    scale,
                    table_x,
                    table_y,
                    table_start,
                    table_len,
                    log10,
                )
            out[row, i] = v


@_jit
def _ceiling(value: float, ceiling: float, mode: int) -> float:
    """Apply a hard (min) or soft (x c / (x + c)) ceiling in log10 space."""
    if mode == CEILING_HARD:
        return min(value, ceiling)
    if mode == CEILING_SOFT:
        hi = max(value, ceiling)
        lo = min(value, ceiling)
        if lo - hi < -20.0:  # log1p(1e-20) is below one ulp of any result
            return lo
        return lo - _LOG10_E * math.log1p(math.exp(_LN10 * (lo - hi)))
    return value


@_jit
def _log10_rate(kind: int, parameter: float) -> float:
    """Growth rate [log10 per year] from a doubling time [year] or a factor per year."""
    if kind == RATE_DOUBLING_TIME:
        return _LOG10_2 / parameter
    if kind == RATE_GROWTH_PER_YEAR:
        return math.log10(parameter)
    return 0.0


@_jit
def propagate(params: np.ndarray, plan, trajectories_out: np.ndarray) -> None:
    """Propagate each draw's trajectory along the year grid, in log10 space.

    Parameters
    ----------
    params : ndarray, shape (n_params, n_draws)
        Draws of every prior row (:func:`draw_parameters`) [canonical units].
    plan : ModelPlan
        Encoded model (:func:`mcscale.engine.build_model_plan`).
    trajectories_out : ndarray, shape (n_kept, n_draws, n_years)
        Receives log10 trajectories; ``plan.variable_slot[v]`` says where
        variable ``v`` goes (-1: not kept).
    """
    value_row, value_sign = plan.value_row, plan.value_sign
    rate_row, rate_kind = plan.rate_row, plan.rate_kind
    interval_regime, variable_slot = plan.interval_regime, plan.variable_slot
    cap_mode, hardware_mode, algorithms_mode = plan.cap_mode, plan.hardware_mode, plan.algorithms_mode
    step = plan.step
    n_regimes = rate_row.shape[1]
    n_years = trajectories_out.shape[2]
    values = np.empty(N_VALUES)
    rates = np.empty((4, n_regimes))
    point = np.empty(N_VARIABLES)
    for i in range(params.shape[1]):
        for slot in range(N_VALUES):
            row = value_row[slot]
            values[slot] = value_sign[slot] * math.log10(params[row, i]) if row >= 0 else 0.0
        for q in range(4):
            for r in range(n_regimes):
                row = rate_row[q, r]
                rates[q, r] = _log10_rate(rate_kind[q, r], params[row, i]) if row >= 0 else 0.0
        cap0 = values[VALUE_CAP] + values[VALUE_CAP_SCALE]
        e_spend = 0.0
        e_cap = 0.0
        e_hw = 0.0
        e_algo = 0.0
        for k in range(n_years):
            if k > 0:
                r = interval_regime[k - 1]
                e_spend += rates[GROWTH_SPEND, r] * step
                e_cap += rates[GROWTH_CAP, r] * step
                e_hw += rates[GROWTH_HARDWARE, r] * step
                e_algo += rates[GROWTH_ALGORITHMS, r] * step
            point[CAP] = cap0 + e_cap
            point[SPEND] = _ceiling(values[VALUE_SPEND] + e_spend, point[CAP], cap_mode)
            point[FLOP_PER_USD] = _ceiling(
                values[VALUE_FLOP_PER_USD] + e_hw, values[VALUE_MAX_FLOP_PER_USD], hardware_mode
            )
            point[ALGO_MULTIPLIER] = _ceiling(e_algo, values[VALUE_MAX_GAIN], algorithms_mode)
            point[PHYSICAL_FLOP] = point[SPEND] + point[FLOP_PER_USD] + values[VALUE_UTILIZATION]
            point[EFFECTIVE_FLOP] = point[PHYSICAL_FLOP] + point[ALGO_MULTIPLIER]
            for v in range(N_VARIABLES):
                slot = variable_slot[v]
                if slot >= 0:
                    trajectories_out[slot, i, k] = point[v]


@_jit
def simulate_chunk(rng, prior, plan, params_out: np.ndarray, trajectories_out: np.ndarray) -> None:
    """Sample one chunk of draws and propagate their trajectories.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's own generator.
    prior : PriorTable
        Encoded priors (:func:`mcscale.priors.build_prior_table`).
    plan : ModelPlan
        Encoded model (:func:`mcscale.engine.build_model_plan`).
    params_out : ndarray, shape (n_params, n_draws)
        Receives every primary prior row's value per draw [canonical units].
    trajectories_out : ndarray, shape (n_kept, n_draws, n_years)
        Receives log10 trajectories.
    """
    draw_parameters(rng, prior, params_out)
    propagate(params_out, plan, trajectories_out)


@_jit
def sample_normals(rng, n_draws: int, n_normals: int) -> float:
    """Draw ``n_draws * n_normals`` standard normals and nothing else (the RNG speed limit).

    Returns their sum, so the work cannot be optimized away.
    """
    s = 0.0
    for _ in range(n_draws):
        for _ in range(n_normals):
            s += rng.standard_normal()
    return s
