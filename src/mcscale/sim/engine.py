"""The engine: sample a scenario, chunk by chunk, keeping every draw or only accumulators."""

from __future__ import annotations

import inspect
import os
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mcscale.model.scenario import Scenario
from mcscale.sim.accumulators import CostSpec, StreamCounts, StreamPlan, ThresholdSpec, build_stream_plan, empty_counts
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE, ChunkLayout, chunk_generator, chunk_layout
from mcscale.sim.encode import ModelPlan, PriorTable, compile_plan, year_grid
from mcscale.sim.executors import Progress, in_chunk_order
from mcscale.sim.kernels.sampling import draw_parameters
from mcscale.sim.kernels.trajectory import propagate, stream_chunk
from mcscale.units import METRICS

__all__ = [
    "BLOCK_BYTES",
    "COMPILE_SECONDS",
    "ChunkTask",
    "RawRun",
    "RunSetup",
    "StreamRun",
    "StreamSetup",
    "StreamTask",
    "chains_per_block",
    "compile_seconds",
    "materialized_bytes",
    "sample_chunk",
    "sample_chunks",
    "setup_run",
    "setup_stream",
    "simulate",
    "simulate_stream",
    "stream_chunk_moments",
    "stream_chunks",
]

#: About how long each kernel takes to compile into an empty cache [s]: measured on a 2-core
#: AMD EPYC (Zen 3, AVX2) VM. A streaming run needs all three (its pilot propagates chunk 0).
COMPILE_SECONDS = {"draw_parameters": 16.0, "propagate": 11.0, "stream_chunk": 11.0}


def _in_cache(kernel: Any) -> bool:
    """Whether a kernel is compiled in this process or has an index in numba's on-disk cache."""
    if kernel.signatures:
        return True
    function = kernel.py_func
    source = Path(inspect.getfile(function))
    name = f"{source.stem}.{function.__qualname__}-{function.__code__.co_firstlineno}.py*.nbi"
    # numba caches beside the source, or only under NUMBA_CACHE_DIR when that is set
    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or source.parent / "__pycache__")
    return folder.is_dir() and next(folder.rglob(name), None) is not None


def compile_seconds(mode: str = "materialized") -> float:
    """About how long a run in ``mode`` will compile first; 0 when its kernels are compiled [s].

    A cheap look at numba's cache index files, so that a command can say before a first,
    slow run that it is compiling (see :data:`COMPILE_SECONDS`).
    """
    kernels = [draw_parameters, propagate, *([stream_chunk] if mode == "stream" else [])]
    return sum(COMPILE_SECONDS[k.py_func.__name__] for k in kernels if not _in_cache(k))


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


class StreamRun(NamedTuple):
    """What a streaming run returns: merged accumulators and the plan that reads them.

    ``chunk_exceed``, of a run without histograms on local threads, holds each chunk's
    own exceedance counts, shape (n_chunks, 2, n_thresholds, n_counted_years): ``[:, 0]``
    in a year and ``[:, 1]`` by it (for the chunks' agreement test); otherwise None.
    """

    counts: StreamCounts
    moments: np.ndarray
    stream: StreamPlan
    thresholds: list[ThresholdSpec]
    costs: list[CostSpec]
    parameter_names: list[str]
    variables: list[str]
    years: np.ndarray
    layout: ChunkLayout
    seconds: float
    chunk_exceed: np.ndarray | None = None


class ChunkTask(NamedTuple):
    """What sampling any chunk of a run needs: small and picklable (a few kB), so that it can be shipped.

    Attributes
    ----------
    seed : int
        Root seed; chunk ``k`` draws from :func:`~mcscale.sim.chunks.chunk_generator` ``(seed, k)``.
    chunk_length : int
        Draws per chunk.
    table : PriorTable
    plan : ModelPlan
    """

    seed: int
    chunk_length: int
    table: PriorTable
    plan: ModelPlan


class StreamTask(NamedTuple):
    """What streaming any chunk needs: the chunk task and the accumulators' plan (a few kB, picklable)."""

    chunk: ChunkTask
    stream: StreamPlan
    n_variables: int

    def new_counts(self) -> StreamCounts:
        """Return zeroed integer accumulators for this run."""
        return empty_counts(self.stream, self.n_variables, self.chunk.table.n_params)

    def moments_shape(self) -> tuple[int, int, int]:
        """Shape of one chunk's moments: (kept variables, years, 2); no variables without histograms."""
        return (self.n_variables if self.stream.histograms else 0, len(self.stream.years), 2)


class RunSetup(NamedTuple):
    """A run planned before sampling: the task every chunk runs, the layout, and the names of the output."""

    task: ChunkTask
    layout: ChunkLayout
    parameter_names: list[str]
    variables: list[str]
    years: np.ndarray


