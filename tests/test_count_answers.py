"""Probability questions answered from counts alone (api.count_probabilities): the answers of a run, no result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcscale
from mcscale import QueryError
from mcscale.api import count_probabilities
from mcscale.model.scenario import ScenarioError
from mcscale.numbers import LOG10_LIMIT
from mcscale.query import ask, parse_question, scenario_references, stream_request
from mcscale.results.finite import range_thresholds
from mcscale.sim.encode import grid_index
from scenario_factory import DELETE, scenario_toml

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = {
    "baseline": [
        "P(effective_flop >= 1000 x GPT-4 by 2030)",
        "P(effective_flop >= 1e31 by 2030)",
        "P(effective_flop >= 1e28 in 2029)",
        "P(spend <= 1e10 in 2028)",
        "P(physical_flop > 3e27 by 2031)",
        "P(effective_flop >= 1e40 by 2030)",  # no draw: the rule-of-three bound
    ],
    "cotra2020": ["P(effective_flop >= requirement by 2050)", "P(effective_flop < requirement in 2040)"],
}


def _queries(scenario: mcscale.Scenario, texts: list[str]) -> list:
    return [parse_question(text, scenario_references(scenario)) for text in texts]


@pytest.mark.parametrize("name", sorted(QUESTIONS))
@pytest.mark.parametrize("mode", ["materialized", "stream"])
def test_counted_answers_are_the_answers_of_a_run(name, mode):
    # the same draws and counts as either mode of mcscale.run: every field equal, and the chunks' agreement
    # test that of a materialized run (a streaming run has none)
    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()[name])
    texts = QUESTIONS[name]
    queries = _queries(scenario, texts)
    counted = count_probabilities(scenario, queries, 40_000, seed=3, chunk_size=8192)
    request = stream_request(scenario, queries)._asdict() if mode == "stream" else {}
    result = mcscale.run(scenario, 40_000, seed=3, chunk_size=8192, mode=mode, **request)
    for text, got in zip(texts, counted, strict=True):
        expected, mine = ask(result, text).to_dict(), got.to_dict()
        if mode == "stream":
            for diagnostic in ("chunk_chi2", "chunk_dof", "chunk_p_value"):
                assert diagnostic in mine or got.bound is not None
                mine.pop(diagnostic, None)
        assert mine == expected


def test_counted_answers_do_not_depend_on_threads():
    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()["baseline"])
    queries = _queries(scenario, QUESTIONS["baseline"])
    one, two = (count_probabilities(scenario, queries, 30_000, seed=1, chunk_size=4096, threads=t) for t in (1, 2))
    assert [a.to_dict() for a in one] == [a.to_dict() for a in two]


def test_only_probabilities_are_counted():
    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()["baseline"])
    with pytest.raises(QueryError, match="probability questions only"):
        count_probabilities(scenario, _queries(scenario, ["quantiles spend in 2030"]), 1000)


def test_range_thresholds_tell_numbers_in_range_from_overflow_and_nan():
    # a value is in range exactly when it counts at the low threshold and not at the high one
    low, high = range_thresholds(["spend"])
    values = np.array([-LOG10_LIMIT - 1, -LOG10_LIMIT + 1, 0.0, LOG10_LIMIT - 1, LOG10_LIMIT + 1, np.inf, np.nan])
    in_range = (values >= low.log10_value) & ~(values >= high.log10_value)
    assert in_range.tolist() == [False, True, True, True, False, False, False]
    assert (low.variable, low.sign, high.sign) == ("spend", 1, 1)


@pytest.mark.parametrize(
    ("changes", "question", "fragment"),
    [
        (
            {"spend.initial": 1e308, "spend.cap": DELETE, "spend.cap_kind": DELETE},
            "P(spend >= 1e9 by 2030)",
            "the model overflows: spend",
        ),
        ({"hardware.doubling_time": 5e-324}, "P(flop_per_usd >= 1e18 by 2030)", "the model overflows: flop_per_usd"),
    ],
)
def test_a_counted_overflow_is_refused(tmp_path, changes, question, fragment):
    path = tmp_path / "small.toml"
    path.write_text(scenario_toml(changes), encoding="utf-8")
    scenario = mcscale.load_scenario(path)
    with pytest.raises(ScenarioError, match=fragment):
        count_probabilities(scenario, _queries(scenario, [question]), 1000)


def test_grid_index_reads_by_and_in_years():
    years = np.arange(2025.0, 2036.0)
    assert grid_index(years, 2030.5, by=True) == 5
    assert grid_index(years, 2030, by=False) == 5
    with pytest.raises(QueryError, match="not on the grid"):
        grid_index(years, 2030.5, by=False)
    with pytest.raises(QueryError, match="outside the horizon"):
        grid_index(years, 2040, by=True)


def _mcscale(*argv: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("mcscale")
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run([str(command), *argv], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_the_command_ends_with_its_exit_code_and_all_its_output():
    # the console script leaves by os._exit after flushing: codes and output must survive that
    done = _mcscale(
        "query", "baseline", "P(effective_flop >= 1e31 by 2030)", "P(spend >= 1e9 by 2070)", "--draws", "2000"
    )
    assert done.returncode == 1
    assert done.stdout.startswith("P(effective_flop >= 1e31 by 2030) = ")
    assert "outside the horizon" in done.stdout and "1 of 2 questions not answered" in done.stderr
    done = _mcscale("query", "no-such.toml", "P(effective_flop >= 1e31 by 2030)")
    assert done.returncode == 2 and done.stderr.startswith("mcscale: error: ") and not done.stdout


def test_a_lean_run_keeps_each_chunks_exceedances_and_they_add_up():
    from mcscale.sim.engine import simulate_stream

    scenario = mcscale.load_scenario(mcscale.bundled_scenarios()["baseline"])
    request = stream_request(scenario, _queries(scenario, QUESTIONS["baseline"]), figures=False)
    options = {"thresholds": request.thresholds, "histograms": False, "last_year": request.last_year}
    run = simulate_stream(scenario, 20_000, seed=2, chunk_size=4096, **options)
    n_steps = run.stream.n_steps
    assert run.chunk_exceed.shape == (run.layout.n_chunks, 2, len(request.thresholds), n_steps)
    assert np.array_equal(run.chunk_exceed[:, 0].sum(axis=0), run.counts.exceed_in[:, :n_steps])
    assert np.array_equal(run.chunk_exceed[:, 1].sum(axis=0), run.counts.exceed_by[:, :n_steps])
    one = simulate_stream(scenario, 20_000, seed=2, chunk_size=4096, threads=1, **options)
    assert np.array_equal(one.chunk_exceed, run.chunk_exceed)
    assert simulate_stream(scenario, 2000, seed=2, thresholds=request.thresholds).chunk_exceed is None
