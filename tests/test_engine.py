"""The model and the engine against closed forms and their own invariants."""

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mcscale
from helpers import flat, run_text, scenario_text
from mcscale.sim.chunks import chunk_layout

ROOT = Path(__file__).resolve().parents[1]
LOG10_2 = math.log10(2.0)


def test_exceedance_with_only_algorithmic_doubling_time_uncertain_matches_closed_form():
    # effective(t) = S0 F0 U 2^(t/Ts) 2^(t/Th) 2^(t/Ta); only Ta ~ lognormal(mu, sigma) [year].
    mu, sigma = math.log(1.0), 0.5
    text = scenario_text(
        end=2040,
        algorithms_doubling_time=f'{{ dist = "lognormal", mu = {mu}, sigma = {sigma} }}',
    )
    n = 100_000
    result = run_text(text, n_draws=n, seed=3)
    base = math.log10(1e8 * 1e17 * 0.4)
    threshold = 33.0  # log10 FLOP
    for t in (3, 5, 8, 15):
        year = 2025 + t
        fixed_growth = t * LOG10_2 * (1 / 1.0 + 1 / 2.5)
        # effective >= X  <=>  t log10(2) / Ta >= X - base - fixed  <=>  Ta <= t log10(2) / (that)
        gap = threshold - base - fixed_growth
        exact = stats.lognorm(s=sigma, scale=math.exp(mu)).cdf(t * LOG10_2 / gap) if gap > 0 else 1.0
        estimate = np.mean(flat(result.trajectories["effective_flop"].sel(year=year)) >= threshold)
        mcse = math.sqrt(max(exact * (1 - exact), 1e-12) / n)
        assert abs(estimate - exact) <= 4 * mcse, (year, estimate, exact, mcse)