class StreamSetup(NamedTuple):
    """A streaming run planned before sampling, its histogram ranges included (the pilot is chunk 0)."""

    task: StreamTask
    run: RunSetup
    thresholds: list[ThresholdSpec]
    costs: list[CostSpec]

    def finish(
        self, counts: StreamCounts, moments: np.ndarray, seconds: float, chunk_exceed: np.ndarray | None = None
    ) -> StreamRun:
        """Return the run from its merged counts, its moments summed in chunk order and each chunk's exceedances."""
        run = self.run
        return StreamRun(
            counts=counts,
            moments=moments,
            stream=self.task.stream,
            thresholds=self.thresholds,
            costs=self.costs,
            parameter_names=run.parameter_names,
            variables=run.variables,
            years=run.years,
            layout=run.layout,
            seconds=seconds,
            chunk_exceed=chunk_exceed,
        )


def setup_run(scenario: Scenario, n_draws: int, seed: int = 0, chunk_size: int = DEFAULT_CHUNK_SIZE) -> RunSetup:
    """Plan a run: split the draws into chunks and encode the scenario for the kernels (no sampling)."""
    layout = chunk_layout(n_draws, chunk_size)
    table, names, plan, variables = compile_plan(scenario)
    return RunSetup(ChunkTask(seed, layout.chunk_length, table, plan), layout, names, variables, year_grid(scenario))


def setup_stream(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    thresholds: list[ThresholdSpec] | None = None,
    costs: list[CostSpec] | None = None,
    histograms: bool = True,
    last_year: float | None = None,
) -> StreamSetup:
    """Plan a streaming run, sampling the pilot (chunk 0) that sets the histogram ranges.

    The plan depends only on (scenario, seed, chunk size, thresholds, costs,
    histograms, last year), so it is made once, where the run starts, and every worker
    gets the same one. Without ``histograms`` only thresholds and costs are counted,
    and only the grid years up to ``last_year`` [year] (None: all) are propagated.
    """
    thresholds = list(thresholds or [])
    costs = list(costs or [])
    run = setup_run(scenario, n_draws, seed, chunk_size)
    task = run.task
    stream = build_stream_plan(
        scenario,
        thresholds,
        costs,
        task.table,
        run.parameter_names,
        task.plan,
        seed,
        task.chunk_length,
        histograms=histograms,
        last_year=last_year,
    )
    variables = run.variables if histograms else []
    return StreamSetup(
        StreamTask(task, stream, len(run.variables)), run._replace(variables=variables), thresholds, costs
    )


def sample_chunk(task: ChunkTask, k: int, parameters: np.ndarray, trajectories: np.ndarray) -> None:
    """Sample chunk ``k`` into ``parameters`` and ``trajectories``.

    Parameters
    ----------
    task : ChunkTask
    k : int
        Chunk index.
    parameters : ndarray, shape (n_params, chunk_length)
        Receives the parameter draws [canonical units].
    trajectories : ndarray, shape (n_kept, chunk_length, n_years)
        Receives log10 of each kept variable. Both arrays must be C-contiguous: the
        kernels are compiled for that one layout.
    """
    draw_parameters(chunk_generator(task.seed, k), task.table, parameters)
    propagate(parameters, task.plan, trajectories)


