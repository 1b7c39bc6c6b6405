"""The JSON Schema and the reference of the scenario format agree with the validator they are built from."""

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from mcscale import ScenarioError, bundled_scenarios, parse_scenario
from mcscale.cli.init import template_text
from mcscale.model.prior_tables import COMMON_KEYS, OPTIONAL_KEYS, PRIOR_FORMS
from mcscale.scenario_file import (
    CORRELATION_KEYS,
    DEPENDENT_KEYS,
    ESTIMATE_KEYS,
    EXCLUSIVE_KEYS,
    GRID_KEYS,
    PARAMETERS,
    QUESTION_KEYS,
    REGIME_KEYS,
    REQUIRED_KEYS,
    REQUIRED_SECTIONS,
    SECTIONS,
    STRING_KEYS,
    TABLE_ARRAYS,
)
from mcscale.schema import (
    JSON_SCHEMA_DIALECT,
    main,
    scenario_keys,
    scenario_reference_markdown,
    scenario_schema,
    scenario_schema_json,
    shipped_schema_text,
)
from scenario_factory import (
    DELETE,
    ISSUE_CASES,
    SEVERAL_PROBLEMS,
    base_scenario,
    lognormal,
    mutate,
    scenario_toml,
    to_toml,
)

SCHEMA = scenario_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
README = Path(__file__).parents[1] / "README.md"

#: ISSUE_CASES the schema rejects too: names, types, forms, required sections and keys.
STRUCTURAL_ISSUE_CASES = {
    "typo-key-in-section",
    "typo-key-in-prior",
    "typo-key-in-scenario",
    "typo-key-in-regime",
    "typo-key-in-correlation",
    "typo-key-in-question",
    "typo-section",
    "missing-utilization",
    "missing-hardware",
    "missing-scenario",
    "missing-spend-initial",
    "unknown-unit",
    "unknown-unit-uncorrelated",
    "unknown-dist",
    "unknown-dist-in-mixture",
    "correlation-unknown-prior",
}
#: ISSUE_CASES only the validator rejects: values and rules across keys (the schema's description says so).
VALUE_ISSUE_CASES = {
    "p95-equals-p5",
    "p5-above-p95",
    "p5-above-p95-in-regime",
    "zero-doubling-time",
    "negative-doubling-time",
    "negative-doubling-time-in-regime",
    "normal-doubling-time-without-lower",
    "uniform-doubling-time-below-zero",
    "negative-price-per-flop",
    "zero-flop-per-usd",
    "negative-initial-spend",
    "zero-cap",
    "negative-cap-p5",
    "regime-after-end",
    "regime-before-start",
    "start-equals-end",
    "start-after-end",
    "correlation-not-positive-definite",
    "mixture-weights-below-one",
    "mixture-weights-above-one",
}
ISSUE_BY_ID = {case.id: case for case in ISSUE_CASES}

_H100_FLOP_PER_USD = {
    "target": "hardware.flop_per_usd",
    "chip": "H100",
    "chip_price": lognormal(25000, 40000),
    "lifetime_years": 4,
}
_POINTS = [[26, 1e2], [30, 1e3], [34, 1e4]]

