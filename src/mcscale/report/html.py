"""HTML reports: one self-contained file per scenario, or per comparison of scenarios.

A report holds the scenario's name and description, a table of every prior as
written and as sampled (5/50/95%), the answers to the scenario's questions with
their MCSE (from :mod:`mcscale.query`, so they equal what ``mcscale query``
prints), the figures of :mod:`mcscale.viz.drawing` embedded as base64 PNG (for a
scenario with a ``[milestone]`` also P(milestone by year) and its crossing year, and the
requirement's band on the fan chart), and the run's metadata. A comparison warns, at
the top, when its scenarios' effective FLOP is not on one basis (different start years).
It loads nothing from the network: no scripts, fonts or style sheets outside the
file. The answers are also embedded as JSON
(``<script type="application/json" id="mcscale-answers">``) for machines.

Apart from the creation time and the times taken (each in a
``<span class="volatile">``), a report is a pure function of the scenario, the
draw count and the seed.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcscale._version import __version__
from mcscale.fileio import write_atomic
from mcscale.model.thresholds import QueryError
from mcscale.query import (
    QuestionSyntaxError,
    answer,
    check_query,
    parse_question,
    scenario_queries,
    scenario_references,
)
from mcscale.results.answer import Answer
from mcscale.results.base import Result
from mcscale.units import format_probability, format_value, parameter_unit
from mcscale.viz import chartdata

__all__ = [
    "PriorRow",
    "answer_cells",
    "comparison_report",
    "prior_table",
    "scenario_answers",
    "scenario_report",
    "write_report",
]

_CSS = """
:root { --fg: #1a1a1a; --muted: #5a5a5a; --rule: #d0d0d0; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.5rem 1.25rem 3rem; max-width: 76rem; }
h1 { font-size: 1.7rem; margin: 0 0 0.2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid var(--rule); padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 0.4rem; }
p { margin: 0.3rem 0 0.6rem; }
.description { font-size: 1.05rem; color: var(--muted); }
table { border-collapse: collapse; margin: 0.4rem 0 0.8rem; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.25rem 0.7rem 0.25rem 0; border-bottom: 1px solid var(--rule);
         vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; padding-left: 0.7rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1.2rem 1.5rem; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-top: 0.3rem; }
.note { font-size: 0.85rem; color: var(--muted); }
.warning { font-size: 0.95rem; background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5rem 0.8rem; }
.na { color: var(--muted); }
footer { margin-top: 2.5rem; font-size: 0.8rem; color: var(--muted); border-top: 1px solid var(--rule);
         padding-top: 0.6rem; }
"""

_MCSE_NOTE = (
    "MCSE: Monte Carlo standard error, the part of the uncertainty that more draws would remove "
    "(a probability's is sqrt(p (1 - p) / n); a quantile's comes from its order-statistic interval). "
    "Where no draw (or every draw) qualifies there is no MCSE, and the rule of three gives a 95% bound."
)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- #
# Answers                                                                      #
# --------------------------------------------------------------------------- #


def scenario_answers(result: Result) -> list[Answer]:
    """Answer the scenario's ``[[questions]]`` with the query engine (as ``mcscale query`` does)."""
    queries = scenario_queries(result.scenario)
    for query in queries:
        check_query(query, result.scenario)
    return [answer(result, query) for query in queries]


def answer_cells(item: Answer) -> tuple[str, str]:
    """Return the answer and its MCSE as the report shows them (plain text).

    Probabilities have 4 decimals; crossing years, quantiles and costs show the
    median or the quantiles in their unit (``format_value``), with the MCSE of the
    median.
    """
    unit = item.unit
    if item.kind == "probability":
        if item.bound is not None:
            side, limit = item.bound
            relation = "<" if side == "upper" else ">"
            who = "no" if side == "upper" else "every"
            return f"{item.value:.4f}", f"none ({who} draw qualifies); {relation} {limit:.6g} at 95%, rule of three"
        return format_probability(item.value, item.mcse)
    q = item.quantiles or {}
    mcse = item.quantile_mcse or {}
    if item.kind == "crossing_year":
        return _crossing_cells(item)
    if item.kind == "interval":
        lo, hi = item.interval  # type: ignore[misc]
        d = item.details
        text = f"[{format_value(lo, unit)}, {format_value(hi, unit)}] ({d['method'].upper()} {d['prob']:.0%})"
        return text, f"ESS {d['ess']:.0f}" if "ess" in d else "—"
    if item.kind == "cost":
        effective = item.details["effective_flop_quantiles"]
        text = (
            f"physical FLOP: median {format_value(q['50%'], unit)} (90%: {format_value(q['5%'], unit)} to "
            f"{format_value(q['95%'], unit)}); effective FLOP: median {format_value(effective['50%'], unit)}"
        )
        return text, f"{format_value(mcse['50%'], unit, sign=False)} (median)"
    text = ", ".join(f"{k} {format_value(v, unit)}" for k, v in q.items())
    return text, ", ".join(f"{k} {format_value(v, unit, sign=False)}" for k, v in mcse.items())


def _year_text(value: float, end: float) -> str:
    """Return a crossing year, or ``not reached by END`` for one past the horizon."""
    return format_value(value, "year") if math.isfinite(value) else f"not reached by {end:g}"


def _crossing_cells(item: Answer) -> tuple[str, str]:
    """Return the cells of a crossing-year answer: median, 90% interval ("not reached by END" past it), P(never)."""
    q = item.quantiles or {}
    details = item.details
    end = float(details["horizon_end"])
    median, low, high = q["50%"], q["5%"], q["95%"]
    if math.isfinite(median):
        head = f"median {_year_text(median, end)}"
    else:
        head = f"median: {_year_text(median, end)}"
    if math.isfinite(low) and math.isfinite(high):
        spread = f"90%: {_year_text(low, end)} to {_year_text(high, end)}"
    else:
        spread = f"5%: {_year_text(low, end)}; 95%: {_year_text(high, end)}"
    text = f"{head}; {spread}; P(never by {end:g}) = {details['p_never']:.4f}"
    median_mcse = (item.quantile_mcse or {}).get("50%", math.nan)
    finite = math.isfinite(median) and math.isfinite(median_mcse)
    mcse = format_value(median_mcse, "year", sign=False) if finite else "—"
    return text, f"{mcse} (median); {details['p_never_mcse']:.4f} (P(never))"


def _answers_table(answers: list[Answer]) -> str:
    if not answers:
        return '<p class="na">The scenario asks no questions (add <code>[[questions]]</code>).</p>'
    rows = []
    for item in answers:
        value, mcse = answer_cells(item)
        rows.append(
            f'<tr class="answer" data-kind="{_e(item.kind)}" data-value="{_e(_data_value(item))}">'
            f'<td class="question">{_e(item.question)}</td><td class="value">{_e(value)}</td>'
            f'<td class="mcse">{_e(mcse)}</td></tr>'
        )
    return (
        '<table class="answers"><thead><tr><th>question</th><th>answer</th><th>MCSE</th></tr></thead><tbody>'
        + "".join(rows)
        + f'</tbody></table><p class="note">{_e(_MCSE_NOTE)}</p>'
    )


def _data_value(item: Answer) -> str:
    """Return the answer's headline number at full precision (``repr``), for machines."""
    value = item.value if item.kind == "probability" else item.median
    if value is None and item.interval is not None:
        return json.dumps(list(item.interval))
    return repr(value)


# --------------------------------------------------------------------------- #
# Assumptions                                                                  #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PriorRow:
    """One prior in the assumptions table.

    Parameters
    ----------
    name : str
        Dotted parameter name (``spend.doubling_time@2030`` for a regime's).
    written : str
        The prior as written in the file, as a TOML value; empty for a key the file
        does not write (its default applies, e.g. ``reference.flop``).
    unit : str
        Canonical unit of the sampled values (``year``, ``USD``...).
    sampled : tuple of float
        5%, 50% and 95% quantiles of the draws [unit].
    fixed : bool
        Whether the prior is a single value.
    """

    name: str
    written: str
    unit: str
    sampled: tuple[float, float, float]
    fixed: bool


def _toml(value: Any) -> str:
    """Render a parsed TOML value back as inline TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e6:
            return f"{value:.1f}"
        return f"{value:.6g}"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def prior_table(result: Result) -> list[PriorRow]:
    """Every prior of the scenario, as written and as sampled (5/50/95% of the draws)."""
    rows = []
    for name, spec in result.scenario.all_priors().items():
        try:
            sampled = tuple(float(v) for v in result.prior_quantiles(name, (0.05, 0.5, 0.95)))
        except QueryError:  # a prior the engine does not sample (not expected; shown without quantiles)
            sampled = (math.nan, math.nan, math.nan)
        written = "" if spec.written is None else _toml(spec.written)
        rows.append(PriorRow(name, written, parameter_unit(name), sampled, spec.is_fixed))  # type: ignore[arg-type]
    return rows


#: Units :func:`format_value` writes as they are; any other (durations in years, factors) as plain numbers.
_VALUE_UNITS = ("USD", "FLOP", "FLOP/USD", "USD/FLOP")


def _sampled_text(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "—"
    return format_value(value, unit if unit in _VALUE_UNITS else "1")


def _written_cell(written: str) -> str:
    if not written:
        return '<td class="na" title="not written in the file: the default applies">—</td>'
    return f"<td><code>{_e(written)}</code></td>"


def _assumptions_table(result: Result) -> str:
    rows = []
    for row in prior_table(result):
        cells = "".join(f'<td class="num">{_e(_sampled_text(v, row.unit))}</td>' for v in row.sampled)
        rows.append(
            f"<tr><td><code>{_e(row.name)}</code></td>{_written_cell(row.written)}<td>{_e(row.unit)}</td>{cells}</tr>"
        )
    return (
        '<table class="assumptions"><thead><tr><th>parameter</th><th>as written</th><th>unit (sampled)</th>'
        '<th class="num">5%</th><th class="num">50%</th><th class="num">95%</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        + '<p class="note">As sampled: quantiles of the draws, in the unit shown (times in years, whatever unit '
        "the file wrote). A name ending in <code>@YEAR</code> is a regime's value from that year on; "
        "— as written: the file does not write it, and the default applies.</p>"
    )


# --------------------------------------------------------------------------- #
# Figures                                                                      #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Figure:
    key: str
    alt: str
    caption: str
    make: Callable[[], Any]


def _img(figure: _Figure, dpi: float) -> str:
    from mcscale.viz import drawing

    try:
        fig = figure.make()
    except QueryError as exc:  # e.g. a streaming run that did not count the threshold
        return (
            f'<figure id="fig-{_e(figure.key)}"><p class="na">{_e(figure.alt)}: not drawn ({_e(exc)}).</p>'
            f"<figcaption>{figure.caption}</figcaption></figure>"
        )
    data = base64.b64encode(drawing.figure_bytes(fig, "png", dpi)).decode("ascii")
    width, height = (round(v * dpi) for v in fig.get_size_inches())
    return (
        f'<figure id="fig-{_e(figure.key)}"><img src="data:image/png;base64,{data}" width="{width}" '
        f'height="{height}" alt="{_e(figure.alt)}"><figcaption>{figure.caption}</figcaption></figure>'
    )


_HISTORY_CAPTION = (
    "Points: frontier training runs (top 10 by compute when published), from Epoch AI, "
    '<a href="https://epoch.ai/data/ai-models">Data on AI Models</a>, licensed '
    '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>; filtered to the frontier (changes listed '
    "in mcscale's <code>data/README.md</code>). Their compute is physical FLOP."
)


#: The metrics of the report's two compute fans, in order.
_FLOP_FANS = ("effective_flop", "physical_flop")


def _requirement_caption(result: Result) -> str:
    """Return what the fan chart's requirement band is, or nothing without a milestone."""
    band = chartdata.requirement_band(result)
    if band is None:
        return ""
    low, high = (format_value(10.0**v, "FLOP") for v in (band.lower, band.upper))
    return (
        f" Shaded horizontal band: the {_e(band.name)} requirement's 5–95% interval as sampled ({low} to {high} FLOP, "
        f"{_e(chartdata.metric_title(band.metric))}), drawn per draw from its prior."
    )


def _milestone_figures(result: Result) -> list[_Figure]:
    """Return the figures of P(milestone by year) and of its crossing year (none without a ``[milestone]``)."""
    from mcscale.viz import drawing

    cd = chartdata
    scenario = result.scenario
    if not cd.has_milestone(scenario):
        return []
    name, metric = _e(scenario.milestone_name), scenario.milestone_metric
    what = _e(cd.metric_title(metric))
    return [
        _Figure(
            "milestone-exceedance",
            f"probability of {scenario.milestone_name} by year",
            f"Probability that {what} has reached the {name} requirement at some grid year up to each year, the "
            "requirement drawn from its prior and compared draw by draw (each point equals "
            f"<code>P({metric} &gt;= requirement by YEAR)</code>), with ±1.96 MCSE bands.",
            lambda: drawing.exceedance_chart(cd.milestone_exceedance(result)),
        ),
        _Figure(
            "milestone-crossing",
            f"distribution of the year of {scenario.milestone_name}",
            f"First year {what} reaches the {name} requirement (drawn per draw; interpolated between grid years), "
            "as a share of all draws per year; draws that never reach it within the horizon are counted in P(never).",
            lambda: drawing.crossing_chart(cd.crossing(result, metric, "requirement")),
        ),
    ]


def _scenario_figures(result: Result) -> list[_Figure]:
    from mcscale.viz import drawing

    cd = chartdata
    history = cd.historical_runs()
    name, flop = cd.reference_flop(result)
    bands = "Median line and central 50%, 80% and 95% bands of the draws, per year"
    requirement = _requirement_caption(result)  # on the fan of the milestone's metric
    milestone_metric = result.scenario.milestone_metric if cd.has_milestone(result.scenario) else ""
    on_effective, on_physical = (requirement if milestone_metric == m else "" for m in _FLOP_FANS)
    figures = [
        _Figure(
            "fan-effective",
            "fan chart of effective training compute",
            f"Effective compute of the largest training run [FLOP, in {result.scenario.start:g}-algorithm "
            f"equivalents]. {bands}. Lines at {name} ({format_value(flop, 'FLOP')} FLOP) and 1000x {name}; right "
            f"axis in multiples of {name}.{on_effective} {_HISTORY_CAPTION}",
            lambda: drawing.fan_chart(cd.fan(result, "effective_flop"), history),
        ),
        _Figure(
            "fan-physical",
            "fan chart of physical training compute",
            f"Physical compute of the largest training run [FLOP]: spend x FLOP per USD x utilization. {bands}."
            f"{on_physical} {_HISTORY_CAPTION}",
            lambda: drawing.fan_chart(cd.fan(result, "physical_flop"), history),
        ),
        *_milestone_figures(result),
        _Figure(
            "exceedance",
            "exceedance curves",
            f"Probability that effective compute has reached 10x, 100x, 1000x and 10000x {name} at some grid year "
            "up to each year, with ±1.96 MCSE bands (thin at this draw count).",
            lambda: drawing.exceedance_chart(cd.exceedance(result)),
        ),
        _Figure(
            "crossing",
            "distribution of the crossing year",
            f"First year effective compute reaches 1000x {name} (interpolated between grid years), as a share of "
            "all draws per year; draws that never reach it within the horizon are counted in P(never).",
            lambda: drawing.crossing_chart(cd.crossing(result)),
        ),
    ]
    has_cap = "cap" in cd.scenario_metrics(result.scenario)
    figures.append(
        _Figure(
            "spend",
            "fan chart of spending per run",
            f"Spend on the largest training run [USD]. {bands}."
            + (" Dashed: the cap's median; dotted: its 90% interval." if has_cap else " The scenario has no cap."),
            lambda: drawing.spend_chart(
                cd.fan(result, "spend"), cd.fan(result, "cap", levels=(0.9,)) if has_cap else None
            ),
        )
    )
    figures.append(
        _Figure(
            "price-performance",
            "fan chart of hardware price-performance",
            f"Hardware price-performance [FLOP per USD, before utilization]. {bands}.",
            lambda: drawing.price_performance_chart(cd.fan(result, "flop_per_usd")),
        )
    )
    return figures


# --------------------------------------------------------------------------- #
# Pages                                                                        #
# --------------------------------------------------------------------------- #


def _page(title: str, body: str, answers_json: Any) -> str:
    data = json.dumps(answers_json, sort_keys=True).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="mcscale">\n<title>{_e(title)}</title>\n<style>{_CSS}</style>\n'
        f"</head>\n<body>\n{body}\n"
        f'<script type="application/json" id="mcscale-answers">{data}</script>\n'
        "</body>\n</html>\n"
    )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _volatile(text: str) -> str:
    return f'<span class="volatile">{_e(text)}</span>'


