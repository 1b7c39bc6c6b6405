"""Where outputs go: atomic writes (a temporary file in the target directory, then a rename), and path safety.

:func:`output_conflict` is the one check that an output does not resolve to an input
(the same file, through a symlink or a hard link, or with ``..``) and has an extension
the command writes; every command that writes a file calls it before reading anything.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["output_conflict", "same_file", "write_atomic"]


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


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: equal once resolved (symlinks, ``..``), or one inode (hard links)."""
    a, b = Path(a), Path(b)
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop: compare what the system says
        pass
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: not the same file
        return False


def output_conflict(
    output: str | Path, inputs: Iterable[str | Path] = (), suffixes: Iterable[str] | None = None
) -> str | None:
    """Say why ``output`` must not be written, or return None.

    Parameters
    ----------
    output : str or path-like
        The file (or zarr store) a command is about to write.
    inputs : iterable of str or path-like
        Every file the command reads: an output that is one of them would destroy it.
    suffixes : iterable of str, optional
        The extensions the command writes (lower case, with the dot, e.g. ``(".html",)``);
        None accepts any.

    Returns
    -------
    str or None
        The reason, one line (without the path), or None when the output is safe.
    """
    out = Path(output)
    for source in inputs:
        if same_file(out, source):
            return f"is an input of this command ({Path(source)}); it would be overwritten: choose another output"
    if suffixes is not None:
        allowed = tuple(suffixes)
        if out.suffix.lower() not in allowed:
            given = repr(out.suffix) if out.suffix else "no extension"
            return f"this command writes {', '.join(allowed)} files, not {given}"
    return None
