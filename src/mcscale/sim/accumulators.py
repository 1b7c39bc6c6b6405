"""Streaming accumulators: what a streaming run counts, planned before sampling, merged exactly.

Histogram ranges come from a pilot (chunk 0 itself), so they depend only on
(scenario, seed, chunk size). Counts are integers: chunks merge by addition in any
order to the same bits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import Threshold, resolve_threshold
from mcscale.sim.chunks import chunk_generator
from mcscale.sim.encode import ModelPlan, PriorTable, year_grid
from mcscale.sim.kernels import codes
from mcscale.sim.kernels.sampling import draw_parameters
from mcscale.sim.kernels.trajectory import propagate
from mcscale.units import METRICS

__all__ = [
    "CROSSING_BINS_PER_STEP",
    "STREAM_BIN_WIDTH",
    "CostSpec",
    "StreamCounts",
    "StreamPlan",
    "ThresholdSpec",
    "build_stream_plan",
    "cost_spec",
    "default_thresholds",
    "empty_counts",
    "threshold_spec",
]


#: Histogram bin width of streaming mode [dex]: 0.005 dex is 1.2% in natural units.
STREAM_BIN_WIDTH = 0.005
#: Crossing-year histogram bins per grid step.
CROSSING_BINS_PER_STEP = 100


class ThresholdSpec(NamedTuple):
    """A threshold streaming mode counts exceedances and crossings of.

    Attributes
    ----------
    variable : str
        Trajectory variable.
    sign : int
        +1 for ``>=``, -1 for ``<=``.
    log10_value : float
        log10 of the threshold [log10 of the variable's unit]; with ``row_name``, the
        log10 multiple added to that parameter's log10 draw.
    row_name : str or None
        A parameter the threshold is drawn from (a milestone requirement, an uncertain
        reference run), compared draw by draw.
    """

    variable: str
    sign: int
    log10_value: float
    row_name: str | None = None


class CostSpec(NamedTuple):
    """A "cost of THRESHOLD in YEAR" question for streaming mode (see :class:`ThresholdSpec`)."""

    year: float
    log10_value: float
    row_name: str | None = None


class StreamPlan(NamedTuple):
    """Bins and thresholds the streaming kernel accumulates (arrays the kernels read).

    ``histograms`` says whether variables and parameters are histogrammed (and their
    moments summed); ``n_steps`` is how many grid years are propagated and counted: a
    run asked only probabilities up to some year stops there.
    """

    bin_width: float
    n_bins: int
    variable_low: np.ndarray
    parameter_low: np.ndarray
    threshold_variable: np.ndarray
    threshold_sign: np.ndarray
    threshold_log10: np.ndarray
    threshold_row: np.ndarray
    years: np.ndarray
    crossing_width: float
    n_crossing_bins: int
    cost_year: np.ndarray
    cost_log10: np.ndarray
    cost_row: np.ndarray
    cost_low: np.ndarray
    histograms: bool
    n_steps: int


class StreamCounts(NamedTuple):
    """Integer accumulators of streaming mode; they merge exactly by addition.

    Attributes
    ----------
    histogram : ndarray of int64, shape (n_kept, n_years, n_bins + 2)
        Per-year histograms of each variable's log10 values; bin 0 is underflow and
        bin ``n_bins + 1`` overflow.
    parameter_histogram : ndarray of int64, shape (n_params, n_bins + 2)
        Histograms of each parameter's log10 draws.
    exceed_in, exceed_by : ndarray of int64, shape (n_thresholds, n_years)
        Draws past each threshold in each year, and at some year up to it.
    crossing : ndarray of int64, shape (n_thresholds, n_crossing_bins + 1)
        Crossing-year histograms; the last bin counts draws that never cross.
    cost_histogram : ndarray of int64, shape (n_costs, 2, n_bins + 2)
        log10 cost [USD] for physical and effective FLOP.
    """

    histogram: np.ndarray
    parameter_histogram: np.ndarray
    exceed_in: np.ndarray
    exceed_by: np.ndarray
    crossing: np.ndarray
    cost_histogram: np.ndarray

    def add(self, other: StreamCounts) -> None:
        """Add ``other`` into these counts, in place."""
        for mine, theirs in zip(self, other, strict=True):
            mine += theirs


def _padded_low(minimum: float, maximum: float) -> tuple[float, float]:
    """Return the low edge and span of a pilot's range padded by 1 dex plus half the span each side."""
    pad = 1.0 + 0.5 * (maximum - minimum)
    low = math.floor((minimum - pad) / STREAM_BIN_WIDTH) * STREAM_BIN_WIDTH
    return low, maximum + pad - low


#: Pilot draws propagated at a time: bounds the pilot's memory (7 MB for 36 years).
PILOT_SLICE = 4096


class _Extremes:
    """Running minimum and maximum of the finite values of several series, updated slice by slice.

    Infinite values (log10 of a zero utilization, say) are left to the under- and
    overflow bins; a series with no finite value gets the range [0, 0].
    """

    def __init__(self, n: int) -> None:
        self._low = np.full(n, np.inf)
        self._high = np.full(n, -np.inf)

    def update(self, i: int, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        if finite.size:
            self._low[i] = min(self._low[i], float(finite.min()))
            self._high[i] = max(self._high[i], float(finite.max()))

    @property
    def low(self) -> np.ndarray:
        return np.where(np.isfinite(self._low), self._low, 0.0)

    @property
    def high(self) -> np.ndarray:
        return np.where(np.isfinite(self._high), self._high, 0.0)


def _pilot_extremes(
    scenario: Scenario,
    costs: list[CostSpec],
    cost_year: np.ndarray,
    table: PriorTable,
    rows: dict[str, int],
    plan: ModelPlan,
    seed: int,
    chunk_length: int,
) -> tuple[_Extremes, _Extremes, _Extremes]:
    """Return the ranges of log10 values in chunk 0: per kept variable, per parameter, per cost (physical, effective).

    Chunk 0's trajectories are propagated :data:`PILOT_SLICE` draws at a time (a
    draw's trajectory does not depend on its neighbours), so the pilot never holds the
    whole chunk's (draw, year) arrays. ``cost_year`` is each cost's grid index and
    ``rows`` each parameter's row.
    """
    slots = [v for v in range(codes.N_VARIABLES) if plan.variable_slot[v] >= 0]
    n_years = scenario.n_years
    params = np.empty((table.n_params, chunk_length))
    draw_parameters(chunk_generator(seed, 0), table, params)
    with np.errstate(divide="ignore", invalid="ignore"):  # a rate that can be <= 0 falls in the underflow bin
        log_params = np.log10(params)
    parameters = _Extremes(table.n_params)
    for row in range(table.n_params):
        parameters.update(row, log_params[row])
    variables = _Extremes(len(slots))
    cost_ranges = _Extremes(2 * len(costs))
    fpu_slot, algo_slot = slots.index(codes.FLOP_PER_USD), slots.index(codes.ALGO_MULTIPLIER)
    for start in range(0, chunk_length, PILOT_SLICE):
        stop = min(start + PILOT_SLICE, chunk_length)
        trajectories = np.empty((len(slots), stop - start, n_years))
        propagate(np.ascontiguousarray(params[:, start:stop]), plan, trajectories)
        for slot in range(len(slots)):
            variables.update(slot, trajectories[slot])
        log_utilization = log_params[rows["utilization.value"], start:stop]
        for c, (spec, k) in enumerate(zip(costs, cost_year, strict=True)):
            limit = spec.log10_value + (log_params[rows[spec.row_name], start:stop] if spec.row_name else 0.0)
            physical = limit - trajectories[fpu_slot, :, k] - log_utilization
            cost_ranges.update(2 * c, physical)
            cost_ranges.update(2 * c + 1, physical - trajectories[algo_slot, :, k])
    return variables, parameters, cost_ranges


def build_stream_plan(
    scenario: Scenario,
    thresholds: list[ThresholdSpec],
    costs: list[CostSpec],
    table: PriorTable,
    names: list[str],
    plan: ModelPlan,
    seed: int,
    chunk_length: int,
    histograms: bool = True,
    last_year: float | None = None,
) -> StreamPlan:
    """Choose histogram ranges from a pilot chunk and encode thresholds for the kernel.

    The pilot is chunk 0 itself, so the ranges depend only on (scenario, seed, chunk
    size). Values beyond a range land in the under- or overflow bin and are counted.
    Without ``histograms`` and costs there is nothing to range, and no pilot. The
    kernel propagates the grid years up to ``last_year`` [year] (None: all).
    """
    rows = {name: i for i, name in enumerate(names)}
    cost_year = np.array([int(round((c.year - scenario.start) / scenario.step)) for c in costs], dtype=np.int64)
    years = year_grid(scenario)
    n_steps = len(years) if last_year is None else max(1, int(np.searchsorted(years, last_year + 1e-9, "right")))
    n_steps = max(n_steps, int(cost_year.max(initial=-1)) + 1)
    n_kept = int(np.count_nonzero(plan.variable_slot >= 0))
    if not histograms and not costs:
        return _plan(
            scenario,
            thresholds,
            costs,
            rows,
            cost_year,
            np.zeros(n_kept),
            np.zeros(table.n_params),
            np.zeros((0, 2)),
            0,
            histograms,
            n_steps,
        )
    variables, parameters, cost_ranges = _pilot_extremes(
        scenario, costs, cost_year, table, rows, plan, seed, chunk_length
    )
    spans = []

    def padded_lows(extremes: _Extremes) -> np.ndarray:
        lows = []
        for minimum, maximum in zip(extremes.low, extremes.high, strict=True):
            low, span = _padded_low(float(minimum), float(maximum))
            lows.append(low)
            spans.append(span)
        return np.array(lows)

    variable_low, parameter_low = padded_lows(variables), padded_lows(parameters)
    cost_low = padded_lows(cost_ranges).reshape(len(costs), 2)
    n_bins = int(math.ceil(max(spans) / STREAM_BIN_WIDTH))
    return _plan(
        scenario, thresholds, costs, rows, cost_year, variable_low, parameter_low, cost_low, n_bins, histograms, n_steps
    )


def _plan(
    scenario: Scenario,
    thresholds: list[ThresholdSpec],
    costs: list[CostSpec],
    rows: dict[str, int],
    cost_year: np.ndarray,
    variable_low: np.ndarray,
    parameter_low: np.ndarray,
    cost_low: np.ndarray,
    n_bins: int,
    histograms: bool,
    n_steps: int,
) -> StreamPlan:
    """Encode thresholds and costs, with the histogram ranges chosen, as the kernel reads them."""
    variable_index = {name: v for v, name in enumerate(METRICS)}
    years = year_grid(scenario)
    return StreamPlan(
        bin_width=STREAM_BIN_WIDTH,
        n_bins=n_bins,
        variable_low=variable_low,
        parameter_low=parameter_low,
        threshold_variable=np.array([variable_index[t.variable] for t in thresholds], dtype=np.int64),
        threshold_sign=np.array([float(t.sign) for t in thresholds]),
        threshold_log10=np.array([t.log10_value for t in thresholds]),
        threshold_row=np.array([rows[t.row_name] if t.row_name else -1 for t in thresholds], dtype=np.int64),
        years=years,
        crossing_width=scenario.step / CROSSING_BINS_PER_STEP,
        n_crossing_bins=(len(years) - 1) * CROSSING_BINS_PER_STEP + 1,
        cost_year=cost_year,
        cost_log10=np.array([c.log10_value for c in costs]),
        cost_row=np.array([rows[c.row_name] if c.row_name else -1 for c in costs], dtype=np.int64),
        cost_low=cost_low,
        histograms=histograms,
        n_steps=n_steps,
    )


def empty_counts(stream: StreamPlan, n_kept: int, n_params: int) -> StreamCounts:
    """Return zeroed accumulators for ``n_kept`` variables and ``n_params`` parameters.

    A plan without histograms gets empty variable and parameter histograms.
    """
    n_years = len(stream.years)
    n_thresholds = len(stream.threshold_variable)
    width = stream.n_bins + 2
    histogram_width = width if stream.histograms else 0
    return StreamCounts(
        histogram=np.zeros((n_kept if stream.histograms else 0, n_years, histogram_width), dtype=np.int64),
        parameter_histogram=np.zeros((n_params, histogram_width), dtype=np.int64),
        exceed_in=np.zeros((n_thresholds, n_years), dtype=np.int64),
        exceed_by=np.zeros((n_thresholds, n_years), dtype=np.int64),
        crossing=np.zeros((n_thresholds, stream.n_crossing_bins + 1), dtype=np.int64),
        cost_histogram=np.zeros((len(stream.cost_year), 2, width), dtype=np.int64),
    )


def threshold_spec(scenario: Scenario, metric: str, threshold: Threshold, op: str = ">=") -> ThresholdSpec:
    """Encode a threshold for the streaming kernel.

    Parameters
    ----------
    scenario : Scenario
    metric : str
        Trajectory variable.
    threshold : float, (float, str) or "requirement"
        As :meth:`mcscale.results.base.Result.probability` takes it.
    op : {">=", "<="}

    Returns
    -------
    ThresholdSpec
    """
    log10_value, row_name = resolve_threshold(scenario, threshold)
    return ThresholdSpec(metric, 1 if op == ">=" else -1, log10_value, row_name)


def cost_spec(scenario: Scenario, threshold: Threshold, year: float) -> CostSpec:
    """Encode a "cost of THRESHOLD in YEAR" question for the streaming kernel."""
    log10_value, row_name = resolve_threshold(scenario, threshold)
    return CostSpec(float(year), log10_value, row_name)


def default_thresholds(scenario: Scenario) -> list[ThresholdSpec]:
    """Effective FLOP at 10x, 100x, 1000x and 10000x the scenario's reference (for exceedance curves)."""
    return [
        threshold_spec(scenario, "effective_flop", (multiple, scenario.reference_name))
        for multiple in (10.0, 100.0, 1000.0, 10000.0)
    ]
