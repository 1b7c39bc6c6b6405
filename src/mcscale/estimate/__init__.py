"""Estimators from hardware facts: training compute, cost and price-performance.

The formulas that the source essays use to estimate compute and cost from hardware
facts, with priors instead of point values:

- compute [FLOP] = chips x peak FLOP/s per chip x seconds x utilization, or
  6 x parameters x tokens;
- cost [USD] = chips x price x depreciation per year x days / 365.25 (or chips x hours x
  rental price per chip-hour), plus energy x price of electricity;
- price-performance [USD per PFLOP/s-day] = price / (peak PFLOP/s x lifetime days x
  utilization);
- peak FLOP per USD [FLOP/USD] = peak FLOP/s x lifetime seconds / price, the start value
  of a scenario's ``hardware.flop_per_usd``.

Every input is a number or a prior: a :class:`~mcscale.model.priors.PriorSpec`, a table as
in a scenario file (``{dist = "lognormal", p5 = 0.2, p95 = 0.5}``), or an inline string
(``"lognormal(0.2, 0.5)"``, ``"normal(p5, p95, lower=0.1)"``, ``"uniform(a, b)"``,
``"loguniform(a, b)"``). Inputs are independent.

With point inputs the result is a point value. With uncertain inputs it is sampled by
Monte Carlo and summarized by its median and 90% interval, each with its MCSE (the
binomial order-statistic interval / 3.92). Where the result has a closed form it is given
too: a product of powers of fixed values and untruncated lognormals is lognormal, and a
monotone function of a single uncertain input has that input's quantiles.

A year is a Julian year of 365.25 days (:data:`mcscale.units.DAYS_PER_YEAR`), as
everywhere in mcscale: ``21`` days are ``21/365.25`` of a year's depreciation.

Modules: :mod:`~mcscale.estimate.chip_table` (the chip table),
:mod:`~mcscale.estimate.inline` (inline priors and durations),
:mod:`~mcscale.estimate.formulas` (the estimators), :mod:`~mcscale.estimate.block`
(a scenario's ``[estimate]``) and :mod:`~mcscale.estimate.errors`.
"""

from __future__ import annotations

from mcscale.estimate.block import INPUTS, SCENARIO_DRAWS, SCENARIO_SEED, TARGETS, scenario_prior
from mcscale.estimate.chip_table import PRECISIONS, Chip, chip, chips
from mcscale.estimate.errors import EstimateError
from mcscale.estimate.formulas import Estimate, cost, flop, flop_per_usd, price_performance, sample
from mcscale.estimate.inline import Duration, parse_duration, parse_prior
from mcscale.units import DAYS_PER_YEAR, PFLOPS_DAY

__all__ = [
    "DAYS_PER_YEAR",
    "INPUTS",
    "PFLOPS_DAY",
    "PRECISIONS",
    "SCENARIO_DRAWS",
    "SCENARIO_SEED",
    "TARGETS",
    "Chip",
    "Duration",
    "Estimate",
    "EstimateError",
    "chip",
    "chips",
    "cost",
    "flop",
    "flop_per_usd",
    "parse_duration",
    "parse_prior",
    "price_performance",
    "sample",
    "scenario_prior",
]
