"""Runs on a dask.distributed cluster, with the same bits as a local run.

The only module that imports dask. The run is planned where it starts (the chunk
layout, the encoded scenario and, for streaming, the histogram ranges of the pilot
chunk); workers get that plan (a few kB) and chunk indices, never the whole run.

- **Streaming**: each task samples a batch of whole chunks and returns their integer
  counts (summed, as their nonzero entries) and each chunk's own moments. The client
  adds the counts as they come (integers: any order gives the same bits) and adds the
  moments chunk by chunk in chunk order, exactly as
  :func:`mcscale.sim.engine.simulate_stream` does, so the result does not depend on
  the number of workers, the task size or the finishing order.
- **Materialized**: :func:`simulate` returns lazy dask arrays, one block per
  :func:`~mcscale.sim.engine.chains_per_block` chains; :func:`column_quantiles`
  computes the summary's quantiles from them exactly, without bringing the draws to
  one process.
- **Failures**: dask reruns the tasks of a worker that dies. A task whose workers die
  too often, a worker that runs another mcscale, or a cluster left without workers for
  :data:`NO_WORKER_SECONDS` ends the run with a :class:`ClusterError`.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from typing import Any

import dask
import dask.array as da
import numpy as np
from distributed import Client, Future, KilledWorker, LocalCluster, get_client, wait

from mcscale._version import __version__
from mcscale.model.scenario import Scenario
from mcscale.sim.accumulators import CostSpec, StreamCounts, ThresholdSpec
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE
from mcscale.sim.engine import (
    ChunkTask,
    RawRun,
    StreamRun,
    StreamTask,
    chains_per_block,
    sample_chunks,
    setup_run,
    setup_stream,
    stream_chunks,
)
from mcscale.sim.executors import Progress
from mcscale.stats import column_quantiles as local_column_quantiles

__all__ = [
    "MAX_CHUNKS_PER_TASK",
    "NO_WORKER_SECONDS",
    "TASKS_PER_THREAD",
    "ClusterError",
    "column_quantiles",
    "compute",
    "connect",
    "map_in_order",
    "simulate",
    "simulate_stream",
    "task_chunks",
]

#: Streaming tasks per worker thread that a run is split into, at least: they balance the
#: load at the end and bound what a dying worker loses.
TASKS_PER_THREAD = 4
#: Most chunks per streaming task: 64 x 65,536 draws take about 1.7 s on one thread of an idle
#: 2-core EPYC, against some 60 ms of CPU a task costs besides sampling (measured on a shared
#: 2-core host; a third of it on the client: scheduling, reading and adding a 2 MB result), so
#: big runs stay within a few percent of overhead and one client keeps up with many workers.
MAX_CHUNKS_PER_TASK = 64
#: Streaming tasks in flight per worker thread: enough to keep every thread busy, few enough
#: that finished results do not pile up on the workers.
IN_FLIGHT_PER_THREAD = 2
#: How long a run waits for a worker when the cluster has none [s].
NO_WORKER_SECONDS = 60.0
#: How often a waiting run checks that the cluster still has workers [s].
POLL_SECONDS = 1.0
#: How long connecting to a scheduler may take [s].
CONNECT_SECONDS = 30.0


class ClusterError(RuntimeError):
    """A run on a cluster that cannot finish: no worker left, workers that keep dying, or a mismatch."""


class VersionMismatchError(RuntimeError):
    """Raised on a worker whose mcscale is not the client's (its draws might differ)."""


# --------------------------------------------------------------------------- #
# Connecting                                                                   #
# --------------------------------------------------------------------------- #


@contextmanager
def connect(local_workers: int | None = None, address: str | None = None) -> Iterator[Client]:
    """Start a LocalCluster of ``local_workers`` processes on loopback, or connect to ``address``.

    Parameters
    ----------
    local_workers : int, optional
        Worker processes of a local cluster on 127.0.0.1 (no dashboard), closed afterwards.
    address : str, optional
        A running scheduler, such as ``tcp://host:8786``.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ClusterError
        If the cluster cannot be started or reached.
    """
    if (local_workers is None) == (address is None):
        raise ValueError("give exactly one of local_workers= or address=")
    if address is not None:
        with _remote_client(address) as client:
            yield client
        return
    cluster = _local_cluster(local_workers)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        with _quiet("distributed"):  # workers slow to stop are killed: nothing to report
            cluster.close()


