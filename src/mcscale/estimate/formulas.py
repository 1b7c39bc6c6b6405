"""The estimators: a sum of products of powers of independent inputs, evaluated exactly or by Monte Carlo.

- :func:`flop` [FLOP] = chips x peak FLOP/s per chip x seconds x utilization, or
  6 x parameters x tokens;
- :func:`cost` [USD] = chips x price x depreciation per year x days / 365.25 (or chips x
  hours x rental price per chip-hour), plus energy x price of electricity;
- :func:`price_performance` [USD per PFLOP/s-day] = price / (peak PFLOP/s x lifetime days
  x utilization);
- :func:`flop_per_usd` [FLOP/USD] = peak FLOP/s x lifetime seconds / price.

Each returns an :class:`Estimate`: a point value when every input is one, else the
median and 90% interval of Monte Carlo draws with their MCSE, and the closed form where
there is one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mcscale.estimate.chip_table import Chip, chip
from mcscale.estimate.errors import EstimateError
from mcscale.estimate.inline import Duration, parse_duration, to_prior
from mcscale.model.prior_tables import Problems, parse_prior_table
from mcscale.model.priors import PriorSpec
from mcscale.stats import quantiles_with_mcse, too_few_draws
from mcscale.units import PFLOPS_DAY, SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR, format_value

__all__ = ["Estimate", "cost", "flop", "flop_per_usd", "price_performance", "sample"]

# Percentile levels of the table an uncertain ``[estimate]`` becomes (0 and 100: min and max).
_TABLE_LEVELS = (0.0, 0.1, 0.2, 0.5, *range(1, 100), 99.5, 99.8, 99.9, 100.0)
_SUMMARY_LEVELS = (0.05, 0.5, 0.95)


def _check_finite(quantity: str, values: Any) -> None:
    """Refuse an estimate that overflows float64 (a point value, or any draw): ``inf`` is no answer."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(np.asarray(values, dtype=float))
    if not finite.all():
        share = "" if finite.size == 1 else f" in {np.count_nonzero(~finite)} of {finite.size} draws"
        raise EstimateError([("", f"{quantity} overflows float64{share} (beyond about 1.8e308): check the inputs")])


def sample(spec: PriorSpec, n: int, rng: np.random.Generator | int) -> np.ndarray:
    """Draw ``n`` values of a prior [canonical units].

    Parameters
    ----------
    spec : PriorSpec
        A ``fixed``, ``normal``, ``lognormal``, ``uniform`` or ``loguniform`` prior.
    n : int
        Number of draws.
    rng : numpy.random.Generator or int
        The generator, or a seed for one.

    Returns
    -------
    ndarray, shape (n,)
    """
    rng = np.random.default_rng(rng)
    if spec.dist in ("normal", "lognormal") and not spec.is_truncated:
        z = rng.standard_normal(n)
        p = spec.params
        out = p["mean"] + p["sd"] * z if spec.dist == "normal" else np.exp(p["mu"] + p["sigma"] * z)
        return out * spec.scale
    if spec.dist == "fixed":
        return spec.ppf(np.zeros(n))
    u = np.maximum(rng.random(n), np.finfo(float).tiny)  # (0, 1): no infinite normal score
    return spec.ppf(u)