#: Structural mistakes beyond ISSUE_CASES: wrong types, forms, combinations, [estimate].
EXTRA_STRUCTURAL = {
    "string-for-a-prior": {"spend.initial": "3e8"},
    "student-t-without-df": {"spend.doubling_time": {"dist": "student_t", "p5": 1, "p95": 3, "lower": 0.1}},
    "pert-with-a-key-of-another-family": {
        "spend.doubling_time": {"dist": "pert", "min": 1, "mode": 2, "max": 3, "df": 3}
    },
    "beta-with-two-forms": {"utilization.value": {"dist": "beta", "alpha": 2, "beta": 3, "p5": 0.2, "p95": 0.5}},
    "metalog-terms-not-whole": {
        "milestone.requirement": {
            "dist": "metalog",
            "log10": True,
            "terms": 2.5,
            "points": [[10, 27], [50, 30], [90, 35]],
        }
    },
    "lognormal-from-mismatched-percentiles": {"spend.initial": {"dist": "lognormal", "p5": 1e8, "p90": 1e9}},
    "string-for-start": {"scenario.start": "2025"},
    "number-for-a-name": {"scenario.name": 5},
    "bool-for-a-prior": {"utilization.value": True},
    "correlations-as-a-table": {"correlations": {"pair": ["spend.doubling_time", "spend.initial"], "rho": 0.3}},
    "regime-without-from": {"regimes[0].from": DELETE},
    "regime-of-a-start-value": {"regimes[0].spend.initial": 1e9},
    "regime-of-an-unknown-section": {"regimes[0].utilization": {"value": 0.3}},
    "prior-with-two-forms": {"spend.initial.median": 3e8},
    "growth-twice-in-regime": {"regimes[0].spend.growth_per_year": 2.0},
    "prior-without-dist": {"spend.initial.dist": DELETE},
    "prior-with-half-a-form": {"spend.initial.p95": DELETE},
    "unit-on-non-time-parameter": {"spend.initial.unit": "month"},
    "unit-in-a-mixture-of-a-non-time-parameter": {
        "spend.initial": {
            "dist": "mixture",
            "weights": [0.5, 0.5],
            "components": [1e8, lognormal(2e8, 2e9, unit="day")],
        }
    },
    "mixture-of-a-mixture": {
        "spend.initial": {
            "dist": "mixture",
            "weights": [0.5, 0.5],
            "components": [1e8, {"dist": "mixture", "weights": [1.0], "components": [2e8]}],
        }
    },
    "lookup-with-truncation": {
        "algorithms.max_gain": {"dist": "lookup", "of": "spend.initial", "points": _POINTS, "lower": 1.0}
    },
    "lookup-of-a-misspelt-prior": {"algorithms.max_gain": {"dist": "lookup", "of": "spend.intial", "points": _POINTS}},
    "log10-not-a-bool": {"milestone.requirement": {"dist": "percentiles", "log10": 1, "points": _POINTS}},
    "interpolation-unknown": {
        "algorithms.max_gain": {"dist": "lookup", "of": "spend.initial", "interpolation": "cubic", "points": _POINTS}
    },
    "points-not-pairs": {"milestone.requirement": {"dist": "percentiles", "points": [[5, 1e26, 1], [95, 1e30]]}},
    "unknown-cap-kind": {"spend.cap_kind": "soft-ish"},
    "unknown-milestone-metric": {"milestone.requirement": 1e30, "milestone.metric": "flops"},
    "reference-name-with-a-space": {"reference.name": "Gemini Ultra"},
    "correlation-of-three": {"correlations[0].pair": ["spend.initial", "spend.doubling_time", "spend.cap"]},
    "correlation-without-rho": {"correlations[0].rho": DELETE},
    "question-with-text-and-metric": {"questions[0]": {"text": "P(spend >= 1e9 by 2030)", "metric": "spend"}},
    "question-with-multiple-and-threshold": {"questions[0].threshold": 1e27},
    "question-without-by": {"questions[0].by": DELETE},
    "question-of-an-unknown-metric": {"questions[0].metric": "flops"},
    "estimate-without-target": {"hardware.flop_per_usd": DELETE, "estimate": {"chip": "H100", "lifetime_years": 4}},
    "estimate-of-an-unknown-target": {"estimate": {**_H100_FLOP_PER_USD, "target": "spend.cap"}},
    "estimate-with-a-key-of-the-other-target": {
        "hardware.flop_per_usd": DELETE,
        "estimate": {**_H100_FLOP_PER_USD, "days": 30},
    },
    "estimate-and-the-key-it-sets": {"estimate": _H100_FLOP_PER_USD},
    "estimate-of-an-unknown-precision": {
        "hardware.flop_per_usd": DELETE,
        "estimate": {**_H100_FLOP_PER_USD, "precision": "fp4"},
    },
}

