"""parse_scenario / load_scenario: a valid file parses; every kind of bad input is reported with its key path."""

import math
from pathlib import Path

import pytest

from mcscale import ScenarioError, load_scenario, parse_scenario
from mcscale.cli import bundled_scenarios
from scenario_factory import (
    DELETE,
    INVALID_TOML,
    INVALID_TOML_LINE,
    ISSUE_CASES,
    SEVERAL_PROBLEMS,
    BadCase,
    base_scenario,
    lognormal,
    match_lines,
    mutate,
    problem,
    scenario_toml,
    to_toml,
)

SOURCE = "bad.toml"
REPO_SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.toml"))

_POINTS = [[20.0, 2.0], [30.0, 4.0]]

#: Further checks at the Python level, beyond the issue's list.
EXTRA_CASES: list[BadCase] = [
    BadCase(
        "growth-as-doubling-time-and-growth-per-year",
        {"spend.growth_per_year": 3.0},
        (problem("spend", "doubling_time", "growth_per_year", "not both"),),
    ),
    BadCase(
        "growth-twice-in-regime",
        {"regimes[0].spend.growth_per_year": 2.0},
        (problem("regimes[0].spend", "not both"),),
    ),
    BadCase(
        "unit-on-non-time-parameter",
        {"spend.initial.unit": "month"},
        (problem("spend.initial.unit", "only time parameters"),),
    ),
    BadCase(
        "lookup-of-unknown-prior",
        {"algorithms.max_gain": {"dist": "lookup", "of": "milestone.requirment", "points": _POINTS}},
        (problem("algorithms.max_gain.of", "unknown prior", "milestone.requirment"),),
    ),
    BadCase(
        "lookup-of-itself",
        {"algorithms.max_gain": {"dist": "lookup", "of": "algorithms.max_gain", "points": _POINTS}},
        (problem("algorithms.max_gain.of", "cycle"),),
    ),
    BadCase(
        "lookup-with-truncation",
        {"algorithms.max_gain": {"dist": "lookup", "of": "spend.initial", "points": _POINTS, "lower": 1.0}},
        (problem("algorithms.max_gain", "lookup", "lower"),),
    ),
    BadCase(
        "lookup-in-correlation",
        {
            "algorithms.max_gain": {"dist": "lookup", "of": "spend.initial", "points": [[1e8, 1e3], [1e9, 1e4]]},
            "correlations[0].pair": ["spend.doubling_time", "algorithms.max_gain"],
        },
        (problem("correlations[0].pair", "lookup", "cannot be correlated"),),
    ),
    BadCase(
        "fixed-in-correlation",
        {"algorithms.doubling_time": 1.0},
        (problem("correlations[0].pair", "fixed", "cannot be correlated"),),
    ),
    BadCase("utilization-fixed-above-one", {"utilization.value": 1.5}, (problem("utilization.value", "(0, 1]"),)),
    BadCase("utilization-fixed-zero", {"utilization.value": 0}, (problem("utilization.value", "(0, 1]"),)),
    # a table gives its lowest value exactly: 0 would be a run with no compute (log10 -inf)
    BadCase(
        "utilization-lookup-zero",
        {"utilization.value": {"dist": "lookup", "of": "spend.initial", "points": [[1e8, 0.0], [3e8, 0.4]]}},
        (problem("utilization.value", "(0, 1]"),),
    ),
    BadCase(
        "utilization-percentiles-zero",
        {"utilization.value": {"dist": "percentiles", "points": [[5, 0.0], [50, 0.3], [95, 0.5]]}},
        (problem("utilization.value", "(0, 1]"),),
    ),
    BadCase(
        "percentile-values-decrease",
        {"milestone.requirement": {"dist": "percentiles", "log10": True, "points": [[10, 30], [50, 29], [90, 35]]}},
        (problem("milestone.requirement.points", "must not decrease"),),
    ),
    BadCase(
        "percentiles-not-increasing",
        {"milestone.requirement": {"dist": "percentiles", "log10": True, "points": [[50, 30], [10, 31], [90, 35]]}},
        (problem("milestone.requirement.points", "strictly increasing"),),
    ),
    BadCase(
        "percentile-above-100",
        {"milestone.requirement": {"dist": "percentiles", "points": [[10, 1e26], [150, 1e30]]}},
        (problem("milestone.requirement.points", "[0, 100]"),),
    ),
    BadCase(
        "question-year-after-end",
        {"questions[0].by": [2027, 2050]},
        (problem("questions[0].by", "2050", "outside"),),
    ),
    BadCase(
        "question-year-before-start",
        {"questions[0].by": 2020},
        (problem("questions[0].by", "2020", "outside"),),
    ),
    BadCase("rho-one", {"correlations[0].rho": 1.0}, (problem("correlations[0].rho", "(-1, 1)"),)),
    BadCase(
        "prior-with-two-forms",
        {"spend.initial.median": 3e8},
        (problem("spend.initial", "several forms"),),
    ),
    BadCase("unknown-cap-kind", {"spend.cap_kind": "soft-ish"}, (problem("spend.cap_kind", "hard", "soft"),)),
    BadCase(
        "gsd-not-above-one",
        {"spend.initial": {"dist": "lognormal", "median": 3e8, "gsd": 1.0}},
        (problem("spend.initial.gsd", "greater than 1"),),
    ),
]


