"""What the plots show, computed from a result: band edges, exceedance curves, crossing years.

Every function here takes a :class:`~mcscale.results.base.Result` (already sampled) and
returns a small frozen dataclass of plain arrays; :mod:`mcscale.viz.drawing` draws them and
computes nothing. Nothing here imports matplotlib or samples.

All trajectory values are log10 of the metric's unit, as in ``Result.trajectories``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

from mcscale.analysis.sensitivity import TornadoResult
from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError, Threshold
from mcscale.results.answer import Answer
from mcscale.results.base import Result, trajectory_quantiles
from mcscale.units import METRICS, format_multiple, format_number, format_value

__all__ = [
    "FAN_LEVELS",
    "HISTORY_CREDIT",
    "Crossing",
    "Curve",
    "ErrorCurve",
    "ErrorCurves",
    "Exceedance",
    "Fan",
    "HistoricalRuns",
    "Requirement",
    "Tornado",
    "basis_note",
    "check_metric",
    "crossing",
    "exceedance",
    "exceedance_comparison",
    "fan",
    "has_milestone",
    "historical_runs",
    "metric_title",
    "milestone_exceedance",
    "reference_flop",
    "requirement_band",
    "scenario_metrics",
    "threshold_exceedance",
    "threshold_label",
    "to_json",
    "tornado",
]

#: Central probabilities of the nested fan-chart bands.
FAN_LEVELS = (0.5, 0.8, 0.95)

#: Attribution the CC BY 4.0 license of the bundled historical data requires.
HISTORY_CREDIT = "Historical runs: Epoch AI, Data on AI Models (epoch.ai/data/ai-models), CC BY 4.0; filtered"

#: Historical runs the fan chart labels by name (as in ``frontier_runs.csv``), with short labels.
LABELLED_RUNS = {"GPT-3 175B (davinci)": "GPT-3", "GPT-4": "GPT-4", "Grok-3": "Grok-3"}

_FLOP_METRICS = ("effective_flop", "physical_flop")

#: Metrics measured against the algorithms of the scenario's start year (their basis moves with it).
_START_BASED_METRICS = ("effective_flop", "algo_multiplier")

_REQUIREMENT = "milestone.requirement"


def scenario_metrics(scenario: Scenario) -> tuple[str, ...]:
    """Return the trajectory variables a scenario produces (``cap`` only when it has one)."""
    priors = scenario.all_priors()
    has_cap = "spend.cap" in priors or "spend.cap_gdp_fraction" in priors
    return tuple(name for name in METRICS if name != "cap" or has_cap)


def check_metric(metric: str, scenario: Scenario, flop_only: bool = False) -> None:
    """Raise :class:`QueryError` if ``metric`` is not a trajectory variable of ``scenario``.

    Parameters
    ----------
    metric : str
    scenario : Scenario
    flop_only : bool
        Also require a FLOP metric (for thresholds that are multiples of a reference run).
    """
    known = scenario_metrics(scenario)
    if metric not in known:
        extra = " (it has no spending cap)" if metric == "cap" else ""
        raise QueryError(f"metric {metric!r} is not in scenario {scenario.name!r}{extra}; known: " + ", ".join(known))
    if flop_only and metric not in _FLOP_METRICS:
        raise QueryError(f"{metric} is not in FLOP; thresholds here are multiples of a reference run (FLOP)")


def reference_flop(result: Result) -> tuple[str, float]:
    """Return the scenario's reference run: name and compute [FLOP] (the median if uncertain)."""
    return result.scenario.reference_name, float(result.prior_quantiles("reference.flop", (0.5,))[0])


def has_milestone(scenario: Scenario) -> bool:
    """Whether a scenario has a ``[milestone]`` requirement."""
    return _REQUIREMENT in scenario.priors


def threshold_label(threshold: Threshold, scenario: Scenario | None = None, metric: str | None = None) -> str:
    """Return a short label: ``1000x GPT-4``, ``1e+29``, ``$100B``, ``TAI requirement``.

    Parameters
    ----------
    threshold : float, (float, str) or "requirement"
    scenario : Scenario, optional
        Names the milestone of a ``"requirement"`` threshold.
    metric : str, optional
        Writes a number in the metric's unit (:func:`mcscale.units.format_value`).
    """
    if isinstance(threshold, tuple):
        return f"{format_multiple(threshold[0])} {threshold[1]}"
    if isinstance(threshold, str):
        if threshold == "requirement" and scenario is not None and has_milestone(scenario):
            return f"{scenario.milestone_name} requirement"
        return threshold
    return format_value(threshold, METRICS[metric]) if metric in METRICS else f"{threshold:.3g}"


