"""The state of the ``mcscale explore`` page, the scenario it stands for, and the handlers of its JSON API.

The page shows one scenario, loaded when the server starts (the client never names a
file). Its state is small and plain:

- ``values``: the numbers the user changed, by the key path the validator reports
  problems under (``spend.initial.p5``, ``regimes[0].spend.doubling_time.p95``,
  ``correlations[0].rho``), each a number or the text typed into its box;
- ``seed``, ``draws``, ``metric`` (of the fan chart) and ``questions`` (texts in the
  query language; absent: the file's own).

:meth:`Explorer.scenario_of` writes the state into the file's TOML data, turns the data
back into TOML text (the file as written, with its comments, where only values changed:
see :func:`scenario_text`) and parses that text with the scenario validator, so that a bad
value gets the validator's own message and never reaches the engine. The text is what
"Save as scenario" downloads: ``mcscale query FILE --draws N --seed S`` on it gives the
answers the page shows, because the page samples that scenario with ``mcscale.run``, as
the command does.

:func:`handle_api` answers the API (``GET /api/scenario``, ``POST /api/run``) with
``(status, JSON)``; :mod:`mcscale.report.server` is the HTTP around it.
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcscale._version import __version__
from mcscale.api import DEFAULT_MEMORY_BUDGET, run
from mcscale.model.prior_tables import PRIOR_FORMS, is_number
from mcscale.model.scenario import Scenario, ScenarioError
from mcscale.model.thresholds import QueryError, Threshold
from mcscale.query import Query, QuestionSyntaxError, answer, check_query, parse_question, scenario_queries
from mcscale.query import scenario_references as references_of
from mcscale.report.html import answer_cells
from mcscale.results.base import Result
from mcscale.scenario_file import PARAMETERS, REGIME_KEYS, SECTIONS, parse_scenario
from mcscale.schema import KEY_DOCS
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE
from mcscale.sim.engine import materialized_bytes
from mcscale.units import METRICS, parameter_unit
from mcscale.viz import chartdata

__all__ = [
    "DEFAULT_MAX_DRAWS",
    "MAX_QUESTIONS",
    "MAX_QUESTION_CHARS",
    "Control",
    "ExploreError",
    "Explorer",
    "PageState",
    "PriorGroup",
    "dump_toml",
    "handle_api",
    "scenario_text",
    "toml_value",
]

#: Most draws one change may ask for, unless the server is told otherwise.
DEFAULT_MAX_DRAWS = 1_000_000
#: Most questions the page may ask at once.
MAX_QUESTIONS = 20
#: Longest question [characters].
MAX_QUESTION_CHARS = 500
#: Draws the page starts with.
DEFAULT_DRAWS = 100_000
#: Default threshold of the exceedance and crossing figures when the first question has none.
DEFAULT_MULTIPLE = 1000.0
#: Original results kept for the comparison (each a few kB of chart data).
_ORIGINAL_CACHE = 8

#: Distributions written as a table of points (their values get the controls), and the mixture.
_TABLE_DISTS = ("percentiles", "lookup", "metalog", "mixture")
#: Distributions that can take values of either sign: their location is moved on a linear scale.
_SIGNED_DISTS = ("normal", "student_t")
_ESTIMATE_STRINGS = ("target", "chip", "precision", "duration")
#: Numbers of a prior's form that place it (rather than set its spread).
_LOCATION_KEYS = ("median", "mean", "loc", "low", "high", "min", "mode", "max", "value", "lower", "upper")


def _is_location(key: str) -> bool:
    """Whether a prior's key places it (a percentile ``p5``, ``median``, ``low``...) rather than sets its spread."""
    return key in _LOCATION_KEYS or re.fullmatch(r"p\d+", key) is not None


