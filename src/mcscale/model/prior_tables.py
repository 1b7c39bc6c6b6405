"""Prior tables as written (a number, or a table with ``dist``) -> :class:`PriorSpec`, with key paths.

Shared by the scenario file reader and the estimators' inline priors: every problem
is collected with its key path (``spend.doubling_time.p95``) in a :class:`Problems`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from mcscale.echo import quote
from mcscale.model.priors import (
    METALOG_MAX_TERMS,
    TABULATED,
    PriorSpec,
    beta_from_quantiles,
    gamma_from_quantiles,
    metalog_coefficients,
    metalog_decreasing,
)
from mcscale.numbers import LOG10_LIMIT, as_finite
from mcscale.units import TIME_UNITS, Z_90_INTERVAL

__all__ = [
    "COMMON_KEYS",
    "INTERVAL_FORMS",
    "OPTIONAL_KEYS",
    "PRIOR_FORMS",
    "Problems",
    "check_domain",
    "is_number",
    "number",
    "parse_prior_table",
    "prior_warnings",
]

#: Two percentiles that give a two-parameter family: (low key, high key) -> their probabilities.
INTERVAL_FORMS: dict[tuple[str, str], tuple[float, float]] = {
    ("p5", "p95"): (0.05, 0.95),
    ("p1", "p99"): (0.01, 0.99),
    ("p10", "p90"): (0.10, 0.90),
    ("p25", "p75"): (0.25, 0.75),
}
_INTERVALS = tuple(INTERVAL_FORMS)
#: The forms each distribution accepts; exactly one form must be given.
PRIOR_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lognormal": (*_INTERVALS, ("median", "gsd"), ("mu", "sigma")),
    "normal": (*_INTERVALS, ("mean", "sd")),
    "uniform": (("low", "high"),),
    "loguniform": (("low", "high"),),
    "fixed": (("value",),),
    "percentiles": (("points",),),
    "mixture": (("components", "weights"),),
    "lookup": (("of", "points"),),
    "beta": (("alpha", "beta"), *_INTERVALS),
    "gamma": (("shape", "scale"), *_INTERVALS),
    "pert": (("min", "mode", "max"),),
    "triangular": (("low", "mode", "high"),),
    "student_t": (*((*i, "df") for i in _INTERVALS), ("loc", "scale", "df")),
    "log_student_t": (*((*i, "df") for i in _INTERVALS), ("mu", "sigma", "df")),
    "metalog": (("points",),),
}
#: Optional keys of each distribution, beyond its form.
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "percentiles": ("log10",),
    "lookup": ("log10", "interpolation"),
    "pert": ("lambda",),
    "metalog": ("log10", "terms"),
}
#: Keys every prior table may have.
COMMON_KEYS = ("dist", "unit", "lower", "upper")
#: A PERT prior's ``lambda`` when left out (the classic PERT weight of the mode).
PERT_LAMBDA = 4.0
#: Below this share of a prior's probability a truncation gets a warning.
SMALL_MASS = 0.01
#: Above this share of a prior's probability lost to a default truncation (utilization's (0, 1]) it is refused.
MAX_LOST_MASS = 0.5
#: Tabulated values are clamped beyond these (see :mod:`mcscale.model.priors`).
_LOG_RANGE = (1e-300, 1e300)


class Problems:
    """Collects ``(key_path, message)`` pairs: problems, and warnings that do not stop the file."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at a key path."""
        self.items.append((path, message))

    def warn(self, path: str, message: str) -> None:
        """Record one warning at a key path (the file is still accepted)."""
        self.warnings.append((path, message))