def basis_note(scenarios: list[Scenario], metric: str = "effective_flop", *, short: bool = False) -> str | None:
    """Say, in one line, why ``metric`` is not comparable across scenarios with different start years.

    Effective FLOP (and the algorithmic multiplier) count algorithmic progress from
    the scenario's start year: a scenario starting in 2012 is in 2012-algorithm-equivalent
    FLOP, one starting in 2025 in 2025-algorithm-equivalent FLOP.

    Parameters
    ----------
    scenarios : list of Scenario
    metric : str
    short : bool
        A footnote short enough for a figure, instead of the full sentence.

    Returns
    -------
    str or None
        The note, or None when the metric does not depend on the start year or every
        scenario starts in the same year.
    """
    if metric not in _START_BASED_METRICS:
        return None
    by_start: dict[float, list[str]] = {}
    for scenario in scenarios:
        by_start.setdefault(float(scenario.start), []).append(scenario.name)
    if len(by_start) < 2:
        return None
    starts = sorted(by_start.items())
    if short:
        groups = ", ".join(f"{start:g} ({', '.join(names)})" for start, names in starts)
        return f"not one basis: algorithms counted from {groups}"
    groups = "; ".join(f"{', '.join(names)} from {start:g}" for start, names in starts)
    return (
        f"{metric_title(metric)} is not on one basis: each scenario counts algorithmic progress from its own "
        f"start year ({groups}), so these values are not comparable; compare physical FLOP instead"
    )


# --------------------------------------------------------------------------- #
# Fan charts                                                                   #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Fan:
    """Median and central bands of one metric per year (log10 values).

    Parameters
    ----------
    metric, unit : str
        Trajectory variable and its unit (``FLOP``, ``USD``...).
    years : ndarray, shape (n_years,)
        The year grid [year].
    median : ndarray, shape (n_years,)
        log10 of the median.
    levels : tuple of float
        Central probabilities of the bands, e.g. ``(0.5, 0.8, 0.95)``.
    lower, upper : dict of float to ndarray
        log10 of each band's edges: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.
    scenario : str
        The scenario's name.
    n_draws, seed : int
    reference : tuple of (str, float)
        The scenario's reference run: name and compute [FLOP].
    requirement : Requirement, optional
        The milestone's requirement, on a fan of the milestone's metric.
    """

    metric: str
    unit: str
    years: np.ndarray
    median: np.ndarray
    levels: tuple[float, ...]
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    scenario: str
    n_draws: int
    seed: int
    reference: tuple[str, float]
    requirement: Requirement | None = None


@dataclass(frozen=True)
class Requirement:
    """The central interval of a milestone's requirement prior (log10 values).

    Parameters
    ----------
    name : str
        The milestone's name (``TAI``, or ``milestone`` when the file names none).
    metric : str
        The trajectory variable the requirement is compared with.
    level : float
        Central probability of the interval, e.g. 0.9 for 5-95%.
    lower, median, upper : float
        log10 of the prior's ``(1 - level) / 2``, 0.5 and ``(1 + level) / 2`` quantiles
        [log10(FLOP)].
    """

    name: str
    metric: str
    level: float
    lower: float
    median: float
    upper: float


def requirement_band(result: Result, level: float = 0.9) -> Requirement | None:
    """Return the central ``level`` interval of the scenario's milestone requirement, or None without one.

    The quantiles are ``result.prior_quantiles("milestone.requirement", ...)`` (both modes).

    Parameters
    ----------
    result : Result
    level : float
        Central probability, in (0, 1); 0.9 gives the 5-95% interval.

    Returns
    -------
    Requirement or None
    """
    scenario = result.scenario
    if not has_milestone(scenario):
        return None
    if not 0 < level < 1:
        raise QueryError("band probabilities must lie in (0, 1)")
    q = result.prior_quantiles(_REQUIREMENT, ((1 - level) / 2, 0.5, (1 + level) / 2))
    lower, median, upper = (float(v) for v in np.log10(q))
    return Requirement(scenario.milestone_name, scenario.milestone_metric, level, lower, median, upper)


