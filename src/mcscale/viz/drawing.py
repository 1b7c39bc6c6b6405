"""Figures, with matplotlib: fan charts, exceedance curves, crossing years, comparisons.

The only module that uses matplotlib, and it imports it inside the functions, so
``import mcscale`` (and ``mcscale run`` / ``query``) never loads it. Plot functions
take what :mod:`mcscale.viz.chartdata` computed and draw it; they never sample or
compute statistics. Figures are made without pyplot (no global state, no GUI
backend) and sized for a paper column (``width="single"``, 3.5 in) or a page
(``"double"``, 7 in). Colours are the Okabe-Ito colour-blind-safe palette.

Values arrive as log10 and are drawn on a linear axis of log10 values, labelled
in the metric's unit (mathtext decades ``$10^{24}$``, ``$10B``; multiples of the
reference run by :func:`mcscale.units.format_multiple`: ``1000x``, ``1e6x``), so the
Axes hold exactly the computed numbers. Year axes run over the whole horizon.

In comparisons a scenario keeps its colour (and line style) whatever the order of
the arguments: the bundled scenarios have fixed colours (:data:`SCENARIO_COLOURS`),
and any other scenario takes, in sorted order of the names, the palette's colours
that no bundled scenario of the comparison holds (:func:`scenario_styles`).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcscale.fileio import write_atomic
from mcscale.units import Z_95_INTERVAL, format_multiple, format_value
from mcscale.viz.chartdata import (
    Crossing,
    Curve,
    ErrorCurves,
    Exceedance,
    Fan,
    HistoricalRuns,
    Requirement,
    Tornado,
    metric_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "OKABE_ITO",
    "SCENARIO_COLOURS",
    "comparison_chart",
    "crossing_chart",
    "error_chart",
    "exceedance_chart",
    "fan_chart",
    "figure_bytes",
    "price_performance_chart",
    "save_figure",
    "scenario_styles",
    "spend_chart",
]

#: Okabe & Ito (2008) colour-blind-safe palette, in the order used for series.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: low contrast on white)
)
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (3, 1)), "-")
_GREY = "#555555"
#: Colour of the milestone requirement's band (reddish purple: not a fan's blue, not a named run's vermillion).
_REQUIREMENT_COLOUR = OKABE_ITO[4]

#: Fixed colours of the bundled scenarios, the same in every comparison.
SCENARIO_COLOURS = {
    "baseline": OKABE_ITO[0],
    "slowdown": OKABE_ITO[1],
    "overhang": OKABE_ITO[2],
    "eras": OKABE_ITO[3],
}

#: Output formats, by file extension.
FORMATS = {".png": "png", ".svg": "svg"}

_SIZES = {"single": (3.5, 2.75), "double": (7.0, 3.6)}
_FONT = 7.0
_STYLE: dict[str, Any] = {
    "font.size": _FONT,
    "axes.titlesize": _FONT + 0.5,
    "axes.labelsize": _FONT,
    "xtick.labelsize": _FONT - 0.5,
    "ytick.labelsize": _FONT - 0.5,
    "legend.fontsize": _FONT - 1,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "svg.hashsalt": "mcscale",  # deterministic SVG ids
    "svg.fonttype": "path",
    "path.simplify": False,  # keep every band vertex (tests read them back)
}


@contextlib.contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        yield


def _figure(width: str) -> Figure:
    from matplotlib.figure import Figure

    if width not in _SIZES:
        raise ValueError(f"unknown width {width!r}; known: " + ", ".join(_SIZES))
    fig = Figure(figsize=_SIZES[width], layout="constrained")
    fig.get_layout_engine().set(w_pad=0.03, h_pad=0.03, hspace=0.0, wspace=0.0)
    return fig


def scenario_styles(names: list[str] | tuple[str, ...]) -> dict[str, tuple[str, Any]]:
    """Return the colour and line style of each scenario in a comparison, independent of the names' order.

    A bundled scenario (baseline, slowdown, overhang, eras) always has its colour of
    :data:`SCENARIO_COLOURS`. The others, in sorted order of their names, take the
    Okabe-Ito colours no bundled scenario of this comparison holds, in palette order
    (yellow last); past the palette's end colours repeat with another line style.
    A colour always goes with the same line style, so a line is told apart in grey too.

    Parameters
    ----------
    names : sequence of str
        The scenarios' names (distinct).

    Returns
    -------
    dict of str to (str, linestyle)
        Name -> (hex colour, matplotlib line style).
    """
    taken = {SCENARIO_COLOURS[n] for n in names if n in SCENARIO_COLOURS}
    free = [i for i, colour in enumerate(OKABE_ITO) if colour not in taken]
    styles: dict[str, tuple[str, Any]] = {}
    for name in names:
        if name in SCENARIO_COLOURS:
            index = OKABE_ITO.index(SCENARIO_COLOURS[name])
            styles[name] = (OKABE_ITO[index], _LINESTYLES[index])
    others = sorted(n for n in set(names) if n not in SCENARIO_COLOURS)
    for j, name in enumerate(others):
        index = free[j % len(free)]
        lap = j // len(free)
        styles[name] = (OKABE_ITO[index], _LINESTYLES[(index + lap) % len(_LINESTYLES)])
    return styles


def _mix(colour: str, weight: float) -> tuple[float, float, float]:
    """``colour`` mixed with white: weight 1 is the colour, 0 is white (opaque bands)."""
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(colour))
    return tuple(float(c) for c in 1 - weight * (1 - rgb))  # type: ignore[return-value]


# --------------------------------------------------------------------------- #
# Axis labels                                                                  #
# --------------------------------------------------------------------------- #


def _power_of_ten(k: int) -> str:
    """Return 10**k in mathtext, ``$10^{24}$``, as papers write decades."""
    return f"$10^{{{k}}}$"


def _decade_label(exponent: float, unit: str) -> str:
    """Label of 10**exponent in a unit: ``$10^{24}$`` (mathtext), ``$10B``, ``100``."""
    k = int(round(exponent))
    if unit == "USD":
        if k > 14:
            return f"$\\$10^{{{k}}}$"  # mathtext, with an escaped dollar sign inside
        for scale, suffix in ((12, "T"), (9, "B"), (6, "M"), (3, "k")):
            if k >= scale:
                return f"${10 ** (k - scale)}{suffix}"
        return f"${10**k:g}" if k >= 0 else f"${10.0**k:g}"
    if unit == "1" and -2 <= k <= 3:
        return f"{10.0**k:g}"
    return _power_of_ten(k)


def _multiple_label(exponent: float) -> str:
    """Label of a multiple 10**exponent of the reference run: ``1x``, ``1000x``, ``1e6x``."""
    return format_multiple(10.0 ** int(round(exponent)))


def _log10_axis(ax: Axes, unit: str, which: str = "y") -> None:
    """Integer-decade ticks on an axis of log10 values, labelled in ``unit``."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 3, 5, 10]))
    axis.set_minor_locator(MultipleLocator(1))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _decade_label(v, unit)))


