"""The interface every result shares, materialized or streaming.

A :class:`Result` answers questions about a sampled scenario. What a result can
answer depends on what it kept: :attr:`Result.keeps_draws` says whether per-draw
values are there (materialized mode), and a question that needs what was not kept
(a threshold a streaming run did not count) raises
:class:`~mcscale.model.thresholds.QueryError` saying so.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mcscale._version import __version__
from mcscale.fileio import write_atomic
from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import Threshold
from mcscale.results.answer import Answer
from mcscale.results.integrity import with_checksums
from mcscale.scenario_file import parse_scenario
from mcscale.sim.chunks import ChunkLayout
from mcscale.sim.encode import grid_index
from mcscale.units import DEFAULT_QUANTILES, METRICS

__all__ = ["Result", "fixed_parameters", "is_zarr_store", "run_attrs", "trajectory_quantiles", "year_coordinate"]


class Result(ABC):
    """A sampled scenario, backed by an ``xarray.DataTree``.

    Parameters
    ----------
    tree : xarray.DataTree
        The run (layout: :mod:`mcscale.results.materialized` or
        :mod:`mcscale.results.streaming`).
    scenario : Scenario, optional
        The scenario; parsed from the tree's ``scenario_text`` attr when omitted.
    """

    #: Whether per-draw values (``prior``, ``trajectories``) are kept.
    keeps_draws: bool = False

    def __init__(self, tree: xr.DataTree, scenario: Scenario | None = None) -> None:
        self._tree = tree  # the subclasses' shared storage; ``tree`` is the complete view
        self.scenario = scenario or parse_scenario(tree.attrs["scenario_text"], tree.attrs["scenario_source"])

    @property
    def tree(self) -> xr.DataTree:
        """The whole ``xarray.DataTree`` of the run, with every group computed (see :meth:`complete`)."""
        self.complete()
        return self._tree

    @property
    def attrs(self) -> dict[str, Any]:
        """Root attrs: the scenario as written, seed, draws, chunking, mode, version, times."""
        return self._tree.attrs

    def complete(self) -> None:  # noqa: B027 (a hook: most results have nothing left to compute)
        """Compute the groups that are built on first use (none here; see the subclasses)."""

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the result to netCDF (h5netcdf) atomically.

        The file is written to a temporary name in the target directory and renamed,
        so a failed write leaves nothing behind. The root attr ``checksums`` records a
        SHA-256 of every stored variable and group's attrs, verified when the file is
        read back (:func:`~mcscale.results.integrity.check_result_tree`). A lazy result (a materialized run on a
        dask cluster) is first brought into this process (:meth:`load`); :meth:`to_zarr`
        writes one without that.

        Parameters
        ----------
        path : str or path-like
            Output file; its directory must exist.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        tree = with_checksums(self.load().tree)
        return write_atomic(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))

    def to_zarr(self, path: str | Path) -> Path:
        """Write the result to a zarr store (a directory, zarr format 3), atomically.

        The groups and attrs are those of netCDF; per-draw variables are chunked by
        whole chains (:func:`~mcscale.sim.engine.chains_per_block`). A lazy result is
        written by the dask workers, block by block, without gathering the draws here
        (``path`` must then be on storage that every worker reaches). The store is
        written under a temporary name beside ``path`` and renamed into place, so a
        failed write leaves nothing behind; a zarr store at ``path`` is replaced,
        anything else there is refused.

        Parameters
        ----------
        path : str or path-like
            Output directory, by convention ``*.zarr``; its parent must exist.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        path = Path(path)
        if path.exists() and not is_zarr_store(path):
            raise FileExistsError(f"{path}: exists and is not a zarr store; it would be replaced")
        tree = with_checksums(self.tree)
        options: dict[str, Any] = {"mode": "w", "consolidated": False}
        if self.is_lazy:
            from mcscale.sim import dask_executor

            def write(target: Path) -> None:
                dask_executor.compute(tree.to_zarr(target, compute=False, **options))

        else:

            def write(target: Path) -> None:
                tree.to_zarr(target, encoding=self.zarr_encoding(), **options)

        return _write_directory_atomic(path, write)

    def zarr_encoding(self) -> dict[str, dict[str, Any]]:
        """Return the zarr encoding of each group's variables, by group path (here none: zarr's defaults)."""
        return {}

    @property
    def is_lazy(self) -> bool:
        """Whether some values are dask arrays not computed yet (a materialized run on a cluster)."""
        return bool(self._lazy_variables())

    def _lazy_variables(self) -> list[xr.Variable]:
        return [v for node in self._tree.subtree for v in node.variables.values() if v.chunks is not None]

    def load(self) -> Result:
        """Compute lazy values into this process, all in one pass on the cluster; return this result.

        Answers that need draws call it: a lazy result is then sampled again, on the
        cluster, and answers from memory. A result in memory is returned as it is.
        """
        lazy = self._lazy_variables()
        if lazy:
            from mcscale.sim import dask_executor

            for variable, values in zip(lazy, dask_executor.compute(*[v.data for v in lazy]), strict=True):
                variable.data = values
        return self

    # -- what every result has ---------------------------------------------

    @property
    def mode(self) -> str:
        """``"materialized"`` or ``"stream"``."""
        return str(self.attrs["mode"])

    @property
    def summary(self) -> xr.Dataset:
        """Per-year quantiles of each trajectory variable (log10), dims ``(quantile, year)``."""
        self.complete()
        return self._tree["summary"].to_dataset()

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return int(self.attrs["n_draws"])

    @property
    def seed(self) -> int:
        """Root seed."""
        return int(self.attrs["seed"])

    @property
    def years(self) -> np.ndarray:
        """The year grid [year]."""
        return self.summary["year"].values

    def grid_index_by(self, year: float) -> int:
        """Index of the last grid year <= ``year``."""
        return grid_index(self.years, year, by=True)

    def grid_index_in(self, year: float) -> int:
        """Index of the grid year equal to ``year``."""
        return grid_index(self.years, year, by=False)

    def new_answer(self, question: str, kind: str, unit: str, **fields: Any) -> Answer:
        """Return an :class:`Answer` stamped with this run's size, seed and scenario."""
        return Answer(
            question=question,
            kind=kind,
            unit=unit,
            n_draws=self.n_draws,
            seed=self.seed,
            scenario=self.scenario.name,
            **fields,
        )

    def probability_answer(self, count: int, text: str, details: dict[str, Any] | None = None) -> Answer:
        """Answer a probability from a count of draws (see :meth:`Answer.from_count`)."""
        return Answer.from_count(count, self.n_draws, text, self.seed, self.scenario.name, details)

    def crossing_details(self, quantiles: dict[str, float], p_never: float, **extra: float) -> dict[str, Any]:
        """Return the details of a crossing-year answer: P(never) and its MCSE, the horizon, 50% and 90% intervals."""
        return {
            "p_never": p_never,
            "p_never_mcse": math.sqrt(p_never * (1 - p_never) / self.n_draws),
            "horizon_end": float(self.years[-1]),
            "interval_50": [quantiles["25%"], quantiles["75%"]],
            "interval_90": [quantiles["5%"], quantiles["95%"]],
            **extra,
        }

    # -- what each mode answers in its own way -------------------------------

    @abstractmethod
    def log10_quantiles(self, metric: str, q: tuple[float, ...]) -> np.ndarray:
        """Per-year quantiles of log10 ``metric``, shape (len(q), n_years)."""

    @abstractmethod
    def prior_quantiles(self, name: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of a parameter [canonical units]."""

    @abstractmethod
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
        """P(metric >= threshold) by a year (at some grid year <= it) or in a grid year.

        Parameters
        ----------
        metric : str
            A trajectory variable.
        threshold : float, (float, str) or "requirement"
            A value in the metric's unit, a multiple of a reference run, or the
            milestone's requirement (a prior: compared draw by draw).
        by, in_year : float
            Exactly one [year]: "by" uses the running max (min for ``<=``) over grid years.
        op : {">=", "<="}
        question : str, optional
            Text to report; generated when omitted.

        Returns
        -------
        Answer
            ``value`` with MCSE ``sqrt(p (1 - p) / n)``, or a rule-of-three bound.
        """

    @abstractmethod
    def exceedance_curve(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """P(metric >= threshold by year) for every grid year."""

    @abstractmethod
    def crossing_histogram(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """Share of draws first crossing in each grid interval, shape (n_years - 1,); the rest never do."""

    @abstractmethod
    def crossing_year(
        self, metric: str, threshold: Threshold, *, op: str = ">=", question: str | None = None
    ) -> Answer:
        """Distribution of the first year ``metric`` reaches ``threshold`` [year], with P(never)."""

    @abstractmethod
    def quantiles(
        self, metric: str, year: float, q: tuple[float, ...] = DEFAULT_QUANTILES, question: str | None = None
    ) -> Answer:
        """Quantiles of ``metric`` in a grid year [metric unit], each with its MCSE."""

    @abstractmethod
    def interval(
        self, metric: str, year: float, method: str = "eti", prob: float = 0.9, question: str | None = None
    ) -> Answer:
        """Equal-tailed (``eti``) or highest-density (``hdi``) interval of ``metric`` in a grid year."""

    @abstractmethod
    def cost(self, threshold: Threshold, year: float, question: str | None = None) -> Answer:
        """USD needed for a run of ``threshold`` FLOP in a grid year (physical and effective FLOP)."""

    def __repr__(self) -> str:
        return (
            f"<mcscale.{type(self).__name__} {self.scenario.name!r}: {self.n_draws} draws, seed {self.seed}, "
            f"years {self.years[0]:g}-{self.years[-1]:g}>"
        )


def is_zarr_store(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding a zarr group (format 3 or 2)."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in ("zarr.json", ".zgroup"))


def _write_directory_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write a directory as ``write(tmp)`` into a temporary one beside it, then rename it to ``path``.

    A failed write leaves nothing behind; a directory already at ``path`` is moved
    aside, replaced, then deleted.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = tmp.with_suffix(".old")
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 is not what a plain mkdir gives
        if path.exists():
            os.rename(path, old)
        os.rename(tmp, path)
    except BaseException:
        if old.exists() and not path.exists():
            os.rename(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


def fixed_parameters(scenario: Scenario) -> str:
    """JSON of the scenario's fixed parameters by name [canonical units] (they are not sampled)."""
    return json.dumps(
        {name: spec.params["value"] * spec.scale for name, spec in scenario.all_priors().items() if spec.is_fixed}
    )


def run_attrs(
    scenario: Scenario, seed: int, layout: ChunkLayout, chunk_size: int, mode: str, seconds: float
) -> dict[str, Any]:
    """Root attrs of a result: the scenario as written, the run's size, seed and provenance."""
    return {
        "scenario_name": scenario.name,
        "scenario_description": scenario.description,
        "scenario_source": scenario.source,
        "scenario_text": scenario.text,
        "seed": seed,
        "n_draws": layout.n_draws,
        "n_chains": layout.n_chunks,
        "chunk_size": chunk_size,
        "mode": mode,
        "mcscale_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sampling_seconds": seconds,
    }


def trajectory_quantiles(result: Result, metric: str, q: tuple[float, ...] | list[float]) -> xr.DataArray:
    """Per-year quantiles of a trajectory variable, on log10 values, as the summary computes them.

    Parameters
    ----------
    result : Result
    metric : str
        A trajectory variable (``effective_flop``, ``spend``, ``cap``...).
    q : sequence of float
        Quantile levels in (0, 1), e.g. ``(0.025, 0.5, 0.975)``.

    Returns
    -------
    xarray.DataArray
        log10 quantiles [log10 of the metric's unit], dims ``(quantile, year)``; linear
        interpolation between order statistics (``np.quantile``'s default).
    """
    levels = np.asarray(q, dtype=float)
    return xr.DataArray(
        result.log10_quantiles(metric, tuple(levels)),
        dims=("quantile", "year"),
        coords={"quantile": levels, "year": result.years},
        attrs={"units": f"log10({METRICS[metric]})"},
    )


def index_coordinate(values: Any) -> pd.Index:
    """Make a dimension coordinate a pandas index already: xarray's casting of an array imports dask (0.2 s).

    xarray checks every new array against dask's array type whenever dask is installed;
    results built from pandas indexes and :func:`numpy_variable` never pay for that import.
    """
    return pd.Index(values)


def numpy_variable(dims: str | tuple[str, ...], values: Any, attrs: dict[str, Any] | None = None) -> xr.Variable:
    """Wrap an array as is (a lazy run's dask arrays stay lazy), skipping xarray's checks for other array types.

    Those checks import dask.array (0.4 s) whenever dask is installed.
    """
    return xr.Variable(dims, values, attrs=attrs, fastpath=True)


def year_coordinate(years: np.ndarray) -> np.ndarray:
    """Return the ``year`` coordinate of a result: integers on a whole-year grid (2025, not 2.025e+03) [year]."""
    whole = np.round(years)
    return whole.astype(np.int64) if np.all(whole == years) else years
