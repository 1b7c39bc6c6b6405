"""Encoders: a scenario -> the flat arrays the kernels read (prior table, model plan).

The kernels know nothing of scenarios; everything they switch on is an integer code
from :mod:`mcscale.sim.codes.codes`, written here.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from mcscale.model.copula import normal_correlation, prior_order
from mcscale.model.priors import TABULATED, PriorSpec
from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError
from mcscale.sim.kernels import codes
from mcscale.units import METRICS

__all__ = [
    "ModelPlan",
    "PriorTable",
    "build_model_plan",
    "build_prior_table",
    "compile_plan",
    "grid_index",
    "year_grid",
]

_CEILING_MODES = {"hard": codes.CEILING_HARD, "soft": codes.CEILING_SOFT, "exponential": codes.CEILING_EXPONENTIAL}
#: Growth-rate keys and the form each gives the rate in, in the order they are looked for.
_RATE_KEYS = (
    ("doubling_time", codes.RATE_DOUBLING_TIME),
    ("growth_per_year", codes.RATE_GROWTH_PER_YEAR),
    ("oom_per_year", codes.RATE_OOM_PER_YEAR),
    ("percent_per_year", codes.RATE_PERCENT_PER_YEAR),
)
_GROWTH_KEYS = {
    codes.GROWTH_SPEND: "spend",
    codes.GROWTH_HARDWARE: "hardware",
    codes.GROWTH_ALGORITHMS: "algorithms",
}


class PriorTable(NamedTuple):
    """Flat arrays describing every prior; rows beyond ``n_params`` are mixture components.

    Attributes
    ----------
    kind : ndarray of int64
        Distribution code per row (:data:`~mcscale.sim.kernels.codes.KIND_CODES`).
    a, b : ndarray of float64
        ``value``; ``mean, sd``; ``mu, sigma``; ``low, high`` (log of them for
        loguniform), in written units. Tabulated kinds: the first grid point and the
        reciprocal of the grid spacing, in normal-score units.
    u_low, u_high : ndarray of float64
        CDF at the truncation bounds; sampling maps ``u`` into ``[u_low, u_high]``. For
        a normal or lognormal truncated to its upper tail these are survival
        probabilities (``u_low > u_high``) and ``b`` is negated, so that the far tail
        keeps full precision.
    truncated : ndarray of bool
        Whether the row is truncated (normal and lognormal then go through ``u``).
    scale : ndarray of float64
        Written units -> canonical units multiplier.
    table_start, table_len : ndarray of int64
        Each row's slice of ``table_x`` / ``table_y``.
    table_x, table_y : ndarray of float64
        Percentiles: probability, value. Lookup: key, value. Mixture: cumulative
        weight, component row. Tabulated kinds (:data:`~mcscale.model.priors.TABULATED`,
        truncation included): slope times grid spacing, value, at each grid point of
        :meth:`~mcscale.model.priors.PriorSpec.quantile_table`.
    log10 : ndarray of bool
        Percentile values / lookup keys / tabulated values are log10.
    step : ndarray of bool
        Lookup interpolation is a step function.
    source : ndarray of int64
        Lookup source row (-1 otherwise).
    normal_index : ndarray of int64
        The standard normal that drives the row (-1 for fixed and lookup rows).
    cholesky : ndarray of float64, shape (n_normals, n_normals)
        Lower Cholesky factor of the normals' correlation matrix.
    correlated : bool
        Whether ``cholesky`` differs from the identity.
    n_params : int
        Number of primary rows, in sampling order.
    """

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    u_low: np.ndarray
    u_high: np.ndarray
    truncated: np.ndarray
    scale: np.ndarray
    table_start: np.ndarray
    table_len: np.ndarray
    table_x: np.ndarray
    table_y: np.ndarray
    log10: np.ndarray
    step: np.ndarray
    source: np.ndarray
    normal_index: np.ndarray
    cholesky: np.ndarray
    correlated: bool
    n_params: int


class _Builder:
    """Accumulates rows of a :class:`PriorTable`."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.table_x: list[float] = []
        self.table_y: list[float] = []

    def add(self, spec: PriorSpec, normal_index: int, row_of: dict[str, int]) -> int:
        p = spec.params
        row = {
            "kind": codes.KIND_CODES[spec.dist],
            "a": 0.0,
            "b": 0.0,
            "u_low": spec.cdf(spec.lower) if spec.dist not in ("mixture", "lookup", *TABULATED) else 0.0,
            "u_high": spec.cdf(spec.upper) if spec.dist not in ("mixture", "lookup", *TABULATED) else 1.0,
            "truncated": bool(math.isfinite(spec.lower) or math.isfinite(spec.upper)),
            "scale": spec.scale,
            "table_start": len(self.table_x),
            "table_len": 0,
            "log10": spec.log10,
            "step": spec.interpolation == "step",
            "source": row_of.get(spec.of, -1),
            "normal_index": normal_index,
        }
        if spec.dist in ("normal", "lognormal") and math.isfinite(spec.lower) and spec.standard_score(spec.lower) > 0:
            # Truncated to the upper tail: work with survival probabilities, where the
            # CDF would round to 1. x = a - b ndtri(sf); u runs from sf(lower) to sf(upper).
            row["u_low"] = spec.sf(spec.lower)
            row["u_high"] = spec.sf(spec.upper) if math.isfinite(spec.upper) else 0.0
            mirror = -1.0
        else:
            mirror = 1.0
        if spec.dist == "fixed":
            row["a"] = p["value"]
        elif spec.dist == "normal":
            row["a"], row["b"] = p["mean"], mirror * p["sd"]
        elif spec.dist == "lognormal":
            row["a"], row["b"] = p["mu"], mirror * p["sigma"]
        elif spec.dist == "uniform":
            row["a"], row["b"] = p["low"], p["high"]
        elif spec.dist == "loguniform":
            row["a"], row["b"] = math.log(p["low"]), math.log(p["high"])
        elif spec.dist in ("percentiles", "lookup"):
            self.table_x += [x for x, _ in spec.points]
            self.table_y += [y for _, y in spec.points]
            row["table_len"] = len(spec.points)
        elif spec.dist in TABULATED:
            # the truncation is in the table: every normal maps onto it
            quantiles = spec.quantile_table()
            row["a"], row["b"] = quantiles.z0, 1.0 / quantiles.step
            row["u_low"], row["u_high"], row["log10"] = 0.0, 1.0, quantiles.log10
            self.table_x += quantiles.slopes.tolist()
            self.table_y += quantiles.values.tolist()
            row["table_len"] = len(quantiles.values)
        self.rows.append(row)
        return len(self.rows) - 1

    def add_mixture_components(self, spec: PriorSpec, mixture_row: int) -> None:
        """Append component rows, each truncated like the mixture, and the weight table."""
        masses = []
        component_rows = []
        for component in spec.components:
            # A component keeps its own unit if it has one; the mixture's bounds are in
            # the mixture's unit, so convert them into the component's.
            has_unit = isinstance(component.written, dict) and "unit" in component.written
            scale = component.scale if has_unit else spec.scale
            factor = spec.scale / scale
            truncated = replace(
                component,
                lower=max(component.lower, spec.lower * factor),
                upper=min(component.upper, spec.upper * factor),
                scale=scale,
            )
            row = self.add(truncated, -1, {})
            if truncated.dist in TABULATED:
                masses.append(truncated.truncated_mass())
            else:
                masses.append(abs(self.rows[row]["u_high"] - self.rows[row]["u_low"]))
            component_rows.append(row)
        weights = np.asarray(spec.weights) * np.asarray(masses)
        cumulative = np.cumsum(weights / weights.sum())
        cumulative[-1] = 1.0
        self.rows[mixture_row]["table_start"] = len(self.table_x)
        self.rows[mixture_row]["table_len"] = len(component_rows)
        self.table_x += cumulative.tolist()
        self.table_y += [float(r) for r in component_rows]

    def table(self, cholesky: np.ndarray, n_params: int) -> PriorTable:
        def column(key: str, dtype: type) -> np.ndarray:
            return np.array([r[key] for r in self.rows], dtype=dtype)

        return PriorTable(
            kind=column("kind", np.int64),
            a=column("a", np.float64),
            b=column("b", np.float64),
            u_low=column("u_low", np.float64),
            u_high=column("u_high", np.float64),
            truncated=column("truncated", np.bool_),
            scale=column("scale", np.float64),
            table_start=column("table_start", np.int64),
            table_len=column("table_len", np.int64),
            table_x=np.array(self.table_x, dtype=np.float64),
            table_y=np.array(self.table_y, dtype=np.float64),
            log10=column("log10", np.bool_),
            step=column("step", np.bool_),
            source=column("source", np.int64),
            normal_index=column("normal_index", np.int64),
            cholesky=np.ascontiguousarray(cholesky),
            correlated=bool(np.any(cholesky != np.eye(len(cholesky)))),
            n_params=n_params,
        )


