"""Which belief drives an answer: tornado swings and Sobol indices, evaluated with the kernels.

The model is a function of a matrix of standard normals, one column per sampled prior
(SALib's view): the kernels turn a row of correlated normals into the priors' values
(:func:`~mcscale.sim.kernels.sampling.parameters_from_normals`), propagate the
trajectories, and the question becomes one number per draw:

- ``P(...)``: the indicator of the event;
- ``year METRIC >= THRESHOLD``: the crossing year [year]; a draw that never crosses counts
  as the horizon's end plus one step, and P(never) is reported beside the indices;
- ``METRIC in YEAR`` (or ``quantiles METRIC in YEAR``): the log10 value of the metric in
  that grid year [log10 of its unit].

**Tornado** (the default): each uncertain prior held at its 5th and then its 95th
percentile while the others are sampled, with common random numbers (the same normals
for every bar), so a swing is not noise. Under correlation the others are drawn from
their conditional distribution given the held prior, which the Gaussian copula makes
exact: with correlated normals ``z`` and correlation ``R``, ``z_j - R_ji z_i + R_ji z*``
is a draw of ``z_j`` given ``z_i = z*``. The answer is the probability, or the median.

**Sobol**: first-order (Saltelli 2010) and total (Jansen 1999) indices of the per-draw
quantity's variance, with bootstrap 90% intervals. Correlated priors are grouped (the
connected components of the correlation graph) and get group indices: under the
Gaussian copula the groups are independent, so group indices are well defined, where
per-prior indices of dependent inputs would not be. Lookups move with their source.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special, stats

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError, resolve_threshold
from mcscale.query import check_query, parse_question, scenario_references
from mcscale.sim.encode import compile_plan, year_grid
from mcscale.sim.executors import default_threads
from mcscale.sim.kernels.sampling import parameters_from_normals
from mcscale.sim.kernels.trajectory import propagate
from mcscale.stats import crossing_years
from mcscale.units import METRICS, parameter_unit

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "EVALUATION_CHUNK",
    "Quantity",
    "SobolIndex",
    "SobolResult",
    "TornadoBar",
    "TornadoResult",
    "correlated_groups",
    "quantity_of",
    "sobol",
    "tornado",
]

#: Draws evaluated at a time (a thread's share): bounds the trajectory scratch [draws].
EVALUATION_CHUNK = 16_384
#: Batches of draws for the MCSE of tornado answers (batch means).
MCSE_BATCHES = 20
#: Quantile levels a tornado holds each prior at.
TORNADO_LEVELS = (0.05, 0.95)

_VALUE_IN_YEAR = re.compile(r"^\s*(?:quantiles\s+)?([A-Za-z_]+)\s+in\s+([0-9.]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    """The per-draw quantity a question becomes.

    Parameters
    ----------
    question : str
        As written.
    kind : str
        ``"indicator"``, ``"crossing_year"`` or ``"log10_value"``.
    metric : str
        The trajectory variable.
    unit : str
        Unit of the per-draw quantity: ``"1"``, ``"year"`` or ``"log10(FLOP)"``...
    evaluate : callable
        ``evaluate(log10_trajectories, parameters) -> ndarray (n_draws,)``, where
        ``log10_trajectories`` has shape (n_kept, n_draws, n_years) and ``parameters``
        (n_params, n_draws).
    never_value : float or None
        For crossing years: the value a draw that never crosses gets [year].
    """

    question: str
    kind: str
    metric: str
    unit: str
    evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    never_value: float | None = None

    def answer(self, values: np.ndarray) -> float:
        """Return the headline answer of per-draw values: the probability, or the median."""
        return float(values.mean()) if self.kind == "indicator" else float(np.median(values))


def quantity_of(scenario: Scenario, question: str) -> Quantity:
    """Turn a question into the per-draw quantity sensitivity analyses.

    Parameters
    ----------
    scenario : Scenario
    question : str
        ``P(...)``, ``year METRIC >= THRESHOLD``, or ``METRIC in YEAR``.

    Returns
    -------
    Quantity

    Raises
    ------
    QueryError
        For a question of another kind, or one the scenario cannot answer.
    """
    _, names, plan, variables = compile_plan(scenario)
    rows = {name: i for i, name in enumerate(names)}
    years = year_grid(scenario)
    match = _VALUE_IN_YEAR.match(question)
    if match:
        metric, year = match.group(1).lower(), float(match.group(2))
        query = parse_question(f"quantiles {metric} in {year:g}", scenario_references(scenario))
    else:
        query = parse_question(question, scenario_references(scenario))
    check_query(query, scenario)
    if query.metric not in variables:
        raise QueryError(f"{question}: the scenario has no {query.metric}")
    slot = variables.index(query.metric)
    if query.kind == "quantiles":
        k = _grid_index(years, query.year)
        return Quantity(question, "log10_value", query.metric, f"log10({METRICS[query.metric]})", _value_at(slot, k))
    if query.kind not in ("probability", "crossing_year"):
        raise QueryError(f"{question}: sensitivity analyses P(...), 'year METRIC >= X' or 'METRIC in YEAR' questions")
    log10_value, row_name = resolve_threshold(scenario, query.threshold)
    sign = 1.0 if query.op == ">=" else -1.0
    row = rows[row_name] if row_name else -1

    def limits(parameters: np.ndarray) -> np.ndarray:
        extra = np.log10(parameters[row]) if row >= 0 else 0.0
        return np.broadcast_to(sign * (log10_value + extra), parameters.shape[1:])

    if query.kind == "probability":
        k = _grid_index(years, query.year, by=query.by)
        return Quantity(question, "indicator", query.metric, "1", _indicator(slot, k, query.by, sign, limits))
    never = float(years[-1] + scenario.step)

    def crossing(trajectories: np.ndarray, parameters: np.ndarray) -> np.ndarray:
        values = sign * trajectories[slot]
        found = crossing_years(values, np.ascontiguousarray(limits(parameters)), years)
        return np.where(np.isinf(found), never, found)

    return Quantity(question, "crossing_year", query.metric, "year", crossing, never_value=never)


def _grid_index(years: np.ndarray, year: float, by: bool = False) -> int:
    if by:
        return int(np.searchsorted(years, year + 1e-9, side="right")) - 1
    return int(np.argmin(np.abs(years - year)))


def _value_at(slot: int, k: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda trajectories, parameters: trajectories[slot, :, k].copy()


def _indicator(
    slot: int, k: int, by: bool, sign: float, limits: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def evaluate(trajectories: np.ndarray, parameters: np.ndarray) -> np.ndarray:
        values = sign * trajectories[slot]
        extreme = values[:, : k + 1].max(axis=1) if by else values[:, k]
        return (extreme >= limits(parameters)).astype(np.float64)

    return evaluate


# --------------------------------------------------------------------------- #
# The model as a function of normals                                           #
# --------------------------------------------------------------------------- #


class _Model:
    """A scenario's per-draw quantity as a function of a matrix of correlated normals."""

    def __init__(self, scenario: Scenario, quantity: Quantity, threads: int | None, client: Client | None) -> None:
        self.table, self.names, self.plan, self.variables = compile_plan(scenario)
        self.client = client
        self.n_years = scenario.n_years
        self.quantity = quantity
        self.threads = max(1, threads or default_threads())
        self.cholesky = self.table.cholesky
        self.correlation = self.cholesky @ self.cholesky.T
        self.sampled = [name for name, index in zip(self.names, self.table.normal_index, strict=True) if index >= 0]
        self.sampled.sort(key=lambda name: int(self.table.normal_index[self.names.index(name)]))

    def parameters(self, z: np.ndarray) -> np.ndarray:
        """Return the priors' values [canonical units] at correlated normals ``z`` (n_normals, n)."""
        out = np.empty((self.table.n_params, z.shape[1]))
        parameters_from_normals(np.ascontiguousarray(z if z.shape[0] else np.zeros((1, z.shape[1]))), self.table, out)
        return out

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the client: a worker evaluates chunks, it does not submit them."""
        return {**self.__dict__, "client": None}

    def evaluate(self, z: np.ndarray) -> np.ndarray:
        """Return the per-draw quantity at one chunk of correlated normals ``z`` (n_normals, n)."""
        parameters = self.parameters(z)
        trajectories = np.empty((len(self.variables), z.shape[1], self.n_years))
        propagate(parameters, self.plan, trajectories)
        return self.quantity.evaluate(trajectories, parameters)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return the per-draw quantity at correlated normals ``z`` (n_normals, n_draws), by chunks.

        The chunks run on threads, or as tasks on the dask cluster of ``client``; each
        chunk's values depend on its normals only, so the answers do not depend on where.
        """
        parts = [
            np.ascontiguousarray(z[:, start : start + EVALUATION_CHUNK])
            for start in range(0, z.shape[1], EVALUATION_CHUNK)
        ]
        if self.client is not None:
            from mcscale.sim.dask_executor import map_in_order

            return np.concatenate(map_in_order(self.client, self.evaluate, parts))
        with ThreadPoolExecutor(min(self.threads, len(parts))) as pool:  # the kernels release the GIL
            return np.concatenate(list(pool.map(self.evaluate, parts)))