#: Valid files beyond the bundled ones, for both to accept.
VALID_VARIANTS = {
    "base": {},
    "growth-per-year-and-price-per-flop": {
        "hardware.doubling_time": DELETE,
        "hardware.growth_per_year": 1.4,
        "hardware.flop_per_usd": DELETE,
        "hardware.price_per_flop": lognormal(2e-18, 1e-17),
    },
    "unit-day-and-normal-with-lower": {
        "hardware.doubling_time": {"dist": "normal", "p5": 700, "p95": 1300, "lower": 1, "unit": "day"}
    },
    "mixture-with-a-unit": {
        "hardware.doubling_time": {
            "dist": "mixture",
            "weights": [0.4, 0.6],
            "components": [2.5, lognormal(24, 40, unit="month")],
        }
    },
    "milestone-lookup-and-requirement-question": {
        "milestone": {
            "name": "m",
            "metric": "physical_flop",
            "requirement": {"dist": "percentiles", "log10": True, "points": [[1, 26], [50, 30], [99, 34]]},
        },
        "algorithms.max_gain": {
            "dist": "lookup",
            "of": "milestone.requirement",
            "log10": True,
            "interpolation": "step",
            "points": _POINTS,
        },
        "questions[1]": {"threshold": "requirement", "by": 2035},
        "questions[2]": {"text": "P(spend >= 1e10 by 2030)"},
    },
    "regime-prior-correlated-and-fixed-step": {
        "scenario.step": 2,
        "scenario.end": 2035,
        "hardware.growth_per_year": lognormal(1.2, 1.45),
        "hardware.doubling_time": DELETE,
        "regimes[0].hardware.growth_per_year": lognormal(1.1, 1.3),
        "correlations[1]": {"pair": ["spend.initial", "hardware.growth_per_year@2030"], "rho": -0.2},
    },
    "gdp-cap": {
        "spend.cap": DELETE,
        "spend.cap_gdp_fraction": {"dist": "loguniform", "low": 1e-3, "high": 1e-2},
        "economy": {"gdp": 1.1e14, "gdp_growth_per_year": {"dist": "uniform", "low": 1.02, "high": 1.04}},
        "regimes[0].economy.gdp_growth_per_year": 1.01,
    },
    "ceilings": {
        "hardware.max_flop_per_usd": 1e21,
        "hardware.ceiling_kind": "soft",
        "algorithms.max_gain": 1e4,
        "algorithms.ceiling_kind": "hard",
    },
    "estimate-of-flop-per-usd": {"hardware.flop_per_usd": DELETE, "estimate": _H100_FLOP_PER_USD},
    "estimate-of-initial-spend": {
        "spend.initial": DELETE,
        "estimate": {
            "target": "spend.initial",
            "chips": 10000,
            "chip": "H100",
            "duration": "lognormal(60, 120) days",
            "lifetime_years": 4,
        },
    },
    "new-prior-families": {
        "spend.initial": {"dist": "gamma", "p10": 1e8, "p90": 1e9},
        "spend.doubling_time": {"dist": "pert", "min": 3, "mode": 6, "max": 18, "lambda": 3, "unit": "month"},
        "spend.cap": {"dist": "lognormal", "p1": 1e10, "p99": 1e12},
        "utilization.value": {"dist": "beta", "alpha": 4, "beta": 7},
        "hardware.flop_per_usd": {"dist": "triangular", "low": 1e17, "mode": 2e17, "high": 6e17},
        "hardware.doubling_time": {"dist": "log_student_t", "p25": 2, "p75": 3, "df": 4},
        "algorithms.doubling_time": {"dist": "student_t", "loc": 10, "scale": 2, "df": 3, "lower": 2, "unit": "month"},
        "milestone": {
            "requirement": {"dist": "metalog", "log10": True, "terms": 3, "points": [[10, 27], [50, 30], [90, 35]]}
        },
        "regimes[0].spend.doubling_time": {"dist": "gamma", "shape": 4, "scale": 0.5},
    },
    "mixture-of-new-families": {
        "hardware.doubling_time": {
            "dist": "mixture",
            "weights": [0.5, 0.5],
            "components": [{"dist": "beta", "p5": 0.2, "p95": 0.6}, {"dist": "student_t", "p10": 1, "p90": 2, "df": 5}],
            "lower": 0.1,
        }
    },
    "no-optional-sections": {
        "reference": DELETE,
        "algorithms": DELETE,
        "regimes": DELETE,
        "questions": DELETE,
        "correlations": DELETE,
    },
}


