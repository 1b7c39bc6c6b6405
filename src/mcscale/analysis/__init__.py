"""Analyses over many runs of a scenario: sensitivity, fits to history, backtests."""