def sample_chunks(task: ChunkTask, first: int, count: int, n_kept: int, n_years: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample chunks ``first .. first + count - 1``, as :func:`simulate` samples each of them.

    Returns
    -------
    parameters : ndarray, shape (n_params, count, chunk_length)
        [canonical units]
    trajectories : ndarray, shape (n_kept, count, chunk_length, n_years)
        log10 of each kept variable.
    """
    shape = (task.table.n_params, task.chunk_length)
    parameters = np.empty((shape[0], count, shape[1]))
    trajectories = np.empty((n_kept, count, task.chunk_length, n_years))
    for i in range(count):
        chunk_parameters, chunk_trajectories = np.empty(shape), np.empty((n_kept, task.chunk_length, n_years))
        sample_chunk(task, first + i, chunk_parameters, chunk_trajectories)
        parameters[:, i] = chunk_parameters
        trajectories[:, i] = chunk_trajectories
    return parameters, trajectories


def stream_chunk_moments(task: StreamTask, k: int, counts: StreamCounts, params: np.ndarray) -> np.ndarray:
    """Add chunk ``k`` into ``counts`` (``params`` is scratch); return its own moments, shape (n_kept, n_years, 2)."""
    moments = np.zeros(task.moments_shape())
    chunk = task.chunk
    stream_chunk(chunk_generator(chunk.seed, k), chunk.table, chunk.plan, task.stream, counts, moments, params)
    return moments


def stream_chunks(task: StreamTask, first: int, count: int) -> tuple[StreamCounts, np.ndarray]:
    """Stream chunks ``first .. first + count - 1`` into one set of counts.

    Returns
    -------
    counts : StreamCounts
        The chunks' integer accumulators, summed (exact: they merge in any order).
    moments : ndarray, shape (count, n_kept, n_years, 2)
        Each chunk's own sums and sums of squares, to be added in chunk order.
    """
    counts = task.new_counts()
    params = np.empty((task.chunk.table.n_params, task.chunk.chunk_length))
    moments = [stream_chunk_moments(task, first + i, counts, params) for i in range(count)]
    return counts, np.stack(moments)


#: Target size of one block of one trajectory variable in a lazy run, and of one zarr chunk [bytes].
BLOCK_BYTES = 32 * 2**20


def chains_per_block(chunk_length: int, n_years: int) -> int:
    """Whole chunks (chains) per block of a lazy run and per zarr chunk: about :data:`BLOCK_BYTES` of one variable.

    One chunk of the baseline (65,536 draws x 36 years) is 18.9 MB, so a block is one chunk.
    """
    return max(1, BLOCK_BYTES // (8 * chunk_length * n_years))


def materialized_bytes(scenario: Scenario, n_draws: int) -> int:
    """Memory that materialized mode needs for ``n_draws`` [bytes]."""
    n_params = len(scenario.all_priors())
    n_variables = len(METRICS)
    return 8 * n_draws * (n_params + n_variables * scenario.n_years)


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
    setup = setup_run(scenario, n_draws, seed, chunk_size)
    task, layout, variables, years = setup.task, setup.layout, setup.variables, setup.years
    parameters = np.empty((task.table.n_params, layout.n_chunks, layout.chunk_length))
    # Chunk-major, so that each chunk's block is contiguous: the kernels then run on the
    # same C-contiguous arrays in both modes, and compile once (a strided view would
    # compile a second version, whose loops do not vectorize).
    by_chunk = np.empty((layout.n_chunks, len(variables), layout.chunk_length, len(years)))

    def run_chunk(k: int) -> None:
        chunk_parameters = np.empty((task.table.n_params, layout.chunk_length))
        sample_chunk(task, k, chunk_parameters, by_chunk[k])
        parameters[:, k] = chunk_parameters

    started = time.perf_counter()
    for _ in in_chunk_order(run_chunk, layout, threads, progress):
        pass
    return RawRun(
        parameters=parameters,
        parameter_names=setup.parameter_names,
        trajectories=by_chunk.transpose(1, 0, 2, 3),
        variables=variables,
        years=years,
        layout=layout,
        seconds=time.perf_counter() - started,
    )


def simulate_stream(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
    thresholds: list[ThresholdSpec] | None = None,
    costs: list[CostSpec] | None = None,
    progress: Progress | None = None,
    histograms: bool = True,
    last_year: float | None = None,
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
    thresholds : list of ThresholdSpec, optional
        Thresholds to count exceedances and crossing years of.
    costs : list of CostSpec, optional
        Cost questions to histogram.
    progress : callable, optional
        Called as ``progress(draws_done, n_draws)`` after each chunk.
    histograms : bool, optional
        Histogram every variable in every year, and every parameter (for quantiles,
        summaries and figures); without, only thresholds and costs are counted.
    last_year : float, optional
        Propagate and count only the grid years up to this one [year] (default: all).

    Returns
    -------
    StreamRun
    """
    started = time.perf_counter()
    setup = setup_stream(scenario, n_draws, seed, chunk_size, thresholds, costs, histograms, last_year)
    task = setup.task
    local = threading.local()
    all_counts: list[StreamCounts] = []
    lock = threading.Lock()

    # A lean run also keeps each chunk's exceedances (a few integers): the chunks' agreement test needs them.
    n_steps, per_chunk = task.stream.n_steps, None
    if not histograms:
        per_chunk = np.zeros((setup.run.layout.n_chunks, 2, len(setup.thresholds), n_steps), dtype=np.int64)

    def run_chunk(k: int) -> np.ndarray:
        if not hasattr(local, "counts"):
            local.counts = task.new_counts()
            local.params = np.empty((task.chunk.table.n_params, task.chunk.chunk_length))
            with lock:
                all_counts.append(local.counts)
        counts = local.counts
        if per_chunk is not None:
            per_chunk[k, 0] -= counts.exceed_in[:, :n_steps]
            per_chunk[k, 1] -= counts.exceed_by[:, :n_steps]
        moments = stream_chunk_moments(task, k, counts, local.params)
        if per_chunk is not None:
            per_chunk[k, 0] += counts.exceed_in[:, :n_steps]
            per_chunk[k, 1] += counts.exceed_by[:, :n_steps]
        return moments

    total = np.zeros(task.moments_shape())
    for moments in in_chunk_order(run_chunk, setup.run.layout, threads, progress):
        total += moments
    counts = all_counts[0]
    for other in all_counts[1:]:
        counts.add(other)
    return setup.finish(counts, total, time.perf_counter() - started, per_chunk)
