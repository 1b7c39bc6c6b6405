"""The scenario format, described: a JSON Schema and a Markdown reference, both built from the validator's tables.

:func:`scenario_schema` returns a JSON Schema (draft 2020-12) of a scenario file, for
editors (taplo, Even Better TOML) and other tools; the package ships its output as
``mcscale/data/scenario.schema.json``. :func:`scenario_reference_markdown` returns the
reference of every section and key for the README. Both read the tables of
:mod:`mcscale.scenario_file` (sections, keys, string choices, required and exclusive
keys, defaults) and of :mod:`mcscale.model.prior_tables` (the prior forms), so that a key
the validator learns appears in both, and a key without a description here fails loudly.

The schema checks structure: sections, keys, types, string choices, prior forms, keys a
section needs and keys it may not combine. Values and rules across sections are left to
:func:`mcscale.parse_scenario`; ``scenario_schema()["description"]`` lists them.

Run ``python -m mcscale.schema`` to print the schema (``--reference`` for the Markdown);
``python -m mcscale.schema > src/mcscale/data/scenario.schema.json`` regenerates the
shipped file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mcscale.model.prior_tables import COMMON_KEYS, OPTIONAL_KEYS, PRIOR_FORMS
from mcscale.scenario_file import (
    CORRELATION_KEYS,
    DEFAULTS,
    DEPENDENT_KEYS,
    DOMAINS,
    ESTIMATE_KEYS,
    ESTIMATE_STRING_KEYS,
    ESTIMATE_TARGETS,
    EXCLUSIVE_KEYS,
    GRID_KEYS,
    PARAMETERS,
    QUESTION_KEYS,
    REFERENCE_NAME,
    REGIME_KEYS,
    REQUIRED_KEYS,
    REQUIRED_SECTIONS,
    SECTIONS,
    STRING_KEYS,
    TABLE_ARRAYS,
)
from mcscale.units import BUILTIN_REFERENCES, METRICS, TIME_UNITS, parameter_unit

__all__ = [
    "DIST_DOCS",
    "ESTIMATE_INPUT_DOCS",
    "JSON_SCHEMA_DIALECT",
    "KEY_DOCS",
    "PRIOR_KEY_DOCS",
    "SCHEMA_RESOURCE",
    "SECTION_DOCS",
    "KeyInfo",
    "scenario_keys",
    "scenario_reference_markdown",
    "scenario_schema",
    "scenario_schema_json",
    "shipped_schema_text",
]

#: The JSON Schema dialect of :func:`scenario_schema`.
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Where the package ships the schema, relative to the ``mcscale`` package.
SCHEMA_RESOURCE = "data/scenario.schema.json"

# --------------------------------------------------------------------------- #
# What each section and key means: the one thing the validator's tables lack  #
# --------------------------------------------------------------------------- #

#: Section -> what it holds.
SECTION_DOCS: dict[str, str] = {
    "scenario": "the scenario's name and its year grid",
    "reference": "the run that questions measure multiples of; left out: GPT-4, 2.1e25 FLOP",
    "spend": "spending on the largest training run of each year: initial x 2^(t / doubling_time), then capped",
    "economy": "world GDP, for a cap that is a share of it (only with spend.cap_gdp_fraction)",
    "hardware": "peak FLOP bought per dollar: flop_per_usd x 2^(t / doubling_time), optionally with a ceiling",
    "utilization": "achieved / peak FLOP/s of the run",
    "algorithms": "algorithmic progress, the multiplier from physical to effective FLOP; left out: none",
    "milestone": 'the compute some capability needs, for questions with threshold = "requirement"',
    "regimes": "growth parameters that change from a year on, one table per change",
    "correlations": "Spearman rank correlations between pairs of priors",
    "questions": "questions `mcscale query` answers when none is given",
    "estimate": "spend.initial or hardware.flop_per_usd computed from hardware facts instead of written down",
}

#: Dotted key -> what it means (units come from :func:`mcscale.units.parameter_unit`).
KEY_DOCS: dict[str, str] = {
    "scenario.name": "shown in summaries and reports; left out: the file name",
    "scenario.description": "one line shown with the name",
    "scenario.start": "first year of the grid",
    "scenario.end": "last year of the grid, after start",
    "scenario.step": "grid step; must divide end - start",
    "reference.name": "one word (letters, digits, _ . -), as questions write it: `1000 x NAME`",
    "reference.flop": "the reference run's training compute",
    "spend.initial": "spend of the largest run in the start year",
    "spend.doubling_time": "doubling time of spend",
    "spend.growth_per_year": "growth factor of spend per year, instead of doubling_time",
    "spend.oom_per_year": "log10 growth of spend per year, instead of doubling_time; may be negative (a decline)",
    "spend.percent_per_year": "percent growth of spend per year (100 x (factor - 1)), instead of doubling_time",
    "spend.cap": "cap on one run's spend in the start year; left out: no cap",
    "spend.cap_gdp_fraction": "cap as a share of world GDP ([economy] gdp), instead of cap",
    "spend.cap_growth_per_year": "growth factor of spend.cap per year; left out: a constant cap",
    "spend.cap_kind": (
        "`hard`: min(spend, cap); `soft`: spend cap / (spend + cap); `exponential`: cap (1 - exp(-spend / cap))"
    ),
    "economy.gdp": "world GDP in the start year",
    "economy.gdp_growth_per_year": "growth factor of GDP per year; left out: constant",
    "hardware.flop_per_usd": "peak FLOP per USD in the start year, before utilization",
    "hardware.price_per_flop": "USD per peak FLOP in the start year, instead of flop_per_usd",
    "hardware.doubling_time": "doubling time of FLOP per USD",
    "hardware.growth_per_year": "growth factor of FLOP per USD per year, instead of doubling_time",
    "hardware.oom_per_year": "log10 growth of FLOP per USD per year, instead of doubling_time",
    "hardware.percent_per_year": "percent growth of FLOP per USD per year, instead of doubling_time",
    "hardware.max_flop_per_usd": "ceiling on FLOP per USD; left out: none",
    "hardware.ceiling_kind": "how max_flop_per_usd applies: `hard` (min), `soft` or `exponential` (as spend.cap_kind)",
    "utilization.value": "achieved / peak FLOP/s; truncated to (0, 1]",
    "algorithms.doubling_time": "doubling time of the algorithmic multiplier",
    "algorithms.growth_per_year": "growth factor of the multiplier per year, instead of doubling_time",
    "algorithms.oom_per_year": (
        "log10 growth of the multiplier per year, instead of doubling_time; may be negative (regress)"
    ),
    "algorithms.percent_per_year": "percent growth of the multiplier per year, instead of doubling_time; > -100",
    "algorithms.rate_multiplier": (
        "multiplies the log10 growth rate in every regime (a domain-transfer factor); left out: 1"
    ),
    "algorithms.max_gain": "ceiling on the multiplier; left out: none",
    "algorithms.max_gain_oom": "ceiling on the multiplier as log10 of it, instead of max_gain",
    "algorithms.ceiling_kind": "how max_gain applies: `hard` (min), `soft` or `exponential` (as spend.cap_kind)",
    "milestone.name": "the milestone's name in answers",
    "milestone.metric": "the metric the requirement is compared with",
    "milestone.requirement": "the compute the milestone needs",
    "regimes.from": "the year the regime starts, strictly between start and end",
    "correlations.pair": 'two prior names: "section.key", or "section.key@YEAR" for a regime\'s',
    "correlations.rho": "Spearman rank correlation, in (-1, 1)",
    "questions.metric": 'the metric asked about; with threshold = "requirement": the milestone\'s metric',
    "questions.multiple": "threshold as a multiple of the reference run (a metric in FLOP)",
    "questions.threshold": 'threshold in the metric\'s unit, or "requirement" (the [milestone] requirement)',
    "questions.reference": "the reference run of multiple: GPT-3, GPT-4 or [reference] name",
    "questions.by": "a year or a list of years within the grid",
    "questions.text": "a question in the query language, instead of the other keys",
    "estimate.target": "the prior the block sets",
}

#: ``[estimate]`` input -> (unit, meaning), as :mod:`mcscale.estimate` takes them.
ESTIMATE_INPUT_DOCS: dict[str, tuple[str, str]] = {
    "chips": ("1", "number of chips (leave out with a chip-time duration)"),
    "chip": ("", "a chip of the table (`mcscale estimate chips`), for its price, peak and TDP"),
    "precision": ("", "column of the chip table; default bf16, else fp16"),
    "peak_flops": ("FLOP/s", "peak per chip; overrides the table"),
    "days": ("day", "duration of the run"),
    "hours": ("hour", "duration of the run"),
    "duration": ("", 'duration with a unit: "720 hours", "2500 V100-days"'),
    "chip_price": ("USD", "price per chip; overrides the table"),
    "depreciation": ("1/year", "share of the price written off per year"),
    "lifetime_years": ("year", "service life, instead of depreciation"),
    "usd_per_chip_hour": ("USD/chip-hour", "rental price, instead of price and depreciation"),
    "energy_mwh": ("MWh", "energy used"),
    "usd_per_kwh": ("USD/kWh", "price of electricity; no energy term without it"),
    "power_watts": ("W", "power per chip, for the energy; default: the chip's TDP"),
    "pue": ("1", "data-centre power usage effectiveness, with power_watts; default 1"),
}

#: Distribution -> what it is, for the prior forms table.
DIST_DOCS: dict[str, str] = {
    "lognormal": "two percentiles (p5/p95: a 90% interval; p1/p99, p10/p90, p25/p75); median/gsd; or natural-log "
    "mu/sigma",
    "normal": "two percentiles (p5/p95, p1/p99, p10/p90, p25/p75); or mean/sd",
    "uniform": "between low and high",
    "loguniform": "uniform in log between low and high (both > 0)",
    "fixed": "exactly value (a plain number means the same)",
    "percentiles": "[[percentile, value], ...], percentiles in [0, 100]; inverse-CDF sampling, clamped at the ends "
    "(with a warning unless the table runs from 0 to 100)",
    "mixture": "components (numbers or priors, not mixture or lookup) with weights summing to 1",
    "lookup": 'a function of another prior ("section.key"): [[x, value], ...], linear or step, clamped',
    "beta": "on [0, 1]: shape parameters alpha, beta > 0, or two percentiles in (0, 1), solved numerically",
    "gamma": "shape > 0 and scale > 0 [the value's unit], or two percentiles > 0, solved numerically",
    "pert": "a beta on [min, max] with mode mode: shapes 1 + lambda (mode - min) / (max - min) and "
    "1 + lambda (max - mode) / (max - min)",
    "triangular": "density rising linearly from low to mode and falling to high",
    "student_t": "fat tails: df degrees of freedom (> 0) with two percentiles (p5/p95, ...), or location loc and scale",
    "log_student_t": "its natural log is a student_t: df with two percentiles of the value (> 0), or natural-log "
    "mu/sigma",
    "metalog": "Keelin's metalog through [[percentile, value], ...] (percentiles strictly within (0, 100)): "
    "a smooth quantile function, rejected if it is not increasing",
}
#: Prior keys beyond the forms -> what they mean.
PRIOR_KEY_DOCS: dict[str, str] = {
    "dist": "the distribution",
    "unit": "time parameters only: " + ", ".join(TIME_UNITS) + "; default year",
    "lower": "truncates below (not for lookup)",
    "upper": "truncates above (not for lookup)",
    "log10": "percentiles and metalog: the values are log10; lookup: the keys (the source's values) are; default false",
    "interpolation": "`linear` (default) or `step`",
    "lambda": "pert: weight of the mode, > 0; default 4",
    "terms": "metalog: number of terms, 2 to the number of points (at most 16); default the most the points "
    "determine (as many as points: through every point)",
}
#: Types of the keys of the prior forms, as JSON Schema.
_NUMBER: dict[str, Any] = {"type": "number"}
_PAIR: dict[str, Any] = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}
_FORM_KEY_TYPES: dict[str, dict[str, Any]] = {
    **{key: _NUMBER for key in ("p5", "p95", "median", "gsd", "mu", "sigma", "mean", "sd", "low", "high", "value")},
    **{key: _NUMBER for key in ("p1", "p99", "p10", "p90", "p25", "p75", "alpha", "beta", "shape", "scale")},
    **{key: _NUMBER for key in ("min", "mode", "max", "lambda", "df", "loc")},
    "terms": {"type": "integer"},
    "lower": _NUMBER,
    "upper": _NUMBER,
    "points": {"type": "array", "items": _PAIR, "minItems": 2},
    "weights": {"type": "array", "items": _NUMBER, "minItems": 1},
    "log10": {"type": "boolean"},
    "interpolation": {"enum": ["linear", "step"]},
}
#: The optional keys of the prior forms, once each, in order.
_OPTIONAL = tuple(dict.fromkeys(k for keys in OPTIONAL_KEYS.values() for k in keys))
#: Dists a mixture component cannot be, and dists that take no lower/upper (as the validator says).
_NOT_NESTED = ("mixture", "lookup")
_NOT_TRUNCATED = ("lookup",)
#: Dists an ``[estimate]`` input may be (mcscale.estimate.inline.to_prior).
_ESTIMATE_DISTS = ("fixed", "normal", "lognormal", "uniform", "loguniform")


# --------------------------------------------------------------------------- #
# The keys, as rows                                                            #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class KeyInfo:
    """One key of the scenario format, as the reference shows it.

    Parameters
    ----------
    path : str
        Dotted key: ``spend.initial``, ``regimes[].spend.doubling_time``, ``questions[].by``.
    unit : str
        Canonical unit (``year``, ``USD``, ``FLOP``, ``FLOP/USD``, ``1``), or ``""`` for a string.
    default : str
        The value when left out, as text, or ``""`` when there is none.
    required : str
        ``"yes"``, ``"one of a, b"``, or ``""`` for optional.
    accepts : str
        What may stand there: ``number or prior``, the string choices, ...
    meaning : str
        Short description.
    """

    path: str
    unit: str
    default: str
    required: str
    accepts: str
    meaning: str


def _code(value: Any) -> str:
    return f"`{json.dumps(value)}`" if isinstance(value, str) else f"`{value:g}`"


def _required_text(section: str, key: str) -> str:
    for group in REQUIRED_KEYS.get(section, ()):
        if key in group:
            text = "yes" if len(group) == 1 else "one of " + ", ".join(f"`{k}`" for k in group)
            targets = [t for t, (s, k) in ESTIMATE_TARGETS.items() if s == section and k in group]
            return text + "".join(f" (or [estimate] target `{t}`)" for t in targets)
    return ""


def _default_text(path: str) -> str:
    return _code(DEFAULTS[path]) if path in DEFAULTS else ""


def _parameter_row(path: str, section: str, key: str, domain: str, is_time: bool) -> KeyInfo:
    values = DOMAINS[domain]
    accepts = f"number or prior, {values}" + ("; `unit` month or day" if is_time else "")
    return KeyInfo(
        path,
        parameter_unit(f"{section}.{key}"),
        _default_text(f"{section}.{key}"),
        _required_text(section, key),
        accepts,
        KEY_DOCS[f"{section}.{key}"],
    )


def _string_accepts(choices: Sequence[str] | None) -> str:
    return "string" if choices is None else " or ".join(_code(c) for c in choices)


def scenario_keys() -> list[KeyInfo]:
    """Return every key of the scenario format, section by section, in the validator's order.

    Returns
    -------
    list of KeyInfo
        Section keys as ``section.key``; keys of arrays of tables as ``regimes[].from``.
    """
    rows: list[KeyInfo] = []
    for section in SECTIONS:
        if section == "regimes":
            rows.append(KeyInfo("regimes[].from", "year", "", "yes", "number", KEY_DOCS["regimes.from"]))
            for part, keys in REGIME_KEYS.items():
                for key in keys:
                    domain, is_time = PARAMETERS[part][key]
                    row = _parameter_row(f"regimes[].{part}.{key}", part, key, domain, is_time)
                    meaning = f"from `from` on: {KEY_DOCS[f'{part}.{key}']}"
                    rows.append(KeyInfo(row.path, row.unit, "", "", row.accepts, meaning))
        elif section == "correlations":
            details = {"pair": ("", "two strings"), "rho": ("1", "number")}
            for key in CORRELATION_KEYS:
                unit, accepts = details[key]
                rows.append(KeyInfo(f"correlations[].{key}", unit, "", "yes", accepts, KEY_DOCS[f"correlations.{key}"]))
        elif section == "questions":
            accepts = {
                "metric": _string_accepts(tuple(METRICS)),
                "multiple": "number",
                "threshold": 'number or `"requirement"`',
                "reference": "string",
                "by": "number or array of numbers",
                "text": "string",
            }
            details = {
                "metric": ("", '`"effective_flop"`', ""),
                "multiple": ("1", "", "one of `multiple`, `threshold` (or `text`)"),
                "threshold": ("the metric's", "", "one of `multiple`, `threshold` (or `text`)"),
                "reference": ("", "[reference] name", ""),
                "by": ("year", "", "yes (or `text`)"),
                "text": ("", "", ""),
            }
            for key in QUESTION_KEYS:
                unit, default, required = details[key]
                rows.append(
                    KeyInfo(f"questions[].{key}", unit, default, required, accepts[key], KEY_DOCS[f"questions.{key}"])
                )
        elif section == "estimate":
            targets = " or ".join(_code(t) for t in ESTIMATE_KEYS)
            rows.append(KeyInfo("estimate.target", "", "", "yes", targets, KEY_DOCS["estimate.target"]))
            for key in dict.fromkeys(k for keys in ESTIMATE_KEYS.values() for k in keys):
                unit, meaning = ESTIMATE_INPUT_DOCS[key]
                takers = [t for t, keys in ESTIMATE_KEYS.items() if key in keys]
                if key in ESTIMATE_STRING_KEYS:
                    accepts = _string_accepts(ESTIMATE_STRING_KEYS[key])
                elif key == "duration":
                    accepts = 'string: a number or inline prior and a unit (`"lognormal(20, 40) days"`)'
                else:
                    accepts = 'number, prior or inline prior (`"lognormal(p5, p95)"`)'
                if len(takers) < len(ESTIMATE_KEYS):
                    meaning += " (target " + ", ".join(f"`{t}`" for t in takers) + ")"
                rows.append(KeyInfo(f"estimate.{key}", unit, "", "", accepts, meaning))
        else:
            strings = STRING_KEYS.get(section, {})
            parameters = PARAMETERS.get(section, {})
            if section == "scenario":
                for key, choices in strings.items():
                    path = f"scenario.{key}"
                    default = "the file name" if key == "name" else _default_text(path)
                    rows.append(KeyInfo(path, "", default, "", _string_accepts(choices), KEY_DOCS[path]))
                for key in GRID_KEYS:
                    path = f"scenario.{key}"
                    required = _required_text("scenario", key)
                    rows.append(KeyInfo(path, "year", _default_text(path), required, "number", KEY_DOCS[path]))
                continue
            for key, (domain, is_time) in parameters.items():
                rows.append(_parameter_row(f"{section}.{key}", section, key, domain, is_time))
            for key, choices in strings.items():
                path = f"{section}.{key}"
                rows.append(KeyInfo(path, "", _default_text(path), "", _string_accepts(choices), KEY_DOCS[path]))
    return rows


# --------------------------------------------------------------------------- #
# Markdown                                                                     #
# --------------------------------------------------------------------------- #


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "—"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _form_text(form: Sequence[str]) -> str:
    return ", ".join(f"`{k}`" for k in form)


def scenario_reference_markdown() -> str:
    """Return the reference of the scenario format as Markdown: sections, keys, prior forms.

    Returns
    -------
    str
        Three tables (sections; every key with its unit, default, whether it is required,
        what it accepts and what it means; the prior forms), built from the validator's
        tables, ending in a newline.
    """
    sections = [
        (
            f"`[[{s}]]`" if s in TABLE_ARRAYS else f"`[{s}]`",
            "yes" if s in REQUIRED_SECTIONS else "",
            SECTION_DOCS[s],
        )
        for s in SECTIONS
    ]
    keys = [(f"`{k.path}`", k.unit, k.default, k.required, k.accepts, k.meaning) for k in scenario_keys()]
    forms = []
    for dist, dist_forms in PRIOR_FORMS.items():
        optional = [*OPTIONAL_KEYS.get(dist, ())]
        optional += [k for k in COMMON_KEYS if k != "dist" and not (dist in _NOT_TRUNCATED and k in ("lower", "upper"))]
        forms.append(
            (
                f"`{dist}`",
                " or ".join("{" + _form_text(f) + "}" for f in dist_forms),
                _form_text(optional),
                DIST_DOCS[dist],
            )
        )
    lines = [
        "### Reference of the scenario format",
        "",
        "Generated by `mcscale.schema.scenario_reference_markdown()` from the validator's own tables.",
        "Units: year, USD, FLOP, FLOP/USD; `1` is a plain number, `x/year` a growth factor per year.",
        "A prior is a number or a table with `dist` (forms below). Required keys are required when",
        "their section is there.",
        "",
        *_table(("section", "required", "holds"), sections),
        "",
        *_table(("key", "unit", "default", "required", "accepts", "meaning"), keys),
        "",
        "Prior forms: give `dist` and exactly one form; every table may also take the keys of the",
        "third column.",
        "",
        *_table(("dist", "forms", "optional keys", "meaning"), forms),
        "",
        *_table(("key", "meaning"), [(f"`{k}`", PRIOR_KEY_DOCS[k]) for k in (*COMMON_KEYS, *_OPTIONAL)]),
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# JSON Schema                                                                  #
# --------------------------------------------------------------------------- #

_LEFT_TO_THE_VALIDATOR = (
    "numbers in their domain (> 0; utilization in (0, 1]; percent per year > -100); p5 < p95, low < high, "
    "lower < upper and the like; start < end and a step that divides the grid; mixture weights that sum to 1; "
    "percentile points that rise; a metalog whose quantile function increases, and beta percentiles in (0, 1); "
    "that a lookup's source exists and forms no cycle; a correlation matrix that is "
    "positive definite, and pairs of sampled, distinct priors; regime and question years within the "
    "grid, regimes in increasing order; [economy] only with spend.cap_gdp_fraction, which needs "
    "economy.gdp and no spend.cap_growth_per_year; regime keys the scenario uses; that [estimate]'s "
    "inputs compute"
)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _described(schema: dict[str, Any], description: str, default: Any = None) -> dict[str, Any]:
    out = {**schema, "description": description}
    if default is not None:
        out["default"] = default
    return out


def _prior_forms(time: bool, nested: bool, dists: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return one closed object schema per (dist, form), with ``dist`` and the form's keys required."""
    branches = []
    component = _ref("time_component" if time else "component")
    for dist, forms in PRIOR_FORMS.items():
        if (nested and dist in _NOT_NESTED) or (dists is not None and dist not in dists):
            continue
        common = [k for k in COMMON_KEYS if k != "dist" and (time or k != "unit")]
        if dist in _NOT_TRUNCATED:
            common = [k for k in common if k not in ("lower", "upper")]
        for form in forms:
            properties: dict[str, Any] = {"dist": {"enum": [dist]}}
            for key in (*form, *OPTIONAL_KEYS.get(dist, ()), *common):
                if key == "unit":
                    properties[key] = {"enum": list(TIME_UNITS)}
                elif key == "components":
                    properties[key] = {"type": "array", "items": component, "minItems": 1}
                elif key == "of":
                    properties[key] = {"type": "string", "pattern": _prior_name_pattern()}
                else:
                    properties[key] = _FORM_KEY_TYPES[key]
            branches.append(
                {
                    "title": f"{dist} by " + ", ".join(form),
                    "type": "object",
                    "properties": properties,
                    "required": ["dist", *form],
                    "additionalProperties": False,
                }
            )
    return branches


