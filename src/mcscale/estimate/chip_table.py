"""The bundled chip table (``mcscale/data/chips.toml``): peak FLOP/s, price and power of accelerators."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mcscale.estimate.errors import EstimateError

__all__ = ["PRECISIONS", "Chip", "chip", "chips"]

#: Precision columns of the chip table, in FLOP/s.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")
# The precision used when none is asked for: the usual training precision the chip has.
_DEFAULT_PRECISIONS = ("bf16", "fp16", "tf32", "fp32")


@dataclass(frozen=True)
class Chip:
    """One row of the bundled chip table (``mcscale/data/chips.toml``).

    Parameters
    ----------
    name : str
        Table name, e.g. ``"H100"`` or ``"TPUv3-core"``.
    variant : str
        The exact part the figures describe.
    peak_flops : dict of str to float
        Dense peak by precision (``fp32, tf32, bf16, fp16, fp8``) [FLOP/s].
    price_usd : float or None
        Typical purchase price [USD]; None where the chip is not sold.
    price_is_estimate : bool
        Whether the price is an estimate rather than a published list price.
    tdp_watts : float or None
        Board power [W]; None where unpublished.
    source : str
        Where the figures come from.
    notes : str
        Caveats.
    """

    name: str
    variant: str
    peak_flops: dict[str, float]
    price_usd: float | None
    price_is_estimate: bool
    tdp_watts: float | None
    source: str
    notes: str = ""

    def peak(self, precision: str | None = None) -> tuple[str, float]:
        """Return ``(precision, peak)`` [FLOP/s]; by default the first of bf16, fp16, tf32, fp32 it has.

        Raises
        ------
        EstimateError
            If the chip has no figure for ``precision``.
        """
        if precision is None:
            precision = next(p for p in _DEFAULT_PRECISIONS if p in self.peak_flops)
        if precision not in PRECISIONS:
            raise EstimateError([("precision", f"unknown precision {precision!r}; known: " + ", ".join(PRECISIONS))])
        if precision not in self.peak_flops:
            raise EstimateError(
                [("precision", f"{self.name} has no {precision} figure; it has: " + ", ".join(self.peak_flops))]
            )
        return precision, self.peak_flops[precision]


def _chip_key(name: str) -> str:
    return re.sub(r"[\s_-]", "", name.lower())


@cache
def chips() -> dict[str, Chip]:
    """Return the bundled chip table, by name.

    Returns
    -------
    dict of str to Chip
        Peak dense FLOP/s by precision [FLOP/s], price [USD], TDP [W] and source of
        V100, A100, H100, H200, B200, TPU v3 (chip, core, board), v4, v5p and the
        RTX 2080 Ti.
    """
    text = (resources.files("mcscale") / "data" / "chips.toml").read_text(encoding="utf-8")
    out = {}
    for row in tomllib.loads(text)["chip"]:
        out[row["name"]] = Chip(
            name=row["name"],
            variant=row["variant"],
            peak_flops={p: float(row[p]) for p in PRECISIONS if p in row},
            price_usd=float(row["price_usd"]) if "price_usd" in row else None,
            price_is_estimate=bool(row.get("price_is_estimate", False)),
            tdp_watts=float(row["tdp_watts"]) if "tdp_watts" in row else None,
            source=row["source"],
            notes=row.get("notes", ""),
        )
    return out


def chip(name: str) -> Chip:
    """Return a chip of the table by name (case, spaces, hyphens and underscores ignored).

    Raises
    ------
    EstimateError
        If no chip has that name; the message lists the known ones.
    """
    table = chips()
    by_key = {_chip_key(n): c for n, c in table.items()}
    found = by_key.get(_chip_key(name))
    if found is None:
        raise EstimateError([("chip", f"unknown chip {name!r}; known: " + ", ".join(table))])
    return found
