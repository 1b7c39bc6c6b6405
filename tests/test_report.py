"""HTML reports: answers equal the query engine's, figures embedded, deterministic, render in Chromium."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import mcscale
from helpers import scenario_text
from mcscale.cli import bundled_scenarios, main
from mcscale.query import answer, scenario_queries
from mcscale.report.html import answer_cells, comparison_report, prior_table, scenario_report
from mcscale.units import format_probability, format_value

matplotlib.use("Agg")

DRAWS = 20_000
SEED = 3
DPI = 50  # small figures keep the tests fast
CHROMIUM = Path("/usr/bin/chromium")


class _Page(HTMLParser):
    """Collects answer rows (cells' text and attributes), images, and the embedded JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.images: list[dict] = []
        self.resources: list[str] = []
        self.json_text = ""
        self._cell: dict | None = None
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "answer" in (attrs.get("class") or "").split():
            self.rows.append({"attrs": attrs, "cells": []})
        elif tag == "td" and self.rows and self._open_row():
            self._cell = {"attrs": attrs, "text": ""}
            self.rows[-1]["cells"].append(self._cell)
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "script":
            if "src" in attrs:
                self.resources.append(attrs["src"])
            self._in_json = attrs.get("id") == "mcscale-answers"
        elif tag == "link":
            self.resources.append(attrs.get("href", ""))

    def _open_row(self):
        return not self.rows[-1].get("closed")

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr" and self.rows:
            self.rows[-1]["closed"] = True
        elif tag == "script":
            self._in_json = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_json:
            self.json_text += data


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def baseline():
    return mcscale.run(bundled_scenarios()["baseline"], n_draws=DRAWS, seed=SEED)


@pytest.fixture(scope="module")
def page(baseline):
    return scenario_report(baseline, dpi=DPI)


def _engine_answers(capsys, name="baseline"):
    """The scenario's answers as ``mcscale query --json`` prints them."""
    capsys.readouterr()
    assert main(["query", name, "--draws", str(DRAWS), "--seed", str(SEED), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_answer_in_the_report_equals_the_query_engine(baseline, page, capsys):
    engine = _engine_answers(capsys)
    parsed = parse(page)
    assert json.loads(parsed.json_text) == engine  # full precision, as `query --json` prints
    assert len(parsed.rows) == len(engine) == 3
    for row, expected in zip(parsed.rows, engine, strict=True):
        question, value, mcse = (cell["text"] for cell in row["cells"])
        assert question == expected["question"]
        assert row["attrs"]["data-value"] == repr(expected["value"])
        if expected["mcse"] is None:  # 0 or 1: the rule-of-three bound stands in for the MCSE
            assert (value, mcse) == answer_cells(mcscale.ask(baseline, question))
        else:
            assert (value, mcse) == format_probability(expected["value"], expected["mcse"])


def test_answer_cells_of_every_kind(baseline):
    ask = mcscale.ask
    p = ask(baseline, "P(effective_flop >= 1000 x GPT-4 by 2030)")
    assert answer_cells(p) == format_probability(p.value, p.mcse)
    never = ask(baseline, "P(effective_flop >= 1e60 by 2030)")
    assert answer_cells(never) == (
        "0.0000",
        f"none (no draw qualifies); < {3 / baseline.n_draws:.6g} at 95%, rule of three",
    )
    year = ask(baseline, "median year effective_flop >= 1000 x GPT-4")
    text, mcse = answer_cells(year)
    assert text.startswith(f"median {year.median:.1f}") and "P(never by 2060)" in text
    assert mcse.startswith(f"{year.quantile_mcse['50%']:.2g} (median)")
    assert "ETI 90%" in answer_cells(ask(baseline, "interval effective_flop in 2030"))[0]
    assert answer_cells(ask(baseline, "cost of 1000 x GPT-4 in 2030"))[0].startswith("physical FLOP: median $")
    assert answer_cells(ask(baseline, "quantiles spend in 2030"))[0].startswith("5% $")


def test_report_contents_figures_and_metadata(baseline, page):
    parsed = parse(page)
    scenario = baseline.scenario
    assert f"<h1>{scenario.name}</h1>" in page and scenario.description in page
    assert parsed.resources == []  # nothing to fetch: no external scripts or style sheets
    figures = [image for image in parsed.images if not image["alt"].startswith("tornado")]
    assert len(figures) == 6
    for image in figures:
        assert image["src"].startswith("data:image/png;base64,")
        data = base64.b64decode(image["src"].split(",", 1)[1])
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20], "big") == int(image["width"]) == round(3.5 * DPI)
        assert image["alt"]
    assert "Epoch AI" in page and "CC BY 4.0" in page  # the data's license, credited
    run = page[page.index('<section id="run">') : page.index("</section>", page.index('<section id="run">'))]
    for text in (f"<td>{SEED}</td>", f"{baseline.n_draws:,}", baseline.tree.attrs["mcscale_version"]):
        assert text in run
    assert baseline.tree.attrs["created"] in run and "s sampling" in run and "s report" in run


def test_assumptions_table_has_every_prior_as_written_and_as_sampled(baseline, page):
    rows = {row.name: row for row in prior_table(baseline)}
    assert list(rows) == list(baseline.scenario.all_priors())
    initial = rows["spend.initial"]
    written = tomllib.loads(baseline.scenario.text)["spend"]
    assert (
        initial.written
        == f'{{ dist = "lognormal", p5 = {written["initial"]["p5"]:g}, p95 = {written["initial"]["p95"]:g} }}'
    )
    expected = np.quantile(baseline.parameter_draws("spend.initial"), (0.05, 0.5, 0.95))
    np.testing.assert_allclose(initial.sampled, expected)
    doubling = rows["spend.doubling_time"]  # written in months, sampled in years
    assert 'unit = "month"' in doubling.written and doubling.unit == "year"
    months = written["doubling_time"]
    assert doubling.sampled[1] == pytest.approx(np.sqrt(months["p5"] * months["p95"]) / 12, rel=0.02)
    assert rows["reference.flop"].fixed and rows["reference.flop"].sampled == (2.1e25, 2.1e25, 2.1e25)
    for name in rows:
        assert f"<code>{name}</code>" in page
    median = mcscale.units.format_value(initial.sampled[1], "USD")  # USD quantiles in money format
    assert median.startswith("$") and f'<td class="num">{median}</td>' in page


def _stable(page: str) -> str:
    return re.sub(r'<span class="volatile">.*?</span>', "", page)


def test_report_is_deterministic_for_a_seed_apart_from_the_timestamps(page):
    again = scenario_report(mcscale.run(bundled_scenarios()["baseline"], n_draws=DRAWS, seed=SEED), dpi=DPI)
    assert _stable(again) == _stable(page)
    assert page.count('class="volatile"') == 2  # the creation time and the time taken
    other = scenario_report(mcscale.run(bundled_scenarios()["baseline"], n_draws=DRAWS, seed=SEED + 1), dpi=DPI)
    assert _stable(other) != _stable(page)


def test_comparison_puts_answers_side_by_side(capsys):
    results = [mcscale.run(bundled_scenarios()[n], n_draws=DRAWS, seed=SEED) for n in ("baseline", "slowdown")]
    short = mcscale.parse_scenario(scenario_text(end=2030).replace('name = "test"', 'name = "short"'), "short.toml")
    results.append(mcscale.run(short, n_draws=DRAWS, seed=SEED))
    page = comparison_report(results, dpi=DPI)
    parsed = parse(page)
    data = json.loads(parsed.json_text)
    assert list(data) == ["baseline", "short", "slowdown"]  # JSON keys sorted
    questions = [row["cells"][0]["text"] for row in parsed.rows]
    own = {r.scenario.name: [q.text for q in scenario_queries(r.scenario)] for r in results}
    assert questions[: len(own["baseline"])] == own["baseline"]
    assert set(questions) == set(own["baseline"]) | set(own["slowdown"])
    for column, result in enumerate(results, start=1):
        name = result.scenario.name
        engine = {a["question"]: a for a in _engine_answers(capsys, name)} if name != "short" else {}
        for row, question in zip(parsed.rows, questions, strict=True):
            cell = row["cells"][column]
            item = data[name][questions.index(question)]
            if name == "short":  # its horizon ends in 2030: later years cannot be asked
                year = float(question.rstrip(")").split()[-1])
                assert (cell["text"] == "—") == (year > 2030)
                if year <= 2030:
                    expected = answer(result, mcscale.query.parse_question(question)).to_dict()
                    assert item == expected
                continue
            expected = engine.get(question) or answer(result, mcscale.query.parse_question(question)).to_dict()
            assert item == expected
            assert cell["attrs"]["data-value"] == repr(expected["value"])
            assert cell["text"].startswith(format_probability(expected["value"], expected["mcse"] or 0.0)[0])
    assert len(parsed.images) == 4


def test_cli_report_and_compare(tmp_path, capsys):
    out = tmp_path / "baseline.html"
    assert main(["report", "baseline", "--draws", "4000", "--seed", "1", "--dpi", "40", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    out = tmp_path / "compare.html"
    assert main(["compare", "baseline", "slowdown", "--draws", "4000", "--dpi", "40", "-o", str(out)]) == 0
    assert "Comparison: baseline, slowdown" in out.read_text()
    assert main(["report", "baseline", "-o", str(tmp_path / "missing" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compare", "baseline", "-o", str(tmp_path / "c.html")]) == 2
    assert "compare takes 2 to 8 scenarios" in capsys.readouterr().err
    assert main(["compare", "baseline", "baseline", "-o", str(tmp_path / "c.html")]) == 2
    assert "distinct" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.html", "compare.html"]


def test_crossing_years_past_the_horizon_read_not_reached(baseline):
    late = mcscale.ask(baseline, "year effective_flop >= 1e36")
    q, end = late.quantiles, 2060
    assert 0.05 < late.details["p_never"] < 0.5 and math.isfinite(q["50%"]) and q["95%"] == math.inf
    text, mcse = answer_cells(late)
    p_never = late.details["p_never"]
    assert text == (
        f"median {q['50%']:.1f}; 5%: {q['5%']:.1f}; 95%: not reached by {end}; P(never by {end}) = {p_never:.4f}"
    )
    assert mcse.startswith(f"{late.quantile_mcse['50%']:.2g} (median)")
    never = mcscale.ask(baseline, "year effective_flop >= 1e38")
    assert never.details["p_never"] > 0.5
    text, mcse = answer_cells(never)
    assert text.startswith(f"median: not reached by {end}; 5%: {never.quantiles['5%']:.1f}; 95%: not reached by")
    assert mcse.startswith("— (median); ")
    assert "never ±" not in text and "to never" not in text
    finite = answer_cells(mcscale.ask(baseline, "year effective_flop >= 1000 x GPT-4"))[0]
    assert re.fullmatch(r"median \d{4}\.\d; 90%: \d{4}\.\d to \d{4}\.\d; P\(never by 2060\) = 0\.0000", finite)


def test_keys_not_written_show_a_dash_not_none():
    result = mcscale.run(mcscale.parse_scenario(scenario_text(), "t.toml"), n_draws=2_000, seed=SEED)
    rows = {row.name: row for row in prior_table(result)}
    assert rows["reference.flop"].written == ""  # the file has no [reference]: GPT-4's default applies
    assert rows["spend.initial"].written == "1e+08"
    page = scenario_report(result, dpi=DPI)
    table = page[page.index('<table class="assumptions">') : page.index("</table>", page.index("assumptions"))]
    assert "None" not in table
    assert '<td><code>reference.flop</code></td><td class="na" title="not written' in table
    assert '<td class="num">2.10e+25</td>' in table  # FLOP quantiles by units.format_value


MILESTONE = """
[milestone]
name = "TAI"
requirement = { dist = "lognormal", median = 1e30, gsd = 30 }
"""
SLOW = {"end": 2045, "spend_doubling_time": 3.0, "algorithms_doubling_time": 3.0}


def _figure_ids(page: str) -> list[str]:
    return re.findall(r'<figure id="fig-([a-z-]+)">', page)


def test_milestone_report_shows_p_milestone_by_year_and_its_crossing_year():
    text = scenario_text(MILESTONE + '\n[[questions]]\nthreshold = "requirement"\nby = [2035, 2045]\n', **SLOW)
    result = mcscale.run(mcscale.parse_scenario(text, "m.toml"), n_draws=DRAWS, seed=SEED)
    page = scenario_report(result, dpi=DPI)
    parsed = parse(page)
    assert len(parsed.images) == 8 + 2  # and one tornado per question
    ids = _figure_ids(page)
    assert ids[:4] == ["fan-effective", "fan-physical", "milestone-exceedance", "milestone-crossing"]
    assert "exceedance" in ids and "crossing" in ids  # the reference-run figures stay
    low, high = result.prior_quantiles("milestone.requirement", (0.05, 0.95))
    fan_caption = page[page.index('id="fig-fan-effective"') : page.index('id="fig-fan-physical"')]
    assert f"TAI requirement's 5–95% interval as sampled ({format_value(low, 'FLOP')} to" in fan_caption
    assert f"{format_value(high, 'FLOP')} FLOP" in fan_caption
    assert "<code>P(effective_flop &gt;= requirement by YEAR)</code>" in page
    questions = [row["cells"][0]["text"] for row in parsed.rows]
    assert questions == ["P(effective_flop >= requirement by 2035)", "P(effective_flop >= requirement by 2045)"]
    for row, year in zip(parsed.rows, (2035, 2045), strict=True):
        expected = result.probability("effective_flop", "requirement", by=year)
        assert row["attrs"]["data-value"] == repr(expected.value)
    baseline_ids = _figure_ids(scenario_report(mcscale.run("baseline", n_draws=2_000, seed=SEED), dpi=DPI))
    assert not any(i.startswith("milestone") for i in baseline_ids) and len(baseline_ids) == 6


def test_the_sensitivity_section_has_one_tornado_per_question(baseline, page):
    parsed = parse(page)
    queries = mcscale.query.scenario_queries(baseline.scenario)
    tornados = [image for image in parsed.images if image["alt"].startswith("tornado of ")]
    assert [image["alt"] for image in tornados] == [f"tornado of {q.text}" for q in queries]
    assert all(int(image["width"]) == round(7.0 * DPI) for image in tornados)  # page width, for the labels
    start = page.index('<section id="sensitivity">')
    section = page[start : page.index("</section>", start)]
    draws = min(20_000, baseline.n_draws)
    assert f"{draws:,} draws per bar end" in section and f"seed {baseline.seed}" in section


def test_streaming_report_of_a_milestone(tmp_path, capsys):
    scenario = tmp_path / "m.toml"
    scenario.write_text(scenario_text(MILESTONE, **SLOW))  # no question counts the requirement
    out = tmp_path / "m.html"
    argv = ["report", str(scenario), "--stream", "--draws", "4000", "--dpi", "40", "-o", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    page = out.read_text()
    assert len(parse(page).images) == 8 and "not drawn" not in page  # the command counts the requirement
    # streaming from Python counts the requirement too; one that did not (an older file, or
    # thresholds given by hand) gets a note in place of those figures, not an error
    parsed_scenario = mcscale.parse_scenario(scenario.read_text(), "m.toml")
    result = mcscale.run(parsed_scenario, n_draws=4000, mode="stream")
    assert len(parse(scenario_report(result, dpi=DPI)).images) == 8
    without = result.tree.copy()
    keep = without["accumulators"].to_dataset()
    keep = keep.isel(
        threshold=[i for i, row in enumerate(keep["threshold_row"].values) if row != "milestone.requirement"]
    )
    without["accumulators"] = keep
    page = scenario_report(type(result)(without, parsed_scenario), dpi=DPI)
    assert len(parse(page).images) == 6 and page.count("not drawn (") == 2
    assert _figure_ids(page)[2:4] == ["milestone-exceedance", "milestone-crossing"]


def test_comparison_warns_when_effective_flop_is_on_different_bases(tmp_path, capsys):
    results = [mcscale.run(n, n_draws=2_000, seed=SEED) for n in ("eras", "baseline")]
    page = comparison_report(results, dpi=DPI)
    note = re.search(r'<p class="warning" id="basis-warning">(.*?)</p>', page)
    assert note and "eras from 2012" in note.group(1) and "baseline from 2025" in note.group(1)
    assert page.index("basis-warning") < page.index('<section id="questions">')  # seen before the answers
    assert "Not on one basis: see the note at the top." in page
    out = tmp_path / "c.html"
    assert main(["compare", "eras", "baseline", "--draws", "2000", "--dpi", "30", "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("mcscale: warning: effective FLOP is not on one basis")
    assert "basis-warning" in out.read_text()
    assert main(["compare", "baseline", "slowdown", "--draws", "2000", "--dpi", "30", "-o", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert "basis-warning" not in out.read_text() and "Not on one basis" not in out.read_text()


# --------------------------------------------------------------------------- #
# A real browser                                                               #
# --------------------------------------------------------------------------- #

_CHECK = (
    "<script>window.addEventListener('load', function () {"
    " var images = Array.prototype.slice.call(document.images);"
    " var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });"
    " document.body.setAttribute('data-images', images.length + '/' + loaded.length); });</script>"
)


def _images_loaded(page: str) -> tuple[int, int]:
    """Open a page in headless Chromium (no network) and return (images, images loaded)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        path.write_text(page.replace("</body>", _CHECK + "</body>"), encoding="utf-8")
        profile = Path(folder) / "profile"
        done = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the report must not need one
                f"--user-data-dir={profile}",
                "--dump-dom",
                path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    match = re.search(r'<body[^>]*data-images="(\d+)/(\d+)"', done.stdout)
    assert match, f"chromium printed no result (exit {done.returncode}): {done.stderr[-2000:]}"
    return int(match.group(1)), int(match.group(2))


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("MCSCALE_REQUIRE_BROWSER"),
    reason="needs Chromium at /usr/bin/chromium (apt-get install chromium); CI sets MCSCALE_REQUIRE_BROWSER",
)
def test_report_renders_in_chromium_with_every_image_loaded(page):
    assert shutil.which(str(CHROMIUM)), f"{CHROMIUM} is missing"
    n = len(parse(page).images)  # six figures and a tornado per question
    assert n == 6 + len(scenario_queries(mcscale.load_scenario(bundled_scenarios()["baseline"]))) and n > 6
    assert _images_loaded(page) == (n, n)
    # the check itself notices a broken image
    broken = page.replace("</body>", '<img src="data:image/png;base64,AAAA" alt="broken"></body>')
    assert _images_loaded(broken) == (n + 1, n)
