"""``mcscale bench``: throughput, memory and JIT time of the engine, against its baselines.

Everything is measured on the bundled ``baseline.toml`` (2025-2060, 36 grid years),
with ``N`` draws (``--draws``, default 10^6):

- **Throughput**, warm, best of ``R`` (``--repeats``, default 2), with 1 and 2 threads:
  ``mcscale.run`` materialized at ``N`` (at ``10 N`` it is skipped: the arrays would
  not fit, see :func:`mcscale.sim.engine.materialized_bytes`) and streaming at ``N`` and
  ``10 N``: draws/s and draw-years/s of the whole call, and of the kernel time alone
  (``result.tree.attrs["sampling_seconds"]``), with the phase's peak RSS.
- **Baselines, in the same process.** :func:`mcscale.testing.numpy_model.numpy_run` (the
  same model in plain vectorized numpy) at ``N``, and at ``10 N`` with ``--full`` (its peak
  RSS is about 1.2 times :func:`~mcscale.sim.engine.materialized_bytes`, 20 GiB at 10^7:
  skipped when the memory available is short); the raw RNG rate,
  :func:`mcscale.sim.kernels.sampling.sample_normals` drawing the same count of standard
  normals per draw (one per sampled prior) from the same chunk generators, on 1 thread
  and on 2 threads (a thread pool over the chunks); with ``squigglepy`` importable, one
  question of the same model drawn with squigglepy.
- **Peak memory of streaming** at ``N``, ``10 N`` and (``--full``) ``100 N`` draws, each
  in a fresh subprocess that prints its own peak RSS (``VmHWM``), minus that of a subprocess
  that only imports mcscale and runs 1000 draws (interpreter, imports, loaded kernels).
- **JIT.** A subprocess with ``NUMBA_CACHE_DIR`` pointed at a new, empty folder times
  its first materialized and streaming runs of 1000 draws minus second ones (compile
  plus first-call overhead), and a second subprocess the same on the filled cache
  (loading). Then the wall time of a second ``mcscale run baseline.toml --draws 100000``
  CLI call, after a first one filled the default cache.

The :data:`TARGETS` are printed next to the measured values (pass/fail): streaming with
2 threads at least 15x the plain-numpy model and at least 40% of the raw RNG rate,
streaming peak memory at most 200 MB above the imports at 10^8 draws, 2 threads at least
1.7x 1 thread, and a second CLI call under 3 s. The record is written as JSON to
``benchmarks/results/<UTC time>.json`` in a source checkout, else to
``./mcscale-bench-<UTC time>.json`` (or ``--json-out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcscale.bench.probes import (
    CLI_DRAWS,
    COMPILE_DRAWS,
    available_bytes,
    measure_cli,
    measure_compile,
    measure_startup,
    measure_stream_memory,
    peak_rss_mib,
)
from mcscale.bench.record import (
    TARGETS,
    default_json_path,
    derive,
    format_draws,
    git_commit,
    machine_info,
    print_table,
    scenario_path,
)
from mcscale.fileio import write_atomic

if TYPE_CHECKING:
    from mcscale.bench.error import ErrorConfig

__all__ = [
    "CLI_DRAWS",
    "TARGETS",
    "BenchConfig",
    "add_arguments",
    "default_json_path",
    "derive",
    "format_draws",
    "main",
    "measure_cli",
    "measure_startup",
    "measure_compile",
    "measure_stream_memory",
    "peak_rss_mib",
    "print_table",
    "run_benchmark",
    "run_from_args",
    "scenario_path",
]

#: Peak RSS of :func:`mcscale.testing.numpy_model.numpy_run` per
#: :func:`mcscale.sim.engine.materialized_bytes` (20.2 GiB for 16.8 GiB at 10^7 draws of
#: ``baseline.toml``), with a margin.
NUMPY_MEMORY_FACTOR = 1.25


@dataclass
class BenchConfig:
    """What :func:`run_benchmark` measures.

    Attributes
    ----------
    draws : int
        ``N``: draws of the materialized, numpy and first streaming runs; the large
        streaming runs use ``10 N``, the ``--full`` memory probe ``100 N``.
    repeats : int
        Timed calls per throughput row; the fastest is kept.
    full : bool
        Also numpy at ``10 N`` and streaming memory at ``100 N``.
    subprocesses : bool
        Run the JIT, CLI and memory probes (each in a fresh interpreter).
    squigglepy : bool
        Time the squigglepy baseline when squigglepy is importable.
    threads : tuple of int
        Thread counts of the throughput rows.
    json_out : Path or None
        Where to write the record (default: see :func:`default_json_path`).
    command : str
        The command line, recorded as given.
    """

    draws: int = 10**6
    repeats: int = 2
    full: bool = False
    subprocesses: bool = True
    squigglepy: bool = True
    threads: tuple[int, ...] = (1, 2)
    json_out: Path | None = None
    command: str = "mcscale bench"


def _rates(row: dict[str, Any], n_years: int) -> dict[str, Any]:
    """Add draws/s and draw-years/s of the whole call and of the kernel time to a row."""
    n = row["n_draws"]
    row["draws_per_s"] = n / row["total_s"]
    row["draw_years_per_s"] = row["draws_per_s"] * n_years
    if row.get("kernel_s"):
        row["kernel_draws_per_s"] = n / row["kernel_s"]
        row["kernel_draw_years_per_s"] = row["kernel_draws_per_s"] * n_years
    return row


def run_benchmark(config: BenchConfig, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure everything ``config`` asks for and return the record (nothing printed or written).

    Parameters
    ----------
    config : BenchConfig
    progress : callable, optional
        Called with a line before each phase.

    Returns
    -------
    dict
        The JSON-ready record: ``throughput`` rows, ``skipped`` rows, ``ratios``,
        ``memory``, ``compile``, ``cli``, ``squigglepy``, ``targets`` and metadata.
    """
    # numpy and the engine load only when a benchmark runs, not when the CLI builds its parser
    from mcscale._version import __version__
    from mcscale.api import run
    from mcscale.bench.measure import measure_numpy, measure_rng, measure_run, measure_squigglepy, normals_per_draw
    from mcscale.scenario_file import load_scenario
    from mcscale.sim.engine import materialized_bytes

    say = progress or (lambda _line: None)
    path = scenario_path()
    scenario = load_scenario(path)
    n_years = scenario.n_years
    n_normals = normals_per_draw(scenario)
    small, large = config.draws, 10 * config.draws
    now = dt.datetime.now(dt.UTC)
    record: dict[str, Any] = {
        "benchmark": "mcscale bench",
        "created": now.isoformat(timespec="seconds"),
        "command": config.command,
        "mcscale_version": __version__,
        "git_commit": git_commit(),
        "scenario": path.name,
        "n_years": n_years,
        "normals_per_draw": n_normals,
        "repeats": config.repeats,
        "full": config.full,
        "sizes": {"small": small, "large": large},
        "machine": machine_info(),
        "targets_goal": TARGETS,
    }

    if config.subprocesses:
        say("JIT: compile with an empty numba cache, then load it, in fresh subprocesses ...")
        record["compile"] = measure_compile(path)
    for mode in ("materialized", "stream"):  # compile or load the kernels in this process
        run(scenario, n_draws=COMPILE_DRAWS, seed=0, threads=1, mode=mode)

    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for threads in config.threads:
        say(f"throughput: materialized {format_draws(small)}, {threads} thread(s) ...")
        rows.append(measure_run(scenario, small, threads, "materialized", config.repeats))
    skipped.append(
        {
            "label": "mcscale materialized",
            "n_draws": large,
            "bytes": materialized_bytes(scenario, large),
            "reason": f"needs {materialized_bytes(scenario, large) / 2**30:.1f} GiB for its arrays",
        }
    )
    for n in (small, large):
        for threads in config.threads:
            say(f"throughput: streaming {format_draws(n)}, {threads} thread(s) ...")
            rows.append(measure_run(scenario, n, threads, "stream", config.repeats))
    say(f"baseline: numpy_model at {format_draws(small)} ...")
    rows.append(measure_numpy(scenario, small, config.repeats))
    numpy_bytes = NUMPY_MEMORY_FACTOR * materialized_bytes(scenario, large)
    available = available_bytes()
    if not config.full:
        reason = f"needs about {numpy_bytes / 2**30:.0f} GiB; --full"
    elif available is not None and numpy_bytes > available:
        reason = f"needs about {numpy_bytes / 2**30:.0f} GiB, {available / 2**30:.0f} GiB available"
    else:
        reason = None
        say(f"baseline: numpy_model at {format_draws(large)} (about {numpy_bytes / 2**30:.0f} GiB) ...")
        rows.append(measure_numpy(scenario, large, config.repeats))
    if reason is not None:
        skipped.append({"label": "numpy_model (plain numpy)", "n_draws": large, "reason": reason})
    for n in (small, large):
        for threads in config.threads:
            say(f"baseline: raw RNG at {format_draws(n)}, {threads} thread(s) ...")
            row = measure_rng(n, n_normals, threads, config.repeats)
            row["normals_per_draw"] = n_normals
            rows.append(row)
    record["throughput"] = [_rates(row, n_years) for row in rows]
    record["skipped"] = skipped

    if config.squigglepy:
        say(f"baseline: squigglepy at {format_draws(small)} ...")
        record["squigglepy"] = measure_squigglepy(scenario, small, max(config.threads))
    else:
        record["squigglepy"] = {"status": "skipped"}

    if config.subprocesses:
        sizes = [small, large, 100 * config.draws] if config.full else [small, large]
        say(f"memory: streaming at {', '.join(format_draws(n) for n in sizes)} in fresh subprocesses ...")
        record["memory"] = measure_stream_memory(path, sizes, max(config.threads))
        say(f"CLI: two calls of `mcscale run {path.name} --draws {CLI_DRAWS}` ...")
        record["cli"] = measure_cli(path)
        say("start-up: the cheap commands and a warm query, next to a bare interpreter ...")
        record["startup"] = measure_startup()
    record["ratios"], record["targets"] = derive(record)
    if hasattr(os, "getloadavg"):
        record["machine"]["load_average_end"] = list(os.getloadavg())
    return record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``mcscale bench`` options to a parser."""
    parser.add_argument(
        "--draws", type=_count, default=10**6, help="N: draws of the small runs; large runs use 10 N (default 1e6)"
    )
    parser.add_argument("--repeats", type=_count, default=2, help="timed calls per row, best kept (default 2)")
    parser.add_argument(
        "--full", action="store_true", help="also numpy at 10 N (about 20 GiB at 1e7) and streaming memory at 100 N"
    )
    parser.add_argument(
        "--no-subprocess",
        dest="subprocesses",
        action="store_false",
        help="skip the probes in fresh interpreters (JIT, memory, CLI call)",
    )
    parser.add_argument("--no-squigglepy", dest="squigglepy", action="store_false", help="skip squigglepy")
    parser.add_argument("--json-out", default=None, metavar="PATH", help="write the JSON record here")
    error = parser.add_argument_group(
        "error against draws and seconds (--error)",
        "Instead of throughput: the error of each estimator against a reference answer, at draws 2^12 .. "
        "--error-max-draws, and a figure of it (one PNG per case, beside the JSON record).",
    )
    error.add_argument("--error", action="store_true", help="measure error against draws and seconds")
    error.add_argument(
        "--error-case",
        action="append",
        default=None,
        metavar="SCENARIO:QUESTION",
        help="a bundled scenario (or file) and a probability question; repeatable "
        "(default: baseline at 1e31 and 1e33 FLOP by 2030, overhang at 1e33)",
    )
    error.add_argument(
        "--error-estimators", default=None, metavar="NAMES", help="comma-separated estimators (default: all)"
    )
    error.add_argument("--error-seeds", type=_count, default=8, help="estimates per point (default 8)")
    error.add_argument(
        "--error-max-draws", type=_count, default=2**20, help="draws of the largest point (default 2^20)"
    )
    error.add_argument(
        "--error-reference-draws", type=_count, default=2**26, help="draws of the reference (default 2^26; cached)"
    )


def _count(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if not math.isfinite(value) or value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(value)


def _command_line(args: argparse.Namespace) -> str:
    """Return the ``mcscale bench`` command line equivalent to parsed options."""
    words = ["mcscale", "bench"]
    if args.full:
        words.append("--full")
    if args.draws != 10**6:
        words += ["--draws", str(args.draws)]
    if args.repeats != 2:
        words += ["--repeats", str(args.repeats)]
    if not args.subprocesses:
        words.append("--no-subprocess")
    if not args.squigglepy:
        words.append("--no-squigglepy")
    if args.json_out:
        words += ["--json-out", str(args.json_out)]
    return " ".join(words)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed options (see :func:`add_arguments`), print the table, write the record.

    Returns
    -------
    int
        The exit code, 0.
    """
    if args.error:
        return _run_error(args)
    config = BenchConfig(
        draws=args.draws,
        repeats=args.repeats,
        full=args.full,
        subprocesses=args.subprocesses,
        squigglepy=args.squigglepy,
        json_out=Path(args.json_out) if args.json_out else None,
        command=_command_line(args),
    )
    record = run_benchmark(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print_table(record)
    path = config.json_out or default_json_path(dt.datetime.fromisoformat(record["created"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())
    print(f"\nwrote {path}")
    return 0


def _error_config(args: argparse.Namespace, record_path: Path) -> ErrorConfig:
    """Return the --error options as an :class:`~mcscale.bench.error.ErrorConfig` (QueryError: bad case or name)."""
    from mcscale.bench.error import DEFAULT_CASES, ESTIMATORS, ErrorConfig, parse_case
    from mcscale.model.thresholds import QueryError

    cases = [parse_case(text) for text in args.error_case] if args.error_case else list(DEFAULT_CASES)
    estimators = [name.strip() for name in args.error_estimators.split(",")] if args.error_estimators else []
    unknown = [name for name in estimators if name not in ESTIMATORS]
    if unknown:
        raise QueryError(f"--error-estimators: unknown {unknown[0]!r}; known: {', '.join(ESTIMATORS)}")
    top = max(12, math.ceil(math.log2(args.error_max_draws)))
    return ErrorConfig(
        cases=cases,
        estimators=estimators or list(ESTIMATORS),
        sizes=[2**k for k in range(12, top + 1, 2)],
        seeds=args.error_seeds,
        reference_draws=args.error_reference_draws,
        cache=record_path.parent / "error-references.json",
    )


def _run_error(args: argparse.Namespace) -> int:
    """``mcscale bench --error``: measure, print the table, write the JSON record and one figure per case."""
    from mcscale.bench.error import error_curves, format_error_table, measure_error
    from mcscale.viz.drawing import error_chart, save_figure

    now = dt.datetime.now(dt.UTC)
    path = (
        Path(args.json_out)
        if args.json_out
        else default_json_path(now).with_name(f"error-{now.strftime('%Y%m%dT%H%M%SZ')}.json")
    )
    config = _error_config(args, path)
    record = measure_error(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
    record.update(created=now.isoformat(timespec="seconds"), git_commit=git_commit())
    print(format_error_table(record))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())
    print(f"\nwrote {path}")
    for k, case in enumerate(record["cases"]):
        figure = save_figure(error_chart(error_curves(case, record)), path.with_name(f"{path.stem}-{k}.png"))
        print(f"wrote {figure}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``mcscale bench`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = argparse.ArgumentParser(prog="mcscale bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
