"""Results: the ``xarray.DataTree`` of a run, its summaries, and netCDF I/O.

Layout (ArviZ conventions, chunks as chains):

- ``/prior``: one variable per sampled parameter, dims ``(chain, draw)``, in
  canonical units (``units`` attr) with the prior as written (``prior`` attr);
- ``/trajectories``: ``spend``, ``cap`` (when capped), ``flop_per_usd``,
  ``physical_flop``, ``algo_multiplier``, ``effective_flop``, dims
  ``(chain, draw, year)``, stored as log10 values (``units = "log10(FLOP)"``...);
- ``/summary``: per-year quantiles of every trajectory variable (log10);
- root attrs: scenario text, seed, draws, chunking, version, creation time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import xarray as xr

from mcscale.engine import DEFAULT_CHUNK_SIZE, TRAJECTORY_VARIABLES, RawRun, simulate
from mcscale.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["SUMMARY_QUANTILES", "Result", "parameter_unit", "run"]

#: Quantiles kept in the ``summary`` group.
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

_PARAMETER_UNITS = {
    "initial": "USD",
    "doubling_time": "year",
    "growth_per_year": "x/year",
    "cap": "USD",
    "cap_gdp_fraction": "1",
    "cap_growth_per_year": "x/year",
    "gdp": "USD/year",
    "gdp_growth_per_year": "x/year",
    "flop_per_usd": "FLOP/USD",
    "price_per_flop": "USD/FLOP",
    "max_flop_per_usd": "FLOP/USD",
    "value": "1",
    "max_gain": "1",
    "requirement": "FLOP",
    "flop": "FLOP",
}


def parameter_unit(name: str) -> str:
    """Return the canonical unit of a prior, e.g. ``"year"`` for ``spend.doubling_time@2030``."""
    key = name.split("@")[0].split(".")[-1]
    return _PARAMETER_UNITS[key]


def _version() -> str:
    from mcscale import __version__

    return __version__


class Result:
    """A sampled scenario, backed by an ``xarray.DataTree``.

    Parameters
    ----------
    tree : xarray.DataTree
        The run, in the layout of the module docstring.
    scenario : Scenario, optional
        The scenario; parsed from the tree's ``scenario_text`` attr when omitted.
    """

    def __init__(self, tree: xr.DataTree, scenario: Scenario | None = None) -> None:
        self.tree = tree
        self.scenario = scenario or parse_scenario(tree.attrs["scenario_text"], tree.attrs["scenario_source"])

    # -- construction and I/O ------------------------------------------------

    @classmethod
    def from_raw(cls, raw: RawRun, scenario: Scenario, seed: int, chunk_size: int) -> Result:
        """Assemble the DataTree of a materialized run."""
        layout = raw.layout
        coords = {"chain": np.arange(layout.n_chunks), "draw": np.arange(layout.chunk_length)}
        priors = scenario.all_priors()
        prior_vars = {}
        fixed = {}
        for row, name in enumerate(raw.parameter_names):
            spec = priors[name]
            if spec.is_fixed:
                fixed[name] = spec.params["value"] * spec.scale
                continue
            prior_vars[name] = xr.Variable(
                ("chain", "draw"),
                raw.parameters[row],
                attrs={"units": parameter_unit(name), "dist": spec.dist, "prior": json.dumps(spec.written)},
            )
        prior = xr.Dataset(prior_vars, coords=coords, attrs={"fixed_parameters": json.dumps(fixed)})
        year_coords = {**coords, "year": raw.years}
        trajectories = xr.Dataset(
            {
                name: xr.Variable(
                    ("chain", "draw", "year"),
                    raw.trajectories[slot],
                    attrs={"units": f"log10({TRAJECTORY_VARIABLES[name]})", "log10": 1},
                )
                for slot, name in enumerate(raw.variables)
            },
            coords=year_coords,
        )
        attrs = {
            "scenario_name": scenario.name,
            "scenario_description": scenario.description,
            "scenario_source": scenario.source,
            "scenario_text": scenario.text,
            "seed": seed,
            "n_draws": layout.n_draws,
            "n_chains": layout.n_chunks,
            "chunk_size": chunk_size,
            "mode": "materialized",
            "mcscale_version": _version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "sampling_seconds": raw.seconds,
        }
        tree = xr.DataTree.from_dict(
            {
                "/": xr.Dataset(attrs=attrs),
                "prior": prior,
                "trajectories": trajectories,
                "summary": _summary(trajectories),
            }
        )
        return cls(tree, scenario)

    @classmethod
    def from_netcdf(cls, path: str | Path) -> Result:
        """Read a result written by :meth:`to_netcdf` (loaded into memory)."""
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return cls(tree.load())

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the result to netCDF (h5netcdf) atomically.

        The file is written to a temporary name in the target directory and renamed,
        so a failed write leaves nothing behind.

        Parameters
        ----------
        path : str or path-like
            Output file; its directory must exist.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            self.tree.to_netcdf(tmp, engine="h5netcdf")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is not what a plain write gives
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    # -- accessors ----------------------------------------------------------

    @property
    def prior(self) -> xr.Dataset:
        """Parameter draws, dims ``(chain, draw)``."""
        return self.tree["prior"].to_dataset()

    @property
    def trajectories(self) -> xr.Dataset:
        """log10 trajectories, dims ``(chain, draw, year)``."""
        return self.tree["trajectories"].to_dataset()

    @property
    def summary(self) -> xr.Dataset:
        """Per-year quantiles of each trajectory variable (log10), dims ``(quantile, year)``."""
        return self.tree["summary"].to_dataset()

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return int(self.tree.attrs["n_draws"])

    @property
    def seed(self) -> int:
        """Root seed."""
        return int(self.tree.attrs["seed"])

    @property
    def years(self) -> np.ndarray:
        """The year grid [year]."""
        return self.tree["trajectories"]["year"].values

    def log10_draws(self, metric: str, year: float) -> np.ndarray:
        """Return every draw's log10 value of ``metric`` in ``year`` as a flat array."""
        data = self.tree["trajectories"][metric]
        return data.sel(year=year).values.reshape(-1)

    def __repr__(self) -> str:
        return (
            f"<mcscale.Result {self.scenario.name!r}: {self.n_draws} draws, seed {self.seed}, "
            f"years {self.years[0]:g}-{self.years[-1]:g}>"
        )


