"""Hostile and careless input: each family refused with exit 2, one line naming the file, key or flag,
no traceback, nothing written and no existing file changed.

The table :data:`BAD_SCENARIOS` and :data:`BAD_COMMANDS` name one fixture per way in;
the property-based tests at the end throw generated scenarios and questions at the
loader and the command line.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import mcscale
from mcscale.cli import main

SMALL = """\
[scenario]
name = "small"
start = 2025
end = 2035

[spend]
initial = { dist = "lognormal", p5 = 4e8, p95 = 4e9 }
doubling_time = { dist = "lognormal", p5 = 0.5, p95 = 1.0 }

[hardware]
flop_per_usd = { dist = "lognormal", p5 = 8e17, p95 = 2.4e18 }
doubling_time = 2.0

[utilization]
value = 0.3

[[questions]]
text = "P(effective_flop >= 1e28 by 2030)"
"""


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as links) -> a digest of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


def invoke(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code if isinstance(exc.code, int) else 1


def refused(folder: Path, argv: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    """Run ``argv`` in ``folder``: exit 2, one stderr line holding every fragment, nothing written or changed."""
    before = snapshot(folder)
    code = invoke(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [line for line in lines if re.match(r"mcscale( [a-z-]+)*: error:", line)]
    assert len(errors) == 1, lines
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert snapshot(folder) == before
    return errors[0]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.toml").write_text(SMALL, encoding="utf-8")
    (tmp_path / "other.toml").write_text(SMALL.replace('"small"', '"other"'), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.toml").symlink_to("small.toml")
    return tmp_path


# -- data loss: an output that is an input, an extension the command does not write -------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["report", "small.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "link.toml"], ("link.toml", "is an input")),
        (["report", "link.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "sub/../small.toml"], ("sub/../small.toml", "is an input")),
        (["compare", "small.toml", "other.toml", "-o", "other.toml"], ("other.toml", "is an input")),
        (["plot", "small.toml", "-o", "./small.toml"], ("small.toml", "is an input")),
        (["run", "small.toml", "-o", "small.toml"], ("small.toml", "is an input")),
        (["report", "small.toml", "-o", "report.exe"], ("report.exe", "writes .html, .htm files, not '.exe'")),
        (["compare", "small.toml", "other.toml", "-o", "c.png"], ("c.png", "not '.png'")),
        (["plot", "small.toml", "-o", "fan.html"], ("fan.html", "writes .png, .svg files")),
        (["run", "small.toml", "-o", "out"], ("out", "not no extension")),
        (["fit", "-o", "block.exe"], ("block.exe", "writes .toml files")),
        (["backtest", "small.toml", "--as-of", "2020", "-o", "small.toml"], ("small.toml", "is an input")),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_an_output_that_is_an_input_or_of_a_foreign_kind_is_refused(folder, capsys, argv, fragments):
    refused(folder, argv, capsys, *fragments)


def test_report_onto_its_input_leaves_the_input_byte_identical(folder, capsys):
    before = (folder / "small.toml").read_bytes()
    refused(folder, ["report", "small.toml", "-o", "small.toml", "--draws", "100"], capsys, "is an input")
    refused(folder, ["report", str(folder / "link.toml"), "-o", "small.toml"], capsys, "is an input")
    assert (folder / "small.toml").read_bytes() == before
    os.link(folder / "small.toml", folder / "hard.toml")  # a hard link is the same file too
    refused(folder, ["report", "small.toml", "-o", "hard.toml"], capsys, "is an input")


def test_a_bundled_scenario_named_by_name_is_an_input():
    from mcscale.cli.common import UsageError, check_output
    from mcscale.scenario_file import bundled_scenarios

    target = bundled_scenarios()["baseline"]
    with pytest.raises(UsageError, match="is an input"):
        check_output(str(target), ["baseline"])
    assert check_output(str(target.with_name("elsewhere.toml")), ["baseline"]) is not None


# -- results read back: corrupted, foreign, incomplete ---------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("saved")
    scenario = mcscale.parse_scenario(SMALL, "small.toml")
    out = {}
    for mode in ("materialized", "stream"):
        result = mcscale.run(scenario, n_draws=400, seed=1, mode=mode)
        out[mode] = result.to_netcdf(folder / f"{mode}.nc")
    return out


def query_from(folder: Path, path: Path, capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    return refused(folder, ["query", "--from", str(path), "P(effective_flop >= 1e28 by 2030)"], capsys, *fragments)


@pytest.mark.parametrize(
    ("mode", "variable", "index"),
    [
        ("materialized", "trajectories/effective_flop", (0, 7, 3)),
        ("materialized", "prior/spend.initial", (0, 3)),
        ("stream", "accumulators/exceed_by", (0, 5)),
        ("stream", "accumulators/histogram_spend", (2, 100)),
    ],
)
def test_a_result_changed_in_place_is_refused(saved, tmp_path, capsys, mode, variable, index):
    copy = tmp_path / "run.nc"
    copy.write_bytes(saved[mode].read_bytes())
    assert invoke(["query", "--from", str(copy), "P(effective_flop >= 1e28 by 2030)"]) == 0  # intact: answered
    capsys.readouterr()
    with h5py.File(copy, "r+") as handle:
        values = handle[variable][...]
        values[index] += 1
        handle[variable][...] = values
    query_from(tmp_path, copy, capsys, str(copy), "corrupted", f"/{variable}")
    with pytest.raises(mcscale.QueryError, match="corrupted"):
        mcscale.open_result(copy)


def test_changed_attrs_are_refused(saved, tmp_path, capsys):
    tree = xr.open_datatree(saved["materialized"], engine="h5netcdf").load()
    tree.attrs["seed"] = 99  # a different seed: the answers' provenance would lie
    tree.to_netcdf(tmp_path / "seed.nc", engine="h5netcdf")
    query_from(tmp_path, tmp_path / "seed.nc", capsys, "seed.nc: corrupted: the attributes of /")


def test_files_not_from_mcscale_are_named_so(saved, tmp_path, capsys):
    xr.Dataset({"x": ("d", np.arange(3))}, attrs={"title": "other"}).to_netcdf(tmp_path / "other.nc")
    query_from(tmp_path, tmp_path / "other.nc", capsys, "other.nc: not an mcscale result: no scenario_text")
    for mode, group in (("materialized", "trajectories"), ("stream", "accumulators")):
        tree = xr.open_datatree(saved[mode], engine="h5netcdf").load()
        del tree[group]
        tree.to_netcdf(tmp_path / f"{mode}.nc", engine="h5netcdf")
        query_from(tmp_path, tmp_path / f"{mode}.nc", capsys, "not an mcscale result: no group " + group)
    tree = xr.open_datatree(saved["stream"], engine="h5netcdf").load()
    del tree.attrs["checksums"]
    tree.to_netcdf(tmp_path / "nosum.nc", engine="h5netcdf")
    query_from(tmp_path, tmp_path / "nosum.nc", capsys, "not an mcscale result: no checksums")
    (tmp_path / "text.nc").write_text("hello")
    query_from(tmp_path, tmp_path / "text.nc", capsys, "text.nc: cannot read as netCDF")


def test_the_checksums_cover_every_variable_and_survive_a_round_trip(saved):
    import json

    from mcscale.results.integrity import checksums

    for path in saved.values():
        tree = xr.open_datatree(path, engine="h5netcdf").load()
        recorded = json.loads(tree.attrs["checksums"])
        assert recorded == checksums(tree)
        variables = {f"{n.path.rstrip('/')}/{v}" for n in tree.subtree for v in n.variables}
        assert variables <= set(recorded)
        result = mcscale.open_result(path)
        assert "checksums" not in result.attrs  # verified, then dropped: a rewrite records its own


# -- a table of named bad scenarios: each refused at its key path --------------------------------

_BASE = SMALL.replace('text = "P(effective_flop >= 1e28 by 2030)"', 'text = "P(effective_flop >= 1e28 by 2030)"')
BAD_SCENARIOS = {
    "int_400_digits": (_BASE + "[milestone]\nrequirement = " + "9" * 400 + "\n", "milestone.requirement"),
    "int_5000_digits": (_BASE + "[milestone]\nrequirement = " + "9" * 5000 + "\n", "more than 4300 digits"),
    "regime_from_400_digits": (_BASE + "[[regimes]]\nfrom = " + "9" * 400 + "\nspend.doubling_time = 1\n", "from"),
    "inf_value": (_BASE.replace("value = 0.3", "value = inf"), "utilization.value"),
    "nan_doubling": (_BASE.replace("doubling_time = 2.0", "doubling_time = nan"), "hardware.doubling_time"),
    "log10_percentiles_overflow": (
        _BASE.replace(
            "doubling_time = 2.0",
            'doubling_time = { dist = "percentiles", log10 = true, points = [[0, 1], [100, 400]] }',
        ),
        "hardware.doubling_time.points",
    ),
    "flat_percentiles": (
        _BASE.replace("doubling_time = 2.0", 'doubling_time = { dist = "percentiles", points = [[0, 2], [100, 2]] }'),
        "every value is 2",
    ),
    "utilization_mostly_above_1": (
        _BASE.replace("value = 0.3", 'value = { dist = "lognormal", p5 = 0.9, p95 = 3 }'),
        "utilization.value",
    ),
    "deep_arrays": (_BASE.replace("value = 0.3", "value = " + "[" * 500 + "]" * 500), "nested too deep"),
    "deep_tables": (_BASE.replace("value = 0.3", "value = " + "{a=" * 500 + "1" + "}" * 500), "nested too deep"),
    "nested_30": (_BASE.replace("value = 0.3", "value = " + "[" * 30 + "]" * 30), "utilization.value[0]"),
    "name_with_newline": (_BASE.replace('name = "small"', 'name = "a\\nmcscale: error: forged"'), "scenario.name"),
    "name_with_ansi": (_BASE.replace('name = "small"', 'name = "\\u001b[31mred"'), "scenario.name"),
    "key_with_newline": (_BASE.replace("[utilization]", '[utilization]\n"k\\nmcscale: error: x" = 1'), "k\\n"),
    "long_value": (_BASE.replace("value = 0.3", 'value = "' + "x" * 10_000 + '"'), "utilization.value"),
    "huge_initial": (
        _BASE.replace('initial = { dist = "lognormal", p5 = 4e8, p95 = 4e9 }', "initial = 1e308"),
        "the model overflows: spend",
    ),
    "subnormal_doubling": (
        _BASE.replace("doubling_time = 2.0", "doubling_time = 5e-324"),
        "the model overflows: flop_per_usd",
    ),
    "question_1e400": (_BASE.replace("1e28 by", "1e400 by"), "questions[0].text"),
}


@pytest.mark.parametrize("name", sorted(BAD_SCENARIOS))
@pytest.mark.parametrize("mode", ["materialized", "stream"])
def test_named_bad_scenarios_are_one_clean_line(folder, capsys, name, mode):
    text, fragment = BAD_SCENARIOS[name]
    (folder / "bad.toml").write_text(text, encoding="utf-8")
    (folder / "out.nc").write_bytes(b"an existing output, never clobbered")
    argv = ["run", "bad.toml", "--draws", "200", "-o", "out.nc", *(["--stream"] if mode == "stream" else [])]
    line = refused(folder, argv, capsys, "bad.toml", fragment)
    assert "\x1b" not in line and len(line) <= 400


def test_a_prior_losing_a_little_to_the_truncation_is_warned(capsys):
    text = _BASE.replace("value = 0.3", 'value = { dist = "lognormal", p5 = 0.3, p95 = 1.1 }')
    mcscale.parse_scenario(text, "w.toml")
    err = capsys.readouterr().err
    assert "utilization.value" in err and "outside (0, 1]" in err and "warning" in err


# -- a table of named bad command lines ---------------------------------------------------------

BAD_COMMANDS = {
    "draws_fraction": (["run", "small.toml", "--draws", "1.5"], "--draws"),
    "draws_one": (["run", "small.toml", "--draws", "1"], "--draws"),
    "draws_overflow": (["run", "small.toml", "--draws", "1e400"], "--draws"),
    "seed_2_64": (["run", "small.toml", "--seed", "18446744073709551616", "-o", "x.nc"], "--seed"),
    "seed_negative": (["run", "small.toml", "--seed", "-1"], "--seed"),
    "memory_1e400": (["run", "small.toml", "--memory-budget", "1e400"], "--memory-budget"),
    "replicates_one": (["query", "small.toml", "--sampler", "qmc", "--replicates", "1"], "--replicates"),
    "replicates_without_qmc": (["query", "small.toml", "--replicates", "8"], "--sampler qmc"),
    "max_draws_without_precision": (["query", "small.toml", "--max-draws", "1e6"], "add --precision"),
    "qmc_past_2_30_points": (
        ["query", "small.toml", "--sampler", "qmc", "--replicates", "2", "--draws", "1e10"],
        "at most 2**30 points",
    ),
    "threshold_1e400": (["query", "small.toml", "--draws", "100", "P(effective_flop >= 1e400 by 2030)"], "1e400"),
    "multiple_overflow": (["query", "small.toml", "--draws", "100", "year effective_flop >= 1e300 x GPT-4"], "1e300"),
    "cost_overflow": (["query", "small.toml", "--draws", "100", "cost of 1e290 x GPT-4 in 2030"], "1e290"),
    "question_inf": (["query", "small.toml", "--draws", "100", "P(effective_flop >= inf by 2030)"], "'inf'"),
    "question_ansi": (["query", "small.toml", "--draws", "100", "P(spend >= 1 by 2030)\x1b[2J"], "\\x1b"),
    "question_newline": (
        ["query", "small.toml", "--draws", "100", "P(spend >= 1\nmcscale: error: forged by 2030)"],
        "printable",
    ),
    "question_10k": (["query", "small.toml", "--draws", "100", "P(" + "x" * 10_000 + ")"], "at most 500 characters"),
    "plot_threshold_inf": (
        ["plot", "small.toml", "--kind", "crossing", "--threshold", "inf", "-o", "x.png"],
        "--threshold",
    ),
    "plot_dpi": (["plot", "small.toml", "--dpi", "100000", "-o", "x.png"], "--dpi"),
    "compare_30": (["compare", *["small.toml"] * 30, "-o", "c.html"], "2 to 8 scenarios"),
    "estimate_inline_overflow": (
        ["estimate", "flop", "--chips", "lognormal(1e308, 1e309)", "--peak-flops", "1e15", "--days", "30"],
        "--chips",
    ),
    "estimate_point_overflow": (
        ["estimate", "flop", "--chips", "1e300", "--peak-flops", "1e15", "--days", "30", "--utilization", "0.4"],
        "overflows",
    ),
    "estimate_draws_one": (
        ["estimate", "flop", "--chips", "lognormal(10, 20)", "--peak-flops", "1e15", "--days", "3", "--draws", "1"],
        "--draws",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_COMMANDS))
def test_named_bad_command_lines_are_one_clean_line(folder, capsys, name):
    argv, fragment = BAD_COMMANDS[name]
    line = refused(folder, argv, capsys, fragment)
    assert "\x1b" not in line and "\n" not in line and len(line) <= 400


def test_few_draws_give_no_mcse_and_bounds_stay_in_0_1(folder, capsys):
    for draws in ("2", "29"):
        code = invoke(
            [
                "query",
                "small.toml",
                "--draws",
                draws,
                "P(effective_flop >= 1e40 by 2030)",
                "quantiles spend in 2030",
                "interval spend in 2030",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0
        assert "±" not in out and "<" not in out and f"{draws} draws are too few" in out
        assert "interval not given" in out
    assert invoke(["query", "small.toml", "--draws", "30", "P(effective_flop >= 1e40 by 2030)"]) == 0
    out = capsys.readouterr().out
    assert "(< 0.1000 at 95%)" in out  # 3 / 30, the rule of three
    assert (
        invoke(
            [
                "estimate",
                "flop",
                "--chips",
                "lognormal(10, 20)",
                "--peak-flops",
                "1e15",
                "--days",
                "3",
                "--utilization",
                "0.4",
                "--draws",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "±" not in out and "too few" in out


def test_rule_of_three_is_clipped_to_the_unit_interval():
    from mcscale.stats import rule_of_three

    assert rule_of_three(2) == 1.0 and rule_of_three(3) == 1.0 and rule_of_three(300) == pytest.approx(0.01)


# -- property-based: generated scenarios and questions ------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mcscale.echo import one_line  # noqa: E402
from mcscale.model.scenario import ScenarioError  # noqa: E402
from mcscale.model.thresholds import QueryError  # noqa: E402
from mcscale.query import QuestionSyntaxError, check_query, parse_question  # noqa: E402
from scenario_factory import base_scenario, mutate, to_toml  # noqa: E402

#: Examples per property: few by default (the suite stays fast); MCSCALE_FUZZ_EXAMPLES=2000 for a long hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("MCSCALE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

_NASTY_TEXT = st.text(
    st.sampled_from(list("abc xyz_.-$()[]{}=<>0123456789e") + ["\n", "\x1b", "\x00", "\u2028", "\u202e", "é"]),
    max_size=30,
)
_LEAVES = (
    st.integers(min_value=-(10**600), max_value=10**600)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | _NASTY_TEXT
)
_VALUES = st.recursive(
    _LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NASTY_TEXT, inner, max_size=3), max_leaves=8
)
_PATHS = st.sampled_from(
    [
        "scenario.name",
        "scenario.start",
        "scenario.end",
        "scenario.step",
        "spend.initial",
        "spend.initial.p95",
        "spend.doubling_time",
        "spend.doubling_time.dist",
        "spend.cap",
        "hardware.flop_per_usd.p5",
        "utilization.value",
        "utilization.value.upper",
        "algorithms.doubling_time.unit",
        "regimes[0].from",
        "regimes[0].spend.doubling_time",
        "correlations[0].rho",
        "correlations[0].pair",
        "questions[0].by",
        "questions[0].multiple",
        "reference.flop",
        "reference.name",
        "milestone",
        "estimate",
        "new_section",
    ]
)


@FUZZ
@given(st.dictionaries(_PATHS, _VALUES, min_size=1, max_size=3))
def test_generated_scenarios_load_or_raise_scenario_error(changes):
    try:
        data = mutate(base_scenario(), changes)
    except (KeyError, TypeError, IndexError):  # the path runs through a value that is not a table
        return
    text = to_toml(data)
    try:
        mcscale.parse_scenario(text, "fuzz.toml")
    except ScenarioError as exc:
        for line in exc.lines():
            assert line == one_line(line) and line.startswith("fuzz.toml")


_QUESTION_WORDS = st.sampled_from(
    [
        "P(",
        ")",
        "effective_flop",
        "spend",
        "cap",
        ">=",
        "<",
        "by",
        "in",
        "year",
        "median",
        "quantiles",
        "interval",
        "cost",
        "of",
        "x",
        "GPT-4",
        "requirement",
        "2030",
        "1e28",
        "1e400",
        "inf",
        "nan",
        "$10B",
        "0.9",
        "hdi",
        "-1",
        "1e-320",
        "1e300",
        "\n",
        "\x1b[31m",
        "\u2028",
    ]
)


@FUZZ
@given(st.lists(_QUESTION_WORDS, max_size=9).map(" ".join) | st.text(max_size=60))
def test_generated_questions_parse_or_raise_syntax_error(text):
    scenario = mcscale.parse_scenario(SMALL, "small.toml")
    try:
        query = parse_question(text)
    except QuestionSyntaxError as exc:
        assert all(line == one_line(line) for line in exc.lines())
        return
    try:
        check_query(query, scenario)
    except QueryError:
        pass


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_QUESTION_WORDS, min_size=1, max_size=8).map(" ".join))
def test_generated_questions_through_the_command_line(saved, capsys, text):
    code = invoke(["query", "--from", str(saved["stream"]), text])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2) and "Traceback" not in err
    assert "\x1b" not in out + err and "\u2028" not in out + err
    if code == 2:
        assert [line for line in err.splitlines() if line.startswith("mcscale: error:")][:1]
        assert sum(line.startswith("mcscale: error:") for line in err.splitlines()) == 1
