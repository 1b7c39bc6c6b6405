"""``mcscale backtest``: the as-of scenario, the scores, and the command.

Oracles: a normal forecast's CDF and density (scipy.stats), PIT values of runs drawn from
the scenario being scored (uniform: a Kolmogorov-Smirnov test, fixed seeds), a direct run
of the same scenario, the as-of starting values worked out by hand from the TOML numbers,
and the bundled CSV read with the csv module.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mcscale
import mcscale.cli
from helpers import scenario_text
from mcscale.analysis import backtest as bt
from mcscale.analysis import history
from mcscale.cli.history import add_history_parsers
from mcscale.scenario_file import bundled_scenarios, load_scenario

CSV = Path(mcscale.__file__).parent / "data" / "frontier_runs.csv"

#: A scenario whose physical FLOP is uncertain through every factor, from 2020 to 2025.
UNCERTAIN = scenario_text(
    start=2020,
    end=2025,
    spend_initial='{ dist = "lognormal", p5 = 2e6, p95 = 2e7 }',
    spend_doubling_time='{ dist = "lognormal", p5 = 5, p95 = 12, unit = "month" }',
    hardware_flop_per_usd='{ dist = "lognormal", p5 = 1e17, p95 = 4e17 }',
    hardware_doubling_time='{ dist = "lognormal", p5 = 1.5, p95 = 3.0 }',
    utilization_value='{ dist = "uniform", low = 0.2, high = 0.5 }',
)


@pytest.fixture
def cli(monkeypatch):
    """``mcscale.cli.main`` with ``fit`` and ``backtest`` registered (until cli/__init__ wires them)."""
    original = mcscale.cli.build_parser

    def build():
        parser = original()
        commands = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
        if "backtest" not in commands.choices:
            add_history_parsers(commands)
        return parser

    monkeypatch.setattr(mcscale.cli, "build_parser", build)

    def invoke(argv: list[str]) -> int:
        try:
            return mcscale.cli.main(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1

    return invoke


# --------------------------------------------------------------------------- #
# Scores                                                                       #
# --------------------------------------------------------------------------- #


def test_pit_and_log_score_of_a_normal_forecast():
    rng = np.random.default_rng(0)
    mean, sd = 24.0, 0.4
    samples = rng.normal(mean, sd, size=(200_000, 1))
    observed = np.array([23.5, 24.0, 24.3, 25.2])
    pit = bt.pit_values(samples, observed)
    np.testing.assert_allclose(pit, stats.norm.cdf(observed, mean, sd), atol=0.005)
    logs = bt.log_scores(np.repeat(samples, observed.size, axis=1), observed)
    np.testing.assert_allclose(logs, stats.norm.logpdf(observed, mean, sd), atol=0.03)


def test_ties_count_half_and_a_point_forecast_has_no_density():
    samples = np.array([[1.0], [1.0], [2.0], [3.0]])
    assert bt.pit_values(samples, np.array([1.0]))[0] == pytest.approx(0.25)
    assert math.isnan(bt.log_scores(np.ones((10, 1)), np.array([1.0]))[0])


def test_pit_values_are_uniform_for_runs_drawn_from_the_scenario_being_scored():
    scenario = mcscale.parse_scenario(UNCERTAIN, "uncertain.toml")
    forecast = mcscale.run(scenario, n_draws=40_000, seed=1).trajectories["physical_flop"]
    truth = mcscale.run(scenario, n_draws=500, seed=2).trajectories["physical_flop"].values.reshape(-1, 6)
    years = 2021 + np.arange(truth.shape[0]) % 5  # one year per drawn future: independent PIT values
    observed = truth[np.arange(truth.shape[0]), years - 2020]

    def pits(shift: float) -> np.ndarray:
        draws = {y: forecast.sel(year=float(y)).values.reshape(-1, 1) for y in range(2021, 2026)}
        return np.concatenate([bt.pit_values(draws[y], observed[years == y] + shift) for y in draws])

    pit = pits(0.0)
    assert pit.size == 500
    assert stats.kstest(pit, "uniform").pvalue > 0.01
    inside50 = np.mean((pit >= 0.25) & (pit <= 0.75))
    inside90 = np.mean((pit >= 0.05) & (pit <= 0.95))
    assert abs(inside50 - 0.5) < 3 * math.sqrt(0.25 / 500) and abs(inside90 - 0.9) < 3 * math.sqrt(0.09 / 500)
    # the same runs 0.3 OOM higher than the scenario says: the test sees it
    assert stats.kstest(pits(0.3), "uniform").pvalue < 1e-6
    # score_years reads the same draws: its PIT of each year's first run is pit_values'
    result = mcscale.run(scenario, n_draws=40_000, seed=1)
    first = np.array([np.flatnonzero(years == y)[0] for y in range(2021, 2026)])
    scored = bt.score_years(result, years[first], observed[first], ("x",) * 5)
    expected = [
        bt.pit_values(forecast.sel(year=float(years[i])).values.reshape(-1, 1), observed[[i]])[0] for i in first
    ]
    np.testing.assert_allclose([s.pit for s in scored], expected)


# --------------------------------------------------------------------------- #
# The as-of scenario                                                           #
# --------------------------------------------------------------------------- #


def test_as_of_with_the_scenarios_own_values_is_the_scenario():
    scenario = mcscale.parse_scenario(UNCERTAIN, "uncertain.toml")
    priors = scenario.priors
    rewritten, start = bt.as_of_scenario(
        scenario,
        2020,
        2025,
        spend="lognormal(2e6, 2e7)",
        flop_per_usd="lognormal(1e17, 4e17)",
        utilization="uniform(0.2, 0.5)",
    )
    assert rewritten.name == "test as of 2020" and rewritten.questions == ()
    for key in ("spend.initial", "hardware.flop_per_usd", "utilization.value", "spend.doubling_time"):
        assert rewritten.priors[key].ppf(0.3) == pytest.approx(priors[key].ppf(0.3), rel=1e-12), key
    direct = mcscale.run(scenario, n_draws=3000, seed=5).trajectories["physical_flop"].values
    again = mcscale.run(rewritten, n_draws=3000, seed=5).trajectories["physical_flop"].values
    np.testing.assert_array_equal(direct, again)
    assert [v.how for v in start] == ["--flop-per-usd", "--utilization", "--spend"]


def test_baseline_as_of_2020_moves_price_performance_back_and_starts_on_the_record():
    baseline = load_scenario(bundled_scenarios()["baseline"])
    rewritten, start = bt.as_of_scenario(baseline, 2020, 2025, record_flop=3.14e23, record_system="GPT-3")
    assert (rewritten.start, rewritten.end) == (2020, 2025)
    assert rewritten.regimes == ()  # the 2030 regime is past the end
    assert rewritten.correlations == (("spend.doubling_time", "algorithms.doubling_time", 0.3),)
    # by hand from baseline.toml: FLOP/USD p5 8e17, p95 2.4e18 in 2025; hardware doubling p5 1.5, p95 3 years
    back = 2.0 ** (-5 / math.sqrt(1.5 * 3.0))
    fpu = rewritten.priors["hardware.flop_per_usd"]
    assert fpu.ppf(0.05) == pytest.approx(8e17 * back, rel=1e-3)
    assert fpu.ppf(0.95) == pytest.approx(2.4e18 * back, rel=1e-3)
    # spend: the record / (median FLOP per USD x median utilization), with baseline's 10x spread (4e8..4e9)
    centre = 3.14e23 / (math.sqrt(8e17 * 2.4e18) * back * math.sqrt(0.2 * 0.5))
    spend = rewritten.priors["spend.initial"]
    assert spend.ppf(0.5) == pytest.approx(centre, rel=1e-3)
    assert spend.ppf(0.95) / spend.ppf(0.05) == pytest.approx(10.0, rel=1e-3)
    assert "GPT-3" in start[-1].how and "2025 prior" in start[-1].how


def test_eras_as_of_2020_takes_the_2018_rates_and_drops_the_2026_ones():
    eras = load_scenario(bundled_scenarios()["eras"])
    rewritten, _ = bt.as_of_scenario(eras, 2020, 2025, record_flop=3.14e23)
    assert rewritten.regimes == ()
    assert rewritten.priors["spend.growth_per_year"].params["value"] == 10
    assert rewritten.priors["hardware.growth_per_year"].params["value"] == 1.31
    assert rewritten.priors["algorithms.growth_per_year"].params["value"] == 1.73
    # eras.toml: 1.4242e15 FLOP/USD in 2012, 1.73x a year to 2018, then 1.31x
    expected = 1.4242424242424242e15 * 1.73**6 * 1.31**2
    assert rewritten.priors["hardware.flop_per_usd"].params["value"] == pytest.approx(expected, rel=1e-3)


def test_a_regime_in_force_at_the_as_of_year_carries_its_correlation_over():
    slowdown = load_scenario(bundled_scenarios()["slowdown"])
    rewritten, _ = bt.as_of_scenario(slowdown, 2028, 2032, record_flop=1e28)
    assert rewritten.regimes == ()
    assert rewritten.correlations == (("hardware.growth_per_year", "algorithms.growth_per_year", 0.3),)
    assert "algorithms.doubling_time" not in rewritten.priors  # replaced by the regime's growth_per_year
    assert rewritten.priors["spend.doubling_time"].ppf(0.5) == pytest.approx(math.sqrt(2 * 6), rel=1e-9)


def test_a_kept_regime_stays_and_a_dropped_ones_correlation_goes():
    baseline = load_scenario(bundled_scenarios()["baseline"])
    text = baseline.text.replace(
        'pair = ["spend.doubling_time", "algorithms.doubling_time"]',
        'pair = ["spend.doubling_time@2030", "algorithms.doubling_time"]',
    )
    scenario = mcscale.parse_scenario(text, "b.toml")
    kept, _ = bt.as_of_scenario(scenario, 2025, 2035, record_flop=5e26)
    assert [r.start_year for r in kept.regimes] == [2030] and len(kept.correlations) == 1
    dropped, _ = bt.as_of_scenario(scenario, 2025, 2030, record_flop=5e26)
    assert dropped.regimes == () and dropped.correlations == ()


def test_to_toml_round_trips():
    import tomllib

    data = {
        "a": {"b": 1, "c": 2.5e-30, "d": 'x"y', "e": [1, 2], "f": {"g": True, "h k": float("inf")}},
        "r": [{"x": 1}],
    }
    assert tomllib.loads(bt.to_toml(data)) == data


# --------------------------------------------------------------------------- #
# The backtest and its command                                                 #
# --------------------------------------------------------------------------- #


def yearly_maxima() -> dict[int, tuple[str, float]]:
    best: dict[int, tuple[str, float]] = {}
    with CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            year, flop = int(row["publication_date"][:4]), float(row["training_compute_flop"])
            if year not in best or flop > best[year][1]:
                best[year] = (row["system"], flop)
    return best


def test_backtest_scores_each_years_largest_run_against_the_forecast_of_its_year():
    baseline = load_scenario(bundled_scenarios()["baseline"])
    result, run = bt.backtest(baseline, 2020, history.read_runs(), n_draws=20_000, seed=3)
    best = yearly_maxima()
    assert [s.year for s in result.scores] == [2021, 2022, 2023, 2024, 2025]
    assert [(s.system, 10**s.log10_flop) for s in result.scores] == [
        (best[y][0], pytest.approx(best[y][1])) for y in range(2021, 2026)
    ]
    for s in result.scores:  # PIT is the forecast's share at or below the record, in that year
        draws = run.trajectories["physical_flop"].sel(year=float(s.year)).values
        assert s.pit == pytest.approx(float(np.mean(draws <= s.log10_flop)), abs=1e-9)
        assert s.inside90 == (np.quantile(draws, 0.05) <= s.log10_flop <= np.quantile(draws, 0.95))
    # the as-of year's median physical FLOP is the record (GPT-3)
    assert 10 ** float(np.median(run.trajectories["physical_flop"].sel(year=2020.0))) == pytest.approx(
        3.14e23, rel=0.05
    )
    record = result.to_dict()
    assert record["n_years"] == 5 and record["share_inside_90"] == pytest.approx(
        np.mean([s.inside90 for s in result.scores])
    )


def test_backtest_command_prints_json_and_draws_the_fan(cli, capsys, tmp_path):
    figure = tmp_path / "fig.png"
    assert cli(["backtest", "baseline", "--as-of", "2022", "--draws", "5000", "--json", "-o", str(figure)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == 2022 and [y["year"] for y in out["years"]] == [2023, 2024, 2025]
    assert out["compared"].startswith("the largest run of each year")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
    assert cli(["backtest", "baseline", "--as-of", "2022", "--draws", "5000", "--spend", "lognormal(1e7, 1e8)"]) == 0
    text = capsys.readouterr().out
    assert 'spend.initial = { dist = "lognormal", p5 = 10000000.0, p95 = 100000000.0 }  (--spend)' in text
    assert "3 years scored: inside the 50% band" in text


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--as-of", "2025"], "--as-of 2025: the record (frontier_runs.csv) has no run after it"),
        (["--as-of", "20x0"], "--as-of: must be a whole year"),
        (["--as-of", "2020", "--until", "2030"], "--until 2030: the record ends in 2025"),
        (["--as-of", "2020", "--spend", "nan"], "--spend"),
        (["--as-of", "2020", "--spend", "-5"], "--spend"),
        (["--as-of", "2020", "--flop-per-usd", "lognormal(5, 1)"], "--flop-per-usd"),
        (["--as-of", "2020", "--utilization", "2"], "--utilization"),
        (["--as-of", "2020", "-o", "fig.pdf"], "writes .png, .svg files, not '.pdf'"),
        (["--as-of", "2020", "--data", "missing.csv"], "missing.csv: no such file"),
    ],
)
def test_backtest_bad_flags_are_one_line_and_exit_2(cli, capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    output = [] if "-o" in argv else ["-o", "fig.png"]
    assert cli(["backtest", "baseline", "--draws", "1000", *argv, *output]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and "error: " in err and fragment in err, err
    assert list(tmp_path.iterdir()) == []


def test_backtest_of_a_missing_scenario_is_exit_2(cli, capsys):
    assert cli(["backtest", "no-such-scenario", "--as-of", "2020"]) == 2
    assert "no such file or bundled scenario" in capsys.readouterr().err
