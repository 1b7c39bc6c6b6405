"""Prior specs -> flat sampler tables for the kernels; the Gaussian copula.

Every sampled prior is driven by one standard normal per draw. Correlated priors
share a Gaussian copula: the scenario's Spearman rank correlations are turned into
correlations of the underlying normals, ``r = 2 sin(pi rho / 6)``, which is exact
for continuous marginals.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import stats

from mcscale.scenario import PriorSpec, Scenario

__all__ = [
    "KIND_CODES",
    "PriorTable",
    "build_prior_table",
    "normal_correlation",
    "prior_order",
]

#: Integer codes the kernels switch on.
KIND_CODES: dict[str, int] = {
    "fixed": 0,
    "normal": 1,
    "lognormal": 2,
    "uniform": 3,
    "loguniform": 4,
    "percentiles": 5,
    "mixture": 6,
    "lookup": 7,
}


class PriorTable(NamedTuple):
    """Flat arrays describing every prior; rows beyond ``n_params`` are mixture components.

    Attributes
    ----------
    kind : ndarray of int64
        Distribution code per row (:data:`KIND_CODES`).
    a, b : ndarray of float64
        ``value``; ``mean, sd``; ``mu, sigma``; ``low, high`` (log of them for
        loguniform), in written units.
    u_low, u_high : ndarray of float64
        CDF at the truncation bounds; sampling maps ``u`` into ``[u_low, u_high]``. For
        a normal or lognormal truncated to its upper tail these are survival
        probabilities (``u_low > u_high``) and ``b`` is negated, so that the far tail
        keeps full precision.
    truncated : ndarray of bool
        Whether the row is truncated (normal and lognormal then go through ``u``).
    scale : ndarray of float64
        Written units -> canonical units multiplier.
    table_start, table_len : ndarray of int64
        Each row's slice of ``table_x`` / ``table_y``.
    table_x, table_y : ndarray of float64
        Percentiles: probability, value. Lookup: key, value. Mixture: cumulative
        weight, component row.
    log10 : ndarray of bool
        Percentile values / lookup keys are log10.
    step : ndarray of bool
        Lookup interpolation is a step function.
    source : ndarray of int64
        Lookup source row (-1 otherwise).
    normal_index : ndarray of int64
        The standard normal that drives the row (-1 for fixed and lookup rows).
    cholesky : ndarray of float64, shape (n_normals, n_normals)
        Lower Cholesky factor of the normals' correlation matrix.
    correlated : bool
        Whether ``cholesky`` differs from the identity.
    n_params : int
        Number of primary rows, in sampling order.
    """

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    u_low: np.ndarray
    u_high: np.ndarray
    truncated: np.ndarray
    scale: np.ndarray
    table_start: np.ndarray
    table_len: np.ndarray
    table_x: np.ndarray
    table_y: np.ndarray
    log10: np.ndarray
    step: np.ndarray
    source: np.ndarray
    normal_index: np.ndarray
    cholesky: np.ndarray
    correlated: bool
    n_params: int


def normal_correlation(names: list[str], correlations: tuple[tuple[str, str, float], ...] | list) -> np.ndarray:
    """Return the Cholesky factor of the copula's normal correlation matrix.

    Parameters
    ----------
    names : list of str
        Prior names, in the order of the matrix rows.
    correlations : sequence of (str, str, float)
        Pairs with their Spearman rank correlation.

    Returns
    -------
    ndarray, shape (len(names), len(names))
        Lower-triangular factor ``L`` with ``L @ L.T`` the correlation matrix.

    Raises
    ------
    ValueError
        If the matrix is not positive definite.
    """
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for a, b, rho in correlations:
        r = 2.0 * math.sin(math.pi * rho / 6.0)
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = r
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError("correlation matrix is not positive definite") from None


def prior_order(priors: dict[str, PriorSpec]) -> list[str]:
    """Return prior names sorted so that every lookup comes after its source."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        spec = priors[name]
        if spec.dist == "lookup":
            visit(spec.of)
        order.append(name)

    for name in priors:
        visit(name)
    return order


def _cdf(spec: PriorSpec, x: float) -> float:
    """CDF of an untruncated, non-mixture prior at ``x`` [written units]."""
    if math.isinf(x):
        return 0.0 if x < 0 else 1.0
    p = spec.params
    if spec.dist in ("normal", "lognormal"):
        return float(stats.norm.cdf(spec.standard_score(x)))
    if spec.dist == "uniform":
        return min(max((x - p["low"]) / (p["high"] - p["low"]), 0.0), 1.0)
    if spec.dist == "loguniform":
        if x <= 0:
            return 0.0
        span = math.log(p["high"]) - math.log(p["low"])
        return min(max((math.log(x) - math.log(p["low"])) / span, 0.0), 1.0)
    if spec.dist == "percentiles":
        if spec.log10:
            if x <= 0:
                return 0.0
            x = math.log10(x)
        probs = [q for q, _ in spec.points]
        values = [v for _, v in spec.points]
        if x < values[0]:
            return 0.0
        if x >= values[-1]:
            return 1.0
        return float(np.interp(x, values, probs))
    return 0.0 if x < spec.params["value"] else 1.0  # fixed


