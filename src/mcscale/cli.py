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
#: Largest --draws (or other count) accepted: 10^11 draws stream in about a day here.
MAX_COUNT = 10**11


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
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT:.0e}, got {text!r}")
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
    bundled = bundled_scenarios()
    if text not in bundled:
        raise UsageError(f"{text}: no such file or bundled scenario (bundled: {', '.join(bundled)})")
    return bundled[text]


def _load(text: str):  # noqa: ANN202
    """Load a scenario and check its written questions, so that errors come before sampling."""
    from mcscale import load_scenario
    from mcscale.query import check_scenario_questions

    scenario = load_scenario(_scenario_path(text))
    check_scenario_questions(scenario)
    return scenario


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
    if out.exists() and not out.is_file():
        raise UsageError(f"{out}: exists and is not a regular file; it would be replaced")
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
        scenario,
        n_draws=n_draws,
        seed=args.seed,
        threads=args.threads,
        mode=mode,
        thresholds=thresholds,
        costs=costs,
        progress=_progress_bar(scenario.name),
    )


def _progress_bar(label: str):  # noqa: ANN202
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

    output = _check_output(args.output)
    if output is not None and output.suffix.lower() not in (".nc", ".nc4"):
        raise UsageError(f"{output}: results are written as netCDF; use a .nc file name")
    scenario = _load(args.scenario)
    result = _run(args, scenario, args.draws)
    _print_summary(result)
    if output is not None:
        result.to_netcdf(output)
        print(f"wrote {output}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from mcscale.bench import run_from_args

    return run_from_args(args)


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

    from mcscale import Result
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
        scenario = _load(positional.pop(0))
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


# --- mcscale estimate ------------------------------------------------------- #

_ESTIMATE_EPILOG = (
    "Every number may be a prior: 'lognormal(p5, p95)', 'normal(p5, p95)', 'uniform(low, high)', "
    "'loguniform(low, high)', optionally with lower=x, upper=y (quote it for the shell). "
    "Point inputs give a point value; uncertain ones the median and 90% interval with MCSE "
    "(and the closed form where there is one). 'mcscale estimate chips' lists the chip table."
)


def _add_estimate_input(parser: argparse.ArgumentParser, flag: str, text: str) -> None:
    parser.add_argument(flag, default=None, metavar="X", help=text)


def _add_estimate_duration(parser: argparse.ArgumentParser) -> None:
    _add_estimate_input(parser, "--days", "wall-clock duration [day]")
    _add_estimate_input(parser, "--hours", "wall-clock duration [hour]")
    parser.add_argument(
        "--duration", default=None, metavar="TEXT", help="duration with unit: '30 days', '720 hours', '2500 V100-days'"
    )


def _add_estimate_parser(commands) -> None:  # noqa: ANN001
    """Register ``mcscale estimate flop|cost|price-performance|chips``."""
    estimate = commands.add_parser(
        "estimate",
        help="training compute, cost or price-performance from hardware facts",
        description="Training compute, cost or price-performance from hardware facts (DESIGN.md section 7).",
        epilog=_ESTIMATE_EPILOG,
    )
    kinds = estimate.add_subparsers(dest="estimate_kind", required=True, parser_class=_Parser)
    flop = kinds.add_parser(
        "flop",
        help="training compute [FLOP]",
        description="chips x peak FLOP/s x time x utilization, or 6 x params x tokens.",
        epilog=_ESTIMATE_EPILOG,
    )
    _add_estimate_input(flop, "--chips", "number of chips")
    flop.add_argument("--chip", default=None, metavar="NAME", help="a chip of the table, for its peak FLOP/s")
    flop.add_argument("--precision", default=None, help="column of the table: fp32, tf32, bf16, fp16, fp8")
    _add_estimate_input(flop, "--peak-flops", "peak FLOP/s per chip (overrides the table)")
    _add_estimate_duration(flop)
    _add_estimate_input(flop, "--utilization", "achieved / peak FLOP/s, in (0, 1]")
    _add_estimate_input(flop, "--params", "parameters (6 N D route)")
    _add_estimate_input(flop, "--tokens", "training tokens (6 N D route)")
    cost = kinds.add_parser(
        "cost",
        help="training cost [USD]",
        description="chips x price x depreciation/year x days / 365 (or chips x hours x USD per chip-hour) "
        "+ energy x USD/kWh.",
        epilog=_ESTIMATE_EPILOG,
    )
    _add_estimate_input(cost, "--chips", "number of chips")
    cost.add_argument("--chip", default=None, metavar="NAME", help="a chip of the table, for its price and TDP")
    _add_estimate_input(cost, "--chip-price", "price per chip [USD] (overrides the table)")
    _add_estimate_input(cost, "--depreciation", "fraction of the price written off per year (e.g. 0.25)")
    _add_estimate_input(cost, "--lifetime-years", "service life [year], instead of --depreciation")
    _add_estimate_input(cost, "--usd-per-chip-hour", "rental price [USD per chip-hour], instead of a price")
    _add_estimate_duration(cost)
    _add_estimate_input(cost, "--energy-mwh", "energy used [MWh]")
    _add_estimate_input(cost, "--usd-per-kwh", "price of electricity [USD/kWh]")
    _add_estimate_input(cost, "--power-watts", "power per chip [W] (default: the chip's TDP), without --energy-mwh")
    _add_estimate_input(cost, "--pue", "power usage effectiveness (default 1), with power")
    price = kinds.add_parser(
        "price-performance",
        help="hardware price-performance [USD per PFLOP/s-day]",
        description="price / (peak PFLOP/s x lifetime days x utilization).",
        epilog=_ESTIMATE_EPILOG,
    )
    price.add_argument("--chip", default=None, metavar="NAME", help="a chip of the table, for its price and peak")
    price.add_argument("--precision", default=None, help="column of the table: fp32, tf32, bf16, fp16, fp8")
    _add_estimate_input(price, "--chip-price", "price per chip [USD] (overrides the table)")
    _add_estimate_input(price, "--peak-flops", "peak FLOP/s per chip (overrides the table)")
    _add_estimate_input(price, "--lifetime-years", "years the price is spread over (default 1)")
    _add_estimate_input(price, "--utilization", "achieved / peak FLOP/s (default 1: at peak)")
    for sub in (flop, cost, price):
        sub.add_argument("--draws", type=_positive_int, default=100_000, help="Monte Carlo draws (default 100000)")
        sub.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    table = kinds.add_parser("chips", help="list the chip table with its sources")
    for sub in (flop, cost, price, table):
        sub.add_argument("--json", action="store_true", help="one JSON object per line")
        sub.set_defaults(handler=_cmd_estimate)


def _cmd_estimate_chips(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from mcscale.estimate import PRECISIONS, chips

    table = chips()
    if args.json:
        for row in table.values():
            print(json.dumps(asdict(row)))
        return 0
    print("peak dense TFLOP/s by precision; price [USD] (* = estimate); TDP [W]")
    print(f"{'chip':<12}" + "".join(f"{p:>8}" for p in PRECISIONS) + f"{'price':>10}{'TDP':>6}  variant")
    for row in table.values():
        peaks = "".join(f"{row.peak_flops[p] / 1e12:>8g}" if p in row.peak_flops else f"{'-':>8}" for p in PRECISIONS)
        price = "-" if row.price_usd is None else f"{row.price_usd:,.0f}" + ("*" if row.price_is_estimate else "")
        tdp = "-" if row.tdp_watts is None else f"{row.tdp_watts:g}"
        print(f"{row.name:<12}{peaks}{price:>10}{tdp:>6}  {row.variant}")
    print("sources: mcscale estimate chips --json, or src/mcscale/data/chips.toml")
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    import json

    from mcscale import estimate

    if args.estimate_kind == "chips":
        return _cmd_estimate_chips(args)
    function = {
        "flop": estimate.flop,
        "cost": estimate.cost,
        "price-performance": estimate.price_performance,
    }[args.estimate_kind]
    kwargs = {k: getattr(args, k) for k in estimate.INPUTS[args.estimate_kind] if getattr(args, k) is not None}
    try:
        result = function(**kwargs, n_draws=args.draws, seed=args.seed)
    except estimate.EstimateError as exc:
        raise UsageError(exc.as_flags()) from None
    print(json.dumps(result.to_dict()) if args.json else str(result))
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from mcscale import load_scenario

    for name, path in bundled_scenarios().items():
        scenario = load_scenario(path)
        print(f"{name:<10} {scenario.start:g}-{scenario.end:g}  {scenario.description}")
    return 0


# -- plot, report, compare (figures and HTML; matplotlib is imported only here) --

_PLOT_KINDS = ("fan", "exceedance", "crossing", "spend", "price", "compare")
_PLOT_METRICS = {"spend": "spend", "price": "flop_per_usd"}  # kinds whose metric is fixed


def _multiples(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers such as 10,100,1000, got {text!r}") from None
    if not values or not all(v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be positive numbers, got {text!r}")
    return values


def _load_scenarios(names: Sequence[str]) -> list:  # noqa: ANN202
    scenarios = [_load(name) for name in names]
    seen = [s.name for s in scenarios]
    if len(set(seen)) != len(seen):
        raise UsageError("scenarios must have distinct [scenario] names, got " + ", ".join(seen))
    return scenarios


def _cmd_plot(args: argparse.Namespace) -> int:
    from mcscale import chartdata
    from mcscale.query import parse_question, scenario_references

    output = _check_output(args.output)
    if output.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"{output}: unknown figure format {output.suffix!r}; use .png or .svg")
    kind = args.kind
    if kind in _PLOT_METRICS and args.metric not in (None, _PLOT_METRICS[kind]):
        raise UsageError(f"--kind {kind} always plots {_PLOT_METRICS[kind]}; leave out --metric")
    metric = _PLOT_METRICS.get(kind, args.metric or "effective_flop")
    scenarios = _load_scenarios(args.scenarios)
    if kind == "compare" and len(scenarios) < 2:
        raise UsageError("--kind compare needs two or more scenarios")
    if kind != "compare" and len(scenarios) > 1:
        raise UsageError(f"--kind {kind} takes one scenario; use --kind compare for several")
    threshold = None
    if args.threshold is not None:
        if kind != "crossing":
            raise UsageError("--threshold applies to --kind crossing only")
        query = parse_question(f"year {metric} >= {args.threshold}", scenario_references(scenarios[0]))
        threshold = query.threshold
    if args.multiples is not None and kind != "exceedance":
        raise UsageError("--multiples applies to --kind exceedance only")
    flop_only = kind == "exceedance" or (kind == "crossing" and (threshold is None or isinstance(threshold, tuple)))
    for scenario in scenarios:  # before sampling
        chartdata.check_metric(metric, scenario, flop_only=flop_only)
    # a streaming run counts only the thresholds it is told of before sampling
    counted = [] if threshold is None else [query]
    references = scenario_references(scenarios[0])
    for multiple in args.multiples or ():
        text = f"year {metric} >= {multiple:g} x {scenarios[0].reference_name}"
        counted.append(parse_question(text, references))
    results = [_run(args, s, args.draws, counted) for s in scenarios]

    from mcscale import plots

    result = results[0]
    if kind == "fan":
        fig = plots.fan_chart(chartdata.fan(result, metric), chartdata.historical_runs(), width=args.width)
    elif kind == "exceedance":
        fig = plots.exceedance_chart(
            chartdata.exceedance(result, metric, args.multiples or (10, 100, 1000, 10000)), width=args.width
        )
    elif kind == "crossing":
        fig = plots.crossing_chart(chartdata.crossing(result, metric, threshold), width=args.width)
    elif kind == "spend":
        has_cap = "cap" in chartdata.scenario_metrics(result.scenario)
        cap = chartdata.fan(result, "cap", levels=(0.9,)) if has_cap else None
        fig = plots.spend_chart(chartdata.fan(result, "spend"), cap, width=args.width)
    elif kind == "price":
        fig = plots.price_performance_chart(chartdata.fan(result, metric), width=args.width)
    else:
        fig = plots.comparison_chart([chartdata.fan(r, metric, levels=(0.9,)) for r in results], width=args.width)
    plots.save_figure(fig, output, dpi=args.dpi)
    print(f"wrote {output}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from mcscale.report import scenario_report, write_report

    output = _check_output(args.output)
    (scenario,) = _load_scenarios([args.scenario])
    result = _run(args, scenario, args.draws)
    write_report(scenario_report(result, dpi=args.dpi), output)
    print(f"wrote {output}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from mcscale.query import check_query, parse_question, scenario_queries, scenario_references
    from mcscale.report import comparison_report, write_report
    from mcscale.results import QueryError

    output = _check_output(args.output)
    if len(args.scenarios) < 2:
        raise UsageError("compare needs two or more scenarios")
    scenarios = _load_scenarios(args.scenarios)
    texts = list(dict.fromkeys(q.text for s in scenarios for q in scenario_queries(s)))
    results = []
    for scenario in scenarios:  # each run counts every scenario's questions it can answer
        queries = []
        for text in texts:
            try:
                query = parse_question(text, scenario_references(scenario))
                check_query(query, scenario)
            except (QueryError, ValueError):
                continue
            queries.append(query)
        results.append(_run(args, scenario, args.draws, queries))
    write_report(comparison_report(results, dpi=args.dpi), output)
    print(f"wrote {output}")
    return 0


def _add_figure_options(parser: argparse.ArgumentParser, dpi: int) -> None:
    """Add the sampling options, and --dpi, for the commands that draw."""
    _add_sampling_options(parser)
    parser.add_argument("--dpi", type=_positive_int, default=dpi, help=f"PNG resolution (default {dpi})")


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

    plot = commands.add_parser(
        "plot",
        help="draw a figure (png or svg, by the -o extension)",
        description="Fan chart, exceedance curves, crossing-year histogram, spend or price-performance fan "
        "of one scenario; or several scenarios' medians and 90%% bands (--kind compare).",
    )
    plot.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario file or bundled name")
    plot.add_argument("--kind", choices=_PLOT_KINDS, default="fan", help="which figure (default fan)")
    plot.add_argument("--metric", default=None, help="trajectory variable (default effective_flop)")
    plot.add_argument("--threshold", default=None, help="crossing threshold, e.g. '1000 x GPT-4' or 1e28")
    plot.add_argument(
        "--multiples", type=_multiples, default=None, help="exceedance multiples (default 10,100,1000,10000)"
    )
    plot.add_argument("--width", choices=("single", "double"), default="single", help="paper column or page width")
    plot.add_argument("--output", "-o", required=True, help="output file, .png or .svg")
    _add_figure_options(plot, dpi=200)
    plot.set_defaults(handler=_cmd_plot)

    report = commands.add_parser("report", help="write a self-contained HTML report of one scenario")
    report.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    report.add_argument("--output", "-o", required=True, help="output HTML file")
    _add_figure_options(report, dpi=150)
    report.set_defaults(handler=_cmd_report)

    compare = commands.add_parser("compare", help="write one HTML report comparing several scenarios")
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="two or more scenarios")
    compare.add_argument("--output", "-o", required=True, help="output HTML file")
    _add_figure_options(compare, dpi=150)
    compare.set_defaults(handler=_cmd_compare)

    _add_estimate_parser(commands)

    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_cmd_scenarios)

    from mcscale.bench import add_arguments as add_bench_arguments

    bench = commands.add_parser(
        "bench",
        help="measure throughput, memory and JIT time against plain numpy and the raw RNG",
        description="Benchmark baseline.toml: draws/s materialized and streaming with 1 and 2 threads, "
        "the numpy and RNG baselines, streaming peak memory, JIT and second-call time; "
        "prints a table with the issue's targets and writes a JSON record.",
    )
    add_bench_arguments(bench)
    bench.set_defaults(handler=_cmd_bench)
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
    except BrokenPipeError:  # e.g. `mcscale run ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing an output or reading an input the system refused
        print(f"mcscale: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_entry()