def raises(text: str, source: str = SOURCE) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source)
    return info.value


def check(error: ScenarioError, case: BadCase) -> None:
    assert error.source == SOURCE
    lines = error.lines()
    assert str(error).splitlines() == lines
    match_lines(lines, SOURCE, case.expected)
    assert sorted(path for path, _ in error.problems) == sorted(p.path for p in case.expected)


# --------------------------------------------------------------------------- #
# valid input                                                                  #
# --------------------------------------------------------------------------- #


def test_base_scenario_is_valid_and_converts_units():
    text = scenario_toml()
    scenario = parse_scenario(text, "base.toml")
    assert (scenario.start, scenario.end, scenario.step) == (2025, 2035, 1)
    assert scenario.n_years == 11
    assert scenario.source == "base.toml" and scenario.text == text
    assert scenario.priors["spend.doubling_time"].scale == pytest.approx(1 / 12)
    assert scenario.priors["hardware.doubling_time"].scale == 1.0
    assert scenario.priors["spend.doubling_time"].written == lognormal(6, 18, unit="month")
    assert [r.start_year for r in scenario.regimes] == [2030]
    assert scenario.correlations == (("spend.doubling_time", "algorithms.doubling_time", 0.3),)
    assert scenario.questions[0].years == (2027.0, 2030.0)
    assert scenario.cap_kind == "soft"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"hardware.doubling_time.dist": "normal", "hardware.doubling_time.lower": 0.5}, id="normal-lower"),
        pytest.param({"regimes[0].from": 2034}, id="regime-in-last-interval"),
        pytest.param({"questions[0].by": [2025, 2035]}, id="questions-at-both-ends"),
        pytest.param({"hardware.doubling_time": DELETE, "hardware.growth_per_year": 1.4}, id="growth-per-year"),
        pytest.param(
            {"hardware.flop_per_usd": DELETE, "hardware.price_per_flop": lognormal(2e-18, 1e-17)},
            id="price-per-flop",
        ),
        pytest.param({"utilization.value": 1.0}, id="utilization-one"),
        pytest.param(
            {
                "hardware.doubling_time.unit": "day",
                "hardware.doubling_time.p5": 700,
                "hardware.doubling_time.p95": 1300,
            },
            id="unit-day",
        ),
        pytest.param(
            {"spend.initial": {"dist": "mixture", "weights": [0.3, 0.7], "components": [1e8, lognormal(2e8, 2e9)]}},
            id="mixture",
        ),
        pytest.param(
            {
                "milestone": {
                    "name": "1e30",
                    "requirement": {"dist": "percentiles", "log10": True, "points": [[1, 26], [50, 30], [99, 34]]},
                },
                "algorithms.max_gain": {
                    "dist": "lookup",
                    "of": "milestone.requirement",
                    "log10": True,
                    "interpolation": "step",
                    "points": [[26, 1e2], [30, 1e3], [34, 1e4]],
                },
            },
            id="percentiles-and-lookup",
        ),
    ],
)
def test_valid_variants_parse(changes):
    parse_scenario(scenario_toml(changes), "ok.toml")


