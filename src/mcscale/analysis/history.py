"""Trends of past training runs: the growth of frontier training compute, fitted to Epoch AI's data.

Two fits of log10 training compute [log10(FLOP)] on the year, over a window of calendar
years:

- the **largest run** of each year (one point per year, at the calendar year): what
  mcscale's ``physical_flop`` models, so what a scenario's growth priors should match;
- the **frontier runs**: every run that was in the top K by compute on its publication
  date (one point per run, at its decimal publication year).

Runs of one year are not independent draws around a trend: they share that year's
hardware, money and fashions, and one lab often publishes several near-copies. The
intervals therefore come from a regression with **year-clustered errors**: ordinary
least squares for the line, the bias-reduced cluster-robust variance CR2 of Bell and
McCaffrey (2002) for its uncertainty, and a Student t with their degrees of freedom,
the small-sample recipe of Imbens and Kolesár, "Robust Standard Errors in Small Samples:
Some Practical Advice" (2016). Chosen over a block bootstrap over years because a window
holds 8-16 years: with that few clusters a bootstrap that resamples years undercovers
and is lumpy (a resample of 8 years often repeats one year several times), the
clustered t needs no seed, and its coverage is close to nominal with few and unequal
clusters (checked in ``tests/test_history.py``). For the largest-run fit every year is
its own cluster, so the same recipe is HC2 errors with Bell-McCaffrey degrees of
freedom; it does not model correlation between successive years.

Nothing here samples or draws: the module reads the CSV, fits, and formats the result as
text, a dictionary, and a prior block a scenario can paste in.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "BUNDLED_DATA",
    "DATA_CREDIT",
    "DEFAULT_HARDWARE_DOUBLING",
    "REQUIRED_COLUMNS",
    "HistoryDataError",
    "HistoryFit",
    "Runs",
    "TrendFit",
    "clustered_fit",
    "data_name",
    "fit_history",
    "format_fit",
    "frontier_mask",
    "largest_per_year",
    "prior_block",
    "read_runs",
    "year_fraction",
]

#: Name of the bundled data file (``mcscale/data/frontier_runs.csv``).
BUNDLED_DATA = "frontier_runs.csv"
#: How the bundled data is credited (its CC BY 4.0 license asks for it).
DATA_CREDIT = 'Epoch AI, "Data on AI Models" (epoch.ai/data/ai-models), CC BY 4.0'
#: Columns a runs file must have; others (``is_frontier`` among them) are optional.
REQUIRED_COLUMNS = ("system", "publication_date", "training_compute_flop")
#: Doubling time of hardware FLOP per USD taken out of the compute trend to leave spend's
#: share [year]: ML GPUs, Hobbhahn and Besiroglu, "Trends in GPU price-performance"
#: (Epoch AI, 2022): 2.07 years [1.54, 3.13] (95%).
DEFAULT_HARDWARE_DOUBLING = 2.07
_HARDWARE_SOURCE = 'ML GPUs, Hobbhahn and Besiroglu, "Trends in GPU price-performance" (Epoch AI, 2022)'
_LOG10_2 = math.log10(2.0)


class HistoryDataError(ValueError):
    """A runs file that cannot be read or fitted: the message is one line naming the file (and row)."""


# --------------------------------------------------------------------------- #
# Reading runs                                                                 #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Runs:
    """Training runs read from a CSV file.

    Parameters
    ----------
    system : tuple of str
        Model names.
    date : tuple of datetime.date
        Publication dates.
    year : ndarray
        Publication date as a decimal year [year].
    log10_flop : ndarray
        log10 of the training compute [log10(FLOP)].
    is_frontier : ndarray of bool or None
        The file's ``is_frontier`` column (top 10 by compute at publication), when it has one.
    source : str
        The file's name, for messages and output.
    """

    system: tuple[str, ...]
    date: tuple[datetime.date, ...]
    year: np.ndarray
    log10_flop: np.ndarray
    is_frontier: np.ndarray | None
    source: str

    @property
    def calendar_year(self) -> np.ndarray:
        """The calendar year of each run's publication [year], as integers."""
        return np.array([d.year for d in self.date], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.system)


