"""A validated prior and its one CDF, quantile function and support.

Every consumer of a prior (the kernel encoder, the estimators, the validator) asks
:class:`PriorSpec` for its distribution; nothing else computes a prior's CDF (apart
from :mod:`mcscale.testing.numpy_model`, kept apart on purpose as an independent
oracle).

The families of :data:`TABULATED` (beta, gamma, PERT, triangular, Student t, log
Student t, metalog) reach the kernels as a table of their (possibly truncated)
quantile function of the copula's standard normal score ``z``:
:meth:`PriorSpec.quantile_table` evaluates it with ``scipy.special`` at
:data:`TABLE_POINTS` evenly spaced ``z`` in ``[-TABLE_Z, TABLE_Z]``, together with its
exact derivative ``dx/dz`` (from the density), and the kernels interpolate between
the points with cubic Hermite polynomials. Gamma and log Student t priors (and a
metalog with ``log10 = true``) are tabulated as log10 values, so that their tails
keep their relative precision. Measured against ``scipy.stats`` quantiles (and the
triangular's closed form) at 7 points per grid step over ``|z| <= 8``, the error in
normal-score units (``|x - x_ref| dz/dx``) is at most 2e-7, at a triangular's mode
(where its density has a corner), and 3e-9 or less for the other families and
parameters ``tests/test_prior_families.py`` tries (typically 1e-12), apart from
values that double precision cannot resolve better (a few ulps, near a bound);
the test checks 1e-6. Draws with ``|z| > TABLE_Z`` (a probability of 1e-16) take the
end values. A log10 table keeps values within [1e-300, 1e300], a plain one within
+-1e300; draws beyond are clamped there (a warning at load says so when that is more
than one draw in a million: a log Student t with df = 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "DISTRIBUTIONS",
    "METALOG_MAX_TERMS",
    "TABLE_POINTS",
    "TABLE_Z",
    "TABULATED",
    "PriorSpec",
    "QuantileTable",
    "beta_from_quantiles",
    "gamma_from_quantiles",
    "metalog_coefficients",
    "metalog_decreasing",
    "metalog_quantile",
]

#: Families sampled through a tabulated quantile function (:meth:`PriorSpec.quantile_table`).
TABULATED = ("beta", "gamma", "pert", "triangular", "student_t", "log_student_t", "metalog")
#: Distribution families a prior may be.
DISTRIBUTIONS = (
    "fixed",
    "normal",
    "lognormal",
    "uniform",
    "loguniform",
    "percentiles",
    "mixture",
    "lookup",
    *TABULATED,
)
#: Families every value of which is > 0, whatever their parameters.
_POSITIVE = ("lognormal", "gamma", "log_student_t")

#: The tabulation grid: :data:`TABLE_POINTS` normal scores evenly spaced over ``[-TABLE_Z, TABLE_Z]``.
TABLE_Z = 8.3
TABLE_POINTS = 4097
#: Most terms a metalog may have.
METALOG_MAX_TERMS = 16
#: Tabulated values are kept finite: log10 values within +-300, plain values within +-1e300.
_LOG10_LIMIT = 300.0
_VALUE_LIMIT = 1e300
_LN10 = math.log(10.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


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
        log); ``low, high``; ``alpha, beta`` (beta); ``shape, scale`` (gamma); ``min,
        mode, max, lambda`` (pert); ``low, mode, high`` (triangular); ``df, loc,
        scale`` (student_t); ``df, mu, sigma`` (log_student_t, of the natural log);
        ``terms, a1, a2, ...`` (metalog: the coefficients of its quantile function).
    written : Any
        The prior exactly as written in the file (a number or a table).
    scale : float
        Multiplier from written units to canonical units (``month`` -> 1/12 [year]).
    lower, upper : float
        Truncation bounds in written units (``-inf`` / ``inf`` when absent).
    points : tuple of tuple of float
        Percentile or metalog table ``(probability, value)``, or lookup table ``(key, value)``.
    log10 : bool
        Percentiles and metalog: values are log10 of the quantity. Lookup: keys are
        log10 of the source's value.
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
    def log10_table(self) -> bool:
        """Whether a :data:`TABULATED` prior is tabulated as log10 values (gamma, log Student t, log10 metalog)."""
        return _log_coordinate(self)

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
        from scipy import special

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
        if self.dist in TABULATED:
            return _cdf_sf(self, x)[0]
        raise ValueError(f"no CDF for a {self.dist} prior")

    def sf(self, x: float) -> float:
        """Survival function ``1 - cdf(x)`` of the untruncated prior, accurate in the upper tail."""
        from scipy import special

        if self.dist in ("normal", "lognormal") and math.isfinite(x):
            return float(special.ndtr(-self.standard_score(x)))
        if self.dist in TABULATED and math.isfinite(x):
            return _cdf_sf(self, x)[1]
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
        if self.dist in TABULATED:
            return _truncation(self)[2]
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
            ``lognormal``, ``uniform``, ``loguniform`` and the :data:`TABULATED`
            priors (computed with ``scipy.special``, not from the table).
        """
        from scipy import special

        u = np.asarray(u, dtype=float)
        p = self.params
        if self.dist in TABULATED:
            low, high, mass = _truncation(self)
            y, _ = _coordinate(self, low + mass * u, high + mass * (1.0 - u))
            with np.errstate(over="ignore"):
                return (10.0**y if _log_coordinate(self) else y) * self.scale
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
        if self.lower > 0 or self.dist in _POSITIVE or (self.dist == "metalog" and self.log10):
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
        elif self.dist in TABULATED:
            low, high = _family_support(self)
        else:  # mixture
            bounds = [c.support() for c in self.components]
            low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        return max(low, self.lower), min(high, self.upper)

    def quantile_table(self) -> QuantileTable:
        """Tabulate the (possibly truncated) quantile function of a :data:`TABULATED` prior over the normal score.

        Returns
        -------
        QuantileTable
            Values [written units, or their log10] and slopes at :data:`TABLE_POINTS`
            normal scores evenly spaced over ``[-TABLE_Z, TABLE_Z]``: the value of the
            draw whose copula normal is ``z``. The result is cached by the prior's
            parameters and bounds; its arrays are read-only.
        """
        if self.dist not in TABULATED:
            raise ValueError(f"a {self.dist} prior is not tabulated")
        key = (
            self.dist,
            tuple(sorted(self.params.items())),
            self.lower,
            self.upper,
            self.points,
            self.log10,
        )
        table = _TABLE_CACHE.get(key)
        if table is None:
            table = _tabulate(self)
            if len(_TABLE_CACHE) >= 256:
                _TABLE_CACHE.pop(next(iter(_TABLE_CACHE)))
            _TABLE_CACHE[key] = table
        return table


