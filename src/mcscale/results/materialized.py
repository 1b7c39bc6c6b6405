"""A materialized run: every (draw, year) value kept, in an ``xarray.DataTree``.

Layout (ArviZ conventions, chunks as chains):

- ``/prior``: one variable per sampled parameter, dims ``(chain, draw)``, in
  canonical units (``units`` attr) with the prior as written (``prior`` attr);
- ``/trajectories``: ``spend``, ``cap`` (when capped), ``flop_per_usd``,
  ``physical_flop``, ``algo_multiplier``, ``effective_flop``, dims
  ``(chain, draw, year)``, stored as log10 values (``units = "log10(FLOP)"``...);
- ``/summary``: per-year quantiles of every trajectory variable (log10);
- root attrs: scenario text, seed, draws, chunking, version, creation time.

A run on a dask cluster is lazy: ``prior`` and ``trajectories`` hold dask arrays,
one block per group of whole chains, sampled when computed; the summary's quantiles
are then found on the cluster, exactly (:func:`mcscale.sim.dask_executor.column_quantiles`).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError, Threshold, probability_text, resolve_threshold, threshold_text
from mcscale.results.answer import Answer
from mcscale.results.base import (
    Result,
    fixed_parameters,
    index_coordinate,
    numpy_variable,
    run_attrs,
    year_coordinate,
)
from mcscale.sim.engine import RawRun, chains_per_block
from mcscale.stats import chunk_homogeneity, column_quantiles, crossing_years, quantiles_with_mcse
from mcscale.units import DEFAULT_QUANTILES, METRICS, SUMMARY_QUANTILES, parameter_unit

__all__ = ["RHAT_LIMIT", "MaterializedResult", "chain_checks"]

#: Largest R-hat across chunks (chains) before an answer carries a warning.
RHAT_LIMIT = 1.01


class MaterializedResult(Result):
    """A materialized run: answers computed from every draw (see the module docstring for the layout)."""

    keeps_draws = True

    @classmethod
    def from_raw(cls, raw: RawRun, scenario: Scenario, seed: int, chunk_size: int) -> MaterializedResult:
        """Assemble the DataTree of a materialized run."""
        layout = raw.layout
        coords = {
            "chain": index_coordinate(np.arange(layout.n_chunks)),
            "draw": index_coordinate(np.arange(layout.chunk_length)),
        }
        priors = scenario.all_priors()
        prior_vars = {}
        for row, name in enumerate(raw.parameter_names):
            spec = priors[name]
            if spec.is_fixed:
                continue
            prior_vars[name] = numpy_variable(
                ("chain", "draw"),
                raw.parameters[row],
                attrs={"units": parameter_unit(name), "dist": spec.dist, "prior": json.dumps(spec.written)},
            )
        prior = xr.Dataset(prior_vars, coords=coords, attrs={"fixed_parameters": fixed_parameters(scenario)})
        year_coords = {**coords, "year": index_coordinate(year_coordinate(raw.years))}
        trajectories = xr.Dataset(
            {
                name: numpy_variable(
                    ("chain", "draw", "year"),
                    raw.trajectories[slot],
                    attrs={"units": f"log10({METRICS[name]})", "log10": 1},
                )
                for slot, name in enumerate(raw.variables)
            },
            coords=year_coords,
        )
        tree = xr.DataTree.from_dict(
            {
                "/": xr.Dataset(attrs=run_attrs(scenario, seed, layout, chunk_size, "materialized", raw.seconds)),
                "prior": prior,
                "trajectories": trajectories,
            }
        )
        return cls(tree, scenario)

    def complete(self) -> None:
        """Compute the ``summary`` group on first use (a sort of every year's draws: a query need not wait for it)."""
        if "summary" not in self._tree.children:
            self._tree["summary"] = xr.DataTree(_summary(self._tree["trajectories"].to_dataset()))

    @property
    def years(self) -> np.ndarray:
        """The year grid [year]."""
        return self._tree["trajectories"]["year"].values

    def zarr_encoding(self) -> dict[str, dict[str, Any]]:
        """Chunk the per-draw variables by whole chains, as the blocks of a lazy run (see :meth:`Result.to_zarr`)."""
        prior, trajectories = self._tree["prior"], self._tree["trajectories"]
        n_chains, n_draws, n_years = (trajectories.sizes[dim] for dim in ("chain", "draw", "year"))
        chains = min(n_chains, chains_per_block(n_draws, n_years))
        return {
            "/prior": {name: {"chunks": (chains, n_draws)} for name in prior.data_vars},
            "/trajectories": {name: {"chunks": (chains, n_draws, n_years)} for name in trajectories.data_vars},
        }

    @property
    def prior(self) -> xr.Dataset:
        """Parameter draws, dims ``(chain, draw)``; dask arrays in a lazy run."""
        return self._tree["prior"].to_dataset()

    @property
    def trajectories(self) -> xr.Dataset:
        """log10 trajectories, dims ``(chain, draw, year)``; dask arrays in a lazy run."""
        return self._tree["trajectories"].to_dataset()

    def log10_quantiles(self, metric: str, q: tuple[float, ...]) -> np.ndarray:
        """Per-year quantiles of log10 ``metric``, shape (len(q), n_years) (``np.quantile``, linear)."""
        return column_quantiles(self._metric(metric), np.asarray(q, dtype=float))

    def prior_quantiles(self, name: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of a parameter's draws [canonical units]."""
        return np.quantile(self.parameter_draws(name), q)

    def _signed(self, metric: str, threshold: Threshold, op: str) -> tuple[np.ndarray, np.ndarray]:
        """log10 values (n_draws, n_years) and per-draw thresholds, negated for ``<=`` so that ``>=`` serves."""
        values = self._metric(metric).reshape(-1, len(self.years))
        limit = np.broadcast_to(
            np.asarray(self._log10_threshold(threshold, metric), dtype=float).reshape(-1), (values.shape[0],)
        )
        return (-values, -limit) if op == "<=" else (values, limit)

    def exceedance_curve(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """P(metric >= threshold by year) for every grid year (no MCSE attached)."""
        values, limit = self._signed(metric, threshold, op)
        hit = np.maximum.accumulate(values, axis=1) >= limit[:, None]
        return np.count_nonzero(hit, axis=0) / values.shape[0]

    def crossing_histogram(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """Share of draws first crossing in each grid interval, shape (n_years - 1,); the rest never do."""
        first = crossing_years(*self._signed(metric, threshold, op), self.years)
        counts, _ = np.histogram(first[np.isfinite(first)], bins=self.years)
        return counts / first.size

    def parameter_draws(self, name: str) -> np.ndarray:
        """Return a parameter's draws, dims (chain, draw) [canonical units]; fixed ones broadcast."""
        prior = self.load()._tree["prior"]
        if name in prior.data_vars:
            return prior[name].values
        fixed = json.loads(prior.attrs.get("fixed_parameters", "{}"))
        if name in fixed:
            return np.full((prior.sizes["chain"], prior.sizes["draw"]), float(fixed[name]))
        raise QueryError(f"unknown parameter {name!r}; known: " + ", ".join(sorted([*prior.data_vars, *fixed])))

    # -- questions ----------------------------------------------------------

    def _metric(self, metric: str) -> np.ndarray:
        """log10 values of a trajectory variable, shape (chain, draw, year)."""
        traj = self.load()._tree["trajectories"]
        if metric not in traj.data_vars:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(traj.data_vars))
        return traj[metric].values

    def _log10_threshold(self, threshold: Threshold, metric: str = "effective_flop") -> float | np.ndarray:
        """log10 of a threshold: a number, ``(multiple, reference)``, or ``"requirement"`` (per draw)."""
        if isinstance(threshold, tuple) and metric not in ("effective_flop", "physical_flop"):
            raise QueryError(f"'{threshold[0]:g} x {threshold[1]}' is a FLOP threshold; {metric} is not in FLOP")
        log10_value, row_name = resolve_threshold(self.scenario, threshold)
        if row_name is None:
            return log10_value
        return log10_value + np.log10(self.parameter_draws(row_name))

    def probability(
        self,
        metric: str,
        threshold: Threshold,
        *,
        by: float | None = None,
        in_year: float | None = None,
        op: str = ">=",
        question: str | None = None,
    ) -> Answer:
        """P(metric >= threshold) by or in a year, counted over the draws (see :meth:`Result.probability`)."""
        if (by is None) == (in_year is None):
            raise QueryError("give exactly one of by= or in_year=")
        values = self._metric(metric)
        limit = self._log10_threshold(threshold, metric)
        if by is not None:
            window = values[..., : self.grid_index_by(by) + 1]
            extreme = window.max(axis=-1) if op == ">=" else window.min(axis=-1)
        else:
            extreme = values[..., self.grid_index_in(in_year)]
        hit = extreme >= limit if op == ">=" else extreme <= limit
        text = question or probability_text(metric, op, threshold, by, in_year)
        return self.probability_answer(int(np.count_nonzero(hit)), text, chunk_homogeneity(hit))

    def crossing_year(
        self, metric: str, threshold: Threshold, *, op: str = ">=", question: str | None = None
    ) -> Answer:
        """Distribution of the first year ``metric`` reaches ``threshold``.

        The year is interpolated linearly in log10 between the grid years around the
        first crossing; a draw already past the threshold at the start counts as the
        start year. Draws that never cross within the horizon are "never": their share
        is ``p_never``, and quantiles that fall among them read ``inf``.

        Returns
        -------
        Answer
            ``quantiles`` (5/25/50/75/95%) and ``median`` [year] with MCSE, ``p_never``.
        """
        years = crossing_years(*self._signed(metric, threshold, op), self.years)
        never = np.isinf(years)
        p_never = float(never.mean())
        quantiles, quantile_mcse = quantiles_with_mcse(years, DEFAULT_QUANTILES, method="inverted_cdf")
        text = question or f"year {metric} {op} {threshold_text(threshold)}"
        return self.new_answer(
            text,
            "crossing_year",
            "year",
            quantiles=quantiles,
            quantile_mcse=quantile_mcse,
            median=quantiles["50%"],
            details=self.crossing_details(quantiles, p_never),
        )

    def quantiles(
        self, metric: str, year: float, q: tuple[float, ...] = DEFAULT_QUANTILES, question: str | None = None
    ) -> Answer:
        """Quantiles of ``metric`` in a grid year [metric unit], each with its MCSE.

        The MCSE comes from the binomial order-statistic 95% interval of each quantile,
        divided by 3.92.
        """
        if not all(0 < level < 1 for level in q):
            raise QueryError("quantile levels must lie in (0, 1)")
        values = 10.0 ** self._metric(metric)[..., self.grid_index_in(year)].reshape(-1)
        quantiles, mcse = quantiles_with_mcse(values, q)
        text = question or f"quantiles {metric} in {year:g}"
        return self.new_answer(text, "quantiles", METRICS[metric], quantiles=quantiles, quantile_mcse=mcse)

    def interval(
        self, metric: str, year: float, method: str = "eti", prob: float = 0.9, question: str | None = None
    ) -> Answer:
        """Credible interval of ``metric`` in a grid year, by arviz-stats on log10 values.

        Parameters
        ----------
        method : {"eti", "hdi"}
            Equal-tailed or highest-density interval (the HDI of log10 values, so the
            shortest interval in orders of magnitude).
        prob : float
            Probability mass inside the interval.
        """
        import arviz_stats

        if method not in ("eti", "hdi"):
            raise QueryError(f"unknown interval method {method!r}; known: eti, hdi")
        if not 0 < prob < 1:
            raise QueryError(f"interval probability must lie in (0, 1), got {prob:g}")
        data = xr.DataArray(self._metric(metric)[..., self.grid_index_in(year)], dims=("chain", "draw"))
        bounds = getattr(arviz_stats, method)(data, prob=prob).values
        details = {"method": method, "prob": prob, **chain_checks(data.values)}
        text = question or f"interval {metric} in {year:g} {method} {prob:g}"
        unit = METRICS[metric]
        return self.new_answer(text, "interval", unit, interval=(10.0 ** bounds[0], 10.0 ** bounds[1]), details=details)

    def cost(self, threshold: Threshold, year: float, question: str | None = None) -> Answer:
        """USD needed for a run of ``threshold`` FLOP in a grid year.

        Physical: threshold / (flop_per_usd x utilization). Effective FLOP also divide by
        the algorithmic multiplier, since better algorithms make each FLOP count more.

        Returns
        -------
        Answer
            ``quantiles`` (5/50/95%) of the physical cost [USD] with MCSE; the
            effective-FLOP cost in ``details["effective_flop_quantiles"]``.
        """
        k = self.grid_index_in(year)
        limit = self._log10_threshold(threshold, "physical_flop")
        log_usd = limit - self._metric("flop_per_usd")[..., k] - np.log10(self.parameter_draws("utilization.value"))
        levels = (0.05, 0.5, 0.95)
        physical, physical_mcse = quantiles_with_mcse(10.0 ** log_usd.reshape(-1), levels)
        effective, effective_mcse = quantiles_with_mcse(
            10.0 ** (log_usd - self._metric("algo_multiplier")[..., k]).reshape(-1), levels
        )
        text = question or f"cost of {threshold_text(threshold)} in {year:g}"
        return self.new_answer(
            text,
            "cost",
            "USD",
            quantiles=physical,
            quantile_mcse=physical_mcse,
            median=physical["50%"],
            details={"effective_flop_quantiles": effective, "effective_flop_mcse": effective_mcse},
        )


def chain_checks(values: np.ndarray) -> dict[str, float]:
    """ESS and R-hat across chunks (chains) of a (chain, draw) array, by arviz-stats."""
    import arviz_stats

    data = xr.DataArray(np.asarray(values, dtype=float), dims=("chain", "draw"))
    if data.sizes["chain"] < 2 or float(data.std()) == 0.0:
        return {}
    # Rank-normalised R-hat is 0/0 when the split chains are all constant (a probability
    # near 0 or 1): then there is nothing to check, not an error.
    with np.errstate(invalid="ignore", divide="ignore"):
        checks = {"ess": float(arviz_stats.ess(data)), "rhat": float(arviz_stats.rhat(data))}
    checks = {key: value for key, value in checks.items() if np.isfinite(value)}
    if checks.get("rhat", 1.0) > RHAT_LIMIT:  # independent chunks must agree; if not, something is broken
        checks["warning"] = f"R-hat {checks['rhat']:.3f} > {RHAT_LIMIT}: the chunks disagree"
    return checks


def _summary(trajectories: xr.Dataset) -> xr.Dataset:
    """Per-year quantiles of every trajectory variable, on log10 values."""
    q = np.asarray(SUMMARY_QUANTILES)
    names = list(trajectories.data_vars)
    if any(trajectories[name].chunks is not None for name in names):  # lazy: found on the cluster, exactly
        from mcscale.sim import dask_executor

        quantiles = dask_executor.column_quantiles([trajectories[name].data for name in names], q)
    else:
        with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:  # numpy sorts without the GIL
            quantiles = list(pool.map(lambda name: column_quantiles(trajectories[name].values, q), names))
    out = {
        name: numpy_variable(("quantile", "year"), values, attrs=dict(trajectories[name].attrs))
        for name, values in zip(names, quantiles, strict=True)
    }
    coords = {"quantile": index_coordinate(q), "year": index_coordinate(trajectories["year"].values)}
    return xr.Dataset(out, coords=coords)
