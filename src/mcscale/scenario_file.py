"""Scenario files: TOML -> validated, typed :class:`~mcscale.model.scenario.Scenario`.

Every problem in a file is collected with its key path (``spend.doubling_time.p95``)
before anything is sampled, and reported together in one
:class:`~mcscale.model.scenario.ScenarioError`. An ``[estimate]`` block is resolved
here, through :mod:`mcscale.estimate`, into the prior it sets.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from mcscale.echo import is_plain, quote
from mcscale.estimate import PRECISIONS, TARGETS, EstimateError, scenario_prior
from mcscale.model.copula import normal_correlation
from mcscale.model.prior_tables import Problems, check_domain, is_number, number, parse_prior_table
from mcscale.model.priors import PriorSpec
from mcscale.model.scenario import Question, Regime, Scenario, ScenarioError
from mcscale.numbers import as_finite
from mcscale.units import BUILTIN_REFERENCES, METRICS

__all__ = [
    "CORRELATION_KEYS",
    "DEFAULTS",
    "DEPENDENT_KEYS",
    "DOMAINS",
    "ESTIMATE_KEYS",
    "ESTIMATE_STRING_KEYS",
    "ESTIMATE_TARGETS",
    "EXCLUSIVE_KEYS",
    "GRID_KEYS",
    "MAX_NESTING",
    "NAME_LIMIT",
    "MAX_YEARS",
    "PARAMETERS",
    "QUESTION_KEYS",
    "RATE_KEYS",
    "REFERENCE_NAME",
    "REGIME_KEYS",
    "REQUIRED_KEYS",
    "REQUIRED_SECTIONS",
    "SECTIONS",
    "STRING_KEYS",
    "TABLE_ARRAYS",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario",
    "scenario_path",
]

# The tables below are the format: the validator reads them, and so do the JSON Schema and
# the reference of :mod:`mcscale.schema`, so that neither can drift from what is accepted.

#: A reference name as the question language reads it.
REFERENCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")

#: Most grid years a scenario may have.
MAX_YEARS = 10_000
#: Longest name (of a scenario, milestone, reference) [characters]: it labels tables and figures.
NAME_LIMIT = 100
#: Deepest nesting of arrays and tables (a mixture's component's points are 5 deep in a regime).
MAX_NESTING = 12

#: What each domain of :data:`PARAMETERS` accepts, as the messages and the reference say it.
DOMAINS: dict[str, str] = {"positive": "> 0", "fraction": "in (0, 1]", "percent": "> -100", "real": "any number"}
#: Where each parameter lives: section -> key -> (domain, is_time); a time parameter takes a ``unit``.
#: A rate in OOM or percent per year may be negative where the model allows a decline
#: (spend) or regress (algorithms); FLOP per dollar only grows.
PARAMETERS: dict[str, dict[str, tuple[str, bool]]] = {
    "spend": {
        "initial": ("positive", False),
        "doubling_time": ("positive", True),
        "growth_per_year": ("positive", False),
        "oom_per_year": ("real", False),
        "percent_per_year": ("percent", False),
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
        "oom_per_year": ("positive", False),
        "percent_per_year": ("positive", False),
        "max_flop_per_usd": ("positive", False),
    },
    "utilization": {"value": ("fraction", False)},
    "algorithms": {
        "doubling_time": ("positive", True),
        "growth_per_year": ("positive", False),
        "oom_per_year": ("real", False),
        "percent_per_year": ("percent", False),
        "rate_multiplier": ("positive", False),
        "max_gain": ("positive", False),
        "max_gain_oom": ("real", False),
    },
    "milestone": {"requirement": ("positive", False)},
    "reference": {"flop": ("positive", False)},
}
#: String keys: section -> key -> the choices, or None for any string.
STRING_KEYS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "scenario": {"name": None, "description": None},
    "spend": {"cap_kind": ("hard", "soft", "exponential")},
    "hardware": {"ceiling_kind": ("hard", "soft", "exponential")},
    "algorithms": {"ceiling_kind": ("hard", "soft", "exponential")},
    "milestone": {"name": None, "metric": tuple(METRICS)},
    "reference": {"name": None},
}
#: The year grid's keys of ``[scenario]`` (numbers [year]), beside its string keys.
GRID_KEYS = ("start", "end", "step")
#: Every top-level section, in the order of the messages.
SECTIONS = (
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
REQUIRED_SECTIONS = ("scenario", "spend", "hardware", "utilization")
#: Sections written as arrays of tables (``[[regimes]]``); the others are tables.
TABLE_ARRAYS = ("regimes", "correlations", "questions")
#: Growth parameters a regime may change: section -> keys.
#: The forms a growth rate may be given in (one of them per section or regime).
RATE_KEYS = ("doubling_time", "growth_per_year", "oom_per_year", "percent_per_year")
REGIME_KEYS: dict[str, tuple[str, ...]] = {
    "spend": (*RATE_KEYS, "cap_growth_per_year"),
    "hardware": RATE_KEYS,
    "algorithms": RATE_KEYS,
    "economy": ("gdp_growth_per_year",),
}
#: Keys a section must give when it is there: section -> groups; one key of each group.
#: ``[estimate]`` may give one group instead (see :data:`ESTIMATE_TARGETS`).
REQUIRED_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "scenario": (("start",), ("end",)),
    "reference": (("flop",),),
    "spend": (("initial",), RATE_KEYS),
    "hardware": (("flop_per_usd", "price_per_flop"), RATE_KEYS),
    "utilization": (("value",),),
    "algorithms": (RATE_KEYS,),
    "milestone": (("requirement",),),
}
#: Pairs of keys a section (or a regime's section) may not give both of.
EXCLUSIVE_KEYS = (
    *((a, b) for i, a in enumerate(RATE_KEYS) for b in RATE_KEYS[i + 1 :]),
    ("flop_per_usd", "price_per_flop"),
    ("cap", "cap_gdp_fraction"),
    ("max_gain", "max_gain_oom"),
)
#: Keys that need another key of their section: section -> key -> one of these must be given.
DEPENDENT_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "spend": {"cap_kind": ("cap", "cap_gdp_fraction"), "cap_growth_per_year": ("cap", "cap_gdp_fraction")},
    "hardware": {"ceiling_kind": ("max_flop_per_usd",)},
    "algorithms": {"ceiling_kind": ("max_gain", "max_gain_oom")},
}
#: Values a key takes when it is left out, by dotted key (``[reference]`` left out is GPT-4).
DEFAULTS: dict[str, str | float] = {
    "scenario.description": "",
    "scenario.step": 1,
    "reference.name": "GPT-4",
    "reference.flop": BUILTIN_REFERENCES["GPT-4"],
    "spend.cap_kind": "hard",
    "hardware.ceiling_kind": "hard",
    "algorithms.ceiling_kind": "hard",
    "milestone.name": "milestone",
    "milestone.metric": "effective_flop",
}
#: Keys of a ``[[correlations]]`` table.
CORRELATION_KEYS = ("pair", "rho")
#: Keys of a ``[[questions]]`` table: ``text`` alone, or the others.
QUESTION_KEYS = ("metric", "multiple", "threshold", "reference", "by", "text")
#: ``[estimate]`` targets -> (section, key) of the prior each sets.
ESTIMATE_TARGETS: dict[str, tuple[str, str]] = {target: (s, k) for target, (s, k, _, _) in TARGETS.items()}
#: ``[estimate]`` targets -> the inputs each takes, beside ``target``.
ESTIMATE_KEYS: dict[str, tuple[str, ...]] = {target: keys for target, (_, _, _, keys) in TARGETS.items()}
#: ``[estimate]`` inputs that are strings (the others are numbers or priors) -> choices, or None.
ESTIMATE_STRING_KEYS: dict[str, tuple[str, ...] | None] = {"chip": None, "precision": PRECISIONS}


def _parse_section(
    section: str,
    table: dict[str, Any],
    problems: Problems,
    name_suffix: str = "",
    path_prefix: str = "",
    allowed: tuple[str, ...] | None = None,
) -> dict[str, PriorSpec]:
    """Parse the priors of one section, reporting unknown keys."""
    parameters = PARAMETERS.get(section, {})
    strings = STRING_KEYS.get(section, {})
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
                problems.add(path, f"must be a string, got {quote(raw)}")
            elif choices is not None and raw not in choices:
                problems.add(path, f"must be one of {', '.join(choices)}; got {quote(raw)}")
            else:
                _check_plain(raw, path, problems)
            continue
        domain, is_time = parameters[key]
        spec = parse_prior_table(f"{section}.{key}{name_suffix}", path, raw, problems, is_time)
        if spec is not None:
            priors[f"{section}.{key}"] = check_domain(spec, path, domain, problems)
    if section == "reference" and isinstance(table.get("name"), str) and not REFERENCE_NAME.fullmatch(table["name"]):
        problems.add(
            f"{path_prefix}reference.name",
            f"{quote(table['name'])} must be one word (letters, digits, _ . -) so that questions can say 'K x NAME'",
        )
    for a, b in EXCLUSIVE_KEYS:
        if a in table and b in table:
            problems.add(f"{path_prefix}{section}", f"give {a} or {b}, not both")
    return priors


def _check_plain(text: str, path: str, problems: Problems) -> None:
    """Refuse control characters in a name (it is printed and drawn); a description may hold newlines and tabs."""
    allow = "\n\t" if path.endswith("description") else ""
    if not is_plain(text, allow):
        kind = "a description may hold newlines and tabs, but no other" if allow else "a name may hold no"
        problems.add(path, f"{kind} control characters (terminal escapes, line breaks); got {quote(text)}")
    elif not allow and len(text) > NAME_LIMIT:
        problems.add(path, f"must be at most {NAME_LIMIT} characters, got {len(text)}")


def _parse_grid(table: dict[str, Any], problems: Problems) -> tuple[float, float, float] | None:
    known = (*STRING_KEYS["scenario"], *GRID_KEYS)
    for key in table:
        if key not in known:
            problems.add(f"scenario.{key}", "unknown key; known keys of [scenario]: " + ", ".join(known))
    for key in STRING_KEYS["scenario"]:
        if key in table and not isinstance(table[key], str):
            problems.add(f"scenario.{key}", "must be a string")
        elif key in table:
            _check_plain(table[key], f"scenario.{key}", problems)
    missing = [k for (k,) in REQUIRED_KEYS["scenario"] if k not in table]
    for key in missing:
        problems.add(f"scenario.{key}", "missing (the first and last year of the grid)")
    if missing:
        return None
    start = number(table["start"], "scenario.start", problems)
    end = number(table["end"], "scenario.end", problems)
    step = number(table.get("step", DEFAULTS["scenario.step"]), "scenario.step", problems)
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


def _parse_regimes(raw: Any, grid: tuple[float, float, float] | None, problems: Problems) -> tuple[Regime, ...]:
    if not isinstance(raw, list):
        problems.add("regimes", "must be an array of tables ([[regimes]])")
        return ()
    regimes: list[Regime] = []
    for i, table in enumerate(raw):
        prefix = f"regimes[{i}]"
        if not isinstance(table, dict) or "from" not in table:
            problems.add(prefix, 'missing "from" (the year the regime starts)')
            continue
        year = number(table["from"], f"{prefix}.from", problems)
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
            if section not in REGIME_KEYS or not isinstance(entries, dict):
                problems.add(
                    f"{prefix}.{section}",
                    "a regime changes only growth parameters: "
                    + ", ".join(f"{s}.{k}" for s, keys in REGIME_KEYS.items() for k in keys),
                )
                continue
            priors.update(
                _parse_section(
                    section,
                    entries,
                    problems,
                    name_suffix=f"@{year:g}",
                    path_prefix=f"{prefix}.",
                    allowed=REGIME_KEYS[section],
                )
            )
        regimes.append(Regime(start_year=year, priors=priors))
    return tuple(regimes)


def _parse_correlations(
    raw: Any, names: dict[str, PriorSpec], invalid: set[str], problems: Problems
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
            if key not in CORRELATION_KEYS:
                problems.add(f"{prefix}.{key}", "unknown key; known keys: " + ", ".join(CORRELATION_KEYS))
        pair, rho = table.get("pair"), table.get("rho")
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            problems.add(f"{prefix}.pair", "must be two dotted prior names")
            continue
        ok = True
        for name in pair:
            if name in invalid:  # already reported where it is defined
                ok = False
            elif name not in names:
                problems.add(f"{prefix}.pair", f"unknown prior {quote(name)}; known: " + ", ".join(sorted(names)))
                ok = False
            elif names[name].dist in ("fixed", "lookup", "mixture"):
                dist = names[name].dist
                why = "its draws do not rise with one normal" if dist == "mixture" else "it is not sampled"
                problems.add(f"{prefix}.pair", f"{quote(name)} is a {dist} prior and cannot be correlated ({why})")
                ok = False
        if ok and pair[0] == pair[1]:
            problems.add(f"{prefix}.pair", "names the same prior twice")
            ok = False
        key = frozenset(pair)
        if ok and key in seen:
            problems.add(f"{prefix}.pair", "this pair is already correlated")
            ok = False
        seen.add(key)
        value = number(rho, f"{prefix}.rho", problems) if rho is not None else None
        if rho is None:
            problems.add(f"{prefix}.rho", "missing")
        elif value is not None and not -1 < value < 1:
            problems.add(f"{prefix}.rho", f"must lie in (-1, 1), got {value:g}")
            ok = False
        if ok and value is not None:
            out.append((pair[0], pair[1], value))
    return tuple(out)


def _parse_questions(
    raw: Any, grid: tuple[float, float, float] | None, problems: Problems, milestone: dict[str, Any] | None = None
) -> tuple[Question, ...]:
    if not isinstance(raw, list):
        problems.add("questions", "must be an array of tables ([[questions]])")
        return ()
    out = []
    known = QUESTION_KEYS
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
        if not isinstance(metric, str) or metric not in METRICS:
            problems.add(f"{prefix}.metric", f"unknown metric {quote(metric)}; known: " + ", ".join(METRICS))
        if ("multiple" in table) == ("threshold" in table):
            problems.add(prefix, "give exactly one of multiple or threshold")
            continue
        key = "multiple" if "multiple" in table else "threshold"
        value: float | str | None = "requirement"
        if not requirement:
            value = number(table[key], f"{prefix}.{key}", problems)
            if value is not None and value <= 0:
                problems.add(f"{prefix}.{key}", "must be positive")
        reference = table.get("reference", "")
        if not isinstance(reference, str):
            problems.add(f"{prefix}.reference", "must be a reference name")
        by = table.get("by")
        by = [by] if is_number(by) else by
        if not isinstance(by, list) or not by or not all(is_number(y) for y in by):
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


def _check_structure(priors: dict[str, PriorSpec], data: dict[str, Any], problems: Problems) -> None:
    """Check which parameters a section needs, and how they combine."""
    # [scenario], [reference] and [milestone] say why a key is missing where they are read.
    for section in ("spend", "hardware", "utilization", "algorithms"):
        if section not in data:
            continue
        for group in REQUIRED_KEYS[section]:
            if not any(f"{section}.{k}" in priors or k in data[section] for k in group):
                problems.add(f"{section}.{group[0]}", "missing (give " + " or ".join(group) + ")")
    spend = data.get("spend", {})
    if "cap_gdp_fraction" in spend:
        if "gdp" not in data.get("economy", {}):
            problems.add("economy.gdp", "missing (spend.cap_gdp_fraction needs the start year's GDP)")
        if "cap_growth_per_year" in spend:
            problems.add("spend.cap_growth_per_year", "a GDP cap grows with economy.gdp_growth_per_year")
    elif "economy" in data:
        problems.add("economy", "is used only with spend.cap_gdp_fraction")
    for section, dependents in DEPENDENT_KEYS.items():
        table = data.get(section, {})
        for key, needed in dependents.items():
            if key in table and not any(k in table for k in needed):
                problems.add(f"{section}.{key}", "needs " + " or ".join(f"{section}.{k}" for k in needed))
    if "milestone" in data and "requirement" not in data["milestone"]:
        problems.add("milestone.requirement", "missing (the FLOP the milestone needs)")


def _check_regime_forms(
    priors: dict[str, PriorSpec], regimes: tuple[Regime, ...], data: dict[str, Any], problems: Problems
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
    priors: dict[str, PriorSpec], invalid: set[str], problems: Problems, path_of: dict[str, str]
) -> None:
    """Check that lookup sources exist and form no cycle."""
    in_reported_cycle: set[str] = set()
    for name, spec in priors.items():
        if spec.dist != "lookup" or spec.of in invalid or name in in_reported_cycle:
            continue
        if spec.of not in priors:
            problems.add(f"{path_of[name]}.of", f"unknown prior {quote(spec.of)}; known: " + ", ".join(sorted(priors)))
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
        # (a lognormal, gamma or log Student t is positive although its support starts at 0)
        if source in priors and priors[source].log10 is False and spec.log10 and not priors[source].is_positive():
            problems.add(f"{path_of[name]}.log10", f"log10 of {quote(source)} needs a positive prior")


def _check_correlation_matrix(correlations: tuple[tuple[str, str, float], ...], problems: Problems) -> None:
    """Name the first pair that makes the copula matrix not positive definite."""
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
        for section, keys in PARAMETERS.items()
        if isinstance(data.get(section), dict)
        for key in data[section]
        if key in keys
    }
    raw_regimes = data.get("regimes", [])
    for table in raw_regimes if isinstance(raw_regimes, list) else []:
        if not (isinstance(table, dict) and is_number(table.get("from"))):
            continue
        for section, keys in REGIME_KEYS.items():
            entries = table.get(section)
            if isinstance(entries, dict):
                names |= {f"{section}.{key}@{table['from']:g}" for key in entries if key in keys}
    return names


def _apply_estimate(data: dict[str, Any], problems: Problems) -> None:
    """Replace ``[estimate]`` by the prior it sets (``spend.initial`` or ``hardware.flop_per_usd``).

    The estimate becomes an ordinary prior table (a number, a lognormal, or a percentile
    table: see :func:`mcscale.estimate.scenario_prior`), put into its section before the
    rest of validation, so the engine sees nothing new.
    """
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


def _load_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML, refusing (with key paths) what no scenario holds: deep nesting and numbers beyond float64."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"invalid TOML: {exc}")]) from None
    except RecursionError:
        problem = f"arrays or inline tables nested too deep (at most {MAX_NESTING})"
        raise ScenarioError(source, [("", problem)]) from None
    except ValueError:  # an integer of more than 4300 digits, which int() refuses to read
        lines = [i for i, line in enumerate(text.splitlines(), 1) if re.search(r"\d{4300}", line.replace("_", ""))]
        where = f"line {lines[0]}: " if lines else ""
        problem = f"{where}an integer of more than 4300 digits (numbers must be at most about 1.8e308)"
        raise ScenarioError(source, [("", problem)]) from None
    problems = Problems()
    _check_values(data, "", 0, problems)
    if problems.items:
        raise ScenarioError(source, problems.items)
    return data


def _check_values(value: Any, path: str, depth: int, problems: Problems) -> None:
    """Report values nested deeper than :data:`MAX_NESTING`, and integers beyond float64, at their key paths."""
    if depth > MAX_NESTING:
        problems.add(path, f"nested {depth} deep; a scenario nests arrays and tables at most {MAX_NESTING} deep")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, f"{path}.{key}" if path else key, depth + 1, problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(item, f"{path}[{i}]", depth + 1, problems)
    elif is_number(value) and as_finite(value) is None and isinstance(value, int):
        problems.add(path, f"{quote(value)} is out of range: numbers must be finite, at most about 1.8e308")


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

    Notes
    -----
    A file that is accepted may still get warnings, printed to stderr one line each
    (``mcscale: warning: FILE: KEY.PATH: ...``): a percentile table that clamps draws
    onto its end values, a truncation that keeps less than 1% of a prior's probability
    (see :func:`mcscale.model.prior_tables.prior_warnings`).
    """
    data = _load_toml(text, source)
    problems = Problems()
    for key in data:
        if key not in SECTIONS:
            problems.add(key, "unknown section; known: " + ", ".join(SECTIONS))
    for key in REQUIRED_SECTIONS:
        if key not in data:
            problems.add(key, f"missing required section [{key}]")
    for key in SECTIONS:
        if key in data and key not in TABLE_ARRAYS and not isinstance(data[key], dict):
            problems.add(key, "must be a table")
            data.pop(key)

    if "estimate" in data:
        _apply_estimate(data, problems)
    grid = _parse_grid(data["scenario"], problems) if "scenario" in data else None
    priors: dict[str, PriorSpec] = {}
    for section in PARAMETERS:
        if section in data:
            priors.update(_parse_section(section, data[section], problems))
    if "reference.flop" not in priors:
        if "reference" in data:
            problems.add("reference.flop", "missing (the reference run's training compute [FLOP])")
        priors["reference.flop"] = PriorSpec(
            name="reference.flop", dist="fixed", params={"value": DEFAULTS["reference.flop"]}
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
        invalid |= {f"{section}.{key}" for section, keys in PARAMETERS.items() if section not in data for key in keys}
    _check_lookups(all_priors, invalid, problems, path_of)
    correlations = _parse_correlations(data.get("correlations", []), all_priors, invalid, problems)
    if correlations:  # pairs naming invalid priors were already left out
        _check_correlation_matrix(correlations, problems)
    milestone = data.get("milestone") if isinstance(data.get("milestone"), dict) else None
    questions = _parse_questions(data.get("questions", []), grid, problems, milestone)

    if problems.items or grid is None:
        raise ScenarioError(source, problems.items)
    for path, message in problems.warnings:  # the file is accepted; say what its draws may surprise by
        print(f"mcscale: warning: {source}: {path}: {message}", file=sys.stderr)
    table = data["scenario"]
    spend = data.get("spend", {})
    return Scenario(
        name=table.get("name", Path(source).stem),
        description=table.get("description", DEFAULTS["scenario.description"]),
        start=grid[0],
        end=grid[1],
        step=grid[2],
        priors=priors,
        regimes=regimes,
        correlations=correlations,
        cap_kind=spend.get("cap_kind", DEFAULTS["spend.cap_kind"]),
        hardware_ceiling_kind=data.get("hardware", {}).get("ceiling_kind", DEFAULTS["hardware.ceiling_kind"]),
        algorithms_ceiling_kind=data.get("algorithms", {}).get("ceiling_kind", DEFAULTS["algorithms.ceiling_kind"]),
        reference_name=data.get("reference", {}).get("name", DEFAULTS["reference.name"]),
        milestone_name=data.get("milestone", {}).get("name", DEFAULTS["milestone.name"]),
        milestone_metric=data.get("milestone", {}).get("metric", DEFAULTS["milestone.metric"]),
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


def bundled_scenarios() -> dict[str, Path]:
    """Return the scenarios shipped with mcscale, by name -> file."""
    folder = resources.files("mcscale") / "scenarios"
    return {
        Path(p.name).stem: Path(str(p))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")
    }


def scenario_path(text: str | Path) -> Path:
    """Return the file of a scenario given as a path or as a bundled name (``"baseline"``).

    Raises
    ------
    ScenarioError
        If ``text`` is neither an existing file nor a bundled name.
    """
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    bundled = bundled_scenarios()
    if str(text) in bundled:
        return bundled[str(text)]
    raise ScenarioError(str(text), [("", f"no such file or bundled scenario (bundled: {', '.join(bundled)})")])


def resolve_scenario(scenario: Scenario | str | Path) -> Scenario:
    """Return a scenario given as a :class:`Scenario`, a file, or a bundled name."""
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario_path(scenario))