class _Builder:
    """Accumulates rows of a :class:`PriorTable`."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.table_x: list[float] = []
        self.table_y: list[float] = []

    def add(self, spec: PriorSpec, normal_index: int, row_of: dict[str, int]) -> int:
        p = spec.params
        row = {
            "kind": KIND_CODES[spec.dist],
            "a": 0.0,
            "b": 0.0,
            "u_low": _cdf(spec, spec.lower) if spec.dist not in ("mixture", "lookup") else 0.0,
            "u_high": _cdf(spec, spec.upper) if spec.dist not in ("mixture", "lookup") else 1.0,
            "truncated": bool(math.isfinite(spec.lower) or math.isfinite(spec.upper)),
            "scale": spec.scale,
            "table_start": len(self.table_x),
            "table_len": 0,
            "log10": spec.log10,
            "step": spec.interpolation == "step",
            "source": row_of.get(spec.of, -1),
            "normal_index": normal_index,
        }
        if spec.dist in ("normal", "lognormal") and math.isfinite(spec.lower) and spec.standard_score(spec.lower) > 0:
            # Truncated to the upper tail: work with survival probabilities, where the
            # CDF would round to 1. x = a - b ndtri(sf); u runs from sf(lower) to sf(upper).
            row["u_low"] = float(stats.norm.sf(spec.standard_score(spec.lower)))
            row["u_high"] = float(stats.norm.sf(spec.standard_score(spec.upper))) if math.isfinite(spec.upper) else 0.0
            mirror = -1.0
        else:
            mirror = 1.0
        if spec.dist == "fixed":
            row["a"] = p["value"]
        elif spec.dist == "normal":
            row["a"], row["b"] = p["mean"], mirror * p["sd"]
        elif spec.dist == "lognormal":
            row["a"], row["b"] = p["mu"], mirror * p["sigma"]
        elif spec.dist == "uniform":
            row["a"], row["b"] = p["low"], p["high"]
        elif spec.dist == "loguniform":
            row["a"], row["b"] = math.log(p["low"]), math.log(p["high"])
        elif spec.dist in ("percentiles", "lookup"):
            self.table_x += [x for x, _ in spec.points]
            self.table_y += [y for _, y in spec.points]
            row["table_len"] = len(spec.points)
        self.rows.append(row)
        return len(self.rows) - 1

    def add_mixture_components(self, spec: PriorSpec, mixture_row: int) -> None:
        """Append component rows, each truncated like the mixture, and the weight table."""
        masses = []
        component_rows = []
        for component in spec.components:
            # A component keeps its own unit if it has one; the mixture's bounds are in
            # the mixture's unit, so convert them into the component's.
            has_unit = isinstance(component.written, dict) and "unit" in component.written
            scale = component.scale if has_unit else spec.scale
            factor = spec.scale / scale
            truncated = replace(
                component,
                lower=max(component.lower, spec.lower * factor),
                upper=min(component.upper, spec.upper * factor),
                scale=scale,
            )
            row = self.add(truncated, -1, {})
            masses.append(abs(self.rows[row]["u_high"] - self.rows[row]["u_low"]))
            component_rows.append(row)
        weights = np.asarray(spec.weights) * np.asarray(masses)
        cumulative = np.cumsum(weights / weights.sum())
        cumulative[-1] = 1.0
        self.rows[mixture_row]["table_start"] = len(self.table_x)
        self.rows[mixture_row]["table_len"] = len(component_rows)
        self.table_x += cumulative.tolist()
        self.table_y += [float(r) for r in component_rows]

    def table(self, cholesky: np.ndarray, n_params: int) -> PriorTable:
        def column(key: str, dtype: type) -> np.ndarray:
            return np.array([r[key] for r in self.rows], dtype=dtype)

        return PriorTable(
            kind=column("kind", np.int64),
            a=column("a", np.float64),
            b=column("b", np.float64),
            u_low=column("u_low", np.float64),
            u_high=column("u_high", np.float64),
            truncated=column("truncated", np.bool_),
            scale=column("scale", np.float64),
            table_start=column("table_start", np.int64),
            table_len=column("table_len", np.int64),
            table_x=np.array(self.table_x, dtype=np.float64),
            table_y=np.array(self.table_y, dtype=np.float64),
            log10=column("log10", np.bool_),
            step=column("step", np.bool_),
            source=column("source", np.int64),
            normal_index=column("normal_index", np.int64),
            cholesky=np.ascontiguousarray(cholesky),
            correlated=bool(np.any(cholesky != np.eye(len(cholesky)))),
            n_params=n_params,
        )


def build_prior_table(scenario: Scenario) -> tuple[PriorTable, list[str]]:
    """Encode a scenario's priors for the kernels.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    table : PriorTable
    names : list of str
        Prior name of each primary row, in sampling order.
    """
    priors = scenario.all_priors()
    names = prior_order(priors)
    sampled = [n for n in names if priors[n].dist not in ("fixed", "lookup")]
    builder = _Builder()
    row_of: dict[str, int] = {}
    for name in names:
        spec = priors[name]
        if spec.dist == "lookup" and priors[spec.of].scale != 1.0:
            # keys are written in the source's units (months...), draws are canonical (years)
            factor = priors[spec.of].scale
            keys = [(math.log10(factor) + x if spec.log10 else factor * x, y) for x, y in spec.points]
            spec = replace(spec, points=tuple(keys))
        normal_index = sampled.index(name) if name in sampled else -1
        row_of[name] = builder.add(spec, normal_index, row_of)
    for name in names:
        if priors[name].dist == "mixture":
            builder.add_mixture_components(priors[name], row_of[name])
    cholesky = normal_correlation(sampled, scenario.correlations)
    return builder.table(cholesky, len(names)), names