# --------------------------------------------------------------------------- #
# Tabulated families                                                           #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class QuantileTable:
    """A prior's quantile function tabulated over the normal score ``z``, for cubic Hermite interpolation.

    Parameters
    ----------
    z0 : float
        The first grid point (``-TABLE_Z``).
    step : float
        Grid spacing in ``z``.
    values : ndarray
        The quantile at each grid point [written units], or its log10 when ``log10``.
    slopes : ndarray
        d(value)/dz at each grid point, times ``step`` (so that the interpolant between
        points ``i`` and ``i + 1`` is a cubic in ``s = (z - z_i) / step`` in ``[0, 1]``),
        limited so that the interpolant is monotone.
    log10 : bool
        Whether ``values`` are log10 of the quantity.
    """

    z0: float
    step: float
    values: np.ndarray
    slopes: np.ndarray
    log10: bool

    def evaluate(self, z: np.ndarray | float) -> np.ndarray:
        """Interpolate the table at normal scores ``z`` [written units], as the kernels do (clamped at the ends)."""
        z = np.asarray(z, dtype=float)
        last = len(self.values) - 1
        t = np.clip((z - self.z0) / self.step, 0.0, float(last))
        i = np.minimum(t.astype(np.int64), last - 1)
        s = t - i
        y0, y1, d0, d1 = self.values[i], self.values[i + 1], self.slopes[i], self.slopes[i + 1]
        delta = y1 - y0
        y = y0 + s * (d0 + s * ((3.0 * delta - 2.0 * d0 - d1) + s * (d0 + d1 - 2.0 * delta)))
        return 10.0**y if self.log10 else y  # finite: |y| <= 300 in log10 tables


_TABLE_CACHE: dict[tuple, QuantileTable] = {}


def _log_coordinate(spec: PriorSpec) -> bool:
    """Whether the family is tabulated (and its quantiles computed) as log10 values."""
    return spec.dist in ("gamma", "log_student_t") or (spec.dist == "metalog" and spec.log10)


