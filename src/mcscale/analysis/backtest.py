"""Backtests: run a scenario from a past year and score the runs that came after.

A backtest as of year ``Y`` rewrites a scenario so that it starts in ``Y`` and ends in
the last year scored, samples it, and compares the **largest run of each later year**
in the record with the forecast of ``physical_flop`` in that year, which is what the
model describes (the largest training run of a year). A frontier run that was not its
year's largest is never compared with that forecast: it would read as a miss low.

The as-of starting values are **flags**, not a section of the scenario file: a
scenario says what its author believes from its own start year, and a backtest asks
what the same growth beliefs would have said from an earlier one, so the earlier start
belongs to the question, not to the scenario. When a flag is left out:

- ``hardware.flop_per_usd``: the scenario's own start-year prior (its 5% and 95%
  points), moved to the as-of year along the scenario's median hardware growth;
- ``spend.initial``: the largest run of the as-of year in the record, divided by the
  medians of that FLOP per USD and of the utilization, so that the as-of year's median
  physical FLOP is the record;
- ``utilization.value``: the scenario's.

Everything else is the scenario's: its growth priors, caps (their start values read as
the as-of year's), correlations. Regimes that start on or before the as-of year become
the base rates; regimes that start on or after the last scored year are dropped;
``[[questions]]`` and ``[estimate]`` are dropped.

Scores per year: the PIT (the forecast's probability of a value at or below the
record), whether the record lies inside the central 50% and 90% bands, and the log
score (natural log of the forecast density of log10 FLOP at the record, from a Gaussian
kernel density estimate; higher is better).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from mcscale.analysis.history import BUNDLED_DATA, DATA_CREDIT, Runs, data_name, largest_per_year
from mcscale.api import run
from mcscale.estimate import EstimateError, parse_prior
from mcscale.model.prior_tables import Problems, parse_prior_table
from mcscale.model.priors import PriorSpec
from mcscale.model.scenario import Scenario
from mcscale.results.base import Result
from mcscale.scenario_file import parse_scenario

__all__ = [
    "BacktestError",
    "BacktestResult",
    "StartValue",
    "YearScore",
    "as_of_scenario",
    "backtest",
    "format_backtest",
    "log_scores",
    "pit_values",
    "score_years",
    "to_toml",
]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_GROWTH_KEYS = ("doubling_time", "growth_per_year")


class BacktestError(ValueError):
    """A backtest that cannot be set up (a year, a flag or a prior): one line naming what is wrong."""


# --------------------------------------------------------------------------- #
# Scores                                                                       #
# --------------------------------------------------------------------------- #


def pit_values(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Probability integral transform of each observation under its forecast samples.

    Parameters
    ----------
    samples : ndarray, shape (n_draws, n_obs)
        Forecast draws, one column per observation (log10 values [log10(FLOP)]).
    observed : ndarray, shape (n_obs,)
        The observations, in the same unit.

    Returns
    -------
    ndarray, shape (n_obs,)
        ``P(draw < obs) + P(draw == obs) / 2`` (mid-rank, so that ties count half).
    """
    samples = np.asarray(samples, dtype=float)
    observed = np.asarray(observed, dtype=float)
    below = (samples < observed).mean(axis=0)
    equal = (samples == observed).mean(axis=0)
    return below + 0.5 * equal