def _edge_levels(levels: tuple[float, ...]) -> list[float]:
    """Quantile levels a fan needs: the median and both edges of every band."""
    return [0.5, *((1 - p) / 2 for p in levels), *((1 + p) / 2 for p in levels)]


def fan(result: Result, metric: str = "effective_flop", levels: tuple[float, ...] = FAN_LEVELS) -> Fan:
    """Compute a fan chart's median and bands.

    Parameters
    ----------
    result : Result
    metric : str
        A trajectory variable of the result.
    levels : tuple of float
        Central probabilities of the bands, each in (0, 1).

    Returns
    -------
    Fan
        With the milestone's requirement (5-95%) when ``metric`` is the milestone's metric.
    """
    if not all(0 < p < 1 for p in levels):
        raise QueryError("band probabilities must lie in (0, 1)")
    check_metric(metric, result.scenario)
    q = trajectory_quantiles(result, metric, _edge_levels(levels)).values
    n = len(levels)
    requirement = requirement_band(result)
    return Fan(
        metric=metric,
        unit=METRICS[metric],
        years=np.asarray(result.years, dtype=float),
        median=q[0],
        levels=tuple(levels),
        lower={p: q[1 + i] for i, p in enumerate(levels)},
        upper={p: q[1 + n + i] for i, p in enumerate(levels)},
        scenario=result.scenario.name,
        n_draws=result.n_draws,
        seed=result.seed,
        reference=reference_flop(result),
        requirement=requirement if requirement is not None and requirement.metric == metric else None,
    )


# --------------------------------------------------------------------------- #
# Exceedance curves                                                            #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Curve:
    """P(metric >= threshold by year) on the year grid.

    Parameters
    ----------
    label : str
        What the curve is (``1000x GPT-4``, or a scenario's name in a comparison).
    years : ndarray, shape (n_years,)
        The year grid [year].
    probability : ndarray, shape (n_years,)
        Share of draws that reached the threshold at some grid year <= each year.
    mcse : ndarray, shape (n_years,)
        Its Monte Carlo standard error ``sqrt(p (1 - p) / n)``.
    scenario : str
        The scenario's name when curves compare scenarios (drawn in its colour); empty otherwise.
    """

    label: str
    years: np.ndarray
    probability: np.ndarray
    mcse: np.ndarray
    scenario: str = ""


@dataclass(frozen=True)
class Exceedance:
    """Exceedance curves of one metric.

    Parameters
    ----------
    metric : str
    curves : tuple of Curve
    title : str
        What the curves show, e.g. ``baseline: P(effective FLOP ≥ K x GPT-4 by year)``.
    n_draws, seed : int
    """

    metric: str
    curves: tuple[Curve, ...]
    title: str
    n_draws: int
    seed: int


def _curve(result: Result, metric: str, threshold: Threshold, label: str, scenario: str = "") -> Curve:
    p = result.exceedance_curve(metric, threshold)
    return Curve(label, np.asarray(result.years, dtype=float), p, np.sqrt(p * (1 - p) / result.n_draws), scenario)


def _check_threshold_metric(metric: str, scenario: Scenario, threshold: Threshold) -> None:
    """Check the metric of a threshold: a multiple of a reference run or the requirement needs a FLOP metric."""
    check_metric(metric, scenario, flop_only=isinstance(threshold, tuple))
    if threshold == "requirement" and metric not in _FLOP_METRICS:
        raise QueryError(f"the milestone requirement is in FLOP; {metric} is not")


