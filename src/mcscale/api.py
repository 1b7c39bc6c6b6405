"""The top of the computation layers: ``mcscale.run`` chooses a mode and samples.

It sits above :mod:`mcscale.results` and :mod:`mcscale.query`, because a streaming
run must know the scenario's questions before it samples.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError
from mcscale.query import Query, stream_request, stream_specs
from mcscale.results.answer import Answer
from mcscale.results.finite import check_counted_finite, range_thresholds
from mcscale.scenario_file import resolve_scenario
from mcscale.sim.accumulators import CostSpec, ThresholdSpec, threshold_spec
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE
from mcscale.sim.encode import grid_index, year_grid
from mcscale.sim.engine import materialized_bytes, simulate, simulate_stream
from mcscale.sim.executors import Progress
from mcscale.stats import chunk_count_homogeneity

if TYPE_CHECKING:
    from distributed import Client

    from mcscale.results.base import Result

__all__ = ["DEFAULT_MEMORY_BUDGET", "count_probabilities", "estimate_probabilities", "qmc_probabilities", "run"]


#: Materialized arrays larger than this switch ``mode="auto"`` to streaming [bytes].
DEFAULT_MEMORY_BUDGET = 4 * 2**30


def run(
    scenario: Scenario | str | Path,
    n_draws: int = 100_000,
    seed: int = 0,
    *,
    mode: str = "materialized",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    thresholds: list[ThresholdSpec] | None = None,
    costs: list[CostSpec] | None = None,
    histograms: bool = True,
    last_year: float | None = None,
    progress: Progress | None = None,
    client: Client | None = None,
) -> Result:
    """Sample a scenario and return its distributions.

    Parameters
    ----------
    scenario : Scenario, path-like or str
        A loaded scenario, a scenario file, or the name of a bundled scenario
        (``"baseline"``; see :func:`mcscale.scenario_file.bundled_scenarios`).
    n_draws : int, optional
        Number of draws. Draws are split into equal chunks of at most
        ``chunk_size``; the count is rounded up to whole chunks only where no
        exact split exists (see :func:`mcscale.sim.chunks.chunk_layout`).
    seed : int, optional
        Root seed; the result is a pure function of (scenario, n_draws, seed,
        chunk_size), whatever the thread count, or the cluster it runs on.
    chunk_size : int, optional
        Largest chunk (each chunk is one chain of the output).
    mode : {"materialized", "stream", "auto"}
        Keep every (draw, year) value, or only accumulators (memory independent of
        ``n_draws``); ``"auto"`` streams when the materialized arrays would exceed
        ``memory_budget``.
    threads : int, optional
        Worker threads; defaults to ``NUMBA_NUM_THREADS`` or the CPU count. Not used
        with ``client``: each dask worker runs as many tasks as it has threads.
    memory_budget : int, optional
        [bytes], for ``mode="auto"``.
    thresholds, costs : list, optional
        Streaming only: extra :class:`~mcscale.sim.accumulators.ThresholdSpec` / ``CostSpec`` to
        accumulate, beyond the scenario's own questions and effective FLOP at 10x-10000x
        its reference (see :func:`mcscale.query.stream_specs`).
    histograms : bool, optional
        Streaming only: histogram every variable and parameter (for quantiles,
        summaries and figures). Without, the run counts exactly ``thresholds`` and
        ``costs``, nothing of its own (see :func:`mcscale.query.stream_request`).
    last_year : float, optional
        Streaming only: propagate and count the grid years up to this one [year]
        (default: all); later years cannot be asked of the result.
    progress : callable, optional
        Called as ``progress(draws_done, n_draws)`` after each chunk (with ``client``,
        after each task of a streaming run).
    client : distributed.Client, optional
        Run on this dask cluster (``pip install 'mcscale[dask]'``), with the same bits
        as a local run. Streaming runs there and returns its accumulators; a
        materialized result is lazy: its draws are dask arrays, sampled on the cluster
        when computed (:meth:`~mcscale.results.base.Result.to_zarr` writes them
        without gathering them here; answers load them once, see
        :meth:`~mcscale.results.base.Result.load`). Computations run on the current
        dask client.

    Returns
    -------
    Result
        A :class:`~mcscale.results.materialized.MaterializedResult`, or a
        :class:`~mcscale.results.streaming.StreamResult` in streaming mode.

    Raises
    ------
    mcscale.sim.dask_executor.ClusterError
        With ``client``: when the cluster cannot finish the run (no worker left,
        workers that keep dying, another mcscale version on a worker).
    """
    # Result types are imported here: they need xarray, which count_probabilities does not wait for.
    from mcscale.results.materialized import MaterializedResult
    from mcscale.results.streaming import StreamResult

    scenario = resolve_scenario(scenario)
    if mode not in ("materialized", "stream", "auto"):
        raise ValueError(f"mode must be 'materialized', 'stream' or 'auto', got {mode!r}")
    if mode == "auto":
        mode = "stream" if materialized_bytes(scenario, n_draws) > memory_budget else "materialized"
    if mode == "materialized" and client is not None:
        from mcscale.sim import dask_executor

        raw = dask_executor.simulate(scenario, n_draws, seed=seed, chunk_size=chunk_size)
        return MaterializedResult.from_raw(raw, scenario, seed=seed, chunk_size=chunk_size)
    if mode == "materialized":
        raw = simulate(scenario, n_draws, seed=seed, chunk_size=chunk_size, threads=threads, progress=progress)
        return MaterializedResult.from_raw(raw, scenario, seed=seed, chunk_size=chunk_size)
    own_thresholds, own_costs = stream_specs(scenario, []) if histograms else ([], [])
    options = {
        "seed": seed,
        "chunk_size": chunk_size,
        "thresholds": list(dict.fromkeys([*own_thresholds, *(thresholds or [])])),
        "costs": list(dict.fromkeys([*own_costs, *(costs or [])])),
        "progress": progress,
        "histograms": histograms,
        "last_year": last_year,
    }
    if client is not None:
        from mcscale.sim import dask_executor

        stream = dask_executor.simulate_stream(client, scenario, n_draws, **options)
    else:
        stream = simulate_stream(scenario, n_draws, threads=threads, **options)
    return StreamResult.from_stream(stream, scenario, seed=seed, chunk_size=chunk_size)


def count_probabilities(
    scenario: Scenario | str | Path,
    queries: list[Query],
    n_draws: int = 100_000,
    seed: int = 0,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
    progress: Progress | None = None,
) -> list[Answer]:
    """Answer probability questions from a lean streaming run's counts, building no result.

    The draws, counts and answers are those of :func:`run` (either mode) with the same
    ``scenario``, ``n_draws``, ``seed`` and ``chunk_size``; what is left out is the
    result itself (and so xarray, most of a short query's start-up). The chunks'
    agreement test is made from each chunk's counts, as a materialized run makes it
    from its draws. Only the years up to the last one asked are propagated, and
    checked for overflow.

    Raises
    ------
    QueryError
        For a question that is not a probability.
    ScenarioError
        When a metric asked about leaves the range of finite numbers
        (:func:`~mcscale.results.finite.check_counted_finite`).
    """
    scenario = resolve_scenario(scenario)
    for query in queries:
        if query.kind != "probability":
            raise QueryError(f"{query.text}: answered from counts are probability questions only; use run()")
    request = stream_request(scenario, queries, figures=False)
    metrics = sorted({query.metric for query in queries})
    with np.errstate(all="ignore"):  # an overflow is reported by check_counted_finite, not as warnings
        stream = simulate_stream(
            scenario,
            n_draws,
            seed,
            chunk_size,
            threads,
            thresholds=[*request.thresholds, *range_thresholds(metrics)],
            progress=progress,
            histograms=False,
            last_year=request.last_year,
        )
    check_counted_finite(scenario, stream, metrics)
    answers = []
    for query in queries:
        t = stream.thresholds.index(threshold_spec(scenario, query.metric, query.threshold, query.op))
        k = grid_index(stream.years, query.year, query.by)
        count = int((stream.counts.exceed_by if query.by else stream.counts.exceed_in)[t, k])
        agreement = chunk_count_homogeneity(stream.chunk_exceed[:, int(query.by), t, k], stream.layout.chunk_length)
        answers.append(Answer.from_count(count, stream.layout.n_draws, query.text, seed, scenario.name, agreement))
    return answers


def qmc_probabilities(
    scenario: Scenario | str | Path,
    queries: list[Query],
    n_draws: int,
    seed: int = 0,
    replicates: int | None = None,
    threads: int | None = None,
    reuse: dict | None = None,
) -> list[Answer]:
    """Answer probability questions by randomised quasi-Monte Carlo (:mod:`mcscale.sim.qmc`).

    Each answer is the mean of the estimates of ``replicates`` scramblings (default
    :data:`~mcscale.sim.qmc.DEFAULT_REPLICATES`; of equal size, so the pooled share),
    its MCSE their standard deviation over sqrt(``replicates``).
    ``n_draws`` is rounded up to ``replicates`` times a power of 2. ``reuse`` (a dict
    shared by calls with the same scenario, questions and seed) keeps each chunk's
    counts, so a larger run computes only the points it adds.

    Raises
    ------
    QueryError
        For a question that is not a probability (QMC answers only those so far).
    """
    from mcscale.sim.qmc import DEFAULT_REPLICATES, simulate_qmc  # scipy.stats: only a QMC run waits for it

    replicates = DEFAULT_REPLICATES if replicates is None else replicates
    scenario = resolve_scenario(scenario)
    for query in queries:
        if query.kind != "probability":
            raise QueryError(f"{query.text}: --sampler qmc answers probability questions only; use --sampler mc")
    request = stream_request(scenario, queries, figures=False)
    run = simulate_qmc(
        scenario,
        n_draws,
        request.thresholds,
        seed,
        replicates,
        threads=threads,
        last_year=request.last_year,
        reuse=reuse,
    )
    answers = []
    for query in queries:
        t = request.thresholds.index(threshold_spec(scenario, query.metric, query.threshold, query.op))
        k = grid_index(run.years, query.year, query.by)
        counts = (run.exceed_by if query.by else run.exceed_in)[:, t, k]
        shares = counts / run.points
        value = float(shares.mean())
        mcse = float(shares.std(ddof=1) / math.sqrt(replicates))
        total = replicates * run.points
        bound = (
            None if 0.0 < value < 1.0 else (("upper", 3.0 / total) if value == 0.0 else ("lower", 1.0 - 3.0 / total))
        )
        answers.append(
            Answer(
                question=query.text,
                kind="probability",
                unit="1",
                n_draws=total,
                seed=seed,
                scenario=scenario.name,
                value=value,
                mcse=None if bound else mcse,
                bound=bound,
                details={"sampler": "qmc", "replicates": replicates},
            )
        )
    return answers


def estimate_probabilities(
    scenario: Scenario | str | Path,
    queries: list[Query],
    n_draws: int,
    seed: int = 0,
    sampler: str = "mc",
    variance_reduction: str | None = None,
    replicates: int | None = None,
    threads: int | None = None,
    reuse: dict | None = None,
) -> list[Answer]:
    """Answer probability questions by Monte Carlo or QMC, with or without a variance reduction.

    Parameters
    ----------
    scenario : Scenario, path-like or str
    queries : list of Query
        Probability questions (:func:`mcscale.query.parse_question`).
    n_draws : int
        Draws in all (the importance-sampling pilot not counted); with ``"qmc"`` rounded
        up to ``replicates`` times a power of 2.
    seed : int, optional
    sampler : {"mc", "qmc"}
        Pseudo-random draws (a lean streaming run), or scrambled Sobol points
        (:mod:`mcscale.sim.qmc`).
    variance_reduction : {None, "conditional", "importance"}
        Conditional Monte Carlo or importance sampling (:mod:`mcscale.sim.reduction`).
    replicates : int, optional
        Scramblings of a QMC run (default :data:`~mcscale.sim.qmc.DEFAULT_REPLICATES`).
    threads : int, optional
        Worker threads; the answers do not depend on it.
    reuse : dict, optional
        Shared by calls with the same scenario, questions, seed, sampler and variance
        reduction: each chunk's sums are kept in it and not computed again, so a
        precision loop that grows a QMC run pays only for the points it adds (the
        answers are the same bits as without it). Plain Monte Carlo ignores it.

    Returns
    -------
    list of Answer
        One per query. ``details`` names the sampler and the variance reduction, the
        integrated factors (conditional) or the weights' effective sample size
        ``(sum w)^2 / sum w^2`` (``ess``), that of the draws meeting the event
        (``ess_hits``), the pilot's mean shift ``theta`` and its draws (importance).

    Raises
    ------
    QueryError
        For a question that is not a probability, or a variance reduction that cannot
        apply (the message says why).
    ValueError
        For an unknown sampler or method, or fewer than 2 replicates.
    """
    if sampler not in ("mc", "qmc"):
        raise ValueError(f"sampler must be 'mc' or 'qmc', got {sampler!r}")
    if replicates is not None and sampler != "qmc":
        raise ValueError("replicates are scramblings of sampler='qmc'")
    scenario = resolve_scenario(scenario)
    if variance_reduction is None and sampler == "qmc":
        return qmc_probabilities(scenario, queries, n_draws, seed, replicates, threads, reuse)
    method = "none" if variance_reduction is None else variance_reduction
    for query in queries:
        if query.kind != "probability":
            raise QueryError(f"{query.text}: --variance-reduction {method} answers probability questions only")
    if variance_reduction is None:
        return count_probabilities(scenario, queries, n_draws, seed, threads=threads)
    from mcscale.sim.qmc import DEFAULT_REPLICATES  # scipy.stats: only a QMC run waits for it
    from mcscale.sim.reduction import Target, simulate_reduced

    targets = [
        Target(
            threshold_spec(scenario, q.metric, q.threshold, q.op),
            grid_index(year_grid(scenario), q.year, by=True),
            q.by,
        )
        for q in queries
    ]
    replicates = DEFAULT_REPLICATES if replicates is None else replicates
    reduced = simulate_reduced(
        scenario, targets, n_draws, seed, variance_reduction, sampler, replicates, threads, reuse
    )
    values, errors = reduced.estimates()
    details: dict = {"sampler": sampler, "variance_reduction": variance_reduction, **reduced.details}
    if sampler == "qmc":
        details["replicates"] = replicates
    n = reduced.n_draws
    answers = []
    for i, query in enumerate(queries):
        extra = {}
        if variance_reduction == "importance":
            total, squares = reduced.sums[:, i].sum(axis=0)
            extra = {"ess": reduced.effective_sample_size(), "ess_hits": float(total**2 / squares) if squares else 0.0}
        value = float(values[i])
        bound = ("upper", 3.0 / n) if value == 0.0 else None  # no draw met the event: no spread to estimate
        answers.append(
            Answer(
                question=query.text,
                kind="probability",
                unit="1",
                n_draws=n,
                seed=seed,
                scenario=scenario.name,
                value=value,
                mcse=None if bound else float(errors[i]),
                bound=bound,
                details={**details, **extra},
            )
        )
    return answers
