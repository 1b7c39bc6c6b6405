"""Results: the ``xarray.DataTree`` of a run, its summaries, and netCDF I/O.

Layout (ArviZ conventions, chunks as chains):

- ``/prior``: one variable per sampled parameter, dims ``(chain, draw)``, in
  canonical units (``units`` attr) with the prior as written (``prior`` attr);
- ``/trajectories``: ``spend``, ``cap`` (when capped), ``flop_per_usd``,
  ``physical_flop``, ``algo_multiplier``, ``effective_flop``, dims
  ``(chain, draw, year)``, stored as log10 values (``units = "log10(FLOP)"``...);
- ``/summary``: per-year quantiles of every trajectory variable (log10);
- root attrs: scenario text, seed, draws, chunking, version, creation time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from mcscale._files import write_atomic
from mcscale.engine import (
    TRAJECTORY_VARIABLES,
    ChunkLayout,
    RawRun,
)
from mcscale.scenario import BUILTIN_REFERENCES, Scenario, parse_scenario

__all__ = [
    "DEFAULT_QUANTILES",
    "SUMMARY_QUANTILES",
    "Answer",
    "QueryError",
    "Result",
    "parameter_unit",
    "resolve_threshold",
]

#: Quantiles kept in the ``summary`` group.
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

#: Quantiles a ``quantiles`` question reports by default.
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

#: Largest R-hat across chunks (chains) before an answer carries a warning.
RHAT_LIMIT = 1.01

_Z_95 = 1.959963984540054  # two-sided 95% normal quantile, for order-statistic intervals


class QueryError(ValueError):
    """A question that cannot be answered from this result (unknown metric, year outside the horizon...)."""


@dataclass(frozen=True)
class Answer:
    """The answer to one question, with its Monte Carlo standard error.

    Parameters
    ----------
    question : str
        The question, in the query language.
    kind : str
        ``probability``, ``crossing_year``, ``quantiles``, ``interval`` or ``cost``.
    unit : str
        Unit of the values (``"1"`` for probabilities, ``"year"``, ``"FLOP"``, ``"USD"``...).
    value : float, optional
        The probability, for ``probability``.
    mcse : float, optional
        MCSE of ``value``; None when no draw (or every draw) qualifies, see ``bound``.
    bound : tuple of (str, float), optional
        ``("upper", 3/n)`` or ``("lower", 1 - 3/n)``: the rule-of-three 95% bound when
        the estimate is 0 or 1.
    quantiles : dict of str to float, optional
        Quantile level (``"5%"``) -> value, for ``quantiles``, ``crossing_year`` and
        ``cost`` (physical FLOP).
    quantile_mcse : dict of str to float, optional
        MCSE of each quantile, from its 95% order-statistic interval / 3.92.
    interval : tuple of float, optional
        ``(lower, upper)`` for ``interval``.
    median : float, optional
        The median, for ``crossing_year`` and ``cost``.
    details : dict
        Anything else: ``p_never`` and its MCSE, the effective-FLOP cost, ESS and R-hat
        across chunks, the method and probability of an interval.
    n_draws, seed : int
        The run's size and seed.
    scenario : str
        The scenario's name.
    """

    question: str
    kind: str
    unit: str
    n_draws: int
    seed: int
    scenario: str
    value: float | None = None
    mcse: float | None = None
    bound: tuple[str, float] | None = None
    quantiles: dict[str, float] | None = None
    quantile_mcse: dict[str, float] | None = None
    interval: tuple[float, float] | None = None
    median: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def probability_mcse(self) -> float:
        """Largest MCSE of the answer on the probability scale.

        For a probability it is ``sqrt(p (1 - p) / n)``; for a quantile at level q the
        rank uncertainty ``sqrt(q (1 - q) / n)``: one scale that a ``--precision`` target
        can compare across kinds of answer.
        """
        n = self.n_draws
        if self.bound is not None:  # no draw (or every draw) qualified: the rule-of-three bound is the error
            return 3.0 / n
        levels = []
        if self.value is not None:
            levels.append(self.value)
        if "p_never" in self.details:
            levels.append(self.details["p_never"])
        for key in self.quantiles or {}:
            if key.endswith("%"):
                levels.append(float(key[:-1]) / 100)
        if self.interval is not None:
            prob = self.details.get("prob", 0.9)
            levels += [(1 - prob) / 2, (1 + prob) / 2]
        return max((math.sqrt(p * (1 - p) / n) for p in levels), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``question, kind, value | quantiles | ..., mcse, n_draws, seed, scenario``)."""
        out: dict[str, Any] = {"question": self.question, "kind": self.kind, "unit": self.unit}
        for key in ("value", "quantiles", "interval", "median", "bound"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        out["mcse"] = self.mcse if self.kind == "probability" else self.quantile_mcse
        out.update(self.details)
        out.update({"n_draws": self.n_draws, "seed": self.seed, "scenario": self.scenario})
        return _json_ready(out)

    def __str__(self) -> str:
        text = self._text()
        return f"{text} WARNING: {self.details['warning']}" if "warning" in self.details else text

    def _text(self) -> str:
        tail = f"(MCSE, {self.n_draws} draws, seed {self.seed})"
        if self.kind == "probability":
            if self.bound is not None:
                side, limit = self.bound
                relation = "<" if side == "upper" else ">"
                return (
                    f"{self.question} = {self.value:.4g} {relation} {limit:.6g} at 95% "
                    f"(no MCSE: {'no' if side == 'upper' else 'every'} draw qualifies; rule of three, "
                    f"{self.n_draws} draws, seed {self.seed})"
                )
            value, mcse = format_probability(self.value, self.mcse)
            return f"{self.question} = {value} ± {mcse} {tail}"
        if self.kind == "interval":
            lo, hi = self.interval  # type: ignore[misc]
            d = self.details
            return f"{self.question} = [{format_value(lo, self.unit)}, {format_value(hi, self.unit)}] {tail}".replace(
                "(MCSE,",
                f"({d['method'].upper()} {d['prob']:.0%} on log10 values, "
                + (f"ESS {d['ess']:.0f}," if "ess" in d else "from histograms," if "bin_width_dex" in d else ""),
            )
        q = self.quantiles or {}
        mcse = self.quantile_mcse or {}
        body = ", ".join(
            f"{k} {format_value(v, self.unit)} ± {format_value(mcse[k], self.unit, sign=False)}" for k, v in q.items()
        )
        if self.kind == "crossing_year":
            never = self.details["p_never"]
            end = f"P(never by {self.details['horizon_end']:g})"
            if never in (0.0, 1.0):  # no MCSE at 0 or 1: the rule-of-three bound instead
                bound = f"< {3 / self.n_draws:.3g}" if never == 0.0 else f"> {1 - 3 / self.n_draws:.6g}"
                body += f"; {end} {bound} (rule of three)"
            else:
                value, mcse = format_probability(never, self.details["p_never_mcse"])
                body += f"; {end} = {value} ± {mcse}"
        if self.kind == "cost":
            eff = self.details["effective_flop_quantiles"]
            body = f"physical FLOP: {body}; effective FLOP: " + ", ".join(
                f"{k} {format_value(v, self.unit)}" for k, v in eff.items()
            )
        return f"{self.question}: {body} {tail}"


def _json_ready(value: Any) -> Any:
    """Replace non-finite floats (a crossing year of "never") by None, recursively."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_probability(value: float, mcse: float) -> tuple[str, str]:
    """Return a probability and its MCSE as text, with decimals enough for two digits of the MCSE.

    ``0.8220 ± 0.0012`` at 10^5 draws; ``0.821673 ± 0.000038`` at 10^8 (never ``± 0.0000``).
    """
    decimals = 4
    if math.isfinite(mcse) and mcse > 0:
        decimals = min(max(4, 1 - math.floor(math.log10(mcse))), 10)
    return f"{value:.{decimals}f}", f"{mcse:.{decimals}f}"


def format_value(value: float, unit: str, sign: bool = True) -> str:
    """Return a compact number in its unit: ``2.10e+25``, ``$1.5B``, ``2031.4``."""
    if not math.isfinite(value):
        return "never" if value > 0 else "-inf"
    if unit == "year":
        return f"{value:.1f}" if sign else f"{value:.2g}"
    if unit == "USD":
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= scale:
                return f"${value / scale:.3g}{suffix}"
        return f"${value:.3g}"
    if unit == "1":
        return f"{value:.4g}"
    return f"{value:.2e}"


_PARAMETER_UNITS = {
    "initial": "USD",
    "doubling_time": "year",
    "growth_per_year": "x/year",
    "cap": "USD",
    "cap_gdp_fraction": "1",
    "cap_growth_per_year": "x/year",
    "gdp": "USD/year",
    "gdp_growth_per_year": "x/year",
    "flop_per_usd": "FLOP/USD",
    "price_per_flop": "USD/FLOP",
    "max_flop_per_usd": "FLOP/USD",
    "value": "1",
    "max_gain": "1",
    "requirement": "FLOP",
    "flop": "FLOP",
}


def parameter_unit(name: str) -> str:
    """Return the canonical unit of a prior, e.g. ``"year"`` for ``spend.doubling_time@2030``."""
    key = name.split("@")[0].split(".")[-1]
    return _PARAMETER_UNITS[key]


def _version() -> str:
    from mcscale import __version__

    return __version__


class Result:
    """A sampled scenario, backed by an ``xarray.DataTree``.

    Parameters
    ----------
    tree : xarray.DataTree
        The run, in the layout of the module docstring.
    scenario : Scenario, optional
        The scenario; parsed from the tree's ``scenario_text`` attr when omitted.
    """

    def __init__(self, tree: xr.DataTree, scenario: Scenario | None = None) -> None:
        self.tree = tree
        self.scenario = scenario or parse_scenario(tree.attrs["scenario_text"], tree.attrs["scenario_source"])

    # -- construction and I/O ------------------------------------------------

    @classmethod
    def from_raw(cls, raw: RawRun, scenario: Scenario, seed: int, chunk_size: int) -> Result:
        """Assemble the DataTree of a materialized run."""
        layout = raw.layout
        coords = {"chain": np.arange(layout.n_chunks), "draw": np.arange(layout.chunk_length)}
        priors = scenario.all_priors()
        prior_vars = {}
        for row, name in enumerate(raw.parameter_names):
            spec = priors[name]
            if spec.is_fixed:
                continue
            prior_vars[name] = xr.Variable(
                ("chain", "draw"),
                raw.parameters[row],
                attrs={"units": parameter_unit(name), "dist": spec.dist, "prior": json.dumps(spec.written)},
            )
        prior = xr.Dataset(prior_vars, coords=coords, attrs={"fixed_parameters": fixed_parameters(scenario)})
        year_coords = {**coords, "year": raw.years}
        trajectories = xr.Dataset(
            {
                name: xr.Variable(
                    ("chain", "draw", "year"),
                    raw.trajectories[slot],
                    attrs={"units": f"log10({TRAJECTORY_VARIABLES[name]})", "log10": 1},
                )
                for slot, name in enumerate(raw.variables)
            },
            coords=year_coords,
        )
        tree = xr.DataTree.from_dict(
            {
                "/": xr.Dataset(attrs=run_attrs(scenario, seed, layout, chunk_size, "materialized", raw.seconds)),
                "prior": prior,
                "trajectories": trajectories,
                "summary": _summary(trajectories),
            }
        )
        return cls(tree, scenario)

    @classmethod
    def from_netcdf(cls, path: str | Path) -> Result:
        """Read a result written by :meth:`to_netcdf` (loaded into memory), of either mode."""
        try:
            with xr.open_datatree(path, engine="h5netcdf") as tree:
                tree = tree.load()
        except (OSError, ValueError) as exc:
            raise QueryError(f"{path}: cannot read as netCDF ({exc})") from None
        if "scenario_text" not in tree.attrs:
            raise QueryError(f"{path}: not an mcscale result (no scenario_text attribute)")
        if tree.attrs.get("mode") == "stream":
            from mcscale.streaming import StreamResult

            return StreamResult(tree)
        return Result(tree)

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the result to netCDF (h5netcdf) atomically.

        The file is written to a temporary name in the target directory and renamed,
        so a failed write leaves nothing behind.

        Parameters
        ----------
        path : str or path-like
            Output file; its directory must exist.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        return write_atomic(path, lambda tmp: self.tree.to_netcdf(tmp, engine="h5netcdf"))

    # -- accessors ----------------------------------------------------------

    @property
    def prior(self) -> xr.Dataset:
        """Parameter draws, dims ``(chain, draw)``."""
        return self.tree["prior"].to_dataset()

    @property
    def trajectories(self) -> xr.Dataset:
        """log10 trajectories, dims ``(chain, draw, year)``."""
        return self.tree["trajectories"].to_dataset()

    @property
    def summary(self) -> xr.Dataset:
        """Per-year quantiles of each trajectory variable (log10), dims ``(quantile, year)``."""
        return self.tree["summary"].to_dataset()

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return int(self.tree.attrs["n_draws"])

    @property
    def seed(self) -> int:
        """Root seed."""
        return int(self.tree.attrs["seed"])

    @property
    def years(self) -> np.ndarray:
        """The year grid [year]."""
        return self.tree["trajectories"]["year"].values

    def log10_quantiles(self, metric: str, q: tuple[float, ...]) -> np.ndarray:
        """Per-year quantiles of log10 ``metric``, shape (len(q), n_years) (``np.quantile``, linear)."""
        return _quantiles_of(self._metric(metric), np.asarray(q, dtype=float))

    def prior_quantiles(self, name: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of a parameter's draws [canonical units]."""
        return np.quantile(self.parameter_draws(name), q)

    def _signed(self, metric: str, threshold: Threshold, op: str) -> tuple[np.ndarray, np.ndarray]:
        """log10 values (n_draws, n_years) and per-draw thresholds, negated for ``<=`` so that ``>=`` serves."""
        values = self._metric(metric).reshape(-1, len(self.years))
        limit = np.broadcast_to(
            np.asarray(self._log10_threshold(threshold, metric), dtype=float).reshape(-1), (values.shape[0],)
        )
        return (-values, -limit) if op == "<=" else (values, limit)

    def exceedance_curve(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """P(metric >= threshold by year) for every grid year (no MCSE attached)."""
        values, limit = self._signed(metric, threshold, op)
        hit = np.maximum.accumulate(values, axis=1) >= limit[:, None]
        return np.count_nonzero(hit, axis=0) / values.shape[0]

    def crossing_histogram(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """Share of draws first crossing in each grid interval, shape (n_years - 1,); the rest never do."""
        first = crossing_years(*self._signed(metric, threshold, op), self.years)
        counts, _ = np.histogram(first[np.isfinite(first)], bins=self.years)
        return counts / first.size

    def parameter_draws(self, name: str) -> np.ndarray:
        """Return a parameter's draws, dims (chain, draw) [canonical units]; fixed ones broadcast."""
        prior = self.tree["prior"]
        if name in prior.data_vars:
            return prior[name].values
        fixed = json.loads(prior.attrs.get("fixed_parameters", "{}"))
        if name in fixed:
            return np.full((prior.sizes["chain"], prior.sizes["draw"]), float(fixed[name]))
        raise QueryError(f"unknown parameter {name!r}; known: " + ", ".join(sorted([*prior.data_vars, *fixed])))

    # -- questions ----------------------------------------------------------

    def _metric(self, metric: str) -> np.ndarray:
        """log10 values of a trajectory variable, shape (chain, draw, year)."""
        traj = self.tree["trajectories"]
        if metric not in traj.data_vars:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(traj.data_vars))
        return traj[metric].values

    def _check_year(self, year: float) -> None:
        start, end = self.years[0], self.years[-1]
        if not start - 1e-9 <= year <= end + 1e-9:
            raise QueryError(f"year {year:g} is outside the horizon {start:g}..{end:g}")

    def _index_by(self, year: float) -> int:
        """Index of the last grid year <= ``year``."""
        self._check_year(year)
        return int(np.searchsorted(self.years, year + 1e-9, side="right")) - 1

    def _index_in(self, year: float) -> int:
        """Index of the grid year equal to ``year``."""
        self._check_year(year)
        index = int(np.argmin(np.abs(self.years - year)))
        if abs(self.years[index] - year) > 1e-9:
            step = self.years[1] - self.years[0]
            raise QueryError(f"year {year:g} is not on the grid ({self.years[0]:g}..{self.years[-1]:g} step {step:g})")
        return index

    def _log10_threshold(self, threshold: Threshold, metric: str = "effective_flop") -> float | np.ndarray:
        """log10 of a threshold: a number, ``(multiple, reference)``, or ``"requirement"`` (per draw)."""
        if isinstance(threshold, tuple) and metric not in ("effective_flop", "physical_flop"):
            raise QueryError(f"'{threshold[0]:g} x {threshold[1]}' is a FLOP threshold; {metric} is not in FLOP")
        log10_value, row_name = resolve_threshold(self.scenario, threshold)
        if row_name is None:
            return log10_value
        return log10_value + np.log10(self.parameter_draws(row_name))

    def _answer(self, question: str, kind: str, unit: str, **fields: Any) -> Answer:
        return Answer(
            question=question,
            kind=kind,
            unit=unit,
            n_draws=self.n_draws,
            seed=self.seed,
            scenario=self.scenario.name,
            **fields,
        )

    def probability(
        self,
        metric: str,
        threshold: Threshold,
        *,
        by: float | None = None,
        in_year: float | None = None,
        op: str = ">=",
        question: str | None = None,
    ) -> Answer:
        """P(metric >= threshold) by a year (at some grid year <= it) or in a grid year.

        Parameters
        ----------
        metric : str
            A trajectory variable.
        threshold : float, (float, str) or "requirement"
            A value in the metric's unit, a multiple of a reference run, or the
            milestone's requirement (a prior: compared draw by draw).
        by, in_year : float
            Exactly one: "by" uses the running max (min for ``<=``) over grid years.
        op : {">=", "<="}
        question : str, optional
            Text to report; generated when omitted.

        Returns
        -------
        Answer
            ``value`` with MCSE ``sqrt(p (1 - p) / n)``, or a rule-of-three bound.
        """
        if (by is None) == (in_year is None):
            raise QueryError("give exactly one of by= or in_year=")
        values = self._metric(metric)
        limit = self._log10_threshold(threshold, metric)
        if by is not None:
            window = values[..., : self._index_by(by) + 1]
            extreme = window.max(axis=-1) if op == ">=" else window.min(axis=-1)
        else:
            extreme = values[..., self._index_in(in_year)]
        hit = extreme >= limit if op == ">=" else extreme <= limit
        text = question or _probability_text(metric, op, threshold, by, in_year)
        return self._probability_answer(int(np.count_nonzero(hit)), text, _chain_checks(hit))

    def _probability_answer(self, count: int, text: str, details: dict[str, Any] | None = None) -> Answer:
        """Answer a probability from a count of draws: MCSE sqrt(p (1 - p) / n), or the rule-of-three bound."""
        n = self.n_draws
        p = count / n
        if p in (0.0, 1.0):
            bound = ("upper", 3.0 / n) if p == 0.0 else ("lower", 1.0 - 3.0 / n)
            return self._answer(text, "probability", "1", value=p, mcse=None, bound=bound, details=details or {})
        mcse = math.sqrt(p * (1 - p) / n)
        return self._answer(text, "probability", "1", value=p, mcse=mcse, details=details or {})

    def crossing_year(
        self, metric: str, threshold: Threshold, *, op: str = ">=", question: str | None = None
    ) -> Answer:
        """Distribution of the first year ``metric`` reaches ``threshold``.

        The year is interpolated linearly in log10 between the grid years around the
        first crossing; a draw already past the threshold at the start counts as the
        start year. Draws that never cross within the horizon are "never": their share
        is ``p_never``, and quantiles that fall among them read ``inf``.

        Returns
        -------
        Answer
            ``quantiles`` (5/25/50/75/95%) and ``median`` [year] with MCSE, ``p_never``.
        """
        years = crossing_years(*self._signed(metric, threshold, op), self.years)
        never = np.isinf(years)
        p_never = float(never.mean())
        quantiles, quantile_mcse = _quantiles_with_mcse(years, DEFAULT_QUANTILES, method="inverted_cdf")
        text = question or f"year {metric} {op} {_threshold_text(threshold)}"
        return self._answer(
            text,
            "crossing_year",
            "year",
            quantiles=quantiles,
            quantile_mcse=quantile_mcse,
            median=quantiles["50%"],
            details={
                "p_never": p_never,
                "p_never_mcse": math.sqrt(p_never * (1 - p_never) / years.size),
                "horizon_end": float(self.years[-1]),
                "interval_50": [quantiles["25%"], quantiles["75%"]],
                "interval_90": [quantiles["5%"], quantiles["95%"]],
            },
        )

    def quantiles(
        self, metric: str, year: float, q: tuple[float, ...] = DEFAULT_QUANTILES, question: str | None = None
    ) -> Answer:
        """Quantiles of ``metric`` in a grid year [metric unit], each with its MCSE.

        The MCSE comes from the binomial order-statistic 95% interval of each quantile,
        divided by 3.92.
        """
        if not all(0 < level < 1 for level in q):
            raise QueryError("quantile levels must lie in (0, 1)")
        values = 10.0 ** self._metric(metric)[..., self._index_in(year)].reshape(-1)
        quantiles, mcse = _quantiles_with_mcse(values, q)
        text = question or f"quantiles {metric} in {year:g}"
        return self._answer(text, "quantiles", TRAJECTORY_VARIABLES[metric], quantiles=quantiles, quantile_mcse=mcse)

    def interval(
        self, metric: str, year: float, method: str = "eti", prob: float = 0.9, question: str | None = None
    ) -> Answer:
        """Credible interval of ``metric`` in a grid year, by arviz-stats on log10 values.

        Parameters
        ----------
        method : {"eti", "hdi"}
            Equal-tailed or highest-density interval (the HDI of log10 values, so the
            shortest interval in orders of magnitude).
        prob : float
            Probability mass inside the interval.
        """
        import arviz_stats

        if method not in ("eti", "hdi"):
            raise QueryError(f"unknown interval method {method!r}; known: eti, hdi")
        if not 0 < prob < 1:
            raise QueryError(f"interval probability must lie in (0, 1), got {prob:g}")
        data = xr.DataArray(self._metric(metric)[..., self._index_in(year)], dims=("chain", "draw"))
        bounds = getattr(arviz_stats, method)(data, prob=prob).values
        details = {"method": method, "prob": prob, **_chain_checks(data.values)}
        text = question or f"interval {metric} in {year:g} {method} {prob:g}"
        unit = TRAJECTORY_VARIABLES[metric]
        return self._answer(text, "interval", unit, interval=(10.0 ** bounds[0], 10.0 ** bounds[1]), details=details)

    def cost(self, threshold: Threshold, year: float, question: str | None = None) -> Answer:
        """USD needed for a run of ``threshold`` FLOP in a grid year.

        Physical: threshold / (flop_per_usd x utilization). Effective FLOP also divide by
        the algorithmic multiplier, since better algorithms make each FLOP count more.

        Returns
        -------
        Answer
            ``quantiles`` (5/50/95%) of the physical cost [USD] with MCSE; the
            effective-FLOP cost in ``details["effective_flop_quantiles"]``.
        """
        k = self._index_in(year)
        limit = self._log10_threshold(threshold, "physical_flop")
        log_usd = limit - self._metric("flop_per_usd")[..., k] - np.log10(self.parameter_draws("utilization.value"))
        levels = (0.05, 0.5, 0.95)
        physical, physical_mcse = _quantiles_with_mcse(10.0 ** log_usd.reshape(-1), levels)
        effective, effective_mcse = _quantiles_with_mcse(
            10.0 ** (log_usd - self._metric("algo_multiplier")[..., k]).reshape(-1), levels
        )
        text = question or f"cost of {_threshold_text(threshold)} in {year:g}"
        return self._answer(
            text,
            "cost",
            "USD",
            quantiles=physical,
            quantile_mcse=physical_mcse,
            median=physical["50%"],
            details={"effective_flop_quantiles": effective, "effective_flop_mcse": effective_mcse},
        )

    def __repr__(self) -> str:
        return (
            f"<mcscale.Result {self.scenario.name!r}: {self.n_draws} draws, seed {self.seed}, "
            f"years {self.years[0]:g}-{self.years[-1]:g}>"
        )


Threshold = float | tuple[float, str] | str


def resolve_threshold(scenario: Scenario, threshold: Threshold) -> tuple[float, str | None]:
    """Split a threshold into a log10 constant and the parameter drawn per draw, if any.

    Parameters
    ----------
    scenario : Scenario
    threshold : float, (float, str) or "requirement"
        A number in the metric's unit; ``(multiple, reference)``, where the scenario's
        own reference replaces a built-in of the same name; or the milestone
        requirement.

    Returns
    -------
    log10_value : float
    row_name : str or None
        ``"milestone.requirement"`` or an uncertain ``"reference.flop"``, whose log10
        draws add to ``log10_value``.
    """
    if isinstance(threshold, str):
        if threshold != "requirement":
            raise QueryError(f"unknown threshold {threshold!r}; use a number, (multiple, reference) or 'requirement'")
        if "milestone.requirement" not in scenario.priors:
            raise QueryError("the scenario has no [milestone] requirement")
        return 0.0, "milestone.requirement"
    if isinstance(threshold, tuple):
        multiple, name = threshold
        if name == scenario.reference_name:
            prior = scenario.priors["reference.flop"]
            if not prior.is_fixed:
                return math.log10(multiple), "reference.flop"
            return math.log10(multiple * prior.params["value"]), None
        if name not in BUILTIN_REFERENCES:
            known = ", ".join(dict.fromkeys([*BUILTIN_REFERENCES, scenario.reference_name]))
            raise QueryError(f"unknown reference {name!r}; known: {known}")
        return math.log10(multiple * BUILTIN_REFERENCES[name]), None
    if not threshold > 0:
        raise QueryError(f"threshold must be positive, got {threshold!r}")
    return math.log10(threshold), None


def _threshold_text(threshold: Threshold) -> str:
    if isinstance(threshold, tuple):
        return f"{threshold[0]:g} x {threshold[1]}"
    return threshold if isinstance(threshold, str) else f"{threshold:g}"


def _probability_text(metric: str, op: str, threshold: Threshold, by: float | None, in_year: float | None) -> str:
    when = f"by {by:g}" if by is not None else f"in {in_year:g}"
    return f"P({metric} {op} {_threshold_text(threshold)} {when})"


def crossing_years(log10_values: np.ndarray, log10_threshold: np.ndarray, years: np.ndarray) -> np.ndarray:
    """First year each draw's trajectory reaches its threshold, interpolated in log10.

    Parameters
    ----------
    log10_values : ndarray, shape (n_draws, n_years)
    log10_threshold : ndarray, shape (n_draws,)
    years : ndarray, shape (n_years,)

    Returns
    -------
    ndarray, shape (n_draws,)
        Crossing year [year]; ``years[0]`` if reached at the start, ``inf`` if never.
    """
    reached = log10_values >= log10_threshold[:, None]
    ever = reached.any(axis=1)
    first = reached.argmax(axis=1)
    out = np.full(log10_values.shape[0], np.inf)
    out[ever & (first == 0)] = years[0]
    rows = np.flatnonzero(ever & (first > 0))
    k = first[rows]
    before, after = log10_values[rows, k - 1], log10_values[rows, k]
    fraction = (log10_threshold[rows] - before) / (after - before)
    out[rows] = years[k - 1] + fraction * (years[k] - years[k - 1])
    return out


def _quantiles_with_mcse(
    values: np.ndarray, levels: tuple[float, ...], method: str = "linear"
) -> tuple[dict[str, float], dict[str, float]]:
    """Quantiles and their MCSE from the binomial order-statistic 95% interval / 3.92."""
    ordered = np.sort(values)
    n = ordered.size
    quantiles, mcse = {}, {}
    for q in levels:
        key = f"{100 * q:g}%"
        quantiles[key] = float(np.quantile(ordered, q, method=method))
        half = _Z_95 * math.sqrt(n * q * (1 - q))
        lo = ordered[max(int(math.floor(n * q - half)), 0)]
        hi = ordered[min(int(math.ceil(n * q + half)), n - 1)]
        mcse[key] = float((hi - lo) / (2 * _Z_95)) if np.isfinite(hi) else math.inf
    return quantiles, mcse


def _chain_checks(values: np.ndarray) -> dict[str, float]:
    """ESS and R-hat across chunks (chains) of a (chain, draw) array, by arviz-stats."""
    import arviz_stats

    data = xr.DataArray(np.asarray(values, dtype=float), dims=("chain", "draw"))
    if data.sizes["chain"] < 2 or float(data.std()) == 0.0:
        return {}
    checks = {"ess": float(arviz_stats.ess(data)), "rhat": float(arviz_stats.rhat(data))}
    if checks["rhat"] > RHAT_LIMIT:  # independent chunks must agree; if not, something is broken
        checks["warning"] = f"R-hat {checks['rhat']:.3f} > {RHAT_LIMIT}: the chunks disagree"
    return checks


def fixed_parameters(scenario: Scenario) -> str:
    """JSON of the scenario's fixed parameters by name [canonical units] (they are not sampled)."""
    return json.dumps(
        {name: spec.params["value"] * spec.scale for name, spec in scenario.all_priors().items() if spec.is_fixed}
    )


def run_attrs(
    scenario: Scenario, seed: int, layout: ChunkLayout, chunk_size: int, mode: str, seconds: float
) -> dict[str, Any]:
    """Root attrs of a result: the scenario as written, the run's size, seed and provenance."""
    return {
        "scenario_name": scenario.name,
        "scenario_description": scenario.description,
        "scenario_source": scenario.source,
        "scenario_text": scenario.text,
        "seed": seed,
        "n_draws": layout.n_draws,
        "n_chains": layout.n_chunks,
        "chunk_size": chunk_size,
        "mode": mode,
        "mcscale_version": _version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sampling_seconds": seconds,
    }


def _quantiles_of(log10_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of each year's column, as ``np.quantile(method="linear")`` gives them."""
    columns = np.ascontiguousarray(log10_values.reshape(-1, log10_values.shape[-1]).T)
    columns.sort(axis=1)  # a SIMD sort of contiguous rows beats np.quantile's partition
    position = (columns.shape[1] - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, columns.shape[1] - 1)
    weight = position - below
    return (columns[:, below] + weight * (columns[:, above] - columns[:, below])).T


def _summary(trajectories: xr.Dataset) -> xr.Dataset:
    """Per-year quantiles of every trajectory variable, on log10 values."""
    q = np.asarray(SUMMARY_QUANTILES)
    names = list(trajectories.data_vars)
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:  # numpy sorts without the GIL
        quantiles = list(pool.map(lambda name: _quantiles_of(trajectories[name].values, q), names))
    out = {
        name: xr.Variable(("quantile", "year"), values, attrs=dict(trajectories[name].attrs))
        for name, values in zip(names, quantiles, strict=True)
    }
    return xr.Dataset(out, coords={"quantile": q, "year": trajectories["year"].values})


def trajectory_quantiles(result: Result, metric: str, q: tuple[float, ...] | list[float]) -> xr.DataArray:
    """Per-year quantiles of a trajectory variable, on log10 values, as the summary computes them.

    Parameters
    ----------
    result : Result
    metric : str
        A trajectory variable (``effective_flop``, ``spend``, ``cap``...).
    q : sequence of float
        Quantile levels in (0, 1), e.g. ``(0.025, 0.5, 0.975)``.

    Returns
    -------
    xarray.DataArray
        log10 quantiles [log10 of the metric's unit], dims ``(quantile, year)``; linear
        interpolation between order statistics (``np.quantile``'s default).
    """
    levels = np.asarray(q, dtype=float)
    return xr.DataArray(
        result.log10_quantiles(metric, tuple(levels)),
        dims=("quantile", "year"),
        coords={"quantile": levels, "year": result.years},
        attrs={"units": f"log10({TRAJECTORY_VARIABLES[metric]})"},
    )
