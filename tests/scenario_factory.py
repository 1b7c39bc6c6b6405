"""Bad-input test helpers: a minimal valid scenario as a dict, mutated per test and written as TOML."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Marks a key to delete in :func:`mutate`.
DELETE = object()


def lognormal(p5: float, p95: float, **extra: Any) -> dict[str, Any]:
    return {"dist": "lognormal", "p5": p5, "p95": p95, **extra}


def base_scenario() -> dict[str, Any]:
    """A small valid scenario that uses regimes, correlations and questions."""
    return {
        "scenario": {"name": "test", "description": "a minimal valid scenario", "start": 2025, "end": 2035},
        "reference": {"name": "GPT-4", "flop": 2.1e25},
        "spend": {
            "initial": lognormal(1.5e8, 1.0e9),
            "doubling_time": lognormal(6, 18, unit="month"),
            "cap": lognormal(1e10, 3e11),
            "cap_kind": "soft",
        },
        "hardware": {
            "flop_per_usd": lognormal(1e17, 6e17),
            "doubling_time": lognormal(2.0, 3.5),
        },
        "utilization": {"value": lognormal(0.25, 0.55)},
        "algorithms": {"doubling_time": lognormal(8, 24, unit="month")},
        "regimes": [{"from": 2030, "spend": {"doubling_time": lognormal(1, 4)}}],
        "correlations": [{"pair": ["spend.doubling_time", "algorithms.doubling_time"], "rho": 0.3}],
        "questions": [{"metric": "effective_flop", "multiple": 1000, "by": [2027, 2030]}],
    }


_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        match = _SEGMENT.match(part)
        assert match, f"bad path segment {part!r} in {path!r}"
        steps.append(match.group(1))
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return steps


def mutate(data: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``{"spend.doubling_time.p95": 6, "regimes[0].from": 2040}`` applied.

    A value of :data:`DELETE` removes the key; intermediate tables are created as needed, and
    an index one past the end of an array appends to it.
    """
    data = copy.deepcopy(data)
    for path, value in changes.items():
        *parents, last = _steps(path)
        node: Any = data
        for step in parents:
            if isinstance(step, str) and step not in node:
                node[step] = {}
            node = node[step]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return data


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """Write a scenario dict: tables as ``[section]``, lists of tables as ``[[section]]``."""
    lines: list[str] = []
    for section, body in data.items():
        if isinstance(body, list) and body and all(isinstance(t, dict) for t in body):
            for table in body:
                lines.append(f"[[{_key(section)}]]")
                lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
                lines.append("")
        elif isinstance(body, dict):
            lines.append(f"[{_key(section)}]")
            lines += [f"{_key(k)} = {_value(v)}" for k, v in body.items()]
            lines.append("")
        else:
            lines.append(f"{_key(section)} = {_value(body)}")
    return "\n".join(lines)


def scenario_toml(changes: Mapping[str, Any] | None = None) -> str:
    """The base scenario with ``changes`` applied (see :func:`mutate`), as TOML text."""
    return to_toml(mutate(base_scenario(), changes or {}))


# --------------------------------------------------------------------------- #
# Bad-input cases shared by test_scenario.py (parse_scenario) and test_cli.py  #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Problem:
    """One expected error line: its key path and fragments its message must contain."""

    path: str
    fragments: tuple[str, ...]


def problem(path: str, *fragments: str) -> Problem:
    return Problem(path, fragments)


@dataclass(frozen=True)
class BadCase:
    """A mutation of the base scenario and the problems it must produce, one per line."""

    id: str
    changes: dict[str, Any]
    expected: tuple[Problem, ...]


def _mixture(weights: list[float], second: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "dist": "mixture",
        "weights": weights,
        "components": [lognormal(1e8, 1e9), second or lognormal(2e8, 2e9)],
    }


