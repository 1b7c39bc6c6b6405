"""The plain-numpy model as an independent oracle of the kernels.

:mod:`mcscale.numpy_model` shares no code with the kernels or the model plan: fed the
parameter draws a materialized run stored, it must recompute every stored trajectory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcscale
from mcscale.testing.numpy_model import numpy_run, numpy_sample_params, numpy_trajectories

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
N_DRAWS = 5000


def _run_parameters(result: mcscale.Result) -> dict[str, np.ndarray]:
    """Every parameter of a materialized run as (n_draws,) arrays: sampled, and fixed ones broadcast."""
    prior = result.prior
    params = {name: prior[name].values.reshape(-1) for name in prior.data_vars}
    fixed = json.loads(result.tree["prior"].attrs["fixed_parameters"])
    params.update({name: np.full(result.n_draws, float(value)) for name, value in fixed.items()})
    return params


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_numpy_trajectories_match_the_kernels(path: Path) -> None:
    result = mcscale.run(path, n_draws=N_DRAWS, seed=7, threads=1)
    assert set(_run_parameters(result)) == set(result.scenario.all_priors())
    expected = result.trajectories
    got = numpy_trajectories(result.scenario, _run_parameters(result), expected["year"].values)
    assert set(got) == set(expected.data_vars)
    for name, values in got.items():
        kernel = expected[name].values.reshape(-1, expected.sizes["year"])
        assert values.shape == kernel.shape
        np.testing.assert_allclose(values, kernel, rtol=0, atol=1e-12, err_msg=name)


def test_numpy_sampler_draws_the_same_distributions() -> None:
    """Independent sampler, same priors: parameter medians agree within Monte Carlo error."""
    scenario = mcscale.load_scenario(SCENARIOS[0])
    result = mcscale.run(scenario, n_draws=20_000, seed=1, threads=1)
    params = numpy_sample_params(scenario, 20_000, np.random.default_rng(1))
    for name in result.prior.data_vars:
        ours = np.log10(np.median(params[name]))
        engine = np.log10(np.median(result.prior[name].values))
        spread = np.log10(np.quantile(params[name], 0.75) / np.quantile(params[name], 0.25))
        assert abs(ours - engine) < 0.05 * spread + 1e-12, name


def test_numpy_run_reports_quantiles_and_times() -> None:
    scenario = mcscale.load_scenario(SCENARIOS[0])
    out = numpy_run(scenario, 2000, seed=0)
    assert out.quantiles["effective_flop"].shape == (5, scenario.n_years)
    assert np.all(np.diff(out.quantiles["effective_flop"], axis=0) >= 0)
    assert set(out.seconds) == {"sample", "trajectories", "quantiles", "total"}


def test_numpy_model_is_not_imported_by_import_mcscale() -> None:
    code = "import sys, mcscale; print('mcscale.testing.numpy_model' in sys.modules, 'mcscale.bench' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["False", "False"]
