"""mcscale: Monte Carlo forecasts of the compute of frontier AI training runs.

The public names are loaded on first use (PEP 562), so that ``import mcscale`` and
the cheap commands (``mcscale --version``, ``mcscale scenarios``, ``mcscale
estimate``) do not pay for numba, xarray or scipy.stats.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mcscale._version import __version__

if TYPE_CHECKING:
    from mcscale import estimate
    from mcscale.api import run
    from mcscale.model.scenario import Scenario, ScenarioError
    from mcscale.model.thresholds import QueryError
    from mcscale.query import ask
    from mcscale.results.answer import Answer
    from mcscale.results.base import Result
    from mcscale.results.io import open_result
    from mcscale.results.materialized import MaterializedResult
    from mcscale.results.streaming import StreamResult
    from mcscale.scenario_file import bundled_scenarios, load_scenario, parse_scenario

#: Public name -> the module that defines it.
_HOMES = {
    "Answer": "mcscale.results.answer",
    "MaterializedResult": "mcscale.results.materialized",
    "QueryError": "mcscale.model.thresholds",
    "Result": "mcscale.results.base",
    "Scenario": "mcscale.model.scenario",
    "ScenarioError": "mcscale.model.scenario",
    "StreamResult": "mcscale.results.streaming",
    "ask": "mcscale.query",
    "bundled_scenarios": "mcscale.scenario_file",
    "load_scenario": "mcscale.scenario_file",
    "open_result": "mcscale.results.io",
    "parse_scenario": "mcscale.scenario_file",
    "run": "mcscale.api",
}
_SUBPACKAGES = (
    "estimate",
    "query",
    "api",
    "units",
    "stats",
    "model",
    "sim",
    "results",
    "viz",
    "report",
    "analysis",
    "explore",
)

__all__ = [
    "Answer",
    "MaterializedResult",
    "QueryError",
    "Result",
    "Scenario",
    "ScenarioError",
    "StreamResult",
    "__version__",
    "ask",
    "bundled_scenarios",
    "estimate",
    "load_scenario",
    "open_result",
    "parse_scenario",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"mcscale.{name}")
    else:
        raise AttributeError(f"module 'mcscale' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})
