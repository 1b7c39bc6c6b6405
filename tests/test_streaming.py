"""Streaming mode against materialized mode on the same seed, and its memory."""

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mcscale
from helpers import scenario_text
from mcscale import QueryError, StreamResult
from mcscale.cli import main
from mcscale.query import ask, parse_question, scenario_references, stream_specs
from mcscale.sim.accumulators import CROSSING_BINS_PER_STEP, STREAM_BIN_WIDTH
from mcscale.sim.engine import simulate_stream

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
N = 60_000

QUESTIONS = [
    "P(effective_flop >= 1000 x GPT-4 by 2030)",
    "P(effective_flop >= 1000 x GPT-4 in 2030)",
    "P(physical_flop >= 1e28 by 2035)",
    "P(spend <= 1e10 in 2031)",
    "P(spend <= 2e10 by 2040)",
    "year effective_flop >= 1e30",
    "year physical_flop >= 2e29",
    "quantiles physical_flop in 2030",
    "quantiles spend in 2045",
    "interval effective_flop in 2035",
    "interval flop_per_usd in 2040 hdi 0.8",
    "cost of 1000 x GPT-4 in 2030",
]


@pytest.fixture(scope="module")
def pair() -> tuple[mcscale.Result, StreamResult]:
    scenario = mcscale.load_scenario(BASELINE)
    queries = [parse_question(q, scenario_references(scenario)) for q in QUESTIONS]
    thresholds, costs = stream_specs(scenario, queries)
    materialized = mcscale.run(scenario, N, seed=8, chunk_size=8192)
    stream = mcscale.run(scenario, N, seed=8, chunk_size=8192, mode="stream", thresholds=thresholds, costs=costs)
    return materialized, stream


@pytest.mark.parametrize("question", QUESTIONS)
def test_streaming_answers_equal_materialized(pair, question):
    materialized, stream = ask(pair[0], question), ask(pair[1], question)
    assert stream.kind == materialized.kind and stream.n_draws == materialized.n_draws == N
    if materialized.kind == "probability":
        assert stream.value == materialized.value  # exactly: the same comparisons, counted
        assert stream.mcse == materialized.mcse and stream.bound == materialized.bound
    elif materialized.kind == "crossing_year":
        assert stream.details["p_never"] == materialized.details["p_never"]
        for key, value in materialized.quantiles.items():
            assert abs(stream.quantiles[key] - value) <= 5.0 / CROSSING_BINS_PER_STEP or value == stream.quantiles[key]
    elif materialized.kind == "interval" and materialized.details["method"] == "eti":
        for a, b in zip(stream.interval, materialized.interval, strict=True):
            assert abs(math.log10(a) - math.log10(b)) <= STREAM_BIN_WIDTH + 1e-12
    elif materialized.kind == "interval":
        # An HDI's ends sit where the density is equal, so they move with the noise of the
        # density there: allow 4 standard errors of an order statistic at that density.
        query = parse_question(question)
        draws = pair[0].trajectories[query.metric].values[..., pair[0].grid_index_in(query.year)].ravel()
        tail = (1 - query.prob) / 2
        for a, b in zip(stream.interval, materialized.interval, strict=True):
            end = math.log10(b)
            density = np.mean(np.abs(draws - end) < 0.05) / 0.1
            tolerance = 4 * math.sqrt(tail * (1 - tail) / N) / density + STREAM_BIN_WIDTH
            assert abs(math.log10(a) - end) <= tolerance, (a, b, tolerance)
    else:
        for key, value in materialized.quantiles.items():
            assert abs(math.log10(stream.quantiles[key]) - math.log10(value)) <= STREAM_BIN_WIDTH
        if materialized.kind == "cost":
            for key, value in materialized.details["effective_flop_quantiles"].items():
                effective = stream.details["effective_flop_quantiles"][key]
                assert abs(math.log10(effective) - math.log10(value)) <= STREAM_BIN_WIDTH