def exceedance(
    result: Result,
    metric: str = "effective_flop",
    multiples: tuple[float, ...] = (10, 100, 1000, 10000),
    reference: str | None = None,
) -> Exceedance:
    """P(metric >= K x reference by year) for several multiples K, with MCSE.

    Each point equals ``result.probability(metric, (K, reference), by=year).value``.

    Parameters
    ----------
    result : Result
    metric : str
        ``effective_flop`` or ``physical_flop``.
    multiples : tuple of float
        Multiples of the reference run.
    reference : str, optional
        Reference name; the scenario's own by default.

    Returns
    -------
    Exceedance
    """
    check_metric(metric, result.scenario, flop_only=True)
    reference = reference or result.scenario.reference_name
    curves = tuple(_curve(result, metric, (k, reference), threshold_label((k, reference))) for k in multiples)
    title = f"{result.scenario.name}: P({metric_title(metric)} ≥ K x {reference} by year)"
    return Exceedance(metric, curves, title, result.n_draws, result.seed)


def threshold_exceedance(result: Result, metric: str, threshold: Threshold) -> Exceedance:
    """P(metric >= threshold by year) for one threshold: a number, a multiple, or the milestone requirement.

    Each point equals ``result.probability(metric, threshold, by=year).value``.

    Parameters
    ----------
    result : Result
    metric : str
        A trajectory variable (a FLOP metric for a multiple or the requirement).
    threshold : float, (float, str) or "requirement"

    Returns
    -------
    Exceedance
    """
    _check_threshold_metric(metric, result.scenario, threshold)
    label = threshold_label(threshold, result.scenario, metric)
    curve = _curve(result, metric, threshold, f"{metric_title(metric)} ≥ {label}")
    if threshold == "requirement":
        title = f"{result.scenario.name}: P({result.scenario.milestone_name} reached by year)"
    else:
        title = f"{result.scenario.name}: P({metric_title(metric)} ≥ {label} by year)"
    return Exceedance(metric, (curve,), title, result.n_draws, result.seed)


def milestone_exceedance(result: Result) -> Exceedance:
    """P(milestone reached by year): the milestone's metric against its requirement, draw by draw.

    Raises :class:`QueryError` when the scenario has no ``[milestone]``.
    """
    if not has_milestone(result.scenario):
        raise QueryError(f"scenario {result.scenario.name!r} has no [milestone] requirement")
    return threshold_exceedance(result, result.scenario.milestone_metric, "requirement")


def exceedance_comparison(results: list[Result], metric: str, threshold: Threshold) -> Exceedance:
    """One exceedance curve per scenario, for one threshold (labels are scenario names)."""
    for result in results:
        _check_threshold_metric(metric, result.scenario, threshold)
    curves = tuple(_curve(r, metric, threshold, r.scenario.name, r.scenario.name) for r in results)
    title = f"P({metric_title(metric)} ≥ {threshold_label(threshold, metric=metric)} by year)"
    return Exceedance(metric, curves, title, results[0].n_draws, results[0].seed)


# --------------------------------------------------------------------------- #
# Crossing years                                                               #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Crossing:
    """Distribution of the first year a metric reaches a threshold.

    Parameters
    ----------
    metric : str
    threshold : str
        Its label, e.g. ``1000x GPT-4``.
    edges : ndarray, shape (n_bins + 1,)
        Bin edges [year]: the year grid.
    share : ndarray, shape (n_bins,)
        Share of all draws first crossing within each bin (those already past the
        threshold at the start count in the first bin); sums to ``1 - p_never``.
    answer : Answer
        The query engine's answer (median, quantiles with MCSE, ``p_never`` in
        ``details``).
    scenario : str
    n_draws, seed : int
    """

    metric: str
    threshold: str
    edges: np.ndarray
    share: np.ndarray
    answer: Answer
    scenario: str
    n_draws: int
    seed: int

    @property
    def p_never(self) -> float:
        """Share of draws that never cross within the horizon."""
        return float(self.answer.details["p_never"])

    @property
    def p_never_mcse(self) -> float:
        """MCSE of :attr:`p_never`."""
        return float(self.answer.details["p_never_mcse"])


def crossing(result: Result, metric: str = "effective_flop", threshold: Threshold | None = None) -> Crossing:
    """Histogram of crossing years, and the query engine's answer for the same question.

    Parameters
    ----------
    result : Result
    metric : str
    threshold : float, (float, str) or "requirement", optional
        Default: 1000 x the scenario's reference run.

    Returns
    -------
    Crossing
    """
    threshold = threshold if threshold is not None else (1000.0, result.scenario.reference_name)
    _check_threshold_metric(metric, result.scenario, threshold)
    return Crossing(
        metric=metric,
        threshold=threshold_label(threshold, result.scenario, metric),
        edges=np.asarray(result.years, dtype=float),
        share=result.crossing_histogram(metric, threshold),
        answer=result.crossing_year(metric, threshold),
        scenario=result.scenario.name,
        n_draws=result.n_draws,
        seed=result.seed,
    )