def schema_errors(text: str) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(tomllib.loads(text))]


def assert_both_reject(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text, "bad.toml")
    assert schema_errors(text), "the schema accepts what the validator rejects"


def assert_both_accept(text: str) -> None:
    parse_scenario(text, "ok.toml")
    assert not schema_errors(text), schema_errors(text)


# --------------------------------------------------------------------------- #
# the schema itself and the shipped file                                       #
# --------------------------------------------------------------------------- #


def test_the_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == JSON_SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert jsonschema.validators.validator_for(SCHEMA) is jsonschema.Draft202012Validator


def test_the_shipped_schema_file_is_the_generators_output():
    assert shipped_schema_text() == scenario_schema_json(), (
        "src/mcscale/data/scenario.schema.json is stale: run "
        "`python -m mcscale.schema > src/mcscale/data/scenario.schema.json`"
    )
    assert json.loads(shipped_schema_text()) == SCHEMA


def test_python_m_mcscale_schema_prints_the_schema_and_the_reference(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out == scenario_schema_json()
    assert main(["--reference"]) == 0
    assert capsys.readouterr().out == scenario_reference_markdown()
    assert main(["--bogus"]) == 2


def test_the_schema_names_exactly_the_validators_sections_and_keys():
    properties = SCHEMA["properties"]
    assert list(properties) == list(SECTIONS)
    assert SCHEMA["required"] == list(REQUIRED_SECTIONS)
    assert SCHEMA["additionalProperties"] is False
    for section in SECTIONS:
        if section in TABLE_ARRAYS:
            assert properties[section]["type"] == "array"
            continue
        if section == "estimate":
            keys = {"target"} | {k for keys in ESTIMATE_KEYS.values() for k in keys}
            given = {k for branch in properties[section]["oneOf"] for k in branch["properties"]}
        else:
            keys = set(PARAMETERS.get(section, {})) | set(STRING_KEYS.get(section, {}))
            keys |= set(GRID_KEYS) if section == "scenario" else set()
            given = set(properties[section]["properties"])
            assert properties[section]["additionalProperties"] is False
        assert given == keys, section
    regime = SCHEMA["$defs"]["regime"]["properties"]
    assert {s: tuple(p["properties"]) for s, p in regime.items() if s != "from"} == REGIME_KEYS
    assert tuple(SCHEMA["$defs"]["correlation"]["properties"]) == CORRELATION_KEYS
    question_keys = {k for branch in SCHEMA["$defs"]["question"]["oneOf"] for k in branch["properties"]}
    assert question_keys == set(QUESTION_KEYS)


def test_prior_tables_offer_every_form_of_every_dist():
    titles = {branch["title"] for branch in SCHEMA["$defs"]["time_prior_table"]["oneOf"]}
    assert titles == {f"{dist} by {', '.join(form)}" for dist, forms in PRIOR_FORMS.items() for form in forms}
    assert SCHEMA["$defs"]["prior_table"]["properties"]["dist"]["enum"] == list(PRIOR_FORMS)


DRAFT_4_KEYWORDS = {
    "$ref", "$schema", "additionalProperties", "allOf", "anyOf", "default", "description", "enum", "items",
    "maxItems", "minItems", "not", "oneOf", "pattern", "properties", "required", "title", "type",
}  # fmt: skip


def _keywords(node, names_only=False):
    """Every keyword the schema uses (property names and $defs names are not keywords)."""
    if isinstance(node, list):
        return set().union(*(_keywords(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = set() if names_only else set(node)
    for key, value in node.items():
        found |= _keywords(value, names_only=not names_only and key in ("properties", "$defs"))
    return found


def test_the_schema_uses_draft_4_keywords_and_reads_the_same_under_older_drafts():
    # taplo documents draft 4; $defs is only a place that #/$defs/... pointers reach.
    assert _keywords(SCHEMA) <= DRAFT_4_KEYWORDS | {"$defs"}
    body = {k: v for k, v in SCHEMA.items() if k != "$schema"}
    older = [jsonschema.Draft4Validator(body), jsonschema.Draft7Validator(body)]
    changes = [*EXTRA_STRUCTURAL.values(), *VALID_VARIANTS.values(), *(c.changes for c in ISSUE_CASES)]
    for text in [scenario_toml(c) for c in changes] + [template_text()]:
        data = tomllib.loads(text)
        assert {v.is_valid(data) for v in older} == {VALIDATOR.is_valid(data)}, text


def test_the_description_says_what_only_the_validator_checks():
    description = SCHEMA["description"]
    for rule in ("> 0", "p5 < p95", "weights that sum to 1", "positive definite", "within the grid"):
        assert rule in description


# --------------------------------------------------------------------------- #
# what both accept                                                             #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_the_schema_accepts_every_bundled_scenario(name):
    assert_both_accept(bundled_scenarios()[name].read_text(encoding="utf-8"))


def test_the_schema_accepts_the_init_template():
    assert_both_accept(template_text("my_scenario", "my_scenario.toml"))


@pytest.mark.parametrize("changes", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_the_schema_accepts_valid_variants(changes):
    assert_both_accept(scenario_toml(changes))


# --------------------------------------------------------------------------- #
# what both reject                                                             #
# --------------------------------------------------------------------------- #


def test_every_issue_case_is_classified():
    assert STRUCTURAL_ISSUE_CASES | VALUE_ISSUE_CASES == set(ISSUE_BY_ID)
    assert not STRUCTURAL_ISSUE_CASES & VALUE_ISSUE_CASES


@pytest.mark.parametrize("case_id", sorted(STRUCTURAL_ISSUE_CASES))
def test_structural_issue_cases_are_rejected_by_both(case_id):
    assert_both_reject(scenario_toml(ISSUE_BY_ID[case_id].changes))


def test_several_problems_are_rejected_by_both():
    assert_both_reject(scenario_toml(SEVERAL_PROBLEMS.changes))


@pytest.mark.parametrize("changes", EXTRA_STRUCTURAL.values(), ids=EXTRA_STRUCTURAL.keys())
def test_further_structural_mistakes_are_rejected_by_both(changes):
    assert_both_reject(scenario_toml(changes))


@pytest.mark.parametrize("case_id", sorted(VALUE_ISSUE_CASES))
def test_value_rules_are_left_to_the_validator(case_id):
    text = scenario_toml(ISSUE_BY_ID[case_id].changes)
    with pytest.raises(ScenarioError):
        parse_scenario(text, "bad.toml")
    assert not schema_errors(text)


def _with_section(section: str) -> dict:
    data = base_scenario()
    if section == "economy":
        data = mutate(data, {"spend.cap": DELETE, "spend.cap_gdp_fraction": 0.01, "economy.gdp": 1e14})
    if section == "milestone":
        data = mutate(data, {"milestone.requirement": 1e30})
    return data


@pytest.mark.parametrize(("section", "group"), [(s, g) for s, groups in REQUIRED_KEYS.items() for g in groups], ids=str)
def test_each_required_key_is_required_by_both(section, group):
    data = _with_section(section)
    assert any(k in data[section] for k in group)
    text = to_toml(mutate(data, {f"{section}.{k}": DELETE for k in group if k in data[section]}))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert any(path == f"{section}.{group[0]}" and "missing" in m for path, m in info.value.problems)
    assert schema_errors(text)


@pytest.mark.parametrize(
    ("section", "pair"),
    [(s, p) for s in PARAMETERS for p in EXCLUSIVE_KEYS if set(p) <= set(PARAMETERS[s])],
    ids=str,
)
def test_each_exclusive_pair_is_rejected_by_both(section, pair):
    data = _with_section(section)
    text = to_toml(mutate(data, {f"{section}.{k}": 1.5 for k in pair if k not in data[section]}))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert any(path == section and "not both" in m for path, m in info.value.problems)
    assert any(error.validator == "not" for error in VALIDATOR.iter_errors(tomllib.loads(text)))


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, keys in DEPENDENT_KEYS.items() for k in keys], ids=str)
def test_each_dependent_key_needs_its_key_in_both(section, key):
    needed = DEPENDENT_KEYS[section][key]
    value = "soft" if key in STRING_KEYS.get(section, {}) else 1.05
    text = scenario_toml({f"{section}.{key}": value} | {f"{section}.{k}": DELETE for k in needed if k == "cap"})
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    assert any(path == f"{section}.{key}" and "needs" in m for path, m in info.value.problems)
    assert schema_errors(text)


# --------------------------------------------------------------------------- #
# the reference                                                                #
# --------------------------------------------------------------------------- #

REFERENCE = scenario_reference_markdown()


def _rows(markdown: str) -> set[str]:
    """The first cell of every table row."""
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", markdown, re.MULTILINE)}


def test_the_reference_names_every_key_the_validator_knows():
    rows = _rows(REFERENCE)
    expected = {f"{s}.{k}" for s, keys in PARAMETERS.items() for k in keys}
    expected |= {f"{s}.{k}" for s, keys in STRING_KEYS.items() for k in keys}
    expected |= {f"scenario.{k}" for k in GRID_KEYS}
    expected |= {"regimes[].from"} | {f"regimes[].{s}.{k}" for s, keys in REGIME_KEYS.items() for k in keys}
    expected |= {f"correlations[].{k}" for k in CORRELATION_KEYS}
    expected |= {f"questions[].{k}" for k in QUESTION_KEYS}
    expected |= {"estimate.target"} | {f"estimate.{k}" for keys in ESTIMATE_KEYS.values() for k in keys}
    assert expected <= rows, sorted(expected - rows)
    assert {k.path for k in scenario_keys()} == expected
    sections = {s.strip("[]") for s in rows if s.startswith("[")}
    assert sections == set(SECTIONS)


def test_the_reference_lists_every_prior_form_and_key():
    rows = _rows(REFERENCE)
    assert set(PRIOR_FORMS) <= rows
    assert {*COMMON_KEYS, *(k for keys in OPTIONAL_KEYS.values() for k in keys)} <= rows
    for dist, forms in PRIOR_FORMS.items():
        line = next(line for line in REFERENCE.splitlines() if line.startswith(f"| `{dist}` |"))
        for form in forms:
            assert "{" + ", ".join(f"`{k}`" for k in form) + "}" in line


def test_the_reference_gives_units_defaults_and_choices():
    rows = {k.path: k for k in scenario_keys()}
    assert rows["spend.initial"].unit == "USD"
    assert rows["hardware.flop_per_usd"].unit == "FLOP/USD"
    assert rows["reference.flop"].unit == "FLOP"
    assert rows["spend.doubling_time"].unit == "year"
    assert rows["scenario.step"].default == "`1`"
    assert (
        rows["spend.cap_kind"].default == '`"hard"`'
        and rows["spend.cap_kind"].accepts == '`"hard"` or `"soft"` or `"exponential"`'
    )
    assert rows["scenario.start"].required == "yes" and rows["spend.cap"].required == ""
    assert "estimate" in rows["spend.initial"].required
    assert rows["utilization.value"].accepts.endswith("in (0, 1]")


def test_the_readme_carries_the_current_reference():
    text = README.read_text(encoding="utf-8")
    if "### Reference of the scenario format" not in text:
        pytest.skip("the generated reference is not in README.md yet")
    assert REFERENCE in text, "README.md: paste `python -m mcscale.schema --reference` over its reference"
