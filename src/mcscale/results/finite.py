"""Refuse a run whose values left the range of finite numbers: the model overflowed.

Values are stored as log10: one beyond ±:data:`~mcscale.numbers.LOG10_LIMIT` (initial
spend of 1e308, a doubling time of 1e-300 years) would print as ``inf`` or ``-inf`` and
turn every answer about it into nonsense. :func:`check_model_finite` checks a result;
:func:`check_counted_finite` checks a streaming run that kept only counts, by the
counts of :func:`range_thresholds`. Neither needs xarray.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from mcscale.model.scenario import Scenario, ScenarioError
from mcscale.numbers import LOG10_LIMIT
from mcscale.sim.accumulators import ThresholdSpec
from mcscale.sim.engine import StreamRun

if TYPE_CHECKING:
    from mcscale.results.base import Result

__all__ = ["check_counted_finite", "check_model_finite", "range_thresholds"]

#: The scenario sections whose priors feed each trajectory variable, to name in an overflow.
_INPUTS = {
    "spend": ("spend", "economy"),
    "cap": ("spend", "economy"),
    "flop_per_usd": ("hardware",),
    "physical_flop": ("spend", "hardware", "utilization"),
    "algo_multiplier": ("algorithms",),
    "effective_flop": ("spend", "hardware", "utilization", "algorithms"),
}


def check_model_finite(result: Result) -> None:
    """Refuse a run whose values are not finite numbers over the horizon, naming the variable, year and priors.

    A materialized run is checked draw by draw (one pass over the trajectories), a
    streaming run by its summary's quantiles; a lazy run (on a dask cluster) is not
    checked here.

    Raises
    ------
    ScenarioError
        One problem per variable that leaves the range, at the scenario's file.
    """
    if result.is_lazy:
        return
    with np.errstate(all="ignore"):  # a streaming summary of infinite values: the overflow is reported below
        data = result.trajectories if result.keeps_draws else result.summary
    years = np.asarray(result.years, dtype=float)
    problems = []
    for metric in _INPUTS:
        if metric not in data.data_vars:
            continue
        values = np.asarray(data[metric].values, dtype=float)
        values = values.reshape(-1, values.shape[-1])  # (draws or quantiles, year)
        finite = np.isfinite(values)
        bad = ~finite
        bad[finite] = np.abs(values[finite]) > LOG10_LIMIT
        if not bad.any():
            continue
        if not finite.all():
            what = "is not a finite number (inf or nan)"
        else:
            extreme = values.max() if values.max() > LOG10_LIMIT else values.min()
            what = f"reaches 1e{extreme:+.0f}, beyond 1e-{LOG10_LIMIT:g}..1e+{LOG10_LIMIT:g}"
        problems.append((metric, what, years[np.argmax(bad.any(axis=0))]))
    _refuse(result.scenario, problems)


def range_thresholds(metrics: Iterable[str]) -> list[ThresholdSpec]:
    """Thresholds whose counts tell the draws of each metric inside ±:data:`~mcscale.numbers.LOG10_LIMIT`.

    Two per metric, ``>= 1e-LIMIT`` and ``>= 1e+LIMIT``: a value counts in the first and
    not the second exactly when it is a number in range (inf counts in both, NaN and
    underflow in neither).
    """
    return [ThresholdSpec(metric, 1, sign * LOG10_LIMIT) for metric in metrics for sign in (-1, 1)]


def check_counted_finite(scenario: Scenario, run: StreamRun, metrics: Iterable[str]) -> None:
    """Refuse a streaming run in which a draw of ``metrics`` left the range, by :func:`range_thresholds`' counts.

    Only the years the run propagated are checked: those its answers read.

    Raises
    ------
    ScenarioError
        As :func:`check_model_finite`.
    """
    n_years = run.stream.n_steps
    problems = []
    for metric in metrics:
        low = run.counts.exceed_in[run.thresholds.index(ThresholdSpec(metric, 1, -LOG10_LIMIT))][:n_years]
        high = run.counts.exceed_in[run.thresholds.index(ThresholdSpec(metric, 1, LOG10_LIMIT))][:n_years]
        bad = (low - high) < run.layout.n_draws
        if bad.any():
            what = f"leaves 1e-{LOG10_LIMIT:g}..1e+{LOG10_LIMIT:g} (or is not a finite number)"
            problems.append((metric, what, run.years[int(np.argmax(bad))]))
    _refuse(scenario, problems)


def _refuse(scenario: Scenario, problems: list[tuple[str, str, float]]) -> None:
    """Raise one line for the first variable that overflows (those computed from it follow), if any."""
    if not problems:
        return
    sections = {name.split(".")[0] for name in scenario.all_priors()}
    metric, what, first = problems[0]
    inputs = ", ".join(f"[{s}]" for s in _INPUTS[metric] if s in sections)
    others = [other for other, _, _ in problems[1:]]
    also = f" (and so {', '.join(others)})" if others else ""
    message = f"the model overflows: {metric} {what} from {first:g}; check the priors of {inputs}{also}"
    raise ScenarioError(scenario.source, [("", message)])
