"""Benchmark streaming on a dask LocalCluster against the threaded local run, in one process.

Run as ``python benchmarks/bench_dask.py [--draws N] [--workers W]``. Prints, for the
baseline scenario streamed with its probability questions:

- the wall time of the local run on all cores, and of LocalCluster(W) (one thread per
  worker process), as a ratio;
- the cost of one task besides sampling: the same run cut into one-chunk tasks, against
  the default task size, divided by the extra tasks.

The answers are checked to be the same bits as the local run's each time.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time

import numpy as np
from distributed import Client, LocalCluster

import mcscale
from mcscale.query import parse_question, scenario_references, stream_specs
from mcscale.sim import dask_executor
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE
from mcscale.sim.engine import simulate_stream

QUESTIONS = ["P(effective_flop >= 1e31 by 2030)", "P(effective_flop >= 1000 x GPT-4 by 2030)"]


def cpu_name() -> str:
    """Return the CPU model, family and whether it has AVX-512, from /proc/cpuinfo."""
    try:
        text = open("/proc/cpuinfo").read()  # noqa: SIM115
    except OSError:
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    simd = "AVX-512" if "avx512f" in text else "AVX2" if "avx2" in text else "no AVX2"
    family = f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
    return f"{fields.get('model name', '?')} ({family}), {simd}"


def timed(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Return ``function(*args, **kwargs)`` and its wall time [s]."""
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def main() -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=float, default=1e7)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n_draws = int(args.draws)
    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()["baseline"])
    thresholds, costs = stream_specs(scenario, [parse_question(q, scenario_references(scenario)) for q in QUESTIONS])
    options = {"seed": 0, "thresholds": thresholds, "costs": costs}
    simulate_stream(scenario, DEFAULT_CHUNK_SIZE, **options)  # compile or load the kernels first
    local, local_s = timed(simulate_stream, scenario, n_draws, **options)
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with Client(cluster) as client:
        client.run(importlib.import_module, "mcscale.sim.dask_executor")
        dask_executor.simulate_stream(client, scenario, DEFAULT_CHUNK_SIZE * args.workers, **options)  # warm workers
        remote, remote_s = timed(dask_executor.simulate_stream, client, scenario, n_draws, **options)
        small, small_s = timed(dask_executor.simulate_stream, client, scenario, n_draws, chunks_per_task=1, **options)
    cluster.close()
    for other in (remote, small):
        assert all(np.array_equal(a, b) for a, b in zip(local.counts, other.counts, strict=True))
        assert np.array_equal(local.moments, other.moments)
    n_chunks = local.layout.n_chunks
    per_task = dask_executor.task_chunks(n_chunks, args.workers)
    tasks, small_tasks = -(-n_chunks // per_task), n_chunks
    overhead = (small_s - remote_s) / (small_tasks - tasks) * args.workers  # worker-seconds per task
    print(f"{cpu_name()}; {os.cpu_count()} cores; {n_draws:.3g} draws in {n_chunks} chunks; the same bits each run")
    print(f"local run, all cores:             {local_s:7.2f} s")
    ratio = remote_s / local_s
    print(f"LocalCluster({args.workers}), {tasks} tasks of {per_task} chunks: {remote_s:7.2f} s ({ratio:.2f}x)")
    print(f"LocalCluster({args.workers}), {small_tasks} one-chunk tasks: {small_s:7.2f} s")
    print(f"cost of a task besides sampling:   {overhead * 1e3:7.1f} ms of a worker's time")


if __name__ == "__main__":
    main()
