"""``mcscale fit``: the trend of past runs, its year-clustered interval, the runs file, the prior block.

Oracles: synthetic data with a known slope and year-clustered noise (the interval must
cover the slope about 90% of the time, where a naive interval does not), closed-form
HC2 and a direct n x n computation of the Bell-McCaffrey degrees of freedom, scipy's
least squares, and the bundled CSV read with the csv module.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg, stats

import mcscale
import mcscale.cli
from mcscale.analysis import history
from mcscale.cli.history import add_history_parsers
from scenario_factory import base_scenario, to_toml

CSV = Path(mcscale.__file__).parent / "data" / "frontier_runs.csv"
HEADER = "system,publication_date,training_compute_flop\n"
PREFIX = "mcscale: error: "


def bundled_rows() -> list[dict[str, str]]:
    with CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def cli(monkeypatch):
    """``mcscale.cli.main`` with ``fit`` and ``backtest`` registered (until cli/__init__ wires them)."""
    original = mcscale.cli.build_parser

    def build():
        parser = original()
        commands = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
        if "fit" not in commands.choices:
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
# The clustered fit against oracles                                            #
# --------------------------------------------------------------------------- #


def frontier_layout() -> tuple[np.ndarray, np.ndarray]:
    """Decimal years and calendar years of the bundled top-10 runs, 2010-2025 (16 unequal clusters)."""
    rows = [r for r in bundled_rows() if r["is_frontier"] == "1"]
    x = np.array([float(r["year_fraction"]) for r in rows])
    return x, np.floor(x).astype(int)


def test_the_interval_covers_a_known_slope_90_percent_of_the_time_under_year_clustered_noise():
    x, year = frontier_layout()
    truth, sets = 0.7, 200
    rng = np.random.default_rng(20250613)
    hits = naive_hits = 0
    slopes = []
    for _ in range(sets):
        shock = rng.normal(0.0, 0.4, size=year.max() + 1)  # one shared error per year
        y = 17.0 + truth * (x - 2010) + shock[year] + rng.normal(0.0, 0.4, size=x.size)
        fit = history.clustered_fit(x, y, year)
        hits += fit.slope_low <= truth <= fit.slope_high
        slopes.append(fit.slope)
        ols = stats.linregress(x, y)  # independent errors: the interval these data break
        half = stats.t.ppf(0.95, x.size - 2) * ols.stderr
        naive_hits += abs(ols.slope - truth) <= half
    sd = math.sqrt(0.9 * 0.1 / sets)
    assert abs(hits / sets - 0.9) <= 3 * sd, hits / sets
    assert naive_hits / sets < 0.75  # what pretending the runs are independent gives
    assert abs(np.mean(slopes) - truth) <= 4 * np.std(slopes) / math.sqrt(sets)


def test_the_largest_run_fit_covers_a_known_slope_with_one_point_a_year():
    years = np.arange(2018, 2026).astype(float)  # 8 points, as the 2018-2025 window has
    truth, sets = 0.63, 200
    rng = np.random.default_rng(7)
    hits = sum(
        (f := history.clustered_fit(years, 20 + truth * (years - 2018) + rng.normal(0, 0.46, 8), years)).slope_low
        <= truth
        <= f.slope_high
        for _ in range(sets)
    )
    assert abs(hits / sets - 0.9) <= 3 * math.sqrt(0.09 / sets), hits / sets


def test_point_estimate_and_spread_are_least_squares():
    rng = np.random.default_rng(3)
    x = np.repeat(np.arange(2012.0, 2024.0), 3) + rng.uniform(0, 1, 36)
    y = 18 + 0.55 * (x - 2012) + rng.normal(0, 0.5, x.size)
    fit = history.clustered_fit(x, y, np.floor(x))
    ols = stats.linregress(x, y)
    assert fit.slope == pytest.approx(ols.slope, rel=1e-12)
    residuals = y - (ols.intercept + ols.slope * x)
    assert fit.residual_sd == pytest.approx(math.sqrt(residuals @ residuals / (x.size - 2)), rel=1e-12)
    assert fit.value_at(2020.0) == pytest.approx(ols.intercept + ols.slope * 2020.0, rel=1e-12)
    assert fit.growth_per_year[0] == pytest.approx(10**ols.slope)
    assert fit.doubling_months[0] == pytest.approx(12 * math.log10(2) / ols.slope)


def test_with_one_point_a_year_the_variance_is_hc2():
    rng = np.random.default_rng(5)
    x = np.arange(2010.0, 2022.0)
    y = 20 + 0.6 * (x - 2010) + rng.normal(0, 0.5, x.size) * (1 + (x - 2010) / 5)
    fit = history.clustered_fit(x, y, x)
    design = np.column_stack([np.ones_like(x), x - x.mean()])
    bread = np.linalg.inv(design.T @ design)
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    e = y - design @ (bread @ design.T @ y)
    hc2 = bread @ (design.T * (e**2 / (1 - leverage))) @ design @ bread
    np.testing.assert_allclose(fit.covariance, hc2, rtol=1e-10)
    assert fit.se == pytest.approx(math.sqrt(hc2[1, 1]), rel=1e-10)


def test_bell_mccaffrey_degrees_of_freedom_match_a_direct_computation():
    x, year = frontier_layout()
    keep = year >= 2018
    x, year = x[keep], year[keep]
    y = np.random.default_rng(1).normal(size=x.size)
    fit = history.clustered_fit(x, y, year)
    # Imbens and Kolesar (2016): G = [(I - H)_{., g} A_g X_g (X'X)^-1 l]_g, df = tr(G'G)^2 / tr((G'G)^2)
    design = np.column_stack([np.ones_like(x), x - x.mean()])
    bread = np.linalg.inv(design.T @ design)
    residual_maker = np.eye(x.size) - design @ bread @ design.T
    columns = []
    for g in np.unique(year):
        rows = year == g
        adjust = np.real(linalg.sqrtm(np.linalg.inv(residual_maker[np.ix_(rows, rows)])))
        columns.append(residual_maker[:, rows] @ adjust @ design[rows] @ bread @ np.array([0.0, 1.0]))
    gtg = np.column_stack(columns).T @ np.column_stack(columns)
    assert fit.df == pytest.approx(np.trace(gtg) ** 2 / np.trace(gtg @ gtg), rel=1e-8)
    assert fit.df < year.size  # fewer than the number of runs: the clusters are what count


def test_a_fit_needs_three_years():
    with pytest.raises(ValueError, match="at least 3 years"):
        history.clustered_fit(np.array([2020.0, 2020.5, 2021.0]), np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))


# --------------------------------------------------------------------------- #
# The bundled data                                                             #
# --------------------------------------------------------------------------- #


def test_bundled_runs_read_as_the_csv_module_reads_them():
    rows = bundled_rows()
    runs = history.read_runs()
    assert len(runs) == len(rows) == 929
    np.testing.assert_allclose(runs.year, [float(r["year_fraction"]) for r in rows], atol=1e-6)
    np.testing.assert_allclose(runs.log10_flop, np.log10([float(r["training_compute_flop"]) for r in rows]))
    assert runs.is_frontier.sum() == 120


def test_frontier_ranked_within_the_file_is_the_files_column_from_2013_on():
    runs = history.read_runs()
    ranked = history.frontier_mask(replace(runs, is_frontier=None), 10)
    differ = np.flatnonzero(ranked != runs.is_frontier)
    # the column ranks against Epoch's whole database: one 2012 run has larger runs before 2010
    assert [runs.system[i] for i in differ] == ["LBL"]
    assert history.frontier_mask(runs, 10).sum() == 120
    assert history.frontier_mask(runs, 20).sum() > history.frontier_mask(runs, 5).sum()


def test_largest_per_year_is_each_calendar_years_maximum():
    by_year: dict[int, float] = {}
    for row in bundled_rows():
        year = int(row["publication_date"][:4])
        by_year[year] = max(by_year.get(year, 0.0), float(row["training_compute_flop"]))
    years, log10_max, systems = history.largest_per_year(history.read_runs(), 2010, 2025)
    assert list(years) == sorted(by_year)
    np.testing.assert_allclose(10.0**log10_max, [by_year[y] for y in years], rtol=1e-12)
    assert systems[-1] == "Grok-3" and systems[list(years).index(2020)] == "GPT-3 175B (davinci)"


def test_bundled_fit_2018_2025():
    fit = history.fit_history(history.read_runs(), 2018, 2025)
    assert (fit.largest.n, fit.frontier.n, fit.frontier.n_clusters) == (8, 76, 8)
    # OLS slopes of the data README's table (the point estimate does not depend on the errors)
    assert fit.frontier.slope == pytest.approx(0.681, abs=5e-4)
    assert fit.frontier.slope_low < 0.638 and fit.frontier.slope_high > 0.724  # wider than the OLS interval
    assert fit.largest.slope_low < fit.largest.slope < fit.largest.slope_high
    assert 10 ** fit.trend_interval[0] < 4.64e26 < 10 ** fit.trend_interval[1]


# --------------------------------------------------------------------------- #
# The prior block                                                              #
# --------------------------------------------------------------------------- #


def test_prior_block_is_spends_share_of_the_interval_and_pastes_into_a_scenario():
    fit = history.fit_history(history.read_runs(), 2018)
    block = tomllib.loads(history.prior_block(fit))
    prior = block["spend"]["doubling_time"]
    hardware = math.log10(2) / history.DEFAULT_HARDWARE_DOUBLING
    assert prior["unit"] == "month"
    assert prior["p5"] == pytest.approx(12 * math.log10(2) / (fit.largest.slope_high - hardware), rel=2e-3)
    assert prior["p95"] == pytest.approx(12 * math.log10(2) / (fit.largest.slope_low - hardware), rel=2e-3)
    data = base_scenario()
    data["spend"]["doubling_time"] = prior
    scenario = mcscale.parse_scenario(to_toml(data), "pasted.toml")
    assert scenario.priors["spend.doubling_time"].ppf(0.05) == pytest.approx(prior["p5"] / 12)


def test_prior_block_falls_back_to_a_growth_factor_when_spend_may_shrink():
    fit = history.fit_history(history.read_runs(), 2018, hardware_doubling=0.5)  # hardware outgrows compute
    block = tomllib.loads(history.prior_block(fit))
    prior = block["spend"]["growth_per_year"]
    assert prior["p5"] < 1 < prior["p95"] or prior["p95"] < 1
    assert "--hardware-doubling" in history.prior_block(fit)


# --------------------------------------------------------------------------- #
# Runs files: bad rows                                                         #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("a,2020-01-01,1e23\nb,2021-01-01,abc\n", "row 2 (line 3): training_compute_flop 'abc' is not a number"),
        ("a,2020-01-01,nan\n", "row 1 (line 2): training_compute_flop 'nan' is not a finite positive number"),
        ("a,2020-01-01,inf\n", "row 1 (line 2): training_compute_flop 'inf' is not a finite positive number"),
        ("a,2020-01-01,-1e20\n", "'-1e20' is not a finite positive number"),
        ("a,2020-01-01,0\n", "'0' is not a finite positive number"),
        ("a,2020-01-01,\n", "row 1 (line 2): training_compute_flop is empty"),
        ("a,2020-13-01,1e20\n", "publication_date '2020-13-01' is not a date YYYY-MM-DD"),
        ("a,2020/01/01,1e20\n", "publication_date '2020/01/01' is not a date"),
        ("a,2020-01-01\n", "row 1 (line 2): has 2 fields, the header 3"),
        ('"a\nb",2020-01-01,1e20\nc,2021-01-01,x\n', "row 2 (line 4)"),
    ],
)
def test_bad_rows_name_the_file_and_row(tmp_path, body, fragment):
    path = tmp_path / "runs.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(history.HistoryDataError) as info:
        history.read_runs(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and fragment in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty file"),
        ("system,training_compute_flop\na,1e20\n", "missing column publication_date"),
        (HEADER, "no runs"),
        ("system,publication_date,training_compute_flop,is_frontier\na,2020-01-01,1e20,2\n", "is_frontier '2'"),
    ],
)
def test_bad_files_are_one_line(tmp_path, text, fragment):
    path = tmp_path / "runs.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(history.HistoryDataError, match=fragment):
        history.read_runs(path)


def test_a_users_file_with_the_same_columns_fits(tmp_path):
    rows = bundled_rows()
    path = tmp_path / "mine.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # as a spreadsheet writes it, with a BOM
        writer = csv.writer(handle)
        writer.writerow(["training_compute_flop", "system", "publication_date"])  # any order, fewer columns
        for row in rows:
            writer.writerow([row["training_compute_flop"], row["system"], row["publication_date"]])
    mine = history.fit_history(history.read_runs(path), 2018)
    bundled = history.fit_history(replace(history.read_runs(), is_frontier=None), 2018)
    assert mine.largest.slope == pytest.approx(bundled.largest.slope, rel=1e-12)
    assert mine.frontier.slope == pytest.approx(bundled.frontier.slope, rel=1e-12)
    assert "the runs in mine.csv" in history.format_fit(mine)


# --------------------------------------------------------------------------- #
# The command                                                                  #
# --------------------------------------------------------------------------- #


def test_fit_command_prints_the_fit_and_writes_the_block(cli, capsys, tmp_path):
    block = tmp_path / "block.toml"
    assert cli(["fit", "--since", "2018", "--json", "-o", str(block)]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = history.fit_history(history.read_runs(), 2018).to_dict()
    assert out == json.loads(json.dumps(expected))
    assert out["largest"]["runs"][-1]["system"] == "Grok-3"
    assert block.read_text() == out["prior_block"]
    assert [p.name for p in tmp_path.iterdir()] == ["block.toml"]
    assert cli(["fit", "--since", "2010", "--until", "2025"]) == 0
    text = capsys.readouterr().out
    assert "largest run per year" in text and "top-10 frontier runs" in text and "[spend]" in text


def test_fit_frontier_top_changes_the_frontier(cli, capsys):
    assert cli(["fit", "--since", "2018", "--frontier-top", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frontier"]["n_points"] < 76


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["fit", "--since", "2018.5"], "--since: must be a whole year"),
        (["fit", "--since", "nan"], "--since: must be a whole year"),
        (["fit", "--hardware-doubling", "inf"], "--hardware-doubling: must be a finite positive number"),
        (["fit", "--hardware-doubling", "-2"], "--hardware-doubling: must be a finite positive number"),
        (["fit", "--frontier-top", "0"], "--frontier-top"),
        (["fit", "--since", "2024"], "2024-2025 has runs in 2 years; a trend needs at least 3"),
        (["fit", "--since", "2020", "--until", "2019"], "since must not be after until"),
        (["fit", "--data", "missing.csv"], "missing.csv: no such file"),
    ],
)
def test_fit_bad_flags_are_one_line_and_exit_2(cli, capsys, argv, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(argv + ["-o", "block.toml"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_fit_bad_row_through_the_command(cli, capsys, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(HEADER + "a,2020-01-01,1e20\nb,2021-02-03,1e999\n", encoding="utf-8")
    assert cli(["fit", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"{PREFIX}{path}: row 2 (line 3): training_compute_flop '1e999' is not a finite positive number\n"


# --------------------------------------------------------------------------- #
# The bundled scenarios agree with 2025                                        #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", ["baseline", "slowdown", "overhang"])
def test_the_2025_interval_of_physical_flop_contains_the_largest_2025_run(name):
    years, log10_max, systems = history.largest_per_year(history.read_runs(), 2025, 2025)
    assert systems == ("Grok-3",)
    result = mcscale.run(name, n_draws=20_000, seed=4)
    low, median, high = result.log10_quantiles("physical_flop", (0.05, 0.5, 0.95))[:, 0]
    assert low < log10_max[0] < high
    trend = history.fit_history(history.read_runs(), 2018).trend_log10
    assert abs(median - trend) < 0.25  # the median sits on the 2018-2025 trend of the largest run
