"""What the command modules share: user errors and exit codes, argument types, scenario loading, sampling.

Nothing heavy is imported at module level: the sampling stack is imported by the
functions that sample.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mcscale.echo import one_line, quote
from mcscale.numbers import NumberError, parse_count, parse_finite, parse_seed

if TYPE_CHECKING:
    from distributed import Client

    from mcscale.model.scenario import Scenario
    from mcscale.query import Query
    from mcscale.results.answer import Answer
    from mcscale.results.base import Result

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "FIGURE_SUFFIXES",
    "DRAWS_HELP",
    "INSTALL_DASK",
    "MIN_DRAWS",
    "MAX_COUNT",
    "Parser",
    "UsageError",
    "add_cluster_options",
    "add_sampling_options",
    "SEED_HELP",
    "check_output",
    "dpi",
    "draw_count",
    "load_checked_scenario",
    "non_negative_int",
    "positive_int",
    "count_answers",
    "run_scenario",
    "say_if_compiling",
    "with_cluster",
]

#: Exit code of success.
EXIT_OK = 0
#: Exit code of a command that did only part of its job (some questions not answered).
EXIT_PARTIAL = 1
#: Exit code of bad input: scenario, arguments, paths.
EXIT_USAGE = 2
#: Exit code of a run that could not finish: a dask cluster left without workers, say.
EXIT_FAILED = 1
#: How to install what --cluster, --scheduler and zarr outputs need.
INSTALL_DASK = "pip install 'mcscale[dask]'"
#: The extensions of figures (the format follows the extension).
FIGURE_SUFFIXES = (".png", ".svg")
#: Help of --draws and --seed, for every command that samples.
DRAWS_HELP = "number of draws, a whole number >= 2: 100000, 100_000 or 1e5 (default 100000)"
SEED_HELP = "root seed, a whole number in [0, 2^63) (default 0)"
#: Fewest --draws: one draw has no spread (MCSEs and intervals need more; see mcscale.stats.MIN_DRAWS_FOR_ERRORS).
MIN_DRAWS = 2
#: --dpi bounds: a double-width figure at 1200 dpi is 8400 pixels wide, about 200 MB to draw.
MIN_DPI, MAX_DPI = 10, 1200
#: Largest --memory-budget [bytes]: a pebibyte.
MAX_MEMORY = 2**50
#: Largest --draws (or other count) accepted: 10^11 draws stream in about a day here.
MAX_COUNT = 10**11


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")


def positive_int(text: str) -> int:
    """Parse a count such as ``1000``, ``1_000_000`` or ``1e6``, in [1, :data:`MAX_COUNT`] (an argparse type)."""
    return _argument(parse_count, text, 1, MAX_COUNT)


def draw_count(text: str) -> int:
    """Parse ``--draws``: a whole number in [:data:`MIN_DRAWS`, :data:`MAX_COUNT`]: ``1000``, ``1_000``, ``1e6``."""
    return _argument(parse_count, text, MIN_DRAWS, MAX_COUNT)


#: Most scramblings of a QMC run: each has at least one chunk, so beyond this the chunks, not the points, cost.
MAX_REPLICATES = 1024


def replicate_count(text: str) -> int:
    """Parse ``--replicates``: a whole number in [2, :data:`MAX_REPLICATES`] (an MCSE needs two scramblings)."""
    return _argument(parse_count, text, 2, MAX_REPLICATES)


def dpi(text: str) -> int:
    """Parse ``--dpi``: a whole number in [:data:`MIN_DPI`, :data:`MAX_DPI`] (a figure's pixels grow as its square)."""
    return _argument(parse_count, text, MIN_DPI, MAX_DPI)


def non_negative_int(text: str) -> int:
    """Parse a seed: a whole number in [0, 2^63) (an argparse type)."""
    return _argument(parse_seed, text)


def _argument(parse: Callable[..., int], text: str, *bounds: int) -> int:
    """Call a :mod:`mcscale.numbers` parser, its error as argparse's (which names the flag)."""
    try:
        return parse(text, *bounds)
    except NumberError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_checked_scenario(text: str) -> Scenario:
    """Load a scenario (a file or a bundled name) and check its written questions: errors come before sampling."""
    from mcscale.query import check_scenario_questions
    from mcscale.scenario_file import load_scenario, scenario_path

    scenario = load_scenario(scenario_path(text))
    check_scenario_questions(scenario)
    return scenario


def check_output(
    path: str | None, inputs: Sequence[str | Path | None] = (), suffixes: Sequence[str] | None = None
) -> Path | None:
    """Fail before sampling if the output cannot be written, or must not be.

    Parameters
    ----------
    path : str or None
        The output given; None for none.
    inputs : sequence of str, path or None
        What the command reads: files, or scenarios given by bundled name. An output that
        resolves to one of them is refused (see :func:`mcscale.fileio.output_conflict`).
    suffixes : sequence of str, optional
        The extensions the command writes (``.zarr`` is a directory: a zarr store).

    Returns
    -------
    pathlib.Path or None
    """
    from mcscale.fileio import output_conflict

    if path is None:
        return None
    out = Path(path)
    conflict = output_conflict(out, [_input_file(p) for p in inputs if p is not None])
    if conflict is not None:
        raise UsageError(f"{out}: {conflict}")
    parent = out.parent
    if not parent.is_dir():
        raise UsageError(f"{out}: directory {str(parent)!r} does not exist")
    if out.suffix.lower() == ".zarr":
        _check_store(out)
    elif out.is_dir():
        raise UsageError(f"{out}: is a directory")
    elif out.exists() and not out.is_file():
        raise UsageError(f"{out}: exists and is not a regular file; it would be replaced")
    conflict = output_conflict(out, suffixes=suffixes)
    if conflict is not None:
        raise UsageError(f"{out}: {conflict}")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{out}: directory {str(parent)!r} is not writable")
    return out


def _input_file(text: str | Path) -> Path:
    """Return the file an input names: itself, or a bundled scenario's file when it is a bundled name."""
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    from mcscale.scenario_file import bundled_scenarios

    return bundled_scenarios().get(str(text), path)


def _check_store(out: Path) -> None:
    """Fail unless a zarr store can be written at ``out`` (replacing only a zarr store)."""
    from mcscale.results.base import is_zarr_store

    if importlib.util.find_spec("zarr") is None:
        raise UsageError(f"{out}: writing a zarr store needs the zarr package: {INSTALL_DASK}")
    if out.exists() and not is_zarr_store(out):
        raise UsageError(f"{out}: exists and is not a zarr store; it would be replaced")


def _mode(args: argparse.Namespace, scenario: Scenario, n_draws: int) -> str:
    """Materialized or streaming: --stream, or the memory budget decides (and says so)."""
    from mcscale.sim.engine import materialized_bytes

    if args.stream:
        return "stream"
    needed = materialized_bytes(scenario, n_draws)
    if needed > args.memory_budget:
        print(
            f"mcscale: {n_draws} draws would need {needed / 2**30:.1f} GiB materialized, over the "
            f"--memory-budget of {args.memory_budget / 2**30:.1f} GiB: streaming instead",
            file=sys.stderr,
        )
        return "stream"
    return "materialized"


def run_scenario(
    args: argparse.Namespace,
    scenario: Scenario,
    n_draws: int,
    queries: Sequence[Query] = (),
    keep_lazy: bool = False,
    figures: bool = True,
) -> Result:
    """Sample ``scenario`` as the command-line options say; a streaming run counts ``queries``.

    A materialized run on a cluster is lazy: it is loaded here, in one pass, so that the
    command's answers do not sample it again each, unless ``keep_lazy`` (``run``, which
    prints the summary and may write zarr, both done on the cluster). Without
    ``figures``, a streaming run counts only what ``queries`` need
    (:func:`mcscale.query.stream_request`).
    """
    import numpy as np

    from mcscale.api import run
    from mcscale.query import stream_request
    from mcscale.results.finite import check_model_finite

    mode = _mode(args, scenario, n_draws)
    say_if_compiling(mode)
    request = stream_request(scenario, list(queries), figures)._asdict() if mode == "stream" else {}
    with np.errstate(all="ignore"):  # values that overflow are reported by check_model_finite, not as warnings
        result = run(
            scenario,
            n_draws=n_draws,
            seed=args.seed,
            threads=args.threads,
            mode=mode,
            **request,
            progress=_progress_bar(scenario.name),
            client=args.cluster_client() if hasattr(args, "cluster_client") else None,
        )
    result = result if keep_lazy else result.load()
    check_model_finite(result)  # before anything is printed or written
    return result


def count_answers(args: argparse.Namespace, scenario: Scenario, n_draws: int, queries: Sequence[Query]) -> list[Answer]:
    """Answer probability questions from counts alone (:func:`mcscale.api.count_probabilities`), on this machine."""
    from mcscale.api import count_probabilities

    say_if_compiling("stream")
    return count_probabilities(
        scenario, list(queries), n_draws, args.seed, threads=args.threads, progress=_progress_bar(scenario.name)
    )


def say_if_compiling(mode: str) -> None:
    """Say once, on stderr, that the kernels of ``mode`` compile now, and for about how long."""
    from mcscale.sim.engine import compile_seconds

    seconds = compile_seconds(mode)
    if seconds:
        note = f"compiling the kernels once for this install (about {seconds:.0f} s on 2 cores)"
        print(f"mcscale: {note}", file=sys.stderr)


def _progress_bar(label: str) -> Callable[[int, int], None] | None:
    """Return a progress-line callback for stderr (shown after a second), or None if stderr is no terminal."""
    if not sys.stderr.isatty():
        return None
    import time

    started = time.perf_counter()
    shown = [False]

    def update(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        if elapsed < 1.0 and not shown[0]:
            return
        shown[0] = True
        filled = round(30 * done / total)
        rate = done / elapsed if elapsed > 0 else 0.0
        end = "\n" if done >= total else ""
        print(
            f"\r{label}: [{'#' * filled}{' ' * (30 - filled)}] {done:,}/{total:,} draws, {rate:.2g} draws/s",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return update


def _memory(text: str) -> int:
    """Parse a size such as 4G, 500M or 2e9 [bytes], at most :data:`MAX_MEMORY`."""
    match = re.fullmatch(r"\s*([0-9._]+(?:[eE][0-9]+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", text)
    try:
        value = parse_finite(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " ") if match else None
    except NumberError:
        value = math.inf
    if value is None:
        raise argparse.ArgumentTypeError(f"must be a size such as 4G or 500M, got {quote(text)}")
    if not 0 < value <= MAX_MEMORY:
        raise argparse.ArgumentTypeError(f"must be positive and at most 1P ({MAX_MEMORY:.3g} bytes), got {quote(text)}")
    return int(value)


def add_sampling_options(parser: argparse.ArgumentParser, draws_default: int | None = 100_000) -> None:
    """Add --draws, --seed, --threads, --stream and --memory-budget, shared by every sampling command."""
    parser.add_argument("--draws", type=draw_count, default=draws_default, help=DRAWS_HELP)
    parser.add_argument("--seed", type=non_negative_int, default=None if draws_default is None else 0, help=SEED_HELP)
    parser.add_argument("--threads", type=positive_int, default=None, help="worker threads (default: all cores)")
    parser.add_argument(
        "--stream", action="store_true", help="keep only accumulators: memory independent of the number of draws"
    )
    parser.add_argument(
        "--memory-budget",
        type=_memory,
        default="4G",
        help="stream when materialized arrays would exceed this (default 4G)",
    )


def _local_workers(text: str) -> int:
    """Parse ``local:N``, the worker processes of a local dask cluster (an argparse type)."""
    kind, _, count = text.partition(":")
    if kind != "local" or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"must be local:N with N worker processes, e.g. local:4, got {text!r}")
    return int(count)


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """Add --cluster local:N and --scheduler ADDRESS, one or the other (wrap the handler in :func:`with_cluster`)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--cluster",
        type=_local_workers,
        default=None,
        metavar="local:N",
        help=f"run on a dask LocalCluster of N worker processes on 127.0.0.1 (needs {INSTALL_DASK})",
    )
    group.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786",
    )


def with_cluster(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``handler`` with the dask cluster that --cluster or --scheduler names, as ``args.cluster_client()``.

    The cluster is started (or reached) when the command first samples, after its input
    is checked, and closed when the command ends. A run the cluster cannot finish prints
    one line and exits :data:`EXIT_FAILED`, having written nothing.
    """

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        if args.cluster is None and args.scheduler is None:
            return handler(args)
        try:
            from mcscale.sim import dask_executor
        except ImportError as exc:
            flag = "--cluster" if args.cluster is not None else "--scheduler"
            raise UsageError(f"{flag} needs dask.distributed ({exc.name or exc} is missing): {INSTALL_DASK}") from None
        with contextlib.ExitStack() as stack:
            clients: list[Client] = []

            def cluster_client() -> Client:
                if not clients:
                    connection = dask_executor.connect(local_workers=args.cluster, address=args.scheduler)
                    clients.append(stack.enter_context(connection))
                return clients[0]

            args.cluster_client = cluster_client
            try:
                return handler(args)
            except dask_executor.ClusterError as exc:
                print(f"mcscale: error: {exc}", file=sys.stderr)
                return EXIT_FAILED

    return run