def is_number(value: Any) -> bool:
    """Whether a TOML value is a number (an int or float, not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any, path: str, problems: Problems) -> float | None:
    """Return a finite number as float, or report it under ``path`` and return None."""
    if not is_number(value):
        problems.add(path, f"must be a number, got {quote(value)}")
        return None
    finite = as_finite(value)
    if finite is None:
        problems.add(path, f"must be a finite number (at most about 1.8e308), got {quote(value)}")
    return finite


def parse_prior_table(
    name: str, path: str, raw: Any, problems: Problems, is_time: bool, nested: bool = False
) -> PriorSpec | None:
    """Parse one prior (a number or a table with ``dist``) at ``path``."""
    if is_number(raw):
        value = number(raw, path, problems)
        if value is None:
            return None
        return PriorSpec(name=name, dist="fixed", params={"value": value}, written=raw)
    if not isinstance(raw, dict):
        problems.add(path, f"must be a number or a prior table, got {quote(raw)}")
        return None
    dist = raw.get("dist")
    if dist is None:
        problems.add(path, 'missing "dist" (one of ' + ", ".join(PRIOR_FORMS) + ")")
        return None
    if not isinstance(dist, str) or dist not in PRIOR_FORMS:
        problems.add(f"{path}.dist", f"unknown dist {quote(dist)}; known: " + ", ".join(PRIOR_FORMS))
        return None
    if nested and dist in ("mixture", "lookup"):
        problems.add(f"{path}.dist", f"a mixture component cannot be a {dist}")
        return None
    n_before = len(problems.items)
    forms = PRIOR_FORMS[dist]
    allowed = set(COMMON_KEYS) | {k for form in forms for k in form}
    allowed |= set(OPTIONAL_KEYS.get(dist, ()))
    for key in raw:
        if key not in allowed:
            problems.add(f"{path}.{key}", f"unknown key for a {dist} prior; allowed: " + ", ".join(sorted(allowed)))
    # keys every form has (a Student t's df) do not tell the forms apart
    shared = set.intersection(*(set(f) for f in forms)) if len(forms) > 1 else set()
    given = [form for form in forms if any(k in raw and k not in shared for k in form)]
    form_text = " or ".join("{" + ", ".join(f) + "}" for f in forms)
    if len(given) != 1:
        what = "several forms" if given else "no parameters"
        problems.add(path, f"{dist} prior has {what}; give exactly one of {form_text}")
        return None
    form = given[0]
    for key in form:
        if key not in raw:
            problems.add(f"{path}.{key}", f"missing (a {dist} prior given by {', '.join(form)})")
    if len(problems.items) > n_before:
        return None

    scale = 1.0
    if "unit" in raw:
        unit = raw["unit"]
        if not is_time:
            problems.add(f"{path}.unit", "only time parameters (doubling_time) take a unit")
        elif not isinstance(unit, str) or unit not in TIME_UNITS:
            problems.add(f"{path}.unit", f"unknown unit {quote(unit)}; known: year, month, day")
        else:
            scale = TIME_UNITS[unit]
    lower = upper = None
    if "lower" in raw:
        lower = number(raw["lower"], f"{path}.lower", problems)
    if "upper" in raw:
        upper = number(raw["upper"], f"{path}.upper", problems)
    if lower is not None and upper is not None and lower >= upper:
        problems.add(f"{path}.upper", "must be greater than lower")
    if dist == "lookup" and (lower is not None or upper is not None):
        problems.add(path, "a lookup prior takes no lower/upper")

    spec = _parse_form(name, path, raw, dist, form, problems, is_time)
    if spec is None or len(problems.items) > n_before:
        return None
    spec = replace(
        spec,
        written=raw,
        scale=scale,
        lower=-math.inf if lower is None else lower,
        upper=math.inf if upper is None else upper,
    )
    low, high = spec.support()
    if low > high or (low == high and spec.dist != "fixed") or spec.truncated_mass() <= 0:
        problems.add(path, "lower/upper leave no probability mass")
        return None
    return spec


def _z_score(level: float) -> float:
    """Return the standard normal quantile at ``level`` (scipy.special, 0.3 s to import, only here)."""
    from scipy import special

    return float(special.ndtri(level))


def _parse_form(
    name: str,
    path: str,
    raw: dict[str, Any],
    dist: str,
    form: tuple[str, ...],
    problems: Problems,
    is_time: bool,
) -> PriorSpec | None:
    """Turn one distribution form into canonical parameters."""
    if dist in ("percentiles", "lookup", "mixture", "metalog"):
        return _parse_table_form(name, path, raw, dist, problems, is_time)
    keys = (*form, *(k for k in OPTIONAL_KEYS.get(dist, ()) if k in raw))
    values = {k: number(raw[k], f"{path}.{k}", problems) for k in keys}
    if any(v is None for v in values.values()):
        return None
    v: dict[str, float] = values  # type: ignore[assignment]
    if dist in TABULATED:
        return _parse_tabulated_form(name, path, dist, form, v, problems)
    params: dict[str, float]
    if form[:2] in INTERVAL_FORMS:
        low_key, high_key = form[:2]
        if v[low_key] >= v[high_key]:
            problems.add(f"{path}.{high_key}", f"must be greater than {low_key}")
            return None
        # the 90% interval keeps its constant, so that p5/p95 priors give the same bits as before
        z = Z_90_INTERVAL if form == ("p5", "p95") else _z_score(INTERVAL_FORMS[form][1])
        if dist == "lognormal":
            if v[low_key] <= 0:
                problems.add(f"{path}.{low_key}", "must be positive for a lognormal")
                return None
            log_low, log_high = math.log(v[low_key]), math.log(v[high_key])
            params = {"mu": (log_low + log_high) / 2, "sigma": (log_high - log_low) / (2 * z)}
        else:
            params = {"mean": (v[low_key] + v[high_key]) / 2, "sd": (v[high_key] - v[low_key]) / (2 * z)}
    elif form == ("median", "gsd"):
        if v["median"] <= 0:
            problems.add(f"{path}.median", "must be positive for a lognormal")
            return None
        if v["gsd"] <= 1:
            problems.add(f"{path}.gsd", "geometric standard deviation must be greater than 1")
            return None
        params = {"mu": math.log(v["median"]), "sigma": math.log(v["gsd"])}
    elif form == ("mu", "sigma"):
        if v["sigma"] <= 0:
            problems.add(f"{path}.sigma", "must be positive")
            return None
        params = dict(v)
    elif form == ("mean", "sd"):
        if v["sd"] <= 0:
            problems.add(f"{path}.sd", "must be positive")
            return None
        params = dict(v)
    elif form == ("low", "high"):
        if v["low"] >= v["high"]:
            problems.add(f"{path}.high", "must be greater than low")
            return None
        if dist == "loguniform" and v["low"] <= 0:
            problems.add(f"{path}.low", "must be positive for a loguniform")
            return None
        params = dict(v)
    else:  # fixed
        params = dict(v)
    return PriorSpec(name=name, dist=dist, params=params)


def _positive(v: dict[str, float], keys: tuple[str, ...], path: str, problems: Problems) -> bool:
    """Report each of ``keys`` that is not > 0; return whether all are."""
    ok = True
    for key in keys:
        if key in v and v[key] <= 0:
            problems.add(f"{path}.{key}", "must be positive")
            ok = False
    return ok


def _parse_tabulated_form(
    name: str, path: str, dist: str, form: tuple[str, ...], v: dict[str, float], problems: Problems
) -> PriorSpec | None:
    """Parameters of a beta, gamma, pert, triangular, student_t or log_student_t prior, from one of its forms."""
    from scipy import special

    params: dict[str, float]
    if form[:2] in INTERVAL_FORMS:
        low_key, high_key = form[:2]
        levels = INTERVAL_FORMS[form[:2]]
        low, high = v[low_key], v[high_key]
        if not _positive(v, ("df",), path, problems):
            return None
        if low >= high:
            problems.add(f"{path}.{high_key}", f"must be greater than {low_key}")
            return None
        if dist == "beta" and not 0 < low < high < 1:
            bad = low_key if low <= 0 else high_key
            problems.add(f"{path}.{bad}", "must lie in (0, 1) for a beta")
            return None
        if dist in ("gamma", "log_student_t") and low <= 0:
            problems.add(f"{path}.{low_key}", f"must be positive for a {dist}")
            return None
        if dist == "beta":
            solved = beta_from_quantiles(levels, (low, high))
            if solved is None:
                problems.add(path, f"no beta distribution has {low_key} = {low:g} and {high_key} = {high:g}")
                return None
            params = {"alpha": solved[0], "beta": solved[1]}
        elif dist == "gamma":
            solved = gamma_from_quantiles(levels, (low, high))
            if solved is None:
                problems.add(
                    path,
                    f"no gamma distribution has {low_key} = {low:g} and {high_key} = {high:g} "
                    "(the ratio needs a shape outside 1e-4 .. 1e12)",
                )
                return None
            params = {"shape": solved[0], "scale": solved[1]}
        else:  # student_t, log_student_t: location and scale of (the log of) the value
            t = float(special.stdtrit(v["df"], levels[1]))
            if dist == "log_student_t":
                low, high = math.log(low), math.log(high)
            centre, spread = (low + high) / 2, (high - low) / (2 * t)
            keys = ("loc", "scale") if dist == "student_t" else ("mu", "sigma")
            params = {"df": v["df"], keys[0]: centre, keys[1]: spread}
        return PriorSpec(name=name, dist=dist, params=params)
    if dist in ("pert", "triangular"):
        low_key, high_key = ("min", "max") if dist == "pert" else ("low", "high")
        if v[low_key] >= v[high_key]:
            problems.add(f"{path}.{high_key}", f"must be greater than {low_key}")
            return None
        if not v[low_key] <= v["mode"] <= v[high_key]:
            problems.add(f"{path}.mode", f"must lie between {low_key} and {high_key}")
            return None
        params = dict(v)
        if dist == "pert":
            params.setdefault("lambda", PERT_LAMBDA)
            if not _positive(params, ("lambda",), path, problems):
                return None
        return PriorSpec(name=name, dist=dist, params=params)
    # alpha/beta, shape/scale, loc/scale/df, mu/sigma/df
    if not _positive(v, ("alpha", "beta", "shape", "scale", "df", "sigma"), path, problems):
        return None
    return PriorSpec(name=name, dist=dist, params=dict(v))


def _parse_metalog(name: str, path: str, raw: dict[str, Any], log10: bool, problems: Problems) -> PriorSpec | None:
    """Fit a metalog through a percentile table, and check that it is a distribution."""
    points = _parse_points(f"{path}.points", raw["points"], problems)
    if points is None:
        return None
    if points[0][0] <= 0 or points[-1][0] >= 100:
        problems.add(f"{path}.points", "metalog percentiles must lie strictly between 0 and 100 (its tails are open)")
        return None
    values = [v for _, v in points]
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        problems.add(f"{path}.points", "values must increase with the percentile")
        return None
    if not _log10_in_range(f"{path}.points", values, log10, problems):
        return None
    table = tuple((p / 100.0, v) for p, v in points)
    most = min(len(points), METALOG_MAX_TERMS)
    if "terms" in raw:
        terms = raw["terms"]
        if not (is_number(terms) and float(terms).is_integer() and 2 <= terms <= most):
            problems.add(
                f"{path}.terms",
                f"must be a whole number from 2 to {most} (at most the number of points and {METALOG_MAX_TERMS})",
            )
            return None
        terms, where = int(terms), f"{path}.terms"
        coefficients = metalog_coefficients(table, terms)
        if coefficients is None:
            problems.add(where, f"these points do not determine a {terms}-term metalog; give fewer terms")
            return None
    else:  # the most terms the points determine
        terms, where = most, f"{path}.points"
        coefficients = metalog_coefficients(table, terms)
        while coefficients is None:
            terms -= 1
            coefficients = metalog_coefficients(table, terms)
    decreasing = metalog_decreasing(coefficients)
    if decreasing is not None:
        valid = []
        for k in range(2, terms):
            fit = metalog_coefficients(table, k)
            if fit is not None and metalog_decreasing(fit) is None:
                valid.append(str(k))
        hint = (
            f"it is one with terms = {', '.join(valid)} (least squares through the points)"
            if valid
            else f"nor is it with 2 to {terms - 1} terms; smooth the table"
        )
        low, high = (f"p{100 * p:.3g}" for p in decreasing)
        problems.add(
            where,
            f"a metalog with {terms} terms through these points is not a valid distribution: its quantile "
            f"function decreases between {low} and {high}; {hint}",
        )
        return None
    params = {"terms": float(terms), **{f"a{j + 1}": float(a) for j, a in enumerate(coefficients)}}
    return PriorSpec(name=name, dist="metalog", params=params, points=table, log10=log10)


def _log10_in_range(path: str, values: list[float], log10: bool, problems: Problems) -> bool:
    """Report log10 values whose power of ten would overflow (or underflow) float64; return whether all fit."""
    if log10 and max(abs(v) for v in values) > LOG10_LIMIT:
        problems.add(
            path,
            f"with log10 = true the values are powers of ten and must lie in [-{LOG10_LIMIT:g}, {LOG10_LIMIT:g}], "
            f"got {max(values, key=abs):g}",
        )
        return False
    return True


def _parse_points(path: str, raw: Any, problems: Problems) -> list[tuple[float, float]] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add(path, "must be a list of at least two [x, value] pairs")
        return None
    points = []
    for i, pair in enumerate(raw):
        if not (isinstance(pair, list) and len(pair) == 2 and all(is_number(x) for x in pair)):
            problems.add(f"{path}[{i}]", f"must be a pair of numbers [x, value], got {quote(pair)}")
            return None
        if not all(as_finite(x) is not None for x in pair):
            problems.add(f"{path}[{i}]", f"must be finite, got {quote(pair)}")
            return None
        points.append((float(pair[0]), float(pair[1])))
    xs = [x for x, _ in points]
    if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        problems.add(path, "first entries must be strictly increasing")
        return None
    return points


def _parse_table_form(
    name: str, path: str, raw: dict[str, Any], dist: str, problems: Problems, is_time: bool
) -> PriorSpec | None:
    """Parse the table-valued forms: percentiles, metalog, lookup, mixture."""
    log10 = raw.get("log10", False)
    if not isinstance(log10, bool):
        problems.add(f"{path}.log10", "must be true or false")
        return None
    if dist == "metalog":
        return _parse_metalog(name, path, raw, log10, problems)
    if dist == "percentiles":
        points = _parse_points(f"{path}.points", raw["points"], problems)
        if points is None:
            return None
        if points[0][0] < 0 or points[-1][0] > 100:
            problems.add(f"{path}.points", "percentiles must lie in [0, 100]")
            return None
        values = [v for _, v in points]
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            problems.add(f"{path}.points", "values must not decrease as the percentile grows")
            return None
        if values[0] == values[-1]:
            problems.add(
                f"{path}.points",
                f"every value is {values[0]:g}: a percentile table needs two different values "
                "(for a constant, write the number itself)",
            )
            return None
        if not _log10_in_range(f"{path}.points", values, log10, problems):
            return None
        table = tuple((p / 100.0, v) for p, v in points)
        return PriorSpec(name=name, dist=dist, points=table, log10=log10)
    if dist == "lookup":
        of = raw["of"]
        if not isinstance(of, str):
            problems.add(f"{path}.of", "must be the dotted name of another prior")
            return None
        interpolation = raw.get("interpolation", "linear")
        if not isinstance(interpolation, str) or interpolation not in ("step", "linear"):
            problems.add(f"{path}.interpolation", f"must be 'step' or 'linear', got {quote(interpolation)}")
            return None
        points = _parse_points(f"{path}.points", raw["points"], problems)
        if points is None:
            return None
        return PriorSpec(name=name, dist=dist, points=tuple(points), log10=log10, of=of, interpolation=interpolation)
    # mixture
    components, weights = raw["components"], raw["weights"]
    if not isinstance(components, list) or not components:
        problems.add(f"{path}.components", "must be a non-empty list of priors")
        return None
    if not isinstance(weights, list) or len(weights) != len(components):
        problems.add(f"{path}.weights", f"must be a list of {len(components)} numbers, one per component")
        return None
    parsed_weights = [number(w, f"{path}.weights[{i}]", problems) for i, w in enumerate(weights)]
    if any(w is None for w in parsed_weights):
        return None
    if any(w <= 0 for w in parsed_weights):  # type: ignore[operator]
        problems.add(f"{path}.weights", "must all be positive")
        return None
    total = math.fsum(parsed_weights)  # type: ignore[arg-type]
    if abs(total - 1.0) > 1e-9:
        problems.add(f"{path}.weights", f"must sum to 1, they sum to {total:.12g}")
        return None
    parsed = [
        parse_prior_table(f"{name}[{i}]", f"{path}.components[{i}]", c, problems, is_time, nested=True)
        for i, c in enumerate(components)
    ]
    if any(c is None for c in parsed):
        return None
    return PriorSpec(
        name=name,
        dist=dist,
        components=tuple(parsed),  # type: ignore[arg-type]
        weights=tuple(parsed_weights),  # type: ignore[arg-type]
    )


def check_domain(spec: PriorSpec, path: str, domain: str, problems: Problems) -> PriorSpec:
    """Check a prior's support against its parameter's domain; truncate utilization.

    Domains: ``"positive"`` (> 0), ``"fraction"`` (in (0, 1], utilization), ``"percent"``
    (> -100, a percent growth per year) and ``"real"`` (any number: an OOM-per-year rate
    where the model allows regress).
    """
    if domain == "fraction":
        # Utilization is truncated to (0, 1] unless the file says otherwise.
        if spec.dist != "fixed" and spec.dist != "lookup":
            written = spec.truncated_mass()
            spec = replace(spec, lower=max(spec.lower, 0.0), upper=min(spec.upper, 1.0))
            lost = 1.0 - spec.truncated_mass() / written if written > 0 else 1.0
            if lost > MAX_LOST_MASS:
                problems.add(
                    path,
                    f"{_share(lost)} of this {spec.dist} prior lies outside (0, 1], where a fraction is truncated "
                    f"to; more than {_share(MAX_LOST_MASS)} lost: move the prior into (0, 1] (e.g. a beta)",
                )
                return spec
            if lost > SMALL_MASS:
                problems.warn(path, f"{_share(lost)} of this prior lies outside (0, 1] and is truncated away")
        low, high = spec.support()
        # A table can give exactly its lowest value: a 0 there would be a run with no compute.
        exact_low = spec.is_fixed or spec.dist in ("lookup", "percentiles")
        if low < 0 or high > 1 or (exact_low and low <= 0):
            problems.add(path, "must lie in (0, 1]")
        elif low >= high and not spec.is_fixed:
            problems.add(path, "has no probability mass in (0, 1]")
        else:
            for item in prior_warnings(spec, path):
                problems.warn(*item)
        return spec
    if domain == "percent":
        # a growth of -100% or less would be a factor of zero or below
        low, _ = spec.support()
        exact_low = spec.is_fixed or spec.dist in ("lookup", "percentiles")
        if low < -100 or (exact_low and low <= -100):
            got = f"got {low:g}" if spec.is_fixed else f"this {spec.dist} prior can be {low:g}; set lower >= -100"
            problems.add(path, f"must be greater than -100 (percent per year), {got}")
    elif domain == "positive" and not spec.is_positive():
        low, _ = spec.support()
        if spec.is_fixed:
            problems.add(path, f"must be positive, got {quote(spec.params['value'])}")
        else:
            problems.add(path, f"must be positive, but this {spec.dist} prior can be {low:g}; set lower > 0")
    for item in prior_warnings(spec, path):
        problems.warn(*item)
    return spec


def _share(x: float) -> str:
    """Return a probability as a percentage, for messages."""
    return f"{100 * x:.3g}%"


def _bounds_text(spec: PriorSpec) -> str:
    return f"[{spec.lower:g}, {spec.upper:g}]"


def _percentile_clamps(spec: PriorSpec) -> str | None:
    """Say what a percentile table that does not run from 0 to 100 clamps; None if nothing."""
    (first, low_value), (last, high_value) = spec.points[0], spec.points[-1]
    f_low = spec.cdf(spec.lower) if math.isfinite(spec.lower) else 0.0
    f_high = spec.cdf(spec.upper) if math.isfinite(spec.upper) else 1.0
    mass = f_high - f_low
    if mass <= 0:
        return None
    below = max(0.0, min(first, f_high) - f_low) / mass
    above = max(0.0, f_high - max(last, f_low)) / mass
    unit = "log10 " if spec.log10 else ""
    parts = []
    if below > 0:
        parts.append(f"{_share(below)} of the draws are clamped to its first value ({unit}{low_value:g})")
    if above > 0:
        parts.append(f"{_share(above)} to its last ({unit}{high_value:g})")
    if not parts:
        return None
    return (
        f"percentile table from p{100 * first:g} to p{100 * last:g}: "
        + " and ".join(parts)
        + "; add points at 0 and 100 to spread them"
    )


def _clamped_share(spec: PriorSpec) -> tuple[float, str]:
    """Share of a tabulated prior's draws beyond the values its table keeps, which are clamped; and that range."""
    mass = spec.truncated_mass()
    low, high = _LOG_RANGE if spec.log10_table else (-_LOG_RANGE[1], _LOG_RANGE[1])
    if mass <= 0:
        return 0.0, ""
    below = max(0.0, spec.cdf(min(low, spec.upper)) - spec.cdf(spec.lower)) if low > spec.lower else 0.0
    above = max(0.0, spec.sf(max(high, spec.lower)) - spec.sf(spec.upper)) if high < spec.upper else 0.0
    return (below + above) / mass, f"[{low:g}, {high:g}]"


