"""The record of a benchmark: machine and checkout, ratios and targets, the printed table.

:func:`derive` turns the measurements into ratios and judges the :data:`TARGETS`;
:func:`print_table` prints a record for people; the record itself is JSON.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata, resources
from pathlib import Path
from typing import Any

__all__ = [
    "TARGETS",
    "default_json_path",
    "derive",
    "format_draws",
    "git_commit",
    "cpu_label",
    "machine_info",
    "print_table",
    "scenario_path",
]

#: The targets: streaming (2 threads) / numpy [x], streaming / the raw RNG rate [fraction],
#: streaming peak memory above the imports at 1e8 draws [MB = 10^6 bytes], 2-thread / 1-thread
#: speedup [x], wall time of a second CLI call [s].
TARGETS = {
    "stream_vs_numpy": 15.0,
    "stream_vs_rng": 0.40,
    "memory_above_baseline_mb": 200.0,
    "thread_speedup": 1.7,
    "cli_second_call_s": 3.0,
    "version_s": 0.3,
    "warm_query_s": 1.5,
}


def _repo_root() -> Path | None:
    """Return the source checkout this module runs from (src layout), or None when installed."""
    root = Path(__file__).resolve().parents[3]
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


def format_draws(n: float) -> str:
    """Return a draw count as ``1e6``, ``2e4`` or ``2.5e5``."""
    exponent = int(math.floor(math.log10(n)))
    mantissa = n / 10**exponent
    return f"{mantissa:.3g}e{exponent}"


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
            ratios[f"stream_2t_vs_numpy_{format_draws(n)}"] = {
                "value": stream2["draws_per_s"] / numpy_row["draws_per_s"],
                "numpy_draws": numpy_row["n_draws"],
            }
        for threads in (1, 2):
            stream, rng = _find(rows, "stream", n, threads), _find(rows, "rng", n, threads)
            if stream and rng:
                ratios[f"stream_vs_rng_{threads}t_{format_draws(n)}"] = {
                    "value": stream["draws_per_s"] / rng["draws_per_s"],
                    "kernel_value": stream["kernel_draws_per_s"] / rng["draws_per_s"],
                }
        for mode in ("materialized", "stream", "rng"):
            one, two = _find(rows, mode, n, 1), _find(rows, mode, n, 2)
            if one and two:
                ratios[f"speedup_2t_{mode}_{format_draws(n)}"] = {"value": two["draws_per_s"] / one["draws_per_s"]}
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
    ratio = ratios.get(f"stream_2t_vs_numpy_{format_draws(large)}", {})
    numpy_draws = ratio.get("numpy_draws", large)
    note = "" if numpy_draws == large else f"numpy at {format_draws(numpy_draws)}; --full: same size"
    target(
        f"streaming {format_draws(large)}, 2 threads / numpy",
        f">= {TARGETS['stream_vs_numpy']:g}x",
        f"stream_2t_vs_numpy_{format_draws(large)}",
        TARGETS["stream_vs_numpy"],
        True,
        ".1f",
        note,
    )
    target(
        f"streaming {format_draws(large)} / raw RNG, 2 threads",
        f">= {100 * TARGETS['stream_vs_rng']:.0f}%",
        f"stream_vs_rng_2t_{format_draws(large)}",
        TARGETS["stream_vs_rng"],
        True,
        ".1%",
        "kernel only: {:.1%}".format(
            ratios.get(f"stream_vs_rng_2t_{format_draws(large)}", {}).get("kernel_value", math.nan)
        ),
    )
    memory = record.get("memory") or {}
    runs = memory.get("runs", [])
    if runs:
        biggest = max(runs, key=lambda r: r["n_draws"])
        ratios["memory_above_baseline_mb_max"] = {"value": biggest["above_baseline_mb"], "n_draws": biggest["n_draws"]}
        target(
            f"streaming peak memory at {format_draws(biggest['n_draws'])} above imports [MB]",
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
        f"streaming {format_draws(large)}: 2 threads / 1 thread",
        f">= {TARGETS['thread_speedup']:g}x",
        f"speedup_2t_stream_{format_draws(large)}",
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
    startup = record.get("startup") or {}
    for key, name, limit in (("version", "`mcscale --version`", "version_s"), ("query", "warm query", "warm_query_s")):
        entry = startup.get(key) or {}
        if "wall_s" in entry and "error" not in entry:
            ratios[limit] = {"value": entry["wall_s"]}
        target(
            f"{name} wall time [s]",
            f"< {TARGETS[limit]:g} s",
            limit,
            TARGETS[limit],
            False,
            ".2f",
            entry.get("error", ""),
        )
    return ratios, targets


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
        f"{machine['cpu_count']} CPUs, {cpu_label(machine)}{memory}; best of {record['repeats']}"
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
            f"  {_label(row):42s}{format_draws(row['n_draws']):>7s}{row['total_s']:10.3f}{row['draws_per_s']:10.3g}"
            f"{row['draw_years_per_s']:11.3g}{kernel}{row['peak_rss_mib']:9.0f} MiB"
        )
    for skipped in record["skipped"]:
        say(f"  {skipped['label']:42s}{format_draws(skipped['n_draws']):>7s}   skipped: {skipped['reason']}")
    numpy_rows = [r for r in record["throughput"] if r["mode"] == "numpy"]
    for row in numpy_rows:
        say(
            f"    numpy {format_draws(row['n_draws'])} split: sample {row['sample_s']:.2f} s, trajectories "
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
        extra += f"   (numpy at {format_draws(value['numpy_draws'])})" if "numpy_draws" in value else ""
        say(f"  {key:42s}{value['value']:10.3g}{extra}")

    memory = record.get("memory")
    if memory:
        say(
            f"\nStreaming peak memory, fresh subprocess each ({record['memory']['runs'][0]['threads']} threads); "
            f"baseline (import + {memory['baseline_draws']} draws): {memory['baseline_mib']:.0f} MiB"
        )
        for run in memory["runs"]:
            say(
                f"  {format_draws(run['n_draws']):>6s} draws   peak {run['peak_rss_mib']:7.0f} MiB   above baseline "
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
    startup = record.get("startup")
    if startup:
        say(f"\nStart-up, wall time, best of 3 (bare `python -c pass`: {startup['python_s']:.2f} s):")
        for key, entry in startup.items():
            if key != "python_s":
                say(
                    f"  {entry['wall_s']:6.2f} s  {entry['command']}"
                    + (f"  FAILED {entry['error']}" if "error" in entry else "")
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
            f"\nsquigglepy {sq['version']}: {sq['question']} at {format_draws(sq['n_draws'])} draws: "
            f"{sq['seconds']:.2f} s "
            f"({sq['draws_per_s']:.3g} draws/s) = {sq['answer']:.4f}; mcscale streaming {sq['mcscale_seconds']:.2f} s "
            f"= {sq['mcscale_answer']:.4f} +- {sq['mcscale_mcse'] or 0:.4f} "
            f"(mcscale at {sq['mcscale_vs_squigglepy']:.2g}x squigglepy's speed)"
        )
    else:
        say(f"\nsquigglepy: {sq.get('status')}")

    say("\nTargets")
    for t in record["targets"]:
        status = {True: "PASS", False: "FAIL", None: "n/a"}[t["passed"]]
        note = f"   ({t['note']})" if t["note"] else ""
        say(f"  {status:5s}{t['target']:58s}{t['measured_text']:>12s}   goal {t['goal']}{note}")


def git_commit() -> str | None:
    """Return the commit of the source checkout this runs from, or None (installed, or no git)."""
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


#: The vector extensions a kernel's speed depends on, as /proc/cpuinfo names them.
VECTOR_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "amx_tile")


def _cpuinfo() -> dict[str, str]:
    """Return the first processor's fields of /proc/cpuinfo (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_label(machine: dict[str, Any]) -> str:
    """Name a machine's CPU as a timing needs it: ``Intel(R) Xeon(R) Processor (family 6 model 167), AVX-512``."""
    extensions = machine.get("vector_extensions") or []
    width = "AVX-512" if "avx512f" in extensions else "AVX2 (no AVX-512)" if "avx2" in extensions else "no AVX2"
    where = f" (family {machine['cpu_family']} model {machine['cpu_model']})" if machine.get("cpu_family") else ""
    return f"{machine.get('processor') or 'unknown CPU'}{where}, {width}"


def machine_info() -> dict[str, Any]:
    """Return the platform, CPU (name, family, model, vector extensions), memory [GiB], load and versions."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    memory = None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2.0**30
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "platform": platform.platform(),
        "processor": cpu.get("model name") or platform.processor() or "",
        "cpu_family": cpu.get("cpu family"),
        "cpu_model": cpu.get("model"),
        "vector_extensions": [name for name in VECTOR_EXTENSIONS if name in flags],
        "cpu_count": os.cpu_count(),
        "memory_gib": memory,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": metadata.version("numpy"),
        "numba": metadata.version("numba"),
    }
