"""Randomised quasi-Monte Carlo: scrambled Sobol points, not pseudo-random numbers, drive the normals.

Each draw takes one point of a ``d``-dimensional Sobol sequence
(:class:`scipy.stats.qmc.Sobol`), ``d`` being the number of sampled prior rows of the
copula: coordinate ``c`` of the point is the uniform of normal ``c`` (``ndtri``), and
from there a draw goes through the same Cholesky factor and inverse CDFs as a
Monte Carlo draw (:func:`~mcscale.sim.kernels.sampling.parameters_from_normals`).
``R`` independent scramblings (Owen scrambling with digital shift, seeded by
``(seed, r)``) give ``R`` unbiased estimates; their spread is the Monte Carlo error.
Each replicate has a power of 2 of points (the balance of Sobol points needs it),
split into chunks of a power of 2; chunk ``k`` of replicate ``r`` is its points
``k L .. (k + 1) L - 1`` whatever thread runs it, and counts are integers, so results
are bit-identical across thread counts. scipy's Sobol has at most
:data:`MAX_DIMENSION` dimensions and ``2**30`` points per replicate; beyond either,
:func:`simulate_qmc` refuses with a message.
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np
from scipy.stats import qmc

from mcscale.model.scenario import Scenario
from mcscale.sim.accumulators import StreamPlan, ThresholdSpec
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE, ChunkLayout
from mcscale.sim.engine import StreamTask, setup_stream
from mcscale.sim.executors import in_chunk_order, kept
from mcscale.sim.kernels.sampling import normals_from_uniforms, parameters_from_normals
from mcscale.sim.kernels.trajectory import stream_parameters

__all__ = [
    "DEFAULT_REPLICATES",
    "MAX_DIMENSION",
    "MAX_POINTS",
    "QmcRun",
    "SobolEngines",
    "check_replicates",
    "next_size",
    "replicate_points",
    "simulate_qmc",
]

#: Independent scramblings of a QMC run: the MCSE is their spread over sqrt(R).
DEFAULT_REPLICATES = 16
#: Most dimensions scipy's Sobol generator has direction numbers for.
MAX_DIMENSION = 21201
#: Most points of one replicate (scipy's Sobol with its default 30 bits).
MAX_POINTS = 2**30
#: Most a precision step multiplies a replicate's points by: QMC's error may fall faster
#: than n^-1/2, so the square-root rule that plans the step overshoots.
MAX_POINT_GROWTH = 4


class QmcRun(NamedTuple):
    """Exceedance counts of each scrambling of a QMC run.

    Attributes
    ----------
    exceed_in, exceed_by : ndarray of int64, shape (n_replicates, n_thresholds, n_years)
        Per scrambling (``points`` draws each), draws past each threshold in each year,
        and at some year up to it.
    points : int
        Draws per replicate (a power of 2).
    stream : StreamPlan
    thresholds : list of ThresholdSpec
    years : ndarray
        The grid [year].
    """

    exceed_in: np.ndarray
    exceed_by: np.ndarray
    points: int
    stream: StreamPlan
    thresholds: list[ThresholdSpec]
    years: np.ndarray


def replicate_points(n_draws: int, replicates: int) -> int:
    """Draws per replicate: the power of 2 at or above ``n_draws / replicates``."""
    return 1 << max(0, int(np.ceil(np.log2(max(1.0, n_draws / replicates)))))


class SobolEngines(threading.local):
    """Each thread's scrambled Sobol engines, one per replicate: scrambling one costs some 10 ms."""

    def __init__(self) -> None:
        self.engines: dict[tuple[int, int, int], qmc.Sobol] = {}

    def points(self, d: int, seed: int, replicate: int, first: int, n: int) -> np.ndarray:
        """Points ``first .. first + n - 1`` of scrambling ``replicate``, shape (n, d), whichever thread asks."""
        key = (d, seed, replicate)
        if key not in self.engines:
            self.engines[key] = qmc.Sobol(d, scramble=True, seed=np.random.default_rng([seed, replicate]))
        engine = self.engines[key]
        engine.reset()
        if first:
            engine.fast_forward(first)
        return engine.random(n)


def _normals(engines: SobolEngines, task: StreamTask, seed: int, replicate: int, first: int, n: int) -> np.ndarray:
    """Correlated normals of points ``first .. first + n - 1`` of one scrambling, shape (max(d, 1), n)."""
    table = task.chunk.table
    d = max(table.cholesky.shape[0], 1)
    z = np.zeros((d, n))
    normals_from_uniforms(np.ascontiguousarray(engines.points(d, seed, replicate, first, n).T), table, z)
    return z


