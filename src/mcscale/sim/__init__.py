"""Sampling: plan encoders, chunks and seeding, executors, accumulators, the engine and its kernels."""
