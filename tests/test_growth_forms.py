"""The Direct Approach's model forms against closed forms written here in linear space.

``cap_kind = "exponential"`` (and the exponential ceilings) is ``L (1 - exp(-V / L))``;
``oom_per_year`` is ``V0 10^(r t)``, ``percent_per_year`` is ``V0 (1 + r / 100)^t``, and
``algorithms.rate_multiplier`` multiplies the algorithms' log10 rate. Each test recomputes
every draw's trajectory with numpy from the run's own parameter draws, without going through
mcscale's log10 helpers, and compares it with the kernels' trajectories.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import mcscale
from mcscale.model.scenario import ScenarioError

EXPONENTIAL = """
[scenario]
start = 2022
end = 2100
step = 0.5

[spend]
initial = { dist = "lognormal", p5 = 3e7, p95 = 1e8 }
percent_per_year = { dist = "normal", p5 = -20, p95 = 120, lower = -100 }
cap = { dist = "lognormal", p5 = 1e9, p95 = 1e11 }
cap_growth_per_year = 1.03
cap_kind = "exponential"

[hardware]
flop_per_usd = { dist = "lognormal", p5 = 1e17, p95 = 4e17 }
oom_per_year = { dist = "lognormal", p5 = 0.1, p95 = 0.4 }
max_flop_per_usd = { dist = "lognormal", p5 = 1e20, p95 = 1e23 }
ceiling_kind = "exponential"

[utilization]
value = { dist = "uniform", low = 0.3, high = 0.6 }

[algorithms]
oom_per_year = { dist = "normal", p5 = -0.2, p95 = 0.7 }
rate_multiplier = { dist = "lognormal", p5 = 0.4, p95 = 1.5 }
max_gain_oom = { dist = "lognormal", p5 = 1, p95 = 8 }
ceiling_kind = "exponential"

[[regimes]]
from = 2050
hardware.percent_per_year = 10
algorithms.oom_per_year = -0.05
"""


def _draws(result: mcscale.Result, name: str) -> np.ndarray:
    fixed = json.loads(result.tree["prior"].attrs["fixed_parameters"])
    if name in fixed:
        return np.full(result.n_draws, float(fixed[name]))
    return result.prior[name].values.reshape(-1)


def _limited(value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """The Direct Approach's soft limit in linear space: L (1 - e^(-V / L)), as -L expm1(-V / L)."""
    return -limit * np.expm1(-value / limit)


@pytest.fixture(scope="module")
def exponential_run() -> mcscale.Result:
    return mcscale.run(mcscale.parse_scenario(EXPONENTIAL, "forms.toml"), n_draws=4000, seed=3)


def test_exponential_limits_and_oom_and_percent_rates_match_their_closed_forms(exponential_run):
    result = exponential_run
    d = {name: _draws(result, name)[:, None] for name in result.scenario.all_priors()}
    t = result.trajectories["year"].values[None, :] - 2022.0
    before, after = np.minimum(t, 28.0), np.maximum(t - 28.0, 0.0)  # the regime from 2050

    spend = d["spend.initial"] * (1 + d["spend.percent_per_year"] / 100) ** t
    cap = d["spend.cap"] * 1.03**t
    spend = _limited(spend, cap)
    fpu = d["hardware.flop_per_usd"] * 10 ** (d["hardware.oom_per_year"] * before) * 1.1**after
    fpu = _limited(fpu, d["hardware.max_flop_per_usd"])
    rate = d["algorithms.oom_per_year"] * before + d["algorithms.oom_per_year@2050"] * after
    algo = _limited(10 ** (d["algorithms.rate_multiplier"] * rate), 10 ** d["algorithms.max_gain_oom"])
    expected = {
        "spend": spend,
        "cap": cap,
        "flop_per_usd": fpu,
        "algo_multiplier": algo,
        "effective_flop": spend * fpu * d["utilization.value"] * algo,
    }
    for name, values in expected.items():
        kernel = result.trajectories[name].values.reshape(values.shape)
        np.testing.assert_allclose(kernel, np.log10(values), rtol=0, atol=2e-12, err_msg=name)
    # the draws cover both sides of each limit, and regress
    ratio = np.log10(d["hardware.flop_per_usd"] * 10 ** (d["hardware.oom_per_year"] * 28)) - np.log10(
        d["hardware.max_flop_per_usd"]
    )
    assert (ratio < -3).any() and (ratio > 1).any()
    assert (np.diff(np.log10(algo), axis=1) < 0).any()  # algorithmic regress happens
    assert (spend[:, -1] < spend[:, 0]).any()  # and a decline of spend


FAR = """
[scenario]
start = 2022
end = 2100

[spend]
initial = 1e8
oom_per_year = 0

[hardware]
flop_per_usd = 1e17
oom_per_year = 1
max_flop_per_usd = 1e57
ceiling_kind = "exponential"

[utilization]
value = 0.5
"""


