"""Results of streaming mode: answers read from mergeable accumulators, not from draws.

A :class:`StreamResult` answers the same questions as a materialized
:class:`~mcscale.results.Result` on the same seed: probabilities exactly (the same
comparisons, counted), quantiles, intervals, costs and crossing years within one bin
of their histograms (:data:`mcscale.engine.STREAM_BIN_WIDTH` dex; crossing years
``step / CROSSING_BINS_PER_STEP``). Thresholds must be known before sampling: a
question whose threshold was not accumulated gets a :class:`QueryError` saying so.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from mcscale.engine import CROSSING_BINS_PER_STEP, TRAJECTORY_VARIABLES, CostSpec, StreamRun, Threshold
from mcscale.results import (
    _Z_95,
    DEFAULT_QUANTILES,
    SUMMARY_QUANTILES,
    Answer,
    QueryError,
    Result,
    _probability_text,
    _threshold_text,
    fixed_parameters,
    resolve_threshold,
    run_attrs,
)
from mcscale.results import Threshold as ThresholdValue
from mcscale.scenario import Scenario

__all__ = ["StreamResult", "cost_spec", "default_thresholds", "threshold_spec"]

_NOT_KEPT = "not kept in streaming mode (it keeps no per-draw values)"


def threshold_spec(scenario: Scenario, metric: str, threshold: ThresholdValue, op: str = ">=") -> Threshold:
    """Encode a threshold for the streaming kernel.

    Parameters
    ----------
    scenario : Scenario
    metric : str
        Trajectory variable.
    threshold : float, (float, str) or "requirement"
        As :meth:`mcscale.results.Result.probability` takes it.
    op : {">=", "<="}

    Returns
    -------
    mcscale.engine.Threshold
    """
    log10_value, row_name = resolve_threshold(scenario, threshold)
    return Threshold(metric, 1 if op == ">=" else -1, log10_value, row_name)


def cost_spec(scenario: Scenario, threshold: ThresholdValue, year: float) -> CostSpec:
    """Encode a "cost of THRESHOLD in YEAR" question for the streaming kernel."""
    log10_value, row_name = resolve_threshold(scenario, threshold)
    return CostSpec(float(year), log10_value, row_name)


def default_thresholds(scenario: Scenario) -> list[Threshold]:
    """Effective FLOP at 10x, 100x, 1000x and 10000x the scenario's reference (for exceedance curves)."""
    return [
        threshold_spec(scenario, "effective_flop", (multiple, scenario.reference_name))
        for multiple in (10.0, 100.0, 1000.0, 10000.0)
    ]


