"""What makes a stored result trustworthy: the groups and attrs of its mode, and a checksum of everything stored.

:func:`with_checksums` records, in the root attr ``checksums``, a SHA-256 of every
variable of every group (its values, dtype and shape) and of every group's attrs;
:func:`check_result_tree` is what :func:`~mcscale.results.io.open_result` runs on a file
before answering from it: a file that is not an mcscale result, misses a group, or
whose contents no longer match their checksums (changed in place after mcscale wrote
it) is refused with one line saying which.

A lazy result (a materialized run on a dask cluster, written to zarr by the workers)
records the checksums of what is in memory: its attrs and computed groups, not the
per-draw arrays, which would have to be sampled again to be hashed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import xarray as xr

from mcscale.model.thresholds import QueryError

__all__ = [
    "CHECKSUM_ATTR",
    "REQUIRED_ATTRS",
    "REQUIRED_GROUPS",
    "check_result_tree",
    "checksums",
    "with_checksums",
]

#: Root attr holding the checksums (JSON: path -> SHA-256 hex digest).
CHECKSUM_ATTR = "checksums"
#: Root attrs every result has.
REQUIRED_ATTRS = ("scenario_text", "scenario_source", "mode", "n_draws", "seed", "n_chains", "chunk_size")
#: Groups each mode stores (the materialized ``summary`` is computed again when missing).
REQUIRED_GROUPS = {"materialized": ("prior", "trajectories"), "stream": ("accumulators", "summary")}
#: Rows hashed at a time: a large variable of a zarr store is read in slices, not whole.
_ROWS = 64


def _update_values(digest: Any, variable: xr.Variable) -> None:
    """Feed a variable's dtype, shape and values to ``digest``, a slice of the first axis at a time."""
    kind = "str" if variable.dtype.kind in "OUS" else variable.dtype.str
    digest.update(f"{kind}{variable.shape}".encode())
    if variable.ndim == 0:
        slices = [variable.values[()]]
    else:
        slices = (variable[i : i + _ROWS].values for i in range(0, variable.shape[0], _ROWS))
    for values in slices:
        values = np.asarray(values)
        if kind == "str":  # netCDF may give back fixed-width strings as objects: hash the text
            digest.update("\x00".join(str(v) for v in values.ravel()).encode("utf-8", "surrogatepass"))
        else:
            digest.update(np.ascontiguousarray(values).tobytes())


def _attrs_text(attrs: dict[str, Any]) -> str:
    """Attrs as canonical JSON (numpy scalars as Python numbers, whatever the file format gave back)."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return [plain(v) for v in value.tolist()]
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value.item() if isinstance(value, np.generic) else value

    return json.dumps({k: plain(v) for k, v in sorted(attrs.items()) if k != CHECKSUM_ATTR}, default=str)


def checksums(tree: xr.DataTree, skip_lazy: bool = False) -> dict[str, str]:
    """Return the SHA-256 hex digest of every variable (``/group/name``) and of every group's attrs (``/group@``).

    Parameters
    ----------
    tree : xarray.DataTree
        A result's tree.
    skip_lazy : bool, optional
        Leave out variables held as dask arrays (not computed in this process).
    """
    out = {}
    for node in tree.subtree:
        out[f"{node.path.rstrip('/')}/@"] = hashlib.sha256(_attrs_text(dict(node.attrs)).encode()).hexdigest()
        for name, variable in node.variables.items():
            if skip_lazy and variable.chunks is not None:
                continue
            digest = hashlib.sha256()
            _update_values(digest, variable)
            out[f"{node.path.rstrip('/')}/{name}"] = digest.hexdigest()
    return out


def with_checksums(tree: xr.DataTree) -> xr.DataTree:
    """Return a shallow copy of ``tree`` whose root attrs record its :func:`checksums` (for writing)."""
    out = tree.copy(deep=False)
    out.attrs.pop(CHECKSUM_ATTR, None)
    out.attrs[CHECKSUM_ATTR] = json.dumps(checksums(out, skip_lazy=True), sort_keys=True)
    return out


def _not_ours(path: object, why: str) -> QueryError:
    return QueryError(f"{path}: not an mcscale result: {why}")


def check_result_tree(tree: xr.DataTree, path: object) -> None:
    """Refuse a tree that is not an mcscale result, or whose contents changed since mcscale wrote them.

    Parameters
    ----------
    tree : xarray.DataTree
        As read from ``path``.
    path : path-like
        The file or store, for messages.

    Raises
    ------
    QueryError
        One line: ``PATH: not an mcscale result: ...`` (attrs, groups or checksums missing)
        or ``PATH: corrupted: ...`` (a checksum that does not match).
    """
    missing = [name for name in REQUIRED_ATTRS if name not in tree.attrs]
    if missing:
        raise _not_ours(path, f"no {', '.join(missing)} attribute{'s' if len(missing) > 1 else ''}")
    mode = tree.attrs["mode"]
    if mode not in REQUIRED_GROUPS:
        raise _not_ours(path, f"unknown mode {str(mode)[:40]!r}")
    groups = [g for g in REQUIRED_GROUPS[mode] if g not in tree.children]
    if groups:
        needs = ", ".join(REQUIRED_GROUPS[mode])
        raise _not_ours(path, f"no group {', '.join(groups)} (a {mode} result has {needs})")
    if CHECKSUM_ATTR not in tree.attrs:
        raise _not_ours(path, "no checksums attribute (written by another program or an older mcscale: run it again)")
    try:
        recorded = json.loads(str(tree.attrs[CHECKSUM_ATTR]))
        if not isinstance(recorded, dict):
            raise ValueError("not an object")
    except ValueError:
        raise _not_ours(path, "its checksums attribute is not readable") from None
    found = checksums(tree)
    for key, digest in recorded.items():
        if key not in found:
            raise _not_ours(path, f"{key} is missing")
        if found[key] != digest:
            what = f"the attributes of {key[:-2] or '/'}" if key.endswith("/@") else key
            raise QueryError(f"{path}: corrupted: {what} changed after mcscale wrote it (its checksum does not match)")
