"""A validated scenario: its year grid, priors, regimes, correlations and questions."""

from __future__ import annotations

from dataclasses import dataclass

from mcscale.echo import TEXT_LIMIT, one_line
from mcscale.model.priors import PriorSpec

__all__ = ["Question", "Regime", "Scenario", "ScenarioError"]


class ScenarioError(ValueError):
    """Problems found in a scenario file, each with its key path.

    Parameters
    ----------
    source : str
        The file name the problems are reported against.
    problems : list of tuple of (str, str)
        ``(key_path, message)`` pairs; an empty key path means the whole file.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return one ``file: key.path: message`` line per problem (control characters escaped, long parts cut)."""
        source = one_line(self.source, TEXT_LIMIT)
        return [
            one_line(f"{source}: {one_line(path, TEXT_LIMIT)}: {message}" if path else f"{source}: {message}")
            for path, message in self.problems
        ]


@dataclass(frozen=True)
class Regime:
    """Growth parameters that change from a given year on.

    Parameters
    ----------
    start_year : float
        The regime covers every grid interval starting at or after this year [year].
    priors : dict of str to PriorSpec
        Changed parameters, keyed by dotted name without the ``@year`` suffix.
    """

    start_year: float
    priors: dict[str, PriorSpec]


@dataclass(frozen=True)
class Question:
    """A question written in a scenario's ``[[questions]]``.

    Parameters
    ----------
    metric : str
        Trajectory variable the question is about.
    threshold : float, "requirement" or None
        Absolute threshold in the metric's unit, or the milestone's requirement (then
        ``metric`` defaults to the milestone's).
    multiple : float or None
        Threshold as a multiple of ``reference``.
    reference : str
        Name of the reference run ``multiple`` multiplies.
    years : tuple of float
        "By" years [year].
    text : str
        A question in the query language, when given as text.
    """

    metric: str = "effective_flop"
    threshold: float | str | None = None
    multiple: float | None = None
    reference: str = ""
    years: tuple[float, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Parameters
    ----------
    name, description : str
        From ``[scenario]``.
    start, end, step : float
        The year grid ``start, start + step, ..., end`` [year].
    priors : dict of str to PriorSpec
        Every base-regime parameter by dotted name (``spend.initial``, ...).
    regimes : tuple of Regime
        Later regimes, in increasing ``start_year``.
    correlations : tuple of tuple of (str, str, float)
        ``(name_a, name_b, spearman_rho)``.
    cap_kind, hardware_ceiling_kind, algorithms_ceiling_kind : str
        ``"hard"``, ``"soft"`` or ``"exponential"``.
    reference_name : str
        Name of the scenario's reference run (``reference.flop`` is its prior).
    milestone_name, milestone_metric : str
        The milestone, when ``milestone.requirement`` is given.
    questions : tuple of Question
        From ``[[questions]]``.
    source : str
        The file name (for messages).
    text : str
        The file's text as written.
    """

    name: str
    description: str
    start: float
    end: float
    step: float
    priors: dict[str, PriorSpec]
    regimes: tuple[Regime, ...] = ()
    correlations: tuple[tuple[str, str, float], ...] = ()
    cap_kind: str = "hard"
    hardware_ceiling_kind: str = "hard"
    algorithms_ceiling_kind: str = "hard"
    reference_name: str = "GPT-4"
    milestone_name: str = ""
    milestone_metric: str = "effective_flop"
    questions: tuple[Question, ...] = ()
    source: str = "<string>"
    text: str = ""

    @property
    def n_years(self) -> int:
        """Number of grid years."""
        return round((self.end - self.start) / self.step) + 1

    def all_priors(self) -> dict[str, PriorSpec]:
        """Return base and regime priors by name (regime names end in ``@year``)."""
        out = dict(self.priors)
        for regime in self.regimes:
            out.update({p.name: p for p in regime.priors.values()})
        return out