class ExploreError(ValueError):
    """A request the page cannot run: every problem, each with the field it belongs to.

    Parameters
    ----------
    message : str
        One line for the whole request.
    problems : list of tuple of (str, str)
        ``(field, message)``: a control id, a prior's id, ``seed``, ``draws``,
        ``metric``, ``questions[i]``, or ``""`` for the whole page.
    status : int
        The HTTP status to answer with (400, or 413 for a request that is too large).
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.status = status

    def to_json(self) -> dict[str, Any]:
        """Return ``{"error": message, "problems": [{"field": ..., "message": ...}, ...]}``."""
        return {"error": self.message, "problems": [{"field": f, "message": m} for f, m in self.problems]}


@dataclass(frozen=True)
class Control:
    """One number of the scenario the page lets the user move: a slider and a box.

    Parameters
    ----------
    id : str
        Its key path, as the validator reports problems (``spend.initial.p5``).
    path : tuple of str or int
        Where the number sits in the file's TOML data.
    label : str
        Short name shown next to it (``p5``, ``value``, ``rho``).
    value : float
        The number as the file has it.
    low, high : float
        The slider's range (the box takes any number).
    log : bool
        Whether the slider moves on a log scale.
    """

    id: str
    path: tuple[str | int, ...]
    label: str
    value: float
    low: float
    high: float
    log: bool

    def to_json(self) -> dict[str, Any]:
        """Return the control as the page reads it."""
        return {
            "id": self.id,
            "label": self.label,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "log": self.log,
        }


@dataclass(frozen=True)
class PriorGroup:
    """A prior (or a correlation) and its controls.

    Parameters
    ----------
    id : str
        Its key path (``spend.initial``, ``regimes[0].spend.doubling_time``, ``correlations[0]``).
    title : str
        What the page calls it (``spend.initial``, ``spend.doubling_time from 2030``).
    dist : str
        The distribution as written (``lognormal``, ``fixed`` for a plain number, ``rank correlation``).
    unit : str
        The unit of its numbers as written (``USD``, ``month``, ``1``).
    meaning : str
        One line on what it is (from the format's reference).
    controls : tuple of Control
    """

    id: str
    title: str
    dist: str
    unit: str
    meaning: str
    controls: tuple[Control, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the group as the page reads it."""
        return {
            "id": self.id,
            "title": self.title,
            "dist": self.dist,
            "unit": self.unit,
            "meaning": self.meaning,
            "controls": [c.to_json() for c in self.controls],
        }


@dataclass(frozen=True)
class PageState:
    """What the page shows, checked for types (the scenario validator checks the values).

    Parameters
    ----------
    values : dict of str to float or str
        Changed numbers by control id: a number, or the text typed (the validator judges it).
    seed, draws : int
    metric : str
        The fan chart's metric.
    questions : tuple of str
        The questions, in the query language.
    """

    values: dict[str, float | str]
    seed: int
    draws: int
    metric: str
    questions: tuple[str, ...]


# --------------------------------------------------------------------------- #
# TOML out                                                                     #
# --------------------------------------------------------------------------- #

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_string(text: str) -> str:
    """Return a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_float(value: float) -> str:
    """Return the shortest TOML float that reads back as ``value``: ``4e8``, ``0.2``, ``2.1e25``, ``inf``."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" not in text and (abs(value) >= 1e6 or (0 < abs(value) < 1e-4)):
        for digits in range(17):
            text = f"{value:.{digits}e}"
            if float(text) == value:
                break
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return text


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def toml_value(value: Any) -> str:
    """Return a value as inline TOML: numbers, strings, booleans, arrays and inline tables.

    Parameters
    ----------
    value : bool, int, float, str, list or dict

    Returns
    -------
    str
        E.g. ``{ dist = "lognormal", p5 = 4e8, p95 = 4e9 }``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _toml_float(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_entries(table: dict[str, Any], prefix: str = "") -> list[str]:
    """Return ``key = value`` lines of a table; tables that are not priors become dotted keys."""
    lines = []
    for key, value in table.items():
        name = prefix + _toml_key(key)
        if isinstance(value, dict) and "dist" not in value:
            lines += _toml_entries(value, name + ".")
        else:
            lines.append(f"{name} = {toml_value(value)}")
    return lines


def dump_toml(data: dict[str, Any]) -> str:
    """Write a scenario's TOML data as TOML text (sections in the format's order; no comments).

    Parameters
    ----------
    data : dict
        As ``tomllib.loads`` returns it.

    Returns
    -------
    str
        Text that ``tomllib.loads`` reads back as ``data``.
    """
    order = [s for s in SECTIONS if s in data] + [s for s in data if s not in SECTIONS]
    blocks = []
    for section in order:
        value = data[section]
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for table in value:
                blocks.append("\n".join([f"[[{_toml_key(section)}]]", *_toml_entries(table)]))
        elif isinstance(value, dict):
            blocks.append("\n".join([f"[{_toml_key(section)}]", *_toml_entries(value)]))
        else:
            blocks.append(f"{_toml_key(section)} = {toml_value(value)}")
    return "\n\n".join(blocks) + "\n"


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\- ]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)(\s*=\s*)(.*)$")


def _assignments(lines: list[str]) -> Iterator[tuple[int, tuple[str | int, ...], re.Match[str]]]:
    """Yield ``(line number, full key path, match)`` of each one-line ``key = value`` of a TOML text."""
    table: tuple[str | int, ...] = ()
    counts: dict[str, int] = {}
    for number, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            parts = [p.strip() for p in header.group(2).split(".")]
            if header.group(1) == "[[":
                counts[parts[0]] = counts.get(parts[0], 0) + 1
                table = (parts[0], counts[parts[0]] - 1, *parts[1:])
            elif parts[0] in counts:  # a sub-table of the last [[array]] element
                table = (parts[0], counts[parts[0]] - 1, *parts[1:])
            else:
                table = tuple(parts)
            continue
        match = _ASSIGNMENT.match(line)
        if match:
            keys = tuple(p.strip() for p in match.group(2).split("."))
            yield number, (*table, *keys), match


def _value_extent(rest: str) -> int | None:
    """Length of the TOML value that starts ``rest`` (the rest of its line is blank or a comment)."""
    for end in [i for i, ch in enumerate(rest) if ch == "#"] + [len(rest)]:
        try:
            tomllib.loads("v = " + rest[:end])
        except tomllib.TOMLDecodeError:
            continue
        return len(rest[:end].rstrip())
    return None


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _replace_questions(lines: list[str], questions: list[str]) -> list[str]:
    """Drop every ``[[questions]]`` table (and the comment right above it); append the questions as text."""
    out: list[str] = []
    dropping = False
    for line in lines:
        header = _HEADER.match(line)
        if header:
            dropping = header.group(1) == "[[" and header.group(2).strip() == "questions"
            if dropping:
                while out and out[-1].lstrip().startswith("#"):
                    out.pop()
        if not dropping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    if questions:
        out += ["", "# Questions as asked in mcscale explore."]
        for text in questions:
            out += ["[[questions]]", f"text = {_toml_string(text)}"]
    return out


def scenario_text(
    text: str, old: dict[str, Any], new: dict[str, Any], edited: list[tuple[str | int, ...]], questions_changed: bool
) -> str | None:
    """Return the file's text with the edited values written in, comments kept; None if it cannot.

    Each edited prior is rewritten in place, on its line (``initial = { dist = ... }  # USD``
    keeps its comment); changed questions replace the ``[[questions]]`` tables. The result
    is checked: it must read back as ``new``.

    Parameters
    ----------
    text : str
        The file as loaded.
    old, new : dict
        Its TOML data, and the data with the page's values.
    edited : list of tuple
        Paths, in the data, of the assignments to rewrite (a prior, a correlation's ``rho``).
    questions_changed : bool
        Whether ``new["questions"]`` replaces the file's questions.

    Returns
    -------
    str or None
        None when a value to rewrite spans several lines or the text does not read back as
        ``new`` (then :func:`dump_toml` writes the file instead).
    """
    lines = text.splitlines()
    wanted = set(edited)
    done = set()
    for number, path, match in _assignments(lines):
        if path not in wanted or path in done:
            continue
        rest = match.group(4)
        extent = _value_extent(rest)
        if extent is None:
            return None
        indent, key, equals = match.group(1), match.group(2), match.group(3)
        lines[number] = f"{indent}{key}{equals}{toml_value(_get(new, path))}{rest[extent:]}"
        done.add(path)
    if done != wanted:
        return None
    if questions_changed:
        lines = _replace_questions(lines, [q["text"] for q in new.get("questions", [])])
    out = "\n".join(lines) + "\n"
    try:
        ok = tomllib.loads(out) == new
    except tomllib.TOMLDecodeError:
        ok = False
    return out if ok else None


# --------------------------------------------------------------------------- #
# Controls                                                                     #
# --------------------------------------------------------------------------- #


def _round(value: float) -> float:
    """Round a slider end to 2 significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.2g}")