def _metadata_table(result: Result, report_seconds: float) -> str:
    attrs = result.attrs
    rows = [
        ("seed", _e(result.seed)),
        (
            "draws",
            _e(f"{result.n_draws:,} in {attrs.get('n_chains', '?')} equal chunks of <= {attrs.get('chunk_size', '?')}"),
        ),
        ("mcscale version", _e(attrs.get("mcscale_version", "?"))),
        ("created", _volatile(str(attrs.get("created", "?")))),
        (
            "time taken",
            _volatile(
                f"{float(attrs.get('sampling_seconds', math.nan)):.2f} s sampling, {report_seconds:.1f} s report"
            ),
        ),
        ("scenario file", f"<code>{_e(result.scenario.source)}</code>"),
        ("years", _e(f"{result.years[0]:g} to {result.years[-1]:g}, step {result.scenario.step:g}")),
    ]
    return (
        '<table class="metadata"><tbody>'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )


def _footer() -> str:
    return (
        f"<footer>Made by mcscale {_e(__version__)}. Historical runs: Epoch AI, "
        '<a href="https://epoch.ai/data/ai-models">Data on AI Models</a> '
        '(<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>), changes made.</footer>'
    )


#: Most draws per bar end of a report's tornados (the run's own count when smaller): an
#: MCSE of about 0.003 on a probability, in about a second per question on 2 cores.
SENSITIVITY_DRAWS = 20_000


