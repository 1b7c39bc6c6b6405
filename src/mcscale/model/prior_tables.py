"""Prior tables as written (a number, or a table with ``dist``) -> :class:`PriorSpec`, with key paths.

Shared by the scenario file reader and the estimators' inline priors: every problem
is collected with its key path (``spend.doubling_time.p95``) in a :class:`Problems`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from mcscale.model.priors import PriorSpec
from mcscale.units import TIME_UNITS, Z_90_INTERVAL

__all__ = [
    "COMMON_KEYS",
    "OPTIONAL_KEYS",
    "PRIOR_FORMS",
    "Problems",
    "check_domain",
    "is_number",
    "number",
    "parse_prior_table",
]

#: The forms each distribution accepts; exactly one form must be given.
PRIOR_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lognormal": (("p5", "p95"), ("median", "gsd"), ("mu", "sigma")),
    "normal": (("p5", "p95"), ("mean", "sd")),
    "uniform": (("low", "high"),),
    "loguniform": (("low", "high"),),
    "fixed": (("value",),),
    "percentiles": (("points",),),
    "mixture": (("components", "weights"),),
    "lookup": (("of", "points"),),
}
#: Optional keys of each distribution, beyond its form.
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "percentiles": ("log10",),
    "lookup": ("log10", "interpolation"),
}
#: Keys every prior table may have.
COMMON_KEYS = ("dist", "unit", "lower", "upper")


class Problems:
    """Collects ``(key_path, message)`` pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at a key path."""
        self.items.append((path, message))


def is_number(value: Any) -> bool:
    """Whether a TOML value is a number (an int or float, not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any, path: str, problems: Problems) -> float | None:
    """Return a finite number as float, or report it under ``path`` and return None."""
    if not is_number(value):
        problems.add(path, f"must be a number, got {value!r}")
        return None
    if not math.isfinite(value):
        problems.add(path, f"must be finite, got {value!r}")
        return None
    return float(value)


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
        problems.add(path, f"must be a number or a prior table, got {raw!r}")
        return None
    dist = raw.get("dist")
    if dist is None:
        problems.add(path, 'missing "dist" (one of ' + ", ".join(PRIOR_FORMS) + ")")
        return None
    if dist not in PRIOR_FORMS:
        problems.add(f"{path}.dist", f"unknown dist {dist!r}; known: " + ", ".join(PRIOR_FORMS))
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
    given = [form for form in forms if any(k in raw for k in form)]
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
        elif unit not in TIME_UNITS:
            problems.add(f"{path}.unit", f"unknown unit {unit!r}; known: year, month, day")
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
    if dist in ("percentiles", "lookup", "mixture"):
        return _parse_table_form(name, path, raw, dist, problems, is_time)
    values = {k: number(raw[k], f"{path}.{k}", problems) for k in form}
    if any(v is None for v in values.values()):
        return None
    v: dict[str, float] = values  # type: ignore[assignment]
    params: dict[str, float]
    if form == ("p5", "p95"):
        if v["p5"] >= v["p95"]:
            problems.add(f"{path}.p95", "must be greater than p5")
            return None
        if dist == "lognormal":
            if v["p5"] <= 0:
                problems.add(f"{path}.p5", "must be positive for a lognormal")
                return None
            log5, log95 = math.log(v["p5"]), math.log(v["p95"])
            params = {"mu": (log5 + log95) / 2, "sigma": (log95 - log5) / (2 * Z_90_INTERVAL)}
        else:
            params = {"mean": (v["p5"] + v["p95"]) / 2, "sd": (v["p95"] - v["p5"]) / (2 * Z_90_INTERVAL)}
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


def _parse_points(path: str, raw: Any, problems: Problems) -> list[tuple[float, float]] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add(path, "must be a list of at least two [x, value] pairs")
        return None
    points = []
    for i, pair in enumerate(raw):
        if not (isinstance(pair, list) and len(pair) == 2 and all(is_number(x) for x in pair)):
            problems.add(f"{path}[{i}]", f"must be a pair of numbers [x, value], got {pair!r}")
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
    """Parse the table-valued forms: percentiles, lookup, mixture."""
    log10 = raw.get("log10", False)
    if not isinstance(log10, bool):
        problems.add(f"{path}.log10", "must be true or false")
        return None
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
        table = tuple((p / 100.0, v) for p, v in points)
        return PriorSpec(name=name, dist=dist, points=table, log10=log10)
    if dist == "lookup":
        of = raw["of"]
        if not isinstance(of, str):
            problems.add(f"{path}.of", "must be the dotted name of another prior")
            return None
        interpolation = raw.get("interpolation", "linear")
        if interpolation not in ("step", "linear"):
            problems.add(f"{path}.interpolation", f"must be 'step' or 'linear', got {interpolation!r}")
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
    """Check a prior's support against its parameter's domain; truncate utilization."""
    if domain == "fraction":
        # Utilization is truncated to (0, 1] unless the file says otherwise.
        if spec.dist != "fixed" and spec.dist != "lookup":
            spec = replace(spec, lower=max(spec.lower, 0.0), upper=min(spec.upper, 1.0))
        low, high = spec.support()
        # A table can give exactly its lowest value: a 0 there would be a run with no compute.
        exact_low = spec.is_fixed or spec.dist in ("lookup", "percentiles")
        if low < 0 or high > 1 or (exact_low and low <= 0):
            problems.add(path, "must lie in (0, 1]")
        elif low >= high and not spec.is_fixed:
            problems.add(path, "has no probability mass in (0, 1]")
        return spec
    if not spec.is_positive():
        low, _ = spec.support()
        if spec.is_fixed:
            problems.add(path, f"must be positive, got {spec.params['value']!r}")
        else:
            problems.add(path, f"must be positive, but this {spec.dist} prior can be {low:g}; set lower > 0")
    return spec
