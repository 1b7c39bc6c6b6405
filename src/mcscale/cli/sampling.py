"""``mcscale run``, ``mcscale query`` and ``mcscale scenarios``: sample a scenario, answer questions, list scenarios."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcscale.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_cluster_options,
    add_sampling_options,
    check_output,
    count_answers,
    load_checked_scenario,
    positive_int,
    replicate_count,
    run_scenario,
    with_cluster,
)
from mcscale.units import BUILTIN_REFERENCES, METRICS

#: The extensions ``run -o`` writes: netCDF files, or a zarr store (a directory).
RESULT_SUFFIXES = (".nc", ".nc4", ".zarr")

if TYPE_CHECKING:
    from mcscale.model.scenario import Scenario
    from mcscale.query import Query
    from mcscale.results.answer import Answer
    from mcscale.results.base import Result

__all__ = ["QUESTION_GRAMMAR", "add_query_parser", "add_run_parser", "add_scenarios_parser"]

#: The question language, as ``mcscale query --help`` prints it.
QUESTION_GRAMMAR = f"""\
questions (keywords are case-insensitive):
  P(METRIC >= THRESHOLD by YEAR)       probability, at some grid year up to YEAR
  P(METRIC <= THRESHOLD in YEAR)       ... in that grid year; > and < read as >= and <=
  year METRIC >= THRESHOLD             first crossing year: quantiles and P(never)
  median year METRIC >= THRESHOLD      the same
  quantiles METRIC in YEAR             5/25/50/75/95% with MCSE
  interval METRIC in YEAR [eti|hdi] [PROB]   credible interval (default eti 0.9)
  cost of THRESHOLD in YEAR            USD for a run of THRESHOLD FLOP

  METRIC     {", ".join(METRICS)}
  THRESHOLD  a number in the metric's unit (1e28; for spend and cap $10B, 500M, $1T),
             K x REF with REF = {", ".join(BUILTIN_REFERENCES)} or the scenario's [reference],
             or requirement (the scenario's [milestone] requirement, draw by draw)

exit codes: 0 every question answered, 1 some not answered (each says why),
            2 bad input (scenario, question syntax, options)"""


def _summary_years(years: Sequence[float], max_rows: int = 7) -> list[float]:
    """Pick round grid years (multiples of 5, else 10), always with the first and last."""
    for spacing in (5, 10, 20):
        round_years = [y for y in years[1:-1] if float(y) % spacing == 0]
        if len(round_years) + 2 <= max_rows:
            break
    return [years[0], *round_years, years[-1]]


def _print_summary(result: Result) -> None:
    """Print median and 90% interval of effective FLOP, physical FLOP and spend."""
    import numpy as np

    from mcscale.units import format_value

    summary = result.summary
    scenario = result.scenario
    print(f"{scenario.name}: {scenario.description}")
    seconds = "sampled on the cluster" if result.is_lazy else f"{result.attrs['sampling_seconds']:.2f} s sampling"
    print(f"{result.n_draws} draws, seed {result.seed}, {seconds}")
    print("median [90% interval]")
    columns = (("effective_flop", "FLOP"), ("physical_flop", "FLOP"), ("spend", "USD"))
    header = f"{'year':>7}  " + "  ".join(f"{name:<32}" for name, _ in columns)
    print(header.rstrip())
    years = list(result.years)
    for year in _summary_years(years):
        cells = []
        for name, unit in columns:
            stored = summary[name]  # by position: xarray's label lookup would import dask (0.5 s)
            q = 10.0 ** np.take(stored.values, years.index(year), axis=stored.dims.index("year"))
            cells.append(f"{format_value(q[2], unit)} [{format_value(q[0], unit)}, {format_value(q[4], unit)}]")
        print(f"{year:>7g}  " + "  ".join(f"{c:<32}" for c in cells).rstrip())


def _cmd_run(args: argparse.Namespace) -> int:
    output = check_output(args.output, [args.scenario], RESULT_SUFFIXES)
    scenario = load_checked_scenario(args.scenario)
    result = run_scenario(args, scenario, args.draws, keep_lazy=True)
    _print_summary(result)
    if output is not None:
        if output.suffix.lower() == ".zarr":
            result.to_zarr(output)
        else:
            result.to_netcdf(output)
        print(f"wrote {output}")
    return EXIT_OK


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 0.5), got {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 0.5), got {text!r}")
    return value


def _answer_each(result: Result, queries: list[Query]) -> list[Answer | str]:
    """Answer every query that can be answered; for the others, the reason why not."""
    from mcscale.model.thresholds import QueryError
    from mcscale.query import answer

    out: list[Answer | str] = []
    for query in queries:
        try:
            out.append(answer(result, query))
        except QueryError as exc:
            out.append(str(exc))
    return out


def _answer_estimated(
    scenario: Scenario,
    queries: list[Query],
    n_draws: int,
    args: argparse.Namespace,
    replicates: int | None,
    reuse: dict,
) -> list[Answer | str]:
    """Answer by ``--sampler qmc`` and/or ``--variance-reduction``: probabilities only.

    With QMC alone, every other question gets the reason it is not answered; with a
    variance reduction, one is a usage error, as is a method that cannot apply.
    """
    from mcscale.api import estimate_probabilities
    from mcscale.model.thresholds import QueryError

    reduced = args.variance_reduction != "none"
    option = f"--variance-reduction {args.variance_reduction}" if reduced else "--sampler qmc"
    if args.cluster is not None or args.scheduler is not None:
        raise UsageError(f"{option} runs on this machine only, not on a dask cluster: drop --cluster/--scheduler")
    if reduced and any(q.kind != "probability" for q in queries):
        raise UsageError(f"{option} answers probability questions only")
    asked = [q for q in queries if q.kind == "probability"]
    method = args.variance_reduction if reduced else None
    try:
        answers = iter(
            estimate_probabilities(
                scenario, asked, n_draws, args.seed, args.sampler, method, replicates, args.threads, reuse
            )
            if asked
            else []
        )
    except (QueryError, ValueError) as exc:  # a method that cannot apply; past scipy's Sobol dimensions or points
        raise UsageError(str(exc)) from None
    declined = "--sampler qmc answers probability questions only; ask this one with --sampler mc"
    return [next(answers) if q.kind == "probability" else declined for q in queries]


def _countable(queries: list[Query], args: argparse.Namespace) -> bool:
    """Whether the answers can come from counts alone: probabilities, sampled on this machine."""
    local = args.cluster is None and args.scheduler is None
    return local and all(query.kind == "probability" for query in queries)


#: Draws --precision stops at unless --max-draws says otherwise.
DEFAULT_MAX_DRAWS = 2_000_000


def _precision_loop(
    scenario: Scenario, queries: list[Query], args: argparse.Namespace
) -> tuple[list[Answer | str], str | None]:
    """Run, answer, and draw more until every answer's MCSE is below the target (or the cap)."""
    n_draws, replicates = args.draws, args.replicates
    reuse: dict = {}  # chunks of earlier steps: a QMC step computes only the points it adds
    while True:
        if args.variance_reduction != "none" or args.sampler == "qmc":
            answers = _answer_estimated(scenario, queries, n_draws, args, replicates, reuse)
            n_done = max((a.n_draws for a in answers if not isinstance(a, str)), default=n_draws)
        elif _countable(queries, args):
            answers = count_answers(args, scenario, n_draws, queries)
            n_done = answers[0].n_draws
        else:
            result = run_scenario(args, scenario, n_draws, queries, figures=False)
            answers, n_done = _answer_each(result, queries), result.n_draws
        answered = [a for a in answers if not isinstance(a, str)]
        if args.precision is None or not answered:
            return answers, None
        worst = max(a.probability_mcse() for a in answered)
        if worst <= args.precision:
            return (
                answers,
                f"precision {args.precision:g} reached with {n_done} draws (largest MCSE {worst:.2g})",
            )
        # MCSE falls as 1/sqrt(n): aim 5% past the draws the worst answer needs.
        growth = (worst / args.precision) ** 2 * 1.05
        if args.sampler == "qmc":
            from mcscale.sim.qmc import next_size

            replicates = answered[0].details["replicates"]
            points, replicates = next_size(n_done // replicates, replicates, growth, args.max_draws)
            n_next = points * replicates
        else:
            n_next = min(args.max_draws, math.ceil(n_done * growth))
        if n_done >= args.max_draws or n_next <= n_done:
            return answers, (
                f"precision {args.precision:g} NOT reached: stopped at the cap of {args.max_draws} draws "
                f"(largest MCSE {worst:.2g}; raise --max-draws)"
            )
        n_draws = n_next


def _cmd_query(args: argparse.Namespace) -> int:
    import json

    from mcscale.model.thresholds import QueryError
    from mcscale.query import check_query, parse_question, scenario_queries, scenario_references

    positional = list(args.args)
    if args.max_draws_given and args.precision is None:
        raise UsageError("--max-draws caps the draws of --precision: add --precision, or drop --max-draws")
    if args.replicates is not None and args.sampler != "qmc":
        raise UsageError("--replicates are the scramblings of --sampler qmc: add --sampler qmc, or drop --replicates")
    if args.from_file is not None:
        if args.sampler != "mc" or args.variance_reduction != "none":
            raise UsageError("--sampler and --variance-reduction choose how to sample: --from answers a saved run")
        for flag in ("draws", "seed", "precision"):
            if getattr(args, f"{flag}_given"):
                raise UsageError(f"--{flag} cannot be used with --from: the saved run is answered as it is")
        path = Path(args.from_file)
        if not path.exists():
            raise UsageError(f"{path}: no such file or zarr store")
        from mcscale.results.io import open_result  # xarray: only a saved run waits for it

        result = open_result(path)
        scenario = result.scenario
    else:
        if not positional:
            raise UsageError("query needs a scenario file (or --from RESULTS.nc)")
        scenario = load_checked_scenario(positional.pop(0))
        result = None
    references = scenario_references(scenario)
    queries = [parse_question(text, references) for text in positional] or scenario_queries(scenario)
    if not queries:
        raise UsageError(f"{scenario.source}: no questions given and the scenario has no [[questions]]")
    refused: dict[int, str] = {}  # questions that cannot be asked of this scenario, by position
    for i, query in enumerate(queries):
        try:
            check_query(query, scenario)
        except QueryError as exc:
            refused[i] = str(exc)
    askable = [q for i, q in enumerate(queries) if i not in refused]
    answers: list[Answer | str] = []
    note = None
    if askable:
        if result is not None:
            answers = _answer_each(result, askable)
        else:
            answers, note = _precision_loop(scenario, askable, args)
    replies = iter(answers)
    unanswered = 0
    for i, query in enumerate(queries):
        item = refused[i] if i in refused else next(replies)
        if isinstance(item, str):
            unanswered += 1
            reason = item.removeprefix(f"{query.text}: ")
            print(
                json.dumps({"question": query.text, "error": reason})
                if args.json
                else f"{query.text}: not answered: {reason}"
            )
        else:
            print(json.dumps(item.to_dict()) if args.json else str(item))
    if note is not None:
        print(f"mcscale: {note}", file=sys.stderr)
    if unanswered:
        print(f"mcscale: {unanswered} of {len(queries)} questions not answered (exit code 1)", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _cmd_compile(args: argparse.Namespace) -> int:
    import time

    from mcscale.api import estimate_probabilities, qmc_probabilities, run
    from mcscale.query import parse_question
    from mcscale.scenario_file import bundled_scenarios, load_scenario
    from mcscale.sim.engine import compile_seconds

    pending = compile_seconds("stream")  # the kernels of both modes (and QMC's and the reductions' with them)
    if pending:
        print("mcscale: compiling every kernel once for this install (about a minute on 2 cores)", file=sys.stderr)
    started = time.perf_counter()
    scenario = load_scenario(bundled_scenarios()["baseline"])
    for mode in ("materialized", "stream"):
        run(scenario, 1000, mode=mode, threads=1)
    question = [parse_question("P(physical_flop >= 1e26 by 2030)")]
    qmc_probabilities(scenario, question, 1000, replicates=2, threads=1)
    estimate_probabilities(scenario, question, 1000, sampler="qmc", variance_reduction="conditional", threads=1)
    seconds = time.perf_counter() - started
    done = "compiled" if pending else "were already compiled (numba's on-disk cache): loaded"
    print(f"mcscale: the kernels {done} in {seconds:.1f} s")
    return EXIT_OK


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from mcscale.scenario_file import bundled_scenarios, load_scenario

    for name, path in bundled_scenarios().items():
        scenario = load_scenario(path)
        print(f"{name:<10} {scenario.start:g}-{scenario.end:g}  {scenario.description}")
    return EXIT_OK


def add_compile_parser(commands: Any) -> None:
    """Register ``mcscale compile``."""
    compile_ = commands.add_parser(
        "compile",
        help="compile the sampling kernels now (once per install; make does it), so that the first run starts at once",
        description="Compile every numba kernel into numba's on-disk cache: about 15-40 s once per install "
        "(the first run would otherwise spend it); later commands load them in well under a second. "
        "`make demo` and `make test` run it after installing.",
    )
    compile_.set_defaults(handler=_cmd_compile)


def add_run_parser(commands: Any) -> None:
    """Register ``mcscale run``."""
    run = commands.add_parser("run", help="sample a scenario and print a summary")
    run.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    add_sampling_options(run)
    add_cluster_options(run)
    run.add_argument(
        "--output", "-o", default=None, help="write the result to this netCDF file (.nc) or zarr store (.zarr)"
    )
    run.set_defaults(handler=with_cluster(_cmd_run))


def add_query_parser(commands: Any) -> None:
    """Register ``mcscale query``."""
    query = commands.add_parser(
        "query",
        help="answer questions, each with its Monte Carlo error",
        description="Answer questions such as 'P(effective_flop >= 1000 x GPT-4 by 2030)'. "
        "With no question, answer the scenario's [[questions]].",
        epilog=QUESTION_GRAMMAR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument("args", nargs="*", metavar="SCENARIO QUESTION", help="scenario, then questions")
    query.add_argument(
        "--from", dest="from_file", default=None, help="answer from a saved run, .nc or .zarr (no sampling)"
    )
    add_sampling_options(query, draws_default=None)
    add_cluster_options(query)
    query.add_argument(
        "--precision",
        type=_probability,
        default=None,
        help="draw until every answer's MCSE (on the probability scale) is below this",
    )
    query.add_argument("--max-draws", type=positive_int, default=None, help="cap for --precision (default 2000000)")
    query.add_argument(
        "--sampler",
        choices=("mc", "qmc"),
        default="mc",
        help="mc: pseudo-random draws; qmc: randomised quasi-Monte Carlo (scrambled Sobol points; "
        "probability questions only; MCSE from the spread across --replicates scramblings)",
    )
    query.add_argument(
        "--replicates",
        type=replicate_count,
        default=None,
        help="independent scramblings of --sampler qmc, 2 to 1024 (default 16; a --precision step may add some)",
    )
    query.add_argument(
        "--variance-reduction",
        choices=("none", "conditional", "importance"),
        default="none",
        help="probability questions only: conditional (integrate a lognormal factor out analytically) or "
        "importance (mean-shifted normals, for tail probabilities); declined with the reason where it cannot apply",
    )
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(handler=with_cluster(_cmd_query))


def add_scenarios_parser(commands: Any) -> None:
    """Register ``mcscale scenarios``."""
    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_cmd_scenarios)
