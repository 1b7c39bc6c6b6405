"""``mcscale fit`` and ``mcscale backtest``: trends of past training runs, and scenarios scored against them.

Thin: the work is in :mod:`mcscale.analysis.history` and :mod:`mcscale.analysis.backtest`;
here the flags are checked (a bad year, number or file is one line and exit code 2) and
the results printed, written or drawn.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcscale.cli.common import (
    EXIT_OK,
    FIGURE_SUFFIXES,
    UsageError,
    check_output,
    dpi,
    draw_count,
    load_checked_scenario,
    non_negative_int,
    positive_int,
)

if TYPE_CHECKING:
    from mcscale.analysis.backtest import BacktestResult
    from mcscale.analysis.history import Runs
    from mcscale.results.base import Result

__all__ = ["add_history_parsers"]

_FIT_EPILOG = """\
Two fits of log10 training compute on the year over the window (calendar years, both ends
included): the largest run of each year, which is what mcscale's physical_flop models, and
every run in the top K by compute on its publication date. Intervals: least squares with
year-clustered CR2 errors and a Student t with Bell-McCaffrey degrees of freedom, because
runs of one year are not independent. The prior block is spend's growth: the largest-run
growth less hardware's (--hardware-doubling).

--data FILE: a CSV with a header and the columns system, publication_date (YYYY-MM-DD)
and training_compute_flop (FLOP, finite, > 0); is_frontier (0/1) is used if present and
K is 10, else runs are ranked within the file. Default: the bundled Epoch AI data
(Data on AI Models, epoch.ai/data/ai-models, CC BY 4.0)."""

_BACKTEST_EPILOG = """\
The scenario is rewritten to start in the as-of year and sampled; the largest run of each
later year in the record is scored against the forecast of physical FLOP in its year (the
largest run; a top-10 run that was not its year's largest is never scored): PIT, inside the
central 50% and 90% bands, log score (natural log of the forecast density of log10 FLOP).

As-of starting values come from flags; left out:
  --flop-per-usd  the scenario's start-year prior, moved to the as-of year along its median
                  hardware growth
  --spend         the as-of year's largest run in the record / median FLOP per USD /
                  median utilization (the as-of median physical FLOP is the record)
  --utilization   the scenario's
Regimes starting on or before the as-of year become the base; later ones past the last
scored year are dropped; [[questions]] and [estimate] are dropped."""


def _year(text: str) -> int:
    """Parse a whole calendar year such as ``2020`` (an argparse type)."""
    if not re.fullmatch(r"\s*\d{4}\s*", text):
        raise argparse.ArgumentTypeError(f"must be a whole year such as 2020, got {text!r}")
    return int(text)


def _positive_years(text: str) -> float:
    """Parse a finite positive number of years (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number of years, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number of years, got {text!r}")
    return value


def _read_runs(path: str | None) -> Runs:
    from mcscale.analysis.history import HistoryDataError, read_runs

    try:
        return read_runs(path)
    except HistoryDataError as exc:
        raise UsageError(str(exc)) from None


def _cmd_fit(args: argparse.Namespace) -> int:
    from mcscale.analysis.history import (
        DEFAULT_HARDWARE_DOUBLING,
        HistoryDataError,
        fit_history,
        format_fit,
        prior_block,
    )
    from mcscale.fileio import write_atomic

    output = check_output(args.output, [args.data], (".toml",))
    hardware = DEFAULT_HARDWARE_DOUBLING if args.hardware_doubling is None else args.hardware_doubling
    runs = _read_runs(args.data)
    try:
        fit = fit_history(runs, args.since, args.until, args.frontier_top, hardware_doubling=hardware)
    except HistoryDataError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(fit.to_dict()) if args.json else format_fit(fit), end="\n" if args.json else "")
    if output is not None:
        write_atomic(output, prior_block(fit).encode())
        if not args.json:
            print(f"wrote {output}")
    return EXIT_OK


def _history(bt: BacktestResult) -> Any:
    """Return the scored runs, at the years they are scored in and named, as a fan chart's history."""
    import numpy as np

    from mcscale.viz import chartdata

    def short(name: str) -> str:
        return re.sub(r"\s*\(.*\)$", "", name) or name

    return chartdata.HistoricalRuns(
        system=tuple(s.system for s in bt.scores),
        year=np.array([float(s.year) for s in bt.scores]),
        log10_flop=np.array([s.log10_flop for s in bt.scores]),
        labels={i: short(s.system) for i, s in enumerate(bt.scores)},
    )


def _draw(bt: BacktestResult, result: Result, output: Path, args: argparse.Namespace) -> None:
    """Draw the as-of forecast of physical FLOP, its scored 50% and 90% bands, and the scored runs."""
    from mcscale.viz import chartdata, drawing

    fan = chartdata.fan(result, "physical_flop", levels=(0.5, 0.9))
    fig = drawing.fan_chart(fan, _history(bt), history_years=0.0, width=args.width)
    drawing.save_figure(fig, output, dpi=args.dpi)


def _cmd_backtest(args: argparse.Namespace) -> int:
    from mcscale.analysis.backtest import BacktestError, backtest, format_backtest

    output = check_output(args.output, [args.scenario, args.data], FIGURE_SUFFIXES)
    scenario = load_checked_scenario(args.scenario)
    runs = _read_runs(args.data)
    try:
        bt, result = backtest(
            scenario,
            args.as_of,
            runs,
            until=args.until,
            spend=args.spend,
            flop_per_usd=args.flop_per_usd,
            utilization=args.utilization,
            n_draws=args.draws,
            seed=args.seed,
            threads=args.threads,
        )
    except BacktestError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(bt.to_dict()) if args.json else format_backtest(bt), end="\n" if args.json else "")
    if output is not None:
        _draw(bt, result, output, args)
        if not args.json:
            print(f"wrote {output}")
    return EXIT_OK