def _range(key: str, values: list[float], domain: str) -> tuple[float, float, bool]:
    """Return a slider's range (low, high, log) for a number named ``key`` among ``values`` (its prior's)."""
    v = values[0] if len(values) == 1 else None
    if key == "rho":
        return -0.99, 0.99, False
    if key.startswith("weights"):
        return 0.01, 0.99, False
    if key == "gsd":
        return 1.01, _round(max(10.0, 3 * values[0])), True
    if key == "sigma":
        return 0.01, _round(max(3.0, 3 * values[0])), False
    if key == "mu":
        return _round(values[0] - 5), _round(values[0] + 5), False
    if key == "sd" and values[0] > 0:
        return _round(values[0] / 10), _round(values[0] * 10), True
    lo, hi = min(values), max(values)
    if domain == "spread" and lo > 0:  # a scale, shape or degrees of freedom
        return _round(lo / 10), _round(hi * 10), True
    if domain == "fraction":
        return 0.01, 1.0, False
    if domain == "log10":
        return _round(lo - 3), _round(hi + 3), False
    if lo > 0 and domain == "positive":
        return _round(lo / 10), _round(hi * 10), True
    width = max(hi - lo, abs(hi) * 0.1, abs(v or 0) * 0.5, 1e-6)
    return _round(lo - 2 * width), _round(hi + 2 * width), False


