"""The DataTree layout, summaries and netCDF round trip."""

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mcscale
from mcscale.units import SUMMARY_QUANTILES, format_probability

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def baseline() -> mcscale.Result:
    return mcscale.run(ROOT / "scenarios" / "baseline.toml", n_draws=20_000, seed=4)


def test_layout(baseline):
    tree = baseline.tree
    assert set(tree.children) == {"prior", "trajectories", "summary"}
    prior = baseline.prior
    assert prior["spend.doubling_time"].dims == ("chain", "draw")
    assert prior["spend.doubling_time"].attrs["units"] == "year"
    written = tomllib.loads(baseline.scenario.text)["spend"]["doubling_time"]  # as written, round-tripped
    assert json.loads(prior["spend.doubling_time"].attrs["prior"]) == written and written["unit"] == "month"
    assert "spend.doubling_time@2030" in prior
    assert json.loads(prior.attrs["fixed_parameters"]) == {"reference.flop": 2.1e25}
    traj = baseline.trajectories
    assert set(traj.data_vars) == {"spend", "cap", "flop_per_usd", "physical_flop", "algo_multiplier", "effective_flop"}
    assert traj["effective_flop"].dims == ("chain", "draw", "year")
    assert traj["effective_flop"].attrs["units"] == "log10(FLOP)"
    assert traj.sizes["year"] == 36 and traj.sizes["chain"] * traj.sizes["draw"] == 20_000
    for key in ("scenario_text", "seed", "n_draws", "chunk_size", "mcscale_version", "created"):
        assert key in tree.attrs
    assert tree.attrs["scenario_text"] == (ROOT / "scenarios" / "baseline.toml").read_text()


def test_prior_values_are_in_canonical_units(baseline):
    months = baseline.prior["spend.doubling_time"].values * 12
    p5 = tomllib.loads(baseline.scenario.text)["spend"]["doubling_time"]["p5"]
    assert np.mean(months <= p5) == pytest.approx(0.05, abs=4 * np.sqrt(0.05 * 0.95 / 20_000))


def test_summary_equals_numpy_quantiles(baseline):
    values = baseline.trajectories["physical_flop"].values.reshape(-1, 36)
    expected = np.quantile(values, SUMMARY_QUANTILES, axis=0)
    np.testing.assert_allclose(baseline.summary["physical_flop"].values, expected, rtol=0, atol=1e-12)


def test_netcdf_round_trip_keeps_values_and_attrs(baseline, tmp_path):
    path = baseline.to_netcdf(tmp_path / "run.nc")
    assert sorted(os.listdir(tmp_path)) == ["run.nc"]  # no temporary left behind
    back = mcscale.open_result(path)
    xr.testing.assert_identical(back.tree, baseline.tree)
    assert back.scenario == baseline.scenario
    assert back.n_draws == 20_000 and back.seed == 4


def test_failed_write_leaves_nothing(baseline, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", fail)
    with pytest.raises(OSError, match="disk full"):
        baseline.to_netcdf(tmp_path / "run.nc")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("value", "mcse", "text"),
    [
        (0.8220, 0.0012, ("0.8220", "0.0012")),  # 10^5 draws: four decimals
        (0.0078, 0.00028, ("0.00780", "0.00028")),
        (0.821673, 3.8e-5, ("0.821673", "0.000038")),  # 10^8 draws: never "± 0.0000"
        (0.5, 0.0, ("0.5000", "0.0000")),
    ],
)
def test_probabilities_print_two_digits_of_their_mcse(value, mcse, text):
    assert format_probability(value, mcse) == text
