import numpy as np
import pytest
from scipy import special

from mcscale import kernels


@pytest.mark.parametrize(
    "p", [1e-300, 1e-100, 1e-20, 1e-8, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-12]
)
def test_ndtri_matches_scipy(p):
    assert kernels.ndtri(p) == pytest.approx(special.ndtri(p), rel=1e-13, abs=1e-14)


def test_ndtri_inverts_ndtr_on_a_grid():
    z = np.linspace(-8, 5, 261)
    back = np.array([kernels.ndtri(kernels.ndtr(v)) for v in z])
    np.testing.assert_allclose(back[z <= 0], z[z <= 0], rtol=1e-13, atol=1e-14)
    # Above 0, ndtr(z) rounds to a multiple of 2^-53 near 1: the error is eps / pdf(z).
    upper = z > 0
    bound = 2.0**-52 / np.exp(-0.5 * z[upper] ** 2) * np.sqrt(2 * np.pi)
    assert np.all(np.abs(back[upper] - z[upper]) <= bound + 1e-14)


def test_sample_normals_consumes_the_same_stream_as_numpy():
    a = kernels.sample_normals(np.random.Generator(np.random.SFC64(7)), 100, 3)
    b = np.random.Generator(np.random.SFC64(7)).standard_normal(300).sum()
    assert a == pytest.approx(b, rel=1e-13)
