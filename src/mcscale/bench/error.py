"""``mcscale bench --error``: how fast each estimator's error falls, against draws and against seconds.

For each case (a bundled scenario and a probability question), every estimator of
:data:`ESTIMATORS` answers the question at each number of draws of a ladder, once per
seed, and is timed (wall clock, warm kernels). The error of a point is the
root-mean-square difference of its estimates from a reference answer, over the seeds;
beside it stands the mean MCSE the estimator reported, which an honest MCSE matches.

The reference is computed once, with the most efficient estimator that applies (the
first of :data:`REFERENCE_ESTIMATORS`) at many draws (``reference_draws``), from seeds
no ladder point uses, and cached by scenario text, question, estimator, draws and
mcscale version. Its own MCSE is recorded and drawn: an error below it cannot be
measured. An estimator that declines a case (a variance reduction that does not apply:
importance sampling of a probability above 0.1, conditional MC without a factor to
integrate) is recorded with its reason and left out of that case's table and figure.

The summary of an estimator is its *efficiency* relative to plain Monte Carlo at the
largest size: ``(rmse_mc^2 t_mc) / (rmse^2 t)``, how many times less wall time it needs
for the same error (variance times cost, the usual figure of merit); it is given from
the RMSE (independent of what the estimator says of itself, but noisy: with 8 seeds an
RMSE is good to about 25%, its square to 50%) and from the mean reported MCSE (steadier,
and as honest as the MCSE, which the RMSE/MCSE column checks).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcscale._version import __version__
from mcscale.api import count_probabilities, estimate_probabilities, qmc_probabilities
from mcscale.bench.record import cpu_label, machine_info
from mcscale.fileio import write_atomic
from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError
from mcscale.query import Query, check_query, parse_question, scenario_references
from mcscale.results.answer import Answer
from mcscale.scenario_file import bundled_scenarios, load_scenario
from mcscale.sim.reduction import METHODS
from mcscale.viz.chartdata import ErrorCurve, ErrorCurves

__all__ = [
    "DEFAULT_CASES",
    "ESTIMATORS",
    "ErrorConfig",
    "error_curves",
    "format_error_table",
    "measure_error",
    "parse_case",
]

#: An estimator: (scenario, [question], draws, seed, threads) -> [its answer].
Estimator = Callable[[Scenario, list[Query], int, int, int | None], list[Answer]]


def _plain(scenario: Scenario, queries: list[Query], n: int, seed: int, threads: int | None) -> list[Answer]:
    return count_probabilities(scenario, queries, n, seed, threads=threads)


def _qmc(scenario: Scenario, queries: list[Query], n: int, seed: int, threads: int | None) -> list[Answer]:
    return qmc_probabilities(scenario, queries, n, seed, threads=threads)


def _reduced(sampler: str, method: str) -> Estimator:
    """Return the estimator of a sampler with a variance reduction (:func:`mcscale.api.estimate_probabilities`)."""

    def estimate(scenario: Scenario, queries: list[Query], n: int, seed: int, threads: int | None) -> list[Answer]:
        return estimate_probabilities(scenario, queries, n, seed, sampler, method, threads=threads)

    return estimate


#: The estimators compared, by name, in the order of the table.
ESTIMATORS: dict[str, Estimator] = {
    "mc": _plain,
    "qmc": _qmc,
    **{f"{sampler}+{method}": _reduced(sampler, method) for method in METHODS for sampler in ("mc", "qmc")},
}
#: Estimators of the reference answers, most efficient first: a case takes the first that applies
#: (importance sampling declines all but tails; conditional MC, scenarios without a factor to integrate).
REFERENCE_ESTIMATORS = ("qmc+importance", "qmc+conditional", "qmc")

#: Scenario and question of each default case: a central and a tail probability of the baseline, and overhang's tail.
DEFAULT_CASES = (
    ("baseline", "P(effective_flop >= 1e31 by 2030)"),
    ("baseline", "P(effective_flop >= 1e33 by 2030)"),
    ("overhang", "P(effective_flop >= 1e33 by 2030)"),
)
#: Seeds of the reference: far from the ladder's 0 .. seeds - 1.
_REFERENCE_SEED = 1_000_003


@dataclass
class ErrorConfig:
    """What :func:`measure_error` measures.

    Attributes
    ----------
    cases : list of (str, str)
        Bundled scenario name (or scenario file) and probability question.
    estimators : list of str
        Names in :data:`ESTIMATORS`.
    sizes : list of int
        Draws of the ladder's points (powers of 2 suit QMC, which rounds up to them).
    seeds : int
        Estimates per point.
    reference_draws : int
    threads : int or None
    cache : Path or None
        JSON file of computed references (None: none kept).
    """

    cases: list[tuple[str, str]] = field(default_factory=lambda: list(DEFAULT_CASES))
    estimators: list[str] = field(default_factory=lambda: list(ESTIMATORS))
    sizes: list[int] = field(default_factory=lambda: [2**k for k in range(12, 21, 2)])
    seeds: int = 8
    reference_draws: int = 2**26
    threads: int | None = None
    cache: Path | None = None


def parse_case(text: str) -> tuple[str, str]:
    """Read ``SCENARIO:QUESTION`` (``baseline:P(effective_flop >= 1e31 by 2030)``).

    Raises
    ------
    QueryError
        Without a ``:`` between a scenario and a question.
    """
    scenario, sep, question = text.partition(":")
    if not sep or not scenario.strip() or not question.strip():
        example = "'baseline:P(spend >= 1e10 by 2030)'"
        raise QueryError(f"--error-case: a case is SCENARIO:QUESTION, e.g. {example}, got {text!r}")
    return scenario.strip(), question.strip()


def _load_case(name: str, question: str) -> tuple[Scenario, Query]:
    scenario = load_scenario(bundled_scenarios().get(name, Path(name)))
    query = parse_question(question, scenario_references(scenario))
    if query.kind != "probability":
        raise QueryError(f"{question}: bench --error measures probability questions only")
    check_query(query, scenario)
    return scenario, query


def _timed(estimator: Estimator, scenario: Scenario, query: Query, n: int, seed: int, threads: int | None):
    started = time.perf_counter()
    answer = estimator(scenario, [query], n, seed, threads)[0]
    return answer, time.perf_counter() - started


def _reference(config: ErrorConfig, scenario: Scenario, query: Query, say: Callable[[str], None]) -> dict[str, Any]:
    """Return the reference answer of a case, by the first estimator that applies: from the cache or computed now.

    The cache also remembers which estimators declined the case, so a cached answer of a
    later estimator is used only where the earlier ones decline.
    """
    text = Path(scenario.source).read_text(encoding="utf-8") if Path(scenario.source).is_file() else scenario.name
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    cache = json.loads(config.cache.read_text()) if config.cache is not None and config.cache.exists() else {}
    for name in REFERENCE_ESTIMATORS:
        key = "|".join([digest, query.text, name, str(config.reference_draws), __version__])
        if key not in cache:
            say(f"  reference: {name} at {config.reference_draws:.3g} draws (once; cached) ...")
            try:
                answer, seconds = _timed(
                    ESTIMATORS[name], scenario, query, config.reference_draws, _REFERENCE_SEED, config.threads
                )
                cache[key] = {
                    "value": answer.value,
                    "mcse": answer.mcse if answer.mcse is not None else 3.0 / answer.n_draws,
                    "estimator": name,
                    "n_draws": answer.n_draws,
                    "seconds": seconds,
                }
            except QueryError as exc:
                say(f"  {name} declined: {exc}")
                cache[key] = {"declined": str(exc)}
            if config.cache is not None:
                config.cache.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(config.cache, (json.dumps(cache, indent=1) + "\n").encode())
        if "declined" not in cache[key]:
            return cache[key]
    raise QueryError(f"{query.text}: no estimator of {', '.join(REFERENCE_ESTIMATORS)} answers it")


def _point(estimator: Estimator, scenario: Scenario, query: Query, n: int, config: ErrorConfig, reference: float):
    """Estimates of one ladder point: draws, mean seconds, RMSE and mean reported MCSE."""
    runs = [_timed(estimator, scenario, query, n, seed, config.threads) for seed in range(config.seeds)]
    values = np.array([answer.value for answer, _ in runs])
    mcses = [answer.mcse if answer.mcse is not None else 3.0 / answer.n_draws for answer, _ in runs]
    return {
        "n_draws": runs[0][0].n_draws,
        "seconds": float(np.mean([seconds for _, seconds in runs])),
        "rmse": float(np.sqrt(np.mean((values - reference) ** 2))),
        "mcse": float(np.mean(mcses)),
        "estimates": values.tolist(),
    }


def measure_error(config: ErrorConfig, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every estimator of every case over the ladder; return the JSON-ready record.

    Raises
    ------
    QueryError
        For an unknown estimator, or a case whose question is not a probability.
    """
    say = progress or (lambda _line: None)
    unknown = [name for name in config.estimators if name not in ESTIMATORS]
    if unknown:
        raise QueryError(f"unknown estimator {unknown[0]!r}; known: {', '.join(ESTIMATORS)}")
    record: dict[str, Any] = {
        "benchmark": "mcscale bench --error",
        "mcscale_version": __version__,
        "machine": machine_info(),
        "seeds": config.seeds,
        "sizes": config.sizes,
        "cases": [],
    }
    for name, question in config.cases:
        scenario, query = _load_case(name, question)
        say(f"{scenario.name}: {query.text}")
        reference = _reference(config, scenario, query, say)
        curves = []
        for method in config.estimators:
            estimator = ESTIMATORS[method]
            try:
                _timed(estimator, scenario, query, config.sizes[0], 0, config.threads)  # load the kernels untimed
                say(f"  {method}: {len(config.sizes)} sizes x {config.seeds} seeds ...")
                points = [_point(estimator, scenario, query, n, config, reference["value"]) for n in config.sizes]
            except QueryError as exc:  # a variance reduction that does not apply (importance: at some seed's pilot)
                say(f"  {method}: declined ({exc})")
                curves.append({"method": method, "declined": str(exc), "points": []})
                continue
            curves.append({"method": method, "points": points})
        record["cases"].append(
            {"scenario": scenario.name, "question": query.text, "reference": reference, "curves": curves}
        )
    return record


