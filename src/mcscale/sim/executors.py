"""Executors: run a function of the chunk index on every chunk, results in chunk order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from mcscale.sim.chunks import ChunkLayout

__all__ = ["Progress", "default_threads", "in_chunk_order", "kept"]

#: A progress callback: ``progress(draws_done, n_draws)``.
Progress = Callable[[int, int], None]


def default_threads() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set, else the CPU count."""
    value = os.environ.get("NUMBA_NUM_THREADS")
    return int(value) if value else (os.cpu_count() or 1)


def in_chunk_order[T](
    run_chunk: Callable[[int], T], layout: ChunkLayout, threads: int | None, progress: Progress | None
) -> Iterator[T]:
    """Run every chunk on a pool of threads; yield their results in chunk order.

    ``progress(draws_done, n_draws)`` is called from this thread after each chunk.
    """
    n_threads = max(1, min(threads or default_threads(), layout.n_chunks))
    with ThreadPoolExecutor(n_threads) as pool:
        for k, value in enumerate(pool.map(run_chunk, range(layout.n_chunks))):
            if progress is not None:
                progress((k + 1) * layout.chunk_length, layout.n_draws)
            yield value


def kept[T](reuse: dict | None, key: tuple, compute: Callable[[], T]) -> T:
    """Return ``compute()``, kept in ``reuse`` under ``key`` (read from it if there); without ``reuse``, just computed.

    A chunk's result is a pure function of what ``key`` names, so a caller that grows a
    run (a precision loop) computes each chunk once. Each chunk of one call has its own
    key and a stored value is never changed, so threads need no lock.
    """
    if reuse is None:
        return compute()
    if key not in reuse:
        reuse[key] = compute()
    return reuse[key]
