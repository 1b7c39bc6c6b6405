"""``mcscale bench``: throughput, memory and JIT time of the engine, against its baselines.

Everything is measured on the bundled ``baseline.toml`` (2025-2060, 36 grid years),
with ``N`` draws (``--draws``, default 10^6):

- **Throughput**, warm, best of ``R`` (``--repeats``, default 2), with 1 and 2 threads:
  ``mcscale.run`` materialized at ``N`` (at ``10 N`` it is skipped: the arrays would
  not fit, see :func:`mcscale.engine.materialized_bytes`) and streaming at ``N`` and
  ``10 N``: draws/s and draw-years/s of the whole call, and of the kernel time alone
  (``result.tree.attrs["sampling_seconds"]``), with the phase's peak RSS.
- **Baselines, in the same process.** :func:`mcscale.numpy_model.numpy_run` (the same
  model in plain vectorized numpy) at ``N``, and at ``10 N`` with ``--full`` (its peak RSS
  is about 1.2 times :func:`~mcscale.engine.materialized_bytes`, 20 GiB at 10^7: skipped
  when the memory available is short); the raw RNG rate, :func:`mcscale.kernels.sample_normals` drawing the same
  count of standard normals per draw (one per sampled prior) from the same chunk
  generators, on 1 thread and on 2 threads (a thread pool over the chunks); with
  ``squigglepy`` importable, one question of the same model drawn with squigglepy.
- **Peak memory of streaming** at ``N``, ``10 N`` and (``--full``) ``100 N`` draws, each
  in a fresh subprocess that prints its own peak RSS (``VmHWM``), minus that of a subprocess
  that only imports mcscale and runs 1000 draws (interpreter, imports, loaded kernels).
- **JIT.** A subprocess with ``NUMBA_CACHE_DIR`` pointed at a new, empty folder times
  its first materialized and streaming runs of 1000 draws minus second ones (compile
  plus first-call overhead), and a second subprocess the same on the filled cache
  (loading). Then the wall time of a second ``mcscale run baseline.toml --draws 100000``
  CLI call, after a first one filled the default cache.

The issue's targets are printed next to the measured values (pass/fail). The record is
written as JSON to ``benchmarks/results/<UTC time>.json`` in a source checkout, else to
``./mcscale-bench-<UTC time>.json`` (or ``--json-out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TARGETS",
    "BenchConfig",
    "add_arguments",
    "default_json_path",
    "derive",
    "main",
    "measure_cli",
    "measure_compile",
    "measure_numpy",
    "measure_rng",
    "measure_run",
    "measure_squigglepy",
    "measure_stream_memory",
    "normals_per_draw",
    "print_table",
    "run_benchmark",
    "run_from_args",
    "scenario_path",
]

#: Draws of the small runs in the JIT and memory-baseline subprocesses.
COMPILE_DRAWS = 1000
#: Draws of the timed second CLI call.
CLI_DRAWS = 100_000
#: Year of the question the squigglepy baseline answers.
QUESTION_YEAR = 2030
#: Multiple of the scenario's reference run in that question.
QUESTION_MULTIPLE = 1000.0
#: The issue's targets: streaming vs numpy [x], vs the RNG rate [fraction], memory above
#: the interpreter [MB = 10^6 bytes], 2-thread speedup [x], second CLI call [s].
TARGETS = {
    "stream_vs_numpy": 15.0,
    "stream_vs_rng": 0.40,
    "memory_above_baseline_mb": 200.0,
    "thread_speedup": 1.7,
    "cli_second_call_s": 3.0,
}

#: Peak RSS of :func:`mcscale.numpy_model.numpy_run` per :func:`mcscale.engine.materialized_bytes`
#: (20.2 GiB for 16.8 GiB at 10^7 draws of ``baseline.toml``), with a margin.
NUMPY_MEMORY_FACTOR = 1.25

_MIB = 2.0**20

# Fresh interpreter: import, then first and second runs of each mode; one JSON line.
_COMPILE_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import mcscale
t1 = time.perf_counter()
scenario = mcscale.load_scenario(sys.argv[1])
n = int(sys.argv[2])
out = {"import_s": t1 - t0}
for mode in ("materialized", "stream"):
    for which in ("first", "second"):
        started = time.perf_counter()
        mcscale.run(scenario, n_draws=n, seed=0, threads=1, mode=mode)
        out[f"{mode}_{which}_s"] = time.perf_counter() - started
print(json.dumps(out))
"""