@dataclass(frozen=True)
class _Term:
    """``constant x prod(input ** power)``: one summand of an estimate."""

    name: str
    constant: float
    powers: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Estimate:
    """The result of an estimator.

    Parameters
    ----------
    quantity : str
        ``flop``, ``cost``, ``price_performance`` or ``flop_per_usd``.
    unit : str
        ``FLOP``, ``USD``, ``USD/(PFLOP/s-day)`` or ``FLOP/USD``.
    formula : str
        The formula, in words.
    inputs : dict
        Every input as given (numbers, strings, tables) and those taken from the chip table.
    value : float, optional
        The value, when every input is a point value.
    quantiles : dict of str to float, optional
        ``5%``, ``50%``, ``95%`` quantiles of the Monte Carlo draws.
    quantile_mcse : dict of str to float, optional
        Their MCSE (binomial order-statistic 95% interval / 3.92).
    n_draws, seed : int, optional
        Monte Carlo draws and seed (uncertain inputs only).
    closed_form : dict, optional
        Exact ``quantiles`` (and ``mu``, ``sigma`` [natural log] when lognormal) and
        ``method``, where the result has a closed form.
    parts : dict of str to Estimate
        The summands of a cost (``hardware``, ``energy``), when there are several.
    notes : tuple of str
        Where table values came from, and caveats.
    samples : ndarray, optional
        The Monte Carlo draws [unit].
    """

    quantity: str
    unit: str
    formula: str
    inputs: dict[str, Any]
    value: float | None = None
    quantiles: dict[str, float] | None = None
    quantile_mcse: dict[str, float] | None = None
    n_draws: int | None = None
    seed: int | None = None
    closed_form: dict[str, Any] | None = None
    parts: dict[str, Estimate] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def is_point(self) -> bool:
        """Whether every input was a point value."""
        return self.value is not None

    @property
    def median(self) -> float:
        """The value, or the Monte Carlo median [unit]."""
        return self.value if self.value is not None else self.quantiles["50%"]  # type: ignore[index]

    @property
    def interval(self) -> tuple[float, float]:
        """The 90% interval (5% and 95% quantiles) [unit]; both ends are the value for point inputs."""
        if self.value is not None:
            return self.value, self.value
        q = self.quantiles or {}
        return q["5%"], q["95%"]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: ``quantity, unit, value | median, interval, quantiles, mcse, ...``."""
        out: dict[str, Any] = {"quantity": self.quantity, "unit": self.unit, "formula": self.formula}
        if self.value is not None:
            out["value"] = self.value
        else:
            out.update(
                median=self.median,
                interval=list(self.interval),
                quantiles=self.quantiles,
                mcse=self.quantile_mcse,
                n_draws=self.n_draws,
                seed=self.seed,
            )
            if self.closed_form is not None:
                out["closed_form"] = self.closed_form
        if self.parts:
            out["parts"] = {
                name: {k: v for k, v in part.to_dict().items() if k not in ("inputs", "notes", "n_draws", "seed")}
                for name, part in self.parts.items()
            }
        out["inputs"] = {k: _json_input(v) for k, v in self.inputs.items()}
        out["notes"] = list(self.notes)
        return out

    def _format(self, value: float, sign: bool = True) -> str:
        if self.unit == "USD/(PFLOP/s-day)":
            return format_value(value, "USD", sign)
        if self.unit in ("FLOP", "FLOP/USD"):
            return f"{value:.3g}"
        return format_value(value, self.unit, sign)

    def _unit_suffix(self) -> str:
        return {"USD": "", "USD/(PFLOP/s-day)": " per PFLOP/s-day"}.get(self.unit, f" {self.unit}")

    def _summary(self) -> str:
        if self.value is not None:
            return self._format(self.value) + self._unit_suffix()
        q, m = self.quantiles or {}, self.quantile_mcse or {}
        cell = {k: f"{self._format(q[k])}" + (f" ± {self._format(m[k], sign=False)}" if k in m else "") for k in q}
        if self.n_draws is not None and too_few_draws(self.n_draws):
            return f"median {cell['50%']}{self._unit_suffix()}"
        return f"median {cell['50%']}{self._unit_suffix()}, 90% interval [{cell['5%']}, {cell['95%']}]"

    def __str__(self) -> str:
        lines = [f"{self.quantity} = {self.formula}"]
        body = f"  = {self._summary()}"
        if self.value is None:
            few = too_few_draws(self.n_draws) if self.n_draws is not None else None
            body += f" ({few or 'MCSE'}; {self.n_draws} draws, seed {self.seed})"
        if self.parts and self.value is not None:
            body += " (" + " + ".join(f"{name} {part._summary()}" for name, part in self.parts.items()) + ")"
        lines.append(body)
        if self.parts and self.value is None:
            lines += [f"    {name}: {part._summary()}" for name, part in self.parts.items()]
        if self.closed_form is not None:
            q = self.closed_form["quantiles"]
            lines.append(
                f"  closed form ({self.closed_form['method']}): median {self._format(q['50%'])}{self._unit_suffix()}, "
                f"90% interval [{self._format(q['5%'])}, {self._format(q['95%'])}]"
            )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_prior(self, name: str) -> PriorSpec:
        """Return the estimate as a prior for a scenario (see :func:`scenario_prior`)."""
        return parse_prior_table(name, name, self.to_table(), Problems(), is_time=False)  # type: ignore[return-value]

    def to_table(self) -> float | dict[str, Any]:
        """Return the estimate as a scenario prior table.

        A point value stays a number; a lognormal closed form becomes
        ``{dist = "lognormal", mu, sigma}``; anything else a ``percentiles`` table of
        log10 values at 0, 0.1, 0.2, 0.5, 1, 2, ..., 99, 99.5, 99.8, 99.9 and 100% of the
        Monte Carlo draws (0 and 100% are the smallest and largest draw).
        """
        if self.value is not None:
            return self.value
        if self.closed_form is not None and "mu" in self.closed_form:
            return {"dist": "lognormal", "mu": self.closed_form["mu"], "sigma": self.closed_form["sigma"]}
        if self.samples is None:
            raise ValueError("no draws to build a percentile table from")
        values = np.quantile(np.log10(self.samples), np.asarray(_TABLE_LEVELS) / 100)
        values = np.maximum.accumulate(values)  # exact ties may round out of order
        return {
            "dist": "percentiles",
            "log10": True,
            "points": [[float(p), float(v)] for p, v in zip(_TABLE_LEVELS, values, strict=True)],
        }


def _json_input(value: Any) -> Any:
    if isinstance(value, PriorSpec):
        return value.written if value.written is not None else {"dist": value.dist, **value.params}
    if isinstance(value, Duration):
        return value.text
    return value


def _is_lognormal_or_fixed(spec: PriorSpec) -> bool:
    if spec.dist == "fixed":
        return True
    return spec.dist == "lognormal" and spec.lower <= 0 and spec.upper == math.inf


def _closed_form(term: _Term, specs: dict[str, PriorSpec]) -> dict[str, Any] | None:
    """Exact quantiles of one product of powers, where they exist."""
    from scipy import special

    powers: dict[str, float] = {}
    for key, power in term.powers:
        powers[key] = powers.get(key, 0.0) + power
    uncertain = [k for k in powers if not specs[k].is_fixed and powers[k] != 0]
    constant = term.constant
    for key, power in powers.items():
        if specs[key].is_fixed:
            constant *= float(specs[key].ppf(0.5)) ** power
    levels = {f"{100 * q:g}%": q for q in _SUMMARY_LEVELS}
    if all(_is_lognormal_or_fixed(specs[k]) for k in uncertain):
        mu = math.log(constant) + sum(powers[k] * (specs[k].params["mu"] + math.log(specs[k].scale)) for k in uncertain)
        sigma = math.sqrt(sum((powers[k] * specs[k].params["sigma"]) ** 2 for k in uncertain))
        logs = {k: mu + sigma * float(special.ndtri(q)) for k, q in levels.items()}
        if max(logs.values()) > math.log(np.finfo(float).max):
            return None  # no finite closed form to show (the draws were finite, so these are its far tail)
        quantiles = {k: math.exp(v) for k, v in logs.items()}
        return {"method": "product of lognormals", "mu": mu, "sigma": sigma, "quantiles": quantiles}
    if len(uncertain) == 1:
        key = uncertain[0]
        power = powers[key]
        quantiles = {k: constant * float(specs[key].ppf(q if power > 0 else 1 - q)) ** power for k, q in levels.items()}
        return {"method": f"monotone in {key}", "quantiles": quantiles}
    return None


def _evaluate(
    quantity: str,
    unit: str,
    formula: str,
    terms: list[_Term],
    specs: dict[str, PriorSpec],
    inputs: dict[str, Any],
    notes: list[str],
    n_draws: int,
    seed: int | np.random.Generator,
) -> Estimate:
    """Point value, or Monte Carlo summary and closed form, of a sum of products of powers."""
    common = dict(quantity=quantity, unit=unit, formula=formula, inputs=inputs, notes=tuple(notes))
    used = [k for k in specs if any(k == key for term in terms for key, _ in term.powers)]
    if all(specs[k].is_fixed for k in used):
        point = {k: float(specs[k].ppf(0.5)) for k in used}
        values = {t.name: t.constant * math.prod(point[k] ** p for k, p in t.powers) for t in terms}
        parts = {}
        if len(terms) > 1:
            parts = {name: Estimate(**{**common, "inputs": {}, "notes": ()}, value=v) for name, v in values.items()}
        total = math.fsum(values.values()) if all(map(math.isfinite, values.values())) else math.inf
        _check_finite(quantity, [total])
        return Estimate(**common, value=total, parts=parts)
    if isinstance(seed, np.random.Generator):
        rng, seed_record = seed, None
    else:
        rng, seed_record = np.random.default_rng(seed), int(seed)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _check_finite, once
        draws = {k: sample(specs[k], n_draws, rng) for k in used}  # one stream, inputs in a fixed order
        values = {}
        for t in terms:
            product = np.full(n_draws, t.constant)
            for key, power in t.powers:
                product *= draws[key] ** power
            values[t.name] = product
        total = np.sum(list(values.values()), axis=0)
    _check_finite(quantity, total)

    def summarize(term_values: np.ndarray, closed: dict[str, Any] | None, **extra: Any) -> Estimate:
        _check_finite(quantity, term_values)
        quantiles, mcse = quantiles_with_mcse(term_values, _SUMMARY_LEVELS)
        return Estimate(
            **{**common, **extra},
            quantiles=quantiles,
            quantile_mcse=mcse,
            n_draws=n_draws,
            seed=seed_record,
            closed_form=closed,
            samples=term_values,
        )

    parts = {}
    if len(terms) > 1:
        for t in terms:
            if all(specs[k].is_fixed for k, _ in t.powers):
                parts[t.name] = Estimate(**{**common, "inputs": {}, "notes": ()}, value=float(values[t.name][0]))
            else:
                parts[t.name] = summarize(values[t.name], _closed_form(t, specs), inputs={}, notes=())
    closed = _closed_form(terms[0], specs) if len(terms) == 1 else None
    return replace(summarize(total, closed), parts=parts)


class _Inputs:
    """Collects validated inputs and problems for one estimator call."""

    def __init__(self) -> None:
        self.problems = Problems()
        self.specs: dict[str, PriorSpec] = {}
        self.written: dict[str, Any] = {}
        self.notes: list[str] = []
        self.bad_chip = False  # an unknown chip was named: what it would supply is not "missing"

    def add(self, key: str, value: Any, domain: str = "positive") -> bool:
        """Validate ``value`` as input ``key``; return whether it is usable."""
        if value is None:
            return False
        self.written[key] = value
        spec = to_prior(key, value, domain, self.problems)
        if spec is not None:
            self.specs[key] = spec
        return spec is not None

    def fixed(self, key: str, value: float, note: str) -> None:
        """Add a value taken from the chip table."""
        self.specs[key] = PriorSpec(name=key, dist="fixed", params={"value": value}, written=value)
        self.written[key] = value
        self.notes.append(note)

    def error(self, key: str, message: str) -> None:
        """Report a problem."""
        self.problems.add(key, message)

    def check(self) -> None:
        """Raise every problem found so far."""
        if self.problems.items:
            raise EstimateError(self.problems.items)


def _lookup_chip(inputs: _Inputs, name: str | None) -> Chip | None:
    if name is None:
        return None
    try:
        return chip(name)
    except EstimateError as exc:
        inputs.problems.items.extend(exc.problems)
        inputs.bad_chip = True
        return None


def _add_peak(inputs: _Inputs, found: Chip | None, precision: str | None, peak_flops: Any, required: bool) -> None:
    """``peak_flops`` [FLOP/s] as given, else from the chip table at ``precision``."""
    if peak_flops is not None:
        inputs.add("peak_flops", peak_flops)
        if precision is not None and found is None:
            inputs.error("precision", "picks a column of the chip table: give it with chip")
        return
    if found is None:
        if required and not inputs.bad_chip:
            inputs.error("peak_flops", "missing: give peak_flops [FLOP/s] or a chip from the table")
        elif precision is not None:
            inputs.error("precision", "picks a column of the chip table: give it with chip")
        return
    try:
        used, value = found.peak(precision)
    except EstimateError as exc:
        inputs.problems.items.extend(exc.problems)
        return
    inputs.fixed("peak_flops", value, f"peak {value:.4g} FLOP/s: {found.name}, {used}, dense ({found.variant})")


def _add_duration(
    inputs: _Inputs, days: Any, hours: Any, duration: Any, found: Chip | None, chip_name: str | None
) -> tuple[Duration | None, Chip | None]:
    """Add the run's duration as input ``seconds``; return it and the chip a chip-time unit names."""
    given = [(k, v) for k, v in (("days", days), ("hours", hours), ("duration", duration)) if v is not None]
    if len(given) > 1:
        inputs.error(given[1][0], f"give one of days, hours or duration, not {' and '.join(k for k, _ in given)}")
        return None, found
    if not given:
        inputs.error("days", "missing: give days, hours or duration (e.g. '2500 V100-days')")
        return None, found
    key, value = given[0]
    if key == "duration":
        if isinstance(value, Duration):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_duration(value)
            except EstimateError as exc:
                inputs.problems.items.extend(exc.problems)
                inputs.bad_chip = inputs.bad_chip or "unknown chip" in str(exc)
                return None, found
        else:
            inputs.error("duration", f"must be a string such as '30 days' or '2500 V100-days', got {value!r}")
            return None, found
        if parsed.chip is not None:
            named = chip(parsed.chip)
            if found is not None and found.name != named.name:
                inputs.error("duration", f"{value!r} names {named.name} but chip is {found.name}")
            elif found is None and chip_name is None:
                found = named
        inputs.written["duration"] = parsed.text or value
        inputs.specs["seconds"] = replace(parsed.spec, name="duration")
        return parsed, found
    if inputs.add(key, value):
        spec = inputs.specs.pop(key)
        inputs.specs["seconds"] = replace(spec, scale=SECONDS_PER_DAY if key == "days" else SECONDS_PER_HOUR)
    return None, found


