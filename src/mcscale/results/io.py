"""Reading results back: :func:`open_result` dispatches on the mode a file records."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from mcscale.model.scenario import ScenarioError
from mcscale.model.thresholds import QueryError
from mcscale.results.base import Result
from mcscale.results.integrity import CHECKSUM_ATTR, check_result_tree
from mcscale.results.materialized import MaterializedResult
from mcscale.results.streaming import StreamResult

__all__ = ["open_result"]


def open_result(path: str | Path) -> Result:
    """Read a result written by :meth:`~mcscale.results.base.Result.to_netcdf` or ``to_zarr``, of either mode.

    Parameters
    ----------
    path : str or path-like
        A netCDF file or a zarr store (a directory) written by mcscale.

    Returns
    -------
    Result
        A :class:`MaterializedResult` or a :class:`StreamResult`. A netCDF file is
        loaded into memory; a zarr store's draws are read when first needed (each
        variable then stays in memory), its accumulators at once.

    Raises
    ------
    QueryError
        If the path cannot be read, is not an mcscale result (attrs or groups missing), or
        was changed after mcscale wrote it (its checksums do not match).
    """
    tree = _open_zarr(path) if Path(path).is_dir() else _open_netcdf(path)
    check_result_tree(tree, path)
    del tree.attrs[CHECKSUM_ATTR]  # verified; a result written again records its own
    try:
        if tree.attrs["mode"] == "stream":
            return StreamResult(tree.load())
        return MaterializedResult(tree)
    except ScenarioError as exc:
        raise QueryError(f"{path}: not an mcscale result: its scenario does not validate ({exc.lines()[0]})") from None


def _open_netcdf(path: str | Path) -> xr.DataTree:
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return tree.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:  # h5py's errors for what is not netCDF
        raise QueryError(f"{path}: cannot read as netCDF ({exc})") from None


def _open_zarr(path: str | Path) -> xr.DataTree:
    try:
        return xr.open_datatree(path, engine="zarr", consolidated=False)
    except ImportError:
        raise QueryError(f"{path}: reading zarr needs the zarr package: pip install 'mcscale[dask]'") from None
    except (OSError, ValueError, KeyError) as exc:
        raise QueryError(f"{path}: cannot read as zarr ({exc})") from None
