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
from mcscale.sim.encode import compile_plan, year_grid
from mcscale.sim.executors import Progress, in_chunk_order
from mcscale.sim.kernels.sampling import draw_parameters
from mcscale.sim.kernels.trajectory import propagate, stream_chunk
from mcscale.units import METRICS

__all__ = [
    "COMPILE_SECONDS",
    "RawRun",
    "StreamRun",
    "compile_seconds",
    "materialized_bytes",
    "simulate",
    "simulate_stream",
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
    """What a streaming run returns: merged accumulators and the plan that reads them."""

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
    layout = chunk_layout(n_draws, chunk_size)
    table, names, plan, variables = compile_plan(scenario)
    years = year_grid(scenario)
    parameters = np.empty((table.n_params, layout.n_chunks, layout.chunk_length))
    # Chunk-major, so that each chunk's block is contiguous: the kernels then run on the
    # same C-contiguous arrays in both modes, and compile once (a strided view would
    # compile a second version, whose loops do not vectorize).
    by_chunk = np.empty((layout.n_chunks, len(variables), layout.chunk_length, len(years)))

    def run_chunk(k: int) -> None:
        chunk_parameters = np.empty((table.n_params, layout.chunk_length))
        draw_parameters(chunk_generator(seed, k), table, chunk_parameters)
        propagate(chunk_parameters, plan, by_chunk[k])
        parameters[:, k] = chunk_parameters

    started = time.perf_counter()
    for _ in in_chunk_order(run_chunk, layout, threads, progress):
        pass
    return RawRun(
        parameters=parameters,
        parameter_names=names,
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

    Returns
    -------
    StreamRun
    """
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
            local.counts = empty_counts(stream, len(variables), table.n_params)
            local.params = np.empty((table.n_params, layout.chunk_length))
            with lock:
                all_counts.append(local.counts)
        moments = np.zeros((len(variables), len(years), 2))
        stream_chunk(chunk_generator(seed, k), table, plan, stream, local.counts, moments, local.params)
        return moments

    total = np.zeros((len(variables), len(years), 2))
    for moments in in_chunk_order(run_chunk, layout, threads, progress):
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