def _prior_controls(base: str, path: tuple[str | int, ...], raw: Any, domain: str) -> list[Control]:
    """Return the controls of one prior as written: its form's numbers, bounds, table values, weights."""
    if is_number(raw):
        low, high, log = _range("value", [float(raw)], domain)
        return [Control(base, path, "value", float(raw), low, high, log)]
    if not isinstance(raw, dict):
        return []
    dist = raw.get("dist")
    controls: list[Control] = []
    if dist in PRIOR_FORMS and dist not in _TABLE_DISTS:  # every family with numeric parameters, old and new
        known = {k for form in PRIOR_FORMS[dist] for k in form} | {"lower", "upper"}
        keys = [k for k in raw if k in known and is_number(raw[k])]  # in the order the file writes them
        # the numbers that place the distribution share one range, so that p5 and p95 move on one scale
        shared = [float(raw[k]) for k in keys if _is_location(k)]
        location_domain = "real" if dist in _SIGNED_DISTS and domain != "fraction" else domain
        for key in keys:
            if _is_location(key):
                low, high, log = _range(key, shared, location_domain)
            else:
                low, high, log = _range(key, [float(raw[key])], "spread")
            controls.append(Control(f"{base}.{key}", (*path, key), key, float(raw[key]), low, high, log))
    elif dist in ("percentiles", "lookup", "metalog") and isinstance(raw.get("points"), list):
        points = [p for p in raw["points"] if isinstance(p, list) and len(p) == 2 and all(is_number(x) for x in p)]
        if len(points) == len(raw["points"]):
            values = [float(p[1]) for p in points]
            key_domain = "log10" if raw.get("log10") is True and dist == "percentiles" else domain
            low, high, log = _range("points", values, key_domain)
            for i, (x, y) in enumerate(points):
                label = f"at {x:g}" if dist == "lookup" else f"p{x:g}"
                controls.append(
                    Control(f"{base}.points[{i}]", (*path, "points", i, 1), label, float(y), low, high, log)
                )
    elif dist == "mixture":
        for i, weight in enumerate(raw.get("weights") or []):
            if is_number(weight):
                low, high, log = _range("weights", [float(weight)], domain)
                controls.append(
                    Control(
                        f"{base}.weights[{i}]", (*path, "weights", i), f"weight {i + 1}", float(weight), low, high, log
                    )
                )
        for i, component in enumerate(raw.get("components") or []):
            for control in _prior_controls(f"{base}.components[{i}]", (*path, "components", i), component, domain):
                label = f"component {i + 1} {control.label}"
                controls.append(
                    Control(control.id, control.path, label, control.value, control.low, control.high, control.log)
                )
    return controls


def _unit_text(name: str, raw: Any) -> str:
    """Return the unit a prior's numbers are written in: its ``unit`` key, or the parameter's canonical unit."""
    if isinstance(raw, dict) and isinstance(raw.get("unit"), str):
        return raw["unit"]
    try:
        return parameter_unit(name)
    except KeyError:
        return ""


def _groups(data: dict[str, Any]) -> list[PriorGroup]:
    """Every prior of a scenario's TOML data (and every correlation), with its controls."""
    groups: list[PriorGroup] = []

    def add(gid: str, title: str, path: tuple[str | int, ...], raw: Any, name: str, domain: str) -> None:
        controls = _prior_controls(gid, path, raw, domain)
        if not controls:
            return
        dist = "fixed" if is_number(raw) else str(raw.get("dist", ""))
        meaning = KEY_DOCS.get(name.split("@")[0], "")
        groups.append(PriorGroup(gid, title, dist, _unit_text(name, raw), meaning, tuple(controls)))

    for section, keys in PARAMETERS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for key, (domain, _) in keys.items():
            if key in table:
                add(f"{section}.{key}", f"{section}.{key}", (section, key), table[key], f"{section}.{key}", domain)
    estimate = data.get("estimate")
    if isinstance(estimate, dict):
        for key, raw in estimate.items():
            if key not in _ESTIMATE_STRINGS:
                add(f"estimate.{key}", f"estimate.{key}", ("estimate", key), raw, f"estimate.{key}", "positive")
    regimes = data.get("regimes")
    for i, regime in enumerate(regimes if isinstance(regimes, list) else []):
        if not isinstance(regime, dict):
            continue
        start = regime.get("from")
        for section, keys in REGIME_KEYS.items():
            entries = regime.get(section)
            if not isinstance(entries, dict):
                continue
            for key in keys:
                if key in entries:
                    when = f" from {start:g}" if is_number(start) else f" (regime {i + 1})"
                    gid = f"regimes[{i}].{section}.{key}"
                    add(
                        gid,
                        f"{section}.{key}{when}",
                        ("regimes", i, section, key),
                        entries[key],
                        f"{section}.{key}",
                        "positive",
                    )
    correlations = data.get("correlations")
    for i, table in enumerate(correlations if isinstance(correlations, list) else []):
        if isinstance(table, dict) and is_number(table.get("rho")):
            pair = table.get("pair")
            names = " ~ ".join(pair) if isinstance(pair, list) and all(isinstance(p, str) for p in pair) else "?"
            control = Control(
                f"correlations[{i}].rho", ("correlations", i, "rho"), "rho", float(table["rho"]), -0.99, 0.99, False
            )
            groups.append(
                PriorGroup(
                    f"correlations[{i}]", names, "rank correlation", "1", KEY_DOCS["correlations.rho"], (control,)
                )
            )
    return groups


