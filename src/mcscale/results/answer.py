"""The answer to one question, with its Monte Carlo standard error, as text and as JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mcscale.stats import rule_of_three, too_few_draws
from mcscale.units import format_probability, format_value

__all__ = ["Answer"]


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

    @classmethod
    def from_count(
        cls, count: int, n_draws: int, question: str, seed: int, scenario: str, details: dict[str, Any] | None = None
    ) -> Answer:
        """Answer a probability from a count of ``n_draws`` draws.

        The value is ``count / n_draws`` with MCSE ``sqrt(p (1 - p) / n)``, or, when no
        draw (or every draw) qualifies, no MCSE and the rule-of-three 95% bound.
        """
        p = count / n_draws
        bound = None
        if p in (0.0, 1.0):
            bound = ("upper", rule_of_three(n_draws)) if p == 0.0 else ("lower", 1.0 - rule_of_three(n_draws))
        return cls(
            question=question,
            kind="probability",
            unit="1",
            n_draws=n_draws,
            seed=seed,
            scenario=scenario,
            value=p,
            mcse=None if bound else math.sqrt(p * (1 - p) / n_draws),
            bound=bound,
            details=details or {},
        )

    def probability_mcse(self) -> float:
        """Largest MCSE of the answer on the probability scale.

        For a probability it is its MCSE (``sqrt(p (1 - p) / n)`` for plain Monte Carlo); for a quantile at level q the
        rank uncertainty ``sqrt(q (1 - q) / n)``: one scale that a ``--precision`` target
        can compare across kinds of answer.
        """
        n = self.n_draws
        if self.bound is not None:  # no draw (or every draw) qualified: the rule-of-three bound is the error
            return 3.0 / n
        if self.kind == "probability" and isinstance(self.mcse, float):  # QMC's comes from its replicates
            return self.mcse
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
        few = too_few_draws(self.n_draws)
        if few is not None:  # errors from so few draws mean nothing: none, and why
            out.update(mcse=None, bound=None, note=few)
            out.pop("interval", None)
        out.update(self.details)
        out.update({"n_draws": self.n_draws, "seed": self.seed, "scenario": self.scenario})
        return _json_ready(out)

    def __str__(self) -> str:
        text = self._text()
        return f"{text} WARNING: {self.details['warning']}" if "warning" in self.details else text

    def _text(self) -> str:
        tail = f"(MCSE, {self.n_draws} draws, seed {self.seed})"
        few = too_few_draws(self.n_draws)
        if few is not None:
            return self._few_text(few)
        if self.kind == "probability":
            if self.bound is not None:
                side, limit = self.bound
                relation = "<" if side == "upper" else ">"
                # the value and its bound with the decimals an MCSE of that size would get
                value, _ = format_probability(self.value, 3.0 / self.n_draws)
                bound, _ = format_probability(limit, 3.0 / self.n_draws)
                return (
                    f"{self.question} = {value} ({relation} {bound} at 95%) "
                    f"(no MCSE: {'no' if side == 'upper' else 'every'} draw qualifies; rule of three, "
                    f"{self.n_draws} draws, seed {self.seed})"
                )
            value, mcse = format_probability(self.value, self.mcse)
            return f"{self.question} = {value} ± {mcse} {self._method_tail()}"
        if self.kind == "interval":
            lo, hi = self.interval  # type: ignore[misc]
            d = self.details
            return f"{self.question} = [{format_value(lo, self.unit)}, {format_value(hi, self.unit)}] {tail}".replace(
                "(MCSE,",
                f"({d['method'].upper()} {d['prob']:.0%} on log10 values, "
                + (f"ESS {d['ess']:.0f}," if "ess" in d else "from histograms," if "bin_width_dex" in d else ""),
            )
        body = self._quantiles_text(self.quantiles or {}, self.quantile_mcse or {})
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
            effective = self._quantiles_text(
                self.details["effective_flop_quantiles"], self.details.get("effective_flop_mcse", {})
            )
            body = f"physical FLOP: {body}; effective FLOP: {effective}"
        return f"{self.question}: {body} {tail}"

    def _method_tail(self) -> str:
        """Return the probability's closing parenthesis: MCSE, and the sampler and reduction if not plain MC."""
        d = self.details
        parts = ["MCSE"]
        method = {"conditional": "conditional MC", "importance": "importance sampling"}.get(d.get("variance_reduction"))
        if method is not None:
            parts.append(method)
        if "ess" in d:
            parts.append(f"weights' ESS {d['ess']:.3g} in all, {d['ess_hits']:.3g} among the draws meeting it")
        if d.get("sampler") == "qmc":
            parts.append(f"QMC, {d['replicates']} scramblings")
        return f"({', '.join(parts)}, {self.n_draws} draws, seed {self.seed})"

    def _few_text(self, few: str) -> str:
        """Return the answer without MCSEs, bounds or intervals, saying why: too few draws for them."""
        tail = f"({few}; {self.n_draws} draws, seed {self.seed})"
        if self.kind == "probability":
            return f"{self.question} = {self.value:.4f} {tail}"
        if self.kind == "interval":
            return f"{self.question}: interval not given {tail}"
        body = self._quantiles_text(self.quantiles or {}, {})
        if self.kind == "crossing_year":
            body += f"; P(never by {self.details['horizon_end']:g}) = {self.details['p_never']:.4f}"
        if self.kind == "cost":
            effective = self._quantiles_text(self.details["effective_flop_quantiles"], {})
            body = f"physical FLOP: {body}; effective FLOP: {effective}"
        return f"{self.question}: {body} {tail}"

    def _quantiles_text(self, quantiles: dict[str, float], mcse: dict[str, float]) -> str:
        """``5% 2028.7 ± 0.0059, ...``; a crossing year past the horizon reads ``95%: not reached by 2060``."""
        parts = []
        for key, value in quantiles.items():
            if self.kind == "crossing_year" and not math.isfinite(value):
                parts.append(f"{key}: not reached by {self.details['horizon_end']:g}")
            elif key in mcse:
                parts.append(
                    f"{key} {format_value(value, self.unit)} ± {format_value(mcse[key], self.unit, sign=False)}"
                )
            else:
                parts.append(f"{key} {format_value(value, self.unit)}")
        return ", ".join(parts)


def _json_ready(value: Any) -> Any:
    """Replace non-finite floats (a crossing year of "never") by None, recursively."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
