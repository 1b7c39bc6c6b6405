"""mcscale: Monte Carlo forecasts of the compute of frontier AI training runs."""

from importlib.metadata import PackageNotFoundError, version

from mcscale import estimate
from mcscale.api import run
from mcscale.query import ask
from mcscale.results import Answer, Result
from mcscale.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

try:
    __version__ = version("mcscale")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "Answer",
    "Result",
    "Scenario",
    "ScenarioError",
    "__version__",
    "ask",
    "estimate",
    "load_scenario",
    "parse_scenario",
    "run",
]