def _assignment_path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Return the path of the ``key = value`` line a control's number is on (a prior, or a ``rho``)."""
    if path[0] == "regimes":
        return path[:4]  # regimes, i, section, key
    if path[0] == "correlations":
        return path[:3]  # correlations, i, rho
    return path[:2]  # section, key


def _field_of(path: str, ids: list[str]) -> str:
    """Return the longest id that is ``path`` or a key-path prefix of it ("" for none)."""
    best = ""
    for candidate in ids:
        if len(candidate) > len(best) and (
            path == candidate or (path.startswith(candidate) and path[len(candidate)] in ".[")
        ):
            best = candidate
    return best


# --------------------------------------------------------------------------- #
# Sampling                                                                     #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Figures:
    """The threshold the exceedance and crossing figures show: the first question's, or 1000 x the reference."""

    metric: str
    threshold: Threshold
    source: str  # the question it comes from, or "" for the default

    @property
    def key(self) -> str:
        return f"{self.metric} {self.threshold!r}"


def _figure_threshold(scenario: Scenario, queries: list[Query]) -> _Figures:
    for query in queries[:1]:
        if query.kind in ("probability", "crossing_year") and query.op == ">=" and query.threshold is not None:
            return _Figures(query.metric, query.threshold, query.text)
    return _Figures("effective_flop", (DEFAULT_MULTIPLE, scenario.reference_name), "")


class _Clock:
    """Wall time of named steps [s]."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.last = self.start
        self.steps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.last
        self.last = now

    def to_json(self) -> dict[str, float]:
        return {**{k: round(v, 4) for k, v in self.steps.items()}, "total": round(self.last - self.start, 4)}


def _number_or_text(value: Any) -> float | str:
    """Return a value as sent: a number, or text that reads as one, else the text (the validator says why)."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return repr(value)


