"""Variance reduction (conditional Monte Carlo, importance sampling): closed forms, honest MCSEs, bits, refusals."""

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

import mcscale
from helpers import scenario_text
from mcscale import QueryError
from mcscale.api import estimate_probabilities
from mcscale.cli import main
from mcscale.query import parse_question, scenario_references

# physical FLOP = spend x FLOP/USD x 0.4 x 2^(t / 1 year) x 2^(t / 2.5 years): log10 of it is normal in every year.
# The far hard cap never binds but keeps spend.initial from being integrated: only FLOP/USD is, and
# the conditional estimate keeps spend's spread.
TWO_LOGNORMALS = scenario_text(
    end=2028,
    spend_initial='{ dist = "lognormal", median = 1e8, gsd = 3 }',
    spend_extra='cap = 1e30\ncap_kind = "hard"',
    hardware_flop_per_usd='{ dist = "lognormal", median = 1e17, gsd = 2 }',
)
SD = math.hypot(math.log10(3), math.log10(2))


def _mu(year: int) -> float:
    """Mean of log10 physical FLOP in ``year`` [dex]."""
    return 8 + 17 + math.log10(0.4) + (year - 2025) * math.log10(2) * (1 + 1 / 2.5)


#: A body question, a lower tail and a far tail (z = 3.5, P = 2.3e-4), each with its closed form.
BODY = ("P(physical_flop >= 3e25 by 2027)", stats.norm.sf((math.log10(3e25) - _mu(2027)) / SD))
LOWER = ("P(physical_flop <= 1e24 in 2026)", stats.norm.cdf((24 - _mu(2026)) / SD))
TAIL_T = 10 ** (_mu(2027) + 3.5 * SD)
TAIL = (f"P(physical_flop >= {TAIL_T:.6e} by 2027)", stats.norm.sf(3.5))
BASELINE_Q = "P(effective_flop >= 1e31 by 2030)"


def _conditional_variance(p: float) -> float:
    """Variance of Phi((d + s_spend Z) / s_fpu) over Z, d set so that its mean is ``p``: one draw's under CMC."""
    s_spend, s_fpu = math.log10(3), math.log10(2)
    d = stats.norm.ppf(p) * SD  # P(d + s_spend Z + s_fpu Z' >= 0) = p

    def square(z: float) -> float:
        return stats.norm.cdf((d + s_spend * z) / s_fpu) ** 2 * stats.norm.pdf(z)

    return integrate.quad(square, -12, 12, epsabs=1e-13)[0] - p**2


@pytest.fixture(scope="module")
def scenario() -> mcscale.Scenario:
    return mcscale.parse_scenario(TWO_LOGNORMALS, "two_lognormals.toml")


@pytest.fixture(scope="module")
def baseline() -> mcscale.Scenario:
    return mcscale.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml")


def _queries(scenario, texts):
    return [parse_question(text, scenario_references(scenario)) for text in texts]


@pytest.mark.parametrize("sampler", ["mc", "qmc"])
def test_conditional_agrees_with_the_closed_form_and_beats_plain_monte_carlo(scenario, sampler):
    texts, exact = zip(BODY, LOWER, strict=True)
    answers = estimate_probabilities(scenario, _queries(scenario, texts), 2**17, 3, sampler, "conditional")
    for answer, p in zip(answers, exact, strict=True):
        assert answer.details["integrated"] == ["hardware.flop_per_usd"]
        assert abs(answer.value - p) <= 4 * answer.mcse
        if sampler == "mc":  # the per-draw variance of the smooth estimate, by quadrature
            assert answer.mcse == pytest.approx(math.sqrt(_conditional_variance(p) / answer.n_draws), rel=0.05)
        else:
            assert answer.mcse < math.sqrt(p * (1 - p) / answer.n_draws) / 10


@pytest.mark.parametrize("sampler", ["mc", "qmc"])
def test_importance_sampling_agrees_with_the_closed_form_of_a_tail(scenario, sampler):
    (answer,) = estimate_probabilities(scenario, _queries(scenario, [TAIL[0]]), 2**16, 5, sampler, "importance")
    p = TAIL[1]
    assert abs(answer.value - p) <= 4 * answer.mcse
    assert answer.mcse < math.sqrt(p / answer.n_draws) / 5
    d = answer.details
    assert 1 < d["ess"] < answer.n_draws and d["ess_hits"] > 1000 and d["pilot_draws"] >= 2**14
    # the optimal shift moves the two normals toward the event in proportion to their sd in dex
    theta = np.array(d["theta"])
    assert theta[0] / theta[1] == pytest.approx(math.log10(3) / math.log10(2), rel=0.2)
    assert "importance sampling, weights' ESS" in str(answer) and "among the draws meeting it" in str(answer)


def test_reductions_agree_with_plain_monte_carlo_on_baseline(baseline):
    (query,) = _queries(baseline, [BASELINE_Q])
    (plain,) = estimate_probabilities(baseline, [query], 2**19, 1)
    (conditional,) = estimate_probabilities(baseline, [query], 2**17, 2, "qmc", "conditional")
    assert conditional.details["integrated"] == ["hardware.flop_per_usd"]
    assert abs(plain.value - conditional.value) <= 4 * math.hypot(plain.mcse, conditional.mcse)
    assert conditional.mcse < plain.mcse / 2  # with a quarter of the draws
    (tail_plain,) = estimate_probabilities(baseline, _queries(baseline, ["P(effective_flop >= 1e32 by 2030)"]), 2**19)
    (tail,) = estimate_probabilities(
        baseline, _queries(baseline, ["P(effective_flop >= 1e32 by 2030)"]), 2**17, 3, "mc", "importance"
    )
    assert abs(tail_plain.value - tail.value) <= 4 * math.hypot(tail_plain.mcse, tail.mcse)
    assert tail.mcse < tail_plain.mcse