# --------------------------------------------------------------------------- #
# Historical runs                                                              #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class HistoricalRuns:
    """Historical training runs from the bundled Epoch AI data.

    Parameters
    ----------
    system : tuple of str
        Model names.
    year : ndarray
        Publication date as a decimal year [year].
    log10_flop : ndarray
        log10 of the training compute [log10(FLOP)].
    labels : dict of int to str
        Index -> short label, for the runs a chart names (GPT-3, GPT-4, Grok-3).
    credit : str
        The attribution to show with the points.
    """

    system: tuple[str, ...]
    year: np.ndarray
    log10_flop: np.ndarray
    labels: dict[int, str]
    credit: str = HISTORY_CREDIT


def historical_runs(since: float = 2010.0, frontier_only: bool = True) -> HistoricalRuns:
    """Read the bundled ``frontier_runs.csv`` (Epoch AI, CC BY 4.0).

    Parameters
    ----------
    since : float
        Keep runs published at or after this decimal year [year].
    frontier_only : bool
        Keep only runs in the top 10 by compute at publication (``is_frontier``).

    Returns
    -------
    HistoricalRuns
    """
    text = (resources.files("mcscale") / "data" / "frontier_runs.csv").read_text(encoding="utf-8")
    rows = [
        row
        for row in csv.DictReader(text.splitlines())
        if float(row["year_fraction"]) >= since and (not frontier_only or row["is_frontier"] == "1")
    ]
    systems = tuple(row["system"] for row in rows)
    labels = {i: LABELLED_RUNS[name] for i, name in enumerate(systems) if name in LABELLED_RUNS}
    return HistoricalRuns(
        system=systems,
        year=np.array([float(row["year_fraction"]) for row in rows]),
        log10_flop=np.log10([float(row["training_compute_flop"]) for row in rows]),
        labels=labels,
    )


def metric_title(metric: str) -> str:
    """Return a metric's name in words: ``effective FLOP``, ``spend``."""
    return {
        "effective_flop": "effective FLOP",
        "physical_flop": "physical FLOP",
        "flop_per_usd": "FLOP per USD",
        "algo_multiplier": "algorithmic multiplier",
        "spend": "spend",
        "cap": "spending cap",
    }.get(metric, metric)


@dataclass(frozen=True)
class Tornado:
    """A tornado of one question: each prior's answer at its 5th and 95th percentile, largest swing first.

    Parameters
    ----------
    question : str
    scenario : str
    kind : str
        ``"indicator"`` (answers are probabilities), ``"crossing_year"`` [year] or
        ``"log10_value"`` [log10 of ``unit``].
    unit : str
        The metric's unit (for ``log10_value``).
    base, base_mcse : float
        The answer with every prior sampled, and its MCSE.
    labels : tuple of str
        One per bar: the prior and its 5-95% range, e.g. ``spend.initial ($150M-$1B)``.
    low, high : ndarray
        The answer with the prior at its 5th / 95th percentile.
    low_mcse, high_mcse : ndarray
    n_draws, seed : int
    conditional : bool
        Whether correlated priors were drawn from their conditional distribution.
    """

    question: str
    scenario: str
    kind: str
    unit: str
    base: float
    base_mcse: float
    labels: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    low_mcse: np.ndarray
    high_mcse: np.ndarray
    n_draws: int
    seed: int
    conditional: bool


@dataclass(frozen=True)
class ErrorCurve:
    """One estimator's error at each number of draws (a row of ``mcscale bench --error``).

    Parameters
    ----------
    method : str
        The estimator, e.g. ``"mc"``, ``"qmc"``.
    draws : ndarray
        Draws per estimate.
    seconds : ndarray
        Mean wall time of one estimate [s].
    rmse : ndarray
        Root-mean-square error against the reference, over the seeds.
    mcse : ndarray
        Mean MCSE the estimator reported.
    """

    method: str
    draws: np.ndarray
    seconds: np.ndarray
    rmse: np.ndarray
    mcse: np.ndarray


