"""``mcscale explore``: the page state <-> scenario, the JSON API, the server, and the page in Chromium.

The browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright's
``executable_path``: nothing is downloaded. They are marked ``browser`` and skipped without
Chromium unless ``MCSCALE_REQUIRE_BROWSER`` is set (CI sets it, so there they fail instead).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import time
import tomllib
from pathlib import Path

import pytest

import mcscale
from helpers import scenario_text
from mcscale.cli import bundled_scenarios, main
from mcscale.cli.explore import add_explore_parser
from mcscale.query import scenario_queries
from mcscale.report import server as server_module
from mcscale.report.explore import ExploreError, Explorer, dump_toml, handle_api, toml_value
from mcscale.report.server import ExploreServer, is_loopback

DRAWS = 4_000
SEED = 3
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = bool(os.environ.get("MCSCALE_REQUIRE_BROWSER"))


@pytest.fixture(scope="module")
def explorer():
    return Explorer(mcscale.load_scenario(bundled_scenarios()["baseline"]))


def run_api(explorer, body, expect=200):
    status, payload = handle_api(explorer, "POST", "/api/run", json.dumps(body).encode())
    assert status == expect, payload
    return payload


def query_json(capsys, path, draws, seed, questions=()):
    """``mcscale query PATH --json`` as parsed JSON lines."""
    capsys.readouterr()
    assert main(["query", str(path), *questions, "--draws", str(draws), "--seed", str(seed), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def save(tmp_path, payload):
    path = tmp_path / payload["filename"]
    path.write_text(payload["toml"], encoding="utf-8")
    return path


# --------------------------------------------------------------------------- #
# Controls                                                                     #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_every_prior_of_every_bundled_scenario_gets_a_control(name):
    scenario = mcscale.load_scenario(bundled_scenarios()[name])
    explorer = Explorer(scenario)
    described = explorer.describe()
    ids = {g["id"] for g in described["groups"]}
    for prior in scenario.all_priors():
        if prior == "reference.flop" and "[reference]" not in scenario.text:
            continue  # the default reference, not in the file
        base, _, year = prior.partition("@")
        if year:  # a regime's prior: regimes[i].section.key
            i = next(i for i, r in enumerate(scenario.regimes) if f"{r.start_year:g}" == year)
            assert f"regimes[{i}].{base}" in ids, prior
        else:
            assert prior in ids, prior
    for i in range(len(scenario.correlations)):
        assert f"correlations[{i}]" in ids
    for group in described["groups"]:
        for control in group["controls"]:
            assert control["low"] < control["high"]
            assert control["id"].startswith(group["id"])
            # the slider's range holds the file's value
            assert control["low"] <= control["value"] <= control["high"], control
    assert described["default"]["questions"] == [q.text for q in scenario_queries(scenario)]


def test_controls_of_each_prior_form():
    extra = """
[milestone]
requirement = { dist = "percentiles", log10 = true, points = [[5, 26.0], [50, 30.0], [95, 36.0]] }

