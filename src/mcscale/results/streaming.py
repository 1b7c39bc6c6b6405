"""A streaming run: answers read from mergeable accumulators, not from draws.

A :class:`StreamResult` answers the same questions as a
:class:`~mcscale.results.materialized.MaterializedResult` on the same seed:
probabilities exactly (the same comparisons, counted), quantiles, intervals, costs
and crossing years within one bin of their histograms
(:data:`~mcscale.sim.accumulators.STREAM_BIN_WIDTH` dex; crossing years
``step / CROSSING_BINS_PER_STEP``). It keeps no per-draw values
(:attr:`~mcscale.results.base.Result.keeps_draws` is False). Thresholds must be known
before sampling: a question whose threshold was not accumulated gets a
:class:`~mcscale.model.thresholds.QueryError` saying so.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from mcscale.model.scenario import Scenario
from mcscale.model.thresholds import QueryError, Threshold, probability_text, threshold_text
from mcscale.results.answer import Answer
from mcscale.results.base import Result, fixed_parameters, run_attrs, year_coordinate
from mcscale.sim.accumulators import CROSSING_BINS_PER_STEP, cost_spec, threshold_spec
from mcscale.sim.engine import StreamRun
from mcscale.stats import histogram_hdi, histogram_quantiles, log10_to_natural
from mcscale.units import DEFAULT_QUANTILES, METRICS, SUMMARY_QUANTILES

__all__ = ["StreamResult"]


class StreamResult(Result):
    """A streaming run: accumulators in a DataTree, answering from them.

    Parameters
    ----------
    tree : xarray.DataTree
        Groups ``summary`` and ``accumulators``; root attrs as a materialized result.
    scenario : Scenario, optional
    """

    # -- construction -------------------------------------------------------

    @classmethod
    def from_stream(cls, run: StreamRun, scenario: Scenario, seed: int, chunk_size: int) -> StreamResult:
        """Assemble the DataTree of a streaming run."""
        counts, stream = run.counts, run.stream
        years = run.years
        bins = np.arange(stream.n_bins + 2)
        data: dict[str, Any] = {}
        for slot, name in enumerate(run.variables):
            data[f"histogram_{name}"] = xr.Variable(
                ("year", "bin"), counts.histogram[slot], attrs={"low": float(stream.variable_low[slot])}
            )
        data["sum"] = xr.Variable(("variable", "year"), run.moments[..., 0])
        data["sum_of_squares"] = xr.Variable(("variable", "year"), run.moments[..., 1])
        if stream.histograms:
            data["parameter_histogram"] = xr.Variable(("parameter", "bin"), counts.parameter_histogram)
            data["parameter_low"] = xr.Variable(("parameter",), stream.parameter_low)
        data["exceed_in"] = xr.Variable(("threshold", "year"), counts.exceed_in)
        data["exceed_by"] = xr.Variable(("threshold", "year"), counts.exceed_by)
        data["crossing"] = xr.Variable(("threshold", "crossing_bin"), counts.crossing)
        data["cost_histogram"] = xr.Variable(("cost", "cost_kind", "bin"), counts.cost_histogram)
        data["cost_low"] = xr.Variable(("cost", "cost_kind"), stream.cost_low)
        coords = {
            "year": year_coordinate(years),
            "bin": bins,
            "variable": run.variables,
            "parameter": run.parameter_names,
            "threshold_variable": ("threshold", [t.variable for t in run.thresholds]),
            "threshold_sign": ("threshold", np.array([t.sign for t in run.thresholds], dtype=np.int64)),
            "threshold_log10": ("threshold", np.array([t.log10_value for t in run.thresholds])),
            "threshold_row": ("threshold", [t.row_name or "" for t in run.thresholds]),
            "cost_year": ("cost", np.array([c.year for c in run.costs])),
            "cost_log10": ("cost", np.array([c.log10_value for c in run.costs])),
            "cost_row": ("cost", [c.row_name or "" for c in run.costs]),
            "cost_kind": ["physical_flop", "effective_flop"],
        }
        accumulators = xr.Dataset(
            data,
            coords=coords,
            attrs={
                "bin_width": stream.bin_width,
                "n_bins": stream.n_bins,
                "crossing_width": stream.crossing_width,
                "fixed_parameters": fixed_parameters(scenario),
                # what was counted: a run asked only probabilities histograms nothing and stops early
                "histograms": int(stream.histograms),
                "counted_years": int(stream.n_steps),
            },
        )
        attrs = run_attrs(scenario, seed, run.layout, chunk_size, "stream", run.seconds)
        result = cls(xr.DataTree.from_dict({"/": xr.Dataset(attrs=attrs), "accumulators": accumulators}), scenario)
        result._tree["summary"] = xr.DataTree(result._summary())
        return result

    def _summary(self) -> xr.Dataset:
        """Per-year quantiles (log10) from the histograms, plus mean and sd of log10 values."""
        acc = self._tree["accumulators"]
        n = self.n_draws
        out = {}
        for name in acc["variable"].values:
            name = str(name)
            quantiles = self.log10_quantiles(name, SUMMARY_QUANTILES)
            out[name] = xr.Variable(("quantile", "year"), quantiles, attrs={"units": f"log10({METRICS[name]})"})
            total = acc["sum"].sel(variable=name).values
            squares = acc["sum_of_squares"].sel(variable=name).values
            mean = total / n
            out[f"{name}_mean"] = xr.Variable(("year",), mean)
            out[f"{name}_sd"] = xr.Variable(("year",), np.sqrt(np.maximum(squares / n - mean**2, 0.0)))
        return xr.Dataset(out, coords={"quantile": np.asarray(SUMMARY_QUANTILES), "year": self.years})

    # -- accessors ----------------------------------------------------------

    @property
    def years(self) -> np.ndarray:
        """The year grid [year]."""
        return self._tree["accumulators"]["year"].values

    def _check_histograms(self) -> None:
        """Raise unless this run histogrammed its variables and parameters (runs saved before it was optional did)."""
        if not self._tree["accumulators"].attrs.get("histograms", 1):
            raise QueryError(
                "this streaming run histogrammed nothing (it was asked only probabilities): quantiles, intervals, "
                "summaries and figures need histograms (ask the question in the same command, or run without --stream)"
            )

    def _counted_years(self) -> int:
        """How many grid years the run propagated and counted (all, unless it was asked only probabilities)."""
        return int(self._tree["accumulators"].attrs.get("counted_years", len(self.years)))

    def _check_counted(self, index: int) -> None:
        """Raise unless grid year ``index`` was counted."""
        counted = self._counted_years()
        if index >= counted:
            raise QueryError(
                f"this streaming run counted only up to {self.years[counted - 1]:g}: the years a question needs "
                "must be known before sampling (ask the question in the same command, or run without --stream)"
            )

    def _histogram(self, metric: str) -> tuple[np.ndarray, float]:
        self._check_histograms()
        acc = self._tree["accumulators"]
        key = f"histogram_{metric}"
        if key not in acc.data_vars:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(map(str, acc["variable"].values)))
        return acc[key].values, float(acc[key].attrs["low"])

    @property
    def _width(self) -> float:
        return float(self._tree["accumulators"].attrs["bin_width"])

    def _constant(self, metric: str) -> np.ndarray:
        """Per-year mean of ``metric`` where its draws have (almost) no spread, NaN elsewhere.

        Within-bin interpolation would spread a constant over its bin; the moments say
        when there is nothing to spread. Below a tenth of a bin of standard deviation,
        every quantile is within a bin of the mean, so the mean serves.
        """
        acc = self._tree["accumulators"]
        mean = acc["sum"].sel(variable=metric).values / self.n_draws
        variance = acc["sum_of_squares"].sel(variable=metric).values / self.n_draws - mean**2
        return np.where(variance <= (self._width / 10) ** 2, mean, np.nan)

    def log10_quantiles(self, metric: str, q: tuple[float, ...]) -> np.ndarray:
        """Per-year quantiles of log10 ``metric``, shape (len(q), n_years), read from histograms."""
        histogram, low = self._histogram(metric)
        out = np.stack([histogram_quantiles(row, low, self._width, tuple(q))[0] for row in histogram], axis=1)
        constant = self._constant(metric)
        return np.where(np.isnan(constant), out, constant)

    def prior_quantiles(self, name: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of a parameter [canonical units], from its histogram."""
        acc = self._tree["accumulators"]
        names = [str(p) for p in acc["parameter"].values]
        if name not in names:
            raise QueryError(f"unknown parameter {name!r}; known: " + ", ".join(names))
        fixed = json.loads(acc.attrs.get("fixed_parameters", "{}"))
        if name in fixed:
            return np.full(len(q), float(fixed[name]))
        self._check_histograms()
        if not self.scenario.all_priors()[name].is_positive():
            raise QueryError(
                f"{name!r} can be zero or negative: stream mode keeps histograms of log10 of the priors, "
                "so its quantiles need a materialized run"
            )
        i = names.index(name)
        values, _ = histogram_quantiles(
            acc["parameter_histogram"].values[i], float(acc["parameter_low"].values[i]), self._width, tuple(q)
        )
        return 10.0**values

    # -- questions ----------------------------------------------------------

    def _threshold_index(self, metric: str, threshold: Threshold, op: str) -> int:
        if metric not in METRICS:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(METRICS))
        spec = threshold_spec(self.scenario, metric, threshold, op)
        acc = self._tree["accumulators"]
        for i in range(acc.sizes["threshold"]):
            if (
                acc["threshold_variable"].values[i] == spec.variable
                and int(acc["threshold_sign"].values[i]) == spec.sign
                and acc["threshold_row"].values[i] == (spec.row_name or "")
                and abs(float(acc["threshold_log10"].values[i]) - spec.log10_value) <= 1e-12
            ):
                return i
        raise QueryError(
            f"this streaming run did not count {metric} {op} {threshold_text(threshold)}: thresholds must be "
            "known before sampling (ask the question in the same command, or run without --stream)"
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
        """P(metric >= threshold) by or in a year, from exceedance counts (see :meth:`Result.probability`)."""
        if (by is None) == (in_year is None):
            raise QueryError("give exactly one of by= or in_year=")
        t = self._threshold_index(metric, threshold, op)
        acc = self._tree["accumulators"]
        index = self.grid_index_by(by) if by is not None else self.grid_index_in(in_year)
        self._check_counted(index)
        count = int(acc["exceed_by" if by is not None else "exceed_in"].values[t, index])
        return self.probability_answer(count, question or probability_text(metric, op, threshold, by, in_year))

    def exceedance_curve(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """P(metric >= threshold by year) for every grid year, from the exceedance counts."""
        t = self._threshold_index(metric, threshold, op)
        self._check_counted(len(self.years) - 1)
        return self._tree["accumulators"]["exceed_by"].values[t] / self.n_draws

    def crossing_histogram(self, metric: str, threshold: Threshold, op: str = ">=") -> np.ndarray:
        """Share of draws first crossing in each grid interval, shape (n_years - 1,)."""
        t = self._threshold_index(metric, threshold, op)
        self._check_counted(len(self.years) - 1)
        counts = self._tree["accumulators"]["crossing"].values[t, :-1]
        per_interval = CROSSING_BINS_PER_STEP
        # the last fine bin holds crossings exactly at the end year; it belongs to the last interval
        shares = np.add.reduceat(counts[:-1], np.arange(0, counts.size - 1, per_interval))
        shares[-1] += counts[-1]
        return shares / self.n_draws

    def crossing_year(
        self, metric: str, threshold: Threshold, *, op: str = ">=", question: str | None = None
    ) -> Answer:
        """Distribution of the first year ``metric`` reaches ``threshold``, from the crossing histogram."""
        t = self._threshold_index(metric, threshold, op)
        self._check_counted(len(self.years) - 1)
        acc = self._tree["accumulators"]
        counts = acc["crossing"].values[t]
        # the histogram starts at the first grid year; its last bin counts "never"
        as_histogram = np.concatenate([[0], counts[:-1], counts[-1:]])
        width = float(acc.attrs["crossing_width"])
        values, mcse = histogram_quantiles(as_histogram, float(self.years[0]), width, DEFAULT_QUANTILES)
        keys = [f"{100 * q:g}%" for q in DEFAULT_QUANTILES]
        quantiles = dict(zip(keys, map(float, values), strict=True))
        n = self.n_draws
        p_never = float(counts[-1]) / n
        text = question or f"year {metric} {op} {threshold_text(threshold)}"
        return self.new_answer(
            text,
            "crossing_year",
            "year",
            quantiles=quantiles,
            quantile_mcse=dict(zip(keys, map(float, mcse), strict=True)),
            median=quantiles["50%"],
            details=self.crossing_details(quantiles, p_never, bin_width_years=width),
        )

    def quantiles(
        self, metric: str, year: float, q: tuple[float, ...] = DEFAULT_QUANTILES, question: str | None = None
    ) -> Answer:
        """Quantiles of ``metric`` in a grid year, from its histogram, each with its MCSE."""
        if not all(0 < level < 1 for level in q):
            raise QueryError("quantile levels must lie in (0, 1)")
        histogram, low = self._histogram(metric)
        k = self.grid_index_in(year)
        log_values, log_mcse = histogram_quantiles(histogram[k], low, self._width, tuple(q))
        constant = self._constant(metric)[k]
        if not np.isnan(constant):
            log_values, log_mcse = np.full(len(q), constant), np.zeros(len(q))
        values, mcse = log10_to_natural(log_values, log_mcse)
        keys = [f"{100 * level:g}%" for level in q]
        text = question or f"quantiles {metric} in {year:g}"
        return self.new_answer(
            text,
            "quantiles",
            METRICS[metric],
            quantiles=dict(zip(keys, map(float, values), strict=True)),
            quantile_mcse=dict(zip(keys, map(float, mcse), strict=True)),
            details={"bin_width_dex": self._width},
        )

    def interval(
        self, metric: str, year: float, method: str = "eti", prob: float = 0.9, question: str | None = None
    ) -> Answer:
        """ETI or HDI of log10 ``metric`` in a grid year, from its histogram (to one bin)."""
        if method not in ("eti", "hdi"):
            raise QueryError(f"unknown interval method {method!r}; known: eti, hdi")
        if not 0 < prob < 1:
            raise QueryError(f"interval probability must lie in (0, 1), got {prob:g}")
        histogram, low = self._histogram(metric)
        row = histogram[self.grid_index_in(year)]
        if method == "eti":
            bounds, _ = histogram_quantiles(row, low, self._width, ((1 - prob) / 2, (1 + prob) / 2))
        else:
            bounds = histogram_hdi(row, low, self._width, prob)
        text = question or f"interval {metric} in {year:g} {method} {prob:g}"
        details = {"method": method, "prob": prob, "bin_width_dex": self._width}
        return self.new_answer(
            text,
            "interval",
            METRICS[metric],
            interval=(float(10.0 ** bounds[0]), float(10.0 ** bounds[1])),
            details=details,
        )

    def cost(self, threshold: Threshold, year: float, question: str | None = None) -> Answer:
        """USD needed for a run of ``threshold`` FLOP in a grid year, from cost histograms."""
        self.grid_index_in(year)
        spec = cost_spec(self.scenario, threshold, year)
        acc = self._tree["accumulators"]
        index = None
        for i in range(acc.sizes["cost"]):
            if (
                abs(float(acc["cost_year"].values[i]) - spec.year) < 1e-9
                and acc["cost_row"].values[i] == (spec.row_name or "")
                and abs(float(acc["cost_log10"].values[i]) - spec.log10_value) <= 1e-12
            ):
                index = i
        if index is None:
            raise QueryError(
                f"this streaming run did not histogram the cost of {threshold_text(threshold)} in {year:g}: "
                "ask the question in the same command, or run without --stream"
            )
        levels = (0.05, 0.5, 0.95)
        keys = [f"{100 * q:g}%" for q in levels]
        out = []
        for kind in range(2):
            log_values, log_mcse = histogram_quantiles(
                acc["cost_histogram"].values[index, kind],
                float(acc["cost_low"].values[index, kind]),
                self._width,
                levels,
            )
            values, mcse = log10_to_natural(log_values, log_mcse)
            out.append(
                (dict(zip(keys, map(float, values), strict=True)), dict(zip(keys, map(float, mcse), strict=True)))
            )
        text = question or f"cost of {threshold_text(threshold)} in {year:g}"
        return self.new_answer(
            text,
            "cost",
            "USD",
            quantiles=out[0][0],
            quantile_mcse=out[0][1],
            median=out[0][0]["50%"],
            details={"effective_flop_quantiles": out[1][0], "effective_flop_mcse": out[1][1]},
        )