def _local_cluster(n_workers: int) -> LocalCluster:
    """Start ``n_workers`` worker processes on 127.0.0.1 sharing this machine's cores, without a dashboard."""
    try:
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=max(1, (os.cpu_count() or 1) // n_workers),
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP routes cannot be turned off: on any free loopback port, not on
            # 8787 (where a second cluster would warn) or on every interface
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,  # a run reports its own failures, in one line
        )
    except (OSError, RuntimeError) as exc:
        raise ClusterError(f"cannot start a local dask cluster of {n_workers} workers: {exc}") from None


def _remote_client(address: str) -> Client:
    try:
        return Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the dask scheduler at {address}: {exc}") from None


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence a logger below CRITICAL for the duration."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _threads(client: Client) -> int:
    """Worker threads of the cluster, waiting up to :data:`NO_WORKER_SECONDS` for a first worker."""
    threads = sum(client.nthreads().values())
    if threads:
        return threads
    try:
        client.wait_for_workers(1, timeout=NO_WORKER_SECONDS)
    except TimeoutError:
        raise ClusterError(_no_worker_message(client)) from None
    return sum(client.nthreads().values())


def _no_worker_message(client: Client) -> str:
    return (
        f"the dask cluster at {client.scheduler.address} has had no worker for {NO_WORKER_SECONDS:g} s: "
        "the run was abandoned and nothing was written"
    )


# --------------------------------------------------------------------------- #
# Waiting for tasks                                                            #
# --------------------------------------------------------------------------- #