def _sensitivity_figures(result: Result) -> list[_Figure]:
    """One tornado per probability or crossing-year question of the scenario."""
    from mcscale.analysis.sensitivity import tornado
    from mcscale.viz import drawing

    scenario = result.scenario
    draws = min(SENSITIVITY_DRAWS, result.n_draws)
    caption = (
        "The answer with each prior held at its 5th (blue) and its 95th (vermillion) percentile while the "
        "others are sampled (from their conditional distribution given it where the scenario correlates them), "
        f"{draws:,} draws per bar end with common random numbers, seed {result.seed}; error bars "
        "±1.96 MCSE; the line is the answer with every prior sampled. Largest swing on top."
    )
    figures = []
    for i, query in enumerate(scenario_queries(scenario)):
        if query.kind not in ("probability", "crossing_year"):
            continue

        def make(text: str = query.text) -> Any:
            found = tornado(scenario, text, n_draws=draws, seed=result.seed)
            return drawing.tornado_chart(chartdata.tornado(found, scenario.name))

        figures.append(_Figure(f"tornado-{i}", f"tornado of {query.text}", _e(query.text) + ". " + caption, make))
    return figures


def scenario_report(result: Result, *, dpi: float = 150) -> str:
    """Render one scenario's report as a self-contained HTML page.

    Parameters
    ----------
    result : Result
        A sampled scenario.
    dpi : float
        Resolution of the embedded PNG figures.

    Returns
    -------
    str
        The HTML page.
    """
    started = time.perf_counter()
    scenario = result.scenario
    answers = scenario_answers(result)
    figures = "".join(_img(f, dpi) for f in _scenario_figures(result))
    tornados = "".join(_img(f, dpi) for f in _sensitivity_figures(result))
    sections = [
        f'<header><h1>{_e(scenario.name)}</h1><p class="description">{_e(scenario.description)}</p></header>',
        f'<section id="questions"><h2>Questions</h2>{_answers_table(answers)}</section>',
        f'<section id="figures"><h2>Figures</h2><div class="figures">{figures}</div></section>',
        f'<section id="sensitivity"><h2>Sensitivity</h2><div class="figures">{tornados}</div></section>',
        f'<section id="assumptions"><h2>Assumptions</h2>{_assumptions_table(result)}</section>',
        f'<section id="scenario-file"><h2>Scenario file</h2><details><summary><code>{_e(scenario.source)}</code>'
        f"</summary><pre>{_e(scenario.text)}</pre></details></section>",
    ]
    metadata = _metadata_table(result, time.perf_counter() - started)
    sections.insert(1, f'<section id="run"><h2>Run</h2>{metadata}</section>')
    return _page(f"mcscale report: {scenario.name}", "\n".join([*sections, _footer()]), [a.to_dict() for a in answers])


