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
    "stream_chunk",
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
def _ceiling(value: float, ceiling: float, power: float, mode: int) -> float:
    """Apply a hard (min) or soft (x c / (x + c)) ceiling in log10 space.

    ``power`` is ``10^(value - ceiling)``, which the caller keeps up to date.
    """
    if mode == CEILING_HARD:
        return min(value, ceiling)
    if mode == CEILING_SOFT:
        # log10(x c / (x + c)) = value - log10(1 + power), accurate to ~1e-15 absolute for
        # any power; past 1e300 (overflow ahead) it is the ceiling to the last bit.
        if power < 1e300:
            return value - _log10(1.0 + power)
        return ceiling
    return value


@_jit
def _log10(x: float) -> float:
    """Return log10(x); ``log(x) / ln 10`` is twice as fast as libm's log10 and as accurate for our use."""
    return math.log(x) * _LOG10_E


@_jit
def _log10_rate(kind: int, parameter: float, log10_parameter: float) -> float:
    """Growth rate [log10 per year] from a doubling time [year] or a factor per year."""
    if kind == RATE_DOUBLING_TIME:
        return _LOG10_2 / parameter
    if kind == RATE_GROWTH_PER_YEAR:
        return log10_parameter
    return 0.0


@_jit
def _trajectory(
    i: int,
    params: np.ndarray,
    plan,
    log_params: np.ndarray,
    values: np.ndarray,
    rates: np.ndarray,
    ratios: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write draw ``i``'s log10 trajectory of every variable into ``out[variable, year]``.

    Fills ``log_params[row]`` with log10 of ``params[row, i]``; ``values``, ``rates``
    and ``ratios`` are scratch.
    """
    value_row, value_sign = plan.value_row, plan.value_sign
    rate_row, rate_kind, interval_regime = plan.rate_row, plan.rate_kind, plan.interval_regime
    step = plan.step
    cap_mode, hardware_mode, algorithms_mode = plan.cap_mode, plan.hardware_mode, plan.algorithms_mode
    for row in range(params.shape[0]):
        log_params[row] = _log10(params[row, i])
    n_regimes = rate_row.shape[1]
    for slot in range(N_VALUES):
        row = value_row[slot]
        values[slot] = value_sign[slot] * log_params[row] if row >= 0 else 0.0
    for q in range(4):
        for r in range(n_regimes):
            row = rate_row[q, r]
            rates[q, r] = _log10_rate(rate_kind[q, r], params[row, i], log_params[row]) if row >= 0 else 0.0
    cap0 = values[VALUE_CAP] + values[VALUE_CAP_SCALE]
    # Soft ceilings need 10^(x - ceiling) each year. Within a regime both sides grow
    # log-linearly, so it is updated by one multiplication per year instead of a power.
    power_spend = power_hw = power_algo = 0.0
    if cap_mode == CEILING_SOFT:
        power_spend = math.exp(_LN10 * (values[VALUE_SPEND] - cap0))
        for r in range(n_regimes):
            ratios[0, r] = math.exp(_LN10 * (rates[GROWTH_SPEND, r] - rates[GROWTH_CAP, r]) * step)
    if hardware_mode == CEILING_SOFT:
        power_hw = math.exp(_LN10 * (values[VALUE_FLOP_PER_USD] - values[VALUE_MAX_FLOP_PER_USD]))
        for r in range(n_regimes):
            ratios[1, r] = math.exp(_LN10 * rates[GROWTH_HARDWARE, r] * step)
    if algorithms_mode == CEILING_SOFT:
        power_algo = math.exp(-_LN10 * values[VALUE_MAX_GAIN])
        for r in range(n_regimes):
            ratios[2, r] = math.exp(_LN10 * rates[GROWTH_ALGORITHMS, r] * step)
    e_spend = 0.0
    e_cap = 0.0
    e_hw = 0.0
    e_algo = 0.0
    for k in range(out.shape[1]):
        if k > 0:
            r = interval_regime[k - 1]
            e_spend += rates[GROWTH_SPEND, r] * step
            e_cap += rates[GROWTH_CAP, r] * step
            e_hw += rates[GROWTH_HARDWARE, r] * step
            e_algo += rates[GROWTH_ALGORITHMS, r] * step
            if cap_mode == CEILING_SOFT:
                power_spend *= ratios[0, r]
            if hardware_mode == CEILING_SOFT:
                power_hw *= ratios[1, r]
            if algorithms_mode == CEILING_SOFT:
                power_algo *= ratios[2, r]
        cap = cap0 + e_cap
        spend = _ceiling(values[VALUE_SPEND] + e_spend, cap, power_spend, cap_mode)
        flop_per_usd = _ceiling(
            values[VALUE_FLOP_PER_USD] + e_hw, values[VALUE_MAX_FLOP_PER_USD], power_hw, hardware_mode
        )
        algo = _ceiling(e_algo, values[VALUE_MAX_GAIN], power_algo, algorithms_mode)
        physical = spend + flop_per_usd + values[VALUE_UTILIZATION]
        out[SPEND, k] = spend
        out[CAP, k] = cap
        out[FLOP_PER_USD, k] = flop_per_usd
        out[ALGO_MULTIPLIER, k] = algo
        out[PHYSICAL_FLOP, k] = physical
        out[EFFECTIVE_FLOP, k] = physical + algo


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
    variable_slot = plan.variable_slot
    n_years = trajectories_out.shape[2]
    values = np.empty(N_VALUES)
    rates = np.empty((4, plan.rate_row.shape[1]))
    ratios = np.empty((3, plan.rate_row.shape[1]))
    point = np.empty((N_VARIABLES, n_years))
    log_params = np.empty(params.shape[0])
    for i in range(params.shape[1]):
        _trajectory(i, params, plan, log_params, values, rates, ratios, point)
        for v in range(N_VARIABLES):
            slot = variable_slot[v]
            if slot >= 0:
                for k in range(n_years):
                    trajectories_out[slot, i, k] = point[v, k]


@_jit
def _bin(value: float, low: float, inverse_width: float, n_bins: int) -> int:
    """Histogram bin of ``value``: 0 is underflow, ``n_bins + 1`` overflow."""
    position = (value - low) * inverse_width
    if position < 0.0:
        return 0
    if position >= n_bins:
        return n_bins + 1
    return int(position) + 1


@_jit
def stream_chunk(rng, prior, plan, stream, counts, moments: np.ndarray, params: np.ndarray) -> None:
    """Sample one chunk and add it to streaming accumulators; nothing per draw is kept.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's own generator.
    prior : PriorTable
        Encoded priors.
    plan : ModelPlan
        Encoded model.
    stream : StreamPlan
        Bins and thresholds (:func:`mcscale.engine.build_stream_plan`).
    counts : StreamCounts
        Integer accumulators this chunk adds to (exact, so any order of chunks merges
        to the same bits).
    moments : ndarray, shape (n_kept, n_years, 2)
        Receives this chunk's sum and sum of squares of the log10 values.
    params : ndarray, shape (n_params, chunk_length)
        Scratch for the chunk's parameter draws.
    """
    draw_parameters(rng, prior, params)
    variable_slot = plan.variable_slot
    n_years = stream.years.shape[0]
    n_bins = stream.n_bins
    inverse_width = 1.0 / stream.bin_width
    variable_low, parameter_low = stream.variable_low, stream.parameter_low
    histogram, parameter_histogram = counts.histogram, counts.parameter_histogram
    threshold_variable, threshold_sign = stream.threshold_variable, stream.threshold_sign
    threshold_log10, threshold_row = stream.threshold_log10, stream.threshold_row
    exceed_in, exceed_by, crossing = counts.exceed_in, counts.exceed_by, counts.crossing
    years = stream.years
    crossing_start, crossing_inverse_width = years[0], 1.0 / stream.crossing_width
    n_crossing = stream.n_crossing_bins
    cost_year, cost_log10, cost_row, cost_low = stream.cost_year, stream.cost_log10, stream.cost_row, stream.cost_low
    cost_histogram = counts.cost_histogram
    utilization_row = plan.value_row[VALUE_UTILIZATION]
    values = np.empty(N_VALUES)
    rates = np.empty((4, plan.rate_row.shape[1]))
    ratios = np.empty((3, plan.rate_row.shape[1]))
    point = np.empty((N_VARIABLES, n_years))
    log_params = np.empty(params.shape[0])
    sums = np.zeros((moments.shape[0], n_years))
    sums_of_squares = np.zeros((moments.shape[0], n_years))
    for i in range(params.shape[1]):
        _trajectory(i, params, plan, log_params, values, rates, ratios, point)
        for v in range(N_VARIABLES):
            slot = variable_slot[v]
            if slot < 0:
                continue
            low = variable_low[slot]
            for k in range(n_years):
                histogram[slot, k, _bin(point[v, k], low, inverse_width, n_bins)] += 1
            # separate, contiguous loops over years, which the compiler can vectorize
            row, total, squares = point[v], sums[slot], sums_of_squares[slot]
            for k in range(n_years):
                total[k] += row[k]
                squares[k] += row[k] * row[k]
        for row in range(params.shape[0]):
            parameter_histogram[row, _bin(log_params[row], parameter_low[row], inverse_width, n_bins)] += 1
        for t in range(threshold_variable.shape[0]):
            v = threshold_variable[t]
            sign = threshold_sign[t]
            limit = threshold_log10[t]
            if threshold_row[t] >= 0:
                limit += log_params[threshold_row[t]]
            limit *= sign
            reached = False
            for k in range(n_years):
                value = sign * point[v, k]
                if value >= limit:
                    exceed_in[t, k] += 1
                    if not reached:
                        reached = True
                        if k == 0:
                            year = years[0]
                        else:
                            before = sign * point[v, k - 1]
                            year = years[k - 1] + (limit - before) / (value - before) * (years[k] - years[k - 1])
                        b = int((year - crossing_start) * crossing_inverse_width)
                        crossing[t, min(max(b, 0), n_crossing - 1)] += 1
                if reached:
                    exceed_by[t, k] += 1
            if not reached:
                crossing[t, n_crossing] += 1
        for c in range(cost_year.shape[0]):
            k = cost_year[c]
            limit = cost_log10[c]
            if cost_row[c] >= 0:
                limit += log_params[cost_row[c]]
            physical = limit - point[FLOP_PER_USD, k] - log_params[utilization_row]
            cost_histogram[c, 0, _bin(physical, cost_low[c, 0], inverse_width, n_bins)] += 1
            effective = physical - point[ALGO_MULTIPLIER, k]
            cost_histogram[c, 1, _bin(effective, cost_low[c, 1], inverse_width, n_bins)] += 1
    moments[:, :, 0] += sums
    moments[:, :, 1] += sums_of_squares


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
