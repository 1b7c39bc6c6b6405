"""A validated prior and its one CDF, quantile function and support.

Every consumer of a prior (the kernel encoder, the estimators, the validator) asks
:class:`PriorSpec` for its distribution; nothing else computes a prior's CDF (apart
from :mod:`mcscale.testing.numpy_model`, kept apart on purpose as an independent
oracle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

__all__ = ["DISTRIBUTIONS", "PriorSpec"]

#: Distribution families a prior may be.
DISTRIBUTIONS = ("fixed", "normal", "lognormal", "uniform", "loguniform", "percentiles", "mixture", "lookup")


@dataclass(frozen=True)
class PriorSpec:
    """A validated prior, in written units with the factor to canonical units (year, USD, FLOP).

    Parameters
    ----------
    name : str
        Dotted parameter name, e.g. ``"spend.doubling_time"`` or, inside a regime,
        ``"spend.doubling_time@2030"``.
    dist : str
        One of :data:`DISTRIBUTIONS`.
    params : dict of str to float
        Parameters in written units: ``value``; ``mean, sd``; ``mu, sigma`` (natural
        log); ``low, high``.
    written : Any
        The prior exactly as written in the file (a number or a table).
    scale : float
        Multiplier from written units to canonical units (``month`` -> 1/12 [year]).
    lower, upper : float
        Truncation bounds in written units (``-inf`` / ``inf`` when absent).
    points : tuple of tuple of float
        Percentile table ``(probability, value)`` or lookup table ``(key, value)``.
    log10 : bool
        Percentiles: values are log10 of the quantity. Lookup: keys are log10 of the
        source's value.
    interpolation : str
        Lookup interpolation, ``"step"`` or ``"linear"``.
    of : str
        Lookup source parameter name.
    components, weights : tuple
        Mixture components (themselves :class:`PriorSpec`) and their weights.
    """

    name: str
    dist: str
    params: dict[str, float] = field(default_factory=dict)
    written: Any = None
    scale: float = 1.0
    lower: float = -math.inf
    upper: float = math.inf
    points: tuple[tuple[float, float], ...] = ()
    log10: bool = False
    interpolation: str = "linear"
    of: str = ""
    components: tuple[PriorSpec, ...] = ()
    weights: tuple[float, ...] = ()

    @property
    def is_fixed(self) -> bool:
        """Whether the prior is a single value."""
        return self.dist == "fixed"

    @property
    def is_truncated(self) -> bool:
        """Whether ``lower`` or ``upper`` is finite."""
        return math.isfinite(self.lower) or math.isfinite(self.upper)

    def standard_score(self, x: float) -> float:
        """Return the standard normal score of ``x`` [written units] under a normal or lognormal prior."""
        p = self.params
        if self.dist == "normal":
            return (x - p["mean"]) / p["sd"]
        return (math.log(x) - p["mu"]) / p["sigma"] if x > 0 else -math.inf

    def cdf(self, x: float) -> float:
        """CDF of the untruncated prior at ``x`` [written units] (not for mixture or lookup)."""
        if math.isinf(x):
            return 0.0 if x < 0 else 1.0
        p = self.params
        if self.dist in ("normal", "lognormal"):
            return float(special.ndtr(self.standard_score(x)))
        if self.dist == "uniform":
            return min(max((x - p["low"]) / (p["high"] - p["low"]), 0.0), 1.0)
        if self.dist == "loguniform":
            if x <= 0:
                return 0.0
            span = math.log(p["high"]) - math.log(p["low"])
            return min(max((math.log(x) - math.log(p["low"])) / span, 0.0), 1.0)
        if self.dist == "percentiles":
            if self.log10:
                if x <= 0:
                    return 0.0
                x = math.log10(x)
            probs = [q for q, _ in self.points]
            values = [v for _, v in self.points]
            if x < values[0]:
                return 0.0
            if x >= values[-1]:
                return 1.0
            return float(np.interp(x, values, probs))
        if self.dist == "fixed":
            return 0.0 if x < p["value"] else 1.0
        raise ValueError(f"no CDF for a {self.dist} prior")

    def sf(self, x: float) -> float:
        """Survival function ``1 - cdf(x)`` of the untruncated prior, accurate in the upper tail."""
        if self.dist in ("normal", "lognormal") and math.isfinite(x):
            return float(special.ndtr(-self.standard_score(x)))
        return 1.0 - self.cdf(x)

    def truncated_mass(self) -> float:
        """Probability the prior keeps between its ``lower`` and ``upper`` bounds."""
        if not self.is_truncated:
            return 1.0
        if self.dist == "mixture":
            return math.fsum(
                weight * replace(c, lower=max(c.lower, self.lower), upper=min(c.upper, self.upper)).truncated_mass()
                for weight, c in zip(self.weights, self.components, strict=True)
            )
        if self.dist in ("uniform", "loguniform", "fixed", "percentiles"):
            low, high = self.support()
            return 1.0 if low < high or (low == high and self.dist == "fixed") else 0.0
        if self.dist not in ("normal", "lognormal"):
            return 1.0
        if self.standard_score(self.lower) > 0:  # the upper tail, where the CDF rounds to 1
            return self.sf(self.lower) - self.sf(self.upper)
        return self.cdf(self.upper) - self.cdf(self.lower)

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Quantile function of the (possibly truncated) prior [canonical units].

        Parameters
        ----------
        u : float or ndarray
            Probability levels in (0, 1).

        Returns
        -------
        ndarray
            The quantiles, times :attr:`scale`. For ``fixed``, ``normal``,
            ``lognormal``, ``uniform`` and ``loguniform`` priors.
        """
        u = np.asarray(u, dtype=float)
        p = self.params
        if self.dist == "fixed":
            out = np.full(u.shape, p["value"])
        elif self.dist in ("normal", "lognormal"):
            lo = self.cdf(self.lower) if math.isfinite(self.lower) else 0.0
            hi = self.cdf(self.upper) if math.isfinite(self.upper) else 1.0
            z = special.ndtri(lo + u * (hi - lo))
            out = p["mean"] + p["sd"] * z if self.dist == "normal" else np.exp(p["mu"] + p["sigma"] * z)
        elif self.dist in ("uniform", "loguniform"):
            low, high = max(p["low"], self.lower), min(p["high"], self.upper)
            if self.dist == "uniform":
                out = low + u * (high - low)
            else:
                out = np.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            raise ValueError(f"no closed-form quantile function for a {self.dist} prior")
        return out * self.scale

    def is_positive(self) -> bool:
        """Whether every value the prior can take is > 0."""
        if self.lower > 0 or self.dist == "lognormal":
            return True
        if self.dist == "mixture":
            return all(c.is_positive() for c in self.components)
        return self.support()[0] > 0

    def support(self) -> tuple[float, float]:
        """Return the smallest and largest value the prior can take [written units]."""
        if self.dist == "fixed":
            low = high = self.params["value"]
        elif self.dist == "normal":
            low, high = -math.inf, math.inf
        elif self.dist == "lognormal":
            low, high = 0.0, math.inf
        elif self.dist in ("uniform", "loguniform"):
            low, high = self.params["low"], self.params["high"]
        elif self.dist == "percentiles":
            values = [v for _, v in self.points]
            low, high = min(values), max(values)
            if self.log10:
                low, high = 10.0**low, 10.0**high
        elif self.dist == "lookup":
            values = [v for _, v in self.points]
            low, high = min(values), max(values)
        else:  # mixture
            bounds = [c.support() for c in self.components]
            low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        return max(low, self.lower), min(high, self.upper)