def log_scores(samples: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Log predictive density of each observation, from a Gaussian KDE of its forecast samples.

    Parameters
    ----------
    samples : ndarray, shape (n_draws, n_obs)
        Forecast draws of log10 FLOP, one column per observation.
    observed : ndarray, shape (n_obs,)
        Observed log10 FLOP.

    Returns
    -------
    ndarray, shape (n_obs,)
        Natural log of the density of log10 FLOP at the observation [nats]
        (``scipy.stats.gaussian_kde``, Scott's bandwidth); NaN where the forecast is one
        value (no density).
    """
    samples = np.asarray(samples, dtype=float)
    out = np.full(samples.shape[1], np.nan)
    for j, obs in enumerate(np.asarray(observed, dtype=float)):
        column = samples[:, j]
        if np.ptp(column) > 0:
            out[j] = float(stats.gaussian_kde(column).logpdf(obs)[0])
    return out


@dataclass(frozen=True)
class YearScore:
    """One scored year: its largest run in the record against the forecast of that year.

    Parameters
    ----------
    year : int
        The year [year].
    system : str
        The year's largest run.
    log10_flop : float
        Its training compute [log10(FLOP)].
    pit : float
        Forecast probability of a value at or below it.
    log_score : float
        Natural log of the forecast density of log10 FLOP at it [nats]; NaN for a point forecast.
    median : float
        Forecast median [log10(FLOP)].
    band50, band90 : tuple of float
        Forecast central 50% and 90% intervals [log10(FLOP)].
    """

    year: int
    system: str
    log10_flop: float
    pit: float
    log_score: float
    median: float
    band50: tuple[float, float]
    band90: tuple[float, float]

    @property
    def inside50(self) -> bool:
        """Whether the run lies inside the central 50% band (PIT in [0.25, 0.75])."""
        return 0.25 <= self.pit <= 0.75

    @property
    def inside90(self) -> bool:
        """Whether the run lies inside the central 90% band (PIT in [0.05, 0.95])."""
        return 0.05 <= self.pit <= 0.95

    def to_dict(self) -> dict[str, Any]:
        """Return the score as plain values; FLOP as numbers, not log10."""
        return {
            "year": self.year,
            "system": self.system,
            "flop": 10.0**self.log10_flop,
            "pit": self.pit,
            "inside_50": self.inside50,
            "inside_90": self.inside90,
            "log_score": None if math.isnan(self.log_score) else self.log_score,
            "forecast_median": 10.0**self.median,
            "forecast_50": [10.0**v for v in self.band50],
            "forecast_90": [10.0**v for v in self.band90],
        }


def score_years(
    result: Result, years: np.ndarray, log10_flop: np.ndarray, systems: tuple[str, ...], metric: str = "physical_flop"
) -> tuple[YearScore, ...]:
    """Score observed values against a materialized result's forecast of ``metric`` in their years.

    Parameters
    ----------
    result : Result
        A materialized result whose grid holds every year of ``years``.
    years : ndarray of int
        The years [year].
    log10_flop : ndarray
        The observed values [log10 of the metric's unit].
    systems : tuple of str
        A name per observation.
    metric : str
        The trajectory variable the observations are values of.

    Returns
    -------
    tuple of YearScore
    """
    trajectories = result.trajectories[metric]
    samples = np.column_stack([trajectories.sel(year=float(y)).values.ravel() for y in years])
    observed = np.asarray(log10_flop, dtype=float)
    pit = pit_values(samples, observed)
    logs = log_scores(samples, observed)
    q = np.quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    return tuple(
        YearScore(
            year=int(y),
            system=systems[j],
            log10_flop=float(observed[j]),
            pit=float(pit[j]),
            log_score=float(logs[j]),
            median=float(q[2, j]),
            band50=(float(q[1, j]), float(q[3, j])),
            band90=(float(q[0, j]), float(q[4, j])),
        )
        for j, y in enumerate(years)
    )


# --------------------------------------------------------------------------- #
# The as-of scenario                                                           #
# --------------------------------------------------------------------------- #


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if math.isfinite(value):
            return repr(value)
        return "nan" if math.isnan(value) else ("-inf" if value < 0 else "inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: dict[str, Any]) -> str:
    """Write parsed TOML (tables of values, arrays of tables) back as TOML text.

    Parameters
    ----------
    data : dict
        As :func:`tomllib.loads` returns it: top-level tables become ``[section]``,
        arrays of tables ``[[section]]``, nested tables inline tables.

    Returns
    -------
    str
    """
    lines: list[str] = []
    for section, body in data.items():
        if isinstance(body, list) and all(isinstance(t, dict) for t in body):
            for table in body:
                lines.append(f"[[{_toml_key(section)}]]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
                lines.append("")
        elif isinstance(body, dict):
            lines.append(f"[{_toml_key(section)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in body.items()]
            lines.append("")
        else:
            lines.insert(0, f"{_toml_key(section)} = {_toml_value(body)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class StartValue:
    """One as-of starting value and where it came from.

    Parameters
    ----------
    key : str
        The prior it sets, e.g. ``spend.initial``.
    written : float or dict
        The prior as a scenario would write it.
    how : str
        Where it came from, in words.
    """

    key: str
    written: float | dict[str, Any]
    how: str

    def text(self) -> str:
        """Return the prior as TOML would write it."""
        return _toml_value(self.written)


def _quantiles(spec: PriorSpec, levels: tuple[float, ...], flag: str) -> np.ndarray:
    try:
        return spec.ppf(np.array(levels))
    except ValueError:
        raise BacktestError(
            f"{spec.name} is a {spec.dist} prior, whose quantiles the backtest cannot move to another year; give {flag}"
        ) from None


def _flop_per_usd_quantiles(scenario: Scenario) -> np.ndarray:
    """Return the 5%, 50% and 95% points of the scenario's start-year FLOP per USD [FLOP/USD]."""
    if "hardware.flop_per_usd" in scenario.priors:
        return _quantiles(scenario.priors["hardware.flop_per_usd"], (0.05, 0.5, 0.95), "--flop-per-usd")
    price = _quantiles(scenario.priors["hardware.price_per_flop"], (0.95, 0.5, 0.05), "--flop-per-usd")
    return 1.0 / price


def _hardware_rate(spec: PriorSpec) -> float:
    """Median doublings of FLOP per USD per year of a hardware growth prior [1/year]."""
    median = float(_quantiles(spec, (0.5,), "--flop-per-usd")[0])
    return 1.0 / median if spec.name.split("@")[0].endswith("doubling_time") else math.log2(median)


def _hardware_doublings(scenario: Scenario, start: int, stop: int) -> float:
    """Median doublings of FLOP per USD from ``start`` to ``stop`` along the scenario's regimes.

    Before the scenario's start year its base rate applies; a regime's rate covers the
    years from its start on.
    """
    low, high = sorted((start, stop))
    total = 0.0
    for year in range(low, high):
        spec = next(
            (s for key in ("hardware.doubling_time", "hardware.growth_per_year") if (s := scenario.priors.get(key))),
            None,
        )
        for regime in scenario.regimes:
            if regime.start_year <= year:
                for key in ("hardware.doubling_time", "hardware.growth_per_year"):
                    if key in regime.priors:
                        spec = regime.priors[key]
        assert spec is not None  # a valid scenario has a hardware growth prior
        total += _hardware_rate(spec)
    return total if stop >= start else -total


def _flag_prior(text: str | float, key: str, flag: str, domain: str) -> float | dict[str, Any]:
    """Return a flag's number or inline prior as a scenario would write it."""
    if isinstance(text, int | float):
        if not (math.isfinite(text) and text > 0):
            raise BacktestError(f"{flag}: must be a finite positive number, got {text!r}")
        return float(text)
    try:
        spec = parse_prior(text, name=flag, domain=domain)
    except (EstimateError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else f"cannot parse {text!r}"
        raise BacktestError(f"{flag}: {message.removeprefix(f'{flag}: ')}") from None
    written = spec.written
    if isinstance(written, int | float) and not math.isfinite(written):
        raise BacktestError(f"{flag}: must be finite, got {text!r}")
    return written


def _lognormal(p5: float, median: float, p95: float) -> float | dict[str, Any]:
    """Return a lognormal through ``p5`` and ``p95`` (4 significant digits), or the median if they coincide."""
    if p5 == p95:
        return float(f"{median:.4g}")
    return {"dist": "lognormal", "p5": float(f"{p5:.4g}"), "p95": float(f"{p95:.4g}")}


def _median_of(written: float | dict[str, Any], key: str, flag: str) -> float:
    """Return the median of a prior as written [canonical units]."""
    problems = Problems()
    spec = parse_prior_table(key, key, written, problems, is_time=False)
    if spec is None:  # pragma: no cover - the written forms come from validated priors
        raise BacktestError(f"{key}: " + "; ".join(message for _, message in problems.items))
    return float(_quantiles(spec, (0.5,), flag)[0])


def as_of_scenario(
    scenario: Scenario,
    as_of: int,
    until: int,
    *,
    record_flop: float | None = None,
    record_system: str = "",
    spend: str | float | None = None,
    flop_per_usd: str | float | None = None,
    utilization: str | float | None = None,
) -> tuple[Scenario, tuple[StartValue, ...]]:
    """Rewrite ``scenario`` to start in ``as_of`` and end in ``until``, with as-of starting values.

    Parameters
    ----------
    scenario : Scenario
        As loaded (its ``text`` is rewritten).
    as_of, until : int
        The new start year and the last year scored [year]; ``until > as_of``.
    record_flop : float, optional
        Compute of the largest run of the as-of year [FLOP]; needed when ``spend`` is left out.
    record_system : str
        Its name, for the description of the starting value.
    spend, flop_per_usd, utilization : str or float, optional
        Numbers or inline priors (``"lognormal(p5, p95)"``) for ``spend.initial`` [USD],
        ``hardware.flop_per_usd`` [FLOP/USD] and ``utilization.value`` in the as-of year;
        defaults as the module says.

    Returns
    -------
    scenario : Scenario
        The rewritten, validated scenario, named ``"NAME as of YEAR"``.
    start : tuple of StartValue
        The three starting values and where each came from.

    Raises
    ------
    BacktestError
        For a bad year or flag, or a default that cannot be computed.
    ScenarioError
        If the rewritten scenario does not validate.
    """
    if until <= as_of:
        raise BacktestError(f"--as-of {as_of}: no year to score after it (the last is {until})")
    data = tomllib.loads(scenario.text)
    start = int(round(scenario.start))
    values: list[StartValue] = []

    if flop_per_usd is not None:
        fpu = _flag_prior(flop_per_usd, "hardware.flop_per_usd", "--flop-per-usd", "positive")
        values.append(StartValue("hardware.flop_per_usd", fpu, "--flop-per-usd"))
    else:
        doublings = _hardware_doublings(scenario, start, as_of)
        q = _flop_per_usd_quantiles(scenario) * 2.0**doublings
        fpu = _lognormal(*q)
        direction = "back" if as_of < start else "on"
        values.append(
            StartValue(
                "hardware.flop_per_usd",
                fpu,
                f"the scenario's {start} prior moved {direction} {abs(as_of - start)} years along its median "
                f"hardware growth (x{2.0**doublings:.3g})",
            )
        )
    if utilization is not None:
        util: float | dict[str, Any] | None = _flag_prior(utilization, "utilization.value", "--utilization", "fraction")
        values.append(StartValue("utilization.value", util, "--utilization"))
    else:
        util = None
        written = scenario.priors["utilization.value"].written
        values.append(StartValue("utilization.value", written, "the scenario's"))
    if spend is not None:
        spend_written = _flag_prior(spend, "spend.initial", "--spend", "positive")
        values.append(StartValue("spend.initial", spend_written, "--spend"))
    else:
        if record_flop is None:
            raise BacktestError(f"no run of {as_of} in the record to start from; give --spend")
        fpu_median = _median_of(fpu, "hardware.flop_per_usd", "--flop-per-usd or --spend")
        util_written = scenario.priors["utilization.value"].written if util is None else util
        util_median = min(_median_of(util_written, "utilization.value", "--utilization or --spend"), 1.0)
        centre = record_flop / (fpu_median * util_median)
        q = _quantiles(scenario.priors["spend.initial"], (0.05, 0.5, 0.95), "--spend")
        spend_written = _lognormal(centre * q[0] / q[1], centre, centre * q[2] / q[1])
        values.append(
            StartValue(
                "spend.initial",
                spend_written,
                f"the largest run of {as_of}, {record_system} ({record_flop:.3g} FLOP), / median FLOP per USD "
                f"{fpu_median:.3g} / median utilization {util_median:.3g}, with the spread of the scenario's "
                f"{start} prior",
            )
        )

    data.pop("estimate", None)
    data.pop("questions", None)
    table = data["scenario"]
    table["name"] = f"{table.get('name', scenario.name)} as of {as_of}"
    table["description"] = f"{scenario.name} run from {as_of}, with as-of starting values (mcscale backtest)"
    table.update(start=as_of, end=until, step=1)
    data["spend"]["initial"] = spend_written
    data["hardware"].pop("price_per_flop", None)
    data["hardware"]["flop_per_usd"] = fpu
    if util is not None:
        data["utilization"]["value"] = util

    # Regimes: merge those in force at the as-of year into the base, drop those after the end.
    names: dict[str, str | None] = {}  # prior name -> its name in the rewritten scenario, or None if gone
    kept = []
    for regime in data.get("regimes", []):
        year = regime["from"]
        suffix = f"@{float(year):g}"
        changes = {(s, k): v for s, entries in regime.items() if s != "from" for k, v in entries.items()}
        if year <= as_of:
            for (section, key), value in changes.items():
                base = data.setdefault(section, {})
                for other in (key, *[g for g in _GROWTH_KEYS if key in _GROWTH_KEYS and g != key]):
                    if other in base:
                        base.pop(other)
                        names[f"{section}.{other}"] = None  # replaced: its correlations no longer apply
                for old, new in list(names.items()):
                    if new == f"{section}.{key}":
                        names[old] = None  # an earlier regime's rate, replaced again
                base[key] = value
                names[f"{section}.{key}{suffix}"] = f"{section}.{key}"
        elif year >= until:
            names.update({f"{s}.{k}{suffix}": None for s, k in changes})
        else:
            kept.append(regime)
    if "regimes" in data:
        data["regimes"] = kept
        if not kept:
            del data["regimes"]
    if "correlations" in data:
        correlations = []
        for pair in data["correlations"]:
            renamed = [names.get(name, name) for name in pair["pair"]]
            if all(name is not None for name in renamed):
                correlations.append({**pair, "pair": renamed})
        data["correlations"] = correlations
        if not correlations:
            del data["correlations"]
    text = to_toml(data)
    return parse_scenario(text, source=f"{scenario.source} (as of {as_of})"), tuple(values)


# --------------------------------------------------------------------------- #
# The backtest                                                                 #
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class BacktestResult:
    """A scenario's forecast from an as-of year, scored against the largest run of each later year.

    Parameters
    ----------
    scenario : str
        The original scenario's name.
    as_of, until : int
        The start year and the last year scored [year].
    start : tuple of StartValue
        The as-of starting values.
    scores : tuple of YearScore
        One per later year with runs in the record.
    n_draws, seed : int
    data : str
        The runs file (``frontier_runs.csv`` for the bundled data).
    """

    scenario: str
    as_of: int
    until: int
    start: tuple[StartValue, ...]
    scores: tuple[YearScore, ...]
    n_draws: int
    seed: int
    data: str

    @property
    def share_inside50(self) -> float:
        """Share of scored years whose largest run lies inside the central 50% band."""
        return float(np.mean([s.inside50 for s in self.scores]))

    @property
    def share_inside90(self) -> float:
        """Share of scored years whose largest run lies inside the central 90% band."""
        return float(np.mean([s.inside90 for s in self.scores]))

    @property
    def mean_log_score(self) -> float:
        """Mean log score over the scored years [nats]; NaN if any forecast is a point."""
        return float(np.mean([s.log_score for s in self.scores]))

    @property
    def mean_pit(self) -> float:
        """Mean PIT (0.5 for a forecast that is neither high nor low on average)."""
        return float(np.mean([s.pit for s in self.scores]))

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain values, for ``--json``."""
        log_score = self.mean_log_score
        return {
            "scenario": self.scenario,
            "as_of": self.as_of,
            "until": self.until,
            "metric": "physical_flop",
            "compared": "the largest run of each year with the forecast of the largest run",
            "data": self.data,
            "credit": DATA_CREDIT if self.data == BUNDLED_DATA else None,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "start": {v.key: {"prior": v.written, "from": v.how} for v in self.start},
            "years": [s.to_dict() for s in self.scores],
            "n_years": len(self.scores),
            "share_inside_50": self.share_inside50,
            "share_inside_90": self.share_inside90,
            "mean_log_score": None if math.isnan(log_score) else log_score,
            "mean_pit": self.mean_pit,
        }


def backtest(
    scenario: Scenario,
    as_of: int,
    runs: Runs,
    *,
    until: int | None = None,
    spend: str | float | None = None,
    flop_per_usd: str | float | None = None,
    utilization: str | float | None = None,
    n_draws: int = 100_000,
    seed: int = 0,
    threads: int | None = None,
) -> tuple[BacktestResult, Result]:
    """Run ``scenario`` from ``as_of`` and score the largest run of every later year in ``runs``.

    Parameters
    ----------
    scenario : Scenario
    as_of : int
        The year the forecast starts from [year].
    runs : Runs
        The record (:func:`mcscale.analysis.history.read_runs`).
    until : int, optional
        The last year scored [year]; default the record's last year.
    spend, flop_per_usd, utilization : str or float, optional
        As-of starting values (see :func:`as_of_scenario`).
    n_draws, seed, threads : int
        Sampling, as :func:`mcscale.run`.

    Returns
    -------
    BacktestResult
    Result
        The materialized run of the as-of scenario (for a fan chart).

    Raises
    ------
    BacktestError
        For a bad year or flag.
    """
    last = int(runs.calendar_year.max())
    until = last if until is None else until
    if until > last:
        raise BacktestError(f"--until {until}: the record ends in {last}")
    years, log10_max, systems = largest_per_year(runs, as_of, until)
    record = {int(y): (float(10.0**v), s) for y, v, s in zip(years, log10_max, systems, strict=True)}
    later = years > as_of
    if not later.any():
        raise BacktestError(f"--as-of {as_of}: the record ({runs.source}) has no run after it up to {until}")
    flop, system = record.get(as_of, (None, ""))
    rewritten, start = as_of_scenario(
        scenario,
        as_of,
        until,
        record_flop=flop,
        record_system=system,
        spend=spend,
        flop_per_usd=flop_per_usd,
        utilization=utilization,
    )
    result = run(rewritten, n_draws=n_draws, seed=seed, mode="materialized", threads=threads)
    held_out = tuple(s for s, k in zip(systems, later, strict=True) if k)
    scores = score_years(result, years[later], log10_max[later], held_out)
    return BacktestResult(scenario.name, as_of, until, start, scores, result.n_draws, seed, runs.source), result


def _e(log10_value: float) -> str:
    return f"{10.0**log10_value:.2e}"


def format_backtest(bt: BacktestResult) -> str:
    """Return the backtest as the text ``mcscale backtest`` prints: the start, a row per year, the summary."""
    lines = [
        f"{bt.scenario} as of {bt.as_of}: the forecast of the largest run of each year (physical FLOP) against the "
        f"largest run of {bt.as_of + 1}-{bt.until} in {data_name(bt.data)}",
        f"{bt.n_draws} draws, seed {bt.seed}; starting values in {bt.as_of}:",
    ]
    lines += [f"  {v.key} = {v.text()}  ({v.how})" for v in bt.start]
    lines.append(
        f"{'year':>6}  {'largest run':<28}{'FLOP':>10}  {'forecast median [90%]':<34}{'PIT':>6}  "
        f"{'50%':>4}  {'90%':>4}  {'log score':>9}"
    )
    for s in bt.scores:
        name = s.system if len(s.system) <= 27 else s.system[:26] + "…"
        forecast = f"{_e(s.median)} [{_e(s.band90[0])}, {_e(s.band90[1])}]"
        log_score = "—" if math.isnan(s.log_score) else f"{s.log_score:.2f}"
        lines.append(
            f"{s.year:>6}  {name:<28}{_e(s.log10_flop):>10}  {forecast:<34}{s.pit:>6.3f}  "
            f"{'yes' if s.inside50 else 'no':>4}  {'yes' if s.inside90 else 'no':>4}  {log_score:>9}"
        )
    n = len(bt.scores)
    log_score = bt.mean_log_score
    lines += [
        f"{n} years scored: inside the 50% band {sum(s.inside50 for s in bt.scores)}/{n} ({bt.share_inside50:.2f}), "
        f"inside the 90% band {sum(s.inside90 for s in bt.scores)}/{n} ({bt.share_inside90:.2f}); "
        f"mean PIT {bt.mean_pit:.2f}; mean log score "
        + ("— (a point forecast)" if math.isnan(log_score) else f"{log_score:.2f}")
        + " (nats, density of log10 FLOP; higher is better)",
        "Only each year's largest run is scored: the model forecasts the largest run, not a top-10 member.",
    ]
    return "\n".join(lines) + "\n"
