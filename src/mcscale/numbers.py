"""Numbers from users: finite, in range, and whole where a count is meant.

The one home of number parsing for everything typed or written by a user: scenario
values (a TOML integer may have hundreds of digits), command-line flags, questions and
the estimators' inline priors. Each function either returns a finite Python number or
raises :class:`NumberError` (a ``ValueError``) with a short reason, which the caller
prefixes with its file, key or flag.
"""

from __future__ import annotations

import math
import re
from typing import Any

from mcscale.echo import quote

__all__ = [
    "LOG10_LIMIT",
    "MAX_SEED",
    "NumberError",
    "as_finite",
    "check_finite",
    "parse_count",
    "parse_finite",
    "parse_seed",
]

#: Seeds lie in [0, MAX_SEED): a signed 64-bit integer, as netCDF stores it.
MAX_SEED = 2**63
#: Largest |log10| of a model value or threshold: 10^300 leaves room for products and ratios in float64.
LOG10_LIMIT = 300.0
#: A decimal number as users type it: digits with optional _ separators, a fraction, an exponent.
_DECIMAL = re.compile(r"[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d+)?")
#: More digits than this in an integer is no count or seed anyone means (and int() would refuse 4300).
_MAX_DIGITS = 40


class NumberError(ValueError):
    """A number that is not one: not finite, out of range, or not whole where a count is meant."""


def as_finite(value: Any) -> float | None:
    """Return an int or float as a finite float, or None (not a number, infinite, NaN, or an int beyond float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int of more than ~309 digits
        return None
    return number if math.isfinite(number) else None


def check_finite(value: float, what: str = "value") -> float:
    """Return ``value`` if finite, else raise :class:`NumberError` (an overflow of a computed value)."""
    if not math.isfinite(value):
        raise NumberError(f"{what} is not a finite number ({value!r}): it overflows float64")
    return value


def parse_finite(text: str) -> float:
    """Parse a decimal number (``1e28``, ``0.5``, ``1_000``); refuse inf, nan, and what overflows float64.

    Raises
    ------
    NumberError
        If ``text`` is no decimal number, or one beyond about 1.8e308.
    """
    stripped = text.strip()
    if not _DECIMAL.fullmatch(stripped):
        raise NumberError(f"must be a finite number, got {quote(text, 40)}")
    value = float(stripped.replace("_", ""))
    if not math.isfinite(value):
        raise NumberError(f"{quote(text, 40)} is too large: it overflows a float64 (largest about 1.8e308)")
    return value


def parse_count(text: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Parse a whole number such as ``1000``, ``1_000_000``, ``1e6`` or ``2.5e5``, in [minimum, maximum].

    Raises
    ------
    NumberError
        If ``text`` is not a whole number (``1.5``, ``1e-3``), or is out of range.
    """
    stripped = text.strip().replace("_", "") if _DECIMAL.fullmatch(text.strip()) else None
    largest = "" if maximum is None else f"{maximum:.0e}" if maximum >= 10**6 else str(maximum)
    bound = f"at least {minimum}" + (f" and at most {largest}" if largest else "")
    if stripped is None or len(stripped) > _MAX_DIGITS:
        raise NumberError(f"must be a whole number ({bound}: 1000, 1_000_000 or 1e6), got {quote(text, 40)}")
    if re.fullmatch(r"[+-]?\d+", stripped):
        value = int(stripped)
    else:
        number = float(stripped)
        if not (math.isfinite(number) and number.is_integer()):
            raise NumberError(f"must be a whole number ({bound}), got {quote(text, 40)}")
        value = int(number)
    if value < minimum or (maximum is not None and value > maximum):
        raise NumberError(f"must be a whole number {bound}, got {quote(text, 40)}")
    return value


def parse_seed(text: str) -> int:
    """Parse a seed: a whole number in [0, 2^63)."""
    stripped = text.strip().replace("_", "")
    if not re.fullmatch(r"\+?\d{1,40}", stripped):
        raise NumberError(f"must be a whole number in [0, 2^63), got {quote(text, 40)}")
    value = int(stripped)
    if value >= MAX_SEED:
        raise NumberError(f"must be below 2^63 = {MAX_SEED}, got {quote(text, 40)}")
    return value
