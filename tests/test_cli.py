"""The command line: bad input gives one line per problem on stderr, exit code 2, no traceback, no file."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

import mcscale
from mcscale.cli import main
from scenario_factory import (
    INVALID_TOML,
    INVALID_TOML_LINE,
    ISSUE_CASES,
    SEVERAL_PROBLEMS,
    BadCase,
    match_lines,
    scenario_toml,
)

SOURCE = "bad.toml"
PREFIX = "mcscale: error: "
REPO = Path(__file__).parents[1]


def invoke(argv: list[str]) -> int:
    """Run ``main`` in-process and return its exit code, whether returned or raised (argparse)."""
    try:
        return main(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)


def stderr_lines(text: str) -> list[str]:
    assert "Traceback" not in text
    return text.splitlines()


def run_bad(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Write ``text`` as bad.toml, run it, check the common contract, and return the stderr lines."""
    scenario = tmp_path / SOURCE
    scenario.write_text(text, encoding="utf-8")
    code = invoke(["run", str(scenario), "--draws", "1000", "--output", str(tmp_path / "out.nc")])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert out == ""
    lines = stderr_lines(err)
    assert lines and all(line.startswith(PREFIX) for line in lines), err
    assert sorted(p.name for p in tmp_path.iterdir()) == [SOURCE]  # no out.nc, no temporary file
    return lines


@pytest.mark.parametrize("case", ISSUE_CASES, ids=lambda c: c.id)
def test_bad_scenario_gives_one_line_per_problem_and_exit_2(case: BadCase, tmp_path, capsys):
    lines = run_bad(tmp_path, scenario_toml(case.changes), capsys)
    match_lines(lines, SOURCE, case.expected)


def test_several_problems_are_reported_at_once(tmp_path, capsys):
    lines = run_bad(tmp_path, scenario_toml(SEVERAL_PROBLEMS.changes), capsys)
    match_lines(lines, SOURCE, SEVERAL_PROBLEMS.expected)


def test_invalid_toml_names_the_file_and_line(tmp_path, capsys):
    lines = run_bad(tmp_path, INVALID_TOML, capsys)
    assert len(lines) == 1
    assert lines[0].startswith(f"{PREFIX}{SOURCE}: ")
    assert "invalid TOML" in lines[0]
    assert f"line {INVALID_TOML_LINE}" in lines[0]