def year_fraction(date: datetime.date) -> float:
    """Return ``year + (day of year - 1) / days in the year`` [year], as in the bundled file."""
    days = 366 if date.year % 4 == 0 and (date.year % 100 != 0 or date.year % 400 == 0) else 365
    return date.year + (date.timetuple().tm_yday - 1) / days


def _row_error(source: str, row: int, line: int, message: str) -> HistoryDataError:
    return HistoryDataError(f"{source}: row {row} (line {line}): {message}")


def read_runs(path: str | Path | None = None) -> Runs:
    """Read and check a runs file with the columns of the bundled ``frontier_runs.csv``.

    Parameters
    ----------
    path : str or path-like, optional
        A CSV file with a header line and at least the columns ``system``,
        ``publication_date`` (YYYY-MM-DD) and ``training_compute_flop`` [FLOP]; an
        ``is_frontier`` column, if present, must hold 0 or 1. Left out: the bundled Epoch
        AI data.

    Returns
    -------
    Runs

    Raises
    ------
    HistoryDataError
        For a missing or unreadable file, a missing column, or a bad row: the message
        names the file, the row (the n-th data row) and its line in the file.
    """
    if path is None:
        source = BUNDLED_DATA
        text = (resources.files("mcscale") / "data" / BUNDLED_DATA).read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
        except FileNotFoundError:
            raise HistoryDataError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise HistoryDataError(f"{source}: is a directory") from None
        except UnicodeDecodeError:
            raise HistoryDataError(f"{source}: not UTF-8 text") from None
        except OSError as exc:
            raise HistoryDataError(f"{source}: cannot read: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise HistoryDataError(f"{source}: empty file (needs a header line: {', '.join(REQUIRED_COLUMNS)})") from None
    except csv.Error as exc:
        raise HistoryDataError(f"{source}: line 1: not CSV: {exc}") from None
    header = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise HistoryDataError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(a runs file needs {', '.join(REQUIRED_COLUMNS)})"
        )
    column = {name: header.index(name) for name in (*REQUIRED_COLUMNS, "is_frontier") if name in header}
    systems: list[str] = []
    dates: list[datetime.date] = []
    flops: list[float] = []
    frontier: list[bool] = []
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _row_error(source, row + 1, reader.line_num, f"not CSV: {exc}") from None
        if not fields or all(not f.strip() for f in fields):
            continue  # a blank line
        row += 1
        line = reader.line_num
        if len(fields) != len(header):
            raise _row_error(source, row, line, f"has {len(fields)} fields, the header {len(header)}")
        raw_date = fields[column["publication_date"]].strip()
        try:
            date = datetime.date.fromisoformat(raw_date)
            if len(raw_date) != 10:
                raise ValueError
        except ValueError:
            raise _row_error(source, row, line, f"publication_date {raw_date!r} is not a date YYYY-MM-DD") from None
        raw_flop = fields[column["training_compute_flop"]].strip()
        try:
            flop = float(raw_flop)
        except ValueError:
            what = "is empty" if not raw_flop else f"{raw_flop!r} is not a number"
            raise _row_error(source, row, line, f"training_compute_flop {what}") from None
        if not math.isfinite(flop) or flop <= 0:
            raise _row_error(source, row, line, f"training_compute_flop {raw_flop!r} is not a finite positive number")
        if "is_frontier" in column:
            flag = fields[column["is_frontier"]].strip()
            if flag not in ("0", "1"):
                raise _row_error(source, row, line, f"is_frontier {flag!r} must be 0 or 1")
            frontier.append(flag == "1")
        systems.append(fields[column["system"]].strip())
        dates.append(date)
        flops.append(flop)
    if not systems:
        raise HistoryDataError(f"{source}: no runs (only a header)")
    return Runs(
        system=tuple(systems),
        date=tuple(dates),
        year=np.array([year_fraction(d) for d in dates]),
        log10_flop=np.log10(np.array(flops)),
        is_frontier=np.array(frontier, dtype=bool) if "is_frontier" in column else None,
        source=source,
    )