[[correlations]]
pair = ["spend.initial", "algorithms.doubling_time"]
rho = -0.2
"""
    text = scenario_text(
        extra,
        spend_initial='{ dist = "lognormal", median = 1e8, gsd = 2.0 }',
        hardware_flop_per_usd='{ dist = "mixture", weights = [0.3, 0.7], components = [1e17, '
        '{ dist = "lognormal", p5 = 1e17, p95 = 5e17 }] }',
        utilization_value='{ dist = "normal", mean = 0.4, sd = 0.1, lower = 0.1 }',
        algorithms_doubling_time='{ dist = "uniform", low = 0.5, high = 2 }',
    )
    explorer = Explorer(mcscale.parse_scenario(text, "forms.toml"))
    controls = explorer.controls
    assert set(controls) == {
        "spend.initial.median",
        "spend.initial.gsd",
        "spend.doubling_time",
        "hardware.flop_per_usd.weights[0]",
        "hardware.flop_per_usd.weights[1]",
        "hardware.flop_per_usd.components[0]",
        "hardware.flop_per_usd.components[1].p5",
        "hardware.flop_per_usd.components[1].p95",
        "hardware.doubling_time",
        "utilization.value.mean",
        "utilization.value.sd",
        "utilization.value.lower",
        "algorithms.doubling_time.low",
        "algorithms.doubling_time.high",
        "milestone.requirement.points[0]",
        "milestone.requirement.points[1]",
        "milestone.requirement.points[2]",
        "correlations[0].rho",
    }
    assert controls["spend.initial.median"].log and controls["spend.initial.gsd"].low > 1
    assert (
        controls["milestone.requirement.points[1]"].label == "p50"
        and not controls["milestone.requirement.points[1]"].log
    )
    assert (controls["correlations[0].rho"].low, controls["correlations[0].rho"].high) == (-0.99, 0.99)
    assert controls["utilization.value.mean"].high <= 1
    # each control edits its own number: moving it changes exactly that number of the saved file
    for cid, control in controls.items():
        value = control.value * 1.1 if cid != "correlations[0].rho" else 0.1
        if "weights" in cid:
            continue  # weights must sum to 1: moved in pairs below
        scenario, saved, _ = explorer.scenario_of(explorer.parse_state({"values": {cid: value}}))
        data = tomllib.loads(saved)
        node = data
        for part in control.path:
            node = node[part]
        assert node == pytest.approx(value), cid
    state = explorer.parse_state(
        {"values": {"hardware.flop_per_usd.weights[0]": 0.4, "hardware.flop_per_usd.weights[1]": 0.6}}
    )
    assert explorer.scenario_of(state)[0].priors["hardware.flop_per_usd"].weights == (0.4, 0.6)


def test_every_form_of_every_family_gets_its_numbers_as_controls():
    from mcscale.model.prior_tables import PRIOR_FORMS
    from mcscale.report.explore import _prior_controls

    for dist, forms in PRIOR_FORMS.items():
        if dist in ("percentiles", "lookup", "metalog", "mixture"):
            continue
        for form in forms:
            raw = {"dist": dist, **{key: 1.0 + i for i, key in enumerate(form)}, "lower": 0.5}
            controls = _prior_controls("x.y", ("x", "y"), raw, "positive")
            assert [c.id for c in controls] == [f"x.y.{k}" for k in (*form, "lower")], (dist, form)
            assert all(c.low < c.high for c in controls)


# --------------------------------------------------------------------------- #
# The saved file reproduces the page                                           #
# --------------------------------------------------------------------------- #


def test_the_file_as_loaded_gives_what_mcscale_query_gives(explorer, tmp_path, capsys):
    payload = run_api(explorer, {"draws": DRAWS, "seed": SEED})
    engine = query_json(capsys, bundled_scenarios()["baseline"], DRAWS, SEED)
    assert [a["answer"] for a in payload["answers"]] == engine
    saved = query_json(capsys, save(tmp_path, payload), DRAWS, SEED)
    assert saved == engine
    assert payload["state"]["values"] == {}
    # nothing changed: the comparison is the run itself
    assert payload["original"]["fan"] == payload["charts"]["fan"]


def test_saved_scenario_reproduces_the_answers_on_screen(explorer, tmp_path, capsys):
    questions = [
        "P(effective_flop >= 1000 x GPT-4 by 2030)",
        "year physical_flop >= 1e28",
        "quantiles spend in 2030",
        "interval effective_flop in 2035 hdi 0.8",
        "cost of 1000 x GPT-4 in 2030",
    ]
    body = {
        "values": {
            "spend.initial.p5": 6e8,
            "spend.doubling_time.p95": "12",  # as typed in a box
            "regimes[0].spend.doubling_time.p95": 3.5,
            "correlations[0].rho": 0.5,
            "reference.flop": 3e25,
        },
        "seed": SEED,
        "draws": DRAWS,
        "metric": "spend",
        "questions": questions,
    }
    payload = run_api(explorer, body)
    assert [a["question"] for a in payload["answers"]] == questions
    path = save(tmp_path, payload)
    text = path.read_text()
    # the file as written, with its comments, and the values of the page
    assert 'initial = { dist = "lognormal", p5 = 6e8, p95 = 4e9 }        # USD' in text
    assert "rho = 0.5" in text and "flop = 3e25            # FLOP" in text
    assert "# Labs that spend faster also tend to find algorithmic gains faster." in text
    assert f"#   mcscale query {path.name} --draws {DRAWS} --seed {SEED}" in text
    assert text.count("[[questions]]") == len(questions)
    # mcscale.run on the saved file: the same numbers
    result = mcscale.run(path, n_draws=DRAWS, seed=SEED)
    assert [mcscale.ask(result, q).to_dict() for q in questions] == [a["answer"] for a in payload["answers"]]
    # and the command the page shows prints them
    assert query_json(capsys, path, DRAWS, SEED) == [a["answer"] for a in payload["answers"]]
    # the figures are those of the same run
    from mcscale.viz import chartdata

    assert chartdata.to_json(chartdata.fan(result, "spend")) == payload["charts"]["fan"]
    # the comparison is the file as loaded, at the same seed and draws
    original = mcscale.run(bundled_scenarios()["baseline"], n_draws=DRAWS, seed=SEED)
    assert chartdata.to_json(chartdata.fan(original, "spend")) == payload["original"]["fan"]
    assert payload["answers"][0]["original"]["answer"] == mcscale.ask(original, questions[0]).to_dict()


def test_draw_counts_are_rounded_as_mcscale_run_rounds_them(explorer, tmp_path, capsys):
    payload = run_api(explorer, {"draws": 65_537, "seed": 1, "questions": ["P(spend >= $10B by 2030)"]})
    result = mcscale.run(save(tmp_path, payload), n_draws=65_537, seed=1)
    assert payload["n_draws"] == result.n_draws
    assert payload["answers"][0]["answer"] == mcscale.ask(result, "P(spend >= $10B by 2030)").to_dict()


def test_a_value_that_spans_lines_is_written_without_the_comments(tmp_path):
    text = scenario_text(spend_initial='{ dist = "percentiles", points = [\n  [5, 1e8],\n  [95, 1e9]] }  # USD')
    explorer = Explorer(mcscale.parse_scenario(text, "multi.toml"))
    payload = run_api(explorer, {"values": {"spend.initial.points[1]": 2e9}, "draws": 2000})
    assert "comments are not kept" in payload["toml"]
    assert mcscale.parse_scenario(payload["toml"]).priors["spend.initial"].written["points"] == [[5, 1e8], [95, 2e9]]


# --------------------------------------------------------------------------- #
# Bad input                                                                    #
# --------------------------------------------------------------------------- #


def problems(explorer, body):
    runs = explorer.runs
    status, payload = handle_api(explorer, "POST", "/api/run", json.dumps(body).encode())
    assert status == 400, payload
    assert explorer.runs == runs  # nothing was sampled
    return {p["field"]: p["message"] for p in payload["problems"]}


def test_bad_values_get_the_validators_message_on_their_control(explorer):
    assert problems(explorer, {"values": {"spend.initial.p5": 5e9}}) == {
        "spend.initial.p95": "spend.initial.p95: must be greater than p5"
    }
    found = problems(explorer, {"values": {"spend.initial.p5": "inf", "regimes[0].spend.doubling_time.p95": "abc"}})
    assert found == {
        "spend.initial.p5": "spend.initial.p5: must be a finite number (at most about 1.8e308), got inf",
        "regimes[0].spend.doubling_time.p95": "regimes[0].spend.doubling_time.p95: must be a number, got 'abc'",
    }
    assert "must be a finite number" in problems(explorer, {"values": {"spend.cap.p95": "nan"}})["spend.cap.p95"]
    assert "must lie in (-1, 1)" in problems(explorer, {"values": {"correlations[0].rho": 1.5}})["correlations[0].rho"]
    # a message about the whole prior goes to its group
    text = scenario_text(spend_doubling_time='{ dist = "normal", mean = 1, sd = 0.2, lower = 0.5 }')
    small = Explorer(mcscale.parse_scenario(text, "small.toml"))
    found = problems(small, {"values": {"spend.doubling_time.lower": -1}})
    assert found == {
        "spend.doubling_time": "spend.doubling_time: must be positive, but this normal prior can be -1; set lower > 0"
    }


def test_bad_questions_seeds_and_draws_are_refused(explorer):
    found = problems(explorer, {"questions": ["P(effective_flops >= 1 by 2030)", "P(spend >= $1B by 2070)"]})
    assert found["questions[0]"].startswith("cannot parse question: expected a metric")
    assert found["questions[0]"].endswith("    ^^^^^^^^^^^^^^^")  # the caret under the word
    assert "outside the horizon 2025..2060" in found["questions[1]"]
    found = problems(explorer, {"seed": -1, "draws": 2_000_000, "metric": "gdp"})
    assert set(found) == {"seed", "draws", "metric"}
    assert found["draws"] == "must be a whole number from 1 to 1,000,000"
    assert set(problems(explorer, {"draws": 0.5, "seed": "x"})) == {"draws", "seed"}
    assert problems(explorer, {"values": {"spend.nothing": 1}}) == {
        "": "no control 'spend.nothing' in scenario 'baseline'"
    }
    assert problems(explorer, {"colour": "red"})[""].startswith("unknown key 'colour'")
    assert "at most 20 questions" in problems(explorer, {"questions": ["quantiles spend in 2030"] * 21})["questions"]
    status, payload = handle_api(explorer, "POST", "/api/run", b'{"values": {"spend.initial.p5": NaN}}')
    assert status == 400 and payload["error"].startswith("the request is not valid JSON")
    assert handle_api(explorer, "POST", "/api/run", b"[1]")[0] == 400
    assert handle_api(explorer, "GET", "/api/run")[0] == 405
    assert handle_api(explorer, "GET", "/api/nothing")[0] == 404


def test_the_draw_limit_can_be_lowered():
    explorer = Explorer(mcscale.load_scenario(bundled_scenarios()["baseline"]), max_draws=5000)
    assert explorer.default_state().draws == 5000
    with pytest.raises(ExploreError) as info:
        explorer.parse_state({"draws": 5001})
    assert info.value.problems == [("draws", "must be a whole number from 1 to 5,000")]


# --------------------------------------------------------------------------- #
# TOML out                                                                     #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_dump_toml_reads_back(name):
    data = tomllib.loads(bundled_scenarios()[name].read_text())
    assert tomllib.loads(dump_toml(data)) == data


def test_toml_values():
    assert toml_value(4e8) == "4e8" and toml_value(2.1e25) == "2.1e25" and toml_value(0.2) == "0.2"
    assert toml_value(1.5e-7) == "1.5e-7" and toml_value(6.07) == "6.07" and toml_value(123456789.0) == "1.23456789e8"
    for value in [4e8, 2.1e25, 0.2, 1.5e-7, 6.07, 1e-300, 123456789.0, 0.1 + 0.2, -3.5e12, 12.0]:
        assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value
    tricky = 'a "quoted" \\ back\nslash\ttab \x7f del \x01 é 😀'
    assert tomllib.loads(f"v = {toml_value(tricky)}")["v"] == tricky
    assert (
        toml_value({"dist": "lognormal", "p5": 1, "unit": "month"}) == '{ dist = "lognormal", p5 = 1, unit = "month" }'
    )
    assert math.isinf(tomllib.loads(f"v = {toml_value(math.inf)}")["v"])


# --------------------------------------------------------------------------- #
# The server                                                                   #
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def served(explorer):
    with ExploreServer(explorer, port=0) as server:
        yield server


def request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        all_headers = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_server_serves_the_page_and_its_files_from_the_package(served):
    assert served.url == f"http://127.0.0.1:{served.port}/"
    status, headers, body = request(served, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/static/") or s.startswith("data:") for s in sources), sources
    for path in server_module.STATIC_FILES:
        status, headers, body = request(served, "GET", path)
        assert status == 200 and body, path
    script = request(served, "GET", "/static/explore.js")[2].decode()
    assert "http://" not in script and "https://" not in script  # nothing from a CDN
    assert b"Leon Sorokin" in request(served, "GET", "/static/uPlot.LICENSE.txt")[2]
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_notebooks_serve_with_mcscale_explore_serve():
    import mcscale

    server = mcscale.explore.serve("slowdown", port=0, warm=False)
    try:
        assert server.host == "127.0.0.1" and server.explorer.scenario.name == "slowdown"
        status, _, body = request(server, "GET", "/")
        assert status == 200 and b"<html" in body.lower()
    finally:
        server.stop()
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=5).request("GET", "/")


def test_the_server_answers_the_api(served, explorer):
    status, _, body = request(served, "GET", "/api/scenario")
    assert status == 200 and json.loads(body)["scenario"] == "baseline"
    state = json.dumps({"draws": 2000, "seed": 1, "values": {"spend.initial.p5": 5e8}}).encode()
    status, headers, body = request(served, "POST", "/api/run", state, {"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["n_draws"] == 2000 and payload["state"]["values"] == {"spend.initial.p5": 5e8}
    bad = json.dumps({"values": {"spend.initial.p5": 5e9}}).encode()
    status, _, body = request(served, "POST", "/api/run", bad, {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["problems"][0]["field"] == "spend.initial.p95"


def test_the_server_refuses_what_it_should(served, explorer):
    runs = explorer.runs
    json_type = {"Content-Type": "application/json"}
    big = b'{"questions": ["' + b"x" * (server_module.MAX_BODY_BYTES + 10) + b'"]}'
    status, _, body = request(served, "POST", "/api/run", big, json_type)
    assert status == 413 and b"too large" in body
    assert request(served, "POST", "/api/run", b"{}", {"Content-Type": "text/plain"})[0] == 415
    status, _, body = request(served, "GET", "/", headers={"Host": "evil.example:80"})
    assert status == 421 and b"answers requests for" in body
    for path in [
        "/static/../../../etc/passwd",
        "/etc/passwd",
        "/static/explore.py",
        "/static/",
        "/api/",
        "/index.html",
    ]:
        assert request(served, "GET", path)[0] == 404, path
    assert request(served, "PUT", "/api/run", b"{}", json_type)[0] == 405
    assert request(served, "GET", "/api/run")[0] == 405
    status, _, body = request(served, "POST", "/api/run", b"{not json", json_type)
    assert status == 400 and b"not valid JSON" in body
    assert explorer.runs == runs


def test_a_non_loopback_address_needs_to_be_asked_for(explorer):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    with pytest.raises(ValueError, match="refusing to serve on 0.0.0.0"):
        ExploreServer(explorer, "0.0.0.0", 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server_module, "_Server", _LoopbackOnly)
        with pytest.warns(UserWarning, match="anyone who can reach this address"):
            server = ExploreServer(explorer, "0.0.0.0", 0, allow_remote=True)
    assert server.url.startswith("http://0.0.0.0:")
    server.stop()


def explore_args(*argv):
    parser = argparse.ArgumentParser(prog="mcscale")
    add_explore_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["explore", *argv])


class _LoopbackOnly(server_module._Server):
    """Binds 127.0.0.1 whatever it is asked: the test of --host 0.0.0.0 exposes nothing."""

    def __init__(self, address, handler):
        super().__init__(("127.0.0.1", address[1]), handler)


def test_the_command_serves_on_loopback_and_warns_for_another_host(monkeypatch, capsys):
    monkeypatch.setattr(server_module, "_Server", _LoopbackOnly)
    served = []
    monkeypatch.setattr(ExploreServer, "serve_forever", lambda self: served.append(self.url) or self.stop())
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    args = explore_args("baseline", "--port", "0")
    assert (args.host, args.open, args.max_draws) == (None, False, 1_000_000)
    assert args.handler(args) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"mcscale explore: baseline at http://127\.0\.0\.1:\d+/  \(Ctrl-C stops it\)\n", out)
    assert served and not opened and "warning" not in err
    args = explore_args("baseline", "--port", "0", "--host", "0.0.0.0", "--open")
    assert args.handler(args) == 0
    out, err = capsys.readouterr()
    assert "mcscale: warning: serving on 0.0.0.0: anyone who can reach this address" in err
    assert len(opened) == 1 and opened[0].startswith("http://0.0.0.0:")
    with pytest.raises(SystemExit):
        explore_args("baseline", "--port", "70000")


# --------------------------------------------------------------------------- #
# The page in Chromium                                                         #
# --------------------------------------------------------------------------- #


def browser_test(function):
    """Mark a test ``browser``; skip it without Chromium unless MCSCALE_REQUIRE_BROWSER is set."""
    function = pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRE_BROWSER,
        reason="needs Chromium at /usr/bin/chromium (apt-get install chromium); CI sets MCSCALE_REQUIRE_BROWSER",
    )(function)
    return pytest.mark.browser(function)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE_BROWSER:
            raise
        pytest.skip("needs the playwright package (pip install -e '.[test]')")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing"
    with sync_playwright() as playwright:
        # the system Chromium: Playwright downloads nothing
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    page = context.new_page()
    outside = []

    def only_the_server(route):
        if route.request.url.startswith(served.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not outside, f"the page asked for something outside the server: {outside}"
    assert not [e for e in errors if "400" not in e], errors  # a refused bad value logs its 400


def open_page(page, served, fragment=f"#draws={DRAWS}&seed={SEED}"):
    page.goto(served.url + fragment)
    wait_ready(page, 1)


def wait_for(page, expression, timeout=60.0):
    """Poll a JavaScript expression until it is true (the page's CSP forbids Playwright's eval-based waits)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def wait_ready(page, runs):
    wait_for(page, f"document.body.dataset.state === 'ready' && window.mcscaleExplore.stats.done >= {runs}")


