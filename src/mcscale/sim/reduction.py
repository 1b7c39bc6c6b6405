"""Variance reduction for threshold questions: conditional Monte Carlo and importance sampling.

Both estimate ``P(metric >= T in/by Y)`` without bias, from Monte Carlo or randomised
quasi-Monte Carlo normals (:mod:`mcscale.sim.qmc`).

- **Conditional Monte Carlo** integrates out the prior factors that multiply the metric
  by the same factor in every year: untruncated lognormal priors outside the copula's
  correlated block, such as ``hardware.flop_per_usd`` without a hardware ceiling. Their
  log10 sum ``X`` is normal (mean ``mu``, sd ``s``), so given the rest of a draw
  ``P(metric >= T by Y) = Phi((mu + max_{t <= Y} rest_t - log10 T) / s)``: each draw
  contributes that smooth probability instead of a 0/1 indicator, and the factors sit at
  1 in the trajectory.
- **Importance sampling** shifts the mean of the independent standard normals of a
  draw (before the Cholesky factor) by ``theta`` and weights each draw by
  ``exp(-theta . z + |theta|^2 / 2)``; ``theta`` comes from a cross-entropy pilot.

The estimate is the mean of ``w f`` (``f`` the indicator or the smooth probability, ``w``
the weight or 1). Its MCSE is the sample standard deviation of ``w f`` over sqrt(n) with
Monte Carlo, or the spread of the ``R`` scramblings' means over sqrt(R) with QMC. Sums
are taken per chunk in draw order and added in chunk order: the same bits on any
thread count.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError
from mcscale.sim.accumulators import ThresholdSpec
from mcscale.sim.chunks import DEFAULT_CHUNK_SIZE, ChunkLayout, chunk_generator, chunk_layout
from mcscale.sim.encode import year_grid
from mcscale.sim.engine import StreamTask, setup_stream
from mcscale.sim.executors import in_chunk_order, kept
from mcscale.sim.kernels import codes
from mcscale.sim.kernels.sampling import correlate_normals, parameters_from_normals, standard_normals
from mcscale.sim.kernels.trajectory import target_margins, weighted_sums
from mcscale.sim.qmc import MAX_DIMENSION, SobolEngines, check_replicates

__all__ = [
    "METHODS",
    "PILOT_DRAWS",
    "TAIL_LIMIT",
    "Conditioning",
    "ReducedRun",
    "Target",
    "conditioning",
    "simulate_reduced",
]

#: The variance reductions :func:`simulate_reduced` knows.
METHODS = ("conditional", "importance")
#: Draws of each round of the importance-sampling pilot.
PILOT_DRAWS = 2**14
#: Cross-entropy: the elite share of each pilot round, and the most rounds.
_ELITE = 0.1
_ROUNDS = 12
#: Importance sampling is for tails: refused where the pilot's plain estimate is above this.
TAIL_LIMIT = _ELITE
_LN10 = math.log(10.0)
# Which trajectory variables each start value multiplies in every year, and the ceiling mode that would bend it.
_FACTORS = (
    (codes.VALUE_FLOP_PER_USD, ("flop_per_usd", "physical_flop", "effective_flop"), "hardware_mode"),
    (codes.VALUE_UTILIZATION, ("physical_flop", "effective_flop"), None),
    (codes.VALUE_SPEND, ("spend", "physical_flop", "effective_flop"), "cap_mode"),
)


class Target(NamedTuple):
    """One probability to estimate: a threshold, the grid year (index), and "by" (else "in")."""

    threshold: ThresholdSpec
    step: int
    by: bool


class Conditioning(NamedTuple):
    """The prior factors conditional Monte Carlo integrates out, and the law of their log10 sum.

    Attributes
    ----------
    rows : tuple of int
        Their prior rows.
    names : tuple of str
    mean, sd : float
        Mean and standard deviation of the sum of their log10 values [dex].
    """

    rows: tuple[int, ...]
    names: tuple[str, ...]
    mean: float
    sd: float


class ReducedRun(NamedTuple):
    """Sums of a variance-reduced run.

    Attributes
    ----------
    sums : ndarray, shape (n_groups, n_targets, 2)
        Per group (a chunk with Monte Carlo, a scrambling with QMC): sum of ``w f`` and of
        its square.
    weights : ndarray, shape (n_groups, 2)
        Sum of the weights and of their squares.
    group_draws : int
        Draws per group.
    sampler : str
    method : str
    details : dict
        What the answers report: the integrated factors, or theta and the pilot.
    """

    sums: np.ndarray
    weights: np.ndarray
    group_draws: int
    sampler: str
    method: str
    details: dict

    @property
    def n_draws(self) -> int:
        """Draws in all (the pilot's not counted)."""
        return self.group_draws * self.sums.shape[0]

    def estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """Each target's estimate and its MCSE (see the module's docstring)."""
        if self.sampler == "qmc":
            shares = self.sums[:, :, 0] / self.group_draws
            return shares.mean(axis=0), shares.std(axis=0, ddof=1) / math.sqrt(shares.shape[0])
        n = self.n_draws
        total, squares = self.sums[:, :, 0].sum(axis=0), self.sums[:, :, 1].sum(axis=0)
        mean = total / n
        variance = np.maximum(squares / n - mean**2, 0.0) * n / (n - 1)
        return mean, np.sqrt(variance / n)

    def effective_sample_size(self) -> float:
        """Kish's effective sample size of the weights, ``(sum w)^2 / sum w^2``."""
        total, squares = self.weights.sum(axis=0)
        return float(total**2 / squares)


def conditioning(scenario: Scenario, metrics: set[str], table, names: list[str], plan) -> Conditioning:
    """Find the prior factors that conditional Monte Carlo can integrate out of ``metrics``.

    A factor qualifies when it multiplies every metric asked by the same factor in every
    year (no ceiling bends it), is an untruncated lognormal, is outside the copula's
    correlated block, and drives nothing else (a growth rate, a lookup, a threshold).

    Raises
    ------
    QueryError
        When none qualifies, naming why each candidate does not.
    """
    chol = table.cholesky
    used_elsewhere = {int(r) for r in (*plan.rate_row.ravel(), *plan.rate_scale_row, *table.source) if r >= 0}
    rows, reasons, means, variances = [], [], [], []
    for slot, multiplied, ceiling in _FACTORS:
        row = int(plan.value_row[slot])
        if row < 0:
            continue
        name = names[row]
        c = int(table.normal_index[row])
        others = [int(r) for s, r in enumerate(plan.value_row) if s != slot and r >= 0]
        if not metrics <= set(multiplied):
            reason = f"{name} does not multiply {', '.join(sorted(metrics - set(multiplied)))}"
        elif ceiling is not None and getattr(plan, ceiling) != codes.CEILING_NONE:
            reason = f"{name} is bent by a ceiling" if slot != codes.VALUE_SPEND else f"{name} is capped (spend.cap)"
        elif table.kind[row] == codes.KIND_MIXTURE:
            reason = f"{name} is a mixture prior"
        elif table.kind[row] != codes.KIND_LOGNORMAL:
            reason = f"{name} is not lognormal"
        elif table.truncated[row]:
            reason = f"{name} is truncated"
        elif np.any(chol[c, :c] != 0.0) or np.any(chol[c + 1 :, c] != 0.0):
            reason = f"{name} is correlated with another prior"
        elif row in used_elsewhere or row in others:
            reason = f"{name} drives another part of the model"
        else:
            rows.append(row)
            sign = float(plan.value_sign[slot])
            means.append(sign * (table.a[row] / _LN10 + math.log10(table.scale[row])))
            variances.append((table.b[row] / _LN10) ** 2)
            continue
        reasons.append(reason)
    if not rows:
        why = "; ".join(reasons) or "it has none"
        raise QueryError(f"--variance-reduction conditional: no prior factor of the metric can be integrated ({why})")
    return Conditioning(tuple(rows), tuple(names[r] for r in rows), float(sum(means)), math.sqrt(sum(variances)))


class _Model(NamedTuple):
    """What every chunk needs: the encoded scenario, the targets as kernel arrays, the conditioning."""

    task: StreamTask
    target_threshold: np.ndarray
    target_step: np.ndarray
    target_by: np.ndarray
    shift: np.ndarray
    conditioning: Conditioning | None

    def margins(self, z_raw: np.ndarray) -> np.ndarray:
        """Per-draw margins of the targets (:func:`target_margins`) at independent normals ``z_raw``."""
        table = self.task.chunk.table
        z = np.zeros((max(z_raw.shape[0], 1), z_raw.shape[1]))
        correlate_normals(z_raw, table, z)
        params = np.empty((table.n_params, z_raw.shape[1]))
        parameters_from_normals(z, table, params)
        if self.conditioning is not None:
            params[list(self.conditioning.rows)] = 1.0  # integrated out: log10 of it is 0
        return target_margins(
            params, self.task.chunk.plan, self.task.stream, self.target_threshold, self.target_step, self.target_by
        )

    def sums(self, z_raw: np.ndarray, theta: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Return the sums of ``w f`` (and squares) per target and of the weights, at ``z_raw`` shifted by ``theta``."""
        if theta is None:
            weights = np.ones(z_raw.shape[1])
        else:
            z_raw = z_raw + theta[:, None]
            weights = np.exp(0.5 * float(theta @ theta) - theta @ z_raw)
        scale = 0.0 if self.conditioning is None else self.conditioning.sd
        totals = weighted_sums(self.margins(np.ascontiguousarray(z_raw)), self.shift, scale, weights)
        return totals, np.array([weights.sum(), (weights**2).sum()])


def _model(scenario: Scenario, targets: list[Target], method: str) -> _Model:
    thresholds = list(dict.fromkeys(t.threshold for t in targets))
    last_year = float(year_grid(scenario)[max(t.step for t in targets)])
    setup = setup_stream(scenario, 1, 0, 1, thresholds, histograms=False, last_year=last_year)
    task = setup.task
    table, plan = task.chunk.table, task.chunk.plan
    index = [thresholds.index(t.threshold) for t in targets]
    condition = None
    if method == "conditional":
        metrics = {t.threshold.variable for t in targets}
        condition = conditioning(scenario, metrics, table, setup.run.parameter_names, plan)
        if set(condition.rows) & {int(r) for r in task.stream.threshold_row if r >= 0}:
            raise QueryError("--variance-reduction conditional: the threshold is drawn from a factor it integrates")
    mean = 0.0 if condition is None else condition.mean
    return _Model(
        task,
        np.array(index, dtype=np.int64),
        np.array([t.step for t in targets], dtype=np.int64),
        np.array([t.by for t in targets], dtype=np.int64),
        np.array([t.threshold.sign * mean for t in targets], dtype=np.float64),
        condition,
    )


def _pilot_theta(model: _Model, d: int, seed: int) -> tuple[np.ndarray, dict]:
    """Cross-entropy mean shift toward the rarest target (Rubinstein and Kroese, "The Cross-Entropy Method").

    Each round draws :data:`PILOT_DRAWS` normals around the current ``theta``, relaxes
    the event to the top :data:`_ELITE` share of margins (or to the event itself once
    that many meet it), and moves ``theta`` to the likelihood-weighted mean of the
    elite normals. The pilot's generators are seeded from the run's seed alone.
    """
    theta = np.zeros(d)
    target = 0
    for round_ in range(_ROUNDS):
        rng = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(2**32, round_))))
        z = rng.standard_normal((d, PILOT_DRAWS)) + theta[:, None]
        margins = model.margins(np.ascontiguousarray(z))
        if round_ == 0:
            shares = (margins >= 0.0).mean(axis=1)
            target = int(np.argmin(shares))
            if shares[target] > TAIL_LIMIT:
                raise QueryError(
                    f"--variance-reduction importance is for tail probabilities: the pilot puts this one at "
                    f"{shares[target]:.3g} (> {TAIL_LIMIT:g}); use --variance-reduction conditional or none"
                )
        margin = margins[target]
        level = min(0.0, float(np.quantile(margin, 1.0 - _ELITE)))
        elite = margin >= level
        weights = np.exp(0.5 * float(theta @ theta) - theta @ z) * elite
        theta = (z * weights).sum(axis=1) / weights.sum()
        if level == 0.0:
            break
    details = {"theta": [round(float(x), 4) for x in theta], "pilot_draws": (round_ + 1) * PILOT_DRAWS}
    return theta, details


def simulate_reduced(
    scenario: Scenario,
    targets: list[Target],
    n_draws: int,
    seed: int = 0,
    method: str = "conditional",
    sampler: str = "mc",
    replicates: int = 16,
    threads: int | None = None,
    reuse: dict | None = None,
) -> ReducedRun:
    """Estimate the targets' probabilities with a variance reduction (see the module's docstring).

    Parameters
    ----------
    scenario : Scenario
    targets : list of Target
    n_draws : int
        Draws in all: whole chunks with ``"mc"``; ``replicates`` times a power of 2 with ``"qmc"``.
    seed : int, optional
    method : {"conditional", "importance"}
    sampler : {"mc", "qmc"}
    replicates : int, optional
        Scramblings of a QMC run.
    threads : int, optional
        Worker threads; results do not depend on it.
    reuse : dict, optional
        Chunk sums of earlier calls on the same scenario, read and filled in (keyed by
        method, seed, targets, dimension, shift and the chunk's place, sampler
        included): a chunk is a pure function of them, so
        a precision loop that grows a QMC run computes only the points it adds, with
        the same bits as a fresh run.

    Returns
    -------
    ReducedRun

    Raises
    ------
    QueryError
        When the method cannot apply to these questions (it says why).
    """
    if method not in METHODS:
        raise ValueError(f"variance reduction must be one of {', '.join(METHODS)}, got {method!r}")
    if sampler not in ("mc", "qmc"):
        raise ValueError(f"sampler must be 'mc' or 'qmc', got {sampler!r}")
    model = _model(scenario, targets, method)
    d = model.task.chunk.table.cholesky.shape[0]
    if d == 0:
        raise QueryError(f"--variance-reduction {method}: the scenario samples no prior")
    theta, details = None, {}
    if method == "importance":
        theta, details = _pilot_theta(model, d, seed)
    else:
        details = {"integrated": list(model.conditioning.names)}
    if sampler == "mc":
        layout = chunk_layout(n_draws, DEFAULT_CHUNK_SIZE)
        per_group, group_draws = 1, layout.chunk_length

        def normals(k: int) -> np.ndarray:
            return chunk_generator(seed, k).standard_normal((d, layout.chunk_length))

        def position(k: int) -> tuple:
            return ("mc", k, layout.chunk_length)
    else:
        if d > MAX_DIMENSION:
            raise ValueError(f"scipy's Sobol sequence has at most {MAX_DIMENSION} dimensions; this scenario needs {d}")
        group_draws = check_replicates(n_draws, replicates)
        chunk_length = min(DEFAULT_CHUNK_SIZE, group_draws)
        per_group = group_draws // chunk_length
        layout = ChunkLayout(replicates * per_group, chunk_length)
        engines = SobolEngines()

        def normals(k: int) -> np.ndarray:
            replicate, chunk = divmod(k, per_group)
            u = engines.points(d, seed, replicate, chunk * chunk_length, chunk_length)
            z = np.empty((d, chunk_length))
            standard_normals(np.ascontiguousarray(u.T), z)
            return z

        def position(k: int) -> tuple:
            replicate, chunk = divmod(k, per_group)
            return ("qmc", replicate, chunk * chunk_length, chunk_length)

    # What fixes a chunk's sums besides its position; the scenario is the caller's to keep the same.
    fingerprint = (method, seed, tuple(targets), d, () if theta is None else tuple(theta.tolist()))

    def run_chunk(k: int) -> tuple[np.ndarray, np.ndarray]:
        return kept(reuse, (*fingerprint, *position(k)), lambda: model.sums(normals(k), theta))

    n_groups = layout.n_chunks // per_group
    sums = np.zeros((n_groups, len(targets), 2))
    weights = np.zeros((n_groups, 2))
    for k, (chunk_sums, chunk_weights) in enumerate(in_chunk_order(run_chunk, layout, threads, None)):
        sums[k // per_group] += chunk_sums
        weights[k // per_group] += chunk_weights
    return ReducedRun(sums, weights, group_draws, sampler, method, details)