def _quantiles_of(log10_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of each year's column, as ``np.quantile(method="linear")`` gives them."""
    columns = np.ascontiguousarray(log10_values.reshape(-1, log10_values.shape[-1]).T)
    columns.sort(axis=1)  # a SIMD sort of contiguous rows beats np.quantile's partition
    position = (columns.shape[1] - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, columns.shape[1] - 1)
    weight = position - below
    return (columns[:, below] + weight * (columns[:, above] - columns[:, below])).T


def _summary(trajectories: xr.Dataset) -> xr.Dataset:
    """Per-year quantiles of every trajectory variable, on log10 values."""
    q = np.asarray(SUMMARY_QUANTILES)
    names = list(trajectories.data_vars)
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:  # numpy sorts without the GIL
        quantiles = list(pool.map(lambda name: _quantiles_of(trajectories[name].values, q), names))
    out = {
        name: xr.Variable(("quantile", "year"), values, attrs=dict(trajectories[name].attrs))
        for name, values in zip(names, quantiles, strict=True)
    }
    return xr.Dataset(out, coords={"quantile": q, "year": trajectories["year"].values})


def run(
    scenario: Scenario | str | Path,
    n_draws: int = 100_000,
    seed: int = 0,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> Result:
    """Sample a scenario and return its distributions.

    Parameters
    ----------
    scenario : Scenario or path-like
        A loaded scenario, or a scenario file to load.
    n_draws : int, optional
        Number of draws. Draws are split into equal chunks of at most
        ``chunk_size``; the count is rounded up to whole chunks only where no
        exact split exists (see :func:`mcscale.engine.chunk_layout`).
    seed : int, optional
        Root seed; the result is a pure function of (scenario, n_draws, seed,
        chunk_size), whatever the thread count.
    chunk_size : int, optional
        Largest chunk (each chunk is one chain of the output).
    threads : int, optional
        Worker threads; defaults to ``NUMBA_NUM_THREADS`` or the CPU count.

    Returns
    -------
    Result
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    raw = simulate(scenario, n_draws, seed=seed, chunk_size=chunk_size, threads=threads)
    return Result.from_raw(raw, scenario, seed=seed, chunk_size=chunk_size)