def shown_answers(page):
    return page.eval_on_selector_all(
        "#answers tr.answer",
        "rows => rows.map(r => [r.querySelector('.question-text').textContent,"
        " JSON.parse(r.querySelector('.value').dataset.value)])",
    )


def slide(page, cid, position):
    page.eval_on_selector(
        f'input[type=range][data-id="{cid}"]',
        "(el, p) => { el.value = String(p); el.dispatchEvent(new Event('input', {bubbles: true})); }",
        position,
    )


def type_value(page, cid, text):
    box = page.locator(f'input.num[data-id="{cid}"]')
    box.fill(text)
    box.press("Enter")


def drawn_canvases(page):
    """Per chart, the share of its canvas's pixels that are drawn (not transparent)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.chart canvas')).map(c => {
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let drawn = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
            return [c.closest('.chart').id, drawn / (c.width * c.height)];
        })"""
    )


@browser_test
@pytest.mark.parametrize("width", [1300, 400])
def test_page_draws_its_figures(page, served, tmp_path, width):
    page.set_viewport_size({"width": width, "height": 900})
    open_page(page, served)
    drawn = dict(drawn_canvases(page))
    assert set(drawn) == {"fan", "exceedance", "crossing"}
    assert all(share > 0.01 for share in drawn.values()), drawn
    shot = tmp_path / f"explore-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    timing = page.text_content("#timing")
    assert re.search(r"updated in \d+\.\d\d s after the change \(server \d+\.\d\d s: sampling", timing)
    assert page.text_content("#scenario-name") == "baseline"


