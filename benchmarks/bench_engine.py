"""Benchmark the mcscale engine against the same model in plain vectorized numpy.

Run as ``python benchmarks/bench_engine.py [--draws N] [--repeats R]``. Everything is
measured on ``scenarios/baseline.toml`` (2025-2060, 36 grid years):

- **JIT compile time.** A fresh subprocess with ``NUMBA_CACHE_DIR`` pointed at a new,
  empty folder times its first ``mcscale.run(scenario, n_draws=1000)`` minus a second,
  warm one; that difference is compilation plus first-call overheads. A second
  subprocess on the now-filled cache gives the same difference when the kernels are
  only loaded from the cache, for comparison; import time and the subprocesses'
  whole wall time are recorded too.
- **mcscale throughput.** ``mcscale.run(scenario, n_draws=N, seed=0)`` (materialized
  mode: DataTree and per-year quantiles included) with ``threads=1`` and ``threads=2``,
  warm, best of ``R``: draws/s and draw-years/s of the whole call, and of the kernel
  time alone (``result.tree.attrs["sampling_seconds"]``: drawing the priors and
  propagating the trajectories).
- **numpy baseline.** :func:`numpy_model.numpy_run` at the same ``N`` (sample, broadcast
  the (draw, year) arrays, ``np.quantile`` per year), best of ``R``, with where its time
  goes, and the ratio of mcscale's rate to it.
- **RNG speed limit.** :func:`mcscale.kernels.sample_normals` drawing ``N`` draws'
  worth of standard normals (one per non-fixed, non-lookup prior) from one chunk
  generator on one thread, and the share of that rate mcscale's single-thread kernel
  reaches.
- **Peak RSS** of each phase (``resource.getrusage``; on Linux the high-water mark is
  reset between phases through ``/proc/self/clear_refs``) and of the whole process.

A readable table is printed and a JSON record written to
``benchmarks/results/<UTC timestamp>.json``. Timings on a shared machine are noisy;
compare runs made on the same machine, close together.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

import mcscale
from mcscale import kernels
from mcscale.engine import chunk_generator
from numpy_model import numpy_run

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "baseline.toml"
RESULTS = HERE / "results"
COMPILE_DRAWS = 1000

# Run in a subprocess: import, then two identical small runs; prints one JSON line.
_COMPILE_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import mcscale
t1 = time.perf_counter()
scenario = mcscale.load_scenario(sys.argv[1])
n = int(sys.argv[2])
t2 = time.perf_counter()
mcscale.run(scenario, n_draws=n, seed=0, threads=1)
t3 = time.perf_counter()
mcscale.run(scenario, n_draws=n, seed=0, threads=1)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_run_s": t3 - t2, "second_run_s": t4 - t3}))
"""


# --------------------------------------------------------------------------- #
# Memory                                                                       #
# --------------------------------------------------------------------------- #


def _reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux ``clear_refs``); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    """Return the peak resident set size since the last reset [MiB] (``getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2.0**20  # KiB on Linux, bytes on macOS


class _Phase:
    """Context manager recording a phase's peak RSS into ``record[name]`` [MiB]."""

    def __init__(self, record: dict[str, float], name: str) -> None:
        self.record, self.name = record, name

    def __enter__(self) -> _Phase:
        _reset_peak_rss()
        return self

    def __exit__(self, *exc: object) -> None:
        self.record[self.name] = _peak_rss_mib()


# --------------------------------------------------------------------------- #
# Measurements                                                                 #
# --------------------------------------------------------------------------- #