def _chip_count(inputs: _Inputs, chips_: Any, duration: Duration | None) -> list[tuple[str, float]]:
    """Return the ``chips`` factor, unless a chip-time duration already counts them."""
    if duration is not None and duration.per_chip:
        if chips_ is not None:
            inputs.error("chips", f"a chip-time duration ({duration.text!r}) already counts the chips; leave chips out")
        return []
    if chips_ is None:
        inputs.error("chips", "missing: the number of chips (or a chip-time duration such as '2500 V100-days')")
        return []
    inputs.add("chips", chips_)
    return [("chips", 1.0)]


def flop(
    *,
    chips: Any = None,
    chip: str | None = None,
    precision: str | None = None,
    peak_flops: Any = None,
    days: Any = None,
    hours: Any = None,
    duration: Any = None,
    utilization: Any = None,
    params: Any = None,
    tokens: Any = None,
    n_draws: int = 100_000,
    seed: int | np.random.Generator = 0,
) -> Estimate:
    """Training compute [FLOP] from hardware facts, or from parameters and tokens.

    Either ``chips x peak_flops x seconds x utilization`` (give ``chips``, ``chip`` or
    ``peak_flops``, one of ``days``/``hours``/``duration``, and ``utilization``), or
    ``6 x params x tokens``. Every numeric input may be a number, a prior table, a
    :class:`~mcscale.model.priors.PriorSpec` or an inline string such as ``"lognormal(0.2, 0.5)"``.

    Parameters
    ----------
    chips : number or prior, optional
        Number of chips (any positive number: ``2048 * 0.25`` boards works).
    chip : str, optional
        A chip of the table (:func:`chips`), for its peak FLOP/s.
    precision : str, optional
        Column of the table: ``fp32``, ``tf32``, ``bf16``, ``fp16``, ``fp8`` (default: the
        first of bf16, fp16, tf32, fp32 the chip has).
    peak_flops : number or prior, optional
        Peak FLOP/s per chip [FLOP/s]; overrides the table.
    days, hours : number or prior, optional
        Wall-clock duration [day] or [hour].
    duration : str, optional
        A duration with its unit: ``"30 days"``, ``"720 hours"``, or chip-time such as
        ``"2500 V100-days"`` (then leave out ``chips``; the named chip sets ``chip``).
    utilization : number or prior
        Achieved / peak FLOP/s, in (0, 1]; an uncertain prior is truncated to (0, 1].
    params, tokens : number or prior, optional
        Parameters and training tokens, for the ``6 N D`` route.
    n_draws : int, optional
        Monte Carlo draws when an input is uncertain.
    seed : int or numpy.random.Generator, optional
        Seed or generator for the draws.

    Returns
    -------
    Estimate
        In [FLOP].

    Raises
    ------
    EstimateError
        With every problem in the inputs.
    """
    inputs = _Inputs()
    hardware = {
        "chips": chips,
        "chip": chip,
        "precision": precision,
        "peak_flops": peak_flops,
        "days": days,
        "hours": hours,
        "duration": duration,
        "utilization": utilization,
    }
    if params is not None or tokens is not None:
        extra = [k for k, v in hardware.items() if v is not None]
        if extra:
            inputs.error(extra[0], "give either params and tokens (6 N D) or hardware facts, not both")
        for key, value in (("params", params), ("tokens", tokens)):
            if value is None:
                inputs.error(key, "missing (the 6 N D route needs params and tokens)")
            inputs.add(key, value)
        inputs.check()
        return _evaluate(
            "flop",
            "FLOP",
            "6 x params x tokens",
            [_Term("flop", 6.0, (("params", 1.0), ("tokens", 1.0)))],
            inputs.specs,
            inputs.written,
            inputs.notes,
            n_draws,
            seed,
        )
    found = _lookup_chip(inputs, chip)
    if chip is not None:
        inputs.written["chip"] = chip
    parsed, found = _add_duration(inputs, days, hours, duration, found, chip)
    _add_peak(inputs, found, precision, peak_flops, required=True)
    powers = _chip_count(inputs, chips, parsed)
    if utilization is None:
        inputs.error("utilization", "missing: achieved / peak FLOP/s in (0, 1] (the source documents use 0.33)")
    inputs.add("utilization", utilization, "fraction")
    inputs.check()
    powers += [("peak_flops", 1.0), ("seconds", 1.0), ("utilization", 1.0)]
    return _evaluate(
        "flop",
        "FLOP",
        "chips x peak FLOP/s x seconds x utilization",
        [_Term("flop", 1.0, tuple(powers))],
        inputs.specs,
        inputs.written,
        inputs.notes,
        n_draws,
        seed,
    )