@pytest.mark.parametrize(
    ("sampler", "method", "question", "n_draws"),
    [
        ("mc", "conditional", BODY[0], 2**13),
        ("qmc", "conditional", BODY[0], 2**12),
        ("mc", "importance", TAIL[0], 2**13),
    ],
)
def test_reported_mcse_matches_the_spread_over_50_seeds(scenario, sampler, method, question, n_draws):
    queries = _queries(scenario, [question])
    replicates = 8 if sampler == "qmc" else None
    answers = [
        estimate_probabilities(scenario, queries, n_draws, seed, sampler, method, replicates)[0] for seed in range(50)
    ]
    spread = np.std([a.value for a in answers], ddof=1)
    # The root mean square: a reported variance is unbiased, and a scrambling's error on a smooth integrand is
    # heavy-tailed (the mean of the MCSEs there runs some 2x below the spread though their RMS matches it).
    reported = np.sqrt(np.mean([a.mcse**2 for a in answers]))
    assert spread == pytest.approx(reported, rel=0.25)


@pytest.mark.parametrize(
    ("sampler", "method", "question"),
    [("mc", "conditional", BASELINE_Q), ("qmc", "conditional", BASELINE_Q), ("mc", "importance", "1e33")],
)
def test_bit_identical_for_any_thread_count(baseline, sampler, method, question):
    question = BASELINE_Q.replace("1e31", question) if question == "1e33" else question
    queries = _queries(baseline, [question])
    runs = [estimate_probabilities(baseline, queries, 2**18, 7, sampler, method, threads=t)[0] for t in (1, 2)]
    assert runs[0].n_draws == 2**18
    assert (runs[0].value, runs[0].mcse, runs[0].details) == (runs[1].value, runs[1].mcse, runs[1].details)


@pytest.mark.parametrize(("sampler", "method"), [("qmc", "conditional"), ("mc", "importance")])
def test_reused_chunks_give_the_bits_of_a_fresh_run(baseline, sampler, method):
    question = BASELINE_Q if method == "conditional" else BASELINE_Q.replace("1e31", "1e33")
    queries = _queries(baseline, [question])
    reuse: dict = {}
    for n in (2**17, 2**18):
        grown = estimate_probabilities(baseline, queries, n, 5, sampler, method, reuse=reuse)[0]
        fresh = estimate_probabilities(baseline, queries, n, 5, sampler, method)[0]
        assert (grown.value, grown.mcse, grown.n_draws) == (fresh.value, fresh.mcse, fresh.n_draws)
    assert reuse  # chunks were kept
    for seed, other in ((6, question), (5, question.replace("by 2030", "by 2029"))):  # the same dict, other runs
        queries = _queries(baseline, [other])
        shared = estimate_probabilities(baseline, queries, 2**17, seed, sampler, method, reuse=reuse)[0]
        assert shared.value == estimate_probabilities(baseline, queries, 2**17, seed, sampler, method)[0].value


REFUSING = scenario_text(
    spend_extra='cap = 1e10\ncap_kind = "soft"',
    hardware_flop_per_usd='{ dist = "mixture", weights = [0.5, 0.5], components = [1e17, 3e17] }',
    utilization_value='{ dist = "lognormal", p5 = 0.2, p95 = 0.5, upper = 1 }',
)


def test_conditional_is_declined_with_the_reason(tmp_path, capsys):
    refusing = mcscale.parse_scenario(REFUSING, "refusing.toml")
    with pytest.raises(QueryError, match=r"mixture prior; utilization.value is truncated; spend.initial is capped"):
        estimate_probabilities(
            refusing, _queries(refusing, ["P(effective_flop >= 1e27 by 2030)"]), 1024, 0, "mc", "conditional"
        )
    path = tmp_path / "refusing.toml"
    path.write_text(REFUSING)
    args = ["query", str(path), "P(effective_flop >= 1e27 by 2030)", "--variance-reduction", "conditional"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a mixture prior" in err and "Traceback" not in err
    assert main(["query", "baseline", "P(spend >= 1e10 by 2030)", "--variance-reduction", "conditional"]) == 2
    assert "spend.initial is capped" in capsys.readouterr().err


def test_importance_and_non_probabilities_are_declined(baseline, capsys):
    with pytest.raises(QueryError, match="tail probabilities: the pilot puts this one at 0.1"):
        estimate_probabilities(baseline, _queries(baseline, [BASELINE_Q]), 1024, 0, "mc", "importance")
    with pytest.raises(QueryError, match="probability questions only"):
        estimate_probabilities(baseline, _queries(baseline, ["quantiles spend in 2030"]), 1024, 0, "mc", "conditional")
    for args in (
        [BASELINE_Q, "--variance-reduction", "importance"],
        [BASELINE_Q, "quantiles spend in 2030", "--variance-reduction", "conditional"],
    ):
        assert main(["query", "baseline", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ("tail probabilities" in err or "probability questions only" in err)


def test_precision_with_qmc_grows_the_draws_at_most_fourfold(capsys):
    args = ["query", "baseline", BASELINE_Q, "--sampler", "qmc", "--variance-reduction", "conditional"]
    assert main([*args, "--draws", "16384", "--precision", "0.0001", "--json"]) == 0
    captured = capsys.readouterr()
    # from 2**14 draws the n^-1/2 rule would ask some 1000-fold (past the 2e6 cap); in at most 4-fold steps the
    # MCSE falls about as 1/n and the run stops near 2**19 draws, far short of the cap
    assert '"variance_reduction": "conditional"' in captured.out and "precision 0.0001 reached" in captured.err
    n_done = int(captured.err.split("reached with ")[1].split()[0])
    assert n_done <= 2**20
