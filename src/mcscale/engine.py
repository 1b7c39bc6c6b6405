"""The engine: model plan, chunks, seeding and threads.

Draws are split into equal chunks. Chunk ``k`` draws from its own generator,
``SFC64(SeedSequence(seed).spawn(n)[k])``, and writes only its own slice of the
output, so a run is a pure function of (scenario, n_draws, seed, chunk_size):
the same bits whatever the number of threads or the order chunks finish in.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from mcscale import kernels
from mcscale.priors import PriorTable, build_prior_table
from mcscale.scenario import Scenario

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "TRAJECTORY_VARIABLES",
    "ChunkLayout",
    "ModelPlan",
    "RawRun",
    "build_model_plan",
    "chunk_generator",
    "chunk_layout",
    "default_threads",
    "simulate",
    "year_grid",
]

#: Largest number of draws per chunk.
DEFAULT_CHUNK_SIZE = 65536

#: Trajectory variables in kernel order, with their units.
TRAJECTORY_VARIABLES: dict[str, str] = {
    "spend": "USD",
    "cap": "USD",
    "flop_per_usd": "FLOP/USD",
    "physical_flop": "FLOP",
    "algo_multiplier": "1",
    "effective_flop": "FLOP",
}

_CEILING_MODES = {"hard": kernels.CEILING_HARD, "soft": kernels.CEILING_SOFT}
_GROWTH_KEYS = {
    kernels.GROWTH_SPEND: "spend",
    kernels.GROWTH_HARDWARE: "hardware",
    kernels.GROWTH_ALGORITHMS: "algorithms",
}


class ModelPlan(NamedTuple):
    """The model of a scenario as arrays the kernels read.

    Attributes
    ----------
    value_row : ndarray of int64, shape (N_VALUES,)
        Prior row of each start value (-1: absent).
    value_sign : ndarray of float64
        +1, or -1 where the file gives the inverse (``price_per_flop``).
    rate_row, rate_kind : ndarray of int64, shape (4, n_regimes)
        Prior row and form (doubling time or factor per year) of each growing
        quantity's rate in each regime.
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
    rate_row: np.ndarray
    rate_kind: np.ndarray
    interval_regime: np.ndarray
    step: float
    cap_mode: int
    hardware_mode: int
    algorithms_mode: int
    variable_slot: np.ndarray


class ChunkLayout(NamedTuple):
    """How draws are split: ``n_chunks`` chunks of ``chunk_length`` draws."""

    n_chunks: int
    chunk_length: int

    @property
    def n_draws(self) -> int:
        """Total number of draws."""
        return self.n_chunks * self.chunk_length


class RawRun(NamedTuple):
    """Arrays produced by :func:`simulate`.

    Attributes
    ----------
    parameters : ndarray, shape (n_params, n_chunks, chunk_length)
        Every prior's draws [canonical units].
    parameter_names : list of str
        Name of each parameter row.
    trajectories : ndarray, shape (n_kept, n_chunks, chunk_length, n_years)
        log10 of each kept trajectory variable.
    variables : list of str
        Name of each kept variable.
    years : ndarray
        The grid [year].
    layout : ChunkLayout
    seconds : float
        Wall time of the sampling [s].
    """

    parameters: np.ndarray
    parameter_names: list[str]
    trajectories: np.ndarray
    variables: list[str]
    years: np.ndarray
    layout: ChunkLayout
    seconds: float


def year_grid(scenario: Scenario) -> np.ndarray:
    """Return the scenario's grid years [year]."""
    return scenario.start + scenario.step * np.arange(scenario.n_years)


