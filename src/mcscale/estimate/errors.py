"""The error of the estimators: every problem found in the inputs, each with the input it concerns."""

from __future__ import annotations

import re

__all__ = ["EstimateError"]


class EstimateError(ValueError):
    """Bad estimator input: every problem found, each with the input it concerns.

    Parameters
    ----------
    problems : list of tuple of (str, str)
        ``(key, message)`` pairs; ``key`` is the keyword argument (``chip_price``), or a
        path inside a table (``chip_price.p95``); empty for the whole call.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in self.problems))

    def as_flags(self) -> str:
        """Return the problems on one line, keys written as command-line flags (``--chip-price``)."""
        parts = []
        for key, message in self.problems:
            message = re.sub(r"\b([a-z0-9]+(?:_[a-z0-9]+)+)\b", lambda m: "--" + m.group(1).replace("_", "-"), message)
            if key:
                head, _, rest = key.partition(".")
                flag = "--" + head.replace("_", "-") + (f".{rest}" if rest else "")
                parts.append(f"{flag}: {message}")
            else:
                parts.append(message)
        return "; ".join(parts)