def cost(
    *,
    chips: Any = None,
    chip: str | None = None,
    chip_price: Any = None,
    depreciation: Any = None,
    lifetime_years: Any = None,
    usd_per_chip_hour: Any = None,
    days: Any = None,
    hours: Any = None,
    duration: Any = None,
    energy_mwh: Any = None,
    usd_per_kwh: Any = None,
    power_watts: Any = None,
    pue: Any = None,
    n_draws: int = 100_000,
    seed: int | np.random.Generator = 0,
) -> Estimate:
    """Cost of a training run [USD]: hardware, plus energy when an electricity price is given.

    Hardware is ``chips x chip_price x depreciation x days / 365.25`` (``depreciation`` per
    year, or ``1 / lifetime_years``), or ``chips x hours x usd_per_chip_hour`` when rented.
    Energy is ``energy_mwh x 1000 x usd_per_kwh``, or, without ``energy_mwh``,
    ``chips x power_watts x hours x pue / 1000 x usd_per_kwh`` with the chip's TDP as the
    default power.

    Parameters
    ----------
    chips : number or prior
        Number of chips (leave out with a chip-time ``duration``).
    chip : str, optional
        A chip of the table, for its price (an estimate for most chips) and TDP.
    chip_price : number or prior, optional
        Price per chip [USD]; overrides the table.
    depreciation : number or prior, optional
        Fraction of the price written off per year [1/year].
    lifetime_years : number or prior, optional
        Service life [year]; the same as ``depreciation = 1 / lifetime_years``.
    usd_per_chip_hour : number or prior, optional
        Rental price [USD per chip-hour], instead of price and depreciation.
    days, hours, duration : optional
        The run's duration, as for :func:`flop`.
    energy_mwh : number or prior, optional
        Energy used [MWh].
    usd_per_kwh : number or prior, optional
        Price of electricity [USD/kWh]; no energy term without it.
    power_watts : number or prior, optional
        Power per chip [W], for the energy when ``energy_mwh`` is not given.
    pue : number or prior, optional
        Data-centre power usage effectiveness (default 1), with ``power_watts``.
    n_draws : int, optional
        Monte Carlo draws when an input is uncertain.
    seed : int or numpy.random.Generator, optional
        Seed or generator for the draws.

    Returns
    -------
    Estimate
        In [USD], with ``parts`` ``hardware`` and ``energy`` when both are present.

    Raises
    ------
    EstimateError
        With every problem in the inputs.
    """
    inputs = _Inputs()
    found = _lookup_chip(inputs, chip)
    if chip is not None:
        inputs.written["chip"] = chip
    parsed, found = _add_duration(inputs, days, hours, duration, found, chip)
    count = _chip_count(inputs, chips, parsed)
    time = [*count, ("seconds", 1.0)]
    terms: list[_Term] = []
    if usd_per_chip_hour is not None:
        for key, value in (
            ("chip_price", chip_price),
            ("depreciation", depreciation),
            ("lifetime_years", lifetime_years),
        ):
            if value is not None:
                inputs.error(key, "give usd_per_chip_hour (rented) or a price and depreciation (bought), not both")
        inputs.add("usd_per_chip_hour", usd_per_chip_hour)
        terms.append(_Term("hardware", 1.0 / SECONDS_PER_HOUR, (*time, ("usd_per_chip_hour", 1.0))))
    else:
        _add_price(inputs, found, chip_price, " or usd_per_chip_hour")
        write_off: tuple[str, float] | None = None
        if depreciation is not None and lifetime_years is not None:
            inputs.error("lifetime_years", "give depreciation or lifetime_years, not both")
        elif depreciation is not None:
            inputs.add("depreciation", depreciation)
            write_off = ("depreciation", 1.0)
        elif lifetime_years is not None:
            inputs.add("lifetime_years", lifetime_years)
            write_off = ("lifetime_years", -1.0)
        else:
            inputs.error("depreciation", "missing: give depreciation [1/year] (e.g. 0.25) or lifetime_years")
        if write_off is not None:
            terms.append(_Term("hardware", 1.0 / SECONDS_PER_YEAR, (*time, ("chip_price", 1.0), write_off)))
    if usd_per_kwh is not None:
        inputs.add("usd_per_kwh", usd_per_kwh)
        if energy_mwh is not None:
            for key, value in (("power_watts", power_watts), ("pue", pue)):
                if value is not None:
                    inputs.error(key, "applies only to energy from power; energy_mwh is given")
            inputs.add("energy_mwh", energy_mwh)
            terms.append(_Term("energy", 1000.0, (("energy_mwh", 1.0), ("usd_per_kwh", 1.0))))
        else:
            if power_watts is not None:
                inputs.add("power_watts", power_watts)
            elif found is not None and found.tdp_watts is not None:
                inputs.fixed("power_watts", found.tdp_watts, f"power {found.tdp_watts:g} W per {found.name} (TDP)")
            elif not inputs.bad_chip:
                inputs.error("energy_mwh", "missing: usd_per_kwh needs energy_mwh, power_watts, or a chip with a TDP")
            inputs.add("pue", 1.0 if pue is None else pue)
            terms.append(
                _Term(
                    "energy",
                    1.0 / (1000.0 * SECONDS_PER_HOUR),
                    (*time, ("power_watts", 1.0), ("pue", 1.0), ("usd_per_kwh", 1.0)),
                )
            )
    else:
        for key, value in (("energy_mwh", energy_mwh), ("power_watts", power_watts), ("pue", pue)):
            if value is not None:
                inputs.error(key, "needs usd_per_kwh (the price of electricity)")
    inputs.check()
    formula = " + ".join(
        {
            "hardware": "chips x hours x USD per chip-hour"
            if usd_per_chip_hour is not None
            else "chips x price x depreciation/year x days / 365.25",
            "energy": "energy [kWh] x USD/kWh",
        }[t.name]
        for t in terms
    )
    return _evaluate("cost", "USD", formula, terms, inputs.specs, inputs.written, inputs.notes, n_draws, seed)


