"""Figures, with matplotlib: fan charts, exceedance curves, crossing years, comparisons.

The only module that uses matplotlib, and it imports it inside the functions, so
``import mcscale`` (and ``mcscale run`` / ``query``) never loads it. Plot functions
take what :mod:`mcscale.viz.chartdata` computed and draw it; they never sample or
compute statistics. Figures are made without pyplot (no global state, no GUI
backend) and sized for a paper column (``width="single"``, 3.5 in) or a page
(``"double"``, 7 in). Colours are the Okabe-Ito colour-blind-safe palette.

Values arrive as log10 and are drawn on a linear axis of log10 values, labelled
in the metric's unit (``1e24``, ``$10B``), so the Axes hold exactly the computed
numbers.
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
from mcscale.viz.chartdata import Crossing, Curve, Exceedance, Fan, HistoricalRuns, metric_title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FORMATS",
    "OKABE_ITO",
    "comparison_chart",
    "crossing_chart",
    "exceedance_chart",
    "fan_chart",
    "figure_bytes",
    "price_performance_chart",
    "save_figure",
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


def _mix(colour: str, weight: float) -> tuple[float, float, float]:
    """``colour`` mixed with white: weight 1 is the colour, 0 is white (opaque bands)."""
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(colour))
    return tuple(float(c) for c in 1 - weight * (1 - rgb))  # type: ignore[return-value]


# --------------------------------------------------------------------------- #
# Axis labels                                                                  #
# --------------------------------------------------------------------------- #


def _decade_label(exponent: float, unit: str) -> str:
    """Label of 10**exponent in a unit: ``1e24``, ``$10B``, ``100``."""
    k = int(round(exponent))
    if unit == "USD":
        if k > 14:
            return f"$1e{k}"
        for scale, suffix in ((12, "T"), (9, "B"), (6, "M"), (3, "k")):
            if k >= scale:
                return f"${10 ** (k - scale)}{suffix}"
        return f"${10**k:g}" if k >= 0 else f"${10.0**k:g}"
    if unit == "1" and -2 <= k <= 3:
        return f"{10.0**k:g}"
    return f"1e{k}"


def _multiple_label(exponent: float) -> str:
    k = int(round(exponent))
    return f"{10.0**k:g}x" if -3 <= k <= 3 else f"1e{k}x"


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
        text = name if multiple == 1 else f"{multiple:g}x {name}"
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


def _draw_history(ax: Axes, history: HistoricalRuns, since: float) -> None:
    keep = history.year >= since
    ax.scatter(
        history.year[keep],
        history.log10_flop[keep],
        s=4,
        color="#000000",
        linewidths=0,
        zorder=3,
        label="frontier runs",
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


def fan_chart(
    fan: Fan, history: HistoricalRuns | None = None, *, history_years: float = 10.0, width: str = "single"
) -> Figure:
    """Fan chart: median line, nested central bands, reference lines, historical runs.

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
        One Axes; bands have gids ``band-0.95``..., the median line ``median``.
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
            _draw_history(ax, history, since)
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
        span = top - bottom
        ax.set_ylim(bottom - 0.04 * span, top + 0.22 * span)  # headroom for the legend
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


def _settled(curves: tuple[Curve, ...]) -> float:
    """Right end of the x axis: a margin past the last year any curve still changes."""
    end = max(float(c.years[-1]) for c in curves)
    last = max(
        (
            float(c.years[np.flatnonzero(np.abs(np.diff(c.probability)) > 1e-4)[-1] + 1])
            for c in curves
            if np.any(np.abs(np.diff(c.probability)) > 1e-4)
        ),
        default=end,
    )
    start = min(float(c.years[0]) for c in curves)
    return min(end, last + 0.25 * (last - start))


def exceedance_chart(data: Exceedance, *, width: str = "single") -> Figure:
    """P(metric >= threshold by year), one line per curve, with +-1.96 MCSE bands.

    Returns
    -------
    matplotlib.figure.Figure
        Curve ``i`` is the Line2D with gid ``curve-i``; its band has gid ``mcse-i``.
    """
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        worst = 0.0
        for i, curve in enumerate(data.curves):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            half = 1.959963984540054 * curve.mcse
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
            ax.plot(
                curve.years,
                curve.probability,
                color=colour,
                ls=_LINESTYLES[i % len(_LINESTYLES)],
                lw=1.2,
                label=curve.label,
                gid=f"curve-{i}",
            )
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(min(float(c.years[0]) for c in data.curves), _settled(data.curves))
        _year_axis(ax)
        ax.set_ylabel("probability reached by year")
        _title(ax, data.title, data.n_draws, data.seed)
        ax.legend(
            loc="best",
            frameon=True,
            framealpha=0.9,
            edgecolor="none",
            handlelength=2.2,
            title=f"shaded: ±1.96 MCSE (max {worst:.2g})",
            title_fontsize=_FONT - 1.5,
        )
        _finish(ax)
    return fig


def crossing_chart(data: Crossing, *, width: str = "single") -> Figure:
    """Histogram of the first year a threshold is crossed, with P(never) and the median.

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
            lines.append("median: never within the horizon")
        box = AnchoredText("\n".join(lines), loc="upper right", frameon=False, prop={"fontsize": _FONT - 1})
        ax.add_artist(box)
        last = np.flatnonzero(data.share > 0)
        right = data.edges[-1]
        if data.p_never == 0 and last.size:  # nothing happens after the last crossing: zoom in
            right = min(right, data.edges[last[-1] + 1] + 0.25 * (data.edges[last[-1] + 1] - data.edges[0]))
        ax.set_xlim(data.edges[0], right)
        ax.set_ylim(0, float(data.share.max(initial=0.0)) * 1.3 or 1.0)
        _year_axis(ax)
        ax.set_xlabel(f"first year {metric_title(data.metric)} ≥ {data.threshold}")
        step = data.edges[1] - data.edges[0]
        ax.set_ylabel("share of draws" + (" per year" if step == 1 else f" per {step:g} years"))
        _title(ax, f"{data.scenario}: crossing year", data.n_draws, data.seed)
        _finish(ax)
    return fig


def comparison_chart(fans: list[Fan], *, width: str = "single") -> Figure:
    """Several scenarios' medians and central bands (one level each) on one axis.

    Parameters
    ----------
    fans : list of Fan
        One per scenario, same metric, each with one level (e.g. 0.9).

    Returns
    -------
    matplotlib.figure.Figure
        Scenario ``i``: median Line2D gid ``median-i``, band gid ``band-i``, band edges
        ``lower-i`` and ``upper-i``.
    """
    if not fans:
        raise ValueError("nothing to compare")
    with _style():
        fig = _figure(width)
        ax = fig.add_subplot()
        for i, fan in enumerate(fans):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            level = max(fan.levels)
            style = _LINESTYLES[i % len(_LINESTYLES)]
            ax.fill_between(
                fan.years, fan.lower[level], fan.upper[level], color=colour, alpha=0.12, lw=0, gid=f"band-{i}"
            )
            for edge, gid in ((fan.lower[level], f"lower-{i}"), (fan.upper[level], f"upper-{i}")):
                ax.plot(fan.years, edge, color=colour, lw=0.5, ls=style, alpha=0.8, gid=gid)
            ax.plot(fan.years, fan.median, color=colour, lw=1.4, ls=style, label=fan.scenario, gid=f"median-{i}")
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
        ax.legend(loc="upper left", frameon=False, handlelength=2.4, borderaxespad=0.3, labelspacing=0.25)
        _finish(ax)
    return fig


# --------------------------------------------------------------------------- #
# Output                                                                       #
# --------------------------------------------------------------------------- #


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