@pytest.mark.parametrize("path", REPO_SCENARIOS, ids=lambda p: p.stem)
def test_repository_scenarios_parse(path):
    scenario = load_scenario(path)
    assert scenario.source == path.name
    assert scenario.name == path.stem


def test_bundled_scenarios_match_the_repository_copies():
    bundled = bundled_scenarios()
    assert sorted(bundled) == ["baseline", "cotra2020", "cotra2022", "direct-approach", "eras", "overhang", "slowdown"]
    assert sorted(bundled) == [p.stem for p in REPO_SCENARIOS]
    for path in REPO_SCENARIOS:
        assert bundled[path.stem].read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- #
# bad input                                                                    #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("case", ISSUE_CASES, ids=lambda c: c.id)
def test_issue_cases_report_one_problem_with_its_key_path(case):
    check(raises(scenario_toml(case.changes)), case)


@pytest.mark.parametrize("case", EXTRA_CASES, ids=lambda c: c.id)
def test_further_bad_input_is_reported_with_its_key_path(case):
    check(raises(scenario_toml(case.changes)), case)


def test_several_problems_are_reported_at_once():
    check(raises(scenario_toml(SEVERAL_PROBLEMS.changes)), SEVERAL_PROBLEMS)


def test_lookup_cycle_is_rejected_and_names_both_priors():
    error = raises(
        scenario_toml(
            {
                "algorithms.max_gain": {"dist": "lookup", "of": "hardware.max_flop_per_usd", "points": _POINTS},
                "hardware.max_flop_per_usd": {"dist": "lookup", "of": "algorithms.max_gain", "points": _POINTS},
            }
        )
    )
    assert error.problems
    for path, message in error.problems:
        assert path in ("algorithms.max_gain.of", "hardware.max_flop_per_usd.of")
        assert "cycle" in message
        assert "algorithms.max_gain" in message and "hardware.max_flop_per_usd" in message


def test_doubling_time_that_can_be_non_positive_is_rejected_for_every_unbounded_form():
    for prior in (
        {"dist": "normal", "p5": 2.0, "p95": 3.5},
        {"dist": "normal", "mean": 2.5, "sd": 0.5},
        {"dist": "normal", "mean": 2.5, "sd": 0.5, "lower": 0.0},
        {"dist": "normal", "mean": 2.5, "sd": 0.5, "upper": 4.0},
        {"dist": "percentiles", "points": [[5, -1.0], [95, 3.0]]},
    ):
        error = raises(scenario_toml({"hardware.doubling_time": prior}))
        assert [path for path, _ in error.problems] == ["hardware.doubling_time"], prior
        assert "positive" in error.problems[0][1]


def test_invalid_toml_reports_the_line_number():
    error = raises(INVALID_TOML)
    assert len(error.lines()) == 1
    line = error.lines()[0]
    assert line.startswith(f"{SOURCE}: ")
    assert "invalid TOML" in line
    assert f"line {INVALID_TOML_LINE}" in line


def test_two_bad_priors_give_two_problems_and_no_others():
    data = mutate(base_scenario(), {"regimes": DELETE, "correlations": DELETE, "questions": DELETE})
    error = raises(to_toml(mutate(data, {"spend.doubling_time.p95": 6, "hardware.doubling_time": -1})))
    assert sorted(path for path, _ in error.problems) == ["hardware.doubling_time", "spend.doubling_time.p95"]


