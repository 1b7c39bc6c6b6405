"""``mcscale plot``, ``mcscale report`` and ``mcscale compare``: figures and HTML reports.

The drawing stack (matplotlib, through :mod:`mcscale.viz.drawing`) is imported only
by these commands, after sampling.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcscale.cli.common import (
    EXIT_OK,
    FIGURE_SUFFIXES,
    MAX_DPI,
    MIN_DPI,
    UsageError,
    add_cluster_options,
    add_sampling_options,
    check_output,
    load_checked_scenario,
    run_scenario,
    with_cluster,
)
from mcscale.cli.common import (
    dpi as dpi_count,
)
from mcscale.echo import quote

if TYPE_CHECKING:
    from mcscale.model.scenario import Scenario
    from mcscale.query import Query

__all__ = ["add_figure_parsers"]

_PLOT_KINDS = ("fan", "exceedance", "crossing", "spend", "price", "compare", "tornado")
_PLOT_METRICS = {"spend": "spend", "price": "flop_per_usd"}  # kinds whose metric is fixed
_THRESHOLD_KINDS = ("exceedance", "crossing")  # kinds that take --threshold
#: Most scenarios ``compare`` and ``plot --kind compare`` overlay: beyond it bands and legends are illegible.
MAX_COMPARED = 8
#: The extensions of the HTML reports ``report`` and ``compare`` write.
REPORT_SUFFIXES = (".html", ".htm")


def _multiples(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers such as 10,100,1000, got {text!r}") from None
    if not values or not all(v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be positive numbers, got {text!r}")
    return values


def _load_scenarios(names: Sequence[str]) -> list[Scenario]:
    scenarios = [load_checked_scenario(name) for name in names]
    seen = [s.name for s in scenarios]
    if len(set(seen)) != len(seen):
        raise UsageError("scenarios must have distinct [scenario] names, got " + ", ".join(seen))
    return scenarios


def _warn_basis(scenarios: Sequence[Scenario], metric: str) -> None:
    """One line on stderr when ``metric`` is not on one basis across the scenarios (different start years)."""
    from mcscale.viz import chartdata

    note = chartdata.basis_note(list(scenarios), metric)
    if note:
        print(f"mcscale: warning: {note}", file=sys.stderr)


def _milestone_queries(scenario: Scenario) -> list[Query]:
    """Return the milestone question a report draws (so that a streaming run counts the requirement)."""
    from mcscale.query import parse_question, scenario_references
    from mcscale.viz import chartdata

    if not chartdata.has_milestone(scenario):
        return []
    text = f"year {scenario.milestone_metric} >= requirement"
    return [parse_question(text, scenario_references(scenario))]


def _plot_threshold(args: argparse.Namespace, scenario: Scenario) -> tuple[str, Query | None]:
    """Return the metric to plot and the parsed ``--threshold`` question (or None), checked before sampling."""
    from mcscale.model.thresholds import QueryError
    from mcscale.query import QuestionSyntaxError, check_query, parse_question, scenario_references

    kind = args.kind
    if kind in _PLOT_METRICS and args.metric not in (None, _PLOT_METRICS[kind]):
        raise UsageError(f"--kind {kind} always plots {_PLOT_METRICS[kind]}; leave out --metric")
    if args.threshold is not None and kind not in _THRESHOLD_KINDS:
        raise UsageError("--threshold applies to --kind exceedance or crossing only")
    if args.multiples is not None and kind != "exceedance":
        raise UsageError("--multiples applies to --kind exceedance only")
    if args.multiples is not None and args.threshold is not None:
        raise UsageError("give --multiples or --threshold, not both")
    requirement = args.threshold is not None and args.threshold.strip() == "requirement"
    default = scenario.milestone_metric if requirement else "effective_flop"  # the milestone's own metric
    metric = _PLOT_METRICS.get(kind, args.metric or default)
    if args.threshold is None:
        return metric, None
    try:
        query = parse_question(f"year {metric} >= {args.threshold}", scenario_references(scenario))
        check_query(query, scenario)
    except (QuestionSyntaxError, QueryError) as exc:
        reason = f"expected {exc.expected}" if isinstance(exc, QuestionSyntaxError) else str(exc)
        raise UsageError(f"--threshold {quote(args.threshold)}: {reason}") from None
    if query.threshold == "requirement" and metric not in ("effective_flop", "physical_flop"):
        raise UsageError(f"the milestone requirement is in FLOP; --metric {metric} is not")
    return metric, query


def _cmd_plot(args: argparse.Namespace) -> int:
    from mcscale.query import parse_question, scenario_references
    from mcscale.viz import chartdata

    output = check_output(args.output, args.scenarios, FIGURE_SUFFIXES)
    kind = args.kind
    scenarios = _load_scenarios(args.scenarios)
    if kind == "tornado":
        return _plot_tornado(args, scenarios, output)
    if kind == "compare" and not 2 <= len(scenarios) <= MAX_COMPARED:
        raise UsageError(f"--kind compare takes 2 to {MAX_COMPARED} scenarios, got {len(scenarios)}")
    if kind != "compare" and len(scenarios) > 1:
        raise UsageError(f"--kind {kind} takes one scenario; use --kind compare for several")
    metric, query = _plot_threshold(args, scenarios[0])
    threshold = None if query is None else query.threshold
    flop_only = kind in _THRESHOLD_KINDS and (threshold is None or isinstance(threshold, tuple))
    for scenario in scenarios:  # before sampling
        chartdata.check_metric(metric, scenario, flop_only=flop_only)
    if kind == "compare":
        _warn_basis(scenarios, metric)
    # a streaming run counts only the thresholds it is told of before sampling
    counted = [] if query is None else [query]
    references = scenario_references(scenarios[0])
    for multiple in args.multiples or ():
        text = f"year {metric} >= {multiple:g} x {scenarios[0].reference_name}"
        counted.append(parse_question(text, references))
    results = [run_scenario(args, s, args.draws, counted) for s in scenarios]

    from mcscale.viz import drawing

    result = results[0]
    if kind == "fan":
        fig = drawing.fan_chart(chartdata.fan(result, metric), chartdata.historical_runs(), width=args.width)
    elif kind == "exceedance" and threshold is not None:
        fig = drawing.exceedance_chart(chartdata.threshold_exceedance(result, metric, threshold), width=args.width)
    elif kind == "exceedance":
        fig = drawing.exceedance_chart(
            chartdata.exceedance(result, metric, args.multiples or (10, 100, 1000, 10000)), width=args.width
        )
    elif kind == "crossing":
        fig = drawing.crossing_chart(chartdata.crossing(result, metric, threshold), width=args.width)
    elif kind == "spend":
        has_cap = "cap" in chartdata.scenario_metrics(result.scenario)
        cap = chartdata.fan(result, "cap", levels=(0.9,)) if has_cap else None
        fig = drawing.spend_chart(chartdata.fan(result, "spend"), cap, width=args.width)
    elif kind == "price":
        fig = drawing.price_performance_chart(chartdata.fan(result, metric), width=args.width)
    else:
        fans = [chartdata.fan(r, metric, levels=(0.9,)) for r in results]
        note = chartdata.basis_note(scenarios, metric, short=True)
        fig = drawing.comparison_chart(fans, note=note, width=args.width)
    drawing.save_figure(fig, output, dpi=args.dpi)
    print(f"wrote {output}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from mcscale.report.html import scenario_report, write_report

    output = check_output(args.output, [args.scenario], REPORT_SUFFIXES)
    (scenario,) = _load_scenarios([args.scenario])
    result = run_scenario(args, scenario, args.draws, _milestone_queries(scenario))
    write_report(scenario_report(result, dpi=args.dpi), output)
    print(f"wrote {output}")
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from mcscale.model.thresholds import QueryError
    from mcscale.query import check_query, parse_question, scenario_queries, scenario_references
    from mcscale.report.html import comparison_report, write_report

    output = check_output(args.output, args.scenarios, REPORT_SUFFIXES)
    if not 2 <= len(args.scenarios) <= MAX_COMPARED:
        raise UsageError(
            f"compare takes 2 to {MAX_COMPARED} scenarios (its figures overlay them), got {len(args.scenarios)}"
        )
    scenarios = _load_scenarios(args.scenarios)
    _warn_basis(scenarios, "effective_flop")
    args.memory_budget //= len(scenarios)  # the budget bounds the command: every run is kept for the report
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
        results.append(run_scenario(args, scenario, args.draws, queries))
    write_report(comparison_report(results, dpi=args.dpi), output)
    print(f"wrote {output}")
    return EXIT_OK


def _add_figure_options(parser: argparse.ArgumentParser, dpi: int) -> None:
    """Add the sampling options, and --dpi, for the commands that draw."""
    add_sampling_options(parser)
    parser.add_argument(
        "--dpi", type=dpi_count, default=dpi, help=f"PNG resolution, {MIN_DPI}-{MAX_DPI} (default {dpi})"
    )


def _plot_tornado(args: argparse.Namespace, scenarios: list[Scenario], output: Any) -> int:
    """``plot --kind tornado``: the sensitivity of ``--question`` (default: the scenario's first question)."""
    from mcscale.analysis.sensitivity import tornado
    from mcscale.query import scenario_queries
    from mcscale.viz import chartdata, drawing

    if len(scenarios) > 1:
        raise UsageError("--kind tornado takes one scenario")
    scenario = scenarios[0]
    question = args.question
    if question is None:
        queries = scenario_queries(scenario)
        if not queries:
            raise UsageError(f"{scenario.source}: --kind tornado needs --question (the scenario has no [[questions]])")
        question = queries[0].text
    result = tornado(scenario, question, n_draws=args.draws, seed=args.seed, threads=args.threads)
    fig = drawing.tornado_chart(chartdata.tornado(result, scenario.name))
    drawing.save_figure(fig, output, dpi=args.dpi)
    print(f"wrote {output}")
    return EXIT_OK


def add_figure_parsers(commands: Any) -> None:
    """Register ``mcscale plot``, ``mcscale report`` and ``mcscale compare``."""
    plot = commands.add_parser(
        "plot",
        help="draw a figure (png or svg, by the -o extension)",
        description="Fan chart, exceedance curves, crossing-year histogram, spend or price-performance fan "
        "of one scenario; or several scenarios' medians and 90% bands (--kind compare).",
    )
    plot.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario file or bundled name")
    plot.add_argument("--kind", choices=_PLOT_KINDS, default="fan", help="which figure (default fan)")
    plot.add_argument("--metric", default=None, help="trajectory variable (default effective_flop)")
    plot.add_argument(
        "--threshold",
        default=None,
        help="exceedance or crossing threshold, e.g. '1000 x GPT-4', 1e28 or requirement (the [milestone]'s)",
    )
    plot.add_argument(
        "--multiples", type=_multiples, default=None, help="exceedance multiples (default 10,100,1000,10000)"
    )
    plot.add_argument(
        "--question", default=None, help="tornado: the question (default: the scenario's first [[questions]])"
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
    add_cluster_options(compare)
    compare.set_defaults(handler=with_cluster(_cmd_compare))