def _prior_table(time: bool, nested: bool, dists: Sequence[str] | None = None) -> dict[str, Any]:
    known = [d for d in PRIOR_FORMS if not (nested and d in _NOT_NESTED) and (dists is None or d in dists)]
    return {
        "type": "object",
        "required": ["dist"],
        "properties": {"dist": {"enum": known}},
        "oneOf": _prior_forms(time, nested, dists),
    }


def _prior_name_pattern() -> str:
    """Return a regular expression of every prior name: ``section.key``, or ``section.key@YEAR`` for a regime's."""
    plain = "|".join(f"{s}\\.(?:{'|'.join(keys)})" for s, keys in PARAMETERS.items())
    regime = "|".join(f"{s}\\.(?:{'|'.join(keys)})" for s, keys in REGIME_KEYS.items())
    year = r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?"
    return f"^(?:(?:{plain})|(?:{regime})@{year})$"


def _group_required(group: Sequence[str]) -> dict[str, Any]:
    return {"required": [group[0]]} if len(group) == 1 else {"anyOf": [{"required": [k]} for k in group]}


def _exclusive_rules(keys: Sequence[str]) -> list[dict[str, Any]]:
    """Forbid the pairs of keys a section (or a regime's section) may not give both of."""
    return [{"not": {"required": [a, b]}} for a, b in EXCLUSIVE_KEYS if a in keys and b in keys]


