"""Randomised quasi-Monte Carlo: closed-form oracles within the MCSE of its replicates, bits on any thread count."""

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mcscale
from helpers import scenario_text
from mcscale import QueryError
from mcscale.api import qmc_probabilities
from mcscale.cli import main
from mcscale.query import parse_question, scenario_references, stream_request
from mcscale.sim.qmc import MAX_POINT_GROWTH, next_size, replicate_points, simulate_qmc

ROOT = Path(__file__).resolve().parents[1]
# physical FLOP in 2025 = spend x FLOP/USD x 0.4, two lognormals: log10 of it is normal
TWO_LOGNORMALS = scenario_text(
    end=2028,
    spend_initial='{ dist = "lognormal", median = 1e8, gsd = 3 }',
    hardware_flop_per_usd='{ dist = "lognormal", median = 1e17, gsd = 2 }',
)
MU = 8 + 17 + math.log10(0.4)
SD = math.hypot(math.log10(3), math.log10(2))
QUESTIONS = ["P(physical_flop >= 1e25 in 2025)", "P(physical_flop <= 3e24 in 2025)"]


@pytest.fixture(scope="module")
def scenario() -> mcscale.Scenario:
    return mcscale.parse_scenario(TWO_LOGNORMALS, "two_lognormals.toml")


def _queries(scenario, texts):
    return [parse_question(text, scenario_references(scenario)) for text in texts]


def test_qmc_agrees_with_the_closed_form_within_its_mcse_and_beats_plain_monte_carlo(scenario):
    exact = [stats.norm.sf((25 - MU) / SD), stats.norm.cdf((math.log10(3e24) - MU) / SD)]
    answers = qmc_probabilities(scenario, _queries(scenario, QUESTIONS), 2**18, seed=1)
    for answer, p in zip(answers, exact, strict=True):
        assert answer.n_draws == 2**18 and answer.details == {"sampler": "qmc", "replicates": 16}
        assert abs(answer.value - p) <= 4 * answer.mcse
        # an indicator is not smooth, but Sobol points still cut the error several-fold
        assert answer.mcse < math.sqrt(p * (1 - p) / answer.n_draws) / 3
        assert answer.probability_mcse() == answer.mcse
        assert "(MCSE, QMC, 16 scramblings, 262144 draws, seed 1)" in str(answer)


def test_mcse_from_the_replicates_is_their_spread(scenario):
    request = stream_request(scenario, _queries(scenario, QUESTIONS[:1]), figures=False)
    run = simulate_qmc(scenario, 2**15, request.thresholds, seed=2, replicates=8, last_year=request.last_year)
    shares = run.exceed_in[:, 0, 0] / run.points
    (answer,) = qmc_probabilities(scenario, _queries(scenario, QUESTIONS[:1]), 2**15, seed=2, replicates=8)
    assert answer.value == pytest.approx(shares.mean(), rel=1e-15)
    assert answer.mcse == pytest.approx(shares.std(ddof=1) / math.sqrt(8), rel=1e-12)
    assert len(set(shares)) > 1  # the scramblings differ


def test_qmc_is_bit_identical_for_any_thread_count(scenario):
    base = mcscale.load_scenario(ROOT / "scenarios" / "baseline.toml")
    request = stream_request(base, _queries(base, ["P(effective_flop >= 1e31 by 2030)"]), figures=False)
    runs = [simulate_qmc(base, 2**18, request.thresholds, seed=4, threads=t, last_year=2030) for t in (1, 2, 3)]
    assert runs[0].points == 2**14 and runs[0].stream.n_steps == 6
    for other in runs[1:]:
        assert np.array_equal(runs[0].exceed_in, other.exceed_in) and np.array_equal(runs[0].exceed_by, other.exceed_by)


def test_draws_round_up_to_replicates_times_a_power_of_two():
    assert replicate_points(100_000, 16) == 8192 and replicate_points(2**20, 16) == 2**16
    assert replicate_points(1, 16) == 1


@pytest.mark.parametrize(
    ("growth", "expected"),
    [
        (1.3, (2**14, 21)),  # under 2: only replicates, ceil(16 x 1.3)
        (2.0, (2**15, 16)),  # one doubling of the points covers it
        (3.0, (2**15, 24)),  # a doubling, then 1.5x the replicates
        (MAX_POINT_GROWTH, (2**16, 16)),
        (50.0, (2**16, 16)),  # far off: at most 4x the points, no replicates, and look again
    ],
)
def test_next_size_grows_points_by_powers_of_two_and_the_rest_by_replicates(growth, expected):
    points, replicates = next_size(2**14, 16, growth, max_draws=10**9)
    assert (points, replicates) == expected
    assert points * replicates >= min(growth, MAX_POINT_GROWTH) * 2**14 * 16