def error_curves(case: dict[str, Any], record: dict[str, Any]) -> ErrorCurves:
    """Return the figure data of one case of a record."""
    reference = case["reference"]
    curves = tuple(
        ErrorCurve(
            curve["method"],
            *(
                np.array([p[key] for p in curve["points"]], dtype=float)
                for key in ("n_draws", "seconds", "rmse", "mcse")
            ),
        )
        for curve in case["curves"]
        if curve["points"]
    )
    return ErrorCurves(
        scenario=case["scenario"],
        question=case["question"],
        reference=reference["value"],
        reference_mcse=reference["mcse"],
        reference_label=f"{reference['estimator']}, {reference['n_draws']:.3g} draws",
        seeds=record["seeds"],
        machine=cpu_label(record["machine"]),
        curves=curves,
        methods=tuple(curve["method"] for curve in case["curves"]),
    )


def _efficiency(curve: dict[str, Any], plain: dict[str, Any], error: str) -> float:
    """Plain MC's wall time for this estimator's ``error`` ("rmse" or "mcse") at the largest size, over its own."""
    mine, theirs = curve["points"][-1], plain["points"][-1]
    if mine[error] == 0 or mine["seconds"] == 0:
        return math.inf
    return (theirs[error] ** 2 * theirs["seconds"]) / (mine[error] ** 2 * mine["seconds"])


