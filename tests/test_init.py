"""``mcscale init NAME.toml``: a commented template that parses and runs, written atomically, never over a file."""

import math
import os
import re
import subprocess
import sys
import tomllib

import jsonschema
import pytest

import mcscale
from mcscale.cli import init
from mcscale.cli.common import Parser
from mcscale.scenario_file import (
    CORRELATION_KEYS,
    ESTIMATE_KEYS,
    GRID_KEYS,
    PARAMETERS,
    QUESTION_KEYS,
    REGIME_KEYS,
    SECTIONS,
    STRING_KEYS,
    TABLE_ARRAYS,
)
from mcscale.schema import scenario_schema

TEMPLATE = init.template_text()


def parser() -> Parser:
    """The ``mcscale`` parser with only ``init`` on it, as cli/__init__.py wires it."""
    top = Parser(prog="mcscale")
    init.add_parser(top.add_subparsers(dest="command", required=True, parser_class=Parser))
    return top


def mcscale_init(*argv: str) -> int:
    args = parser().parse_args(["init", *argv])
    return args.handler(args)


def uncomment(text: str, start: str) -> str:
    """Uncomment the line that starts with ``# {start}``, and the block under it if it is a section."""
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(f"# {start}"))
    lines[i] = lines[i][2:]
    if start.startswith("["):
        j = i + 1
        while j < len(lines) and re.match(r"# [a-z_]+ +=", lines[j]):
            lines[j] = lines[j][2:]
            j += 1
        assert j > i + 1, f"no keys under {start}"
    return "\n".join(lines) + "\n"


def comment(text: str, start: str) -> str:
    """Comment out the line that starts with ``start``."""
    assert re.search(rf"^{re.escape(start)}", text, re.MULTILINE), start
    return re.sub(rf"^{re.escape(start)}", f"# {start}", text, count=1, flags=re.MULTILINE)


def hardware_alternatives(text: str) -> str:
    text = comment(text, 'doubling_time = { dist = "lognormal", p5 = 2.0')
    for start in ("growth_per_year = 1.3", "max_flop_per_usd", "ceiling_kind"):
        text = uncomment(text, start)
    return text


def test_init_writes_a_template_that_parses_and_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mcscale_init("forecast.toml") == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.splitlines() == [
        "wrote forecast.toml: a template scenario, with each key's meaning, unit and source in its comments",
        "next: mcscale run forecast.toml",
    ]
    assert sorted(os.listdir(tmp_path)) == ["forecast.toml"]  # no temporary file left
    path = tmp_path / "forecast.toml"
    text = path.read_text(encoding="utf-8")
    assert "mcscale run forecast.toml" in text and "NAME.toml" not in text
    scenario = mcscale.parse_scenario(text, "forecast.toml")
    assert scenario.name == "forecast"
    assert jsonschema.Draft202012Validator(scenario_schema()).is_valid(tomllib.loads(text))

    result = mcscale.run(path, n_draws=2000, seed=0)
    assert result.n_draws >= 2000
    median = float(result.summary["effective_flop"].sel(year=2030, quantile=0.5))
    assert math.isfinite(median) and 25 < median < 35  # log10 FLOP
    assert 0 <= result.probability("effective_flop", (1000, "GPT-4"), by=2030).value <= 1


def test_the_cli_runs_and_queries_the_template(tmp_path, capsys):
    from mcscale.cli import main

    path = tmp_path / "t.toml"
    assert mcscale_init(str(path)) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--draws", "2000"]) == 0
    assert main(["query", str(path), "--draws", "2000"]) == 0
    answers = capsys.readouterr().out
    assert "P(effective_flop >= 1000 x GPT-4 by 2030)" in answers
    assert "P(physical_flop >= 1e28 by 2035)" in answers


def test_init_adds_the_suffix_and_quotes_the_next_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mcscale_init("my forecast") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "next: mcscale run 'my forecast.toml'"
    text = (tmp_path / "my forecast.toml").read_text(encoding="utf-8")
    assert mcscale.parse_scenario(text).name == "my forecast"
    assert "mcscale run 'my forecast.toml' --draws" in text


