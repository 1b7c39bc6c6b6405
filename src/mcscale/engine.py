"""The engine: model plan, chunks, seeding and threads.

Draws are split into equal chunks. Chunk ``k`` draws from its own generator,
``SFC64(SeedSequence(seed).spawn(n)[k])``, and writes only its own slice of the
output, so a run is a pure function of (scenario, n_draws, seed, chunk_size):
the same bits whatever the number of threads or the order chunks finish in.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from mcscale import kernels
from mcscale.priors import PriorTable, build_prior_table
from mcscale.scenario import Scenario

__all__ = [
    "CROSSING_BINS_PER_STEP",
    "DEFAULT_CHUNK_SIZE",
    "STREAM_BIN_WIDTH",
    "CostSpec",
    "StreamCounts",
    "StreamPlan",
    "StreamRun",
    "Threshold",
    "build_stream_plan",
    "materialized_bytes",
    "simulate_stream",
    "TRAJECTORY_VARIABLES",
    "ChunkLayout",
    "ModelPlan",
    "RawRun",
    "build_model_plan",
    "chunk_generator",
    "chunk_layout",
    "default_threads",
    "simulate",
    "year_grid",
]

#: A progress callback: ``progress(draws_done, n_draws)``.
Progress = Callable[[int, int], None]

#: Largest number of draws per chunk.
DEFAULT_CHUNK_SIZE = 65536

#: Trajectory variables in kernel order, with their units.
TRAJECTORY_VARIABLES: dict[str, str] = {
    "spend": "USD",
    "cap": "USD",
    "flop_per_usd": "FLOP/USD",
    "physical_flop": "FLOP",
    "algo_multiplier": "1",
    "effective_flop": "FLOP",
}

_CEILING_MODES = {"hard": kernels.CEILING_HARD, "soft": kernels.CEILING_SOFT}
_GROWTH_KEYS = {
    kernels.GROWTH_SPEND: "spend",
    kernels.GROWTH_HARDWARE: "hardware",
    kernels.GROWTH_ALGORITHMS: "algorithms",
}


class ModelPlan(NamedTuple):
    """The model of a scenario as arrays the kernels read.

    Attributes
    ----------
    value_row : ndarray of int64, shape (N_VALUES,)
        Prior row of each start value (-1: absent).
    value_sign : ndarray of float64
        +1, or -1 where the file gives the inverse (``price_per_flop``).
    rate_row, rate_kind : ndarray of int64, shape (4, n_regimes)
        Prior row and form (doubling time or factor per year) of each growing
        quantity's rate in each regime.
    interval_regime : ndarray of int64, shape (n_years - 1,)
        Regime in force over each grid interval.
    step : float
        Grid step [year].
    cap_mode, hardware_mode, algorithms_mode : int
        Ceiling modes (none, hard, soft).
    variable_slot : ndarray of int64, shape (N_VARIABLES,)
        Output slot of each trajectory variable (-1: not kept).
    """

    value_row: np.ndarray
    value_sign: np.ndarray
    rate_row: np.ndarray
    rate_kind: np.ndarray
    interval_regime: np.ndarray
    step: float
    cap_mode: int
    hardware_mode: int
    algorithms_mode: int
    variable_slot: np.ndarray


class ChunkLayout(NamedTuple):
    """How draws are split: ``n_chunks`` chunks of ``chunk_length`` draws."""

    n_chunks: int
    chunk_length: int

    @property
    def n_draws(self) -> int:
        """Total number of draws."""
        return self.n_chunks * self.chunk_length


class RawRun(NamedTuple):
    """Arrays produced by :func:`simulate`.

    Attributes
    ----------
    parameters : ndarray, shape (n_params, n_chunks, chunk_length)
        Every prior's draws [canonical units].
    parameter_names : list of str
        Name of each parameter row.
    trajectories : ndarray, shape (n_kept, n_chunks, chunk_length, n_years)
        log10 of each kept trajectory variable.
    variables : list of str
        Name of each kept variable.
    years : ndarray
        The grid [year].
    layout : ChunkLayout
    seconds : float
        Wall time of the sampling [s].
    """

    parameters: np.ndarray
    parameter_names: list[str]
    trajectories: np.ndarray
    variables: list[str]
    years: np.ndarray
    layout: ChunkLayout
    seconds: float


def year_grid(scenario: Scenario) -> np.ndarray:
    """Return the scenario's grid years [year]."""
    return scenario.start + scenario.step * np.arange(scenario.n_years)