@browser_test
def test_moving_a_slider_gives_the_answer_of_the_saved_scenario(page, served, tmp_path, capsys):
    open_page(page, served)
    before = shown_answers(page)
    slide(page, "spend.initial.p5", 550)
    wait_ready(page, 2)
    after = shown_answers(page)
    assert after[0][1] != before[0][1]
    value = page.input_value('input.num[data-id="spend.initial.p5"]')
    assert page.evaluate("window.mcscaleExplore.shown().body.values")["spend.initial.p5"] == float(value)
    with page.expect_download() as download:
        page.click("#save")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "baseline-explore.toml"
    assert f"p5 = {value}" in path.read_text()
    engine = query_json(capsys, path, DRAWS, SEED)
    assert [[a["question"], a.get("value")] for a in engine] == after
    # the link reproduces the view
    link = page.url
    assert "spend.initial.p5=" in link and f"draws={DRAWS}" in link
    other = page.context.new_page()
    other.goto(link)
    wait_ready(other, 1)
    assert shown_answers(other) == after
    assert other.input_value('input.num[data-id="spend.initial.p5"]') == value
    other.close()


@browser_test
def test_a_bad_value_shows_the_message_and_keeps_the_last_good_state(page, served, explorer):
    open_page(page, served)
    good = shown_answers(page)
    runs = explorer.runs
    type_value(page, "spend.initial.p5", "5e9")
    wait_for(page, "document.body.dataset.state === 'error'")
    message = page.text_content('.msg[data-for="spend.initial.p95"]')
    assert message == "spend.initial.p95: must be greater than p5"
    assert page.is_visible("#banner") and "last good state" in page.text_content("#banner")
    assert shown_answers(page) == good and explorer.runs == runs
    type_value(page, "spend.initial.p5", "inf")
    wait_for(page, "document.querySelector('.msg[data-for=\"spend.initial.p5\"]').textContent.includes('finite')")
    assert shown_answers(page) == good and explorer.runs == runs
    page.click("details.questions summary")
    question = page.locator("#questions input").first
    question.fill("P(effective_flops >= 1 by 2030)")
    question.press("Enter")
    wait_for(page, "document.querySelector('.msg[data-for=\"questions[0]\"]').textContent.includes('^^^')")
    assert explorer.runs == runs
    page.click("#reset")
    wait_ready(page, 4)
    assert not page.is_visible("#banner") and page.text_content('.msg[data-for="spend.initial.p5"]') == ""


@browser_test
def test_a_burst_of_slider_moves_runs_only_the_last_state(page, served, explorer):
    open_page(page, served)
    runs = explorer.runs
    page.evaluate(
        """() => {
            const el = document.querySelector('input[type=range][data-id="spend.doubling_time.p95"]');
            for (let p = 500; p < 520; p++) {
                el.value = String(p);
                el.dispatchEvent(new Event('input', {bubbles: true}));
            }
        }"""
    )
    wait_for(
        page,
        "document.body.dataset.state === 'ready' "
        "&& window.mcscaleExplore.shown().body.values['spend.doubling_time.p95'] !== undefined "
        "&& window.mcscaleExplore.stats.done === window.mcscaleExplore.stats.sent",
    )
    page.wait_for_timeout(300)
    stats = page.evaluate("window.mcscaleExplore.stats")
    last = page.input_value('input.num[data-id="spend.doubling_time.p95"]')
    assert page.evaluate("window.mcscaleExplore.shown().body.values")["spend.doubling_time.p95"] == float(last)
    assert stats["sent"] <= 3 and explorer.runs - runs <= 2, (stats, explorer.runs - runs)
