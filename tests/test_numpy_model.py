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


TABULATED_SCENARIO = """
[scenario]
name = "tabulated"
start = 2025
end = 2030

[spend]
initial = { dist = "gamma", p10 = 1e8, p90 = 8e8, lower = 5e7 }
doubling_time = { dist = "pert", min = 0.3, mode = 0.7, max = 2, lambda = 3, upper = 1.5 }
cap = { dist = "log_student_t", p5 = 1e10, p95 = 3e11, df = 4, upper = 1e13 }
cap_kind = "soft"

[hardware]
flop_per_usd = MIXTURE
doubling_time = { dist = "student_t", loc = 2.5, scale = 0.4, df = 2, lower = 1, upper = 6 }

[utilization]
value = { dist = "beta", p5 = 0.2, p95 = 0.5 }

[algorithms]
doubling_time = { dist = "metalog", points = [[5, 6], [50, 10], [95, 22]], unit = "month", lower = 2 }

[milestone]
requirement = { dist = "metalog", log10 = true, points = [[10, 27], [50, 30], [75, 32], [90, 35]] }

[[correlations]]
pair = ["utilization.value", "spend.initial"]
rho = 0.4
""".replace(
    "MIXTURE",
    '{ dist = "mixture", weights = [0.4, 0.6], lower = 1.5e17, components = ['
    '{ dist = "triangular", low = 1e17, mode = 2e17, high = 5e17 }, '
    '{ dist = "student_t", p10 = 3e17, p90 = 6e17, df = 3 }] }',
)


def test_the_kernels_tabulated_quantiles_match_the_oracles_scipy_stats_at_the_same_normals() -> None:
    """Same normals in, same values out: the tables (cubic Hermite in z) against scipy.stats, to 1e-7 relative."""
    from mcscale.sim.encode import compile_plan
    from mcscale.sim.kernels.sampling import parameters_from_normals
    from mcscale.testing.numpy_model import numpy_params_from_normals

    scenario = mcscale.parse_scenario(TABULATED_SCENARIO, "tabulated.toml")
    table, names, _, _ = compile_plan(scenario)
    z = np.random.default_rng(5).standard_normal((table.cholesky.shape[0], 20_000))
    z[:, :9] = np.array([-5.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 5.0])  # both tails too
    kernel = np.empty((table.n_params, z.shape[1]))
    parameters_from_normals(z, table, kernel)
    normals = {name: z[table.normal_index[row]] for row, name in enumerate(names) if table.normal_index[row] >= 0}
    oracle = numpy_params_from_normals(scenario, normals)
    assert set(oracle) == set(names)
    for row, name in enumerate(names):
        np.testing.assert_allclose(kernel[row], oracle[name], rtol=1e-7, atol=0, err_msg=name)


def test_the_oracle_samples_the_tabulated_families_like_the_engine() -> None:
    scenario = mcscale.parse_scenario(TABULATED_SCENARIO, "tabulated.toml")
    result = mcscale.run(scenario, n_draws=20_000, seed=3, threads=1)
    params = numpy_sample_params(scenario, 20_000, np.random.default_rng(3))
    for name in result.prior.data_vars:
        engine = result.prior[name].values.reshape(-1)
        for q in (0.1, 0.5, 0.9):
            # the engine's q-quantile is the oracle's within 4 MCSE of the probability
            level = np.mean(params[name] <= np.quantile(engine, q))
            assert abs(level - q) <= 4 * np.sqrt(2 * q * (1 - q) / 20_000), (name, q, level)
    got = numpy_trajectories(scenario, _run_parameters(result), result.trajectories["year"].values)
    for variable, values in got.items():
        kernel = result.trajectories[variable].values.reshape(-1, result.trajectories.sizes["year"])
        np.testing.assert_allclose(values, kernel, rtol=0, atol=1e-12, err_msg=variable)
