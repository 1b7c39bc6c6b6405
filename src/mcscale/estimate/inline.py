"""Inline priors (``"lognormal(0.2, 0.5)"``) and durations (``"30 days"``, ``"2500 V100-days"``).

An inline prior is parsed into the same table a scenario file would hold
(``{dist = "lognormal", p5 = 0.2, p95 = 0.5}``) by regular expressions, never ``eval``,
then validated by the scenario file's own prior parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from mcscale.estimate.chip_table import chip
from mcscale.estimate.errors import EstimateError
from mcscale.model.prior_tables import Problems, check_domain, parse_prior_table
from mcscale.model.priors import PriorSpec
from mcscale.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR

__all__ = ["Duration", "parse_duration", "parse_prior", "to_prior"]

_NUMBER = r"[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(rf"^\s*({_NUMBER})\s*$")
_CALL_RE = re.compile(r"^\s*([A-Za-z]+)\s*\(([^()]*)\)\s*$")
_KEYWORD_RE = re.compile(rf"^\s*([A-Za-z]+)\s*=\s*({_NUMBER})\s*$")
# Inline form -> the names of its two positional arguments in a scenario table.
_INLINE_FORMS = {
    "lognormal": ("p5", "p95"),
    "normal": ("p5", "p95"),
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
}
_INLINE_HELP = "lognormal(p5, p95), normal(p5, p95), uniform(low, high), loguniform(low, high)"


def _inline_table(text: str) -> float | dict[str, Any]:
    """Turn ``"2.5"`` or ``"lognormal(0.2, 0.5)"`` into a number or a scenario prior table.

    Raises
    ------
    ValueError
        With a one-line message, if the text is neither.
    """
    number = _NUMBER_RE.match(text)
    if number:
        return float(number.group(1))
    call = _CALL_RE.match(text)
    if not call:
        raise ValueError(f"cannot parse {text!r}: give a number or a prior, one of {_INLINE_HELP}")
    dist, body = call.group(1).lower(), call.group(2)
    if dist not in _INLINE_FORMS:
        raise ValueError(f"unknown distribution {call.group(1)!r} in {text!r}; known: {_INLINE_HELP}")
    names = _INLINE_FORMS[dist]
    table: dict[str, Any] = {"dist": dist}
    positional: list[float] = []
    for arg in body.split(","):
        keyword = _KEYWORD_RE.match(arg)
        plain = _NUMBER_RE.match(arg)
        if plain and not any(k in table for k in ("lower", "upper")):
            positional.append(float(plain.group(1)))
        elif keyword and keyword.group(1).lower() in ("lower", "upper"):
            table[keyword.group(1).lower()] = float(keyword.group(2))
        else:
            raise ValueError(
                f"cannot parse {text!r}: {dist} takes two numbers ({', '.join(names)}), "
                f"then optionally lower=x, upper=y; e.g. {dist}(1, 10)"
            )
    if len(positional) != 2:
        raise ValueError(f"cannot parse {text!r}: {dist} takes two numbers ({', '.join(names)}), got {len(positional)}")
    table.update(zip(names, positional, strict=True))
    return table


def to_prior(key: str, value: Any, domain: str, problems: Problems) -> PriorSpec | None:
    """Validate one estimator input into a prior in its own unit.

    Parameters
    ----------
    key : str
        The input's name, under which problems are reported.
    value : number, str, mapping or PriorSpec
        A number, an inline prior string, a scenario prior table, or a prior.
    domain : {"positive", "fraction"}
        As for :func:`parse_prior`.
    problems : Problems
        Where problems are added.

    Returns
    -------
    PriorSpec or None
        None when the input has a problem.
    """
    if isinstance(value, PriorSpec):
        spec = value
        n_before = len(problems.items)
        spec = check_domain(spec, key, domain, problems)
        return spec if len(problems.items) == n_before else None
    text = value if isinstance(value, str) else None
    if text is not None:
        try:
            value = _inline_table(text)
        except ValueError as exc:
            problems.add(key, str(exc))
            return None
    local = Problems()
    spec = parse_prior_table(key, key, value, local, is_time=False)
    if spec is not None and not local.items:
        spec = check_domain(spec, key, domain, local)
    for path, message in local.items:
        if text is not None:  # report against the string as written, not a table path
            sub = path[len(key) + 1 :] if path.startswith(f"{key}.") else ""
            message = message.replace("set lower > 0", "add lower=x with x > 0")
            problems.add(key, f"{text!r}: {sub + ' ' if sub else ''}{message}")
        else:
            problems.add(path, message)
    if local.items or spec is None:
        return None
    if spec.dist not in ("fixed", "normal", "lognormal", "uniform", "loguniform"):
        problems.add(key, f"an estimate input takes fixed, normal, lognormal, uniform or loguniform, not {spec.dist}")
        return None
    return spec


def parse_prior(text: str, name: str = "value", domain: str = "positive") -> PriorSpec:
    """Parse a number or an inline prior such as ``"lognormal(0.2, 0.5)"`` (never ``eval``).

    Parameters
    ----------
    text : str
        A number, or one of ``lognormal(p5, p95)``, ``normal(p5, p95)``,
        ``uniform(low, high)``, ``loguniform(low, high)`` (the same forms as a scenario's
        ``{dist = "lognormal", p5 = ..., p95 = ...}``), optionally followed by
        ``lower=x`` and ``upper=y`` to truncate.
    name : str, optional
        Name used in messages.
    domain : {"positive", "fraction"}, optional
        ``positive``: every value must be > 0. ``fraction``: in (0, 1]; an uncertain
        prior is truncated to (0, 1] as a scenario's utilization is.

    Returns
    -------
    PriorSpec

    Raises
    ------
    EstimateError
        If the text cannot be parsed or the prior leaves the domain.
    """
    problems = Problems()
    spec = to_prior(name, text, domain, problems)
    if spec is None:
        raise EstimateError(problems.items)
    return spec


_WALL_UNITS = {
    "s": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "h": SECONDS_PER_HOUR,
    "hour": SECONDS_PER_HOUR,
    "hours": SECONDS_PER_HOUR,
    "d": SECONDS_PER_DAY,
    "day": SECONDS_PER_DAY,
    "days": SECONDS_PER_DAY,
    "week": 7 * SECONDS_PER_DAY,
    "weeks": 7 * SECONDS_PER_DAY,
    "year": SECONDS_PER_YEAR,
    "years": SECONDS_PER_YEAR,
}
_CHIP_TIME_RE = re.compile(r"^(?P<who>.+)-(?P<unit>hours?|days?)$", re.IGNORECASE)
_GENERIC_CHIPS = ("chip", "gpu", "tpu", "accelerator")


@dataclass(frozen=True)
class Duration:
    """A duration: wall-clock time, or chip-time (``2500 V100-days``).

    Parameters
    ----------
    spec : PriorSpec
        The amount as written, with ``scale`` the seconds in one unit [s].
    per_chip : bool
        Whether it is chip-time (chips x time), which replaces a chip count.
    chip : str or None
        The chip named in a chip-time unit (``V100`` in ``V100-days``), if any.
    text : str
        As written.
    """

    spec: PriorSpec
    per_chip: bool = False
    chip: str | None = None
    text: str = ""


def parse_duration(text: str, name: str = "duration") -> Duration:
    """Parse ``"30 days"``, ``"720 hours"``, ``"lognormal(20, 40) days"``, ``"2500 V100-days"``.

    Parameters
    ----------
    text : str
        An amount (number or inline prior) and a unit: ``hours``, ``days``, ``weeks``,
        ``years`` (365.25 days), or a chip-time unit ``NAME-hours`` / ``NAME-days`` where NAME
        is a chip of the table or ``chip``/``GPU``/``TPU``.
    name : str, optional
        Name used in messages.

    Returns
    -------
    Duration

    Raises
    ------
    EstimateError
    """
    match = re.match(r"^\s*(?P<amount>.+?)\s+(?P<unit>\S+)\s*$", text)
    if not match:
        raise EstimateError(
            [(name, f"cannot parse {text!r}: write an amount and a unit: '30 days', '720 hours', '2500 V100-days'")]
        )
    unit = match.group("unit")
    per_chip, chip_name = False, None
    if unit.lower() in _WALL_UNITS:
        seconds = _WALL_UNITS[unit.lower()]
    else:
        chip_time = _CHIP_TIME_RE.match(unit)
        if not chip_time:
            raise EstimateError(
                [
                    (
                        name,
                        f"unknown unit {unit!r} in {text!r}; known: hours, days, weeks, years, "
                        "or chip-time such as chip-hours, GPU-days, V100-days",
                    )
                ]
            )
        per_chip = True
        seconds = SECONDS_PER_HOUR if chip_time.group("unit").lower().startswith("hour") else SECONDS_PER_DAY
        who = chip_time.group("who")
        if who.lower() not in _GENERIC_CHIPS:
            try:
                chip_name = chip(who).name
            except EstimateError as exc:
                raise EstimateError([(name, f"in {text!r}: {exc.problems[0][1]} (or chip, GPU, TPU)")]) from None
    problems = Problems()
    spec = to_prior(name, match.group("amount"), "positive", problems)
    if spec is None:
        raise EstimateError(problems.items)
    return Duration(spec=replace(spec, scale=seconds), per_chip=per_chip, chip=chip_name, text=text)
