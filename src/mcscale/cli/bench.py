"""``mcscale bench``: the command-line wiring of :mod:`mcscale.bench`."""

from __future__ import annotations

import argparse
from typing import Any

from mcscale.cli.common import check_output

__all__ = ["add_bench_parser"]


def _cmd_bench(args: argparse.Namespace) -> int:
    from mcscale.bench import run_from_args

    check_output(args.json_out, suffixes=(".json",))  # before minutes of benchmarking
    return run_from_args(args)


def add_bench_parser(commands: Any) -> None:
    """Register ``mcscale bench``."""
    from mcscale.bench import CLI_DRAWS, TARGETS, add_arguments

    bench = commands.add_parser(
        "bench",
        help="measure throughput, memory and JIT time against plain numpy and the raw RNG",
        description="Benchmark baseline.toml: draws/s materialized and streaming with 1 and 2 threads, "
        "the numpy and RNG baselines, streaming peak memory, JIT and second-call time; "
        "prints a table with the targets (pass/fail) and writes a JSON record. The targets: streaming "
        f"with 2 threads at least {TARGETS['stream_vs_numpy']:g}x the draws/s of the same model in plain numpy "
        f"and at least {100 * TARGETS['stream_vs_rng']:.0f}% of the raw RNG rate; streaming peak memory at "
        f"most {TARGETS['memory_above_baseline_mb']:g} MB above the imports at 1e8 draws; 2 threads at least "
        f"{TARGETS['thread_speedup']:g}x 1 thread; a second `mcscale run baseline.toml --draws {CLI_DRAWS}` "
        f"under {TARGETS['cli_second_call_s']:g} s.",
    )
    add_arguments(bench)
    bench.set_defaults(handler=_cmd_bench)
