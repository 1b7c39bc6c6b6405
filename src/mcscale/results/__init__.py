"""Results: answers, the interface both modes share, materialized draws, streaming accumulators, and I/O."""
