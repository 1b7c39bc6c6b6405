"""Reading results back: :func:`open_result` dispatches on the mode a file records."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from mcscale.model.thresholds import QueryError
from mcscale.results.base import Result
from mcscale.results.materialized import MaterializedResult
from mcscale.results.streaming import StreamResult

__all__ = ["open_result"]


def open_result(path: str | Path) -> Result:
    """Read a result written by :meth:`~mcscale.results.base.Result.to_netcdf`, of either mode.

    Parameters
    ----------
    path : str or path-like
        A netCDF file written by mcscale.

    Returns
    -------
    Result
        A :class:`MaterializedResult` or a :class:`StreamResult`, loaded into memory.

    Raises
    ------
    QueryError
        If the file cannot be read, or is not an mcscale result.
    """
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            tree = tree.load()
    except (OSError, ValueError) as exc:
        raise QueryError(f"{path}: cannot read as netCDF ({exc})") from None
    if "scenario_text" not in tree.attrs:
        raise QueryError(f"{path}: not an mcscale result (no scenario_text attribute)")
    if tree.attrs.get("mode") == "stream":
        return StreamResult(tree)
    return MaterializedResult(tree)
