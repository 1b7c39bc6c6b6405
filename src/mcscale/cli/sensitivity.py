"""``mcscale sensitivity``: which belief drives an answer (tornado or Sobol indices)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from mcscale.cli.common import (
    EXIT_OK,
    add_cluster_options,
    draw_count,
    load_checked_scenario,
    non_negative_int,
    positive_int,
    with_cluster,
)

if TYPE_CHECKING:
    from mcscale.analysis.sensitivity import Quantity, SobolResult, TornadoResult

__all__ = ["add_sensitivity_parser"]

_EPILOG = """\
the question becomes one number per draw:
  P(...)                      the indicator of the event
  year METRIC >= THRESHOLD    the crossing year; never = the horizon's end + one step
  METRIC in YEAR              the log10 value of the metric in that grid year

tornado: each uncertain prior held at its 5th, then its 95th percentile, the others
sampled (from their conditional distribution given it, when correlated), with common
random numbers; the answer is the probability or the median, each end with its MCSE.
sobol: first-order (Saltelli 2010) and total (Jansen) indices with bootstrap 90%
intervals; correlated priors are grouped and get group indices."""


def _answer_text(quantity: Quantity, value: float, mcse: float | None = None) -> str:
    """Return an answer in the quantity's terms: a probability, a year, or the metric's value."""
    from mcscale.units import METRICS, format_probability, format_value

    if quantity.kind == "indicator":
        text, spread = format_probability(value, mcse or 0.0)
        return text if mcse is None else f"{text} ± {spread}"
    if quantity.kind == "crossing_year":
        return f"{value:.2f}" if mcse is None else f"{value:.2f} ± {mcse:.2f}"
    unit = METRICS[quantity.metric]
    return format_value(10.0**value, unit) if mcse is None else f"{format_value(10.0**value, unit)} ± {mcse:.3f} dex"


def _swing_text(quantity: Quantity, swing: float, mcse: float) -> str:
    if quantity.kind == "indicator":
        return f"{swing:+.4f} ± {mcse:.4f}"
    unit = "yr" if quantity.kind == "crossing_year" else "dex"
    return f"{swing:+.3f} ± {mcse:.3f} {unit}"


def _prior_range(low: float, high: float, unit: str) -> str:
    """Return the prior's 5-95% range with its unit, once: ``$150M .. $1B``, ``0.5 .. 1.5 year``."""
    from mcscale.units import format_number, format_value

    if unit == "USD":
        return f"{format_value(low, unit)} .. {format_value(high, unit)}"
    if unit == "1":
        return f"{format_number(low)} .. {format_number(high)}"
    return f"{format_number(low)} .. {format_number(high)} {unit}"


def _print_tornado(result: TornadoResult, scenario_name: str) -> None:
    q = result.quantity
    print(f"{q.question} = {_answer_text(q, result.base, result.base_mcse)} ({scenario_name}, seed {result.seed})")
    if result.p_never is not None:
        print(f"P(never by the horizon) = {result.p_never:.4f} (counted as the horizon's end + one step)")
    print(f"{result.method}; {result.n_draws} draws per bar end, {result.seconds:.1f} s")
    rows = [("prior", "5% .. 95% of the prior", "answer at 5%", "at 95%", "swing ± MCSE", "rank corr.")]
    for bar in result.bars:
        name = bar.name + (f" (with {', '.join(bar.moves_with)})" if bar.moves_with else "")
        rows.append(
            (
                name,
                _prior_range(bar.prior_low, bar.prior_high, bar.prior_unit),
                _answer_text(q, bar.low),
                _answer_text(q, bar.high),
                _swing_text(q, bar.swing, bar.mcse),
                f"{bar.rank_correlation:+.3f}",
            )
        )
    _print_rows(rows)


def _print_sobol(result: SobolResult, scenario_name: str) -> None:
    q = result.quantity
    what = q.kind.replace("_", " ")
    print(f"{q.question}: variance shares of the per-draw {what} ({scenario_name}, seed {result.seed})")
    if result.p_never is not None:
        print(f"P(never by the horizon) = {result.p_never:.4f} (counted as the horizon's end + one step)")
    print(f"{result.method}; {result.n_draws} base draws, {result.n_bootstrap} resamples, {result.seconds:.1f} s")
    rows = [("prior (group)", "first order [90% CI]", "total [90% CI]")]
    for index in result.indices:
        first, total = index.first_order_ci, index.total_ci
        rows.append(
            (
                index.name,
                f"{index.first_order:.3f} [{first[0]:.3f}, {first[1]:.3f}]",
                f"{index.total:.3f} [{total[0]:.3f}, {total[1]:.3f}]",
            )
        )
    _print_rows(rows)


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from mcscale.analysis.sensitivity import quantity_of, sobol, tornado

    scenario = load_checked_scenario(args.scenario)
    quantity_of(scenario, args.question)  # a bad question fails before a cluster starts
    client = args.cluster_client() if hasattr(args, "cluster_client") else None
    options = {"n_draws": args.draws, "seed": args.seed, "threads": args.threads, "client": client}
    if args.method == "tornado":
        result: Any = tornado(scenario, args.question, **options)
    else:
        result = sobol(scenario, args.question, n_bootstrap=args.bootstrap, **options)
    if args.json:
        for record in result.to_records():
            print(json.dumps(record))
    elif args.method == "tornado":
        _print_tornado(result, scenario.name)
    else:
        _print_sobol(result, scenario.name)
    return EXIT_OK


def add_sensitivity_parser(commands: Any) -> None:
    """Register ``mcscale sensitivity``."""
    parser = commands.add_parser(
        "sensitivity",
        help="which prior drives an answer: tornado swings or Sobol indices",
        description="Which belief an answer hangs on, e.g. "
        "mcscale sensitivity baseline 'P(effective_flop >= 1000 x GPT-4 by 2030)' --method sobol",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    parser.add_argument("question", help="P(...), 'year METRIC >= THRESHOLD' or 'METRIC in YEAR'")
    parser.add_argument("--method", choices=("tornado", "sobol"), default="tornado", help="default tornado")
    parser.add_argument(
        "--draws", type=draw_count, default=100_000, help="draws per evaluation (sobol: base draws; default 100000)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="root seed (default 0)")
    parser.add_argument("--threads", type=positive_int, default=None, help="threads (default: all cores)")
    parser.add_argument("--bootstrap", type=positive_int, default=500, help="sobol: bootstrap resamples (default 500)")
    parser.add_argument("--json", action="store_true", help="one JSON object per prior")
    add_cluster_options(parser)
    parser.set_defaults(handler=with_cluster(_cmd_sensitivity))
