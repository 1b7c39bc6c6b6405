"""Kernels that turn a chunk's random normals into parameter draws (numba only)."""

from __future__ import annotations

import math

import numpy as np

from mcscale.sim.kernels.codes import (
    BLOCK_SIZE,
    KIND_FIXED,
    KIND_LOGNORMAL,
    KIND_LOGUNIFORM,
    KIND_LOOKUP,
    KIND_MIXTURE,
    KIND_NORMAL,
    KIND_PERCENTILES,
    KIND_TABULATED,
    KIND_UNIFORM,
)
from mcscale.sim.kernels.special import inline_jit, jit, ndtr, ndtr_call, ndtri, ndtri_call, vectorizable_exp

__all__ = [
    "correlate_normals",
    "draw_parameters",
    "normals_from_uniforms",
    "parameters_from_normals",
    "sample_normals",
    "standard_normals",
]

_U_MIN = 1e-300
_U_MAX = 1.0 - 2.0**-53
_LN10 = math.log(10.0)


@jit
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


@inline_jit
def _tabulated(
    z: float, z0: float, inv_step: float, values: np.ndarray, slopes: np.ndarray, first: int, last: int
) -> float:
    """Cubic Hermite interpolation of a tabulated quantile function at normal score ``z``, clamped at the ends.

    The grid is ``z0 + i / inv_step`` for ``i = 0 .. last``; ``values[first + i]`` and
    ``slopes[first + i]`` (d(value)/dz times the spacing) describe point ``i``. No
    search: the interval is computed, so loops over draws vectorize (gathers).
    """
    t = min(max((z - z0) * inv_step, 0.0), float(last))
    i = min(int(t), last - 1)
    s = t - i
    k = first + i
    y0, y1, d0, d1 = values[k], values[k + 1], slopes[k], slopes[k + 1]
    delta = y1 - y0
    return y0 + s * (d0 + s * ((3.0 * delta - 2.0 * d0 - d1) + s * (d0 + d1 - 2.0 * delta)))


@jit
def _parametric(kind: int, a: float, b: float, u: float) -> float:
    """Inverse CDF of a parametric prior at ``u`` [written units]."""
    if kind == KIND_NORMAL or kind == KIND_LOGNORMAL:
        x = a + b * ndtri_call(u)
        return math.exp(x) if kind == KIND_LOGNORMAL else x
    if kind == KIND_UNIFORM:
        return a + (b - a) * u
    if kind == KIND_LOGUNIFORM:
        return math.exp(a + (b - a) * u)
    return a


@jit
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
    if kind[row] == KIND_PERCENTILES:
        v = _interp_clamped(u, table_x, table_y, table_start[row], table_len[row])
        if log10[row]:
            v = 10.0**v
    elif kind[row] == KIND_TABULATED:  # a mixture component: back to its normal score
        v = _tabulated(ndtri_call(u), a[row], b[row], table_y, table_x, table_start[row], table_len[row] - 1)
        if log10[row]:
            v = math.exp(v * _LN10)
    else:
        v = _parametric(kind[row], a[row], b[row], u)
    return v * scale[row]


@jit
def _draw_row(row: int, z: np.ndarray, n: int, prior, out: np.ndarray, start: int) -> None:
    """Draw prior row ``row`` for draws ``start .. start + n`` from its normals ``z[:n]`` [canonical units].

    Every array and scalar the loops read is taken out of ``prior`` first: reading a
    tuple member inside a loop costs a reference count per draw.
    """
    kind, a, b, scale = prior.kind[row], prior.a[row], prior.b[row], prior.scale[row]
    target = out[row, start : start + n]
    parametric = kind == KIND_NORMAL or kind == KIND_LOGNORMAL or kind == KIND_UNIFORM or kind == KIND_LOGUNIFORM
    if kind == KIND_FIXED:
        target[:] = a * scale
    elif kind == KIND_LOOKUP:
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
    elif kind == KIND_TABULATED:  # truncation included in the table
        values, slopes, first, last = prior.table_y, prior.table_x, prior.table_start[row], prior.table_len[row] - 1
        for j in range(n):
            target[j] = _tabulated(z[j], a, b, values, slopes, first, last)
        if prior.log10[row]:
            for j in range(n):
                target[j] = vectorizable_exp(target[j] * _LN10)
        for j in range(n):
            target[j] *= scale
    elif not prior.truncated[row] and kind == KIND_NORMAL:
        for j in range(n):
            target[j] = (a + b * z[j]) * scale
    elif not prior.truncated[row] and kind == KIND_LOGNORMAL:
        for j in range(n):
            target[j] = vectorizable_exp(a + b * z[j]) * scale
    elif parametric:  # truncated, uniform or log-uniform: through the probability
        low, width = prior.u_low[row], prior.u_high[row] - prior.u_low[row]
        for j in range(n):  # the probabilities first, then one loop per form: each vectorizes
            target[j] = min(max(low + ndtr(z[j]) * width, _U_MIN), _U_MAX)
        if kind == KIND_NORMAL or kind == KIND_LOGNORMAL:
            for j in range(n):
                target[j] = a + b * ndtri(target[j])
        else:
            for j in range(n):
                target[j] = a + (b - a) * target[j]
        if kind == KIND_LOGNORMAL or kind == KIND_LOGUNIFORM:
            for j in range(n):
                target[j] = vectorizable_exp(target[j])
        for j in range(n):
            target[j] *= scale
    else:
        kinds, lows, highs, scales = prior.kind, prior.u_low, prior.u_high, prior.scale
        table_x, table_y, table_start, table_len = prior.table_x, prior.table_y, prior.table_start, prior.table_len
        a_all, b_all, log10 = prior.a, prior.b, prior.log10
        for j in range(n):
            u = ndtr_call(z[j])
            component = row
            if kind == KIND_MIXTURE:
                m = table_start[row]
                while m < table_start[row] + table_len[row] - 1 and u >= table_x[m]:
                    m += 1
                below = table_x[m - 1] if m > table_start[row] else 0.0
                u = (u - below) / (table_x[m] - below)
                component = int(table_y[m])
            target[j] = _from_uniform(
                component, u, kinds, a_all, b_all, lows, highs, scales, table_x, table_y, table_start, table_len, log10
            )


