"""The ``[estimate]`` block of a scenario file: an estimator's inputs in, the prior it sets out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcscale.estimate.errors import EstimateError
from mcscale.estimate.formulas import cost, flop_per_usd

__all__ = ["INPUTS", "SCENARIO_DRAWS", "SCENARIO_SEED", "TARGETS", "scenario_prior"]

#: Draws and seed used to turn an uncertain ``[estimate]`` without a closed form into a prior.
SCENARIO_DRAWS = 200_000
SCENARIO_SEED = 0

#: Inputs each estimator takes, by the name the command line uses.
INPUTS: dict[str, tuple[str, ...]] = {
    "flop": (
        "chips",
        "chip",
        "precision",
        "peak_flops",
        "days",
        "hours",
        "duration",
        "utilization",
        "params",
        "tokens",
    ),
    "cost": (
        "chips",
        "chip",
        "chip_price",
        "depreciation",
        "lifetime_years",
        "usd_per_chip_hour",
        "days",
        "hours",
        "duration",
        "energy_mwh",
        "usd_per_kwh",
        "power_watts",
        "pue",
    ),
    "price-performance": ("chip", "precision", "chip_price", "peak_flops", "lifetime_years", "utilization"),
}

#: ``[estimate]`` targets -> (section, key, estimator, keys the estimator takes).
TARGETS: dict[str, tuple[str, str, Any, tuple[str, ...]]] = {
    "spend.initial": ("spend", "initial", cost, INPUTS["cost"]),
    "hardware.flop_per_usd": (
        "hardware",
        "flop_per_usd",
        flop_per_usd,
        ("chip", "precision", "chip_price", "peak_flops", "lifetime_years", "depreciation"),
    ),
}


def scenario_prior(table: Mapping[str, Any]) -> tuple[str, str, float | dict[str, Any]]:
    """Resolve a scenario's ``[estimate]`` block into the prior it sets.

    Parameters
    ----------
    table : mapping
        The block: ``target = "spend.initial"`` (a :func:`cost`) or
        ``"hardware.flop_per_usd"`` (a :func:`flop_per_usd`), and that estimator's
        inputs (numbers, prior tables or inline prior strings).

    Returns
    -------
    section, key : str
        Where the prior goes (``"hardware"``, ``"flop_per_usd"``).
    prior : float or dict
        A scenario prior as written in TOML: a number for point inputs, a
        ``lognormal`` ``{mu, sigma}`` when the estimate is a product of lognormals, else a
        ``percentiles`` table (log10 values) from :data:`SCENARIO_DRAWS` Monte Carlo draws
        with seed :data:`SCENARIO_SEED` (see :meth:`Estimate.to_table`).

    Raises
    ------
    EstimateError
        With every problem, keyed by the block's keys.
    """
    target = table.get("target")
    if target not in TARGETS:
        known = ", ".join(f'"{t}"' for t in TARGETS)
        what = "missing" if target is None else f"unknown target {target!r}"
        raise EstimateError([("target", f"{what}; known: {known}")])
    section, key, function, keys = TARGETS[target]
    problems = []
    for k in table:
        if k == "utilization" and target == "hardware.flop_per_usd":
            problems.append((k, "flop_per_usd is at peak: the scenario's [utilization] value applies on top"))
        elif k != "target" and k not in keys:
            problems.append((k, f"unknown key for target {target!r}; known keys: target, " + ", ".join(keys)))
    if problems:
        raise EstimateError(problems)
    kwargs = {k: v for k, v in table.items() if k != "target"}
    for name in ("chip", "precision"):
        if name in kwargs and not isinstance(kwargs[name], str):
            raise EstimateError([(name, f"must be a string, got {kwargs[name]!r}")])
    result = function(**kwargs, n_draws=SCENARIO_DRAWS, seed=SCENARIO_SEED)
    return section, key, result.to_table()