# Fresh interpreter: one streaming run; prints its own peak RSS as one JSON line.
_MEMORY_PROBE = """
import json, sys, time
import mcscale
from mcscale.bench import _peak_rss_mib
started = time.perf_counter()
result = mcscale.run(sys.argv[1], n_draws=int(sys.argv[2]), seed=0, threads=int(sys.argv[3]), mode="stream")
seconds = time.perf_counter() - started
print(json.dumps({"n_draws": result.n_draws, "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}))
"""


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


# --------------------------------------------------------------------------- #
# Helpers                                                                      #
# --------------------------------------------------------------------------- #


def _repo_root() -> Path | None:
    """Return the source checkout this module runs from (src layout), or None when installed."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "benchmarks").is_dir() else None


def scenario_path() -> Path:
    """Return the benchmark's scenario: the checkout's ``scenarios/baseline.toml``, else the bundled one."""
    root = _repo_root()
    if root is not None and (root / "scenarios" / "baseline.toml").is_file():
        return root / "scenarios" / "baseline.toml"
    return Path(str(resources.files("mcscale") / "scenarios" / "baseline.toml"))


def default_json_path(now: dt.datetime) -> Path:
    """Return where the record goes by default: ``benchmarks/results/`` of a checkout, else the cwd."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    root = _repo_root()
    if root is not None:
        return root / "benchmarks" / "results" / f"{stamp}.json"
    return Path.cwd() / f"mcscale-bench-{stamp}.json"


def _size(n: float) -> str:
    """Return a draw count as ``1e6``, ``2e4`` or ``2.5e5``."""
    exponent = int(math.floor(math.log10(n)))
    mantissa = n / 10**exponent
    return f"{mantissa:.3g}e{exponent}"


def _maxrss_mib(ru_maxrss: int) -> float:
    """Convert ``ru_maxrss`` (KiB on Linux, bytes on macOS) to [MiB]."""
    return ru_maxrss / _MIB if sys.platform == "darwin" else ru_maxrss / 1024.0