def _whole_number(value: Any) -> int | None:
    """Return an integer from a JSON number or text (``100000``, ``1e5``), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if re.search(r"[.eE]", value) else int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    return value if isinstance(value, int) else None


class Explorer:
    """The page of one scenario: its controls, its state checked and sampled, the file as loaded for comparison.

    Parameters
    ----------
    scenario : Scenario
        The scenario as loaded (its ``text`` is the file).
    max_draws : int, optional
        Most draws one change may ask for (and at most what fits the memory budget of
        materialized mode, as for ``mcscale query``).
    threads : int, optional
        Worker threads of the engine.
    chunk_size : int, optional
        As for ``mcscale.run`` (the saved file reproduces the page at the default).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        max_draws: int = DEFAULT_MAX_DRAWS,
        threads: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if max_draws < 1:
            raise ValueError("max_draws must be at least 1")
        self.scenario = scenario
        self.data = tomllib.loads(scenario.text)
        self.groups = _groups(self.data)
        self.controls = {c.id: c for g in self.groups for c in g.controls}
        self.max_draws = max_draws
        self.threads = threads
        self.chunk_size = chunk_size
        self.questions = tuple(q.text for q in scenario_queries(scenario))
        self.metrics = chartdata.scenario_metrics(scenario)
        self.filename = f"{Path(scenario.source).stem or scenario.name}-explore.toml"
        self.runs = 0  # changes sampled, for the page's footer and the tests
        self._lock = threading.Lock()
        self._original: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        # the frontier runs of the decade before the start, drawn on FLOP fans (read once)
        self._history = chartdata.to_json(chartdata.historical_runs(since=scenario.start - 10))

    # -- what the page starts from --------------------------------------

    def default_state(self) -> PageState:
        """Return the file as loaded: no value changed, seed 0, 100,000 draws (or the most allowed), its questions."""
        return PageState({}, 0, min(DEFAULT_DRAWS, self.max_draws), "effective_flop", self.questions)

    def describe(self) -> dict[str, Any]:
        """Return what ``GET /api/scenario`` answers: the scenario, its controls, the default state, the limits."""
        default = self.default_state()
        return {
            "scenario": self.scenario.name,
            "description": self.scenario.description,
            "source": self.scenario.source,
            "reference": self.scenario.reference_name,
            "start": self.scenario.start,
            "end": self.scenario.end,
            "groups": [g.to_json() for g in self.groups],
            "metrics": [{"id": m, "title": chartdata.metric_title(m), "unit": METRICS[m]} for m in self.metrics],
            "default": {
                "seed": default.seed,
                "draws": default.draws,
                "metric": default.metric,
                "questions": list(default.questions),
            },
            "limits": {
                "max_draws": self.max_draws,
                "max_questions": MAX_QUESTIONS,
                "max_question_chars": MAX_QUESTION_CHARS,
            },
            "version": __version__,
        }

    # -- state -> scenario -----------------------------------------------

    def parse_state(self, body: Any) -> PageState:
        """Check a request's state for its types and limits (the values are left to the validator).

        Parameters
        ----------
        body : Any
            The JSON of the request: ``{"values": {...}, "seed": 0, "draws": 100000,
            "metric": "effective_flop", "questions": [...]}``; every key may be left out.

        Raises
        ------
        ExploreError
            Naming each field that is wrong.
        """
        if not isinstance(body, dict):
            raise ExploreError("the request must be a JSON object")
        problems: list[tuple[str, str]] = []
        known = ("values", "seed", "draws", "metric", "questions")
        for key in body:
            if key not in known:
                problems.append(("", f"unknown key {key!r}; known: " + ", ".join(known)))
        default = self.default_state()
        raw_values = body.get("values") or {}
        values: dict[str, float | str] = {}
        if not isinstance(raw_values, dict):
            problems.append(("", "values must be an object of control id -> number"))
        else:
            for cid, value in raw_values.items():
                if cid not in self.controls:
                    problems.append(("", f"no control {cid!r} in scenario {self.scenario.name!r}"))
                else:
                    values[cid] = _number_or_text(value)
        seed = _whole_number(body.get("seed", default.seed))
        if seed is None or not 0 <= seed < 2**63:
            problems.append(("seed", "must be a whole number from 0 to 2^63 - 1"))
        draws = _whole_number(body.get("draws", default.draws))
        if draws is None or not 1 <= draws <= self.max_draws:
            problems.append(("draws", f"must be a whole number from 1 to {self.max_draws:,}"))
        metric = body.get("metric", default.metric)
        if metric not in self.metrics:
            problems.append(("metric", f"must be one of {', '.join(self.metrics)}"))
        questions = body.get("questions")
        if questions is None:
            questions = list(default.questions)
        if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
            problems.append(("questions", "must be a list of questions (text)"))
            questions = []
        elif len(questions) > MAX_QUESTIONS:
            problems.append(("questions", f"at most {MAX_QUESTIONS} questions"))
        for i, text in enumerate(questions):
            if len(text) > MAX_QUESTION_CHARS:
                problems.append((f"questions[{i}]", f"at most {MAX_QUESTION_CHARS} characters"))
        if problems:
            raise ExploreError("the request has problems", problems)
        return PageState(values, int(seed), int(draws), str(metric), tuple(q.strip() for q in questions))  # type: ignore[arg-type]

    def changed(self, state: PageState) -> dict[str, float | str]:
        """Return the values that differ from the file as loaded."""
        return {cid: v for cid, v in state.values.items() if v != self.controls[cid].value}

    def scenario_of(self, state: PageState) -> tuple[Scenario, str, list[Query]]:
        """Return the scenario a state stands for, its TOML text (what "Save as scenario" writes), its questions.

        Raises
        ------
        ExploreError
            With the validator's messages (each on the control it is about) and the
            query parser's (on its question), or a draw count over the memory budget.
        """
        changed = self.changed(state)
        data = copy.deepcopy(self.data)
        edited: list[tuple[str | int, ...]] = []
        for cid, value in changed.items():
            control = self.controls[cid]
            _get(data, control.path[:-1])[control.path[-1]] = value
            assignment = _assignment_path(control.path)
            if assignment not in edited:
                edited.append(assignment)
        questions_changed = state.questions != self.questions
        if questions_changed:
            data["questions"] = [{"text": q} for q in state.questions]
            if not state.questions:
                data.pop("questions")
        body = scenario_text(self.scenario.text, self.data, data, edited, questions_changed)
        if body is None:
            body = "# The file's comments are not kept: a changed value spans several lines.\n\n" + dump_toml(data)
        text = self._header(state, changed) + body
        ids = [*self.controls, *(g.id for g in self.groups)]
        problems: list[tuple[str, str]] = []
        scenario = None
        try:
            scenario = parse_scenario(text, source=self.scenario.source)
        except ScenarioError as exc:
            problems += [
                (_field_of(path, ids), f"{path}: {message}" if path else message) for path, message in exc.problems
            ]
        queries = []
        references = references_of(scenario or self.scenario)
        for i, question in enumerate(state.questions):
            try:
                query = parse_question(question, references)
                check_query(query, scenario or self.scenario)
            except QuestionSyntaxError as exc:
                problems.append((f"questions[{i}]", str(exc)))
                continue
            except QueryError as exc:
                problems.append((f"questions[{i}]", str(exc)))
                continue
            queries.append(query)
        if scenario is not None:
            try:
                chartdata.check_metric(state.metric, scenario)
            except QueryError as exc:
                problems.append(("metric", str(exc)))
            needed = materialized_bytes(scenario, state.draws)
            if needed > DEFAULT_MEMORY_BUDGET:
                fits = DEFAULT_MEMORY_BUDGET // (needed // state.draws)
                problems.append(
                    ("draws", f"{state.draws:,} draws would need {needed / 2**30:.1f} GiB; at most {fits:,} here")
                )
        if problems:
            raise ExploreError("not run: fix the values marked", problems)
        assert scenario is not None
        return scenario, text, queries

    def _header(self, state: PageState, changed: dict[str, float | str]) -> str:
        """Return the comment at the top of a saved file: where it comes from, how to reproduce the page."""
        lines = [
            f"# Saved by `mcscale explore` (mcscale {__version__}) from {self.scenario.source}.",
            f"# The page showed {state.draws} draws, seed {state.seed}; the same answers come from",
            f"#   mcscale query {self.filename} --draws {state.draws} --seed {state.seed}",
        ]
        if changed:
            lines.append("# Changed from the file as loaded:")
            for cid, value in changed.items():
                shown = toml_value(value) if isinstance(value, float) else repr(value)
                lines.append(f"#   {cid} = {shown} (was {toml_value(self.controls[cid].value)})")
        if state.questions != self.questions:
            lines.append("# The questions were edited.")
        return "\n".join(lines) + "\n\n"

    # -- sampling ----------------------------------------------------------

    def sample(self, scenario: Scenario, draws: int, seed: int) -> Result:
        """Sample a scenario with ``mcscale.run`` (materialized), as ``mcscale query`` does."""
        return run(scenario, draws, seed, mode="materialized", chunk_size=self.chunk_size, threads=self.threads)

    def _view(
        self, result: Result, metric: str, figures: _Figures, queries: list[Query], clock: _Clock
    ) -> dict[str, Any]:
        """Figures and answers of one result, as JSON."""
        fan = chartdata.to_json(chartdata.fan(result, metric))
        exceedance = chartdata.to_json(chartdata.threshold_exceedance(result, figures.metric, figures.threshold))
        crossing = chartdata.to_json(chartdata.crossing(result, figures.metric, figures.threshold))
        clock.lap("figures")
        answers = []
        for query in queries:
            item = answer(result, query)
            value, mcse = answer_cells(item)
            answers.append({"question": query.text, "value": value, "mcse": mcse, "answer": item.to_dict()})
        clock.lap("answers")
        return {"fan": fan, "exceedance": exceedance, "crossing": crossing, "answers": answers}

    def _original_view(
        self, state: PageState, figures: _Figures, queries: list[Query], clock: _Clock
    ) -> dict[str, Any]:
        """Return the figures and answers of the file as loaded, at the state's seed and draws (cached)."""
        key = (state.seed, state.draws, state.metric, figures.key, tuple(q.text for q in queries))
        if key in self._original:
            self._original.move_to_end(key)
            return self._original[key]
        asked = []
        for query in queries:  # an edited question may not apply to the file as loaded
            try:
                check_query(query, self.scenario)
            except QueryError:
                continue
            asked.append(query)
        result = self.sample(self.scenario, state.draws, state.seed)
        clock.lap("original_sampling")
        view = self._view(result, state.metric, figures, asked, clock)
        self._remember(key, view)
        return view

    def _remember(self, key: tuple[Any, ...], view: dict[str, Any]) -> None:
        self._original[key] = view
        while len(self._original) > _ORIGINAL_CACHE:
            self._original.popitem(last=False)

    def run(self, state: PageState) -> dict[str, Any]:
        """Check and sample a state: what ``POST /api/run`` answers.

        Returns
        -------
        dict
            ``state`` (as run), ``n_draws`` (as used: whole chunks), ``seed``, ``charts``
            (``fan``, ``exceedance``, ``crossing`` from :mod:`mcscale.viz.chartdata`, with
            the ``history`` of frontier runs on FLOP fans), ``answers`` (``question``,
            ``value`` and ``mcse`` as the report shows them, ``answer`` as ``mcscale query
            --json`` prints it), ``original`` (the same for the file as loaded), ``toml``,
            ``filename``, ``command`` (the ``mcscale query`` line that reproduces it),
            ``figure_question``, ``timing`` [s] and ``runs``.

        Raises
        ------
        ExploreError
            For a bad value or question: nothing is sampled.
        """
        clock = _Clock()
        scenario, text, queries = self.scenario_of(state)
        figures = _figure_threshold(scenario, queries)
        clock.lap("checks")
        with self._lock:
            result = self.sample(scenario, state.draws, state.seed)
            clock.lap("sampling")
            view = self._view(result, state.metric, figures, queries, clock)
            if self.changed(state):
                original = self._original_view(state, figures, queries, clock)
            else:  # the priors as loaded: the comparison is this very run
                original = view
                key = (state.seed, state.draws, state.metric, figures.key, tuple(q.text for q in queries))
                self._remember(key, view)
            self.runs += 1
            runs = self.runs
        original_answers = {a["question"]: a for a in original["answers"]}
        answers = [dict(item) for item in view["answers"]]  # the cached views stay as they are
        for item in answers:
            mine = original_answers.get(item["question"])
            item["original"] = None if mine is None else {k: mine[k] for k in ("value", "mcse", "answer")}
        history = self._history if state.metric in ("effective_flop", "physical_flop") else None
        clock.lap("json")
        return {
            "state": {
                "values": self.changed(state),
                "seed": state.seed,
                "draws": state.draws,
                "metric": state.metric,
                "questions": list(state.questions),
            },
            "scenario": scenario.name,
            "n_draws": result.n_draws,
            "seed": result.seed,
            "charts": {
                "fan": view["fan"],
                "exceedance": view["exceedance"],
                "crossing": view["crossing"],
                "history": history,
            },
            "original": {k: original[k] for k in ("fan", "exceedance", "crossing")},
            "answers": answers,
            "figure_question": figures.source,
            "toml": text,
            "filename": self.filename,
            "command": f"mcscale query {self.filename} --draws {state.draws} --seed {state.seed}",
            "timing": clock.to_json(),
            "runs": runs,
        }

    def warm(self) -> None:
        """Load the engine's kernels and run the figures once (a small run), so the first change is fast."""
        state = PageState({}, 0, 2_000, "effective_flop", self.questions)
        scenario, _, queries = self.scenario_of(state)
        result = self.sample(scenario, state.draws, state.seed)
        self._view(result, state.metric, _figure_threshold(scenario, queries), queries, _Clock())