@jit
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


@jit
def normals_from_uniforms(u: np.ndarray, prior, z: np.ndarray) -> None:
    """Fill ``z`` with the copula's correlated normals at given uniforms (quasi-Monte Carlo points).

    Coordinate ``c`` of point ``j`` becomes independent normal ``c`` of draw ``j``
    (``ndtri``), correlated through the Cholesky factor as :func:`draw_parameters`
    correlates its pseudo-random normals.

    Parameters
    ----------
    u : ndarray, shape (max(n_normals, 1), n_draws)
        Points in the unit cube, one column per draw (C-contiguous: the loop over
        draws then vectorizes).
    prior : PriorTable
        Encoded priors.
    z : ndarray, shape (max(n_normals, 1), n_draws)
        Receives the normals, for :func:`parameters_from_normals`.
    """
    n_normals, n_draws = prior.cholesky.shape[0], u.shape[1]
    z_raw = np.empty((n_normals, n_draws))
    standard_normals(u[:n_normals], z_raw)
    correlate_normals(z_raw, prior, z)


@jit
def standard_normals(u: np.ndarray, z: np.ndarray) -> None:
    """Fill ``z`` with ``ndtri(u)``, ``u`` clamped into (0, 1): independent normals at uniforms of the same shape."""
    for c in range(u.shape[0]):
        source, target = u[c], z[c]
        for j in range(u.shape[1]):
            target[j] = ndtri(min(max(source[j], _U_MIN), _U_MAX))


@jit
def correlate_normals(z_raw: np.ndarray, prior, z: np.ndarray) -> None:
    """Fill ``z[:n_normals]`` with independent normals ``z_raw`` correlated through the copula's Cholesky factor.

    Parameters
    ----------
    z_raw : ndarray, shape (n_normals, n_draws)
        Independent standard normals (C-contiguous).
    prior : PriorTable
    z : ndarray, shape (max(n_normals, 1), n_draws)
        Receives the copula's normals, for :func:`parameters_from_normals`.
    """
    chol = prior.cholesky
    n_normals, n_draws = chol.shape[0], z_raw.shape[1]
    if not prior.correlated:
        z[:n_normals] = z_raw
        return
    for r in range(n_normals):
        z[r] = 0.0
        for c in range(r + 1):
            weight = chol[r, c]
            if weight != 0.0:  # adding 0 * z changes no bit
                row, source = z[r], z_raw[c]
                for j in range(n_draws):
                    row[j] += weight * source[j]


@jit
def parameters_from_normals(z: np.ndarray, prior, out: np.ndarray) -> None:
    """Fill ``out[row, i]`` with every primary prior row's value at given normals.

    The same transforms as :func:`draw_parameters`, driven by normals the caller chose
    (sensitivity analysis holds one fixed, or swaps columns between designs).

    Parameters
    ----------
    z : ndarray, shape (max(n_normals, 1), n_draws)
        The copula's correlated standard normals, one row per sampled prior.
    prior : PriorTable
        Encoded priors.
    out : ndarray, shape (n_params, n_draws)
        Receives the values [canonical units].
    """
    n_draws = out.shape[1]
    for start in range(0, n_draws, BLOCK_SIZE):
        n = min(BLOCK_SIZE, n_draws - start)
        for row in range(prior.n_params):
            _draw_row(row, z[max(prior.normal_index[row], 0), start:], n, prior, out, start)


@jit
def sample_normals(rng, n_draws: int, n_normals: int) -> float:
    """Draw ``n_draws * n_normals`` standard normals and nothing else (the RNG speed limit).

    Returns their sum, so the work cannot be optimized away.
    """
    s = 0.0
    for _ in range(n_draws):
        for _ in range(n_normals):
            s += rng.standard_normal()
    return s
