"""In-process measurements: ``mcscale.run`` in both modes, the plain-numpy model, the raw RNG, squigglepy.

Each returns one row of the record's ``throughput`` (or its ``squigglepy`` entry), with
the phase's peak RSS.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from mcscale.bench.probes import peak_rss_mib, reset_peak_rss

__all__ = [
    "QUESTION_MULTIPLE",
    "QUESTION_YEAR",
    "measure_numpy",
    "measure_rng",
    "measure_run",
    "measure_squigglepy",
    "normals_per_draw",
]

#: Year of the question the squigglepy baseline answers.
QUESTION_YEAR = 2030
#: Multiple of the scenario's reference run in that question.
QUESTION_MULTIPLE = 1000.0


class _Phase:
    """Context manager storing a phase's peak RSS [MiB] in ``row["peak_rss_mib"]``.

    Where the high-water mark cannot be reset (not Linux), it is the process peak so far.
    """

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __enter__(self) -> _Phase:
        gc.collect()
        reset_peak_rss()
        return self

    def __exit__(self, *exc: object) -> None:
        self.row["peak_rss_mib"] = peak_rss_mib()


def _best_of(repeats: int, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Call ``fn`` ``repeats`` times; return the call with the smallest ``total_s``, plus every ``total_s``."""
    calls = [fn() for _ in range(repeats)]
    best = dict(min(calls, key=lambda c: c["total_s"]))
    best["all_total_s"] = [c["total_s"] for c in calls]
    return best


def normals_per_draw(scenario: Any) -> int:
    """Return how many standard normals one draw of a scenario uses (one per sampled prior)."""
    return sum(spec.dist not in ("fixed", "lookup") for spec in scenario.all_priors().values())


def measure_run(scenario: Any, n_draws: int, threads: int, mode: str, repeats: int) -> dict[str, Any]:
    """Time ``mcscale.run`` (warm), best of ``repeats``.

    Returns
    -------
    dict
        ``total_s`` (the whole call) and ``kernel_s`` (``sampling_seconds``) of the
        fastest call [s], ``all_total_s`` [s], ``n_draws`` (as run) and ``peak_rss_mib``.
    """
    from mcscale.api import run

    def once() -> dict[str, Any]:
        started = time.perf_counter()
        result = run(scenario, n_draws=n_draws, seed=0, threads=threads, mode=mode)
        total = time.perf_counter() - started
        out = {"total_s": total, "kernel_s": float(result.attrs["sampling_seconds"]), "n_draws": result.n_draws}
        del result
        gc.collect()  # a DataTree holds reference cycles: free it now, not at the next GC pass
        return out

    row: dict[str, Any] = {"engine": "mcscale", "mode": mode, "threads": threads}
    with _Phase(row):
        row.update(_best_of(repeats, once))
    return row


def measure_numpy(scenario: Any, n_draws: int, repeats: int) -> dict[str, Any]:
    """Time :func:`mcscale.testing.numpy_model.numpy_run`, best of ``repeats``, with its split [s]."""
    from mcscale.testing.numpy_model import numpy_run

    def once() -> dict[str, Any]:
        seconds = numpy_run(scenario, n_draws, seed=0).seconds
        gc.collect()
        return {f"{k}_s": v for k, v in seconds.items()}

    row: dict[str, Any] = {"engine": "numpy", "mode": "numpy", "threads": 1, "n_draws": n_draws}
    with _Phase(row):
        row.update(_best_of(repeats, once))
    return row


def measure_rng(n_draws: int, n_normals: int, threads: int, repeats: int) -> dict[str, Any]:
    """Time :func:`mcscale.sim.kernels.sampling.sample_normals` over the engine's chunks and chunk generators.

    With ``threads > 1`` the chunks run on a thread pool (the kernel releases the GIL).
    """
    from mcscale.sim.chunks import chunk_generator, chunk_layout
    from mcscale.sim.kernels.sampling import sample_normals

    layout = chunk_layout(n_draws)
    sample_normals(chunk_generator(0, 0), 10, n_normals)  # compile or load

    def chunk(k: int) -> float:
        return sample_normals(chunk_generator(0, k), layout.chunk_length, n_normals)

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
    the trajectory arithmetic is :func:`mcscale.testing.numpy_model.numpy_trajectories` on the
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
    from mcscale.api import run
    from mcscale.query import ask
    from mcscale.testing.numpy_model import numpy_trajectories, year_grid

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
    result = run(scenario, n_draws=n_draws, seed=0, threads=threads, mode="stream")
    answer = ask(result, question)
    out["mcscale_seconds"] = time.perf_counter() - started
    out["mcscale_answer"] = answer.value
    out["mcscale_mcse"] = answer.mcse
    out["mcscale_vs_squigglepy"] = out["seconds"] / out["mcscale_seconds"]
    return out