def next_size(points: int, replicates: int, growth: float, max_draws: int) -> tuple[int, int]:
    """Points per replicate and replicates of the next step of a precision loop.

    ``growth`` is the factor by which the square-root rule says the draws must grow.
    Points double while that leaves a factor of at least 2 (at most
    :data:`MAX_POINT_GROWTH`-fold: their error may fall faster than the rule assumes);
    below 2, the rest comes from more replicates, whose error falls exactly as their
    number's square root. A step that needs more than :data:`MAX_POINT_GROWTH` adds
    no replicates (the next step sees how much the points did). Replicates also cover
    what :data:`MAX_POINTS` leaves. At most ``max_draws`` in all, and never fewer draws
    than now.

    Parameters
    ----------
    points : int
        Points per replicate now (a power of 2).
    replicates : int
        Replicates now.
    growth : float
        Factor the draws should grow by (> 1).
    max_draws : int
        Cap on points times replicates.

    Returns
    -------
    (int, int)
        The next points per replicate and replicates.
    """

    def fits(k: int) -> bool:
        grown = points << k
        return 2**k <= min(growth, MAX_POINT_GROWTH) and grown <= MAX_POINTS and grown * replicates <= max_draws

    doublings = 0
    while fits(doublings + 1):
        doublings += 1
    new_points = points << doublings
    if 2**doublings == MAX_POINT_GROWTH and growth > MAX_POINT_GROWTH:
        new_replicates = replicates  # the next step sees how much the points did
    else:
        new_replicates = math.ceil(replicates * growth / 2**doublings)
    new_replicates = max(replicates, min(new_replicates, max_draws // new_points))
    return new_points, new_replicates


def check_replicates(n_draws: int, replicates: int) -> int:
    """Return the points per replicate of a QMC run; refuse fewer than 2 replicates, or more than 2**30 points each."""
    if replicates < 2:
        raise ValueError(f"a QMC run needs at least 2 replicates for its error, got {replicates}")
    points = replicate_points(n_draws, replicates)
    if points > MAX_POINTS:
        raise ValueError(f"a QMC replicate has at most 2**30 points ({points} asked): use more replicates")
    return points


def simulate_qmc(
    scenario: Scenario,
    n_draws: int,
    thresholds: list[ThresholdSpec],
    seed: int = 0,
    replicates: int = DEFAULT_REPLICATES,
    threads: int | None = None,
    last_year: float | None = None,
    reuse: dict | None = None,
) -> QmcRun:
    """Count exceedances of ``thresholds`` over ``replicates`` scramblings of a Sobol sequence.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Draws in all; rounded up to ``replicates`` times a power of 2.
    thresholds : list of ThresholdSpec
    seed : int, optional
        Root seed of the scramblings.
    replicates : int, optional
        Independent scramblings (at least 2, for an error estimate).
    threads : int, optional
        Worker threads; results do not depend on it.
    last_year : float, optional
        Propagate and count only the grid years up to this one [year].
    reuse : dict, optional
        Chunk counts of earlier calls on the same scenario, read and filled in (keyed
        by seed, thresholds, years, dimension and the chunk's place): the first points
        of a scrambling do not change when it grows, so a precision loop computes only
        the points it adds, with the same bits as a fresh run. Chunks have 65,536
        points from 2^16 points per replicate on, fewer (and so not shared between
        sizes) below.

    Returns
    -------
    QmcRun
    """
    points = check_replicates(n_draws, replicates)
    chunk_length = min(DEFAULT_CHUNK_SIZE, points)
    setup = setup_stream(scenario, points, seed, chunk_length, thresholds, histograms=False, last_year=last_year)
    task = setup.task
    d = task.chunk.table.cholesky.shape[0]
    if d > MAX_DIMENSION:
        raise ValueError(f"scipy's Sobol sequence has at most {MAX_DIMENSION} dimensions; this scenario needs {d}")
    per_replicate = points // chunk_length
    layout = ChunkLayout(replicates * per_replicate, chunk_length)

    engines = SobolEngines()

    # What fixes a chunk's counts besides its position; the scenario is the caller's to keep the same.
    fingerprint = ("qmc", seed, tuple(setup.thresholds), task.stream.n_steps, d)

    def run_chunk(k: int) -> tuple[np.ndarray, np.ndarray]:
        replicate, chunk = divmod(k, per_replicate)
        key = (*fingerprint, replicate, chunk * chunk_length, chunk_length)
        return kept(reuse, key, lambda: count_chunk(replicate, chunk))

    def count_chunk(replicate: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        z = _normals(engines, task, seed, replicate, chunk * chunk_length, chunk_length)
        params = np.empty((task.chunk.table.n_params, chunk_length))
        parameters_from_normals(z, task.chunk.table, params)
        counts = task.new_counts()
        stream_parameters(task.chunk.plan, task.stream, counts, np.zeros(task.moments_shape()), params)
        return counts.exceed_in, counts.exceed_by  # all a QMC answer reads: a kept chunk stays small

    first = task.new_counts()
    exceed_in = np.zeros((replicates, *first.exceed_in.shape), dtype=np.int64)
    exceed_by = np.zeros_like(exceed_in)
    for k, (chunk_in, chunk_by) in enumerate(in_chunk_order(run_chunk, layout, threads, None)):
        exceed_in[k // per_replicate] += chunk_in
        exceed_by[k // per_replicate] += chunk_by
    return QmcRun(exceed_in, exceed_by, points, task.stream, setup.thresholds, setup.run.years)
