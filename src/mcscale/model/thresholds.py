"""Thresholds of questions: a number, a multiple of a reference run, or the milestone requirement."""

from __future__ import annotations

import math

from mcscale.model.scenario import Scenario
from mcscale.numbers import LOG10_LIMIT
from mcscale.units import BUILTIN_REFERENCES

__all__ = ["QueryError", "Threshold", "probability_text", "resolve_threshold", "threshold_text"]

#: A threshold: a number in the metric's unit, ``(multiple, reference name)``, or ``"requirement"``.
Threshold = float | tuple[float, str] | str


class QueryError(ValueError):
    """A question that cannot be answered (unknown metric, year outside the horizon...)."""


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
        if not multiple > 0:
            raise QueryError(f"a multiple must be positive, got {multiple!r}")
        if name == scenario.reference_name:
            prior = scenario.priors["reference.flop"]
            if not prior.is_fixed:
                return _in_range(math.log10(multiple), threshold), "reference.flop"
            return _in_range(math.log10(multiple) + math.log10(prior.params["value"]), threshold), None
        if name not in BUILTIN_REFERENCES:
            known = ", ".join(dict.fromkeys([*BUILTIN_REFERENCES, scenario.reference_name]))
            raise QueryError(f"unknown reference {name!r}; known: {known}")
        return _in_range(math.log10(multiple) + math.log10(BUILTIN_REFERENCES[name]), threshold), None
    if not threshold > 0:
        raise QueryError(f"threshold must be positive, got {threshold!r}")
    return _in_range(math.log10(threshold), threshold), None


def _in_range(log10_value: float, threshold: Threshold) -> float:
    """Return a log10 threshold, refusing one whose power of ten would overflow (sums in log10, never products)."""
    if not abs(log10_value) <= LOG10_LIMIT:
        raise QueryError(
            f"threshold {threshold_text(threshold)} is 1e{log10_value:+.1f}: thresholds lie between "
            f"1e-{LOG10_LIMIT:g} and 1e+{LOG10_LIMIT:g}"
        )
    return log10_value


def threshold_text(threshold: Threshold) -> str:
    """Return a threshold as the question language writes it: ``1000 x GPT-4``, ``1e+28``."""
    if isinstance(threshold, tuple):
        return f"{threshold[0]:g} x {threshold[1]}"
    return threshold if isinstance(threshold, str) else f"{threshold:g}"


def probability_text(metric: str, op: str, threshold: Threshold, by: float | None, in_year: float | None) -> str:
    """Return a probability question as text: ``P(effective_flop >= 1000 x GPT-4 by 2030)``."""
    when = f"by {by:g}" if by is not None else f"in {in_year:g}"
    return f"P({metric} {op} {threshold_text(threshold)} {when})"