def test_summary_and_moments_equal_materialized(pair):
    materialized, stream = pair
    for name in ("effective_flop", "spend", "cap", "algo_multiplier"):
        a = materialized.summary[name].values
        b = stream.summary[name].values
        assert np.max(np.abs(a - b)) <= STREAM_BIN_WIDTH
        values = materialized.trajectories[name].values.reshape(N, -1)
        np.testing.assert_allclose(stream.summary[f"{name}_mean"].values, values.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(stream.summary[f"{name}_sd"].values, values.std(axis=0), rtol=1e-6, atol=1e-9)
    for name in ("spend.initial", "utilization.value", "spend.doubling_time@2030"):
        np.testing.assert_allclose(
            np.log10(stream.prior_quantiles(name)), np.log10(materialized.prior_quantiles(name)), atol=STREAM_BIN_WIDTH
        )


def test_requirement_thresholds_count_draw_by_draw():
    extra = '\n[milestone]\nrequirement = { dist = "lognormal", median = 1e28, gsd = 10 }\n'
    scenario = mcscale.parse_scenario(
        scenario_text(extra, end=2035, algorithms_doubling_time='{ dist = "lognormal", median = 1, gsd = 1.5 }'),
        "t.toml",
    )
    question = "P(effective_flop >= requirement by 2031)"
    thresholds, costs = stream_specs(scenario, [parse_question(question)])
    materialized = mcscale.run(scenario, 20_000, seed=1)
    stream = mcscale.run(scenario, 20_000, seed=1, mode="stream", thresholds=thresholds)
    assert ask(stream, question).value == ask(materialized, question).value
    assert 0.05 < ask(stream, question).value < 0.95


def _accumulators(result: StreamResult) -> xr.Dataset:
    return result.tree["accumulators"].to_dataset()


def test_bit_identical_for_any_thread_count_and_chunk_schedule():
    scenario = mcscale.load_scenario(BASELINE)
    runs = [mcscale.run(scenario, 40_000, seed=3, chunk_size=2500, mode="stream", threads=t) for t in (1, 2, 3)]
    for other in runs[1:]:
        xr.testing.assert_identical(_accumulators(runs[0]), _accumulators(other))
        xr.testing.assert_identical(runs[0].summary, other.summary)


def test_different_seeds_differ():
    scenario = mcscale.load_scenario(BASELINE)
    a = mcscale.run(scenario, 5000, seed=1, mode="stream")
    b = mcscale.run(scenario, 5000, seed=2, mode="stream")
    assert not np.array_equal(_accumulators(a)["sum"].values, _accumulators(b)["sum"].values)


def test_accumulators_do_not_grow_with_draws():
    scenario = mcscale.load_scenario(BASELINE)
    small = simulate_stream(scenario, 20_000, seed=0, chunk_size=4096)
    large = simulate_stream(scenario, 400_000, seed=0, chunk_size=4096)
    assert [a.nbytes for a in small.counts] == [a.nbytes for a in large.counts]
    assert small.moments.nbytes == large.moments.nbytes
    assert int(large.counts.histogram[0, 0].sum()) == large.layout.n_draws


@pytest.mark.slow
def test_peak_traced_memory_does_not_grow_with_draws():
    scenario = mcscale.load_scenario(BASELINE)
    simulate_stream(scenario, 4096, seed=0, chunk_size=4096)  # compile outside the trace
    peaks = []
    for n_draws in (40_960, 409_600):
        tracemalloc.start()
        simulate_stream(scenario, n_draws, seed=0, chunk_size=4096, threads=2)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.1 * peaks[0] + 2**20, peaks  # 10x the draws, same memory


def test_questions_not_accumulated_say_so():
    stream = mcscale.run(BASELINE, 5000, seed=0, mode="stream")
    with pytest.raises(QueryError, match="thresholds must be known before sampling"):
        ask(stream, "P(effective_flop >= 1e31 by 2030)")
    with pytest.raises(QueryError, match="did not histogram the cost"):
        ask(stream, "cost of 1e28 in 2030")
    # a streaming result keeps no draws, and its interface has no per-draw accessors
    assert not stream.keeps_draws and mcscale.run(BASELINE, 1000, seed=0).keeps_draws
    assert not any(hasattr(stream, name) for name in ("prior", "trajectories", "parameter_draws"))
    # the scenario's own questions and 10x-10000x the reference are always counted
    assert ask(stream, "P(effective_flop >= 1000 x GPT-4 by 2027)").value >= 0
    assert ask(stream, "year effective_flop >= 10000 x GPT-4").median > 2025


def test_netcdf_round_trip_of_a_streaming_run(tmp_path, capsys):
    out = tmp_path / "stream.nc"
    assert main(["run", "baseline", "--stream", "--draws", "20000", "-o", str(out)]) == 0
    capsys.readouterr()
    back = mcscale.open_result(out)
    assert isinstance(back, StreamResult) and back.n_draws == 20_000
    assert main(["query", "baseline", "--stream", "--draws", "20000", "--json"]) == 0
    fresh = capsys.readouterr().out
    assert main(["query", "--from", str(out), "--json"]) == 0
    assert capsys.readouterr().out == fresh


def test_cli_switches_to_streaming_over_the_memory_budget(capsys):
    question = "quantiles effective_flop in 2030"  # a probability alone would be counted, with no run to switch
    assert main(["query", "baseline", "--draws", "20000", "--memory-budget", "1M", question]) == 0
    captured = capsys.readouterr()
    assert "streaming instead" in captured.err
    assert captured.out.startswith(question)


def test_figures_from_a_streaming_run_match_materialized(pair):
    from mcscale.report.html import prior_table
    from mcscale.viz import chartdata

    materialized, stream = pair
    fans = [chartdata.fan(r, "effective_flop") for r in pair]
    for a, b in zip(fans[0].__dict__.values(), fans[1].__dict__.values(), strict=True):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            assert np.max(np.abs(a - b)) <= STREAM_BIN_WIDTH
    curves = [chartdata.exceedance(r, "effective_flop") for r in pair]
    for a, b in zip(curves[0].curves, curves[1].curves, strict=True):
        np.testing.assert_array_equal(a.probability, b.probability)  # counted exactly
    shares = [r.crossing_histogram("effective_flop", (1000.0, "GPT-4")) for r in pair]
    assert np.max(np.abs(shares[0] - shares[1])) <= 2 / N  # a crossing on a bin edge may round either way
    for row_m, row_s in zip(prior_table(materialized), prior_table(stream), strict=True):
        assert row_m.name == row_s.name
        for a, b in zip(row_m.sampled, row_s.sampled, strict=True):
            assert abs(math.log10(a) - math.log10(b)) <= STREAM_BIN_WIDTH


def test_cli_report_in_streaming_mode(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "baseline", "--stream", "--draws", "20000", "-o", str(out)]) == 0
    html = out.read_text()
    assert "P(effective_flop &gt;= 1000 x GPT-4 by 2030)" in html or "P(effective_flop >= 1000 x GPT-4 by 2030)" in html
    assert html.count("data:image/png;base64,") >= 5


