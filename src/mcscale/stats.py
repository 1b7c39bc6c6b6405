"""The numpy layer of the answers: MCSE, crossing years, quantiles and HDIs of histograms.

Plain functions on arrays, with no knowledge of scenarios or results; the result
classes under :mod:`mcscale.results` call them.
"""

from __future__ import annotations

import math

import numpy as np

from mcscale.units import Z_95_INTERVAL

__all__ = [
    "CHUNK_AGREEMENT_P",
    "MIN_DRAWS_FOR_ERRORS",
    "chunk_count_homogeneity",
    "chunk_homogeneity",
    "column_quantiles",
    "crossing_years",
    "histogram_hdi",
    "histogram_quantiles",
    "log10_to_natural",
    "quantile_key",
    "quantiles_with_mcse",
    "rule_of_three",
    "too_few_draws",
]

#: Fewest draws for which an MCSE, a rule-of-three bound or an interval is given (the one
#: home of minimum counts): below it a binomial error is far from normal, and the order
#: statistics that bracket a 5% quantile do not exist.
MIN_DRAWS_FOR_ERRORS = 30


def too_few_draws(n_draws: int) -> str | None:
    """Say why MCSEs and intervals are left out of an answer from ``n_draws`` draws, or None if they are given."""
    if n_draws >= MIN_DRAWS_FOR_ERRORS:
        return None
    return f"no MCSE or interval: {n_draws} draws are too few (at least {MIN_DRAWS_FOR_ERRORS})"


def rule_of_three(n_draws: int) -> float:
    """Return the rule-of-three 95% bound on a probability no draw showed, 3 / n, clipped to [0, 1]."""
    return min(1.0, 3.0 / n_draws)


#: Smallest p-value of the chunks' agreement before an answer carries a warning: independent
#: chunks that disagree more than this mean something is broken, not bad luck.
CHUNK_AGREEMENT_P = 1e-6


def chunk_homogeneity(hits: np.ndarray) -> dict[str, float | str]:
    """Do the chunks (chains) agree on a probability? A chi-square test of homogeneity.

    Parameters
    ----------
    hits : ndarray of bool, shape (n_chunks, chunk_length)

    Returns
    -------
    dict
        As :func:`chunk_count_homogeneity` of the chunks' counts of hits.
    """
    return chunk_count_homogeneity(np.count_nonzero(hits, axis=-1), hits.shape[-1])


def chunk_count_homogeneity(counts: np.ndarray, chunk_length: int) -> dict[str, float | str]:
    """Do the chunks (chains) agree on a probability? A chi-square test of homogeneity, from counts.

    Every chunk draws from the same distribution, so its count of hits is binomial with
    the pooled probability; ``sum (k_c - n_c p)^2 / (n_c p (1 - p))`` is chi-square with
    ``chunks - 1`` degrees of freedom. (Rank-normalised R-hat, meant for continuous
    draws, is degenerate for an indicator.)

    Parameters
    ----------
    counts : ndarray of int, shape (n_chunks,)
        Hits in each chunk.
    chunk_length : int
        Draws per chunk.

    Returns
    -------
    dict
        ``chunk_chi2``, ``chunk_dof``, ``chunk_p_value``, and ``warning`` when the
        p-value is below :data:`CHUNK_AGREEMENT_P`; empty for one chunk or p in {0, 1}.
    """
    from scipy import special

    counts = np.asarray(counts, dtype=np.float64)
    sizes = np.full(counts.shape, chunk_length, dtype=np.float64)
    p = counts.sum() / sizes.sum()
    if counts.size < 2 or p in (0.0, 1.0):
        return {}
    chi2 = float(np.sum((counts - sizes * p) ** 2 / (sizes * p * (1 - p))))
    dof = counts.size - 1
    p_value = float(special.chdtrc(dof, chi2))
    out: dict[str, float | str] = {"chunk_chi2": chi2, "chunk_dof": dof, "chunk_p_value": p_value}
    if p_value < CHUNK_AGREEMENT_P:
        out["warning"] = f"the chunks disagree (chi-square {chi2:.1f} on {dof} degrees of freedom)"
    return out


def quantile_key(level: float) -> str:
    """Return the label of a quantile level: ``0.05`` -> ``"5%"``."""
    return f"{100 * level:g}%"


def crossing_years(log10_values: np.ndarray, log10_threshold: np.ndarray, years: np.ndarray) -> np.ndarray:
    """First year each draw's trajectory reaches its threshold, interpolated in log10.

    Parameters
    ----------
    log10_values : ndarray, shape (n_draws, n_years)
    log10_threshold : ndarray, shape (n_draws,)
    years : ndarray, shape (n_years,)
        The grid [year].

    Returns
    -------
    ndarray, shape (n_draws,)
        Crossing year [year]; ``years[0]`` if reached at the start, ``inf`` if never.
    """
    reached = log10_values >= log10_threshold[:, None]
    ever = reached.any(axis=1)
    first = reached.argmax(axis=1)
    out = np.full(log10_values.shape[0], np.inf)
    out[ever & (first == 0)] = years[0]
    rows = np.flatnonzero(ever & (first > 0))
    k = first[rows]
    before, after = log10_values[rows, k - 1], log10_values[rows, k]
    fraction = (log10_threshold[rows] - before) / (after - before)
    out[rows] = years[k - 1] + fraction * (years[k] - years[k - 1])
    return out