def test_init_refuses_to_overwrite_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text("keep me\n", encoding="utf-8")
    assert mcscale_init("mine.toml") == 2
    out = capsys.readouterr()
    assert out.out == ""
    (line,) = out.err.splitlines()
    assert line.startswith("mcscale: error: mine.toml: exists; ")
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8") == "keep me\n"
    assert mcscale_init("mine") == 2  # the suffix is added before the check
    assert sorted(os.listdir(tmp_path)) == ["mine.toml"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.txt", "notes.txt: a scenario is a .toml file"),
        ("nowhere/x.toml", "nowhere/x.toml: no such directory 'nowhere'"),
        ("bad\nname.toml", "a file name that cannot stand in the template"),
    ],
)
def test_init_rejects_bad_names_with_one_line(tmp_path, capsys, monkeypatch, name, message):
    monkeypatch.chdir(tmp_path)
    assert mcscale_init(name) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcscale: error: ") and message in err and err.count("mcscale: error:") == 1
    assert os.listdir(tmp_path) == []


def test_init_leaves_nothing_when_the_write_fails(tmp_path, capsys, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    assert mcscale_init(str(tmp_path / "x.toml")) == 2
    assert "cannot write: Permission denied" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_init_imports_neither_numba_nor_xarray(tmp_path):
    code = (
        "import sys\n"
        "from mcscale.cli import init\n"
        "from mcscale.cli.common import Parser\n"
        "p = Parser(prog='mcscale')\n"
        "init.add_parser(p.add_subparsers(dest='command', parser_class=Parser))\n"
        "a = p.parse_args(['init', sys.argv[1]])\n"
        "assert a.handler(a) == 0\n"
        "print(sorted(m for m in ('numba', 'xarray', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.toml")], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "[]"


# --------------------------------------------------------------------------- #
# the template's contents                                                      #
# --------------------------------------------------------------------------- #


def test_the_template_shows_every_section_and_key():
    for section in SECTIONS:
        header = f"[[{section}]]" if section in TABLE_ARRAYS else f"[{section}]"
        assert re.search(rf"^(# )?{re.escape(header)}$", TEMPLATE, re.MULTILINE), header
    keys = {k for keys in PARAMETERS.values() for k in keys} | {k for keys in STRING_KEYS.values() for k in keys}
    keys |= {*GRID_KEYS, "from", *CORRELATION_KEYS, *QUESTION_KEYS, "target"}
    for key in sorted(keys):
        assert re.search(rf"^(# )?{key} +=", TEMPLATE, re.MULTILINE), key
    for section, regime_keys in REGIME_KEYS.items():
        for key in regime_keys:
            assert f"{section}.{key}" in TEMPLATE
    for key in {k for keys in ESTIMATE_KEYS.values() for k in keys}:
        assert re.search(rf"\b{key}\b", TEMPLATE), key


def test_the_template_cites_its_sources_by_title():
    for title in (
        '"Data on AI Models"',
        "CC BY 4.0",
        '"The rising costs of training frontier AI models"',
        '"Trends in GPU price-performance"',
        '"Algorithmic progress in language models"',
        '"Measuring the Algorithmic Efficiency of Neural Networks"',
    ):
        assert title in TEMPLATE


def test_the_template_names_itself_once():
    assert TEMPLATE.count('\nname = "starter"') == 1
    assert 'name = "x"' in init.template_text("x") and 'name = "starter"' not in init.template_text("x")
    assert tomllib.loads(init.template_text('a "quoted" \\ name'))["scenario"]["name"] == 'a "quoted" \\ name'


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: uncomment(t, "[milestone]"), id="milestone"),
        pytest.param(
            lambda t: uncomment(uncomment(comment(t, "cap = "), "cap_gdp_fraction"), "[economy]"), id="gdp-cap"
        ),
        pytest.param(lambda t: uncomment(comment(t, "flop_per_usd = "), "[estimate]"), id="estimate"),
        pytest.param(
            lambda t: hardware_alternatives(t),
            id="hardware-alternatives",
        ),
        pytest.param(lambda t: uncomment(comment(t, "flop_per_usd = "), "price_per_flop"), id="price-per-flop"),
        pytest.param(lambda t: uncomment(t, "cap_growth_per_year"), id="cap-growth"),
    ],
)
def test_the_templates_commented_alternatives_work(edit):
    text = edit(TEMPLATE)
    assert text != TEMPLATE
    mcscale.parse_scenario(text, "edited.toml")
    assert jsonschema.Draft202012Validator(scenario_schema()).is_valid(tomllib.loads(text))