def test_constant_quantities_stay_exact_in_streaming_mode():
    stream = mcscale.run(ROOT / "scenarios" / "eras.toml", 20_000, seed=0, mode="stream")
    materialized = mcscale.run(ROOT / "scenarios" / "eras.toml", 2000, seed=0)
    np.testing.assert_allclose(stream.summary["spend"].values, materialized.summary["spend"].values, rtol=1e-12)
    answer = ask(stream, "quantiles spend in 2012")
    assert all(v == pytest.approx(1000.0, rel=1e-12) for v in answer.quantiles.values())
    assert stream.prior_quantiles("spend.initial")[0] == 1000.0


def test_batches_of_chunks_merged_in_chunk_order_give_the_threaded_run_bits():
    # what a cluster's tasks do: integer counts summed in any order, moments added per chunk in order
    from mcscale.sim.engine import setup_stream, stream_chunks

    scenario = mcscale.load_scenario(ROOT / "scenarios" / "baseline.toml")
    threaded = simulate_stream(scenario, 50_000, seed=4, chunk_size=5000, threads=2)
    setup = setup_stream(scenario, 50_000, seed=4, chunk_size=5000)
    counts, per_chunk = setup.task.new_counts(), {}
    for first, count in [(7, 3), (0, 4), (4, 3)]:  # uneven batches, finishing out of order
        batch_counts, moments = stream_chunks(setup.task, first, count)
        counts.add(batch_counts)
        per_chunk.update({first + i: m for i, m in enumerate(moments)})
    total = np.zeros(setup.task.moments_shape())
    for k in range(10):
        total += per_chunk[k]
    assert all(np.array_equal(a, b) for a, b in zip(counts, threaded.counts, strict=True))
    assert np.array_equal(total, threaded.moments)