def quantiles_with_mcse(
    values: np.ndarray, levels: tuple[float, ...], method: str = "linear"
) -> tuple[dict[str, float], dict[str, float]]:
    """Quantiles of draws and their MCSE, from the binomial order-statistic 95% interval / 3.92.

    Parameters
    ----------
    values : ndarray
        Draws (any shape; flattened).
    levels : tuple of float
        Quantile levels in (0, 1).
    method : str, optional
        ``np.quantile``'s method.

    Returns
    -------
    quantiles, mcse : dict of str to float
        Keyed by :func:`quantile_key`; ``mcse`` is empty below :data:`MIN_DRAWS_FOR_ERRORS` draws.
    """
    ordered = np.sort(np.asarray(values).reshape(-1))
    n = ordered.size
    quantiles, mcse = {}, {}
    for q in levels:
        key = quantile_key(q)
        quantiles[key] = float(np.quantile(ordered, q, method=method))
        if too_few_draws(n):  # no MCSE rather than a false 0
            continue
        half = Z_95_INTERVAL * math.sqrt(n * q * (1 - q))
        lo = ordered[max(int(math.floor(n * q - half)), 0)]
        hi = ordered[min(int(math.ceil(n * q + half)), n - 1)]
        mcse[key] = float((hi - lo) / (2 * Z_95_INTERVAL)) if np.isfinite(hi) else math.inf
    return quantiles, mcse


def column_quantiles(log10_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of each year's column, as ``np.quantile(method="linear")`` gives them.

    Parameters
    ----------
    log10_values : ndarray, shape (..., n_years)
    q : ndarray
        Quantile levels.

    Returns
    -------
    ndarray, shape (len(q), n_years)
    """
    columns = np.ascontiguousarray(log10_values.reshape(-1, log10_values.shape[-1]).T)
    columns.sort(axis=1)  # a SIMD sort of contiguous rows beats np.quantile's partition
    position = (columns.shape[1] - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, columns.shape[1] - 1)
    weight = position - below
    return (columns[:, below] + weight * (columns[:, above] - columns[:, below])).T


def histogram_quantiles(
    counts: np.ndarray, low: float, width: float, levels: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of a histogram (bin 0 underflow, last overflow), interpolated within bins.

    Parameters
    ----------
    counts : ndarray of int
        Bin counts; bin 0 is underflow and the last bin overflow.
    low : float
        Low edge of bin 1 [histogram units].
    width : float
        Bin width [histogram units].
    levels : tuple of float
        Quantile levels in (0, 1).

    Returns
    -------
    values, mcse : ndarray
        The quantiles and their MCSE from the binomial order-statistic 95% interval
        (/3.92) [histogram units]. A quantile in the under/overflow bin is -inf/inf.
    """
    cumulative = np.cumsum(counts)
    n = cumulative[-1]
    n_bins = counts.size - 2

    def at_rank(rank: float) -> float:
        rank = min(max(rank, 0.0), float(n))
        b = int(np.searchsorted(cumulative, rank, side="left"))
        if b == 0:
            return -math.inf if rank > 0 else low
        if b > n_bins:
            return math.inf
        below = cumulative[b - 1]
        fraction = (rank - below) / counts[b] if counts[b] else 0.0
        return low + (b - 1 + fraction) * width

    values, mcse = [], []
    for q in levels:
        values.append(at_rank(q * n))
        half = Z_95_INTERVAL * math.sqrt(n * q * (1 - q))
        hi, lo = at_rank(n * q + half), at_rank(n * q - half)
        mcse.append((hi - lo) / (2 * Z_95_INTERVAL) if math.isfinite(hi - lo) else math.inf)
    return np.array(values), np.array(mcse)


def log10_to_natural(log10_values: np.ndarray, log10_mcse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Natural units; the MCSE through the delta method, d(10^x) = ln 10 10^x dx."""
    values = 10.0**log10_values
    return values, math.log(10.0) * values * log10_mcse


def histogram_hdi(counts: np.ndarray, low: float, width: float, prob: float) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the draws, from a histogram.

    Finds the fewest consecutive bins holding the mass (the fullest such run when
    several tie), then trims the excess from its two edge bins in proportion to their
    counts, which leaves the density equal at both ends, as an HDI's is.

    Parameters
    ----------
    counts : ndarray of int
        Bin counts with under- and overflow bins, as :func:`histogram_quantiles`.
    low, width : float
        Low edge of bin 1 and bin width [histogram units].
    prob : float
        Probability mass inside the interval.

    Returns
    -------
    tuple of float
        The interval [histogram units].
    """
    inner = counts[1:-1].astype(np.float64)
    needed = prob * counts.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(inner)])
    size = inner.size
    best_width, best = size + 1, (0, size)
    j = 0
    for i in range(size):
        j = max(j, i)
        while j < size and cumulative[j] - cumulative[i] < needed:
            j += 1
        if cumulative[j] - cumulative[i] < needed:
            break
        mass = cumulative[j] - cumulative[i]
        if j - i < best_width or (j - i == best_width and mass > cumulative[best[1]] - cumulative[best[0]]):
            best_width, best = j - i, (i, j)
    i, j = best
    excess = cumulative[j] - cumulative[i] - needed
    edges = inner[i] + inner[j - 1] if j - 1 > i else inner[i]
    trim = min(excess / edges, 1.0) if edges > 0 else 0.0
    return low + (i + trim) * width, low + (j - trim) * width