def _comparison_answers(results: list[Result]) -> tuple[list[str], dict[str, list[Answer | str]]]:
    """Union of the scenarios' questions (in order), each asked of every scenario.

    Returns the question texts and, per scenario, an Answer or the reason it cannot
    be asked (a year outside its horizon, a reference it does not know).
    """
    texts: list[str] = []
    for result in results:
        for query in scenario_queries(result.scenario):
            if query.text not in texts:
                texts.append(query.text)
    table: dict[str, list[Answer | str]] = {}
    for result in results:
        cells: list[Answer | str] = []
        for text in texts:
            try:
                query = parse_question(text, scenario_references(result.scenario))
                check_query(query, result.scenario)
                cells.append(answer(result, query))
            except (QueryError, QuestionSyntaxError) as exc:
                cells.append(str(exc).splitlines()[0])
        table[result.scenario.name] = cells
    return texts, table


def _short_cell(item: Answer | str) -> str:
    if isinstance(item, str):
        return f'<td class="na" title="{_e(item)}">—</td>'
    value, mcse = answer_cells(item)
    if item.kind == "probability":
        if item.bound is not None:
            side, limit = item.bound
            text = f"{value} ({'<' if side == 'upper' else '>'} {limit:.6g} at 95%)"
        else:
            text = f"{value} ± {mcse}"
    else:
        text = f"{value} (MCSE {mcse})"
    return f'<td class="value" data-value="{_e(_data_value(item))}">{_e(text)}</td>'