def prior_warnings(spec: PriorSpec, path: str) -> list[tuple[str, str]]:
    """Warnings about a valid prior: what its draws may surprise by.

    - A ``percentiles`` table whose points do not run from 0 to 100 clamps draws onto
      its end values: the share clamped at each end.
    - A truncation (``lower``/``upper``, or utilization's (0, 1]) that keeps less than
      :data:`SMALL_MASS` of the prior's probability; for a mixture, also of each
      component (which then gets a smaller share of the draws than its weight).
    - A tabulated prior with more than one draw in a million beyond 1e+-300 (a log
      Student t with one degree of freedom), which are clamped there.

    Parameters
    ----------
    spec : PriorSpec
        A validated prior, after :func:`check_domain`.
    path : str
        Its key path.

    Returns
    -------
    list of (str, str)
        ``(key_path, message)`` pairs.
    """
    out: list[tuple[str, str]] = []
    if spec.dist in ("fixed", "lookup"):
        return out
    mass = spec.truncated_mass()
    if spec.is_truncated and mass < SMALL_MASS:
        out.append(
            (
                path,
                f"truncating it to {_bounds_text(spec)} keeps only {_share(mass)} of its probability: every draw "
                "comes from that part; widen the bounds or move the prior",
            )
        )
    if spec.dist == "percentiles":
        clamps = _percentile_clamps(spec)
        if clamps is not None:
            out.append((path, clamps))
    if spec.dist in TABULATED:
        share, kept = _clamped_share(spec)
        if share > 1e-6:
            out.append((path, f"{share:.2g} of its draws lie outside {kept} and are clamped to it; set lower/upper"))
    if spec.dist == "mixture":
        components = []
        for component in spec.components:
            has_unit = isinstance(component.written, dict) and "unit" in component.written
            factor = spec.scale / component.scale if has_unit else 1.0
            components.append(
                replace(
                    component,
                    lower=max(component.lower, spec.lower * factor),
                    upper=min(component.upper, spec.upper * factor),
                )
            )
        masses = [c.truncated_mass() for c in components]
        total = math.fsum(w * m for w, m in zip(spec.weights, masses, strict=True))
        for i, (component, weight, kept) in enumerate(zip(components, spec.weights, masses, strict=True)):
            where = f"{path}.components[{i}]"
            if component.is_truncated and kept < SMALL_MASS and total > 0:
                out.append(
                    (
                        where,
                        f"the mixture's bounds keep only {_share(kept)} of this component's probability: it gets "
                        f"{_share(weight * kept / total)} of the draws instead of its weight {_share(weight)}",
                    )
                )
            # the component's own warnings (its clamps within the mixture's bounds), its mass said above
            out += [item for item in prior_warnings(component, where) if not item[1].startswith("truncating it")]
    return out
