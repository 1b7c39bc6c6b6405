"""The question language and its answers, against closed forms."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import mcscale
from helpers import run_text, scenario_text
from mcscale import QueryError
from mcscale.cli import main
from mcscale.query import Query, QuestionSyntaxError, ask, parse_question

ROOT = Path(__file__).resolve().parents[1]
LOG10_2 = math.log10(2.0)
N = 100_000

# Only the algorithmic doubling time T ~ lognormal(MU, SIGMA) is uncertain:
# log10 effective(t) = BASE + t (FIXED_RATE + log10(2) / T).
MU, SIGMA = 0.0, 0.5
BASE = math.log10(1e8 * 1e17 * 0.4)
FIXED_RATE = LOG10_2 * (1 / 1.0 + 1 / 2.5)
T_PRIOR = stats.lognorm(s=SIGMA, scale=math.exp(MU))


@pytest.fixture(scope="module")
def one_uncertain() -> mcscale.Result:
    text = scenario_text(end=2040, algorithms_doubling_time=f'{{ dist = "lognormal", mu = {MU}, sigma = {SIGMA} }}')
    return run_text(text, n_draws=N, seed=11)


def exact_p_reach(threshold: float, t: float) -> float:
    """P(log10 effective(t) >= threshold)."""
    gap = threshold - BASE - FIXED_RATE * t
    return 1.0 if gap <= 0 else float(T_PRIOR.cdf(t * LOG10_2 / gap))


def exact_crossing_time(threshold: float, doubling_time: np.ndarray) -> np.ndarray:
    return (threshold - BASE) / (FIXED_RATE + LOG10_2 / doubling_time)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "P(effective_flop >= 1000 x GPT-4 by 2030)",
            Query(
                "probability",
                "P(effective_flop >= 1000 x GPT-4 by 2030)",
                "effective_flop",
                ">=",
                (1000, "GPT-4"),
                2030,
                True,
            ),
        ),
        (
            "p(SPEND <= 1.5e10 IN 2031)",
            Query("probability", "p(SPEND <= 1.5e10 IN 2031)", "spend", "<=", 1.5e10, 2031, False),
        ),
        (
            "P(physical_flop ≥ 3 x gpt-3 by 2026)",
            Query(
                "probability", "P(physical_flop ≥ 3 x gpt-3 by 2026)", "physical_flop", ">=", (3, "GPT-3"), 2026, True
            ),
        ),
        (
            "P(effective_flop >= requirement by 2040)",
            Query(
                "probability",
                "P(effective_flop >= requirement by 2040)",
                "effective_flop",
                ">=",
                "requirement",
                2040,
                True,
            ),
        ),
        ("year effective_flop >= 1e28", Query("crossing_year", "year effective_flop >= 1e28", threshold=1e28)),
        (
            "median year effective_flop >= 1000x GPT-4",
            Query("crossing_year", "median year effective_flop >= 1000x GPT-4", threshold=(1000, "GPT-4")),
        ),
        (
            "quantiles physical_flop in 2030",
            Query("quantiles", "quantiles physical_flop in 2030", "physical_flop", year=2030),
        ),
        ("interval spend in 2030", Query("interval", "interval spend in 2030", "spend", year=2030)),
        (
            "interval spend in 2030 hdi 0.5",
            Query("interval", "interval spend in 2030 hdi 0.5", "spend", year=2030, method="hdi", prob=0.5),
        ),
        (
            "cost of 1000 x GPT-4 in 2030",
            Query("cost", "cost of 1000 x GPT-4 in 2030", "physical_flop", threshold=(1000, "GPT-4"), year=2030),
        ),
        (
            "COST OF 2.1e28 IN 2030",
            Query("cost", "COST OF 2.1e28 IN 2030", "physical_flop", threshold=2.1e28, year=2030),
        ),
    ],
)
def test_parser_accepts_every_documented_form(text, expected):
    assert parse_question(text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "caret_under"),
    [
        ("P(effective_flops >= 1e28 by 2030)", "expected a metric (known: spend, cap, flop_per_usd", "effective_flops"),
        ("P(effective_flop >= 1000 x GPT-5 by 2030)", "expected a reference (known: GPT-3, GPT-4)", "GPT-5"),
        ("P(effective_flop = 1e28 by 2030)", "expected '>=', '>', '<=' or '<'", "="),
        ("P(effective_flop >= $1B by 2030)", "a USD amount such as $10B only for spend or cap", "$1B"),
        ("P(effective_flop >= 1e28 until 2030)", "expected 'by' or 'in'", "until"),
        ("P(effective_flop >= 1e28 by 2030", "expected ')'", None),
        ("P(effective_flop >= 1e28 by 2030) please", "expected the end of the question", "please"),
        ("quantiles spend 2030", "expected 'in'", "2030"),
        ("interval spend in 2030 hdi 1.5", "expected an interval probability in (0, 1)", "1.5"),
        ("cost 1e28 in 2030", "expected 'of'", "1e28"),
        ("how much compute in 2030?", "expected a question", "how"),
        ("P(effective_flop >= 0 by 2030)", "expected a positive threshold", "0"),
        ("import os", "expected a question", "import"),
    ],
)
def test_parser_rejects_bad_questions_with_a_caret(text, expected, caret_under):
    with pytest.raises(QuestionSyntaxError) as info:
        parse_question(text)
    message = str(info.value)
    assert expected in message
    first, shown, carets = message.splitlines()
    assert shown == "  " + text
    start = len(carets) - len(carets.lstrip()) - 2
    width = len(carets.strip())
    if caret_under is None:
        assert start == len(text)
    else:
        assert text[start : start + width] == caret_under


@pytest.mark.parametrize(("threshold", "year"), [(30.0, 2030), (31.0, 2033), (32.5, 2040), (29.0, 2027)])
def test_probability_by_and_in_match_the_closed_form(one_uncertain, threshold, year):
    exact = exact_p_reach(threshold, year - 2025)
    for by in (True, False):  # trajectories only grow, so "by" and "in" agree
        kwargs = {"by": year} if by else {"in_year": year}
        answer = one_uncertain.probability("effective_flop", 10.0**threshold, **kwargs)
        assert answer.mcse == pytest.approx(math.sqrt(answer.value * (1 - answer.value) / N))
        assert abs(answer.value - exact) <= 4 * answer.mcse, (answer, exact)


def test_probability_below_a_threshold(one_uncertain):
    answer = ask(one_uncertain, "P(effective_flop <= 1e31 in 2032)")
    exact = 1 - exact_p_reach(31.0, 7)
    assert abs(answer.value - exact) <= 4 * answer.mcse


def test_by_uses_the_running_max_of_a_falling_trajectory():
    # spend doubles to 2e8 in 2026, then halves each year: above 1.5e8 "by 2030", not "in 2030"
    result = run_text(scenario_text("\n[[regimes]]\nfrom = 2026\nspend.growth_per_year = 0.5\n"), 100)
    assert result.probability("spend", 1.5e8, by=2030).value == 1.0
    assert result.probability("spend", 1.5e8, in_year=2030).value == 0.0
    assert result.probability("spend", 1.5e8, in_year=2026).value == 1.0


def test_rule_of_three_when_no_draw_qualifies(one_uncertain):
    answer = ask(one_uncertain, "P(effective_flop >= 1e90 by 2040)")
    assert answer.value == 0.0 and answer.mcse is None
    assert answer.bound == ("upper", 3.0 / N)
    assert "rule of three" in str(answer)
    everything = ask(one_uncertain, "P(effective_flop >= 1e20 by 2026)")
    assert everything.bound == ("lower", 1 - 3.0 / N)


def test_crossing_year_distribution_matches_the_closed_form(one_uncertain):
    threshold = 32.0
    answer = one_uncertain.crossing_year("effective_flop", 10.0**threshold)
    horizon = 15.0
    # t* grows with T, so its quantiles are t*(quantiles of T); never if t* > horizon
    p_never = float(T_PRIOR.sf(LOG10_2 / ((threshold - BASE) / horizon - FIXED_RATE)))
    assert abs(answer.details["p_never"] - p_never) <= 4 * math.sqrt(p_never * (1 - p_never) / N)
    for key, q in (("5%", 0.05), ("25%", 0.25), ("50%", 0.5), ("75%", 0.75)):
        exact = 2025 + float(exact_crossing_time(threshold, T_PRIOR.ppf(q)))
        assert abs(answer.quantiles[key] - exact) <= 4 * answer.quantile_mcse[key], (key, answer.quantiles[key], exact)
    # the crossing is interpolated in log10: exact for log-linear trajectories, draw by draw
    years = mcscale.stats.crossing_years(
        one_uncertain.trajectories["effective_flop"].values.reshape(N, -1),
        np.full(N, threshold),
        one_uncertain.years,
    )
    doubling = one_uncertain.prior["algorithms.doubling_time"].values.reshape(-1)
    expected = 2025 + exact_crossing_time(threshold, doubling)
    finite = expected <= 2040
    np.testing.assert_allclose(years[finite], expected[finite], rtol=0, atol=1e-9)
    assert np.all(np.isinf(years[~finite]))
    assert answer.quantiles["95%"] == math.inf or p_never < 0.05


def test_quantiles_and_their_mcse_match_the_closed_form(one_uncertain):
    # the algorithmic multiplier in 2030 is X = 2^(5 / T), falling in T
    answer = one_uncertain.quantiles("algo_multiplier", 2030)
    for key, q in (("5%", 0.05), ("50%", 0.5), ("95%", 0.95)):
        exact = 2.0 ** (5 / T_PRIOR.ppf(1 - q))
        assert abs(answer.quantiles[key] - exact) <= 4 * answer.quantile_mcse[key]
    # asymptotic MCSE of the median: sqrt(q (1 - q) / n) / density of X at its median,
    # where density_X = density_T / |dX/dT| at T = 1
    slope = 2.0**5 * math.log(2) * 5
    expected = math.sqrt(0.25 / N) * slope / T_PRIOR.pdf(1.0)
    assert answer.quantile_mcse["50%"] == pytest.approx(expected, rel=0.2)


def test_hdi_differs_from_eti_as_the_analytic_intervals_do():
    # physical_flop = 1e25 x U with U ~ uniform(0.2, 0.6): log10 U has a density rising
    # as 10^y, so the 90% HDI of log10 values is [F^-1(0.1), max], the ETI [F^-1(.05), F^-1(.95)].
    text = scenario_text(end=2026, utilization_value='{ dist = "uniform", low = 0.2, high = 0.6 }')
    result = run_text(text, n_draws=40_000, seed=2)
    scale = 1e8 * 1e17
    hdi = result.interval("physical_flop", 2025, "hdi", 0.9).interval
    eti = result.interval("physical_flop", 2025, "eti", 0.9).interval
    sd_of_order_statistic = 0.4 * math.sqrt(0.1 * 0.9 / 40_000)
    assert hdi[0] / scale == pytest.approx(0.24, abs=4 * sd_of_order_statistic)
    assert hdi[1] / scale == pytest.approx(0.6, abs=1e-3)
    assert eti[0] / scale == pytest.approx(0.22, abs=4 * sd_of_order_statistic)
    assert eti[1] / scale == pytest.approx(0.58, abs=4 * sd_of_order_statistic)


def test_hdi_of_a_lognormal_is_the_analytic_interval_in_log10():
    text = scenario_text(end=2026, spend_initial='{ dist = "lognormal", median = 1e8, gsd = 3 }')
    n = 100_000
    result = run_text(text, n_draws=n, seed=3)
    answer = result.interval("spend", 2025, "hdi", 0.8)
    sd = math.log10(3)
    z = stats.norm.ppf(0.9)
    # an interval end is about an order statistic: sd sqrt(q (1 - q) / n) / pdf, x sqrt(2) for the search
    tolerance = 4 * math.sqrt(2) * sd * math.sqrt(0.09 / n) / stats.norm.pdf(z)
    lo, hi = np.log10(answer.interval)
    assert lo == pytest.approx(8 - z * sd, abs=tolerance)
    assert hi == pytest.approx(8 + z * sd, abs=tolerance)
    assert answer.details["rhat"] == pytest.approx(1.0, abs=0.01)


def test_cost_is_flop_over_price_performance_and_utilization():
    text = scenario_text(end=2030, utilization_value='{ dist = "uniform", low = 0.2, high = 0.6 }')
    result = run_text(text, n_draws=40_000, seed=4)
    answer = ask(result, "cost of 1000 x GPT-4 in 2030")
    flop_per_usd = 1e17 * 2 ** (5 / 2.5)
    for key, q in (("5%", 0.05), ("50%", 0.5), ("95%", 0.95)):
        exact = 2.1e28 / (flop_per_usd * (0.2 + 0.4 * (1 - q)))  # cost falls as U rises
        assert abs(answer.quantiles[key] - exact) <= 4 * answer.quantile_mcse[key]
        assert answer.details["effective_flop_quantiles"][key] == pytest.approx(answer.quantiles[key] / 2**5, rel=1e-12)


def test_requirement_threshold_is_compared_draw_by_draw():
    extra = '\n[milestone]\nname = "TAI"\nrequirement = { dist = "lognormal", median = 1e28, gsd = 10 }\n'
    result = run_text(scenario_text(extra, end=2035), n_draws=N, seed=6)
    answer = ask(result, "P(effective_flop >= requirement by 2032)")
    reached = math.log10(1e8 * 1e17 * 0.4) + 7 * LOG10_2 * (1 + 1 / 2.5 + 1)
    exact = float(stats.norm.cdf((reached - 28) / 1.0))
    assert abs(answer.value - exact) <= 4 * answer.mcse


def test_uncertain_reference_multiplies_draw_by_draw():
    extra = '\n[reference]\nname = "Frontier-2025"\nflop = { dist = "loguniform", low = 1e25, high = 1e27 }\n'
    result = run_text(scenario_text(extra, end=2035), n_draws=N, seed=7)
    answer = ask(result, "P(physical_flop >= 10 x Frontier-2025 in 2030)")
    physical = math.log10(1e8 * 1e17 * 0.4) + 5 * LOG10_2 * (1 + 1 / 2.5)
    exact = (physical - 1 - 25) / 2  # log10 reference uniform on [25, 27]
    assert abs(answer.value - exact) <= 4 * answer.mcse


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("P(effective_flop >= 1e28 by 2070)", "outside the horizon 2025..2030"),
        ("quantiles spend in 2027.5", "not a grid year"),
        ("P(effective_flop >= requirement by 2030)", "no [milestone] requirement"),
        ("P(spend >= 10 x GPT-4 by 2030)", "spend is not"),
    ],
)
def test_questions_the_scenario_cannot_answer(question, message):
    result = run_text(scenario_text(), n_draws=1000)
    with pytest.raises(QueryError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        ask(result, question)


# -- the command line ---------------------------------------------------------------


def test_cli_answers_one_question(capsys):
    assert (
        main(
            [
                "query",
                str(ROOT / "scenarios/baseline.toml"),
                "P(effective_flop >= 1000 x GPT-4 by 2030)",
                "--draws",
                "20000",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.startswith("P(effective_flop >= 1000 x GPT-4 by 2030) = 0.")
    assert line.endswith("(MCSE, 20000 draws, seed 0)")


def test_cli_answers_the_scenarios_questions_as_json(capsys):
    assert main(["query", "baseline", "--draws", "5000", "--seed", "2", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in records] == [
        f"P(effective_flop >= 1000 x GPT-4 by {year})" for year in (2027, 2030, 2035)
    ]
    for record in records:
        assert {"question", "kind", "value", "mcse", "n_draws", "seed", "scenario"} <= set(record)
        assert record["n_draws"] == 5000 and record["seed"] == 2 and record["scenario"] == "baseline"


def test_cli_precision_stops_at_or_below_its_target(capsys):
    args = ["query", "baseline", "P(effective_flop >= 1000 x GPT-4 by 2030)", "quantiles spend in 2030"]
    assert main([*args, "--precision", "0.004", "--draws", "2000", "--json"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert records[0]["mcse"] <= 0.004
    n = records[0]["n_draws"]
    assert math.sqrt(0.25 / n) <= 0.004  # the median's rank MCSE too
    assert n < 40_000  # it stopped: about 0.25 / 0.004^2 = 15625 draws are needed
    assert "precision 0.004 reached" in captured.err


def test_cli_precision_says_when_the_cap_is_hit(capsys):
    args = ["query", "baseline", "P(effective_flop >= 1000 x GPT-4 by 2030)", "--precision", "0.0005"]
    assert main([*args, "--draws", "1000", "--max-draws", "3000"]) == 0
    assert "NOT reached" in capsys.readouterr().err


def test_cli_from_a_saved_run_gives_the_same_numbers(tmp_path, capsys):
    questions = [
        "P(effective_flop >= 1000 x GPT-4 by 2030)",
        "year physical_flop >= 1e28",
        "cost of 1e28 in 2030",
        "interval effective_flop in 2035 hdi",
    ]
    out = tmp_path / "run.nc"
    assert main(["run", "baseline", "--draws", "20000", "--seed", "5", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["query", "baseline", *questions, "--draws", "20000", "--seed", "5", "--json"]) == 0
    fresh = capsys.readouterr().out
    assert main(["query", "--from", str(out), *questions, "--json"]) == 0
    assert capsys.readouterr().out == fresh


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["P(effective_flops >= 1e28 by 2030)"], "known"),
        (["P(effective_flop >= 1e28 by"], "^"),
        (["P(effective_flop >= 5 x GPT-5 by 2030)"], "GPT-3, GPT-4"),
    ],
)
def test_cli_bad_questions_exit_2_without_traceback(args, message, capsys):
    assert main(["query", "baseline", *args, "--draws", "1000"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_a_question_this_scenario_cannot_answer_exits_1(capsys):
    # well formed, but past the horizon: not answered (exit 1), not bad input (exit 2)
    assert main(["query", "baseline", "P(effective_flop >= 1e28 by 2099)", "--draws", "1000"]) == 1
    out, err = capsys.readouterr()
    assert "not answered: year 2099 is outside the horizon 2025..2060" in out and "Traceback" not in err


def test_cli_from_rejects_sampling_options(tmp_path, capsys):
    assert main(["query", "--from", str(tmp_path / "missing.nc"), "P(spend >= 1 by 2030)"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_chunks_that_disagree_carry_an_rhat_warning():
    from mcscale.results.materialized import chain_checks

    rng = np.random.default_rng(0)
    agreeing = rng.standard_normal((4, 1000))
    assert "warning" not in chain_checks(agreeing)
    assert chain_checks(agreeing)["rhat"] == pytest.approx(1.0, abs=0.01)
    shifted = agreeing.copy()
    shifted[0] += 1.0
    checks = chain_checks(shifted)
    assert checks["rhat"] > 1.01 and "chunks disagree" in checks["warning"]


def test_scenario_questions_can_ask_for_the_milestone_requirement():
    extra = (
        '\n[milestone]\nname = "TAI"\nmetric = "physical_flop"\n'
        'requirement = { dist = "lognormal", median = 1e28, gsd = 10 }\n'
        '\n[[questions]]\nthreshold = "requirement"\nby = [2032]\n'
    )
    scenario = mcscale.parse_scenario(scenario_text(extra, end=2035), "t.toml")
    (query,) = mcscale.query.scenario_queries(scenario)
    assert query.text == "P(physical_flop >= requirement by 2032)"  # the milestone's metric
    answer = mcscale.query.answer(mcscale.run(scenario, N, seed=6), query)
    reached = math.log10(1e8 * 1e17 * 0.4) + 7 * LOG10_2 * (1 + 1 / 2.5)
    exact = float(stats.norm.cdf(reached - 28))
    assert abs(answer.value - exact) <= 4 * answer.mcse


def test_requirement_question_without_a_milestone_is_a_scenario_error():
    with pytest.raises(mcscale.ScenarioError, match=r"questions\[0\].threshold: .*needs a \[milestone\]"):
        mcscale.parse_scenario(scenario_text('\n[[questions]]\nthreshold = "requirement"\nby = 2030\n'), "t.toml")


@pytest.mark.parametrize(
    ("written", "as_read"),
    [
        ("P(spend > $10B by 2030)", "P(spend >= 1e10 by 2030)"),
        ("P(spend >= 500M in 2030)", "P(spend >= 5e8 in 2030)"),
        ("P(cap < $1T by 2040)", "P(cap <= 1e12 by 2040)"),
        ("P(effective_flop > 1e28 by 2030)", "P(effective_flop >= 1e28 by 2030)"),
        ("year spend >= $2.5k", "year spend >= 2500"),
    ],
)
def test_strict_operators_and_usd_suffixes_read_as_their_plain_forms(written, as_read):
    got, want = parse_question(written), parse_question(as_read)
    assert (got.kind, got.metric, got.op, got.threshold, got.year, got.by) == (
        want.kind,
        want.metric,
        want.op,
        want.threshold,
        want.year,
        want.by,
    )
