"""Scenario files: TOML -> validated, typed :class:`Scenario`.

Every problem in a file is collected with its key path (``spend.doubling_time.p95``)
before anything is sampled, and reported together in one :class:`ScenarioError`.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scipy import stats

__all__ = [
    "BUILTIN_REFERENCES",
    "METRICS",
    "PriorSpec",
    "Question",
    "Regime",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
]

#: Trajectory variables a scenario produces, with their units.
METRICS: dict[str, str] = {
    "spend": "USD",
    "cap": "USD",
    "flop_per_usd": "FLOP/USD",
    "physical_flop": "FLOP",
    "algo_multiplier": "1",
    "effective_flop": "FLOP",
}

#: Reference runs every scenario knows, by name -> training compute [FLOP].
BUILTIN_REFERENCES: dict[str, float] = {"GPT-3": 3.14e23, "GPT-4": 2.1e25}

Z95 = float(stats.norm.ppf(0.95))

#: A reference name as the question language reads it.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")

#: Most grid years a scenario may have.
MAX_YEARS = 10_000  # the 90% interval is mean +- Z95 sd

_TIME_UNITS = {
    "year": 1.0,
    "years": 1.0,
    "month": 1.0 / 12.0,
    "months": 1.0 / 12.0,
    "day": 1.0 / 365.25,
    "days": 1.0 / 365.25,
}

# The forms each distribution accepts; exactly one form must be given.
_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lognormal": (("p5", "p95"), ("median", "gsd"), ("mu", "sigma")),
    "normal": (("p5", "p95"), ("mean", "sd")),
    "uniform": (("low", "high"),),
    "loguniform": (("low", "high"),),
    "fixed": (("value",),),
    "percentiles": (("points",),),
    "mixture": (("components", "weights"),),
    "lookup": (("of", "points"),),
}
_OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "percentiles": ("log10",),
    "lookup": ("log10", "interpolation"),
}
_COMMON_KEYS = ("dist", "unit", "lower", "upper")

# Where each parameter lives: section -> key -> (domain, is_time, is_growth_rate).
# Domain "positive" means > 0, "fraction" means in (0, 1].
_PARAMETERS: dict[str, dict[str, tuple[str, bool]]] = {
    "spend": {
        "initial": ("positive", False),
        "doubling_time": ("positive", True),
        "growth_per_year": ("positive", False),
        "cap": ("positive", False),
        "cap_gdp_fraction": ("positive", False),
        "cap_growth_per_year": ("positive", False),
    },
    "economy": {"gdp": ("positive", False), "gdp_growth_per_year": ("positive", False)},
    "hardware": {
        "flop_per_usd": ("positive", False),
        "price_per_flop": ("positive", False),
        "doubling_time": ("positive", True),
        "growth_per_year": ("positive", False),
        "max_flop_per_usd": ("positive", False),
    },
    "utilization": {"value": ("fraction", False)},
    "algorithms": {
        "doubling_time": ("positive", True),
        "growth_per_year": ("positive", False),
        "max_gain": ("positive", False),
    },
    "milestone": {"requirement": ("positive", False)},
    "reference": {"flop": ("positive", False)},
}
_STRING_KEYS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "scenario": {"name": None, "description": None},
    "spend": {"cap_kind": ("hard", "soft")},
    "hardware": {"ceiling_kind": ("hard", "soft")},
    "algorithms": {"ceiling_kind": ("hard", "soft")},
    "milestone": {"name": None, "metric": tuple(METRICS)},
    "reference": {"name": None},
}
_SECTIONS = (
    "scenario",
    "reference",
    "spend",
    "economy",
    "hardware",
    "utilization",
    "algorithms",
    "milestone",
    "regimes",
    "correlations",
    "questions",
    "estimate",
)
_REQUIRED_SECTIONS = ("scenario", "spend", "hardware", "utilization")
# Growth parameters a regime may change: section -> keys.
_REGIME_KEYS: dict[str, tuple[str, ...]] = {
    "spend": ("doubling_time", "growth_per_year", "cap_growth_per_year"),
    "hardware": ("doubling_time", "growth_per_year"),
    "algorithms": ("doubling_time", "growth_per_year"),
    "economy": ("gdp_growth_per_year",),
}


class ScenarioError(ValueError):
    """Problems found in a scenario file, each with its key path.

    Parameters
    ----------
    source : str
        The file name the problems are reported against.
    problems : list of tuple of (str, str)
        ``(key_path, message)`` pairs; an empty key path means the whole file.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return one ``file: key.path: message`` line per problem."""
        return [
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
            for path, message in self.problems
        ]


@dataclass(frozen=True)
class PriorSpec:
    """A validated prior, in canonical units (year, USD, FLOP).

    Parameters
    ----------
    name : str
        Dotted parameter name, e.g. ``"spend.doubling_time"`` or, inside a regime,
        ``"spend.doubling_time@2030"``.
    dist : str
        One of ``fixed``, ``normal``, ``lognormal``, ``uniform``, ``loguniform``,
        ``percentiles``, ``mixture``, ``lookup``.
    params : dict of str to float
        Canonical parameters in written units: ``value``; ``mean, sd``; ``mu, sigma``
        (natural log); ``low, high``.
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

    def standard_score(self, x: float) -> float:
        """Return the standard normal score of ``x`` under a normal or lognormal prior."""
        p = self.params
        if self.dist == "normal":
            return (x - p["mean"]) / p["sd"]
        return (math.log(x) - p["mu"]) / p["sigma"] if x > 0 else -math.inf

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
        elif self.dist in ("normal",):
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