class _Pending:
    """Futures in flight, waited for while watching that the cluster still has workers.

    Every wait polls every :data:`POLL_SECONDS`; after :data:`NO_WORKER_SECONDS` in a
    row without a worker it raises :class:`ClusterError` (dask itself would wait forever).
    """

    def __init__(self, client: Client, futures: Sequence[Future] = ()) -> None:
        self.client = client
        self.futures = set(futures)
        self._alone_since: float | None = None

    def __len__(self) -> int:
        return len(self.futures)

    def add(self, future: Future) -> None:
        self.futures.add(future)

    def next_done(self) -> list[Future]:
        """Block until at least one future is done; return those done, in key order."""
        while True:
            try:
                done, self.futures = wait(self.futures, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except CancelledError:
                raise ClusterError(f"lost the dask scheduler at {self.client.scheduler.address}") from None
            if done:
                return sorted(done, key=lambda f: str(f.key))
            self._check_workers()

    def result(self, future: Future) -> Any:
        """Return a future's value (its data may have to be computed again, if its worker left)."""
        while True:
            try:
                return _value(future)
            except TimeoutError:
                self._check_workers()

    def _check_workers(self) -> None:
        if self.client.nthreads():
            self._alone_since = None
        elif self._alone_since is None:
            self._alone_since = time.monotonic()
        elif time.monotonic() - self._alone_since > NO_WORKER_SECONDS:
            raise ClusterError(_no_worker_message(self.client))

    def cancel(self) -> None:
        if self.futures:
            self.client.cancel(list(self.futures))
        self.futures.clear()


def _value(future: Future) -> Any:
    """Return a future's value within :data:`POLL_SECONDS` (or raise TimeoutError); failures become one line."""
    try:
        return future.result(timeout=POLL_SECONDS)
    except KilledWorker:
        raise ClusterError(
            f"dask gave up on task {future.key}: every worker that ran it died (out of memory?); nothing was written"
        ) from None
    except VersionMismatchError as exc:
        raise ClusterError(str(exc)) from None
    except CancelledError:
        raise ClusterError(f"task {future.key} was cancelled on the cluster; nothing was written") from None
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "mcscale":
            raise ClusterError(
                f"the dask workers cannot import mcscale: install mcscale {__version__} on every worker"
            ) from None
        raise


def compute(*collections: Any) -> list[Any]:
    """Compute dask collections on the current client, failing with :class:`ClusterError` as a run does.

    Graphs are sent as built, not optimized: fusing names tasks differently for
    different sets of outputs, and the scheduler refuses a key that it still knows
    under another definition, so every computation of a run's arrays uses the same keys.
    """
    client = get_client()
    futures = client.compute(list(collections), optimize_graph=False)
    pending = _Pending(client, futures)
    try:
        return [pending.result(future) for future in futures]
    finally:
        pending.cancel()


def map_in_order(client: Client, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """Apply ``function`` to each item on the cluster; return the values in item order.

    For work that is a pure function of its item (a sensitivity design's chunk of
    normals): the values, and so any answer made of them, do not depend on the workers.

    Raises
    ------
    ClusterError
        As a run does, when the cluster cannot finish.
    """
    run = uuid.uuid4().hex
    futures = [
        client.submit(_checked_call, function, item, __version__, key=f"mcscale-map-{run}-{i}", pure=False)
        for i, item in enumerate(items)
    ]
    pending = _Pending(client, futures)
    try:
        return [pending.result(future) for future in futures]
    finally:
        pending.cancel()


def _checked_call(function: Callable[[Any], Any], item: Any, version: str) -> Any:
    """Worker side of :func:`map_in_order`."""
    _check_version(version)
    return function(item)


def _check_version(version: str) -> None:
    if version != __version__:
        raise VersionMismatchError(
            f"a dask worker runs mcscale {__version__} and this process {version}: "
            "the same version must run everywhere, or the draws could differ"
        )


# --------------------------------------------------------------------------- #
# Streaming                                                                    #
# --------------------------------------------------------------------------- #


def task_chunks(n_chunks: int, threads: int) -> int:
    """Return the chunks per streaming task: at most :data:`MAX_CHUNKS_PER_TASK`.

    Smaller where the run would otherwise make fewer than :data:`TASKS_PER_THREAD`
    tasks per worker thread. The result does not depend on it (counts add exactly,
    moments are added per chunk).
    """
    return max(1, min(MAX_CHUNKS_PER_TASK, n_chunks // max(1, TASKS_PER_THREAD * threads)))


#: A task's counts, as each array's nonzero entries: (flat index, count).
SparseCounts = list[tuple[np.ndarray, np.ndarray]]


def _stream_batch(task: StreamTask, first: int, count: int, version: str) -> tuple[SparseCounts, np.ndarray]:
    """Worker side: stream chunks ``first .. first + count - 1`` (see :func:`~mcscale.sim.engine.stream_chunks`).

    The counts travel as their nonzero entries: most histogram bins of a batch are empty
    (about 90% for one chunk of the baseline), so a result is some 2 MB instead of 15.
    """
    _check_version(version)
    counts, moments = stream_chunks(task, first, count)
    return [_nonzero(array) for array in counts], moments


def _nonzero(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = np.flatnonzero(array)
    return index.astype(np.uint32 if array.size < 2**32 else np.int64), array.reshape(-1)[index]


def _add_sparse(counts: StreamCounts, sparse: SparseCounts) -> None:
    """Add a task's nonzero entries into ``counts``, in place (exact: integers)."""
    for dense, (index, values) in zip(counts, sparse, strict=True):
        dense.reshape(-1)[index] += values  # each index once: no update is lost


class _ChunkOrderSum:
    """Sum of per-chunk moments taken in chunk order, whatever order the batches arrive in."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.total = np.zeros(shape)
        self._next = 0
        self._waiting: dict[int, np.ndarray] = {}

    def add(self, first: int, moments: np.ndarray) -> None:
        """Take the moments of chunks ``first, first + 1, ...``; add every chunk that is next in order."""
        self._waiting[first] = moments
        while self._next in self._waiting:
            batch = self._waiting.pop(self._next)
            for chunk_moments in batch:  # one chunk at a time, as the local run adds them
                self.total += chunk_moments
            self._next += len(batch)


def _run_batches(
    client: Client, function: Callable[..., Any], task: Any, batches: list[tuple[int, int]], window: int
) -> Iterator[tuple[tuple[int, int], Any]]:
    """Run ``function(task, first, count, version)`` for every batch, at most ``window`` at a time.

    Yields ``((first, count), result)`` as tasks finish. Remaining tasks are cancelled if
    the caller stops or a task fails.
    """
    queue = deque(batches)
    run_id = uuid.uuid4().hex[:12]
    owner: dict[str, tuple[int, int]] = {}
    pending = _Pending(client)

    def submit() -> None:
        first, count = queue.popleft()
        key = f"mcscale-{function.__name__.strip('_')}-{run_id}-{first}"
        owner[key] = (first, count)
        pending.add(client.submit(function, task, first, count, __version__, key=key))

    for _ in range(min(window, len(queue))):
        submit()
    try:
        while pending:
            for future in pending.next_done():
                value = pending.result(future)
                if queue:
                    submit()
                yield owner.pop(str(future.key)), value
    finally:
        pending.cancel()


def simulate_stream(
    client: Client,
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    thresholds: list[ThresholdSpec] | None = None,
    costs: list[CostSpec] | None = None,
    progress: Progress | None = None,
    chunks_per_task: int | None = None,
    histograms: bool = True,
    last_year: float | None = None,
) -> StreamRun:
    """Stream a scenario on a dask cluster: the same bits as :func:`mcscale.sim.engine.simulate_stream`.

    Parameters
    ----------
    client : distributed.Client
    scenario, n_draws, seed, chunk_size, thresholds, costs, histograms, last_year
        As :func:`~mcscale.sim.engine.simulate_stream` takes them.
    progress : callable, optional
        Called as ``progress(draws_done, n_draws)`` each time a task finishes.
    chunks_per_task : int, optional
        Chunks per task (default :func:`task_chunks`); the result does not depend on it.

    Returns
    -------
    StreamRun

    Raises
    ------
    ClusterError
        When the cluster cannot finish the run (see the module docstring).
    """
    started = time.perf_counter()
    setup = setup_stream(scenario, n_draws, seed, chunk_size, thresholds, costs, histograms, last_year)
    layout = setup.run.layout
    threads = _threads(client)
    size = chunks_per_task or task_chunks(layout.n_chunks, threads)
    batches = [(first, min(size, layout.n_chunks - first)) for first in range(0, layout.n_chunks, size)]
    counts = setup.task.new_counts()
    moments = _ChunkOrderSum(setup.task.moments_shape())
    done = 0
    for (first, count), (batch_counts, batch_moments) in _run_batches(
        client, _stream_batch, setup.task, batches, IN_FLIGHT_PER_THREAD * threads
    ):
        _add_sparse(counts, batch_counts)
        moments.add(first, batch_moments)
        done += count
        if progress is not None:
            progress(done * layout.chunk_length, layout.n_draws)
    return setup.finish(counts, moments.total, time.perf_counter() - started)


# --------------------------------------------------------------------------- #
# Materialized: lazy arrays                                                    #
# --------------------------------------------------------------------------- #


def _sample_batch(
    task: ChunkTask, first: int, count: int, n_kept: int, n_years: int, version: str
) -> tuple[np.ndarray, np.ndarray]:
    """Worker side: sample chunks ``first .. first + count - 1`` (see :func:`~mcscale.sim.engine.sample_chunks`)."""
    _check_version(version)
    return sample_chunks(task, first, count, n_kept, n_years)


def simulate(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chains: int | None = None,
) -> RawRun:
    """Plan a materialized run as lazy dask arrays: the same values as :func:`mcscale.sim.engine.simulate`.

    Nothing is sampled until the arrays are computed; each block is ``chains`` whole
    chunks (default :func:`~mcscale.sim.engine.chains_per_block`), sampled by one task.

    Returns
    -------
    RawRun
        With dask arrays: ``parameters`` (n_params, n_chunks, chunk_length) and
        ``trajectories`` (n_kept, n_chunks, chunk_length, n_years), chunked along the
        chunk (chain) axis; ``seconds`` is 0 (nothing was sampled yet).
    """
    setup = setup_run(scenario, n_draws, seed, chunk_size)
    task, layout = setup.task, setup.layout
    n_kept, n_years = len(setup.variables), len(setup.years)
    size = chains or chains_per_block(layout.chunk_length, n_years)
    sample = dask.delayed(_sample_batch, pure=True, nout=2)
    parameter_blocks, trajectory_blocks = [], []
    for first in range(0, layout.n_chunks, size):
        count = min(size, layout.n_chunks - first)
        parameters, trajectories = sample(task, first, count, n_kept, n_years, __version__)
        shape = (task.table.n_params, count, task.chunk_length)
        parameter_blocks.append(da.from_delayed(parameters, shape, dtype=np.float64))
        shape = (n_kept, count, task.chunk_length, n_years)
        trajectory_blocks.append(da.from_delayed(trajectories, shape, dtype=np.float64))
    return RawRun(
        parameters=da.concatenate(parameter_blocks, axis=1),
        parameter_names=setup.parameter_names,
        trajectories=da.concatenate(trajectory_blocks, axis=1),
        variables=setup.variables,
        years=setup.years,
        layout=layout,
        seconds=0.0,
    )


# --------------------------------------------------------------------------- #
# Exact quantiles of lazy columns                                              #
# --------------------------------------------------------------------------- #
#
# The summary needs order statistics of every (variable, year) column over all draws.
# Values are mapped to unsigned keys that sort as the floats do; each target rank has a
# window of keys that holds it. A pass over the blocks counts the keys of each column
# in the buckets of its windows (and in the regions between them), so the bucket of
# each rank is found and becomes its next window; once a window holds few keys, one
# more pass brings those values to the client, where they are sorted. The first
# windows come from the first block (a pilot), so most columns take one counting pass
# and one extracting pass whatever the number of draws.

_SIGN = np.uint64(1 << 63)
_LAST_KEY = (1 << 64) - 1
#: Buckets per window in a counting pass, as a power of two.
_BUCKET_BITS = 10
#: A window with at most this many values is extracted rather than counted again.
_EXTRACT_AT_MOST = 4096
#: Half-width of a pilot window in binomial standard deviations of the pilot's order statistic.
_PILOT_SIGMAS = 6.0
_REFINE, _EXTRACT, _KNOWN = 0, 1, 2


def _keys(values: np.ndarray) -> np.ndarray:
    """Return unsigned keys that sort as ``np.sort`` sorts the floats (NaN last, -0.0 as 0.0)."""
    canonical = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 + 0.0 is 0.0
    nan = np.isnan(canonical)
    if nan.any():
        canonical[nan] = np.nan
    bits = canonical.view(np.uint64)
    # negative floats: every bit flipped (larger magnitude sorts lower); others: the sign bit set
    return bits ^ ((canonical.view(np.int64) >> 63).view(np.uint64) | _SIGN)


def _key_value(key: int) -> float:
    """Return the float of a key (the inverse of :func:`_keys`)."""
    bits = key & ~(1 << 63) if key >> 63 else ~key & _LAST_KEY
    return float(np.array(bits, dtype=np.uint64).view(np.float64))


def _columns(block: np.ndarray) -> np.ndarray:
    """Return the keys of a (chain, draw, year) block as contiguous rows, shape (n_years, draws)."""
    return np.ascontiguousarray(_keys(block.reshape(-1, block.shape[-1])).T)


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive key windows, sorted and merged where they overlap or touch."""
    out: list[list[int]] = []
    for low, high in sorted(windows):
        if out and low <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], high)
        else:
            out.append([low, high])
    return [(low, high) for low, high in out]


def _edges(windows: list[tuple[int, int]]) -> np.ndarray:
    """Return the region edges of one column: each window's bucket starts, then its end.

    Region ``i`` is ``[edges[i - 1], edges[i])``; region 0 is everything below the first
    edge and the last region everything from the last edge on, so that the regions
    between and around the windows are counted too.
    """
    edges: list[int] = []
    for low, high in _merged(windows):
        shift = max(0, (high - low + 1).bit_length() - _BUCKET_BITS)
        edges.extend(range(low, high + 1, 1 << shift))
        if high < _LAST_KEY:
            edges.append(high + 1)
    return np.array(edges, dtype=np.uint64)


def _region_counts(block: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Count the keys of each column of a block in each region of its edges, concatenated over columns."""
    return np.concatenate(
        [
            np.bincount(np.searchsorted(column_edges, row, side="right"), minlength=column_edges.size + 1)
            for row, column_edges in zip(_columns(block), edges, strict=True)
        ]
    )


def _members(block: np.ndarray, windows: list[list[tuple[int, int]]]) -> list[list[np.ndarray]]:
    """Values of each column of a block whose keys lie in each of its windows."""
    values = block.reshape(-1, block.shape[-1]).T
    rows = _columns(block)
    return [
        [values[year][(row >= low) & (row <= high)] for low, high in column_windows]
        for year, (row, column_windows) in enumerate(zip(rows, windows, strict=True))
    ]


def _add(*parts: np.ndarray) -> np.ndarray:
    return np.sum(parts, axis=0)


def _tree_sum(parts: list[Any], fan_in: int = 8) -> Any:
    """Sum delayed arrays in a tree on the cluster, so that one array comes back."""
    while len(parts) > 1:
        parts = [dask.delayed(_add, pure=True)(*parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


class _Rank:
    """One order statistic of one column: its rank and the key window known to hold it."""

    __slots__ = ("below", "count", "high", "low", "rank", "state", "value")

    def __init__(self, rank: int, low: int, high: int) -> None:
        self.rank, self.low, self.high = rank, low, high
        self.below = 0  # keys of the column below ``low``
        self.count = 0  # keys in the window
        self.state = _REFINE
        self.value = math.nan

    def narrow(self, edges: np.ndarray, counts: np.ndarray) -> None:
        """Move the window to the region of ``edges`` that holds the rank, given the column's region counts."""
        cumulative = np.cumsum(counts)
        region = int(np.searchsorted(cumulative, self.rank, side="right"))
        self.below = int(cumulative[region - 1]) if region else 0
        self.count = int(counts[region])
        self.low = int(edges[region - 1]) if region else 0
        self.high = int(edges[region]) - 1 if region < edges.size else _LAST_KEY
        if self.low == self.high:
            self.state, self.value = _KNOWN, _key_value(self.low)
        elif self.count <= _EXTRACT_AT_MOST:
            self.state = _EXTRACT


def _pilot_ranks(pilot: np.ndarray, ranks: np.ndarray, n: int) -> list[list[_Rank]]:
    """First windows of every (year, rank) from a pilot block: its order statistics around the rank's position."""
    rows = np.sort(_columns(pilot), axis=1)
    m = rows.shape[1]
    out = []
    for row in rows:
        column = []
        for rank in ranks:
            share = rank / (n - 1) if n > 1 else 0.0
            half = _PILOT_SIGMAS * math.sqrt(share * (1 - share) * m) + 2
            position = share * (m - 1)
            low = int(row[max(0, math.floor(position - half))])
            high = int(row[min(m - 1, math.ceil(position + half))])
            column.append(_Rank(int(rank), low, high))
        out.append(column)
    return out


def _counting_pass(blocks: list[list[Any]], targets: list[list[list[_Rank]]]) -> None:
    """Count every column's keys in the regions of its open windows; narrow each open rank's window."""
    edges = [
        [_edges([(t.low, t.high) for t in column if t.state == _REFINE]) for column in variable_targets]
        for variable_targets in targets
    ]
    totals = []
    for variable_blocks, variable_edges in zip(blocks, edges, strict=True):
        shared = dask.delayed(variable_edges, pure=True)
        totals.append(_tree_sum([dask.delayed(_region_counts, pure=True)(b, shared) for b in variable_blocks]))
    for variable_targets, variable_edges, total in zip(targets, edges, compute(*totals), strict=True):
        offset = 0
        for column, column_edges in zip(variable_targets, variable_edges, strict=True):
            counts = total[offset : offset + column_edges.size + 1]
            offset += column_edges.size + 1
            for target in column:
                if target.state == _REFINE:
                    target.narrow(column_edges, counts)


def _extracting_pass(blocks: list[list[Any]], targets: list[list[list[_Rank]]]) -> None:
    """Bring the values in every extracting rank's window to the client; pick each rank among them."""
    windows = [
        [sorted({(t.low, t.high) for t in column if t.state == _EXTRACT}) for column in variable_targets]
        for variable_targets in targets
    ]
    parts = [
        dask.delayed(list, pure=True)([dask.delayed(_members, pure=True)(b, w) for b in variable_blocks])
        for variable_blocks, w in zip(blocks, windows, strict=True)
    ]
    for variable_targets, variable_windows, variable_parts in zip(targets, windows, compute(*parts), strict=True):
        for year, (column, column_windows) in enumerate(zip(variable_targets, variable_windows, strict=True)):
            for w, window in enumerate(column_windows):
                values = np.sort(np.concatenate([part[year][w] for part in variable_parts]))
                for target in column:
                    if target.state == _EXTRACT and (target.low, target.high) == window:
                        target.value = float(values[target.rank - target.below])
                        target.state = _KNOWN


def _order_statistics(arrays: Sequence[da.Array], ranks: np.ndarray) -> list[np.ndarray]:
    """Values of rank ``ranks`` (0-based, over chain and draw) of every year of each array, shape (n_years, n_ranks)."""
    n = arrays[0].shape[0] * arrays[0].shape[1]
    arrays = [a.rechunk({1: -1, 2: -1}) for a in arrays]
    pilots = compute(*[a.blocks[0] for a in arrays])
    targets = [_pilot_ranks(pilot, ranks, n) for pilot in pilots]
    # not optimized: the blocks of every variable keep the keys of the tasks they share
    blocks = [list(a.to_delayed(optimize_graph=False).ravel()) for a in arrays]
    flat = [t for variable in targets for column in variable for t in column]
    while any(t.state == _REFINE for t in flat):
        _counting_pass(blocks, targets)
    if any(t.state == _EXTRACT for t in flat):
        _extracting_pass(blocks, targets)
    return [np.array([[t.value for t in column] for column in variable]) for variable in targets]


def column_quantiles(arrays: Sequence[da.Array], q: np.ndarray) -> list[np.ndarray]:
    """Per-year quantiles of lazy (chain, draw, year) arrays, as :func:`mcscale.stats.column_quantiles` gives them.

    Exact: the order statistics are found on the cluster and combined with the same
    arithmetic, so the values are the local ones bit for bit. The draws are read twice
    (computed again, for lazy runs), once to count and once to extract.

    Parameters
    ----------
    arrays : sequence of dask arrays, shape (chain, draw, year)
    q : ndarray
        Quantile levels.

    Returns
    -------
    list of ndarray, each shape (len(q), n_years)
    """
    arrays = list(arrays)
    if arrays[0].numblocks[0] == 1:  # one block: it is all there is
        return [local_column_quantiles(block, q) for block in compute(*arrays)]
    n = arrays[0].shape[0] * arrays[0].shape[1]
    position = (n - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    weight = position - below
    out = []
    for statistics in _order_statistics(arrays, np.concatenate([below, above])):
        low, high = statistics[:, : len(q)], statistics[:, len(q) :]
        out.append((low + weight * (high - low)).T)
    return out