def _histogram_quantiles(
    counts: np.ndarray, low: float, width: float, levels: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of a histogram (bin 0 underflow, last overflow), interpolated within bins.

    Returns the quantiles and their MCSE from the binomial order-statistic 95% interval
    (/3.92), in the histogram's units. A quantile in the under/overflow bin is -inf/inf.
    """
    cumulative = np.cumsum(counts)
    n = cumulative[-1]
    n_bins = counts.size - 2

    def at_rank(rank: float) -> float:
        rank = min(max(rank, 0.0), float(n))
        b = int(np.searchsorted(cumulative, rank, side="left"))
        if b == 0:
            return -math.inf if rank > 0 else low
        if b > n_bins:
            return math.inf
        below = cumulative[b - 1]
        fraction = (rank - below) / counts[b] if counts[b] else 0.0
        return low + (b - 1 + fraction) * width

    values, mcse = [], []
    for q in levels:
        values.append(at_rank(q * n))
        half = _Z_95 * math.sqrt(n * q * (1 - q))
        hi, lo = at_rank(n * q + half), at_rank(n * q - half)
        mcse.append((hi - lo) / (2 * _Z_95) if math.isfinite(hi - lo) else math.inf)
    return np.array(values), np.array(mcse)


def _natural(log10_values: np.ndarray, log10_mcse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Natural units; the MCSE through the delta method, d(10^x) = ln 10 10^x dx."""
    values = 10.0**log10_values
    return values, math.log(10.0) * values * log10_mcse


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
        data["parameter_histogram"] = xr.Variable(("parameter", "bin"), counts.parameter_histogram)
        data["parameter_low"] = xr.Variable(("parameter",), stream.parameter_low)
        data["exceed_in"] = xr.Variable(("threshold", "year"), counts.exceed_in)
        data["exceed_by"] = xr.Variable(("threshold", "year"), counts.exceed_by)
        data["crossing"] = xr.Variable(("threshold", "crossing_bin"), counts.crossing)
        data["cost_histogram"] = xr.Variable(("cost", "cost_kind", "bin"), counts.cost_histogram)
        data["cost_low"] = xr.Variable(("cost", "cost_kind"), stream.cost_low)
        coords = {
            "year": years,
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
            },
        )
        attrs = run_attrs(scenario, seed, run.layout, chunk_size, "stream", run.seconds)
        result = cls(xr.DataTree.from_dict({"/": xr.Dataset(attrs=attrs), "accumulators": accumulators}), scenario)
        result.tree["summary"] = xr.DataTree(result._summary())
        return result

    def _summary(self) -> xr.Dataset:
        """Per-year quantiles (log10) from the histograms, plus mean and sd of log10 values."""
        acc = self.tree["accumulators"]
        n = self.n_draws
        out = {}
        for name in acc["variable"].values:
            name = str(name)
            quantiles = self.log10_quantiles(name, SUMMARY_QUANTILES)
            out[name] = xr.Variable(
                ("quantile", "year"), quantiles, attrs={"units": f"log10({TRAJECTORY_VARIABLES[name]})"}
            )
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
        return self.tree["accumulators"]["year"].values

    @property
    def prior(self) -> xr.Dataset:
        """Not available: streaming keeps no draws (see :meth:`prior_quantiles`)."""
        raise QueryError(f"parameter draws are {_NOT_KEPT}; use prior_quantiles()")

    @property
    def trajectories(self) -> xr.Dataset:
        """Not available: streaming keeps no draws."""
        raise QueryError(f"trajectories are {_NOT_KEPT}; use quantiles() or the summary")

    def parameter_draws(self, name: str) -> np.ndarray:
        """Not available: streaming keeps no draws."""
        raise QueryError(f"parameter draws are {_NOT_KEPT}")

    def _metric(self, metric: str) -> np.ndarray:
        raise QueryError(f"per-draw values of {metric} are {_NOT_KEPT}")

    def _histogram(self, metric: str) -> tuple[np.ndarray, float]:
        acc = self.tree["accumulators"]
        key = f"histogram_{metric}"
        if key not in acc.data_vars:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(map(str, acc["variable"].values)))
        return acc[key].values, float(acc[key].attrs["low"])

    @property
    def _width(self) -> float:
        return float(self.tree["accumulators"].attrs["bin_width"])

    def _constant(self, metric: str) -> np.ndarray:
        """Per-year mean of ``metric`` where its draws have (almost) no spread, NaN elsewhere.

        Within-bin interpolation would spread a constant over its bin; the moments say
        when there is nothing to spread. Below a tenth of a bin of standard deviation,
        every quantile is within a bin of the mean, so the mean serves.
        """
        acc = self.tree["accumulators"]
        mean = acc["sum"].sel(variable=metric).values / self.n_draws
        variance = acc["sum_of_squares"].sel(variable=metric).values / self.n_draws - mean**2
        return np.where(variance <= (self._width / 10) ** 2, mean, np.nan)

    def log10_quantiles(self, metric: str, q: tuple[float, ...]) -> np.ndarray:
        """Per-year quantiles of log10 ``metric``, shape (len(q), n_years), read from histograms."""
        histogram, low = self._histogram(metric)
        out = np.stack([_histogram_quantiles(row, low, self._width, tuple(q))[0] for row in histogram], axis=1)
        constant = self._constant(metric)
        return np.where(np.isnan(constant), out, constant)

    def prior_quantiles(self, name: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of a parameter [canonical units], from its histogram."""
        acc = self.tree["accumulators"]
        names = [str(p) for p in acc["parameter"].values]
        if name not in names:
            raise QueryError(f"unknown parameter {name!r}; known: " + ", ".join(names))
        fixed = json.loads(acc.attrs.get("fixed_parameters", "{}"))
        if name in fixed:
            return np.full(len(q), float(fixed[name]))
        i = names.index(name)
        values, _ = _histogram_quantiles(
            acc["parameter_histogram"].values[i], float(acc["parameter_low"].values[i]), self._width, tuple(q)
        )
        return 10.0**values

    # -- questions ----------------------------------------------------------

    def _threshold_index(self, metric: str, threshold: ThresholdValue, op: str) -> int:
        if metric not in TRAJECTORY_VARIABLES:
            raise QueryError(f"unknown metric {metric!r}; known: " + ", ".join(TRAJECTORY_VARIABLES))
        spec = threshold_spec(self.scenario, metric, threshold, op)
        acc = self.tree["accumulators"]
        for i in range(acc.sizes["threshold"]):
            if (
                acc["threshold_variable"].values[i] == spec.variable
                and int(acc["threshold_sign"].values[i]) == spec.sign
                and acc["threshold_row"].values[i] == (spec.row_name or "")
                and abs(float(acc["threshold_log10"].values[i]) - spec.log10_value) <= 1e-12
            ):
                return i
        raise QueryError(
            f"this streaming run did not count {metric} {op} {_threshold_text(threshold)}: thresholds must be "
            "known before sampling (ask the question in the same command, or run without --stream)"
        )

    def probability(
        self,
        metric: str,
        threshold: ThresholdValue,
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
        acc = self.tree["accumulators"]
        if by is not None:
            count = int(acc["exceed_by"].values[t, self._index_by(by)])
        else:
            count = int(acc["exceed_in"].values[t, self._index_in(in_year)])
        return self._probability_answer(count, question or _probability_text(metric, op, threshold, by, in_year))

    def exceedance_curve(self, metric: str, threshold: ThresholdValue, op: str = ">=") -> np.ndarray:
        """P(metric >= threshold by year) for every grid year, from the exceedance counts."""
        t = self._threshold_index(metric, threshold, op)
        return self.tree["accumulators"]["exceed_by"].values[t] / self.n_draws

    def crossing_histogram(self, metric: str, threshold: ThresholdValue, op: str = ">=") -> np.ndarray:
        """Share of draws first crossing in each grid interval, shape (n_years - 1,)."""
        t = self._threshold_index(metric, threshold, op)
        counts = self.tree["accumulators"]["crossing"].values[t, :-1]
        per_interval = CROSSING_BINS_PER_STEP
        # the last fine bin holds crossings exactly at the end year; it belongs to the last interval
        shares = np.add.reduceat(counts[:-1], np.arange(0, counts.size - 1, per_interval))
        shares[-1] += counts[-1]
        return shares / self.n_draws

    def crossing_year(
        self, metric: str, threshold: ThresholdValue, *, op: str = ">=", question: str | None = None
    ) -> Answer:
        """Distribution of the first year ``metric`` reaches ``threshold``, from the crossing histogram."""
        t = self._threshold_index(metric, threshold, op)
        acc = self.tree["accumulators"]
        counts = acc["crossing"].values[t]
        # the histogram starts at the first grid year; its last bin counts "never"
        as_histogram = np.concatenate([[0], counts[:-1], counts[-1:]])
        width = float(acc.attrs["crossing_width"])
        values, mcse = _histogram_quantiles(as_histogram, float(self.years[0]), width, DEFAULT_QUANTILES)
        keys = [f"{100 * q:g}%" for q in DEFAULT_QUANTILES]
        quantiles = dict(zip(keys, map(float, values), strict=True))
        n = self.n_draws
        p_never = float(counts[-1]) / n
        text = question or f"year {metric} {op} {_threshold_text(threshold)}"
        return self._answer(
            text,
            "crossing_year",
            "year",
            quantiles=quantiles,
            quantile_mcse=dict(zip(keys, map(float, mcse), strict=True)),
            median=quantiles["50%"],
            details={
                "p_never": p_never,
                "p_never_mcse": math.sqrt(p_never * (1 - p_never) / n),
                "horizon_end": float(self.years[-1]),
                "interval_50": [quantiles["25%"], quantiles["75%"]],
                "interval_90": [quantiles["5%"], quantiles["95%"]],
                "bin_width_years": width,
            },
        )

    def quantiles(
        self, metric: str, year: float, q: tuple[float, ...] = DEFAULT_QUANTILES, question: str | None = None
    ) -> Answer:
        """Quantiles of ``metric`` in a grid year, from its histogram, each with its MCSE."""
        if not all(0 < level < 1 for level in q):
            raise QueryError("quantile levels must lie in (0, 1)")
        histogram, low = self._histogram(metric)
        k = self._index_in(year)
        log_values, log_mcse = _histogram_quantiles(histogram[k], low, self._width, tuple(q))
        constant = self._constant(metric)[k]
        if not np.isnan(constant):
            log_values, log_mcse = np.full(len(q), constant), np.zeros(len(q))
        values, mcse = _natural(log_values, log_mcse)
        keys = [f"{100 * level:g}%" for level in q]
        text = question or f"quantiles {metric} in {year:g}"
        return self._answer(
            text,
            "quantiles",
            TRAJECTORY_VARIABLES[metric],
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
        row = histogram[self._index_in(year)]
        if method == "eti":
            bounds, _ = _histogram_quantiles(row, low, self._width, ((1 - prob) / 2, (1 + prob) / 2))
        else:
            bounds = _histogram_hdi(row, low, self._width, prob)
        text = question or f"interval {metric} in {year:g} {method} {prob:g}"
        details = {"method": method, "prob": prob, "bin_width_dex": self._width}
        return self._answer(
            text,
            "interval",
            TRAJECTORY_VARIABLES[metric],
            interval=(float(10.0 ** bounds[0]), float(10.0 ** bounds[1])),
            details=details,
        )

    def cost(self, threshold: ThresholdValue, year: float, question: str | None = None) -> Answer:
        """USD needed for a run of ``threshold`` FLOP in a grid year, from cost histograms."""
        self._index_in(year)
        spec = cost_spec(self.scenario, threshold, year)
        acc = self.tree["accumulators"]
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
                f"this streaming run did not histogram the cost of {_threshold_text(threshold)} in {year:g}: "
                "ask the question in the same command, or run without --stream"
            )
        levels = (0.05, 0.5, 0.95)
        keys = [f"{100 * q:g}%" for q in levels]
        out = []
        for kind in range(2):
            log_values, log_mcse = _histogram_quantiles(
                acc["cost_histogram"].values[index, kind],
                float(acc["cost_low"].values[index, kind]),
                self._width,
                levels,
            )
            values, mcse = _natural(log_values, log_mcse)
            out.append(
                (dict(zip(keys, map(float, values), strict=True)), dict(zip(keys, map(float, mcse), strict=True)))
            )
        text = question or f"cost of {_threshold_text(threshold)} in {year:g}"
        return self._answer(
            text,
            "cost",
            "USD",
            quantiles=out[0][0],
            quantile_mcse=out[0][1],
            median=out[0][0]["50%"],
            details={"effective_flop_quantiles": out[1][0], "effective_flop_mcse": out[1][1]},
        )

    def __repr__(self) -> str:
        return super().__repr__().replace("<mcscale.Result", "<mcscale.StreamResult")


def _histogram_hdi(counts: np.ndarray, low: float, width: float, prob: float) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the draws, from a histogram.

    Finds the fewest consecutive bins holding the mass (the fullest such run when
    several tie), then trims the excess from its two edge bins in proportion to their
    counts, which leaves the density equal at both ends, as an HDI's is.
    """
    inner = counts[1:-1].astype(np.float64)
    needed = prob * counts.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(inner)])
    size = inner.size
    best_width, best = size + 1, (0, size)
    j = 0
    for i in range(size):
        j = max(j, i)
        while j < size and cumulative[j] - cumulative[i] < needed:
            j += 1
        if cumulative[j] - cumulative[i] < needed:
            break
        mass = cumulative[j] - cumulative[i]
        if j - i < best_width or (j - i == best_width and mass > cumulative[best[1]] - cumulative[best[0]]):
            best_width, best = j - i, (i, j)
    i, j = best
    excess = cumulative[j] - cumulative[i] - needed
    edges = inner[i] + inner[j - 1] if j - 1 > i else inner[i]
    trim = min(excess / edges, 1.0) if edges > 0 else 0.0
    return low + (i + trim) * width, low + (j - trim) * width