def frontier_mask(runs: Runs, top: int = 10) -> np.ndarray:
    """Return which runs were in the top ``top`` by compute on their publication date.

    A run's rank is 1 + the number of runs published on or before the same date with
    strictly more compute. With ``top = 10`` and an ``is_frontier`` column, the column is
    used as it is: in the bundled file it ranks against Epoch AI's whole database,
    including runs before 2010 that the file leaves out. Otherwise runs are ranked within
    the file.

    Parameters
    ----------
    runs : Runs
    top : int
        How many runs count as the frontier on each date.

    Returns
    -------
    ndarray of bool
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if top == 10 and runs.is_frontier is not None:
        return runs.is_frontier.copy()
    order = sorted(range(len(runs)), key=lambda i: runs.date[i])
    seen: list[float] = []  # compute of the runs published so far, sorted
    rank = np.empty(len(runs), dtype=np.int64)
    start = 0
    while start < len(order):
        stop = start
        while stop < len(order) and runs.date[order[stop]] == runs.date[order[start]]:
            stop += 1
        same_day = order[start:stop]
        for i in same_day:  # runs of the same day see each other
            bisect.insort(seen, float(runs.log10_flop[i]))
        for i in same_day:
            rank[i] = 1 + len(seen) - bisect.bisect_right(seen, float(runs.log10_flop[i]))
        start = stop
    return rank <= top


def largest_per_year(runs: Runs, since: int, until: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Return the largest run of each calendar year from ``since`` to ``until`` that has runs.

    Parameters
    ----------
    runs : Runs
    since, until : int
        First and last calendar year [year].

    Returns
    -------
    years : ndarray of int
        The years with at least one run [year].
    log10_flop : ndarray
        log10 of each year's largest training compute [log10(FLOP)].
    systems : tuple of str
        The largest run's name in each year.
    """
    calendar = runs.calendar_year
    years, values, names = [], [], []
    for year in range(since, until + 1):
        index = np.flatnonzero(calendar == year)
        if index.size:
            best = index[np.argmax(runs.log10_flop[index])]
            years.append(year)
            values.append(runs.log10_flop[best])
            names.append(runs.system[best])
    return np.array(years, dtype=np.int64), np.array(values, dtype=float), tuple(names)