def test_trajectories_follow_the_model_equations_draw_by_draw():
    text = scenario_text(
        '\n[[regimes]]\nfrom = 2028\nspend.growth_per_year = { dist = "uniform", low = 1.2, high = 2 }\n',
        end=2032,
        spend_initial='{ dist = "lognormal", p5 = 1e8, p95 = 1e9 }',
        spend_doubling_time='{ dist = "lognormal", p5 = 6, p95 = 18, unit = "month" }',
        hardware_doubling_time='{ dist = "lognormal", p5 = 2, p95 = 3.5 }',
        utilization_value='{ dist = "uniform", low = 0.2, high = 0.6 }',
    )
    result = run_text(text, n_draws=2000)
    p = {k: flat(v)[:, None] for k, v in result.prior.data_vars.items()}
    years = np.arange(2025, 2033)
    t = years - 2025.0
    intervals_before = np.minimum(t, 3)  # 2025->2028 at the first rate
    spend = (
        np.log10(p["spend.initial"])
        + intervals_before * LOG10_2 / p["spend.doubling_time"]
        + (t - intervals_before) * np.log10(p["spend.growth_per_year@2028"])
    )
    fpu = 17 + t * LOG10_2 / p["hardware.doubling_time"]
    physical = spend + fpu + np.log10(p["utilization.value"])
    effective = physical + t * LOG10_2 / 1.0
    traj = result.trajectories
    for name, expected in (
        ("spend", spend),
        ("flop_per_usd", fpu),
        ("physical_flop", physical),
        ("effective_flop", effective),
    ):
        np.testing.assert_allclose(traj[name].values.reshape(-1, len(years)), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_spend_cap(kind):
    text = scenario_text(
        end=2035,
        spend_extra=f'cap = {{ dist = "lognormal", p5 = 3e8, p95 = 3e9 }}\n'
        f'cap_kind = "{kind}"\ncap_growth_per_year = 1.1',
    )
    result = run_text(text, n_draws=5000)
    t = np.arange(11.0)
    uncapped = 1e8 * 2.0**t
    cap = flat(result.prior["spend.cap"])[:, None] * 1.1**t
    spend = 10.0 ** result.trajectories["spend"].values.reshape(-1, 11)
    np.testing.assert_allclose(10.0 ** result.trajectories["cap"].values.reshape(-1, 11), cap, rtol=1e-12)
    if kind == "hard":
        np.testing.assert_allclose(spend, np.minimum(uncapped, cap), rtol=1e-12)
        assert np.any(spend == cap) and np.all(spend <= cap * (1 + 1e-12))
    else:
        np.testing.assert_allclose(spend, uncapped * cap / (uncapped + cap), rtol=1e-12)


def test_gdp_cap_price_per_flop_and_ceilings():
    text = """
[scenario]
name = "ceilings"
start = 2025
end = 2045

[spend]
initial = 1e9
growth_per_year = 3
cap_gdp_fraction = { dist = "loguniform", low = 1e-3, high = 1e-2 }
cap_kind = "hard"

[economy]
gdp = 1.1e14
gdp_growth_per_year = 1.03

[hardware]
price_per_flop = 5e-18
doubling_time = { dist = "lognormal", p5 = 18, p95 = 30, unit = "month" }
max_flop_per_usd = 1e19
ceiling_kind = "hard"

[utilization]
value = 0.4

[algorithms]
doubling_time = 1
max_gain = { dist = "loguniform", low = 1e2, high = 1e4 }
ceiling_kind = "soft"
"""
    result = run_text(text, n_draws=3000)
    t = np.arange(21.0)
    fraction = (
        flat(result.prior["economy.gdp_growth_per_year"]) if "economy.gdp_growth_per_year" in result.prior else None
    )
    assert fraction is None  # fixed priors are not in the prior group
    cap = flat(result.prior["spend.cap_gdp_fraction"])[:, None] * 1.1e14 * 1.03**t
    spend = np.minimum(1e9 * 3.0**t, cap)
    fpu = np.minimum(2e17 * 2.0 ** (t / flat(result.prior["hardware.doubling_time"])[:, None]), 1e19)
    gain = flat(result.prior["algorithms.max_gain"])[:, None]
    algo = 2.0**t * gain / (2.0**t + gain)
    traj = {k: 10.0 ** v.values.reshape(-1, 21) for k, v in result.trajectories.data_vars.items()}
    np.testing.assert_allclose(traj["spend"], spend, rtol=1e-12)
    np.testing.assert_allclose(traj["flop_per_usd"], fpu, rtol=1e-12)
    np.testing.assert_allclose(traj["algo_multiplier"], algo, rtol=1e-12)
    np.testing.assert_allclose(traj["effective_flop"], spend * fpu * 0.4 * algo, rtol=1e-12)


def test_eras_reproduces_its_growth_factors():
    result = mcscale.run(ROOT / "scenarios" / "eras.toml", n_draws=100, seed=0)
    years = result.years
    factors = {  # per year, by era: 2012-2017 | 2018-2025 | 2026-
        "spend": (1.0, 10.0, 1.73),
        "flop_per_usd": (1.73, 1.31, 1.22),
        "algo_multiplier": (4.0, 1.73, 1.73),
    }
    for name, (first, second, third) in factors.items():
        values = 10.0 ** result.trajectories[name].isel(chain=0, draw=0).values
        ratio = values[1:] / values[:-1]
        starts = years[:-1]
        expected = np.where(starts < 2018, first, np.where(starts < 2026, second, third))
        np.testing.assert_allclose(ratio, expected, rtol=1e-9, err_msg=name)
    effective = 10.0 ** result.trajectories["effective_flop"].isel(chain=0, draw=0).values
    # The essay's yearly totals: 6.92x (2012-17), 22.66x (2018-25), 3.65x (2026-).
    for start, factor in ((2012, 4 * 1.73 * 1), (2018, 1.73 * 1.31 * 10), (2026, 1.73 * 1.22 * 1.73)):
        i = int(start - 2012)
        assert effective[i + 1] / effective[i] == pytest.approx(factor, rel=1e-9)
    assert effective[0] == pytest.approx(4.7e17, rel=1e-12)  # AlexNet, by construction
    assert np.all(np.ptp(result.trajectories["effective_flop"].values.reshape(-1, len(years)), axis=0) == 0)


def test_regimes_on_a_quarter_year_grid():
    text = scenario_text(
        "\n[[regimes]]\nfrom = 2026.5\nspend.doubling_time = 0.5\n", end=2028, step=0.25, spend_doubling_time=1.0
    )
    result = run_text(text, n_draws=10)
    spend = result.trajectories["spend"].isel(chain=0, draw=0).values
    steps = np.diff(spend) / LOG10_2
    # six quarter-year intervals before 2026.5 at 1 doubling per year, six after at 2
    np.testing.assert_allclose(steps, [0.25] * 6 + [0.5] * 6, rtol=1e-12)
    assert result.years[0] == 2025 and result.years[-1] == 2028 and len(result.years) == 13


def _digest(result: mcscale.Result) -> str:
    h = hashlib.sha256()
    for group in (result.prior, result.trajectories):
        for name in sorted(group.data_vars):
            h.update(np.ascontiguousarray(group[name].values).tobytes())
    return h.hexdigest()


def test_bit_identical_for_one_and_two_threads():
    path = ROOT / "scenarios" / "baseline.toml"
    one = mcscale.run(path, n_draws=50_000, seed=5, chunk_size=4096, threads=1)
    two = mcscale.run(path, n_draws=50_000, seed=5, chunk_size=4096, threads=2)
    assert _digest(one) == _digest(two)


def test_same_seed_same_bits_different_seed_different_draws():
    path = ROOT / "scenarios" / "baseline.toml"
    a = mcscale.run(path, n_draws=5000, seed=1)
    b = mcscale.run(path, n_draws=5000, seed=1)
    c = mcscale.run(path, n_draws=5000, seed=2)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert not np.any(a.prior["spend.initial"].values == c.prior["spend.initial"].values)


@pytest.mark.slow
def test_bit_identical_across_numba_num_threads_in_fresh_processes():
    code = (
        "import hashlib, mcscale, numpy as np;"
        "r = mcscale.run('scenarios/baseline.toml', n_draws=40000, seed=9, chunk_size=5000);"
        "print(hashlib.sha256(np.ascontiguousarray(r.trajectories['effective_flop'].values).tobytes()).hexdigest())"
    )
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_chunk_generator_is_the_spawned_child():
    from mcscale.sim.chunks import chunk_generator

    children = np.random.SeedSequence(11).spawn(4)
    expected = np.random.Generator(np.random.SFC64(children[3])).standard_normal(5)
    np.testing.assert_array_equal(chunk_generator(11, 3).standard_normal(5), expected)


@pytest.mark.parametrize(
    ("n_draws", "chunk_size", "expected"),
    [
        (100_000, 65536, (2, 50_000)),
        (1_000_000, 65536, (16, 62_500)),
        (10_000_000, 65536, (160, 62_500)),
        (1000, 65536, (1, 1000)),
        (65537, 65536, (2, 32769)),  # 65537 is prime: rounded up to 65538
    ],
)
def test_chunk_layout(n_draws, chunk_size, expected):
    layout = chunk_layout(n_draws, chunk_size)
    assert (layout.n_chunks, layout.chunk_length) == expected
    assert layout.chunk_length <= chunk_size
    assert 0 <= layout.n_draws - n_draws < layout.n_chunks


def test_chunk_layout_rejects_non_positive():
    with pytest.raises(ValueError, match="positive"):
        chunk_layout(0)


@pytest.mark.parametrize("mode", ["materialized", "stream"])
def test_progress_is_reported_per_chunk_and_changes_nothing(mode):
    calls = []
    path = ROOT / "scenarios" / "baseline.toml"
    with_progress = mcscale.run(
        path, 20_000, seed=2, chunk_size=4000, mode=mode, progress=lambda d, n: calls.append((d, n))
    )
    assert calls == [(4000 * (k + 1), 20_000) for k in range(5)]
    without = mcscale.run(path, 20_000, seed=2, chunk_size=4000, mode=mode)
    assert without.summary.equals(with_progress.summary)


def test_batches_of_chunks_sample_what_the_threaded_run_samples():
    # what a cluster's tasks do in materialized mode: any batch of whole chunks, anywhere
    from mcscale.sim.engine import sample_chunks, setup_run, simulate

    scenario = mcscale.load_scenario(ROOT / "scenarios" / "baseline.toml")
    threaded = simulate(scenario, 20_000, seed=4, chunk_size=4000, threads=2)
    setup = setup_run(scenario, 20_000, seed=4, chunk_size=4000)
    parameters, trajectories = sample_chunks(setup.task, 2, 3, len(setup.variables), len(setup.years))
    assert np.array_equal(parameters, threaded.parameters[:, 2:5])
    assert np.array_equal(trajectories, threaded.trajectories[:, 2:5])
