from pathlib import Path

import numba
import numpy as np
import pytest
from scipy import special

from mcscale import load_scenario
from mcscale.sim import encode
from mcscale.sim.kernels import codes, sampling, trajectory
from mcscale.sim.kernels import special as fast


@pytest.mark.parametrize(
    "p", [1e-300, 1e-100, 1e-20, 1e-8, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-12]
)
def test_ndtri_matches_scipy(p):
    assert fast.ndtri(p) == pytest.approx(special.ndtri(p), rel=1e-13, abs=1e-14)


def test_standard_normals_match_scipy_to_a_few_ulp_in_the_centre_and_both_tails():
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.random(20_000), 10 ** rng.uniform(-300, -1, 2_000), 1 - 10 ** rng.uniform(-16, -1, 2_000)])
    z = np.empty((1, u.size))
    sampling.standard_normals(u[None, :], z)
    exact = special.ndtri(u)
    assert np.max(np.abs(z[0] - exact) / np.abs(exact)) < 5e-15


def test_ndtri_inverts_ndtr_on_a_grid():
    z = np.linspace(-8, 5, 261)
    back = np.array([fast.ndtri(fast.ndtr(v)) for v in z])
    np.testing.assert_allclose(back[z <= 0], z[z <= 0], rtol=1e-13, atol=1e-14)
    # Above 0, ndtr(z) rounds to a multiple of 2^-53 near 1: the error is eps / pdf(z).
    upper = z > 0
    bound = 2.0**-52 / np.exp(-0.5 * z[upper] ** 2) * np.sqrt(2 * np.pi)
    assert np.all(np.abs(back[upper] - z[upper]) <= bound + 1e-14)


def test_sample_normals_consumes_the_same_stream_as_numpy():
    a = sampling.sample_normals(np.random.Generator(np.random.SFC64(7)), 100, 3)
    b = np.random.Generator(np.random.SFC64(7)).standard_normal(300).sum()
    assert a == pytest.approx(b, rel=1e-13)


@numba.njit
def _apply(function, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = function(x[i])
    return out


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_vectorizable_log_is_within_one_ulp_of_libm():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.exp(rng.uniform(-744, 709, 20000)), rng.uniform(0.5, 2.0, 20000), [1.0, 2.0, 10.0]])
    got = _apply(fast.vectorizable_log, x)
    nonzero = np.log(x) != 0
    assert _ulps(got[nonzero], np.log(x[nonzero])).max() <= 1
    assert got[~nonzero].tolist() == [0.0]


def test_vectorizable_log_edge_cases():
    x = np.array([0.0, -1.0, np.inf, np.nan, 5e-324, 1e-310])
    got = _apply(fast.vectorizable_log, x)
    assert got[0] == -np.inf and np.isnan(got[1]) and got[2] == np.inf and np.isnan(got[3])
    np.testing.assert_allclose(got[4:], np.log(x[4:]), rtol=1e-15)


def test_vectorizable_exp_is_within_one_ulp_of_libm():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-708, 709.7, 20000), rng.uniform(-1, 1, 20000), [0.0, 1.0, -1.0]])
    assert _ulps(_apply(fast.vectorizable_exp, x), np.exp(x)).max() <= 1


def test_vectorizable_exp_edge_cases():
    x = np.array([709.79, 1e4, -745.2, -1e4, np.inf, -np.inf, np.nan, -745.0, -1e-20])
    got = _apply(fast.vectorizable_exp, x)
    assert got[:6].tolist() == [np.inf, np.inf, 0.0, 0.0, np.inf, 0.0]
    assert np.isnan(got[6]) and got[7] == 5e-324 and got[8] == 1.0


def test_a_draws_trajectory_does_not_depend_on_its_place_in_a_block():
    # Draws are propagated BLOCK_SIZE at a time, in vectorized loops with scalar
    # remainders; shifting them against the block boundaries must not change a bit.
    scenario = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml")
    table, _, plan, variables = encode.compile_plan(scenario)
    n_years = len(encode.year_grid(scenario))
    n = 3 * codes.BLOCK_SIZE + 5
    params = np.empty((table.n_params, n))
    sampling.draw_parameters(np.random.Generator(np.random.SFC64(1)), table, params)
    whole = np.empty((len(variables), n, n_years))
    trajectory.propagate(params, plan, whole)
    for offset in (1, 7, codes.BLOCK_SIZE - 1):
        part = np.empty((len(variables), n - offset, n_years))
        trajectory.propagate(np.ascontiguousarray(params[:, offset:]), plan, part)
        assert np.array_equal(part, whole[:, offset:])


def test_histogram_counts_nan_and_infinities_inside_the_histogram():
    # NaN must never become an index outside the array (it counts as underflow).
    values = np.array([np.nan, -np.inf, np.inf, 0.0, 0.0049, 0.005, 1e300, -1e300])
    histogram = np.zeros(10 + 2, dtype=np.int64)
    trajectory.histogram_row(values, len(values), 0.0, 200.0, 10, np.empty(len(values), dtype=np.int64), histogram)
    assert histogram[0] == 3 and histogram[-1] == 2  # NaN, -inf, -1e300 | inf, 1e300
    assert histogram[1] == 2 and histogram[2] == 1 and histogram.sum() == len(values)


def test_ndtr_matches_scipy_down_the_lower_tail():
    # Relative error grows like z^2 eps in the tail (rounding of z / sqrt 2), as with libm's erfc.
    for low, high, tolerance in ((-10.0, 8.2, 5e-14), (-37.0, -10.0, 1e-12)):
        z = np.linspace(low, high, 50001)
        np.testing.assert_allclose(_apply(fast.ndtr, z), special.ndtr(z), rtol=tolerance, atol=0)
    edges = _apply(fast.ndtr, np.array([-np.inf, np.inf, 0.0, -40.0, np.nan]))
    assert edges[:4].tolist() == [0.0, 1.0, 0.5, 0.0] and np.isnan(edges[4])
