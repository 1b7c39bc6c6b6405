"""What a forecast is: priors, scenarios, the copula and thresholds (no numba, no I/O)."""