def test_missing_spend_section_is_reported():
    data = mutate(base_scenario(), {"spend": DELETE, "regimes": DELETE, "correlations": DELETE})
    error = raises(to_toml(data))
    assert error.problems == [("spend", "missing required section [spend]")]


def test_load_scenario_missing_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    assert "no such file" in str(info.value)


def test_load_scenario_reports_against_the_file_name(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(scenario_toml({"hardware.doubling_time.p5": 4.0}), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.lines() == ["typo.toml: hardware.doubling_time.p95: must be greater than p5"]


def test_non_finite_numbers_are_rejected():
    error = raises(scenario_toml({"spend.initial.p95": math.inf}))
    assert [path for path, _ in error.problems] == ["spend.initial.p95"]


@pytest.mark.parametrize(
    ("extra", "path", "message"),
    [
        (
            '\n[[correlations]]\npair = ["spend.initial", "spend.doubling_time"]\nrho = 0.5\n',
            "correlations[0].pair",
            "mixture prior and cannot be correlated",
        ),
        ('\n[reference]\nname = "Gemini Ultra"\nflop = 5e25\n', "reference.name", "must be one word"),
    ],
)
def test_mixtures_in_correlations_and_spaced_reference_names_are_rejected(extra, path, message):
    from helpers import scenario_text

    text = scenario_text(
        extra,
        spend_initial='{ dist = "mixture", weights = [0.5, 0.5], '
        'components = [1e8, { dist = "uniform", low = 2e8, high = 3e8 }] }',
        spend_doubling_time='{ dist = "lognormal", median = 1, gsd = 1.5 }',
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert any(p == path and message in m for p, m in info.value.problems), info.value.problems


def test_truncated_mixture_without_mass_is_rejected():
    from helpers import scenario_text

    prior = (
        '{ dist = "mixture", weights = [0.5, 0.5], lower = 2e8, upper = 2.5e8, components = ['
        '{ dist = "uniform", low = 1e7, high = 1e8 }, 3e8] }'
    )
    with pytest.raises(ScenarioError, match="spend.initial: lower/upper leave no probability mass"):
        parse_scenario(scenario_text(spend_initial=prior), "bad.toml")


def test_a_non_positive_definite_matrix_is_reported_with_other_problems():
    from helpers import scenario_text

    lognormal = '{ dist = "lognormal", median = 1, gsd = 1.5 }'
    text = scenario_text(
        "".join(
            f'\n[[correlations]]\npair = ["{a}", "{b}"]\nrho = {rho}\n'
            for a, b, rho in (
                ("spend.doubling_time", "hardware.doubling_time", 0.95),
                ("hardware.doubling_time", "algorithms.doubling_time", 0.95),
                ("spend.doubling_time", "algorithms.doubling_time", -0.95),
            )
        ),
        spend_doubling_time=lognormal,
        hardware_doubling_time=lognormal,
        algorithms_doubling_time=lognormal,
        spend_initial='{ dist = "lognormal", p5 = 5, p95 = 1 }',
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    paths = [p for p, _ in info.value.problems]
    assert "spend.initial.p95" in paths and "correlations[1]" in paths  # 0.95 twice is already not PD


def test_a_misspelt_key_is_not_reported_again_by_the_correlations():
    data = base_scenario()
    data["spend"]["doubling_tme"] = data["spend"].pop("doubling_time")
    error = raises(to_toml(data))
    assert [path for path, _ in error.problems] == ["spend.doubling_tme", "spend.doubling_time"]  # unknown, missing


def test_a_misspelt_section_is_reported_once():
    data = base_scenario()
    data["algorithm"] = data.pop("algorithms")
    error = raises(to_toml(data))
    assert [path for path, _ in error.problems] == ["algorithm"]