def _normals(seed: int, stream: int, n_normals: int, n_draws: int) -> np.ndarray:
    """Independent standard normals (n_normals, n_draws) of one named stream of a seed."""
    generator = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(stream,))))
    return generator.standard_normal((n_normals, n_draws))


def _batch_mcse(statistic: Callable[[np.ndarray], float], values: np.ndarray) -> float:
    """MCSE of a statistic of draws by batch means: the spread over batches / sqrt(batches)."""
    batches = np.array_split(values, MCSE_BATCHES, axis=-1)
    return float(np.std([statistic(b) for b in batches], ddof=1) / math.sqrt(MCSE_BATCHES))


# --------------------------------------------------------------------------- #
# Tornado                                                                      #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TornadoBar:
    """One prior's bar: the answer with the prior held at its 5th and 95th percentiles.

    Attributes
    ----------
    name : str
        The prior.
    low, high : float
        The answer with the prior at its 5th / 95th percentile [the answer's unit].
    swing : float
        ``high - low``.
    mcse, low_mcse, high_mcse : float
        MCSE of the swing (paired: common random numbers) and of each end.
    prior_low, prior_high : float
        The prior's 5th and 95th percentiles [its canonical unit, ``prior_unit``].
    prior_unit : str
    rank_correlation : float
        Spearman correlation of the prior's draws with the per-draw quantity.
    moves_with : tuple of str
        Lookups that follow this prior.
    """

    name: str
    low: float
    high: float
    swing: float
    mcse: float
    low_mcse: float
    high_mcse: float
    prior_low: float
    prior_high: float
    prior_unit: str
    rank_correlation: float
    moves_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class TornadoResult:
    """A tornado: the base answer and one bar per uncertain prior, largest swing first."""

    quantity: Quantity
    base: float
    base_mcse: float
    bars: tuple[TornadoBar, ...]
    n_draws: int
    seed: int
    p_never: float | None
    conditional: bool
    seconds: float

    @property
    def method(self) -> str:
        """What was computed, in words."""
        how = (
            "others drawn from their conditional distribution given it (Gaussian copula)"
            if self.conditional
            else "others sampled as usual"
        )
        return f"tornado: each prior held at its 5th and 95th percentile, {how}; common random numbers"

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per prior."""
        common = {"method": "tornado", "question": self.quantity.question, "n_draws": self.n_draws, "seed": self.seed}
        common.update({"base": self.base, "base_mcse": self.base_mcse, "unit": self.quantity.unit})
        if self.p_never is not None:
            common["p_never"] = self.p_never
        return [{**common, **bar.__dict__, "moves_with": list(bar.moves_with)} for bar in self.bars]


def _lookups_of(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    priors = scenario.all_priors()
    out: dict[str, list[str]] = {}
    for name, spec in priors.items():
        if spec.dist == "lookup":
            source = spec.of
            while priors[source].dist == "lookup":
                source = priors[source].of
            out.setdefault(source, []).append(name)
    return {k: tuple(v) for k, v in out.items()}


def tornado(
    scenario: Scenario,
    question: str,
    n_draws: int = 100_000,
    seed: int = 0,
    threads: int | None = None,
    client: Client | None = None,
) -> TornadoResult:
    """Swing of an answer as each uncertain prior goes from its 5th to its 95th percentile.

    Parameters
    ----------
    scenario : Scenario
    question : str
        See :func:`quantity_of`.
    n_draws : int, optional
        Draws per evaluation (each bar end is one evaluation).
    seed : int, optional
        The result is a function of (scenario, question, n_draws, seed) only.
    threads : int, optional
        Threads; the result does not depend on them.
    client : distributed.Client, optional
        Evaluate on this dask cluster instead (the same result).

    Returns
    -------
    TornadoResult
    """
    started = time.perf_counter()
    model = _Model(scenario, quantity_of(scenario, question), threads, client)
    quantity, k = model.quantity, len(model.sampled)
    z = model.cholesky @ _normals(seed, 0, k, n_draws)
    base_values = model(z)
    parameters = model.parameters(z)
    lookups = _lookups_of(scenario)
    bars = []
    for i, name in enumerate(model.sampled):
        ends = []
        for level in TORNADO_LEVELS:
            held = float(special.ndtri(level))
            conditioned = z - np.outer(model.correlation[:, i], z[i]) + held * model.correlation[:, i][:, None]
            ends.append(model(conditioned))
        low, high = ends
        row = model.names.index(name)
        prior_ends = model.parameters(
            np.where(np.arange(k)[:, None] == i, special.ndtri(np.array(TORNADO_LEVELS))[None, :], 0.0)
        )[row]
        rank = stats.spearmanr(parameters[row], base_values).statistic if np.ptp(base_values) > 0 else 0.0
        bars.append(
            TornadoBar(
                name=name,
                low=quantity.answer(low),
                high=quantity.answer(high),
                swing=quantity.answer(high) - quantity.answer(low),
                mcse=_batch_mcse(lambda pair: quantity.answer(pair[1]) - quantity.answer(pair[0]), np.stack(ends)),
                low_mcse=_batch_mcse(quantity.answer, low),
                high_mcse=_batch_mcse(quantity.answer, high),
                prior_low=float(prior_ends[0]),
                prior_high=float(prior_ends[1]),
                prior_unit=parameter_unit(name),
                rank_correlation=float(rank) if np.isfinite(rank) else 0.0,
                moves_with=lookups.get(name, ()),
            )
        )
    bars.sort(key=lambda bar: -abs(bar.swing))
    never = None if quantity.never_value is None else float(np.mean(base_values == quantity.never_value))
    return TornadoResult(
        quantity=quantity,
        base=quantity.answer(base_values),
        base_mcse=_batch_mcse(quantity.answer, base_values),
        bars=tuple(bars),
        n_draws=n_draws,
        seed=seed,
        p_never=never,
        conditional=bool(np.any(model.correlation != np.eye(k))),
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- #
# Sobol                                                                        #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class SobolIndex:
    """First-order and total Sobol index of one prior, or of a group of correlated priors.

    Attributes
    ----------
    name : str
        The prior, or the group's priors joined by ``" + "``.
    members : tuple of str
        The priors of the group (one for an uncorrelated prior).
    first_order, total : float
        Shares of the per-draw quantity's variance [fraction].
    first_order_ci, total_ci : tuple of float
        Bootstrap 90% intervals.
    """

    name: str
    members: tuple[str, ...]
    first_order: float
    first_order_ci: tuple[float, float]
    total: float
    total_ci: tuple[float, float]


@dataclass(frozen=True)
class SobolResult:
    """Sobol indices of one question's per-draw quantity."""

    quantity: Quantity
    indices: tuple[SobolIndex, ...]
    variance: float
    n_draws: int
    seed: int
    n_bootstrap: int
    p_never: float | None
    grouped: bool
    seconds: float

    @property
    def method(self) -> str:
        """What was computed, in words."""
        text = "sobol: first-order (Saltelli 2010) and total (Jansen) indices, bootstrap 90% intervals"
        if self.grouped:
            text += "; correlated priors are grouped and get group indices (the groups are independent)"
        return text

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per prior or group."""
        common = {"method": "sobol", "question": self.quantity.question, "n_draws": self.n_draws, "seed": self.seed}
        common.update({"variance": self.variance, "n_bootstrap": self.n_bootstrap, "unit": self.quantity.unit})
        if self.p_never is not None:
            common["p_never"] = self.p_never
        return [
            {
                **common,
                "name": index.name,
                "members": list(index.members),
                "first_order": index.first_order,
                "first_order_ci": list(index.first_order_ci),
                "total": index.total,
                "total_ci": list(index.total_ci),
            }
            for index in self.indices
        ]


def correlated_groups(correlation: np.ndarray) -> list[list[int]]:
    """Return the connected components of the graph of nonzero correlations, in index order."""
    n = correlation.shape[0]
    seen: set[int] = set()
    groups = []
    for start in range(n):
        if start in seen:
            continue
        group, stack = [], [start]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            group.append(i)
            stack += [j for j in range(n) if j not in seen and correlation[i, j] != 0.0]
        groups.append(sorted(group))
    return groups


def _sobol_estimates(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order (Saltelli 2010) and total (Jansen) indices; ``f_ab`` has one row per group."""
    # Centred first: the estimators are unchanged in expectation by a shift of f, but their
    # variance grows with its mean (log10 FLOP is about 30).
    centre = np.mean(np.concatenate([f_a, f_b]))
    f_a, f_b, f_ab = f_a - centre, f_b - centre, f_ab - centre
    variance = np.var(np.concatenate([f_a, f_b]))
    if variance == 0:
        return np.zeros(len(f_ab)), np.zeros(len(f_ab))
    first = np.mean(f_b * (f_ab - f_a), axis=1) / variance
    total = 0.5 * np.mean((f_a - f_ab) ** 2, axis=1) / variance
    return first, total


