"""Numbers read from files, flags and questions: the one home of finite-number parsing.

A value that is not a finite double (``inf``, ``nan``, ``1e400``, an integer of 400
digits) is bad input wherever it enters; :func:`finite_float` turns it into a
:class:`ValueError` with a message to put after the key path or the flag.
"""

from __future__ import annotations

import math

__all__ = ["LOG10_MAX", "finite_float"]

#: log10 of the largest double [log10 of any unit]: a log10 value above it overflows.
LOG10_MAX = math.log10(1.7976931348623157e308)


def finite_float(value: object) -> float:
    """Return ``value`` (an int, a float or a numeric string) as a finite float.

    Raises
    ------
    ValueError
        "must be finite, got inf", "is too large for a double (... digits)", "must be
        a number, got ...": the reason, without the key path.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"is too large for a double ({len(str(abs(value)))} digits)") from None  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        overflow = isinstance(value, str) and not any(word in value.lower() for word in ("inf", "nan"))
        raise ValueError(f"{'is too large for a double' if overflow else 'must be finite'}, got {value!r}")
    return number