#: The cases the issue lists; each is one problem and must give exactly one line.
ISSUE_CASES: list[BadCase] = [
    # an unknown key (a typo)
    BadCase(
        "typo-key-in-section",
        {"spend.doubling_tme": lognormal(6, 18)},
        (problem("spend.doubling_tme", "unknown key", "doubling_time"),),
    ),
    BadCase("typo-key-in-prior", {"spend.initial.p96": 3e9}, (problem("spend.initial.p96", "unknown key"),)),
    BadCase(
        "typo-key-in-scenario",
        {"scenario.descripton": "x"},
        (problem("scenario.descripton", "unknown key", "description"),),
    ),
    BadCase(
        "typo-key-in-regime",
        {"regimes[0].spend.doubling_tim": lognormal(1, 4)},
        (problem("regimes[0].spend.doubling_tim", "unknown key"),),
    ),
    BadCase("typo-key-in-correlation", {"correlations[0].rh0": 0.3}, (problem("correlations[0].rh0", "unknown key"),)),
    BadCase("typo-key-in-question", {"questions[0].metrc": "spend"}, (problem("questions[0].metrc", "unknown key"),)),
    BadCase("typo-section", {"hardwar": {"doubling_time": 2.0}}, (problem("hardwar", "unknown section"),)),
    # a missing required section (or required key)
    BadCase("missing-utilization", {"utilization": DELETE}, (problem("utilization", "missing required section"),)),
    BadCase("missing-hardware", {"hardware": DELETE}, (problem("hardware", "missing required section"),)),
    BadCase("missing-scenario", {"scenario": DELETE}, (problem("scenario", "missing required section"),)),
    BadCase("missing-spend-initial", {"spend.initial": DELETE}, (problem("spend.initial", "missing"),)),
    # p5 >= p95
    BadCase(
        "p95-equals-p5",
        {"spend.doubling_time.p95": 6},
        (problem("spend.doubling_time.p95", "must be greater than p5"),),
    ),
    BadCase(
        "p5-above-p95",
        {"hardware.doubling_time.p5": 4.0},
        (problem("hardware.doubling_time.p95", "must be greater than p5"),),
    ),
    BadCase(
        "p5-above-p95-in-regime",
        {"regimes[0].spend.doubling_time.p5": 5},
        (problem("regimes[0].spend.doubling_time.p95", "must be greater than p5"),),
    ),
    # a non-positive doubling time, price or cap
    BadCase("zero-doubling-time", {"hardware.doubling_time": 0}, (problem("hardware.doubling_time", "positive"),)),
    BadCase(
        "negative-doubling-time", {"hardware.doubling_time": -2.0}, (problem("hardware.doubling_time", "positive"),)
    ),
    BadCase(
        "negative-doubling-time-in-regime",
        {"regimes[0].spend.doubling_time": -1},
        (problem("regimes[0].spend.doubling_time", "positive"),),
    ),
    BadCase(
        "normal-doubling-time-without-lower",
        {"hardware.doubling_time": {"dist": "normal", "p5": 2.0, "p95": 3.5}},
        (problem("hardware.doubling_time", "positive", "lower"),),
    ),
    BadCase(
        "uniform-doubling-time-below-zero",
        {"hardware.doubling_time": {"dist": "uniform", "low": -1.0, "high": 3.0}},
        (problem("hardware.doubling_time", "positive"),),
    ),
    BadCase(
        "negative-price-per-flop",
        {"hardware.flop_per_usd": DELETE, "hardware.price_per_flop": -1e-18},
        (problem("hardware.price_per_flop", "positive"),),
    ),
    BadCase("zero-flop-per-usd", {"hardware.flop_per_usd": 0}, (problem("hardware.flop_per_usd", "positive"),)),
    BadCase("negative-initial-spend", {"spend.initial": -5e8}, (problem("spend.initial", "positive"),)),
    BadCase("zero-cap", {"spend.cap": 0}, (problem("spend.cap", "positive"),)),
    BadCase("negative-cap-p5", {"spend.cap.p5": -1e10}, (problem("spend.cap.p5", "positive"),)),
    # an unknown unit or an unknown dist
    BadCase(
        "unknown-unit",
        {"spend.doubling_time.unit": "fortnight"},
        (problem("spend.doubling_time.unit", "unknown unit", "fortnight"),),
    ),
    BadCase(
        "unknown-unit-uncorrelated",
        {"hardware.doubling_time.unit": "decade"},
        (problem("hardware.doubling_time.unit", "unknown unit", "decade"),),
    ),
    BadCase(
        "unknown-dist", {"spend.initial.dist": "lognorm"}, (problem("spend.initial.dist", "unknown dist", "lognorm"),)
    ),
    BadCase(
        "unknown-dist-in-mixture",
        {"spend.initial": _mixture([0.5, 0.5], {"dist": "weibull", "value": 1})},
        (problem("spend.initial.components[1].dist", "unknown dist", "weibull"),),
    ),
    # a regime year outside start..end, or start >= end
    BadCase("regime-after-end", {"regimes[0].from": 2040}, (problem("regimes[0].from", "2040", "outside"),)),
    BadCase("regime-before-start", {"regimes[0].from": 2020}, (problem("regimes[0].from", "2020", "outside"),)),
    BadCase("start-equals-end", {"scenario.end": 2025}, (problem("scenario.end", "must be after start"),)),
    BadCase("start-after-end", {"scenario.end": 2020}, (problem("scenario.end", "must be after start"),)),
    # a correlation naming an unknown prior, or a matrix that is not positive definite
    BadCase(
        "correlation-unknown-prior",
        {"correlations[0].pair": ["spend.doubling_time", "algorithms.doubling_tim"]},
        (problem("correlations[0].pair", "unknown prior", "algorithms.doubling_tim"),),
    ),
    BadCase(
        "correlation-not-positive-definite",
        {
            "correlations": [
                {"pair": ["spend.initial", "spend.doubling_time"], "rho": 0.6},
                {"pair": ["spend.doubling_time", "hardware.doubling_time"], "rho": 0.6},
                {"pair": ["spend.initial", "hardware.doubling_time"], "rho": -0.6},
            ]
        },
        (problem("correlations[2]", "not positive definite", "spend.initial", "hardware.doubling_time"),),
    ),
    # mixture weights that do not sum to 1
    BadCase(
        "mixture-weights-below-one",
        {"spend.initial": _mixture([0.5, 0.4])},
        (problem("spend.initial.weights", "sum to 1"),),
    ),
    BadCase(
        "mixture-weights-above-one",
        {"spend.initial": _mixture([0.7, 0.7])},
        (problem("spend.initial.weights", "sum to 1"),),
    ),
]