def price_performance(
    *,
    chip: str | None = None,
    precision: str | None = None,
    chip_price: Any = None,
    peak_flops: Any = None,
    lifetime_years: Any = 1.0,
    utilization: Any = 1.0,
    n_draws: int = 100_000,
    seed: int | np.random.Generator = 0,
) -> Estimate:
    """Hardware price-performance [USD per PFLOP/s-day].

    ``chip_price / (peak_flops / 1e15 x lifetime_years x 365.25 x utilization)``: what one
    PFLOP/s sustained for a day costs when the chip is written off over its lifetime.

    Parameters
    ----------
    chip : str, optional
        A chip of the table, for its price and peak.
    precision : str, optional
        Column of the table (see :func:`flop`).
    chip_price : number or prior, optional
        Price per chip [USD]; overrides the table.
    peak_flops : number or prior, optional
        Peak FLOP/s per chip [FLOP/s]; overrides the table.
    lifetime_years : number or prior, optional
        Years over which the price is spread (default 1) [year].
    utilization : number or prior, optional
        Achieved / peak FLOP/s (default 1: price per peak PFLOP/s-day).
    n_draws : int, optional
        Monte Carlo draws when an input is uncertain.
    seed : int or numpy.random.Generator, optional
        Seed or generator for the draws.

    Returns
    -------
    Estimate
        In [USD/(PFLOP/s-day)].

    Raises
    ------
    EstimateError
    """
    inputs = _Inputs()
    found = _lookup_chip(inputs, chip)
    if chip is not None:
        inputs.written["chip"] = chip
    _add_price(inputs, found, chip_price)
    _add_peak(inputs, found, precision, peak_flops, required=True)
    inputs.add("lifetime_years", lifetime_years)
    inputs.add("utilization", utilization, "fraction")
    inputs.check()
    term = _Term(
        "price_performance",
        PFLOPS_DAY / SECONDS_PER_YEAR,
        (("chip_price", 1.0), ("peak_flops", -1.0), ("lifetime_years", -1.0), ("utilization", -1.0)),
    )
    formula = "price / (peak PFLOP/s x lifetime days x utilization)"
    return _evaluate(
        "price_performance",
        "USD/(PFLOP/s-day)",
        formula,
        [term],
        inputs.specs,
        inputs.written,
        inputs.notes,
        n_draws,
        seed,
    )