def sobol(
    scenario: Scenario,
    question: str,
    n_draws: int = 100_000,
    seed: int = 0,
    threads: int | None = None,
    n_bootstrap: int = 500,
    client: Client | None = None,
) -> SobolResult:
    """Sobol indices of a question's per-draw quantity, with bootstrap 90% intervals.

    Parameters
    ----------
    scenario : Scenario
    question : str
        See :func:`quantity_of`.
    n_draws : int, optional
        Base draws N; the design costs N (groups + 2) evaluations.
    seed : int, optional
    threads : int, optional
        Threads; the result does not depend on them.
    n_bootstrap : int, optional
        Bootstrap resamples of the N rows for the intervals.
    client : distributed.Client, optional
        Evaluate on this dask cluster instead (the same result).

    Returns
    -------
    SobolResult
    """
    started = time.perf_counter()
    model = _Model(scenario, quantity_of(scenario, question), threads, client)
    quantity, k = model.quantity, len(model.sampled)
    groups = correlated_groups(model.correlation)
    a, b = _normals(seed, 1, k, n_draws), _normals(seed, 2, k, n_draws)
    # the Cholesky factor is block-diagonal over the groups: swapping a group's independent
    # normals between A and B keeps each group's joint (correlated) distribution
    f_a, f_b = model(model.cholesky @ a), model(model.cholesky @ b)
    f_ab = np.empty((len(groups), n_draws))
    for g, members in enumerate(groups):
        mixed = a.copy()
        mixed[members] = b[members]
        f_ab[g] = model(model.cholesky @ mixed)
    first, total = _sobol_estimates(f_a, f_b, f_ab)
    generator = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(3,))))
    boot_first = np.empty((n_bootstrap, len(groups)))
    boot_total = np.empty((n_bootstrap, len(groups)))
    for r in range(n_bootstrap):
        rows = generator.integers(0, n_draws, n_draws)
        boot_first[r], boot_total[r] = _sobol_estimates(f_a[rows], f_b[rows], f_ab[:, rows])
    low, high = (1 - 0.9) / 2 * 100, (1 + 0.9) / 2 * 100
    indices = []
    for g, members in enumerate(groups):
        names = tuple(model.sampled[i] for i in members)
        indices.append(
            SobolIndex(
                name=" + ".join(names),
                members=names,
                first_order=float(first[g]),
                first_order_ci=tuple(float(x) for x in np.percentile(boot_first[:, g], [low, high])),
                total=float(total[g]),
                total_ci=tuple(float(x) for x in np.percentile(boot_total[:, g], [low, high])),
            )
        )
    indices.sort(key=lambda index: -index.total)
    never = None if quantity.never_value is None else float(np.mean(f_a == quantity.never_value))
    return SobolResult(
        quantity=quantity,
        indices=tuple(indices),
        variance=float(np.var(np.concatenate([f_a, f_b]))),
        n_draws=n_draws,
        seed=seed,
        n_bootstrap=n_bootstrap,
        p_never=never,
        grouped=any(len(members) > 1 for members in groups),
        seconds=time.perf_counter() - started,
    )
