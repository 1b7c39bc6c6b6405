"""The ``mcscale`` command line: parses arguments and calls the API.

Exit codes: 0 success, 2 bad input (scenario, arguments, paths), 1 anything else.
User errors print one line per problem on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

__all__ = ["bundled_scenarios", "build_parser", "main", "main_entry"]

EXIT_USAGE = 2


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def bundled_scenarios() -> dict[str, Path]:
    """Return the scenarios shipped with mcscale, by name."""
    folder = resources.files("mcscale") / "scenarios"
    return {
        Path(p.name).stem: Path(str(p))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")
    }


def _scenario_path(text: str) -> Path:
    """Resolve a scenario file, or the name of a bundled scenario."""
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    return bundled_scenarios().get(text, path)


def _check_output(path: str | None) -> Path | None:
    """Fail before sampling if the output cannot be written."""
    if path is None:
        return None
    out = Path(path)
    parent = out.parent
    if not parent.is_dir():
        raise UsageError(f"{out}: directory {str(parent)!r} does not exist")
    if out.is_dir():
        raise UsageError(f"{out}: is a directory")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{out}: directory {str(parent)!r} is not writable")
    return out


def _summary_years(years: Sequence[float], max_rows: int = 7) -> list[float]:
    """Pick round grid years (multiples of 5, else 10), always with the first and last."""
    for spacing in (5, 10, 20):
        round_years = [y for y in years[1:-1] if float(y) % spacing == 0]
        if len(round_years) + 2 <= max_rows:
            break
    return [years[0], *round_years, years[-1]]


def _print_summary(result) -> None:  # noqa: ANN001
    """Print median and 90% interval of effective FLOP, physical FLOP and spend."""
    from mcscale.results import format_value

    summary = result.summary
    scenario = result.scenario
    print(f"{scenario.name}: {scenario.description}")
    print(f"{result.n_draws} draws, seed {result.seed}, {result.tree.attrs['sampling_seconds']:.2f} s sampling")
    print("median [90% interval]")
    columns = (("effective_flop", "FLOP"), ("physical_flop", "FLOP"), ("spend", "USD"))
    header = f"{'year':>7}  " + "  ".join(f"{name:<32}" for name, _ in columns)
    print(header.rstrip())
    for year in _summary_years(list(result.years)):
        cells = []
        for name, unit in columns:
            q = 10.0 ** summary[name].sel(year=year).values
            cells.append(f"{format_value(q[2], unit)} [{format_value(q[0], unit)}, {format_value(q[4], unit)}]")
        print(f"{year:>7g}  " + "  ".join(f"{c:<32}" for c in cells).rstrip())


def _mode(args: argparse.Namespace, scenario, n_draws: int) -> str:  # noqa: ANN001
    """Materialized or streaming: --stream, or the memory budget decides (and says so)."""
    from mcscale.engine import materialized_bytes

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


def _run(args: argparse.Namespace, scenario, n_draws: int, queries=()):  # noqa: ANN001, ANN202
    """Sample ``scenario`` as the command-line options say."""
    from mcscale import run
    from mcscale.query import stream_specs

    mode = _mode(args, scenario, n_draws)
    thresholds, costs = stream_specs(scenario, list(queries)) if mode == "stream" else (None, None)
    return run(
        scenario, n_draws=n_draws, seed=args.seed, threads=args.threads, mode=mode, thresholds=thresholds, costs=costs
    )


def _memory(text: str) -> int:
    """Parse a size such as 4G, 500M or 2e9 [bytes]."""
    match = re.fullmatch(r"\s*([0-9.]+(?:[eE][0-9]+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"must be a size such as 4G or 500M, got {text!r}")
    value = float(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " ")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return int(value)


def _add_sampling_options(parser: argparse.ArgumentParser, draws_default: int | None = 100_000) -> None:
    """--draws, --seed, --threads, --stream and --memory-budget, shared by every sampling command."""
    parser.add_argument("--draws", type=_positive_int, default=draws_default, help="number of draws (default 100000)")
    parser.add_argument(
        "--seed", type=_seed, default=None if draws_default is None else 0, help="root seed (default 0)"
    )
    parser.add_argument("--threads", type=_positive_int, default=None, help="worker threads (default: all cores)")
    parser.add_argument(
        "--stream", action="store_true", help="keep only accumulators: memory independent of the number of draws"
    )
    parser.add_argument(
        "--memory-budget",
        type=_memory,
        default="4G",
        help="stream when materialized arrays would exceed this (default 4G)",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from mcscale import load_scenario

    output = _check_output(args.output)
    scenario = load_scenario(_scenario_path(args.scenario))
    result = _run(args, scenario, args.draws)
    _print_summary(result)
    if output is not None:
        result.to_netcdf(output)
        print(f"wrote {output}")
    return 0


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 0.5), got {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 0.5), got {text!r}")
    return value


def _precision_loop(scenario, queries, args):  # noqa: ANN001, ANN202
    """Run, answer, and draw more until every answer's MCSE is below the target (or the cap)."""
    from mcscale.query import answer

    n_draws = args.draws
    while True:
        result = _run(args, scenario, n_draws, queries)
        answers = [answer(result, q) for q in queries]
        if args.precision is None:
            return answers, None
        worst = max(a.probability_mcse() for a in answers)
        if worst <= args.precision:
            return (
                answers,
                f"precision {args.precision:g} reached with {result.n_draws} draws (largest MCSE {worst:.2g})",
            )
        if result.n_draws >= args.max_draws:
            return answers, (
                f"precision {args.precision:g} NOT reached: stopped at the cap of {args.max_draws} draws "
                f"(largest MCSE {worst:.2g}; raise --max-draws)"
            )
        # MCSE falls as 1/sqrt(n): aim 5% past the draws the worst answer needs.
        n_draws = min(args.max_draws, math.ceil(result.n_draws * (worst / args.precision) ** 2 * 1.05))