def comparison_report(results: list[Result], *, dpi: float = 150) -> str:
    """Render a comparison of several sampled scenarios as one self-contained HTML page.

    The union of the scenarios' questions is asked of every scenario and shown side
    by side; figures overlay the scenarios' medians and 90% bands.

    Parameters
    ----------
    results : list of Result
        Sampled scenarios with distinct names (the same draws and seed, usually).
    dpi : float
        Resolution of the embedded PNG figures.

    Returns
    -------
    str
        The HTML page.
    """
    from mcscale.viz import drawing

    if len(results) < 2:
        raise ValueError("a comparison needs at least two scenarios")
    names = [r.scenario.name for r in results]
    if len(set(names)) != len(names):
        raise ValueError("scenarios to compare must have distinct names: " + ", ".join(names))
    started = time.perf_counter()
    cd = chartdata
    texts, table = _comparison_answers(results)
    header = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = "".join(
        f'<tr class="answer"><td class="question">{_e(text)}</td>'
        + "".join(_short_cell(table[n][i]) for n in names)
        + "</tr>"
        for i, text in enumerate(texts)
    )
    answers_html = (
        f'<table class="answers"><thead><tr><th>question</th>{header}</tr></thead><tbody>{rows}</tbody></table>'
        f'<p class="note">{_e(_MCSE_NOTE)} —: the question cannot be asked of that scenario (hover for why).</p>'
        if texts
        else '<p class="na">None of the scenarios asks a question.</p>'
    )
    scenarios = [r.scenario for r in results]
    basis = cd.basis_note(scenarios, "effective_flop")
    see_note = " Not on one basis: see the note at the top." if basis else ""
    band = (
        "Medians (thick) and central 90% bands (light tints, thin edges in the median's line style) of the draws, "
        "per year; each scenario has the same colour in every figure."
    )
    figures = [
        _Figure(
            f"compare-{metric}",
            f"comparison of {chartdata.metric_title(metric)}",
            f"{_capitalized(chartdata.metric_title(metric))} [{unit}]. {band}"
            + (see_note if cd.basis_note(scenarios, metric) else ""),
            lambda metric=metric: drawing.comparison_chart(
                [cd.fan(r, metric, levels=(0.9,)) for r in results], note=cd.basis_note(scenarios, metric, short=True)
            ),
        )
        for metric, unit in (("effective_flop", "FLOP"), ("physical_flop", "FLOP"), ("spend", "USD"))
    ]
    figures.append(
        _Figure(
            "compare-exceedance",
            "exceedance curves of the scenarios",
            "Probability that effective compute has reached 1000x GPT-4 at some grid year up to each year, "
            f"with ±1.96 MCSE bands.{see_note}",
            lambda: drawing.exceedance_chart(cd.exceedance_comparison(results, "effective_flop", (1000.0, "GPT-4"))),
        )
    )
    figures_html = "".join(_img(f, dpi) for f in figures)
    scenario_rows = "".join(
        f"<tr><td>{_e(r.scenario.name)}</td><td>{_e(r.scenario.description)}</td>"
        f"<td><code>{_e(r.scenario.source)}</code></td><td>{_e(r.seed)}</td><td>{_e(f'{r.n_draws:,}')}</td>"
        f"<td>{_volatile(str(r.attrs.get('created', '?')))}</td>"
        f"<td>{_volatile(format(float(r.attrs.get('sampling_seconds', math.nan)), '.2f') + ' s')}</td></tr>"
        for r in results
    )
    assumptions = "".join(
        f"<details><summary>{_e(r.scenario.name)}</summary>{_assumptions_table(r)}</details>" for r in results
    )
    seconds = time.perf_counter() - started
    warning = f'<p class="warning" id="basis-warning">Warning: {_e(basis)}.</p>' if basis else ""
    sections = [
        f"<header><h1>Comparison: {_e(', '.join(names))}</h1>{warning}</header>",
        '<section id="run"><h2>Scenarios and runs</h2><table class="metadata"><thead><tr><th>scenario</th>'
        "<th>description</th><th>file</th><th>seed</th><th>draws</th><th>created</th><th>sampling</th></tr>"
        f"</thead><tbody>{scenario_rows}</tbody></table>"
        f"<p>mcscale {_e(__version__)}; report took {_volatile(f'{seconds:.1f} s')}.</p></section>",
        f'<section id="questions"><h2>Questions</h2>{answers_html}</section>',
        f'<section id="figures"><h2>Figures</h2><div class="figures">{figures_html}</div></section>',
        f'<section id="assumptions"><h2>Assumptions</h2>{assumptions}</section>',
        _footer(),
    ]
    data = {n: [a.to_dict() if isinstance(a, Answer) else None for a in table[n]] for n in names}
    return _page("mcscale comparison: " + ", ".join(names), "\n".join(sections), data)


def write_report(page: str, path: str | Path) -> Path:
    """Write an HTML page atomically (temporary file in the same directory, then rename)."""
    return write_atomic(path, page.encode("utf-8"))
