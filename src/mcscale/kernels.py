"""Numba kernels on plain arrays; the only module that imports numba.

One call of :func:`simulate_chunk` (or :func:`stream_chunk`) samples every prior
of a chunk of draws and propagates the trajectories along the year grid, in log10
space. The chunk's random numbers come from the numpy ``Generator`` it is handed
(numba consumes it natively, bit for bit the same stream as numpy), so a chunk's
output depends only on its seed.

Draws go through in blocks of :data:`BLOCK_SIZE`: every step is a loop over the
block's draws with no calls to libm and no branches, which the compiler turns into
8-wide AVX-512 (or 4-wide AVX2) instructions; that is why the elementary functions
below are written out. Each draw's arithmetic is the same whatever its place in a
block, so results do not depend on the block size (a test shifts draws across block
boundaries). Helpers take arrays, not tuples of arrays, wherever they are called per
block and year: handing numba a tuple costs a reference count per member.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.extending import intrinsic

__all__ = [
    "BLOCK_SIZE",
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
    "vectorizable_exp",
    "vectorizable_log",
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
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_LOG10_2 = math.log10(2.0)
_LOG10_E = math.log10(math.e)
_LN10 = math.log(10.0)
_U_MIN = 1e-300
_U_MAX = 1.0 - 2.0**-53

# error_model="numpy": a division by zero gives inf/nan instead of a branch that raises,
# which would stop loops from vectorizing.
_jit = numba.njit(nogil=True, cache=True, error_model="numpy")
# Inlined into the caller by numba itself: LLVM's inliner leaves functions this large as
# calls, and a loop with a call in it does not vectorize.
_inline = numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")


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


# --------------------------------------------------------------------------- #
# Vectorizable elementary functions                                            #
# --------------------------------------------------------------------------- #
# numba's LLVM has no vector maths library, so a loop that calls libm's log runs one
# element at a time. These branch-free versions let the compiler run 8 draws per
# instruction on AVX-512; they follow fdlibm's e_log.c and e_exp.c (algorithms and
# coefficients, within 1 ulp of libm; tests check it), whose notice is:
#   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
#   Developed at SunPro, a Sun Microsystems, Inc. business. Permission to use, copy,
#   modify, and distribute this software is freely granted, provided that this
#   notice is preserved.


@intrinsic
def _float_bits(typingctx, x):  # noqa: D103 (an LLVM bitcast)
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return numba.types.int64(numba.types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):  # noqa: D103 (an LLVM bitcast)
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return numba.types.float64(numba.types.int64), codegen


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SMALLEST_NORMAL = 2.2250738585072014e-308


@_jit
def vectorizable_log(x: float) -> float:
    """Natural logarithm without branches (fdlibm's ``__ieee754_log``), so loops over it vectorize.

    Within 1 ulp of libm for positive finite ``x`` (tests check it); ``x <= 0`` gives
    NaN or -inf, ``inf`` gives inf, subnormals are rescaled.
    """
    scaled = x * 18014398509481984.0 if x < _SMALLEST_NORMAL else x  # 2^54
    bits = _float_bits(scaled)
    exponent = (bits >> 52) - 1023 - (54 if x < _SMALLEST_NORMAL else 0)
    mantissa = _bits_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    high = mantissa > 1.4142135623730951
    mantissa = mantissa * 0.5 if high else mantissa
    exponent = exponent + 1 if high else exponent
    f = mantissa - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    half_f_squared = 0.5 * f * f
    k = float(exponent)
    value = k * _LN2_HI - ((half_f_squared - (s * (half_f_squared + t1 + t2) + k * _LN2_LO)) - f)
    if not x > 0.0:
        value = -math.inf if x == 0.0 else math.nan
    return math.inf if x == math.inf else value


_INV_LN2 = 1.44269504088896338700e00
_EXP_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)


@_jit
def _power_of_two(k: int) -> float:
    """Return 2^k for -1022 <= k <= 1023, built from its bits."""
    return _bits_float((k + 1023) << 52)


@_jit
def vectorizable_exp(x: float) -> float:
    """Exponential without branches (fdlibm's ``__ieee754_exp``, < 1 ulp), so loops over it vectorize.

    Overflows to inf above 709.78 and underflows to 0 below -745.1.
    """
    clamped = min(max(x, -746.0), 710.0)
    k = math.floor(clamped * _INV_LN2 + 0.5)
    high = clamped - k * _LN2_HI
    low = k * _LN2_LO
    r = high - low
    t = r * r
    c = r - t * (_EXP_P[0] + t * (_EXP_P[1] + t * (_EXP_P[2] + t * (_EXP_P[3] + t * _EXP_P[4]))))
    y = 1.0 - ((low - (r * c) / (2.0 - c)) - high)
    # 2^k in two factors, so k down to -1075 and up to 1024 need no special case
    half = k >> 1
    value = y * _power_of_two(half) * _power_of_two(k - half)
    return value if x == x else x


@_inline
def _erfc_nonnegative(z: float) -> float:
    """Complementary error function for ``z >= 0``, without branches (vectorizable)."""
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    # g(u) = log(erfcx(z) / t) as a Chebyshev series in u (the form of Numerical Recipes'
    # erfccheb), coefficients fitted for mcscale by least squares at 800 Chebyshev nodes
    # against 50-digit mpmath values (degree 28; the last ones are ~1e-16), so that
    # erfc(z) = t exp(-z^2 + g) is within a few ulp. Clenshaw's recurrence, written out:
    # as a loop it would not vectorize.
    u2 = 2.0 * u
    b1 = b2 = 0.0
    b1, b2 = u2 * b1 - b2 + 4.4408920985006276e-17, b1
    b1, b2 = u2 * b1 - b2 + -1.776356839400251e-16, b1
    b1, b2 = u2 * b1 - b2 + -4.4408920985006276e-17, b1
    b1, b2 = u2 * b1 - b2 + -3.7747582837255336e-16, b1
    b1, b2 = u2 * b1 - b2 + -1.5543122344752194e-15, b1
    b1, b2 = u2 * b1 - b2 + 6.861178292183469e-15, b1
    b1, b2 = u2 * b1 - b2 + 5.329070518200752e-16, b1
    b1, b2 = u2 * b1 - b2 + -1.125988191574834e-13, b1
    b1, b2 = u2 * b1 - b2 + 3.1323832416774173e-13, b1
    b1, b2 = u2 * b1 - b2 + 8.946177132429514e-13, b1
    b1, b2 = u2 * b1 - b2 + -6.886047287935073e-12, b1
    b1, b2 = u2 * b1 - b2 + 2.394051623610949e-12, b1
    b1, b2 = u2 * b1 - b2 + 9.646822003051809e-11, b1
    b1, b2 = u2 * b1 - b2 + -2.2736499995783751e-10, b1
    b1, b2 = u2 * b1 - b2 + -9.913638687211331e-10, b1
    b1, b2 = u2 * b1 - b2 + 5.059343701970645e-09, b1
    b1, b2 = u2 * b1 - b2 + 6.529054604042416e-09, b1
    b1, b2 = u2 * b1 - b2 + -8.523809586965174e-08, b1
    b1, b2 = u2 * b1 - b2 + 1.5626441938674678e-08, b1
    b1, b2 = u2 * b1 - b2 + 1.3036558354384023e-06, b1
    b1, b2 = u2 * b1 - b2 + -1.6242900047435257e-06, b1
    b1, b2 = u2 * b1 - b2 + -2.027857811249993e-05, b1
    b1, b2 = u2 * b1 - b2 + 4.25233248072017e-05, b1
    b1, b2 = u2 * b1 - b2 + 0.00036683949785270247, b1
    b1, b2 = u2 * b1 - b2 + -0.000946595344481865, b1
    b1, b2 = u2 * b1 - b2 + -0.009561514786808393, b1
    b1, b2 = u2 * b1 - b2 + 0.019476473204185916, b1
    b1, b2 = u2 * b1 - b2 + 0.6419697923564903, b1
    g = u * b1 - b2 + -0.6513268598908564  # c0 set so that erfc(0) is exactly 1
    # exp(-z^2) to full relative precision: z = high + low with high^2 exact (26 bits).
    high = _bits_float(_float_bits(z) & -134217728)  # clear the low 27 mantissa bits
    low = z - high
    value = t * vectorizable_exp(-high * high) * vectorizable_exp(g - low * (z + high))
    return 0.0 if z == math.inf else value


@_inline
def ndtr(x: float) -> float:
    """Return the standard normal CDF at ``x`` (vectorizable; within ~1e-15 relative, lower tail included)."""
    half = 0.5 * _erfc_nonnegative(abs(x) * _INV_SQRT2)
    return half if x < 0.0 else 1.0 - half


@_inline
def _ndtri_lower(p: float) -> float:
    """Inverse normal CDF for ``0 < p <= 0.5`` (Acklam, then one Halley step).

    Both of Acklam's branches are computed and one selected, so loops over it vectorize.
    """
    q = p - 0.5
    r = q * q
    central = (
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
            (((-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02) * r + 6.680131188771972e01)
            * r
            - 1.328068155288572e01
        )
        * r
        + 1.0
    )
    s = math.sqrt(-2.0 * vectorizable_log(p))
    tail = (
        (
            (
                ((-7.784894002430293e-03 * s - 3.223964580411365e-01) * s - 2.400758277161838e00) * s
                - 2.549732539343734e00
            )
            * s
            + 4.374664141464968e00
        )
        * s
        + 2.938163982698783e00
    ) / (
        (((7.784695709041462e-03 * s + 3.224671290700398e-01) * s + 2.445134137142996e00) * s + 3.754408661907416e00)
        * s
        + 1.0
    )
    x = central if p > 0.02425 else tail
    # Halley refinement on the lower tail, where ndtr keeps full relative precision.
    e = ndtr(x) - p
    u = e * _SQRT2PI * vectorizable_exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@_inline
def ndtri(p: float) -> float:
    """Inverse standard normal CDF, for ``0 < p < 1`` (vectorizable)."""
    lower = _ndtri_lower(p if p <= 0.5 else 1.0 - p)  # 1 - p is exact for p >= 0.5
    return lower if p <= 0.5 else -lower


@_jit
def _log10(x: float) -> float:
    """Return log10(x) (vectorizable)."""
    return vectorizable_log(x) * _LOG10_E


@_jit
def _draw_row(row: int, z: np.ndarray, n: int, prior, out: np.ndarray, start: int) -> None:
    """Draw prior row ``row`` for draws ``start .. start + n`` from its normals ``z[:n]`` [canonical units].

    Every array and scalar the loops read is taken out of ``prior`` first: reading a
    tuple member inside a loop costs a reference count per draw.
    """
    kind, a, b, scale = prior.kind[row], prior.a[row], prior.b[row], prior.scale[row]
    target = out[row, start : start + n]
    parametric = kind == _NORMAL or kind == _LOGNORMAL or kind == _UNIFORM or kind == _LOGUNIFORM
    if kind == _FIXED:
        target[:] = a * scale
    elif kind == _LOOKUP:
        table_x, table_y, first, length = prior.table_x, prior.table_y, prior.table_start[row], prior.table_len[row]
        keys, log_keys, step = out[prior.source[row], start : start + n], prior.log10[row], prior.step[row]
        for j in range(n):
            key = math.log10(keys[j]) if log_keys else keys[j]
            if step:
                m = first
                while m < first + length - 1 and table_x[m + 1] <= key:
                    m += 1
                v = table_y[m]
            else:
                v = _interp_clamped(key, table_x, table_y, first, length)
            target[j] = v * scale
    elif not prior.truncated[row] and kind == _NORMAL:
        for j in range(n):
            target[j] = (a + b * z[j]) * scale
    elif not prior.truncated[row] and kind == _LOGNORMAL:
        for j in range(n):
            target[j] = vectorizable_exp(a + b * z[j]) * scale
    elif parametric:  # truncated, uniform or log-uniform: through the probability
        low, width = prior.u_low[row], prior.u_high[row] - prior.u_low[row]
        for j in range(n):  # the probabilities first, then one loop per form: each vectorizes
            target[j] = min(max(low + ndtr(z[j]) * width, _U_MIN), _U_MAX)
        if kind == _NORMAL or kind == _LOGNORMAL:
            for j in range(n):
                target[j] = a + b * ndtri(target[j])
        else:
            for j in range(n):
                target[j] = a + (b - a) * target[j]
        if kind == _LOGNORMAL or kind == _LOGUNIFORM:
            for j in range(n):
                target[j] = vectorizable_exp(target[j])
        for j in range(n):
            target[j] *= scale
    else:
        kinds, lows, highs, scales = prior.kind, prior.u_low, prior.u_high, prior.scale
        table_x, table_y, table_start, table_len = prior.table_x, prior.table_y, prior.table_start, prior.table_len
        a_all, b_all, log10 = prior.a, prior.b, prior.log10
        for j in range(n):
            u = ndtr(z[j])
            component = row
            if kind == _MIXTURE:
                m = table_start[row]
                while m < table_start[row] + table_len[row] - 1 and u >= table_x[m]:
                    m += 1
                below = table_x[m - 1] if m > table_start[row] else 0.0
                u = (u - below) / (table_x[m] - below)
                component = int(table_y[m])
            target[j] = _from_uniform(
                component, u, kinds, a_all, b_all, lows, highs, scales, table_x, table_y, table_start, table_len, log10
            )


@_jit
def draw_parameters(rng, prior, out: np.ndarray) -> None:
    """Fill ``out[row, i]`` with draw ``i`` of every primary prior row.

    Draw ``i`` takes the chunk's normals ``n_normals * i`` to ``n_normals * (i + 1)``,
    correlated through the Cholesky factor; rows are then drawn a block of draws at a
    time, each row in a loop of its own.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's generator; one standard normal per sampled row and draw.
    prior : PriorTable
        Encoded priors.
    out : ndarray, shape (n_params, n_draws)
        Receives the draws [canonical units].
    """
    chol = prior.cholesky
    n_normals, n_draws = chol.shape[0], out.shape[1]
    z_raw = np.empty((n_normals, BLOCK_SIZE))
    z = np.empty((n_normals, BLOCK_SIZE))
    for start in range(0, n_draws, BLOCK_SIZE):
        n = min(BLOCK_SIZE, n_draws - start)
        for j in range(n):
            for c in range(n_normals):
                z_raw[c, j] = rng.standard_normal()
        if prior.correlated:
            for r in range(n_normals):
                z[r, :n] = 0.0
                for c in range(r + 1):
                    weight = chol[r, c]
                    if weight != 0.0:  # adding 0 * z changes no bit
                        for j in range(n):
                            z[r, j] += weight * z_raw[c, j]
        else:
            z[:, :n] = z_raw[:, :n]
        for row in range(prior.n_params):
            _draw_row(row, z[max(prior.normal_index[row], 0)], n, prior, out, start)


# --------------------------------------------------------------------------- #
# Trajectories, a block of draws at a time                                     #
# --------------------------------------------------------------------------- #

#: Draws propagated together: every per-year loop runs over a block, so the compiler
#: vectorizes it and one (variable, year) histogram row stays in cache.
BLOCK_SIZE = 1024


class _Block(NamedTuple):
    """Scratch of one block of draws (rows of length ``BLOCK_SIZE``)."""

    log_params: np.ndarray  # (n_params, B): log10 of each parameter draw
    values: np.ndarray  # (N_VALUES, B): log10 start values
    increments: np.ndarray  # (4, n_regimes, B): log10 growth per grid step
    ratios: np.ndarray  # (3, n_regimes, B): soft-ceiling power growth per step
    power: np.ndarray  # (3, B): 10^(value - ceiling) of each soft ceiling
    elapsed: np.ndarray  # (4, B): log10 growth so far
    rows: np.ndarray  # (2, N_VARIABLES, B): this and the previous year's log10 values


@_jit
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


@_jit
def _start_block(params: np.ndarray, start: int, n: int, plan, block: _Block) -> None:
    """Set up draws ``start .. start + n`` of ``params`` for :func:`_advance_year`."""
    log_params, values, increments = block.log_params, block.values, block.increments
    ratios, power, elapsed = block.ratios, block.power, block.elapsed
    step = plan.step
    for row in range(params.shape[0]):
        source, target = params[row, start : start + n], log_params[row]
        for j in range(n):
            target[j] = _log10(source[j])
    for slot in range(N_VALUES):
        row, sign, target = plan.value_row[slot], plan.value_sign[slot], values[slot]
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
            else:
                for j in range(n):
                    target[j] = log_params[row, j] * step
    elapsed[:, :n] = 0.0
    # Soft ceilings need 10^(x - ceiling) each year. Within a regime both sides grow
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


@_jit
def _ceiling_row(raw: np.ndarray, ceiling: np.ndarray, power: np.ndarray, mode: int, out: np.ndarray, n: int) -> None:
    """Apply a hard (min) or soft (x c / (x + c)) ceiling to log10 values ``raw``.

    ``power`` is ``10^(raw - ceiling)``; soft: ``log10(x c / (x + c)) = raw - log10(1 + power)``,
    accurate to ~1e-15 absolute for any power; past 1e300 (overflow ahead) it is the
    ceiling to the last bit.
    """
    if mode == CEILING_HARD:
        for j in range(n):
            out[j] = min(raw[j], ceiling[j])
    elif mode == CEILING_SOFT:
        for j in range(n):
            soft = raw[j] - _log10(1.0 + power[j])
            out[j] = soft if power[j] < 1e300 else ceiling[j]
    else:
        out[:n] = raw[:n]


@_jit
def _year_inputs(plan, block: _Block):
    """Return what :func:`_advance_year` reads besides ``k`` and ``n``, taken out of their tuples."""
    modes = (plan.cap_mode, plan.hardware_mode, plan.algorithms_mode)
    state = (block.values, block.increments, block.ratios, block.power, block.elapsed, block.rows)
    return modes, plan.interval_regime, state


@_jit
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
            if modes[m] == CEILING_SOFT:
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


@_jit
def _histogram_row(
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


@_jit
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
    n_draws, n_params = params.shape[1], params.shape[0]
    n_years = stream.years.shape[0]
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
        for row in range(n_params):
            _histogram_row(
                log_params[row], n, parameter_low[row], inverse_width, n_bins, bins, parameter_histogram[row]
            )
        for t in range(n_thresholds):
            sign, level, row = threshold_sign[t], threshold_log10[t], threshold_row[t]
            for j in range(n):
                limits[t, j] = sign * (level + log_params[row, j] if row >= 0 else level)
            reached[t, :n] = 0
        for k in range(n_years):
            rows = _advance_year(
                k, n, modes, interval_regime, values, increments, ratios, power, elapsed, rows_by_parity
            )
            for v in range(N_VARIABLES):
                slot = variable_slot[v]
                if slot >= 0:
                    _histogram_row(rows[v], n, variable_low[slot], inverse_width, n_bins, bins, histogram[slot, k])
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
                _histogram_row(cost, n, cost_low[c, 0], inverse_width, n_bins, bins, cost_histogram[c, 0])
                for j in range(n):
                    cost[j] -= rows[ALGO_MULTIPLIER, j]
                _histogram_row(cost, n, cost_low[c, 1], inverse_width, n_bins, bins, cost_histogram[c, 1])
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


@_jit
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