def _year_axis(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("year")


def _unit_label(fan: Fan) -> str:
    return f"{metric_title(fan.metric)} [{fan.unit}]" if fan.unit != "1" else metric_title(fan.metric)


def _title(ax: Axes, what: str, n_draws: int, seed: int) -> None:
    ax.set_title(f"{what}\n{n_draws:,} draws, seed {seed}", loc="left", pad=4, fontsize=_FONT, linespacing=1.3)


def _finish(ax: Axes) -> None:
    ax.grid(True, which="major", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=_FONT - 0.5, which="both")
    for side in ("top",):
        ax.spines[side].set_visible(False)


# --------------------------------------------------------------------------- #
# Fan charts                                                                   #
# --------------------------------------------------------------------------- #


def _draw_fan(ax: Axes, fan: Fan, colour: str = OKABE_ITO[0], label: str = "") -> None:
    """Nested bands (widest first, opaque tints of ``colour``) and the median line."""
    levels = sorted(fan.levels, reverse=True)
    weights = np.linspace(0.25, 0.6, len(levels)) if len(levels) > 1 else np.array([0.3])
    for level, weight in zip(levels, weights, strict=True):
        ax.fill_between(
            fan.years,
            fan.lower[level],
            fan.upper[level],
            color=_mix(colour, float(weight)),
            linewidth=0,
            label=f"{label}{level:.0%} band",
            gid=f"band-{level:g}",
        )
    ax.plot(fan.years, fan.median, color=_mix(colour, 1.0) if label else "#003a5c", lw=1.2, label=f"{label}median")
    ax.lines[-1].set_gid("median")


def _reference_lines(ax: Axes, fan: Fan, multiples: tuple[float, ...] = (1, 1000)) -> None:
    from matplotlib.transforms import blended_transform_factory

    name, flop = fan.reference
    where = blended_transform_factory(ax.transAxes, ax.transData)
    for multiple, style in zip(multiples, ("--", ":"), strict=False):
        y = math.log10(multiple * flop)
        ax.axhline(y, color=_GREY, lw=0.7, ls=style, zorder=1.5, gid=f"reference-{multiple:g}")
        text = name if multiple == 1 else f"{format_multiple(multiple)} {name}"
        ax.text(0.995, y, text, transform=where, ha="right", va="bottom", fontsize=_FONT - 1.5, color=_GREY)


def _secondary_reference_axis(ax: Axes, fan: Fan) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    name, flop = fan.reference
    offset = math.log10(flop)
    secondary = ax.secondary_yaxis("right", functions=(lambda y: y - offset, lambda m: m + offset))
    secondary.yaxis.set_major_locator(MultipleLocator(3))
    secondary.yaxis.set_minor_locator(MultipleLocator(1))
    secondary.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _multiple_label(v)))
    secondary.tick_params(labelsize=_FONT - 0.5, which="both")
    secondary.set_ylabel(f"multiple of {name}", fontsize=_FONT - 0.5)


