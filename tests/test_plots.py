"""Figures carry the computed numbers: band edges, medians, curves and histograms read back from the Axes."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import mcscale
from helpers import run_text, scenario_text
from mcscale.cli import bundled_scenarios, main
from mcscale.stats import crossing_years
from mcscale.units import format_multiple
from mcscale.viz import chartdata, drawing

matplotlib.use("Agg")

DRAWS = 20_000
SEED = 1


@pytest.fixture(scope="module")
def baseline():
    return mcscale.run(bundled_scenarios()["baseline"], n_draws=DRAWS, seed=SEED)


@pytest.fixture(scope="module")
def slowdown():
    return mcscale.run(bundled_scenarios()["slowdown"], n_draws=DRAWS, seed=SEED)


def _quantiles(result, metric, q):
    """Independent per-year quantiles of the log10 draws."""
    values = result.trajectories[metric].values
    return np.quantile(values.reshape(-1, values.shape[-1]), q, axis=0)


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def _band_edges(collection, years):
    """Lower and upper edge of a fill_between polygon at each x."""
    vertices = collection.get_paths()[0].vertices
    lower, upper = [], []
    for year in years:
        ys = vertices[np.isclose(vertices[:, 0], year), 1]
        lower.append(ys.min())
        upper.append(ys.max())
    return np.array(lower), np.array(upper)


def _drawn_texts(fig):
    """Window extents of every piece of text drawn, legends and text boxes as one box each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.offsetbox import AnchoredOffsetbox

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    axes = list(fig.axes)
    for ax in list(axes):
        axes += [child for child in ax.child_axes if child not in axes]
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            locs = axis.get_majorticklocs()
            for tick, loc in zip(axis.get_major_ticks(), locs, strict=False):
                if not low - 1e-9 <= loc <= high + 1e-9:
                    continue
                for label in (tick.label1, tick.label2):
                    if label.get_visible() and label.get_text():
                        boxes.append((f"tick {label.get_text()}", label.get_window_extent(renderer)))
            if axis.label.get_text():
                boxes.append((f"axis label {axis.label.get_text()}", axis.label.get_window_extent(renderer)))
        for title in (ax.title, ax._left_title, ax._right_title):
            if title.get_text():
                boxes.append((f"title {title.get_text()}", title.get_window_extent(renderer)))
        for text in ax.texts:
            if text.get_visible() and text.get_text():
                boxes.append((f"text {text.get_text()}", text.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None:
            boxes.append(("legend", legend.get_window_extent(renderer)))
        for artist in ax.artists:
            if isinstance(artist, AnchoredOffsetbox):
                boxes.append(("text box", artist.get_window_extent(renderer)))
    for text in fig.texts:
        boxes.append((f"figure text {text.get_text()}", text.get_window_extent(renderer)))
    return boxes


def assert_no_overlapping_text(fig):
    boxes = _drawn_texts(fig)
    assert boxes
    page = fig.bbox
    for name, box in boxes:
        assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, f"{name} sticks out of the figure"
        assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, f"{name} sticks out of the figure"
    for (name_a, a), (name_b, b) in itertools.combinations(boxes, 2):
        overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{name_a!r} overlaps {name_b!r}"


# --------------------------------------------------------------------------- #
# Fan charts                                                                   #
# --------------------------------------------------------------------------- #


def test_fan_chart_bands_and_median_are_the_quantiles(baseline):
    fan = chartdata.fan(baseline, "effective_flop")
    fig = drawing.fan_chart(fan, chartdata.historical_runs())
    ax = fig.axes[0]
    years = baseline.years
    for level in (0.5, 0.8, 0.95):
        lower, upper = _band_edges(_by_gid(ax, f"band-{level:g}"), years)
        expected = _quantiles(baseline, "effective_flop", [(1 - level) / 2, (1 + level) / 2])
        np.testing.assert_allclose(lower, expected[0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(upper, expected[1], rtol=0, atol=1e-9)
    median = _by_gid(ax, "median").get_xydata()
    np.testing.assert_array_equal(median[:, 0], years)
    np.testing.assert_allclose(median[:, 1], _quantiles(baseline, "effective_flop", 0.5), rtol=0, atol=1e-9)
    summary = baseline.summary["effective_flop"].sel(quantile=0.5).values
    np.testing.assert_allclose(median[:, 1], summary, rtol=0, atol=1e-12)  # the summary's median, too


def test_fan_chart_reference_lines_secondary_axis_history_and_title(baseline):
    fig = drawing.fan_chart(chartdata.fan(baseline, "effective_flop"), chartdata.historical_runs())
    ax = fig.axes[0]
    gpt4 = math.log10(2.1e25)
    assert _by_gid(ax, "reference-1").get_ydata()[0] == pytest.approx(gpt4)
    assert _by_gid(ax, "reference-1000").get_ydata()[0] == pytest.approx(gpt4 + 3)
    texts = [t.get_text() for t in ax.texts]
    assert "GPT-4" in texts and "1000x GPT-4" in texts
    assert any("Epoch AI" in t and "CC BY 4.0" in t for t in texts)  # the license's credit, in the figure
    # historical runs: every frontier run from 10 years before the start, labelled ones named
    history = chartdata.historical_runs()
    keep = history.year >= baseline.years[0] - 10
    points = _by_gid(ax, "history").get_offsets()
    np.testing.assert_allclose(points[:, 0], history.year[keep])
    np.testing.assert_allclose(points[:, 1], history.log10_flop[keep])
    named = {a.get_text(): a.xy for a in ax.texts if hasattr(a, "xy")}
    assert named["GPT-3"] == pytest.approx((2020.404372, math.log10(3.14e23)))
    assert named["GPT-4"] == pytest.approx((2023.2, gpt4))
    assert "Grok-3" in named
    # the secondary axis is in multiples of GPT-4: the GPT-4 line sits at 1x
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # the secondary axis takes its limits when drawn
    (secondary,) = ax.child_axes
    assert secondary.get_ylabel() == "multiple of GPT-4"
    low, high = ax.get_ylim()
    assert secondary.get_ylim() == pytest.approx((low - gpt4, high - gpt4))
    title = ax.get_title(loc="left")
    assert "baseline" in title and f"{baseline.n_draws:,} draws" in title and f"seed {SEED}" in title
    # FLOP decades in mathtext, as papers write them; the multiples by units.format_multiple
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\$10\^\{-?\d+\}\$", label) for label in labels), labels
    assert labels == [f"$10^{{{round(v)}}}$" for v in ax.get_yticks()]
    multiples = [t.get_text() for t in secondary.get_yticklabels() if t.get_text()]
    assert multiples == [format_multiple(10.0 ** round(v)) for v in secondary.get_yticks()]
    assert {"1x", "1000x", "1e6x", "1e9x"} <= set(multiples)
    assert fig.get_size_inches()[0] == pytest.approx(3.5)
    assert_no_overlapping_text(fig)


def test_double_width_and_bundled_scenarios_have_no_overlapping_text():
    for name in ("slowdown", "overhang", "eras"):
        result = mcscale.run(bundled_scenarios()[name], n_draws=5_000, seed=0)
        fig = drawing.fan_chart(chartdata.fan(result, "effective_flop"), chartdata.historical_runs(), width="double")
        assert fig.get_size_inches()[0] == pytest.approx(7.0)
        assert_no_overlapping_text(fig)
        assert_no_overlapping_text(drawing.crossing_chart(chartdata.crossing(result)))
        assert_no_overlapping_text(drawing.spend_chart(chartdata.fan(result, "spend")))


def test_spend_chart_carries_the_spend_and_cap_quantiles(baseline):
    cap = chartdata.fan(baseline, "cap", levels=(0.9,))
    fig = drawing.spend_chart(chartdata.fan(baseline, "spend"), cap)
    ax = fig.axes[0]
    lower, upper = _band_edges(_by_gid(ax, "band-0.95"), baseline.years)
    expected = _quantiles(baseline, "spend", [0.025, 0.975])
    np.testing.assert_allclose(lower, expected[0], atol=1e-9)
    np.testing.assert_allclose(upper, expected[1], atol=1e-9)
    expected_cap = _quantiles(baseline, "cap", [0.05, 0.5, 0.95])
    for gid, row in (("cap-lower", 0), ("cap-median", 1), ("cap-upper", 2)):
        np.testing.assert_allclose(_by_gid(ax, gid).get_ydata(), expected_cap[row], atol=1e-9)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.startswith("$") for label in labels)
    assert_no_overlapping_text(fig)


def test_price_performance_fan(baseline):
    fig = drawing.price_performance_chart(chartdata.fan(baseline, "flop_per_usd"))
    ax = fig.axes[0]
    np.testing.assert_allclose(_by_gid(ax, "median").get_ydata(), _quantiles(baseline, "flop_per_usd", 0.5), atol=1e-9)
    lower, upper = _band_edges(_by_gid(ax, "band-0.8"), baseline.years)
    np.testing.assert_allclose(lower, _quantiles(baseline, "flop_per_usd", 0.1), atol=1e-9)
    np.testing.assert_allclose(upper, _quantiles(baseline, "flop_per_usd", 0.9), atol=1e-9)
    assert not ax.child_axes  # no reference multiples for FLOP per USD
    assert_no_overlapping_text(fig)


# --------------------------------------------------------------------------- #
# Exceedance, crossing years, comparison                                       #
# --------------------------------------------------------------------------- #


def test_exceedance_curves_equal_the_query_engine_with_mcse_bands(baseline):
    data = chartdata.exceedance(baseline)
    fig = drawing.exceedance_chart(data)
    ax = fig.axes[0]
    n = baseline.n_draws
    for i, multiple in enumerate((10, 100, 1000, 10000)):
        line = _by_gid(ax, f"curve-{i}")
        assert line.get_label() == f"{multiple}x GPT-4"
        years, p = line.get_xdata(), line.get_ydata()
        expected = [baseline.probability("effective_flop", (multiple, "GPT-4"), by=y).value for y in years]
        np.testing.assert_array_equal(p, expected)
        lower, upper = _band_edges(_by_gid(ax, f"mcse-{i}"), years)
        half = 1.959963984540054 * np.sqrt(p * (1 - p) / n)
        np.testing.assert_allclose(lower, p - half, atol=1e-12)
        np.testing.assert_allclose(upper, p + half, atol=1e-12)
    assert_no_overlapping_text(fig)


def test_crossing_histogram_and_p_never(slowdown):
    data = chartdata.crossing(slowdown, "effective_flop", (1e6, "GPT-4"))
    fig = drawing.crossing_chart(data)
    ax = fig.axes[0]
    values, edges, _ = _by_gid(ax, "crossing").get_data()
    traj = slowdown.trajectories["effective_flop"].values
    years = crossing_years(
        traj.reshape(-1, traj.shape[-1]), np.full(slowdown.n_draws, math.log10(2.1e31)), slowdown.years
    )
    counts, expected_edges = np.histogram(years[np.isfinite(years)], bins=slowdown.years)
    np.testing.assert_array_equal(edges, expected_edges)
    np.testing.assert_allclose(values, counts / slowdown.n_draws)
    engine = slowdown.crossing_year("effective_flop", (1e6, "GPT-4"))
    assert values.sum() + engine.details["p_never"] == pytest.approx(1.0)
    assert _by_gid(ax, "median").get_xdata()[0] == engine.median
    (box,) = [a for a in ax.artists]
    assert f"P(never by 2060) = {engine.details['p_never']:.3g}" in box.txt.get_text()
    assert_no_overlapping_text(fig)


def test_exceedance_and_crossing_charts_show_the_whole_horizon(baseline, slowdown):
    for result in (baseline, slowdown):
        exceedance = drawing.exceedance_chart(chartdata.exceedance(result))
        crossing = drawing.crossing_chart(chartdata.crossing(result))
        for fig in (exceedance, crossing):
            assert fig.axes[0].get_xlim() == (result.years[0], result.years[-1]) == (2025.0, 2060.0)
    # baseline's curves are flat at 1 from the mid-2030s: the legend sits where no curve runs
    fig = drawing.exceedance_chart(chartdata.exceedance(baseline))
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent().padded(2)
    for i in range(4):
        line = _by_gid(ax, f"curve-{i}")
        x = np.linspace(2025, 2060, 701)
        xy = ax.transData.transform(np.column_stack([x, np.interp(x, line.get_xdata(), line.get_ydata())]))
        assert not any(box.contains(px, py) for px, py in xy), f"the legend covers curve {i}"
    assert_no_overlapping_text(fig)


def test_one_threshold_exceedance_in_the_metrics_unit(baseline):
    assert chartdata.threshold_label((1e6, "GPT-4")) == "1e6x GPT-4"  # units.format_multiple
    assert chartdata.threshold_label((10000.0, "GPT-3")) == "10000x GPT-3"
    data = chartdata.threshold_exceedance(baseline, "spend", 1e11)
    assert data.title == "baseline: P(spend ≥ $100B by year)"
    line = _by_gid(drawing.exceedance_chart(data).axes[0], "curve-0")
    assert line.get_label() == "spend ≥ $100B"
    expected = [baseline.probability("spend", 1e11, by=year).value for year in baseline.years]
    np.testing.assert_array_equal(line.get_ydata(), expected)
    assert 0 < expected[-1] < 1


def test_comparisons_keep_each_scenarios_colour_whatever_the_order(baseline, slowdown):
    overhang = mcscale.run(bundled_scenarios()["overhang"], n_draws=2_000, seed=SEED)
    results = [baseline, slowdown, overhang]

    def colours(order):
        fans = [chartdata.fan(r, "effective_flop", levels=(0.9,)) for r in order]
        ax = drawing.comparison_chart(fans).axes[0]
        medians = {r.scenario.name: _by_gid(ax, f"median-{i}") for i, r in enumerate(order)}
        edges = {r.scenario.name: _by_gid(ax, f"upper-{i}") for i, r in enumerate(order)}
        exceedance = chartdata.exceedance_comparison(order, "effective_flop", (1000.0, "GPT-4"))
        ax_p = drawing.exceedance_chart(exceedance).axes[0]
        curves = {r.scenario.name: _by_gid(ax_p, f"curve-{i}") for i, r in enumerate(order)}
        for name in medians:  # the same colour and line style in both figures, band edges included
            assert medians[name].get_color() == edges[name].get_color() == curves[name].get_color()
            assert medians[name].get_linestyle() == curves[name].get_linestyle()
        return {name: (line.get_color(), line.get_linestyle()) for name, line in medians.items()}

    forward = colours(results)
    assert colours(results[::-1]) == forward == colours([slowdown, overhang, baseline])
    assert colours([overhang, slowdown]) == {n: forward[n] for n in ("overhang", "slowdown")}
    assert {n: c for n, (c, _) in forward.items()} == {
        "baseline": "#0072B2",
        "slowdown": "#E69F00",
        "overhang": "#009E73",
    }


def test_scenario_styles_fixed_for_bundled_names_sorted_for_the_others():
    styles = drawing.scenario_styles(["zeta", "baseline", "alpha"])
    assert styles == drawing.scenario_styles(["alpha", "zeta", "baseline"])
    assert styles["baseline"][0] == drawing.SCENARIO_COLOURS["baseline"]
    # the others take the palette's free colours in sorted order of their names
    assert styles["alpha"][0] == drawing.OKABE_ITO[1] and styles["zeta"][0] == drawing.OKABE_ITO[2]
    assert drawing.scenario_styles(["b", "a"])["a"][0] == drawing.OKABE_ITO[0]
    many = drawing.scenario_styles([f"s{i:02d}" for i in range(12)])
    assert len(set(many.values())) == 12  # past the palette, colours repeat with another line style


def test_comparison_chart_note_for_different_start_years(baseline):
    eras = mcscale.run(bundled_scenarios()["eras"], n_draws=2_000, seed=SEED)
    scenarios = [eras.scenario, baseline.scenario]
    note = chartdata.basis_note(scenarios, "effective_flop", short=True)
    assert note == "not one basis: algorithms counted from 2012 (eras), 2025 (baseline)"
    long = chartdata.basis_note(scenarios, "effective_flop")
    assert "eras from 2012" in long and "baseline from 2025" in long and "\n" not in long
    assert chartdata.basis_note(scenarios, "physical_flop") is None
    assert chartdata.basis_note([baseline.scenario, baseline.scenario]) is None
    fans = [chartdata.fan(r, "effective_flop", levels=(0.9,)) for r in (eras, baseline)]
    fig = drawing.comparison_chart(fans, note=note)
    assert fig.get_supxlabel() == note
    assert fig.axes[0].get_xlim() == (2012.0, 2060.0)
    assert_no_overlapping_text(fig)


def test_comparison_chart_medians_bands_and_legend(baseline, slowdown):
    fans = [chartdata.fan(r, "effective_flop", levels=(0.9,)) for r in (baseline, slowdown)]
    fig = drawing.comparison_chart(fans)
    ax = fig.axes[0]
    colours = set()
    for i, result in enumerate((baseline, slowdown)):
        median = _by_gid(ax, f"median-{i}")
        assert median.get_label() == result.scenario.name
        np.testing.assert_allclose(median.get_ydata(), _quantiles(result, "effective_flop", 0.5), atol=1e-9)
        lower, upper = _band_edges(_by_gid(ax, f"band-{i}"), result.years)
        np.testing.assert_allclose(lower, _quantiles(result, "effective_flop", 0.05), atol=1e-9)
        np.testing.assert_allclose(upper, _quantiles(result, "effective_flop", 0.95), atol=1e-9)
        colours.add(median.get_color())
    assert len(colours) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline", "slowdown"]
    assert_no_overlapping_text(fig)


def test_palette_is_okabe_ito():
    assert drawing.OKABE_ITO[:3] == ("#0072B2", "#E69F00", "#009E73")


# --------------------------------------------------------------------------- #
# Milestone requirement                                                        #
# --------------------------------------------------------------------------- #

MILESTONE = '\n[milestone]\nname = "TAI"\nrequirement = { dist = "lognormal", median = 1e30, gsd = 30 }\n'
#: A slow scenario (10^24.6 FLOP in 2025, about 10^31 in 2045): some draws never reach the requirement.
SLOW = {"end": 2045, "spend_doubling_time": 3.0, "algorithms_doubling_time": 3.0}


@pytest.fixture(scope="module")
def milestone():
    return run_text(scenario_text(MILESTONE, **SLOW), n_draws=DRAWS, seed=SEED)


def test_fan_chart_shows_the_requirements_5_95_band(milestone):
    fan = chartdata.fan(milestone, "effective_flop")
    expected = np.log10(milestone.prior_quantiles("milestone.requirement", (0.05, 0.5, 0.95)))
    draws = np.log10(milestone.parameter_draws("milestone.requirement"))
    np.testing.assert_allclose(expected, np.quantile(draws, (0.05, 0.5, 0.95)), atol=1e-12)
    band = fan.requirement
    assert (band.name, band.metric, band.level) == ("TAI", "effective_flop", 0.9)
    np.testing.assert_allclose((band.lower, band.median, band.upper), expected, atol=1e-12)
    fig = drawing.fan_chart(fan, chartdata.historical_runs())
    ax = fig.axes[0]
    patch = _by_gid(ax, "requirement")
    assert (patch.get_bbox().y0, patch.get_bbox().y1) == pytest.approx(tuple(expected[[0, 2]]), abs=1e-12)
    assert _by_gid(ax, "requirement-lower").get_ydata()[0] == pytest.approx(expected[0], abs=1e-12)
    assert _by_gid(ax, "requirement-upper").get_ydata()[0] == pytest.approx(expected[2], abs=1e-12)
    assert "TAI requirement, 5–95%" in [t.get_text() for t in ax.get_legend().get_texts()]
    low, high = ax.get_ylim()
    assert low < expected[0] and expected[2] < high  # the whole band is on the chart
    assert_no_overlapping_text(fig)
    # other metrics, and scenarios without a milestone, have no band
    assert chartdata.fan(milestone, "physical_flop").requirement is None
    assert chartdata.requirement_band(mcscale.run(bundled_scenarios()["baseline"], n_draws=1000)) is None


def test_requirement_band_in_streaming_mode_and_on_the_milestones_metric():
    text = scenario_text(MILESTONE.replace('name = "TAI"', 'name = "TAI"\nmetric = "physical_flop"'), **SLOW)
    result = run_text(text, n_draws=DRAWS, seed=SEED, mode="stream")
    assert chartdata.fan(result, "effective_flop").requirement is None
    band = chartdata.fan(result, "physical_flop").requirement
    expected = np.log10(result.prior_quantiles("milestone.requirement", (0.05, 0.5, 0.95)))
    np.testing.assert_allclose((band.lower, band.median, band.upper), expected, atol=1e-12)
    assert band.metric == "physical_flop"
    materialized = run_text(text, n_draws=DRAWS, seed=SEED)
    assert band.lower == pytest.approx(chartdata.requirement_band(materialized).lower, abs=0.01)  # within a bin


@pytest.mark.parametrize(
    ("prior", "says"),
    [
        ("median = 1e45, gsd = 1e4", "milestone requirement, 5–95%\n(to $10^{{{upper}}}$, off the chart)"),
        (
            "median = 1e60, gsd = 10",
            "milestone requirement, 5–95%\n($10^{{{lower}}}$–$10^{{{upper}}}$, above the chart)",
        ),
    ],
)
def test_a_requirement_far_off_the_fan_is_clipped_and_said_so(prior, says):
    extra = f'\n[milestone]\nrequirement = {{ dist = "lognormal", {prior} }}\n'
    result = run_text(scenario_text(extra, end=2045), n_draws=2_000, seed=SEED)
    band = chartdata.requirement_band(result)
    fan = chartdata.fan(result, "effective_flop")
    fig = drawing.fan_chart(fan)
    ax = fig.axes[0]
    (label,) = [t.get_text() for t in ax.get_legend().get_texts() if "requirement" in t.get_text()]
    assert label == says.format(lower=math.floor(band.lower), upper=math.floor(band.upper))
    assert ax.get_ylim()[1] < band.upper  # the fan stays readable
    alone = drawing.fan_chart(dataclasses.replace(fan, requirement=None)).axes[0].get_ylim()
    if "above the chart" in says:  # a band out of reach does not move the limits
        assert ax.get_ylim() == alone
    else:  # reaches half the fan's span above it, plus the legend's headroom
        span = fan.upper[0.95].max() - fan.lower[0.95].min()
        assert ax.get_ylim()[1] == pytest.approx(fan.upper[0.95].max() + 0.5 * span + 0.22 * 1.5 * span)
    assert_no_overlapping_text(fig)


def test_milestone_exceedance_equals_the_query_engine(milestone):
    data = chartdata.milestone_exceedance(milestone)
    assert data.title == "test: P(TAI reached by year)"
    fig = drawing.exceedance_chart(data)
    line = _by_gid(fig.axes[0], "curve-0")
    assert line.get_label() == "effective FLOP ≥ TAI requirement"
    expected = [milestone.probability("effective_flop", "requirement", by=year).value for year in milestone.years]
    np.testing.assert_array_equal(line.get_ydata(), expected)
    assert 0.05 < expected[-1] < 0.95  # a curve that says something
    # by hand: a draw reaches the requirement once its running max passes its own requirement
    traj = milestone.trajectories["effective_flop"].values.reshape(-1, len(milestone.years))
    need = np.log10(milestone.parameter_draws("milestone.requirement")).reshape(-1)
    np.testing.assert_allclose(expected, (np.maximum.accumulate(traj, axis=1) >= need[:, None]).mean(axis=0))
    assert fig.axes[0].get_xlim() == (2025.0, 2045.0)
    assert_no_overlapping_text(fig)
    with pytest.raises(mcscale.QueryError, match="no \\[milestone\\]"):
        chartdata.milestone_exceedance(mcscale.run(bundled_scenarios()["baseline"], n_draws=1000))


def test_milestone_crossing_histogram(milestone):
    data = chartdata.crossing(milestone, "effective_flop", "requirement")
    assert data.threshold == "TAI requirement"
    fig = drawing.crossing_chart(data)
    ax = fig.axes[0]
    values, edges, _ = _by_gid(ax, "crossing").get_data()
    np.testing.assert_array_equal(values, milestone.crossing_histogram("effective_flop", "requirement"))
    engine = milestone.crossing_year("effective_flop", "requirement")
    assert values.sum() + engine.details["p_never"] == pytest.approx(1.0)
    assert 0 < engine.details["p_never"] < 1
    assert ax.get_xlabel() == "first year effective FLOP ≥ TAI requirement"
    assert ax.get_xlim() == (2025.0, 2045.0)
    assert_no_overlapping_text(fig)
    with pytest.raises(mcscale.QueryError, match="requirement is in FLOP"):
        chartdata.crossing(milestone, "spend", "requirement")


# --------------------------------------------------------------------------- #
# Output and layering                                                          #
# --------------------------------------------------------------------------- #


def test_save_png_with_dpi_and_svg_deterministically(baseline, tmp_path):
    fig = drawing.crossing_chart(chartdata.crossing(baseline))
    png = drawing.save_figure(fig, tmp_path / "c.png", dpi=100)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (350, 275)
    assert drawing.figure_bytes(drawing.crossing_chart(chartdata.crossing(baseline)), "png", 100) == data
    svg = drawing.save_figure(drawing.crossing_chart(chartdata.crossing(baseline)), tmp_path / "c.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Date" not in svg
    again = drawing.crossing_chart(chartdata.crossing(baseline))  # a fresh figure of the same data
    assert drawing.figure_bytes(again, "svg") == svg.encode()
    with pytest.raises(ValueError, match="unknown figure format"):
        drawing.save_figure(fig, tmp_path / "c.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "c.svg"]  # no temporary files left


def test_run_and_query_do_not_import_matplotlib():
    code = (
        "import sys, mcscale, mcscale.cli, mcscale.viz.chartdata, mcscale.viz.drawing, mcscale.report.html\n"
        "assert mcscale.cli.main(['run', 'baseline', '--draws', '2000']) == 0\n"
        "assert mcscale.cli.main(['query', 'baseline', '--draws', '2000']) == 0\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- #
# CLI                                                                          #
# --------------------------------------------------------------------------- #


def exit_code(argv):
    """The CLI's exit code, whether main returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_cli_plot_writes_each_kind(tmp_path, capsys):
    for kind, ext in (("fan", "png"), ("exceedance", "svg"), ("crossing", "png"), ("spend", "png"), ("price", "svg")):
        out = tmp_path / f"{kind}.{ext}"
        assert main(["plot", "baseline", "--kind", kind, "--draws", "3000", "--seed", "2", "-o", str(out)]) == 0
        assert out.stat().st_size > 1000
    out = tmp_path / "compare.png"
    args = ["plot", "baseline", "slowdown", "--kind", "compare", "--draws", "3000", "--dpi", "50", "-o", str(out)]
    assert main(args) == 0
    assert int.from_bytes(out.read_bytes()[16:20], "big") == 175
    out = tmp_path / "crossing.png"
    assert (
        main(["plot", "baseline", "--kind", "crossing", "--threshold", "1e29", "--draws", "3000", "-o", str(out)]) == 0
    )
    assert "wrote" in capsys.readouterr().out


def test_cli_plot_milestone_exceedance_and_crossing(tmp_path, capsys):
    scenario = tmp_path / "milestone.toml"
    scenario.write_text(scenario_text(MILESTONE, **SLOW))
    for kind in ("exceedance", "crossing"):
        for stream in ([], ["--stream"]):
            out = tmp_path / f"{kind}{len(stream)}.png"
            argv = ["plot", str(scenario), "--kind", kind, "--threshold", "requirement", "--draws", "3000"]
            assert main([*argv, *stream, "-o", str(out)]) == 0, capsys.readouterr().err
            assert out.stat().st_size > 1000
    assert main(["plot", str(scenario), "--draws", "3000", "-o", str(tmp_path / "fan.png")]) == 0
    argv = ["plot", str(scenario), "--kind", "crossing", "--threshold", "requirement", "--metric", "spend"]
    assert main([*argv, "-o", str(tmp_path / "x.png")]) == 2
    assert "requirement is in FLOP" in capsys.readouterr().err


def test_cli_plot_compare_warns_when_start_years_differ(tmp_path, capsys):
    out = tmp_path / "c.png"
    argv = ["plot", "eras", "baseline", "--kind", "compare", "--draws", "2000", "-o", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("mcscale: warning: effective FLOP is not on one basis")
    assert main([*argv[:-2], "--metric", "physical_flop", "-o", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "bogus"], "invalid choice: 'bogus'"),
        (["--metric", "nonsense"], "metric 'nonsense' is not in scenario 'baseline'"),
        (["--kind", "exceedance", "--metric", "spend"], "spend is not in FLOP"),
        (["--kind", "spend", "--metric", "effective_flop"], "always plots spend"),
        (["--threshold", "1e29"], "--threshold applies to --kind exceedance or crossing only"),
        (["--kind", "exceedance", "--threshold", "requirement"], "no [milestone] requirement"),
        (["--kind", "exceedance", "--threshold", "1e29", "--multiples", "10"], "--multiples or --threshold"),
        (["--kind", "crossing", "--threshold", "1000 x GPT-9"], "expected a reference"),
    ],
)
def test_cli_plot_bad_input_exits_2(args, message, tmp_path, capsys):
    assert exit_code(["plot", "baseline", "--draws", "1000", "-o", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_cli_plot_metric_not_in_scenario_and_unwritable_outputs(tmp_path, capsys):
    eras = str(bundled_scenarios()["eras"])
    assert main(["plot", eras, "--metric", "cap", "-o", str(tmp_path / "x.png")]) == 2
    assert "has no spending cap" in capsys.readouterr().err
    assert main(["plot", "baseline", "-o", str(tmp_path / "missing" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["plot", "baseline", "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["plot", "baseline", "-o", str(tmp_path / "x.pdf")]) == 2
    assert "writes .png, .svg files" in capsys.readouterr().err
    assert main(["plot", "baseline", "slowdown", "-o", str(tmp_path / "x.png")]) == 2
    assert "--kind compare" in capsys.readouterr().err


def test_the_overlap_check_catches_overlapping_and_clipped_text():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.5, 2.5))
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "hello")
    ax.text(0.52, 0.5, "world")
    with pytest.raises(AssertionError, match="overlaps"):
        assert_no_overlapping_text(fig)
    fig = Figure(figsize=(3.5, 2.5))
    fig.add_subplot().set_title("a title far too long to fit in one paper column of three and a half inches")
    with pytest.raises(AssertionError, match="sticks out"):
        assert_no_overlapping_text(fig)


# --------------------------------------------------------------------------- #
# Tornado                                                                      #
# --------------------------------------------------------------------------- #


def test_tornado_chart_draws_each_bar_from_the_base_to_the_answer_at_each_end(tmp_path):
    from mcscale.analysis.sensitivity import tornado

    scenario = mcscale.load_scenario(bundled_scenarios()["baseline"])
    result = tornado(scenario, "P(effective_flop >= 1000 x GPT-4 by 2030)", n_draws=4_000, seed=3)
    data = chartdata.tornado(result, scenario.name)
    assert data.labels[0].startswith(result.bars[0].name)  # largest swing first, on top
    assert any(re.fullmatch(r"spend\.initial \(\$[0-9.]+[MB]-\$[0-9.]+[MB]\)", label) for label in data.labels)
    fig = drawing.tornado_chart(data)
    ax = fig.axes[0]
    for gid, ends in (("low", data.low), ("high", data.high)):
        bars = [a for a in ax.patches if a.get_gid() == gid]
        assert len(bars) == len(data.labels)
        # top bar first on screen: bars are drawn bottom-up from the last label
        widths = np.array([bar.get_width() for bar in sorted(bars, key=lambda b: -b.get_y())])
        np.testing.assert_allclose(widths, ends - data.base)
        assert all(bar.get_x() == pytest.approx(data.base) for bar in bars)
    assert _by_gid(ax, "base").get_xdata()[0] == pytest.approx(data.base)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith(result.bars[0].name) and r"(\$" in " ".join(labels)  # "$" escaped
    assert fig.get_size_inches()[0] == pytest.approx(7.0)
    out = tmp_path / "t.png"
    assert main(["plot", "baseline", "--kind", "tornado", "--draws", "2000", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