def _beta_shape(spec: PriorSpec) -> tuple[float, float, float, float]:
    """``(alpha, beta, loc, width)`` of a beta or PERT prior: ``x = loc + width * Beta(alpha, beta)``."""
    p = spec.params
    if spec.dist == "beta":
        return p["alpha"], p["beta"], 0.0, 1.0
    width = p["max"] - p["min"]
    return (
        1.0 + p["lambda"] * (p["mode"] - p["min"]) / width,
        1.0 + p["lambda"] * (p["max"] - p["mode"]) / width,
        p["min"],
        width,
    )


def _family_support(spec: PriorSpec) -> tuple[float, float]:
    """Smallest and largest value of an untruncated tabulated family [written units]."""
    p = spec.params
    if spec.dist in ("beta", "pert"):
        _, _, loc, width = _beta_shape(spec)
        return loc, loc + width
    if spec.dist == "triangular":
        return p["low"], p["high"]
    if spec.dist in ("gamma", "log_student_t") or (spec.dist == "metalog" and spec.log10):
        return 0.0, math.inf
    return -math.inf, math.inf  # student_t, metalog


def _student_t_log_density(df: float, t: np.ndarray) -> np.ndarray:
    """Log density of the standard Student t with ``df`` degrees of freedom (no overflow for huge ``t``)."""
    from scipy import special

    with np.errstate(divide="ignore"):
        log_t2 = 2.0 * np.log(np.abs(t)) - math.log(df)
    return (
        special.gammaln((df + 1.0) / 2.0)
        - special.gammaln(df / 2.0)
        - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * np.logaddexp(0.0, log_t2)
    )


def _cdf_sf(spec: PriorSpec, x: float) -> tuple[float, float]:
    """``(F(x), 1 - F(x))`` of an untruncated tabulated family, each accurate in its own tail."""
    from scipy import special

    p = spec.params
    low, high = _family_support(spec)
    if x <= low:
        return 0.0, 1.0
    if x >= high:
        return 1.0, 0.0
    if spec.dist in ("beta", "pert"):
        a, b, loc, width = _beta_shape(spec)
        y = (x - loc) / width
        return float(special.betainc(a, b, y)), float(special.betaincc(a, b, y))
    if spec.dist == "gamma":
        g = x / p["scale"]
        return float(special.gammainc(p["shape"], g)), float(special.gammaincc(p["shape"], g))
    if spec.dist == "triangular":
        lo, mode, hi = p["low"], p["mode"], p["high"]
        if x <= mode:
            f = (x - lo) ** 2 / ((hi - lo) * (mode - lo))
            return f, 1.0 - f
        s = (hi - x) ** 2 / ((hi - lo) * (hi - mode))
        return 1.0 - s, s
    if spec.dist in ("student_t", "log_student_t"):
        if spec.dist == "student_t":
            t = (x - p["loc"]) / p["scale"]
        else:
            t = (math.log(x) - p["mu"]) / p["sigma"]
        return float(special.stdtr(p["df"], t)), float(special.stdtr(p["df"], -t))
    # metalog: invert its quantile function over the tabulated range of z, by bisection
    target = math.log10(x) if spec.log10 else x
    coefficients = _metalog_params(spec)
    lo_z, hi_z = -TABLE_Z, TABLE_Z
    if target <= _metalog_at_z(coefficients, lo_z):
        return 0.0, 1.0
    if target >= _metalog_at_z(coefficients, hi_z):
        return 1.0, 0.0
    while hi_z - lo_z > 1e-14:
        mid = 0.5 * (lo_z + hi_z)
        if _metalog_at_z(coefficients, mid) < target:
            lo_z = mid
        else:
            hi_z = mid
    z = 0.5 * (lo_z + hi_z)
    return float(special.ndtr(z)), float(special.ndtr(-z))


def _truncation(spec: PriorSpec) -> tuple[float, float, float]:
    """``(F(lower), 1 - F(upper), F(upper) - F(lower))`` of a tabulated family, the mass accurate in either tail."""
    f_low, s_low = _cdf_sf(spec, spec.lower) if math.isfinite(spec.lower) else (0.0, 1.0)
    f_high, s_high = _cdf_sf(spec, spec.upper) if math.isfinite(spec.upper) else (1.0, 0.0)
    mass = s_low - s_high if s_low < 0.5 else f_high - f_low
    return f_low, s_high, max(mass, 0.0)


