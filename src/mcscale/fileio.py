"""Atomic file writes: a temporary file in the target directory, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | Path, data: bytes | Callable[[str], None]) -> Path:
    """Write ``path`` so that a failed write leaves nothing behind.

    Parameters
    ----------
    path : str or path-like
        Output file; its directory must exist.
    data : bytes or callable
        The bytes, or a function that writes the file at the temporary path it is given
        (for writers that take a file name, such as netCDF).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
        if not isinstance(data, bytes):
            data(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is not what a plain write gives
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
