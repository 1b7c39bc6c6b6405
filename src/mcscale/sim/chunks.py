"""How draws are split into chunks, and each chunk's own generator.

Draws are split into equal chunks. Chunk ``k`` draws from its own generator,
``SFC64(SeedSequence(seed).spawn(n)[k])``, and writes only its own slice of the
output, so a run is a pure function of (scenario, n_draws, seed, chunk_size): the
same bits whatever the number of threads or workers, or the order chunks finish in.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["DEFAULT_CHUNK_SIZE", "ChunkLayout", "chunk_generator", "chunk_layout"]

#: Largest number of draws per chunk.
DEFAULT_CHUNK_SIZE = 65536


class ChunkLayout(NamedTuple):
    """How draws are split: ``n_chunks`` chunks of ``chunk_length`` draws."""

    n_chunks: int
    chunk_length: int

    @property
    def n_draws(self) -> int:
        """Total number of draws."""
        return self.n_chunks * self.chunk_length


def chunk_layout(n_draws: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkLayout:
    """Split ``n_draws`` into equal chunks of at most ``chunk_size`` draws.

    The chunk count is the smallest that divides ``n_draws`` within a factor of
    two of the minimum, so round counts (10^5, 10^6, 10^7) split exactly. Where no
    such divisor exists the draws are rounded up to whole chunks.

    Parameters
    ----------
    n_draws : int
        Requested number of draws (> 0).
    chunk_size : int, optional
        Largest chunk.

    Returns
    -------
    ChunkLayout
    """
    if n_draws <= 0:
        raise ValueError(f"n_draws must be positive, got {n_draws}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    fewest = math.ceil(n_draws / chunk_size)
    for n_chunks in range(fewest, 2 * fewest + 1):
        if n_draws % n_chunks == 0:
            return ChunkLayout(n_chunks, n_draws // n_chunks)
    return ChunkLayout(fewest, math.ceil(n_draws / fewest))


def chunk_generator(seed: int, chunk: int) -> np.random.Generator:
    """Return chunk ``chunk``'s generator: ``SeedSequence(seed).spawn(...)[chunk]``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(chunk,))))