def _coordinate(spec: PriorSpec, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantile of an untruncated tabulated family at probability ``p`` (``q = 1 - p``), and its derivative in ``p``.

    Returns the value (its log10 for :func:`_log_coordinate` families) and d(value)/dp;
    below the median ``p`` is used, above it ``q``, so both tails keep their precision.
    """
    from scipy import special

    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
    lower = p <= 0.5
    prm = spec.params
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if spec.dist in ("beta", "pert"):
            a, b, loc, width = _beta_shape(spec)
            y = np.where(lower, special.betaincinv(a, b, np.where(lower, p, 0.5)), 0.0)
            y_bar = np.where(lower, 1.0 - y, special.betaincinv(b, a, np.where(lower, 0.5, q)))
            y = np.where(lower, y, 1.0 - y_bar)
            log_density = (a - 1.0) * np.log(y) + (b - 1.0) * np.log(y_bar) - special.betaln(a, b)
            return loc + width * y, width * np.exp(-log_density)
        if spec.dist == "gamma":
            k = prm["shape"]
            g = np.where(
                lower,
                special.gammaincinv(k, np.where(lower, p, 0.5)),
                special.gammainccinv(k, np.where(lower, 0.5, q)),
            )
            slope = np.exp(special.gammaln(k) - k * np.log(g) + g) / _LN10
            return np.log10(prm["scale"] * g), slope
        if spec.dist == "triangular":
            lo, mode, hi = prm["low"], prm["mode"], prm["high"]
            left = p <= (mode - lo) / (hi - lo)
            below = (hi - lo) * (mode - lo)
            above = (hi - lo) * (hi - mode)
            x = np.where(left, lo + np.sqrt(p * below), hi - np.sqrt(q * above))
            slope = np.where(left, 0.5 * np.sqrt(below / p), 0.5 * np.sqrt(above / q))
            return x, slope
        if spec.dist in ("student_t", "log_student_t"):
            df = prm["df"]
            t = np.where(
                lower, special.stdtrit(df, np.where(lower, p, 0.5)), -special.stdtrit(df, np.where(lower, 0.5, q))
            )
            dt_dp = np.exp(-_student_t_log_density(df, t))
            if spec.dist == "student_t":
                return prm["loc"] + prm["scale"] * t, prm["scale"] * dt_dp
            return (prm["mu"] + prm["sigma"] * t) / _LN10, prm["sigma"] * dt_dp / _LN10
        # metalog
        return metalog_quantile(_metalog_params(spec), p, q, derivative=True)


def _tabulate(spec: PriorSpec) -> QuantileTable:
    """Build :meth:`PriorSpec.quantile_table`."""
    from scipy import special

    z = np.linspace(-TABLE_Z, TABLE_Z, TABLE_POINTS)
    step = float(z[1] - z[0])
    low, high, mass = _truncation(spec)
    y, dy_dp = _coordinate(spec, low + mass * special.ndtr(z), high + mass * special.ndtr(-z))
    limit = _LOG10_LIMIT if _log_coordinate(spec) else _VALUE_LIMIT
    finite = np.isfinite(y)
    y = np.clip(np.where(finite, y, np.where(y > 0, limit, -limit)), -limit, limit)
    y = np.maximum.accumulate(y)  # rounding of the inverse CDFs must not make the table decrease
    with np.errstate(over="ignore", invalid="ignore"):
        slopes = dy_dp * mass * np.exp(-0.5 * z * z) / _SQRT_2PI * step
    secant = np.diff(y)
    # where the derivative is lost (overflow, a clipped value), the mean of the neighbouring secants
    fallback = np.concatenate([[secant[0]], 0.5 * (secant[:-1] + secant[1:]), [secant[-1]]])
    slopes = np.where(np.isfinite(slopes) & finite & (slopes >= 0), slopes, fallback)
    # Fritsch-Carlson: slopes within [0, 3 x] each neighbouring secant keep every cubic monotone
    bound = 3.0 * np.minimum(np.concatenate([[secant[0]], secant]), np.concatenate([secant, [secant[-1]]]))
    slopes = np.clip(slopes, 0.0, bound)
    values = np.ascontiguousarray(y)
    slopes = np.ascontiguousarray(slopes)
    values.setflags(write=False)
    slopes.setflags(write=False)
    return QuantileTable(z0=float(z[0]), step=step, values=values, slopes=slopes, log10=_log_coordinate(spec))


# --------------------------------------------------------------------------- #
# Metalog (Keelin 2016, "The Metalog Distributions", Decision Analysis 13(4))  #
# --------------------------------------------------------------------------- #


def _metalog_params(spec: PriorSpec) -> np.ndarray:
    terms = int(spec.params["terms"])
    return np.array([spec.params[f"a{j}"] for j in range(1, terms + 1)])


def _metalog_terms(p: np.ndarray, q: np.ndarray, terms: int) -> tuple[list, list]:
    """Basis functions of a ``terms``-term metalog at ``p`` (``q = 1 - p``), and their derivatives in ``p``."""
    logit = np.log(p) - np.log(q)
    dlogit = 1.0 / (p * q)
    c = np.where(p <= 0.5, p - 0.5, 0.5 - q)
    basis = [np.ones_like(p), logit, c * logit, c]
    derivative = [np.zeros_like(p), dlogit, logit + c * dlogit, np.ones_like(p)]
    for j in range(5, terms + 1):
        if j % 2:  # odd: c^e
            e = (j - 1) // 2
            basis.append(c**e)
            derivative.append(e * c ** (e - 1))
        else:  # even: c^e logit
            e = j // 2 - 1
            basis.append(c**e * logit)
            derivative.append(e * c ** (e - 1) * logit + c**e * dlogit)
    return basis[:terms], derivative[:terms]


def metalog_quantile(
    coefficients: np.ndarray, p: np.ndarray, q: np.ndarray | None = None, derivative: bool = False
) -> Any:
    """Quantile function of a metalog at probability ``p``.

    Parameters
    ----------
    coefficients : ndarray
        ``a1 .. ak`` of Keelin's series ``a1 + a2 L + a3 (p - 1/2) L + a4 (p - 1/2) +
        a5 (p - 1/2)^2 + a6 (p - 1/2)^2 L + ...`` with ``L = ln(p / (1 - p))``.
    p : ndarray
        Probabilities in (0, 1).
    q : ndarray, optional
        ``1 - p``, given separately so that the upper tail keeps its precision.
    derivative : bool, optional
        Also return d(quantile)/dp (the reciprocal of the density).

    Returns
    -------
    ndarray, or tuple of ndarray
        The quantiles [the table's units], and with ``derivative`` their derivative.
    """
    p = np.asarray(p, dtype=float)
    q = 1.0 - p if q is None else np.asarray(q, dtype=float)
    basis, slopes = _metalog_terms(p, q, len(coefficients))
    value = sum(a * f for a, f in zip(coefficients, basis, strict=True))
    if not derivative:
        return value
    return value, sum(a * f for a, f in zip(coefficients, slopes, strict=True))


def _metalog_at_z(coefficients: np.ndarray, z: float) -> float:
    from scipy import special

    return float(metalog_quantile(coefficients, special.ndtr(z), special.ndtr(-z)))


def metalog_coefficients(points: Sequence[tuple[float, float]], terms: int) -> np.ndarray | None:
    """Fit a ``terms``-term metalog through ``(probability, value)`` points by least squares (Keelin 2016, eq. 7).

    With as many terms as points the metalog goes through every point. Some tables do
    not determine every term: at percentiles placed symmetrically about the median,
    for example, a 7-term metalog's four odd basis functions take only three
    independent values. Then there is no unique fit, and None is returned.

    Parameters
    ----------
    points : sequence of (float, float)
        Probabilities in (0, 1) and the quantiles there [the table's units].
    terms : int
        Number of terms, 2 to ``min(len(points), METALOG_MAX_TERMS)``.

    Returns
    -------
    ndarray or None
        The coefficients ``a1 .. a_terms``, or None when the points do not determine them.
    """
    p = np.array([pr for pr, _ in points])
    q = np.array([1.0 - pr for pr, _ in points])
    x = np.array([v for _, v in points])
    basis, _ = _metalog_terms(p, q, terms)
    matrix = np.column_stack(basis)
    coefficients, _, rank, _ = np.linalg.lstsq(matrix, x, rcond=None)
    return coefficients if rank == terms else None


def metalog_decreasing(coefficients: np.ndarray) -> tuple[float, float] | None:
    """Find where a metalog is not a valid distribution: where its quantile function does not increase.

    Parameters
    ----------
    coefficients : ndarray
        From :func:`metalog_coefficients`.

    Returns
    -------
    (float, float) or None
        The probabilities where the first stretch with d(quantile)/dp <= 0 begins and
        ends (on the grid of :data:`TABLE_POINTS` normal scores in ``[-TABLE_Z,
        TABLE_Z]``), or None when the quantile function increases throughout.
    """
    from scipy import special

    z = np.linspace(-TABLE_Z, TABLE_Z, TABLE_POINTS)
    p, q = special.ndtr(z), special.ndtr(-z)
    value, slope = metalog_quantile(coefficients, p, q, derivative=True)
    bad = ~(slope > 0) | ~np.isfinite(value)
    bad[1:] |= np.diff(value) <= 0
    if not bad.any():
        return None
    first = int(np.argmax(bad))
    last = first
    while last + 1 < len(bad) and bad[last + 1]:
        last += 1
    return float(p[first]), float(p[last])


# --------------------------------------------------------------------------- #
# Two quantiles -> parameters                                                  #
# --------------------------------------------------------------------------- #


def beta_from_quantiles(levels: tuple[float, float], values: tuple[float, float]) -> tuple[float, float] | None:
    """Return the beta distribution with the given two quantiles.

    Parameters
    ----------
    levels : (float, float)
        Probabilities ``p_low < p_high`` in (0, 1).
    values : (float, float)
        Quantiles ``0 < x_low < x_high < 1`` there.

    Returns
    -------
    (float, float) or None
        ``(alpha, beta)``, solved in log-parameters on the logit scale (Powell's hybrid
        method from a moment-matched start, then from other starts), or None when no
        solution reproduces both quantiles to 1e-9 on the logit scale.
    """
    from scipy import optimize, special

    (pl, ph), (xl, xh) = levels, values
    target = np.array([math.log(xl / (1.0 - xl)), math.log(xh / (1.0 - xh))])

    def residual(v: np.ndarray) -> np.ndarray:
        a, b = np.exp(np.clip(v, -30.0, 30.0))
        with np.errstate(divide="ignore"):
            logits = np.array(
                [
                    math.log(special.betaincinv(a, b, pr)) - math.log(special.betaincinv(b, a, 1.0 - pr))
                    if 0.0 < special.betaincinv(a, b, pr) < 1.0
                    else math.inf
                    for pr in (pl, ph)
                ]
            )
        out = logits - target
        return np.where(np.isfinite(out), out, 1e6)

    mean = (xl + xh) / 2.0
    sd = (xh - xl) / float(special.ndtri(ph) - special.ndtri(pl))
    concentration = mean * (1.0 - mean) / sd**2 - 1.0
    starts = [(math.log(mean * concentration), math.log((1.0 - mean) * concentration))] if concentration > 0 else []
    starts += [(0.0, 0.0), (math.log(0.5), math.log(0.5)), (2.0, 2.0)]
    for start in starts:
        solution = optimize.root(residual, np.array(start), method="hybr")
        if np.max(np.abs(residual(solution.x))) < 1e-9:
            a, b = np.exp(solution.x)
            return float(a), float(b)
    return None


def gamma_from_quantiles(levels: tuple[float, float], values: tuple[float, float]) -> tuple[float, float] | None:
    """Return the gamma distribution with the given two quantiles.

    The ratio of two quantiles depends on the shape alone and falls as it grows, so
    the shape is a one-dimensional root (Brent's method on its log, over 1e-4 to 1e12);
    the scale follows.

    Parameters
    ----------
    levels : (float, float)
        Probabilities ``p_low < p_high`` in (0, 1).
    values : (float, float)
        Quantiles ``0 < x_low < x_high`` there.

    Returns
    -------
    (float, float) or None
        ``(shape, scale)``, or None when the ratio is beyond that range of shapes.
    """
    from scipy import optimize, special

    (pl, ph), (xl, xh) = levels, values
    target = math.log(xh / xl)

    def log_quantile(k: float, p: float) -> float:
        x = float(special.gammaincinv(k, p))
        # for a small shape the quantile underflows: F(x) ~ x^k / Gamma(k + 1) near 0
        return math.log(x) if x > 0 else (math.log(p) + float(special.gammaln(k + 1.0))) / k

    def excess(log_shape: float) -> float:
        k = math.exp(log_shape)
        return log_quantile(k, ph) - log_quantile(k, pl) - target

    low, high = math.log(1e-4), math.log(1e12)
    if not excess(low) > 0 > excess(high):
        return None
    shape = math.exp(optimize.brentq(excess, low, high, xtol=1e-14, rtol=1e-14))
    return shape, xl / float(special.gammaincinv(shape, pl))
