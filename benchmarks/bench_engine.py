"""Benchmark the mcscale engine: a thin wrapper of ``mcscale bench`` (:mod:`mcscale.bench`).

Run as ``python benchmarks/bench_engine.py [--full] [--draws N] [--repeats R] ...``, the
same as ``mcscale bench ...``: throughput of materialized and streaming runs of
``scenarios/baseline.toml`` with 1 and 2 threads, against the same model in plain numpy
(:mod:`mcscale.numpy_model`) and the raw RNG rate, streaming peak memory, JIT compile
time; a table on stdout and a JSON record in ``benchmarks/results/``.
"""

import sys

from mcscale.bench import main

if __name__ == "__main__":
    sys.exit(main())