def build_prior_table(scenario: Scenario) -> tuple[PriorTable, list[str]]:
    """Encode a scenario's priors for the codes.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    table : PriorTable
    names : list of str
        Prior name of each primary row, in sampling order.
    """
    priors = scenario.all_priors()
    names = prior_order(priors)
    sampled = [n for n in names if priors[n].dist not in ("fixed", "lookup")]
    builder = _Builder()
    row_of: dict[str, int] = {}
    for name in names:
        spec = priors[name]
        if spec.dist == "lookup" and priors[spec.of].scale != 1.0:
            # keys are written in the source's units (months...), draws are canonical (years)
            factor = priors[spec.of].scale
            keys = [(math.log10(factor) + x if spec.log10 else factor * x, y) for x, y in spec.points]
            spec = replace(spec, points=tuple(keys))
        normal_index = sampled.index(name) if name in sampled else -1
        row_of[name] = builder.add(spec, normal_index, row_of)
    for name in names:
        if priors[name].dist == "mixture":
            builder.add_mixture_components(priors[name], row_of[name])
    cholesky = normal_correlation(sampled, scenario.correlations)
    return builder.table(cholesky, len(names)), names


class ModelPlan(NamedTuple):
    """The model of a scenario as arrays the kernels read.

    Attributes
    ----------
    value_row : ndarray of int64, shape (N_VALUES,)
        Prior row of each start value (-1: absent).
    value_sign : ndarray of float64
        +1, or -1 where the file gives the inverse (``price_per_flop``).
    value_is_log10 : ndarray of bool, shape (N_VALUES,)
        Whether the prior is log10 of the value already (``max_gain_oom``).
    rate_row, rate_kind : ndarray of int64, shape (4, n_regimes)
        Prior row and form (doubling time, factor, OOM or percent per year) of each
        growing quantity's rate in each regime.
    rate_scale_row : ndarray of int64, shape (4,)
        Prior row of a multiplier of each quantity's log10 rate in every regime
        (``algorithms.rate_multiplier``; -1: none).
    interval_regime : ndarray of int64, shape (n_years - 1,)
        Regime in force over each grid interval.
    step : float
        Grid step [year].
    cap_mode, hardware_mode, algorithms_mode : int
        Ceiling modes (none, hard, soft).
    variable_slot : ndarray of int64, shape (N_VARIABLES,)
        Output slot of each trajectory variable (-1: not kept).
    """

    value_row: np.ndarray
    value_sign: np.ndarray
    value_is_log10: np.ndarray
    rate_row: np.ndarray
    rate_kind: np.ndarray
    rate_scale_row: np.ndarray
    interval_regime: np.ndarray
    step: float
    cap_mode: int
    hardware_mode: int
    algorithms_mode: int
    variable_slot: np.ndarray