def _available_bytes() -> int | None:
    """Return the memory available to new allocations (Linux ``MemAvailable``) [bytes], or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux ``clear_refs``); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    """Return this process's peak resident set size since the last reset [MiB].

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` of a process started by a large
    parent starts at the parent's peak (the kernel carries it over the exec), which
    would hide a subprocess's own peak; else ``ru_maxrss``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return _maxrss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _Phase:
    """Context manager storing a phase's peak RSS [MiB] in ``row["peak_rss_mib"]``.

    Where the high-water mark cannot be reset (not Linux), it is the process peak so far.
    """

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __enter__(self) -> _Phase:
        gc.collect()
        _reset_peak_rss()
        return self

    def __exit__(self, *exc: object) -> None:
        self.row["peak_rss_mib"] = _peak_rss_mib()


def _best_of(repeats: int, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Call ``fn`` ``repeats`` times; return the call with the smallest ``total_s``, plus every ``total_s``."""
    calls = [fn() for _ in range(repeats)]
    best = dict(min(calls, key=lambda c: c["total_s"]))
    best["all_total_s"] = [c["total_s"] for c in calls]
    return best


def _rates(row: dict[str, Any], n_years: int) -> dict[str, Any]:
    """Add draws/s and draw-years/s of the whole call and of the kernel time to a row."""
    n = row["n_draws"]
    row["draws_per_s"] = n / row["total_s"]
    row["draw_years_per_s"] = row["draws_per_s"] * n_years
    if row.get("kernel_s"):
        row["kernel_draws_per_s"] = n / row["kernel_s"]
        row["kernel_draw_years_per_s"] = row["kernel_draws_per_s"] * n_years
    return row


def normals_per_draw(scenario: Any) -> int:
    """Return how many standard normals one draw of a scenario uses (one per sampled prior)."""
    return sum(spec.dist not in ("fixed", "lookup") for spec in scenario.all_priors().values())


# --------------------------------------------------------------------------- #
# In-process measurements                                                      #
# --------------------------------------------------------------------------- #


def measure_run(scenario: Any, n_draws: int, threads: int, mode: str, repeats: int) -> dict[str, Any]:
    """Time ``mcscale.run`` (warm), best of ``repeats``.

    Returns
    -------
    dict
        ``total_s`` (the whole call) and ``kernel_s`` (``sampling_seconds``) of the
        fastest call [s], ``all_total_s`` [s], ``n_draws`` (as run) and ``peak_rss_mib``.
    """
    import mcscale

    def once() -> dict[str, Any]:
        started = time.perf_counter()
        result = mcscale.run(scenario, n_draws=n_draws, seed=0, threads=threads, mode=mode)
        total = time.perf_counter() - started
        out = {"total_s": total, "kernel_s": float(result.tree.attrs["sampling_seconds"]), "n_draws": result.n_draws}
        del result
        gc.collect()  # a DataTree holds reference cycles: free it now, not at the next GC pass
        return out

    row: dict[str, Any] = {"engine": "mcscale", "mode": mode, "threads": threads}
    with _Phase(row):
        row.update(_best_of(repeats, once))
    return row


def measure_numpy(scenario: Any, n_draws: int, repeats: int) -> dict[str, Any]:
    """Time :func:`mcscale.numpy_model.numpy_run`, best of ``repeats``, with its split [s]."""
    from mcscale.numpy_model import numpy_run

    def once() -> dict[str, Any]:
        seconds = numpy_run(scenario, n_draws, seed=0).seconds
        gc.collect()
        return {f"{k}_s": v for k, v in seconds.items()}

    row: dict[str, Any] = {"engine": "numpy", "mode": "numpy", "threads": 1, "n_draws": n_draws}
    with _Phase(row):
        row.update(_best_of(repeats, once))
    return row


def measure_rng(n_draws: int, n_normals: int, threads: int, repeats: int) -> dict[str, Any]:
    """Time :func:`mcscale.kernels.sample_normals` over the engine's chunks and chunk generators.

    With ``threads > 1`` the chunks run on a thread pool (the kernel releases the GIL).
    """
    from mcscale import kernels
    from mcscale.engine import chunk_generator, chunk_layout

    layout = chunk_layout(n_draws)
    kernels.sample_normals(chunk_generator(0, 0), 10, n_normals)  # compile or load

    def chunk(k: int) -> float:
        return kernels.sample_normals(chunk_generator(0, k), layout.chunk_length, n_normals)

    def once() -> dict[str, Any]:
        started = time.perf_counter()
        if threads == 1:
            for k in range(layout.n_chunks):
                chunk(k)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(chunk, range(layout.n_chunks)))
        return {"total_s": time.perf_counter() - started}

    row: dict[str, Any] = {"engine": "rng", "mode": "rng", "threads": threads, "n_draws": layout.n_draws}
    with _Phase(row):
        row.update(_best_of(repeats, once))
    row["normals_per_s"] = layout.n_draws * n_normals / row["total_s"]
    row["ns_per_normal"] = 1e9 / row["normals_per_s"] * threads
    return row


def _squigglepy_dists(sq: Any, scenario: Any) -> tuple[dict[str, Any], dict[str, Callable]]:
    """Return squigglepy distributions of a scenario's sampled priors [canonical units], and transforms.

    Truncation bounds become squigglepy's ``lclip``/``rclip`` (its idiom for bounds: values
    beyond are clipped, not redrawn), which differs from truncation only by the mass
    beyond the bounds (2e-5 for the utilization of ``baseline.toml``).
    """
    dists: dict[str, Any] = {}
    transforms: dict[str, Callable] = {}
    for name, spec in scenario.all_priors().items():
        if spec.dist in ("fixed", "lookup"):
            continue
        q, scale = spec.params, spec.scale
        clip = {
            "lclip": spec.lower * scale if math.isfinite(spec.lower) else None,
            "rclip": spec.upper * scale if math.isfinite(spec.upper) else None,
        }
        if spec.dist == "lognormal":
            dists[name] = sq.lognorm(norm_mean=q["mu"] + math.log(scale), norm_sd=q["sigma"], **clip)
        elif spec.dist == "normal":
            dists[name] = sq.norm(mean=q["mean"] * scale, sd=q["sd"] * scale, **clip)
        elif spec.dist == "uniform":
            dists[name] = sq.uniform(max(q["low"], spec.lower) * scale, min(q["high"], spec.upper) * scale)
        elif spec.dist == "loguniform":  # uniform in log, exponentiated after sampling (ranks kept)
            low, high = max(q["low"], spec.lower) * scale, min(q["high"], spec.upper) * scale
            dists[name] = sq.uniform(math.log(low), math.log(high))
            transforms[name] = np.exp
        else:
            raise NotImplementedError(f"{name}: {spec.dist} priors")
    return dists, transforms


def measure_squigglepy(scenario: Any, n_draws: int, threads: int) -> dict[str, Any]:
    """Answer one question of the model with squigglepy, and the same with mcscale (streaming).

    squigglepy draws the priors (its samplers; Spearman correlations by Iman-Conover);
    the trajectory arithmetic is :func:`mcscale.numpy_model.numpy_trajectories` on the
    grid up to the question's year only. The question is
    ``P(effective_flop >= 1000 x REFERENCE in 2030)``.

    Returns
    -------
    dict
        ``status`` ("ok", "not installed" or why it did not run); with "ok", the time
        [s], rate [draws/s] and answer of both, and mcscale's MCSE.
    """
    try:
        import squigglepy as sq
    except ImportError:
        return {"status": "not installed"}
    import mcscale
    from mcscale.numpy_model import numpy_trajectories, year_grid

    question = f"P(effective_flop >= {QUESTION_MULTIPLE:g} x {scenario.reference_name} in {QUESTION_YEAR})"
    out: dict[str, Any] = {"status": "ok", "version": getattr(sq, "__version__", "?"), "question": question}
    try:
        dists, transforms = _squigglepy_dists(sq, scenario)
    except NotImplementedError as exc:
        return {"status": f"not run: squigglepy baseline has no {exc}", "question": question}
    priors = scenario.all_priors()
    years = year_grid(scenario)
    years = years[years <= QUESTION_YEAR + 1e-9]

    sq.set_seed(0)
    started = time.perf_counter()
    names = list(dists)
    if scenario.correlations:
        matrix = np.eye(len(names))
        for a, b, rho in scenario.correlations:
            matrix[names.index(a), names.index(b)] = matrix[names.index(b), names.index(a)] = rho
        dists = dict(zip(names, sq.correlate(tuple(dists.values()), matrix.tolist()), strict=True))
    params = {name: transforms.get(name, np.asarray)(np.asarray(dist @ n_draws)) for name, dist in dists.items()}
    for name, spec in priors.items():
        if spec.dist == "fixed":
            params[name] = np.full(n_draws, spec.params["value"] * spec.scale)
        elif spec.dist == "lookup":
            return {"status": "not run: squigglepy baseline has no lookup priors", "question": question}
    log_effective = numpy_trajectories(scenario, params, years)["effective_flop"][:, -1]
    value = float(np.mean(log_effective >= math.log10(QUESTION_MULTIPLE) + np.log10(params["reference.flop"])))
    out["seconds"] = time.perf_counter() - started
    out["n_draws"] = n_draws
    out["draws_per_s"] = n_draws / out["seconds"]
    out["answer"] = value

    started = time.perf_counter()
    result = mcscale.run(scenario, n_draws=n_draws, seed=0, threads=threads, mode="stream")
    answer = mcscale.ask(result, question)
    out["mcscale_seconds"] = time.perf_counter() - started
    out["mcscale_answer"] = answer.value
    out["mcscale_mcse"] = answer.mcse
    out["mcscale_vs_squigglepy"] = out["seconds"] / out["mcscale_seconds"]
    return out


# --------------------------------------------------------------------------- #
# Subprocess measurements                                                      #
# --------------------------------------------------------------------------- #


def _python(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; return the JSON of its last stdout line."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_compile(scenario_file: Path) -> dict[str, Any]:
    """Time compilation with an empty numba cache, then loading from the filled cache.

    Returns
    -------
    dict
        ``cold`` and ``warm_cache`` probe timings [s] (import, first and second run of
        each mode, process wall time), and their first-minus-second differences:
        ``compile_s`` (empty cache) and ``cache_load_s`` (filled cache), both modes summed.
    """
    out: dict[str, Any] = {"draws": COMPILE_DRAWS}
    with tempfile.TemporaryDirectory(prefix="mcscale-numba-cache-") as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        for key in ("cold", "warm_cache"):
            started = time.perf_counter()
            probe = _python(_COMPILE_PROBE, str(scenario_file), str(COMPILE_DRAWS), env=env)
            probe["process_wall_s"] = time.perf_counter() - started
            for mode in ("materialized", "stream"):
                probe[f"{mode}_overhead_s"] = probe[f"{mode}_first_s"] - probe[f"{mode}_second_s"]
            probe["overhead_s"] = probe["materialized_overhead_s"] + probe["stream_overhead_s"]
            out[key] = probe
    out["compile_s"] = out["cold"]["overhead_s"]
    out["cache_load_s"] = out["warm_cache"]["overhead_s"]
    return out


def _cli_command() -> list[str]:
    """Return the argv prefix that runs the ``mcscale`` command of this interpreter."""
    script = Path(sys.executable).with_name("mcscale")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "from mcscale.cli import main_entry; main_entry()"]


def measure_cli(scenario_file: Path) -> dict[str, Any]:
    """Wall time of two identical ``mcscale run SCENARIO --draws 100000`` calls (default numba cache).

    Returns
    -------
    dict
        ``first_s`` and ``second_s`` [s], the command, and ``error`` when a call failed.
    """
    command = [*_cli_command(), "run", str(scenario_file), "--draws", str(CLI_DRAWS)]
    out: dict[str, Any] = {"command": f"mcscale run {scenario_file.name} --draws {CLI_DRAWS}"}
    for key in ("first_s", "second_s"):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        out[key] = time.perf_counter() - started
        if done.returncode != 0:
            out["error"] = f"exit {done.returncode}: {done.stderr.strip()[-500:]}"
            break
    return out


def measure_stream_memory(scenario_file: Path, sizes: list[int], threads: int) -> dict[str, Any]:
    """Peak RSS of streaming runs, each in a fresh subprocess, above an imports-only baseline.

    The baseline subprocess imports mcscale and runs ``COMPILE_DRAWS`` streaming draws
    (interpreter, imports and loaded kernels). Each subprocess reports its own peak
    (:func:`_peak_rss_mib`).

    Returns
    -------
    dict
        ``baseline_mib`` [MiB] and ``runs``: per size, ``peak_rss_mib``,
        ``above_baseline_mib``, ``above_baseline_mb`` [10^6 bytes] and ``seconds``.
    """
    baseline = _python(_MEMORY_PROBE, str(scenario_file), str(COMPILE_DRAWS), "1")
    base = baseline["peak_rss_mib"]
    runs = []
    for n in sizes:
        probe = _python(_MEMORY_PROBE, str(scenario_file), str(n), str(threads))
        peak = probe["peak_rss_mib"]
        runs.append(
            {
                "n_draws": probe["n_draws"],
                "threads": threads,
                "peak_rss_mib": peak,
                "above_baseline_mib": peak - base,
                "above_baseline_mb": (peak - base) * _MIB / 1e6,
                "seconds": probe["seconds"],
            }
        )
    return {"baseline_mib": base, "baseline_draws": COMPILE_DRAWS, "runs": runs}


# --------------------------------------------------------------------------- #
# Ratios and targets                                                           #
# --------------------------------------------------------------------------- #


def _find(rows: list[dict[str, Any]], mode: str, n_draws: int, threads: int) -> dict[str, Any] | None:
    for row in rows:
        if row["mode"] == mode and row["n_draws"] == n_draws and row["threads"] == threads:
            return row
    return None


def derive(record: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the ratios and the targets (measured value, pass/fail) of a record's measurements."""
    rows = record["throughput"]
    small, large = record["sizes"]["small"], record["sizes"]["large"]
    numpy_rows = sorted((r for r in rows if r["mode"] == "numpy"), key=lambda r: r["n_draws"])
    ratios: dict[str, Any] = {}
    for n in (small, large):
        stream2 = _find(rows, "stream", n, 2)
        numpy_same = _find(rows, "numpy", n, 1)
        numpy_row = numpy_same or (numpy_rows[-1] if numpy_rows else None)
        if stream2 and numpy_row:
            ratios[f"stream_2t_vs_numpy_{_size(n)}"] = {
                "value": stream2["draws_per_s"] / numpy_row["draws_per_s"],
                "numpy_draws": numpy_row["n_draws"],
            }
        for threads in (1, 2):
            stream, rng = _find(rows, "stream", n, threads), _find(rows, "rng", n, threads)
            if stream and rng:
                ratios[f"stream_vs_rng_{threads}t_{_size(n)}"] = {
                    "value": stream["draws_per_s"] / rng["draws_per_s"],
                    "kernel_value": stream["kernel_draws_per_s"] / rng["draws_per_s"],
                }
        for mode in ("materialized", "stream", "rng"):
            one, two = _find(rows, mode, n, 1), _find(rows, mode, n, 2)
            if one and two:
                ratios[f"speedup_2t_{mode}_{_size(n)}"] = {"value": two["draws_per_s"] / one["draws_per_s"]}
    if numpy_rows:
        ratios["numpy_quantile_share"] = {"value": numpy_rows[0]["quantiles_s"] / numpy_rows[0]["total_s"]}

    def target(name: str, goal: str, key: str | None, limit: float, higher: bool, fmt: str, note: str = "") -> None:
        value = None if key is None else ratios.get(key, {}).get("value")
        passed = None if value is None else (value >= limit if higher else value <= limit)
        targets.append(
            {
                "target": name,
                "goal": goal,
                "measured": value,
                "measured_text": "not measured" if value is None else format(value, fmt),
                "passed": passed,
                "note": note,
            }
        )

    targets: list[dict[str, Any]] = []
    ratio = ratios.get(f"stream_2t_vs_numpy_{_size(large)}", {})
    numpy_draws = ratio.get("numpy_draws", large)
    note = "" if numpy_draws == large else f"numpy at {_size(numpy_draws)}; --full: same size"
    target(
        f"streaming {_size(large)}, 2 threads / numpy",
        f">= {TARGETS['stream_vs_numpy']:g}x",
        f"stream_2t_vs_numpy_{_size(large)}",
        TARGETS["stream_vs_numpy"],
        True,
        ".1f",
        note,
    )
    target(
        f"streaming {_size(large)} / raw RNG, 2 threads",
        f">= {100 * TARGETS['stream_vs_rng']:.0f}%",
        f"stream_vs_rng_2t_{_size(large)}",
        TARGETS["stream_vs_rng"],
        True,
        ".1%",
        "kernel only: {:.1%}".format(ratios.get(f"stream_vs_rng_2t_{_size(large)}", {}).get("kernel_value", math.nan)),
    )
    memory = record.get("memory") or {}
    runs = memory.get("runs", [])
    if runs:
        biggest = max(runs, key=lambda r: r["n_draws"])
        ratios["memory_above_baseline_mb_max"] = {"value": biggest["above_baseline_mb"], "n_draws": biggest["n_draws"]}
        target(
            f"streaming peak memory at {_size(biggest['n_draws'])} above imports [MB]",
            f"<= {TARGETS['memory_above_baseline_mb']:g} MB at 1e8",
            "memory_above_baseline_mb_max",
            TARGETS["memory_above_baseline_mb"],
            False,
            ".0f",
            "MB = 10^6 bytes" + ("" if biggest["n_draws"] >= 10**8 else "; not judged below 1e8: --full"),
        )
        if biggest["n_draws"] < 10**8:
            targets[-1]["passed"] = None
    else:
        target("streaming peak memory at 1e8 above imports", "<= 200 MB", None, 0, False, "")
    target(
        f"streaming {_size(large)}: 2 threads / 1 thread",
        f">= {TARGETS['thread_speedup']:g}x",
        f"speedup_2t_stream_{_size(large)}",
        TARGETS["thread_speedup"],
        True,
        ".2f",
    )
    cli = record.get("cli") or {}
    if "second_s" in cli and "error" not in cli:
        ratios["cli_second_call_s"] = {"value": cli["second_s"]}
    target(
        f"second `{cli.get('command', 'mcscale run')}` wall time [s]",
        f"< {TARGETS['cli_second_call_s']:g} s",
        "cli_second_call_s",
        TARGETS["cli_second_call_s"],
        False,
        ".2f",
        cli.get("error", ""),
    )
    return ratios, targets


# --------------------------------------------------------------------------- #
# Report                                                                       #
# --------------------------------------------------------------------------- #


def _label(row: dict[str, Any]) -> str:
    threads = f"{row['threads']} thread" + ("s" if row["threads"] > 1 else "")
    names = {"materialized": "mcscale materialized", "stream": "mcscale streaming", "numpy": "numpy_model"}
    name = names.get(row["mode"], f"raw RNG ({row.get('normals_per_draw', '?')} normals/draw)")
    return f"{name}, {threads}" if row["mode"] != "numpy" else f"{name} (plain numpy)"


def print_table(record: dict[str, Any], file: Any = None) -> None:
    """Print a record as readable tables.

    Parameters
    ----------
    record : dict
        What :func:`run_benchmark` returns.
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    """
    file = file or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=file)

    machine = record["machine"]
    memory = f", {machine['memory_gib']:.0f} GiB" if machine.get("memory_gib") else ""
    say(
        f"\nmcscale {record['mcscale_version']} bench on {record['scenario']} ({record['n_years']} years); "
        f"{machine['cpu_count']} CPUs, {machine['processor']}{memory}; best of {record['repeats']}"
    )
    load = machine.get("load_average")
    load_end = machine.get("load_average_end")
    loads = f"; load average {load[0]:.2f} at start" if load else ""
    loads += f", {load_end[0]:.2f} at end" if load_end else ""
    say(f"{record['created']}  `{record['command']}`{loads}\n")
    if load and load[0] >= machine["cpu_count"] / 2:
        say(
            f"WARNING: load average {load[0]:.2f} on {machine['cpu_count']} CPUs before the bench started: other "
            "work shares the CPUs, so the timings and the 2-thread ratio are unreliable. Rerun on a quiet machine.\n"
        )
    say("Throughput (whole call; kernel = sampling_seconds)")
    header = (
        f"  {'':42s}{'draws':>7s}{'time [s]':>10s}{'draws/s':>10s}{'draw-yr/s':>11s}"
        f"{'kernel draws/s':>16s}{'peak RSS':>13s}"
    )
    say(header)
    for row in record["throughput"]:
        kernel = f"{row['kernel_draws_per_s']:16.3g}" if "kernel_draws_per_s" in row else f"{'':16s}"
        say(
            f"  {_label(row):42s}{_size(row['n_draws']):>7s}{row['total_s']:10.3f}{row['draws_per_s']:10.3g}"
            f"{row['draw_years_per_s']:11.3g}{kernel}{row['peak_rss_mib']:9.0f} MiB"
        )
    for skipped in record["skipped"]:
        say(f"  {skipped['label']:42s}{_size(skipped['n_draws']):>7s}   skipped: {skipped['reason']}")
    numpy_rows = [r for r in record["throughput"] if r["mode"] == "numpy"]
    for row in numpy_rows:
        say(
            f"    numpy {_size(row['n_draws'])} split: sample {row['sample_s']:.2f} s, trajectories "
            f"{row['trajectories_s']:.2f} s, np.quantile {row['quantiles_s']:.2f} s"
        )

    say("\nWhere the time goes, per draw (1 thread, smallest size) [ns]")
    small = record["sizes"]["small"]
    for mode in ("rng", "stream", "materialized", "numpy"):
        row = _find(record["throughput"], mode, small, 1)
        if row is None:
            continue
        ns = 1e9 * row.get("kernel_s", row["total_s"]) / row["n_draws"]
        whole = 1e9 * row["total_s"] / row["n_draws"]
        text = f"  {_label(row):42s}{ns:9.0f}" + (f"   (whole call {whole:.0f})" if "kernel_s" in row else "")
        say(text)

    say("\nRatios")
    for key, value in record["ratios"].items():
        extra = f"   (kernel only {value['kernel_value']:.3g})" if "kernel_value" in value else ""
        extra += f"   (numpy at {_size(value['numpy_draws'])})" if "numpy_draws" in value else ""
        say(f"  {key:42s}{value['value']:10.3g}{extra}")

    memory = record.get("memory")
    if memory:
        say(
            f"\nStreaming peak memory, fresh subprocess each ({record['memory']['runs'][0]['threads']} threads); "
            f"baseline (import + {memory['baseline_draws']} draws): {memory['baseline_mib']:.0f} MiB"
        )
        for run in memory["runs"]:
            say(
                f"  {_size(run['n_draws']):>6s} draws   peak {run['peak_rss_mib']:7.0f} MiB   above baseline "
                f"{run['above_baseline_mib']:6.0f} MiB ({run['above_baseline_mb']:.0f} MB)   {run['seconds']:.1f} s"
            )
    compile_ = record.get("compile")
    if compile_:
        cold, warm = compile_["cold"], compile_["warm_cache"]
        say(f"\nJIT (fresh subprocess, first minus second run of {compile_['draws']} draws, both modes)")
        say(
            f"  empty cache: compile {compile_['compile_s']:6.2f} s   (import {cold['import_s']:.2f} s, "
            f"process {cold['process_wall_s']:.2f} s)"
        )
        say(
            f"  warm cache:  load    {compile_['cache_load_s']:6.2f} s   (import {warm['import_s']:.2f} s, "
            f"process {warm['process_wall_s']:.2f} s)"
        )
    cli = record.get("cli")
    if cli:
        if "error" in cli:
            say(f"\nCLI `{cli['command']}` failed: {cli['error']}")
        else:
            say(f"\nCLI `{cli['command']}`: first {cli['first_s']:.2f} s, second {cli['second_s']:.2f} s (wall)")
    sq = record["squigglepy"]
    if sq.get("status") == "ok":
        say(
            f"\nsquigglepy {sq['version']}: {sq['question']} at {_size(sq['n_draws'])} draws: {sq['seconds']:.2f} s "
            f"({sq['draws_per_s']:.3g} draws/s) = {sq['answer']:.4f}; mcscale streaming {sq['mcscale_seconds']:.2f} s "
            f"= {sq['mcscale_answer']:.4f} +- {sq['mcscale_mcse'] or 0:.4f} "
            f"(mcscale at {sq['mcscale_vs_squigglepy']:.2g}x squigglepy's speed)"
        )
    else:
        say(f"\nsquigglepy: {sq.get('status')}")

    say("\nTargets (issue 4)")
    for t in record["targets"]:
        status = {True: "PASS", False: "FAIL", None: "n/a"}[t["passed"]]
        note = f"   ({t['note']})" if t["note"] else ""
        say(f"  {status:5s}{t['target']:58s}{t['measured_text']:>12s}   goal {t['goal']}{note}")


# --------------------------------------------------------------------------- #
# Main                                                                         #
# --------------------------------------------------------------------------- #


def _git_commit() -> str | None:
    root = _repo_root()
    if root is None or shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _machine() -> dict[str, Any]:
    import numba

    processor = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2.0**30
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "platform": platform.platform(),
        "processor": processor,
        "cpu_count": os.cpu_count(),
        "memory_gib": memory,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


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
    import mcscale
    from mcscale.engine import materialized_bytes

    say = progress or (lambda _line: None)
    path = scenario_path()
    scenario = mcscale.load_scenario(path)
    n_years = scenario.n_years
    n_normals = normals_per_draw(scenario)
    small, large = config.draws, 10 * config.draws
    now = dt.datetime.now(dt.UTC)
    record: dict[str, Any] = {
        "benchmark": "mcscale bench",
        "created": now.isoformat(timespec="seconds"),
        "command": config.command,
        "mcscale_version": mcscale.__version__,
        "git_commit": _git_commit(),
        "scenario": path.name,
        "n_years": n_years,
        "normals_per_draw": n_normals,
        "repeats": config.repeats,
        "full": config.full,
        "sizes": {"small": small, "large": large},
        "machine": _machine(),
        "targets_goal": TARGETS,
    }

    if config.subprocesses:
        say("JIT: compile with an empty numba cache, then load it, in fresh subprocesses ...")
        record["compile"] = measure_compile(path)
    for mode in ("materialized", "stream"):  # compile or load the kernels in this process
        mcscale.run(scenario, n_draws=COMPILE_DRAWS, seed=0, threads=1, mode=mode)

    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for threads in config.threads:
        say(f"throughput: materialized {_size(small)}, {threads} thread(s) ...")
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
            say(f"throughput: streaming {_size(n)}, {threads} thread(s) ...")
            rows.append(measure_run(scenario, n, threads, "stream", config.repeats))
    say(f"baseline: numpy_model at {_size(small)} ...")
    rows.append(measure_numpy(scenario, small, config.repeats))
    numpy_bytes = NUMPY_MEMORY_FACTOR * materialized_bytes(scenario, large)
    available = _available_bytes()
    if not config.full:
        reason = f"needs about {numpy_bytes / 2**30:.0f} GiB; --full"
    elif available is not None and numpy_bytes > available:
        reason = f"needs about {numpy_bytes / 2**30:.0f} GiB, {available / 2**30:.0f} GiB available"
    else:
        reason = None
        say(f"baseline: numpy_model at {_size(large)} (about {numpy_bytes / 2**30:.0f} GiB) ...")
        rows.append(measure_numpy(scenario, large, config.repeats))
    if reason is not None:
        skipped.append({"label": "numpy_model (plain numpy)", "n_draws": large, "reason": reason})
    for n in (small, large):
        for threads in config.threads:
            say(f"baseline: raw RNG at {_size(n)}, {threads} thread(s) ...")
            row = measure_rng(n, n_normals, threads, config.repeats)
            row["normals_per_draw"] = n_normals
            rows.append(row)
    record["throughput"] = [_rates(row, n_years) for row in rows]
    record["skipped"] = skipped

    if config.squigglepy:
        say(f"baseline: squigglepy at {_size(small)} ...")
        record["squigglepy"] = measure_squigglepy(scenario, small, max(config.threads))
    else:
        record["squigglepy"] = {"status": "skipped"}

    if config.subprocesses:
        sizes = [small, large, 100 * config.draws] if config.full else [small, large]
        say(f"memory: streaming at {', '.join(_size(n) for n in sizes)} in fresh subprocesses ...")
        record["memory"] = measure_stream_memory(path, sizes, max(config.threads))
        say(f"CLI: two calls of `mcscale run {path.name} --draws {CLI_DRAWS}` ...")
        record["cli"] = measure_cli(path)
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
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``mcscale bench`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = argparse.ArgumentParser(prog="mcscale bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