def chunk_layout(n_draws: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkLayout:
    """Split ``n_draws`` into equal chunks of at most ``chunk_size`` draws.

    The chunk count is the smallest that divides ``n_draws`` within a factor of
    two of the minimum, so round counts (10^5, 10^6, 10^7) split exactly. Where no
    such divisor exists the draws are rounded up to whole chunks.

    Parameters
    ----------
    n_draws : int
        Requested number of draws (> 0).
    chunk_size : int, optional
        Largest chunk.

    Returns
    -------
    ChunkLayout
    """
    if n_draws <= 0:
        raise ValueError(f"n_draws must be positive, got {n_draws}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    fewest = math.ceil(n_draws / chunk_size)
    for n_chunks in range(fewest, 2 * fewest + 1):
        if n_draws % n_chunks == 0:
            return ChunkLayout(n_chunks, n_draws // n_chunks)
    return ChunkLayout(fewest, math.ceil(n_draws / fewest))


def chunk_generator(seed: int, chunk: int) -> np.random.Generator:
    """Return chunk ``chunk``'s generator: ``SeedSequence(seed).spawn(...)[chunk]``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def default_threads() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set, else the CPU count."""
    value = os.environ.get("NUMBA_NUM_THREADS")
    return int(value) if value else (os.cpu_count() or 1)


def _rate(scenario_priors: dict, section: str, rows: dict[str, int]) -> tuple[int, int]:
    """Prior row and rate form of a section's growth, or (-1, none) if not given."""
    for key, kind in (
        ("doubling_time", kernels.RATE_DOUBLING_TIME),
        ("growth_per_year", kernels.RATE_GROWTH_PER_YEAR),
    ):
        name = f"{section}.{key}"
        if name in scenario_priors:
            return rows[scenario_priors[name].name], kind
    return -1, kernels.RATE_NONE


def build_model_plan(scenario: Scenario, rows: dict[str, int]) -> ModelPlan:
    """Encode the scenario's model equations for the kernels.

    Parameters
    ----------
    scenario : Scenario
    rows : dict of str to int
        Prior name -> row in the :class:`PriorTable`.

    Returns
    -------
    ModelPlan
    """
    p = scenario.priors
    value_row = np.full(kernels.N_VALUES, -1, dtype=np.int64)
    value_sign = np.ones(kernels.N_VALUES)
    value_row[kernels.VALUE_SPEND] = rows["spend.initial"]
    if "hardware.flop_per_usd" in p:
        value_row[kernels.VALUE_FLOP_PER_USD] = rows["hardware.flop_per_usd"]
    else:
        value_row[kernels.VALUE_FLOP_PER_USD] = rows["hardware.price_per_flop"]
        value_sign[kernels.VALUE_FLOP_PER_USD] = -1.0
    value_row[kernels.VALUE_UTILIZATION] = rows["utilization.value"]
    for slot, name in (
        (kernels.VALUE_CAP, "spend.cap"),
        (kernels.VALUE_CAP, "spend.cap_gdp_fraction"),
        (kernels.VALUE_CAP_SCALE, "economy.gdp"),
        (kernels.VALUE_MAX_FLOP_PER_USD, "hardware.max_flop_per_usd"),
        (kernels.VALUE_MAX_GAIN, "algorithms.max_gain"),
    ):
        if name in p:
            value_row[slot] = rows[name]

    n_regimes = len(scenario.regimes) + 1
    rate_row = np.full((4, n_regimes), -1, dtype=np.int64)
    rate_kind = np.zeros((4, n_regimes), dtype=np.int64)
    cap_growth = "economy.gdp_growth_per_year" if "spend.cap_gdp_fraction" in p else "spend.cap_growth_per_year"
    for r in range(n_regimes):
        priors = p if r == 0 else scenario.regimes[r - 1].priors
        for q, section in _GROWTH_KEYS.items():
            row, kind = _rate(priors, section, rows)
            if row >= 0:
                rate_row[q, r], rate_kind[q, r] = row, kind
            elif r > 0:  # unchanged by this regime
                rate_row[q, r], rate_kind[q, r] = rate_row[q, r - 1], rate_kind[q, r - 1]
        if cap_growth in priors:
            rate_row[kernels.GROWTH_CAP, r] = rows[priors[cap_growth].name]
            rate_kind[kernels.GROWTH_CAP, r] = kernels.RATE_GROWTH_PER_YEAR
        elif r > 0:
            rate_row[kernels.GROWTH_CAP, r] = rate_row[kernels.GROWTH_CAP, r - 1]
            rate_kind[kernels.GROWTH_CAP, r] = rate_kind[kernels.GROWTH_CAP, r - 1]

    interval_starts = year_grid(scenario)[:-1]
    boundaries = np.array([regime.start_year for regime in scenario.regimes])
    # A regime covers every interval that starts at or after its year.
    interval_regime = np.searchsorted(boundaries, interval_starts + 1e-9, side="right").astype(np.int64)

    has_cap = value_row[kernels.VALUE_CAP] >= 0
    variable_slot = np.full(kernels.N_VARIABLES, -1, dtype=np.int64)
    slot = 0
    for v, name in enumerate(TRAJECTORY_VARIABLES):
        if name != "cap" or has_cap:
            variable_slot[v] = slot
            slot += 1
    return ModelPlan(
        value_row=value_row,
        value_sign=value_sign,
        rate_row=rate_row,
        rate_kind=rate_kind,
        interval_regime=interval_regime,
        step=float(scenario.step),
        cap_mode=_CEILING_MODES[scenario.cap_kind] if has_cap else kernels.CEILING_NONE,
        hardware_mode=_CEILING_MODES[scenario.hardware_ceiling_kind]
        if value_row[kernels.VALUE_MAX_FLOP_PER_USD] >= 0
        else kernels.CEILING_NONE,
        algorithms_mode=_CEILING_MODES[scenario.algorithms_ceiling_kind]
        if value_row[kernels.VALUE_MAX_GAIN] >= 0
        else kernels.CEILING_NONE,
        variable_slot=variable_slot,
    )


def compile_plan(scenario: Scenario) -> tuple[PriorTable, list[str], ModelPlan, list[str]]:
    """Return the prior table, parameter names, model plan and kept variables."""
    table, names = build_prior_table(scenario)
    plan = build_model_plan(scenario, {name: i for i, name in enumerate(names)})
    variables = [name for v, name in enumerate(TRAJECTORY_VARIABLES) if plan.variable_slot[v] >= 0]
    return table, names, plan, variables


def _in_chunk_order[T](
    run_chunk: Callable[[int], T], layout: ChunkLayout, threads: int | None, progress: Progress | None
) -> Iterator[T]:
    """Run every chunk on a pool of threads; yield their results in chunk order.

    ``progress(draws_done, n_draws)`` is called from this thread after each chunk.
    """
    n_threads = max(1, min(threads or default_threads(), layout.n_chunks))
    with ThreadPoolExecutor(n_threads) as pool:
        for k, value in enumerate(pool.map(run_chunk, range(layout.n_chunks))):
            if progress is not None:
                progress((k + 1) * layout.chunk_length, layout.n_draws)
            yield value


def simulate(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
    progress: Progress | None = None,
) -> RawRun:
    """Sample a scenario and keep every (draw, year) value.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Requested draws; see :func:`chunk_layout` for how they are split.
    seed : int, optional
        Root seed.
    chunk_size : int, optional
        Largest chunk.
    threads : int, optional
        Worker threads (default :func:`default_threads`); results do not depend on it.
    progress : callable, optional
        Called as ``progress(draws_done, n_draws)`` after each chunk.

    Returns
    -------
    RawRun
    """
    layout = chunk_layout(n_draws, chunk_size)
    table, names, plan, variables = compile_plan(scenario)
    years = year_grid(scenario)
    parameters = np.empty((table.n_params, layout.n_chunks, layout.chunk_length))
    trajectories = np.empty((len(variables), layout.n_chunks, layout.chunk_length, len(years)))

    def run_chunk(k: int) -> None:
        # The kernels get a contiguous array for the parameters: given the strided view
        # parameters[:, k], numba compiles a version whose loops cannot vectorize.
        chunk_parameters = np.empty((table.n_params, layout.chunk_length))
        kernels.simulate_chunk(chunk_generator(seed, k), table, plan, chunk_parameters, trajectories[:, k])
        parameters[:, k] = chunk_parameters

    started = time.perf_counter()
    for _ in _in_chunk_order(run_chunk, layout, threads, progress):
        pass
    return RawRun(
        parameters=parameters,
        parameter_names=names,
        trajectories=trajectories,
        variables=variables,
        years=years,
        layout=layout,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- #
# Streaming                                                                    #
# --------------------------------------------------------------------------- #

#: Histogram bin width of streaming mode [dex]: 0.005 dex is 1.2% in natural units.
STREAM_BIN_WIDTH = 0.005
#: Crossing-year histogram bins per grid step.
CROSSING_BINS_PER_STEP = 100


class Threshold(NamedTuple):
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
    """A "cost of THRESHOLD in YEAR" question for streaming mode (see :class:`Threshold`)."""

    year: float
    log10_value: float
    row_name: str | None = None


class StreamPlan(NamedTuple):
    """Bins and thresholds the streaming kernel accumulates (arrays the kernels read)."""

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


class StreamRun(NamedTuple):
    """What a streaming run returns: merged accumulators and the plan that reads them."""

    counts: StreamCounts
    moments: np.ndarray
    stream: StreamPlan
    thresholds: list[Threshold]
    costs: list[CostSpec]
    parameter_names: list[str]
    variables: list[str]
    years: np.ndarray
    layout: ChunkLayout
    seconds: float


def materialized_bytes(scenario: Scenario, n_draws: int) -> int:
    """Memory that materialized mode needs for ``n_draws`` [bytes]."""
    n_params = len(scenario.all_priors())
    n_variables = len(TRAJECTORY_VARIABLES)
    return 8 * n_draws * (n_params + n_variables * scenario.n_years)


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
    slots = [v for v in range(kernels.N_VARIABLES) if plan.variable_slot[v] >= 0]
    n_years = scenario.n_years
    params = np.empty((table.n_params, chunk_length))
    kernels.draw_parameters(chunk_generator(seed, 0), table, params)
    log_params = np.log10(params)
    parameters = _Extremes(table.n_params)
    for row in range(table.n_params):
        parameters.update(row, log_params[row])
    variables = _Extremes(len(slots))
    cost_ranges = _Extremes(2 * len(costs))
    fpu_slot, algo_slot = slots.index(kernels.FLOP_PER_USD), slots.index(kernels.ALGO_MULTIPLIER)
    for start in range(0, chunk_length, PILOT_SLICE):
        stop = min(start + PILOT_SLICE, chunk_length)
        trajectories = np.empty((len(slots), stop - start, n_years))
        kernels.propagate(np.ascontiguousarray(params[:, start:stop]), plan, trajectories)
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
    thresholds: list[Threshold],
    costs: list[CostSpec],
    table: PriorTable,
    names: list[str],
    plan: ModelPlan,
    seed: int,
    chunk_length: int,
) -> StreamPlan:
    """Choose histogram ranges from a pilot chunk and encode thresholds for the kernel.

    The pilot is chunk 0 itself, so the ranges depend only on (scenario, seed, chunk
    size). Values beyond a range land in the under- or overflow bin and are counted.
    """
    rows = {name: i for i, name in enumerate(names)}
    cost_year = np.array([int(round((c.year - scenario.start) / scenario.step)) for c in costs], dtype=np.int64)
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
    variable_index = {name: v for v, name in enumerate(TRAJECTORY_VARIABLES)}
    years = year_grid(scenario)
    return StreamPlan(
        bin_width=STREAM_BIN_WIDTH,
        n_bins=int(math.ceil(max(spans) / STREAM_BIN_WIDTH)),
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
    )


def _empty_counts(stream: StreamPlan, n_kept: int, n_params: int) -> StreamCounts:
    n_years = len(stream.years)
    n_thresholds = len(stream.threshold_variable)
    width = stream.n_bins + 2
    return StreamCounts(
        histogram=np.zeros((n_kept, n_years, width), dtype=np.int64),
        parameter_histogram=np.zeros((n_params, width), dtype=np.int64),
        exceed_in=np.zeros((n_thresholds, n_years), dtype=np.int64),
        exceed_by=np.zeros((n_thresholds, n_years), dtype=np.int64),
        crossing=np.zeros((n_thresholds, stream.n_crossing_bins + 1), dtype=np.int64),
        cost_histogram=np.zeros((len(stream.cost_year), 2, width), dtype=np.int64),
    )


def simulate_stream(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
    thresholds: list[Threshold] | None = None,
    costs: list[CostSpec] | None = None,
    progress: Progress | None = None,
) -> StreamRun:
    """Sample a scenario keeping only mergeable accumulators: memory independent of n_draws.

    Each worker thread adds its chunks into its own integer accumulators (exact, so
    the schedule cannot change a bit); each chunk's floating-point moments are merged
    in chunk order.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Requested draws (see :func:`chunk_layout`).
    seed : int, optional
    chunk_size : int, optional
    threads : int, optional
    thresholds : list of Threshold, optional
        Thresholds to count exceedances and crossing years of.
    costs : list of CostSpec, optional
        Cost questions to histogram.
    progress : callable, optional
        Called as ``progress(draws_done, n_draws)`` after each chunk.

    Returns
    -------
    StreamRun
    """
    import threading

    thresholds = list(thresholds or [])
    costs = list(costs or [])
    layout = chunk_layout(n_draws, chunk_size)
    table, names, plan, variables = compile_plan(scenario)
    years = year_grid(scenario)
    started = time.perf_counter()
    stream = build_stream_plan(scenario, thresholds, costs, table, names, plan, seed, layout.chunk_length)

    local = threading.local()
    all_counts: list[StreamCounts] = []
    lock = threading.Lock()

    def run_chunk(k: int) -> np.ndarray:
        if not hasattr(local, "counts"):
            local.counts = _empty_counts(stream, len(variables), table.n_params)
            local.params = np.empty((table.n_params, layout.chunk_length))
            with lock:
                all_counts.append(local.counts)
        moments = np.zeros((len(variables), len(years), 2))
        kernels.stream_chunk(chunk_generator(seed, k), table, plan, stream, local.counts, moments, local.params)
        return moments

    total = np.zeros((len(variables), len(years), 2))
    for moments in _in_chunk_order(run_chunk, layout, threads, progress):
        total += moments
    counts = all_counts[0]
    for other in all_counts[1:]:
        counts.add(other)
    return StreamRun(
        counts=counts,
        moments=total,
        stream=stream,
        thresholds=thresholds,
        costs=costs,
        parameter_names=names,
        variables=variables,
        years=years,
        layout=layout,
        seconds=time.perf_counter() - started,
    )