# --------------------------------------------------------------------------- #
# The fit                                                                      #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TrendFit:
    """A straight line through log10 compute against the year, with year-clustered intervals.

    Parameters
    ----------
    slope : float
        Growth [OOM/year] (orders of magnitude of FLOP per year).
    slope_low, slope_high : float
        Central ``level`` interval of the slope [OOM/year].
    level : float
        Central probability of the intervals, e.g. 0.9.
    df : float
        Bell-McCaffrey degrees of freedom of the slope's t interval.
    se : float
        CR2 standard error of the slope [OOM/year].
    x_mean : float
        Mean of the years the line is centred on [year].
    intercept : float
        The line at ``x_mean`` [log10(FLOP)].
    covariance : ndarray, shape (2, 2)
        CR2 covariance of (intercept at ``x_mean``, slope).
    n : int
        Number of points.
    n_clusters : int
        Number of years (clusters).
    residual_sd : float
        Standard deviation of the residuals around the line, ``n - 2`` degrees of freedom [OOM].
    residual_p5, residual_p95 : float
        5% and 95% quantiles of the residuals [OOM].
    """

    slope: float
    slope_low: float
    slope_high: float
    level: float
    df: float
    se: float
    x_mean: float
    intercept: float
    covariance: np.ndarray = field(repr=False)
    n: int
    n_clusters: int
    residual_sd: float
    residual_p5: float
    residual_p95: float

    def value_at(self, year: float) -> float:
        """Return the line at ``year`` [log10(FLOP)]."""
        return self.intercept + self.slope * (year - self.x_mean)

    @property
    def growth_per_year(self) -> tuple[float, float, float]:
        """Growth factor per year and its interval [x/year]."""
        return 10.0**self.slope, 10.0**self.slope_low, 10.0**self.slope_high

    @property
    def doubling_months(self) -> tuple[float, float, float]:
        """Doubling time and its interval [month]; ``inf`` where the slope is 0 or less."""

        def months(slope: float) -> float:
            return 12.0 * _LOG10_2 / slope if slope > 0 else math.inf

        return months(self.slope), months(self.slope_high), months(self.slope_low)

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as plain numbers (growth, doubling and spread, with their units in the keys)."""
        growth, doubling = self.growth_per_year, self.doubling_months
        finite = [d if math.isfinite(d) else None for d in doubling]
        return {
            "oom_per_year": self.slope,
            "oom_per_year_interval": [self.slope_low, self.slope_high],
            "x_per_year": growth[0],
            "x_per_year_interval": [growth[1], growth[2]],
            "doubling_months": finite[0],
            "doubling_months_interval": [finite[1], finite[2]],
            "level": self.level,
            "df": self.df,
            "se_oom_per_year": self.se,
            "n_points": self.n,
            "n_years": self.n_clusters,
            "residual_sd_oom": self.residual_sd,
            "residual_p5_oom": self.residual_p5,
            "residual_p95_oom": self.residual_p95,
        }


def _cr2(x: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """OLS on (1, x - mean) with the CR2 covariance; also what the Bell-McCaffrey df need.

    Returns ``beta, covariance, residuals, [design, (X'X)^-1, pieces]``, where ``pieces``
    holds, per cluster, its rows and the matrix ``A_g X_g (X'X)^-1`` (the CR2 adjustment
    times the design). The covariance is the sum over clusters of ``s_g s_g'`` with
    ``s_g = (X'X)^-1 X_g' A_g e_g``.
    """
    design = np.column_stack([np.ones_like(x), x - x.mean()])
    xtx_inv = np.linalg.inv(design.T @ design)
    beta = xtx_inv @ design.T @ y
    resid = y - design @ beta
    covariance = np.zeros((2, 2))
    pieces = []
    for group in np.unique(clusters):
        rows = np.flatnonzero(clusters == group)
        xg = design[rows]
        # A_g = (I - H_gg)^(-1/2), a pseudo-inverse where I - H_gg is singular
        values, vectors = np.linalg.eigh(np.eye(rows.size) - xg @ xtx_inv @ xg.T)
        keep = values > 1e-10
        inv_sqrt = np.where(keep, 1.0 / np.sqrt(np.where(keep, values, 1.0)), 0.0)
        adjust = (vectors * inv_sqrt) @ vectors.T
        weights = adjust @ xg @ xtx_inv  # shape (n_g, 2)
        score = weights.T @ resid[rows]
        covariance += np.outer(score, score)
        pieces.append((rows, weights))
    return beta, covariance, resid, [design, xtx_inv, pieces]


def _bell_mccaffrey_df(ell: np.ndarray, design: np.ndarray, xtx_inv: np.ndarray, pieces: list) -> float:
    """Bell-McCaffrey degrees of freedom of the CR2 variance of ``ell' beta`` (Imbens and Kolesár, 2016).

    With ``G`` the n x S matrix whose column g is ``(I - H)_{., g} A_g X_g (X'X)^-1 ell``,
    the df are ``(sum of eigenvalues of G'G)^2 / sum of their squares``.
    """
    n = design.shape[0]
    columns = []
    for rows, weights in pieces:
        a = weights @ ell  # A_g X_g (X'X)^-1 ell, shape (n_g,)
        column = np.zeros(n)
        column[rows] = a
        column -= design @ (xtx_inv @ (design[rows].T @ a))  # (I - H) restricted to cluster g's columns
        columns.append(column)
    g = np.column_stack(columns)
    gtg = g.T @ g
    return float(np.trace(gtg) ** 2 / np.sum(gtg * gtg))


def clustered_fit(x: np.ndarray, y: np.ndarray, clusters: np.ndarray, level: float = 0.9) -> TrendFit:
    """Fit ``y = a + b x`` by least squares, with CR2 year-clustered errors and a Bell-McCaffrey t interval.

    Parameters
    ----------
    x : ndarray
        Years [year].
    y : ndarray
        log10 training compute [log10(FLOP)].
    clusters : ndarray
        A label per point; points with the same label (the same calendar year) share
        an error component.
    level : float
        Central probability of the slope's interval, in (0, 1).

    Returns
    -------
    TrendFit

    Raises
    ------
    ValueError
        With fewer than 3 clusters or 3 points, or when ``x`` does not vary.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    clusters = np.asarray(clusters)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    n_clusters = np.unique(clusters).size
    if x.size < 3 or n_clusters < 3:
        raise ValueError(f"a trend needs at least 3 years with runs, got {n_clusters}")
    if np.ptp(x) == 0:
        raise ValueError("the years do not vary")
    beta, covariance, resid, (design, xtx_inv, pieces) = _cr2(x, y, clusters)
    se = math.sqrt(covariance[1, 1])
    df = _bell_mccaffrey_df(np.array([0.0, 1.0]), design, xtx_inv, pieces)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return TrendFit(
        slope=float(beta[1]),
        slope_low=float(beta[1] - half),
        slope_high=float(beta[1] + half),
        level=level,
        df=df,
        se=se,
        x_mean=float(x.mean()),
        intercept=float(beta[0]),
        covariance=covariance,
        n=int(x.size),
        n_clusters=int(n_clusters),
        residual_sd=float(math.sqrt(resid @ resid / (x.size - 2))),
        residual_p5=float(np.quantile(resid, 0.05)),
        residual_p95=float(np.quantile(resid, 0.95)),
    )


@dataclass(frozen=True)
class HistoryFit:
    """The largest-run and frontier fits over one window of years, and the trend's value at its end.

    Parameters
    ----------
    source : str
        The runs file.
    since, until : int
        First and last calendar year of the window [year].
    top : int
        The frontier is the top ``top`` runs by compute at publication.
    n_runs : int
        Runs in the window (all of them, frontier or not).
    largest : TrendFit
        The largest run of each year against the calendar year.
    frontier : TrendFit
        Frontier runs against their decimal publication year, clustered by calendar year.
    largest_years : ndarray of int
        The years of the largest-run fit [year].
    largest_log10_flop : ndarray
        Each year's largest compute [log10(FLOP)].
    largest_systems : tuple of str
        Each year's largest run.
    trend_year : int
        The year the trend is evaluated at: ``until`` [year].
    trend_log10 : float
        The largest-run line at ``trend_year`` [log10(FLOP)].
    trend_interval : tuple of float
        Central ``level`` prediction interval of a year's largest run at ``trend_year``:
        the line's CR2 variance plus the residual variance, Student t with ``n - 2``
        degrees of freedom [log10(FLOP)].
    hardware_doubling : float
        Hardware FLOP per USD doubling time taken out to leave spend's share [year].
    """

    source: str
    since: int
    until: int
    top: int
    n_runs: int
    largest: TrendFit
    frontier: TrendFit
    largest_years: np.ndarray
    largest_log10_flop: np.ndarray
    largest_systems: tuple[str, ...]
    trend_year: int
    trend_log10: float
    trend_interval: tuple[float, float]
    hardware_doubling: float = DEFAULT_HARDWARE_DOUBLING

    @property
    def spend_slope(self) -> tuple[float, float, float]:
        """Spend's share of the largest-run growth, after hardware: rate and interval [OOM/year]."""
        hardware = _LOG10_2 / self.hardware_doubling
        fit = self.largest
        return fit.slope - hardware, fit.slope_low - hardware, fit.slope_high - hardware

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain values, for ``--json``."""
        return {
            "data": self.source,
            "credit": DATA_CREDIT if self.source == BUNDLED_DATA else None,
            "since": self.since,
            "until": self.until,
            "frontier_top": self.top,
            "n_runs": self.n_runs,
            "method": "OLS; CR2 year-clustered standard errors; Student t with Bell-McCaffrey df",
            "largest": {
                **self.largest.to_dict(),
                "runs": [
                    {"year": int(y), "system": s, "flop": float(10.0**v)}
                    for y, v, s in zip(self.largest_years, self.largest_log10_flop, self.largest_systems, strict=True)
                ],
            },
            "frontier": self.frontier.to_dict(),
            "trend": {
                "year": self.trend_year,
                "flop": 10.0**self.trend_log10,
                "flop_interval": [10.0 ** self.trend_interval[0], 10.0 ** self.trend_interval[1]],
                "level": self.largest.level,
            },
            "hardware_doubling_years": self.hardware_doubling,
            "spend_oom_per_year": self.spend_slope[0],
            "spend_oom_per_year_interval": list(self.spend_slope[1:]),
            "prior_block": prior_block(self),
        }


def fit_history(
    runs: Runs,
    since: int | None = None,
    until: int | None = None,
    top: int = 10,
    *,
    level: float = 0.9,
    hardware_doubling: float = DEFAULT_HARDWARE_DOUBLING,
) -> HistoryFit:
    """Fit the growth of the largest run per year and of the frontier runs over ``since..until``.

    Parameters
    ----------
    runs : Runs
        From :func:`read_runs`.
    since, until : int, optional
        First and last calendar year of the window [year]; default the data's first and last.
    top : int
        Frontier runs are those in the top ``top`` by compute at publication
        (:func:`frontier_mask`).
    level : float
        Central probability of every interval.
    hardware_doubling : float
        Doubling time of hardware FLOP per USD [year], taken out of the largest-run growth
        for the prior block's spend growth.

    Returns
    -------
    HistoryFit

    Raises
    ------
    HistoryDataError
        When the window holds fewer than 3 years with runs, or fewer than 3 years with
        frontier runs.
    """
    calendar = runs.calendar_year
    since = int(calendar.min()) if since is None else since
    until = int(calendar.max()) if until is None else until
    if since > until:
        raise HistoryDataError(f"the window {since}-{until} is empty: since must not be after until")
    if not (math.isfinite(hardware_doubling) and hardware_doubling > 0):
        raise HistoryDataError(f"hardware doubling time must be a positive number of years, got {hardware_doubling}")
    window = (calendar >= since) & (calendar <= until)
    years, log10_max, systems = largest_per_year(runs, since, until)
    if years.size < 3:
        raise HistoryDataError(
            f"{runs.source}: {since}-{until} has runs in {years.size} year{'s' if years.size != 1 else ''}; "
            "a trend needs at least 3"
        )
    frontier = window & frontier_mask(runs, top)
    frontier_years = np.unique(calendar[frontier]).size
    if frontier_years < 3:
        raise HistoryDataError(
            f"{runs.source}: {since}-{until} has top-{top} frontier runs in {frontier_years} years; a trend needs 3"
        )
    largest = clustered_fit(years.astype(float), log10_max, years, level)
    frontier_fit = clustered_fit(runs.year[frontier], runs.log10_flop[frontier], calendar[frontier], level)
    trend = largest.value_at(until)
    ell = np.array([1.0, until - largest.x_mean])
    spread = math.sqrt(ell @ largest.covariance @ ell + largest.residual_sd**2)
    half = float(stats.t.ppf(0.5 + level / 2, largest.n - 2)) * spread
    return HistoryFit(
        source=runs.source,
        since=since,
        until=until,
        top=top,
        n_runs=int(window.sum()),
        largest=largest,
        frontier=frontier_fit,
        largest_years=years,
        largest_log10_flop=log10_max,
        largest_systems=systems,
        trend_year=until,
        trend_log10=trend,
        trend_interval=(trend - half, trend + half),
        hardware_doubling=hardware_doubling,
    )


# --------------------------------------------------------------------------- #
# Output                                                                       #
# --------------------------------------------------------------------------- #


def _g(value: float, digits: int = 3) -> str:
    """Write a number to ``digits`` significant figures."""
    return f"{value:.{digits}g}"


def data_name(source: str) -> str:
    """Return how output names a runs file: the credit of the bundled data, or ``the runs in NAME``."""
    return DATA_CREDIT if source == BUNDLED_DATA else f"the runs in {Path(source).name}"


def prior_block(fit: HistoryFit) -> str:
    """Return the fit as TOML a scenario can paste in: spend's growth prior, and the trend's value in comments.

    Physical FLOP is spend x FLOP per USD x utilization, so spend's growth is the
    largest-run growth less hardware's (``fit.hardware_doubling``). The block's prior is
    a lognormal whose 5% and 95% points are the ends of that rate's interval, written
    as a doubling time in months, or as a growth factor per year when the interval
    reaches no growth.

    Parameters
    ----------
    fit : HistoryFit

    Returns
    -------
    str
        TOML text: comments, ``[spend]`` and its ``doubling_time`` or ``growth_per_year``.
    """
    largest = fit.largest
    pct = f"{largest.level:.0%}"
    rate, low, high = fit.spend_slope
    default = fit.hardware_doubling == DEFAULT_HARDWARE_DOUBLING
    hardware = f"# hardware's {_g(fit.hardware_doubling)}-year doubling of FLOP per USD" + (
        f"\n# ({_HARDWARE_SOURCE})" if default else " (--hardware-doubling)"
    )
    lines = [
        f"# Growth of the largest training run per year, {fit.since}-{fit.until}, fitted by `mcscale fit` to",
        f"# {data_name(fit.source)}:",
        f"# {largest.slope:.3f} OOM/year, {pct} interval [{largest.slope_low:.3f}, {largest.slope_high:.3f}]"
        " (least squares, year-clustered CR2 errors, Bell-McCaffrey t).",
        "# Physical FLOP = spend x FLOP per USD x utilization, so spend grows by what is left after",
        f"{hardware}: {rate:.3f} OOM/year [{low:.3f}, {high:.3f}].",
        "[spend]",
    ]
    if low > 0:
        p5, p95 = 12 * _LOG10_2 / high, 12 * _LOG10_2 / low
        lines.append(f'doubling_time = {{ dist = "lognormal", p5 = {_g(p5)}, p95 = {_g(p95)}, unit = "month" }}')
    else:
        lines.append(f'growth_per_year = {{ dist = "lognormal", p5 = {_g(10.0**low)}, p95 = {_g(10.0**high)} }}')
    lo, hi = fit.trend_interval
    lines += [
        f"# The largest run of {fit.trend_year} on this trend: {10.0**fit.trend_log10:.2g} FLOP,",
        f"# {pct} prediction interval [{10.0**lo:.2g}, {10.0**hi:.2g}] (residual sd {largest.residual_sd:.2f} OOM):",
        "# choose spend.initial, hardware.flop_per_usd and utilization.value so that their product spans it.",
    ]
    return "\n".join(lines) + "\n"


def _row(label: str, fit: TrendFit) -> str:
    growth, doubling = fit.growth_per_year, fit.doubling_months

    def months(value: float) -> str:
        return f"{value:.2f}" if math.isfinite(value) else "none"

    oom = f"{fit.slope:.3f} [{fit.slope_low:.3f}, {fit.slope_high:.3f}]"
    factor = f"{growth[0]:.2f} [{growth[1]:.2f}, {growth[2]:.2f}]"
    double = f"{months(doubling[0])} [{months(doubling[1])}, {months(doubling[2])}]"
    return f"{label:<22}{fit.n:>5}{fit.n_clusters:>6}  {oom:<23}{factor:<21}{double:<24}{fit.residual_sd:.2f}"


def format_fit(fit: HistoryFit) -> str:
    """Return the fit as the text ``mcscale fit`` prints: a table, how it was fitted, the prior block."""
    pct = f"{fit.largest.level:.0%}"
    lo, hi = fit.trend_interval
    lines = [
        f"Growth of training compute, {fit.since}-{fit.until}: {data_name(fit.source)}, "
        f"{fit.n_runs} runs in the window",
        f"{'':<22}{'runs':>5}{'years':>6}  {'OOM/year [' + pct + ']':<23}{'x per year [' + pct + ']':<21}"
        f"{'doubling, months [' + pct + ']':<24}residual sd, OOM",
        _row("largest run per year", fit.largest),
        _row(f"top-{fit.top} frontier runs", fit.frontier),
        f"{pct} intervals: least squares with year-clustered CR2 errors and a Student t with Bell-McCaffrey "
        f"degrees of freedom ({fit.largest.df:.1f} and {fit.frontier.df:.1f}); runs of one year are not "
        "independent.",
        "The largest run per year (at its calendar year) is what mcscale's physical_flop models; frontier runs "
        "are at their publication date.",
        f"Largest run of {fit.trend_year} on the trend: {10.0**fit.trend_log10:.3g} FLOP, {pct} prediction interval "
        f"[{10.0**lo:.3g}, {10.0**hi:.3g}].",
        "",
        "Prior block to paste into a scenario:",
        "",
        prior_block(fit).rstrip("\n"),
    ]
    return "\n".join(lines) + "\n"