def test_next_size_always_grows_while_a_replicate_fits_under_the_cap():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        points, replicates = 2 ** int(rng.integers(0, 31)), int(rng.integers(2, 40))
        growth, cap = float(np.exp(rng.uniform(0.01, 5))), int(points * replicates * rng.uniform(1, 20))
        new_points, new_replicates = next_size(points, replicates, growth, cap)
        assert new_points >= points and new_replicates >= replicates and new_points * new_replicates <= cap
        if (points * (replicates + 1) <= cap) and growth * replicates > replicates + 1e-9:
            assert new_points * new_replicates > points * replicates


def test_next_size_stays_under_the_cap_and_never_shrinks():
    assert next_size(2**14, 16, 3.0, max_draws=2**19) == (2**15, 16)  # 24 replicates would pass 2^19 draws
    assert next_size(2**14, 16, 3.0, max_draws=2**18 + 5) == (2**14, 16)  # at the cap: no step left
    assert next_size(2**14, 16, 1.3, max_draws=2**14 * 18) == (2**14, 18)
    assert next_size(2**14, 16, 50.0, max_draws=30 * 2**14) == (2**14, 30)  # doubling would pass the cap
    assert next_size(2**30, 16, 3.0, max_draws=10**12) == (2**30, 48)  # scipy's most points: replicates do it all
    assert next_size(2**29, 16, 8.0, max_draws=10**12) == (2**30, 64)


def test_reused_chunks_give_the_bits_of_a_fresh_run(scenario):
    queries = _queries(scenario, QUESTIONS)
    reuse: dict = {}
    kept = []
    # grow the points (chunks of 65,536 from 2^16 points on), then the replicates
    for points, replicates in ((2**16, 16), (2**17, 16), (2**17, 17)):
        n = points * replicates
        grown = qmc_probabilities(scenario, queries, n, seed=3, replicates=replicates, reuse=reuse)
        fresh = qmc_probabilities(scenario, queries, n, seed=3, replicates=replicates)
        assert [(a.value, a.mcse, a.n_draws) for a in grown] == [(a.value, a.mcse, a.n_draws) for a in fresh]
        kept.append(len(reuse))
    assert kept == [16, 32, 34]  # each step computed only the chunks it added


def test_one_reuse_dict_shared_by_other_questions_and_seeds_changes_no_answer(scenario):
    reuse: dict = {}
    for seed, question in ((3, QUESTIONS[0]), (4, QUESTIONS[0]), (3, QUESTIONS[1])):
        queries = _queries(scenario, [question])
        shared = qmc_probabilities(scenario, queries, 2**20, seed=seed, reuse=reuse)[0]
        assert shared.value == qmc_probabilities(scenario, queries, 2**20, seed=seed)[0].value
    assert len(reuse) == 3 * 16


def test_qmc_declines_what_it_cannot_answer(scenario, capsys):
    with pytest.raises(QueryError, match="probability questions only"):
        qmc_probabilities(scenario, _queries(scenario, ["quantiles spend in 2026"]), 1024)
    with pytest.raises(ValueError, match="at least 2 replicates"):
        qmc_probabilities(scenario, _queries(scenario, QUESTIONS), 1024, replicates=1)
    question = "P(effective_flop >= 1e31 by 2030)"
    args = ["query", "baseline", question, "quantiles spend in 2030", "--sampler", "qmc", "--draws", "65536"]
    assert main([*args, "--json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert '"replicates": 16' in lines[0] and "probability questions only" in lines[1]
    assert main(["query", "baseline", question, "--sampler", "qmc", "--cluster", "local:1"]) == 2
    assert "not on a dask cluster" in capsys.readouterr().err
    for flags in (["--sampler", "qmc"], ["--variance-reduction", "conditional"]):
        assert main(["query", "--from", "missing.nc", question, *flags]) == 2
        assert "--from answers a saved run" in capsys.readouterr().err


def test_cli_precision_with_qmc_uses_the_replicates_mcse(capsys):
    question = "P(effective_flop >= 1e31 by 2030)"
    assert main(["query", "baseline", question, "--sampler", "qmc", "--precision", "0.001"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(question) and "precision 0.001 reached" in captured.err


def test_reported_mcse_matches_the_spread_over_50_seeds(scenario):
    queries = _queries(scenario, QUESTIONS[:1])
    answers = [qmc_probabilities(scenario, queries, 2**14, seed=seed)[0] for seed in range(50)]
    spread = np.std([a.value for a in answers], ddof=1)
    reported = np.mean([a.mcse for a in answers])
    assert spread == pytest.approx(reported, rel=0.25)