def chunk_layout(n_draws: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkLayout:
    """Split ``n_draws`` into equal chunks of at most ``chunk_size`` draws.

    The chunk count is the smallest that divides ``n_draws`` within a factor of
    two of the minimum, so round counts (10^5, 10^6, 10^7) split exactly. Where no
    such divisor exists the draws are rounded up to whole chunks.

    Parameters
    ----------
    n_draws : int
        Requested number of draws (> 0).
    chunk_size : int, optional
        Largest chunk.

    Returns
    -------
    ChunkLayout
    """
    if n_draws <= 0:
        raise ValueError(f"n_draws must be positive, got {n_draws}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    fewest = math.ceil(n_draws / chunk_size)
    for n_chunks in range(fewest, 2 * fewest + 1):
        if n_draws % n_chunks == 0:
            return ChunkLayout(n_chunks, n_draws // n_chunks)
    return ChunkLayout(fewest, math.ceil(n_draws / fewest))


def chunk_generator(seed: int, chunk: int) -> np.random.Generator:
    """Return chunk ``chunk``'s generator: ``SeedSequence(seed).spawn(...)[chunk]``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def default_threads() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set, else the CPU count."""
    value = os.environ.get("NUMBA_NUM_THREADS")
    return int(value) if value else (os.cpu_count() or 1)


def _rate(scenario_priors: dict, section: str, rows: dict[str, int]) -> tuple[int, int]:
    """Prior row and rate form of a section's growth, or (-1, none) if not given."""
    for key, kind in (
        ("doubling_time", kernels.RATE_DOUBLING_TIME),
        ("growth_per_year", kernels.RATE_GROWTH_PER_YEAR),
    ):
        name = f"{section}.{key}"
        if name in scenario_priors:
            return rows[scenario_priors[name].name], kind
    return -1, kernels.RATE_NONE


def build_model_plan(scenario: Scenario, rows: dict[str, int]) -> ModelPlan:
    """Encode the scenario's model equations for the kernels.

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
    value_row = np.full(kernels.N_VALUES, -1, dtype=np.int64)
    value_sign = np.ones(kernels.N_VALUES)
    value_row[kernels.VALUE_SPEND] = rows["spend.initial"]
    if "hardware.flop_per_usd" in p:
        value_row[kernels.VALUE_FLOP_PER_USD] = rows["hardware.flop_per_usd"]
    else:
        value_row[kernels.VALUE_FLOP_PER_USD] = rows["hardware.price_per_flop"]
        value_sign[kernels.VALUE_FLOP_PER_USD] = -1.0
    value_row[kernels.VALUE_UTILIZATION] = rows["utilization.value"]
    for slot, name in (
        (kernels.VALUE_CAP, "spend.cap"),
        (kernels.VALUE_CAP, "spend.cap_gdp_fraction"),
        (kernels.VALUE_CAP_SCALE, "economy.gdp"),
        (kernels.VALUE_MAX_FLOP_PER_USD, "hardware.max_flop_per_usd"),
        (kernels.VALUE_MAX_GAIN, "algorithms.max_gain"),
    ):
        if name in p:
            value_row[slot] = rows[name]

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
            rate_row[kernels.GROWTH_CAP, r] = rows[priors[cap_growth].name]
            rate_kind[kernels.GROWTH_CAP, r] = kernels.RATE_GROWTH_PER_YEAR
        elif r > 0:
            rate_row[kernels.GROWTH_CAP, r] = rate_row[kernels.GROWTH_CAP, r - 1]
            rate_kind[kernels.GROWTH_CAP, r] = rate_kind[kernels.GROWTH_CAP, r - 1]

    interval_starts = year_grid(scenario)[:-1]
    boundaries = np.array([regime.start_year for regime in scenario.regimes])
    # A regime covers every interval that starts at or after its year.
    interval_regime = np.searchsorted(boundaries, interval_starts + 1e-9, side="right").astype(np.int64)

    has_cap = value_row[kernels.VALUE_CAP] >= 0
    variable_slot = np.full(kernels.N_VARIABLES, -1, dtype=np.int64)
    slot = 0
    for v, name in enumerate(TRAJECTORY_VARIABLES):
        if name != "cap" or has_cap:
            variable_slot[v] = slot
            slot += 1
    return ModelPlan(
        value_row=value_row,
        value_sign=value_sign,
        rate_row=rate_row,
        rate_kind=rate_kind,
        interval_regime=interval_regime,
        step=float(scenario.step),
        cap_mode=_CEILING_MODES[scenario.cap_kind] if has_cap else kernels.CEILING_NONE,
        hardware_mode=_CEILING_MODES[scenario.hardware_ceiling_kind]
        if value_row[kernels.VALUE_MAX_FLOP_PER_USD] >= 0
        else kernels.CEILING_NONE,
        algorithms_mode=_CEILING_MODES[scenario.algorithms_ceiling_kind]
        if value_row[kernels.VALUE_MAX_GAIN] >= 0
        else kernels.CEILING_NONE,
        variable_slot=variable_slot,
    )


def compile_plan(scenario: Scenario) -> tuple[PriorTable, list[str], ModelPlan, list[str]]:
    """Return the prior table, parameter names, model plan and kept variables."""
    table, names = build_prior_table(scenario)
    plan = build_model_plan(scenario, {name: i for i, name in enumerate(names)})
    variables = [name for v, name in enumerate(TRAJECTORY_VARIABLES) if plan.variable_slot[v] >= 0]
    return table, names, plan, variables


def simulate(
    scenario: Scenario,
    n_draws: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> RawRun:
    """Sample a scenario and keep every (draw, year) value.

    Parameters
    ----------
    scenario : Scenario
    n_draws : int
        Requested draws; see :func:`chunk_layout` for how they are split.
    seed : int, optional
        Root seed.
    chunk_size : int, optional
        Largest chunk.
    threads : int, optional
        Worker threads (default :func:`default_threads`); results do not depend on it.

    Returns
    -------
    RawRun
    """
    layout = chunk_layout(n_draws, chunk_size)
    table, names, plan, variables = compile_plan(scenario)
    years = year_grid(scenario)
    parameters = np.empty((table.n_params, layout.n_chunks, layout.chunk_length))
    trajectories = np.empty((len(variables), layout.n_chunks, layout.chunk_length, len(years)))

    def run_chunk(k: int) -> None:
        kernels.simulate_chunk(chunk_generator(seed, k), table, plan, parameters[:, k], trajectories[:, k])

    started = time.perf_counter()
    n_threads = max(1, min(threads or default_threads(), layout.n_chunks))
    if n_threads == 1:
        for k in range(layout.n_chunks):
            run_chunk(k)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(run_chunk, range(layout.n_chunks)))
    return RawRun(
        parameters=parameters,
        parameter_names=names,
        trajectories=trajectories,
        variables=variables,
        years=years,
        layout=layout,
        seconds=time.perf_counter() - started,
    )