def year_grid(scenario: Scenario) -> np.ndarray:
    """Return the scenario's grid years [year]."""
    return scenario.start + scenario.step * np.arange(scenario.n_years)


def grid_index(years: np.ndarray, year: float, by: bool) -> int:
    """Index of the grid year a question about ``year`` [year] reads.

    Parameters
    ----------
    years : ndarray
        The grid [year].
    year : float
        [year]
    by : bool
        "By ``year``": the last grid year at or before it. Otherwise "in ``year``",
        which must be a grid year.

    Raises
    ------
    QueryError
        For a year outside the grid's span, or, "in" a year, one off the grid.
    """
    start, end = years[0], years[-1]
    if not start - 1e-9 <= year <= end + 1e-9:
        raise QueryError(f"year {year:g} is outside the horizon {start:g}..{end:g}")
    if by:
        return int(np.searchsorted(years, year + 1e-9, side="right")) - 1
    index = int(np.argmin(np.abs(years - year)))
    if abs(years[index] - year) > 1e-9:
        step = years[1] - years[0]
        raise QueryError(f"year {year:g} is not on the grid ({start:g}..{end:g} step {step:g})")
    return index


def _rate(scenario_priors: dict, section: str, rows: dict[str, int]) -> tuple[int, int]:
    """Prior row and rate form of a section's growth, or (-1, none) if not given."""
    for key, kind in _RATE_KEYS:
        name = f"{section}.{key}"
        if name in scenario_priors:
            return rows[scenario_priors[name].name], kind
    return -1, codes.RATE_NONE