# --------------------------------------------------------------------------- #
# bad arguments and paths                                                      #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("draws", ["0", "1", "-5", "abc", "1.5", "1e400", "nan", "inf", "1e-3"])
def test_bad_draw_count_is_a_clean_error(draws, tmp_path, capsys):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(scenario_toml(), encoding="utf-8")
    code = invoke(["run", str(scenario), "--draws", draws, "--output", str(tmp_path / "out.nc")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = stderr_lines(err)
    assert len(lines) == 1, err
    assert "--draws" in lines[0] and repr(draws) in lines[0] and "whole number" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.toml"]


@pytest.mark.parametrize("name", ["missing.toml", "missing"])
def test_missing_scenario_file_is_a_clean_error(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = invoke(["run", name, "--draws", "1000", "--output", "out.nc"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = stderr_lines(err)
    names = "baseline, cotra2020, cotra2022, direct-approach, eras, overhang, slowdown"
    bundled = f" or bundled scenario (bundled: {names})" if name == "missing" else ""
    assert lines == [f"{PREFIX}{name}: no such file{bundled}"]
    assert list(tmp_path.iterdir()) == []


def test_scenario_that_is_a_directory_is_a_clean_error(tmp_path, capsys):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    code = invoke(["run", str(folder), "--draws", "1000"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = stderr_lines(err)
    assert len(lines) == 1 and "folder.toml" in lines[0] and "cannot read" in lines[0]


def test_output_in_missing_directory_is_a_clean_error(tmp_path, capsys):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(scenario_toml(), encoding="utf-8")
    output = tmp_path / "no" / "such" / "out.nc"
    code = invoke(["run", str(scenario), "--draws", "1000", "--output", str(output)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = stderr_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX) and "does not exist" in lines[0] and str(output.parent) in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.toml"]


def test_output_that_is_a_directory_is_a_clean_error(tmp_path, capsys):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(scenario_toml(), encoding="utf-8")
    code = invoke(["run", str(scenario), "--draws", "1000", "--output", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 2
    lines = stderr_lines(err)
    assert len(lines) == 1 and "is a directory" in lines[0]


def test_missing_command_is_a_usage_error(capsys):
    assert invoke([]) == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err and "command" in err


# --------------------------------------------------------------------------- #
# real processes: the exit code and the absence of a traceback, end to end     #
# --------------------------------------------------------------------------- #


def _subprocess(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_subprocess_bad_scenario_exits_2_without_traceback(tmp_path):
    (tmp_path / SOURCE).write_text(scenario_toml({"spend.doubling_time.p95": 6}), encoding="utf-8")
    proc = _subprocess(
        [sys.executable, "-m", "mcscale.cli", "run", SOURCE, "--draws", "1000", "--output", "out.nc"], tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == f"{PREFIX}{SOURCE}: spend.doubling_time.p95: must be greater than p5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SOURCE]


def _console_script() -> str:
    script = Path(sys.executable).parent / "mcscale"
    found = str(script) if script.exists() else shutil.which("mcscale")
    if found is None:
        pytest.skip("the mcscale console script is not installed")
    return found


def test_console_script_invalid_toml_and_bad_draws_exit_2_without_traceback(tmp_path):
    script = _console_script()
    (tmp_path / SOURCE).write_text(INVALID_TOML, encoding="utf-8")
    proc = _subprocess([script, "run", SOURCE, "--draws", "1000", "--output", "out.nc"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert SOURCE in proc.stderr and f"line {INVALID_TOML_LINE}" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [SOURCE]

    proc = _subprocess([script, "run", SOURCE, "--draws", "0"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- #
# the happy path                                                               #
# --------------------------------------------------------------------------- #


def test_run_bundled_scenario_prints_summary_and_writes_netcdf(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "baseline" is resolved as a bundled scenario, not a local file
    output = tmp_path / "out.nc"
    code = invoke(["run", "baseline", "--draws", "2000", "--seed", "3", "--output", str(output)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    assert lines[0].startswith("baseline: ")
    assert lines[1].startswith("2000 draws, seed 3")
    assert "median [90% interval]" in out
    header = next(line for line in lines if line.lstrip().startswith("year"))
    assert all(name in header for name in ("effective_flop", "physical_flop", "spend"))
    rows = [line.split()[0] for line in lines[lines.index(header) + 1 :] if line[:7].strip().isdigit()]
    assert rows[0] == "2025" and rows[-1] == "2060"
    assert lines[-1] == f"wrote {output}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]

    with xr.open_datatree(output, engine="h5netcdf") as tree:
        assert {"prior", "summary"} <= set(tree.children)
        assert int(tree.attrs["n_draws"]) == 2000
        assert int(tree.attrs["seed"]) == 3
        assert "effective_flop" in tree["summary"].data_vars
        assert "spend.doubling_time" in tree["prior"].data_vars
        assert tree["prior"]["spend.doubling_time"].size == 2000


def test_run_scenario_file_by_path(tmp_path, capsys):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(scenario_toml(), encoding="utf-8")
    assert invoke(["run", str(scenario), "--draws", "1000"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("test: a minimal valid scenario")
    assert "wrote" not in out
    assert err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.toml"]


def test_scenarios_lists_the_bundled_scenarios(capsys):
    assert invoke(["scenarios"]) == 0
    out, _ = capsys.readouterr()
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["baseline", "cotra2020", "cotra2022", "direct-approach", "eras", "overhang", "slowdown"]
    assert "2025-2060" in out


def test_version(capsys):
    assert invoke(["--version"]) == 0
    out, _ = capsys.readouterr()
    assert out.strip() == f"mcscale {mcscale.__version__}"
    assert mcscale.__version__ != "0.0.0+unknown"


def test_written_questions_are_checked_before_sampling(tmp_path, capsys):
    from helpers import scenario_text

    path = tmp_path / "q.toml"
    path.write_text(
        scenario_text(
            '\n[[questions]]\ntext = "P(effective_flops >= 1e30 by 2030)"\n[[questions]]\n'
            'text = "P(effective_flop >= 1e30 by 2050)"\n'
        )
    )
    assert main(["run", str(path), "--draws", "100"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "q.toml: questions[0].text: expected a metric" in err[0]
    assert "q.toml: questions[1].text:" in err[1] and "outside the horizon" in err[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "--from", "scenarios/baseline.toml", "P(spend >= 1 by 2030)"], "cannot read as netCDF"),
        (["run", "baseline", "--draws", "100", "-o", "/dev/null"], "not a regular file"),
        (["run", "baseline", "--draws", "100", "-o", "out.txt"], "writes .nc, .nc4, .zarr files, not '.txt'"),
        (["run", "baseline", "--draws", "1e30"], "at most"),
    ],
)
def test_more_user_errors_exit_2(args, message, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_precision_counts_the_rule_of_three_when_no_draw_qualifies(capsys):
    args = ["query", "baseline", "P(effective_flop >= 1e45 by 2030)", "--draws", "2000", "--precision", "0.0001"]
    assert main([*args, "--max-draws", "100000"]) == 0
    captured = capsys.readouterr()
    assert "(MCSE" not in captured.out and "rule of three" in captured.out
    n = int(captured.err.split("reached with ")[1].split()[0])
    assert 3 / n <= 0.0001 < 3 / 2000


# --------------------------------------------------------------------------- #
# Partial answers                                                              #
# --------------------------------------------------------------------------- #


def test_a_question_a_streaming_file_cannot_answer_is_reported_and_the_rest_answered(tmp_path, capsys):
    saved = tmp_path / "stream.nc"
    assert main(["run", "baseline", "--draws", "4000", "--stream", "--output", str(saved)]) == 0
    capsys.readouterr()
    counted = "P(effective_flop >= 1000 x GPT-4 by 2030)"  # 10x-10000x the reference are always counted
    uncounted = "P(effective_flop >= 1e31 by 2030)"
    code = main(["query", "--from", str(saved), counted, uncounted, "quantiles spend in 2035"])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 1
    assert len(lines) == 3
    expected = mcscale.ask(mcscale.open_result(saved), counted)
    assert lines[0] == str(expected)
    assert lines[1].startswith(f"{uncounted}: not answered: this streaming run did not count")
    assert lines[2].startswith("quantiles spend in 2035: 5% $")
    assert "1 of 3 questions not answered" in err and "Traceback" not in err

    code = main(["query", "--from", str(saved), uncounted, counted, "--json"])
    out, _ = capsys.readouterr()
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 1
    assert first["question"] == uncounted and "did not count" in first["error"]
    assert second["value"] == expected.value


def test_a_year_past_the_horizon_is_not_answered_but_the_others_are(capsys):
    code = main(["query", "baseline", "--draws", "2000", "P(spend >= $10B by 2030)", "P(spend >= $10B by 2070)"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[0].startswith("P(spend >= $10B by 2030) = 0.")
    assert out.splitlines()[1] == "P(spend >= $10B by 2070): not answered: year 2070 is outside the horizon 2025..2060"


def test_every_question_answered_exits_0_and_bad_syntax_exits_2(capsys):
    assert main(["query", "baseline", "--draws", "2000", "P(spend > 500M in 2030)"]) == 0
    assert main(["query", "baseline", "--draws", "2000", "P(spend >= 500M in 2030", "quantiles spend in 2030"]) == 2
    _, err = capsys.readouterr()
    assert "expected ')'" in err


def test_estimate_takes_the_number_format_and_query_keeps_precision_for_the_mcse(capsys):
    h100 = ["estimate", "flop", "--chips", "1", "--chip", "H100", "--hours", "1", "--utilization", "1"]
    assert main([*h100, "--number-format", "fp8"]) == 0
    fp8 = capsys.readouterr().out
    assert main(h100) == 0
    bf16 = capsys.readouterr().out
    assert "fp8" in fp8 and "bf16" in bf16 and fp8 != bf16
    with pytest.raises(SystemExit) as stop:  # argparse: an unknown option
        main(["estimate", "flop", "--chips", "1", "--chip", "H100", "--precision", "fp8", "--hours", "1"])
    assert stop.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["scenarios"],
        ["init", "{tmp}/new.toml"],
        [
            "estimate",
            "flop",
            "--chips",
            "8",
            "--peak-flops",
            "1e14",
            "--days",
            "5",
            "--utilization",
            "lognormal(0.2, 0.5)",
        ],
        ["estimate", "cost", "--chips", "2048", "--chip-price", "15000", "--depreciation", "0.25", "--days", "21"],
    ],
)
def test_the_cheap_commands_import_no_numba_xarray_or_scipy_stats(argv, tmp_path):
    code = (
        "import sys\n"
        "from mcscale.cli import main\n"
        "try:\n"
        f"    code = main({[a.replace('{tmp}', str(tmp_path)) for a in argv]!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "heavy = [m for m in ('numba', 'xarray', 'scipy.stats', 'matplotlib', 'arviz_stats') if m in sys.modules]\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 []"


def test_a_probability_query_imports_only_what_it_samples_with(tmp_path):
    # a first question waits for no result, figure, fit or cluster code: xarray and pandas (0.5 s), dask
    # (0.2 s), scipy.stats, arviz and matplotlib are not imported even where they are installed
    code = (
        "import sys\n"
        "from mcscale.cli import main\n"
        "code = main(['query', 'baseline', 'P(effective_flop >= 1000 x GPT-4 by 2030)', '--draws', '1000'])\n"
        "heavy = ('xarray', 'pandas', 'dask', 'scipy.stats', 'matplotlib', 'arviz_stats', 'arviz_base')\n"
        "print(code, [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 []"


def test_compile_leaves_every_kernel_in_the_cache(capsys):
    from mcscale.sim.engine import compile_seconds

    assert main(["compile"]) == 0
    assert capsys.readouterr().out.startswith("mcscale: the kernels ")
    assert compile_seconds("materialized") == 0 and compile_seconds("stream") == 0
