"""Probes of memory and of fresh interpreters: peak RSS, JIT compile and cache-load time, a second CLI call.

Each subprocess probe runs a short program in a new interpreter (``sys.executable``)
and reads one JSON line from its stdout.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CLI_DRAWS",
    "COMPILE_DRAWS",
    "available_bytes",
    "measure_cli",
    "measure_compile",
    "measure_stream_memory",
    "peak_rss_mib",
    "reset_peak_rss",
]

#: Draws of the small runs in the JIT and memory-baseline subprocesses.
COMPILE_DRAWS = 1000
#: Draws of the timed second CLI call.
CLI_DRAWS = 100_000

_MIB = 2.0**20

# Fresh interpreter: import, then first and second runs of each mode; one JSON line.
_COMPILE_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from mcscale.api import run
from mcscale.scenario_file import load_scenario
t1 = time.perf_counter()
scenario = load_scenario(sys.argv[1])
n = int(sys.argv[2])
out = {"import_s": t1 - t0}
for mode in ("materialized", "stream"):
    for which in ("first", "second"):
        started = time.perf_counter()
        run(scenario, n_draws=n, seed=0, threads=1, mode=mode)
        out[f"{mode}_{which}_s"] = time.perf_counter() - started
print(json.dumps(out))
"""

# Fresh interpreter: one streaming run; prints its own peak RSS as one JSON line.
_MEMORY_PROBE = """
import json, sys, time
from mcscale.api import run
from mcscale.bench.probes import peak_rss_mib
started = time.perf_counter()
result = run(sys.argv[1], n_draws=int(sys.argv[2]), seed=0, threads=int(sys.argv[3]), mode="stream")
seconds = time.perf_counter() - started
print(json.dumps({"n_draws": result.n_draws, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}))
"""


def _maxrss_mib(ru_maxrss: int) -> float:
    """Convert ``ru_maxrss`` (KiB on Linux, bytes on macOS) to [MiB]."""
    return ru_maxrss / _MIB if sys.platform == "darwin" else ru_maxrss / 1024.0


def available_bytes() -> int | None:
    """Return the memory available to new allocations (Linux ``MemAvailable``) [bytes], or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux ``clear_refs``); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
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


#: The cheap commands and the warm query that ``mcscale bench`` times against a bare interpreter.
STARTUP_COMMANDS = {
    "version": ["--version"],
    "scenarios": ["scenarios"],
    "estimate": ["estimate", "flop", "--chips", "8", "--peak-flops", "1e14", "--days", "5", "--utilization", "0.33"],
    "query": ["query", "baseline", "P(effective_flop >= 1000 x GPT-4 by 2030)", "--draws", str(CLI_DRAWS)],
}


def _wall(command: list[str], repeats: int) -> tuple[float, str]:
    """Best wall time of ``repeats`` runs of a command [s], and its error text if it failed."""
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            return best, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    return best, ""


def measure_startup(repeats: int = 3) -> dict[str, Any]:
    """Wall time of the cheap commands and a warm ``query`` next to a bare ``python -c pass`` [s].

    Each is the best of ``repeats`` calls, after one untimed call (so the query finds its
    kernels compiled and the files in the page cache).

    Returns
    -------
    dict
        ``python_s`` and, per command of :data:`STARTUP_COMMANDS`, ``{"command", "wall_s"}``
        (and ``error`` when a call failed).
    """
    out: dict[str, Any] = {"python_s": _wall([sys.executable, "-c", "pass"], repeats)[0]}
    for name, args in STARTUP_COMMANDS.items():
        command = [*_cli_command(), *args]
        _wall(command, 1)
        wall, error = _wall(command, repeats)
        out[name] = {"command": "mcscale " + " ".join(args), "wall_s": wall, **({"error": error} if error else {})}
    return out


def measure_stream_memory(scenario_file: Path, sizes: list[int], threads: int) -> dict[str, Any]:
    """Peak RSS of streaming runs, each in a fresh subprocess, above an imports-only baseline.

    The baseline subprocess imports mcscale and runs ``COMPILE_DRAWS`` streaming draws
    (interpreter, imports and loaded kernels). Each subprocess reports its own peak
    (:func:`peak_rss_mib`).

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