def build_model_plan(scenario: Scenario, rows: dict[str, int]) -> ModelPlan:
    """Encode the scenario's model equations for the codes.

    Parameters
    ----------
    scenario : Scenario
    rows : dict of str to int
        Prior name -> row in the :class:`PriorTable`.

    Returns
    -------
    ModelPlan
    """
    p = scenario.priors
    value_row = np.full(codes.N_VALUES, -1, dtype=np.int64)
    value_sign = np.ones(codes.N_VALUES)
    value_is_log10 = np.zeros(codes.N_VALUES, dtype=np.bool_)
    value_row[codes.VALUE_SPEND] = rows["spend.initial"]
    if "hardware.flop_per_usd" in p:
        value_row[codes.VALUE_FLOP_PER_USD] = rows["hardware.flop_per_usd"]
    else:
        value_row[codes.VALUE_FLOP_PER_USD] = rows["hardware.price_per_flop"]
        value_sign[codes.VALUE_FLOP_PER_USD] = -1.0
    value_row[codes.VALUE_UTILIZATION] = rows["utilization.value"]
    for slot, name in (
        (codes.VALUE_CAP, "spend.cap"),
        (codes.VALUE_CAP, "spend.cap_gdp_fraction"),
        (codes.VALUE_CAP_SCALE, "economy.gdp"),
        (codes.VALUE_MAX_FLOP_PER_USD, "hardware.max_flop_per_usd"),
        (codes.VALUE_MAX_GAIN, "algorithms.max_gain"),
        (codes.VALUE_MAX_GAIN, "algorithms.max_gain_oom"),
    ):
        if name in p:
            value_row[slot] = rows[name]
            value_is_log10[slot] = name.endswith("_oom")
    rate_scale_row = np.full(4, -1, dtype=np.int64)
    if "algorithms.rate_multiplier" in p:
        rate_scale_row[codes.GROWTH_ALGORITHMS] = rows["algorithms.rate_multiplier"]

    n_regimes = len(scenario.regimes) + 1
    rate_row = np.full((4, n_regimes), -1, dtype=np.int64)
    rate_kind = np.zeros((4, n_regimes), dtype=np.int64)
    cap_growth = "economy.gdp_growth_per_year" if "spend.cap_gdp_fraction" in p else "spend.cap_growth_per_year"
    for r in range(n_regimes):
        priors = p if r == 0 else scenario.regimes[r - 1].priors
        for q, section in _GROWTH_KEYS.items():
            row, kind = _rate(priors, section, rows)
            if row >= 0:
                rate_row[q, r], rate_kind[q, r] = row, kind
            elif r > 0:  # unchanged by this regime
                rate_row[q, r], rate_kind[q, r] = rate_row[q, r - 1], rate_kind[q, r - 1]
        if cap_growth in priors:
            rate_row[codes.GROWTH_CAP, r] = rows[priors[cap_growth].name]
            rate_kind[codes.GROWTH_CAP, r] = codes.RATE_GROWTH_PER_YEAR
        elif r > 0:
            rate_row[codes.GROWTH_CAP, r] = rate_row[codes.GROWTH_CAP, r - 1]
            rate_kind[codes.GROWTH_CAP, r] = rate_kind[codes.GROWTH_CAP, r - 1]

    interval_starts = year_grid(scenario)[:-1]
    boundaries = np.array([regime.start_year for regime in scenario.regimes])
    # A regime covers every interval that starts at or after its year.
    interval_regime = np.searchsorted(boundaries, interval_starts + 1e-9, side="right").astype(np.int64)

    has_cap = value_row[codes.VALUE_CAP] >= 0
    variable_slot = np.full(codes.N_VARIABLES, -1, dtype=np.int64)
    slot = 0
    for v, name in enumerate(METRICS):
        if name != "cap" or has_cap:
            variable_slot[v] = slot
            slot += 1
    return ModelPlan(
        value_row=value_row,
        value_sign=value_sign,
        value_is_log10=value_is_log10,
        rate_row=rate_row,
        rate_kind=rate_kind,
        rate_scale_row=rate_scale_row,
        interval_regime=interval_regime,
        step=float(scenario.step),
        cap_mode=_CEILING_MODES[scenario.cap_kind] if has_cap else codes.CEILING_NONE,
        hardware_mode=_CEILING_MODES[scenario.hardware_ceiling_kind]
        if value_row[codes.VALUE_MAX_FLOP_PER_USD] >= 0
        else codes.CEILING_NONE,
        algorithms_mode=_CEILING_MODES[scenario.algorithms_ceiling_kind]
        if value_row[codes.VALUE_MAX_GAIN] >= 0
        else codes.CEILING_NONE,
        variable_slot=variable_slot,
    )


def compile_plan(scenario: Scenario) -> tuple[PriorTable, list[str], ModelPlan, list[str]]:
    """Return the prior table, parameter names, model plan and kept variables."""
    table, names = build_prior_table(scenario)
    plan = build_model_plan(scenario, {name: i for i, name in enumerate(names)})
    variables = [name for v, name in enumerate(METRICS) if plan.variable_slot[v] >= 0]
    return table, names, plan, variables