def _draw_history(ax: Axes, history: HistoricalRuns, since: float, label: str = "frontier runs") -> None:
    keep = history.year >= since
    ax.scatter(
        history.year[keep],
        history.log10_flop[keep],
        s=4,
        color="#000000",
        linewidths=0,
        zorder=3,
        label=label,
        gid="history",
    )
    named = [i for i in history.labels if keep[i]]
    ax.scatter(
        history.year[named],
        history.log10_flop[named],
        s=16,
        facecolors="none",
        edgecolors=OKABE_ITO[3],
        linewidths=0.8,
        zorder=3.5,
        gid="history-named",
    )
    for index in named:
        label = history.labels[index]
        ax.annotate(
            label,
            (history.year[index], history.log10_flop[index]),
            xytext=(-3, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=_FONT - 1.5,
            zorder=4,
        )
    ax.text(
        0.995,
        0.015,
        "runs: Epoch AI, epoch.ai/data/ai-models, CC BY 4.0",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=_FONT - 2.5,
        color=_GREY,
    )


def _requirement_limits(requirement: Requirement, bottom: float, top: float) -> tuple[float, float]:
    """Return the y range of the fan (``bottom..top``) and the requirement's band, at most half a span beyond.

    A band wholly beyond that reach does not move the limits (its legend entry says where it is).
    """
    span = top - bottom
    low, high = bottom - 0.5 * span, top + 0.5 * span
    if requirement.upper < low or requirement.lower > high:
        return bottom, top
    return max(min(bottom, requirement.lower), low), min(max(top, requirement.upper), high)


def _requirement_label(requirement: Requirement, low: float, high: float) -> str:
    """Return the legend entry of the band; it names any edge outside ``low..high`` (the y range shown)."""
    lo_q, hi_q = (1 - requirement.level) / 2, (1 + requirement.level) / 2
    label = f"{requirement.name} requirement, {100 * lo_q:.0f}–{hi_q:.0%}"
    lower, upper = (_power_of_ten(math.floor(v)) for v in (requirement.lower, requirement.upper))
    if requirement.lower > high or requirement.upper < low:
        side = "above" if requirement.lower > high else "below"
        return f"{label}\n({lower}–{upper}, {side} the chart)"
    if requirement.upper > high:
        return f"{label}\n(to {upper}, off the chart)"
    if requirement.lower < low:
        return f"{label}\n(from {lower}, off the chart)"
    return label


def _draw_requirement(ax: Axes, requirement: Requirement, low: float, high: float) -> None:
    """Draw the requirement's central interval as a horizontal band with its edges, named in the legend.

    ``low..high`` is the y range shown: an edge beyond it is named in the legend entry.
    """
    colour = _REQUIREMENT_COLOUR
    label = _requirement_label(requirement, low, high)
    ax.axhspan(requirement.lower, requirement.upper, color=colour, alpha=0.18, lw=0, label=label, gid="requirement")
    for edge, gid in ((requirement.lower, "requirement-lower"), (requirement.upper, "requirement-upper")):
        ax.axhline(edge, color=colour, lw=0.6, ls=(0, (4, 2)), zorder=1.6, gid=gid)


def fan_chart(
    fan: Fan, history: HistoricalRuns | None = None, *, history_years: float = 10.0, width: str = "single"
) -> Figure:
    """Fan chart: median line, nested central bands, reference lines, historical runs, the requirement.

    Parameters
    ----------
    fan : Fan
        From :func:`mcscale.viz.chartdata.fan`.
    history : HistoricalRuns, optional
        Historical runs to show as points (FLOP metrics only), with their credit.
    history_years : float
        How many years before the scenario's start the x axis begins when ``history``
        is given [year].
    width : {"single", "double"}
        A paper column (3.5 in) or a page (7 in) wide.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes; bands have gids ``band-0.95``..., the median line ``median``; a
        milestone requirement (``fan.requirement``) is the patch ``requirement`` with
        edge lines ``requirement-lower`` and ``requirement-upper``.
    """
    flop = fan.unit == "FLOP"
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        _draw_fan(ax, fan)
        start = fan.years[0]
        bottom = float(np.min([*fan.lower.values()]))
        if history is not None and flop:
            since = start - history_years
            # the record is physical FLOP: on another metric's axis the legend says so
            label = "frontier runs" if fan.metric == "physical_flop" else "frontier runs (physical FLOP)"
            _draw_history(ax, history, since, label)
            keep = history.year >= since
            if keep.any():
                bottom = min(bottom, float(history.log10_flop[keep].min()))
            ax.set_xlim(since, fan.years[-1])
        else:
            ax.set_xlim(start, fan.years[-1])
        if flop:
            _reference_lines(ax, fan)
            _secondary_reference_axis(ax, fan)
        top = float(np.max([*fan.upper.values()]))
        if fan.requirement is not None:
            bottom, top = _requirement_limits(fan.requirement, bottom, top)
        span = top - bottom
        ax.set_ylim(bottom - 0.04 * span, top + 0.22 * span)  # headroom for the legend
        if fan.requirement is not None:
            _draw_requirement(ax, fan.requirement, *ax.get_ylim())
            ax.set_ylim(bottom - 0.04 * span, top + 0.22 * span)  # the band's lines do not move the limits
        _log10_axis(ax, fan.unit)
        _year_axis(ax)
        ax.set_ylabel(_unit_label(fan))
        _title(ax, f"{fan.scenario}: {metric_title(fan.metric)}", fan.n_draws, fan.seed)
        ax.legend(loc="upper left", frameon=False, handlelength=1.5, borderaxespad=0.3, labelspacing=0.25)
        _finish(ax)
    return fig


def spend_chart(spend: Fan, cap: Fan | None = None, *, width: str = "single") -> Figure:
    """Spend per run [USD]: fan chart, with the cap's median and 90% interval as lines.

    Parameters
    ----------
    spend : Fan
        Fan of ``spend``.
    cap : Fan, optional
        Fan of ``cap`` with a 0.9 level (the scenario's cap, when it has one).
    width : {"single", "double"}

    Returns
    -------
    matplotlib.figure.Figure
        Cap lines have gids ``cap-median``, ``cap-lower``, ``cap-upper``.
    """
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        _draw_fan(ax, spend)
        lows, highs = [*spend.lower.values()], [*spend.upper.values()]
        if cap is not None:
            level = max(cap.levels)
            ax.plot(cap.years, cap.median, color=OKABE_ITO[3], lw=1.0, ls="--", label="cap, median", gid="cap-median")
            for edge, gid in ((cap.lower[level], "cap-lower"), (cap.upper[level], "cap-upper")):
                ax.plot(
                    cap.years,
                    edge,
                    color=OKABE_ITO[3],
                    lw=0.7,
                    ls=":",
                    label=f"cap, {level:.0%} interval" if gid == "cap-lower" else None,
                    gid=gid,
                )
            lows.append(cap.lower[level])
            highs.append(cap.upper[level])
        bottom, top = float(np.min(lows)), float(np.max(highs))
        span = top - bottom
        ax.set_ylim(bottom - 0.04 * span, top + 0.3 * span)
        ax.set_xlim(spend.years[0], spend.years[-1])
        _log10_axis(ax, "USD")
        _year_axis(ax)
        ax.set_ylabel("spend per run [USD]")
        _title(ax, f"{spend.scenario}: spend", spend.n_draws, spend.seed)
        ax.legend(loc="upper left", frameon=False, handlelength=1.8, borderaxespad=0.3, labelspacing=0.25, ncol=2)
        _finish(ax)
    return fig


def price_performance_chart(fan: Fan, *, width: str = "single") -> Figure:
    """Hardware price-performance [FLOP/USD]: a fan chart without reference lines."""
    return fan_chart(fan, None, width=width)


# --------------------------------------------------------------------------- #
# Exceedance, crossing years, comparison                                       #
# --------------------------------------------------------------------------- #


def _horizon(curves: tuple[Curve, ...]) -> tuple[float, float]:
    """Return the x range of curves: from the first start to the last end of their horizons [year]."""
    return min(float(c.years[0]) for c in curves), max(float(c.years[-1]) for c in curves)


def _curve_styles(curves: tuple[Curve, ...]) -> list[tuple[str, Any]]:
    """Colour and line style per curve: the scenario's own when curves compare scenarios, else by position."""
    if curves and all(c.scenario for c in curves):
        styles = scenario_styles([c.scenario for c in curves])
        return [styles[c.scenario] for c in curves]
    return [(OKABE_ITO[i % len(OKABE_ITO)], _LINESTYLES[i % len(_LINESTYLES)]) for i in range(len(curves))]


def exceedance_chart(data: Exceedance, *, width: str = "single") -> Figure:
    """P(metric >= threshold by year), one line per curve, with +-1.96 MCSE bands, over the whole horizon.

    Returns
    -------
    matplotlib.figure.Figure
        Curve ``i`` is the Line2D with gid ``curve-i``; its band has gid ``mcse-i``.
        Curves of scenarios (``Curve.scenario``) take the colours of :func:`scenario_styles`.
    """
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        worst = 0.0
        for i, (curve, (colour, style)) in enumerate(zip(data.curves, _curve_styles(data.curves), strict=True)):
            half = Z_95_INTERVAL * curve.mcse
            worst = max(worst, float(half.max(initial=0.0)))
            ax.fill_between(
                curve.years,
                curve.probability - half,
                curve.probability + half,
                color=colour,
                alpha=0.3,
                linewidth=0,
                gid=f"mcse-{i}",
            )
            ax.plot(curve.years, curve.probability, color=colour, ls=style, lw=1.2, label=curve.label, gid=f"curve-{i}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(*_horizon(data.curves))
        _year_axis(ax)
        ax.set_ylabel("probability reached by year")
        _title(ax, data.title, data.n_draws, data.seed)
        legend = ax.legend(
            loc="lower right",
            frameon=True,
            framealpha=0.9,
            edgecolor="none",
            handlelength=2.2,
            title=f"shaded: ±1.96 MCSE (max {worst:.2g})",
            title_fontsize=_FONT - 1.5,
        )
        _place_legend(fig, ax, legend, data.curves)
        _finish(ax)
    return fig


#: Where an exceedance chart's legend may go, in order of preference (curves rise to the right).
_LEGEND_CORNERS = ("lower right", "upper left", "center right", "center left", "lower left", "upper right")


def _place_legend(fig: Figure, ax: Axes, legend: Any, curves: tuple[Curve, ...]) -> None:
    """Move the legend to the first corner of :data:`_LEGEND_CORNERS` where it covers no curve.

    A curve is followed through straight segments between grid years, with a margin of
    a few points around the legend; where every corner covers one, matplotlib's "best".
    """
    fig.draw_without_rendering()  # lay the figure out, so that the legend and curves have their places
    points = [ax.transData.transform(_dense(c.years, c.probability)) for c in curves]
    for loc in _LEGEND_CORNERS:
        legend.set_loc(loc)
        box = legend.get_window_extent().padded(4)
        if not any(_inside(box, xy) for xy in points):
            return
    legend.set_loc("best")


def _dense(x: np.ndarray, y: np.ndarray, per_step: int = 20) -> np.ndarray:
    """Points along a polyline, ``per_step`` per segment, shape (n, 2)."""
    t = np.linspace(0, len(x) - 1, (len(x) - 1) * per_step + 1)
    return np.column_stack([np.interp(t, np.arange(len(x)), x), np.interp(t, np.arange(len(y)), y)])


def _inside(box: Any, xy: np.ndarray) -> bool:
    """Whether any display point of ``xy`` lies in a Bbox."""
    return bool(np.any((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)))


def crossing_chart(data: Crossing, *, width: str = "single") -> Figure:
    """Histogram of the first year a threshold is crossed, with P(never) and the median, over the whole horizon.

    Returns
    -------
    matplotlib.figure.Figure
        The histogram is a StepPatch with gid ``crossing``; the median line ``median``.
    """
    from matplotlib.offsetbox import AnchoredText

    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        ax.stairs(data.share, data.edges, fill=True, color=_mix(OKABE_ITO[0], 0.7), gid="crossing")
        median = data.answer.median
        end = data.answer.details["horizon_end"]
        if data.p_never > 0:
            never = f"P(never by {end:g}) = {data.p_never:.3g} ± {data.p_never_mcse:.2g}"
        else:
            never = f"P(never by {end:g}) < {3 / data.n_draws:.1g} (no draw)"
        lines = [never]
        if median is not None and math.isfinite(median):
            mcse = (data.answer.quantile_mcse or {}).get("50%", float("nan"))
            ax.axvline(median, color=OKABE_ITO[3], lw=1.0, ls="--", gid="median")
            lines.append(f"median {median:.1f} ± {mcse:.2g} (dashed)")
        else:
            lines.append(f"median: not reached by {end:g}")
        box = AnchoredText("\n".join(lines), loc="upper right", frameon=False, prop={"fontsize": _FONT - 1})
        ax.add_artist(box)
        ax.set_xlim(data.edges[0], data.edges[-1])  # the whole horizon
        ax.set_ylim(0, float(data.share.max(initial=0.0)) * 1.3 or 1.0)
        _year_axis(ax)
        ax.set_xlabel(f"first year {metric_title(data.metric)} ≥ {data.threshold}")
        step = data.edges[1] - data.edges[0]
        ax.set_ylabel("share of draws" + (" per year" if step == 1 else f" per {step:g} years"))
        _title(ax, f"{data.scenario}: crossing year", data.n_draws, data.seed)
        _finish(ax)
    return fig


def comparison_chart(fans: list[Fan], *, note: str | None = None, width: str = "single") -> Figure:
    """Several scenarios' medians and central bands (one level each) on one axis.

    Each scenario keeps its colour and line style of :func:`scenario_styles`, whatever
    the order of ``fans``. Bands are light tints with their edges drawn as thin lines,
    so three overlapping bands stay readable.

    Parameters
    ----------
    fans : list of Fan
        One per scenario, same metric, each with one level (e.g. 0.9).
    note : str, optional
        A one-line footnote drawn in the Axes, e.g. from
        :func:`mcscale.viz.chartdata.basis_note` with ``short=True``.
    width : {"single", "double"}

    Returns
    -------
    matplotlib.figure.Figure
        Scenario ``i``: median Line2D gid ``median-i``, band gid ``band-i``, band edges
        ``lower-i`` and ``upper-i``; the note is the figure's ``supxlabel`` (gid ``note``).
    """
    if not fans:
        raise ValueError("nothing to compare")
    styles = scenario_styles([fan.scenario for fan in fans])
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        handles = []
        for i, fan in enumerate(fans):
            colour, style = styles[fan.scenario]
            handles.append(_draw_comparison_fan(ax, fan, i, colour, style))
        bottom = min(float(np.min(f.lower[max(f.levels)])) for f in fans)
        top = max(float(np.max(f.upper[max(f.levels)])) for f in fans)
        span = top - bottom
        ax.set_ylim(bottom - 0.04 * span, top + 0.25 * span)
        ax.set_xlim(min(f.years[0] for f in fans), max(f.years[-1] for f in fans))
        _log10_axis(ax, fans[0].unit)
        _year_axis(ax)
        ax.set_ylabel(_unit_label(fans[0]))
        levels = {f"{max(f.levels):.0%}" for f in fans}
        _title(
            ax,
            f"{metric_title(fans[0].metric)}: medians and {'/'.join(sorted(levels))} bands",
            fans[0].n_draws,
            fans[0].seed,
        )
        ax.legend(
            handles=handles,
            labels=[fan.scenario for fan in fans],
            loc="upper left",
            frameon=False,
            handlelength=2.4,
            borderaxespad=0.3,
            labelspacing=0.25,
        )
        if note:  # below the axes, where the layout makes room for it
            fig.supxlabel(note, x=0.99, ha="right", fontsize=_FONT - 2, color=_GREY, gid="note")
        _finish(ax)
    return fig


def _draw_comparison_fan(ax: Axes, fan: Fan, i: int, colour: str, style: Any) -> tuple[Any, Any]:
    """One scenario of a comparison: light band, thin edge lines, thick median; returns its legend handle."""
    level = max(fan.levels)
    band = ax.fill_between(
        fan.years, fan.lower[level], fan.upper[level], color=_mix(colour, 0.14), alpha=0.55, lw=0, gid=f"band-{i}"
    )
    for edge, gid in ((fan.lower[level], f"lower-{i}"), (fan.upper[level], f"upper-{i}")):
        ax.plot(fan.years, edge, color=colour, lw=0.6, ls=style, gid=gid)
    (median,) = ax.plot(fan.years, fan.median, color=colour, lw=1.5, ls=style, label=fan.scenario, gid=f"median-{i}")
    return band, median


# --------------------------------------------------------------------------- #
# Output                                                                       #
# --------------------------------------------------------------------------- #


def tornado_chart(data: Tornado) -> Figure:
    """Tornado: each prior's answer at its 5th and 95th percentile around the base answer, largest swing on top.

    Each bar runs from the base answer to the answer with the prior held at one end of
    its 90% interval (blue: 5th, vermillion: 95th percentile), with ±1.96 MCSE of each
    end as an error bar; the base answer is a vertical line. Labels give the prior's
    range. Always page width (7 in): the labels need the room.

    Returns
    -------
    matplotlib.figure.Figure
        Bars with gids ``low`` and ``high``; the base line ``base``.
    """
    n = len(data.labels)
    with _style():
        fig = _figure("double")
        fig.set_size_inches(_SIZES["double"][0], 1.2 + 0.22 * n)
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        ends = (
            (data.low, data.low_mcse, "low", OKABE_ITO[0], "prior at its 5th percentile"),
            (data.high, data.high_mcse, "high", OKABE_ITO[3], "prior at its 95th percentile"),
        )
        for end, mcse, gid, colour, name in ends:
            ax.barh(y, end - data.base, left=data.base, height=0.62, color=_mix(colour, 0.55), label=name, gid=gid)
            ax.errorbar(end, y, xerr=Z_95_INTERVAL * mcse, fmt="none", ecolor=_GREY, elinewidth=0.6, capsize=1.5)
        ax.axvline(data.base, color="black", lw=0.8, gid="base", label="all priors sampled")
        ax.set_yticks(y, [label.replace("$", r"\$") for label in data.labels])  # "$" would start mathtext
        ax.set_ylim(-0.7, n - 0.3)
        _tornado_axis(ax, data)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=_FONT - 0.5, frameon=False)
        how = "the others drawn given it" if data.conditional else "the others sampled"
        _title(ax, f"{data.scenario}: {data.question}; each prior held, {how}", data.n_draws, data.seed)
        _finish(ax)
    return fig


def _tornado_axis(ax: Axes, data: Tornado) -> None:
    """Label the answer axis: a probability, a year, or the metric's decades."""
    base = data.base
    if data.kind == "indicator":
        ax.set_xlabel(f"probability (base {base:.3f}, line)")
        lo, hi = ax.get_xlim()
        ax.set_xlim(max(lo, -0.02), min(hi, 1.02))
    elif data.kind == "crossing_year":
        ax.set_xlabel(f"median crossing year (base {base:.1f}, line)")
    else:
        _log10_axis(ax, data.unit, which="x")
        ax.set_xlabel(f"median [{data.unit}] (base {format_value(10.0**base, data.unit)}, line)")


def error_chart(data: ErrorCurves) -> Figure:
    """Error of each estimator against draws (left) and wall time (right), log-log.

    Solid lines with markers are the root-mean-square error against the reference over
    the seeds; dashed lines of the same colour the mean MCSE each estimator reported (an
    honest MCSE lies on its error line). Each estimator has its own colour and marker,
    kept across the cases of one measurement. The dotted grey line falls as ``n^-1/2`` from
    the first estimator's first point; the grey band is the reference's own ±MCSE,
    below which an error cannot be measured. Always page width.

    Returns
    -------
    matplotlib.figure.Figure
        One line per estimator and panel, with gids ``rmse:METHOD`` and ``mcse:METHOD``.
    """
    with _style():
        fig = _figure("double")
        by_draws, by_seconds = fig.subplots(1, 2)
        order = data.methods or tuple(curve.method for curve in data.curves)
        for curve in data.curves:
            # colour and marker both tell estimators apart (in greyscale too), the same in every case
            colour, marker = _error_style(curve.method, order)
            for ax, x in ((by_draws, curve.draws), (by_seconds, curve.seconds)):
                ax.plot(x, curve.rmse, color=colour, marker=marker, markersize=3, lw=1.0, gid=f"rmse:{curve.method}")
                ax.plot(x, curve.mcse, color=colour, lw=0.8, ls="--", gid=f"mcse:{curve.method}")
        first = data.curves[0]
        guide = first.rmse[0] * np.sqrt(first.draws[0] / first.draws)
        by_draws.plot(first.draws, guide, color=_GREY, lw=0.6, ls=":")
        values = np.concatenate([np.concatenate([c.rmse, c.mcse]) for c in data.curves])
        values = values[values > 0]
        low, high = min(float(values.min()), data.reference_mcse) / 2, float(values.max()) * 2
        for ax, what in ((by_draws, "draws per estimate"), (by_seconds, "wall time per estimate [s]")):
            _log_log_axes(ax)
            ax.axhspan(low, data.reference_mcse, color="#eeeeee", lw=0, zorder=0)
            ax.set_ylim(low, high)
            ax.set_xlabel(what)
            ax.set_ylabel("error of an estimate")
            _finish(ax)
        fig.legend(
            *_error_legend(data.curves, order),
            loc="outside lower center",
            ncol=min(5, len(data.curves) + 3),
            fontsize=_FONT - 1,
            frameon=False,
        )
        title = (
            f"{data.scenario}: {data.question} = {data.reference:.6g} ± {data.reference_mcse:.2g} "
            f"({data.reference_label}; shaded: its MCSE)\n{data.seeds} seeds per point; {data.machine}"
        )
        by_draws.set_title(title, loc="left", pad=4, fontsize=_FONT, linespacing=1.3)
    return fig


_ERROR_MARKERS = ("o", "s", "^", "D", "v", "P")


def _error_style(method: str, order: tuple[str, ...]) -> tuple[str, str]:
    """Colour and marker of an estimator: by its place in the measurement, the same in every case's figure."""
    place = order.index(method)
    return OKABE_ITO[place % 7], _ERROR_MARKERS[place % len(_ERROR_MARKERS)]


def _error_legend(curves: tuple, order: tuple[str, ...]) -> tuple[list, list[str]]:
    """Legend of an error chart: one entry per estimator (colour and marker), then what each line style is."""
    from matplotlib.lines import Line2D

    handles, labels = [], []
    for curve in curves:
        colour, marker = _error_style(curve.method, order)
        handles.append(Line2D([], [], color=colour, marker=marker, markersize=3, lw=1.0))
        labels.append(curve.method)
    for style, label in (("-", "RMSE over seeds"), ("--", "reported MCSE"), (":", r"$\propto n^{-1/2}$")):
        handles.append(Line2D([], [], color=_GREY if style == ":" else "black", lw=0.8, ls=style))
        labels.append(label)
    return handles, labels


def _log_log_axes(ax: Axes) -> None:
    """Both axes logarithmic, labelled at decades only (``$10^{4}$``): minor labels would overlap."""
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, numticks=12))
        axis.set_minor_formatter(NullFormatter())


def figure_bytes(fig: Figure, fmt: str = "png", dpi: float = 200) -> bytes:
    """Render a figure to PNG or SVG bytes, deterministically (no timestamps).

    Parameters
    ----------
    fig : Figure
    fmt : {"png", "svg"}
    dpi : float
        Dots per inch, for PNG.
    """
    if fmt not in FORMATS.values():
        raise ValueError(f"unknown format {fmt!r}; known: png, svg")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    with _style():
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: float = 200) -> Path:
    """Write a figure atomically, as PNG or SVG by the file extension.

    Parameters
    ----------
    fig : Figure
    path : str or path-like
        ``.png`` or ``.svg``; its directory must exist.
    dpi : float
        Dots per inch, for PNG.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown figure format {path.suffix!r}; use .png or .svg")
    write_atomic(path, figure_bytes(fig, fmt, dpi))
    return path