def _cmd_query(args: argparse.Namespace) -> int:
    import json

    from mcscale import Result, load_scenario
    from mcscale.query import answer, check_query, parse_question, scenario_queries, scenario_references

    positional = list(args.args)
    if args.from_file is not None:
        for flag in ("draws", "seed", "precision"):
            if getattr(args, f"{flag}_given"):
                raise UsageError(f"--{flag} cannot be used with --from: the saved run is answered as it is")
        path = Path(args.from_file)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        result = Result.from_netcdf(path)
        scenario = result.scenario
    else:
        if not positional:
            raise UsageError("query needs a scenario file (or --from RESULTS.nc)")
        scenario = load_scenario(_scenario_path(positional.pop(0)))
        result = None
    references = scenario_references(scenario)
    queries = [parse_question(text, references) for text in positional] or scenario_queries(scenario)
    if not queries:
        raise UsageError(f"{scenario.source}: no questions given and the scenario has no [[questions]]")
    for query in queries:
        check_query(query, scenario)
    if result is not None:
        answers, note = [answer(result, q) for q in queries], None
    else:
        answers, note = _precision_loop(scenario, queries, args)
    for item in answers:
        print(json.dumps(item.to_dict()) if args.json else str(item))
    if note is not None:
        print(f"mcscale: {note}", file=sys.stderr)
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from mcscale import load_scenario

    for name, path in bundled_scenarios().items():
        scenario = load_scenario(path)
        print(f"{name:<10} {scenario.start:g}-{scenario.end:g}  {scenario.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    from mcscale import __version__

    parser = _Parser(prog="mcscale", description="Monte Carlo forecasts of frontier AI training compute.")
    parser.add_argument("--version", action="version", version=f"mcscale {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="sample a scenario and print a summary")
    run.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    _add_sampling_options(run)
    run.add_argument("--output", "-o", default=None, help="write the result to this netCDF file")
    run.set_defaults(handler=_cmd_run)

    query = commands.add_parser(
        "query",
        help="answer questions, each with its Monte Carlo error",
        description="Answer questions such as 'P(effective_flop >= 1000 x GPT-4 by 2030)'. "
        "With no question, answer the scenario's [[questions]].",
    )
    query.add_argument("args", nargs="*", metavar="SCENARIO QUESTION", help="scenario, then questions")
    query.add_argument("--from", dest="from_file", default=None, help="answer from a saved run (no sampling)")
    _add_sampling_options(query, draws_default=None)
    query.add_argument(
        "--precision",
        type=_probability,
        default=None,
        help="draw until every answer's MCSE (on the probability scale) is below this",
    )
    query.add_argument(
        "--max-draws", type=_positive_int, default=2_000_000, help="cap for --precision (default 2000000)"
    )
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(handler=_cmd_query)

    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_cmd_scenarios)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from mcscale.query import QuestionSyntaxError
    from mcscale.results import QueryError
    from mcscale.scenario import ScenarioError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Questions may follow options ("query FILE --draws N 'P(...)'"), which argparse
    # leaves over for a nargs="*" positional.
    if extra and args.command == "query" and not any(e.startswith("-") for e in extra):
        args.args += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for flag, default in (("draws", 100_000), ("seed", 0), ("precision", None)):
        if hasattr(args, flag):  # remember what was given, then apply the default
            setattr(args, f"{flag}_given", getattr(args, flag) is not None)
            if getattr(args, flag) is None:
                setattr(args, flag, default)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        for line in exc.lines():
            print(f"mcscale: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except (QuestionSyntaxError, QueryError) as exc:
        print(f"mcscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"mcscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mcscale: interrupted", file=sys.stderr)
        return 130


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_entry()
