"""``mcscale bench --error``: errors against a reference, reported MCSEs, the cache, the table and the figure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mcscale import QueryError
from mcscale.bench.error import ESTIMATORS, ErrorConfig, error_curves, format_error_table, measure_error, parse_case
from mcscale.bench.record import cpu_label, machine_info
from mcscale.cli import main
from mcscale.viz.drawing import error_chart

CASE = ("baseline", "P(effective_flop >= 1e31 by 2030)")


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cache = tmp_path_factory.mktemp("bench") / "references.json"
    config = ErrorConfig(cases=[CASE], sizes=[2**12, 2**14], seeds=6, reference_draws=2**20, cache=cache)
    return {"record": measure_error(config), "config": config}


def test_each_point_is_the_rmse_of_its_estimates_against_the_reference(record):
    case = record["record"]["cases"][0]
    reference = case["reference"]["value"]
    assert 0.1 < reference < 0.2
    for curve in case["curves"]:
        for point in curve["points"]:
            estimates = np.array(point["estimates"])
            assert len(estimates) == 6 and len(set(estimates)) >= 4  # independent seeds (counts of 4096 may tie)
            assert point["rmse"] == pytest.approx(np.sqrt(np.mean((estimates - reference) ** 2)), rel=1e-12)


def test_plain_mc_reports_the_binomial_mcse_and_its_error_matches_it(record):
    # six seeds at two sizes: the RMSE is within a factor of 2 of the binomial MCSE (chi-square, 12 dof: p > 0.999)
    case = record["record"]["cases"][0]
    plain = next(c for c in case["curves"] if c["method"] == "mc")
    p = case["reference"]["value"]
    squares = 0.0
    for point in plain["points"]:
        n = point["n_draws"]
        assert point["mcse"] == pytest.approx(np.sqrt(p * (1 - p) / n), rel=0.05)
        squares += point["rmse"] ** 2 / point["mcse"] ** 2
    assert 0.25 < squares / 2 < 4


def test_the_reference_is_computed_once_and_declines_are_remembered(record):
    config = record["config"]
    cached = json.loads(config.cache.read_text())
    declined = [key for key, entry in cached.items() if "declined" in entry]
    answered = [key for key, entry in cached.items() if "declined" not in entry]
    assert len(declined) == 1 and "|qmc+importance|" in declined[0]  # p = 0.14 is no tail
    assert len(answered) == 1 and "|qmc+conditional|" in answered[0]
    entry = cached[answered[0]]
    assert entry["value"] == record["record"]["cases"][0]["reference"]["value"] and entry["n_draws"] == 2**20
    cached[answered[0]] = {**entry, "value": 0.5}  # a changed cache is what a second measurement reads
    config.cache.write_text(json.dumps(cached))
    again = measure_error(
        ErrorConfig(cases=[CASE], estimators=["mc"], sizes=[2**12], seeds=2, cache=config.cache, reference_draws=2**20)
    )
    assert again["cases"][0]["reference"]["value"] == 0.5


def test_an_estimator_declined_at_some_seed_is_recorded_as_declined(tmp_path):
    # near importance sampling's limit of 0.1, the pilots of some seeds decline and others do not
    case = ("baseline", "P(effective_flop >= 1.47e31 by 2030)")
    config = ErrorConfig(cases=[case], estimators=["mc", "mc+importance"], sizes=[4096], seeds=9, reference_draws=2**14)
    curves = {c["method"]: c for c in measure_error(config)["cases"][0]["curves"]}
    assert curves["mc"]["points"] and "tail probabilities" in curves["mc+importance"]["declined"]


def test_the_table_and_figure_show_every_estimator(record):
    rec = record["record"]
    text = format_error_table(rec)
    assert "efficiency against plain MC" in text and cpu_label(rec["machine"]) in text
    data = error_curves(rec["cases"][0], rec)
    fig = error_chart(data)
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.get_lines() if line.get_gid()}
    for curve in data.curves:
        assert np.array_equal(lines[f"rmse:{curve.method}"].get_ydata(), curve.rmse)
        assert np.array_equal(lines[f"mcse:{curve.method}"].get_ydata(), curve.mcse)


def test_a_case_is_scenario_colon_question():
    assert parse_case("baseline: P(spend >= 1e10 by 2030)") == ("baseline", "P(spend >= 1e10 by 2030)")
    with pytest.raises(QueryError, match="SCENARIO:QUESTION"):
        parse_case("baseline")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--error-case", "baseline"], "SCENARIO:QUESTION"),
        (["--error-case", "baseline:quantiles spend in 2030"], "probability questions only"),
        (["--error-estimators", "mc,nope"], "unknown 'nope'"),
    ],
)
def test_bad_error_options_are_one_line(tmp_path: Path, capsys, argv, fragment):
    out = tmp_path / "e.json"
    assert main(["bench", "--error", *argv, "--json-out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and not out.exists()


def test_the_machine_names_its_vector_extensions():
    machine = machine_info()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert ("avx2" in machine["vector_extensions"]) == (" avx2" in flags)
    assert cpu_label({"processor": "X", "vector_extensions": ["avx2"]}) == "X, AVX2 (no AVX-512)"
    assert cpu_label({"processor": "X", "cpu_family": "6", "cpu_model": "1", "vector_extensions": ["avx512f"]}) == (
        "X (family 6 model 1), AVX-512"
    )


def test_every_estimator_is_measured_or_declined_with_its_reason(record):
    rec = record["record"]
    case = rec["cases"][0]
    curves = {curve["method"]: curve for curve in case["curves"]}
    assert list(curves) == list(ESTIMATORS) and case["reference"]["estimator"] == "qmc+conditional"  # no tail
    for sampler in ("mc", "qmc"):  # P = 0.14 is no tail
        assert "tail probabilities" in curves[f"{sampler}+importance"]["declined"]
        assert re.search(rf"^{re.escape(sampler)}\+importance +declined: ", format_error_table(rec), re.MULTILINE)
    plotted = {curve.method for curve in error_curves(case, rec).curves}
    assert plotted == {"mc", "qmc", "mc+conditional", "qmc+conditional"}
    # integrating out hardware's factor and Sobol points: several times less error than plain MC at 2^14 draws
    assert curves["qmc+conditional"]["points"][-1]["rmse"] < curves["mc"]["points"][-1]["rmse"] / 3