def _parse_json(body: bytes) -> Any:
    """Read a request body as strict JSON (no NaN or Infinity)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ExploreError(f"the request is not valid JSON: {exc}") from None


#: API routes: (method, path) -> handler(explorer, body).
_ROUTES: dict[tuple[str, str], Callable[[Explorer, bytes], dict[str, Any]]] = {
    ("GET", "/api/scenario"): lambda explorer, body: explorer.describe(),
    ("POST", "/api/run"): lambda explorer, body: explorer.run(explorer.parse_state(_parse_json(body))),
}


def handle_api(explorer: Explorer, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Answer one API request.

    Parameters
    ----------
    explorer : Explorer
    method : str
        ``GET`` or ``POST``.
    path : str
        ``/api/scenario`` (the controls and the default state) or ``/api/run`` (a state,
        as JSON in ``body``).
    body : bytes
        The request body.

    Returns
    -------
    status : int
        200; 400 for a bad state (``{"error", "problems"}``); 404 or 405 for an unknown
        route or method.
    payload : dict
        JSON-ready.
    """
    handler = _ROUTES.get((method, path))
    if handler is None:
        if any(p == path for _, p in _ROUTES):
            return 405, {"error": f"{method} is not allowed on {path}"}
        return 404, {"error": f"no such endpoint: {path}"}
    try:
        return 200, handler(explorer, body)
    except ExploreError as exc:
        return exc.status, exc.to_json()