@dataclass(frozen=True)
class Regime:
    """Growth parameters that change from a given year on.

    Parameters
    ----------
    start_year : float
        The regime covers every grid interval starting at or after this year [year].
    priors : dict of str to PriorSpec
        Changed parameters, keyed by dotted name without the ``@year`` suffix.
    """

    start_year: float
    priors: dict[str, PriorSpec]


@dataclass(frozen=True)
class Question:
    """A question written in a scenario's ``[[questions]]``.

    Parameters
    ----------
    metric : str
        Trajectory variable the question is about.
    threshold : float, "requirement" or None
        Absolute threshold in the metric's unit, or the milestone's requirement (then
        ``metric`` defaults to the milestone's).
    multiple : float or None
        Threshold as a multiple of ``reference``.
    reference : str
        Name of the reference run ``multiple`` multiplies.
    years : tuple of float
        "By" years [year].
    text : str
        A question in the query language, when given as text.
    """

    metric: str = "effective_flop"
    threshold: float | str | None = None
    multiple: float | None = None
    reference: str = ""
    years: tuple[float, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Parameters
    ----------
    name, description : str
        From ``[scenario]``.
    start, end, step : float
        The year grid ``start, start + step, ..., end`` [year].
    priors : dict of str to PriorSpec
        Every base-regime parameter by dotted name (``spend.initial``, ...).
    regimes : tuple of Regime
        Later regimes, in increasing ``start_year``.
    correlations : tuple of tuple of (str, str, float)
        ``(name_a, name_b, spearman_rho)``.
    cap_kind, hardware_ceiling_kind, algorithms_ceiling_kind : str
        ``"hard"`` or ``"soft"``.
    reference_name : str
        Name of the scenario's reference run (``reference.flop`` is its prior).
    milestone_name, milestone_metric : str
        The milestone, when ``milestone.requirement`` is given.
    questions : tuple of Question
        From ``[[questions]]``.
    source : str
        The file name (for messages).
    text : str
        The file's text as written.
    """

    name: str
    description: str
    start: float
    end: float
    step: float
    priors: dict[str, PriorSpec]
    regimes: tuple[Regime, ...] = ()
    correlations: tuple[tuple[str, str, float], ...] = ()
    cap_kind: str = "hard"
    hardware_ceiling_kind: str = "hard"
    algorithms_ceiling_kind: str = "hard"
    reference_name: str = "GPT-4"
    milestone_name: str = ""
    milestone_metric: str = "effective_flop"
    questions: tuple[Question, ...] = ()
    source: str = "<string>"
    text: str = ""

    @property
    def n_years(self) -> int:
        """Number of grid years."""
        return round((self.end - self.start) / self.step) + 1

    def all_priors(self) -> dict[str, PriorSpec]:
        """Return base and regime priors by name (regime names end in ``@year``)."""
        out = dict(self.priors)
        for regime in self.regimes:
            out.update({p.name: p for p in regime.priors.values()})
        return out


# --------------------------------------------------------------------------- #
# Parsing                                                                      #
# --------------------------------------------------------------------------- #


class _Problems:
    """Collects ``(key_path, message)`` pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, path: str, problems: _Problems) -> float | None:
    if not _is_number(value):
        problems.add(path, f"must be a number, got {value!r}")
        return None
    if not math.isfinite(value):
        problems.add(path, f"must be finite, got {value!r}")
        return None
    return float(value)


