"""Kernels that propagate trajectories along the year grid and count streaming accumulators (numba only).

Draws go through in blocks of :data:`~mcscale.sim.kernels.codes.BLOCK_SIZE`: every
step is a loop over the block's draws with no calls to libm and no branches, which
the compiler turns into 8-wide AVX-512 (or 4-wide AVX2) instructions. Each draw's
arithmetic is the same whatever its place in a block, so results do not depend on
the block size (a test shifts draws across block boundaries). Helpers take arrays,
not tuples of arrays, wherever they are called per block and year: handing numba a
tuple costs a reference count per member.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mcscale.sim.kernels.codes import (
    ALGO_MULTIPLIER,
    BLOCK_SIZE,
    CAP,
    CEILING_EXPONENTIAL,
    CEILING_HARD,
    CEILING_SOFT,
    EFFECTIVE_FLOP,
    FLOP_PER_USD,
    GROWTH_ALGORITHMS,
    GROWTH_CAP,
    GROWTH_HARDWARE,
    GROWTH_SPEND,
    N_VALUES,
    N_VARIABLES,
    PHYSICAL_FLOP,
    RATE_DOUBLING_TIME,
    RATE_NONE,
    RATE_OOM_PER_YEAR,
    RATE_PERCENT_PER_YEAR,
    SPEND,
    VALUE_CAP,
    VALUE_CAP_SCALE,
    VALUE_FLOP_PER_USD,
    VALUE_MAX_FLOP_PER_USD,
    VALUE_MAX_GAIN,
    VALUE_SPEND,
    VALUE_UTILIZATION,
)
from mcscale.sim.kernels.sampling import draw_parameters
from mcscale.sim.kernels.special import fast_log10, jit, ndtr, vectorizable_exp

__all__ = ["propagate", "stream_chunk", "stream_parameters", "target_margins", "weighted_sums"]

_LOG10_2 = math.log10(2.0)
_LN10 = math.log(10.0)


class _Block(NamedTuple):
    """Scratch of one block of draws (rows of length ``BLOCK_SIZE``)."""

    log_params: np.ndarray  # (n_params, B): log10 of each parameter draw
    values: np.ndarray  # (N_VALUES, B): log10 start values
    increments: np.ndarray  # (4, n_regimes, B): log10 growth per grid step
    ratios: np.ndarray  # (3, n_regimes, B): soft-ceiling power growth per step
    power: np.ndarray  # (3, B): 10^(value - ceiling) of each soft ceiling
    elapsed: np.ndarray  # (4, B): log10 growth so far
    rows: np.ndarray  # (2, N_VARIABLES, B): this and the previous year's log10 values


@jit
def _new_block(n_params: int, n_regimes: int) -> _Block:
    b = BLOCK_SIZE
    return _Block(
        np.empty((n_params, b)),
        np.empty((N_VALUES, b)),
        np.empty((4, n_regimes, b)),
        np.empty((3, n_regimes, b)),
        np.empty((3, b)),
        np.empty((4, b)),
        np.empty((2, N_VARIABLES, b)),
    )


@jit
def _start_block(params: np.ndarray, start: int, n: int, plan, block: _Block) -> None:
    """Set up draws ``start .. start + n`` of ``params`` for :func:`_advance_year`."""
    log_params, values, increments = block.log_params, block.values, block.increments
    ratios, power, elapsed = block.ratios, block.power, block.elapsed
    step = plan.step
    for row in range(params.shape[0]):
        source, target = params[row, start : start + n], log_params[row]
        for j in range(n):
            target[j] = fast_log10(source[j])
    for slot in range(N_VALUES):
        row, sign, target = plan.value_row[slot], plan.value_sign[slot], values[slot]
        if row >= 0 and plan.value_is_log10[slot]:  # given in OOM already (max_gain_oom)
            for j in range(n):
                target[j] = params[row, start + j]
        else:
            for j in range(n):
                target[j] = sign * log_params[row, j] if row >= 0 else 0.0
    for q in range(4):
        for r in range(plan.rate_row.shape[1]):
            row, kind, target = plan.rate_row[q, r], plan.rate_kind[q, r], increments[q, r]
            if row < 0 or kind == RATE_NONE:
                target[:n] = 0.0
            elif kind == RATE_DOUBLING_TIME:
                for j in range(n):
                    target[j] = _LOG10_2 / params[row, start + j] * step
            elif kind == RATE_OOM_PER_YEAR:
                for j in range(n):
                    target[j] = params[row, start + j] * step
            elif kind == RATE_PERCENT_PER_YEAR:
                for j in range(n):
                    target[j] = fast_log10(1.0 + 0.01 * params[row, start + j]) * step
            else:
                for j in range(n):
                    target[j] = log_params[row, j] * step
            scale_row = plan.rate_scale_row[q]
            if row >= 0 and kind != RATE_NONE and scale_row >= 0:  # algorithms.rate_multiplier
                for j in range(n):
                    target[j] *= params[scale_row, start + j]
    elapsed[:, :n] = 0.0
    # Soft and exponential ceilings need 10^(x - ceiling) each year. Within a regime both sides grow
    # log-linearly, so it is updated by one multiplication per year instead of a power.
    for j in range(n):
        cap0 = values[VALUE_CAP, j] + values[VALUE_CAP_SCALE, j]
        power[0, j] = vectorizable_exp(_LN10 * (values[VALUE_SPEND, j] - cap0))
        power[1, j] = vectorizable_exp(_LN10 * (values[VALUE_FLOP_PER_USD, j] - values[VALUE_MAX_FLOP_PER_USD, j]))
        power[2, j] = vectorizable_exp(-_LN10 * values[VALUE_MAX_GAIN, j])
    for r in range(increments.shape[1]):
        for j in range(n):
            spend_over_cap = increments[GROWTH_SPEND, r, j] - increments[GROWTH_CAP, r, j]
            ratios[0, r, j] = vectorizable_exp(_LN10 * spend_over_cap)
            ratios[1, r, j] = vectorizable_exp(_LN10 * increments[GROWTH_HARDWARE, r, j])
            ratios[2, r, j] = vectorizable_exp(_LN10 * increments[GROWTH_ALGORITHMS, r, j])


@jit
def _ceiling_row(raw: np.ndarray, ceiling: np.ndarray, power: np.ndarray, mode: int, out: np.ndarray, n: int) -> None:
    """Apply a hard (min), soft (x c / (x + c)) or exponential (c (1 - e^(-x/c))) ceiling to log10 values ``raw``.

    ``power`` is ``p = 10^(raw - ceiling)``; soft: ``log10(x c / (x + c)) = raw - log10(1 + p)``,
    accurate to ~1e-15 absolute for any power; exponential: ``raw + log10((1 - e^-p) / p)``,
    with a series below p = 1e-3 where ``1 - e^-p`` would cancel (within 1e-13 either
    way). Past p = 1e300 (overflow ahead) both are the ceiling to the last bit.
    """
    if mode == CEILING_HARD:
        for j in range(n):
            out[j] = min(raw[j], ceiling[j])
    elif mode == CEILING_SOFT:
        for j in range(n):
            soft = raw[j] - fast_log10(1.0 + power[j])
            out[j] = soft if power[j] < 1e300 else ceiling[j]
    elif mode == CEILING_EXPONENTIAL:
        for j in range(n):
            p = power[j]
            series = 1.0 - p * (0.5 - p * (1.0 / 6.0 - p * (1.0 / 24.0)))
            direct = (1.0 - vectorizable_exp(-p)) / max(p, 1e-3)
            limited = raw[j] + fast_log10(series if p < 1e-3 else direct)
            out[j] = limited if p < 1e300 else ceiling[j]
    else:
        out[:n] = raw[:n]


@jit
def _year_inputs(plan, block: _Block):
    """Return what :func:`_advance_year` reads besides ``k`` and ``n``, taken out of their tuples."""
    modes = (plan.cap_mode, plan.hardware_mode, plan.algorithms_mode)
    state = (block.values, block.increments, block.ratios, block.power, block.elapsed, block.rows)
    return modes, plan.interval_regime, state


@jit
def _advance_year(
    k: int,
    n: int,
    modes: tuple[int, int, int],
    interval_regime: np.ndarray,
    values: np.ndarray,
    increments: np.ndarray,
    ratios: np.ndarray,
    power: np.ndarray,
    elapsed: np.ndarray,
    rows_by_parity: np.ndarray,
) -> np.ndarray:
    """Compute year ``k`` of a block; return its log10 values, shape (N_VARIABLES, B).

    The arrays are a :class:`_Block`'s, passed one by one (a tuple member read per
    year costs a reference count); ``modes`` are the cap, hardware and algorithm
    ceiling modes. Years must be visited in order 0, 1, ...; the previous year's
    values stay in ``rows_by_parity[(k - 1) % 2]``.
    """
    out = rows_by_parity[k % 2]
    if k > 0:
        r = interval_regime[k - 1]
        for q in range(4):
            e, de = elapsed[q], increments[q, r]
            for j in range(n):
                e[j] += de[j]
        for m in range(3):
            if modes[m] == CEILING_SOFT or modes[m] == CEILING_EXPONENTIAL:
                p, ratio = power[m], ratios[m, r]
                for j in range(n):
                    p[j] *= ratio[j]
    # out rows double as scratch for the raw (unceilinged) values
    spend, cap, fpu = out[SPEND], out[CAP], out[FLOP_PER_USD]
    algo, physical, effective = out[ALGO_MULTIPLIER], out[PHYSICAL_FLOP], out[EFFECTIVE_FLOP]
    for j in range(n):
        cap[j] = (values[VALUE_CAP, j] + values[VALUE_CAP_SCALE, j]) + elapsed[GROWTH_CAP, j]
        physical[j] = values[VALUE_SPEND, j] + elapsed[GROWTH_SPEND, j]
        effective[j] = values[VALUE_FLOP_PER_USD, j] + elapsed[GROWTH_HARDWARE, j]
    _ceiling_row(physical, cap, power[0], modes[0], spend, n)
    _ceiling_row(effective, values[VALUE_MAX_FLOP_PER_USD], power[1], modes[1], fpu, n)
    _ceiling_row(elapsed[GROWTH_ALGORITHMS], values[VALUE_MAX_GAIN], power[2], modes[2], algo, n)
    for j in range(n):
        physical[j] = spend[j] + fpu[j] + values[VALUE_UTILIZATION, j]
        effective[j] = physical[j] + algo[j]
    return out


@jit
def propagate(params: np.ndarray, plan, trajectories_out: np.ndarray) -> None:
    """Propagate each draw's trajectory along the year grid, in log10 space.

    Parameters
    ----------
    params : ndarray, shape (n_params, n_draws)
        Draws of every prior row (:func:`draw_parameters`) [canonical units].
    plan : ModelPlan
        Encoded model (:func:`mcscale.sim.encode.build_model_plan`).
    trajectories_out : ndarray, shape (n_kept, n_draws, n_years)
        Receives log10 trajectories; ``plan.variable_slot[v]`` says where
        variable ``v`` goes (-1: not kept).
    """
    variable_slot = plan.variable_slot
    n_draws, n_years = params.shape[1], trajectories_out.shape[2]
    block = _new_block(params.shape[0], plan.rate_row.shape[1])
    modes, interval_regime, (values, increments, ratios, power, elapsed, rows_by_parity) = _year_inputs(plan, block)
    for start in range(0, n_draws, BLOCK_SIZE):
        n = min(BLOCK_SIZE, n_draws - start)
        _start_block(params, start, n, plan, block)
        for k in range(n_years):
            rows = _advance_year(
                k, n, modes, interval_regime, values, increments, ratios, power, elapsed, rows_by_parity
            )
            for v in range(N_VARIABLES):
                slot = variable_slot[v]
                if slot >= 0:
                    for j in range(n):
                        trajectories_out[slot, start + j, k] = rows[v, j]


@jit
def histogram_row(
    values: np.ndarray, n: int, low: float, inverse_width: float, n_bins: int, bins: np.ndarray, histogram: np.ndarray
) -> None:
    """Count ``values[:n]`` into ``histogram``: bin 0 is underflow, ``n_bins + 1`` overflow.

    ``bins`` is scratch; the bin indices are computed in a loop of their own, which vectorizes.
    -inf counts as underflow, inf as overflow, and NaN as underflow (the comparisons
    are written so that NaN can never become an index outside the histogram).
    """
    for j in range(n):
        position = (values[j] - low) * inverse_width
        position = position if position >= -1.0 else -1.0  # NaN fails the test
        position = position if position <= n_bins else float(n_bins)
        bins[j] = math.floor(position) + 1
    for j in range(n):
        histogram[bins[j]] += 1


@jit
def _add_moments(values: np.ndarray, n: int, sums: np.ndarray, squares: np.ndarray) -> None:
    """Add ``values[:n]`` and their squares into 8 lanes of partial sums.

    Draw ``j`` of a block always goes to lane ``j % 8``, and the lanes are added in a
    fixed order at the end, so the sum is the same bits on any thread. Eight scalar
    accumulators (not an array) let the compiler keep them in one vector register.
    """
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = 0.0
    full = n - n % 8
    for j in range(0, full, 8):
        x0, x1, x2, x3 = values[j], values[j + 1], values[j + 2], values[j + 3]
        x4, x5, x6, x7 = values[j + 4], values[j + 5], values[j + 6], values[j + 7]
        s0, s1, s2, s3, s4, s5, s6, s7 = s0 + x0, s1 + x1, s2 + x2, s3 + x3, s4 + x4, s5 + x5, s6 + x6, s7 + x7
        q0, q1, q2, q3 = q0 + x0 * x0, q1 + x1 * x1, q2 + x2 * x2, q3 + x3 * x3
        q4, q5, q6, q7 = q4 + x4 * x4, q5 + x5 * x5, q6 + x6 * x6, q7 + x7 * x7
    for lane, (s, q) in enumerate(((s0, q0), (s1, q1), (s2, q2), (s3, q3), (s4, q4), (s5, q5), (s6, q6), (s7, q7))):
        sums[lane] += s
        squares[lane] += q
    for j in range(full, n):
        sums[j - full] += values[j]
        squares[j - full] += values[j] * values[j]


@jit
def stream_chunk(rng, prior, plan, stream, counts, moments: np.ndarray, params: np.ndarray) -> None:
    """Sample one chunk with ``rng`` into ``params`` (scratch) and add it to the accumulators.

    ``rng`` is the chunk's own generator and ``prior`` the encoded priors; see
    :func:`stream_parameters` for the others.
    """
    draw_parameters(rng, prior, params)
    stream_parameters(plan, stream, counts, moments, params)


@jit
def stream_parameters(plan, stream, counts, moments: np.ndarray, params: np.ndarray) -> None:
    """Add one chunk of parameter draws to streaming accumulators; nothing per draw is kept.

    Only what the plan asks for is computed: years up to ``stream.n_steps``, and the
    variable and parameter histograms and moments only with ``stream.histograms``.

    Parameters
    ----------
    plan : ModelPlan
        Encoded model.
    stream : StreamPlan
        Bins and thresholds (:func:`mcscale.sim.accumulators.build_stream_plan`).
    counts : StreamCounts
        Integer accumulators this chunk adds to (exact, so any order of chunks merges
        to the same bits).
    moments : ndarray, shape (n_kept, n_years, 2)
        Receives this chunk's sum and sum of squares of the log10 values.
    params : ndarray, shape (n_params, chunk_length)
        The chunk's parameter draws [canonical units] (:func:`draw_parameters`, or
        :func:`~mcscale.sim.kernels.sampling.parameters_from_normals` at chosen normals).
    """
    variable_slot = plan.variable_slot
    n_draws, n_params = params.shape[1], params.shape[0]
    n_years, n_steps, histograms = stream.years.shape[0], stream.n_steps, stream.histograms
    n_bins = stream.n_bins
    inverse_width = 1.0 / stream.bin_width
    years = stream.years
    n_thresholds, n_costs = stream.threshold_variable.shape[0], stream.cost_year.shape[0]
    n_crossing = stream.n_crossing_bins
    utilization_row = plan.value_row[VALUE_UTILIZATION]
    # Tuple members are taken out once: reading one inside a loop costs a reference count.
    histogram, parameter_histogram, cost_histogram = counts.histogram, counts.parameter_histogram, counts.cost_histogram
    exceed_in, exceed_by, crossing = counts.exceed_in, counts.exceed_by, counts.crossing
    variable_low, parameter_low, cost_low = stream.variable_low, stream.parameter_low, stream.cost_low
    threshold_variable, threshold_sign = stream.threshold_variable, stream.threshold_sign
    threshold_log10, threshold_row = stream.threshold_log10, stream.threshold_row
    cost_year, cost_log10, cost_row = stream.cost_year, stream.cost_log10, stream.cost_row
    crossing_start, crossing_inverse_width = years[0], 1.0 / stream.crossing_width
    block = _new_block(n_params, plan.rate_row.shape[1])
    log_params = block.log_params
    modes, interval_regime, (values, increments, ratios, power, elapsed, rows_by_parity) = _year_inputs(plan, block)
    bins = np.empty(BLOCK_SIZE, dtype=np.int64)
    sums = np.zeros((moments.shape[0], n_years, 8))
    squares = np.zeros((moments.shape[0], n_years, 8))
    limits = np.empty((n_thresholds, BLOCK_SIZE))
    reached = np.empty((n_thresholds, BLOCK_SIZE), dtype=np.int64)
    crossing_year = np.empty((n_thresholds, BLOCK_SIZE))
    cost = np.empty(BLOCK_SIZE)
    for start in range(0, n_draws, BLOCK_SIZE):
        n = min(BLOCK_SIZE, n_draws - start)
        _start_block(params, start, n, plan, block)
        for row in range(n_params if histograms else 0):
            histogram_row(log_params[row], n, parameter_low[row], inverse_width, n_bins, bins, parameter_histogram[row])
        for t in range(n_thresholds):
            sign, level, row = threshold_sign[t], threshold_log10[t], threshold_row[t]
            for j in range(n):
                limits[t, j] = sign * (level + log_params[row, j] if row >= 0 else level)
            reached[t, :n] = 0
        for k in range(n_steps):
            rows = _advance_year(
                k, n, modes, interval_regime, values, increments, ratios, power, elapsed, rows_by_parity
            )
            for v in range(N_VARIABLES if histograms else 0):
                slot = variable_slot[v]
                if slot >= 0:
                    histogram_row(rows[v], n, variable_low[slot], inverse_width, n_bins, bins, histogram[slot, k])
                    _add_moments(rows[v], n, sums[slot, k], squares[slot, k])
            for t in range(n_thresholds):
                v = threshold_variable[t]
                hits, past = _count_threshold(
                    k,
                    n,
                    rows[v],
                    rows_by_parity[(k + 1) % 2, v],
                    threshold_sign[t],
                    years,
                    limits[t],
                    reached[t],
                    crossing_year[t],
                )
                exceed_in[t, k] += hits
                exceed_by[t, k] += past
            for c in range(n_costs):
                if cost_year[c] != k:
                    continue
                level, row = cost_log10[c], cost_row[c]
                for j in range(n):
                    limit = level + log_params[row, j] if row >= 0 else level
                    cost[j] = limit - rows[FLOP_PER_USD, j] - log_params[utilization_row, j]
                histogram_row(cost, n, cost_low[c, 0], inverse_width, n_bins, bins, cost_histogram[c, 0])
                for j in range(n):
                    cost[j] -= rows[ALGO_MULTIPLIER, j]
                histogram_row(cost, n, cost_low[c, 1], inverse_width, n_bins, bins, cost_histogram[c, 1])
        for t in range(n_thresholds):
            for j in range(n):
                if reached[t, j]:
                    b = int((crossing_year[t, j] - crossing_start) * crossing_inverse_width)
                    crossing[t, min(max(b, 0), n_crossing - 1)] += 1
                else:
                    crossing[t, n_crossing] += 1
    for slot in range(moments.shape[0]):
        for k in range(n_years):
            total = 0.0
            total_of_squares = 0.0
            for lane in range(8):
                total += sums[slot, k, lane]
                total_of_squares += squares[slot, k, lane]
            moments[slot, k, 0] += total
            moments[slot, k, 1] += total_of_squares


@jit
def _count_threshold(
    k: int,
    n: int,
    current: np.ndarray,
    before: np.ndarray,
    sign: float,
    years: np.ndarray,
    limits: np.ndarray,
    reached: np.ndarray,
    crossing_year: np.ndarray,
) -> tuple[int, int]:
    """Count year ``k``'s draws past a threshold, and draws past it by year ``k``; note first crossings.

    ``current`` and ``before`` are the variable's log10 values in years ``k`` and
    ``k - 1``; a first crossing's year is interpolated linearly in log10 between them.
    """
    start_year = years[max(k - 1, 0)]
    span = years[k] - start_year
    hits = 0
    past = 0
    for j in range(n):
        value = sign * current[j]
        hit = value >= limits[j]
        previous = sign * before[j]
        year = start_year + (limits[j] - previous) / (value - previous) * span if k > 0 else years[0]
        crossing_year[j] = year if hit and not reached[j] else crossing_year[j]
        reached[j] = 1 if hit else reached[j]
        hits += 1 if hit else 0
        past += reached[j]
    return hits, past


@jit
def target_margins(
    params: np.ndarray, plan, stream, target_threshold: np.ndarray, target_step: np.ndarray, target_by: np.ndarray
) -> np.ndarray:
    """Each draw's log10 margin past each target threshold: ``sign * value - sign * limit`` [dex].

    A target is (threshold ``t`` of ``stream``, grid year ``k``, "by"): its margin is
    year ``k``'s, or with "by" the largest of years 0 .. k. A draw meets the
    target where its margin is >= 0.

    Parameters
    ----------
    params : ndarray, shape (n_params, n_draws)
        Parameter draws [canonical units].
    plan : ModelPlan
    stream : StreamPlan
        Its thresholds (variable, sign, level, drawn row).
    target_threshold, target_step, target_by : ndarray of int64, shape (n_targets,)

    Returns
    -------
    ndarray, shape (n_targets, n_draws)
        Margins [dex].
    """
    n_draws, n_targets = params.shape[1], target_threshold.shape[0]
    threshold_variable, threshold_sign = stream.threshold_variable, stream.threshold_sign
    threshold_log10, threshold_row = stream.threshold_log10, stream.threshold_row
    n_thresholds = threshold_variable.shape[0]
    margins = np.empty((n_targets, n_draws))
    block = _new_block(params.shape[0], plan.rate_row.shape[1])
    log_params = block.log_params
    modes, interval_regime, (values, increments, ratios, power, elapsed, rows_by_parity) = _year_inputs(plan, block)
    limits = np.empty((n_thresholds, BLOCK_SIZE))
    now = np.empty((n_thresholds, BLOCK_SIZE))
    best = np.empty((n_thresholds, BLOCK_SIZE))
    n_steps = 1 + (target_step.max() if n_targets else -1)
    for start in range(0, n_draws, BLOCK_SIZE):
        n = min(BLOCK_SIZE, n_draws - start)
        _start_block(params, start, n, plan, block)
        for t in range(n_thresholds):
            sign, level, row = threshold_sign[t], threshold_log10[t], threshold_row[t]
            for j in range(n):
                limits[t, j] = sign * (level + log_params[row, j] if row >= 0 else level)
            best[t, :n] = -np.inf
        for k in range(n_steps):
            rows = _advance_year(
                k, n, modes, interval_regime, values, increments, ratios, power, elapsed, rows_by_parity
            )
            for t in range(n_thresholds):
                value, sign, limit = rows[threshold_variable[t]], threshold_sign[t], limits[t]
                top, margin = best[t], now[t]
                for j in range(n):
                    margin[j] = sign * value[j] - limit[j]
                    top[j] = max(top[j], margin[j])
            for i in range(n_targets):
                if target_step[i] == k:
                    source = best[target_threshold[i]] if target_by[i] else now[target_threshold[i]]
                    margins[i, start : start + n] = source[:n]
    return margins


@jit
def weighted_sums(margins: np.ndarray, shift: np.ndarray, scale: float, weights: np.ndarray) -> np.ndarray:
    """Sum each target's per-draw estimate ``w f`` and its square, in draw order (the same bits on any thread).

    ``f`` is the indicator ``margin >= 0``, or with ``scale > 0`` (conditional Monte
    Carlo) ``Phi((shift + margin) / scale)``: the probability that a normal log10 factor
    of mean ``shift`` and standard deviation ``scale`` [dex] makes up the margin.

    Parameters
    ----------
    margins : ndarray, shape (n_targets, n_draws)
        From :func:`target_margins` [dex].
    shift : ndarray, shape (n_targets,)
        Mean of the integrated log10 factor, signed as each target's threshold [dex].
    scale : float
        Its standard deviation [dex]; 0: no factor integrated out.
    weights : ndarray, shape (n_draws,)
        Importance weights (ones for none).

    Returns
    -------
    ndarray, shape (n_targets, 2)
        Sum of ``w f`` and of ``(w f)^2``.
    """
    n_targets, n_draws = margins.shape
    out = np.zeros((n_targets, 2))
    f = np.empty(n_draws)
    inverse = 1.0 / scale if scale > 0.0 else 0.0
    for i in range(n_targets):
        margin, offset = margins[i], shift[i]
        if scale > 0.0:
            for j in range(n_draws):  # a loop of its own: it vectorizes
                f[j] = ndtr((offset + margin[j]) * inverse) * weights[j]
        else:
            for j in range(n_draws):
                f[j] = weights[j] if margin[j] >= 0.0 else 0.0
        total = 0.0
        squares = 0.0
        for j in range(n_draws):
            total += f[j]
            squares += f[j] * f[j]
        out[i, 0], out[i, 1] = total, squares
    return out
