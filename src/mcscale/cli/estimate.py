"""``mcscale estimate flop|cost|price-performance|chips``: :mod:`mcscale.estimate` on the command line."""

from __future__ import annotations

import argparse
from typing import Any

from mcscale.cli.common import EXIT_OK, Parser, UsageError, draw_count, non_negative_int

__all__ = ["add_estimate_parser"]

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


def add_estimate_parser(commands: Any) -> None:
    """Register ``mcscale estimate flop|cost|price-performance|chips``."""
    estimate = commands.add_parser(
        "estimate",
        help="training compute, cost or price-performance from hardware facts",
        description=(
            "Training compute, cost or price-performance from hardware facts: chips x peak FLOP/s x time x "
            "utilization, 6 N D, hardware depreciation or rental plus energy."
        ),
        epilog=_ESTIMATE_EPILOG,
    )
    kinds = estimate.add_subparsers(dest="estimate_kind", required=True, parser_class=Parser)
    flop = kinds.add_parser(
        "flop",
        help="training compute [FLOP]",
        description="chips x peak FLOP/s x time x utilization, or 6 x params x tokens.",
        epilog=_ESTIMATE_EPILOG,
    )
    _add_estimate_input(flop, "--chips", "number of chips")
    flop.add_argument("--chip", default=None, metavar="NAME", help="a chip of the table, for its peak FLOP/s")
    flop.add_argument(
        "--number-format",
        dest="precision",
        default=None,
        metavar="FORMAT",
        help="number format, the column of the chip table: fp32, tf32, bf16, fp16, fp8 (default bf16, else fp16)",
    )
    _add_estimate_input(flop, "--peak-flops", "peak FLOP/s per chip (overrides the table)")
    _add_estimate_duration(flop)
    _add_estimate_input(flop, "--utilization", "achieved / peak FLOP/s, in (0, 1]")
    _add_estimate_input(flop, "--params", "parameters (6 N D route)")
    _add_estimate_input(flop, "--tokens", "training tokens (6 N D route)")
    cost = kinds.add_parser(
        "cost",
        help="training cost [USD]",
        description="chips x price x depreciation/year x days / 365.25 (or chips x hours x USD per chip-hour) "
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
    price.add_argument(
        "--number-format",
        dest="precision",
        default=None,
        metavar="FORMAT",
        help="number format, the column of the chip table: fp32, tf32, bf16, fp16, fp8 (default bf16, else fp16)",
    )
    _add_estimate_input(price, "--chip-price", "price per chip [USD] (overrides the table)")
    _add_estimate_input(price, "--peak-flops", "peak FLOP/s per chip (overrides the table)")
    _add_estimate_input(price, "--lifetime-years", "years the price is spread over (default 1)")
    _add_estimate_input(price, "--utilization", "achieved / peak FLOP/s (default 1: at peak)")
    for sub in (flop, cost, price):
        sub.add_argument("--draws", type=draw_count, default=100_000, help="Monte Carlo draws (default 100000)")
        sub.add_argument("--seed", type=non_negative_int, default=0, help="seed (default 0)")
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
        return EXIT_OK
    print("peak dense TFLOP/s by precision; price [USD] (* = estimate); TDP [W]")
    print(f"{'chip':<12}" + "".join(f"{p:>8}" for p in PRECISIONS) + f"{'price':>10}{'TDP':>6}  variant")
    for row in table.values():
        peaks = "".join(f"{row.peak_flops[p] / 1e12:>8g}" if p in row.peak_flops else f"{'-':>8}" for p in PRECISIONS)
        price = "-" if row.price_usd is None else f"{row.price_usd:,.0f}" + ("*" if row.price_is_estimate else "")
        tdp = "-" if row.tdp_watts is None else f"{row.tdp_watts:g}"
        print(f"{row.name:<12}{peaks}{price:>10}{tdp:>6}  {row.variant}")
    print("sources: mcscale estimate chips --json, or src/mcscale/data/chips.toml")
    return EXIT_OK


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
    return EXIT_OK