def _parse_prior(
    name: str, path: str, raw: Any, problems: _Problems, is_time: bool, nested: bool = False
) -> PriorSpec | None:
    """Parse one prior (a number or a table with ``dist``) at ``path``."""
    if _is_number(raw):
        value = _number(raw, path, problems)
        if value is None:
            return None
        return PriorSpec(name=name, dist="fixed", params={"value": value}, written=raw)
    if not isinstance(raw, dict):
        problems.add(path, f"must be a number or a prior table, got {raw!r}")
        return None
    dist = raw.get("dist")
    if dist is None:
        problems.add(path, 'missing "dist" (one of ' + ", ".join(_FORMS) + ")")
        return None
    if dist not in _FORMS:
        problems.add(f"{path}.dist", f"unknown dist {dist!r}; known: " + ", ".join(_FORMS))
        return None
    if nested and dist in ("mixture", "lookup"):
        problems.add(f"{path}.dist", f"a mixture component cannot be a {dist}")
        return None
    n_before = len(problems.items)
    forms = _FORMS[dist]
    allowed = set(_COMMON_KEYS) | {k for form in forms for k in form}
    allowed |= set(_OPTIONAL_KEYS.get(dist, ()))
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
        elif unit not in _TIME_UNITS:
            problems.add(f"{path}.unit", f"unknown unit {unit!r}; known: year, month, day")
        else:
            scale = _TIME_UNITS[unit]
    lower = upper = None
    if "lower" in raw:
        lower = _number(raw["lower"], f"{path}.lower", problems)
    if "upper" in raw:
        upper = _number(raw["upper"], f"{path}.upper", problems)
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
    if low > high or (low == high and spec.dist != "fixed") or _truncated_mass(spec) <= 0:
        problems.add(path, "lower/upper leave no probability mass")
        return None
    return spec


def _truncated_mass(spec: PriorSpec) -> float:
    """Probability a prior keeps between its lower and upper bounds (normal, lognormal, mixture)."""
    if not (math.isfinite(spec.lower) or math.isfinite(spec.upper)):
        return 1.0
    if spec.dist == "mixture":
        return math.fsum(
            weight * _truncated_mass(replace(c, lower=max(c.lower, spec.lower), upper=min(c.upper, spec.upper)))
            for weight, c in zip(spec.weights, spec.components, strict=True)
        )
    if spec.dist in ("uniform", "loguniform", "fixed", "percentiles"):
        low, high = spec.support()
        return 1.0 if low < high or (low == high and spec.dist == "fixed") else 0.0
    if spec.dist not in ("normal", "lognormal"):
        return 1.0
    z_low, z_high = spec.standard_score(spec.lower), spec.standard_score(spec.upper)
    if z_low > 0:  # the upper tail, where the CDF rounds to 1
        return float(stats.norm.sf(z_low) - stats.norm.sf(z_high))
    return float(stats.norm.cdf(z_high) - stats.norm.cdf(z_low))


def _parse_form(
    name: str,
    path: str,
    raw: dict[str, Any],
    dist: str,
    form: tuple[str, ...],
    problems: _Problems,
    is_time: bool,
) -> PriorSpec | None:
    """Turn one distribution form into canonical parameters."""
    if dist in ("percentiles", "lookup", "mixture"):
        return _parse_table_form(name, path, raw, dist, problems, is_time)
    values = {k: _number(raw[k], f"{path}.{k}", problems) for k in form}
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
            params = {"mu": (log5 + log95) / 2, "sigma": (log95 - log5) / (2 * Z95)}
        else:
            params = {"mean": (v["p5"] + v["p95"]) / 2, "sd": (v["p95"] - v["p5"]) / (2 * Z95)}
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


