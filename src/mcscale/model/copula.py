"""The Gaussian copula of correlated priors, and the order priors are sampled in.

Every sampled prior is driven by one standard normal per draw. Correlated priors
share a Gaussian copula: the scenario's Spearman rank correlations are turned into
correlations of the underlying normals, ``r = 2 sin(pi rho / 6)``, which is exact
for continuous marginals.
"""

from __future__ import annotations

import math

import numpy as np

from mcscale.model.priors import PriorSpec

__all__ = ["normal_correlation", "prior_order"]


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