def _add_price(inputs: _Inputs, found: Chip | None, chip_price: Any, alternative: str = "") -> None:
    """``chip_price`` [USD] as given, else from the chip table."""
    if chip_price is not None:
        inputs.add("chip_price", chip_price)
    elif found is not None and found.price_usd is not None:
        kind = "an estimate" if found.price_is_estimate else "list price"
        inputs.fixed("chip_price", found.price_usd, f"price ${found.price_usd:,.0f} per {found.name} ({kind})")
    elif found is not None:
        inputs.error("chip_price", f"missing: {found.name} is not sold; give chip_price{alternative}")
    elif not inputs.bad_chip:
        inputs.error("chip_price", f"missing: give chip_price [USD], a chip from the table{alternative}")


def flop_per_usd(
    *,
    chip: str | None = None,
    precision: str | None = None,
    chip_price: Any = None,
    peak_flops: Any = None,
    lifetime_years: Any = None,
    depreciation: Any = None,
    n_draws: int = 100_000,
    seed: int | np.random.Generator = 0,
) -> Estimate:
    """Peak FLOP per USD of hardware [FLOP/USD]: ``peak_flops x lifetime seconds / chip_price``.

    This is a scenario's ``hardware.flop_per_usd``: at peak, because the scenario applies
    its ``[utilization]`` on top.

    Parameters
    ----------
    chip, precision, chip_price, peak_flops
        As for :func:`price_performance`.
    lifetime_years : number or prior, optional
        Years over which the price is spread [year].
    depreciation : number or prior, optional
        Fraction written off per year [1/year], instead of ``lifetime_years``.
    n_draws : int, optional
        Monte Carlo draws when an input is uncertain.
    seed : int or numpy.random.Generator, optional
        Seed or generator for the draws.

    Returns
    -------
    Estimate
        In [FLOP/USD].

    Raises
    ------
    EstimateError
    """
    inputs = _Inputs()
    found = _lookup_chip(inputs, chip)
    if chip is not None:
        inputs.written["chip"] = chip
    _add_price(inputs, found, chip_price)
    _add_peak(inputs, found, precision, peak_flops, required=True)
    write_off: tuple[str, float] = ("lifetime_years", 1.0)
    if (lifetime_years is None) == (depreciation is None):
        inputs.error("lifetime_years", "give lifetime_years or depreciation (exactly one)")
    elif lifetime_years is not None:
        inputs.add("lifetime_years", lifetime_years)
    else:
        inputs.add("depreciation", depreciation)
        write_off = ("depreciation", -1.0)
    inputs.check()
    term = _Term("flop_per_usd", SECONDS_PER_YEAR, (("peak_flops", 1.0), write_off, ("chip_price", -1.0)))
    formula = "peak FLOP/s x lifetime seconds / price"
    return _evaluate(
        "flop_per_usd", "FLOP/USD", formula, [term], inputs.specs, inputs.written, inputs.notes, n_draws, seed
    )