def _compile_probe(cache_dir: str) -> dict[str, float]:
    """Run the compile probe in a fresh interpreter with ``NUMBA_CACHE_DIR=cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE_PROBE, str(SCENARIO), str(COMPILE_DRAWS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["first_call_overhead_s"] = out["first_run_s"] - out["second_run_s"]
    out["process_wall_s"] = wall
    return out


def measure_compile() -> dict[str, Any]:
    """Time compilation with an empty numba cache, then loading from the filled cache.

    Returns
    -------
    dict
        ``cold`` and ``warm_cache`` probe timings [s], and ``compile_s``: the cold
        first-call overhead (first minus second run).
    """
    with tempfile.TemporaryDirectory(prefix="mcscale-numba-cache-") as cache_dir:
        cold = _compile_probe(cache_dir)
        warm = _compile_probe(cache_dir)
    return {"cold": cold, "warm_cache": warm, "compile_s": cold["first_call_overhead_s"]}


def _best_of(repeats: int, fn: Callable[[], dict[str, float]], key: str) -> dict[str, float]:
    """Call ``fn`` ``repeats`` times; return the call with the smallest ``key``, plus all times."""
    calls = [fn() for _ in range(repeats)]
    best = dict(min(calls, key=lambda c: c[key]))
    best["all_" + key] = [c[key] for c in calls]
    return best


def measure_mcscale(scenario: mcscale.Scenario, n_draws: int, threads: int, repeats: int) -> dict[str, Any]:
    """Time ``mcscale.run`` (warm), best of ``repeats``.

    Returns
    -------
    dict
        ``total_s`` (the whole call) and ``kernel_s`` (``sampling_seconds``) of the
        fastest call [s], and the other calls' total times.
    """

    def once() -> dict[str, float]:
        started = time.perf_counter()
        result = mcscale.run(scenario, n_draws=n_draws, seed=0, threads=threads)
        total = time.perf_counter() - started
        kernel = float(result.tree.attrs["sampling_seconds"])
        if result.n_draws != n_draws:
            raise RuntimeError(f"mcscale ran {result.n_draws} draws, not {n_draws}")
        del result
        gc.collect()  # a DataTree holds reference cycles: free it now, not at the next GC pass
        return {"total_s": total, "kernel_s": kernel}

    return _best_of(repeats, once, "total_s")


def measure_numpy(scenario: mcscale.Scenario, n_draws: int, repeats: int) -> dict[str, Any]:
    """Time :func:`numpy_model.numpy_run`, best of ``repeats``, with its split [s]."""

    def once() -> dict[str, float]:
        seconds = numpy_run(scenario, n_draws, seed=0).seconds
        gc.collect()
        return {f"{k}_s": v for k, v in seconds.items()}

    return _best_of(repeats, once, "total_s")


def normals_per_draw(scenario: mcscale.Scenario) -> int:
    """Return how many standard normals one draw of the scenario uses (one per sampled prior)."""
    return sum(spec.dist not in ("fixed", "lookup") for spec in scenario.all_priors().values())


def measure_rng(n_draws: int, n_normals: int, repeats: int) -> dict[str, Any]:
    """Time :func:`mcscale.kernels.sample_normals` on one chunk generator, one thread."""
    kernels.sample_normals(chunk_generator(0, 0), 10, n_normals)  # compile or load

    def once() -> dict[str, float]:
        generator = chunk_generator(0, 0)
        started = time.perf_counter()
        kernels.sample_normals(generator, n_draws, n_normals)
        return {"total_s": time.perf_counter() - started}

    return _best_of(repeats, once, "total_s")


# --------------------------------------------------------------------------- #
# Report                                                                       #
# --------------------------------------------------------------------------- #


def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def summarize(raw: dict[str, Any], n_draws: int, n_years: int, n_normals: int) -> dict[str, Any]:
    """Derive rates and ratios from the raw timings."""
    out: dict[str, Any] = {}
    numpy_rate = _rate(n_draws, raw["numpy"]["total_s"])
    rng_rate = _rate(n_draws, raw["rng"]["total_s"])
    for threads in (1, 2):
        m = raw[f"mcscale_threads{threads}"]
        rate = _rate(n_draws, m["total_s"])
        kernel_rate = _rate(n_draws, m["kernel_s"])
        out[f"mcscale_threads{threads}"] = {
            "draws_per_s": rate,
            "draw_years_per_s": rate * n_years,
            "kernel_draws_per_s": kernel_rate,
            "kernel_draw_years_per_s": kernel_rate * n_years,
            "vs_numpy": rate / numpy_rate,
            "kernel_vs_rng_limit": kernel_rate / rng_rate,
        }
    out["numpy"] = {
        "draws_per_s": numpy_rate,
        "draw_years_per_s": numpy_rate * n_years,
        "quantile_share": raw["numpy"]["quantiles_s"] / raw["numpy"]["total_s"],
    }
    out["rng"] = {
        "normals_per_s": rng_rate * n_normals,
        "draws_per_s": rng_rate,
        "ns_per_normal": 1e9 / (rng_rate * n_normals),
    }
    return out


def print_table(record: dict[str, Any]) -> None:
    """Print the record as a readable table."""
    n, years = record["n_draws"], record["n_years"]
    raw, derived, rss = record["raw"], record["derived"], record["peak_rss_mib"]
    print(f"\nmcscale {record['mcscale_version']} on {record['scenario']} ({years} years), {n:.3g} draws")
    print(f"{record['machine']['cpu_count']} CPUs, {record['machine']['platform']}, best of {record['repeats']}\n")
    if "compile" in raw:
        c = raw["compile"]
        print("JIT (fresh subprocess, first minus second run of 1000 draws)")
        print(f"  empty cache  compile + first call  {c['cold']['first_call_overhead_s']:8.2f} s", end="")
        print(f"   (import {c['cold']['import_s']:.2f} s, process {c['cold']['process_wall_s']:.2f} s)")
        print(f"  warm cache   load + first call     {c['warm_cache']['first_call_overhead_s']:8.2f} s", end="")
        print(f"   (import {c['warm_cache']['import_s']:.2f} s, process {c['warm_cache']['process_wall_s']:.2f} s)\n")
    header = f"  {'':26s}{'time [s]':>10s}{'draws/s':>12s}{'draw-years/s':>15s}{'vs numpy':>10s}{'peak RSS':>12s}"
    print("Throughput (whole call: sampling, trajectories, quantiles)")
    print(header)
    for threads in (1, 2):
        m, d = raw[f"mcscale_threads{threads}"], derived[f"mcscale_threads{threads}"]
        print(
            f"  {f'mcscale, {threads} thread' + 's' * (threads > 1):26s}{m['total_s']:10.3f}{d['draws_per_s']:12.3g}"
            f"{d['draw_years_per_s']:15.3g}{d['vs_numpy']:9.1f}x{rss[f'mcscale_threads{threads}']:9.0f} MiB"
        )
    npy = raw["numpy"]
    print(
        f"  {'numpy (numpy_model.py)':26s}{npy['total_s']:10.3f}{derived['numpy']['draws_per_s']:12.3g}"
        f"{derived['numpy']['draw_years_per_s']:15.3g}{1.0:9.1f}x{rss['numpy']:9.0f} MiB"
    )
    print(
        f"    numpy split: sample {npy['sample_s']:.3f} s, trajectories {npy['trajectories_s']:.3f} s, "
        f"np.quantile {npy['quantiles_s']:.3f} s ({100 * derived['numpy']['quantile_share']:.0f}%)\n"
    )
    print("Kernel only (sampling_seconds: draw priors + propagate trajectories)")
    print(f"  {'':26s}{'time [s]':>10s}{'draws/s':>12s}{'draw-years/s':>15s}{'vs 1-thread RNG':>17s}")
    for threads in (1, 2):
        m, d = raw[f"mcscale_threads{threads}"], derived[f"mcscale_threads{threads}"]
        print(
            f"  {f'mcscale, {threads} thread' + 's' * (threads > 1):26s}{m['kernel_s']:10.3f}"
            f"{d['kernel_draws_per_s']:12.3g}{d['kernel_draw_years_per_s']:15.3g}"
            f"{100 * d['kernel_vs_rng_limit']:16.0f}%"
        )
    r, dr = raw["rng"], derived["rng"]
    label = f"RNG only ({record['normals_per_draw']} normals/draw)"
    print(
        f"  {label:26s}{r['total_s']:10.3f}{dr['draws_per_s']:12.3g}"
        f"{'':15s}{100.0:16.0f}%   ({dr['ns_per_normal']:.1f} ns/normal, 1 thread)\n"
    )
    print(
        f"Peak RSS of the process: {rss['process']:.0f} MiB (before the timed phases: {rss['before_phases']:.0f} MiB)"
    )


# --------------------------------------------------------------------------- #
# Main                                                                         #
# --------------------------------------------------------------------------- #


def _count(text: str) -> int:
    value = float(text)
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(value)


def _versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__}


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table and write the JSON record.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    dict
        The record written to ``benchmarks/results/``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=_count, default=10**6, help="draws per run (default 1e6)")
    parser.add_argument("--repeats", type=_count, default=3, help="timed repeats, best kept (default 3)")
    parser.add_argument("--skip-compile", action="store_true", help="skip the JIT compile subprocesses")
    args = parser.parse_args(argv)

    scenario = mcscale.load_scenario(SCENARIO)
    n_years = scenario.n_years
    n_normals = normals_per_draw(scenario)
    raw: dict[str, Any] = {}
    rss: dict[str, float] = {}

    if not args.skip_compile:
        print("timing JIT compilation in fresh subprocesses ...", flush=True)
        raw["compile"] = measure_compile()
    mcscale.run(scenario, n_draws=COMPILE_DRAWS, seed=0, threads=1)  # compile or load the kernels here
    gc.collect()
    _reset_peak_rss()
    rss["before_phases"] = _peak_rss_mib()  # the current RSS, if the reset worked
    for threads in (1, 2):
        print(f"timing mcscale.run, {threads} thread(s) ...", flush=True)
        with _Phase(rss, f"mcscale_threads{threads}"):
            raw[f"mcscale_threads{threads}"] = measure_mcscale(scenario, args.draws, threads, args.repeats)
    print("timing the numpy baseline ...", flush=True)
    with _Phase(rss, "numpy"):
        raw["numpy"] = measure_numpy(scenario, args.draws, args.repeats)
    print("timing the raw RNG ...", flush=True)
    with _Phase(rss, "rng"):
        raw["rng"] = measure_rng(args.draws, n_normals, args.repeats)
    rss["process"] = max(rss.values())  # each phase's peak, or the process peak so far
    rss["resettable"] = _reset_peak_rss()  # False: each phase's figure is the process peak so far

    now = dt.datetime.now(dt.UTC)
    record = {
        "benchmark": "bench_engine",
        "created": now.isoformat(timespec="seconds"),
        "mcscale_version": mcscale.__version__,
        "git_commit": _git_commit(),
        "scenario": SCENARIO.name,
        "n_draws": args.draws,
        "n_years": n_years,
        "normals_per_draw": n_normals,
        "repeats": args.repeats,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), **_versions()},
        "raw": raw,
        "derived": summarize(raw, args.draws, n_years, n_normals),
        "peak_rss_mib": rss,
    }
    print_table(record)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(HERE.parent)}")
    return record


if __name__ == "__main__":
    main()