def test_the_exponential_limit_is_exact_far_below_and_far_above_it():
    # from 1e-40 of the limit (the series) to 1e38 times it (the limit itself)
    result = mcscale.run(mcscale.parse_scenario(FAR, "far.toml"), n_draws=16, seed=0)
    fpu = result.trajectories["flop_per_usd"].values.reshape(16, -1)[0]
    x = 17.0 + result.trajectories["year"].values - 2022.0  # log10 of the unlimited value
    np.testing.assert_allclose(fpu, 57.0 + np.log10(-np.expm1(-(10.0 ** (x - 57.0)))), rtol=0, atol=2e-13)
    assert fpu[0] == 17.0 and abs(fpu[-1] - 57.0) < 1e-13
    np.testing.assert_array_equal(result.trajectories["spend"].values.reshape(16, -1), 8.0)


def test_the_new_keys_round_trip_into_the_attrs(exponential_run):
    result = exponential_run
    attrs = result.prior["algorithms.oom_per_year"].attrs
    assert json.loads(attrs["prior"]) == {"dist": "normal", "p5": -0.2, "p95": 0.7}
    assert json.loads(result.prior["spend.percent_per_year"].attrs["prior"])["lower"] == -100
    reread = mcscale.parse_scenario(result.tree.attrs["scenario_text"], "forms.toml")
    assert (reread.cap_kind, reread.hardware_ceiling_kind, reread.algorithms_ceiling_kind) == ("exponential",) * 3
    assert "algorithms.max_gain_oom" in reread.priors and "algorithms.rate_multiplier" in reread.priors


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        mcscale.parse_scenario(text, "bad.toml")
    return info.value.problems


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a rate that can regress or decline: spend and algorithms, in OOM per year
        ('oom_per_year = { dist = "normal", p5 = -0.2, p95 = 0.7 }', "oom_per_year = -0.3"),
        ('percent_per_year = { dist = "normal", p5 = -20, p95 = 120, lower = -100 }', "oom_per_year = -0.1"),
        ('percent_per_year = { dist = "normal", p5 = -20, p95 = 120, lower = -100 }', "percent_per_year = -99"),
        ("algorithms.oom_per_year = -0.05", "algorithms.percent_per_year = -50"),
    ],
)
def test_negative_growth_is_accepted_where_the_model_allows_regress(old, new):
    assert old in EXPONENTIAL
    mcscale.parse_scenario(EXPONENTIAL.replace(old, new), "ok.toml")


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        # FLOP per dollar does not regress in the model
        (
            'oom_per_year = { dist = "lognormal", p5 = 0.1, p95 = 0.4 }',
            'oom_per_year = { dist = "normal", p5 = 0.1, p95 = 0.4 }',
            "hardware.oom_per_year",
            "must be positive, but this normal prior can be -inf; set lower > 0",
        ),
        (
            "hardware.percent_per_year = 10",
            "hardware.percent_per_year = -5",
            "regimes[0].hardware.percent_per_year",
            "must be positive",
        ),
        # a percent rate is above -100 (a factor above 0)
        (
            'percent_per_year = { dist = "normal", p5 = -20, p95 = 120, lower = -100 }',
            'percent_per_year = { dist = "normal", p5 = -20, p95 = 120 }',
            "spend.percent_per_year",
            "must be greater than -100 (percent per year), this normal prior can be -inf; set lower >= -100",
        ),
        (
            "algorithms.oom_per_year = -0.05",
            "algorithms.percent_per_year = -100",
            "regimes[0].algorithms.percent_per_year",
            "got -100",
        ),
        # the other forms stay positive, and two forms of one rate are one too many
        (
            'oom_per_year = { dist = "normal", p5 = -0.2, p95 = 0.7 }',
            "doubling_time = -2",
            "algorithms.doubling_time",
            "must be positive",
        ),
        (
            "rate_multiplier = { dist",
            "doubling_time = 2\nrate_multiplier = { dist",
            "algorithms",
            "give doubling_time or oom_per_year, not both",
        ),
        (
            'max_gain_oom = { dist = "lognormal", p5 = 1, p95 = 8 }',
            "max_gain_oom = 3\nmax_gain = 1e3",
            "algorithms",
            "give max_gain or max_gain_oom, not both",
        ),
        ('cap_kind = "exponential"', 'cap_kind = "exp"', "spend.cap_kind", "must be one of hard, soft, exponential"),
    ],
)
def test_negative_growth_and_bad_forms_are_rejected_elsewhere_with_their_key_path(old, new, path, message):
    assert old in EXPONENTIAL
    problems = _problems(EXPONENTIAL.replace(old, new, 1))
    assert any(p == path and message in m for p, m in problems), problems


def test_stream_mode_declines_the_quantiles_of_a_prior_that_can_be_negative():
    result = mcscale.run(mcscale.parse_scenario(EXPONENTIAL, "forms.toml"), n_draws=2000, seed=1, mode="stream")
    with pytest.raises(mcscale.QueryError, match="can be zero or negative"):
        result.prior_quantiles("algorithms.oom_per_year")
    materialized = mcscale.run(mcscale.parse_scenario(EXPONENTIAL, "forms.toml"), n_draws=2000, seed=1)
    # a positive one is still read from its histogram (bins of 0.01 dex)
    np.testing.assert_allclose(
        np.log10(result.prior_quantiles("hardware.oom_per_year", (0.5,))),
        np.log10(materialized.prior_quantiles("hardware.oom_per_year", (0.5,))),
        atol=0.011,
    )