def _parse_points(path: str, raw: Any, problems: _Problems) -> list[tuple[float, float]] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add(path, "must be a list of at least two [x, value] pairs")
        return None
    points = []
    for i, pair in enumerate(raw):
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_number(x) for x in pair)):
            problems.add(f"{path}[{i}]", f"must be a pair of numbers [x, value], got {pair!r}")
            return None
        points.append((float(pair[0]), float(pair[1])))
    xs = [x for x, _ in points]
    if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        problems.add(path, "first entries must be strictly increasing")
        return None
    return points


def _parse_table_form(
    name: str, path: str, raw: dict[str, Any], dist: str, problems: _Problems, is_time: bool
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
    parsed_weights = [_number(w, f"{path}.weights[{i}]", problems) for i, w in enumerate(weights)]
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
        _parse_prior(f"{name}[{i}]", f"{path}.components[{i}]", c, problems, is_time, nested=True)
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


def _check_domain(spec: PriorSpec, path: str, domain: str, problems: _Problems) -> PriorSpec:
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


def _parse_section(
    section: str,
    table: dict[str, Any],
    problems: _Problems,
    name_suffix: str = "",
    path_prefix: str = "",
    allowed: tuple[str, ...] | None = None,
) -> dict[str, PriorSpec]:
    """Parse the priors of one section, reporting unknown keys."""
    parameters = _PARAMETERS.get(section, {})
    strings = _STRING_KEYS.get(section, {})
    known = tuple(parameters) + tuple(strings) if allowed is None else allowed
    priors: dict[str, PriorSpec] = {}
    for key, raw in table.items():
        path = f"{path_prefix}{section}.{key}"
        if key not in known:
            problems.add(path, f"unknown key; known keys of [{section}]: " + ", ".join(known))
            continue
        if key in strings:
            choices = strings[key]
            if not isinstance(raw, str):
                problems.add(path, f"must be a string, got {raw!r}")
            elif choices is not None and raw not in choices:
                problems.add(path, f"must be one of {', '.join(choices)}; got {raw!r}")
            continue
        domain, is_time = parameters[key]
        spec = _parse_prior(f"{section}.{key}{name_suffix}", path, raw, problems, is_time)
        if spec is not None:
            priors[f"{section}.{key}"] = _check_domain(spec, path, domain, problems)
    if section == "reference" and isinstance(table.get("name"), str) and not _WORD.fullmatch(table["name"]):
        problems.add(
            f"{path_prefix}reference.name",
            f"{table['name']!r} must be one word (letters, digits, _ . -) so that questions can say 'K x NAME'",
        )
    for a, b in (
        ("doubling_time", "growth_per_year"),
        ("flop_per_usd", "price_per_flop"),
        ("cap", "cap_gdp_fraction"),
    ):
        if a in table and b in table:
            problems.add(f"{path_prefix}{section}", f"give {a} or {b}, not both")
    return priors


def _year(raw: Any, path: str, problems: _Problems) -> float | None:
    value = _number(raw, path, problems)
    return value


def _parse_grid(table: dict[str, Any], problems: _Problems) -> tuple[float, float, float] | None:
    for key in table:
        if key not in ("name", "description", "start", "end", "step"):
            problems.add(
                f"scenario.{key}",
                "unknown key; known keys of [scenario]: name, description, start, end, step",
            )
    for key in ("name", "description"):
        if key in table and not isinstance(table[key], str):
            problems.add(f"scenario.{key}", "must be a string")
    missing = [k for k in ("start", "end") if k not in table]
    for key in missing:
        problems.add(f"scenario.{key}", "missing (the first and last year of the grid)")
    if missing:
        return None
    start = _year(table["start"], "scenario.start", problems)
    end = _year(table["end"], "scenario.end", problems)
    step = _number(table.get("step", 1), "scenario.step", problems)
    if start is None or end is None or step is None:
        return None
    if start >= end:
        problems.add("scenario.end", f"must be after start ({start:g}), got {end:g}")
        return None
    if step <= 0:
        problems.add("scenario.step", "must be positive")
        return None
    n_steps = (end - start) / step
    if n_steps + 1 > MAX_YEARS:
        problems.add("scenario.end", f"the grid would have {n_steps + 1:.0f} years; at most {MAX_YEARS}")
        return None
    if abs(n_steps - round(n_steps)) > 1e-9:
        problems.add("scenario.step", f"must divide end - start = {end - start:g} years")
        return None
    return start, end, step


def _parse_regimes(raw: Any, grid: tuple[float, float, float] | None, problems: _Problems) -> tuple[Regime, ...]:
    if not isinstance(raw, list):
        problems.add("regimes", "must be an array of tables ([[regimes]])")
        return ()
    regimes: list[Regime] = []
    for i, table in enumerate(raw):
        prefix = f"regimes[{i}]"
        if not isinstance(table, dict) or "from" not in table:
            problems.add(prefix, 'missing "from" (the year the regime starts)')
            continue
        year = _year(table["from"], f"{prefix}.from", problems)
        if year is None:
            continue
        if grid is not None and not grid[0] < year < grid[1]:
            problems.add(
                f"{prefix}.from",
                f"{year:g} is outside the horizon: a regime must start strictly between start "
                f"({grid[0]:g}) and end ({grid[1]:g}), so that it covers at least one interval",
            )
        if regimes and year <= regimes[-1].start_year:
            problems.add(f"{prefix}.from", "regimes must be in increasing order of year")
        priors: dict[str, PriorSpec] = {}
        for section, entries in table.items():
            if section == "from":
                continue
            if section not in _REGIME_KEYS or not isinstance(entries, dict):
                problems.add(
                    f"{prefix}.{section}",
                    "a regime changes only growth parameters: "
                    + ", ".join(f"{s}.{k}" for s, keys in _REGIME_KEYS.items() for k in keys),
                )
                continue
            priors.update(
                _parse_section(
                    section,
                    entries,
                    problems,
                    name_suffix=f"@{year:g}",
                    path_prefix=f"{prefix}.",
                    allowed=_REGIME_KEYS[section],
                )
            )
        regimes.append(Regime(start_year=year, priors=priors))
    return tuple(regimes)


def _parse_correlations(
    raw: Any, names: dict[str, PriorSpec], invalid: set[str], problems: _Problems
) -> tuple[tuple[str, str, float], ...]:
    if not isinstance(raw, list):
        problems.add("correlations", "must be an array of tables ([[correlations]])")
        return ()
    out = []
    seen = set()
    for i, table in enumerate(raw):
        prefix = f"correlations[{i}]"
        if not isinstance(table, dict):
            problems.add(prefix, "must be a table with pair and rho")
            continue
        for key in table:
            if key not in ("pair", "rho"):
                problems.add(f"{prefix}.{key}", "unknown key; known keys: pair, rho")
        pair, rho = table.get("pair"), table.get("rho")
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            problems.add(f"{prefix}.pair", "must be two dotted prior names")
            continue
        ok = True
        for name in pair:
            if name in invalid:  # already reported where it is defined
                ok = False
            elif name not in names:
                problems.add(f"{prefix}.pair", f"unknown prior {name!r}; known: " + ", ".join(sorted(names)))
                ok = False
            elif names[name].dist in ("fixed", "lookup", "mixture"):
                dist = names[name].dist
                why = "its draws do not rise with one normal" if dist == "mixture" else "it is not sampled"
                problems.add(f"{prefix}.pair", f"{name!r} is a {dist} prior and cannot be correlated ({why})")
                ok = False
        if ok and pair[0] == pair[1]:
            problems.add(f"{prefix}.pair", "names the same prior twice")
            ok = False
        key = frozenset(pair)
        if ok and key in seen:
            problems.add(f"{prefix}.pair", "this pair is already correlated")
            ok = False
        seen.add(key)
        value = _number(rho, f"{prefix}.rho", problems) if rho is not None else None
        if rho is None:
            problems.add(f"{prefix}.rho", "missing")
        elif value is not None and not -1 < value < 1:
            problems.add(f"{prefix}.rho", f"must lie in (-1, 1), got {value:g}")
            ok = False
        if ok and value is not None:
            out.append((pair[0], pair[1], value))
    return tuple(out)


def _parse_questions(
    raw: Any, grid: tuple[float, float, float] | None, problems: _Problems, milestone: dict[str, Any] | None = None
) -> tuple[Question, ...]:
    if not isinstance(raw, list):
        problems.add("questions", "must be an array of tables ([[questions]])")
        return ()
    out = []
    known = ("metric", "multiple", "threshold", "reference", "by", "text")
    for i, table in enumerate(raw):
        prefix = f"questions[{i}]"
        if not isinstance(table, dict):
            problems.add(prefix, "must be a table")
            continue
        for key in table:
            if key not in known:
                problems.add(f"{prefix}.{key}", "unknown key; known keys: " + ", ".join(known))
        if "text" in table:
            if not isinstance(table["text"], str):
                problems.add(f"{prefix}.text", "must be a string")
            elif len(table) > 1:
                problems.add(prefix, "give either text or metric/threshold/by, not both")
            else:
                out.append(Question(text=table["text"]))
            continue
        requirement = table.get("threshold") == "requirement"
        if requirement and milestone is None:
            problems.add(f"{prefix}.threshold", '"requirement" needs a [milestone] requirement')
        # a milestone question is about the milestone's metric unless it says otherwise
        default_metric = (milestone or {}).get("metric", "effective_flop") if requirement else "effective_flop"
        metric = table.get("metric", default_metric)
        if metric not in METRICS:
            problems.add(f"{prefix}.metric", f"unknown metric {metric!r}; known: " + ", ".join(METRICS))
        if ("multiple" in table) == ("threshold" in table):
            problems.add(prefix, "give exactly one of multiple or threshold")
            continue
        key = "multiple" if "multiple" in table else "threshold"
        value: float | str | None = "requirement"
        if not requirement:
            value = _number(table[key], f"{prefix}.{key}", problems)
            if value is not None and value <= 0:
                problems.add(f"{prefix}.{key}", "must be positive")
        reference = table.get("reference", "")
        if not isinstance(reference, str):
            problems.add(f"{prefix}.reference", "must be a reference name")
        by = table.get("by")
        by = [by] if _is_number(by) else by
        if not isinstance(by, list) or not by or not all(_is_number(y) for y in by):
            problems.add(f"{prefix}.by", "must be a year or a list of years")
            continue
        if grid is not None:
            for year in by:
                if not grid[0] <= year <= grid[1]:
                    problems.add(f"{prefix}.by", f"{year:g} is outside the horizon {grid[0]:g}..{grid[1]:g}")
        out.append(
            Question(
                metric=metric,
                threshold=value if key == "threshold" else None,
                multiple=value if key == "multiple" else None,
                reference=reference,
                years=tuple(float(y) for y in by),
            )
        )
    return tuple(out)


def _check_structure(priors: dict[str, PriorSpec], data: dict[str, Any], problems: _Problems) -> None:
    """Check which parameters a section needs, and how they combine."""
    needs = {
        "spend": (("initial",), ("doubling_time", "growth_per_year")),
        "hardware": (("flop_per_usd", "price_per_flop"), ("doubling_time", "growth_per_year")),
        "utilization": (("value",),),
    }
    for section, groups in needs.items():
        if section not in data:
            continue
        for group in groups:
            if not any(f"{section}.{k}" in priors or k in data[section] for k in group):
                problems.add(f"{section}.{group[0]}", "missing (give " + " or ".join(group) + ")")
    if "algorithms" in data and not any(k in data["algorithms"] for k in ("doubling_time", "growth_per_year")):
        problems.add("algorithms.doubling_time", "missing (give doubling_time or growth_per_year)")
    spend = data.get("spend", {})
    if "cap_gdp_fraction" in spend:
        if "gdp" not in data.get("economy", {}):
            problems.add("economy.gdp", "missing (spend.cap_gdp_fraction needs the start year's GDP)")
        if "cap_growth_per_year" in spend:
            problems.add("spend.cap_growth_per_year", "a GDP cap grows with economy.gdp_growth_per_year")
    elif "economy" in data:
        problems.add("economy", "is used only with spend.cap_gdp_fraction")
    has_cap = "cap" in spend or "cap_gdp_fraction" in spend
    for key in ("cap_kind", "cap_growth_per_year"):
        if key in spend and not has_cap:
            problems.add(f"spend.{key}", "needs spend.cap or spend.cap_gdp_fraction")
    for section, ceiling in (("hardware", "max_flop_per_usd"), ("algorithms", "max_gain")):
        if "ceiling_kind" in data.get(section, {}) and ceiling not in data[section]:
            problems.add(f"{section}.ceiling_kind", f"needs {section}.{ceiling}")
    if "milestone" in data and "requirement" not in data["milestone"]:
        problems.add("milestone.requirement", "missing (the FLOP the milestone needs)")


def _check_regime_forms(
    priors: dict[str, PriorSpec], regimes: tuple[Regime, ...], data: dict[str, Any], problems: _Problems
) -> None:
    """Check that a regime changes only parameters the scenario uses."""
    spend = data.get("spend", {})
    for i, regime in enumerate(regimes):
        for key in regime.priors:
            path = f"regimes[{i}].{key}"
            if key == "spend.cap_growth_per_year" and "cap" not in spend:
                problems.add(path, "needs spend.cap")
            if key == "economy.gdp_growth_per_year" and "cap_gdp_fraction" not in spend:
                problems.add(path, "needs spend.cap_gdp_fraction")
            if key.startswith("algorithms.") and "algorithms" not in data:
                problems.add(path, "needs an [algorithms] section")


def _check_lookups(
    priors: dict[str, PriorSpec], invalid: set[str], problems: _Problems, path_of: dict[str, str]
) -> None:
    """Check that lookup sources exist and form no cycle."""
    in_reported_cycle: set[str] = set()
    for name, spec in priors.items():
        if spec.dist != "lookup" or spec.of in invalid or name in in_reported_cycle:
            continue
        if spec.of not in priors:
            problems.add(f"{path_of[name]}.of", f"unknown prior {spec.of!r}; known: " + ", ".join(sorted(priors)))
            continue
        seen = {name}
        source = spec.of
        while source in priors and priors[source].dist == "lookup":
            if source in seen:
                problems.add(f"{path_of[name]}.of", "lookups form a cycle through " + " -> ".join(sorted(seen)))
                in_reported_cycle |= seen
                break
            seen.add(source)
            source = priors[source].of
        if source in priors and priors[source].log10 is False and spec.log10:
            low, _ = priors[source].support()
            if low <= 0:
                problems.add(f"{path_of[name]}.log10", f"log10 of {source!r} needs a positive prior")


def _check_correlation_matrix(correlations: tuple[tuple[str, str, float], ...], problems: _Problems) -> None:
    """Name the first pair that makes the copula matrix not positive definite."""
    from mcscale.priors import normal_correlation  # priors imports this module

    names: list[str] = []
    for a, b, _ in correlations:
        names += [n for n in (a, b) if n not in names]
    for i in range(1, len(correlations) + 1):
        try:
            normal_correlation(names, correlations[:i])
        except ValueError:
            a, b, rho = correlations[i - 1]
            problems.add(
                f"correlations[{i - 1}]",
                f"pair ({a}, {b}) with rho = {rho:g} makes the correlation matrix not positive definite",
            )
            return


def _given_names(data: dict[str, Any]) -> set[str]:
    """Names of every parameter the file gives, valid or not."""
    names = {
        f"{section}.{key}"
        for section, keys in _PARAMETERS.items()
        if isinstance(data.get(section), dict)
        for key in data[section]
        if key in keys
    }
    raw_regimes = data.get("regimes", [])
    for table in raw_regimes if isinstance(raw_regimes, list) else []:
        if not (isinstance(table, dict) and _is_number(table.get("from"))):
            continue
        for section, keys in _REGIME_KEYS.items():
            entries = table.get(section)
            if isinstance(entries, dict):
                names |= {f"{section}.{key}@{table['from']:g}" for key in entries if key in keys}
    return names


def _apply_estimate(data: dict[str, Any], problems: _Problems) -> None:
    """Replace ``[estimate]`` by the prior it sets (``spend.initial`` or ``hardware.flop_per_usd``).

    The estimate becomes an ordinary prior table (a number, a lognormal, or a percentile
    table: see :func:`mcscale.estimate.scenario_prior`), put into its section before the
    rest of validation, so the engine sees nothing new.
    """
    from mcscale.estimate import TARGETS, EstimateError, scenario_prior  # lazy: estimate imports this module

    table = data.pop("estimate")
    if not isinstance(table, dict):
        return  # reported already: must be a table
    try:
        section, key, prior = scenario_prior(table)
    except EstimateError as exc:
        for path, message in exc.problems:
            problems.add(f"estimate.{path}" if path else "estimate", message)
        if table.get("target") not in TARGETS:
            return
        # The file fails anyway; a stand-in keeps the target from being reported missing too.
        section, key, prior = *TARGETS[table["target"]][:2], 1.0
    target = data.get(section)
    if not isinstance(target, dict):
        return  # the missing or malformed section is reported already
    for given in (key, "price_per_flop") if key == "flop_per_usd" else (key,):
        if given in target:
            problems.add(f"{section}.{given}", f'given here and by [estimate] (target = "{section}.{key}"); keep one')
            return
    target[key] = prior


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text.

    Parameters
    ----------
    text : str
        The TOML text.
    source : str, optional
        File name used in error messages.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With every problem found, each with its key path.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"invalid TOML: {exc}")]) from None
    problems = _Problems()
    for key in data:
        if key not in _SECTIONS:
            problems.add(key, "unknown section; known: " + ", ".join(_SECTIONS))
    for key in _REQUIRED_SECTIONS:
        if key not in data:
            problems.add(key, f"missing required section [{key}]")
    for key in _SECTIONS:
        if key in data and key not in ("regimes", "correlations", "questions") and not isinstance(data[key], dict):
            problems.add(key, "must be a table")
            data.pop(key)

    if "estimate" in data:
        _apply_estimate(data, problems)
    grid = _parse_grid(data["scenario"], problems) if "scenario" in data else None
    priors: dict[str, PriorSpec] = {}
    for section in _PARAMETERS:
        if section in data:
            priors.update(_parse_section(section, data[section], problems))
    if "reference.flop" not in priors:
        if "reference" in data:
            problems.add("reference.flop", "missing (the reference run's training compute [FLOP])")
        priors["reference.flop"] = PriorSpec(
            name="reference.flop", dist="fixed", params={"value": BUILTIN_REFERENCES["GPT-4"]}
        )
    _check_structure(priors, data, problems)
    regimes = _parse_regimes(data.get("regimes", []), grid, problems)
    _check_regime_forms(priors, regimes, data, problems)

    all_priors = dict(priors)
    path_of = {name: name for name in priors}
    for i, regime in enumerate(regimes):
        for key, spec in regime.priors.items():
            all_priors[spec.name] = spec
            path_of[spec.name] = f"regimes[{i}].{key}"
    # Names given but invalid, or reported missing: a reference to one would only repeat that error.
    invalid = (_given_names(data) - set(all_priors)) | {path for path, _ in problems.items if path not in all_priors}
    if any(message.startswith("unknown section") for _, message in problems.items):  # a misspelt section
        invalid |= {f"{section}.{key}" for section, keys in _PARAMETERS.items() if section not in data for key in keys}
    _check_lookups(all_priors, invalid, problems, path_of)
    correlations = _parse_correlations(data.get("correlations", []), all_priors, invalid, problems)
    if correlations:  # pairs naming invalid priors were already left out
        _check_correlation_matrix(correlations, problems)
    milestone = data.get("milestone") if isinstance(data.get("milestone"), dict) else None
    questions = _parse_questions(data.get("questions", []), grid, problems, milestone)

    if problems.items or grid is None:
        raise ScenarioError(source, problems.items)
    table = data["scenario"]
    spend = data.get("spend", {})
    return Scenario(
        name=table.get("name", Path(source).stem),
        description=table.get("description", ""),
        start=grid[0],
        end=grid[1],
        step=grid[2],
        priors=priors,
        regimes=regimes,
        correlations=correlations,
        cap_kind=spend.get("cap_kind", "hard"),
        hardware_ceiling_kind=data.get("hardware", {}).get("ceiling_kind", "hard"),
        algorithms_ceiling_kind=data.get("algorithms", {}).get("ceiling_kind", "hard"),
        reference_name=data.get("reference", {}).get("name", "GPT-4"),
        milestone_name=data.get("milestone", {}).get("name", "milestone"),
        milestone_metric=data.get("milestone", {}).get("metric", "effective_flop"),
        questions=questions,
        source=source,
        text=text,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or path-like
        A TOML scenario file.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, or invalid; every problem is listed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [("", f"cannot read: {exc}")]) from None
    return parse_scenario(text, source=path.name)