#: Several independent problems in one file: all must be reported at once.
SEVERAL_PROBLEMS = BadCase(
    "several-problems",
    {
        "scenario.descripton": "typo",
        "spend.initial.dist": "lognorm",
        "spend.cap": _mixture([0.5, 0.4]),
        "hardware.doubling_time.p5": 4.0,
        "utilization.value": 1.5,
        "regimes[0].from": 2040,
        "regimes[0].spend.doubling_time.unit": "fortnight",
        "correlations[1]": {"pair": ["hardware.flop_per_usd", "hardware.flop_per_usdd"], "rho": 0.2},
        "questions[0].by": [2027, 2050],
    },
    (
        problem("scenario.descripton", "unknown key"),
        problem("spend.initial.dist", "unknown dist"),
        problem("spend.cap.weights", "sum to 1"),
        problem("hardware.doubling_time.p95", "must be greater than p5"),
        problem("utilization.value", "(0, 1]"),
        problem("regimes[0].from", "outside"),
        problem("regimes[0].spend.doubling_time.unit", "unknown unit"),
        problem("correlations[1].pair", "unknown prior", "hardware.flop_per_usdd"),
        problem("questions[0].by", "2050", "outside"),
    ),
)

#: A file that is not TOML: the error gives the line number (line 4 here).
INVALID_TOML = '[scenario]\nname = "broken"\nstart = 2025\nend 2035\n'
INVALID_TOML_LINE = 4


def match_lines(lines: list[str], source: str, expected: tuple[Problem, ...]) -> None:
    """Assert one line per expected problem, each naming ``source`` and its key path."""
    assert len(lines) == len(expected), "expected one line per problem, got:\n" + "\n".join(lines)
    unmatched = list(lines)
    for want in expected:
        hits = [
            line for line in unmatched if f"{source}: {want.path}: " in line and all(f in line for f in want.fragments)
        ]
        assert hits, f"no line for {want.path} with {want.fragments!r} in:\n" + "\n".join(lines)
        unmatched.remove(hits[0])