def add_history_parsers(commands: Any) -> None:
    """Register ``mcscale fit`` and ``mcscale backtest``."""
    fit = commands.add_parser(
        "fit",
        help="growth of frontier training compute in past runs, as a prior block",
        description="Growth of training compute in the record (OOM/year, x per year, doubling months) with "
        "year-clustered intervals, the spread around the trend, and a prior block to paste into a scenario.",
        epilog=_FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--since", type=_year, default=None, help="first calendar year (default: the data's first)")
    fit.add_argument("--until", type=_year, default=None, help="last calendar year (default: the data's last)")
    fit.add_argument(
        "--frontier-top", type=positive_int, default=10, help="frontier = top K by compute at publication (default 10)"
    )
    fit.add_argument("--data", default=None, metavar="FILE.csv", help="runs file (default: the bundled Epoch AI data)")
    fit.add_argument(
        "--hardware-doubling",
        type=_positive_years,
        default=None,
        metavar="YEARS",
        help="FLOP per USD doubling time taken out for spend's growth (default 2.07: ML GPUs, Hobbhahn and "
        "Besiroglu, Trends in GPU price-performance)",
    )
    fit.add_argument("--output", "-o", default=None, metavar="BLOCK.toml", help="also write the prior block here")
    fit.add_argument("--json", action="store_true", help="one JSON object")
    fit.set_defaults(handler=_cmd_fit)

    bt = commands.add_parser(
        "backtest",
        help="run a scenario from a past year and score the runs that came after",
        description="Run a scenario from an as-of year and score the largest run of every later year in the "
        "record against its forecast: PIT, share inside the 50%% and 90%% bands, mean log score.",
        epilog=_BACKTEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bt.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    bt.add_argument("--as-of", type=_year, required=True, metavar="YEAR", help="the year the forecast starts from")
    bt.add_argument("--until", type=_year, default=None, metavar="YEAR", help="last year scored (default: the data's)")
    bt.add_argument("--spend", default=None, metavar="X", help="spend.initial in the as-of year [USD], or a prior")
    bt.add_argument(
        "--flop-per-usd", default=None, metavar="X", help="hardware.flop_per_usd in the as-of year, or a prior"
    )
    bt.add_argument("--utilization", default=None, metavar="X", help="utilization.value, or a prior")
    bt.add_argument("--data", default=None, metavar="FILE.csv", help="runs file (default: the bundled Epoch AI data)")
    bt.add_argument("--draws", type=draw_count, default=100_000, help="number of draws (default 100000)")
    bt.add_argument("--seed", type=non_negative_int, default=0, help="root seed (default 0)")
    bt.add_argument("--threads", type=positive_int, default=None, help="worker threads (default: all cores)")
    bt.add_argument(
        "--output", "-o", default=None, metavar="FIG", help="fan chart with the held-out runs, .png or .svg"
    )
    bt.add_argument("--dpi", type=dpi, default=200, help="PNG resolution, 10-1200 (default 200)")
    bt.add_argument("--width", choices=("single", "double"), default="single", help="paper column or page width")
    bt.add_argument("--json", action="store_true", help="one JSON object")
    bt.set_defaults(handler=_cmd_backtest)
