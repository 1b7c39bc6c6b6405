"""Shared helpers for the numerical tests: small scenarios written as TOML text."""

from __future__ import annotations

import numpy as np

import mcscale

MINIMAL = """
[scenario]
name = "test"
description = "a test scenario"
start = {start}
end = {end}
step = {step}

[spend]
initial = {spend_initial}
doubling_time = {spend_doubling_time}
{spend_extra}

[hardware]
flop_per_usd = {hardware_flop_per_usd}
doubling_time = {hardware_doubling_time}

[utilization]
value = {utilization_value}

[algorithms]
doubling_time = {algorithms_doubling_time}
"""


def scenario_text(extra: str = "", **values: object) -> str:
    """Return a minimal valid scenario, with ``values`` substituted and ``extra`` appended.

    ``values`` keys are ``start, end, step`` and ``section_key`` of the priors, e.g.
    ``spend_initial='{ dist = "lognormal", p5 = 1e8, p95 = 1e9 }'``.
    """
    defaults = {
        "start": 2025,
        "end": 2030,
        "step": 1,
        "spend_initial": 1e8,
        "spend_doubling_time": 1.0,
        "spend_extra": "",
        "hardware_flop_per_usd": 1e17,
        "hardware_doubling_time": 2.5,
        "utilization_value": 0.4,
        "algorithms_doubling_time": 1.0,
    }
    defaults.update(values)
    return MINIMAL.format(**defaults) + extra


def run_text(text: str, n_draws: int = 20_000, seed: int = 0, **kwargs: object) -> mcscale.Result:
    """Parse and run scenario text."""
    return mcscale.run(mcscale.parse_scenario(text, "test.toml"), n_draws=n_draws, seed=seed, **kwargs)


def flat(array: object) -> np.ndarray:
    """Flatten a DataArray over (chain, draw)."""
    return np.asarray(array).reshape(-1)
