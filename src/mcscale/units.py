"""Units, metric names, reference runs, quantile levels, z-scores and value formatting.

The one home of these facts: every other module imports them from here. Canonical
units are year, USD and FLOP; a year is a Julian year of 365.25 days.
"""

from __future__ import annotations

import math

__all__ = [
    "BUILTIN_REFERENCES",
    "DAYS_PER_YEAR",
    "DEFAULT_QUANTILES",
    "METRICS",
    "PARAMETER_UNITS",
    "PFLOPS_DAY",
    "SECONDS_PER_DAY",
    "SECONDS_PER_HOUR",
    "SECONDS_PER_YEAR",
    "SUMMARY_QUANTILES",
    "TIME_UNITS",
    "Z_90_INTERVAL",
    "Z_95_INTERVAL",
    "USD_SUFFIXES",
    "format_multiple",
    "format_number",
    "format_probability",
    "format_value",
    "parameter_unit",
]

#: Trajectory variables a scenario produces, in kernel order, with their units.
METRICS: dict[str, str] = {
    "spend": "USD",
    "cap": "USD",
    "flop_per_usd": "FLOP/USD",
    "physical_flop": "FLOP",
    "algo_multiplier": "1",
    "effective_flop": "FLOP",
}

#: Reference runs every scenario knows, by name -> training compute [FLOP].
BUILTIN_REFERENCES: dict[str, float] = {"GPT-3": 3.14e23, "GPT-4": 2.1e25}

#: Days in a (Julian) year [day].
DAYS_PER_YEAR = 365.25
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY
#: FLOP in one PFLOP/s-day [FLOP].
PFLOPS_DAY = 1e15 * SECONDS_PER_DAY

#: Time units a scenario's time parameters accept -> [year].
TIME_UNITS: dict[str, float] = {
    "year": 1.0,
    "years": 1.0,
    "month": 1.0 / 12.0,
    "months": 1.0 / 12.0,
    "day": 1.0 / DAYS_PER_YEAR,
    "days": 1.0 / DAYS_PER_YEAR,
}

#: Standard normal quantile at 0.95: a 90% central interval is mean +- this many sd.
Z_90_INTERVAL = 1.6448536269514722
#: Standard normal quantile at 0.975: a 95% central interval is mean +- this many sd.
Z_95_INTERVAL = 1.959963984540054

#: Quantile levels of the ``summary`` group, the CLI's summary and ``quantiles`` questions.
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Quantile levels a ``quantiles`` or ``year`` question reports.
DEFAULT_QUANTILES = SUMMARY_QUANTILES

#: Canonical unit of each parameter, by its key (the last part of a dotted name).
PARAMETER_UNITS: dict[str, str] = {
    "initial": "USD",
    "doubling_time": "year",
    "growth_per_year": "x/year",
    "oom_per_year": "OOM/year",
    "percent_per_year": "%/year",
    "rate_multiplier": "1",
    "max_gain_oom": "OOM",
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
    return PARAMETER_UNITS[key]


#: Suffixes of USD amounts, as the question language reads and :func:`format_value` writes them.
USD_SUFFIXES: dict[str, float] = {"T": 1e12, "B": 1e9, "M": 1e6, "k": 1e3}


def format_number(value: float, digits: int = 3) -> str:
    """Return ``value`` with ``digits`` significant digits, exponent written short: ``2.1e25``, ``1e6``, ``450``."""
    text = f"{value:.{digits}g}"
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def format_multiple(multiple: float) -> str:
    """Return a multiple of a reference run: ``1000x``, ``10000x``, ``1e6x``, ``0.5x``."""
    if multiple == int(multiple) and 1 <= multiple < 1e5:
        return f"{int(multiple)}x"
    return f"{format_number(multiple, 6)}x"


def format_probability(value: float, mcse: float) -> tuple[str, str]:
    """Return a probability and its MCSE as text, with decimals enough for two digits of the MCSE.

    ``0.8220 ± 0.0012`` at 10^5 draws; ``0.821673 ± 0.000038`` at 10^8 (never ``± 0.0000``).
    """
    decimals = 4
    if math.isfinite(mcse) and mcse > 0:
        decimals = min(max(4, 1 - math.floor(math.log10(mcse))), 10)
    return f"{value:.{decimals}f}", f"{mcse:.{decimals}f}"


def format_value(value: float, unit: str, sign: bool = True) -> str:
    """Return a compact number in its unit: ``2.10e+25``, ``$1.5B``, ``$5.03e18``, ``2031.4``.

    Parameters
    ----------
    value : float
        The number, in ``unit``.
    unit : str
        ``"year"``, ``"USD"``, ``"1"`` or another unit (FLOP, FLOP/USD: scientific).
    sign : bool, optional
        False for an MCSE or other spread: years then take two significant digits.
    """
    if not math.isfinite(value):
        return "never" if value > 0 else "-inf"
    if unit == "year":
        return f"{value:.1f}" if sign else f"{value:.2g}"
    if unit == "USD":
        # A value that rounds up to the next suffix takes it ($999.9B is $1T), and from $1000T
        # on a suffix no longer helps.
        if abs(value) >= 999.5 * USD_SUFFIXES["T"]:
            return f"${format_number(value)}"
        for suffix, scale in USD_SUFFIXES.items():
            if abs(value) >= 0.9995 * scale:
                return f"${value / scale:.3g}{suffix}"
        return f"${value:.3g}"
    if unit == "1":
        return f"{value:.4g}"
    return f"{value:.2e}"