def _section_rules(section: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Return a section's required groups (those no [estimate] target can give), exclusive pairs, dependent keys."""
    rules: list[dict[str, Any]] = []
    for group in REQUIRED_KEYS.get(section, ()):
        if not any(s == section and k in group for s, k in ESTIMATE_TARGETS.values()):
            rules.append(_group_required(group))
    rules += _exclusive_rules(keys)
    for key, needed in DEPENDENT_KEYS.get(section, {}).items():
        rules.append({"anyOf": [{"not": {"required": [key]}}, _group_required(needed)]})
    return rules


def _parameter_schema(section: str, key: str) -> dict[str, Any]:
    domain, is_time = PARAMETERS[section][key]
    unit = parameter_unit(f"{section}.{key}")
    values = DOMAINS[domain]
    text = f"{KEY_DOCS[f'{section}.{key}']} [{unit}{', or its unit' if is_time else ''}]; {values}"
    return _described(_ref("time_prior" if is_time else "prior"), text, DEFAULTS.get(f"{section}.{key}"))


def _string_schema(path: str, choices: Sequence[str] | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"} if choices is None else {"enum": list(choices)}
    if path == "reference.name":
        schema["pattern"] = f"^{REFERENCE_NAME.pattern}$"
    return _described(schema, KEY_DOCS[path], DEFAULTS.get(path))


def _section_schema(section: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, choices in STRING_KEYS.get(section, {}).items():
        properties[key] = _string_schema(f"{section}.{key}", choices)
    if section == "scenario":
        for key in GRID_KEYS:
            properties[key] = _described(
                _NUMBER, KEY_DOCS[f"scenario.{key}"] + " [year]", DEFAULTS.get(f"scenario.{key}")
            )
    for key in PARAMETERS.get(section, {}):
        properties[key] = _parameter_schema(section, key)
    schema: dict[str, Any] = {
        "type": "object",
        "description": SECTION_DOCS[section],
        "properties": properties,
        "additionalProperties": False,
    }
    rules = _section_rules(section, tuple(properties))
    if rules:
        schema["allOf"] = rules
    return schema


def _regime_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {"from": _described(_NUMBER, KEY_DOCS["regimes.from"] + " [year]")}
    for section, keys in REGIME_KEYS.items():
        part: dict[str, Any] = {
            "type": "object",
            "description": f"{section} growth from this regime's year on",
            "properties": {key: _parameter_schema(section, key) for key in keys},
            "additionalProperties": False,
        }
        rules = _exclusive_rules(keys)  # what a regime needs of the scenario is left to the validator
        if rules:
            part["allOf"] = rules
        properties[section] = part
    return {"type": "object", "properties": properties, "required": ["from"], "additionalProperties": False}


def _correlation_schema() -> dict[str, Any]:
    name = {"type": "string", "pattern": _prior_name_pattern()}
    properties = {
        "pair": _described(
            {"type": "array", "items": name, "minItems": 2, "maxItems": 2}, KEY_DOCS["correlations.pair"]
        ),
        "rho": _described(_NUMBER, KEY_DOCS["correlations.rho"]),
    }
    assert tuple(properties) == CORRELATION_KEYS
    return {
        "type": "object",
        "properties": properties,
        "required": list(CORRELATION_KEYS),
        "additionalProperties": False,
    }


def _question_schema() -> dict[str, Any]:
    by = {"oneOf": [_NUMBER, {"type": "array", "items": _NUMBER, "minItems": 1}]}
    types = {
        "metric": {"enum": list(METRICS)},
        "multiple": _NUMBER,
        "threshold": {"oneOf": [_NUMBER, {"enum": ["requirement"]}]},
        "reference": {"type": "string"},
        "by": by,
        "text": {"type": "string"},
    }
    fields = {key: _described(types[key], KEY_DOCS[f"questions.{key}"]) for key in QUESTION_KEYS}
    return {
        "oneOf": [
            {
                "title": "a question in the query language",
                "type": "object",
                "properties": {"text": fields["text"]},
                "required": ["text"],
                "additionalProperties": False,
            },
            {
                "title": "a question by metric, threshold or multiple, and years",
                "type": "object",
                "properties": {k: v for k, v in fields.items() if k != "text"},
                "required": ["by"],
                "oneOf": [{"required": ["multiple"]}, {"required": ["threshold"]}],
                "additionalProperties": False,
            },
        ]
    }


def _estimate_schema() -> dict[str, Any]:
    def field(key: str) -> dict[str, Any]:
        unit, meaning = ESTIMATE_INPUT_DOCS[key]
        text = f"{meaning} [{unit}]" if unit else meaning
        if key in ESTIMATE_STRING_KEYS:
            choices = ESTIMATE_STRING_KEYS[key]
            return _described({"type": "string"} if choices is None else {"enum": list(choices)}, text)
        return _described(_ref("estimate_input"), text)

    branches = []
    for target, keys in ESTIMATE_KEYS.items():
        properties: dict[str, Any] = {"target": {"enum": [target]}}
        properties.update({key: field(key) for key in keys})
        branches.append({"title": f"target {target}", "properties": properties, "additionalProperties": False})
    return {
        "type": "object",
        "description": SECTION_DOCS["estimate"],
        "properties": {"target": _described({"enum": list(ESTIMATE_KEYS)}, KEY_DOCS["estimate.target"])},
        "required": ["target"],
        "oneOf": branches,
    }


def _estimate_rules() -> list[dict[str, Any]]:
    """Give each group an [estimate] target can give by the section or by the block, never both."""
    rules = []
    for target, (section, key) in ESTIMATE_TARGETS.items():
        group = next(g for g in REQUIRED_KEYS[section] if key in g)
        targets = {
            "required": ["estimate"],
            "properties": {"estimate": {"required": ["target"], "properties": {"target": {"enum": [target]}}}},
        }
        rules.append(
            {
                "oneOf": [
                    {
                        **targets,
                        "properties": {
                            **targets["properties"],
                            section: {"not": {"anyOf": [{"required": [k]} for k in group]}},
                        },
                    },
                    {"not": targets, "properties": {section: _group_required(group)}},
                ]
            }
        )
    return rules


def scenario_schema() -> dict[str, Any]:
    """Return a JSON Schema (draft 2020-12) of a scenario file, built from the validator's tables.

    Every section and key is listed with ``additionalProperties: false``, so a misspelt
    one is caught; string keys carry their choices, priors a ``oneOf`` of the forms of
    :data:`mcscale.model.prior_tables.PRIOR_FORMS` (a time parameter's also take a
    ``unit``), and sections the keys they need and the pairs they may not combine. What
    only :func:`mcscale.parse_scenario` checks is listed in the schema's ``description``.

    Returns
    -------
    dict
        The schema, ready for ``json.dumps``; the package ships it as
        ``mcscale/data/scenario.schema.json``.
    """
    properties: dict[str, Any] = {}
    for section in SECTIONS:
        if section == "regimes":
            properties[section] = {"type": "array", "description": SECTION_DOCS[section], "items": _ref("regime")}
        elif section == "correlations":
            properties[section] = {"type": "array", "description": SECTION_DOCS[section], "items": _ref("correlation")}
        elif section == "questions":
            properties[section] = {"type": "array", "description": SECTION_DOCS[section], "items": _ref("question")}
        elif section == "estimate":
            properties[section] = _estimate_schema()
        else:
            properties[section] = _section_schema(section)
    assert set(TABLE_ARRAYS) == {s for s, p in properties.items() if p.get("type") == "array"}
    defs: dict[str, Any] = {
        "prior": {
            "description": "a number, or a table with dist and exactly one form",
            "oneOf": [_NUMBER, _ref("prior_table")],
        },
        "time_prior": {
            "description": "a number [year], or a table with dist, exactly one form, and optionally a unit",
            "oneOf": [_NUMBER, _ref("time_prior_table")],
        },
        "prior_table": _prior_table(time=False, nested=False),
        "time_prior_table": _prior_table(time=True, nested=False),
        "component": {"oneOf": [_NUMBER, _prior_table(time=False, nested=True)]},
        "time_component": {"oneOf": [_NUMBER, _prior_table(time=True, nested=True)]},
        "estimate_input": {
            "description": 'a number, an inline prior ("lognormal(p5, p95)", ...) or a prior table',
            "oneOf": [_NUMBER, {"type": "string"}, _prior_table(time=False, nested=True, dists=_ESTIMATE_DISTS)],
        },
        "regime": _regime_schema(),
        "correlation": _correlation_schema(),
        "question": _question_schema(),
    }
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "mcscale scenario",
        "description": (
            "A scenario file of mcscale (TOML), generated from its validator by mcscale.schema.scenario_schema(). "
            "The schema checks sections, keys, types, string choices, prior forms, the keys a section needs and "
            f"those it may not combine. Only mcscale checks: {_LEFT_TO_THE_VALIDATOR}. "
            f"[reference] left out is GPT-4, {BUILTIN_REFERENCES['GPT-4']:g} FLOP."
        ),
        "type": "object",
        "properties": properties,
        "required": list(REQUIRED_SECTIONS),
        "additionalProperties": False,
        "allOf": _estimate_rules(),
        "$defs": defs,
    }


def scenario_schema_json() -> str:
    """Return :func:`scenario_schema` as the text of the shipped file (2-space indents, final newline)."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    """Return the text of the schema file the package ships (``mcscale/data/scenario.schema.json``)."""
    return (resources.files("mcscale") / SCHEMA_RESOURCE).read_text(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the schema, or with ``--reference`` the Markdown reference; return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--reference"]):
        print("usage: python -m mcscale.schema [--reference]", file=sys.stderr)
        return 2
    sys.stdout.write(scenario_reference_markdown() if args else scenario_schema_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