def format_error_table(record: dict[str, Any]) -> str:
    """Return the record as text: per case, per estimator and size, draws, seconds, RMSE, MCSE, their ratio."""
    lines = [f"mcscale bench --error on {cpu_label(record['machine'])}; {record['seeds']} seeds per point"]
    for case in record["cases"]:
        ref = case["reference"]
        lines += [
            "",
            f"{case['scenario']}: {case['question']} = {ref['value']:.7g} ± {ref['mcse']:.2g} "
            f"(reference: {ref['estimator']}, {ref['n_draws']:.3g} draws)",
            f"{'estimator':<20} {'draws':>10} {'seconds':>9} {'RMSE':>10} {'mean MCSE':>10} {'RMSE/MCSE':>9}",
        ]
        plain = next((c for c in case["curves"] if c["method"] == "mc"), None)
        for curve in case["curves"]:
            if "declined" in curve:
                lines.append(f"{curve['method']:<20} declined: {curve['declined']}")
                continue
            for p in curve["points"]:
                ratio = p["rmse"] / p["mcse"] if p["mcse"] else math.nan
                lines.append(
                    f"{curve['method']:<20} {p['n_draws']:>10} {p['seconds']:>9.3f} {p['rmse']:>10.3g} "
                    f"{p['mcse']:>10.3g} {ratio:>9.2f}"
                )
            if plain is not None and curve is not plain:
                by_rmse, by_mcse = _efficiency(curve, plain, "rmse"), _efficiency(curve, plain, "mcse")
                lines.append(
                    f"{'':<20} efficiency against plain MC at the largest size: {by_rmse:.3g}x by RMSE, "
                    f"{by_mcse:.3g}x by reported MCSE"
                )
    return "\n".join(lines)