@dataclass(frozen=True)
class ErrorCurves:
    """Error against draws and seconds of several estimators of one probability.

    Parameters
    ----------
    scenario, question : str
    reference, reference_mcse : float
        The answer the errors are measured against, and its own MCSE.
    reference_label : str
        How the reference was computed (estimator and draws).
    seeds : int
        Independent estimates per point.
    machine : str
        The CPU, for the title (timings belong to a machine).
    curves : tuple of ErrorCurve
    methods : tuple of str
        Every estimator of the measurement, declined ones included, in order: an
        estimator's colour is its place here, the same in every case's figure.
    """

    scenario: str
    question: str
    reference: float
    reference_mcse: float
    reference_label: str
    seeds: int
    machine: str
    curves: tuple[ErrorCurve, ...]
    methods: tuple[str, ...] = ()


def _range_label(name: str, low: float, high: float, unit: str) -> str:
    """Return a bar's label: ``spend.initial ($150M-$1B)``, ``spend.doubling_time (0.5-1.5 year)``."""
    if unit == "USD":
        return f"{name} ({format_value(low, unit)}-{format_value(high, unit)})"
    suffix = "" if unit == "1" else f" {unit}"
    return f"{name} ({format_number(low)}-{format_number(high)}{suffix})"


def tornado(result: TornadoResult, scenario: str, max_bars: int | None = None) -> Tornado:
    """Return the bars of a tornado from :func:`mcscale.analysis.sensitivity.tornado`, largest swing first.

    Parameters
    ----------
    result : TornadoResult
    scenario : str
        The scenario's name, for the title.
    max_bars : int, optional
        Keep only the largest swings.
    """
    bars = result.bars[:max_bars]
    quantity = result.quantity
    return Tornado(
        question=quantity.question,
        scenario=scenario,
        kind=quantity.kind,
        unit=METRICS[quantity.metric],
        base=result.base,
        base_mcse=result.base_mcse,
        labels=tuple(_range_label(b.name, b.prior_low, b.prior_high, b.prior_unit) for b in bars),
        low=np.array([b.low for b in bars]),
        high=np.array([b.high for b in bars]),
        low_mcse=np.array([b.low_mcse for b in bars]),
        high_mcse=np.array([b.high_mcse for b in bars]),
        n_draws=result.n_draws,
        seed=result.seed,
        conditional=result.conditional,
    )


# --------------------------------------------------------------------------- #
# JSON, for figures drawn in a browser                                         #
# --------------------------------------------------------------------------- #


def _json_value(value: object) -> object:
    """Return ``value`` in JSON types: arrays as lists, non-finite numbers as None, float dict keys as text."""
    import dataclasses
    import math

    if isinstance(value, Answer):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {(f"{k:g}" if isinstance(k, float) else str(k)): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(data: object) -> dict[str, object]:
    """Return what a figure shows (a :class:`Fan`, :class:`Exceedance`, :class:`Crossing`, ...) as JSON types.

    The browser page of ``mcscale explore`` draws its figures from this, so they show
    the same numbers as the PNG figures drawn from the same dataclasses.

    Parameters
    ----------
    data : dataclass instance
        Any of this module's dataclasses.

    Returns
    -------
    dict
        ``{"kind": "fan", <field>: <value>, ...}``: every field, with arrays as lists,
        non-finite numbers (a crossing year past the horizon) as None, the float keys of
        band edges as text (``"0.5"``), an :class:`~mcscale.results.answer.Answer` as
        its ``to_dict()``; a :class:`Crossing` adds ``p_never`` and ``p_never_mcse``.
    """
    import dataclasses

    if not dataclasses.is_dataclass(data) or isinstance(data, type):
        raise TypeError(f"expected one of chartdata's dataclasses, got {type(data).__name__}")
    out: dict[str, object] = {"kind": type(data).__name__.lower()}
    for item in dataclasses.fields(data):
        out[item.name] = _json_value(getattr(data, item.name))
    if isinstance(data, Crossing):
        out["p_never"] = _json_value(data.p_never)
        out["p_never_mcse"] = _json_value(data.p_never_mcse)
    return out
