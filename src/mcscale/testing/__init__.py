"""What tests and benchmarks share: an independent numpy reference model of the engine."""
