"""A streaming run counts what its questions need: no histograms for probabilities, no years past the last asked."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mcscale
from mcscale import QueryError, StreamResult
from mcscale.cli import main
from mcscale.query import ask, parse_question, scenario_references, stream_request, stream_specs
from mcscale.sim.engine import simulate_stream

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
N = 50_000

PROBABILITIES = [
    "P(effective_flop >= 1000 x GPT-4 by 2030)",
    "P(effective_flop >= 1e28 in 2029)",
    "P(spend <= 1e10 in 2028)",
    "P(physical_flop >= 3e27 by 2030)",
]
COST = "cost of 1000 x GPT-4 in 2030"


def _queries(scenario: mcscale.Scenario, texts: list[str]) -> list:
    return [parse_question(text, scenario_references(scenario)) for text in texts]


def _lean(scenario: mcscale.Scenario, texts: list[str], **options) -> StreamResult:
    request = stream_request(scenario, _queries(scenario, texts), figures=False)
    return mcscale.run(scenario, N, seed=5, chunk_size=8192, mode="stream", **request._asdict(), **options)


@pytest.fixture(scope="module")
def scenario() -> mcscale.Scenario:
    return mcscale.load_scenario(BASELINE)


def test_probability_questions_plan_no_histograms_and_stop_at_the_last_year(scenario):
    request = stream_request(scenario, _queries(scenario, PROBABILITIES), figures=False)
    assert not request.histograms and request.last_year == 2030.0 and request.costs == []
    assert len(request.thresholds) == len(PROBABILITIES)  # only the thresholds asked, not 10x-10000x
    run = simulate_stream(scenario, 20_000, seed=0, chunk_size=4096, **request._asdict())
    counts = run.counts
    assert counts.histogram.size == 0 and counts.parameter_histogram.size == 0
    assert counts.cost_histogram.size == 0 and run.moments.size == 0 and run.variables == []
    n_years = len(run.years)
    assert counts.exceed_by.shape == (len(PROBABILITIES), n_years)
    stop = int(np.flatnonzero(run.years == 2030.0)[0]) + 1
    assert run.stream.n_steps == stop < n_years
    assert not counts.exceed_by[:, stop:].any() and not counts.exceed_in[:, stop:].any()  # never propagated
    # every draw is counted each year up to the stop: spend <= 1e10 in 2028 is a share of all draws
    assert 0 < counts.exceed_in[2, stop - 3] < run.layout.n_draws


def test_questions_that_need_histograms_plan_them(scenario):
    for texts, figures in ((PROBABILITIES, True), ([*PROBABILITIES, "quantiles spend in 2030"], False)):
        request = stream_request(scenario, _queries(scenario, texts), figures=figures)
        assert request == (*stream_specs(scenario, _queries(scenario, texts)), True, None)
    assert stream_request(scenario, _queries(scenario, ["year effective_flop >= 1e30"]), figures=False).histograms
    cost = stream_request(scenario, _queries(scenario, [COST]), figures=False)
    assert not cost.histograms and len(cost.costs) == 1 and cost.last_year == 2030.0


def test_lean_answers_equal_full_streaming_and_materialized_answers(scenario):
    texts = [*PROBABILITIES, COST]
    lean = _lean(scenario, texts)
    full_specs = stream_specs(scenario, _queries(scenario, texts))
    full = mcscale.run(
        scenario, N, seed=5, chunk_size=8192, mode="stream", thresholds=full_specs[0], costs=full_specs[1]
    )
    materialized = mcscale.run(scenario, N, seed=5, chunk_size=8192)
    for text in PROBABILITIES:
        answers = [ask(result, text) for result in (lean, full, materialized)]
        assert answers[0].value == answers[1].value == answers[2].value  # exactly: the same comparisons, counted
        assert 0 < answers[0].value < 1 and answers[0].mcse == answers[1].mcse
    lean_cost, full_cost = ask(lean, COST), ask(full, COST)
    assert lean_cost.quantiles == full_cost.quantiles and lean_cost.details == full_cost.details


def test_lean_run_is_bit_identical_for_any_thread_count(scenario):
    runs = [_lean(scenario, [*PROBABILITIES, COST], threads=t) for t in (1, 2, 3)]
    for other in runs[1:]:
        xr.testing.assert_identical(runs[0].tree["accumulators"].to_dataset(), other.tree["accumulators"].to_dataset())


def test_saved_lean_run_records_what_it_counted(scenario, tmp_path):
    out = tmp_path / "lean.nc"
    _lean(scenario, PROBABILITIES).to_netcdf(out)
    back = mcscale.open_result(out)
    attrs = back.tree["accumulators"].attrs
    assert attrs["histograms"] == 0 and back.years[attrs["counted_years"] - 1] == 2030.0
    assert ask(back, PROBABILITIES[0]).value == ask(_lean(scenario, PROBABILITIES), PROBABILITIES[0]).value
    with pytest.raises(QueryError, match="counted only up to 2030"):
        ask(back, "P(effective_flop >= 1000 x GPT-4 by 2031)")
    with pytest.raises(QueryError, match="thresholds must be known before sampling"):
        ask(back, "P(effective_flop >= 100 x GPT-4 by 2030)")
    for text in ("quantiles spend in 2030", "interval spend in 2028"):
        with pytest.raises(QueryError, match="histogrammed nothing"):
            ask(back, text)
    with pytest.raises(QueryError, match="histogrammed nothing"):
        back.prior_quantiles("spend.initial")
    with pytest.raises(QueryError, match="counted only up to"):
        back.exceedance_curve("effective_flop", (1000.0, "GPT-4"))


def test_cli_streaming_query_gives_the_full_runs_answers(capsys):
    question = PROBABILITIES[0]
    args = ["query", "baseline", question, "--stream", "--draws", "20000", "--json"]
    assert main(args) == 0
    lean = capsys.readouterr().out
    assert main([*args, "quantiles spend in 2030"]) == 0  # a quantile: the run histograms everything
    both = capsys.readouterr().out.splitlines()
    assert both[0] == lean.strip() and '"kind": "quantiles"' in both[1]
